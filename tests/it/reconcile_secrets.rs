//! One-time webhook secrets reach their sink, and only their sink: the secret the simulator holds
//! for the registration is the one the file or command got, and a failing sink takes the
//! registration back.

use crate::common;
use common::cli::{dotenv_value, file_mode, operations, Sim, MSN};

const HOOK: &str = "https://shop.example/hook";

fn config(sim: &Sim, secret: &str) {
    sim.write(
        "setup.yaml",
        &format!(
            "version: 1\nmerchants:\n  - msn: \"{MSN}\"\n    webhooks:\n      - url: {HOOK}\n        events: [epayments.payment.captured.v1]\n{secret}"
        ),
    );
}

fn assert_not_leaked(run: &common::cli::Run, secret: &str) {
    assert!(!run.stdout.contains(secret), "secret on stdout: {run}");
    assert!(!run.stderr.contains(secret), "secret on stderr: {run}");
}

#[test]
fn a_file_sink_gets_the_registered_secret_with_mode_0600_and_keeps_other_lines() {
    let sim = Sim::start();
    config(
        &sim,
        "        secret: { file: secrets/hook.env, key: HOOK_SECRET }\n",
    );
    sim.write("secrets/hook.env", "# kept\nOTHER=1\nHOOK_SECRET=stale\n");
    let run = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    assert!(run.success(), "{run}");
    let secret = sim.live_secret();
    let text = sim.read("secrets/hook.env");
    assert_eq!(dotenv_value(&text, "HOOK_SECRET"), Some(secret.clone()));
    assert!(text.starts_with("# kept\nOTHER=1\n"), "{text}");
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("HOOK_SECRET="))
            .count(),
        1,
        "{text}"
    );
    assert_eq!(file_mode(&sim.path("secrets/hook.env")), 0o600);
    assert_not_leaked(&run, &secret);
}

#[test]
fn a_command_sink_gets_the_secret_on_stdin() {
    let sim = Sim::start();
    config(
        &sim,
        "        secret: { command: [sh, -c, \"cat > got.txt\"] }\n",
    );
    let run = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    assert!(run.success(), "{run}");
    let secret = sim.live_secret();
    assert_eq!(sim.read("got.txt"), secret);
    assert_not_leaked(&run, &secret);
}

#[test]
fn a_failing_sink_fails_the_action_and_deletes_the_new_webhook() {
    let sim = Sim::start();
    config(
        &sim,
        "        secret: { command: [sh, -c, \"cat >/dev/null; echo vault sealed >&2; exit 3\"] }\n",
    );
    let run = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    common::cli::assert_run!(sim, "failing_sink", run);
    assert_eq!(run.code, Some(1));
    assert!(sim.state().merchants[MSN].webhooks.is_empty());
    assert_eq!(
        operations(&sim.writes()),
        ["delete_webhook", "register_webhook"]
    );
    // Re-running with a working sink converges.
    config(
        &sim,
        "        secret: { command: [sh, -c, \"cat > got.txt\"] }\n",
    );
    let again = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    assert!(again.success(), "{again}");
    assert_eq!(sim.read("got.txt"), sim.live_secret());
}

#[test]
fn secrets_out_is_the_default_sink() {
    let sim = Sim::start();
    config(&sim, "");
    let plan = sim.run(&["plan", "setup.yaml"]);
    assert!(plan.stdout.contains("no secret sink declared"), "{plan}");
    let run = sim.run(&[
        "apply",
        "setup.yaml",
        "--auto-approve",
        "--secrets-out",
        "out.env",
    ]);
    assert!(run.success(), "{run}");
    let secret = sim.live_secret();
    let text = sim.read("out.env");
    assert_eq!(
        dotenv_value(&text, "VIPPS_WEBHOOK_SECRET_123456_SHOP_EXAMPLE_HOOK"),
        Some(secret.clone()),
        "{text}"
    );
    assert_eq!(file_mode(&sim.path("out.env")), 0o600);
    assert_not_leaked(&run, &secret);
}

