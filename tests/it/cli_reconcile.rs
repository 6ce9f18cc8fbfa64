//! The real binary against an in-process simulator: plans of every action kind in text, markdown
//! and JSON; what plan and apply read and write; convergence; saved plans and their refusals.

use crate::common;
use common::cli::{agreement_lists, assert_run, operations, Sim, MSN};
use common::seed;
use vippsctl::sim::AgreementStatus;

const CHECK_IN: &str = "user.checked-in.v1";
const CAPTURED: &str = "epayments.payment.captured.v1";
const AUTHORIZED: &str = "epayments.payment.authorized.v1";

/// A merchant with one object per action kind, against live state seeded to differ from it.
pub(crate) fn every_action_kind(sim: &Sim) -> std::path::PathBuf {
    let h = &sim.handle;
    seed::webhook(h, MSN, "https://shop.example/pay", &[CAPTURED]);
    seed::webhook(h, MSN, "https://shop.example/checkin", &[CHECK_IN]);
    seed::redirect_qr(h, MSN, "table-2", "https://shop.example/old-menu", None);
    seed::redirect_qr(h, MSN, "table-3", "https://shop.example/3", None);
    seed::redirect_qr(h, MSN, "old-poster", "https://shop.example/poster", None);
    seed::callback_qr(h, MSN, "till-1", "By the door");
    seed::callback_qr(h, MSN, "till-9", "Storage room");
    seed::agreement(
        h,
        MSN,
        "agr_Pendin1",
        "member-pending",
        AgreementStatus::Pending,
        100,
    );
    seed::agreement(
        h,
        MSN,
        "agr_Price01",
        "member-price",
        AgreementStatus::Active,
        100,
    );
    seed::agreement(
        h,
        MSN,
        "agr_Stop001",
        "member-stop",
        AgreementStatus::Active,
        100,
    );
    seed::agreement(
        h,
        MSN,
        "agr_Other01",
        "not-in-config",
        AgreementStatus::Active,
        100,
    );
    let agreements = [
        seed::agreement_yaml("member-new", 100, ""),
        seed::agreement_yaml("member-pending", 100, ""),
        seed::agreement_yaml("member-price", 200, ""),
        seed::agreement_yaml("member-stop", 100, "        status: STOPPED\n"),
    ]
    .concat();
    sim.write(
        "setup.yaml",
        &format!(
            r#"version: 1
environment: test
merchants:
  - msn: "{MSN}"
    name: Test shop
    prune: [redirectQrs]
    webhooks:
      - url: https://shop.example/new
        events: [{CAPTURED}]
        secret: {{ file: secrets.env, key: NEW_SECRET }}
      - url: https://shop.example/pay
        events: [{CAPTURED}, {AUTHORIZED}]
        secret: {{ file: secrets.env, key: PAY_SECRET }}
      - url: https://shop.example/checkin
        events: [{CHECK_IN}, epayments.payment.cancelled.v1]
        secret: {{ file: secrets.env, key: CHECKIN_SECRET }}
    redirectQrs:
      - id: table-1
        redirectUrl: https://shop.example/1
      - id: table-2
        redirectUrl: https://shop.example/menu
      - id: table-3
        redirectUrl: https://shop.example/3
        ttl: 600
    callbackQrs:
      - merchantQrId: till-1
        locationDescription: By the window
    agreements:
{agreements}"#
        ),
    )
}

