//! Multi-turn sessions. A lane runs one session at a time: each turn sends
//! the conversation so far — system prompt, earlier user turns, the
//! assistant's actual replies, tool results — plus the new message.
//!
//! The history is kept as the JSON of each message, serialised once when
//! the message is added; a turn's body shares those chunks (`ReqBody`), so
//! the cost of a turn is its new message and reply, never the context
//! before it. Token counts grow the same way: the reply is counted once,
//! when it arrives (the exchange's client count), never re-tokenised.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Map, Value};

use super::body::ReqBody;
use super::client::Exchange;
use super::loadloop::PreparedRequest;
use super::prompts::Prompt;
use super::response::ToolCall;
use crate::domain::{SessionSpec, SessionTurn};
use crate::rng::Rng;

/// History bytes shared by all sessions in flight; each session may hold
/// its share (at least `MIN_HISTORY_BYTES`). A session whose next turn
/// would pass its share ends there, and the lane starts a new one.
const HISTORY_BUDGET_BYTES: usize = 512 << 20;
const MIN_HISTORY_BYTES: usize = 64 << 10;

/// What every session of a run draws from; shared by the lanes.
#[derive(Debug)]
pub(crate) struct SessionPlan {
    spec: SessionSpec,
    /// User turns (and tool results) drawn from, prepared before the run.
    prompts: Vec<Prompt>,
    /// The shared system message's JSON and its tokens.
    system: Option<(Bytes, u32)>,
    /// `{` and every common field, ready for `max_tokens` and `messages`.
    head: Bytes,
    /// The caller fixed `max_tokens` in the extra body fields.
    fixed_max_tokens: bool,
    seed: u64,
    /// Next session number (unique within the run).
    next_id: AtomicU64,
}

/// One conversation in progress, owned by its lane.
#[derive(Debug)]
pub(crate) struct Session {
    id: u64,
    planned: u32,
    /// Turns sent so far.
    turn: u32,
    rng: Rng,
    /// Message JSON chunks, each after the first with a leading comma.
    history: Vec<Bytes>,
    history_bytes: usize,
    /// Tokens of the history (system prompt included).
    history_tokens: u32,
    /// Tool calls of the last reply, answered by the next turn.
    pending_calls: Vec<ToolCall>,
    max_history_bytes: usize,
}

impl SessionPlan {
    /// A plan from the run's prompts (each with the shared system prompt, if
    /// any) and its common body fields.
    pub(crate) fn new(
        spec: SessionSpec,
        prompts: Vec<Prompt>,
        fields: &Map<String, Value>,
        seed: u64,
    ) -> Self {
        let system = prompts.first().and_then(|p| {
            let s = p.system.as_ref()?;
            let json = serde_json::to_vec(&json!({"role": "system", "content": s.as_ref()}));
            Some((
                Bytes::from(json.unwrap_or_default()),
                p.input_tokens - p.user_tokens,
            ))
        });
        let mut fields = fields.clone();
        fields.remove("messages");
        let fixed_max_tokens = fields.contains_key("max_tokens");
        Self {
            spec,
            prompts,
            system,
            head: Bytes::from(super::openai::object_head(&fields)),
            fixed_max_tokens,
            seed,
            next_id: AtomicU64::new(0),
        }
    }

    /// A new session, holding at most its share of the history budget
    /// among `lanes` sessions in flight.
    pub(crate) fn start(&self, lanes: usize) -> Session {
        let id = self.next_id.fetch_add(1, Relaxed);
        let mut rng = Rng::derive(self.seed ^ 0x5E55, id);
        let s = &self.spec;
        let planned = rng.token_count(s.turns_mean.max(1), s.turns_stddev, 1);
        let (history, history_bytes, history_tokens) = match &self.system {
            Some((json, tokens)) => (vec![json.clone()], json.len(), *tokens),
            None => (Vec::new(), 0, 0),
        };
        Session {
            id,
            planned,
            turn: 0,
            rng,
            history,
            history_bytes,
            history_tokens,
            pending_calls: Vec::new(),
            max_history_bytes: (HISTORY_BUDGET_BYTES / lanes.max(1)).max(MIN_HISTORY_BYTES),
        }
    }

