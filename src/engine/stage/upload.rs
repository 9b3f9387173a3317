//! Uploading files with bounded parallelism: one task per file, and every
//! S3 request (a whole small file, or one part of a large one) takes a
//! permit of one shared semaphore, so at most `parallel` requests are in
//! flight whatever the mix of files. Parts stream from the file; nothing
//! holds a whole file in memory. The first failure or a cancel stops the
//! rest. A failed multipart upload is aborted; a cancelled or killed run's
//! is left open, and the next run continues it, keeping the parts whose
//! size and checksum match the file.

use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::files;
use super::store::{ObjectStore, PartSpan, UploadedPart};
use super::{StageError, StageProgress};

/// Files up to this size go up in one `PutObject`.
pub(super) const SINGLE_PUT_MAX: u64 = 16 << 20;
/// Smallest part; parts grow so that no file needs more than 10,000.
const MIN_PART: u64 = 16 << 20;
const MAX_PARTS: u64 = 10_000;

/// One file to upload.
#[derive(Debug, Clone)]
pub struct Upload {
    /// Local path.
    pub path: PathBuf,
    /// Destination key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Its SHA-256, hex.
    pub sha256: String,
    /// An unfinished multipart upload of this key left by an earlier run:
    /// its parts that match the file are kept.
    pub resume: Option<String>,
}

/// What every upload task shares.
struct Shared<S> {
    store: S,
    bucket: String,
    permits: Semaphore,
    progress: Arc<StageProgress>,
    /// Cancelled on a stop request or the first failure.
    stop: CancellationToken,
}

/// Uploads every file; returns when all are done, on the first failure, or
/// once `stop` is cancelled (then `StageError::Cancelled`).
pub(super) async fn upload_all<S: ObjectStore + Clone + 'static>(
    store: &S,
    bucket: &str,
    uploads: Vec<Upload>,
    parallel: usize,
    progress: Arc<StageProgress>,
    stop: &CancellationToken,
) -> Result<(), StageError> {
    let shared = Arc::new(Shared {
        store: store.clone(),
        bucket: bucket.to_owned(),
        permits: Semaphore::new(parallel.max(1)),
        progress,
        stop: stop.child_token(),
    });
    let mut tasks = JoinSet::new();
    for u in uploads {
        tasks.spawn(upload_file(Arc::clone(&shared), u));
    }
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        let outcome =
            joined.unwrap_or_else(|e| Err(StageError::Source(format!("upload task failed: {e}"))));
        if let Err(e) = outcome {
            shared.stop.cancel();
            first_error.get_or_insert(e);
        }
    }
    match first_error {
        Some(e) => Err(e),
        None if stop.is_cancelled() => Err(StageError::Cancelled),
        None => Ok(()),
    }
}

async fn upload_file<S: ObjectStore + 'static>(
    sh: Arc<Shared<S>>,
    u: Upload,
) -> Result<(), StageError> {
    if u.size <= SINGLE_PUT_MAX {
        let _permit = acquire(&sh).await?;
        let put = sh.store.put_file(&sh.bucket, &u.key, &u.path, &u.sha256);
        tokio::select! {
            r = put => r?,
            () = sh.stop.cancelled() => return Err(StageError::Cancelled),
        }
        sh.progress.bytes_done.fetch_add(u.size, Relaxed);
    } else {
        multipart(&sh, &u).await?;
    }
    sh.progress.files_done.fetch_add(1, Relaxed);
    Ok(())
}

async fn acquire<S>(sh: &Shared<S>) -> Result<tokio::sync::SemaphorePermit<'_>, StageError> {
    tokio::select! {
        p = sh.permits.acquire() => p.map_err(|_| StageError::Cancelled),
        () = sh.stop.cancelled() => Err(StageError::Cancelled),
    }
}

/// A large file in parts, continuing an earlier run's upload when there is
/// one. A failure aborts the upload so no part is left behind; a cancel
/// leaves it open, so the next run continues from the parts already up.
async fn multipart<S: ObjectStore>(sh: &Shared<S>, u: &Upload) -> Result<(), StageError> {
    let kept = match &u.resume {
        Some(id) => {
            let kept = matching_parts(sh, u, id).await;
            if kept.is_none() {
                let _ = sh.store.abort_multipart(&sh.bucket, &u.key, id).await;
            }
            kept.map(|p| (id.clone(), p))
        }
        None => None,
    };
    let (id, kept) = match kept {
        Some(k) => k,
        None => {
            let id = sh
                .store
                .start_multipart(&sh.bucket, &u.key, &u.sha256)
                .await?;
            (id, Vec::new())
        }
    };
    match parts(sh, u, &id, kept).await {
        Ok(done) => Ok(sh
            .store
            .complete_multipart(&sh.bucket, &u.key, &id, &done)
            .await?),
        Err(StageError::Cancelled) => Err(StageError::Cancelled),
        Err(e) => {
            let _ = sh.store.abort_multipart(&sh.bucket, &u.key, &id).await;
            Err(e)
        }
    }
}