#[test]
fn plan_shows_every_action_kind_in_text_markdown_and_json() {
    let sim = Sim::start();
    every_action_kind(&sim);
    let text = sim.run(&["plan", "setup.yaml", "--markdown", "plan.md"]);
    assert_run!(sim, "every_action_text", text);
    // Event lists differ by whole events (a regression: the character diff cut names apart).
    assert!(
        text.stdout.contains(&format!(
            "{{+{AUTHORIZED}, +}}{CAPTURED}  # forces replacement"
        )),
        "{text}"
    );
    sim.settings()
        .bind(|| insta::assert_snapshot!("every_action_markdown", sim.read("plan.md")));
    let json = sim.run(&["plan", "setup.yaml", "--json"]);
    assert_eq!(json.code, Some(0), "{json}");
    sim.settings()
        .bind(|| insta::assert_snapshot!("every_action_json", json.stdout));
    let parsed: serde_json::Value = serde_json::from_str(&json.stdout).expect("valid JSON");
    assert_eq!(parsed["format_version"], "2");

    // Planning reads, never writes: two plans, one list call per kind each, and per agreement
    // status: ACTIVE, PENDING, and (a declared agreement has no open one) STOPPED and EXPIRED.
    assert_eq!(sim.writes(), vec![], "a plan must not write");
    let one_plan = [
        "list_agreements",
        "list_agreements",
        "list_agreements",
        "list_agreements",
        "list_callback_qrs",
        "list_redirect_qrs",
        "list_webhooks",
    ];
    let two_plans: Vec<String> = one_plan
        .iter()
        .chain(one_plan.iter())
        .map(|s| s.to_string())
        .collect();
    let mut expected = two_plans;
    expected.sort();
    assert_eq!(operations(&sim.calls()), expected);
}

#[test]
fn apply_then_plan_has_no_changes_and_exit_codes_say_so() {
    let sim = Sim::start();
    every_action_kind(&sim);
    let before = sim.run(&["plan", "setup.yaml", "--detailed-exitcode"]);
    assert_eq!(before.code, Some(2), "changes pending: {before}");

    sim.clear_calls();
    // One write at a time, so the progress lines come in a stable order.
    let apply = sim.run(&[
        "apply",
        "setup.yaml",
        "--auto-approve",
        "--parallelism",
        "1",
    ]);
    assert_run!(sim, "every_action_apply", apply);
    let mut writes = operations(&common::cli::writes(&sim.calls()));
    writes.dedup();
    assert_eq!(
        writes,
        [
            "create_redirect_qr",
            "delete_redirect_qr",
            "delete_webhook",
            "draft_agreement",
            "put_callback_qr",
            "register_webhook",
            // price change and stop: both PATCH the agreement
            "update_agreement",
            "update_redirect_qr",
        ]
    );

    let after = sim.run(&["plan", "setup.yaml", "--detailed-exitcode"]);
    assert_run!(sim, "every_action_after_apply", after);
    assert_eq!(after.code, Some(0));

    // Applying when nothing differs writes nothing.
    sim.clear_calls();
    let again = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    assert!(again.success(), "{again}");
    assert!(again.stdout.contains("No changes."), "{again}");
    assert_eq!(sim.writes(), vec![]);
}

/// Two redirect QRs to create and one to update: a small plan for the saved-plan tests.
fn small_setup(sim: &Sim) {
    seed::redirect_qr(&sim.handle, MSN, "menu", "https://shop.example/old", None);
    sim.write(
        "setup.yaml",
        &format!(
            r#"version: 1
merchants:
  - msn: "{MSN}"
    redirectQrs:
      - id: menu
        redirectUrl: https://shop.example/menu
      - id: table-1
        redirectUrl: https://shop.example/1
"#
        ),
    );
}

