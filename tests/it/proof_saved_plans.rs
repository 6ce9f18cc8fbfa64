//! Saved plans tell the truth about why they are refused, and are not refused for nothing:
//! `plan --out` then `apply PLAN` works in the sandbox after a change (the fingerprints cover what
//! the plan depends on, not the image links a server makes up per run), real drift is still
//! refused, and a plan file edited by hand is reported as such, not as a change of the live state.

use crate::common;
use common::cli::{assert_run, Sim, MSN};

const CAFE: &str = "version: 1
merchants:
  - msn: \"654321\"
    prune: [redirectQrs, callbackQrs]
    webhooks:
      - url: https://kaffe.example/vipps/check-in
        events: [user.checked-in.v1]
        secret: { file: secrets/kaffe.env, key: VIPPS_CHECKIN_SECRET }
    callbackQrs:
      - merchantQrId: till-1
        locationDescription: Kasse 1
      - merchantQrId: till-2
        locationDescription: Kasse 2
    redirectQrs:
      - id: bord 1
        redirectUrl: https://kaffe.example/meny?bord=1
      - id: bord 2
        redirectUrl: https://kaffe.example/meny?bord=2
";

/// The café applied in the sandbox, then edited: one callback QR renamed, one redirect QR updated
/// and one removed from the file (pruned).
fn edited_sandbox() -> Sim {
    let sim = Sim::start();
    sim.write("setup/cafe.yaml", CAFE);
    let apply = sim.run(&["apply", "setup/", "--sandbox", "--auto-approve"]);
    assert!(apply.success(), "{apply}");
    let edited = CAFE
        .replace("Kasse 2\n", "Kasse 2 i baren\n")
        .replace("meny?bord=1", "meny?bord=en")
        .replace(
            "      - id: bord 2\n        redirectUrl: https://kaffe.example/meny?bord=2\n",
            "",
        );
    sim.write("setup/cafe.yaml", &edited);
    sim
}

#[test]
fn a_saved_plan_applies_in_the_sandbox_after_a_change() {
    let sim = edited_sandbox();
    let plan = sim.run(&["plan", "setup/", "--sandbox", "--out", "plan.json"]);
    assert!(plan.success(), "{plan}");
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 2 to change, 0 to replace, 1 to destroy."),
        "{plan}"
    );
    let apply = sim.run(&["apply", "plan.json"]);
    assert!(apply.success(), "the saved plan was refused:\n{apply}");
    assert!(apply.stdout.contains("Apply complete: 3 done"), "{apply}");
    let again = sim.run(&["plan", "setup/", "--sandbox", "--detailed-exitcode"]);
    assert_eq!(again.code, Some(0), "{again}");
}

#[test]
fn two_identical_sandbox_plans_have_the_same_fingerprints() {
    let sim = edited_sandbox();
    let a = sim.run(&["plan", "setup/", "--sandbox", "--json"]);
    let b = sim.run(&["plan", "setup/", "--sandbox", "--json"]);
    assert!(a.success() && b.success(), "{a}\n{b}");
    assert_eq!(a.stdout, b.stdout, "the same inputs give the same plan");
}

#[test]
fn real_drift_behind_a_saved_sandbox_plan_is_still_refused() {
    let sim = edited_sandbox();
    let plan = sim.run(&["plan", "setup/", "--sandbox", "--out", "plan.json"]);
    assert!(plan.success(), "{plan}");
    // Someone else applies first: the saved plan's changes are no longer what is needed.
    let other = sim.run(&["apply", "setup/", "--sandbox", "--auto-approve"]);
    assert!(other.success(), "{other}");
    let state = std::fs::read(sim.path(".vippsctl/sandbox.json")).expect("sandbox state");
    let apply = sim.run(&["apply", "plan.json"]);
    assert_run!(sim, "sandbox_drift_refused", apply);
    assert_eq!(apply.code, Some(1));
    assert_eq!(
        std::fs::read(sim.path(".vippsctl/sandbox.json")).expect("sandbox state"),
        state,
        "a refused plan wrote nothing"
    );
}

/// Two redirect QRs applied, then a change of one of them planned and saved to plan.json.
fn menu_change_saved() -> Sim {
    let sim = Sim::start();
    sim.write(
        "setup.yaml",
        &format!(
            "version: 1\nmerchants:\n  - msn: \"{MSN}\"\n    redirectQrs:\n      - id: menu\n        redirectUrl: https://shop.example/menu\n      - id: door\n        redirectUrl: https://shop.example/door\n"
        ),
    );
    assert!(sim
        .run(&["apply", "setup.yaml", "--auto-approve"])
        .success());
    let text = sim.read("setup.yaml").replace("/menu\n", "/menu-2026\n");
    sim.write("setup.yaml", &text);
    assert!(sim
        .run(&["plan", "setup.yaml", "--out", "plan.json"])
        .success());
    sim
}

#[test]
fn a_live_object_changed_behind_a_saved_plan_is_named_as_live_drift() {
    let sim = menu_change_saved();
    sim.handle.update(|s| {
        let m = s.merchants.get_mut(MSN).expect("merchant");
        m.redirect_qrs.get_mut("menu").expect("menu").redirect_url =
            "https://portal.example/edited".into();
    });
    let apply = sim.run(&["apply", "plan.json"]);
    assert_run!(sim, "live_object_changed", apply);
}

#[test]
fn an_edited_plan_file_is_reported_as_not_matching_a_fresh_plan() {
    let sim = menu_change_saved();
    // The reviewed plan is edited afterwards: its URL now points somewhere else.
    let saved = sim.read("plan.json");
    assert!(saved.contains("https://shop.example/menu-2026"), "{saved}");
    sim.write(
        "plan.json",
        &saved.replace("https://shop.example/menu-2026", "https://evil.example/pay"),
    );
    sim.clear_calls();
    let apply = sim.run(&["apply", "plan.json"]);
    assert_run!(sim, "edited_plan_file", apply);
    assert_eq!(apply.code, Some(1));
    assert!(sim.writes().is_empty(), "an edited plan wrote something");
    assert!(
        !apply.stderr.contains("the live state changed"),
        "an edited file is not live drift:\n{apply}"
    );
}
