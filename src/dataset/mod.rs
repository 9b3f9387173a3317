//! Prompt datasets and traces, read from a file and validated line by line:
//!
//! - `openai`: JSON lines, each a chat request's `messages` (or a `prompt`
//!   string), with an optional `max_tokens` / `max_completion_tokens`;
//! - `sharegpt`: one JSON array of `{"conversations": [{"from", "value"}…]}`;
//!   the first human turn is the prompt (with a leading system turn, if
//!   any) and the token count of the reply after it is the output length;
//! - `mooncake`: JSON lines of a serving trace (AIPerf's `mooncake_trace`):
//!   `input_length`, optional `output_length`, `hash_ids` (each a block of
//!   `BLOCK_TOKENS` tokens; requests naming the same id share that block's
//!   text, so shared prefixes reach the server) and `timestamp` (ms), which
//!   a run replays on its own timeline.
//!
//! Every error names the line (or array entry) and the field. Reading is
//! bounded: the file's size, the entries and each length.

mod parse;

use std::path::Path;

use serde_json::Value;
use thiserror::Error;

pub use crate::domain::DatasetFormat;

/// Tokens each mooncake hash id stands for (AIPerf's default block size).
pub const BLOCK_TOKENS: u32 = 512;
/// Largest dataset file read.
pub const MAX_FILE_BYTES: u64 = 256 << 20;
/// Most entries a dataset may hold.
pub const MAX_ENTRIES: usize = 1_000_000;

/// Why a dataset cannot be used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DatasetError {
    /// The file could not be read.
    #[error("cannot read dataset {path}: {why}")]
    Read {
        /// The file.
        path: String,
        /// The reason.
        why: String,
    },
    /// An entry is malformed.
    #[error("dataset {path}, {at}: {why}")]
    Entry {
        /// The file.
        path: String,
        /// `line N` or `entry N`.
        at: String,
        /// What is wrong and how to fix it.
        why: String,
    },
    /// The file as a whole does not fit.
    #[error("dataset {path}: {why}")]
    Whole {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
}

/// What one entry asks the server for.
#[derive(Debug, Clone, PartialEq)]
pub enum EntryPrompt {
    /// Chat messages, sent as given.
    Messages(Vec<Value>),
    /// A prompt synthesised from these blocks: shared blocks (by hash id)
    /// and then `input_length` in total.
    Blocks {
        /// Hash ids of the prompt's blocks, in order.
        hash_ids: Vec<u64>,
        /// Prompt tokens in total.
        input_length: u32,
    },
}

/// One dataset entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The prompt.
    pub prompt: EntryPrompt,
    /// Output length asked for, when the entry says.
    pub max_tokens: Option<u32>,
    /// When the trace sent it, ms from its start (mooncake).
    pub timestamp_ms: Option<f64>,
    /// A reply text whose token count is the output length (ShareGPT),
    /// counted by the run's tokenizer.
    pub reply_text: Option<String>,
}

/// A validated dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Its format.
    pub format: DatasetFormat,
    /// Its entries, in file order.
    pub entries: Vec<Entry>,
    /// Entries skipped, with the reason (ShareGPT conversations without a
    /// human turn).
    pub skipped: u64,
}

impl Dataset {
    /// Reads and validates `path`; `format` is detected when not given.
    pub fn load(path: &Path, format: Option<DatasetFormat>) -> Result<Self, DatasetError> {
        let shown = path.display().to_string();
        let read_err = |why: String| DatasetError::Read {
            path: shown.clone(),
            why,
        };
        let meta = std::fs::metadata(path).map_err(|e| read_err(e.to_string()))?;
        if !meta.is_file() {
            return Err(read_err("not a regular file".into()));
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(read_err(format!(
                "{} MiB is beyond the limit of {} MiB",
                meta.len() >> 20,
                MAX_FILE_BYTES >> 20
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|e| read_err(e.to_string()))?;
        let format = format.unwrap_or_else(|| detect(&text));
        parse::parse(&text, format).map_err(|(at, why)| match at {
            Some(at) => DatasetError::Entry {
                path: shown.clone(),
                at,
                why,
            },
            None => DatasetError::Whole {
                path: shown.clone(),
                why,
            },
        })
    }

    /// The trace's arrival offsets (ms from its first entry), when every
    /// entry has a timestamp.
    pub fn timeline_ms(&self) -> Option<Vec<f64>> {
        let stamps: Option<Vec<f64>> = self.entries.iter().map(|e| e.timestamp_ms).collect();
        let stamps = stamps?;
        let first = *stamps.first()?;
        Some(stamps.iter().map(|t| t - first).collect())
    }
}

/// The format a text looks like: a JSON array is ShareGPT; JSON lines with
/// `input_length` are a mooncake trace; other JSON lines are OpenAI chat.
fn detect(text: &str) -> DatasetFormat {
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        return DatasetFormat::Sharegpt;
    }
    let first = trimmed.lines().next().unwrap_or("");
    match serde_json::from_str::<Value>(first) {
        Ok(v) if v.get("input_length").is_some() => DatasetFormat::Mooncake,
        _ => DatasetFormat::Openai,
    }
}

#[cfg(test)]
mod tests;