#[test]
fn a_saved_plan_applies_exactly() {
    let sim = Sim::start();
    small_setup(&sim);
    let plan = sim.run(&["plan", "setup.yaml", "--out", "p.json"]);
    assert!(plan.success(), "{plan}");
    assert!(plan.stderr.contains("Saved the plan to p.json"), "{plan}");
    let saved: serde_json::Value =
        serde_json::from_str(&sim.read("p.json")).expect("the saved plan is JSON");
    for field in [
        "format_version",
        "vippsctl_version",
        "spec_versions",
        "environment",
        "base_url",
        "config_files",
        "config_digest",
    ] {
        assert!(saved.get(field).is_some(), "saved plan lacks {field}");
    }
    assert_eq!(saved["base_url"], sim.base_url());
    assert_eq!(saved["merchants"][0]["msn"], MSN);
    assert_eq!(sim.writes(), vec![]);

    let apply = sim.run(&["apply", "p.json"]);
    assert!(apply.success(), "{apply}");
    let state = sim.state();
    let qrs = &state.merchants[MSN].redirect_qrs;
    assert_eq!(qrs["menu"].redirect_url, "https://shop.example/menu");
    assert_eq!(qrs["table-1"].redirect_url, "https://shop.example/1");
    assert_eq!(
        operations(&sim.writes()),
        ["create_redirect_qr", "update_redirect_qr"]
    );

    let after = sim.run(&["plan", "setup.yaml", "--detailed-exitcode"]);
    assert_eq!(after.code, Some(0), "{after}");
    assert!(after.stdout.contains("No changes."), "{after}");
}

#[test]
fn a_saved_plan_is_refused_after_live_drift_and_names_the_object() {
    let sim = Sim::start();
    small_setup(&sim);
    assert!(sim
        .run(&["plan", "setup.yaml", "--out", "p.json"])
        .success());
    sim.handle.update(|s| {
        if let Some(q) = s
            .merchants
            .get_mut(MSN)
            .and_then(|m| m.redirect_qrs.get_mut("menu"))
        {
            q.redirect_url = "https://shop.example/changed-in-the-portal".into();
        }
    });
    sim.clear_calls();
    let apply = sim.run(&["apply", "p.json"]);
    assert_run!(sim, "saved_plan_drift", apply);
    assert_eq!(apply.code, Some(1));
    assert!(apply.stderr.contains("redirectQrs[menu]"), "{apply}");
    assert_eq!(sim.writes(), vec![], "a stale plan must write nothing");
}

#[test]
fn a_saved_plan_is_refused_after_the_config_changed() {
    let sim = Sim::start();
    small_setup(&sim);
    assert!(sim
        .run(&["plan", "setup.yaml", "--out", "p.json"])
        .success());
    let mut text = sim.read("setup.yaml");
    text.push_str("      - id: table-2\n        redirectUrl: https://shop.example/2\n");
    sim.write("setup.yaml", &text);
    sim.clear_calls();
    let apply = sim.run(&["apply", "p.json"]);
    assert_run!(sim, "saved_plan_config_changed", apply);
    assert_eq!(apply.code, Some(1));
    assert_eq!(sim.writes(), vec![]);
}

#[test]
fn a_saved_plan_is_refused_for_another_base_url() {
    let sim = Sim::start();
    let other = Sim::start();
    small_setup(&sim);
    seed::redirect_qr(&other.handle, MSN, "menu", "https://shop.example/old", None);
    assert!(sim
        .run(&["plan", "setup.yaml", "--out", "p.json"])
        .success());
    let apply = sim.run_at(&other.base_url(), &["apply", "p.json"]);
    assert_eq!(apply.code, Some(1), "{apply}");
    assert!(apply.stderr.contains("was made for"), "{apply}");
    assert!(apply.stderr.contains(&sim.base_url()), "{apply}");
    assert_eq!(other.writes(), vec![]);
    assert_eq!(sim.writes(), vec![]);
}

#[test]
fn apply_without_a_terminal_or_auto_approve_refuses_and_writes_nothing() {
    let sim = Sim::start();
    small_setup(&sim);
    let apply = sim.run(&["apply", "setup.yaml"]);
    assert_run!(sim, "apply_not_a_terminal", apply);
    assert_eq!(apply.code, Some(1));
    assert_eq!(sim.writes(), vec![]);
    assert!(!sim.state().merchants[MSN]
        .redirect_qrs
        .contains_key("table-1"));
}

