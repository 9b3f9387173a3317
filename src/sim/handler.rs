//! Request routing and response construction for the simulator.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited};
use serde_json::{json, Value};

use super::arrival::Arrival;
use super::config::{Fault, SimConfig};
use super::stream::{CutBody, Pace, PacedStream, StreamCut};
use super::timer::PreciseTimer;
use super::truth::{TruthLog, TruthRecord};
use super::wire::Wire;
use crate::domain::ApiKind;
use crate::rng::Rng;
use crate::text::{builtin_count, WORDS};

/// Largest request body accepted.
const MAX_BODY: usize = 32 * 1024 * 1024;

pub(crate) type SimBody = UnsyncBoxBody<Bytes, StreamCut>;

/// Shared by every connection.
#[derive(Debug)]
pub(crate) struct State {
    config: SimConfig,
    truth: Option<Arc<TruthLog>>,
    /// Requests seen; seeds each request's randomness, so a run with the
    /// same seed and arrival order draws the same faults.
    counter: AtomicU64,
    timer: PreciseTimer,
    /// Generation slots, when the capacity is finite.
    slots: Option<Arc<tokio::sync::Semaphore>>,
}

impl State {
    pub(crate) fn new(
        config: SimConfig,
        truth: Option<Arc<TruthLog>>,
        timer: PreciseTimer,
    ) -> Self {
        let slots = config
            .slots
            .map(|n| Arc::new(tokio::sync::Semaphore::new(n as usize)));
        Self {
            config,
            truth,
            counter: AtomicU64::new(0),
            timer,
            slots,
        }
    }
}

/// Handles one HTTP request; `arrival` is its connection's arrival stamp.
pub(crate) async fn handle(
    req: Request<hyper::body::Incoming>,
    state: Arc<State>,
    arrival: Arc<Arrival>,
) -> Result<Response<SimBody>, std::convert::Infallible> {
    // The kernel's receive time of this request (its head has been parsed).
    let arrived = arrival.take();
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let resp = match (method.as_str(), path.trim_end_matches('/')) {
        ("GET", "/v1/models" | "/models") => models(&state.config),
        ("GET", "/health" | "/v1/health") => json_response(StatusCode::OK, json!({"status": "ok"})),
        ("POST", "/v1/chat/completions" | "/chat/completions") => {
            let at = Arrived {
                at: arrived,
                slot: &arrival,
            };
            generate(req, &state, ApiKind::Chat, request_id, at).await
        }
        ("POST", "/v1/completions" | "/completions") => {
            let at = Arrived {
                at: arrived,
                slot: &arrival,
            };
            generate(req, &state, ApiKind::Completions, request_id, at).await
        }
        _ => error_response(
            StatusCode::NOT_FOUND,
            &format!("no route for {method} {path}"),
        ),
    };
    // A no-op once generate re-armed it after reading the body.
    arrival.rearm();
    Ok(resp)
}

/// When a request arrived, and its connection's slot to re-arm once its
/// body is read.
struct Arrived<'a> {
    at: Option<Instant>,
    slot: &'a Arrival,
}

fn models(config: &SimConfig) -> Response<SimBody> {
    json_response(
        StatusCode::OK,
        json!({"object": "list", "data": [{"id": config.model, "object": "model", "owned_by": "mcc-bench"}]}),
    )
}

/// What the request asked for.
struct Ask {
    /// The tool to call: the first offered, when the last message is the
    /// user's (a tool result gets a text answer, as from a real model).
    tool: Option<String>,
    prompt_tokens: u32,
    max_tokens: u32,
    stream: bool,
    include_usage: bool,
    model: String,
}

