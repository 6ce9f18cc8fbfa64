//! The JSON plan as tools read it (format 2, shaped as `terraform show -json`), `vippsctl show`
//! with no network and no credentials, `apply --json`, and apply's independence from wording.

use crate::common;
use common::cli::{load_yaml, Sim, MSN};
use serde_json::Value;
use std::process::Command;

/// A plan of every action kind, saved as `plan --out` writes it.
fn saved_plan(sim: &Sim) -> Value {
    crate::cli_reconcile::every_action_kind(sim);
    let run = sim.run(&["plan", "setup.yaml", "--out", "p.json"]);
    assert!(run.success(), "{run}");
    serde_json::from_str(&sim.read("p.json")).expect("the saved plan is JSON")
}

fn jq(filter: &str, input: &str) -> String {
    let jq = which("jq");
    let Some(jq) = jq else {
        assert!(
            std::env::var_os("CI").is_none(),
            "jq is needed for this test under CI (.ci/run installs it)"
        );
        eprintln!("jq not found: skipped (install jq to run this test)");
        return String::new();
    };
    let mut child = Command::new(jq)
        .args(["-c", filter])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("jq runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write to jq");
    let out = child.wait_with_output().expect("jq finishes");
    assert!(out.status.success(), "jq {filter} failed");
    String::from_utf8(out.stdout).expect("utf-8")
}

fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

/// What a tf-summarize-style consumer does with a Terraform plan: count the changes by action
/// list and print before/after per address, reading only Terraform's keys.
#[test]
fn a_jq_consumer_of_terraform_plans_reads_the_plan() {
    let sim = Sim::start();
    let plan = saved_plan(&sim);
    let text = sim.read("p.json");
    let counts = jq(
        "[.resource_changes[].change.actions | join(\",\")] | group_by(.) | map({(.[0]): length}) | add",
        &text,
    );
    if counts.is_empty() {
        return;
    }
    let counts: Value = serde_json::from_str(&counts).expect("jq prints JSON");
    // The same counts from the typed view, and from the summary line's words.
    let s = &plan["summary"];
    let n = |k: &str| counts[k].as_u64().unwrap_or(0);
    assert_eq!(n("create"), s["add"].as_u64().unwrap(), "{counts}");
    assert_eq!(n("update"), s["change"].as_u64().unwrap(), "{counts}");
    assert_eq!(
        n("create,delete") + n("delete,create"),
        s["replace"].as_u64().unwrap(),
        "{counts}"
    );
    assert_eq!(n("delete"), s["destroy"].as_u64().unwrap(), "{counts}");
    assert!(n("no-op") > 0, "{counts}");
    assert!(n("create,delete") > 0 && n("delete,create") > 0, "{counts}");

    // Before/after per address: the redirect QR whose url changes in place, as typed values.
    let rows = jq(
        ".resource_changes[] | select(.change.actions == [\"update\"]) | {address, before: .change.before, after: .change.after}",
        &text,
    );
    let menu: Value = rows
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("a JSON row"))
        .find(|r| r["address"] == format!("{MSN}.redirectQrs[table-2]"))
        .unwrap_or_else(|| panic!("no update row for table-2 in {rows}"));
    assert_eq!(
        menu["before"]["redirectUrl"],
        "https://shop.example/old-menu"
    );
    assert_eq!(menu["after"]["redirectUrl"], "https://shop.example/menu");

    // The personal field is flagged as Terraform flags sensitive values, and masked.
    let sensitive = jq(
        ".resource_changes[] | select(.change.after_sensitive != false) | {address, phone: .change.after.phoneNumber}",
        &text,
    );
    for row in sensitive.lines() {
        let row: Value = serde_json::from_str(row).expect("a JSON row");
        let phone = row["phone"].as_str().unwrap_or_default();
        assert!(phone.starts_with("****"), "unmasked: {row}");
    }
}

