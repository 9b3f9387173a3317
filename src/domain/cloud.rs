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
    /// What the download skipped (archive entries that are not regular
    /// files or directories, or would land outside the run directory), one
    /// message each; the rest of the output was imported.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output_warnings: Vec<String>,
    /// The capacity-search probe this job is (1-based), whose output goes
    /// to `probe-<n>-c<concurrency>/`; `None` for a level of a fixed run
    /// (output in `c<concurrency>/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<u32>,
}

impl CloudJob {
    /// The directory of the run holding this job's output.
    pub fn dir_name(&self) -> String {
        match self.probe {
            Some(n) => format!("probe-{n}-c{}", self.concurrency),
            None => format!("c{}", self.concurrency),
        }
    }
}

/// The run record's `engine_refs` for a SageMaker run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SageMakerRefs {
    /// How it was started.
    pub plan: SageMakerPlan,
    /// Its jobs, in level order. Names are fixed at start (a capacity
    /// search appends each probe's job, recorded before it is created);
    /// `status` is filled once a job exists, so a resumed runner never
    /// creates twice.
    pub jobs: Vec<CloudJob>,
}

/// A SageMaker endpoint driven directly by the local engine through the
/// runtime API (`sagemaker://endpoint[/component]` as the endpoint URL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeTarget {
    /// SageMaker endpoint name.
    pub endpoint: String,
    /// Inference component, sent as `X-Amzn-SageMaker-Inference-Component`.
    pub inference_component: Option<String>,
}

impl RuntimeTarget {
    /// `None` when `url` is not a `sagemaker://` URL; otherwise the target,
    /// or a message saying what is wrong with it.
    pub fn parse(url: &str) -> Option<Result<Self, String>> {
        let rest = url.trim().strip_prefix("sagemaker://")?;
        let mut parts = rest.trim_end_matches('/').split('/');
        let endpoint = parts.next().unwrap_or_default().to_owned();
        let inference_component = parts.next().map(str::to_owned);
        let bad = |why: String| {
            Some(Err(format!(
                "endpoint {url:?} {why}; expected sagemaker://ENDPOINT or sagemaker://ENDPOINT/INFERENCE_COMPONENT"
            )))
        };
        if parts.next().is_some() {
            return bad("has more than two path parts".into());
        }
        for name in std::iter::once(&endpoint).chain(&inference_component) {
            if !is_resource_name(name) {
                return bad(format!(
                    "names {name:?}, which is not a SageMaker resource name (1–63 letters, digits and hyphens, starting with a letter or digit)"
                ));
            }
        }
        Some(Ok(Self {
            endpoint,
            inference_component,
        }))
    }

    /// The URL form, for labels and messages.
    pub fn uri(&self) -> String {
        match &self.inference_component {
            Some(ic) => format!("sagemaker://{}/{ic}", self.endpoint),
            None => format!("sagemaker://{}", self.endpoint),
        }
    }
}

/// SageMaker's name pattern: `[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`.
fn is_resource_name(name: &str) -> bool {
    let b = name.as_bytes();
    (1..=63).contains(&b.len())
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
}

#[cfg(test)]
mod tests {
    use super::RuntimeTarget;

    #[test]
    fn runtime_urls_parse_or_explain() {
        assert!(RuntimeTarget::parse("http://h:1/v1").is_none());
        let t = RuntimeTarget::parse("sagemaker://ep-1/ic-a")
            .expect("ours")
            .expect("valid");
        assert_eq!(t.endpoint, "ep-1");
        assert_eq!(t.inference_component.as_deref(), Some("ic-a"));
        assert_eq!(t.uri(), "sagemaker://ep-1/ic-a");
        let t = RuntimeTarget::parse("sagemaker://ep/")
            .expect("ours")
            .expect("valid");
        assert_eq!(t.inference_component, None);
        for bad in [
            "sagemaker://",
            "sagemaker://a/b/c",
            "sagemaker://ep_1",
            "sagemaker://-ep",
        ] {
            let e = RuntimeTarget::parse(bad).expect("ours").expect_err(bad);
            assert!(e.contains("expected sagemaker://ENDPOINT"), "{e}");
        }
    }
}
