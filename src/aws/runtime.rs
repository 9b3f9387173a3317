//! `ModelInvoker` over the SageMaker runtime API: `InvokeEndpoint` and
//! `InvokeEndpointWithResponseStream`, with an OpenAI chat body and the
//! inference component in its header.
//!
//! The client never retries (a retried request would hide a failure and
//! distort its latency) and has no stalled-stream cut-off (a long prefill
//! is a measurement, not a stall); the run's per-request timeout bounds it.

use std::sync::Arc;

use aws_sdk_sagemakerruntime::config::retry::RetryConfig;
use aws_sdk_sagemakerruntime::config::StalledStreamProtectionConfig;
use aws_sdk_sagemakerruntime::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sagemakerruntime::operation::invoke_endpoint::InvokeEndpointError;
use aws_sdk_sagemakerruntime::operation::invoke_endpoint_with_response_stream::InvokeEndpointWithResponseStreamError as StreamCallError;
use aws_sdk_sagemakerruntime::primitives::event_stream::EventReceiver;
use aws_sdk_sagemakerruntime::primitives::Blob;
use aws_sdk_sagemakerruntime::types::error::ResponseStreamError;
use aws_sdk_sagemakerruntime::types::ResponseStream;
use bytes::Bytes;

use crate::domain::{ErrorKind, RequestError, RuntimeTarget};
use crate::engine::invoke::{BoxFuture, InvokeReply, ModelInvoker, PartStream};

/// One SageMaker endpoint (and inference component).
#[derive(Debug)]
pub struct SageMakerRuntime {
    client: aws_sdk_sagemakerruntime::Client,
    target: RuntimeTarget,
}

/// An invoker for `target`, with credentials, region and endpoint URL from
/// the default chain (`AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME` is honoured): the
/// [`ConnectRuntime`](crate::engine::invoke::ConnectRuntime) of local runs.
pub fn connect(target: RuntimeTarget) -> BoxFuture<'static, Arc<dyn ModelInvoker>> {
    Box::pin(async move {
        let conf = super::load_config(None).await;
        let conf = aws_sdk_sagemakerruntime::config::Builder::from(&conf)
            .retry_config(RetryConfig::disabled())
            .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
            .build();
        let invoker: Arc<dyn ModelInvoker> = Arc::new(SageMakerRuntime {
            client: aws_sdk_sagemakerruntime::Client::from_conf(conf),
            target,
        });
        invoker
    })
}

impl SageMakerRuntime {
    async fn whole(&self, body: Bytes, id: &str) -> Result<InvokeReply, RequestError> {
        let out = self
            .client
            .invoke_endpoint()
            .endpoint_name(&self.target.endpoint)
            .set_inference_component_name(self.target.inference_component.clone())
            .content_type("application/json")
            .accept("application/json")
            .inference_id(id)
            .body(Blob::new(body))
            .send()
            .await
            .map_err(|e| call_error("InvokeEndpoint", &e, model_status_whole(&e)))?;
        let bytes = out.body.map(Blob::into_inner).unwrap_or_default();
        Ok(InvokeReply::Whole(bytes.into()))
    }

    async fn stream(&self, body: Bytes, id: &str) -> Result<InvokeReply, RequestError> {
        let out = self
            .client
            .invoke_endpoint_with_response_stream()
            .endpoint_name(&self.target.endpoint)
            .set_inference_component_name(self.target.inference_component.clone())
            .content_type("application/json")
            .inference_id(id)
            .body(Blob::new(body))
            .send()
            .await
            .map_err(|e| {
                call_error(
                    "InvokeEndpointWithResponseStream",
                    &e,
                    model_status_stream(&e),
                )
            })?;
        Ok(InvokeReply::Stream(Box::new(Parts(out.body))))
    }
}

impl ModelInvoker for SageMakerRuntime {
    fn invoke(
        &self,
        body: Bytes,
        request_id: &str,
        streaming: bool,
    ) -> BoxFuture<'_, Result<InvokeReply, RequestError>> {
        let id = request_id.to_owned();
        Box::pin(async move {
            if streaming {
                self.stream(body, &id).await
            } else {
                self.whole(body, &id).await
            }
        })
    }
}

/// The event stream of one response.
struct Parts(EventReceiver<ResponseStream, ResponseStreamError>);

