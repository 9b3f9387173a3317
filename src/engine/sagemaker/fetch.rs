//! Collecting a completed job's output: list what the service wrote under
//! the output location for this job, download it into a fresh `download/`
//! directory of the level, unpack every `*.tar.gz` (regular files and
//! directories only, within a budget: `unpack`), find the AIPerf exports by
//! name, and turn them into a level result. Nothing is ever written through
//! a symbolic link, and the exports are only looked for among regular files.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::api::{split_s3_uri, CloudApi};
use super::unpack::{clear_file_slot, create_file_below, reset_dir, unpack, Budget};
use super::SageMakerError;
use crate::domain::{LevelResult, LoadLevel, TokenCountCheck, Validity};
use crate::storage::{files_under, import_aiperf_json, AIPERF_JSON, AIPERF_JSONL};

/// Largest `profile_export_aiperf.json` read (it is read whole; AIPerf's
/// aggregate is a few kB).
const MAX_EXPORT_JSON_BYTES: u64 = 64 << 20;

/// Downloads job `job_name`'s output from `output_s3` into `level_dir`,
/// leaving `profile_export_aiperf.json` (and the JSONL when present) there.
/// Returns a warning per object or archive entry that was skipped.
pub(super) async fn download_job_output<A: CloudApi>(
    api: &A,
    output_s3: &str,
    job_name: &str,
    level_dir: &Path,
) -> Result<Vec<String>, SageMakerError> {
    let (bucket, prefix) = split_s3_uri(output_s3).ok_or_else(|| {
        SageMakerError::Output(format!(
            "job {job_name} reports an unusable output location {output_s3:?}"
        ))
    })?;
    let keys: Vec<String> = api
        .list_objects(&bucket, &prefix)
        .await?
        .into_iter()
        .filter(|k| k.contains(job_name))
        .collect();
    if keys.is_empty() {
        return Err(SageMakerError::Output(format!(
            "job {job_name} completed but nothing under s3://{bucket}/{prefix} names it; the output may have been deleted"
        )));
    }
    let raw = level_dir.join("download");
    fs::create_dir_all(level_dir).map_err(|e| io_error(level_dir, &e))?;
    reset_dir(&raw).map_err(|e| io_error(&raw, &e))?;
    let mut budget = Budget::default();
    let mut warnings = Vec::new();
    for key in &keys {
        let rel = safe_relative(key);
        if rel.as_os_str().is_empty() {
            warnings.push(format!("object {key:?}: skipped, its key names no file"));
            continue;
        }
        let dest = clear_file_slot(&raw, &rel).map_err(|e| io_error(&raw, &e))?;
        api.download(&bucket, key, &dest).await?;
        if key.ends_with(".tar.gz") || key.ends_with(".tgz") {
            match unpack(&dest, &raw, &mut budget) {
                Ok(skipped) => warnings.extend(skipped),
                Err(e) => {
                    // What was unpacked of a refused output is not kept.
                    let _ = fs::remove_dir_all(&raw);
                    return Err(e.into());
                }
            }
        }
    }
    place_exports(
        &raw,
        level_dir,
        &format!("s3://{bucket}/{prefix}"),
        job_name,
    )?;
    Ok(warnings)
}

/// A key as a relative path without `..` or absolute parts.
fn safe_relative(key: &str) -> PathBuf {
    key.split('/')
        .filter(|p| !p.is_empty() && *p != "." && *p != "..")
        .collect()
}

/// Copies the first regular `profile_export_aiperf.json` / `.jsonl` found
/// (in path order) into `level_dir`.
fn place_exports(
    raw: &Path,
    level_dir: &Path,
    location: &str,
    job: &str,
) -> Result<(), SageMakerError> {
    let found = files_under(raw);
    let pick = |name: &str| {
        found
            .iter()
            .find(|p| p.file_name().is_some_and(|n| n == name))
    };
    let Some(json) = pick(AIPERF_JSON) else {
        return Err(SageMakerError::Output(format!(
            "job {job} completed but its output under {location} holds no {AIPERF_JSON}"
        )));
    };
    copy(json, level_dir, AIPERF_JSON)?;
    if let Some(jsonl) = pick(AIPERF_JSONL) {
        copy(jsonl, level_dir, AIPERF_JSONL)?;
    }
    Ok(())
}

/// Copies `from` to a new file `dir/name` (replacing, never following, a
/// link at that place).
fn copy(from: &Path, dir: &Path, name: &str) -> Result<(), SageMakerError> {
    let to = dir.join(name);
    let mut src = fs::File::open(from).map_err(|e| io_error(from, &e))?;
    let mut dst = create_file_below(dir, Path::new(name)).map_err(|e| io_error(&to, &e))?;
    io::copy(&mut src, &mut dst)
        .map(|_| ())
        .map_err(|e| io_error(&to, &e))
}

/// The level result of a downloaded level directory.
pub(super) fn level_from_exports(
    level_dir: &Path,
    concurrency: u32,
    tokenizer: &str,
) -> Result<LevelResult, SageMakerError> {
    let path = level_dir.join(AIPERF_JSON);
    let size = fs::metadata(&path).map_err(|e| io_error(&path, &e))?.len();
    if size > MAX_EXPORT_JSON_BYTES {
        return Err(SageMakerError::Output(format!(
            "{}: {size} bytes, over the {MAX_EXPORT_JSON_BYTES} an AIPerf aggregate may take; not imported",
            path.display()
        )));
    }
    let text = fs::read_to_string(&path).map_err(|e| io_error(&path, &e))?;
    let imported = import_aiperf_json(&path.display().to_string(), &text)
        .map_err(|e| SageMakerError::Output(e.to_string()))?;
    let m = imported.metrics;
    Ok(LevelResult {
        level: LoadLevel::Concurrency { concurrency },
        requests_sent: m.request_count + m.error_request_count,
        validity: cloud_validity(concurrency, m.request_throughput),
        metrics: m,
        errors: imported.errors,
        token_counts: TokenCountCheck {
            source: "client".into(),
            tokenizer: tokenizer.to_owned(),
            usage_reported: 0,
            input_mismatches: 0,
            output_mismatches: 0,
            osl_short_of_requested: 0,
        },
        was_cancelled: imported.was_cancelled,
        start_time: imported.start_time,
        end_time: imported.end_time,
        export_dir: level_dir.display().to_string(),
    })
}

fn cloud_validity(concurrency: u32, rate: f64) -> Validity {
    Validity {
        target_concurrency: Some(concurrency),
        achieved_concurrency: 0.0,
        target_rate: None,
        achieved_rate: rate,
        dispatch_lateness_p50_ms: 0.0,
        dispatch_lateness_p99_ms: 0.0,
        client_cpu_cores: 0.0,
        client_cpu_utilization: 0.0,
        available_cores: 0,
        runtime_lag_p50_ms: 0.0,
        runtime_lag_p99_ms: 0.0,
        client_bound: false,
        reasons: Vec::new(),
        measured_by: Some(
            "AIPerf in a SageMaker AI benchmark job; client-side checks apply to local runs only"
                .into(),
        ),
        ..Validity::default()
    }
}

fn io_error(path: &Path, e: &std::io::Error) -> SageMakerError {
    SageMakerError::Output(format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_never_escape_the_download_directory() {
        assert_eq!(
            safe_relative("p/../../etc/passwd"),
            PathBuf::from("p/etc/passwd")
        );
        assert_eq!(
            safe_relative("/abs//x.tar.gz"),
            PathBuf::from("abs/x.tar.gz")
        );
    }
}
