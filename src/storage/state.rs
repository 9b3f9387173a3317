//! The state file: one JSON document of run records under `$MCC_BENCH_HOME`,
//! shared by every server and runner process. Each change takes an exclusive
//! advisory lock on a sibling lock file, re-reads the document, applies the
//! change and replaces the file atomically, so concurrent writers never lose
//! each other's records. A corrupt file or one from a newer version is
//! reported and never overwritten.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{write_atomic, StorageError};
use crate::domain::RunRecord;

/// Longest wait for the state file's lock: every holder keeps it for one
/// read-modify-write of a small document.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);
/// Interval between attempts to take the lock.
const LOCK_POLL: std::time::Duration = std::time::Duration::from_millis(5);

/// Version of the document layout this build reads and writes.
pub const STATE_SCHEMA_VERSION: u32 = 1;

/// The whole document.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StateDoc {
    /// Layout version.
    pub schema_version: u32,
    /// Every run, oldest first.
    pub runs: Vec<RunRecord>,
}

/// Handle on `state.json` and its lock file.
#[derive(Debug, Clone)]
pub struct StateFile {
    path: PathBuf,
    lock_path: PathBuf,
}

impl StateFile {
    /// The state file in `home` (created on first write).
    pub fn in_home(home: &Path) -> Self {
        Self {
            path: home.join("state.json"),
            lock_path: home.join("state.lock"),
        }
    }

    /// Path of the document.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the document under a shared lock.
    pub fn read(&self) -> Result<StateDoc, StorageError> {
        let lock = self.lock(false)?;
        let doc = self.load();
        drop(lock);
        doc
    }

    /// Applies `change` under an exclusive lock and writes the result, only
    /// when it differs from what was read (an idle reconcile writes nothing).
    pub fn update<T>(&self, change: impl FnOnce(&mut StateDoc) -> T) -> Result<T, StorageError> {
        let lock = self.lock(true)?;
        let (mut doc, before) = self.load_text()?;
        let out = change(&mut doc);
        doc.schema_version = STATE_SCHEMA_VERSION;
        let bytes = serde_json::to_vec_pretty(&doc).map_err(|source| StorageError::Serialise {
            what: "state file",
            source,
        })?;
        if before.as_bytes() != bytes.as_slice() {
            self.remove_stale_temps();
            write_atomic(&self.path, &bytes)?;
        }
        drop(lock);
        Ok(out)
    }

    /// Removes temporary files of writes that never finished (a writer
    /// killed between creating and renaming one). Called under the
    /// exclusive lock, when no other write of the state file is under way.
    fn remove_stale_temps(&self) {
        let (Some(dir), Some(name)) = (self.path.parent(), self.path.file_name()) else {
            return;
        };
        let prefix = format!(".{}.tmp-", name.to_string_lossy());
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }

    fn load(&self) -> Result<StateDoc, StorageError> {
        self.load_text().map(|(doc, _)| doc)
    }

    /// The document and the text it was read from (empty when absent).
    fn load_text(&self) -> Result<(StateDoc, String), StorageError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let doc = StateDoc {
                    schema_version: STATE_SCHEMA_VERSION,
                    runs: Vec::new(),
                };
                return Ok((doc, String::new()));
            }
            Err(e) => return Err(self.bad(format!("cannot be read: {e}"))),
        };
        let version = serde_json::from_str::<serde_json::Value>(&text)
            .map_err(|e| self.bad(format!("is not valid JSON ({e})")))?
            .get("schema_version")
            .and_then(serde_json::Value::as_u64);
        let doc = match version {
            Some(v) if v > u64::from(STATE_SCHEMA_VERSION) => {
                Err(self.bad(format!("was written by a newer mcc-bench (schema {v}, this build reads {STATE_SCHEMA_VERSION}); upgrade mcc-bench")))
            }
            _ => serde_json::from_str(&text).map_err(|e| self.bad(format!("has an unexpected layout ({e})"))),
        }?;
        Ok((doc, text))
    }

    fn bad(&self, why: String) -> StorageError {
        StorageError::State {
            path: self.path.display().to_string(),
            reason: format!(
                "{why}; it was left untouched — move it aside to start a fresh history"
            ),
        }
    }

    fn lock(&self, exclusive: bool) -> Result<File, StorageError> {
        let err = |source| StorageError::Write {
            path: self.lock_path.display().to_string(),
            source,
        };
        if let Some(dir) = self.lock_path.parent() {
            super::private_dirs(dir).map_err(err)?;
        }
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&self.lock_path)
            .map_err(err)?;
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        loop {
            let tried = if exclusive {
                f.try_lock()
            } else {
                f.try_lock_shared()
            };
            match tried {
                Ok(()) => return Ok(f),
                Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(LOCK_POLL);
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(StorageError::State {
                        path: self.path.display().to_string(),
                        reason: format!(
                            "stayed locked by another mcc-bench process for {} s; try again, \
                             or look for a stuck process holding {}",
                            LOCK_WAIT.as_secs(),
                            self.lock_path.display()
                        ),
                    })
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(err(e)),
            }
        }
    }
}
