//! Setting one variable in `do/config` the way ml-container-creator's
//! `_update_benchmark_var` does: the line that assigns it (`VAR=…` or
//! `export VAR=…`) is replaced, else `export VAR="value"` is appended.
//! Every other byte of the file stays as it was, and the file is replaced
//! atomically (a crash leaves the old file or the new one, never half).

use std::path::Path;

use super::ProjectError;

/// Sets `key` to `value` in the shell config file at `path`.
pub fn set_config_var(path: &Path, key: &str, value: &str) -> Result<(), ProjectError> {
    let err = |reason: String| ProjectError::Bootstrap {
        file: path.to_owned(),
        reason,
    };
    if value.contains(['"', '\\', '$', '`', '\n']) {
        return Err(err(format!(
            "cannot record {key}: the value {value:?} would need shell quoting"
        )));
    }
    let text = std::fs::read(path).map_err(|e| err(format!("cannot read: {e}")))?;
    let updated = with_var(&text, key, value);
    crate::storage::write_atomic(path, &updated).map_err(|e| err(e.to_string()))
}

/// Removes every line assigning `key` (as `--set-baseline --clear` does);
/// a file without one is left untouched.
pub fn remove_config_var(path: &Path, key: &str) -> Result<(), ProjectError> {
    let err = |reason: String| ProjectError::Bootstrap {
        file: path.to_owned(),
        reason,
    };
    let text = std::fs::read(path).map_err(|e| err(format!("cannot read: {e}")))?;
    let kept: Vec<u8> = text
        .split_inclusive(|b| *b == b'\n')
        .filter(|line| !assigns(line, key))
        .flatten()
        .copied()
        .collect();
    if kept.len() == text.len() {
        return Ok(());
    }
    crate::storage::write_atomic(path, &kept).map_err(|e| err(e.to_string()))
}

/// `text` with `key` set: its assignment line replaced, else one appended.
fn with_var(text: &[u8], key: &str, value: &str) -> Vec<u8> {
    let line = format!("export {key}=\"{value}\"");
    let mut out = Vec::with_capacity(text.len() + line.len() + 1);
    let mut replaced = false;
    for piece in text.split_inclusive(|b| *b == b'\n') {
        if !replaced && assigns(piece, key) {
            out.extend_from_slice(line.as_bytes());
            if piece.ends_with(b"\r\n") {
                out.extend_from_slice(b"\r\n");
            } else if piece.ends_with(b"\n") {
                out.push(b'\n');
            }
            replaced = true;
        } else {
            out.extend_from_slice(piece);
        }
    }
    if !replaced {
        if !out.is_empty() && !out.ends_with(b"\n") {
            out.push(b'\n');
        }
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out
}

/// True when the line is `[export ]KEY=…` (leading blanks allowed).
fn assigns(line: &[u8], key: &str) -> bool {
    let Ok(s) = std::str::from_utf8(line) else {
        return false;
    };
    let s = s.trim_start();
    let s = s
        .strip_prefix("export")
        .filter(|r| r.starts_with([' ', '\t']))
        .map_or(s, str::trim_start);
    s.strip_prefix(key).is_some_and(|r| r.starts_with('='))
}

#[cfg(test)]
mod tests {
    use super::{remove_config_var, with_var};

    #[test]
    fn removing_a_variable_keeps_every_other_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config");
        std::fs::write(&path, "A=1\r\nexport BENCHMARK_PINNED_BASELINE=\"r1\"\nB=2")
            .expect("write");
        remove_config_var(&path, "BENCHMARK_PINNED_BASELINE").expect("remove");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "A=1\r\nB=2");
        remove_config_var(&path, "BENCHMARK_PINNED_BASELINE").expect("idempotent");
    }

    #[test]
    fn replaces_the_assignment_and_keeps_every_other_byte() {
        let text = b"#!/bin/bash\r\n# keep: STAGED_MODEL_PATH=x\nexport MODEL_NAME=\"a\"\n  STAGED_MODEL_PATH='old'\r\nTAIL=1";
        let out = with_var(text, "STAGED_MODEL_PATH", "s3://b/models/o/r/");
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "#!/bin/bash\r\n# keep: STAGED_MODEL_PATH=x\nexport MODEL_NAME=\"a\"\nexport STAGED_MODEL_PATH=\"s3://b/models/o/r/\"\r\nTAIL=1"
        );
    }

    #[test]
    fn appends_when_absent_even_without_a_final_newline() {
        let out = with_var(b"export A=1", "STAGED_MODEL_PATH", "s3://b/p/");
        assert_eq!(out, b"export A=1\nexport STAGED_MODEL_PATH=\"s3://b/p/\"\n");
        let out = with_var(b"STAGED_MODEL_PATHS=1\n", "STAGED_MODEL_PATH", "v");
        assert_eq!(
            out,
            b"STAGED_MODEL_PATHS=1\nexport STAGED_MODEL_PATH=\"v\"\n"
        );
    }
}
