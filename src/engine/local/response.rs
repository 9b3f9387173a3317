//! Turns the bytes of one response into a measurement: content-response
//! instants, text, usage and the failure kind, if any. The caller stamps each
//! read with its arrival instant *before* handing the bytes here.

use std::time::Instant;

use super::openai::{interpret_body, interpret_event, Event, Interpreted};
use super::sse::SseParser;
use crate::domain::{ErrorKind, RequestError, Usage};

/// Longest error body kept for a message.
const MAX_ERROR_BODY: usize = 2048;
/// Content instants preallocated per stream (more grow the vector).
const PREALLOCATED_RESPONSES: usize = 4096;
/// Largest SSE event or unfinished line buffered before the stream counts
/// as malformed (a server that never ends a line cannot exhaust memory).
pub(crate) const MAX_EVENT_BYTES: usize = 8 << 20;
/// Largest response, streamed or whole: beyond it the endpoint is not
/// honouring `max_tokens` and the request fails (memory stays bounded).
pub(crate) const MAX_RESPONSE_BYTES: usize = 64 << 20;
/// Content responses a stream may carry per requested token (servers that
/// split a token over several chunks stay far below)…
const RESPONSES_PER_TOKEN: usize = 16;
/// …and never fewer than this many.
const MIN_RESPONSE_CAP: usize = 4096;

/// What a finished response yielded.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// Arrival of each content response of any kind (answer or reasoning).
    pub(crate) responses: Vec<Instant>,
    /// Arrival of the first response carrying answer text (not reasoning).
    pub(crate) first_answer: Option<Instant>,
    /// Answer text: content, completion text, tool-call names and arguments.
    pub(crate) text: String,
    /// Reasoning text.
    pub(crate) reasoning: String,
    pub(crate) usage: Option<Usage>,
    pub(crate) error: Option<RequestError>,
    /// The tool calls of the reply, assembled from their parts.
    pub(crate) tool_calls: Vec<ToolCall>,
}

/// A tool call of a reply.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct ToolCall {
    pub(crate) index: usize,
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) arguments: String,
}

/// Adds one chunk's tool-call parts to the calls so far (ids and names
/// arrive once, arguments in fragments).
fn merge_calls(calls: &mut Vec<ToolCall>, parts: Vec<super::openai::CallPart<'_>>) {
    for p in parts {
        let at = match calls.iter().position(|c| c.index == p.index) {
            Some(at) => at,
            None => {
                calls.push(ToolCall {
                    index: p.index,
                    ..ToolCall::default()
                });
                calls.len() - 1
            }
        };
        let call = &mut calls[at];
        if let Some(id) = p.id.filter(|id| !id.is_empty()) {
            call.id = id.into_owned();
        }
        if let Some(name) = p.name {
            call.name.push_str(&name);
        }
        if let Some(args) = p.arguments {
            call.arguments.push_str(&args);
        }
    }
}

/// Streaming (SSE) response state.
#[derive(Debug)]
pub(crate) struct StreamReader {
    parser: SseParser,
    out: Outcome,
    /// `[DONE]` seen: the stream is complete.
    done: bool,
    /// A choice reported `finish_reason`: the generation is complete.
    finished: bool,
    /// Bytes fed so far.
    bytes: usize,
    /// Most content responses accepted (runaway streams fail past it).
    max_responses: usize,
}

impl StreamReader {
    pub(crate) fn new(expected_tokens: u32) -> Self {
        let out = Outcome {
            responses: Vec::with_capacity(
                (expected_tokens as usize + 1).min(PREALLOCATED_RESPONSES),
            ),
            ..Outcome::default()
        };
        Self {
            parser: SseParser::new(),
            out,
            done: false,
            finished: false,
            bytes: 0,
            max_responses: (expected_tokens as usize)
                .saturating_mul(RESPONSES_PER_TOKEN)
                .max(MIN_RESPONSE_CAP),
        }
    }

