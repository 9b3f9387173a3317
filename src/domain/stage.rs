//! Staging model weights into S3: what a staging run was asked to do (kept
//! in the run record's `engine_refs`, so a replaced runner can resume it),
//! its live progress, and its report.

use serde::{Deserialize, Serialize};

/// Where the weights come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StageSource {
    /// A local folder holding `config.json` and the weights.
    Folder {
        /// The folder.
        path: String,
    },
    /// A snapshot in the local Hugging Face cache (offline).
    HfCache {
        /// The snapshot directory.
        path: String,
    },
    /// The Hugging Face Hub (or a mirror at `HF_ENDPOINT`), downloaded into
    /// the run directory first.
    Hub {
        /// Base URL of the Hub.
        endpoint: String,
    },
}

/// How the processing job is set up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessingSpec {
    /// Job name (≤ 63 characters), fixed when the run is recorded.
    pub job_name: String,
    /// Container image.
    pub image: String,
    /// Instance type.
    pub instance_type: String,
    /// EBS volume, GB.
    pub volume_gb: i32,
    /// Role the job runs as (`roleArn`).
    pub role_arn: String,
    /// Secrets Manager ARN of the Hugging Face token, when configured.
    pub hf_token_arn: Option<String>,
}

/// Everything a staging run needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagePlan {
    /// Hugging Face model id (`org/name`); names the S3 prefix.
    pub model_id: String,
    /// Hub revision (branch, tag or commit), when pinned.
    pub revision: Option<String>,
    /// Where the files come from.
    pub source: StageSource,
    /// Destination bucket.
    pub bucket: String,
    /// Destination prefix, `models/{org}/{repo}/`.
    pub prefix: String,
    /// Upload every file even when it is already there.
    pub force: bool,
    /// Region of the bucket, when known.
    pub region: Option<String>,
    /// The ml-container-creator project whose `do/config` gets
    /// `STAGED_MODEL_PATH` afterwards.
    pub project_dir: Option<String>,
    /// Set when a SageMaker Processing Job does the work instead of this
    /// machine (`mode: processing_job`).
    #[serde(default)]
    pub processing: Option<ProcessingSpec>,
}

impl StagePlan {
    /// `s3://bucket/models/org/repo/`.
    pub fn s3_uri(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }
}

/// How a staging run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageOutcome {
    /// Files were uploaded; every file is now there.
    Staged,
    /// `config.json` and every file were already there; nothing uploaded.
    AlreadyStaged,
}

/// What a staging run did (`stage_result.json` in its run directory).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageReport {
    /// Staged or already staged.
    pub outcome: StageOutcome,
    /// Where the model now is.
    pub s3_uri: String,
    /// Files of the model (after the `*.lock` / `.gitattributes` filter).
    pub files_total: u64,
    /// Files uploaded by this run.
    pub files_uploaded: u64,
    /// Files already there with the same content, left alone.
    pub files_skipped: u64,
    /// Bytes of the model.
    pub bytes_total: u64,
    /// Bytes uploaded by this run.
    pub bytes_uploaded: u64,
    /// Bytes of parts an interrupted earlier run had uploaded, kept.
    #[serde(default)]
    pub bytes_resumed: u64,
    /// Wall time of the upload phase, seconds.
    pub upload_seconds: f64,
    /// Upload throughput, MiB/s (0 when nothing was uploaded).
    pub mib_per_s: f64,
    /// The `do/config` that now records `STAGED_MODEL_PATH`, if any.
    pub config_updated: Option<String>,
    /// Things that did not stop the run but deserve attention.
    pub warnings: Vec<String>,
}
