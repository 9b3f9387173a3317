//! `--tokenizer ORG/NAME` for a model missing from the local Hugging Face
//! cache: its `tokenizer.json` is fetched from the Hub (`HF_ENDPOINT`, the
//! token as the `hf` tools find it) into the cache, in the layout the
//! `huggingface_hub` library writes and reads (`blobs/<etag>`,
//! `snapshots/<commit>/tokenizer.json` linking to it, `refs/main`), so the
//! next run, AIPerf and `transformers` find it offline.
//!
//! Only when the run's spec allows it (`PromptSpec::tokenizer_download`):
//! `mcc-bench run` does, an MCP server only when its operator said so. The
//! file is bounded ([`MAX_TOKENIZER_BYTES`]), checked to be a tokenizer
//! before it enters the cache, and written under a temporary name renamed
//! into place, so two runs fetching at once leave one good copy.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::header::{HeaderMap, LOCATION};
use tokio_util::sync::CancellationToken;

use crate::engine::EngineError;

/// The largest `tokenizer.json` accepted (the biggest in common use are
/// tens of MB).
pub const MAX_TOKENIZER_BYTES: u64 = 64 << 20;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Where to fetch from and into.
#[derive(Debug, Clone)]
pub struct FetchTarget {
    /// The Hub's base URL (`HF_ENDPOINT`, else huggingface.co).
    pub endpoint: String,
    /// The hub cache to write (`HF_HUB_CACHE`, `$HF_HOME/hub`, ...).
    pub cache: PathBuf,
    /// Bearer token, when there is one.
    pub token: Option<String>,
    /// Size bound of the file.
    pub max_bytes: u64,
}

impl FetchTarget {
    /// From the environment, as the `hf` tools read it; `None` when
    /// `HF_HUB_OFFLINE` is set or no cache directory can be named.
    pub fn from_env() -> Option<Self> {
        let offline = std::env::var("HF_HUB_OFFLINE")
            .is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false" | "False" | "no"));
        if offline {
            return None;
        }
        let cache = super::tokenizer::hf_cache_dirs().into_iter().next()?;
        let endpoint = std::env::var("HF_ENDPOINT")
            .ok()
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| crate::engine::stage::source::DEFAULT_HUB.to_owned());
        Some(Self {
            endpoint,
            cache,
            token: crate::engine::stage::source::hf_token(),
            max_bytes: MAX_TOKENIZER_BYTES,
        })
    }
}

/// True for what can only be a Hub model id: `org/name` (a bare name is
/// the Hub's legacy form, too easily a typo of a path), not a path that
/// exists.
pub fn is_model_id(spec: &str) -> bool {
    crate::domain::hf::is_model_id(spec)
        && spec.contains('/')
        && !spec.starts_with(['.', '-'])
        && !Path::new(spec).exists()
}

/// Fetches `model_id`'s `tokenizer.json` at `main` into the cache and
/// returns its snapshot path.
pub async fn fetch(
    model_id: &str,
    target: &FetchTarget,
    stop: &CancellationToken,
) -> Result<PathBuf, EngineError> {
    let fail = |reason: String| EngineError::Tokenizer {
        spec: model_id.to_owned(),
        reason,
    };
    tokio::select! {
        r = download(model_id, target) => {
            let (meta, body) = r.map_err(fail)?;
            tokenizers::Tokenizer::from_bytes(&body).map_err(|e| {
                fail(format!("the Hub's tokenizer.json does not load as a tokenizer: {e}"))
            })?;
            store(&target.cache, model_id, &meta, &body).map_err(fail)
        }
        () = stop.cancelled() => Err(fail("cancelled while fetching tokenizer.json".into())),
    }
}

/// What the Hub says of the file: the commit it served and the blob's id.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileMeta {
    commit: String,
    etag: String,
}

