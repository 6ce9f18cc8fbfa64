//! The outcome of an apply: one line per action and a closing count.

use crate::plan::model::Action;
use crate::resources::Address;
use serde::Serialize;
use std::fmt::Write as _;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Done {
        detail: Option<String>,
    },
    Failed {
        error: String,
    },
    Skipped {
        reason: String,
    },
    /// Abandoned while in flight (the run was interrupted): it may or may not have happened.
    Unknown {
        reason: String,
    },
}

impl Outcome {
    pub fn is_failed(&self) -> bool {
        matches!(self, Outcome::Failed { .. })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionResult {
    pub address: Address,
    pub action: Action,
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl ActionResult {
    pub fn line(&self) -> String {
        let sym = self.action.symbol();
        match &self.outcome {
            Outcome::Done { detail: Some(d) } => format!("done    {sym:>3} {}: {d}", self.address),
            Outcome::Done { detail: None } => format!("done    {sym:>3} {}", self.address),
            Outcome::Failed { error } => format!("failed  {sym:>3} {}: {error}", self.address),
            Outcome::Skipped { reason } => format!("skipped {sym:>3} {}: {reason}", self.address),
            Outcome::Unknown { reason } => format!("unknown {sym:>3} {}: {reason}", self.address),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ApplyReport {
    pub results: Vec<ActionResult>,
    /// Webhooks that may be registered while their one-time secret reached no sink (the answer
    /// was lost and could not be resolved, or the sink failed and the registration could not be
    /// taken back). Nothing live shows this, so the caller must remember them and have the next
    /// plan replace them.
    pub lost_secrets: Vec<crate::resources::Address>,
    /// Why the apply stopped early (a signal, the run deadline), if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<String>,
}

impl ApplyReport {
    /// (done, failed, skipped); see [`ApplyReport::unknown`] for the fourth kind.
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for r in &self.results {
            match r.outcome {
                Outcome::Done { .. } => c.0 += 1,
                Outcome::Failed { .. } => c.1 += 1,
                Outcome::Skipped { .. } => c.2 += 1,
                Outcome::Unknown { .. } => {}
            }
        }
        c
    }

    /// Changes abandoned in flight.
    pub fn unknown(&self) -> usize {
        self.results
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Unknown { .. }))
            .count()
    }

    pub fn succeeded(&self) -> bool {
        let (_, failed, skipped) = self.counts();
        failed == 0 && skipped == 0 && self.unknown() == 0 && self.interrupted.is_none()
    }

    /// The report: every action, then the closing line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for r in &self.results {
            let _ = writeln!(out, "{}", r.line());
        }
        let (done, failed, skipped) = self.counts();
        let unknown = self.unknown();
        let state = match &self.interrupted {
            Some(why) => why.clone(),
            None if failed + skipped + unknown == 0 => "complete".into(),
            None => "incomplete".into(),
        };
        let unknown_count = if unknown > 0 {
            format!(", {unknown} unknown")
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "Apply {state}: {done} done, {failed} failed, {skipped} skipped{unknown_count}."
        );
        if unknown > 0 {
            let _ = writeln!(
                out,
                "Changes marked unknown were in flight when the run stopped: they may or may not have been made; the next plan reads the live state and shows what is still to do."
            );
        }
        if !self.lost_secrets.is_empty() {
            let _ = writeln!(
                out,
                "The one-time secret of {} may be lost; the next plan replaces it:",
                if self.lost_secrets.len() == 1 {
                    "1 webhook".to_string()
                } else {
                    format!("{} webhooks", self.lost_secrets.len())
                }
            );
            for a in &self.lost_secrets {
                let _ = writeln!(out, "  {a}");
            }
        }
        if self.interrupted.is_some() {
            let _ = writeln!(
                out,
                "Run apply again to finish: it re-reads live state and does only what is still missing."
            );
        } else if failed + skipped + unknown > 0 {
            let _ = writeln!(
                out,
                "Run apply again after fixing the cause: it re-reads live state and does only what is still missing."
            );
        }
        out
    }
}
