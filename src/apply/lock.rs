//! One apply at a time per merchant. Webhook registrations have server-assigned ids, so two runs
//! that both see a webhook missing both register it (a duplicate, and two secrets racing for one
//! sink); no API call can prevent that. Runs from the same working directory therefore take an
//! exclusive lock per merchant under `.vippsctl/locks/` for the whole observe-plan-apply. The
//! operating system releases it when the process ends, however it ends, so a killed run never
//! leaves a stale lock. Runs on different machines must be serialised by the CI system (see
//! docs/operations.md).

use fs4::fs_std::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the lock files live, below the working directory.
pub const LOCK_DIR: &str = ".vippsctl/locks";

#[derive(Debug, thiserror::Error)]
#[error("could not lock {path} (another vippsctl apply may be running)")]
pub struct LockError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
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

/// Lock every merchant in `msns` (in sorted order, so two runs cannot deadlock), waiting for a
/// run that holds one. `waiting` is called once per lock that is busy.
pub async fn acquire(
    dir: &Path,
    msns: &[String],
    waiting: &dyn Fn(&str, &Path),
) -> Result<ApplyLock, LockError> {
    let mut sorted: Vec<&String> = msns.iter().collect();
    sorted.sort();
    sorted.dedup();
    let mut files = Vec::new();
    for msn in sorted {
        let path = lock_path(dir, msn);
        let err = |source| LockError {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(err)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(err)?;
        let mut told = false;
        while !FileExt::try_lock_exclusive(&file).map_err(err)? {
            if !told {
                waiting(msn, &path);
                told = true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        files.push(file);
    }
    Ok(ApplyLock { _files: files })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn a_second_lock_waits_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let msns = vec!["123456".to_string(), "654321".to_string()];
        let first = acquire(dir.path(), &msns, &|_, _| {}).await.unwrap();
        let waited = AtomicUsize::new(0);
        let second = async {
            acquire(dir.path(), &msns[1..], &|_, _| {
                waited.fetch_add(1, Ordering::SeqCst);
            })
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