#[test]
fn format_version_is_a_string_and_every_entry_has_both_views() {
    let sim = Sim::start();
    let plan = saved_plan(&sim);
    assert_eq!(plan["format_version"], "2");
    let changes = plan["resource_changes"]
        .as_array()
        .expect("resource_changes");
    assert!(changes.len() >= 10, "{plan}");
    for c in changes {
        let address = c["address"].as_str().expect("address");
        assert_eq!(
            address,
            format!(
                "{}.{}[{}]",
                c["msn"].as_str().unwrap(),
                c["kind"].as_str().unwrap(),
                c["key"].as_str().unwrap()
            )
        );
        assert!(c["change"]["actions"].is_array(), "{c}");
        assert!(c["vippsctl"]["action"].is_string(), "{c}");
    }
    // A redirect QR whose ttl cannot change in place names the path that forces it.
    let table3 = changes
        .iter()
        .find(|c| c["address"] == format!("{MSN}.redirectQrs[table-3]"))
        .expect("table-3");
    assert_eq!(
        table3["change"]["replace_paths"],
        serde_json::json!([["ttl"]])
    );
    assert_eq!(table3["action_reason"], "replace_because_cannot_update");
    assert_eq!(table3["change"]["after"]["ttl"], 600);
}

#[test]
fn show_renders_a_saved_plan_with_no_network_and_no_credentials() {
    let sim = Sim::start();
    saved_plan(&sim);
    let plan_text = sim.run(&["plan", "setup.yaml"]);
    // An unreachable host and no credentials: `show` needs neither.
    let unset = [
        "VIPPS_CLIENT_ID",
        "VIPPS_CLIENT_SECRET",
        "VIPPS_SUBSCRIPTION_KEY",
    ];
    let shown = sim.run_with(
        "http://127.0.0.1:9",
        &[],
        &unset,
        &["show", "p.json", "--markdown", "again.md"],
    );
    assert!(shown.success(), "{shown}");
    assert_eq!(
        shown.stdout, plan_text.stdout,
        "show prints what plan printed"
    );
    assert!(sim
        .read("again.md")
        .contains(&format!("{MSN}.redirectQrs[table-3]")));
    let json = sim.run_with(
        "http://127.0.0.1:9",
        &[],
        &unset,
        &["show", "p.json", "--json"],
    );
    assert!(json.success(), "{json}");
    let reread: Value = serde_json::from_str(&json.stdout).expect("JSON");
    let saved: Value = serde_json::from_str(&sim.read("p.json")).expect("JSON");
    assert_eq!(
        reread, saved,
        "show --json writes back the saved plan as it was"
    );
}

#[test]
fn a_format_1_plan_is_refused_with_a_hint_to_plan_again() {
    let sim = Sim::start();
    sim.write(
        "old.json",
        "{\"format_version\": 1, \"merchants\": [], \"summary\": {}}",
    );
    for args in [&["show", "old.json"][..], &["apply", "old.json"][..]] {
        let run = sim.run(args);
        assert_eq!(run.code, Some(1), "{run}");
        assert!(run.stderr.contains("format version 1"), "{run}");
        assert!(run.stderr.contains("plan --out` again"), "{run}");
        assert!(run.stdout.is_empty(), "{run}");
    }
    assert!(sim.writes().is_empty());
}

