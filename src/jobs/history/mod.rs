//! Every completed benchmark lands in one history: its rows as a Parquet
//! file under `$MCC_BENCH_HOME/results/…` (always), the same file in
//! `s3://{ciBenchmarkResultsBucket}/results/…` with its partition
//! registered in Athena, and the aggregate JSON in
//! `s3://{benchmarkS3Bucket}/{project}/…` (when the bootstrap profile
//! names those buckets). Nothing here fails a benchmark: each step that
//! cannot be done becomes a warning in `history.json` next to the results.

pub mod athena;
mod report_file;
mod rows;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use report_file::{
    comparison_report_file, default_comparison_path, level_points, request_points,
    write_run_report, REPORT_HTML,
};
pub use rows::{history_rows, model_family, RowSource, UNKNOWN};

use self::athena::{Polling, QueryPlace};
use crate::aws::AwsCloud;
use crate::engine::stage::ObjectStore;
use crate::project::Bootstrap;
use crate::storage::{self, history_file_path, write_history_file, HISTORY_DIR, RESULTS_JSON};

/// Name of the record of where a run's history went.
pub const HISTORY_JSON: &str = "history.json";

/// Where a run's results went, and what could not be done.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HistoryOutcome {
    /// The local Parquet file.
    pub local_parquet: Option<String>,
    /// The Parquet object in the results bucket.
    pub s3_parquet: Option<String>,
    /// The aggregate JSON in the benchmark bucket.
    pub s3_results_json: Option<String>,
    /// The Athena partition registered (`model=…/instance=…/target=…`).
    pub athena_partition: Option<String>,
    /// Rows written (one per level).
    pub rows: usize,
    /// Steps that failed or were skipped, with the reason and the fix.
    pub warnings: Vec<String>,
}

/// Athena settings: workgroup and result location from the environment
/// (`MCC_BENCH_ATHENA_WORKGROUP`, `MCC_BENCH_ATHENA_OUTPUT`), else the
/// bootstrap profile (`athenaWorkgroup`, `athenaOutputLocation`), else
/// `primary` and `s3://{results bucket}/athena-results/`.
pub fn query_place(bootstrap: &Bootstrap, results_bucket: Option<&str>) -> QueryPlace {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    QueryPlace {
        workgroup: env("MCC_BENCH_ATHENA_WORKGROUP")
            .or_else(|| bootstrap.get("athenaWorkgroup"))
            .unwrap_or_else(|| "primary".into()),
        output_location: env("MCC_BENCH_ATHENA_OUTPUT")
            .or_else(|| bootstrap.get("athenaOutputLocation"))
            .or_else(|| results_bucket.map(|b| format!("s3://{b}/athena-results/"))),
        database: Some(crate::domain::HISTORY_DATABASE.to_owned()),
    }
}

/// Adds a finished run to the history and writes `history.json` into
/// `run_dir`. Must run inside a Tokio runtime.
pub async fn publish(home: &Path, src: RowSource<'_>, run_dir: &Path) -> HistoryOutcome {
    let mut out = HistoryOutcome::default();
    let rows = history_rows(src);
    out.rows = rows.len();
    let partition = src.partition();
    let (local, file_name) = free_file(home, &partition, src.file_name());
    match write_history_file(&local, &rows) {
        Ok(()) => out.local_parquet = Some(local.display().to_string()),
        Err(e) => out
            .warnings
            .push(format!("history not written locally: {e}")),
    }
    match Bootstrap::load(&Bootstrap::default_path()) {
        Ok(b) => publish_cloud(&b, src, &local, &file_name, &mut out).await,
        Err(e) => out.warnings.push(format!("S3 and Athena skipped: {e}")),
    }
    if let Err(e) = storage::write_json_file(&run_dir.join(HISTORY_JSON), &out, "history record") {
        tracing::warn!("cannot record where the history went: {e}");
    }
    out
}

async fn publish_cloud(
    bootstrap: &Bootstrap,
    src: RowSource<'_>,
    local: &Path,
    file_name: &str,
    out: &mut HistoryOutcome,
) {
    let results_bucket = bootstrap.get("ciBenchmarkResultsBucket");
    let json_bucket = bootstrap.get("benchmarkS3Bucket");
    if results_bucket.is_none() && json_bucket.is_none() {
        return;
    }
    let cloud = AwsCloud::from_env(src.context.region.as_deref()).await;
    if let (Some(bucket), Some(_)) = (&results_bucket, &out.local_parquet) {
        publish_parquet(&cloud, bootstrap, bucket, src, local, file_name, out).await;
    }
    if let Some(bucket) = json_bucket {
        upload_results_json(&cloud, &bucket, src, out).await;
    }
}

