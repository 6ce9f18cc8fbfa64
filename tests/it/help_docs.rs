//! The user docs cannot drift from the binary: every command, flag and possible value of the clap
//! tree is described in docs/cli.md under that command's heading, and every `vippsctl` command
//! shown in the docs' code blocks parses with today's flags.

use crate::printing_common;

use clap::{CommandFactory, Parser};
use printing_common::words;
use std::path::Path;
use vippsctl::cli::Cli;

fn doc(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The text under `## heading` up to the next `## ` heading.
fn section<'a>(text: &'a str, heading: &str) -> Option<&'a str> {
    let start = text.find(&format!("\n## {heading}\n"))? + heading.len() + 5;
    let rest = &text[start..];
    Some(match rest.find("\n## ") {
        Some(end) => &rest[..end],
        None => rest,
    })
}

fn leaves(cmd: &clap::Command, path: &str, out: &mut Vec<(String, clap::Command)>) {
    let subs: Vec<_> = cmd
        .get_subcommands()
        .filter(|s| s.get_name() != "help")
        .collect();
    if subs.is_empty() {
        out.push((path.to_string(), cmd.clone()));
    }
    for sub in subs {
        leaves(sub, &format!("{path} {}", sub.get_name()), out);
    }
}

fn mentions(text: &str, arg: &clap::Arg) -> Vec<String> {
    let mut missing = Vec::new();
    let name = match (arg.get_long(), arg.get_value_names()) {
        (Some(long), _) => format!("--{long}"),
        (None, Some(names)) => names
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(" "),
        (None, None) => arg.get_id().to_string().to_uppercase(),
    };
    if !text.contains(&name) {
        missing.push(name.clone());
    }
    for v in arg.get_possible_values() {
        if !v.is_hide_set() && !text.contains(v.get_name()) {
            missing.push(format!("{name} value `{}`", v.get_name()));
        }
    }
    missing
}

#[test]
fn cli_md_describes_every_command_flag_and_value() {
    // Markdown tables escape `|` as `\|`.
    let cli_md = doc("cli.md").replace("\\|", "|");
    let mut root = Cli::command();
    root.build();
    let mut missing = Vec::new();
    let global = section(&cli_md, "Global options").expect("a `## Global options` section");
    for arg in root.get_arguments() {
        missing.extend(
            mentions(global, arg)
                .into_iter()
                .map(|m| format!("global {m}")),
        );
    }
    let mut all = Vec::new();
    leaves(&root, "vippsctl", &mut all);
    for (path, cmd) in &all {
        let Some(text) = section(&cli_md, path) else {
            missing.push(format!("a `## {path}` section"));
            continue;
        };
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if arg.is_global_set() || ["help", "version"].contains(&id) {
                continue;
            }
            missing.extend(
                mentions(text, arg)
                    .into_iter()
                    .map(|m| format!("{path}: {m}")),
            );
        }
    }
    assert!(
        missing.is_empty(),
        "docs/cli.md lacks (add them so users can find them):\n  {}",
        missing.join("\n  ")
    );
}

/// `vippsctl ...` lines inside ``` code blocks, continuation lines joined.
fn documented_commands(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_code = false;
    let mut pending = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if !in_code {
            continue;
        }
        let line = line.trim();
        if pending.is_empty() && !line.starts_with("vippsctl ") {
            continue;
        }
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            continue;
        }
        pending.push_str(line);
        out.push(std::mem::take(&mut pending));
    }
    out
}

#[test]
fn every_command_shown_in_the_docs_parses() {
    let mut checked = 0;
    for name in ["guide.md", "concepts.md", "cli.md", "troubleshooting.md"] {
        for cmd in documented_commands(&doc(name)) {
            // Synopsis lines (`[--flag]`, `a|b`, `PATH...`, `SHELL`) describe, they are not run.
            let placeholder = cmd
                .split_whitespace()
                .skip(1)
                .any(|w| w.chars().all(|c| c.is_ascii_uppercase()) && !w.is_empty());
            if placeholder
                || cmd.contains('[')
                || cmd.contains('|') && !cmd.contains(" | ")
                || cmd.contains("...")
            {
                continue;
            }
            checked += 1;
            let argv = words(&cmd);
            let parsed = Cli::try_parse_from(&argv).map(|_| ()).or_else(|e| {
                use clap::error::ErrorKind::{DisplayHelp, DisplayVersion};
                if matches!(e.kind(), DisplayHelp | DisplayVersion) {
                    Ok(())
                } else {
                    Err(e)
                }
            });
            if let Err(e) = parsed {
                panic!("docs/{name}: `{cmd}` does not parse:\n{e}");
            }
        }
    }
    assert!(checked >= 15, "only {checked} commands found in the docs");
}

#[test]
fn troubleshooting_covers_the_errors_users_meet_most() {
    let t = doc("troubleshooting.md");
    for status in ["401", "403", "409", "429"] {
        let heading = t
            .lines()
            .find(|l| l.starts_with("## ") && l.contains(status))
            .unwrap_or_else(|| panic!("troubleshooting.md has a section for HTTP {status}"));
        let body = section(&t, heading.trim_start_matches("## ")).expect("section text");
        assert!(
            body.to_lowercase().contains("what to do"),
            "the {status} section says what to do"
        );
    }
}

#[test]
fn the_guide_starts_in_the_sandbox_and_links_the_rest() {
    let g = doc("guide.md");
    let sandbox = g.find("--sandbox").expect("the guide uses the sandbox");
    let real = g
        .find("VIPPS_CLIENT_ID")
        .expect("the guide shows real credentials");
    assert!(sandbox < real, "sandbox first, then a real test merchant");
    for link in [
        "concepts.md",
        "cli.md",
        "troubleshooting.md",
        "config.md",
        "ci/",
    ] {
        assert!(g.contains(link), "the guide links {link}");
    }
}