#[test]
fn an_edited_change_view_is_refused_before_any_request() {
    let sim = Sim::start();
    let mut plan = saved_plan(&sim);
    // Change Terraform's view only: the typed view still says what vippsctl wrote.
    let c = plan["resource_changes"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["change"]["actions"] == serde_json::json!(["update"]))
        .expect("an update");
    c["change"]["after"]["redirectUrl"] = "https://evil.example/".into();
    sim.write("p.json", &serde_json::to_string_pretty(&plan).unwrap());
    sim.clear_calls();
    let run = sim.run(&["apply", "p.json"]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(run.stderr.contains("was edited"), "{run}");
    assert!(sim.calls().is_empty(), "{:?}", sim.calls());
}

#[test]
fn apply_json_prints_one_object_per_line_from_start_to_summary() {
    let sim = Sim::start();
    saved_plan(&sim);
    let run = sim.run(&["apply", "p.json", "--json"]);
    assert!(run.success(), "{run}");
    let lines: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let kinds: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    let planned = kinds.iter().filter(|k| **k == "planned_change").count();
    let start = kinds
        .iter()
        .position(|k| *k == "apply_start")
        .expect("apply_start");
    assert!(
        kinds[..start].iter().all(|k| *k == "planned_change"),
        "{kinds:?}"
    );
    assert_eq!(kinds.last(), Some(&"summary"));
    let total = lines[start]["changes"].as_u64().unwrap() as usize;
    assert!(
        planned > total,
        "information entries are planned changes too"
    );
    // Each change starts before it completes, and every one completes.
    for l in lines.iter().filter(|l| l["type"] == "change_complete") {
        let addr = &l["address"];
        let started = lines
            .iter()
            .position(|x| x["type"] == "change_start" && &x["address"] == addr)
            .expect("a change_start");
        let done = lines.iter().position(|x| x == l).unwrap();
        assert!(started < done, "{addr}");
    }
    let completed = kinds.iter().filter(|k| **k == "change_complete").count();
    assert_eq!(completed, total, "{}", run.stdout);
    let summary = lines.last().unwrap();
    assert_eq!(summary["succeeded"], true);
    assert_eq!(summary["done"].as_u64().unwrap() as usize, total);
    // Nothing but JSON on stdout; the secret of a registration never appears.
    let state = sim.state();
    for w in &state.merchants[MSN].webhooks {
        assert!(
            !run.stdout.contains(w.secret.expose()),
            "a secret in the output"
        );
    }
}

#[test]
fn apply_json_without_a_saved_plan_needs_auto_approve() {
    let sim = Sim::start();
    crate::cli_reconcile::every_action_kind(&sim);
    let run = sim.run(&["apply", "setup.yaml", "--json"]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(run.stderr.contains("--auto-approve"), "{run}");
    assert!(sim.writes().is_empty());
}

/// Apply reads only the plan's typed data: rewording every text a renderer shows (notes,
/// warnings) leaves the requests apply sends exactly as they were. Two simulators start from the
/// same state; one gets the plan as made, the other the reworded plan.
#[test]
fn rewording_what_renderers_show_does_not_change_a_request() {
    let calls_of = |reword: bool| {
        let sim = Sim::start();
        crate::cli_reconcile::every_action_kind(&sim);
        let loaded = load_yaml(sim.dir.path(), &sim.read("setup.yaml"));
        let mut plan = sim.plan(&loaded).expect("plan");
        let before = vippsctl::plan::render::text::render(
            &plan,
            vippsctl::plan::render::text::Style { color: false },
        );
        if reword {
            for m in &mut plan.merchants {
                for c in &mut m.changes {
                    for n in c.notes.iter_mut().chain(c.warnings.iter_mut()) {
                        *n = format!("REWORDED {}", n.len());
                    }
                }
            }
            let after = vippsctl::plan::render::text::render(
                &plan,
                vippsctl::plan::render::text::Style { color: false },
            );
            assert_ne!(before, after, "the rendering changed");
        }
        sim.clear_calls();
        let report = sim.apply(&plan, &loaded);
        assert!(report.succeeded(), "{}", report.render());
        sim.writes()
            .into_iter()
            .map(|c| {
                // Agreement ids and webhook ids are the server's; the requests are what matters.
                (c.operation, c.method, c.body)
            })
            .collect::<Vec<_>>()
    };
    let plain = calls_of(false);
    let reworded = calls_of(true);
    assert!(plain.len() >= 8, "{plain:?}");
    assert_eq!(plain, reworded);
}
