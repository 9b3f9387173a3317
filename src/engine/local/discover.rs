//! Model discovery: `GET {base}/models` and take the first model's id.

use std::time::Duration;

use bytes::Bytes;
use http::header::CONTENT_TYPE;

use super::client::HttpRoute;
use crate::domain::EndpointSpec;
use crate::engine::EngineError;

/// How long discovery may take before the endpoint counts as unreachable.
const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(15);
/// Largest model list read (a list of a few thousand models fits).
const MAX_MODELS_BODY: usize = 4 << 20;

/// The model to name in requests: the spec's, or the endpoint's first.
/// The list is asked for on the run's own route (same proxy, TLS, headers).
pub(crate) async fn resolve_model(
    route: &HttpRoute,
    endpoint: &EndpointSpec,
) -> Result<String, EngineError> {
    if let Some(m) = endpoint.model.as_ref().filter(|m| !m.is_empty()) {
        return Ok(m.clone());
    }
    let url = endpoint.models_url();
    let fail = |reason: String| EngineError::ModelDiscovery {
        url: url.clone(),
        reason,
    };
    let uri: http::Uri = url.parse().map_err(|e| fail(format!("invalid URL: {e}")))?;
    let target = route.target_for(&uri)?;
    let mut req = route.request(http::Method::GET, target, Bytes::new().into());
    req.headers_mut().remove(CONTENT_TYPE);
    let fetch = async {
        let conn = route.open().await.map_err(|e| e.message)?;
        conn.fetch(req, MAX_MODELS_BODY).await
    };
    let (status, body) = tokio::time::timeout(DISCOVERY_TIMEOUT, fetch)
        .await
        .map_err(|_| {
            fail(format!(
                "no answer within {} s",
                DISCOVERY_TIMEOUT.as_secs()
            ))
        })?
        .map_err(|e| fail(format!("endpoint unreachable ({e})")))?;
    if !(200..300).contains(&status) {
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
