//! The AWS SDK adapters, the only code that imports `aws-config` and the
//! `aws-sdk-*` crates. Each implements a trait owned by its consumer:
//!
//! - `sagemaker` — the SageMaker benchmark engine's `CloudApi`
//!   ([`crate::engine::sagemaker::CloudApi`]);
//! - `s3` — staging's object store ([`crate::engine::stage::ObjectStore`]);
//! - `processing` — staging's processing-job calls
//!   ([`crate::engine::stage::processing::ProcessingApi`]);
//! - `athena` — the history's Athena table
//!   ([`crate::jobs::history::athena::AthenaApi`]);
//! - [`runtime`] — the SageMaker runtime API as a local-engine route
//!   ([`crate::engine::invoke::ModelInvoker`]);
//! - `error` — SDK failures as [`crate::engine::CloudError`]s.
//!
//! The job layer builds the clients ([`AwsCloud::from_env`]) and hands them
//! to the engines. Credentials and region come from the default chain
//! (`AWS_PROFILE`, `AWS_REGION`, …); `AWS_ENDPOINT_URL` and
//! `AWS_ENDPOINT_URL_<SERVICE>` are honoured by the SDK, and S3 switches to
//! path-style addressing when an endpoint is set.

#[cfg(feature = "aws")]
mod athena;
#[cfg(feature = "aws")]
mod error;
#[cfg(not(feature = "aws"))]
mod off;
#[cfg(feature = "aws")]
mod processing;
#[cfg(feature = "aws")]
pub mod runtime;
#[cfg(feature = "aws")]
mod s3;
#[cfg(feature = "aws")]
mod sagemaker;

#[cfg(not(feature = "aws"))]
pub use off::{AwsCloud, RUNTIME, WITHOUT_AWS};

#[cfg(feature = "aws")]
use aws_config::{BehaviorVersion, Region};

/// The connector of `sagemaker://` endpoints for local runs.
#[cfg(feature = "aws")]
pub const RUNTIME: Option<crate::engine::invoke::ConnectRuntime> = Some(runtime::connect);

/// SageMaker, S3 and Athena clients built from the environment.
#[cfg(feature = "aws")]
#[derive(Debug, Clone)]
pub struct AwsCloud {
    sm: aws_sdk_sagemaker::Client,
    s3: aws_sdk_s3::Client,
    athena: aws_sdk_athena::Client,
}

#[cfg(feature = "aws")]
impl AwsCloud {
    /// Clients for `region` (else the default chain's region).
    pub async fn from_env(region: Option<&str>) -> Self {
        let conf = load_config(region).await;
        let custom_s3 = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
            .iter()
            .any(|k| std::env::var(k).is_ok_and(|v| !v.is_empty()));
        let s3 = aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(custom_s3)
            .build();
        Self {
            sm: aws_sdk_sagemaker::Client::new(&conf),
            s3: aws_sdk_s3::Client::from_conf(s3),
            athena: aws_sdk_athena::Client::new(&conf),
        }
    }
}

/// The shared SDK configuration: the default chain, with `region` first
/// when given.
#[cfg(feature = "aws")]
async fn load_config(region: Option<&str>) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(r) = region {
        loader = loader.region(Region::new(r.to_owned()));
    }
    loader.load().await
}
