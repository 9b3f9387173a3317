//! Staging's `ProcessingApi` over the SageMaker and S3 clients (SageMaker
//! Processing Jobs and the S3 calls around them).

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_sagemaker::types::{
    AppSpecification, ProcessingClusterConfig, ProcessingInstanceType, ProcessingResources,
    ProcessingStoppingCondition,
};

use super::error::fail;
use super::AwsCloud;
use crate::engine::stage::processing::{ProcessingApi, ProcessingJobRequest, MAX_RUNTIME_S};
use crate::engine::stage::store::StoreResult;

impl ProcessingApi for AwsCloud {
    async fn put_text(&self, bucket: &str, key: &str, text: &str) -> StoreResult<()> {
        self.s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(text.as_bytes().to_vec()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail("PutObject", e))
    }

    async fn create_processing_job(&self, req: &ProcessingJobRequest) -> StoreResult<()> {
        let cluster = ProcessingClusterConfig::builder()
            .instance_count(1)
            .instance_type(ProcessingInstanceType::from(
                req.spec.instance_type.as_str(),
            ))
            .volume_size_in_gb(req.spec.volume_gb)
            .build();
        let app = AppSpecification::builder()
            .image_uri(&req.spec.image)
            .container_entrypoint("bash")
            .container_entrypoint("-c")
            .container_entrypoint(&req.command)
            .build();
        let mut call = self
            .sm
            .create_processing_job()
            .processing_job_name(&req.spec.job_name)
            .processing_resources(
                ProcessingResources::builder()
                    .cluster_config(cluster)
                    .build(),
            )
            .app_specification(app)
            .stopping_condition(
                ProcessingStoppingCondition::builder()
                    .max_runtime_in_seconds(MAX_RUNTIME_S)
                    .build(),
            )
            .role_arn(&req.spec.role_arn);
        for (k, v) in &req.environment {
            call = call.environment(k, v);
        }
        call.send()
            .await
            .map(|_| ())
            .map_err(|e| fail("CreateProcessingJob", e))
    }

    async fn describe_processing_job(&self, name: &str) -> StoreResult<(String, Option<String>)> {
        let out = self
            .sm
            .describe_processing_job()
            .processing_job_name(name)
            .send()
            .await
            .map_err(|e| fail("DescribeProcessingJob", e))?;
        let status = out
            .processing_job_status()
            .map_or_else(|| "Unknown".to_owned(), |s| s.as_str().to_owned());
        Ok((status, out.failure_reason().map(str::to_owned)))
    }

    async fn stop_processing_job(&self, name: &str) -> StoreResult<()> {
        self.sm
            .stop_processing_job()
            .processing_job_name(name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail("StopProcessingJob", e))
    }

    async fn object_exists(&self, bucket: &str, key: &str) -> StoreResult<bool> {
        let page = self
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(key)
            .max_keys(1)
            .send()
            .await
            .map_err(|e| fail("ListObjectsV2", e))?;
        Ok(page.contents().iter().any(|o| o.key() == Some(key)))
    }
}