#[test]
fn plan_time_errors_point_at_the_config_and_write_nothing() {
    let sim = Sim::start();
    // The live check-in webhook is not declared, and the merchant does not prune webhooks: the
    // declared one would be a second registration of an event that allows one.
    seed::webhook(
        &sim.handle,
        MSN,
        "https://elsewhere.example/checkin",
        &[CHECK_IN],
    );
    sim.write(
        "setup.yaml",
        &format!(
            r#"version: 1
merchants:
  - msn: "{MSN}"
    webhooks:
      - url: https://shop.example/checkin
        events: [{CHECK_IN}]
"#
        ),
    );
    let limit = sim.run(&["plan", "setup.yaml"]);
    assert_run!(sim, "error_per_event_limit", limit);
    assert_eq!(limit.code, Some(1));

    // Callback QRs without any check-in webhook, declared or live.
    let sim = Sim::start();
    sim.write(
        "setup.yaml",
        &format!(
            r#"version: 1
merchants:
  - msn: "{MSN}"
    callbackQrs:
      - merchantQrId: till-1
        locationDescription: By the door
"#
        ),
    );
    let check_in = sim.run(&["plan", "setup.yaml"]);
    assert_run!(sim, "error_no_check_in_webhook", check_in);
    assert_eq!(check_in.code, Some(1));
    let apply = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    assert_eq!(apply.code, Some(1));
    assert_eq!(sim.writes(), vec![]);

    // A live check-in webhook that is not declared satisfies it.
    seed::webhook(
        &sim.handle,
        MSN,
        "https://elsewhere.example/checkin",
        &[CHECK_IN],
    );
    let ok = sim.run(&["plan", "setup.yaml", "--detailed-exitcode"]);
    assert_eq!(ok.code, Some(2), "{ok}");
}

#[test]
fn a_plan_reads_agreements_in_pages() {
    let sim = Sim::start();
    // One more than a page: the plan needs exactly two ACTIVE list calls.
    let page = vippsctl::resources::observe::AGREEMENT_PAGE_SIZE as usize;
    assert_eq!(page, 2000);
    sim.handle.update(|s| {
        let m = s.merchants.entry(MSN.into()).or_default();
        for i in 0..=page {
            let id = format!("agr_{i:07}");
            m.agreements.insert(
                id.clone(),
                vippsctl::sim::Agreement {
                    id,
                    uuid: uuid::Uuid::new_v4(),
                    status: AgreementStatus::Active,
                    product_name: "Coffee club".into(),
                    product_description: None,
                    pricing: vippsctl::sim::Pricing {
                        kind: vippsctl::sim::PricingType::Legacy,
                        currency: "NOK".into(),
                        amount: Some(100),
                        suggested_max_amount: None,
                        max_amount: None,
                    },
                    interval: None,
                    merchant_agreement_url: None,
                    merchant_redirect_url: "https://shop.example/thanks".into(),
                    external_id: Some(format!("customer-{i}")),
                    campaign: None,
                    phone_number: None,
                    created: chrono::Utc::now(),
                    start: None,
                    stop: None,
                },
            );
        }
    });
    sim.write(
        "setup.yaml",
        &format!(
            "version: 1\nmerchants:\n  - msn: \"{MSN}\"\n    agreements:\n{}",
            seed::agreement_yaml("member-1", 100, "")
        ),
    );
    let plan = sim.run(&["plan", "setup.yaml"]);
    assert!(plan.success(), "{plan}");
    assert!(
        plan.stdout
            .contains("2,001 agreements not in the configuration"),
        "{plan}"
    );
    // Two pages of ACTIVE ones, one of PENDING; member-1 has no open agreement, so one list each
    // of STOPPED and EXPIRED decides whether it is drafted (again): five calls, the whole
    // per-minute budget, each asking for its status (Vipps lists ACTIVE ones only without one).
    assert_eq!(
        agreement_lists(&sim.calls()),
        ["ACTIVE", "ACTIVE page 2", "EXPIRED", "PENDING", "STOPPED"]
    );
    assert!(common::cli::every_agreement_list_asks(
        &sim.calls(),
        "pageSize=2000"
    ));
    assert_eq!(sim.writes(), vec![]);
}

