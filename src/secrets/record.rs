//! The lost-secrets record: webhooks whose one-time secret an apply could not hand to its sink,
//! by API target. Live state cannot show a lost secret, so only this file remembers it until the
//! next apply replaces the registration. A crash-safety file: written atomically and fsynced.

use crate::resources::Address;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where the record lives, below the workspace root.
pub const LOST_SECRETS: &str = ".vippsctl/lost-secrets.json";

#[derive(Debug, thiserror::Error)]
#[error("could not update {}", path.display())]
pub struct RecordError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct File {
    /// Target label (base URL or `sandbox`) -> addresses.
    #[serde(default)]
    targets: BTreeMap<String, Vec<Address>>,
}

/// The record of one workspace.
#[derive(Debug, Clone)]
pub struct LostSecrets {
    path: PathBuf,
}

impl LostSecrets {
    pub fn in_workspace(root: &Path) -> LostSecrets {
        LostSecrets {
            path: root.join(LOST_SECRETS),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> File {
        std::fs::read_to_string(&self.path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    }

    /// The webhooks to replace because an earlier apply against `target` lost their secret.
    pub fn lost(&self, target: &str) -> Vec<Address> {
        self.read().targets.remove(target).unwrap_or_default()
    }

    /// Forget the webhooks whose registration succeeded now, remember the ones lost now.
    pub fn update(
        &self,
        target: &str,
        succeeded: &[Address],
        lost: &[Address],
    ) -> Result<(), RecordError> {
        let err = |source| RecordError {
            path: self.path.clone(),
            source,
        };
        let mut all = self.read();
        let entry = all.targets.entry(target.to_string()).or_default();
        let before = entry.clone();
        entry.retain(|a| !succeeded.contains(a));
        for a in lost {
            if !entry.contains(a) {
                entry.push(a.clone());
            }
        }
        if *entry == before {
            return Ok(());
        }
        if entry.is_empty() {
            all.targets.remove(target);
        }
        if all.targets.is_empty() {
            return match std::fs::remove_file(&self.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(err(e)),
                _ => Ok(()),
            };
        }
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let text = serde_json::to_string_pretty(&all).unwrap_or_default();
        crate::fsutil::write_atomic(&self.path, text.as_bytes(), crate::fsutil::PRIVATE)
            .map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_secret_is_remembered_per_target_until_its_registration_succeeds() {
        let dir = tempfile::tempdir().unwrap();
        let r = LostSecrets::in_workspace(dir.path());
        let a = Address::new("654321", crate::resources::Kind::RedirectQrs, "menu-1");
        r.update("sandbox", &[], std::slice::from_ref(&a)).unwrap();
        assert_eq!(r.lost("sandbox"), vec![a.clone()]);
        assert!(r.lost("https://apitest.vipps.no").is_empty());
        r.update("sandbox", std::slice::from_ref(&a), &[]).unwrap();
        assert!(r.lost("sandbox").is_empty());
        assert!(!r.path().exists(), "an empty record is removed");
    }
}