#[test]
fn replacing_a_webhook_rotates_the_secret_in_the_sink() {
    let sim = Sim::start();
    config(
        &sim,
        "        secret: { file: hook.env, key: HOOK_SECRET }\n",
    );
    assert!(sim
        .run(&["apply", "setup.yaml", "--auto-approve"])
        .success());
    let first = sim.live_secret();
    let address = format!("{MSN}.webhooks[{HOOK}]");
    let run = sim.run(&[
        "apply",
        "setup.yaml",
        "--auto-approve",
        "--replace",
        &address,
    ]);
    assert!(run.success(), "{run}");
    let second = sim.live_secret();
    assert_ne!(first, second);
    assert_eq!(
        dotenv_value(&sim.read("hook.env"), "HOOK_SECRET"),
        Some(second)
    );
}

#[test]
fn a_saved_plan_with_replace_rotates_the_secret_when_applied() {
    let sim = Sim::start();
    config(
        &sim,
        "        secret: { file: hook.env, key: HOOK_SECRET }\n",
    );
    assert!(sim
        .run(&["apply", "setup.yaml", "--auto-approve"])
        .success());
    let first = sim.live_secret();
    let address = format!("{MSN}.webhooks[{HOOK}]");
    let plan = sim.run(&[
        "plan",
        "setup.yaml",
        "--replace",
        &address,
        "--out",
        "p.json",
    ]);
    assert!(plan.success(), "{plan}");
    let apply = sim.run(&["apply", "p.json"]);
    assert!(apply.success(), "{apply}");
    let second = sim.live_secret();
    assert_ne!(first, second);
    assert_eq!(
        dotenv_value(&sim.read("hook.env"), "HOOK_SECRET"),
        Some(second)
    );
}

#[test]
fn a_failing_sink_during_a_replacement_keeps_the_old_registration() {
    let sim = Sim::start();
    let old = common::seed::webhook(&sim.handle, MSN, HOOK, &["epayments.payment.authorized.v1"]);
    config(&sim, "        secret: { command: [sh, -c, \"exit 1\"] }\n");
    let run = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(run.stdout.contains("+/-"), "{run}");
    // Delivery goes on through the old registration: it was to be deleted only after the new one
    // was in place with its secret stored.
    let state = sim.state();
    let hooks = &state.merchants[MSN].webhooks;
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert_eq!(hooks[0].id, old);
}

#[test]
fn a_registration_left_without_its_secret_is_remembered_and_replaced_by_the_next_apply() {
    let sim = Sim::start();
    config(&sim, "        secret: { command: [sh, -c, \"exit 1\"] }\n");
    // The sink fails, and taking the registration back fails too: it stays, with no secret
    // anywhere. Nothing live shows that, so vippsctl must remember it. (A DELETE is retried on
    // 500, so the fault lasts exactly the 5 attempts of the transport's default retry policy.)
    sim.handle.set_faults(vippsctl::sim::FaultConfig::once_on(
        "delete_webhook",
        vippsctl::sim::FaultKind::Status500,
        vippsctl::api::retry::RetryPolicy::default().max_attempts,
    ));
    let first = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    common::cli::assert_run!(sim, "lost_secret", first);
    assert_eq!(first.code, Some(1));
    assert_eq!(sim.state().merchants[MSN].webhooks.len(), 1);
    assert!(sim.path(".vippsctl/lost-secrets.json").exists());

    config(
        &sim,
        "        secret: { file: hook.env, key: HOOK_SECRET }\n",
    );
    sim.assert_lost_secret_is_replaced();
}

#[test]
fn the_secret_is_not_logged_even_at_trace_level() {
    let sim = Sim::start();
    config(
        &sim,
        "        secret: { file: hook.env, key: HOOK_SECRET }\n",
    );
    let run = sim.run(&["-vvv", "apply", "setup.yaml", "--auto-approve"]);
    assert!(run.success(), "{run}");
    assert!(
        run.stderr.contains("DEBUG register_webhook"),
        "verbose logging is on: {run}"
    );
    let secret = sim.live_secret();
    assert_not_leaked(&run, &secret);
    for s in [
        vippsctl::sim::SANDBOX_CLIENT_SECRET,
        vippsctl::sim::SANDBOX_SUBSCRIPTION_KEY,
    ] {
        assert!(!run.stderr.contains(s), "credential in the log");
    }
}
