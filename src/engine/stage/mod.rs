//! Staging model weights into S3 (`s3://{bucket}/models/{org}/{repo}/`):
//! list the model's files, compare them with what is already there (size,
//! then the SHA-256 we store as metadata, else the single-part ETag's MD5),
//! and upload only what is missing or differs. With `config.json` and every
//! file already there the answer is `already_staged` and nothing is sent.
//! A run killed half-way is resumed by running it again: finished files
//! are skipped, and a large file's unfinished multipart upload is continued
//! from the parts that match.
//!
//! - `files` — the model folder's files and their digests.
//! - `store` — the S3 operations, as a trait of our own.
//! - `source` — where the files come from: a folder, the HF cache, the Hub.
//! - `upload` — bounded-parallel, streaming, checksummed uploads.
//! - `processing` — the same staging done by a SageMaker Processing Job.

mod files;
pub mod processing;
pub mod source;
pub mod store;
mod upload;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

pub use files::span_sha256_b64;
pub use files::{md5_hex, model_files, sha256_hex, LocalFile};
pub use store::{ObjectStore, RemoteObject};
pub use upload::{spans, Upload};

use crate::domain::{StageOutcome, StagePlan, StageReport};
use crate::engine::{CloudError, CloudErrorKind};

/// Why staging stopped.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// The source is missing, unreadable or not a model.
    #[error("{0}")]
    Source(String),
    /// The bucket is missing or not writable.
    #[error("{0}")]
    Bucket(String),
    /// An S3 call failed.
    #[error(transparent)]
    Cloud(#[from] CloudError),
    /// Stopped on request; files finished so far stay uploaded.
    #[error(
        "cancelled on request; files and parts uploaded so far are kept, and a new run uploads only the rest"
    )]
    Cancelled,
}

/// Live counters, read by the progress writer while uploads run.
#[derive(Debug, Default)]
pub struct StageProgress {
    /// Files of the model.
    pub files_total: AtomicU64,
    /// Files uploaded or found already there.
    pub files_done: AtomicU64,
    /// Bytes of the model.
    pub bytes_total: AtomicU64,
    /// Bytes uploaded or found already there.
    pub bytes_done: AtomicU64,
    /// Bytes found already there (excluded from throughput).
    pub bytes_skipped: AtomicU64,
    /// Bytes downloaded from the Hub (before the upload starts).
    pub bytes_downloaded: AtomicU64,
    /// Bytes of parts an earlier, interrupted run had already uploaded.
    pub bytes_resumed: AtomicU64,
}

/// Parallel S3 requests when the caller does not say.
pub const DEFAULT_PARALLEL: usize = 8;

/// Stages the model in `dir` as `plan` says.
pub async fn stage<S: ObjectStore + Clone + 'static>(
    store: &S,
    plan: &StagePlan,
    dir: &Path,
    progress: Arc<StageProgress>,
    stop: &CancellationToken,
    parallel: usize,
) -> Result<StageReport, StageError> {
    let files = model_files(dir)?;
    check_bucket(store, &plan.bucket).await?;
    let total: u64 = files.iter().map(|f| f.size).sum();
    progress.files_total.store(files.len() as u64, Relaxed);
    progress.bytes_total.store(total, Relaxed);
    let mut todo = to_upload(store, plan, &files, &progress).await?;
    let mut report = report(plan, &files, &todo);
    if todo.is_empty() {
        return Ok(report);
    }
    resume_or_abort(store, plan, &mut todo, &mut report).await;
    let started = Instant::now();
    let counters = Arc::clone(&progress);
    upload::upload_all(store, &plan.bucket, todo, parallel, progress, stop).await?;
    report.upload_seconds = started.elapsed().as_secs_f64();
    report.bytes_resumed = counters.bytes_resumed.load(Relaxed);
    report.bytes_uploaded = report.bytes_uploaded.saturating_sub(report.bytes_resumed);
    if report.upload_seconds > 0.0 {
        report.mib_per_s = report.bytes_uploaded as f64 / 1_048_576.0 / report.upload_seconds;
    }
    Ok(report)
}

/// A missing or unreachable bucket, said plainly.
async fn check_bucket<S: ObjectStore>(store: &S, bucket: &str) -> Result<(), StageError> {
    store.check_bucket(bucket).await.map_err(|e| {
        let why = match e.kind {
            CloudErrorKind::NotFound => "does not exist",
            CloudErrorKind::AccessDenied => "is not accessible with these credentials (grant s3:ListBucket, s3:GetObject and s3:PutObject on it)",
            CloudErrorKind::Credentials => return StageError::Cloud(e),
            _ => "could not be reached",
        };
        StageError::Bucket(format!(
            "bucket {bucket} {why}; create it (ml-container-creator bootstrap does) or pass bucket, and check AWS_REGION ({e})"
        ))
    })
}

