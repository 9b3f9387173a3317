//! The client tokenizer: a Hugging Face `tokenizer.json` (from a path or a
//! model id in the local Hugging Face cache), or the built-in approximation
//! that works offline with no files at all (its counting rule is in
//! [`crate::text::builtin`]).

use std::path::{Path, PathBuf};

use crate::engine::EngineError;
use crate::text::builtin_count;

/// Counts tokens of prompt and response text.
#[derive(Debug)]
pub struct ClientTokenizer {
    inner: Inner,
    name: String,
}

#[derive(Debug)]
enum Inner {
    Builtin,
    Hf(Box<tokenizers::Tokenizer>),
}

impl ClientTokenizer {
    /// The built-in tokenizer.
    pub fn builtin() -> Self {
        Self {
            inner: Inner::Builtin,
            name: "builtin".to_owned(),
        }
    }

    /// Loads `spec`: a `tokenizer.json` file, a directory holding one, or a
    /// Hugging Face model id found in the local cache. `None` or `"builtin"`
    /// gives the built-in tokenizer.
    pub fn load(spec: Option<&str>) -> Result<Self, EngineError> {
        let Some(spec) = spec.filter(|s| *s != "builtin") else {
            return Ok(Self::builtin());
        };
        let path = resolve(spec).ok_or_else(|| EngineError::Tokenizer {
            spec: spec.to_owned(),
            reason: "no tokenizer.json at that path, and no such model in the Hugging Face cache \
                     ($HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub). `mcc-bench run` \
                     fetches an org/name model's tokenizer.json into that cache unless \
                     HF_HUB_OFFLINE is set; an MCP server does only when started with \
                     --allow-tokenizer-download. Else download it there first, pass a path to \
                     tokenizer.json, or omit --tokenizer to use the built-in one"
                .to_owned(),
        })?;
        let tok = tokenizers::Tokenizer::from_file(&path).map_err(|e| EngineError::Tokenizer {
            spec: spec.to_owned(),
            reason: format!("{} is not a valid tokenizer.json: {e}", path.display()),
        })?;
        Ok(Self {
            inner: Inner::Hf(Box::new(tok)),
            name: spec.to_owned(),
        })
    }

    /// Name for reports (`builtin` or what was loaded).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// True for a real model tokenizer (counts are exact for that model).
    pub fn is_exact(&self) -> bool {
        matches!(self.inner, Inner::Hf(_))
    }

    /// Token count of `text`.
    pub fn count(&self, text: &str) -> u32 {
        match &self.inner {
            Inner::Builtin => builtin_count(text),
            Inner::Hf(t) => t
                .encode(text, false)
                .map_or(0, |e| e.get_ids().len() as u32),
        }
    }

    /// Token ids of `text` (Hugging Face only).
    pub(crate) fn encode(&self, text: &str) -> Option<Vec<u32>> {
        match &self.inner {
            Inner::Builtin => None,
            Inner::Hf(t) => t.encode(text, false).ok().map(|e| e.get_ids().to_vec()),
        }
    }

    /// Text of token ids (Hugging Face only).
    pub(crate) fn decode(&self, ids: &[u32]) -> Option<String> {
        match &self.inner {
            Inner::Builtin => None,
            Inner::Hf(t) => t.decode(ids, true).ok(),
        }
    }
}

/// True when `spec` loads without a download: a path to a tokenizer.json
/// (or a directory holding one), or a model in the local cache.
pub fn is_available(spec: &str) -> bool {
    resolve(spec).is_some()
}

/// Finds `tokenizer.json` for a path or a cached model id.
fn resolve(spec: &str) -> Option<PathBuf> {
    let p = Path::new(spec);
    if p.is_file() {
        return Some(p.to_path_buf());
    }
    if p.join("tokenizer.json").is_file() {
        return Some(p.join("tokenizer.json"));
    }
    hf_cache_dirs()
        .into_iter()
        .find_map(|hub| cached_tokenizer(&hub, spec))
}

/// The local Hugging Face hub caches, most specific first.
pub(crate) fn hf_cache_dirs() -> Vec<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let mut dirs = Vec::new();
    dirs.extend(env("HF_HUB_CACHE"));
    dirs.extend(env("HF_HOME").map(|h| h.join("hub")));
    dirs.extend(env("XDG_CACHE_HOME").map(|h| h.join("huggingface/hub")));
    dirs.extend(env("HOME").map(|h| h.join(".cache/huggingface/hub")));
    dirs
}

/// `{hub}/models--{org}--{name}/snapshots/{rev}/tokenizer.json`, preferring
/// the revision `refs/main` points at.
fn cached_tokenizer(hub: &Path, model_id: &str) -> Option<PathBuf> {
    let repo = hub.join(format!("models--{}", model_id.replace('/', "--")));
    let snapshots = repo.join("snapshots");
    if let Ok(rev) = std::fs::read_to_string(repo.join("refs/main")) {
        let candidate = snapshots.join(rev.trim()).join("tokenizer.json");
        if candidate.is_file() {
            return Some(candidate);
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(&snapshots)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path().join("tokenizer.json"))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found.pop()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::text::WORDS;

    #[test]
    fn loads_a_tokenizer_json_from_a_path_and_from_the_hf_cache_layout() {
        let dir = tempfile::tempdir().expect("tempdir");
        let snap = dir.path().join("models--acme--tiny/snapshots/abc123");
        std::fs::create_dir_all(&snap).expect("mkdir");
        std::fs::write(snap.join("tokenizer.json"), test_tokenizer_json()).expect("write");
        std::fs::create_dir_all(dir.path().join("models--acme--tiny/refs")).expect("mkdir");
        std::fs::write(dir.path().join("models--acme--tiny/refs/main"), "abc123\n").expect("write");
        let direct = ClientTokenizer::load(Some(snap.to_str().expect("utf8"))).expect("dir path");
        assert!(direct.is_exact());
        assert_eq!(direct.count("the river of silver"), 4);
        assert_eq!(
            cached_tokenizer(dir.path(), "acme/tiny"),
            Some(snap.join("tokenizer.json"))
        );
        assert!(cached_tokenizer(dir.path(), "acme/other").is_none());
    }

    #[test]
    fn missing_or_invalid_tokenizers_are_clear_errors() {
        let err = ClientTokenizer::load(Some("/nonexistent/tok")).expect_err("missing");
        assert!(err.to_string().contains("no tokenizer.json"), "{err}");
        let dir = tempfile::tempdir().expect("tempdir");
        let bad = dir.path().join("tokenizer.json");
        std::fs::write(&bad, "{not json").expect("write");
        let err = ClientTokenizer::load(Some(bad.to_str().expect("utf8"))).expect_err("invalid");
        assert!(
            err.to_string().contains("not a valid tokenizer.json"),
            "{err}"
        );
        assert!(!ClientTokenizer::load(Some("builtin"))
            .expect("builtin")
            .is_exact());
    }

    /// A word-level tokenizer over the built-in vocabulary.
    pub(crate) fn test_tokenizer_json() -> String {
        let mut vocab = serde_json::Map::new();
        vocab.insert("[UNK]".into(), 0.into());
        for (i, w) in WORDS.iter().enumerate() {
            vocab.insert((*w).into(), (i + 1).into());
        }
        serde_json::json!({
            "version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
            "normalizer": null, "pre_tokenizer": {"type": "Whitespace"},
            "post_processor": null, "decoder": null,
            "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"}
        })
        .to_string()
    }
}
