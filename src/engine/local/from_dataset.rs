//! Requests from a dataset file: each entry becomes one prepared request,
//! in file order, built before the run. Chat messages are sent as given.
//! A trace's prompts are synthesised from their hash-id blocks: a block's
//! text is fixed by its id and shared by reference between the bodies that
//! name it (so two requests with the same prefix send the same bytes,
//! and memory holds each block once).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Map, Value};

use super::body::ReqBody;
use super::loadloop::PreparedRequest;
use super::tokenizer::ClientTokenizer;
use crate::dataset::{Dataset, Entry, EntryPrompt, BLOCK_TOKENS};
use crate::domain::{ApiKind, DatasetSpec, RunSpec};
use crate::engine::EngineError;
use crate::rng::Rng;
use crate::text::WORDS;

/// Most bytes of synthesised block text held for one run.
const MAX_BLOCK_BYTES: usize = 512 << 20;

/// The dataset's requests, and a trace's arrival offsets when it is
/// replayed.
pub(crate) struct FromDataset {
    pub(crate) requests: Vec<PreparedRequest>,
    pub(crate) trace: Option<Arc<[Duration]>>,
}

/// Reads the spec's dataset and prepares every entry.
pub(crate) fn prepare(
    spec: &RunSpec,
    ds: &DatasetSpec,
    tokenizer: &ClientTokenizer,
    fields: &Map<String, Value>,
    default_max_tokens: impl FnMut() -> u32,
) -> Result<FromDataset, EngineError> {
    let data = Dataset::load(std::path::Path::new(&ds.path), Some(ds.format))
        .map_err(|e| EngineError::InvalidSpec(e.to_string()))?;
    let mut b = Builder {
        api: spec.endpoint.api,
        fields,
        tokenizer,
        blocks: HashMap::new(),
        block_bytes: 0,
        seed: spec.seed,
        unique: 0,
        default_max_tokens,
    };
    let requests = data
        .entries
        .iter()
        .map(|e| b.request(e))
        .collect::<Result<Vec<_>, _>>()?;
    let trace = ds.trace_speedup.and_then(|speedup| {
        let offsets = data.timeline_ms()?;
        Some(
            offsets
                .iter()
                .map(|ms| Duration::from_secs_f64(ms / 1e3 / speedup))
                .collect(),
        )
    });
    Ok(FromDataset { requests, trace })
}

/// A block's text (words with a leading space each, JSON-safe) and the
/// byte offset after each word, so a partial block is a slice of it.
struct Block {
    text: Bytes,
    ends: Vec<usize>,
}

struct Builder<'a, F> {
    api: ApiKind,
    fields: &'a Map<String, Value>,
    tokenizer: &'a ClientTokenizer,
    blocks: HashMap<u64, Block>,
    block_bytes: usize,
    seed: u64,
    /// Requests given unique text so far (seeds each one's own words).
    unique: u64,
    default_max_tokens: F,
}

