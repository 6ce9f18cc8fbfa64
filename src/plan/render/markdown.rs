//! The pull-request comment: summary first, destructive changes and warnings called out, one
//! collapsible section per merchant, kept under GitHub's comment limit by cutting details, never
//! the summary.

use super::{count, field_values, merchant_summary, merchant_title, summary_line};
use crate::plan::model::{Action, Change, Plan};
use std::fmt::Write as _;

/// GitHub's limit for an issue or pull-request comment body.
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;

pub fn render(plan: &Plan) -> String {
    render_within(plan, GITHUB_COMMENT_LIMIT)
}

/// Render within `limit` bytes: merchant details are dropped from the last merchant backwards
/// until the comment fits; the head (summary and destructive changes) always stays.
pub fn render_within(plan: &Plan, limit: usize) -> String {
    let head = head(plan);
    let sections: Vec<String> = plan
        .merchants
        .iter()
        .filter(|m| !m.changes.is_empty() || !m.unmanaged_agreements.is_empty())
        .map(|m| section(plan, m))
        .collect();
    let quiet: Vec<&str> = plan
        .merchants
        .iter()
        .filter(|m| m.changes.is_empty() && m.unmanaged_agreements.is_empty())
        .map(|m| m.msn.as_str())
        .collect();
    let mut tail = String::new();
    if !quiet.is_empty() {
        let _ = writeln!(
            tail,
            "\nNo changes for {} {}: {}\n",
            quiet.len(),
            if quiet.len() == 1 {
                "merchant"
            } else {
                "merchants"
            },
            quiet.join(", ")
        );
    }
    let _ = writeln!(
        tail,
        "<sub>vippsctl {} · environment `{}` · config digest `{}`</sub>",
        plan.vippsctl_version,
        plan.environment,
        short(&plan.config_digest)
    );
    let mut kept = sections.len();
    loop {
        let mut out = head.clone();
        for s in &sections[..kept] {
            out.push_str(s);
        }
        if kept < sections.len() {
            let _ = writeln!(
                out,
                "\n_Details of {} more {} left out to fit GitHub's comment limit; see the full plan in the CI log._\n",
                sections.len() - kept,
                if sections.len() - kept == 1 { "merchant" } else { "merchants" }
            );
        }
        out.push_str(&tail);
        if out.len() <= limit || kept == 0 {
            if out.len() > limit {
                // Even the head is too long (a huge destructive list): cut it at a line boundary.
                let mut cut = limit.saturating_sub(200);
                while !out.is_char_boundary(cut) {
                    cut -= 1;
                }
                let end = out[..cut].rfind('\n').unwrap_or(cut);
                out.truncate(end);
                out.push_str("\n\n_(truncated to fit GitHub's comment limit)_\n");
            }
            return out;
        }
        kept -= 1;
    }
}

fn short(s: &str) -> &str {
    s.get(..12).unwrap_or(s)
}

fn head(plan: &Plan) -> String {
    let mut out = String::new();
    let summary = plan.summary();
    let _ = writeln!(out, "### vippsctl: {}\n", summary_line(&summary));
    let _ = writeln!(
        out,
        "Environment `{}` (`{}`), {} {}.\n",
        plan.environment,
        plan.base_url,
        plan.merchants.len(),
        if plan.merchants.len() == 1 {
            "merchant"
        } else {
            "merchants"
        }
    );
    if let Some(scope) = plan.scope.as_ref().filter(|s| s.is_partial()) {
        let _ = writeln!(out, "> [!NOTE]\n> {}\n", scope.describe());
    }
    let coverage = super::coverage_lines(plan);
    if !coverage.is_empty() {
        let kind = if plan.uncovered() > 0 {
            "WARNING"
        } else {
            "NOTE"
        };
        let _ = writeln!(
            out,
            "> [!{kind}]\n> **Sales units:** {}\n",
            coverage.join("<br>\n> ")
        );
    }
    // Drift apply cannot undo first: it is what a nightly drift check is for.
    let drifted: Vec<(&Change, String)> = plan
        .changes()
        .filter(|c| c.action == Action::Drift)
        .map(|c| {
            let what = c.notes.first().map(String::as_str).unwrap_or("drifted");
            match &c.live_id {
                Some(id) => (c, format!("{what} (live id {id})")),
                None => (c, what.to_string()),
            }
        })
        .collect();
    callout(
        &mut out,
        "WARNING",
        "**Drift that apply cannot undo:**",
        &drifted,
    );
    let destructive: Vec<(&Change, String)> = plan
        .changes()
        .filter(|c| c.action.is_destructive())
        .map(|c| {
            let why = c.notes.first().cloned();
            (c, why.unwrap_or_else(|| c.action.verb().to_string()))
        })
        .collect();
    let destructive_title = match destructive.len() {
        1 => "**1 destructive change** — review before merging:".to_string(),
        n => format!("**{n} destructive changes** — review before merging:"),
    };
    callout(&mut out, "CAUTION", &destructive_title, &destructive);
    // Warnings (a webhook secret that no sink will receive, say) are read before merging too,
    // not only inside a collapsed merchant section.
    let warned: Vec<(&Change, String)> = plan
        .changes()
        .flat_map(|c| c.warnings.iter().map(move |w| (c, w.clone())))
        .collect();
    let warned_title = match warned.len() {
        1 => "**1 warning** — read before merging:".to_string(),
        n => format!("**{n} warnings** — read before merging:"),
    };
    callout(&mut out, "WARNING", &warned_title, &warned);
    merchant_table(&mut out, plan);
    if summary.awaiting_consent > 0 {
        let _ = writeln!(
            out,
            "{} {} awaiting the customer's consent.\n",
            summary.awaiting_consent,
            if summary.awaiting_consent == 1 {
                "agreement is"
            } else {
                "agreements are"
            }
        );
    }
    out
}

