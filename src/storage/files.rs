//! Finding and reading files already written: every file below a
//! directory, and one file of a run read safely.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::StorageError;

/// Every regular file below `dir` (subdirectories included), sorted by
/// path. Symbolic links below `dir` are neither followed nor listed, so
/// what is found was written there and the walk cannot leave `dir` or loop.
/// Directories that cannot be read are skipped: callers look for files they
/// expect and report what is missing.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            // DirEntry::file_type does not follow symbolic links.
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(entry.path()),
                Ok(t) if t.is_file() => out.push(entry.path()),
                _ => {}
            }
        }
    }
    out.sort();
    out
}

/// The text of `rel` inside `dir`, when it really is a regular file there:
/// no component may be a symbolic link leading elsewhere, the file itself
/// is opened without following one, and at most `max` bytes are read.
pub fn read_run_file(dir: &Path, rel: &str, max: u64) -> Result<String, StorageError> {
    let path = dir.join(rel);
    let fail = |reason: String| StorageError::Read {
        path: path.display().to_string(),
        reason,
    };
    let real_dir = std::fs::canonicalize(dir).map_err(|e| fail(e.to_string()))?;
    let real = std::fs::canonicalize(&path).map_err(|e| fail(e.to_string()))?;
    if !real.starts_with(&real_dir) || real != real_dir.join(rel) {
        return Err(fail(
            "not a file of the run (a link leads elsewhere)".into(),
        ));
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(&real)
        .map_err(|e| fail(e.to_string()))?;
    let meta = file.metadata().map_err(|e| fail(e.to_string()))?;
    if !meta.is_file() {
        return Err(fail("not a regular file".into()));
    }
    if meta.len() > max {
        return Err(fail(format!("larger than {} MiB", max >> 20)));
    }
    let mut text = String::new();
    file.take(max)
        .read_to_string(&mut text)
        .map_err(|e| fail(e.to_string()))?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_files_behind_links_or_too_large_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        std::fs::create_dir(d.join("c4")).expect("mkdir");
        std::fs::write(d.join("c4/ok.json"), b"{}").expect("write");
        std::fs::write(d.join("big"), vec![b'x'; 100]).expect("write");
        std::os::unix::fs::symlink("/etc/hostname", d.join("link")).expect("symlink");
        std::os::unix::fs::symlink("/etc", d.join("up")).expect("symlink");
        assert_eq!(read_run_file(d, "c4/ok.json", 10).expect("ok"), "{}");
        for bad in ["link", "up/hostname", "../x", "big"] {
            assert!(read_run_file(d, bad, 10).is_err(), "{bad}");
        }
        assert!(files_under(d).iter().all(|p| !p.ends_with("link")));
    }

    #[test]
    fn lists_nested_files_in_path_order_and_skips_missing_directories() {
        let dir = tempfile::tempdir().expect("tempdir");
        for rel in ["b/2.txt", "a/x/1.txt", "c.txt"] {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, b"").expect("write");
        }
        let found: Vec<_> = files_under(dir.path())
            .into_iter()
            .map(|p| p.strip_prefix(dir.path()).expect("below").to_path_buf())
            .collect();
        let want: Vec<PathBuf> = ["a/x/1.txt", "b/2.txt", "c.txt"]
            .iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(found, want);
        assert!(files_under(&dir.path().join("missing")).is_empty());
    }

    #[test]
    fn symbolic_links_are_neither_followed_nor_listed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outside = tempfile::tempdir().expect("outside");
        std::fs::write(outside.path().join("secret"), b"x").expect("write");
        let root = dir.path().join("root");
        std::fs::create_dir(&root).expect("mkdir");
        std::fs::write(root.join("kept"), b"").expect("write");
        std::os::unix::fs::symlink(outside.path(), root.join("dir-link")).expect("link");
        std::os::unix::fs::symlink("/etc/passwd", root.join("file-link")).expect("link");
        std::os::unix::fs::symlink(&root, root.join("loop")).expect("link");
        assert_eq!(files_under(&root), [root.join("kept")]);
    }
}
