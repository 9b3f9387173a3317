//! Atomic file replacement: temporary file in the same directory (from the
//! tempfile crate), fsync, rename, then fsync of the directory.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use super::StorageError;

/// Creates `dir` and its missing parents, readable by this user only.
pub fn private_dirs(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Removes the temporary files of writes that never finished below `dir`
/// (their writer died between creating and renaming one). Only for a
/// directory nobody writes any more.
pub fn remove_temp_files(dir: &Path) {
    for f in super::files_under(dir) {
        let stale = f
            .file_name()
            .map(|n| n.to_string_lossy())
            .is_some_and(|n| n.starts_with('.') && n.contains(".tmp-"));
        if stale {
            let _ = std::fs::remove_file(f);
        }
    }
}

/// Writes `bytes` to `path` so that readers see the old file or the new one,
/// never a mixture. Creates missing parent directories.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// Like [`write_atomic`], with the content written by `fill` through a
/// buffer as it is produced (a large export is never whole in memory).
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), StorageError> {
    let err = |source| StorageError::Write {
        path: path.display().to_string(),
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    private_dirs(dir).map_err(err)?;
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    // A fresh file of our own, created exclusively (never through a link
    // planted at that name), readable by this user only; removed on drop
    // unless persisted. The `.{name}.tmp-` prefix is what the cleanups of
    // interrupted writes look for.
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.tmp-"))
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(err)?;
    let mut w = std::io::BufWriter::with_capacity(64 * 1024, tmp.as_file_mut());
    fill(&mut w).and_then(|()| w.flush()).map_err(err)?;
    drop(w);
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_files_and_creates_directories() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("a/b/out.json");
        write_atomic(&p, b"one").expect("write");
        write_atomic(&p, b"two").expect("rewrite");
        assert_eq!(std::fs::read(&p).expect("read"), b"two");
        let leftovers = std::fs::read_dir(p.parent().expect("parent"))
            .expect("ls")
            .count();
        assert_eq!(leftovers, 1, "no temporary files remain");
    }

    #[test]
    fn unwritable_path_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").expect("write");
        let e = write_atomic(&file.join("under-a-file.json"), b"x").expect_err("not a dir");
        assert!(e.to_string().contains("under-a-file.json"), "{e}");
    }
}