/// GET `{endpoint}/{model}/resolve/main/tokenizer.json`. The Hub names the
/// commit and the blob on its first answer, which may redirect to a CDN:
/// redirects are followed by hand to keep those headers.
async fn download(model_id: &str, t: &FetchTarget) -> Result<(FileMeta, Vec<u8>), String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let base = t.endpoint.trim_end_matches('/');
    let mut url = reqwest::Url::parse(&format!("{base}/{model_id}/resolve/main/tokenizer.json"))
        .map_err(|e| format!("HF_ENDPOINT {base:?} is not a URL: {e}"))?;
    let origin = url.origin();
    let mut meta: Option<FileMeta> = None;
    for _ in 0..5 {
        let mut req = client.get(url.clone());
        // The token goes to the Hub only, never to a CDN it redirects to.
        if let (Some(tok), true) = (&t.token, url.origin() == origin) {
            req = req.bearer_auth(tok);
        }
        let resp = req.send().await.map_err(|e| {
            format!(
                "{url}: {e}; check HF_ENDPOINT and the network, or pass a path to tokenizer.json"
            )
        })?;
        meta = meta.or_else(|| file_meta(resp.headers()));
        let status = resp.status().as_u16();
        if (300..400).contains(&status) {
            url = redirect_target(&url, resp.headers())?;
            continue;
        }
        check_status(status, model_id, t.token.is_some())?;
        let meta = meta.ok_or_else(|| format!(
            "the Hub at {base} did not say which commit it served (no X-Repo-Commit header); download tokenizer.json yourself and pass its path"
        ))?;
        return Ok((meta, read_bounded(resp, t.max_bytes).await?));
    }
    Err(format!(
        "{model_id}: too many redirects fetching tokenizer.json"
    ))
}

/// The commit (`X-Repo-Commit`) and blob id (`X-Linked-Etag` for files
/// kept in LFS, else `ETag`), when the answer carries both.
fn file_meta(h: &HeaderMap) -> Option<FileMeta> {
    let get = |k: &str| h.get(k).and_then(|v| v.to_str().ok()).map(str::trim);
    let commit = get("x-repo-commit").filter(|c| safe_name(c))?;
    let etag = get("x-linked-etag").or_else(|| get("etag"))?;
    let etag = etag.trim_start_matches("W/").trim_matches('"');
    safe_name(etag).then(|| FileMeta {
        commit: commit.to_owned(),
        etag: etag.to_owned(),
    })
}

/// A name that is one plain path component.
fn safe_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn redirect_target(url: &reqwest::Url, h: &HeaderMap) -> Result<reqwest::Url, String> {
    let loc = h
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| format!("{url}: a redirect without a Location"))?;
    url.join(loc)
        .map_err(|e| format!("{url}: a redirect to {loc:?}, which is not a URL: {e}"))
}

fn check_status(status: u16, model_id: &str, has_token: bool) -> Result<(), String> {
    match status {
        200..=299 => Ok(()),
        401 | 403 if !has_token => Err(format!(
            "{model_id} is gated or private (HTTP {status}); accept its licence on the Hub and set HF_TOKEN (or run `hf auth login`)"
        )),
        401 | 403 => Err(format!(
            "the Hub refused the token for {model_id} (HTTP {status}); check that it has access to this model"
        )),
        404 => Err(format!(
            "{model_id} has no tokenizer.json on the Hub (HTTP 404); check the model id, or pass a path to a tokenizer.json"
        )),
        _ => Err(format!("fetching {model_id}'s tokenizer.json: HTTP {status}")),
    }
}

