//! What the operator lets tool calls reach. A tool call comes from an agent
//! that may be prompt-injected: it never chooses server files, credentials,
//! images or buckets beyond these allowances (`serve` flags and the server
//! configuration file).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The credential sent to an allowed endpoint when none is named.
pub const DEFAULT_KEY_ENV: &str = "OPENAI_API_KEY";

/// An endpoint that may receive a credential from the server's environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowedEndpoint {
    /// URL prefix: scheme, host and port must match exactly, and the path
    /// must start with this path at a `/` boundary.
    pub prefix: String,
    /// Environment variables whose value may be sent to it as the bearer
    /// token (default: `OPENAI_API_KEY`).
    #[serde(default = "default_key_envs")]
    pub api_key_env: Vec<String>,
}

fn default_key_envs() -> Vec<String> {
    vec![DEFAULT_KEY_ENV.to_owned()]
}

/// The operator's allowances, shared by every session of a server.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerPolicy {
    /// Endpoints that may receive credentials from the server's environment.
    #[serde(default)]
    pub endpoint_allow: Vec<AllowedEndpoint>,
    /// Directories tool calls may name (`project_dir`, `local_dir`), besides
    /// the server's working directory. Absolute, symlinks resolved.
    #[serde(default)]
    pub allow_dirs: Vec<PathBuf>,
    /// Buckets `stage_model` may write besides the profile's models bucket.
    #[serde(default)]
    pub allow_buckets: Vec<String>,
    /// Container image of staging processing jobs (default: the region's
    /// ml-container-creator image).
    #[serde(default)]
    pub processing_image: Option<String>,
    /// Runs may fetch a tokenizer.json missing from the local Hugging Face
    /// cache from the Hub (`serve --allow-tokenizer-download`). Off: a
    /// client cannot make the server download.
    #[serde(default)]
    pub allow_tokenizer_download: bool,
}

/// What a credential request resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyChoice {
    /// Send the value of this environment variable.
    Env(String),
    /// Send no credential.
    None,
}

impl ServerPolicy {
    /// The credential `url` may receive: the named variable when an allowed
    /// prefix lists it, the prefix's first variable when none is named, none
    /// for an endpoint no prefix allows. `Err` says why a named credential
    /// is refused and how to allow it.
    pub fn key_for(&self, url: &str, named: Option<&str>) -> Result<KeyChoice, String> {
        let allowed: Vec<&AllowedEndpoint> = self
            .endpoint_allow
            .iter()
            .filter(|a| url_has_prefix(url, &a.prefix))
            .collect();
        match named {
            None => Ok(allowed
                .first()
                .and_then(|a| a.api_key_env.first())
                .map_or(KeyChoice::None, |v| KeyChoice::Env(v.clone()))),
            Some(var)
                if allowed
                    .iter()
                    .any(|a| a.api_key_env.iter().any(|v| v == var)) =>
            {
                Ok(KeyChoice::Env(var.to_owned()))
            }
            Some(var) => Err(format!(
                "the credential {var:?} may not be sent to {url}: the operator allows server \
                 credentials only for listed endpoints (mcc-bench serve --endpoint-allow PREFIX, \
                 or endpoint_allow in the server configuration with api_key_env)"
            )),
        }
    }

    /// True when `path` (absolute, normalised) is the server's working
    /// directory or an allowed directory, or lies under one.
    pub fn allows_dir(&self, path: &Path, cwd: Option<&Path>) -> bool {
        path.is_absolute()
            && cwd
                .into_iter()
                .chain(self.allow_dirs.iter().map(PathBuf::as_path))
                .any(|root| root.is_absolute() && path.starts_with(root))
    }

    /// True when `bucket` is `default` (the profile's) or allowed.
    pub fn allows_bucket(&self, bucket: &str, default: Option<&str>) -> bool {
        default == Some(bucket) || self.allow_buckets.iter().any(|b| b == bucket)
    }
}