/// The parts of an unfinished upload whose size and SHA-256 match this
/// file's; `None` when the upload cannot be listed (start afresh).
async fn matching_parts<S: ObjectStore>(
    sh: &Shared<S>,
    u: &Upload,
    id: &str,
) -> Option<Vec<UploadedPart>> {
    let listed = match sh.store.list_parts(&sh.bucket, &u.key, id).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!("cannot continue the unfinished upload of {}: {e}", u.key);
            return None;
        }
    };
    let spans = spans(u.size);
    let mut kept = Vec::new();
    for part in listed {
        let Some(span) = spans.iter().find(|s| s.number == part.number) else {
            continue;
        };
        if part.size != span.len {
            continue;
        }
        if let Some(part) = same_part(&u.path, *span, part).await {
            sh.progress.bytes_done.fetch_add(span.len, Relaxed);
            sh.progress.bytes_resumed.fetch_add(span.len, Relaxed);
            kept.push(part);
        }
    }
    Some(kept)
}

/// The part, when it holds exactly this span of the file: its SHA-256
/// checksum when the store reports one, else its ETag (the MD5 of the
/// part's bytes). A part listed without its checksum gets the local one,
/// which completing an upload created with SHA-256 checksums requires.
async fn same_part(
    path: &std::path::Path,
    span: PartSpan,
    mut part: UploadedPart,
) -> Option<UploadedPart> {
    let path = path.to_owned();
    let (listed_sha, etag) = (
        part.sha256.clone(),
        part.etag.trim_matches('"').to_ascii_lowercase(),
    );
    let local_sha = tokio::task::spawn_blocking(move || {
        let sha = files::span_sha256_b64(&path, span.offset, span.len).ok()?;
        let same = match &listed_sha {
            Some(listed) => *listed == sha,
            None => files::span_md5_hex(&path, span.offset, span.len).ok()? == etag,
        };
        same.then_some(sha)
    })
    .await
    .ok()??;
    part.sha256 = Some(local_sha);
    Some(part)
}

/// Uploads the parts of one file concurrently (each under a permit).
async fn parts<S: ObjectStore>(
    sh: &Shared<S>,
    u: &Upload,
    id: &str,
    kept: Vec<UploadedPart>,
) -> Result<Vec<UploadedPart>, StageError> {
    let todo: Vec<PartSpan> = spans(u.size)
        .into_iter()
        .filter(|s| !kept.iter().any(|k| k.number == s.number))
        .collect();
    let each = todo.iter().map(|span| async move {
        let _permit = acquire(sh).await?;
        let up = sh.store.upload_part(&sh.bucket, &u.key, id, &u.path, *span);
        let part = tokio::select! {
            r = up => r?,
            () = sh.stop.cancelled() => return Err(StageError::Cancelled),
        };
        sh.progress.bytes_done.fetch_add(span.len, Relaxed);
        Ok::<_, StageError>(part)
    });
    let mut done = kept;
    for r in join_all(each).await {
        done.push(r?);
    }
    done.sort_by_key(|p| p.number);
    Ok(done)
}

/// Polls every future to completion concurrently, in this task.
async fn join_all<F: std::future::Future>(futs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futs.map(|f| Some(Box::pin(f))).collect();
    let mut out: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (slot, result) in pinned.iter_mut().zip(out.iter_mut()) {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        *result = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

/// The parts of a file of `size` bytes: equal spans of at least 16 MiB,
/// never more than 10,000.
pub fn spans(size: u64) -> Vec<PartSpan> {
    let part = MIN_PART.max(size.div_ceil(MAX_PARTS));
    (0..size.div_ceil(part))
        .map(|i| PartSpan {
            number: i as i32 + 1,
            offset: i * part,
            len: part.min(size - i * part),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_cover_the_file_in_at_most_ten_thousand_parts() {
        let s = spans(40 << 20);
        assert_eq!(s.len(), 3);
        assert_eq!(s[2].offset + s[2].len, 40 << 20);
        assert_eq!(s[2].len, 8 << 20);
        let huge = 1u64 << 40;
        let s = spans(huge);
        assert!(s.len() <= 10_000);
        assert_eq!(s.iter().map(|p| p.len).sum::<u64>(), huge);
        assert!(s.windows(2).all(|w| w[0].offset + w[0].len == w[1].offset));
    }
}
