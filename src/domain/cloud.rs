//! What a SageMaker run needs to know, resolved from an ml-container-creator
//! project and its bootstrap profile, and the cloud identifiers it creates.
//! Stored in the run record's `engine_refs`, so any server or runner can
//! resume the run.

use serde::{Deserialize, Serialize};

/// The endpoint (and inference component) a SageMaker benchmark targets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SageMakerTarget {
    /// SageMaker endpoint name.
    pub endpoint: String,
    /// Inference component, when the endpoint hosts several.
    pub inference_component: Option<String>,
    /// Adapter name, when the component serves a LoRA adapter.
    pub adapter: Option<String>,
    /// Which file chose the inference component (for messages).
    pub chosen_by: String,
}

impl SageMakerTarget {
    /// `sagemaker://endpoint[/component]`, the run record's target.
    pub fn uri(&self) -> String {
        match &self.inference_component {
            Some(ic) => format!("sagemaker://{}/{ic}", self.endpoint),
            None => format!("sagemaker://{}", self.endpoint),
        }
    }
}

/// Everything a SageMaker run is started with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SageMakerPlan {
    /// `PROJECT_NAME`: job-name prefix and S3 prefix.
    pub project: String,
    /// The project directory it was read from.
    pub project_dir: String,
    /// What is measured.
    pub target: SageMakerTarget,
    /// Tokenizer for AIPerf (`HF_MODEL_ID`).
    pub tokenizer: String,
    /// Region from `do/config` (`AWS_REGION`), else the default chain.
    pub region: Option<String>,
    /// Role the benchmark job runs as (`roleArn`).
    pub role_arn: String,
    /// Bucket for raw outputs (`benchmarkS3Bucket`).
    pub output_bucket: String,
    /// Secrets Manager ARN of the Hugging Face token, when configured.
    pub hf_token_arn: Option<String>,
    /// UTC timestamp shared by the run's job and config names.
    pub stamp: String,
}

/// One benchmark job of a run (one per concurrency level).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudJob {
    /// Concurrency of this level.
    pub concurrency: u32,
    /// `AIWorkloadConfigName`.
    pub config_name: String,
    /// `AIBenchmarkJobName`.
    pub job_name: String,
    /// Last status seen (`InProgress`, `Completed`, …), `None` before creation.
    pub status: Option<String>,
    /// `FailureReason`, when failed.
    pub failure: Option<String>,
    /// True once its results are downloaded (they are downloaded once).
    pub downloaded: bool,
}

/// The run record's `engine_refs` for a SageMaker run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SageMakerRefs {
    /// How it was started.
    pub plan: SageMakerPlan,
    /// Its jobs, in level order. Names are fixed at start; `status` is
    /// filled once a job exists, so a resumed runner never creates twice.
    pub jobs: Vec<CloudJob>,
}
