//! The OpenAI-compatible wire format: request bodies (built once, before the
//! run) and the interpretation of response chunks (after the timestamp).

use std::borrow::Cow;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::prompts::Prompt;
use super::sse::SseEvent;
use crate::domain::{ApiKind, PromptSpec, Usage};

/// What one streamed event means to the measurement.
#[derive(Debug, PartialEq)]
pub(crate) enum Event<'a> {
    /// A chunk with output of any kind: a content response (AIPerf's).
    Output(Output<'a>),
    /// A well-formed chunk without text (role-only, empty delta, usage-only).
    Empty,
    /// The `[DONE]` sentinel.
    Done,
    /// An error event or error object inside the 200 stream.
    Error(String),
}

/// The text of one content response, by kind.
#[derive(Debug, PartialEq, Default)]
pub(crate) struct Output<'a> {
    /// The answer: content, completion text, or tool-call name and
    /// argument fragments (AIPerf counts all as output tokens).
    pub(crate) answer: Cow<'a, str>,
    /// Reasoning text (`reasoning_content`, else `reasoning`).
    pub(crate) reasoning: Cow<'a, str>,
}

impl<'a> Output<'a> {
    /// An answer-only response.
    pub(crate) fn answer(text: impl Into<Cow<'a, str>>) -> Self {
        Self {
            answer: text.into(),
            reasoning: Cow::Borrowed(""),
        }
    }

    fn is_empty(&self) -> bool {
        self.answer.is_empty() && self.reasoning.is_empty()
    }
}

/// An interpreted event plus what it reports besides text.
#[derive(Debug, PartialEq)]
pub(crate) struct Interpreted<'a> {
    pub(crate) event: Event<'a>,
    pub(crate) usage: Option<Usage>,
    /// A choice carried a `finish_reason`.
    pub(crate) finished: bool,
    /// Tool-call parts, kept whole so a session can send the call back.
    pub(crate) calls: Vec<CallPart<'a>>,
}

/// One tool call's part in a chunk (a whole call in a full response).
#[derive(Debug, PartialEq, Default)]
pub(crate) struct CallPart<'a> {
    /// Which call of the message this part belongs to.
    pub(crate) index: usize,
    pub(crate) id: Option<Cow<'a, str>>,
    pub(crate) name: Option<Cow<'a, str>>,
    pub(crate) arguments: Option<Cow<'a, str>>,
}

impl<'a> Interpreted<'a> {
    fn of(event: Event<'a>) -> Self {
        Self {
            event,
            usage: None,
            finished: false,
            calls: Vec::new(),
        }
    }
}

#[derive(Deserialize)]
struct WireChunk<'a> {
    #[serde(borrow, default)]
    choices: Vec<WireChoice<'a>>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<Value>,
    #[serde(borrow, default)]
    object: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    message: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct WireChoice<'a> {
    #[serde(borrow, default)]
    delta: Option<WireText<'a>>,
    #[serde(borrow, default)]
    message: Option<WireText<'a>>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(default)]
    finish_reason: Option<Value>,
}

#[derive(Deserialize)]
struct WireText<'a> {
    #[serde(borrow, default)]
    content: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    reasoning_content: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    reasoning: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tool_calls: Option<Vec<WireToolCall<'a>>>,
}

#[derive(Deserialize)]
struct WireToolCall<'a> {
    #[serde(default)]
    index: Option<usize>,
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    function: Option<WireFunction<'a>>,
}

#[derive(Deserialize)]
struct WireFunction<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    arguments: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Clone, Copy)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: Option<u32>,
    #[serde(default)]
    completion_tokens: Option<u32>,
    #[serde(default)]
    completion_tokens_details: Option<WireCompletionDetails>,
}

#[derive(Deserialize, Clone, Copy)]
struct WireCompletionDetails {
    #[serde(default)]
    reasoning_tokens: Option<u32>,
}

impl From<WireUsage> for Usage {
    fn from(u: WireUsage) -> Self {
        Usage {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
            reasoning_tokens: u.completion_tokens_details.and_then(|d| d.reasoning_tokens),
        }
    }
}

