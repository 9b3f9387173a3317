//! Streamable HTTP at `/mcp`, on hyper. Before rmcp sees a request this
//! layer enforces the bearer token (401), and rmcp is configured to check
//! Origin (403) and Host and to bound request bodies. A non-loopback bind
//! requires a token.

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

type Body = BoxBody<Bytes, Infallible>;

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

/// Serves until `stop` is cancelled; every connection is tracked and awaited.
pub async fn serve(
    listener: TcpListener,
    opts: HttpOptions,
    make: impl Fn() -> BenchServer + Send + Sync + 'static,
    shared: Arc<Shared>,
    stop: CancellationToken,
) {
    let mut origins = vec![
        "http://localhost:*".to_owned(),
        "http://127.0.0.1:*".to_owned(),
        "http://[::1]:*".to_owned(),
    ];
    origins.extend(opts.allowed_origins.iter().cloned());
    let mut hosts = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    hosts.push(opts.addr.ip().to_string());
    let config = StreamableHttpServerConfig::default()
        .with_allowed_origins(origins)
        .enforce_origin_validation()
        .with_allowed_hosts(hosts)
        .with_max_request_body_bytes(MAX_BODY_BYTES)
        .with_cancellation_token(stop.child_token());
    let mcp = Arc::new(StreamableHttpService::new(
        move || Ok(make()),
        LocalSessionManager::default().into(),
        config,
    ));
    let token = opts
        .auth_token
        .filter(|t| !t.is_empty())
        .map(Arc::<str>::from);
    let tracker = tokio::spawn(track(shared, stop.clone()));
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let (mcp, token) = (Arc::clone(&mcp), token.clone());
                    let svc = service_fn(move |req| route(req, Arc::clone(&mcp), token.clone()));
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
    let _ = tracker.await;
}

async fn route(
    req: Request<hyper::body::Incoming>,
    mcp: Arc<StreamableHttpService<BenchServer, LocalSessionManager>>,
    token: Option<Arc<str>>,
) -> Result<Response<Body>, Infallible> {
    if req.uri().path() != "/mcp" {
        return Ok(plain(
            StatusCode::NOT_FOUND,
            "not found: the MCP endpoint is /mcp",
        ));
    }
    if let Some(expected) = token {
        if !bearer_matches(req.headers(), &expected) {
            let mut r = plain(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
            r.headers_mut().insert(
                http::header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Bearer"),
            );
            return Ok(r);
        }
    }
    Ok(mcp.handle(req).await)
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

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from_static(text.as_bytes())).boxed());
    *r.status_mut() = status;
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
