//! Opening a connection to the endpoint, step by step and timed: name
//! resolution, TCP connect, the proxy the environment names for it
//! (`HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY`, minus `NO_PROXY`, as curl reads
//! them: a CONNECT tunnel for https, absolute-form requests for plain http),
//! then TLS for https.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::header::HeaderValue;
use http::Uri;
use hyper_util::client::proxy::matcher::Matcher;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::response::err;
use super::rx::LastRx;
use crate::domain::{ErrorKind, RequestError, TlsSpec};
use crate::engine::EngineError;
use crate::sys::stamped_stream::StampedStream;

/// A TCP connection whose reads carry the kernel's receive stamps.
type Tcp = StampedStream<LastRx>;
/// A connection to the endpoint (or to the proxy that forwards to it).
pub(crate) type Stream = tokio_util::either::Either<Tcp, tokio_rustls::client::TlsStream<Tcp>>;

/// Longest CONNECT reply head read from a proxy.
const MAX_PROXY_REPLY: usize = 16 << 10;
/// TCP keep-alive probes on idle connections (long generations, NATs).
const TCP_KEEPALIVE: Duration = Duration::from_secs(60);

/// How connections to one endpoint are opened; built once per run.
pub(crate) struct Connector {
    /// The endpoint's host (IPv6 without brackets) and port.
    host: String,
    port: u16,
    /// TLS client and the name checked against the certificate (https only).
    tls: Option<(TlsConnector, ServerName<'static>)>,
    /// The HTTP proxy that forwards to the endpoint, if any.
    proxy: Option<Proxy>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls.is_some())
            .field("proxy", &self.proxy.as_ref().map(|p| (&p.host, p.port)))
            .finish()
    }
}

/// An HTTP proxy between us and the endpoint.
struct Proxy {
    host: String,
    port: u16,
    /// `Proxy-Authorization` from the proxy URL's user info.
    auth: Option<HeaderValue>,
}

/// How long each step of opening a connection took.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct ConnectTiming {
    /// Name resolution.
    pub(crate) dns: Duration,
    /// TCP handshake (to the proxy when there is one).
    pub(crate) tcp: Duration,
    /// The proxy's CONNECT tunnel.
    pub(crate) tunnel: Duration,
    /// TLS handshake.
    pub(crate) tls: Duration,
}

impl ConnectTiming {
    /// The whole setup.
    pub(crate) fn total(&self) -> Duration {
        self.dns + self.tcp + self.tunnel + self.tls
    }
}

impl Connector {
    /// A connector for `uri`, with the proxy the environment names for it
    /// (none when `use_env_proxy` is false: the in-process simulator).
    pub(crate) fn new(uri: &Uri, tls: &TlsSpec, use_env_proxy: bool) -> Result<Self, EngineError> {
        let matcher = if use_env_proxy {
            Matcher::from_env()
        } else {
            Matcher::builder().build()
        };
        Self::with_proxies(uri, tls, &matcher)
    }

