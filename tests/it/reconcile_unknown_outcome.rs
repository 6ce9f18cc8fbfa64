//! Writes whose answer is lost (the simulator changes its state, then fails or drops the
//! connection): apply resolves them by looking again, and never leaves a duplicate.

use crate::common;
use common::cli::{load_yaml, operations, Sim, MSN};
use vippsctl::apply::Outcome;
use vippsctl::sim::{FaultConfig, FaultKind};

fn qr_config(sim: &Sim) {
    sim.write(
        "setup.yaml",
        &format!(
            "version: 1\nmerchants:\n  - msn: \"{MSN}\"\n    redirectQrs:\n      - id: menu\n        redirectUrl: https://shop.example/menu\n"
        ),
    );
}

fn no_changes(sim: &Sim) {
    let plan = sim.run(&["plan", "setup.yaml", "--detailed-exitcode"]);
    assert_eq!(plan.code, Some(0), "{plan}");
}

#[test]
fn a_qr_create_whose_answer_is_lost_converges_without_a_duplicate() {
    for kind in [FaultKind::AfterWriteDrop, FaultKind::AfterWrite500] {
        let sim = Sim::start();
        qr_config(&sim);
        sim.handle
            .set_faults(FaultConfig::once_on("create_redirect_qr", kind, 1));
        let run = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
        assert!(run.success(), "{kind:?}: {run}");
        let calls = sim.calls();
        assert!(
            calls
                .iter()
                .any(|c| c.operation == "create_redirect_qr" && c.faulted.is_some()),
            "{kind:?}: the fault was injected"
        );
        let state = sim.state();
        assert_eq!(state.merchants[MSN].redirect_qrs.len(), 1);
        assert_eq!(
            state.merchants[MSN].redirect_qrs["menu"].redirect_url,
            "https://shop.example/menu"
        );
        no_changes(&sim);
    }
}

#[test]
fn a_qr_create_answered_409_is_done_when_the_fields_are_equal_and_failed_when_not() {
    let sim = Sim::start();
    let config = load_yaml(
        sim.dir.path(),
        &format!(
            "version: 1\nmerchants:\n  - msn: \"{MSN}\"\n    redirectQrs:\n      - id: menu\n        redirectUrl: https://shop.example/menu\n      - id: bar\n        redirectUrl: https://shop.example/bar\n      - id: ttl\n        redirectUrl: https://shop.example/ttl\n"
        ),
    );
    let plan = sim.plan(&config).expect("plan");
    // Someone (an earlier attempt whose answer was lost, or a colleague) creates them after the plan.
    common::seed::redirect_qr(&sim.handle, MSN, "menu", "https://shop.example/menu", None);
    common::seed::redirect_qr(&sim.handle, MSN, "bar", "https://shop.example/other", None);
    // Same url, but it expires: not the QR code the configuration declares (a regression: the
    // 409 check once compared the url only).
    common::seed::redirect_qr(
        &sim.handle,
        MSN,
        "ttl",
        "https://shop.example/ttl",
        Some(600),
    );
    let report = sim.apply(&plan, &config);
    let by_key = |k: &str| {
        report
            .results
            .iter()
            .find(|r| r.address.key == k)
            .map(|r| r.outcome.clone())
            .expect("a result")
    };
    assert!(
        matches!(by_key("menu"), Outcome::Done { .. }),
        "{:?}",
        by_key("menu")
    );
    for key in ["bar", "ttl"] {
        match by_key(key) {
            Outcome::Failed { error } => assert!(error.contains("already exists"), "{error}"),
            other => panic!("{key} must fail: {other:?}"),
        }
    }
    // The differing one was not overwritten.
    assert_eq!(
        sim.state().merchants[MSN].redirect_qrs["bar"].redirect_url,
        "https://shop.example/other"
    );
}

#[test]
fn a_webhook_registration_whose_answer_is_lost_ends_with_one_registration_and_its_secret() {
    for kind in [FaultKind::AfterWriteDrop, FaultKind::AfterWrite500] {
        let sim = Sim::start();
        sim.write(
            "setup.yaml",
            &format!(
                "version: 1\nmerchants:\n  - msn: \"{MSN}\"\n    webhooks:\n      - url: https://shop.example/hook\n        events: [epayments.payment.captured.v1]\n        secret: {{ file: hook.env, key: HOOK }}\n"
            ),
        );
        sim.handle
            .set_faults(FaultConfig::once_on("register_webhook", kind, 1));
        let run = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
        assert!(run.success(), "{kind:?}: {run}");
        let state = sim.state();
        let hooks = &state.merchants[MSN].webhooks;
        assert_eq!(hooks.len(), 1, "{kind:?}: exactly one registration");
        let stored = sim.read("hook.env");
        assert_eq!(
            stored
                .lines()
                .find(|l| l.starts_with("HOOK="))
                .unwrap_or(""),
            format!("HOOK={}", hooks[0].secret.expose()),
            "{kind:?}: the sink holds the live registration's secret"
        );
        // The lost registration was found by url and events, deleted and registered again.
        assert_eq!(
            operations(&sim.writes()),
            ["delete_webhook", "register_webhook", "register_webhook"],
            "{kind:?}"
        );
        no_changes(&sim);
    }
}

