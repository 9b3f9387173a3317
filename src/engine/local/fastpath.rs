//! A fast path for the common streamed chunk: one pass over the bytes that
//! checks the structure (balanced brackets, well-delimited strings) and finds
//! the text, without building a parse tree. It only answers when the chunk is
//! plainly a content chunk or a plainly empty one: no escapes, no error, no
//! usage, no finish reason. Anything else returns `None` and goes to the full
//! JSON parser, so error handling and unusual shapes are never guessed.

use memchr::memchr;

/// What the fast path could decide.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Fast<'a> {
    /// Answer text of the one text field present (content or text).
    Answer(&'a str),
    /// Reasoning text of the one text field present.
    Reasoning(&'a str),
    /// No text at all (role-only or empty delta).
    Empty,
}

/// Keys whose string value is answer text.
const ANSWER_KEYS: [&[u8]; 2] = [b"content", b"text"];
/// Keys whose string value is reasoning text.
const REASONING_KEYS: [&[u8]; 2] = [b"reasoning_content", b"reasoning"];
/// Keys that need the full parser unless their value is `null`.
const SLOW_KEYS: [&[u8]; 5] = [
    b"finish_reason",
    b"usage",
    b"error",
    b"message",
    b"tool_calls",
];

/// Classifies `data` (one SSE `data:` payload) if it is a plain chunk.
pub(crate) fn classify(data: &[u8]) -> Option<Fast<'_>> {
    if data.first() != Some(&b'{') || data.last() != Some(&b'}') || memchr(b'\\', data).is_some() {
        return None;
    }
    let mut depth = 0usize;
    let mut i = 0;
    let mut text: Option<(&[u8], bool)> = None;
    let mut last_key: Option<&[u8]> = None;
    while i < data.len() {
        match data[i] {
            b'"' => {
                let len = memchr(b'"', &data[i + 1..])?;
                let s = &data[i + 1..i + 1 + len];
                i += len + 2;
                let colon = data.get(skip_ws(data, i)) == Some(&b':');
                if colon {
                    last_key = Some(s);
                } else if let Some(key) = last_key.take() {
                    let reasoning = REASONING_KEYS.contains(&key);
                    if (reasoning || ANSWER_KEYS.contains(&key)) && !s.is_empty() {
                        if text.is_some() {
                            return None; // two text fields: let the parser join them
                        }
                        text = Some((s, reasoning));
                    }
                    if key == b"object" && s == b"error" {
                        return None;
                    }
                }
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 && i + 1 != data.len() {
                    return None;
                }
            }
            b':' => {
                let v = skip_ws(data, i + 1);
                if last_key.is_some_and(|k| SLOW_KEYS.contains(&k))
                    && !data[v..].starts_with(b"null")
                {
                    return None;
                }
            }
            b',' => last_key = None,
            _ => {}
        }
        i += 1;
    }
    if depth != 0 {
        return None;
    }
    match text {
        Some((t, false)) => std::str::from_utf8(t).ok().map(Fast::Answer),
        Some((t, true)) => std::str::from_utf8(t).ok().map(Fast::Reasoning),
        None => Some(Fast::Empty),
    }
}

fn skip_ws(data: &[u8], mut i: usize) -> usize {
    while data.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_content_and_empty_chunks() {
        let c = br#"{"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":" hi"},"finish_reason":null}]}"#;
        assert_eq!(classify(c), Some(Fast::Answer(" hi")));
        let t = br#"{"choices":[{"index":0,"text":"yo","finish_reason":null}]}"#;
        assert_eq!(classify(t), Some(Fast::Answer("yo")));
        let r = br#"{"choices":[{"delta":{"reasoning_content":"hm"}}]}"#;
        assert_eq!(classify(r), Some(Fast::Reasoning("hm")));
        let role =
            br#"{"choices":[{"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#;
        assert_eq!(classify(role), Some(Fast::Empty));
        let null = br#"{"choices":[{"delta":{"content":null}}], "usage": null}"#;
        assert_eq!(classify(null), Some(Fast::Empty));
    }

    #[test]
    fn anything_unusual_goes_to_the_full_parser() {
        let cases: [&[u8]; 12] = [
            br#"{"choices":[{"delta":{"tool_calls":[{"function":{"name":"f"}}]}}]}"#,
            br#"{"choices":[{"delta":{"content":"a\"b"}}]}"#,
            br#"{"choices":[{"delta":{},"finish_reason":"stop"}]}"#,
            br#"{"choices":[],"usage":{"completion_tokens":3}}"#,
            br#"{"error":{"message":"x"}}"#,
            br#"{"object":"error","message":"bad"}"#,
            br#"{"choices":[{"delta":{"reasoning_content":"r","content":"c"}}]}"#,
            br#"{"choices":[{"delta":{"content": garbage"#,
            br#"{"choices":[{"delta":{"content":"x"}}]}}"#,
            br#"{"choices":[{"delta":{"content":"x"}}"#,
            b"[DONE]",
            br#"{"a":"unterminated}"#,
        ];
        for c in cases {
            assert_eq!(classify(c), None, "{}", String::from_utf8_lossy(c));
        }
    }

    #[test]
    fn agrees_with_the_full_parser_on_simulator_chunks() {
        use crate::engine::local::openai::{interpret_event, Event};
        use crate::engine::local::sse::SseEvent;
        let chunks = [
            r#"{"id":"chatcmpl-sim-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":" river"},"finish_reason":null}]}"#,
            r#"{"id":"cmpl-sim-1","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":" the","finish_reason":null}]}"#,
        ];
        for c in chunks {
            let fast = classify(c.as_bytes());
            let full = interpret_event(&SseEvent {
                event: None,
                data: c.as_bytes(),
            })
            .expect("ok");
            match (fast, full.event) {
                (Some(Fast::Answer(a)), Event::Output(b)) => assert_eq!(a, b.answer),
                other => panic!("disagree: {other:?}"),
            }
        }
    }
}
