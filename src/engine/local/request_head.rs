//! The fixed parts of every request to an HTTP endpoint, built once per run:
//! the request target (origin form, or absolute for a plain-http proxy) and
//! the headers (Host, Content-Type, credentials, the user's own).

use http::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST};
use http::Uri;

use super::connect::Connector;
use crate::domain::EndpointSpec;
use crate::engine::EngineError;

/// The request target for `url`: origin form (path and query), or the
/// absolute URL for a plain-http proxy.
pub(crate) fn request_target(url: &Uri, absolute: bool) -> Result<Uri, EngineError> {
    if absolute {
        return Ok(url.clone());
    }
    let pq = url.path_and_query().map_or("/", |pq| pq.as_str());
    let pq = if pq.is_empty() { "/" } else { pq };
    pq.parse()
        .map_err(|e| EngineError::InvalidSpec(format!("endpoint path {pq:?} is not valid: {e}")))
}

/// Host, Content-Type, the bearer token, proxy credentials and the user's
/// own headers (which win over the defaults they name).
pub(crate) fn base_headers(
    url: &Uri,
    endpoint: &EndpointSpec,
    connector: &Connector,
) -> Result<HeaderMap, EngineError> {
    let mut h = HeaderMap::new();
    if let Some(host) = url
        .authority()
        .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    {
        h.insert(HOST, host);
    }
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(auth) = bearer(endpoint)? {
        h.insert(AUTHORIZATION, auth);
    }
    if let Some(auth) = connector.proxy_auth() {
        h.insert(http::header::PROXY_AUTHORIZATION, auth.clone());
    }
    for (i, (name, value)) in endpoint.headers.0.iter().enumerate() {
        let bad = |what: &str| {
            EngineError::InvalidSpec(format!(
                "header {} ({name:?}) has {what}; write it as `Name: value`",
                i + 1
            ))
        };
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad("an invalid name"))?;
        let mut value = HeaderValue::from_str(value).map_err(|_| bad("an invalid value"))?;
        value.set_sensitive(true);
        h.insert(name, value);
    }
    Ok(h)
}

/// `Authorization: Bearer KEY` for the endpoint's API key, if any.
fn bearer(endpoint: &EndpointSpec) -> Result<Option<HeaderValue>, EngineError> {
    endpoint
        .api_key
        .as_ref()
        .filter(|k| !k.is_empty())
        .map(|k| {
            HeaderValue::from_str(&format!("Bearer {k}"))
                .map(|mut v| {
                    v.set_sensitive(true);
                    v
                })
                .map_err(|_| {
                    EngineError::InvalidSpec(
                        "the API key contains characters not allowed in a header".into(),
                    )
                })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{SecretHeaders, TlsSpec};

    fn direct(url: &Uri) -> Connector {
        Connector::new(url, &TlsSpec::default(), false).expect("connector")
    }

    #[test]
    fn targets_are_origin_form_unless_a_plain_proxy_forwards_them() {
        let url: Uri = "http://h:8000/openai/v1/chat/completions?api-version=1"
            .parse()
            .expect("uri");
        let t = request_target(&url, false).expect("target");
        assert_eq!(t.to_string(), "/openai/v1/chat/completions?api-version=1");
        assert!(t.scheme().is_none() && t.authority().is_none());
        assert_eq!(request_target(&url, true).expect("abs"), url);
        let bare: Uri = "http://h:8000".parse().expect("uri");
        assert_eq!(request_target(&bare, false).expect("root").to_string(), "/");
    }

    #[test]
    fn headers_carry_host_credentials_and_the_users_own() {
        let url: Uri = "http://gpu:8000/v1/chat/completions".parse().expect("uri");
        let mut ep = EndpointSpec {
            api_key: Some("k".into()),
            headers: SecretHeaders(vec![("api-key".into(), "v".into())]),
            ..EndpointSpec::default()
        };
        let h = base_headers(&url, &ep, &direct(&url)).expect("headers");
        assert_eq!(h[HOST], "gpu:8000");
        assert_eq!(h[AUTHORIZATION], "Bearer k");
        assert!(h["api-key"].is_sensitive() && h[AUTHORIZATION].is_sensitive());
        ep.headers = SecretHeaders(vec![("Authorization".into(), "Basic x".into())]);
        let h = base_headers(&url, &ep, &direct(&url)).expect("headers");
        assert_eq!(h[AUTHORIZATION], "Basic x", "the user's header wins");
        ep.headers = SecretHeaders(vec![("bad name".into(), "v".into())]);
        assert!(base_headers(&url, &ep, &direct(&url)).is_err());
        ep.headers = SecretHeaders::default();
        ep.api_key = Some("bad\nkey".into());
        assert!(base_headers(&url, &ep, &direct(&url)).is_err());
    }
}
