//! SDK failures as `CloudError`s: the operation, a category from the
//! service's error code, and the service's message.

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};

use crate::engine::{CloudError, CloudErrorKind};

/// Maps an SDK failure to a `CloudError` naming the operation.
pub(super) fn fail<E>(operation: &str, e: E) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = e.code().unwrap_or_default().to_owned();
    let detail = e
        .message()
        .map(str::to_owned)
        .unwrap_or_else(|| DisplayErrorContext(&e).to_string());
    let kind = classify(&code, &detail);
    let message = if code.is_empty() {
        detail
    } else {
        format!("{code}: {detail}")
    };
    CloudError::new(operation, kind, message)
}

fn classify(code: &str, detail: &str) -> CloudErrorKind {
    let lower = detail.to_ascii_lowercase();
    match code {
        "AccessDenied" | "AccessDeniedException" | "Forbidden" => CloudErrorKind::AccessDenied,
        "ResourceNotFound"
        | "ResourceNotFoundException"
        | "NoSuchKey"
        | "NoSuchBucket"
        | "NotFound" => CloudErrorKind::NotFound,
        // DescribeEndpoint answers a missing endpoint with a validation error.
        "ValidationException" if lower.contains("could not find") => CloudErrorKind::NotFound,
        "ValidationException" | "ValidationError" => CloudErrorKind::Validation,
        "ThrottlingException" | "Throttling" | "SlowDown" | "TooManyRequestsException" => {
            CloudErrorKind::Throttled
        }
        "ExpiredToken"
        | "ExpiredTokenException"
        | "InvalidClientTokenId"
        | "UnrecognizedClientException" => CloudErrorKind::Credentials,
        _ if lower.contains("credentials") => CloudErrorKind::Credentials,
        _ => CloudErrorKind::Other,
    }
}