    /// True once a failure makes further bytes irrelevant.
    pub(crate) fn failed(&self) -> bool {
        self.out.error.is_some()
    }

    /// Marks the stream failed (a transport-level error mid-stream).
    pub(crate) fn fail(&mut self, e: RequestError) {
        if self.out.error.is_none() {
            self.out.error = Some(e);
        }
    }

    /// Feeds one read that arrived at `at`.
    pub(crate) fn on_bytes(&mut self, bytes: &[u8], at: Instant) {
        self.bytes += bytes.len();
        self.check_size();
        let Self {
            parser,
            out,
            done,
            finished,
            ..
        } = self;
        parser.feed(bytes, &mut |ev| {
            if out.error.is_some() || *done {
                return;
            }
            match interpret_event(&ev) {
                Ok(i) => apply(out, done, finished, i, at),
                Err(msg) => out.error = Some(err(ErrorKind::MalformedResponse, None, msg)),
            }
        });
        if out.error.is_none() && parser.buffered() > MAX_EVENT_BYTES {
            let msg = format!(
                "an SSE event grew past {} MiB without ending",
                MAX_EVENT_BYTES >> 20
            );
            out.error = Some(err(ErrorKind::MalformedResponse, None, msg));
        }
        self.check_size();
    }

    /// Fails a stream that outgrew what its request asked for.
    fn check_size(&mut self) {
        if self.out.error.is_some() {
            return;
        }
        let why = if self.bytes > MAX_RESPONSE_BYTES {
            format!("the response grew past {} MiB", MAX_RESPONSE_BYTES >> 20)
        } else if self.out.responses.len() > self.max_responses {
            format!(
                "the stream carried more than {} content chunks",
                self.max_responses
            )
        } else {
            return;
        };
        let msg = format!("{why}: the endpoint does not stop at max_tokens");
        self.out.error = Some(err(ErrorKind::MalformedResponse, None, msg));
    }

    /// Ends the stream: `cut` is set when the body failed mid-way.
    pub(crate) fn finish(mut self, cut: Option<String>) -> Outcome {
        if self.out.error.is_some() {
            return self.out;
        }
        let complete = self.done || (self.finished && !self.parser.has_partial());
        self.out.error = match (cut, complete) {
            (_, true) if self.out.responses.is_empty() => Some(err(
                ErrorKind::EmptyResponse,
                None,
                "stream completed without any content".into(),
            )),
            (_, true) => None,
            (Some(why), false) => Some(err(
                ErrorKind::StreamCut,
                None,
                format!("stream cut: {why}"),
            )),
            (None, false) => Some(err(
                ErrorKind::StreamCut,
                None,
                "stream ended without [DONE] or a finish_reason".into(),
            )),
        };
        self.out
    }
}

fn apply(out: &mut Outcome, done: &mut bool, finished: &mut bool, i: Interpreted<'_>, at: Instant) {
    if i.usage.is_some() {
        out.usage = i.usage;
    }
    *finished |= i.finished;
    if !i.calls.is_empty() {
        merge_calls(&mut out.tool_calls, i.calls);
    }
    match i.event {
        Event::Output(o) => {
            out.responses.push(at);
            if !o.answer.is_empty() {
                out.first_answer.get_or_insert(at);
                out.text.push_str(&o.answer);
            }
            out.reasoning.push_str(&o.reasoning);
        }
        Event::Empty => {}
        Event::Done => *done = true,
        Event::Error(msg) => out.error = Some(err(ErrorKind::ErrorEvent, None, msg)),
    }
}

/// Interprets a whole (non-streaming) body that finished arriving at `at`.
pub(crate) fn whole_body(body: &[u8], at: Instant) -> Outcome {
    let mut out = Outcome::default();
    match interpret_body(body) {
        Ok(i) => {
            let (mut done, mut finished) = (false, false);
            apply(&mut out, &mut done, &mut finished, i, at);
            if out.error.is_none() && out.responses.is_empty() {
                out.error = Some(err(
                    ErrorKind::EmptyResponse,
                    None,
                    "response carried no content".into(),
                ));
            }
        }
        Err(msg) => out.error = Some(err(ErrorKind::MalformedResponse, None, msg)),
    }
    out
}

