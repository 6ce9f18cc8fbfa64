//! How a user's config uses each operation, so `specs diff --config` can say "affects 12
//! redirectQrs in examples/cafe.yaml" next to a change.
//!
//! Until `crate::config` can load a desired state, this reads the YAML loosely and counts the
//! objects of each kind under `merchants[]`; that is all a diff note needs.

use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The config kind each operation serves: the one table that maps spec changes to config objects.
/// `*` marks an operation every run needs (the access token); `discovery` one that only
/// `import --all` calls (the Management sales units), whatever the config declares;
/// `integration` one vippsctl never calls, served by the simulator for merchants' own
/// integrations (ePayment).
pub const OPERATION_KINDS: &[(&str, &str)] = &[
    ("fetch_access_token", "*"),
    ("list_webhooks", "webhooks"),
    ("register_webhook", "webhooks"),
    ("delete_webhook", "webhooks"),
    ("list_redirect_qrs", "redirectQrs"),
    ("create_redirect_qr", "redirectQrs"),
    ("get_redirect_qr", "redirectQrs"),
    ("update_redirect_qr", "redirectQrs"),
    ("delete_redirect_qr", "redirectQrs"),
    ("list_callback_qrs", "callbackQrs"),
    ("get_callback_qr", "callbackQrs"),
    ("put_callback_qr", "callbackQrs"),
    ("delete_callback_qr", "callbackQrs"),
    ("list_agreements", "agreements"),
    ("draft_agreement", "agreements"),
    ("fetch_agreement", "agreements"),
    ("update_agreement", "agreements"),
    ("accept_agreement", "agreements"),
    ("list_sales_units", "discovery"),
    ("get_sales_unit", "discovery"),
    ("list_merchant_sales_units", "discovery"),
    ("list_charges", "integration"),
    ("create_charge", "integration"),
    ("fetch_charge", "integration"),
    ("cancel_charge", "integration"),
    ("capture_charge", "integration"),
    ("refund_charge", "integration"),
    ("fetch_charge_by_id", "integration"),
    ("upload_image", "integration"),
    ("put_order_category", "integration"),
    ("add_order_lines", "integration"),
    ("get_order", "integration"),
    ("create_category", "integration"),
    ("list_categories", "integration"),
    ("get_category", "integration"),
    ("delete_category", "integration"),
    ("create_payment", "integration"),
    ("get_payment", "integration"),
    ("get_payment_events", "integration"),
    ("capture_payment", "integration"),
    ("refund_payment", "integration"),
    ("cancel_payment", "integration"),
    ("force_approve_payment", "integration"),
];

/// The kinds counted in a config.
pub const KINDS: [&str; 4] = ["webhooks", "redirectQrs", "callbackQrs", "agreements"];

pub fn kind_of(operation: &str) -> Option<&'static str> {
    OPERATION_KINDS
        .iter()
        .find(|(op, _)| *op == operation)
        .map(|(_, k)| *k)
}

#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error("could not read config {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config {path} is not valid YAML")]
    Yaml {
        path: PathBuf,
        #[source]
        source: serde_yaml::Error,
    },
}

/// Object counts per kind, per config file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConfigUsage {
    pub files: Vec<(PathBuf, BTreeMap<String, usize>)>,
}

impl ConfigUsage {
    /// Read config files, or every `*.yaml`/`*.yml` in a directory (recursively, sorted).
    pub fn load(paths: &[PathBuf]) -> Result<ConfigUsage, UsageError> {
        let mut files = Vec::new();
        for p in paths {
            collect(p, &mut files)?;
        }
        let mut usage = ConfigUsage::default();
        for f in files {
            let text = std::fs::read_to_string(&f).map_err(|source| UsageError::Read {
                path: f.clone(),
                source,
            })?;
            usage.files.push((f.clone(), count_kinds(&text, &f)?));
        }
        Ok(usage)
    }

