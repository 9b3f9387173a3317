//! Requests through a runtime API (`ModelInvoker`) rather than a lane's own
//! HTTP connection. Payload parts are stamped the moment they arrive and
//! re-framed into SSE events: a part may hold several lines or part of one,
//! lines are SSE (`data: {...}`, as vLLM sends) or bare JSON (as LMI sends),
//! and blank lines and comments are dropped. The result is the same
//! `Outcome` an HTTP stream gives, so the metrics cannot tell them apart.

use std::time::Instant;

use bytes::Bytes;
use memchr::memchr;

use super::client::Exchange;
use super::response::{err, whole_body, Outcome, StreamReader, MAX_EVENT_BYTES};
use crate::domain::{ErrorKind, RequestError};
use crate::engine::invoke::{InvokeReply, ModelInvoker, PartStream};

/// Sends one request through `invoker` and observes it to the end. `send`
/// is the instant taken just before the call.
pub(crate) async fn exchange(
    invoker: &dyn ModelInvoker,
    body: Bytes,
    request_id: &str,
    streaming: bool,
    max_tokens: u32,
    send: Instant,
) -> Exchange {
    let reply = invoker.invoke(body, request_id, streaming).await;
    let head = Instant::now();
    let (outcome, end) = match reply {
        Ok(InvokeReply::Whole(bytes)) => (whole_body(&bytes, head), head),
        Ok(InvokeReply::Stream(parts)) => read_parts(parts, max_tokens, head).await,
        Err(e) => (failed(e), head),
    };
    let status = match &outcome.error {
        Some(RequestError { code: Some(c), .. }) if !(200..300).contains(c) => Some(*c),
        _ => Some(200),
    };
    Exchange {
        send,
        head: Some(head),
        end,
        status,
        outcome,
        output_tokens_client: None,
        reasoning_tokens_client: None,
        connect: None,
    }
}

/// Reads every part; returns the outcome and the last part's instant.
async fn read_parts(
    mut parts: Box<dyn PartStream>,
    max_tokens: u32,
    head: Instant,
) -> (Outcome, Instant) {
    let mut reader = StreamReader::new(max_tokens);
    let mut lines = LineReframer::default();
    let mut end = head;
    let cut = loop {
        match parts.next_part().await {
            None => break None,
            Some(Err(e)) if e.kind == ErrorKind::StreamCut => break Some(e.message),
            Some(Err(e)) => {
                reader.fail(e);
                return (reader.finish(None), Instant::now());
            }
            Some(Ok(bytes)) => {
                end = Instant::now();
                lines.feed(&bytes, &mut reader, end);
                if reader.failed() {
                    return (reader.finish(None), end);
                }
            }
        }
    };
    lines.finish(&mut reader, end);
    (reader.finish(cut), end)
}

fn failed(e: RequestError) -> Outcome {
    Outcome {
        error: Some(e),
        ..Outcome::default()
    }
}

/// Splits payload parts into lines and hands each as one SSE event.
#[derive(Debug, Default)]
struct LineReframer {
    /// Bytes of a line not yet ended by `\n`.
    partial: Vec<u8>,
}

impl LineReframer {
    fn feed(&mut self, mut bytes: &[u8], reader: &mut StreamReader, at: Instant) {
        let mut events = Vec::new();
        while let Some(pos) = memchr(b'\n', bytes) {
            if self.partial.is_empty() {
                push_event(&bytes[..pos], &mut events);
            } else {
                self.partial.extend_from_slice(&bytes[..pos]);
                push_event(&self.partial, &mut events);
                self.partial.clear();
            }
            bytes = &bytes[pos + 1..];
        }
        self.partial.extend_from_slice(bytes);
        if !events.is_empty() {
            reader.on_bytes(&events, at);
        }
        if self.partial.len() > MAX_EVENT_BYTES {
            let msg = format!(
                "a payload line grew past {} MiB without ending",
                MAX_EVENT_BYTES >> 20
            );
            reader.fail(err(ErrorKind::MalformedResponse, None, msg));
        }
    }

    /// The stream ended: a last line without `\n` still counts.
    fn finish(&mut self, reader: &mut StreamReader, at: Instant) {
        let mut events = Vec::new();
        push_event(&std::mem::take(&mut self.partial), &mut events);
        if !events.is_empty() {
            reader.on_bytes(&events, at);
        }
    }
}

/// Appends `line` as an SSE event unless it is blank or a comment.
fn push_event(line: &[u8], out: &mut Vec<u8>) {
    let line = line.trim_ascii();
    if line.is_empty() || line.starts_with(b":") {
        return;
    }
    let payload = line.strip_prefix(b"data:").map_or(line, <[u8]>::trim_ascii);
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(payload);
    out.extend_from_slice(b"\n\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn read(parts: &[&[u8]]) -> Outcome {
        let t0 = Instant::now();
        let mut reader = StreamReader::new(4);
        let mut lines = LineReframer::default();
        for (i, p) in parts.iter().enumerate() {
            lines.feed(p, &mut reader, t0 + Duration::from_millis(i as u64));
        }
        lines.finish(&mut reader, t0 + Duration::from_millis(parts.len() as u64));
        reader.finish(None)
    }

    const A: &str = r#"{"choices":[{"delta":{"content":"a"}}]}"#;
    const B: &str = r#"{"choices":[{"delta":{"content":"b"},"finish_reason":"stop"}]}"#;

    #[test]
    fn sse_lines_split_across_parts_are_joined() {
        let whole = format!("data: {A}\n\ndata: {B}\n\ndata: [DONE]\n\n");
        let (x, y) = whole.as_bytes().split_at(10);
        let out = read(&[x, y]);
        assert!(out.error.is_none(), "{:?}", out.error);
        assert_eq!(out.text, "ab");
        assert_eq!(out.responses.len(), 2);
    }

    #[test]
    fn bare_json_lines_count_and_the_last_needs_no_newline() {
        let whole = format!("{A}\n\n{B}");
        let out = read(&[whole.as_bytes()]);
        assert!(out.error.is_none(), "{:?}", out.error);
        assert_eq!(out.text, "ab");
    }

    #[test]
    fn content_instants_are_the_parts_arrival() {
        let out = read(&[format!("{A}\n").as_bytes(), format!("{B}\n").as_bytes()]);
        assert_eq!(out.responses.len(), 2);
        assert_eq!(
            out.responses[1] - out.responses[0],
            Duration::from_millis(1)
        );
    }

    #[test]
    fn comments_and_blank_lines_are_dropped() {
        let whole = format!(": keep-alive\n\n  \r\n{A}\r\n{B}\r\n");
        let out = read(&[whole.as_bytes()]);
        assert!(out.error.is_none(), "{:?}", out.error);
        assert_eq!(out.text, "ab");
    }

    #[test]
    fn an_unfinished_stream_is_cut() {
        let out = read(&[format!("{A}\n").as_bytes()]);
        let e = out.error.expect("cut");
        assert_eq!(e.kind, ErrorKind::StreamCut);
    }
}