async fn generate(
    req: Request<hyper::body::Incoming>,
    state: &State,
    api: ApiKind,
    request_id: String,
    arrived: Arrived<'_>,
) -> Response<SimBody> {
    // Ground truth starts when the request reached the socket (the kernel's
    // stamp), else once its head has been parsed.
    let received = arrived.at.unwrap_or_else(Instant::now);
    let body = Limited::new(req.into_body(), MAX_BODY).collect().await;
    arrived.slot.rearm();
    let bytes = match body {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                &format!("cannot read request body: {e}"),
            )
        }
    };
    let ask = match parse_ask(&bytes, api, &state.config) {
        Ok(a) => a,
        Err(msg) => return error_response(StatusCode::BAD_REQUEST, &msg),
    };
    let n = state.counter.fetch_add(1, Ordering::Relaxed);
    let mut rng = Rng::derive(state.config.seed, n);
    let fault = state.config.faults.pick(rng.next_f64());
    let slot = match (&state.slots, fault) {
        (
            Some(s),
            None | Some(Fault::Stall | Fault::Cut | Fault::ErrorEvent | Fault::Malformed),
        ) => Arc::clone(s).acquire_owned().await.ok(),
        _ => None,
    };
    let admitted = Instant::now();
    let truth = state.truth.as_ref().map(|log| {
        let rec = TruthRecord {
            request_id,
            received,
            admitted: if state.slots.is_some() {
                admitted
            } else {
                received
            },
            chunks: Vec::with_capacity(ask.max_tokens.min(4096) as usize),
            completion_tokens: 0,
            prompt_tokens: ask.prompt_tokens,
            fault,
        };
        (Arc::clone(log), rec)
    });
    match fault {
        Some(Fault::Http500) => {
            log_now(truth);
            return error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "simulated internal error",
            );
        }
        Some(Fault::Http429) => {
            log_now(truth);
            return error_response(StatusCode::TOO_MANY_REQUESTS, "simulated rate limit");
        }
        _ => {}
    }
    let wire = Wire {
        api,
        id: n,
        created: unix_seconds(),
        model: ask.model.clone(),
        prompt_tokens: ask.prompt_tokens,
        include_usage: ask.include_usage,
        tool: ask.tool.clone(),
    };
    let pace = pace(&state.config, fault);
    let start = if state.slots.is_some() {
        admitted
    } else {
        received
    };
    if ask.stream {
        let mut body =
            PacedStream::new(&state.timer, wire, ask.max_tokens, pace, rng, fault, truth);
        body.slot = slot;
        return sse_response(body);
    }
    let done = state
        .timer
        .sleep_until(start + pace.first + pace.itl * ask.max_tokens.saturating_sub(1));
    done.await;
    drop(slot);
    whole_response(wire, ask.max_tokens, rng, fault, truth)
}

fn pace(c: &SimConfig, fault: Option<Fault>) -> Pace {
    let stall = if fault == Some(Fault::Stall) {
        c.faults.stall_ms
    } else {
        0.0
    };
    Pace {
        first: Duration::from_secs_f64((c.ttft_ms + stall) / 1e3),
        itl: Duration::from_secs_f64(c.itl_ms / 1e3),
        jitter_ms: c.itl_jitter_ms,
    }
}

fn log_now(truth: Option<(Arc<TruthLog>, TruthRecord)>) {
    if let Some((log, rec)) = truth {
        log.push(rec);
    }
}

fn whole_response(
    wire: Wire,
    n: u32,
    mut rng: Rng,
    fault: Option<Fault>,
    truth: Option<(Arc<TruthLog>, TruthRecord)>,
) -> Response<SimBody> {
    let words: Vec<usize> = (0..n).map(|_| rng.below(WORDS.len())).collect();
    if let Some((log, mut rec)) = truth {
        rec.chunks.push(Instant::now());
        rec.completion_tokens = n;
        log.push(rec);
    }
    let body = match fault {
        Some(Fault::ErrorEvent) => return error_in_200(),
        Some(Fault::Malformed) => Bytes::from_static(b"{\"choices\": [garbage"),
        Some(Fault::Cut) => {
            return Response::builder()
                .header("content-type", "application/json")
                .body(CutBody.boxed_unsync())
                .unwrap_or_else(|_| Response::new(empty()));
        }
        _ => wire.whole(&words),
    };
    Response::builder()
        .header("content-type", "application/json")
        .body(
            Full::new(body)
                .map_err(|never| match never {})
                .boxed_unsync(),
        )
        .unwrap_or_else(|_| Response::new(empty()))
}