    fn with_proxies(uri: &Uri, tls: &TlsSpec, proxies: &Matcher) -> Result<Self, EngineError> {
        let https = uri.scheme_str() == Some("https");
        let host = uri
            .host()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_owned())
            .filter(|h| !h.is_empty())
            .ok_or_else(|| EngineError::InvalidSpec(format!("endpoint {uri} has no host")))?;
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let tls = if https {
            let name = ServerName::try_from(host.clone()).map_err(|_| {
                EngineError::InvalidSpec(format!("{host:?} is not a valid TLS server name"))
            })?;
            Some((TlsConnector::from(super::tls::client_config(tls)?), name))
        } else {
            None
        };
        let proxy = proxies.intercept(uri).map(|i| proxy_of(&i)).transpose()?;
        Ok(Self {
            host,
            port,
            tls,
            proxy,
        })
    }

    /// True when requests go to a plain-http proxy, which wants the
    /// absolute-form target (`POST http://host/path`); everything else
    /// gets the origin form (`POST /path`, RFC 9112 §3.2.1).
    pub(crate) fn absolute_form(&self) -> bool {
        self.proxy.is_some() && self.tls.is_none()
    }

    /// `Proxy-Authorization` for absolute-form requests.
    pub(crate) fn proxy_auth(&self) -> Option<&HeaderValue> {
        self.proxy
            .as_ref()
            .filter(|_| self.tls.is_none())
            .and_then(|p| p.auth.as_ref())
    }

    /// Opens a connection ready for HTTP/1.1 requests, with the receive
    /// stamp of its latest read.
    pub(crate) async fn open(&self) -> Result<(Stream, Arc<LastRx>, ConnectTiming), RequestError> {
        let mut timing = ConnectTiming::default();
        let (host, port) = match &self.proxy {
            Some(p) => (p.host.as_str(), p.port),
            None => (self.host.as_str(), self.port),
        };
        let t0 = Instant::now();
        let addrs = resolve(host, port).await?;
        let t1 = Instant::now();
        timing.dns = t1 - t0;
        let mut tcp = connect_any(&addrs, host).await?;
        let t2 = Instant::now();
        timing.tcp = t2 - t1;
        let rx = Arc::new(LastRx::default());
        let Some((tls, name)) = &self.tls else {
            let tcp = StampedStream::new(tcp, Arc::clone(&rx));
            return Ok((Stream::Left(tcp), rx, timing));
        };
        if let Some(p) = &self.proxy {
            tunnel(&mut tcp, &self.host, self.port, p).await?;
        }
        let t3 = Instant::now();
        timing.tunnel = t3 - t2;
        let tcp = StampedStream::new(tcp, Arc::clone(&rx));
        let stream = tls
            .connect(name.clone(), tcp)
            .await
            .map_err(|e| tls_error(&self.host, &e))?;
        timing.tls = t3.elapsed();
        Ok((Stream::Right(stream), rx, timing))
    }
}

/// The proxy of an intercept: only `http://` proxies are spoken to.
fn proxy_of(i: &hyper_util::client::proxy::matcher::Intercept) -> Result<Proxy, EngineError> {
    let uri = i.uri();
    let bad = |why: &str| {
        EngineError::InvalidSpec(format!(
            "the proxy set in the environment ({}://{}) {why}; use an http:// proxy or add the \
             endpoint's host to NO_PROXY",
            uri.scheme_str().unwrap_or("?"),
            uri.host().unwrap_or("?")
        ))
    };
    if uri.scheme_str() != Some("http") {
        return Err(bad("is not an http:// proxy"));
    }
    let host = uri.host().ok_or_else(|| bad("has no host"))?;
    Ok(Proxy {
        host: host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned(),
        port: uri.port_u16().unwrap_or(80),
        auth: i.basic_auth().cloned(),
    })
}

async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, RequestError> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| {
            err(
                ErrorKind::Connect,
                None,
                format!("cannot resolve {host}: {e}"),
            )
        })?
        .collect();
    if addrs.is_empty() {
        let msg = format!("{host} resolves to no address");
        return Err(err(ErrorKind::Connect, None, msg));
    }
    Ok(addrs)
}

/// Connects to the first address that answers.
async fn connect_any(addrs: &[SocketAddr], host: &str) -> Result<TcpStream, RequestError> {
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                let keepalive = socket2::TcpKeepalive::new().with_time(TCP_KEEPALIVE);
                let _ = socket2::SockRef::from(&s).set_tcp_keepalive(&keepalive);
                return Ok(s);
            }
            Err(e) => last = Some((addr, e)),
        }
    }
    let (addr, e) =
        last.ok_or_else(|| err(ErrorKind::Connect, None, format!("{host}: no address")))?;
    let kind = match e.kind() {
        std::io::ErrorKind::ConnectionRefused => ErrorKind::ConnectionRefused,
        _ => ErrorKind::Connect,
    };
    Err(err(kind, None, format!("connect to {host} ({addr}): {e}")))
}

