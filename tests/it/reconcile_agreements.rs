//! Recurring agreements through the real binary: draft, consent, price change, stop, protection.

use crate::common;
use common::cli::{agreement_lists, assert_run, operations, Sim, MSN};
use common::seed;
use vippsctl::sim::AgreementStatus;

fn config(sim: &Sim, agreements: &str) {
    sim.write(
        "setup.yaml",
        &format!("version: 1\nmerchants:\n  - msn: \"{MSN}\"\n    agreements:\n{agreements}"),
    );
}

#[test]
fn a_draft_awaits_consent_and_once_accepted_the_plan_has_no_changes() {
    let sim = Sim::start();
    config(&sim, &seed::agreement_yaml("member-1", 100, ""));
    let apply = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    assert!(apply.success(), "{apply}");
    assert!(
        apply.stdout.contains("/_sim/consent/"),
        "confirmation URL shown: {apply}"
    );
    let state = sim.state();
    let drafted: Vec<_> = state.merchants[MSN].agreements.values().collect();
    assert_eq!(drafted.len(), 1);
    assert_eq!(drafted[0].status, AgreementStatus::Pending);
    assert_eq!(drafted[0].external_id.as_deref(), Some("member-1"));
    let id = drafted[0].id.clone();

    let waiting = sim.run(&["plan", "setup.yaml", "--detailed-exitcode"]);
    assert_run!(sim, "awaiting_consent", waiting);
    assert_eq!(
        waiting.code,
        Some(0),
        "nothing to do while the customer decides"
    );

    sim.handle.accept_agreement(&id).expect("accept");
    sim.clear_calls();
    let accepted = sim.run(&["plan", "setup.yaml", "--detailed-exitcode"]);
    assert_eq!(accepted.code, Some(0), "{accepted}");
    assert!(accepted.stdout.contains("No changes."), "{accepted}");
    assert!(!accepted.stdout.contains("?"), "{accepted}");
    // ACTIVE and PENDING only: the declared agreement is open, so the ended lists are not
    // needed (each list is one of the 5 per minute).
    assert_eq!(agreement_lists(&sim.calls()), ["ACTIVE", "PENDING"]);
    assert_eq!(
        operations(&sim.calls()),
        ["list_agreements", "list_agreements"]
    );
}

#[test]
fn a_price_change_is_an_in_place_patch() {
    let sim = Sim::start();
    seed::agreement(
        &sim.handle,
        MSN,
        "agr_Member1",
        "member-1",
        AgreementStatus::Active,
        100,
    );
    config(&sim, &seed::agreement_yaml("member-1", 250, ""));
    let plan = sim.run(&["plan", "setup.yaml", "--detailed-exitcode"]);
    assert_eq!(plan.code, Some(2), "{plan}");
    assert!(
        plan.stdout.contains("~ 123456.agreements[member-1]"),
        "{plan}"
    );
    assert!(
        plan.stdout.contains("pricing.amount = 100 -> 250"),
        "{plan}"
    );

    sim.clear_calls();
    let apply = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    assert!(apply.success(), "{apply}");
    let writes = sim.writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0].operation, "update_agreement");
    assert_eq!(writes[0].method, "PATCH");
    assert!(writes[0].path.ends_with("/agr_Member1"), "{:?}", writes[0]);
    let a = &sim.state().merchants[MSN].agreements["agr_Member1"];
    assert_eq!(a.pricing.amount, Some(250));
    assert_eq!(a.status, AgreementStatus::Active);
    let after = sim.run(&["plan", "setup.yaml", "--detailed-exitcode"]);
    assert_eq!(after.code, Some(0), "{after}");
}

#[test]
fn status_stopped_stops_the_agreement_once() {
    let sim = Sim::start();
    seed::agreement(
        &sim.handle,
        MSN,
        "agr_Member1",
        "member-1",
        AgreementStatus::Active,
        100,
    );
    config(
        &sim,
        &seed::agreement_yaml("member-1", 100, "        status: STOPPED\n"),
    );
    let apply = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    assert!(apply.success(), "{apply}");
    assert_eq!(
        sim.state().merchants[MSN].agreements["agr_Member1"].status,
        AgreementStatus::Stopped
    );
    sim.clear_calls();
    let again = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    assert!(again.stdout.contains("No changes."), "{again}");
    assert_eq!(sim.writes(), vec![]);
}

#[test]
fn stopping_a_protected_agreement_is_a_plan_error() {
    let sim = Sim::start();
    seed::agreement(
        &sim.handle,
        MSN,
        "agr_Member1",
        "member-1",
        AgreementStatus::Active,
        100,
    );
    config(
        &sim,
        &seed::agreement_yaml(
            "member-1",
            100,
            "        status: STOPPED\n        protect: true\n",
        ),
    );
    let plan = sim.run(&["plan", "setup.yaml"]);
    assert_run!(sim, "protected_stop", plan);
    assert_eq!(plan.code, Some(1));
    let apply = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    assert_eq!(apply.code, Some(1), "{apply}");
    assert_eq!(sim.writes(), vec![]);
    assert_eq!(
        sim.state().merchants[MSN].agreements["agr_Member1"].status,
        AgreementStatus::Active
    );
}

#[test]
fn a_change_the_api_cannot_patch_is_a_plan_error_with_a_hint() {
    let sim = Sim::start();
    seed::agreement(
        &sim.handle,
        MSN,
        "agr_Member1",
        "member-1",
        AgreementStatus::Active,
        100,
    );
    config(
        &sim,
        &seed::agreement_yaml("member-1", 100, "").replace("currency: NOK", "currency: EUR"),
    );
    let plan = sim.run(&["plan", "setup.yaml"]);
    assert_run!(sim, "unpatchable_change", plan);
    assert_eq!(plan.code, Some(1));
    assert!(plan.stderr.contains("hint:"), "{plan}");
    assert_eq!(sim.writes(), vec![]);
}

#[test]
fn an_expired_draft_is_drafted_anew_with_a_new_idempotency_key() {
    let sim = Sim::start();
    config(&sim, &seed::agreement_yaml("member-1", 100, ""));
    assert!(sim
        .run(&["apply", "setup.yaml", "--auto-approve"])
        .success());
    // Drafts not accepted within 10 minutes expire.
    sim.handle
        .advance_clock(std::time::Duration::from_secs(11 * 60));
    let plan = sim.run(&["plan", "setup.yaml", "--detailed-exitcode"]);
    assert_eq!(plan.code, Some(2), "{plan}");
    assert!(plan.stdout.contains("EXPIRED without consent"), "{plan}");
    let apply = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    assert!(apply.success(), "{apply}");
    let state = sim.state();
    let mut statuses: Vec<_> = state.merchants[MSN]
        .agreements
        .values()
        .map(|a| a.status.as_str())
        .collect();
    statuses.sort();
    // Had the second draft reused the first one's key, Vipps would have answered with the expired
    // agreement and nothing new would wait for consent.
    assert_eq!(statuses, ["EXPIRED", "PENDING"]);
    let after = sim.run(&["plan", "setup.yaml", "--detailed-exitcode"]);
    assert_eq!(after.code, Some(0), "{after}");
}
