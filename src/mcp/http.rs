//! MCP over HTTP, on hyper: streamable HTTP at `/mcp` (rmcp) and the legacy
//! HTTP+SSE transport at `/sse` + `/message` (`sse`), on one port. Before
//! either sees a request this layer enforces the bearer token (401); both
//! check Host and Origin against one `Guard` (403) and bound request bodies.
//! A non-loopback bind requires a token.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::guard::Guard;
use super::sse::{MakeServer, SseHub};
use super::{track, BenchServer, Shared};

/// Largest JSON-RPC request body accepted.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// HTTP serving options.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Address to listen on.
    pub addr: SocketAddr,
    /// Bearer token every request must carry, when set.
    pub auth_token: Option<String>,
    /// Extra allowed Origins (loopback origins are always allowed).
    pub allowed_origins: Vec<String>,
    /// Interval of keep-alive comments on idle event streams.
    pub keep_alive: std::time::Duration,
}

/// Why the HTTP server could not start.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// Refused configuration.
    #[error("{0}")]
    Config(String),
    /// The socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
}

/// Response body of every HTTP route.
pub(super) type Body = BoxBody<Bytes, Infallible>;

type Mcp = StreamableHttpService<BenchServer, LocalSessionManager>;

/// Binds the listener (checking the options first).
pub async fn bind(opts: &HttpOptions) -> Result<TcpListener, HttpError> {
    if !opts.addr.ip().is_loopback() && opts.auth_token.as_deref().is_none_or(str::is_empty) {
        return Err(HttpError::Config(format!(
            "refusing to serve on non-loopback address {} without a bearer token; set --auth-token or MCC_BENCH_AUTH_TOKEN",
            opts.addr
        )));
    }
    TcpListener::bind(opts.addr)
        .await
        .map_err(|source| HttpError::Bind {
            addr: opts.addr,
            source,
        })
}

/// Serves until `stop` is cancelled; every connection and legacy session
/// is tracked and awaited.
pub async fn serve(
    listener: TcpListener,
    opts: HttpOptions,
    make: impl Fn() -> BenchServer + Send + Sync + 'static,
    shared: Arc<Shared>,
    stop: CancellationToken,
) {
    let guard = Arc::new(Guard::new(opts.addr.ip(), &opts.allowed_origins));
    let make: MakeServer = Arc::new(make);
    let config = StreamableHttpServerConfig::default()
        .with_allowed_origins(guard.origins.clone())
        .enforce_origin_validation()
        .with_allowed_hosts(guard.hosts.clone())
        .with_max_request_body_bytes(MAX_BODY_BYTES)
        .with_sse_keep_alive(Some(opts.keep_alive))
        .with_cancellation_token(stop.child_token());
    let make_mcp = Arc::clone(&make);
    let routes = Arc::new(Routes {
        mcp: StreamableHttpService::new(
            move || Ok(make_mcp()),
            LocalSessionManager::default().into(),
            config,
        ),
        sse: Arc::new(SseHub::new(
            make,
            guard,
            opts.keep_alive,
            stop.child_token(),
        )),
        token: opts
            .auth_token
            .filter(|t| !t.is_empty())
            .map(Arc::<str>::from),
    });
    let tracker = tokio::spawn(track(shared, stop.clone()));
    accept_loop(listener, Arc::clone(&routes), &stop).await;
    routes.sse.shutdown().await;
    let _ = tracker.await;
}

/// Accepts connections until `stop`, then closes the ones still open.
async fn accept_loop(listener: TcpListener, routes: Arc<Routes>, stop: &CancellationToken) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let routes = Arc::clone(&routes);
                    let svc = service_fn(move |req| {
                        let routes = Arc::clone(&routes);
                        async move { Ok::<_, Infallible>(routes.route(req).await) }
                    });
                    conns.spawn(async move {
                        let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
                    });
                }
                Err(e) => tracing::warn!("accept failed: {e}"),
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.shutdown().await;
}

/// What the HTTP server serves.
struct Routes {
    mcp: Mcp,
    sse: Arc<SseHub>,
    /// Bearer token every request must carry, when set.
    token: Option<Arc<str>>,
}

impl Routes {
    async fn route(&self, req: Request<hyper::body::Incoming>) -> Response<Body> {
        let path = req.uri().path();
        if !matches!(path, "/mcp" | "/sse" | "/message") {
            return text(
                StatusCode::NOT_FOUND,
                "not found: MCP is served at /mcp (streamable HTTP) and /sse (legacy HTTP+SSE)"
                    .into(),
            );
        }
        if let Some(expected) = &self.token {
            if !bearer_matches(req.headers(), expected) {
                let mut r = text(
                    StatusCode::UNAUTHORIZED,
                    "missing or wrong bearer token".into(),
                );
                r.headers_mut().insert(
                    http::header::WWW_AUTHENTICATE,
                    http::HeaderValue::from_static("Bearer"),
                );
                return r;
            }
        }
        if path == "/mcp" {
            self.mcp.handle(req).await
        } else {
            self.sse.handle(req).await
        }
    }
}

/// Constant-time comparison of the presented bearer token.
fn bearer_matches(headers: &http::HeaderMap, expected: &str) -> bool {
    let Some(given) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    let (a, b) = (given.trim().as_bytes(), expected.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A plain-text response.
pub(super) fn text(status: StatusCode, body: String) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(body)).boxed());
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_compared_exactly() {
        let mut h = http::HeaderMap::new();
        assert!(!bearer_matches(&h, "s3cret"));
        h.insert(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_static("Bearer s3cret"),
        );
        assert!(bearer_matches(&h, "s3cret"));
        assert!(!bearer_matches(&h, "s3cre"));
        h.insert(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_static("Basic s3cret"),
        );
        assert!(!bearer_matches(&h, "s3cret"));
    }
}
