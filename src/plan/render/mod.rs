//! Renderers: pure functions of a plan. Text for terminals and CI logs, markdown for pull-request
//! comments, JSON for machines and saved plans.

pub mod json;
pub mod markdown;
pub mod text;

use super::model::{Action, Change, MerchantPlan, Plan, Summary};
pub use crate::resources::show::{field_values, show_value};
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

/// How many sales units the text and markdown plans name before "and N more" (the JSON plan
/// lists all).
pub const COVERAGE_NAMED: usize = 50;

/// The lines `plan --all-merchants` adds: which of the partner's sales units the configuration
/// leaves out, and which declared merchants the partner's list lacks. Empty without it.
pub fn coverage_lines(plan: &Plan) -> Vec<String> {
    let Some(c) = &plan.coverage else {
        return Vec::new();
    };
    let named = |msns: Vec<String>| -> String {
        let total = msns.len();
        let mut shown: Vec<String> = msns.into_iter().take(COVERAGE_NAMED).collect();
        if total > COVERAGE_NAMED {
            shown.push(format!(
                "and {} more (plan --json lists all)",
                total - COVERAGE_NAMED
            ));
        }
        shown.join(", ")
    };
    let mut lines = vec![format!(
        "The Management API lists {} sales {} for the partner keys{}.",
        c.listed,
        if c.listed == 1 { "unit" } else { "units" },
        match plan.scope.as_ref().and_then(|s| s.shard.as_ref()) {
            Some(s) => format!(" in shard {s}"),
            None => String::new(),
        }
    )];
    if c.not_in_configuration.is_empty() {
        lines.push("Every one of them is in the configuration.".into());
    } else {
        let n = c.not_in_configuration.len();
        lines.push(format!(
            "{n} {} not in the configuration, so vippsctl manages nothing on {}: {}",
            if n == 1 { "is" } else { "are" },
            if n == 1 { "it" } else { "them" },
            named(
                c.not_in_configuration
                    .iter()
                    .map(|u| match &u.name {
                        Some(name) => format!("{} ({name})", u.msn),
                        None => u.msn.clone(),
                    })
                    .collect()
            )
        ));
        let first: Vec<String> = c
            .not_in_configuration
            .iter()
            .take(3)
            .map(|u| format!("--msn {}", u.msn))
            .collect();
        lines.push(format!(
            "Adopt them with `vippsctl import {}{} --out FILE` and add FILE to the configuration.",
            first.join(" "),
            if n > 3 { " ..." } else { "" }
        ));
    }
    if !c.not_listed.is_empty() {
        let n = c.not_listed.len();
        lines.push(format!(
            "{n} declared {} not among the partner's sales units (the partner keys cannot reach {}; {} own keys may): {}",
            if n == 1 { "merchant is" } else { "merchants are" },
            if n == 1 { "it" } else { "them" },
            if n == 1 { "its" } else { "their" },
            named(c.not_listed.clone())
        ));
    }
    lines
}

/// The per-merchant counts, in the same words.
pub fn merchant_summary(m: &MerchantPlan) -> Summary {
    let p = Plan {
        format_version: String::new(),
        vippsctl_version: String::new(),
        spec_versions: String::new(),
        environment: Default::default(),
        base_url: String::new(),
        config_files: Vec::new(),
        config_digest: String::new(),
        replace: Vec::new(),
        merchants: vec![m.clone()],
        scope: None,
        coverage: None,
    };
    p.summary()
}

/// `2 to add, 1 to change, 0 to replace, 1 to destroy` (with drift and consent when there are
/// any), or `no changes`: a merchant's line in a fleet's per-merchant summary.
pub(crate) fn merchant_counts(m: &MerchantPlan) -> String {
    let s = merchant_summary(m);
    let mut parts = Vec::new();
    if !s.is_empty() {
        // As the summary line writes them.
        parts.push(format!(
            "{} to add, {} to change, {} to replace, {} to destroy",
            s.add, s.change, s.replace, s.destroy
        ));
    }
    if s.drift > 0 {
        parts.push(format!("{} drifted", count(s.drift)));
    }
    if s.awaiting_consent > 0 {
        parts.push(format!("{} awaiting consent", count(s.awaiting_consent)));
    }
    if parts.is_empty() {
        "no changes".into()
    } else {
        parts.join("; ")
    }
}

pub(crate) fn merchant_title(m: &MerchantPlan) -> String {
    if m.msn == crate::config::model::PARTNER {
        return "partner level (registrations with the partner keys, no Merchant-Serial-Number)"
            .into();
    }
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

/// Why a change is planned so, in words (the plan holds a typed [`super::model::Reason`]).
pub fn reason_text(c: &Change) -> Option<String> {
    use super::model::Reason;
    use crate::resources::Kind;
    let r = c.reason.as_ref()?;
    Some(match r {
        Reason::Requested => "replacement requested with --replace".into(),
        Reason::CannotUpdate { fields } => {
            let names: Vec<&str> = fields.iter().map(|f| f.as_str()).collect();
            match c.address.kind {
                Kind::Webhooks => format!("{} cannot be changed on a registration", names.join(", ")),
                Kind::RedirectQrs | Kind::CallbackQrs => {
                    format!("{} cannot be changed on a QR code", names.join(", "))
                }
                Kind::Agreements => {
                    format!("{} cannot be changed on an agreement", names.join(", "))
                }
            }
        }
        Reason::EventLimit { event, limit } => format!(
            "{event} allows {limit} registration(s) per sales unit, so the old one goes first"
        ),
        Reason::SecretLost => "its one-time secret is not in its sink (an earlier apply lost it or was interrupted)".into(),
        Reason::AwaitingConsent { draft } => {
            format!("drafted as {draft}; waiting for the customer to accept it in the app")
        }
        Reason::RedraftAfterExpiry { previous } => {
            format!("the previous draft {previous} EXPIRED without consent")
        }
        Reason::StoppedNotAskedAgain { agreement } => format!(
            "{agreement} was STOPPED (rejected or cancelled by the customer, or stopped by the merchant); vippsctl does not ask again by itself"
        ),
        Reason::ProtectedStopped { agreement } => format!(
            "{agreement} is declared `protect: true` but was STOPPED outside vippsctl (in the app by the customer, or in the portal)"
        ),
        Reason::TtlUnreadable => crate::resources::redirect_qr::ttl_unverified_note(&c.address).0,
    })
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
                let (before, after) = field_values(f);
                let e = by_field.entry(f.field.as_str()).or_default();
                e.0.insert(before.unwrap_or_else(|| "(none)".into()));
                e.1.insert(after.unwrap_or_else(|| "(none)".into()));
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
