//! Hostile archives, built in memory with the `tar` crate (raw headers where
//! the builder would refuse the path), unpacked into a temporary run
//! directory next to an `outside` directory that must stay untouched.
//! Links point into `outside` or at `/etc/passwd`; nothing here writes to a
//! system file even if the unpacker were broken, since writes go through
//! links into `outside` only.

use std::io::Write;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use tar::{EntryType, Header};

use super::*;

/// A run directory (`run/c1/download`) and a sibling `outside` holding one
/// file, `victim`.
struct Scene {
    tmp: tempfile::TempDir,
    raw: PathBuf,
    outside: PathBuf,
}

const VICTIM: &[u8] = b"untouched\n";

impl Scene {
    fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let raw = tmp.path().join("run/c1/download");
        let outside = tmp.path().join("outside");
        fs::create_dir_all(&raw).expect("run dir");
        fs::create_dir_all(&outside).expect("outside");
        fs::write(outside.join("victim"), VICTIM).expect("victim");
        Self { tmp, raw, outside }
    }

    /// Writes `tar` gzipped as `download/job/output.tar.gz`.
    fn archive(&self, tar: Vec<u8>) -> PathBuf {
        let dir = self.raw.join("job");
        fs::create_dir_all(&dir).expect("job dir");
        let path = dir.join("output.tar.gz");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).expect("gzip");
        fs::write(&path, gz.finish().expect("gzip")).expect("archive");
        path
    }

    fn unpack(&self, tar: Vec<u8>) -> Result<Vec<String>, UnpackError> {
        let archive = self.archive(tar);
        unpack(&archive, &self.raw, &mut Budget::default())
    }

    /// Nothing was written outside the run directory, and nothing below it
    /// is a link, device or FIFO.
    fn assert_contained(&self) {
        let mut outside: Vec<_> = fs::read_dir(&self.outside)
            .expect("outside")
            .map(|e| e.expect("entry").file_name())
            .collect();
        outside.sort();
        assert_eq!(outside, ["victim"], "files appeared outside the run");
        assert_eq!(
            fs::read(self.outside.join("victim")).expect("victim"),
            VICTIM
        );
        let mut top: Vec<_> = fs::read_dir(self.tmp.path())
            .expect("tmp")
            .map(|e| e.expect("entry").file_name())
            .collect();
        top.sort();
        assert_eq!(top, ["outside", "run"], "files appeared beside the run");
        for path in walk(&self.tmp.path().join("run")) {
            let t = fs::symlink_metadata(&path).expect("stat").file_type();
            assert!(t.is_file() || t.is_dir(), "{} is {t:?}", path.display());
            if t.is_file() {
                let text = fs::read(&path).expect("read");
                assert!(
                    !text.starts_with(b"root:"),
                    "{} holds /etc/passwd",
                    path.display()
                );
            }
        }
    }

    fn read(&self, rel: &str) -> String {
        let path = self.raw.join(rel);
        let t = fs::symlink_metadata(&path).expect("exists").file_type();
        assert!(t.is_file(), "{rel} is {t:?}");
        fs::read_to_string(path).expect("read")
    }
}

/// Every path below `dir`, links not followed.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).expect("read_dir") {
        let path = e.expect("entry").path();
        if fs::symlink_metadata(&path).expect("stat").is_dir() {
            out.extend(walk(&path));
        }
        out.push(path);
    }
    out
}

/// A header with `name` written as raw bytes (absolute paths and `..` pass).
fn header(kind: EntryType, name: &str, size: u64, link: Option<&str>) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o644);
    let old = h.as_old_mut();
    old.name[..name.len()].copy_from_slice(name.as_bytes());
    if let Some(link) = link {
        old.linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    h.set_cksum();
    h
}