impl<F: FnMut() -> u32> Builder<'_, F> {
    fn request(&mut self, e: &Entry) -> Result<PreparedRequest, EngineError> {
        let max_tokens = e
            .max_tokens
            .or_else(|| {
                e.reply_text
                    .as_ref()
                    .map(|r| self.tokenizer.count(r).max(1))
            })
            .unwrap_or_else(&mut self.default_max_tokens);
        match &e.prompt {
            EntryPrompt::Messages(m) => Ok(self.messages(m, max_tokens)),
            EntryPrompt::Blocks {
                hash_ids,
                input_length,
            } => self.blocks(hash_ids, *input_length, max_tokens),
        }
    }

    /// A body with the entry's own messages (the completions API gets
    /// their text joined).
    fn messages(&self, messages: &[Value], max_tokens: u32) -> PreparedRequest {
        let mut body = self.fields.clone();
        let texts: Vec<&str> = messages.iter().flat_map(content_texts).collect();
        match self.api {
            ApiKind::Chat => body.insert("messages".into(), Value::Array(messages.to_vec())),
            ApiKind::Completions => body.insert("prompt".into(), json!(texts.concat())),
        };
        body.entry("max_tokens")
            .or_insert_with(|| json!(max_tokens));
        let bytes = serde_json::to_vec(&Value::Object(body)).unwrap_or_default();
        PreparedRequest {
            body: Bytes::from(bytes).into(),
            input_tokens: texts.iter().map(|t| self.tokenizer.count(t)).sum(),
            max_tokens,
        }
    }

    /// A body whose one prompt is the entry's blocks, then unique text up
    /// to `input_length` tokens.
    fn blocks(
        &mut self,
        ids: &[u64],
        input_length: u32,
        max_tokens: u32,
    ) -> Result<PreparedRequest, EngineError> {
        let mut chunks = vec![self.open(max_tokens)];
        let mut left = input_length;
        for &id in ids {
            if left == 0 {
                break;
            }
            let take = left.min(BLOCK_TOKENS);
            chunks.push(self.block(id, take)?);
            left -= take;
        }
        if left > 0 {
            self.unique += 1;
            let mut rng = Rng::derive(self.seed ^ 0x7A11, self.unique);
            chunks.push(Bytes::from(words(&mut rng, left)));
        }
        let input_tokens = chunks[1..]
            .iter()
            .map(|c| self.tokenizer.count(&String::from_utf8_lossy(c)))
            .sum();
        chunks.push(Bytes::from_static(match self.api {
            ApiKind::Chat => b"\"}]}",
            ApiKind::Completions => b"\"}",
        }));
        Ok(PreparedRequest {
            body: ReqBody::chunks(chunks),
            input_tokens,
            max_tokens,
        })
    }

    /// `{` the common fields, `max_tokens`, and the opening of the prompt
    /// string.
    fn open(&self, max_tokens: u32) -> Bytes {
        let mut fields = self.fields.clone();
        fields.remove("messages");
        fields.remove("prompt");
        fields
            .entry("max_tokens")
            .or_insert_with(|| json!(max_tokens));
        let mut json = super::openai::object_head(&fields);
        json.extend_from_slice(match self.api {
            ApiKind::Chat => b"\"messages\":[{\"role\":\"user\",\"content\":\"",
            ApiKind::Completions => b"\"prompt\":\"",
        });
        Bytes::from(json)
    }

    /// The first `tokens` words of block `id` (made on first use).
    fn block(&mut self, id: u64, tokens: u32) -> Result<Bytes, EngineError> {
        if !self.blocks.contains_key(&id) {
            let mut rng = Rng::derive(self.seed ^ 0xB10C, id);
            let text = words(&mut rng, BLOCK_TOKENS);
            self.block_bytes += text.len();
            if self.block_bytes > MAX_BLOCK_BYTES {
                return Err(EngineError::InvalidSpec(format!(
                    "the trace names more distinct hash_ids than fit in {} MiB of prompt text ({} so far); use a shorter trace",
                    MAX_BLOCK_BYTES >> 20,
                    self.blocks.len()
                )));
            }
            let ends = word_ends(&text);
            self.blocks.insert(
                id,
                Block {
                    text: Bytes::from(text),
                    ends,
                },
            );
        }
        let b = &self.blocks[&id];
        let end = b
            .ends
            .get(tokens as usize - 1)
            .copied()
            .unwrap_or(b.text.len());
        Ok(b.text.slice(..end))
    }
}

/// `n` built-in words, each with a leading space.
fn words(rng: &mut Rng, n: u32) -> String {
    let mut s = String::with_capacity(n as usize * 7);
    for _ in 0..n {
        s.push(' ');
        s.push_str(WORDS[rng.below(WORDS.len())]);
    }
    s
}

/// Byte offsets after each word of `text`.
fn word_ends(text: &str) -> Vec<usize> {
    let b = text.as_bytes();
    (0..b.len())
        .filter(|&i| b[i] != b' ' && (i + 1 == b.len() || b[i + 1] == b' '))
        .map(|i| i + 1)
        .collect()
}

/// The text of a message's content: a string, or the `text` of its parts.
fn content_texts(m: &Value) -> Vec<&str> {
    match m.get("content") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        _ => Vec::new(),
    }
}