impl PartStream for Parts {
    fn next_part(&mut self) -> BoxFuture<'_, Option<Result<Bytes, RequestError>>> {
        Box::pin(async move {
            loop {
                return match self.0.recv().await {
                    Ok(None) => None,
                    Ok(Some(ResponseStream::PayloadPart(p))) => {
                        let bytes = p.bytes.map(Blob::into_inner).unwrap_or_default();
                        Some(Ok(bytes.into()))
                    }
                    // Events of kinds this client does not know are skipped.
                    Ok(Some(_)) => continue,
                    Err(e) => Some(Err(stream_error(&e))),
                };
            }
        })
    }
}

/// The status the model itself answered, when the service passed it on.
fn model_status_whole<R>(e: &SdkError<InvokeEndpointError, R>) -> Option<(u16, String)> {
    match e.as_service_error()? {
        InvokeEndpointError::ModelError(m) => model_status(m),
        _ => None,
    }
}

fn model_status_stream<R>(e: &SdkError<StreamCallError, R>) -> Option<(u16, String)> {
    match e.as_service_error()? {
        StreamCallError::ModelError(m) => model_status(m),
        _ => None,
    }
}

fn model_status(m: &aws_sdk_sagemakerruntime::types::error::ModelError) -> Option<(u16, String)> {
    let status = u16::try_from(m.original_status_code()?).ok()?;
    let text = m.original_message().or(m.message()).unwrap_or_default();
    Some((status, text.to_owned()))
}

/// Classifies a failed call like the HTTP path classifies a failed request.
fn call_error<E>(
    operation: &str,
    e: &SdkError<E, aws_sdk_sagemakerruntime::config::http::HttpResponse>,
    model: Option<(u16, String)>,
) -> RequestError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    if let Some((status, text)) = model {
        let message = format!("{operation}: the model answered HTTP {status}: {text}");
        return request_error(ErrorKind::from_status(status), Some(status), message);
    }
    let status = e.raw_response().map(|r| r.status().as_u16());
    let Some(service) = e.as_service_error() else {
        return transport_error(operation, e);
    };
    let code = service.code().unwrap_or("Unknown");
    let detail = service.message().unwrap_or_default();
    let (kind, advice) = match code {
        "ThrottlingException" | "Throttling" => (ErrorKind::RateLimited, ""),
        "AccessDeniedException" => (
            ErrorKind::ClientError,
            " — grant sagemaker:InvokeEndpoint on this endpoint to the credentials in use",
        ),
        "ValidationError" if detail.contains("not found") || detail.contains("Could not find") => (
            ErrorKind::ClientError,
            " — check the endpoint and inference component names and the region",
        ),
        "ValidationError" => (ErrorKind::ClientError, ""),
        _ => (
            status.map_or(ErrorKind::ServerError, ErrorKind::from_status),
            "",
        ),
    };
    let message = format!("{operation} failed: {code}: {detail}{advice}");
    request_error(kind, status, message)
}

/// A failure before any reply: connecting, timing out, an unreadable reply.
fn transport_error<E, R>(operation: &str, e: &SdkError<E, R>) -> RequestError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let text = DisplayErrorContext(e).to_string();
    let kind = match e {
        SdkError::TimeoutError(_) => ErrorKind::Timeout,
        SdkError::DispatchFailure(d) if d.is_io() && text.contains("refused") => {
            ErrorKind::ConnectionRefused
        }
        SdkError::DispatchFailure(d) if d.is_io() => ErrorKind::ConnectionReset,
        SdkError::DispatchFailure(_) => ErrorKind::Connect,
        _ => ErrorKind::MalformedResponse,
    };
    request_error(kind, None, format!("{operation} failed: {text}"))
}

/// A failure while reading the event stream.
fn stream_error<R: std::fmt::Debug>(e: &SdkError<ResponseStreamError, R>) -> RequestError {
    match e.as_service_error() {
        Some(ResponseStreamError::ModelStreamError(m)) => request_error(
            ErrorKind::ErrorEvent,
            None,
            format!(
                "ModelStreamError ({}): {}",
                m.error_code().unwrap_or("no code"),
                m.message().unwrap_or_default()
            ),
        ),
        Some(other) => request_error(
            ErrorKind::ErrorEvent,
            None,
            format!(
                "{}: {}",
                other.code().unwrap_or("stream error"),
                other.message().unwrap_or_default()
            ),
        ),
        None if matches!(e, SdkError::DispatchFailure(_)) => request_error(
            ErrorKind::StreamCut,
            None,
            DisplayErrorContext(e).to_string(),
        ),
        None => request_error(
            ErrorKind::MalformedResponse,
            None,
            format!("unreadable event stream: {}", DisplayErrorContext(e)),
        ),
    }
}

fn request_error(kind: ErrorKind, code: Option<u16>, message: String) -> RequestError {
    RequestError {
        kind,
        code,
        message,
    }
}
