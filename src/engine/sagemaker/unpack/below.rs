//! Writing below a directory without ever following a symbolic link: every
//! directory on the way must be a real directory (one is created when
//! missing), and a file is created new (`O_CREAT | O_EXCL | O_NOFOLLOW`)
//! after whatever non-directory stood at its place is removed. A symbolic
//! link planted below `root` therefore cannot redirect a write outside it.
//!
//! `root` itself is trusted (the caller created it). The checks walk the
//! path one component at a time; they guard against links that archives or
//! object keys would plant, not against another local user racing the walk
//! (one who can write the run directory owns its results anyway).

use std::fs;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Removes whatever is at `dir` (a symbolic link is removed, not followed)
/// and creates it empty.
pub(in crate::engine::sagemaker) fn reset_dir(dir: &Path) -> io::Result<()> {
    match fs::symlink_metadata(dir) {
        Ok(m) if m.file_type().is_dir() => fs::remove_dir_all(dir)?,
        Ok(_) => fs::remove_file(dir)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    fs::create_dir(dir)
}

/// `root/rel` as a real directory, creating missing components; `rel` must
/// be relative with plain components only.
pub(in crate::engine::sagemaker) fn create_dir_below(
    root: &Path,
    rel: &Path,
) -> io::Result<PathBuf> {
    let mut dir = root.to_path_buf();
    for part in rel.components() {
        let std::path::Component::Normal(name) = part else {
            return Err(refused(
                root.join(rel),
                "has a component that is not a plain name",
            ));
        };
        dir.push(name);
        match fs::symlink_metadata(&dir) {
            Ok(m) if m.file_type().is_dir() => {}
            Ok(_) => {
                return Err(refused(
                    dir,
                    "is in the way: not a directory (a file or a symbolic link)",
                ))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => fs::create_dir(&dir)?,
            Err(e) => return Err(e),
        }
    }
    Ok(dir)
}

/// Makes room for a new file at `root/rel`: its directories exist (real
/// ones) and nothing but a directory is left at its place (a directory
/// there is an error). Returns the path, which does not exist.
pub(in crate::engine::sagemaker) fn clear_file_slot(
    root: &Path,
    rel: &Path,
) -> io::Result<PathBuf> {
    let Some(name) = rel.file_name() else {
        return Err(refused(root.join(rel), "names no file"));
    };
    let parent = create_dir_below(root, rel.parent().unwrap_or(Path::new("")))?;
    let path = parent.join(name);
    match fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_dir() => Err(refused(path, "is a directory")),
        Ok(_) => fs::remove_file(&path).map(|()| path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(path),
        Err(e) => Err(e),
    }
}

/// Creates `root/rel` as a new regular file (mode 0644, never through a
/// symbolic link), replacing a file or link at its place.
pub(in crate::engine::sagemaker) fn create_file_below(
    root: &Path,
    rel: &Path,
) -> io::Result<fs::File> {
    let path = clear_file_slot(root, rel)?;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(0o644)
        .open(path)
}

fn refused(path: PathBuf, why: &str) -> io::Error {
    io::Error::other(format!("{}: {why}", path.display()))
}
