//! Host and Origin allow-lists (DNS-rebinding and cross-origin protection).
//! rmcp enforces them on `/mcp`; the legacy SSE routes enforce the same lists
//! through `Guard::check`, so every HTTP route answers a foreign Host or
//! Origin with 403.

use http::{HeaderMap, Response, StatusCode};

use super::http::{text, Body};

/// The allow-lists of one HTTP server.
#[derive(Debug, Clone)]
pub(super) struct Guard {
    /// Host names accepted in the Host header (any port).
    pub(super) hosts: Vec<String>,
    /// Origin patterns: `scheme://host:port`, `scheme://host:*` (any port)
    /// or `scheme://host` (any port).
    pub(super) origins: Vec<String>,
}

impl Guard {
    /// Loopback hosts and origins, the bound address, and `extra_origins`.
    pub(super) fn new(bound: std::net::IpAddr, extra_origins: &[String]) -> Self {
        let mut origins = vec![
            "http://localhost:*".to_owned(),
            "http://127.0.0.1:*".to_owned(),
            "http://[::1]:*".to_owned(),
        ];
        origins.extend(extra_origins.iter().cloned());
        let mut hosts = vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ];
        let ip = bound.to_string();
        if !hosts.contains(&ip) {
            hosts.push(ip);
        }
        Self { hosts, origins }
    }

    /// `Err(reason)` when the Host or Origin header is not allowed (answer
    /// with `forbidden`). A request without Origin (not from a browser)
    /// passes the Origin check.
    pub(super) fn check(&self, headers: &HeaderMap) -> Result<(), &'static str> {
        let host = headers
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<http::uri::Authority>().ok());
        let host_ok = host.is_some_and(|a| {
            let name = bare(a.host());
            self.hosts.iter().any(|h| h.eq_ignore_ascii_case(&name))
        });
        if !host_ok {
            return Err("Forbidden: Host header is not allowed");
        }
        let Some(origin) = headers.get(http::header::ORIGIN) else {
            return Ok(());
        };
        let allowed = origin
            .to_str()
            .ok()
            .and_then(Origin::parse)
            .is_some_and(|o| self.origins.iter().any(|p| o.matches(p)));
        if allowed {
            Ok(())
        } else {
            Err("Forbidden: Origin header is not allowed")
        }
    }
}

/// The 403 answer to a refused request.
pub(super) fn forbidden(msg: &str) -> Response<Body> {
    text(StatusCode::FORBIDDEN, msg.to_owned())
}

/// Host without IPv6 brackets, lower-case.
fn bare(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase()
}

/// A parsed `scheme://host[:port]` origin.
#[derive(Debug, PartialEq)]
struct Origin {
    scheme: String,
    host: String,
    port: Option<u16>,
}

impl Origin {
    fn parse(value: &str) -> Option<Self> {
        let uri = value.trim().parse::<http::Uri>().ok()?;
        let authority = uri.authority()?;
        Some(Self {
            scheme: uri.scheme_str()?.to_ascii_lowercase(),
            host: bare(authority.host()),
            port: authority.port_u16(),
        })
    }

    fn effective_port(&self) -> Option<u16> {
        self.port.or(match self.scheme.as_str() {
            "http" => Some(80),
            "https" => Some(443),
            _ => None,
        })
    }

    /// Whether this origin matches an allow-list pattern.
    fn matches(&self, pattern: &str) -> bool {
        let (base, any_port) = match pattern.trim().strip_suffix(":*") {
            Some(base) => (base, true),
            None => (pattern.trim(), false),
        };
        let Some(p) = Self::parse(base) else {
            return false;
        };
        let port_ok = any_port || p.port.is_none() || p.effective_port() == self.effective_port();
        p.scheme == self.scheme && p.host == self.host && port_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(host: &str, origin: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::HOST, host.parse().expect("host"));
        if let Some(o) = origin {
            h.insert(http::header::ORIGIN, o.parse().expect("origin"));
        }
        h
    }

    #[test]
    fn loopback_hosts_and_origins_pass_foreign_ones_do_not() {
        let g = Guard::new(
            "127.0.0.1".parse().expect("ip"),
            &["https://app.example.com".into()],
        );
        assert!(g.check(&headers("127.0.0.1:8765", None)).is_ok());
        assert!(g
            .check(&headers("localhost:8765", Some("http://localhost:3000")))
            .is_ok());
        assert!(g
            .check(&headers("[::1]:8765", Some("http://[::1]:1")))
            .is_ok());
        assert!(g
            .check(&headers("127.0.0.1:1", Some("https://app.example.com")))
            .is_ok());
        assert!(g.check(&headers("evil.example:8765", None)).is_err());
        assert!(g
            .check(&headers("127.0.0.1:8765", Some("http://evil.example")))
            .is_err());
        assert!(g
            .check(&headers("127.0.0.1:8765", Some("https://localhost:3000")))
            .is_err());
        assert!(g
            .check(&headers("127.0.0.1:8765", Some("not a uri")))
            .is_err());
        assert!(g.check(&HeaderMap::new()).is_err());
    }

    #[test]
    fn exact_ports_are_compared_with_scheme_defaults() {
        let o = Origin::parse("https://a.example").expect("origin");
        assert!(o.matches("https://a.example:443"));
        assert!(!o.matches("https://a.example:8443"));
        assert!(o.matches("https://a.example:*"));
        assert!(!o.matches("http://a.example:*"));
    }
}