fn keys(v: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                out.insert(k.clone());
                keys(x, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| keys(x, out)),
        _ => {}
    }
}

#[test]
fn plan_format_md_describes_every_key_and_value_of_a_real_plan() {
    let doc_text = doc("plan-format.md");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut found = std::collections::BTreeSet::new();
    let mut values = std::collections::BTreeSet::new();
    for example in ["cafe.yaml", "webshop.yaml"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_vippsctl"))
            .current_dir(dir.path())
            .arg("plan")
            .arg("--sandbox")
            .arg("--json")
            .arg(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("examples")
                    .join(example),
            )
            .env_remove("VIPPSCTL_BASE_URL")
            .env_remove("VIPPSCTL_ENV")
            .output()
            .expect("the binary runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let plan: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("plan --json is JSON");
        keys(&plan, &mut found);
        for c in plan["resource_changes"].as_array().into_iter().flatten() {
            values.insert(
                c["vippsctl"]["action"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
            for a in c["change"]["actions"].as_array().into_iter().flatten() {
                values.insert(a.as_str().unwrap_or_default().to_string());
            }
            if let Some(r) = c["action_reason"].as_str() {
                values.insert(r.to_string());
            }
            for f in c["vippsctl"]["fields"].as_array().into_iter().flatten() {
                values.insert(f["effect"].as_str().unwrap_or_default().to_string());
                values.insert(f["field"].as_str().unwrap_or_default().to_string());
            }
            if let Some(k) = c["vippsctl"]["desired"]["kind"].as_str() {
                values.insert(k.to_string());
            }
        }
    }
    // Every action and effect, including those the examples do not produce.
    use vippsctl::plan::Action;
    use vippsctl::resources::Effect;
    for a in [
        Action::Create,
        Action::Update,
        Action::ReplaceCreateFirst,
        Action::ReplaceDeleteFirst,
        Action::Delete,
        Action::Stop,
        Action::AwaitingConsent,
        Action::Unmanaged,
        Action::Notice,
        Action::Drift,
    ] {
        values.insert(
            serde_json::to_value(a)
                .expect("action")
                .as_str()
                .unwrap_or_default()
                .into(),
        );
    }
    // Every reason and field name, likewise.
    use vippsctl::plan::Reason;
    use vippsctl::resources::Field;
    for r in [
        Reason::Requested,
        Reason::CannotUpdate { fields: vec![] },
        Reason::EventLimit {
            event: String::new(),
            limit: 1,
        },
        Reason::SecretLost,
        Reason::AwaitingConsent {
            draft: String::new(),
        },
        Reason::RedraftAfterExpiry {
            previous: String::new(),
        },
        Reason::StoppedNotAskedAgain {
            agreement: String::new(),
        },
        Reason::ProtectedStopped {
            agreement: String::new(),
        },
        Reason::TtlUnreadable,
    ] {
        values.insert(r.name().to_string());
        let v = serde_json::to_value(&r).expect("reason");
        values.insert(v["kind"].as_str().unwrap_or_default().to_string());
    }
    for f in [
        Field::Url,
        Field::Events,
        Field::Secret,
        Field::RedirectUrl,
        Field::Ttl,
        Field::LocationDescription,
        Field::ProductName,
        Field::ProductDescription,
        Field::MerchantAgreementUrl,
        Field::MerchantRedirectUrl,
        Field::Pricing,
        Field::PricingType,
        Field::PricingCurrency,
        Field::PricingAmount,
        Field::PricingSuggestedMaxAmount,
        Field::Interval,
        Field::PhoneNumber,
        Field::Status,
    ] {
        values.insert(f.as_str().to_string());
    }
    for e in [
        Effect::InPlace,
        Effect::ForcesReplacement,
        Effect::Unchangeable,
        Effect::Ignored,
    ] {
        values.insert(
            serde_json::to_value(e)
                .expect("effect")
                .as_str()
                .unwrap_or_default()
                .into(),
        );
    }
    let missing: Vec<String> = found
        .iter()
        .chain(values.iter())
        .filter(|k| !doc_text.contains(&format!("`{k}`")))
        .cloned()
        .collect();
    assert!(found.len() >= 15, "{found:?}");
    assert!(missing.is_empty(), "docs/plan-format.md lacks {missing:?}");
}

/// Every test the docs name as the proof of a rule (`module::test_name`, as in the fidelity
/// table of docs/simulator.md) exists in that module of this test binary: a renamed or deleted
/// test would otherwise leave a row that claims a proof nobody runs.
#[test]
fn every_test_the_docs_name_exists() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut named = 0;
    let mut missing = Vec::new();
    for file in [
        "simulator.md",
        "local-testing.md",
        "partial-runs.md",
        "performance.md",
    ] {
        let text = doc(file);
        for span in text.split('`').skip(1).step_by(2) {
            let Some((module, test)) = span.split_once("::") else {
                continue;
            };
            let ident = |s: &str| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            };
            let source = dir.join("tests/it").join(format!("{module}.rs"));
            if !ident(module) || !ident(test) || !source.is_file() {
                continue;
            }
            named += 1;
            let code = std::fs::read_to_string(&source).unwrap_or_default();
            if !code.contains(&format!("fn {test}(")) {
                missing.push(format!("{file}: {module}::{test}"));
            }
        }
    }
    assert!(named > 50, "the docs name tests: found {named}");
    assert!(
        missing.is_empty(),
        "named in the docs but not in tests/it: {missing:#?}"
    );
}
