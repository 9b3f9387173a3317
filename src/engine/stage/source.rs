//! Where a model's files come from: a local folder as given, a snapshot in
//! the local Hugging Face cache (offline), or the Hub (`HF_ENDPOINT`, token
//! `HF_TOKEN`), downloaded file by file into a folder first. A download
//! that was cut off resumes: files already there with the Hub's size are
//! kept.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;

use serde::Deserialize;
use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;

use super::{StageError, StageProgress};

/// Connecting to the Hub (or its CDN) may take this long.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// A download that receives nothing for this long is cut (and resumes on
/// the next run).
const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// The Hub when `HF_ENDPOINT` is not set.
pub const DEFAULT_HUB: &str = "https://huggingface.co";

/// The snapshot of `model_id` in the local HF cache: `revision` (a commit,
/// or a branch/tag name under `refs/`), else what `refs/main` points at.
pub fn hf_cache_snapshot(model_id: &str, revision: Option<&str>) -> Option<PathBuf> {
    let dirs = crate::engine::local::tokenizer::hf_cache_dirs();
    dirs.iter().find_map(|hub| {
        let repo = hub.join(format!("models--{}", model_id.replace('/', "--")));
        let rev = revision.unwrap_or("main");
        let commit = std::fs::read_to_string(repo.join("refs").join(rev))
            .map(|c| c.trim().to_owned())
            .unwrap_or_else(|_| rev.to_owned());
        let snap = repo.join("snapshots").join(commit);
        snap.join("config.json").is_file().then_some(snap)
    })
}

/// The Hub's description of a revision: its files and their sizes.
#[derive(Debug, Deserialize)]
struct ModelInfo {
    #[serde(default)]
    siblings: Vec<Sibling>,
}

#[derive(Debug, Deserialize)]
struct Sibling {
    rfilename: String,
    size: Option<u64>,
}

/// The Hugging Face token, found as the `hf` tools find it: `HF_TOKEN`,
/// else the file `HF_TOKEN_PATH` names, else `$HF_HOME/token` (what
/// `hf auth login` writes; `HF_HOME` defaults to
/// `$XDG_CACHE_HOME/huggingface`, then `~/.cache/huggingface`).
pub fn hf_token() -> Option<String> {
    token_from(
        |k| std::env::var(k).ok().filter(|v| !v.is_empty()),
        |p| std::fs::read_to_string(p).ok(),
    )
}

