//! The three formats, entry by entry. An error is `(Some("line N"), why)`
//! for one entry, `(None, why)` for the file as a whole.

use serde_json::{Map, Value};

use super::{Dataset, DatasetFormat, Entry, EntryPrompt, MAX_ENTRIES};

type Failure = (Option<String>, String);

/// Largest input or output length an entry may ask for.
const MAX_LENGTH: u64 = 1_048_576;
/// Most hash ids (blocks) one mooncake entry may name.
const MAX_BLOCKS: usize = 4_096;

pub(super) fn parse(text: &str, format: DatasetFormat) -> Result<Dataset, Failure> {
    let (entries, skipped) = match format {
        DatasetFormat::Openai => (lines(text, openai)?, 0),
        DatasetFormat::Mooncake => (lines(text, mooncake)?, 0),
        DatasetFormat::Sharegpt => sharegpt(text)?,
    };
    if entries.is_empty() {
        return Err((None, "no usable entry".into()));
    }
    if format == DatasetFormat::Mooncake {
        ordered(&entries)?;
    }
    Ok(Dataset {
        format,
        entries,
        skipped,
    })
}

/// JSON lines: each non-blank line one object, parsed by `entry`.
fn lines(
    text: &str,
    entry: fn(&Map<String, Value>) -> Result<Entry, String>,
) -> Result<Vec<Entry>, Failure> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = || Some(format!("line {}", i + 1));
        if out.len() >= MAX_ENTRIES {
            return Err((at(), format!("more than {MAX_ENTRIES} entries")));
        }
        let v: Value = serde_json::from_str(line).map_err(|e| (at(), format!("not JSON ({e})")))?;
        let obj = v
            .as_object()
            .ok_or_else(|| (at(), "expected a JSON object".to_owned()))?;
        out.push(entry(obj).map_err(|why| (at(), why))?);
    }
    Ok(out)
}

fn openai(o: &Map<String, Value>) -> Result<Entry, String> {
    let messages = match (o.get("messages"), o.get("prompt")) {
        (Some(m), _) => messages(m)?,
        (None, Some(Value::String(p))) => vec![serde_json::json!({"role": "user", "content": p})],
        (None, Some(_)) => return Err("field `prompt` must be a string".into()),
        (None, None) => {
            return Err("expected `messages` (an array of {role, content}) or `prompt`".into())
        }
    };
    let max_tokens = ["max_tokens", "max_completion_tokens", "output_length"]
        .iter()
        .find_map(|k| o.get(*k).map(|v| (k, v)))
        .map(|(k, v)| length(v, k))
        .transpose()?;
    Ok(Entry {
        prompt: EntryPrompt::Messages(messages),
        max_tokens,
        timestamp_ms: None,
        reply_text: None,
    })
}

fn messages(v: &Value) -> Result<Vec<Value>, String> {
    let list = v
        .as_array()
        .filter(|l| !l.is_empty())
        .ok_or("field `messages` must be a non-empty array")?;
    for (i, m) in list.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str);
        let content = m.get("content");
        let ok_content = matches!(content, Some(Value::String(_) | Value::Array(_)));
        if role.is_none() || !ok_content {
            return Err(format!(
                "messages[{i}] needs a string `role` and a `content` (string or array of parts)"
            ));
        }
    }
    Ok(list.clone())
}

