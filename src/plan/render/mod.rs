//! Renderers: pure functions of a plan. Text for terminals and CI logs, markdown for pull-request
//! comments, JSON for machines and saved plans.

pub mod json;
pub mod markdown;
pub mod text;

use super::model::{Action, Change, MerchantPlan, Plan, Summary};
use crate::resources::FieldDiff;

/// `Plan: N to add, N to change, N to replace, N to destroy.` or the no-change sentence, and the
/// drift apply cannot undo when there is any.
pub fn summary_line(s: &Summary) -> String {
    let drift = match s.drift {
        0 => String::new(),
        1 => "1 object drifted and apply cannot change it back.".to_string(),
        n => format!(
            "{} objects drifted and apply cannot change them back.",
            count(n)
        ),
    };
    match (s.is_empty(), drift.is_empty()) {
        (true, true) => "No changes. Live state matches the configuration.".to_string(),
        (true, false) => format!("No changes to apply, but {drift}"),
        (false, _) => format!(
            "Plan: {} to add, {} to change, {} to replace, {} to destroy.{}{drift}",
            s.add,
            s.change,
            s.replace,
            s.destroy,
            if drift.is_empty() { "" } else { " " }
        ),
    }
}

/// Each drifted object, for the top of a plan: its address (with the live id) and what happened.
pub(crate) fn drift_lines(plan: &Plan) -> Vec<(String, &str)> {
    plan.changes()
        .filter(|c| c.action == Action::Drift)
        .map(|c| {
            let id = c
                .live_id
                .as_ref()
                .map(|i| format!(" ({i})"))
                .unwrap_or_default();
            let what = c.notes.first().map(String::as_str).unwrap_or("drifted");
            (format!("{}{id}", c.address), what)
        })
        .collect()
}

/// The per-merchant counts, in the same words.
pub fn merchant_summary(m: &MerchantPlan) -> Summary {
    let p = Plan {
        format_version: 0,
        vippsctl_version: String::new(),
        spec_versions: String::new(),
        environment: Default::default(),
        base_url: String::new(),
        config_files: Vec::new(),
        config_digest: String::new(),
        replace: Vec::new(),
        merchants: vec![m.clone()],
        scope: None,
    };
    p.summary()
}

pub(crate) fn merchant_title(m: &MerchantPlan) -> String {
    match &m.name {
        Some(n) => format!("merchant {} ({n})", m.msn),
        None => format!("merchant {}", m.msn),
    }
}

/// The legend of the symbols a plan uses, in a fixed order.
pub(crate) fn legend(plan: &Plan) -> Vec<(&'static str, &'static str)> {
    let all = [
        (Action::Create, "create"),
        (Action::Update, "update in place"),
        (
            Action::ReplaceCreateFirst,
            "replace: create the new one, then delete the old one",
        ),
        (
            Action::ReplaceDeleteFirst,
            "replace: delete the old one, then create the new one",
        ),
        (Action::Delete, "delete (agreements: stop)"),
        (
            Action::AwaitingConsent,
            "awaiting the customer's consent (no action)",
        ),
        (
            Action::Unmanaged,
            if plan.changes().any(|c| c.action == Action::Drift) {
                "not managed by this configuration, a note, or drift apply cannot undo (no action)"
            } else {
                "not managed by this configuration, or a note (no action)"
            },
        ),
    ];
    let used = |a: Action| {
        plan.changes().any(|c| {
            c.action == a
                || (a == Action::Delete && c.action == Action::Stop)
                || (a == Action::Unmanaged && matches!(c.action, Action::Notice | Action::Drift))
        }) || (a == Action::Unmanaged
            && plan
                .merchants
                .iter()
                .any(|m| !m.unmanaged_agreements.is_empty()))
    };
    all.into_iter()
        .filter(|(a, _)| used(*a))
        .map(|(a, text)| (a.symbol(), text))
        .collect()
}

/// A field line's value text: masked when personal, `before -> after` when both exist.
pub(crate) fn field_values(f: &FieldDiff) -> (Option<String>, Option<String>) {
    let mask = |v: &Option<String>| -> Option<String> {
        v.as_ref().map(|s| {
            if f.personal {
                crate::resources::mask_phone(s)
            } else {
                s.clone()
            }
        })
    };
    (mask(&f.before), mask(&f.after))
}

pub(crate) fn effect_note(f: &FieldDiff) -> Option<&'static str> {
    use crate::resources::Effect;
    match f.effect {
        Effect::ForcesReplacement => Some("forces replacement"),
        Effect::Unchangeable => Some("cannot be changed"),
        Effect::Ignored => None,
        Effect::InPlace => None,
    }
}

pub(crate) fn changes_in_order(m: &MerchantPlan) -> Vec<&Change> {
    // Actions first, information after, so a reviewer sees what happens before what does not.
    let mut v: Vec<&Change> = m.changes.iter().collect();
    v.sort_by_key(|c| (!c.action.is_change(), c.address.kind, c.address.key.clone()));
    v
}

/// Thousands separators for counts in sentences.
pub(crate) fn count(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// The changes one agreement policy makes, summarised: `~ 18,412 agreements (policy gold-2027):
/// pricing.amount 29900 -> 34900`. Renderers list the agreements one by one only on request.
pub(crate) struct PolicyGroup<'a> {
    pub policy: &'a str,
    pub changes: Vec<&'a Change>,
}

impl PolicyGroup<'_> {
    /// `pricing.amount 29900 -> 34900; productName "A" -> "B"`, with the distinct before
    /// values (at most three, then how many).
    pub fn fields_line(&self) -> String {
        use std::collections::{BTreeMap, BTreeSet};
        let mut by_field: BTreeMap<&str, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
        for c in &self.changes {
            for f in &c.fields {
                let e = by_field.entry(f.field.as_str()).or_default();
                e.0.insert(f.before.clone().unwrap_or_else(|| "(none)".into()));
                e.1.insert(f.after.clone().unwrap_or_else(|| "(none)".into()));
            }
        }
        let show = |v: &BTreeSet<String>| -> String {
            if v.len() <= 3 {
                v.iter().cloned().collect::<Vec<_>>().join(" | ")
            } else {
                format!("({} different values)", v.len())
            }
        };
        by_field
            .iter()
            .map(|(f, (b, a))| format!("{f} {} -> {}", show(b), show(a)))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn headline(&self) -> String {
        let n = self.changes.len();
        format!(
            "{} {} (policy {}): {}",
            count(n),
            if n == 1 { "agreement" } else { "agreements" },
            self.policy,
            self.fields_line()
        )
    }

    /// The notes of the group's changes, each once.
    pub fn notes(&self) -> Vec<&str> {
        let mut v: Vec<&str> = Vec::new();
        for c in &self.changes {
            for n in &c.notes {
                if !v.contains(&n.as_str()) {
                    v.push(n);
                }
            }
        }
        v
    }
}

/// Split a merchant's changes: the policy groups (by policy name), and the rest in plan order.
pub(crate) fn split_policy_changes(m: &MerchantPlan) -> (Vec<PolicyGroup<'_>>, Vec<&Change>) {
    let mut groups: Vec<PolicyGroup<'_>> = Vec::new();
    let mut rest = Vec::new();
    for c in changes_in_order(m) {
        match c.policy.as_deref() {
            Some(p) => match groups.iter_mut().find(|g| g.policy == p) {
                Some(g) => g.changes.push(c),
                None => groups.push(PolicyGroup {
                    policy: p,
                    changes: vec![c],
                }),
            },
            None => rest.push(c),
        }
    }
    groups.sort_by(|a, b| a.policy.cmp(b.policy));
    (groups, rest)
}
