//! Hugging Face names as the Hub writes them.

/// True for a Hub model id: `name` or `org/name`, each part letters,
/// digits, `-`, `_` and `.` (never `.` or `..` alone), so it can name no
/// path outside the cache it is looked up in.
pub fn is_model_id(id: &str) -> bool {
    !id.is_empty()
        && id.split('/').count() <= 2
        && id.split('/').all(|p| {
            !p.is_empty()
                && p != "."
                && p != ".."
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        })
}
