//! Benchmark engines. `local` is the embedded load generator; `sagemaker`
//! drives SageMaker AI benchmark jobs; `stage` puts model weights into S3.
//! `CloudError` (a failed cloud call) and `Backoff` (how a cloud job is
//! polled) are shared by `sagemaker` and `stage`. None imports the MCP or
//! job layers.

mod backoff;
mod cloud_error;
pub mod invoke;
pub mod local;
pub mod sagemaker;
pub mod stage;

use thiserror::Error;

pub use backoff::Backoff;
pub use cloud_error::{CloudError, CloudErrorKind, CloudResult};

/// Failures that stop a run before or outside the measurement. Failures of
/// individual requests are not errors: they are records with a kind.
#[derive(Debug, Error)]
pub enum EngineError {
    /// The run specification is unusable.
    #[error("invalid run specification: {0}")]
    InvalidSpec(String),
    /// The tokenizer could not be loaded.
    #[error("tokenizer {spec:?}: {reason}")]
    Tokenizer {
        /// What was asked for.
        spec: String,
        /// Why it failed and what to do.
        reason: String,
    },
    /// The model name could not be discovered.
    #[error("could not discover the model from {url}: {reason}; pass the model name with --model")]
    ModelDiscovery {
        /// The models URL tried.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// Setting up the client or simulator failed.
    #[error("setup failed: {0}")]
    Setup(String),
    /// Writing results failed.
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
}
