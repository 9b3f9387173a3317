//! The operator's allowances for `serve`: the configuration file (JSON,
//! `ServerPolicy`'s fields) plus the flags, which add to it. Directories are
//! made absolute with symlinks resolved, so tool calls are checked against
//! what they really name.

use std::path::{Path, PathBuf};

use super::args::ServeArgs;
use super::CliError;
use crate::domain::{AllowedEndpoint, ServerPolicy, DEFAULT_KEY_ENV};

/// Largest configuration file read.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The policy of `args`: the configuration file (given, or the default one
/// when it exists) with the flags added.
pub(crate) fn load(args: &ServeArgs) -> Result<ServerPolicy, CliError> {
    let mut policy = match config_path(args) {
        Some(path) => read(&path)?,
        None => ServerPolicy::default(),
    };
    policy
        .endpoint_allow
        .extend(args.endpoint_allow.iter().map(|prefix| AllowedEndpoint {
            prefix: prefix.clone(),
            api_key_env: vec![DEFAULT_KEY_ENV.to_owned()],
        }));
    policy.allow_dirs.extend(args.allow_dir.iter().cloned());
    policy
        .allow_buckets
        .extend(args.allow_bucket.iter().cloned());
    policy.allow_tokenizer_download |= args.allow_tokenizer_download;
    if args.processing_image.is_some() {
        policy.processing_image.clone_from(&args.processing_image);
    }
    policy.allow_dirs = policy
        .allow_dirs
        .iter()
        .map(|d| real_dir(d))
        .collect::<Result<_, _>>()?;
    check_prefixes(&policy)?;
    Ok(policy)
}

fn config_path(args: &ServeArgs) -> Option<PathBuf> {
    args.config.clone().or_else(|| {
        let home = std::env::var_os("HOME")?;
        let default = Path::new(&home).join(".config/mcc-bench/server.json");
        default.is_file().then_some(default)
    })
}

fn read(path: &Path) -> Result<ServerPolicy, CliError> {
    let fail =
        |why: String| CliError::Input(format!("server configuration {}: {why}", path.display()));
    let meta = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
    if !meta.is_file() || meta.len() > MAX_CONFIG_BYTES {
        return Err(fail("expected a JSON file of at most 1 MiB".into()));
    }
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| {
        fail(format!(
            "{e}; expected {{\"endpoint_allow\": [{{\"prefix\": \"https://host/v1\", \
             \"api_key_env\": [\"OPENAI_API_KEY\"]}}], \"allow_dirs\": [\"/data\"], \
             \"allow_buckets\": [\"name\"], \"processing_image\": \"URI\", \
             \"allow_tokenizer_download\": false}}"
        ))
    })
}

fn real_dir(dir: &Path) -> Result<PathBuf, CliError> {
    std::fs::canonicalize(dir)
        .ok()
        .filter(|d| d.is_dir())
        .ok_or_else(|| {
            CliError::Input(format!(
                "allowed directory {} does not exist or is not a directory",
                dir.display()
            ))
        })
}

fn check_prefixes(policy: &ServerPolicy) -> Result<(), CliError> {
    for a in &policy.endpoint_allow {
        let ok = a
            .prefix
            .parse::<http::Uri>()
            .is_ok_and(|u| matches!(u.scheme_str(), Some("http" | "https")) && u.host().is_some());
        if !ok {
            return Err(CliError::Input(format!(
                "endpoint prefix {:?} must be an http:// or https:// URL with a host, e.g. \
                 https://gpu-box:8000/v1",
                a.prefix
            )));
        }
    }
    Ok(())
}