/// True when `url` is under `prefix`: same scheme, host (case-insensitive)
/// and port (defaults filled in), and a path that continues the prefix's at
/// a `/` boundary. `http://gpu:8000` is not a prefix of `http://gpu:80001`,
/// nor of `http://gpu:8000.evil.example`.
pub fn url_has_prefix(url: &str, prefix: &str) -> bool {
    let (Some(u), Some(p)) = (Parts::of(url), Parts::of(prefix)) else {
        return false;
    };
    let base = p.path.trim_end_matches('/');
    u.scheme == p.scheme
        && u.host == p.host
        && u.port == p.port
        && (u.path == base || u.path.starts_with(&format!("{base}/")) || base.is_empty())
}

/// The parts of an http(s) URL a prefix is matched on.
struct Parts {
    scheme: String,
    host: String,
    port: u16,
    path: String,
}

impl Parts {
    fn of(url: &str) -> Option<Self> {
        let uri: http::Uri = url.trim().parse().ok()?;
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        Some(Self {
            host: uri.host()?.to_ascii_lowercase(),
            port: uri.port_u16().unwrap_or(default_port),
            path: uri.path().to_owned(),
            scheme,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> ServerPolicy {
        ServerPolicy {
            endpoint_allow: vec![
                AllowedEndpoint {
                    prefix: "http://gpu:8000/v1".into(),
                    api_key_env: default_key_envs(),
                },
                AllowedEndpoint {
                    prefix: "https://gw.example".into(),
                    api_key_env: vec!["GW_KEY".into()],
                },
            ],
            ..ServerPolicy::default()
        }
    }

    #[test]
    fn prefixes_match_whole_hosts_ports_and_path_segments() {
        assert!(url_has_prefix("http://gpu:8000/v1", "http://gpu:8000/v1/"));
        assert!(url_has_prefix(
            "http://GPU:8000/v1/chat",
            "http://gpu:8000/v1"
        ));
        assert!(url_has_prefix(
            "https://gw.example/a?x=1",
            "https://gw.example:443"
        ));
        for evil in [
            "http://gpu:80001/v1",
            "http://gpu:8000.evil.example/v1",
            "http://gpu:8000/v10",
            "https://gpu:8000/v1",
            "http://user@evil:8000/v1",
            "not a url",
        ] {
            assert!(!url_has_prefix(evil, "http://gpu:8000/v1"), "{evil}");
        }
    }

    #[test]
    fn credentials_go_only_where_allowed() {
        let p = policy();
        let env = |v: &str| Ok(KeyChoice::Env(v.into()));
        assert_eq!(p.key_for("http://gpu:8000/v1", None), env(DEFAULT_KEY_ENV));
        assert_eq!(
            p.key_for("https://gw.example/x", Some("GW_KEY")),
            env("GW_KEY")
        );
        assert_eq!(p.key_for("http://evil:8000/v1", None), Ok(KeyChoice::None));
        let e = p
            .key_for("http://evil:8000/v1", Some(DEFAULT_KEY_ENV))
            .expect_err("not allowed");
        assert!(e.contains("--endpoint-allow"), "{e}");
        assert!(p.key_for("https://gw.example/x", Some("HOME")).is_err());
    }

    #[test]
    fn directories_and_buckets() {
        let mut p = policy();
        p.allow_dirs = vec![PathBuf::from("/data/models")];
        let cwd = Some(Path::new("/srv/project"));
        assert!(p.allows_dir(Path::new("/srv/project/do"), cwd));
        assert!(p.allows_dir(Path::new("/data/models/llama"), cwd));
        assert!(!p.allows_dir(Path::new("/data/models-other"), cwd));
        assert!(!p.allows_dir(Path::new("/etc"), cwd));
        assert!(!p.allows_dir(Path::new("relative"), cwd));
        assert!(!p.allows_dir(Path::new("/srv/project"), None));
        p.allow_buckets = vec!["shared".into()];
        assert!(p.allows_bucket("mine", Some("mine")));
        assert!(p.allows_bucket("shared", None));
        assert!(!p.allows_bucket("theirs", Some("mine")));
    }
}
