//! The files of a model folder and their digests. Symlinks are followed
//! (Hugging Face cache snapshots link into `blobs/`); `*.lock`,
//! `.gitattributes` and the `.cache/` folder `hf download --local-dir`
//! leaves behind are not part of the model. Digests stream the file in
//! fixed-size blocks: memory stays bounded whatever the file size.

use std::io::Read;
use std::path::{Path, PathBuf};

use md5::Md5;
use sha2::{Digest, Sha256};

use super::StageError;

/// Read block for digests.
const BLOCK: usize = 1 << 20;

/// One file to stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalFile {
    /// Path relative to the model folder, with `/` separators (the S3 key
    /// suffix).
    pub rel: String,
    /// Where it is.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
}

/// Every file under `dir`, sorted by relative path.
pub fn model_files(dir: &Path) -> Result<Vec<LocalFile>, StageError> {
    if !dir.is_dir() {
        return Err(StageError::Source(format!(
            "{} is not a folder; pass local_dir pointing at the model's files",
            dir.display()
        )));
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    if !out.iter().any(|f| f.rel == "config.json") {
        return Err(StageError::Source(format!(
            "{} has no config.json; point at the folder holding the model's config.json and weights",
            dir.display()
        )));
    }
    Ok(out)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<LocalFile>) -> Result<(), StageError> {
    let io = |p: &Path, e: std::io::Error| StageError::Source(format!("{}: {e}", p.display()));
    for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
        let path = entry.map_err(|e| io(dir, e))?.path();
        let meta = std::fs::metadata(&path).map_err(|e| io(&path, e))?;
        let rel = relative(root, &path);
        if skipped(&rel) {
            continue;
        }
        if meta.is_dir() {
            walk(root, &path, out)?;
        } else if meta.is_file() {
            out.push(LocalFile {
                rel,
                path,
                size: meta.len(),
            });
        }
    }
    Ok(())
}

fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Not part of the model: lock files, git attributes, download metadata.
fn skipped(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    name.ends_with(".lock") || name == ".gitattributes" || rel == ".cache"
}

/// SHA-256 of a file, lower-case hex.
pub fn sha256_hex(path: &Path) -> Result<String, StageError> {
    digest::<Sha256>(path)
}

/// MD5 of a file, lower-case hex (the ETag of a single-part upload).
pub fn md5_hex(path: &Path) -> Result<String, StageError> {
    digest::<Md5>(path)
}

/// SHA-256 of `len` bytes at `offset`, base64 (S3's part checksum form).
pub fn span_sha256_b64(path: &Path, offset: u64, len: u64) -> Result<String, StageError> {
    use base64::Engine;
    let d = span_digest::<Sha256>(path, offset, len)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(d))
}

/// MD5 of `len` bytes at `offset`, hex (a part's ETag).
pub(super) fn span_md5_hex(path: &Path, offset: u64, len: u64) -> Result<String, StageError> {
    Ok(hex::encode(span_digest::<Md5>(path, offset, len)?))
}

fn span_digest<D: Digest>(path: &Path, offset: u64, len: u64) -> Result<Vec<u8>, StageError> {
    use std::io::{Seek, SeekFrom};
    let io = |e: std::io::Error| StageError::Source(format!("{}: {e}", path.display()));
    let mut file = std::fs::File::open(path).map_err(io)?;
    file.seek(SeekFrom::Start(offset)).map_err(io)?;
    let mut hasher = D::new();
    let mut left = len;
    let mut buf = vec![0u8; BLOCK];
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = file.read(&mut buf[..want]).map_err(io)?;
        if n == 0 {
            let msg = format!("{}: shorter than expected", path.display());
            return Err(StageError::Source(msg));
        }
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    Ok(hasher.finalize().to_vec())
}

fn digest<D: Digest>(path: &Path) -> Result<String, StageError> {
    let io = |e: std::io::Error| StageError::Source(format!("{}: {e}", path.display()));
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = D::new();
    let mut buf = vec![0u8; BLOCK];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_model_files_and_skips_locks_and_metadata() {
        let d = tempfile::tempdir().expect("dir");
        let p = d.path();
        std::fs::create_dir_all(p.join("sub/.cache")).expect("mkdir");
        std::fs::create_dir_all(p.join(".cache/huggingface")).expect("mkdir");
        for f in [
            "config.json",
            "sub/model.safetensors",
            "a.lock",
            ".gitattributes",
        ] {
            std::fs::write(p.join(f), b"x").expect("write");
        }
        std::fs::write(p.join(".cache/huggingface/x.metadata"), b"m").expect("write");
        let rels: Vec<String> = model_files(p)
            .expect("files")
            .into_iter()
            .map(|f| f.rel)
            .collect();
        assert_eq!(rels, ["config.json", "sub/model.safetensors"]);
    }

    #[test]
    fn a_folder_without_config_json_is_refused() {
        let d = tempfile::tempdir().expect("dir");
        std::fs::write(d.path().join("w.bin"), b"x").expect("write");
        let e = model_files(d.path()).expect_err("no config");
        assert!(e.to_string().contains("no config.json"), "{e}");
        let e = model_files(&d.path().join("nope")).expect_err("missing");
        assert!(e.to_string().contains("is not a folder"), "{e}");
    }

    #[test]
    fn digests_match_known_values() {
        let d = tempfile::tempdir().expect("dir");
        let f = d.path().join("abc");
        std::fs::write(&f, b"abc").expect("write");
        assert_eq!(
            sha256_hex(&f).expect("sha"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            md5_hex(&f).expect("md5"),
            "900150983cd24fb0d6963f7d28e17f72"
        );
    }
}
