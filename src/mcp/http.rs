//! MCP over HTTP, on hyper: streamable HTTP at `/mcp` (rmcp) and the legacy
//! HTTP+SSE transport at `/sse` + `/message` (`sse`), on one port. Before
//! either sees a request this layer enforces the bearer token (401); both
//! check Host and Origin against one `Guard` (403) and bound request bodies.
//! A non-loopback bind requires a token. Connections are accepted under the
//! limits of `accept` (count, header timeout, backoff on accept errors).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::accept::{accept_loop, ConnLimits};
use super::guard::Guard;
use super::sse::{MakeServer, SseHub};
use super::{track, BenchServer, Shared};

/// Largest JSON-RPC request body accepted.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Default `HttpOptions::max_connections`.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;

/// Default `HttpOptions::max_sessions`.
pub const DEFAULT_MAX_SESSIONS: usize = 64;

/// Default `HttpOptions::header_timeout`.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

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
    pub keep_alive: Duration,
    /// Connections served at once; one more is answered 503 and closed.
    pub max_connections: usize,
    /// Open legacy SSE sessions; one more `GET /sse` is answered 503.
    pub max_sessions: usize,
    /// Time a client has to send a request head; also the longest a
    /// keep-alive connection waits idle for its next request.
    pub header_timeout: Duration,
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
            opts.max_sessions,
            stop.child_token(),
        )),
        token: opts
            .auth_token
            .filter(|t| !t.is_empty())
            .map(Arc::<str>::from),
    });
    let limits = ConnLimits {
        max_connections: opts.max_connections.max(1),
        header_timeout: opts.header_timeout,
    };
    let tracker = tokio::spawn(track(shared, stop.clone()));
    accept_loop(listener, Arc::clone(&routes), limits, &stop).await;
    routes.sse.shutdown().await;
    let _ = tracker.await;
}

/// What the HTTP server serves.
pub(super) struct Routes {
    mcp: Mcp,
    sse: Arc<SseHub>,
    /// Bearer token every request must carry, when set.
    token: Option<Arc<str>>,
}

impl Routes {
    pub(super) async fn route(&self, req: Request<hyper::body::Incoming>) -> Response<Body> {
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

/// Constant-time comparison of the presented bearer token. The scheme
/// name is case-insensitive (RFC 9110 §11.1): `bearer x` is `Bearer x`.
fn bearer_matches(headers: &http::HeaderMap, expected: &str) -> bool {
    let Some(given) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token)
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
        for scheme in ["bearer", "BEARER", "BeArEr"] {
            let v = format!("{scheme} s3cret");
            h.insert(
                http::header::AUTHORIZATION,
                http::HeaderValue::from_str(&v).expect("header"),
            );
            assert!(bearer_matches(&h, "s3cret"), "{v}");
        }
        h.insert(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_static("Basic s3cret"),
        );
        assert!(!bearer_matches(&h, "s3cret"));
    }
}