#[test]
fn exit_codes_of_plan_and_apply() {
    let sim = Sim::start();
    small_setup(&sim);
    // A usage error is an error (1), never "changes present" (2) (a regression: clap exits 2).
    let usage = sim.run(&[
        "plan",
        "setup.yaml",
        "--detailed-exitcode",
        "--no-such-flag",
    ]);
    assert_eq!(usage.code, Some(1), "{usage}");
    let help = sim.run(&["plan", "--help"]);
    assert_eq!(help.code, Some(0), "{help}");
    // Without --detailed-exitcode a plan with changes exits 0.
    assert_eq!(sim.run(&["plan", "setup.yaml"]).code, Some(0));
    assert_eq!(
        sim.run(&["plan", "setup.yaml", "--detailed-exitcode"]).code,
        Some(2)
    );
    // Live state that cannot be read (here: rejected credentials) is an error, never "changes".
    let denied = sim.run_env(
        &sim.base_url(),
        &[("VIPPS_CLIENT_SECRET", "wrong")],
        &["plan", "setup.yaml", "--detailed-exitcode"],
    );
    assert_eq!(denied.code, Some(1), "{denied}");
    assert!(!denied.stderr.contains("wrong"), "{denied}");
    // apply exits 1 when an action fails.
    sim.handle.set_faults(vippsctl::sim::FaultConfig::once_on(
        "create_redirect_qr",
        vippsctl::sim::FaultKind::Status500,
        // Each 500 leaves the outcome unknown: apply looks, finds nothing and creates again, at
        // most 3 times; the third 500 fails the action.
        3,
    ));
    let failed = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    assert_eq!(failed.code, Some(1), "{failed}");
    let converged = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    assert_eq!(converged.code, Some(0), "{converged}");
    assert_eq!(
        sim.run(&["plan", "setup.yaml", "--detailed-exitcode"]).code,
        Some(0)
    );
}

fn json_keys(v: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                out.insert(k.clone());
                json_keys(x, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| json_keys(x, out)),
        _ => {}
    }
}

