//! An apply that is asked to stop while it writes (issue 12.7): SIGINT or SIGTERM to the real
//! binary against a slow simulator, and the run deadline (issue 12.8). No new change starts;
//! a change in flight finishes, or is abandoned after the documented grace and reported as
//! unknown (a webhook among them recorded as a lost secret); the report is printed and the exit
//! code says why. A second signal exits at once.

use crate::common;
use common::cli::{wait_for_call, Running, Sim, MSN};
use std::time::Duration;
use vippsctl::sim::FaultConfig;

fn qr_config(sim: &Sim) {
    let mut yaml = format!("version: 1\nmerchants:\n  - msn: \"{MSN}\"\n    redirectQrs:\n");
    for i in 1..=3 {
        yaml.push_str(&format!(
            "      - id: table-{i}\n        redirectUrl: https://shop.example/t{i}\n"
        ));
    }
    sim.write("setup.yaml", &yaml);
}

fn webhook_config(sim: &Sim) {
    sim.write(
        "setup.yaml",
        &format!(
            "version: 1\nmerchants:\n  - msn: \"{MSN}\"\n    webhooks:\n      - url: https://shop.example/hook\n        events: [epayments.payment.captured.v1]\n        secret: {{ file: hook.env, key: HOOK_SECRET }}\n    redirectQrs:\n      - id: menu\n        redirectUrl: https://shop.example/menu\n"
        ),
    );
}

// The default request timeout (30 s) outlasts the grace (5 s): the grace decides.
const APPLY: &[&str] = &[
    "apply",
    "setup.yaml",
    "--auto-approve",
    "--parallelism",
    "1",
];

#[test]
fn sigint_lets_the_write_in_flight_finish_starts_no_other_and_reports() {
    let sim = Sim::hanging_on("create_redirect_qr", Duration::from_secs(3));
    qr_config(&sim);
    let run = Running::start(&sim, APPLY);
    wait_for_call(&sim, "create_redirect_qr");
    run.signal(libc::SIGINT);
    let run = run.finish();
    assert_eq!(run.code, Some(130), "{run}");
    assert!(run.stderr.contains("get up to 5.0s to finish"), "{run}");
    common::cli::assert_run!(sim, "sigint_in_flight_finishes", run);
    // The report tells the truth: the one it calls done exists, the others were not sent.
    let live = sim.state().merchants[MSN].redirect_qrs.len();
    assert_eq!(live, 1);
    let creates = sim
        .calls()
        .iter()
        .filter(|c| c.operation == "create_redirect_qr")
        .count();
    assert_eq!(creates, 2, "the hung create, then its retry; nothing else");
    // The next apply does the rest.
    sim.handle.set_faults(FaultConfig::none());
    let again = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    assert!(again.success(), "{again}");
}

#[test]
fn sigterm_abandons_a_registration_that_does_not_finish_and_records_its_secret_as_lost() {
    let sim = Sim::hanging_on("register_webhook", Duration::from_secs(120));
    webhook_config(&sim);
    let run = Running::start(&sim, APPLY);
    wait_for_call(&sim, "register_webhook");
    run.signal(libc::SIGTERM);
    let run = run.finish();
    assert_eq!(run.code, Some(143), "{run}");
    assert!(
        run.stdout.contains("abandoned in flight 5.0s after"),
        "{run}"
    );
    common::cli::assert_run!(sim, "sigterm_abandons", run);
    let lost = sim.read(".vippsctl/lost-secrets.json");
    assert!(
        lost.contains("\"key\": \"https://shop.example/hook\""),
        "{lost}"
    );
    // The next plan says why it registers again, and an apply converges.
    sim.handle.set_faults(FaultConfig::none());
    let plan = sim.run(&["plan", "setup.yaml"]);
    assert!(
        plan.stdout
            .contains("its one-time secret is not in its sink"),
        "{plan}"
    );
    let again = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    assert!(again.success(), "{again}");
    let after = sim.run(&["plan", "setup.yaml", "--detailed-exitcode"]);
    assert_eq!(after.code, Some(0), "{after}");
}

#[test]
fn a_second_signal_exits_at_once() {
    let sim = Sim::hanging_on("register_webhook", Duration::from_secs(120));
    webhook_config(&sim);
    let run = Running::start(&sim, APPLY);
    wait_for_call(&sim, "register_webhook");
    run.signal(libc::SIGTERM);
    run.wait_for_stderr("SIGTERM received");
    run.signal(libc::SIGTERM);
    let run = run.finish();
    assert_eq!(run.code, Some(143), "{run}");
    assert!(run.stderr.contains("SIGTERM again: exiting now"), "{run}");
    // Gone before the grace ran out: no report was printed.
    assert!(!run.stdout.contains("Apply "), "{run}");
}

#[test]
fn the_run_deadline_stops_an_apply_like_a_signal() {
    let sim = Sim::hanging_on("register_webhook", Duration::from_secs(120));
    webhook_config(&sim);
    let mut args = APPLY.to_vec();
    args.extend(["--deadline", "8s"]);
    let run = Running::start(&sim, &args).finish();
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stdout.contains("stopped at its deadline of 8.0s"),
        "{run}"
    );
    common::cli::assert_run!(sim, "deadline_stops_apply", run);
    assert!(sim
        .read(".vippsctl/lost-secrets.json")
        .contains("shop.example/hook"));
}
