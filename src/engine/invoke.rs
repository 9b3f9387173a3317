//! Model endpoints reached through a cloud runtime API instead of plain
//! HTTP (SageMaker's `InvokeEndpoint` / `InvokeEndpointWithResponseStream`).
//! The local engine drives them through this trait, with the same load loop,
//! records and metrics as an HTTP endpoint. The implementation that imports
//! an SDK lives outside the engine (the `aws` module's `runtime`); the run's
//! caller hands the engine its [`ConnectRuntime`].

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;

use crate::domain::{RequestError, RuntimeTarget};

/// A boxed future, so the traits stay object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What an invocation answered.
pub enum InvokeReply {
    /// A non-streaming call: the whole response body.
    Whole(Bytes),
    /// A streaming call: payload parts, read as they arrive.
    Stream(Box<dyn PartStream>),
}

impl Debug for InvokeReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Whole(b) => write!(f, "Whole({} bytes)", b.len()),
            Self::Stream(_) => f.write_str("Stream"),
        }
    }
}

/// The payload parts of one streaming response. A part is raw model output
/// (SSE or JSON lines); a line may span parts.
pub trait PartStream: Send {
    /// The next part; `None` once the stream has ended cleanly. The caller
    /// stamps the instant the future completes, before it parses the bytes.
    fn next_part(&mut self) -> BoxFuture<'_, Option<Result<Bytes, RequestError>>>;
}

/// One endpoint behind a runtime API. Shared by every lane of a run, so
/// implementations pool their connections internally.
pub trait ModelInvoker: Send + Sync + Debug {
    /// Sends one request body (an OpenAI chat or completions body).
    /// Failures are classified like HTTP ones: the model's own status code
    /// where the service passes it on.
    fn invoke(
        &self,
        body: Bytes,
        request_id: &str,
        streaming: bool,
    ) -> BoxFuture<'_, Result<InvokeReply, RequestError>>;
}

/// Connects an invoker to one endpoint behind a runtime API (credentials,
/// region and service endpoint from the caller's environment).
pub type ConnectRuntime = fn(RuntimeTarget) -> BoxFuture<'static, Arc<dyn ModelInvoker>>;