fn token_from(
    env: impl Fn(&str) -> Option<String>,
    read: impl Fn(&Path) -> Option<String>,
) -> Option<String> {
    if let Some(t) = env("HF_TOKEN") {
        return Some(t.trim().to_owned());
    }
    let home = env("HF_HOME").map(PathBuf::from).or_else(|| {
        env("XDG_CACHE_HOME")
            .map(|c| Path::new(&c).join("huggingface"))
            .or_else(|| env("HOME").map(|h| Path::new(&h).join(".cache/huggingface")))
    });
    let file = env("HF_TOKEN_PATH")
        .map(PathBuf::from)
        .or_else(|| home.map(|h| h.join("token")))?;
    read(&file)
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// Downloads `model_id` at `revision` from the Hub at `endpoint` into
/// `dest`, skipping `*.lock` and `.gitattributes`.
pub async fn download_from_hub(
    endpoint: &str,
    model_id: &str,
    revision: Option<&str>,
    dest: &Path,
    progress: &StageProgress,
    stop: &CancellationToken,
) -> Result<(), StageError> {
    let client = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        .build()
        .map_err(|e| StageError::Source(format!("cannot build the HTTP client: {e}")))?;
    let token = hf_token();
    let rev = revision.unwrap_or("main");
    let base = endpoint.trim_end_matches('/');
    let info_url = format!("{base}/api/models/{model_id}/revision/{rev}?blobs=true");
    let info: ModelInfo = get(&client, &info_url, token.as_deref(), model_id)
        .await?
        .json()
        .await
        .map_err(|e| StageError::Source(format!("{info_url}: unreadable model info: {e}")))?;
    let files: Vec<Sibling> = info
        .siblings
        .into_iter()
        .filter(|s| !s.rfilename.ends_with(".lock") && s.rfilename != ".gitattributes")
        .collect();
    for f in &files {
        if stop.is_cancelled() {
            return Err(StageError::Cancelled);
        }
        let target = safe_join(dest, &f.rfilename)?;
        let have = std::fs::metadata(&target).map(|m| m.len()).ok();
        if have.is_some() && have == f.size {
            continue;
        }
        let url = format!("{base}/{model_id}/resolve/{rev}/{}", f.rfilename);
        fetch(
            &client,
            &url,
            token.as_deref(),
            model_id,
            &target,
            progress,
            stop,
        )
        .await?;
    }
    Ok(())
}

/// A write failure, with the fix when the disk is full.
fn disk_error(path: &Path, e: &std::io::Error) -> StageError {
    let hint = if e.kind() == std::io::ErrorKind::StorageFull {
        "; the disk is full: free space under MCC_BENCH_HOME, or stage with mode processing_job (the download then runs in SageMaker)"
    } else {
        ""
    };
    StageError::Source(format!("{}: {e}{hint}", path.display()))
}

/// `dest/rel`, refusing names that would leave `dest`.
fn safe_join(dest: &Path, rel: &str) -> Result<PathBuf, StageError> {
    let bad = rel
        .split('/')
        .any(|p| p.is_empty() || p == "." || p == "..");
    if bad || rel.starts_with('/') {
        return Err(StageError::Source(format!(
            "the Hub listed a file named {rel:?}, which is not a plain relative path"
        )));
    }
    Ok(dest.join(rel))
}

async fn get(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    model_id: &str,
) -> Result<reqwest::Response, StageError> {
    let mut req = client.get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.map_err(|e| {
        StageError::Source(format!("{url}: {e}; check HF_ENDPOINT and the network"))
    })?;
    let status = resp.status().as_u16();
    match status {
        200..=299 => Ok(resp),
        401 | 403 if token.is_none() => Err(StageError::Source(format!(
            "{model_id} is gated or private (HTTP {status}); accept its licence on the Hub and set HF_TOKEN"
        ))),
        401 | 403 => Err(StageError::Source(format!(
            "{model_id}: the Hub refused HF_TOKEN (HTTP {status}); check the token and that it has access to this model"
        ))),
        404 => Err(StageError::Source(format!(
            "{model_id} was not found on the Hub (HTTP 404 for {url}); check the model id and revision"
        ))),
        _ => Err(StageError::Source(format!("{url}: HTTP {status}"))),
    }
}

/// Streams one file to `target` (via a `.part` file renamed at the end).
async fn fetch(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    model_id: &str,
    target: &Path,
    progress: &StageProgress,
    stop: &CancellationToken,
) -> Result<(), StageError> {
    let io = |e: std::io::Error| disk_error(target, &e);
    if let Some(parent) = target.parent() {
        tokio::fs::create_dir_all(parent).await.map_err(io)?;
    }
    let mut part = target.as_os_str().to_owned();
    part.push(".part");
    let part = PathBuf::from(part);
    let mut resp = get(client, url, token, model_id).await?;
    let mut file = tokio::fs::File::create(&part).await.map_err(io)?;
    loop {
        let chunk = tokio::select! {
            c = resp.chunk() => c.map_err(|e| StageError::Source(format!("{url}: download cut: {e}")))?,
            () = stop.cancelled() => return Err(StageError::Cancelled),
        };
        let Some(chunk) = chunk else { break };
        file.write_all(&chunk).await.map_err(io)?;
        progress
            .bytes_downloaded
            .fetch_add(chunk.len() as u64, Relaxed);
    }
    file.flush().await.map_err(io)?;
    drop(file);
    tokio::fs::rename(&part, target).await.map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_comes_from_the_environment_then_the_files_hf_writes() {
        use std::collections::HashMap;
        let files: HashMap<PathBuf, String> = [
            (PathBuf::from("/hf/token"), "hf_home\n".to_owned()),
            (PathBuf::from("/x/tok"), "by_path".to_owned()),
            (
                PathBuf::from("/u/.cache/huggingface/token"),
                "default".to_owned(),
            ),
        ]
        .into();
        let find = |vars: &[(&str, &str)]| {
            let vars: HashMap<String, String> = vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            token_from(|k| vars.get(k).cloned(), |p| files.get(p).cloned())
        };
        assert_eq!(
            find(&[("HF_TOKEN", "env"), ("HF_HOME", "/hf")]).as_deref(),
            Some("env")
        );
        assert_eq!(
            find(&[("HF_TOKEN_PATH", "/x/tok"), ("HF_HOME", "/hf")]).as_deref(),
            Some("by_path")
        );
        assert_eq!(find(&[("HF_HOME", "/hf")]).as_deref(), Some("hf_home"));
        assert_eq!(find(&[("HOME", "/u")]).as_deref(), Some("default"));
        assert_eq!(find(&[("HOME", "/nobody")]), None);
    }

    #[test]
    fn a_full_disk_says_so_and_how_to_get_around_it() {
        // /dev/full fails every write with ENOSPC, as a full disk does.
        let e = std::io::Write::write_all(
            &mut std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .expect("/dev/full"),
            b"x",
        )
        .expect_err("ENOSPC");
        let msg = disk_error(Path::new("/models/w.bin"), &e).to_string();
        assert!(
            msg.contains("the disk is full") && msg.contains("processing_job"),
            "{msg}"
        );
    }

    #[test]
    fn hub_file_names_cannot_leave_the_download_folder() {
        let dest = Path::new("/tmp/d");
        assert_eq!(
            safe_join(dest, "a/b.json").expect("ok"),
            dest.join("a/b.json")
        );
        for bad in ["../x", "/etc/passwd", "a//b", "./a"] {
            assert!(safe_join(dest, bad).is_err(), "{bad}");
        }
    }
}
