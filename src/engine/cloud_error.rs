//! A failed cloud call, as every cloud trait of the engines (and the
//! history's Athena trait) reports it: the operation, a category, the
//! service's message, and advice for the category.

/// What kind of failure a cloud call met, for the message's advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloudErrorKind {
    /// Missing permission.
    AccessDenied,
    /// The resource does not exist.
    NotFound,
    /// The request was refused as invalid.
    Validation,
    /// Throttled even after the SDK's retries.
    Throttled,
    /// No credentials could be found.
    Credentials,
    /// Network, service or anything else.
    Other,
}

/// A failed cloud call: the operation, what happened, and what to do.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{operation} failed: {message}{}", advice(*kind, operation))]
pub struct CloudError {
    /// The API operation (`CreateAIBenchmarkJob`, `GetObject`, …).
    pub operation: String,
    /// The category.
    pub kind: CloudErrorKind,
    /// The service's message.
    pub message: String,
}

fn advice(kind: CloudErrorKind, operation: &str) -> String {
    match kind {
        CloudErrorKind::AccessDenied => format!(
            " — the credentials in use lack permission for {operation}; grant sagemaker:{operation} (or the S3 action) to the caller, and check the bootstrap roleArn"
        ),
        CloudErrorKind::NotFound => " — the resource does not exist; check the name and region".into(),
        CloudErrorKind::Validation => " — the request was refused as invalid; the message says which field".into(),
        CloudErrorKind::Throttled => " — throttled after retries; try again in a minute".into(),
        CloudErrorKind::Credentials => " — no AWS credentials were found; set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, and AWS_REGION".into(),
        CloudErrorKind::Other => String::new(),
    }
}

impl CloudError {
    /// A new error.
    pub fn new(operation: &str, kind: CloudErrorKind, message: impl Into<String>) -> Self {
        Self {
            operation: operation.to_owned(),
            kind,
            message: message.into(),
        }
    }
}

/// Result of one cloud call.
pub type CloudResult<T> = Result<T, CloudError>;