    /// "affects 12 redirectQrs in examples/cafe.yaml", or "not used by the config".
    pub fn describe(&self, operation: &str) -> String {
        let Some(kind) = kind_of(operation) else {
            return "not used by the config".into();
        };
        if kind == "discovery" {
            return "used by `import --all`, not by the config".into();
        }
        if kind == "integration" {
            return "not called by vippsctl (served by `vippsctl sim` for your integration)".into();
        }
        let mut parts = Vec::new();
        for (file, counts) in &self.files {
            if kind == "*" {
                let total: usize = counts.values().sum();
                if total > 0 {
                    parts.push(format!(
                        "every call for the {total} objects in {}",
                        file.display()
                    ));
                }
            } else if let Some(n) = counts.get(kind).filter(|n| **n > 0) {
                parts.push(format!("{n} {kind} in {}", file.display()));
            }
        }
        if parts.is_empty() {
            "not used by the config".into()
        } else {
            format!("affects {}", parts.join("; "))
        }
    }
}

fn collect(p: &Path, out: &mut Vec<PathBuf>) -> Result<(), UsageError> {
    if p.is_dir() {
        let read = std::fs::read_dir(p).map_err(|source| UsageError::Read {
            path: p.to_path_buf(),
            source,
        })?;
        let mut entries: Vec<PathBuf> = read.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for e in entries {
            let yaml = e
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| x == "yaml" || x == "yml");
            if e.is_dir() || yaml {
                collect(&e, out)?;
            }
        }
    } else {
        out.push(p.to_path_buf());
    }
    Ok(())
}

fn count_kinds(text: &str, path: &Path) -> Result<BTreeMap<String, usize>, UsageError> {
    let doc: serde_yaml::Value = serde_yaml::from_str(text).map_err(|source| UsageError::Yaml {
        path: path.to_path_buf(),
        source,
    })?;
    let mut counts: BTreeMap<String, usize> = KINDS.iter().map(|k| (k.to_string(), 0)).collect();
    let merchants = doc.get("merchants").and_then(|m| m.as_sequence());
    for m in merchants.into_iter().flatten() {
        for kind in KINDS {
            let n = m
                .get(kind)
                .and_then(|v| v.as_sequence())
                .map_or(0, Vec::len);
            *counts.entry(kind.to_string()).or_default() += n;
        }
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::specs::ops::OPERATIONS;

    #[test]
    fn every_operation_has_a_kind() {
        for op in OPERATIONS {
            assert!(kind_of(op.name).is_some(), "{} has no config kind", op.name);
        }
    }

    #[test]
    fn counts_objects_per_kind_across_merchants() {
        let yaml = "merchants:\n  - msn: '123456'\n    redirectQrs: [{id: a}, {id: b}]\n    webhooks: [{url: x}]\n  - msn: '654321'\n    redirectQrs: [{id: c}]\n";
        let counts = count_kinds(yaml, Path::new("cafe.yaml")).expect("valid yaml");
        assert_eq!(counts["redirectQrs"], 3);
        assert_eq!(counts["webhooks"], 1);
        assert_eq!(counts["agreements"], 0);
        let usage = ConfigUsage {
            files: vec![(PathBuf::from("cafe.yaml"), counts)],
        };
        assert_eq!(
            usage.describe("update_redirect_qr"),
            "affects 3 redirectQrs in cafe.yaml"
        );
        assert_eq!(usage.describe("draft_agreement"), "not used by the config");
        assert_eq!(
            usage.describe("capture_payment"),
            "not called by vippsctl (served by `vippsctl sim` for your integration)"
        );
        assert_eq!(
            usage.describe("fetch_access_token"),
            "affects every call for the 4 objects in cafe.yaml"
        );
    }

    #[test]
    fn bad_yaml_is_an_error_not_a_panic() {
        assert!(count_kinds("merchants: [", Path::new("x.yaml")).is_err());
    }
}