/// Interprets one SSE event; `Err` carries why it is malformed.
pub(crate) fn interpret_event<'a>(ev: &SseEvent<'a>) -> Result<Interpreted<'a>, String> {
    if ev.event == Some(b"error") {
        let msg = String::from_utf8_lossy(ev.data).into_owned();
        return Ok(Interpreted::of(Event::Error(msg)));
    }
    let data = trim_ascii(ev.data);
    match super::fastpath::classify(data) {
        Some(super::fastpath::Fast::Answer(t)) => {
            return Ok(Interpreted::of(Event::Output(Output::answer(t))))
        }
        Some(super::fastpath::Fast::Reasoning(t)) => {
            return Ok(Interpreted::of(Event::Output(Output {
                answer: Cow::Borrowed(""),
                reasoning: Cow::Borrowed(t),
            })))
        }
        Some(super::fastpath::Fast::Empty) => return Ok(Interpreted::of(Event::Empty)),
        None => {}
    }
    if data == b"[DONE]" {
        return Ok(Interpreted::of(Event::Done));
    }
    let chunk: WireChunk<'a> = serde_json::from_slice(data).map_err(|e| malformed(data, &e))?;
    Ok(interpret_chunk(chunk))
}

/// Interprets a whole non-streaming response body.
pub(crate) fn interpret_body(body: &[u8]) -> Result<Interpreted<'_>, String> {
    let chunk: WireChunk<'_> =
        serde_json::from_slice(trim_ascii(body)).map_err(|e| malformed(body, &e))?;
    Ok(interpret_chunk(chunk))
}

fn interpret_chunk(chunk: WireChunk<'_>) -> Interpreted<'_> {
    let usage = chunk.usage.map(Usage::from);
    if let Some(err) = chunk.error.filter(|e| !e.is_null()) {
        return Interpreted {
            usage,
            ..Interpreted::of(Event::Error(error_message(&err)))
        };
    }
    if chunk.object.as_deref() == Some("error") {
        let msg = chunk
            .message
            .map_or_else(|| "error object in stream".to_owned(), Cow::into_owned);
        return Interpreted {
            usage,
            ..Interpreted::of(Event::Error(msg))
        };
    }
    let finished = chunk
        .choices
        .iter()
        .any(|c| c.finish_reason.as_ref().is_some_and(|f| !f.is_null()));
    let (output, calls) = chunk
        .choices
        .into_iter()
        .next()
        .map(choice_output)
        .unwrap_or_default();
    let event = if output.is_empty() {
        Event::Empty
    } else {
        Event::Output(output)
    };
    Interpreted {
        event,
        usage,
        finished,
        calls,
    }
}

/// The output of a choice: completion text, or a message's answer (content
/// and tool-call text) and reasoning (`reasoning_content` wins over
/// `reasoning`, as in AIPerf), with the message's tool-call parts.
fn choice_output(c: WireChoice<'_>) -> (Output<'_>, Vec<CallPart<'_>>) {
    if let Some(t) = c.text {
        return (Output::answer(t), Vec::new());
    }
    let Some(t) = c.delta.or(c.message) else {
        return Default::default();
    };
    let reasoning = t
        .reasoning_content
        .filter(|r| !r.is_empty())
        .or(t.reasoning)
        .unwrap_or_default();
    let calls: Vec<CallPart<'_>> = t
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let (name, arguments) = c.function.map_or((None, None), |f| (f.name, f.arguments));
            CallPart {
                index: c.index.unwrap_or(i),
                id: c.id,
                name,
                arguments,
            }
        })
        .collect();
    let mut answer = t.content.unwrap_or_default();
    if !calls.is_empty() {
        let mut text = answer.into_owned();
        for c in &calls {
            text.extend(c.name.as_deref());
            text.extend(c.arguments.as_deref());
        }
        answer = Cow::Owned(text);
    }
    (Output { answer, reasoning }, calls)
}

fn error_message(err: &Value) -> String {
    err.get("message")
        .and_then(Value::as_str)
        .map_or_else(|| err.to_string(), str::to_owned)
}

