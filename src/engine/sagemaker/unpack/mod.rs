//! Unpacking a benchmark job's output archives (`*.tar.gz`), which come
//! from the network and are untrusted.
//!
//! Only regular files and directories are unpacked, with modes 0644/0755
//! and never through a symbolic link (`below`). An entry that is anything
//! else — a symbolic or hard link, a device, a FIFO, a sparse file — or
//! whose path is absolute or has a `..` component is skipped, and a warning
//! naming the entry and the reason is returned; the run records it with
//! the job (`output_warnings`) and keeps the results of the safe entries.
//!
//! An archive over the budget of one job's output (`MAX_ENTRIES`,
//! `MAX_UNPACKED_BYTES`, or a path/extension header over `MAX_META_BYTES`)
//! is not benchmark output: the import fails with an error saying which
//! limit, and nothing of that archive is written, because every archive is
//! checked header by header before its first file is unpacked.

mod below;
#[cfg(test)]
mod tests;

use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use tar::EntryType;

pub(super) use below::{clear_file_slot, create_file_below, reset_dir};

/// Most bytes (file contents, summed over every archive) one job's output
/// may unpack to. AIPerf's exports of a long run are a few hundred MB.
pub(super) const MAX_UNPACKED_BYTES: u64 = 4 << 30;

/// Most entries, of every type and refused ones included, in one job's
/// output archives. AIPerf writes a handful of files.
pub(super) const MAX_ENTRIES: u64 = 10_000;

/// Largest long-name or PAX extension record; real ones take a few hundred
/// bytes, and the archive reader holds them in memory.
pub(super) const MAX_META_BYTES: u64 = 64 << 10;

/// Why an archive could not be unpacked.
#[derive(Debug, thiserror::Error)]
pub(super) enum UnpackError {
    /// Reading the archive or writing below the directory failed.
    #[error("cannot unpack {archive}: {source}")]
    Io {
        /// The archive.
        archive: String,
        /// Cause.
        source: io::Error,
    },
    /// The job's output has more entries than its budget allows.
    #[error("{archive}: the job's output archives hold more than {max} entries; refusing to unpack them")]
    TooManyEntries {
        /// The archive.
        archive: String,
        /// The limit.
        max: u64,
    },
    /// The job's output unpacks to more bytes than its budget allows.
    #[error("{archive}: the job's output archives unpack to more than {max} bytes; refusing to unpack them")]
    TooLarge {
        /// The archive.
        archive: String,
        /// The limit.
        max: u64,
    },
    /// A long-name or PAX extension record over `MAX_META_BYTES`.
    #[error("{archive}: a path or extension header of {size} bytes (over {MAX_META_BYTES}); refusing to unpack it")]
    Metadata {
        /// The archive.
        archive: String,
        /// Its size.
        size: u64,
    },
}

impl From<UnpackError> for super::SageMakerError {
    fn from(e: UnpackError) -> Self {
        Self::Output(e.to_string())
    }
}

/// What one job's output may unpack to, and what is left of it. One
/// budget is shared by all the archives of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Budget {
    max_bytes: u64,
    max_entries: u64,
    bytes: u64,
    entries: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Self::new(MAX_UNPACKED_BYTES, MAX_ENTRIES)
    }
}

impl Budget {
    /// At most `bytes` of file contents in at most `entries` entries.
    pub(super) fn new(bytes: u64, entries: u64) -> Self {
        Self {
            max_bytes: bytes,
            max_entries: entries,
            bytes,
            entries,
        }
    }

    /// Takes one entry of `size` bytes from the budget.
    fn charge(&mut self, size: u64, archive: &Path) -> Result<(), UnpackError> {
        self.entries = self
            .entries
            .checked_sub(1)
            .ok_or_else(|| UnpackError::TooManyEntries {
                archive: name(archive),
                max: self.max_entries,
            })?;
        self.bytes = self
            .bytes
            .checked_sub(size)
            .ok_or_else(|| UnpackError::TooLarge {
                archive: name(archive),
                max: self.max_bytes,
            })?;
        Ok(())
    }
}

