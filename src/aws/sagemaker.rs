//! The SageMaker benchmark engine's `CloudApi` over the SageMaker and S3
//! clients.

use std::path::Path;

use aws_sdk_sagemaker::types::{
    AiBenchmarkEndpoint, AiBenchmarkInferenceComponent, AiBenchmarkOutputConfig, AiBenchmarkTarget,
    AiWorkloadConfigs, WorkloadSpec,
};
use tokio::io::AsyncWriteExt;

use super::error::fail;
use super::AwsCloud;
use crate::engine::sagemaker::api::{CloudApi, EndpointInfo, JobInfo, JobRequest, JobSummary};
use crate::engine::stage::ObjectStore;
use crate::engine::{CloudError, CloudErrorKind, CloudResult};

impl CloudApi for AwsCloud {
    async fn describe_endpoint(&self, name: &str) -> CloudResult<EndpointInfo> {
        let out = self
            .sm
            .describe_endpoint()
            .endpoint_name(name)
            .send()
            .await
            .map_err(|e| fail("DescribeEndpoint", e))?;
        Ok(EndpointInfo {
            status: out
                .endpoint_status()
                .map_or_else(|| "Unknown".to_owned(), |s| s.as_str().to_owned()),
        })
    }

    async fn create_workload_config(&self, name: &str, spec: &str) -> CloudResult<()> {
        let configs = AiWorkloadConfigs::builder()
            .workload_spec(WorkloadSpec::Inline(spec.to_owned()))
            .build();
        self.sm
            .create_ai_workload_config()
            .ai_workload_config_name(name)
            .ai_workload_configs(configs)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail("CreateAIWorkloadConfig", e))
    }

    async fn create_job(&self, req: &JobRequest) -> CloudResult<()> {
        let mut endpoint = AiBenchmarkEndpoint::builder().identifier(&req.endpoint);
        if let Some(ic) = &req.inference_component {
            endpoint = endpoint.inference_components(
                AiBenchmarkInferenceComponent::builder()
                    .identifier(ic)
                    .build(),
            );
        }
        let output = AiBenchmarkOutputConfig::builder()
            .s3_output_location(&req.output_s3)
            .build();
        self.sm
            .create_ai_benchmark_job()
            .ai_benchmark_job_name(&req.job_name)
            .benchmark_target(AiBenchmarkTarget::Endpoint(endpoint.build()))
            .output_config(output)
            .ai_workload_config_identifier(&req.config_name)
            .role_arn(&req.role_arn)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail("CreateAIBenchmarkJob", e))
    }

    async fn describe_job(&self, name: &str) -> CloudResult<JobInfo> {
        let out = self
            .sm
            .describe_ai_benchmark_job()
            .ai_benchmark_job_name(name)
            .send()
            .await
            .map_err(|e| fail("DescribeAIBenchmarkJob", e))?;
        Ok(JobInfo {
            status: out
                .ai_benchmark_job_status()
                .map_or_else(|| "Unknown".to_owned(), |s| s.as_str().to_owned()),
            failure_reason: out.failure_reason().map(str::to_owned),
            output_s3: out
                .output_config()
                .and_then(|o| o.s3_output_location())
                .map(str::to_owned),
        })
    }

    async fn stop_job(&self, name: &str) -> CloudResult<()> {
        self.sm
            .stop_ai_benchmark_job()
            .ai_benchmark_job_name(name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail("StopAIBenchmarkJob", e))
    }

    async fn delete_job(&self, name: &str) -> CloudResult<()> {
        self.sm
            .delete_ai_benchmark_job()
            .ai_benchmark_job_name(name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail("DeleteAIBenchmarkJob", e))
    }

    async fn delete_workload_config(&self, name: &str) -> CloudResult<()> {
        self.sm
            .delete_ai_workload_config()
            .ai_workload_config_name(name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail("DeleteAIWorkloadConfig", e))
    }

    async fn list_jobs(&self, name_contains: &str) -> CloudResult<Vec<JobSummary>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .sm
                .list_ai_benchmark_jobs()
                .name_contains(name_contains)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| fail("ListAIBenchmarkJobs", e))?;
            out.extend(page.ai_benchmark_jobs().iter().map(|j| {
                JobSummary {
                    name: j.ai_benchmark_job_name().unwrap_or_default().to_owned(),
                    status: j
                        .ai_benchmark_job_status()
                        .map_or_else(String::new, |s| s.as_str().to_owned()),
                }
            }));
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => return Ok(out),
            }
        }
    }

    async fn list_workload_configs(&self, name_contains: &str) -> CloudResult<Vec<String>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .sm
                .list_ai_workload_configs()
                .name_contains(name_contains)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| fail("ListAIWorkloadConfigs", e))?;
            out.extend(
                page.ai_workload_configs()
                    .iter()
                    .filter_map(|c| c.ai_workload_config_name().map(str::to_owned)),
            );
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => return Ok(out),
            }
        }
    }

    async fn list_objects(&self, bucket: &str, prefix: &str) -> CloudResult<Vec<String>> {
        let objects = ObjectStore::list_sized(self, bucket, prefix).await?;
        Ok(objects.into_iter().map(|o| o.key).collect())
    }

    async fn download(&self, bucket: &str, key: &str, dest: &Path) -> CloudResult<()> {
        let obj = self
            .s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| fail("GetObject", e))?;
        let io = |e: std::io::Error| {
            CloudError::new(
                "GetObject",
                CloudErrorKind::Other,
                format!("{}: {e}", dest.display()),
            )
        };
        // A new file only, never through a symbolic link at `dest`.
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .mode(0o644)
            .open(dest)
            .await
            .map_err(io)?;
        let mut body = obj.body;
        while let Some(chunk) = body.try_next().await.map_err(|e| {
            CloudError::new(
                "GetObject",
                CloudErrorKind::Other,
                format!("s3://{bucket}/{key}: {e}"),
            )
        })? {
            file.write_all(&chunk).await.map_err(io)?;
        }
        file.flush().await.map_err(io)
    }
}
