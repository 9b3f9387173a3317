//! Directories a tool call names (`project_dir`, `local_dir`), admitted only
//! inside what the operator allows: the server's working directory and
//! `serve --allow-dir`. The check runs on the path as written first (made
//! absolute, `.` and `..` resolved without touching the disk, so a refused
//! path reveals nothing about what exists there), then again once symlinks
//! are resolved.

use std::path::{Component, Path, PathBuf};

use super::server::Shared;

/// The directory `raw` names, resolved, if the operator allows it.
pub(crate) fn allowed_dir(shared: &Shared, raw: &str, what: &str) -> Result<PathBuf, String> {
    let refuse = || {
        format!(
            "{what} {raw:?} is outside the directories this server may use (its working \
             directory, and those the operator allows with `mcc-bench serve --allow-dir DIR`)"
        )
    };
    let written = Path::new(raw);
    let absolute = match (&shared.cwd, written.is_absolute()) {
        (_, true) => written.to_path_buf(),
        (Some(cwd), false) => cwd.join(written),
        (None, false) => return Err(refuse()),
    };
    let lexical = normalize(&absolute);
    if !shared.policy.allows_dir(&lexical, shared.cwd.as_deref()) {
        return Err(refuse());
    }
    let real = std::fs::canonicalize(&lexical)
        .map_err(|e| format!("{what} {raw:?} cannot be used: {e}"))?;
    if !shared.policy.allows_dir(&real, shared.cwd.as_deref()) {
        return Err(refuse());
    }
    Ok(real)
}

/// `.` and `..` resolved lexically (`..` at the root stays at the root).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::domain::ServerPolicy;
    use crate::jobs::Jobs;

    #[test]
    fn only_allowed_directories_pass_even_through_dot_dot_and_symlinks() {
        let root = tempfile::tempdir().expect("tmp");
        let root = std::fs::canonicalize(root.path()).expect("real");
        let inside = root.join("inside");
        std::fs::create_dir_all(inside.join("project")).expect("mkdir");
        std::os::unix::fs::symlink("/etc", inside.join("escape")).expect("symlink");
        let mut shared = Shared::with_policy(
            Catalog::builtin(),
            Jobs::new(&root, Path::new("/bin/true")),
            ServerPolicy::default(),
        );
        shared.cwd = Some(inside.clone());
        assert_eq!(
            allowed_dir(&shared, "project", "project_dir").expect("ok"),
            inside.join("project")
        );
        for bad in ["/etc", "../", "project/../../", "escape", "/proc/self/cwd"] {
            let e = allowed_dir(&shared, bad, "project_dir").expect_err(bad);
            assert!(e.contains("--allow-dir"), "{bad}: {e}");
        }
        let missing = allowed_dir(&shared, "/nonexistent/x", "project_dir").expect_err("outside");
        assert!(
            !missing.contains("No such file"),
            "no existence oracle: {missing}"
        );
        shared.policy.allow_dirs = vec![PathBuf::from("/etc")];
        assert!(allowed_dir(&shared, "escape", "project_dir").is_ok());
    }
}
