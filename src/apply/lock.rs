//! One apply at a time per merchant. Webhook registrations have server-assigned ids, so two runs
//! that both see a webhook missing both register it (a duplicate, and two secrets racing for one
//! sink); no API call can prevent that. Runs from the same working directory therefore take an
//! exclusive lock per merchant under `.vippsctl/locks/` for the whole observe-plan-apply. The
//! operating system releases it when the process ends, however it ends, so a killed run never
//! leaves a stale lock. The holder writes its pid and start time into the file, so a second run
//! can say who it is waiting for; by default it does not wait at all (`apply --lock-timeout`).
//! Runs on different machines must be serialised by the CI system (see docs/operations.md).

use fs4::fs_std::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the lock files live, below the working directory.
pub const LOCK_DIR: &str = ".vippsctl/locks";

/// Who holds a lock, as the holder wrote it into the lock file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    /// When it took the lock (RFC 3339, UTC).
    pub since: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {}, since {}", self.pid, self.since)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("could not lock {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("merchant {msn} is being applied by another vippsctl ({}){}; its lock is {}", holder_text(.holder), waited_text(*.waited), .path.display())]
    Busy {
        msn: String,
        path: PathBuf,
        holder: Option<Holder>,
        /// How long this run waited (`--lock-timeout`); zero: it did not wait.
        waited: Duration,
    },
}

fn holder_text(h: &Option<Holder>) -> String {
    match h {
        Some(h) => h.to_string(),
        None => "its pid is not recorded".into(),
    }
}

fn waited_text(waited: Duration) -> String {
    if waited.is_zero() {
        String::new()
    } else {
        format!(" and still was after {}", crate::duration::show(waited))
    }
}

/// Held for as long as the apply runs; dropping it releases the locks.
#[derive(Debug)]
pub struct ApplyLock {
    _files: Vec<std::fs::File>,
}

pub fn lock_path(dir: &Path, msn: &str) -> PathBuf {
    // MSNs are digits after validation; anything else is hex-encoded so it cannot escape the folder.
    let name: String = if msn.chars().all(|c| c.is_ascii_alphanumeric()) {
        msn.to_string()
    } else {
        hex::encode(msn)
    };
    dir.join(LOCK_DIR).join(format!("apply-{name}.lock"))
}

/// What the holder of the lock file at `path` recorded, if it could be read.
pub fn holder(path: &Path) -> Option<Holder> {
    let text = std::fs::read_to_string(path).ok()?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
            .map(str::trim)
    };
    Some(Holder {
        pid: field("pid")?.parse().ok()?,
        since: field("since")?.to_string(),
    })
}

/// Lock every merchant in `msns` (in sorted order, so two runs cannot deadlock). A lock another
/// run holds is waited for up to `wait` (zero: not at all), calling `waiting` once per lock that
/// is busy; then the error names the lock file and its holder.
pub async fn acquire(
    dir: &Path,
    msns: &[String],
    wait: Duration,
    waiting: &dyn Fn(&str, &Path, Option<&Holder>),
) -> Result<ApplyLock, LockError> {
    let mut sorted: Vec<&String> = msns.iter().collect();
    sorted.sort();
    sorted.dedup();
    let started = tokio::time::Instant::now();
    let mut files = Vec::new();
    for msn in sorted {
        let path = lock_path(dir, msn);
        let err = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(err)?;
        }
        // Not truncated on open: until this run holds the lock, the content is the holder's.
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(err)?;
        let mut told = false;
        while !FileExt::try_lock_exclusive(&file).map_err(err)? {
            if started.elapsed() >= wait {
                return Err(LockError::Busy {
                    msn: msn.clone(),
                    holder: holder(&path),
                    path,
                    waited: wait,
                });
            }
            if !told {
                waiting(msn, &path, holder(&path).as_ref());
                told = true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        record_holder(&mut file).map_err(err)?;
        files.push(file);
    }
    Ok(ApplyLock { _files: files })
}

/// Write this process into the lock file it now holds, for whoever finds it busy.
fn record_holder(file: &mut std::fs::File) -> std::io::Result<()> {
    use std::io::{Seek, Write};
    let since = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    file.set_len(0)?;
    file.rewind()?;
    write!(file, "pid={}\nsince={since}\n", std::process::id())?;
    file.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn a_second_lock_waits_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let msns = vec!["123456".to_string(), "654321".to_string()];
        let first = acquire(dir.path(), &msns, Duration::ZERO, &|_, _, _| {})
            .await
            .unwrap();
        let me = holder(&lock_path(dir.path(), "654321")).unwrap();
        assert_eq!(me.pid, std::process::id());
        // Busy, not waited for: the error names the holder.
        let busy = acquire(dir.path(), &msns[1..], Duration::ZERO, &|_, _, _| {})
            .await
            .unwrap_err();
        assert!(
            busy.to_string().contains(&format!("pid {}", me.pid)),
            "{busy}"
        );
        let waited = AtomicUsize::new(0);
        let second = async {
            acquire(
                dir.path(),
                &msns[1..],
                Duration::from_secs(60),
                &|_, _, h| {
                    assert_eq!(h, Some(&me));
                    waited.fetch_add(1, Ordering::SeqCst);
                },
            )
            .await
        };
        let release = async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            drop(first);
        };
        let (got, ()) = tokio::join!(second, release);
        got.unwrap();
        assert_eq!(waited.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn odd_msns_stay_inside_the_lock_folder() {
        let p = lock_path(Path::new("/w"), "../etc");
        assert_eq!(p, Path::new("/w/.vippsctl/locks/apply-2e2e2f657463.lock"));
    }
}
