//! The AWS adapters of a build without the `aws` feature (`cargo install
//! --no-default-features`): the same `AwsCloud`, whose every call fails with
//! a message saying how to get a build that can make it. Local benchmarks,
//! the simulator, the MCP server and the local history need none of it.

use std::path::Path;

use crate::engine::sagemaker::api::{CloudApi, EndpointInfo, JobInfo, JobRequest, JobSummary};
use crate::engine::stage::processing::{ProcessingApi, ProcessingJobRequest};
use crate::engine::stage::store::{ObjectStore, PartSpan, RemoteObject, StoreResult, UploadedPart};
use crate::engine::{CloudError, CloudErrorKind, CloudResult};
use crate::jobs::history::athena::{AthenaApi, AthenaResult, QueryPlace, QueryState, ResultPage};

/// What every AWS call of this build answers.
pub const WITHOUT_AWS: &str = "this mcc-bench was built without AWS support (the `aws` cargo feature); reinstall with it (`cargo install mcc-bench`, default features) for SageMaker benchmark jobs, model staging, the S3/Athena history and sagemaker:// endpoints";

/// Stands in for the SDK clients; every call fails with [`WITHOUT_AWS`].
#[derive(Debug, Clone, Copy)]
pub struct AwsCloud;

impl AwsCloud {
    /// The stand-in (there is nothing to configure).
    pub async fn from_env(_region: Option<&str>) -> Self {
        Self
    }
}

fn off(operation: &str) -> CloudError {
    CloudError::new(operation, CloudErrorKind::Other, WITHOUT_AWS.to_owned())
}

impl CloudApi for AwsCloud {
    async fn describe_endpoint(&self, _: &str) -> CloudResult<EndpointInfo> {
        Err(off("DescribeEndpoint"))
    }
    async fn create_workload_config(&self, _: &str, _: &str) -> CloudResult<()> {
        Err(off("CreateAIWorkloadConfig"))
    }
    async fn create_job(&self, _: &JobRequest) -> CloudResult<()> {
        Err(off("CreateAIBenchmarkJob"))
    }
    async fn describe_job(&self, _: &str) -> CloudResult<JobInfo> {
        Err(off("DescribeAIBenchmarkJob"))
    }
    async fn stop_job(&self, _: &str) -> CloudResult<()> {
        Err(off("StopAIBenchmarkJob"))
    }
    async fn delete_job(&self, _: &str) -> CloudResult<()> {
        Err(off("DeleteAIBenchmarkJob"))
    }
    async fn delete_workload_config(&self, _: &str) -> CloudResult<()> {
        Err(off("DeleteAIWorkloadConfig"))
    }
    async fn list_jobs(&self, _: &str) -> CloudResult<Vec<JobSummary>> {
        Err(off("ListAIBenchmarkJobs"))
    }
    async fn list_workload_configs(&self, _: &str) -> CloudResult<Vec<String>> {
        Err(off("ListAIWorkloadConfigs"))
    }
    async fn list_objects(&self, _: &str, _: &str) -> CloudResult<Vec<String>> {
        Err(off("ListObjectsV2"))
    }
    async fn download(&self, _: &str, _: &str, _: &Path) -> CloudResult<()> {
        Err(off("GetObject"))
    }
}

impl ObjectStore for AwsCloud {
    async fn check_bucket(&self, _: &str) -> StoreResult<()> {
        Err(off("HeadBucket"))
    }
    async fn list_sized(&self, _: &str, _: &str) -> StoreResult<Vec<RemoteObject>> {
        Err(off("ListObjectsV2"))
    }
    async fn stored_sha256(&self, _: &str, _: &str) -> StoreResult<Option<String>> {
        Err(off("HeadObject"))
    }
    async fn put_file(&self, _: &str, _: &str, _: &Path, _: &str) -> StoreResult<()> {
        Err(off("PutObject"))
    }
    async fn start_multipart(&self, _: &str, _: &str, _: &str) -> StoreResult<String> {
        Err(off("CreateMultipartUpload"))
    }
    async fn upload_part(
        &self,
        _: &str,
        _: &str,
        _: &str,
        _: &Path,
        _: PartSpan,
    ) -> StoreResult<UploadedPart> {
        Err(off("UploadPart"))
    }
    async fn complete_multipart(
        &self,
        _: &str,
        _: &str,
        _: &str,
        _: &[UploadedPart],
    ) -> StoreResult<()> {
        Err(off("CompleteMultipartUpload"))
    }
    async fn abort_multipart(&self, _: &str, _: &str, _: &str) -> StoreResult<()> {
        Err(off("AbortMultipartUpload"))
    }
    async fn list_parts(&self, _: &str, _: &str, _: &str) -> StoreResult<Vec<UploadedPart>> {
        Err(off("ListParts"))
    }
    async fn list_multipart(&self, _: &str, _: &str) -> StoreResult<Vec<(String, String)>> {
        Err(off("ListMultipartUploads"))
    }
}

impl ProcessingApi for AwsCloud {
    async fn put_text(&self, _: &str, _: &str, _: &str) -> StoreResult<()> {
        Err(off("PutObject"))
    }
    async fn create_processing_job(&self, _: &ProcessingJobRequest) -> StoreResult<()> {
        Err(off("CreateProcessingJob"))
    }
    async fn describe_processing_job(&self, _: &str) -> StoreResult<(String, Option<String>)> {
        Err(off("DescribeProcessingJob"))
    }
    async fn stop_processing_job(&self, _: &str) -> StoreResult<()> {
        Err(off("StopProcessingJob"))
    }
    async fn object_exists(&self, _: &str, _: &str) -> StoreResult<bool> {
        Err(off("HeadObject"))
    }
}

impl AthenaApi for AwsCloud {
    async fn start_query(&self, _: &str, _: &QueryPlace) -> AthenaResult<String> {
        Err(off("StartQueryExecution"))
    }
    async fn query_state(&self, _: &str) -> AthenaResult<QueryState> {
        Err(off("GetQueryExecution"))
    }
    async fn query_page(&self, _: &str, _: Option<String>) -> AthenaResult<ResultPage> {
        Err(off("GetQueryResults"))
    }
}

/// No SageMaker runtime client in this build: local runs refuse
/// `sagemaker://` endpoints with [`WITHOUT_AWS`].
pub const RUNTIME: Option<crate::engine::invoke::ConnectRuntime> = None;
