//! The cloud operations the SageMaker engine needs, as a trait of our own
//! with plain types, so the engine imports no AWS SDK and the flow can be
//! driven by any implementation (the `aws` module implements it over the
//! SDK).

use std::future::Future;
use std::path::Path;

use crate::engine::CloudResult;

/// A SageMaker endpoint as `DescribeEndpoint` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointInfo {
    /// `EndpointStatus` (`InService`, `Creating`, …).
    pub status: String,
}

/// What `CreateAIBenchmarkJob` is asked to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRequest {
    /// `AIBenchmarkJobName`.
    pub job_name: String,
    /// `AIWorkloadConfigIdentifier`.
    pub config_name: String,
    /// Endpoint name.
    pub endpoint: String,
    /// Inference component, when targeted.
    pub inference_component: Option<String>,
    /// `s3://bucket/prefix/`.
    pub output_s3: String,
    /// Role the job runs as.
    pub role_arn: String,
}

/// `DescribeAIBenchmarkJob`, reduced to what the flow uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobInfo {
    /// `InProgress | Completed | Failed | Stopping | Stopped`.
    pub status: String,
    /// `FailureReason`.
    pub failure_reason: Option<String>,
    /// `OutputConfig.S3OutputLocation`.
    pub output_s3: Option<String>,
}

impl JobInfo {
    /// Completed, Failed or Stopped.
    pub fn is_terminal(&self) -> bool {
        matches!(self.status.as_str(), "Completed" | "Failed" | "Stopped")
    }
}

/// A listed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSummary {
    /// Its name.
    pub name: String,
    /// Its status.
    pub status: String,
}

/// The SageMaker and S3 operations of a benchmark. Implemented over the AWS
/// SDK by the `aws` module's `AwsCloud`.
pub trait CloudApi: Send + Sync {
    /// `DescribeEndpoint`.
    fn describe_endpoint(
        &self,
        name: &str,
    ) -> impl Future<Output = CloudResult<EndpointInfo>> + Send;
    /// `CreateAIWorkloadConfig` with an inline spec.
    fn create_workload_config(
        &self,
        name: &str,
        spec: &str,
    ) -> impl Future<Output = CloudResult<()>> + Send;
    /// `CreateAIBenchmarkJob`.
    fn create_job(&self, req: &JobRequest) -> impl Future<Output = CloudResult<()>> + Send;
    /// `DescribeAIBenchmarkJob`.
    fn describe_job(&self, name: &str) -> impl Future<Output = CloudResult<JobInfo>> + Send;
    /// `StopAIBenchmarkJob`.
    fn stop_job(&self, name: &str) -> impl Future<Output = CloudResult<()>> + Send;
    /// `DeleteAIBenchmarkJob`.
    fn delete_job(&self, name: &str) -> impl Future<Output = CloudResult<()>> + Send;
    /// `DeleteAIWorkloadConfig`.
    fn delete_workload_config(&self, name: &str) -> impl Future<Output = CloudResult<()>> + Send;
    /// `ListAIBenchmarkJobs` with `NameContains`, every page.
    fn list_jobs(
        &self,
        name_contains: &str,
    ) -> impl Future<Output = CloudResult<Vec<JobSummary>>> + Send;
    /// `ListAIWorkloadConfigs` with `NameContains`, every page.
    fn list_workload_configs(
        &self,
        name_contains: &str,
    ) -> impl Future<Output = CloudResult<Vec<String>>> + Send;
    /// `ListObjectsV2` under a prefix, every page.
    fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> impl Future<Output = CloudResult<Vec<String>>> + Send;
    /// `GetObject`, streamed into a new file `dest` (which must not exist;
    /// a symbolic link there is an error, never followed).
    fn download(
        &self,
        bucket: &str,
        key: &str,
        dest: &Path,
    ) -> impl Future<Output = CloudResult<()>> + Send;
}

/// Splits `s3://bucket/prefix` into bucket and prefix.
pub fn split_s3_uri(uri: &str) -> Option<(String, String)> {
    let rest = uri
        .strip_prefix("s3://")
        .or_else(|| uri.strip_prefix("https://"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    (!bucket.is_empty()).then(|| (bucket.to_owned(), prefix.to_owned()))
}
