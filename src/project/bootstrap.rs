//! The ml-container-creator bootstrap profile,
//! `~/.ml-container-creator/config.json`: buckets, the role and secrets that
//! `ml-container-creator bootstrap` provisioned. Keys are read at the top
//! level; a file with `profiles` uses `activeProfile` (or `default`).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::ProjectError;

/// A loaded bootstrap profile.
#[derive(Debug, Clone, Default)]
pub struct Bootstrap {
    /// The file it came from (named in errors).
    pub path: PathBuf,
    keys: Map<String, Value>,
}

impl Bootstrap {
    /// The default location: `$HOME/.ml-container-creator/config.json`.
    pub fn default_path() -> PathBuf {
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
        home.join(".ml-container-creator").join("config.json")
    }

    /// Reads `path`; a missing file is an empty profile (every `require`
    /// then says which key to set where).
    pub fn load(path: &Path) -> Result<Self, ProjectError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self {
                    path: path.to_owned(),
                    keys: Map::new(),
                })
            }
            Err(e) => return Err(Self::error(path, format!("cannot read: {e}"))),
        };
        let doc: Value = serde_json::from_str(&text)
            .map_err(|e| Self::error(path, format!("not valid JSON: {e}")))?;
        let Value::Object(root) = doc else {
            return Err(Self::error(path, "expected a JSON object".into()));
        };
        Ok(Self {
            path: path.to_owned(),
            keys: select_profile(root),
        })
    }

    fn error(path: &Path, reason: String) -> ProjectError {
        ProjectError::Bootstrap {
            file: path.to_owned(),
            reason,
        }
    }

    /// A string key, when set and non-empty.
    pub fn get(&self, key: &str) -> Option<String> {
        self.keys
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }

    /// A string key that must be set.
    pub fn require(&self, key: &str) -> Result<String, ProjectError> {
        self.get(key).ok_or_else(|| ProjectError::MissingKey {
            key: key.to_owned(),
            file: self.path.clone(),
            hint: "run `ml-container-creator bootstrap --benchmark-infra`, or add the key to that file".into(),
        })
    }

    /// `secrets.hfToken` (a Secrets Manager ARN), when set.
    pub fn hf_token_arn(&self) -> Option<String> {
        self.keys
            .get("secrets")
            .and_then(|s| s.get("hfToken"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }
}

/// Top-level keys, or the active entry of `profiles`.
fn select_profile(root: Map<String, Value>) -> Map<String, Value> {
    let Some(Value::Object(profiles)) = root.get("profiles") else {
        return root;
    };
    let active = root
        .get("activeProfile")
        .and_then(Value::as_str)
        .unwrap_or("default");
    match profiles.get(active) {
        Some(Value::Object(p)) => p.clone(),
        _ => root,
    }
}