fn mooncake(o: &Map<String, Value>) -> Result<Entry, String> {
    let input_length = length(
        o.get("input_length")
            .ok_or("field `input_length` is missing")?,
        "input_length",
    )?;
    let max_tokens = o
        .get("output_length")
        .map(|v| length(v, "output_length"))
        .transpose()?;
    let hash_ids = match o.get("hash_ids") {
        None => Vec::new(),
        Some(Value::Array(ids)) if ids.len() <= MAX_BLOCKS => ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                id.as_u64()
                    .ok_or_else(|| format!("hash_ids[{i}] must be a non-negative integer"))
            })
            .collect::<Result<_, _>>()?,
        Some(Value::Array(_)) => return Err(format!("more than {MAX_BLOCKS} hash_ids")),
        Some(_) => return Err("field `hash_ids` must be an array of integers".into()),
    };
    let timestamp_ms = match o.get("timestamp") {
        None => None,
        Some(v) => Some(
            v.as_f64()
                .filter(|t| t.is_finite() && *t >= 0.0)
                .ok_or("field `timestamp` must be a number of ms, zero or more")?,
        ),
    };
    Ok(Entry {
        prompt: EntryPrompt::Blocks {
            hash_ids,
            input_length,
        },
        max_tokens,
        timestamp_ms,
        reply_text: None,
    })
}

/// A positive length within bounds.
fn length(v: &Value, field: &str) -> Result<u32, String> {
    match v.as_u64() {
        Some(n) if (1..=MAX_LENGTH).contains(&n) => Ok(n as u32),
        _ => Err(format!(
            "field `{field}` must be an integer from 1 to {MAX_LENGTH}"
        )),
    }
}

/// A trace's timestamps never go back (all or none present).
fn ordered(entries: &[Entry]) -> Result<(), Failure> {
    let stamped = entries.iter().filter(|e| e.timestamp_ms.is_some()).count();
    if stamped != 0 && stamped != entries.len() {
        return Err((
            None,
            "some entries have a `timestamp` and some do not: give every entry one, or none".into(),
        ));
    }
    let mut last = 0.0;
    for (i, e) in entries.iter().enumerate() {
        if let Some(t) = e.timestamp_ms {
            if t < last {
                return Err((
                    Some(format!("entry {}", i + 1)),
                    format!("`timestamp` {t} is before the previous entry's {last}; sort the trace by time"),
                ));
            }
            last = t;
        }
    }
    Ok(())
}

fn sharegpt(text: &str) -> Result<(Vec<Entry>, u64), Failure> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| (None, format!("not a JSON array ({e})")))?;
    let list = v
        .as_array()
        .ok_or_else(|| (None, "expected a JSON array of conversations".to_owned()))?;
    if list.len() > MAX_ENTRIES {
        return Err((None, format!("more than {MAX_ENTRIES} entries")));
    }
    let mut out = Vec::new();
    let mut skipped = 0;
    for (i, conv) in list.iter().enumerate() {
        let at = || Some(format!("entry {}", i + 1));
        match conversation(conv).map_err(|why| (at(), why))? {
            Some(e) => out.push(e),
            None => skipped += 1,
        }
    }
    Ok((out, skipped))
}

/// A ShareGPT conversation's first exchange; `None` without a human turn.
fn conversation(v: &Value) -> Result<Option<Entry>, String> {
    let turns = v
        .get("conversations")
        .and_then(Value::as_array)
        .ok_or("field `conversations` must be an array")?;
    let mut messages = Vec::new();
    let mut reply = None;
    for (i, t) in turns.iter().enumerate() {
        let from = t.get("from").and_then(Value::as_str);
        let value = t.get("value").and_then(Value::as_str);
        let (Some(from), Some(value)) = (from, value) else {
            return Err(format!(
                "conversations[{i}] needs string `from` and `value`"
            ));
        };
        let human = messages.iter().any(|m: &Value| m["role"] == "user");
        match from {
            "system" if messages.is_empty() => {
                messages.push(serde_json::json!({"role": "system", "content": value}))
            }
            "human" | "user" if !human => {
                messages.push(serde_json::json!({"role": "user", "content": value}))
            }
            "gpt" | "assistant" | "chatgpt" | "bing" | "bard" if human => {
                reply = Some(value.to_owned());
                break;
            }
            _ => {}
        }
    }
    if !messages.iter().any(|m| m["role"] == "user") {
        return Ok(None);
    }
    Ok(Some(Entry {
        prompt: EntryPrompt::Messages(messages),
        max_tokens: None,
        timestamp_ms: None,
        reply_text: reply,
    }))
}
