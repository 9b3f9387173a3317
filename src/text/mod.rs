//! Built-in synthetic text: the vocabulary and the built-in token count,
//! shared by the local engine (prompts, its default tokenizer) and the
//! simulator (its output and usage counts), so both agree token for token.

pub mod builtin;
mod vocab;

pub use builtin::builtin_count;
pub use vocab::WORDS;
