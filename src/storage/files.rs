//! Finding files already written: every file below a directory.

use std::path::{Path, PathBuf};

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

#[cfg(test)]
mod tests {
    use super::*;

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
