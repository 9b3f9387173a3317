//! Staging in a SageMaker Processing Job, for models larger than the local
//! disk: the job downloads from the Hub and syncs into the same prefix as
//! a local staging run, with the same excludes. Its entry point goes to
//! `s3://{bucket}/staging-jobs/{job}/entrypoint.sh` first; the Hugging Face
//! token is read inside the job from Secrets Manager (`HF_TOKEN_ARN`), so
//! it never appears in the job's description. The flow is ml-container-
//! creator's `do/stage` default; defaults (image, ml.m5.xlarge, 2048 GB,
//! 24 h) are its own.

use std::future::Future;

use tokio_util::sync::CancellationToken;

use super::store::StoreResult;
use super::StageError;
pub use crate::domain::ProcessingSpec;
use crate::domain::{StageOutcome, StagePlan, StageReport};
use crate::engine::{Backoff, CloudError, CloudErrorKind};

/// ml-container-creator's processing image for `region`.
pub fn default_image(region: &str) -> String {
    format!("763104351884.dkr.ecr.{region}.amazonaws.com/pytorch-training:2.1.0-cpu-py310-ubuntu20.04-sagemaker")
}

/// Default instance type and volume.
pub const DEFAULT_INSTANCE: &str = "ml.m5.xlarge";
/// Default volume, GB.
pub const DEFAULT_VOLUME_GB: i32 = 2048;
/// Longest the job may run.
pub const MAX_RUNTIME_S: i32 = 86_400;

/// What `CreateProcessingJob` is asked to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessingJobRequest {
    /// The spec.
    pub spec: ProcessingSpec,
    /// Shell command the container runs.
    pub command: String,
    /// Environment of the container.
    pub environment: Vec<(String, String)>,
}

