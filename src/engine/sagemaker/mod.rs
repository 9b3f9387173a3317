//! The SageMaker engine: the load runs inside SageMaker AI benchmark jobs
//! (AIPerf, next to the endpoint), one job per concurrency level, and the
//! results come back from S3 in the same shape as a local run's.
//!
//! - `api` — the operations the engine needs, as a trait of our own
//!   (implemented over the AWS SDK in the `aws` module).
//! - `spec` — run spec → workload spec and job names.
//! - `flow` — create, poll, stop, collect; resumable from the run record.
//! - `fetch` — download and import a job's output; `unpack` — its
//!   archives, regular files and directories only, within a budget.
//! - `cleanup` — delete a run's jobs and configs, or leftovers by prefix.

pub mod api;
mod cleanup;
mod fetch;
pub mod flow;
pub mod spec;
mod unpack;

pub use api::CloudApi;
pub use cleanup::{clean_leftovers, clean_run};
pub use flow::run;

use crate::engine::CloudError;

/// Why a SageMaker run could not produce results.
#[derive(Debug, thiserror::Error)]
pub enum SageMakerError {
    /// A cloud call failed.
    #[error(transparent)]
    Cloud(CloudError),
    /// The endpoint cannot be benchmarked now.
    #[error("{0}")]
    Endpoint(String),
    /// Every job failed or stopped.
    #[error("the benchmark job failed: {0}")]
    JobFailed(String),
    /// A job's output is missing or unreadable.
    #[error("{0}")]
    Output(String),
    /// Writing results failed.
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
}

impl From<CloudError> for SageMakerError {
    fn from(e: CloudError) -> Self {
        Self::Cloud(e)
    }
}