/// The Parquet file into the results bucket, then its Athena partition.
async fn publish_parquet(
    cloud: &AwsCloud,
    bootstrap: &Bootstrap,
    bucket: &str,
    src: RowSource<'_>,
    local: &Path,
    file_name: &str,
    out: &mut HistoryOutcome,
) {
    let partition = src.partition();
    let key = format!("{HISTORY_DIR}/{}/{file_name}", partition.path());
    if let Err(e) = upload(cloud, bucket, &key, local).await {
        out.warnings.push(format!(
            "the history file was not uploaded to s3://{bucket}/{key}: {e}"
        ));
        return;
    }
    out.s3_parquet = Some(format!("s3://{bucket}/{key}"));
    let place = query_place(bootstrap, Some(bucket));
    match athena::register_partition(cloud, &place, bucket, &partition, athena_polling()).await {
        Ok(_) => out.athena_partition = Some(partition.path()),
        Err(e) => out.warnings.push(format!(
            "the Athena partition was not registered ({e}); the file is in S3, so `MSCK REPAIR TABLE mlcc_ci.benchmark_results` in Athena picks it up"
        )),
    }
}

async fn upload_results_json(
    cloud: &AwsCloud,
    bucket: &str,
    src: RowSource<'_>,
    out: &mut HistoryOutcome,
) {
    let Some(project) = &src.context.project_name else {
        return;
    };
    let path = PathBuf::from(&src.result.output_dir).join(RESULTS_JSON);
    let key = format!("{project}/{}/{RESULTS_JSON}", src.result.run_id);
    match upload(cloud, bucket, &key, &path).await {
        Ok(()) => out.s3_results_json = Some(format!("s3://{bucket}/{key}")),
        Err(e) => out.warnings.push(format!(
            "results.json was not uploaded to s3://{bucket}/{key}: {e}"
        )),
    }
}

async fn upload(cloud: &AwsCloud, bucket: &str, key: &str, path: &Path) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&bytes))
    };
    cloud
        .put_file(bucket, key, path, &sha)
        .await
        .map_err(|e| e.to_string())
}

/// The history path for `name`, or with `-2`, `-3`… before `.parquet` when
/// another run of the same project started in the same second.
fn free_file(home: &Path, partition: &crate::domain::Partition, name: String) -> (PathBuf, String) {
    let stem = name.trim_end_matches(".parquet").to_owned();
    let candidates = std::iter::once(name).chain((2..=999).map(|n| format!("{stem}-{n}.parquet")));
    for candidate in candidates {
        let path = history_file_path(home, partition, &candidate);
        if !path.exists() {
            return (path, candidate);
        }
    }
    let last = format!("{stem}-{}.parquet", crate::wallclock::compact_utc_now());
    (history_file_path(home, partition, &last), last)
}

/// Athena polling; `MCC_BENCH_ATHENA_TIMEOUT_S` bounds the wait.
pub fn athena_polling() -> Polling {
    let mut p = Polling::default();
    if let Some(s) = std::env::var("MCC_BENCH_ATHENA_TIMEOUT_S")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
    {
        p.timeout = std::time::Duration::from_secs_f64(s);
    }
    p
}

/// After a tracked run completes: its history and its HTML report, from
/// the result in memory. Every failure is logged and recorded, never raised.
pub async fn after_run(
    home: &Path,
    record: &crate::domain::RunRecord,
    result: &crate::domain::RunResult,
) {
    let dir = Path::new(&record.run_dir);
    let context = record.context.clone().unwrap_or_default();
    let job_names: Vec<String> = super::refs_of(record)
        .map(|refs| refs.jobs.into_iter().map(|j| j.job_name).collect())
        .unwrap_or_default();
    let src = RowSource {
        result,
        context: &context,
        engine: record.engine,
        job_names: &job_names,
    };
    publish(home, src, dir).await;
    let ctx = report_context(
        &context,
        record.label.clone(),
        record.engine,
        &record.target,
    );
    if let Err(e) = write_run_report(dir, result, &ctx) {
        tracing::warn!("run {}: report not written: {e}", record.run_id);
    }
}

/// The report's header facts from a run's context.
pub fn report_context(
    c: &crate::domain::ResultContext,
    label: Option<String>,
    engine: crate::domain::Engine,
    target: &str,
) -> crate::report::ReportContext {
    crate::report::ReportContext {
        label,
        engine: engine.to_string(),
        target: target.to_owned(),
        instance_type: c.instance_type.clone(),
        adapter: c.adapter.clone(),
        project: c.project_name.clone(),
    }
}

/// `history.json` of a run, when written.
pub fn read_outcome(run_dir: &Path) -> Option<HistoryOutcome> {
    let text = std::fs::read_to_string(run_dir.join(HISTORY_JSON)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Runs a read-only query on Athena (database `mlcc_ci`, the workgroup
/// and result location of [`query_place`]); the region comes from
/// `AWS_REGION` / the default chain.
pub async fn athena_query(sql: &str, limit: usize) -> Result<storage::QueryRows, String> {
    storage::check_read_only(sql).map_err(|e| e.to_string())?;
    let bootstrap = Bootstrap::load(&Bootstrap::default_path()).map_err(|e| e.to_string())?;
    let bucket = bootstrap.get("ciBenchmarkResultsBucket");
    let place = query_place(&bootstrap, bucket.as_deref());
    if place.output_location.is_none() {
        return Err(format!(
            "Athena needs a place for query results: set ciBenchmarkResultsBucket or athenaOutputLocation in {}, or MCC_BENCH_ATHENA_OUTPUT",
            bootstrap.path.display()
        ));
    }
    let cloud = AwsCloud::from_env(None).await;
    athena::query(&cloud, sql, &place, limit, athena_polling())
        .await
        .map_err(|e| e.to_string())
}