    /// The next turn's request: the new message (a user turn, or the
    /// results of the tools the last reply called) is added to the
    /// history, and the body is the whole history.
    pub(crate) fn next_request(&self, s: &mut Session) -> (PreparedRequest, SessionTurn) {
        let prompt = &self.prompts[s.rng.below(self.prompts.len())];
        let (messages, tokens) = if s.pending_calls.is_empty() {
            let m = json!({"role": "user", "content": prompt.user});
            (vec![m], prompt.user_tokens)
        } else {
            tool_results(&std::mem::take(&mut s.pending_calls), prompt)
        };
        for m in messages {
            s.push(&m);
        }
        s.history_tokens = s.history_tokens.saturating_add(tokens);
        let turn = SessionTurn {
            id: s.id,
            turn: s.turn,
            planned: s.planned,
        };
        s.turn += 1;
        let request = PreparedRequest {
            body: self.body(s, prompt.max_tokens),
            input_tokens: s.history_tokens,
            max_tokens: prompt.max_tokens,
        };
        (request, turn)
    }

    /// Takes in the reply to the last turn. `Some(think time)` when the
    /// session goes on; `None` when it is over (all turns done, the turn
    /// failed, or the history reached its share of memory).
    pub(crate) fn after_reply(&self, s: &mut Session, ex: &Exchange) -> Option<Duration> {
        if ex.outcome.error.is_some() || s.turn >= s.planned {
            return None;
        }
        s.push(&assistant_message(&ex.outcome.text, &ex.outcome.tool_calls));
        s.pending_calls = ex.outcome.tool_calls.clone();
        let reply_tokens = ex.output_tokens_client.unwrap_or(0);
        s.history_tokens = s.history_tokens.saturating_add(reply_tokens);
        if s.history_bytes >= s.max_history_bytes {
            return None;
        }
        let ms = s.rng.normal(
            f64::from(self.spec.think_time_ms_mean),
            f64::from(self.spec.think_time_ms_stddev),
        );
        Some(Duration::from_secs_f64(ms.max(0.0) / 1e3))
    }

    fn body(&self, s: &Session, max_tokens: u32) -> ReqBody {
        let open = if self.fixed_max_tokens {
            "\"messages\":[".to_owned()
        } else {
            format!("\"max_tokens\":{max_tokens},\"messages\":[")
        };
        let mut chunks = Vec::with_capacity(s.history.len() + 3);
        chunks.push(self.head.clone());
        chunks.push(Bytes::from(open));
        chunks.extend(s.history.iter().cloned());
        chunks.push(Bytes::from_static(b"]}"));
        ReqBody::chunks(chunks)
    }
}

impl Session {
    /// Adds one message's JSON to the history.
    fn push(&mut self, message: &Value) {
        let mut json = Vec::with_capacity(64);
        if !self.history.is_empty() {
            json.push(b',');
        }
        if serde_json::to_writer(&mut json, message).is_ok() {
            self.history_bytes += json.len();
            self.history.push(Bytes::from(json));
        }
    }
}

/// The assistant's reply as the history keeps it: its text, and its tool
/// calls when it made any.
fn assistant_message(text: &str, calls: &[ToolCall]) -> Value {
    if calls.is_empty() {
        return json!({"role": "assistant", "content": text});
    }
    let calls: Vec<Value> = calls
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments},
            })
        })
        .collect();
    json!({"role": "assistant", "content": Value::Null, "tool_calls": calls})
}

/// One `tool` message per call, each carrying a result of the prompt's
/// length (the tool's output, as the agent would send it back).
fn tool_results(calls: &[ToolCall], prompt: &Prompt) -> (Vec<Value>, u32) {
    let messages = calls
        .iter()
        .map(|c| json!({"role": "tool", "tool_call_id": c.id, "content": prompt.user.trim_start()}))
        .collect();
    let tokens = prompt.user_tokens.saturating_mul(calls.len() as u32);
    (messages, tokens)
}