/// The body, refused as soon as it passes `max` bytes.
async fn read_bounded(mut resp: reqwest::Response, max: u64) -> Result<Vec<u8>, String> {
    let too_big = || format!("tokenizer.json is larger than {max} bytes; refusing it");
    if resp.content_length().is_some_and(|n| n > max) {
        return Err(too_big());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| format!("reading tokenizer.json: {e}"))?
    {
        if body.len() as u64 + chunk.len() as u64 > max {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Writes the blob, links the snapshot to it and points `refs/main` at the
/// commit. Each step is a rename of a complete file, so a crash or a
/// concurrent fetch never leaves a half-written file under a final name.
fn store(cache: &Path, model_id: &str, m: &FileMeta, body: &[u8]) -> Result<PathBuf, String> {
    let repo = cache.join(format!("models--{}", model_id.replace('/', "--")));
    let io = |what: &Path, e: std::io::Error| format!("{}: {e}", what.display());
    let blob = repo.join("blobs").join(&m.etag);
    let snap_dir = repo.join("snapshots").join(&m.commit);
    for d in [repo.join("blobs"), snap_dir.clone(), repo.join("refs")] {
        std::fs::create_dir_all(&d).map_err(|e| io(&d, e))?;
    }
    write_atomic(&blob, body).map_err(|e| io(&blob, e))?;
    let link = snap_dir.join("tokenizer.json");
    if !link.is_file() {
        let rel = Path::new("../../blobs").join(&m.etag);
        let tmp = snap_dir.join(format!(".tokenizer.json.{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        // Where links are not allowed, a copy (as huggingface_hub does).
        std::os::unix::fs::symlink(&rel, &tmp)
            .or_else(|_| std::fs::write(&tmp, body))
            .and_then(|()| std::fs::rename(&tmp, &link))
            .map_err(|e| io(&link, e))?;
    }
    let refs = repo.join("refs").join("main");
    write_atomic(&refs, m.commit.as_bytes()).map_err(|e| io(&refs, e))?;
    Ok(link)
}

/// `bytes` at `path` through an exclusive temporary file renamed into
/// place, readable by all (a cache may be shared, as `hf` leaves it).
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".incomplete-")
        .permissions(std::fs::Permissions::from_mode(0o644))
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.persist(path).map(drop).map_err(|e| e.error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_ids_are_org_slash_name_and_nothing_else() {
        for id in ["Qwen/Qwen2.5-0.5B", "meta-llama/Llama-3.1-8B", "a/b_c.d"] {
            assert!(is_model_id(id), "{id}");
        }
        for not in [
            "gpt2",
            "/etc/passwd",
            "a/b/c",
            "../x",
            "a/..",
            "",
            "a/",
            "a b/c",
        ] {
            assert!(!is_model_id(not), "{not}");
        }
    }

    #[test]
    fn the_hub_headers_name_commit_and_blob_and_nothing_else() {
        let mut h = HeaderMap::new();
        h.insert("x-repo-commit", "0123abcd".parse().expect("h"));
        h.insert("etag", "\"deadbeef\"".parse().expect("h"));
        let m = file_meta(&h).expect("meta");
        assert_eq!(
            (m.commit.as_str(), m.etag.as_str()),
            ("0123abcd", "deadbeef")
        );
        h.insert("x-linked-etag", "W/\"sha256abc\"".parse().expect("h"));
        assert_eq!(file_meta(&h).expect("meta").etag, "sha256abc");
        h.insert("x-repo-commit", "../../etc".parse().expect("h"));
        assert_eq!(file_meta(&h), None, "a commit that is a path is refused");
    }

    #[test]
    fn the_cache_layout_is_huggingface_hubs() {
        let dir = tempfile::tempdir().expect("dir");
        let m = FileMeta {
            commit: "c0ffee".into(),
            etag: "e7a9".into(),
        };
        let link = store(dir.path(), "org/name", &m, b"{}").expect("store");
        let repo = dir.path().join("models--org--name");
        assert_eq!(link, repo.join("snapshots/c0ffee/tokenizer.json"));
        assert_eq!(std::fs::read(&link).expect("through the link"), b"{}");
        assert_eq!(
            std::fs::read_link(&link).expect("a relative link"),
            Path::new("../../blobs/e7a9")
        );
        assert_eq!(
            std::fs::read_to_string(repo.join("refs/main")).expect("ref"),
            "c0ffee"
        );
        // Again (another run fetched it too): same result, no error.
        assert_eq!(
            store(dir.path(), "org/name", &m, b"{}").expect("again"),
            link
        );
    }
}
