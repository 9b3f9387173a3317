//! Model discovery: `GET {base}/models` and take the first model's id.

use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, AUTHORIZATION};
use http::Request;
use http_body_util::{BodyExt, Full};

use super::client::HttpClient;
use crate::domain::EndpointSpec;
use crate::engine::EngineError;

/// How long discovery may take before the endpoint counts as unreachable.
const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(15);

/// The model to name in requests: the spec's, or the endpoint's first.
pub(crate) async fn resolve_model(
    client: &HttpClient,
    endpoint: &EndpointSpec,
    auth: Option<&HeaderValue>,
) -> Result<String, EngineError> {
    if let Some(m) = endpoint.model.as_ref().filter(|m| !m.is_empty()) {
        return Ok(m.clone());
    }
    let url = endpoint.models_url();
    let fail = |reason: String| EngineError::ModelDiscovery {
        url: url.clone(),
        reason,
    };
    let mut req = Request::get(url.as_str())
        .body(Full::new(Bytes::new()))
        .map_err(|e| fail(format!("invalid URL: {e}")))?;
    if let Some(a) = auth {
        req.headers_mut().insert(AUTHORIZATION, a.clone());
    }
    let resp = tokio::time::timeout(DISCOVERY_TIMEOUT, client.request(req))
        .await
        .map_err(|_| {
            fail(format!(
                "no answer within {} s",
                DISCOVERY_TIMEOUT.as_secs()
            ))
        })?
        .map_err(|e| fail(format!("endpoint unreachable ({e})")))?;
    let status = resp.status();
    let body = tokio::time::timeout(DISCOVERY_TIMEOUT, resp.into_body().collect())
        .await
        .map_err(|_| fail("body timed out".to_owned()))?
        .map_err(|e| fail(format!("body failed: {e}")))?
        .to_bytes();
    if !status.is_success() {
        return Err(fail(format!("HTTP {status}")));
    }
    first_model_id(&body).ok_or_else(|| {
        fail("the response lists no models (expected {\"data\":[{\"id\":…}]})".to_owned())
    })
}

/// `data[0].id` of an OpenAI model list.
fn first_model_id(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v.get("data")?
        .get(0)?
        .get("id")?
        .as_str()
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::first_model_id;

    #[test]
    fn parses_the_first_model() {
        assert_eq!(
            first_model_id(br#"{"object":"list","data":[{"id":"m1"},{"id":"m2"}]}"#).as_deref(),
            Some("m1")
        );
        assert_eq!(first_model_id(br#"{"data":[]}"#), None);
        assert_eq!(first_model_id(b"nope"), None);
    }
}