/// The error of a non-2xx response, with the server's message when it sent one.
pub(crate) fn http_error(status: u16, body: &[u8]) -> RequestError {
    let body = &body[..body.len().min(MAX_ERROR_BODY)];
    let detail = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            let m = v
                .pointer("/error/message")
                .or_else(|| v.get("message"))
                .or_else(|| v.get("detail"));
            m.and_then(serde_json::Value::as_str).map(str::to_owned)
        })
        .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_owned());
    err(
        ErrorKind::from_status(status),
        Some(status),
        format!("HTTP {status}: {detail}"),
    )
}

pub(crate) fn err(kind: ErrorKind, code: Option<u16>, message: String) -> RequestError {
    RequestError {
        kind,
        code,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn chunk(text: &str) -> String {
        format!(
            "data: {{\"choices\":[{{\"delta\":{{\"content\":{}}}}}]}}\n\n",
            serde_json::json!(text)
        )
    }

    #[test]
    fn counts_content_chunks_only_and_keeps_usage() {
        let t0 = Instant::now();
        let mut r = StreamReader::new(2);
        r.on_bytes(
            b"data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n",
            t0,
        );
        r.on_bytes(chunk(" a").as_bytes(), t0 + Duration::from_millis(5));
        r.on_bytes(
            b"data: {\"choices\":[{\"delta\":{\"content\":\"\"}}]}\n\n",
            t0 + Duration::from_millis(6),
        );
        r.on_bytes(chunk(" b").as_bytes(), t0 + Duration::from_millis(9));
        r.on_bytes(b"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n", t0 + Duration::from_millis(12));
        let o = r.finish(None);
        assert!(o.error.is_none(), "{:?}", o.error);
        assert_eq!(
            o.responses,
            vec![t0 + Duration::from_millis(5), t0 + Duration::from_millis(9)]
        );
        assert_eq!(o.text, " a b");
        assert_eq!(o.first_answer, Some(t0 + Duration::from_millis(5)));
        assert_eq!(o.usage.and_then(|u| u.completion_tokens), Some(2));
    }

    #[test]
    fn tool_call_only_and_reasoning_first_streams_succeed() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut r = StreamReader::new(4);
        r.on_bytes(b"data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"lookup\",\"arguments\":\"\"}}]}}]}\n\n", ms(3));
        r.on_bytes(b"data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"q\\\": 1}\"}}]}}]}\n\n", ms(5));
        r.on_bytes(b"data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\ndata: [DONE]\n\n", ms(6));
        let o = r.finish(None);
        assert!(o.error.is_none(), "{:?}", o.error);
        assert_eq!(o.responses, vec![ms(3), ms(5)]);
        assert_eq!(o.first_answer, Some(ms(3)));
        assert_eq!(o.text, "lookup{\"q\": 1}");

        let mut r = StreamReader::new(4);
        r.on_bytes(
            b"data:{\"choices\":[{\"delta\":{\"reasoning_content\":\"hmm\"}}]}\r\n\r\n",
            ms(2),
        );
        r.on_bytes(
            b"data:{\"choices\":[{\"delta\":{\"content\":\"ok\"}}]}\r\n\r\ndata:[DONE]\r\n\r\n",
            ms(7),
        );
        let o = r.finish(None);
        assert!(o.error.is_none(), "{:?}", o.error);
        assert_eq!((o.responses[0], o.first_answer), (ms(2), Some(ms(7))));
        assert_eq!((o.reasoning.as_str(), o.text.as_str()), ("hmm", "ok"));
    }

    #[test]
    fn cut_stream_error_event_and_malformed_chunk() {
        let t = Instant::now();
        let mut r = StreamReader::new(1);
        r.on_bytes(chunk("x").as_bytes(), t);
        let o = r.finish(Some("connection reset".into()));
        assert_eq!(o.error.map(|e| e.kind), Some(ErrorKind::StreamCut));

        let mut r = StreamReader::new(1);
        r.on_bytes(chunk("x").as_bytes(), t);
        assert_eq!(
            r.finish(None).error.map(|e| e.kind),
            Some(ErrorKind::StreamCut)
        );

        let mut r = StreamReader::new(1);
        r.on_bytes(
            b"event: error\ndata: {\"error\":{\"message\":\"oom\"}}\n\n",
            t,
        );
        assert!(r.failed());
        let e = r.finish(None).error.expect("error");
        assert_eq!(e.kind, ErrorKind::ErrorEvent);

        let mut r = StreamReader::new(1);
        r.on_bytes(b"data: {\"choices\": [oops\n\n", t);
        assert_eq!(
            r.finish(None).error.map(|e| e.kind),
            Some(ErrorKind::MalformedResponse)
        );
    }

    #[test]
    fn finish_reason_without_done_is_complete_and_usage_only_is_empty() {
        let t = Instant::now();
        let mut r = StreamReader::new(1);
        r.on_bytes(
            b"data: {\"choices\":[{\"delta\":{\"content\":\"z\"},\"finish_reason\":\"stop\"}]}\n\n",
            t,
        );
        assert!(r.finish(None).error.is_none());

        let mut r = StreamReader::new(1);
        r.on_bytes(
            b"data: {\"choices\":[],\"usage\":{\"completion_tokens\":0}}\n\ndata: [DONE]\n\n",
            t,
        );
        assert_eq!(
            r.finish(None).error.map(|e| e.kind),
            Some(ErrorKind::EmptyResponse)
        );
    }

    #[test]
    fn an_endless_line_is_malformed_not_a_memory_leak() {
        let t = Instant::now();
        let mut r = StreamReader::new(1);
        let block = vec![b'x'; 1 << 20];
        r.on_bytes(b"data: ", t);
        for _ in 0..9 {
            r.on_bytes(&block, t);
        }
        assert!(r.failed());
        let e = r.finish(None).error.expect("error");
        assert_eq!(e.kind, ErrorKind::MalformedResponse);
        assert!(e.message.contains("MiB"), "{}", e.message);
    }

    #[test]
    fn an_endless_token_stream_fails_instead_of_growing() {
        let t = Instant::now();
        let mut r = StreamReader::new(2);
        let c = chunk("tok");
        let mut fed = 0;
        while !r.failed() && fed < 100_000 {
            r.on_bytes(c.as_bytes(), t);
            fed += 1;
        }
        assert!(r.failed(), "stopped after {fed} chunks");
        assert!(fed <= MIN_RESPONSE_CAP + 1, "{fed}");
        let e = r.finish(None).error.expect("error");
        assert!(e.message.contains("max_tokens"), "{}", e.message);
    }

    #[test]
    fn http_errors_keep_the_server_message() {
        let e = http_error(429, br#"{"error":{"message":"slow down"}}"#);
        assert_eq!((e.kind, e.code), (ErrorKind::RateLimited, Some(429)));
        assert_eq!(e.message, "HTTP 429: slow down");
        assert_eq!(http_error(503, b"busy").kind, ErrorKind::ServerError);
        assert_eq!(http_error(404, b"").kind, ErrorKind::ClientError);
    }

    #[test]
    fn whole_bodies() {
        let t = Instant::now();
        let ok = whole_body(br#"{"choices":[{"message":{"content":"hi there"}}]}"#, t);
        assert_eq!((ok.responses.len(), ok.text.as_str()), (1, "hi there"));
        assert_eq!(
            whole_body(b"<html>", t).error.map(|e| e.kind),
            Some(ErrorKind::MalformedResponse)
        );
        assert_eq!(
            whole_body(br#"{"choices":[]}"#, t).error.map(|e| e.kind),
            Some(ErrorKind::EmptyResponse)
        );
    }
}
