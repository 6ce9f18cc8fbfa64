//! The terminal rendering, Terraform-like. The summary line is the last line.

use super::{
    count, effect_note, field_values, legend, merchant_title, split_policy_changes, summary_line,
};
use crate::plan::model::{Action, Change, Plan};
use std::fmt::Write as _;

/// Styling: plain, or ANSI colours on a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    fn action(&self, a: Action, s: &str) -> String {
        let code = match a {
            Action::Create => "32",
            Action::Update => "33",
            Action::ReplaceCreateFirst | Action::ReplaceDeleteFirst => "35",
            Action::Delete | Action::Stop => "31",
            Action::AwaitingConsent => "36",
            Action::Unmanaged | Action::Notice => "2",
            Action::Drift => "31",
        };
        self.paint(code, s)
    }
}

/// Render a plan for a terminal or a CI log; agreement policies are summarised per policy.
pub fn render(plan: &Plan, style: Style) -> String {
    render_with(plan, style, false)
}

/// Like `render`; `detail` also lists every agreement a policy changes (`plan --detail`).
pub fn render_with(plan: &Plan, style: Style, detail: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "vippsctl plan for the {} environment ({})",
        plan.environment, plan.base_url
    );
    if let Some(scope) = plan.scope.as_ref().filter(|s| s.is_partial()) {
        let _ = writeln!(out, "{}", style.paint("33", &scope.describe()));
    }
    // Drift apply cannot undo goes first: it is what a nightly drift check is for.
    for (object, what) in super::drift_lines(plan) {
        let _ = writeln!(
            out,
            "{}",
            style.paint("31", &format!("Drift: {object}: {what}"))
        );
    }
    for m in &plan.merchants {
        out.push('\n');
        let _ = writeln!(out, "{}", style.paint("1", &merchant_title(m)));
        let (groups, changes) = split_policy_changes(m);
        if changes.is_empty() && groups.is_empty() && m.unmanaged_agreements.is_empty() {
            let _ = writeln!(out, "  no changes");
            continue;
        }
        for g in &groups {
            let sym = style.action(Action::Update, &format!("{:>3}", Action::Update.symbol()));
            let _ = writeln!(out, "{sym} {}", g.headline());
            for n in g.notes() {
                let _ = writeln!(out, "        {}", style.paint("33", &format!("note: {n}")));
            }
            if detail {
                for c in &g.changes {
                    render_change(&mut out, c, style);
                }
            } else {
                let _ = writeln!(
                    out,
                    "        {}",
                    style.paint("2", "(plan --detail lists each agreement)")
                );
            }
        }
        for c in changes {
            render_change(&mut out, c, style);
        }
        if !m.unmanaged_agreements.is_empty() {
            let total: usize = m.unmanaged_agreements.iter().map(|(_, n)| n).sum();
            let by: Vec<String> = m
                .unmanaged_agreements
                .iter()
                .map(|(s, n)| format!("{s} {}", count(*n)))
                .collect();
            let _ = writeln!(
                out,
                "  {} {} {} not in the configuration ({}): left alone",
                style.action(Action::Unmanaged, "!"),
                count(total),
                if total == 1 {
                    "agreement"
                } else {
                    "agreements"
                },
                by.join(", ")
            );
        }
    }
    let legend = legend(plan);
    if !legend.is_empty() {
        out.push('\n');
        let _ = writeln!(out, "Symbols:");
        for (sym, text) in legend {
            let _ = writeln!(out, "  {sym:<3} {text}");
        }
    }
    // A fleet: one line per merchant, then the total.
    if plan.merchants.len() > 1 {
        out.push('\n');
        let _ = writeln!(out, "Merchants:");
        for m in &plan.merchants {
            let _ = writeln!(
                out,
                "  {}: {}",
                merchant_title(m),
                super::merchant_counts(m)
            );
        }
    }
    let coverage = super::coverage_lines(plan);
    if !coverage.is_empty() {
        out.push('\n');
        let _ = writeln!(out, "Sales units:");
        for l in coverage {
            let _ = writeln!(out, "  {l}");
        }
    }
    out.push('\n');
    let summary = plan.summary();
    let mut line = summary_line(&summary);
    let mut extra = Vec::new();
    if summary.awaiting_consent > 0 {
        extra.push(format!("{} awaiting consent", summary.awaiting_consent));
    }
    if summary.unmanaged > 0 {
        extra.push(format!("{} unmanaged", count(summary.unmanaged)));
    }
    if plan.uncovered() > 0 {
        extra.push(format!(
            "{} not in the configuration",
            count_units(plan.uncovered())
        ));
    }
    if !extra.is_empty() {
        line = format!("{line} ({})", extra.join(", "));
    }
    let _ = writeln!(out, "{}", style.paint("1", &line));
    out
}