/// The files that must be uploaded (all of them with `force`); the others
/// are counted as done.
async fn to_upload<S: ObjectStore>(
    store: &S,
    plan: &StagePlan,
    files: &[LocalFile],
    progress: &StageProgress,
) -> Result<Vec<Upload>, StageError> {
    let remote = store.list_sized(&plan.bucket, &plan.prefix).await?;
    let mut todo = Vec::new();
    for f in files {
        let key = format!("{}{}", plan.prefix, f.rel);
        let sha256 = digest(sha256_hex, f).await?;
        let there = remote.iter().find(|r| r.key == key);
        if !plan.force && same(store, plan, f, there, &sha256).await? {
            progress.files_done.fetch_add(1, Relaxed);
            progress.bytes_done.fetch_add(f.size, Relaxed);
            progress.bytes_skipped.fetch_add(f.size, Relaxed);
            continue;
        }
        todo.push(Upload {
            path: f.path.clone(),
            key,
            size: f.size,
            sha256,
            resume: None,
        });
    }
    Ok(todo)
}

/// True when the object holds exactly this file.
async fn same<S: ObjectStore>(
    store: &S,
    plan: &StagePlan,
    f: &LocalFile,
    there: Option<&RemoteObject>,
    sha256: &str,
) -> Result<bool, StageError> {
    let Some(r) = there.filter(|r| r.size == f.size) else {
        return Ok(false);
    };
    if let Some(stored) = store.stored_sha256(&plan.bucket, &r.key).await? {
        return Ok(stored.eq_ignore_ascii_case(sha256));
    }
    if r.etag.contains('-') {
        // Uploaded in parts by another tool, without our checksum.
        return Ok(false);
    }
    Ok(digest(md5_hex, f).await?.eq_ignore_ascii_case(&r.etag))
}

/// A digest computed off the async threads.
async fn digest(
    f: fn(&Path) -> Result<String, StageError>,
    file: &LocalFile,
) -> Result<String, StageError> {
    let path = file.path.clone();
    tokio::task::spawn_blocking(move || f(&path))
        .await
        .map_err(|e| StageError::Source(format!("digest task failed: {e}")))?
}

fn report(plan: &StagePlan, files: &[LocalFile], todo: &[Upload]) -> StageReport {
    let bytes_total = files.iter().map(|f| f.size).sum();
    let bytes_uploaded = todo.iter().map(|u| u.size).sum();
    StageReport {
        outcome: if todo.is_empty() {
            StageOutcome::AlreadyStaged
        } else {
            StageOutcome::Staged
        },
        s3_uri: plan.s3_uri(),
        files_total: files.len() as u64,
        files_uploaded: todo.len() as u64,
        files_skipped: (files.len() - todo.len()) as u64,
        bytes_total,
        bytes_uploaded,
        bytes_resumed: 0,
        upload_seconds: 0.0,
        mib_per_s: 0.0,
        config_updated: None,
        warnings: Vec::new(),
    }
}

/// Hands each large file the unfinished upload an earlier, interrupted run
/// left for its key (its matching parts are kept), and aborts the other
/// unfinished uploads under the prefix (they hold storage until aborted).
/// Failures are only warnings: the upload then starts afresh.
async fn resume_or_abort<S: ObjectStore>(
    store: &S,
    plan: &StagePlan,
    todo: &mut [Upload],
    report: &mut StageReport,
) {
    let open = match store.list_multipart(&plan.bucket, &plan.prefix).await {
        Ok(open) => open,
        Err(e) => {
            report
                .warnings
                .push(format!("could not list unfinished uploads: {e}"));
            return;
        }
    };
    for (key, id) in open {
        let file = todo
            .iter_mut()
            .find(|u| u.key == key && u.size > upload::SINGLE_PUT_MAX && u.resume.is_none());
        if let (Some(u), false) = (file, plan.force) {
            tracing::info!("continuing the unfinished upload of {key}");
            u.resume = Some(id);
            continue;
        }
        if let Err(e) = store.abort_multipart(&plan.bucket, &key, &id).await {
            report.warnings.push(format!(
                "could not abort the unfinished upload of {key}: {e}"
            ));
        }
    }
}