/// Asks the proxy for a tunnel to `host:port` and reads its reply head.
async fn tunnel(
    tcp: &mut TcpStream,
    host: &str,
    port: u16,
    proxy: &Proxy,
) -> Result<(), RequestError> {
    let authority = authority(host, port);
    let mut head = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n").into_bytes();
    if let Some(auth) = &proxy.auth {
        head.extend_from_slice(b"Proxy-Authorization: ");
        head.extend_from_slice(auth.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    let fail = |why: String| {
        err(
            ErrorKind::Connect,
            None,
            format!(
                "proxy {}:{} tunnel to {authority}: {why}",
                proxy.host, proxy.port
            ),
        )
    };
    tcp.write_all(&head)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let reply = read_head(tcp).await.map_err(fail)?;
    let status_line = reply.lines().next().unwrap_or_default();
    match status_line.split_whitespace().nth(1) {
        Some(code) if code.starts_with('2') => Ok(()),
        Some("407") => Err(fail(
            "the proxy wants credentials (407); put them in the proxy URL, \
             http://USER:PASSWORD@proxy:port"
                .into(),
        )),
        _ => Err(fail(format!("refused: {status_line:?}"))),
    }
}

/// Reads bytes up to the blank line that ends a reply head.
async fn read_head(tcp: &mut TcpStream) -> Result<String, String> {
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 1024];
    loop {
        let n = tcp.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("the proxy closed the connection".into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = memchr::memmem::find(&buf, b"\r\n\r\n") {
            buf.truncate(end);
            return Ok(String::from_utf8_lossy(&buf).into_owned());
        }
        if buf.len() > MAX_PROXY_REPLY {
            return Err(format!(
                "reply head longer than {} KiB",
                MAX_PROXY_REPLY >> 10
            ));
        }
    }
}

/// `host:port`, with brackets around an IPv6 address.
pub(crate) fn authority(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn tls_error(host: &str, e: &std::io::Error) -> RequestError {
    let hint = if e.to_string().contains("certificate") {
        "; for a private CA pass its certificate (--ca-cert FILE / endpoint.ca_cert), \
         or --insecure to skip verification"
    } else {
        ""
    };
    err(
        ErrorKind::Connect,
        None,
        format!("TLS handshake with {host} failed: {e}{hint}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connector(url: &str, proxies: &Matcher) -> Connector {
        let uri: Uri = url.parse().expect("uri");
        Connector::with_proxies(&uri, &TlsSpec::default(), proxies).expect("connector")
    }

    #[test]
    fn proxies_from_the_environment_rules() {
        let m = Matcher::builder()
            .http("http://u:p@proxy:3128")
            .https("http://proxy:3128")
            .no("internal.example")
            .build();
        let plain = connector("http://gpu:8000/v1", &m);
        assert!(plain.absolute_form());
        assert!(plain.proxy_auth().is_some());
        let tls = connector("https://gpu/v1", &m);
        assert!(!tls.absolute_form(), "https goes through a CONNECT tunnel");
        assert!(!connector("http://internal.example/v1", &m).absolute_form());
        let none = Matcher::builder().build();
        assert!(!connector("http://gpu:8000/v1", &none).absolute_form());
        let socks = Matcher::builder().all("socks5://p:1080").build();
        let uri: Uri = "http://gpu/v1".parse().expect("uri");
        let e = Connector::with_proxies(&uri, &TlsSpec::default(), &socks).expect_err("socks");
        assert!(e.to_string().contains("NO_PROXY"), "{e}");
    }

    #[test]
    fn ipv6_authorities_keep_their_brackets() {
        assert_eq!(authority("::1", 8000), "[::1]:8000");
        assert_eq!(authority("h", 1), "h:1");
        let c = connector("http://[::1]:8000/v1", &Matcher::builder().build());
        assert_eq!((c.host.as_str(), c.port), ("::1", 8000));
    }
}