/// The SageMaker and S3 calls of a processing-job staging run.
pub trait ProcessingApi: Send + Sync {
    /// `PutObject` of a small text.
    fn put_text(
        &self,
        bucket: &str,
        key: &str,
        text: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// `CreateProcessingJob`.
    fn create_processing_job(
        &self,
        req: &ProcessingJobRequest,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// `DescribeProcessingJob`: status and failure reason.
    fn describe_processing_job(
        &self,
        name: &str,
    ) -> impl Future<Output = StoreResult<(String, Option<String>)>> + Send;
    /// `StopProcessingJob`.
    fn stop_processing_job(&self, name: &str) -> impl Future<Output = StoreResult<()>> + Send;
    /// Whether an object exists (`ListObjectsV2` on the exact key).
    fn object_exists(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
}

/// The job's entry point: download with the Hub's own client, then sync.
const ENTRYPOINT: &str = r#"#!/bin/bash
# Written by mcc-bench: download a model from the Hugging Face Hub and sync it to S3.
set -euo pipefail
pip install --quiet huggingface_hub hf_transfer
export HF_HUB_ENABLE_HF_TRANSFER=1
if [ -n "${HF_TOKEN_ARN:-}" ]; then
  HF_TOKEN="$(aws secretsmanager get-secret-value --secret-id "$HF_TOKEN_ARN" --query SecretString --output text)"
  export HF_TOKEN
fi
DEST=/opt/ml/processing/model
mkdir -p "$DEST"
huggingface-cli download "$MODEL_ID" ${MODEL_REVISION:+--revision "$MODEL_REVISION"} --local-dir "$DEST"
aws s3 sync "$DEST" "$S3_OUTPUT_URI" --exclude "*.lock" --exclude ".gitattributes" --exclude ".cache/*"
"#;

/// Runs (or resumes following) the processing job of `plan`.
pub async fn stage_with_job<A: ProcessingApi>(
    api: &A,
    plan: &StagePlan,
    spec: &ProcessingSpec,
    stop: &CancellationToken,
    backoff: Backoff,
) -> Result<StageReport, StageError> {
    let config_key = format!("{}config.json", plan.prefix);
    if !plan.force && api.object_exists(&plan.bucket, &config_key).await? {
        return Ok(report(plan, StageOutcome::AlreadyStaged, Vec::new()));
    }
    let status = match api.describe_processing_job(&spec.job_name).await {
        Ok((status, _)) => status,
        Err(e) if is_missing(&e) => {
            create(api, plan, spec).await?;
            "InProgress".to_owned()
        }
        Err(e) => return Err(e.into()),
    };
    let (status, reason) = follow(api, &spec.job_name, status, stop, backoff).await?;
    match status.as_str() {
        "Completed" if api.object_exists(&plan.bucket, &config_key).await? => {
            Ok(report(plan, StageOutcome::Staged, Vec::new()))
        }
        "Completed" => Err(StageError::Source(format!(
            "processing job {} completed but s3://{}/{config_key} is not there; see the job's logs in CloudWatch (/aws/sagemaker/ProcessingJobs)",
            spec.job_name, plan.bucket
        ))),
        "Stopped" => Err(StageError::Cancelled),
        _ => Err(StageError::Source(format!(
            "processing job {} {}: {}",
            spec.job_name,
            status.to_lowercase(),
            reason.unwrap_or_else(|| "no reason given".into())
        ))),
    }
}

/// `DescribeProcessingJob` of a job that does not exist yet.
fn is_missing(e: &CloudError) -> bool {
    let m = e.message.to_ascii_lowercase();
    e.kind == CloudErrorKind::NotFound
        || m.contains("could not find")
        || m.contains("not found")
        || m.contains("does not exist")
}

async fn create<A: ProcessingApi>(
    api: &A,
    plan: &StagePlan,
    spec: &ProcessingSpec,
) -> Result<(), CloudError> {
    let key = format!("staging-jobs/{}/entrypoint.sh", spec.job_name);
    api.put_text(&plan.bucket, &key, ENTRYPOINT).await?;
    let mut environment = vec![
        ("MODEL_ID".to_owned(), plan.model_id.clone()),
        ("S3_OUTPUT_URI".to_owned(), plan.s3_uri()),
    ];
    environment.extend(
        plan.revision
            .clone()
            .map(|r| ("MODEL_REVISION".to_owned(), r)),
    );
    environment.extend(
        spec.hf_token_arn
            .clone()
            .map(|a| ("HF_TOKEN_ARN".to_owned(), a)),
    );
    let command = format!(
        "aws s3 cp s3://{}/{key} /tmp/entrypoint.sh && bash /tmp/entrypoint.sh",
        plan.bucket
    );
    api.create_processing_job(&ProcessingJobRequest {
        spec: spec.clone(),
        command,
        environment,
    })
    .await
}

/// Polls with `backoff` (doubling from its first wait) until a terminal status;
/// a cancel stops the job and waits for it to stop.
async fn follow<A: ProcessingApi>(
    api: &A,
    name: &str,
    mut status: String,
    stop: &CancellationToken,
    backoff: Backoff,
) -> Result<(String, Option<String>), StageError> {
    let mut wait = backoff.first;
    let mut stopping = false;
    loop {
        if matches!(status.as_str(), "Completed" | "Failed" | "Stopped") {
            let (s, reason) = api.describe_processing_job(name).await?;
            return Ok((s, reason));
        }
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = stop.cancelled(), if !stopping => {
                stopping = true;
                api.stop_processing_job(name).await?;
            }
        }
        wait = (wait * 2).min(backoff.max);
        status = api.describe_processing_job(name).await?.0;
    }
}

fn report(plan: &StagePlan, outcome: StageOutcome, warnings: Vec<String>) -> StageReport {
    StageReport {
        outcome,
        s3_uri: plan.s3_uri(),
        files_total: 0,
        files_uploaded: 0,
        files_skipped: 0,
        bytes_total: 0,
        bytes_uploaded: 0,
        bytes_resumed: 0,
        upload_seconds: 0.0,
        mib_per_s: 0.0,
        config_updated: None,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;
    use crate::domain::StageSource;

    /// Records requests; jobs report the statuses queued in `statuses`.
    #[derive(Default)]
    struct Fake {
        created: Mutex<Vec<ProcessingJobRequest>>,
        texts: Mutex<Vec<(String, String)>>,
        statuses: Mutex<Vec<(String, Option<String>)>>,
        stopped: Mutex<bool>,
        config_there: bool,
    }

    impl ProcessingApi for Fake {
        async fn put_text(&self, _: &str, key: &str, text: &str) -> StoreResult<()> {
            let mut t = self.texts.lock().expect("lock");
            t.push((key.into(), text.into()));
            Ok(())
        }
        async fn create_processing_job(&self, req: &ProcessingJobRequest) -> StoreResult<()> {
            self.created.lock().expect("lock").push(req.clone());
            Ok(())
        }
        async fn describe_processing_job(&self, _: &str) -> StoreResult<(String, Option<String>)> {
            if self.created.lock().expect("lock").is_empty() {
                let e = "Could not find requested job";
                return Err(CloudError::new(
                    "DescribeProcessingJob",
                    CloudErrorKind::Validation,
                    e,
                ));
            }
            let mut s = self.statuses.lock().expect("lock");
            Ok(if s.len() > 1 {
                s.remove(0)
            } else {
                s[0].clone()
            })
        }
        async fn stop_processing_job(&self, _: &str) -> StoreResult<()> {
            *self.stopped.lock().expect("lock") = true;
            let mut s = self.statuses.lock().expect("lock");
            *s = vec![("Stopped".into(), None)];
            Ok(())
        }
        async fn object_exists(&self, _: &str, _: &str) -> StoreResult<bool> {
            Ok(self.config_there && !self.created.lock().expect("lock").is_empty())
        }
    }

    fn plan() -> (StagePlan, ProcessingSpec) {
        let spec = ProcessingSpec {
            job_name: "mlcc-stage-p-20260101-000000".into(),
            image: default_image("us-west-2"),
            instance_type: DEFAULT_INSTANCE.into(),
            volume_gb: DEFAULT_VOLUME_GB,
            role_arn: "arn:role".into(),
            hf_token_arn: Some("arn:secret".into()),
        };
        let plan = StagePlan {
            model_id: "org/m".into(),
            revision: Some("v1".into()),
            source: StageSource::Hub {
                endpoint: "https://huggingface.co".into(),
            },
            bucket: "b".into(),
            prefix: "models/org/m/".into(),
            force: false,
            region: Some("us-west-2".into()),
            project_dir: None,
            processing: Some(spec.clone()),
        };
        (plan, spec)
    }

    fn fake(statuses: &[&str], config_there: bool) -> Fake {
        let statuses = statuses
            .iter()
            .map(|s| ((*s).to_owned(), Some("OOM".to_owned())))
            .collect();
        Fake {
            statuses: Mutex::new(statuses),
            config_there,
            ..Fake::default()
        }
    }

    async fn run(api: &Fake, stop: &CancellationToken) -> Result<StageReport, StageError> {
        let (plan, spec) = plan();
        let fast = Backoff {
            first: Duration::from_millis(1),
            max: Duration::from_millis(1),
        };
        stage_with_job(api, &plan, &spec, stop, fast).await
    }

    #[tokio::test]
    async fn the_job_gets_the_model_the_destination_and_the_secret_not_the_token() {
        let api = fake(&["InProgress", "Completed"], true);
        let r = run(&api, &CancellationToken::new()).await.expect("staged");
        assert_eq!(r.outcome, StageOutcome::Staged);
        let created = api.created.lock().expect("lock");
        let req = &created[0];
        let env: std::collections::HashMap<_, _> = req.environment.iter().cloned().collect();
        assert_eq!(env["MODEL_ID"], "org/m");
        assert_eq!(env["MODEL_REVISION"], "v1");
        assert_eq!(env["S3_OUTPUT_URI"], "s3://b/models/org/m/");
        assert_eq!(env["HF_TOKEN_ARN"], "arn:secret");
        assert!(!env.contains_key("HF_TOKEN"));
        assert_eq!(
            (req.spec.instance_type.as_str(), req.spec.volume_gb),
            ("ml.m5.xlarge", 2048)
        );
        assert!(req
            .command
            .contains("s3://b/staging-jobs/mlcc-stage-p-20260101-000000/entrypoint.sh"));
        let texts = api.texts.lock().expect("lock");
        assert!(texts[0].1.contains("--exclude \"*.lock\""));
    }

    #[tokio::test]
    async fn a_failed_job_carries_its_reason_and_a_cancel_stops_it() {
        let api = fake(&["InProgress", "Failed"], false);
        let e = run(&api, &CancellationToken::new())
            .await
            .expect_err("failed");
        assert!(e.to_string().contains("failed: OOM"), "{e}");
        let api = fake(&["InProgress"], false);
        let stop = CancellationToken::new();
        stop.cancel();
        let e = run(&api, &stop).await.expect_err("stopped");
        assert!(matches!(e, StageError::Cancelled), "{e}");
        assert!(*api.stopped.lock().expect("lock"));
    }
}
