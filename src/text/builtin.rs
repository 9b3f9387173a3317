//! The built-in token count, an approximation that works offline with no
//! files at all.
//!
//! Counting rule: a run of ASCII letters/digits is one token per eight
//! characters (a single leading space belongs to it), every other non-space
//! character is one token, and a run of whitespace that does not lead a word
//! is one token. It is exact for the built-in vocabulary and the simulator;
//! for real model families it is an approximation.

/// The built-in count (see the module docs for the rule).
pub fn builtin_count(text: &str) -> u32 {
    let b = text.as_bytes();
    let mut n = 0u32;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_alphanumeric()
            || (c == b' ' && b.get(i + 1).is_some_and(u8::is_ascii_alphanumeric))
        {
            let start = if c == b' ' { i + 1 } else { i };
            let mut j = start;
            while j < b.len() && b[j].is_ascii_alphanumeric() {
                j += 1;
            }
            n += ((j - start) as u32).div_ceil(8);
            i = j;
        } else if c.is_ascii_whitespace() {
            while i < b.len() && b[i].is_ascii_whitespace() && !leads_word(b, i) {
                i += 1;
            }
            n += 1;
        } else {
            // One token per character: skip the UTF-8 continuation bytes.
            i += 1;
            while i < b.len() && (b[i] & 0xC0) == 0x80 {
                i += 1;
            }
            n += 1;
        }
    }
    n
}

fn leads_word(b: &[u8], i: usize) -> bool {
    b[i] == b' ' && b.get(i + 1).is_some_and(u8::is_ascii_alphanumeric)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::WORDS;

    #[test]
    fn builtin_counts_vocabulary_words_as_one_token_each() {
        for w in WORDS {
            assert!(w.len() <= 8, "{w}");
            assert_eq!(builtin_count(&format!(" {w}")), 1, "{w}");
        }
        assert_eq!(builtin_count(" the river of silver"), 4);
        assert_eq!(builtin_count("the river"), 2);
    }

    #[test]
    fn builtin_counts_punctuation_long_words_and_unicode() {
        assert_eq!(builtin_count("Hello, world!"), 4);
        assert_eq!(builtin_count("internationalization"), 3);
        assert_eq!(builtin_count("naïve"), 3); // "na", "ï", "ve"
        assert_eq!(builtin_count("a\n\nb"), 3);
        assert_eq!(builtin_count(""), 0);
        assert_eq!(builtin_count("   "), 1);
    }
}