fn error_in_200() -> Response<SimBody> {
    json_response(
        StatusCode::OK,
        json!({"error": {"message": "simulated engine failure", "code": 500}}),
    )
}

fn parse_ask(bytes: &[u8], api: ApiKind, config: &SimConfig) -> Result<Ask, String> {
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("request body is not valid JSON: {e}"))?;
    let prompt_tokens = match api {
        ApiKind::Chat => {
            let msgs = v
                .get("messages")
                .and_then(Value::as_array)
                .ok_or("`messages` must be an array")?;
            msgs.iter()
                .map(|m| message_tokens(m.get("content")) + call_tokens(m))
                .sum()
        }
        ApiKind::Completions => message_tokens(v.get("prompt")),
    };
    let max_tokens = ["max_completion_tokens", "max_tokens"]
        .iter()
        .find_map(|k| v.get(*k).and_then(Value::as_u64))
        .map_or(config.default_max_tokens, |n| n.min(1 << 20) as u32)
        .max(1);
    Ok(Ask {
        tool: tool_to_call(&v),
        prompt_tokens,
        max_tokens,
        stream: v.get("stream").and_then(Value::as_bool).unwrap_or(false),
        include_usage: v
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            .unwrap_or(false)
            || v.get("stream").and_then(Value::as_bool) != Some(true),
        model: v
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or(&config.model)
            .to_owned(),
    })
}

/// The tool a chat request's reply calls: the first offered, unless
/// `tool_choice` is `none` or the last message is not the user's.
fn tool_to_call(v: &Value) -> Option<String> {
    let name = v.pointer("/tools/0/function/name")?.as_str()?;
    let last_role = v
        .get("messages")?
        .as_array()?
        .last()?
        .get("role")?
        .as_str()?;
    let choice_none = v.get("tool_choice").and_then(Value::as_str) == Some("none");
    (last_role == "user" && !choice_none && is_plain(name)).then(|| name.to_owned())
}

/// A name the wire format can write unescaped inside JSON.
fn is_plain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Tokens of an assistant message's tool calls (names and arguments).
fn call_tokens(m: &Value) -> u32 {
    let Some(calls) = m.get("tool_calls").and_then(Value::as_array) else {
        return 0;
    };
    calls
        .iter()
        .map(|c| {
            let f = |k: &str| c.pointer(&format!("/function/{k}")).and_then(Value::as_str);
            builtin_count(&format!(
                "{}{}",
                f("name").unwrap_or(""),
                f("arguments").unwrap_or("")
            ))
        })
        .sum()
}

fn message_tokens(content: Option<&Value>) -> u32 {
    match content {
        Some(Value::String(s)) => builtin_count(s),
        Some(Value::Array(parts)) => parts.iter().map(|p| message_tokens(p.get("text"))).sum(),
        _ => 0,
    }
}

fn sse_response(body: PacedStream) -> Response<SimBody> {
    Response::builder()
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(body.boxed_unsync())
        .unwrap_or_else(|_| Response::new(empty()))
}

fn json_response(status: StatusCode, v: Value) -> Response<SimBody> {
    let body = Full::new(Bytes::from(v.to_string()))
        .map_err(|never| match never {})
        .boxed_unsync();
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(body)
        .unwrap_or_else(|_| Response::new(empty()))
}

fn error_response(status: StatusCode, message: &str) -> Response<SimBody> {
    json_response(
        status,
        json!({"error": {"message": message, "type": status.canonical_reason(), "code": status.as_u16()}}),
    )
}

fn empty() -> SimBody {
    Full::new(Bytes::new())
        .map_err(|never| match never {})
        .boxed_unsync()
}

fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