/// Unpacks `archive`'s regular files and directories below `into`, taking
/// them from `budget`; returns one warning per skipped entry.
pub(super) fn unpack(
    archive: &Path,
    into: &Path,
    budget: &mut Budget,
) -> Result<Vec<String>, UnpackError> {
    check_headers(archive, *budget)?;
    let mut tar = open(archive)?;
    let mut warnings = Vec::new();
    for entry in tar.entries().map_err(|e| io_error(archive, e))? {
        let mut entry = entry.map_err(|e| io_error(archive, e))?;
        if entry.header().entry_type() == EntryType::XGlobalHeader {
            continue;
        }
        budget.charge(entry.size(), archive)?;
        match admit(&entry) {
            Ok(Some(Admitted::Dir(rel))) => {
                below::create_dir_below(into, &rel).map_err(|e| io_error(archive, e))?;
            }
            Ok(Some(Admitted::File(rel))) => write_file(&mut entry, into, &rel, archive)?,
            Ok(None) => {}
            Err(why) => warnings.push(format!(
                "{}: skipped entry {:?}: {why}",
                name(archive),
                entry_path(&entry)
            )),
        }
    }
    Ok(warnings)
}

/// First pass over the raw headers, before anything is written: the entry
/// count, the declared sizes and the metadata records must fit.
fn check_headers(archive: &Path, mut budget: Budget) -> Result<(), UnpackError> {
    let mut tar = open(archive)?;
    let entries = tar.entries().map_err(|e| io_error(archive, e))?.raw(true);
    for entry in entries {
        let entry = entry.map_err(|e| io_error(archive, e))?;
        let kind = entry.header().entry_type();
        let size = entry.size();
        let meta = kind.is_gnu_longname()
            || kind.is_gnu_longlink()
            || kind.is_pax_local_extensions()
            || kind.is_pax_global_extensions();
        if meta && size > MAX_META_BYTES {
            return Err(UnpackError::Metadata {
                archive: name(archive),
                size,
            });
        }
        if !meta {
            budget.charge(size, archive)?;
        }
    }
    Ok(())
}

fn open(archive: &Path) -> Result<tar::Archive<impl Read>, UnpackError> {
    let file = fs::File::open(archive).map_err(|e| io_error(archive, e))?;
    Ok(tar::Archive::new(flate2::read::GzDecoder::new(file)))
}

/// An entry that may be unpacked, with its relative path.
#[derive(Debug, PartialEq, Eq)]
enum Admitted {
    File(PathBuf),
    Dir(PathBuf),
}

/// Whether `entry` is unpacked (`Ok(None)`: nothing to do, e.g. `./`), or
/// why not.
fn admit<R: Read>(entry: &tar::Entry<'_, R>) -> Result<Option<Admitted>, String> {
    const ONLY: &str = "only regular files and directories are unpacked";
    let link = || {
        entry
            .link_name()
            .ok()
            .flatten()
            .map(|l| l.display().to_string())
            .unwrap_or_default()
    };
    let kind = entry.header().entry_type();
    match kind {
        EntryType::Regular | EntryType::Continuous | EntryType::Directory => {}
        EntryType::Symlink => return Err(format!("a symbolic link (to {:?}); {ONLY}", link())),
        EntryType::Link => return Err(format!("a hard link (to {:?}); {ONLY}", link())),
        EntryType::Char | EntryType::Block => return Err(format!("a device node; {ONLY}")),
        EntryType::Fifo => return Err(format!("a FIFO; {ONLY}")),
        other => return Err(format!("an entry of type {other:?}; {ONLY}")),
    }
    let path = entry
        .path()
        .map_err(|e| format!("its path cannot be read: {e}"))?;
    let rel = relative(&path)?;
    if rel.as_os_str().is_empty() {
        return Ok(None);
    }
    Ok(Some(if kind == EntryType::Directory {
        Admitted::Dir(rel)
    } else {
        Admitted::File(rel)
    }))
}

/// An archive path as a relative path of plain components (`.` dropped).
fn relative(path: &Path) -> Result<PathBuf, String> {
    let mut rel = PathBuf::new();
    for part in path.components() {
        match part {
            Component::Normal(p) => rel.push(p),
            Component::CurDir => {}
            Component::ParentDir => return Err("its path has a `..` component".into()),
            Component::RootDir | Component::Prefix(_) => return Err("its path is absolute".into()),
        }
    }
    Ok(rel)
}

fn write_file<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    into: &Path,
    rel: &Path,
    archive: &Path,
) -> Result<(), UnpackError> {
    let size = entry.size();
    let mut file = below::create_file_below(into, rel).map_err(|e| io_error(archive, e))?;
    io::copy(&mut entry.take(size), &mut file).map_err(|e| io_error(archive, e))?;
    Ok(())
}

/// The entry's path as written in the archive (for warnings).
fn entry_path<R: Read>(entry: &tar::Entry<'_, R>) -> String {
    String::from_utf8_lossy(&entry.path_bytes()).into_owned()
}

fn name(archive: &Path) -> String {
    archive.display().to_string()
}

fn io_error(archive: &Path, source: io::Error) -> UnpackError {
    UnpackError::Io {
        archive: name(archive),
        source,
    }
}