/// An archive of `(type, name, contents, link target)` entries.
fn tarball(entries: &[(EntryType, &str, &[u8], Option<&str>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (kind, name, data, link) in entries {
        let h = header(*kind, name, data.len() as u64, *link);
        b.append(&h, *data).expect("append");
    }
    b.into_inner().expect("finish")
}

const GOOD: (EntryType, &str, &[u8], Option<&str>) = (
    EntryType::Regular,
    "artifacts/profile_export_aiperf.json",
    b"{}",
    None,
);

fn assert_skipped(warnings: &[String], entry: &str, why: &str) {
    assert!(
        warnings
            .iter()
            .any(|w| w.contains(&format!("{entry:?}")) && w.contains(why)),
        "no warning for {entry} ({why}) in {warnings:?}"
    );
}

#[test]
fn links_are_skipped_and_a_file_written_at_a_link_path_stays_inside() {
    let s = Scene::new();
    let victim = s.outside.join("victim");
    let victim = victim.to_str().expect("utf-8");
    let outside = s.outside.to_str().expect("utf-8");
    let w = s
        .unpack(tarball(&[
            // A link to a file outside, then a file written "through" it.
            (EntryType::Symlink, "artifacts/evil", b"", Some(victim)),
            (EntryType::Regular, "artifacts/evil", b"pwned", None),
            // A link to a directory outside, then a file below it.
            (EntryType::Symlink, "up", b"", Some(outside)),
            (EntryType::Regular, "up/new", b"pwned", None),
            // A link named like the export, pointing at a system file.
            (
                EntryType::Symlink,
                "a/profile_export_aiperf.json",
                b"",
                Some("/etc/passwd"),
            ),
            (
                EntryType::Symlink,
                "rel",
                b"",
                Some("../../../outside/victim"),
            ),
            GOOD,
        ]))
        .expect("unpacks the rest");
    assert_eq!(w.len(), 4, "{w:?}");
    assert_skipped(
        &w,
        "artifacts/evil",
        &format!("symbolic link (to {victim:?})"),
    );
    assert_skipped(&w, "up", "symbolic link");
    assert_skipped(&w, "a/profile_export_aiperf.json", "/etc/passwd");
    assert_skipped(&w, "rel", "only regular files and directories are unpacked");
    assert_eq!(s.read("artifacts/evil"), "pwned");
    assert_eq!(s.read("up/new"), "pwned");
    assert_eq!(s.read("artifacts/profile_export_aiperf.json"), "{}");
    assert!(!s.raw.join("a/profile_export_aiperf.json").exists());
    s.assert_contained();
    // The export finder sees regular files only.
    let found = crate::storage::files_under(&s.raw);
    assert!(
        found.iter().all(|p| !p.starts_with(s.raw.join("a"))),
        "{found:?}"
    );
}

#[test]
fn parent_and_absolute_paths_are_skipped() {
    let s = Scene::new();
    let abs = s.outside.join("abs");
    let abs = abs.to_str().expect("utf-8");
    let w = s
        .unpack(tarball(&[
            (EntryType::Regular, "../../x", b"pwned", None),
            (
                EntryType::Regular,
                "artifacts/../../../../outside/victim",
                b"pwned",
                None,
            ),
            (EntryType::Regular, abs, b"pwned", None),
            (EntryType::Directory, "../../d", b"", None),
            (EntryType::Directory, "./", b"", None),
            GOOD,
        ]))
        .expect("unpacks the rest");
    assert_eq!(w.len(), 4, "{w:?}");
    assert_skipped(&w, "../../x", "`..` component");
    assert_skipped(&w, "artifacts/../../../../outside/victim", "`..` component");
    assert_skipped(&w, abs, "absolute");
    assert_skipped(&w, "../../d", "`..` component");
    assert_eq!(s.read("artifacts/profile_export_aiperf.json"), "{}");
    s.assert_contained();
}

#[test]
fn hard_links_devices_and_fifos_are_skipped() {
    let s = Scene::new();
    let victim = s.outside.join("victim");
    let victim = victim.to_str().expect("utf-8");
    let w = s
        .unpack(tarball(&[
            (EntryType::Link, "hard", b"", Some(victim)),
            (EntryType::Link, "passwd", b"", Some("/etc/passwd")),
            (EntryType::Char, "null", b"", None),
            (EntryType::Block, "sda", b"", None),
            (EntryType::Fifo, "pipe", b"", None),
            GOOD,
        ]))
        .expect("unpacks the rest");
    assert_eq!(w.len(), 5, "{w:?}");
    assert_skipped(&w, "hard", &format!("hard link (to {victim:?})"));
    assert_skipped(&w, "passwd", "hard link");
    assert_skipped(&w, "null", "device node");
    assert_skipped(&w, "sda", "device node");
    assert_skipped(&w, "pipe", "FIFO");
    for gone in ["hard", "passwd", "null", "sda", "pipe"] {
        assert!(fs::symlink_metadata(s.raw.join(gone)).is_err(), "{gone}");
    }
    s.assert_contained();
}

#[test]
fn too_many_entries_fail_before_anything_is_written() {
    let s = Scene::new();
    let names: Vec<String> = (0..=MAX_ENTRIES).map(|i| format!("f/{i}")).collect();
    let entries: Vec<_> = names
        .iter()
        .map(|n| (EntryType::Regular, n.as_str(), &b""[..], None))
        .collect();
    let e = s.unpack(tarball(&entries)).expect_err("refused");
    assert!(
        matches!(
            e,
            UnpackError::TooManyEntries {
                max: MAX_ENTRIES,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("more than 10000 entries"), "{e}");
    assert!(!s.raw.join("f").exists());
    s.assert_contained();
}

#[test]
fn an_entry_declaring_more_than_the_byte_cap_is_refused_unread() {
    let s = Scene::new();
    // A header claiming 4 GiB + 1 with no data behind it: refused from the
    // header alone, nothing allocated or written.
    let mut tar = header(EntryType::Regular, "huge", MAX_UNPACKED_BYTES + 1, None)
        .as_bytes()
        .to_vec();
    tar.extend_from_slice(&[0; 1024]);
    let e = s.unpack(tar).expect_err("refused");
    assert!(
        matches!(
            e,
            UnpackError::TooLarge {
                max: MAX_UNPACKED_BYTES,
                ..
            }
        ),
        "{e}"
    );
    assert!(!s.raw.join("huge").exists());
    s.assert_contained();
}

#[test]
fn the_byte_cap_spans_every_archive_of_a_job() {
    let s = Scene::new();
    let mut budget = Budget::new(1 << 20, 100);
    let zeros = vec![0u8; 600 << 10];
    let first = s.archive(tarball(&[(EntryType::Regular, "one", &zeros, None)]));
    unpack(&first, &s.raw, &mut budget).expect("within the budget");
    // A gzip bomb in miniature: 600 KiB of zeros compress to almost nothing.
    let second = s.raw.join("second.tar.gz");
    fs::rename(
        s.archive(tarball(&[(EntryType::Regular, "two", &zeros, None)])),
        &second,
    )
    .expect("rename");
    assert!(fs::metadata(&second).expect("stat").len() < 8 << 10);
    let e = unpack(&second, &s.raw, &mut budget).expect_err("over the budget");
    assert!(
        matches!(e, UnpackError::TooLarge { max: 1_048_576, .. }),
        "{e}"
    );
    assert!(!s.raw.join("two").exists(), "written before the check");
    assert_eq!(
        fs::metadata(s.raw.join("one")).expect("one").len(),
        600 << 10
    );
}

#[test]
fn oversized_long_name_records_are_refused() {
    let s = Scene::new();
    let mut b = tar::Builder::new(Vec::new());
    let name = vec![b'a'; (MAX_META_BYTES + 1) as usize];
    let h = header(
        EntryType::GNULongName,
        "././@LongLink",
        name.len() as u64,
        None,
    );
    b.append(&h, &name[..]).expect("append");
    let h = header(EntryType::Regular, "short", 0, None);
    b.append(&h, &b""[..]).expect("append");
    let e = s
        .unpack(b.into_inner().expect("finish"))
        .expect_err("refused");
    assert!(matches!(e, UnpackError::Metadata { .. }), "{e}");
    s.assert_contained();
}

#[test]
fn long_names_within_limits_unpack() {
    let s = Scene::new();
    let mut b = tar::Builder::new(Vec::new());
    let long = format!("artifacts/{}/profile_export.jsonl", "d".repeat(150));
    let mut h = Header::new_gnu();
    h.set_size(3);
    h.set_mode(0o644);
    b.append_data(&mut h, &long, &b"{}\n"[..]).expect("append");
    let w = s.unpack(b.into_inner().expect("finish")).expect("unpacks");
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(s.read(&long), "{}\n");
}

#[test]
fn a_link_planted_at_a_file_s_place_is_replaced_not_followed() {
    let s = Scene::new();
    symlink(s.outside.join("victim"), s.raw.join("planted")).expect("link");
    let mut f = create_file_below(&s.raw, Path::new("planted")).expect("created");
    f.write_all(b"mine").expect("write");
    assert_eq!(s.read("planted"), "mine");
    // The object download path: the slot is cleared, then created new.
    symlink(s.outside.join("victim"), s.raw.join("obj")).expect("link");
    let dest = clear_file_slot(&s.raw, Path::new("obj")).expect("cleared");
    assert!(fs::symlink_metadata(&dest).is_err());
    s.assert_contained();
}

#[test]
fn a_link_planted_as_a_directory_is_an_error() {
    let s = Scene::new();
    symlink(&s.outside, s.raw.join("dir")).expect("link");
    let e = create_file_below(&s.raw, Path::new("dir/new")).expect_err("refused");
    assert!(e.to_string().contains("not a directory"), "{e}");
    let e = s
        .unpack(tarball(&[(EntryType::Regular, "dir/new", b"pwned", None)]))
        .expect_err("refused");
    assert!(e.to_string().contains("not a directory"), "{e}");
    fs::remove_file(s.raw.join("dir")).expect("unlink");
    s.assert_contained();
}

#[test]
fn reset_dir_removes_a_link_without_following_it() {
    let s = Scene::new();
    let level = s.tmp.path().join("run/c2");
    fs::create_dir_all(&level).expect("level");
    symlink(&s.outside, level.join("download")).expect("link");
    reset_dir(&level.join("download")).expect("reset");
    assert!(fs::symlink_metadata(level.join("download"))
        .expect("stat")
        .is_dir());
    s.assert_contained();
}