/// Every key of a JSON plan, and every action it holds, that `doc` (docs/plan-format.md) does
/// not name in backquotes.
pub(crate) fn undocumented_plan_keys(v: &serde_json::Value, doc: &str) -> Vec<String> {
    let mut keys = std::collections::BTreeSet::new();
    json_keys(v, &mut keys);
    for action in v["resource_changes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["vippsctl"]["action"].as_str())
    {
        keys.insert(action.to_string());
    }
    keys.into_iter()
        .filter(|k| !doc.contains(&format!("`{k}`")))
        .collect()
}

#[test]
fn docs_plan_format_describes_every_field_and_its_example_is_a_valid_plan() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/plan-format.md"),
    )
    .expect("docs/plan-format.md");
    let sim = Sim::start();
    every_action_kind(&sim);
    let json = sim.run(&["plan", "setup.yaml", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    let missing = undocumented_plan_keys(&v, &doc);
    assert!(
        missing.is_empty(),
        "not in docs/plan-format.md: {missing:?}"
    );

    let example = doc
        .split("```json\n")
        .nth(1)
        .and_then(|s| s.split("\n```").next())
        .expect("an example");
    let plan = vippsctl::plan::render::json::read("docs/plan-format.md", example)
        .expect("the example reads as a plan");
    assert_eq!(plan.summary().replace, 1);
    assert_eq!(plan.changes().count(), 1);
}

#[test]
fn the_sandbox_applies_and_then_plans_no_changes() {
    let sim = Sim::start();
    sim.write(
        "setup.yaml",
        &format!(
            r#"version: 1
merchants:
  - msn: "{MSN}"
    webhooks:
      - url: https://shop.example/checkin
        events: [{CHECK_IN}]
        secret: {{ file: secrets.env, key: CHECKIN }}
    callbackQrs:
      - merchantQrId: till-1
        locationDescription: By the door
    redirectQrs:
      - id: menu
        redirectUrl: https://shop.example/menu
"#
        ),
    );
    let apply = sim.run(&["apply", "--sandbox", "--auto-approve", "setup.yaml"]);
    assert!(apply.success(), "{apply}");
    assert!(sim.path(".vippsctl/sandbox.json").exists());
    assert!(sim
        .read("secrets.env")
        .lines()
        .any(|l| l.starts_with("CHECKIN=")));
    let plan = sim.run(&["plan", "--sandbox", "--detailed-exitcode", "setup.yaml"]);
    assert_eq!(plan.code, Some(0), "{plan}");
    assert!(plan.stdout.contains("No changes."), "{plan}");
    // The test's own simulator was never used.
    assert_eq!(sim.calls(), vec![]);
}

#[test]
fn a_phone_number_is_masked_in_every_format_and_sent_to_the_api() {
    let sim = Sim::start();
    let phone = "4791234567";
    sim.write(
        "setup.yaml",
        &format!(
            "version: 1\nmerchants:\n  - msn: \"{MSN}\"\n    agreements:\n{}",
            seed::agreement_yaml(
                "member-1",
                100,
                &format!("        phoneNumber: \"{phone}\"\n")
            )
        ),
    );
    let text = sim.run(&[
        "plan",
        "setup.yaml",
        "--markdown",
        "plan.md",
        "--out",
        "p.json",
    ]);
    let json = sim.run(&["plan", "setup.yaml", "--json"]);
    assert!(text.success() && json.success(), "{text}\n{json}");
    for (what, out) in [
        ("text", text.stdout.as_str()),
        ("stderr", text.stderr.as_str()),
        ("json", json.stdout.as_str()),
        ("markdown", &sim.read("plan.md")),
        ("saved plan", &sim.read("p.json")),
    ] {
        assert!(!out.contains(phone), "{what} shows the phone number: {out}");
    }
    assert!(text.stdout.contains("********67"), "{text}");
    let apply = sim.run(&["apply", "p.json"]);
    assert!(apply.success(), "{apply}");
    assert!(
        !apply.stdout.contains(phone) && !apply.stderr.contains(phone),
        "{apply}"
    );
    let state = sim.state();
    let drafted: Vec<_> = state.merchants[MSN].agreements.values().collect();
    assert_eq!(
        drafted[0].phone_number.as_ref().map(|m| m.0.as_str()),
        Some(phone)
    );
}

#[test]
fn callback_qrs_are_skipped_when_their_check_in_webhook_fails() {
    let sim = Sim::start();
    sim.write(
        "setup.yaml",
        &format!(
            r#"version: 1
merchants:
  - msn: "{MSN}"
    webhooks:
      - url: https://shop.example/checkin
        events: [{CHECK_IN}]
        secret: {{ command: [sh, -c, "exit 1"] }}
    callbackQrs:
      - merchantQrId: till-1
        locationDescription: By the door
"#
        ),
    );
    let run = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(run.stdout.contains("skipped"), "{run}");
    let state = sim.state();
    let m = state.merchants.get(MSN).cloned().unwrap_or_default();
    assert!(m.webhooks.is_empty(), "the webhook was taken back");
    assert!(
        m.callback_qrs.is_empty(),
        "no callback QR without its webhook"
    );
    assert!(!operations(&sim.writes()).contains(&"put_callback_qr".to_string()));
}

#[test]
fn a_markdown_plan_of_thousands_of_changes_fits_a_pull_request_comment() {
    let sim = Sim::start();
    let mut yaml = format!("version: 1\nmerchants:\n  - msn: \"{MSN}\"\n    redirectQrs:\n");
    for i in 0..3000 {
        yaml.push_str(&format!(
            "      - id: table-{i}\n        redirectUrl: https://shop.example/menu?table={i}\n"
        ));
    }
    sim.write("setup.yaml", &yaml);
    let run = sim.run(&["plan", "setup.yaml", "--markdown", "plan.md"]);
    assert!(run.success(), "{run}");
    let md = sim.read("plan.md");
    assert!(md.len() <= 65_536, "{} characters", md.len());
    assert!(
        md.starts_with("### vippsctl: Plan: 3000 to add"),
        "the summary survives truncation: {}",
        &md[..200.min(md.len())]
    );
}

#[test]
fn a_sandbox_plan_saved_to_a_file_applies_in_the_sandbox() {
    let sim = Sim::start();
    small_setup(&sim);
    let plan = sim.run(&["plan", "--sandbox", "setup.yaml", "--out", "p.json"]);
    assert!(plan.success(), "{plan}");
    let saved: serde_json::Value = serde_json::from_str(&sim.read("p.json")).expect("json");
    assert_eq!(saved["base_url"], "sandbox");
    let apply = sim.run(&["apply", "p.json"]);
    assert!(apply.success(), "{apply}");
    let after = sim.run(&["plan", "--sandbox", "--detailed-exitcode", "setup.yaml"]);
    assert_eq!(after.code, Some(0), "{after}");
    assert_eq!(sim.calls(), vec![], "the sandbox, not the test's simulator");
}

#[test]
fn a_pruned_check_in_webhook_is_deleted_before_its_successor_is_registered() {
    let sim = Sim::start();
    let old = seed::webhook(
        &sim.handle,
        MSN,
        "https://shop.example/old-checkin",
        &[CHECK_IN],
    );
    sim.write(
        "setup.yaml",
        &format!(
            r#"version: 1
merchants:
  - msn: "{MSN}"
    prune: [webhooks]
    webhooks:
      - url: https://shop.example/new-checkin
        events: [{CHECK_IN}]
        secret: {{ file: s.env, key: CHECKIN }}
"#
        ),
    );
    let plan = sim.run(&["plan", "setup.yaml"]);
    assert!(
        plan.stdout
            .contains("- 123456.webhooks[https://shop.example/old-checkin]"),
        "{plan}"
    );
    let apply = sim.run(&[
        "apply",
        "setup.yaml",
        "--auto-approve",
        "--parallelism",
        "4",
    ]);
    assert!(apply.success(), "{apply}");
    let order: Vec<String> = sim.writes().iter().map(|c| c.operation.clone()).collect();
    assert_eq!(order, ["delete_webhook", "register_webhook"], "{apply}");
    let state = sim.state();
    let hooks = &state.merchants[MSN].webhooks;
    assert_eq!(hooks.len(), 1);
    assert_ne!(hooks[0].id, old);
    assert_eq!(hooks[0].url, "https://shop.example/new-checkin");
}

#[test]
fn a_webhook_replacement_registers_the_new_one_before_deleting_the_old_one() {
    let sim = Sim::start();
    let old = seed::webhook(&sim.handle, MSN, "https://shop.example/pay", &[CAPTURED]);
    sim.write(
        "setup.yaml",
        &format!(
            r#"version: 1
merchants:
  - msn: "{MSN}"
    webhooks:
      - url: https://shop.example/pay
        events: [{CAPTURED}, {AUTHORIZED}]
        secret: {{ file: s.env, key: PAY }}
"#
        ),
    );
    let apply = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    assert!(apply.success(), "{apply}");
    let writes = sim.writes();
    let order: Vec<&str> = writes.iter().map(|c| c.operation.as_str()).collect();
    assert_eq!(order, ["register_webhook", "delete_webhook"]);
    assert!(
        writes[1].path.ends_with(&old.to_string()),
        "{:?}",
        writes[1]
    );
    let state = sim.state();
    let hooks = &state.merchants[MSN].webhooks;
    assert_eq!(hooks.len(), 1);
    assert_ne!(hooks[0].id, old);
}