fn count_units(n: usize) -> String {
    format!("{n} sales {}", if n == 1 { "unit" } else { "units" })
}

fn render_change(out: &mut String, c: &Change, style: Style) {
    let sym = style.action(c.action, &format!("{:>3}", c.action.symbol()));
    let mut head = format!("{sym} {}", c.address);
    if let Some(id) = &c.live_id {
        let _ = write!(head, " ({id})");
    }
    let _ = writeln!(out, "{head}");
    let detail = "        ";
    if !c.action.is_change() || matches!(c.action, Action::Stop | Action::Delete) {
        let _ = writeln!(out, "{detail}{}", c.action.verb());
    }
    if let Some(r) = super::reason_text(c) {
        let _ = writeln!(out, "{detail}{}", style.paint("2", &format!("because {r}")));
    }
    let width = c
        .fields
        .iter()
        .map(|f| f.field.as_str().len())
        .max()
        .unwrap_or(0);
    for f in &c.fields {
        let (before, after) = field_values(f);
        let value = match (&before, &after) {
            (Some(b), Some(a)) => long_or_short(b, a, style),
            (None, Some(a)) => a.clone(),
            (Some(b), None) => b.clone(),
            (None, None) => String::new(),
        };
        // Padded by hand: a `{:<width$}` beyond u16::MAX panics, and a saved plan read back can
        // carry any field name.
        let pad = " ".repeat(width.saturating_sub(f.field.as_str().len()));
        let mut line = format!("{detail}{}{pad} = {value}", f.field);
        if let Some(n) = effect_note(f) {
            let _ = write!(line, "  {}", style.paint("35", &format!("# {n}")));
        }
        let _ = writeln!(out, "{line}");
    }
    for n in &c.notes {
        let _ = writeln!(out, "{detail}{}", style.paint("33", &format!("note: {n}")));
    }
    for w in &c.warnings {
        let _ = writeln!(
            out,
            "{detail}{}",
            style.paint("33", &format!("warning: {w}"))
        );
    }
}

/// `before -> after`, or for long values an inline character diff that shows only what changed.
fn long_or_short(before: &str, after: &str, style: Style) -> String {
    if before.chars().count() + after.chars().count() < 80 {
        return format!("{before} -> {after}");
    }
    // Lists (webhook events) differ by whole items; a character diff cuts event names apart.
    let diff = if before.contains(", ") || after.contains(", ") {
        similar::TextDiff::from_words(before, after)
    } else {
        similar::TextDiff::from_chars(before, after)
    };
    let mut s = String::new();
    for change in diff.iter_all_changes() {
        let v = change.value();
        match change.tag() {
            similar::ChangeTag::Equal => s.push_str(v),
            similar::ChangeTag::Delete => {
                s.push_str(&style.paint("31", &format!("[-{v}-]")));
            }
            similar::ChangeTag::Insert => {
                s.push_str(&style.paint("32", &format!("{{+{v}+}}")));
            }
        }
    }
    // Merge adjacent markers so a changed word reads as one change, not one per character.
    s.replace("-][-", "").replace("+}{+", "")
}