fn malformed(data: &[u8], e: &serde_json::Error) -> String {
    let shown: String = String::from_utf8_lossy(&data[..data.len().min(80)]).into_owned();
    format!("unparseable chunk ({e}): {shown:?}")
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &b[start..end]
}

/// What every request of a run carries besides its messages and
/// `max_tokens`: model, streaming, the built-in tools and response format
/// when asked for, and the caller's extra fields (which win).
pub(crate) fn common_fields(
    model: Option<&str>,
    shape: &PromptSpec,
    streaming: bool,
    extra: &Map<String, Value>,
) -> Map<String, Value> {
    let mut body = Map::new();
    if let Some(model) = model {
        body.insert("model".into(), json!(model));
    }
    body.insert("stream".into(), json!(streaming));
    if streaming {
        body.insert("stream_options".into(), json!({"include_usage": true}));
    }
    if shape.tools {
        body.insert("tools".into(), super::tools::tool_set());
        body.insert("tool_choice".into(), json!("auto"));
    }
    if shape.structured_output {
        body.insert("response_format".into(), super::tools::response_format());
    }
    for (k, v) in extra {
        body.insert(k.clone(), v.clone());
    }
    body
}

/// `fields` as the open start of a JSON object — `{` and each field, with a
/// trailing comma when there are any — ready for the fields a caller
/// appends (and its closing `}`).
pub(crate) fn object_head(fields: &Map<String, Value>) -> Vec<u8> {
    let mut json = serde_json::to_vec(fields).unwrap_or_else(|_| b"{}".to_vec());
    json.pop();
    if !fields.is_empty() {
        json.push(b',');
    }
    json
}

