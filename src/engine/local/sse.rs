//! Incremental Server-Sent Events parser (the WHATWG event-stream format).
//!
//! Bytes are fed as they arrive, in any split; complete events are handed to a
//! callback with the caller's arrival timestamp already taken. Handles LF,
//! CRLF and CR line ends (also split across reads), comments, `event:` names,
//! multi-line `data:`, and a missing space after the colon.

use memchr::memchr2;

/// One dispatched event. `data` is the `data:` lines joined with `\n`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SseEvent<'a> {
    /// The `event:` field, if any.
    pub(crate) event: Option<&'a [u8]>,
    /// The payload.
    pub(crate) data: &'a [u8],
}

/// Parser state carried across reads.
#[derive(Debug, Default)]
pub(crate) struct SseParser {
    /// Bytes of an unfinished line.
    line: Vec<u8>,
    /// `data:` payload of the event being built.
    data: Vec<u8>,
    /// `event:` name of the event being built.
    event: Vec<u8>,
    /// Whether any `data:` field was seen for the current event.
    has_data: bool,
    /// The previous read ended in CR: a leading LF belongs to that line end.
    skip_lf: bool,
}

impl SseParser {
    /// A parser at the start of a stream.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; calls `on_event` for each event completed by them.
    pub(crate) fn feed(&mut self, mut bytes: &[u8], on_event: &mut dyn FnMut(SseEvent<'_>)) {
        if self.skip_lf {
            self.skip_lf = false;
            if let Some(rest) = bytes.strip_prefix(b"\n") {
                bytes = rest;
            }
        }
        while let Some(pos) = memchr2(b'\n', b'\r', bytes) {
            let end = pos + 1;
            let crlf = bytes[pos] == b'\r' && bytes.get(end) == Some(&b'\n');
            if bytes[pos] == b'\r' && end == bytes.len() {
                self.skip_lf = true;
            }
            if self.line.is_empty() {
                self.process_line(&bytes[..pos], on_event);
            } else {
                self.line.extend_from_slice(&bytes[..pos]);
                let line = std::mem::take(&mut self.line);
                self.process_line(&line, on_event);
                self.line = line;
                self.line.clear();
            }
            bytes = &bytes[end + usize::from(crlf)..];
        }
        self.line.extend_from_slice(bytes);
    }

    /// Bytes held for the unfinished line and event.
    pub(crate) fn buffered(&self) -> usize {
        self.line.len() + self.data.len()
    }

    /// True when bytes of an unfinished line or event are pending.
    pub(crate) fn has_partial(&self) -> bool {
        !self.line.is_empty() || self.has_data
    }

    fn process_line(&mut self, line: &[u8], on_event: &mut dyn FnMut(SseEvent<'_>)) {
        if line.is_empty() {
            self.dispatch(on_event);
            return;
        }
        if line[0] == b':' {
            return; // comment / keep-alive
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
            }
            b"event" => {
                self.event.clear();
                self.event.extend_from_slice(value);
            }
            _ => {} // id, retry and unknown fields carry nothing we measure
        }
    }

    fn dispatch(&mut self, on_event: &mut dyn FnMut(SseEvent<'_>)) {
        if self.has_data {
            let event = (!self.event.is_empty()).then_some(self.event.as_slice());
            on_event(SseEvent {
                event,
                data: &self.data,
            });
        }
        self.data.clear();
        self.event.clear();
        self.has_data = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(parts: &[&[u8]]) -> Vec<(Option<String>, String)> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for part in parts {
            p.feed(part, &mut |e| {
                out.push((
                    e.event.map(|v| String::from_utf8_lossy(v).into_owned()),
                    String::from_utf8_lossy(e.data).into_owned(),
                ))
            });
        }
        out
    }

    fn data(v: &[(Option<String>, String)]) -> Vec<&str> {
        v.iter().map(|(_, d)| d.as_str()).collect()
    }

    #[test]
    fn events_in_one_read() {
        let got = collect(&[b"data: {\"a\":1}\n\ndata: [DONE]\n\n"]);
        assert_eq!(data(&got), ["{\"a\":1}", "[DONE]"]);
    }

    #[test]
    fn events_split_across_reads_at_every_byte() {
        let stream =
            b"data: one\n\n: keep-alive\n\ndata: two\r\n\r\nevent: error\ndata: {\"x\":2}\n\n";
        let whole = collect(&[stream]);
        for cut in 0..stream.len() {
            let (a, b) = stream.split_at(cut);
            assert_eq!(collect(&[a, b]), whole, "split at {cut}");
        }
        let bytes: Vec<&[u8]> = stream.iter().map(std::slice::from_ref).collect();
        assert_eq!(collect(&bytes), whole);
        assert_eq!(data(&whole), ["one", "two", "{\"x\":2}"]);
        assert_eq!(whole[2].0.as_deref(), Some("error"));
    }

    #[test]
    fn crlf_and_lone_cr_line_ends() {
        assert_eq!(data(&collect(&[b"data: a\r\n\r\n"])), ["a"]);
        assert_eq!(data(&collect(&[b"data: a\r\r"])), ["a"]);
        assert_eq!(data(&collect(&[b"data: a\r", b"\n\r", b"\n"])), ["a"]);
    }

    #[test]
    fn comments_are_ignored_and_multiline_data_is_joined() {
        let got = collect(&[b": comment\ndata: l1\ndata:l2\nid: 7\nretry: 10\n\n"]);
        assert_eq!(data(&got), ["l1\nl2"]);
        assert!(collect(&[b": only a comment\n\n"]).is_empty());
    }

    #[test]
    fn garbage_does_not_panic_and_yields_only_data_events() {
        let got = collect(&[b"\xff\xfe garbage\nnot a field\n\ndata\n\n", b"\n\n\n"]);
        // A bare "data" line is an event with empty data.
        assert_eq!(data(&got), [""]);
        let mut p = SseParser::new();
        p.feed(b"data: unterminated", &mut |_| panic!("no event yet"));
        assert!(p.has_partial());
    }
}