fn agreement_config(sim: &Sim) {
    sim.write(
        "setup.yaml",
        &format!(
            "version: 1\nmerchants:\n  - msn: \"{MSN}\"\n    agreements:\n{}",
            common::seed::agreement_yaml("member-1", 100, "")
        ),
    );
}

#[test]
fn a_dropped_draft_is_retried_with_its_idempotency_key_and_drafts_once() {
    let sim = Sim::start();
    agreement_config(&sim);
    sim.handle.set_faults(FaultConfig::once_on(
        "draft_agreement",
        FaultKind::AfterWriteDrop,
        1,
    ));
    let run = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    assert!(run.success(), "{run}");
    let drafts: Vec<_> = sim
        .calls()
        .into_iter()
        .filter(|c| c.operation == "draft_agreement")
        .collect();
    // The transport retries a POST only when it carries an Idempotency-Key; the simulator answers
    // the retry from its idempotency cache instead of drafting again.
    assert_eq!(drafts.len(), 2, "{drafts:?}");
    assert_eq!(drafts[0].body, drafts[1].body);
    assert_eq!(sim.state().merchants[MSN].agreements.len(), 1);
    no_changes(&sim);
}

#[test]
fn a_draft_whose_outcome_stayed_unknown_is_not_drafted_again_on_the_next_run() {
    let sim = Sim::start();
    agreement_config(&sim);
    // The draft is written, then every attempt of the transport's retry policy is answered 500.
    sim.handle.set_faults(FaultConfig::once_on(
        "draft_agreement",
        FaultKind::AfterWrite500,
        vippsctl::api::retry::RetryPolicy::default().max_attempts,
    ));
    let first = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    assert_eq!(first.code, Some(1), "the 500 is reported: {first}");
    assert_eq!(sim.state().merchants[MSN].agreements.len(), 1);
    let second = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    assert!(second.success(), "{second}");
    assert!(
        second.stdout.contains("awaiting the customer's consent"),
        "{second}"
    );
    assert_eq!(sim.state().merchants[MSN].agreements.len(), 1);
}

#[test]
fn recurring_changes_carry_a_stable_idempotency_key_in_the_plan() {
    let sim = Sim::start();
    agreement_config(&sim);
    let a = sim.run(&["plan", "setup.yaml", "--json"]);
    let b = sim.run(&["plan", "setup.yaml", "--json"]);
    let key = |r: &common::cli::Run| {
        let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
        v["resource_changes"][0]["vippsctl"]["idempotency_key"].clone()
    };
    assert!(key(&a).is_string(), "{a}");
    assert_eq!(key(&a), key(&b));
}

#[test]
fn agreement_patches_whose_answer_is_dropped_are_retried_with_their_key() {
    // PATCH is not idempotent by method: the transport sends it again only because it carries an
    // Idempotency-Key. Without one, the dropped answer would fail the action.
    for (extra, amount) in [("", 250), ("        status: STOPPED\n", 100)] {
        let sim = Sim::start();
        common::seed::agreement(
            &sim.handle,
            MSN,
            "agr_Member1",
            "member-1",
            vippsctl::sim::AgreementStatus::Active,
            100,
        );
        sim.write(
            "setup.yaml",
            &format!(
                "version: 1\nmerchants:\n  - msn: \"{MSN}\"\n    agreements:\n{}",
                common::seed::agreement_yaml("member-1", amount, extra)
            ),
        );
        sim.handle.set_faults(FaultConfig::once_on(
            "update_agreement",
            FaultKind::AfterWriteDrop,
            1,
        ));
        let run = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
        assert!(run.success(), "{extra}: {run}");
        let patches: Vec<_> = sim
            .calls()
            .into_iter()
            .filter(|c| c.operation == "update_agreement")
            .collect();
        assert_eq!(patches.len(), 2, "{extra}: {patches:?}");
        assert!(patches[0].faulted.is_some() && patches[1].faulted.is_none());
        no_changes(&sim);
    }
}