/// Of a comment's limit, what the per-merchant table may take: the details of the merchants get
/// the rest, and are cut first.
const TABLE_SHARE: usize = GITHUB_COMMENT_LIMIT / 3;

/// A fleet's per-merchant summary, one row per merchant with changes (destructive ones first),
/// kept within [`TABLE_SHARE`]: at 2,000 merchants the rows that do not fit are counted in a last
/// row, never silently dropped. One merchant needs no table: the summary line says it all.
fn merchant_table(out: &mut String, plan: &Plan) {
    if plan.merchants.len() < 2 {
        return;
    }
    let mut changed: Vec<_> = plan
        .merchants
        .iter()
        .filter(|m| {
            let s = merchant_summary(m);
            !s.is_empty() || s.drift > 0
        })
        .collect();
    if changed.is_empty() {
        return;
    }
    changed.sort_by_key(|m| {
        let s = merchant_summary(m);
        (
            std::cmp::Reverse(s.drift + s.destroy + s.replace),
            m.msn.clone(),
        )
    });
    let mut table = String::from(
        "| merchant | add | change | replace | destroy |\n| --- | ---: | ---: | ---: | ---: |\n",
    );
    let mut shown = 0;
    for m in &changed {
        let s = merchant_summary(m);
        let drift = if s.drift > 0 {
            format!(" ({} drifted)", s.drift)
        } else {
            String::new()
        };
        let row = format!(
            "| {}{drift} | {} | {} | {} | {} |\n",
            merchant_title(m).trim_start_matches("merchant "),
            count(s.add),
            count(s.change),
            count(s.replace),
            count(s.destroy)
        );
        if table.len() + row.len() > TABLE_SHARE {
            break;
        }
        table.push_str(&row);
        shown += 1;
    }
    if shown < changed.len() {
        let mut rest = crate::plan::Summary::default();
        for m in &changed[shown..] {
            let s = merchant_summary(m);
            rest.add += s.add;
            rest.change += s.change;
            rest.replace += s.replace;
            rest.destroy += s.destroy;
        }
        let _ = writeln!(
            table,
            "| … {} more merchants | {} | {} | {} | {} |",
            count(changed.len() - shown),
            count(rest.add),
            count(rest.change),
            count(rest.replace),
            count(rest.destroy)
        );
    }
    let _ = writeln!(
        out,
        "**{} of {} merchants have changes:**\n\n{table}",
        count(changed.len()),
        count(plan.merchants.len())
    );
}

/// A GitHub alert (`> [!KIND]`) listing changes with a reason each, at most 50 of them; nothing
/// when there are none.
fn callout(out: &mut String, kind: &str, title: &str, items: &[(&Change, String)]) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "> [!{kind}]\n> {title}");
    const SHOWN: usize = 50;
    for (c, why) in items.iter().take(SHOWN) {
        let _ = writeln!(out, "> - `{}` `{}`: {why}", c.action.symbol(), c.address);
    }
    if items.len() > SHOWN {
        let _ = writeln!(out, "> - … and {} more", items.len() - SHOWN);
    }
    out.push('\n');
}

fn section(plan: &Plan, m: &crate::plan::model::MerchantPlan) -> String {
    let _ = plan;
    let mut out = String::new();
    let s = merchant_summary(m);
    let _ = writeln!(
        out,
        "<details><summary><b>{}</b>: {}</summary>\n\n```diff",
        merchant_title(m),
        summary_line(&s)
    );
    let (groups, rest) = super::split_policy_changes(m);
    for g in &groups {
        let _ = writeln!(out, "!   ~ {}", g.headline());
        for n in g.notes() {
            let _ = writeln!(out, "        note: {n}");
        }
    }
    for c in rest {
        // diff-highlighting: `+` green, `-` red, `!` orange; other symbols get a neutral prefix.
        let prefix = match c.action {
            Action::Create => "+",
            Action::Delete | Action::Stop | Action::ReplaceDeleteFirst => "-",
            Action::Unmanaged
            | Action::Notice
            | Action::Drift
            | Action::Update
            | Action::ReplaceCreateFirst => "!",
            Action::AwaitingConsent => "#",
        };
        let _ = writeln!(
            out,
            "{prefix} {:>3} {}  ({})",
            c.action.symbol(),
            c.address,
            c.action.verb()
        );
        for f in &c.fields {
            let (b, a) = field_values(f);
            let v = match (b, a) {
                (Some(b), Some(a)) => format!("{b} -> {a}"),
                (None, Some(a)) => a,
                (Some(b), None) => b,
                (None, None) => String::new(),
            };
            let _ = writeln!(out, "        {} = {}", f.field, v);
        }
        if let Some(r) = super::reason_text(c) {
            let _ = writeln!(out, "        because {r}");
        }
        for n in &c.notes {
            let _ = writeln!(out, "        note: {n}");
        }
        for w in &c.warnings {
            let _ = writeln!(out, "        warning: {w}");
        }
    }
    if !m.unmanaged_agreements.is_empty() {
        let total: usize = m.unmanaged_agreements.iter().map(|(_, n)| n).sum();
        let _ = writeln!(
            out,
            "!   ! {} agreements not in the configuration: left alone",
            count(total)
        );
    }
    let _ = writeln!(out, "```\n\n</details>\n");
    out
}
