//! The one way vippsctl replaces a file: write a temporary file in the same folder, fsync it,
//! rename it over the target, fsync the folder. A reader sees the old content or the new, never
//! half of either, and after a power cut the new content is on disk once the call returned.
//! Used by the secret sinks, saved plans, the lost-secrets record, QR images and the simulator's
//! state file.
//!
//! A target that is a symbolic link is written through: the link stays and its target gets the
//! content (secrets are often kept in a vault folder and linked into place).
//!
//! A temporary file is locked (advisory, released by the OS however the process ends) for as
//! long as its writer lives, so a later run can tell one left by a killed write from one being
//! written right now ([`remove_stale_temp_files`]).

use fs4::fs_std::FileExt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// How to write a file.
#[derive(Debug, Clone, Copy)]
pub struct WriteOptions {
    /// Permission bits of the new file (Unix).
    pub mode: u32,
    /// Name prefix of the temporary file, so that leftovers of one kind can be found later.
    pub temp_prefix: &'static str,
}

/// Secrets: owner only, and a prefix that [`remove_stale_temp_files`] looks for next to sinks.
pub const SECRET: WriteOptions = WriteOptions {
    mode: 0o600,
    temp_prefix: SECRET_TEMP_PREFIX,
};

/// vippsctl's own records (plans, the lost-secrets record): owner only.
pub const PRIVATE: WriteOptions = WriteOptions {
    mode: 0o600,
    temp_prefix: ".vippsctl-tmp",
};

/// Files meant to be shared (printable QR images and sheets).
pub const PUBLIC: WriteOptions = WriteOptions {
    mode: 0o644,
    temp_prefix: ".vippsctl-tmp",
};

/// The prefix of temporary files that hold secrets.
pub const SECRET_TEMP_PREFIX: &str = ".vippsctl-secret";

/// More links than this in a chain is a loop (Linux gives up at 40 too).
const MAX_LINKS: usize = 40;

/// The file a write to `path` lands in: `path` itself, or the end of its chain of symbolic
/// links (which need not exist yet).
pub fn resolve_links(path: &Path) -> std::io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = std::fs::read_link(&current)?;
                current = if target.is_absolute() {
                    target
                } else {
                    parent_of(&current).join(target)
                };
            }
            Ok(_) => return Ok(current),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other(format!(
        "{} is a chain of more than {MAX_LINKS} symbolic links (a loop?)",
        path.display()
    )))
}

fn parent_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Replace the content of `path` (through symbolic links), creating its folder if needed.
pub fn write_atomic(path: &Path, content: &[u8], opts: WriteOptions) -> std::io::Result<()> {
    let target = resolve_links(path)?;
    let dir = parent_of(&target);
    std::fs::create_dir_all(dir)?;
    let mut tmp = locked_temp_file(dir, opts.temp_prefix)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(opts.mode))?;
    }
    tmp.write_all(content)?;
    tmp.as_file().sync_all()?;
    // The returned handle still holds the lock; dropping it releases it.
    let _file = tmp.persist(&target).map_err(|e| e.error)?;
    sync_dir(dir)
}

/// A new temporary file in `dir`, locked. Between creating and locking it, another run's
/// [`remove_stale_temp_files`] may take it for a leftover and remove it; the file is then no
/// longer at its path, and a fresh one is made.
fn locked_temp_file(dir: &Path, prefix: &str) -> std::io::Result<tempfile::NamedTempFile> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let tmp = tempfile::Builder::new().prefix(prefix).tempfile_in(dir)?;
        FileExt::lock_exclusive(tmp.as_file())?;
        if still_at_its_path(&tmp)? || attempts >= 5 {
            return Ok(tmp);
        }
    }
}

#[cfg(unix)]
fn still_at_its_path(tmp: &tempfile::NamedTempFile) -> std::io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let open = tmp.as_file().metadata()?;
    Ok(match std::fs::symlink_metadata(tmp.path()) {
        Ok(m) => m.dev() == open.dev() && m.ino() == open.ino(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(e),
    })
}

#[cfg(not(unix))]
fn still_at_its_path(tmp: &tempfile::NamedTempFile) -> std::io::Result<bool> {
    Ok(tmp.path().exists())
}

/// The rename is durable only once the folder's entry is on disk.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Remove the temporary files named `prefix*` in `dir` that no running writer holds: a write
/// killed before its rename leaves one (with the whole new content, secrets included). Returns
/// the paths removed. A folder that does not exist has none.
pub fn remove_stale_temp_files(dir: &Path, prefix: &str) -> std::io::Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut removed = Vec::new();
    for entry in entries {
        let entry = entry?;
        if !entry.file_name().to_string_lossy().starts_with(prefix) {
            continue;
        }
        let path = entry.path();
        if !std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
            continue;
        }
        let Ok(file) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
        else {
            continue;
        };
        // Held by a writer that is still running: not a leftover.
        if !FileExt::try_lock_exclusive(&file)? {
            continue;
        }
        match std::fs::remove_file(&path) {
            Ok(()) => removed.push(path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    removed.sort();
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_the_content_and_set_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/f.txt");
        write_atomic(&path, b"one", PRIVATE).unwrap();
        write_atomic(&path, b"two", SECRET).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let names: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["f.txt"], "no temporary file is left behind");
    }

    #[cfg(unix)]
    #[test]
    fn links_are_written_through_even_when_dangling_or_chained() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("vault/real.env");
        std::os::unix::fs::symlink("vault/real.env", dir.path().join("a")).unwrap();
        std::os::unix::fs::symlink("a", dir.path().join("b")).unwrap();
        write_atomic(&dir.path().join("b"), b"x", SECRET).unwrap();
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "x");
        assert!(std::fs::symlink_metadata(dir.path().join("b"))
            .unwrap()
            .file_type()
            .is_symlink());
        std::os::unix::fs::symlink("loop", dir.path().join("loop")).unwrap();
        assert!(write_atomic(&dir.path().join("loop"), b"x", SECRET).is_err());
    }

    #[test]
    fn only_unlocked_leftovers_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let stale = dir.path().join(".vippsctl-secretX1");
        std::fs::write(&stale, "K=v").unwrap();
        let busy = locked_temp_file(dir.path(), SECRET_TEMP_PREFIX).unwrap();
        let other = dir.path().join("keep.env");
        std::fs::write(&other, "K=v").unwrap();
        let removed = remove_stale_temp_files(dir.path(), SECRET_TEMP_PREFIX).unwrap();
        assert_eq!(removed, std::slice::from_ref(&stale));
        assert!(busy.path().exists() && other.exists() && !stale.exists());
        assert!(
            remove_stale_temp_files(&dir.path().join("none"), SECRET_TEMP_PREFIX)
                .unwrap()
                .is_empty()
        );
    }
}
