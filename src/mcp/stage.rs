//! `stage_model`: put a model's weights into S3 as a tracked run, and the
//! staging part of `get_status` (live counters, then the report).

use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::allowed::allowed_dir;
use super::params::portable;
use super::server::Shared;
use super::tool_error::{tool_err, ToolError};
use crate::domain::{RunRecord, StageReport};
use crate::jobs::{self, StageRequest};

/// `stage_model` arguments.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(transform = portable)]
#[serde(deny_unknown_fields)]
pub(crate) struct StageArgs {
    /// Hugging Face model id (`org/name`); names the destination
    /// `s3://{bucket}/models/{org}/{name}/`. Default: the project's
    /// HF_MODEL_ID.
    pub(crate) model_id: Option<String>,
    /// Take the weights from this folder (it must hold config.json; under
    /// the server's working directory or a directory the operator allows).
    /// Without it: the local Hugging Face cache, else the Hub (HF_ENDPOINT,
    /// HF_TOKEN).
    pub(crate) local_dir: Option<String>,
    /// Destination bucket. Default: the bootstrap profile's modelsS3Bucket;
    /// another only when the operator allows it (`serve --allow-bucket`).
    pub(crate) bucket: Option<String>,
    /// Hub revision (branch, tag or commit) to pin.
    pub(crate) revision: Option<String>,
    /// Upload every file even when it is already there.
    #[serde(default)]
    pub(crate) force: bool,
    /// `local` (default: this machine downloads and uploads) or
    /// `processing_job` (a SageMaker Processing Job downloads from the Hub
    /// and syncs to S3, for models larger than the local disk).
    pub(crate) mode: Option<String>,
    /// processing_job: instance type (default ml.m5.xlarge).
    pub(crate) instance_type: Option<String>,
    /// processing_job: volume in GB (default 2048; the image is the
    /// operator's choice, `serve --processing-image`).
    pub(crate) volume_gb: Option<i32>,
    /// ml-container-creator project (holding do/config): defaults come from
    /// it, and STAGED_MODEL_PATH is recorded in it afterwards. Default: the
    /// server's working directory when it is a project.
    pub(crate) project_dir: Option<String>,
}

/// A started staging run.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct StageStarted {
    /// Handle for get_status and cancel_benchmark.
    pub(crate) run_id: String,
    /// Current state.
    pub(crate) status: String,
    /// Where the model goes.
    pub(crate) s3_uri: String,
    /// `folder`, `hf_cache`, `hub`, or `processing_job`.
    pub(crate) source: String,
}

/// Where a staging run stands (in get_status).
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = crate::domain::schema::nullable_any_of)]
pub(crate) struct Staging {
    /// Destination.
    pub(crate) s3_uri: String,
    /// Files uploaded or found already there, of `files_total`.
    pub(crate) files_done: u64,
    /// Files of the model.
    pub(crate) files_total: u64,
    /// Bytes uploaded or found already there, of `bytes_total`.
    pub(crate) bytes_done: u64,
    /// Bytes of the model.
    pub(crate) bytes_total: u64,
    /// Bytes downloaded from the Hub so far.
    pub(crate) bytes_downloaded: u64,
    /// Upload throughput so far, MiB/s.
    pub(crate) mib_per_s: f64,
    /// The report, once the run has finished.
    #[schemars(schema_with = "crate::domain::schema::any_object_or_null")]
    pub(crate) result: Option<serde_json::Value>,
}

pub(crate) fn start(shared: &Shared, a: StageArgs) -> Result<StageStarted, ToolError> {
    let jobs = &shared.jobs;
    let mode = a.mode.as_deref().unwrap_or("local");
    if mode != "local" && mode != "processing_job" {
        return Err(tool_err!(
            "mode {mode:?} is not known; use \"local\" (this machine downloads and uploads) or \"processing_job\" (a SageMaker Processing Job does, for models larger than the local disk)"
        ));
    }
    let dir = |d: Option<String>, what: &str| d.map(|d| allowed_dir(shared, &d, what)).transpose();
    let req = StageRequest {
        model_id: a.model_id,
        local_dir: dir(a.local_dir, "local_dir")?,
        bucket: a.bucket,
        revision: a.revision,
        force: a.force,
        project_dir: dir(a.project_dir, "project_dir")?.or_else(|| shared.project.clone()),
        processing_job: mode == "processing_job",
        instance_type: a.instance_type,
        volume_gb: a.volume_gb,
        image: shared.policy.processing_image.clone(),
        allowed_buckets: Some(shared.policy.allow_buckets.clone()),
    };
    let plan = jobs::plan_stage(&req)?;
    let source = match &plan.source {
        _ if plan.processing.is_some() => "processing_job",
        crate::domain::StageSource::Folder { .. } => "folder",
        crate::domain::StageSource::HfCache { .. } => "hf_cache",
        crate::domain::StageSource::Hub { .. } => "hub",
    };
    let record = jobs.start_stage(plan, None)?;
    Ok(StageStarted {
        run_id: record.run_id,
        status: record.status.as_str().into(),
        s3_uri: record.target,
        source: source.into(),
    })
}

/// The staging view of a run, when it is a staging run.
pub(crate) fn staging(r: &RunRecord) -> Option<Staging> {
    let plan = jobs::stage_plan_of(r)?;
    let dir = Path::new(&r.run_dir);
    let read = |name: &str| -> Option<serde_json::Value> {
        serde_json::from_slice(&std::fs::read(dir.join(name)).ok()?).ok()
    };
    let p = read(jobs::STAGE_PROGRESS_JSON).unwrap_or_default();
    let n = |k: &str| p.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
    let result = read(jobs::STAGE_RESULT_JSON)
        .filter(|v| serde_json::from_value::<StageReport>(v.clone()).is_ok());
    Some(Staging {
        s3_uri: plan.s3_uri(),
        files_done: n("files_done"),
        files_total: n("files_total"),
        bytes_done: n("bytes_done"),
        bytes_total: n("bytes_total"),
        bytes_downloaded: n("bytes_downloaded"),
        mib_per_s: p
            .get("mib_per_s")
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(0.0),
        result,
    })
}