/// The JSON body of one single-turn request.
pub(crate) fn request_body(api: ApiKind, fields: &Map<String, Value>, prompt: &Prompt) -> Bytes {
    let mut body = fields.clone();
    match api {
        ApiKind::Chat => {
            let mut messages = Vec::with_capacity(2);
            if let Some(system) = &prompt.system {
                messages.push(json!({"role": "system", "content": system.as_ref()}));
            }
            messages.push(json!({"role": "user", "content": prompt.user}));
            body.insert("messages".into(), Value::Array(messages));
        }
        ApiKind::Completions => {
            let text = match &prompt.system {
                Some(system) => format!("{system}{}", prompt.user),
                None => prompt.user.clone(),
            };
            body.insert("prompt".into(), json!(text));
        }
    }
    body.entry("max_tokens")
        .or_insert_with(|| json!(prompt.max_tokens));
    Bytes::from(serde_json::to_vec(&Value::Object(body)).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(data: &str) -> Interpreted<'_> {
        interpret_event(&SseEvent {
            event: None,
            data: data.as_bytes(),
        })
        .expect("well-formed")
    }

    #[test]
    fn content_role_only_usage_only_and_done() {
        let c = ev(r#"{"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}"#);
        assert_eq!(c.event, Event::Output(Output::answer("Hi")));
        assert!(!c.finished);
        let role = ev(r#"{"choices":[{"delta":{"role":"assistant","content":""}}]}"#);
        assert_eq!(role.event, Event::Empty);
        let usage = ev(
            r#"{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}"#,
        );
        assert_eq!(usage.event, Event::Empty);
        assert_eq!(
            usage.usage,
            Some(Usage {
                prompt_tokens: Some(5),
                completion_tokens: Some(7),
                reasoning_tokens: None,
            })
        );
        assert_eq!(ev(" [DONE] ").event, Event::Done);
        let fin = ev(r#"{"choices":[{"delta":{},"finish_reason":"length"}]}"#);
        assert!(fin.finished);
        assert_eq!(fin.event, Event::Empty);
    }

    #[test]
    fn completions_text_reasoning_and_escapes() {
        assert_eq!(
            ev(r#"{"choices":[{"text":" word"}]}"#).event,
            Event::Output(Output::answer(" word"))
        );
        let r = ev(r#"{"choices":[{"delta":{"reasoning_content":"think","content":null}}]}"#);
        let think = Output {
            answer: "".into(),
            reasoning: "think".into(),
        };
        assert_eq!(r.event, Event::Output(think));
        let both = ev(r#"{"choices":[{"delta":{"reasoning":"r","content":"c"}}]}"#);
        let rc = Output {
            answer: "c".into(),
            reasoning: "r".into(),
        };
        assert_eq!(both.event, Event::Output(rc));
        let esc = ev(r#"{"choices":[{"delta":{"content":"a\"b\n"}}]}"#);
        assert_eq!(esc.event, Event::Output(Output::answer("a\"b\n")));
    }

    #[test]
    fn tool_call_deltas_are_output() {
        let name = ev(
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"get_weather","arguments":""}}]}}]}"#,
        );
        assert_eq!(name.event, Event::Output(Output::answer("get_weather")));
        let args = ev(
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}}]}"#,
        );
        assert_eq!(args.event, Event::Output(Output::answer("{\"city\":")));
        let id_only = ev(r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c1"}]}}]}"#);
        assert_eq!(id_only.event, Event::Empty);
        let usage = ev(
            r#"{"choices":[],"usage":{"completion_tokens":9,"completion_tokens_details":{"reasoning_tokens":4}}}"#,
        );
        assert_eq!(usage.usage.and_then(|u| u.reasoning_tokens), Some(4));
    }

    #[test]
    fn error_events_and_objects() {
        let named = interpret_event(&SseEvent {
            event: Some(b"error"),
            data: b"overloaded",
        })
        .expect("ok");
        assert_eq!(named.event, Event::Error("overloaded".into()));
        let obj = ev(r#"{"error":{"message":"model crashed","code":500}}"#);
        assert_eq!(obj.event, Event::Error("model crashed".into()));
        let vllm = ev(r#"{"object":"error","message":"bad","type":"BadRequestError"}"#);
        assert_eq!(vllm.event, Event::Error("bad".into()));
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        for bad in ["{not json", "", "\u{0}", "[1,2", "42x"] {
            assert!(
                interpret_event(&SseEvent {
                    event: None,
                    data: bad.as_bytes()
                })
                .is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn non_streaming_body() {
        let b = br#"{"choices":[{"message":{"role":"assistant","content":"hello world"},"finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":2}}"#;
        let i = interpret_body(b).expect("ok");
        assert_eq!(i.event, Event::Output(Output::answer("hello world")));
        assert!(i.finished);
        assert_eq!(i.usage.and_then(|u| u.completion_tokens), Some(2));
    }

    #[test]
    fn bodies_carry_max_tokens_stream_options_and_extras() {
        let p = Prompt {
            system: Some("sys ".into()),
            user: "hello".into(),
            input_tokens: 3,
            user_tokens: 2,
            max_tokens: 9,
        };
        let mut extra = Map::new();
        extra.insert("ignore_eos".into(), json!(true));
        let shape = PromptSpec {
            input_tokens_mean: 3,
            input_tokens_stddev: 0,
            output_tokens_mean: 9,
            output_tokens_stddev: 0,
            shared_prefix_tokens: 0,
            tokenizer: None,
            tokenizer_download: false,
            distribution: Default::default(),
            tools: false,
            structured_output: false,
            mixture: Vec::new(),
        };
        let fields = common_fields(Some("m"), &shape, true, &extra);
        let chat: Value =
            serde_json::from_slice(&request_body(ApiKind::Chat, &fields, &p)).expect("json");
        assert_eq!(chat["max_tokens"], 9);
        assert_eq!(chat["stream_options"]["include_usage"], true);
        assert_eq!(chat["ignore_eos"], true);
        assert_eq!(chat["messages"][0]["role"], "system");
        assert_eq!(chat["messages"][1]["content"], "hello");
        let plain = common_fields(None, &shape, false, &Map::new());
        let comp: Value =
            serde_json::from_slice(&request_body(ApiKind::Completions, &plain, &p)).expect("json");
        assert_eq!(comp["prompt"], "sys hello");
        assert_eq!(chat["model"], "m");
        assert!(comp.get("model").is_none(), "no model given, none sent");
        assert!(comp.get("stream_options").is_none());
    }
}
