//! Entry points for `benches/` into the measurement hot path (not a stable
//! API).

use std::time::Instant;

use super::response::StreamReader;

/// Feeds `reads` through the streaming reader exactly as the client does:
/// one `Instant::now()` per read, then parsing. Returns the content
/// responses counted (so the work cannot be optimised away).
pub fn consume_stream(reads: &[bytes::Bytes]) -> usize {
    let mut reader = StreamReader::new(reads.len() as u32);
    for r in reads {
        let at = Instant::now();
        reader.on_bytes(r, at);
    }
    let out = reader.finish(None);
    out.responses.len() + usize::from(out.error.is_some())
}
