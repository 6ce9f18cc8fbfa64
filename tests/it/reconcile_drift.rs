//! Drift that apply cannot undo, and differences the API cannot show, are said in the plan: a
//! `protect: true` agreement stopped by hand fails the drift check, and a redirect QR's `ttl`
//! (which Vipps never reports back) is compared as far as `expiresIn` allows, with the rest said.

use crate::common;
use common::cli::{assert_run, Sim, MSN};
use common::seed;
use vippsctl::sim::AgreementStatus;

/// A simulator with agreement `member-1` (`agr_Member1`) live in `status`, and a configuration
/// that declares it with `extra` lines.
fn member(status: AgreementStatus, extra: &str) -> Sim {
    let sim = Sim::start();
    seed::agreement(&sim.handle, MSN, "agr_Member1", "member-1", status, 100);
    sim.write(
        "setup.yaml",
        &format!(
            "version: 1\nmerchants:\n  - msn: \"{MSN}\"\n    agreements:\n{}",
            seed::agreement_yaml("member-1", 100, extra)
        ),
    );
    sim
}

#[test]
fn a_protected_agreement_stopped_by_hand_is_drift() {
    let sim = member(AgreementStatus::Active, "        protect: true\n");
    let quiet = sim.run(&["plan", "setup.yaml", "--detailed-exitcode"]);
    assert_eq!(quiet.code, Some(0), "{quiet}");

    // The merchant (or the customer) stops it in the portal or the app.
    sim.handle.stop_agreement("agr_Member1").expect("stop");
    let drift = sim.run(&[
        "plan",
        "setup.yaml",
        "--detailed-exitcode",
        "--markdown",
        "plan.md",
    ]);
    assert_run!(sim, "protected_agreement_stopped", drift);
    assert_eq!(drift.code, Some(2), "drift fails the nightly check");
    let md = sim.read("plan.md");
    let head: String = md.lines().take(8).collect::<Vec<_>>().join("\n");
    sim.settings().bind(|| {
        insta::assert_snapshot!("protected_agreement_stopped_markdown_head", head);
    });

    // Apply cannot bring it back and does not pretend to.
    sim.clear_calls();
    let apply = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    assert!(apply.success(), "{apply}");
    assert!(sim.writes().is_empty(), "apply wrote something: {apply}");
    assert!(apply.stdout.contains("member-1"), "{apply}");
}

#[test]
fn an_unprotected_agreement_stopped_by_the_customer_is_a_note_not_drift() {
    let sim = member(AgreementStatus::Stopped, "");
    let plan = sim.run(&["plan", "setup.yaml", "--detailed-exitcode"]);
    assert_eq!(plan.code, Some(0), "{plan}");
    assert!(plan.stdout.contains("was STOPPED"), "{plan}");
}

/// Four redirect QRs created live with (or without) a ttl, each declared with another one.
#[test]
fn a_ttl_edit_is_planned_where_expires_in_shows_it_and_said_where_it_cannot() {
    let sim = Sim::start();
    let url = "https://shop.example/x";
    // Created with a ttl of one day.
    seed::redirect_qr(&sim.handle, MSN, "shorter", url, Some(86_400));
    seed::redirect_qr(&sim.handle, MSN, "longer", url, Some(86_400));
    seed::redirect_qr(&sim.handle, MSN, "dropped", url, Some(86_400));
    // Created without one.
    seed::redirect_qr(&sim.handle, MSN, "added", url, None);
    seed::redirect_qr(&sim.handle, MSN, "same", url, Some(86_400));
    sim.handle
        .advance_clock(std::time::Duration::from_secs(600));
    sim.write(
        "setup.yaml",
        &format!(
            "version: 1
merchants:
  - msn: \"{MSN}\"
    redirectQrs:
      - id: shorter
        redirectUrl: {url}
        ttl: 3600
      - id: longer
        redirectUrl: {url}
        ttl: 604800
      - id: dropped
        redirectUrl: {url}
      - id: added
        redirectUrl: {url}
        ttl: 3600
      - id: same
        redirectUrl: {url}
        ttl: 86400
"
        ),
    );
    let plan = sim.run(&["plan", "setup.yaml", "--detailed-exitcode"]);
    assert_run!(sim, "ttl_edits", plan);
    assert_eq!(plan.code, Some(2), "{plan}");
    // The shorter ttl is proven by expiresIn, so the plan replaces it.
    assert!(
        plan.stdout.contains("-/+ 123456.redirectQrs[shorter]"),
        "{plan}"
    );
    // The longer one cannot be seen: the plan says so and how to force it.
    assert!(
        plan.stdout
            .contains("--replace '123456.redirectQrs[longer]'"),
        "{plan}"
    );
}
