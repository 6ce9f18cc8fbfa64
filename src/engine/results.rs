//! The results file of an apply (`apply --results FILE`): one entry per merchant with its outcome,
//! its error and the changes done, so a fleet run that failed for 3 of 2,000 merchants is resumed
//! for exactly those 3 (`--msn-from FILE --only failed`). Format: docs/partial-runs.md.

use crate::apply::{ApplyReport, Outcome};
use crate::plan::render::json::actions;
use crate::plan::Plan;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const FORMAT_VERSION: &str = "1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetResults {
    pub format_version: String,
    /// Where the run applied (a base URL, or `sandbox`).
    pub base_url: String,
    pub merchants: Vec<MerchantResult>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantResult {
    pub msn: String,
    pub outcome: MerchantOutcome,
    /// The first error (or why nothing ran), as the report prints it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<ChangeResult>,
}

/// A merchant's outcome. Everything but `succeeded` and `no_changes` is left to resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MerchantOutcome {
    /// Every change was made.
    Succeeded,
    /// Nothing to do.
    NoChanges,
    /// At least one change failed or was skipped.
    Failed,
    /// The run was stopped (signal, deadline) with changes in flight or not started.
    Interrupted,
    /// Nothing was applied: the run failed before its writes (a read, a lock, a plan problem).
    NotRun,
}

impl MerchantOutcome {
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            MerchantOutcome::Succeeded | MerchantOutcome::NoChanges
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeResult {
    pub address: String,
    pub actions: Vec<String>,
    /// `done`, `failed`, `skipped` or `unknown`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    #[error("could not read {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a vippsctl results file: {message}")]
    Syntax { path: String, message: String },
    #[error("{path}: results format version {found} is not supported (this vippsctl reads version {FORMAT_VERSION})")]
    Version { path: String, found: String },
    #[error("could not write {path}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl FleetResults {
    /// What an apply of `plan` did, merchant by merchant.
    pub fn of(plan: &Plan, report: &ApplyReport, base_url: &str) -> FleetResults {
        let merchants = plan
            .merchants
            .iter()
            .map(|m| {
                let mine: Vec<_> = report
                    .results
                    .iter()
                    .filter(|r| r.address.msn == m.msn)
                    .collect();
                let changes: Vec<ChangeResult> = mine
                    .iter()
                    .map(|r| {
                        let (outcome, detail) = match &r.outcome {
                            Outcome::Done { detail } => ("done", detail.clone()),
                            Outcome::Failed { error } => ("failed", Some(error.clone())),
                            Outcome::Skipped { reason } => ("skipped", Some(reason.clone())),
                            Outcome::Unknown { reason } => ("unknown", Some(reason.clone())),
                        };
                        ChangeResult {
                            address: r.address.to_string(),
                            actions: actions(r.action).iter().map(|s| s.to_string()).collect(),
                            outcome: outcome.into(),
                            detail,
                        }
                    })
                    .collect();
                let first_error = mine.iter().find_map(|r| match &r.outcome {
                    Outcome::Failed { error } => Some(format!("{}: {error}", r.address)),
                    Outcome::Skipped { reason } | Outcome::Unknown { reason } => {
                        Some(format!("{}: {reason}", r.address))
                    }
                    Outcome::Done { .. } => None,
                });
                let interrupted = report.interrupted.is_some()
                    && mine
                        .iter()
                        .any(|r| !matches!(r.outcome, Outcome::Done { .. }));
                let outcome = if mine.is_empty() {
                    MerchantOutcome::NoChanges
                } else if interrupted {
                    MerchantOutcome::Interrupted
                } else if first_error.is_some() {
                    MerchantOutcome::Failed
                } else {
                    MerchantOutcome::Succeeded
                };
                MerchantResult {
                    msn: m.msn.clone(),
                    outcome,
                    error: first_error,
                    changes,
                }
            })
            .collect();
        FleetResults {
            format_version: FORMAT_VERSION.into(),
            base_url: base_url.into(),
            merchants,
        }
    }

    /// A run that ended before its writes: every merchant of it is left to resume.
    pub fn not_run(msns: &[String], error: &str, base_url: &str) -> FleetResults {
        FleetResults {
            format_version: FORMAT_VERSION.into(),
            base_url: base_url.into(),
            merchants: msns
                .iter()
                .map(|msn| MerchantResult {
                    msn: msn.clone(),
                    outcome: MerchantOutcome::NotRun,
                    error: Some(error.into()),
                    changes: Vec::new(),
                })
                .collect(),
        }
    }

    /// The merchants left to resume: not `succeeded`, not `no_changes`.
    pub fn unfinished(&self) -> Vec<String> {
        self.merchants
            .iter()
            .filter(|m| !m.outcome.is_finished())
            .map(|m| m.msn.clone())
            .collect()
    }

    pub fn read(path: &Path) -> Result<FleetResults, ResultsError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ResultsError::Read {
            path: name.clone(),
            source,
        })?;
        #[derive(Deserialize)]
        struct VersionOnly {
            format_version: serde_json::Value,
        }
        let syntax = |e: serde_json::Error| ResultsError::Syntax {
            path: name.clone(),
            message: e.to_string(),
        };
        let v: VersionOnly = serde_json::from_str(&text).map_err(syntax)?;
        if v.format_version != serde_json::Value::String(FORMAT_VERSION.into()) {
            return Err(ResultsError::Version {
                path: name,
                found: v.format_version.to_string(),
            });
        }
        serde_json::from_str(&text).map_err(syntax)
    }

    /// Written atomically: a run killed while writing leaves the previous file whole.
    pub fn write(&self, path: &Path) -> Result<(), ResultsError> {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        crate::fsutil::write_atomic(path, text.as_bytes(), crate::fsutil::PRIVATE).map_err(
            |source| ResultsError::Write {
                path: path.display().to_string(),
                source,
            },
        )
    }
}
