//! Secret sinks under pressure: a sink that fails after a delete-first rotation of the check-in
//! webhook, a file sink that is a symbolic link, a temp file left by a killed write, and a sink
//! command that exits but leaves a child holding its output.

use crate::common;
use common::cli::{dotenv_value, file_mode, operations, Sim, MSN};

const CHECK_IN: &str = "user.checked-in.v1";
const HOOK: &str = "https://shop.example/check-in";

fn config(sim: &Sim, url: &str, events: &str, secret: &str) {
    // Pruning is on so that the check-in webhook can move to another url.
    sim.write(
        "setup.yaml",
        &format!(
            "version: 1\nmerchants:\n  - msn: \"{MSN}\"\n    prune: [webhooks]\n    webhooks:\n      - url: {url}\n        events: [{events}]\n{secret}"
        ),
    );
}

fn file_sink() -> &'static str {
    "        secret: { file: hook.env, key: HOOK_SECRET }\n"
}

/// A sink that fails the way an expired `gh` token does.
fn failing_sink() -> &'static str {
    "        secret: { command: [sh, -c, \"cat >/dev/null; echo 'gh: token expired' >&2; exit 1\"] }\n"
}

/// The live registrations of the merchant: (id, url, events).
fn live(sim: &Sim) -> Vec<(String, String, Vec<String>)> {
    sim.state()
        .merchants
        .get(MSN)
        .map(|m| {
            m.webhooks
                .iter()
                .map(|w| (w.id.to_string(), w.url.clone(), w.events.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// After a failed run: the next plan replaces the kept registration, and an apply with a working
/// sink converges.
fn recovers(sim: &Sim, url: &str) {
    config(sim, url, CHECK_IN, file_sink());
    sim.assert_lost_secret_is_replaced();
}

/// 12.1: the check-in event allows one registration per sales unit, so a rotation deletes the
/// old one first. When the sink then fails, taking the new one back would leave the merchant
/// with no check-in webhook at all: it is kept, its secret recorded as lost.
#[test]
fn a_failing_sink_after_a_delete_first_rotation_keeps_the_new_check_in_registration() {
    let sim = Sim::start();
    config(&sim, HOOK, CHECK_IN, file_sink());
    let first = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    assert!(first.success(), "{first}");
    let old = live(&sim);
    assert_eq!(old.len(), 1);

    config(&sim, HOOK, CHECK_IN, failing_sink());
    sim.clear_calls();
    let address = format!("{MSN}.webhooks[{HOOK}]");
    let run = sim.run(&[
        "apply",
        "setup.yaml",
        "--auto-approve",
        "--replace",
        &address,
    ]);
    common::cli::assert_run!(sim, "rotation_sink_fails", run);
    assert_eq!(run.code, Some(1));
    let now = live(&sim);
    assert_eq!(now.len(), 1, "a check-in registration remains: {now:?}");
    assert_ne!(now[0].0, old[0].0, "it is the new registration");
    assert_eq!(
        operations(&sim.writes()),
        ["delete_webhook", "register_webhook"],
        "the new registration is not taken back"
    );
    let lost = sim.read(".vippsctl/lost-secrets.json");
    assert!(lost.contains(&format!("\"key\": \"{HOOK}\"")), "{lost}");
    recovers(&sim, HOOK);
}

/// 12.1, the same through a url change: the old check-in registration is deleted first (it
/// frees the one place), then the new one is registered and its sink fails.
#[test]
fn a_failing_sink_after_the_old_check_in_webhook_was_deleted_keeps_the_new_one() {
    let sim = Sim::start();
    common::seed::webhook(
        &sim.handle,
        MSN,
        "https://old.example/check-in",
        &[CHECK_IN],
    );
    config(&sim, HOOK, CHECK_IN, failing_sink());
    let run = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    common::cli::assert_run!(sim, "moved_check_in_sink_fails", run);
    assert_eq!(run.code, Some(1));
    let now = live(&sim);
    assert_eq!(now.len(), 1, "{now:?}");
    assert_eq!(now[0].1, HOOK);
    recovers(&sim, HOOK);
}

/// 12.6: a file sink that is a symbolic link is written through to its target; the link stays.
#[test]
fn a_symlinked_file_sink_is_written_through_to_its_target() {
    let sim = Sim::start();
    config(
        &sim,
        "https://shop.example/hook",
        "epayments.payment.captured.v1",
        file_sink(),
    );
    sim.write("vault/real.env", "# managed elsewhere\nOTHER=1\n");
    std::os::unix::fs::symlink("vault/real.env", sim.path("hook.env")).unwrap();
    let run = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    assert!(run.success(), "{run}");
    let meta = std::fs::symlink_metadata(sim.path("hook.env")).unwrap();
    assert!(meta.file_type().is_symlink(), "the link was replaced");
    let target = sim.read("vault/real.env");
    assert!(
        target.starts_with("# managed elsewhere\nOTHER=1\n"),
        "{target}"
    );
    assert_eq!(
        dotenv_value(&target, "HOOK_SECRET"),
        Some(sim.live_secret())
    );
    assert_eq!(file_mode(&sim.path("vault/real.env")), 0o600);
    // The link still leads to the secret, so the next plan has nothing to do.
    let plan = sim.run(&["plan", "setup.yaml", "--detailed-exitcode"]);
    assert_eq!(plan.code, Some(0), "{plan}");
}

/// 12.6: a write killed between creating its temp file and renaming it leaves a file holding
/// secrets next to the sink. The next apply removes it and says so.
#[test]
fn a_temp_file_left_by_a_killed_write_is_removed_by_the_next_apply() {
    let sim = Sim::start();
    config(
        &sim,
        "https://shop.example/hook",
        "epayments.payment.captured.v1",
        "        secret: { file: secrets/hook.env, key: HOOK_SECRET }\n",
    );
    let leftover = sim.write(
        "secrets/.vippsctl-secretAbC123",
        "HOOK_SECRET=from-the-killed-run\n",
    );
    let unrelated = sim.write("secrets/notes.txt", "keep me\n");
    let run = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    common::cli::assert_run!(sim, "leftover_temp_file", run);
    assert!(run.success());
    assert!(!leftover.exists(), "the leftover temp file is still there");
    assert!(unrelated.exists());
}

/// 12.6: a sink command that exits 0 but leaves a background child holding its stderr is judged
/// by its exit, not by the pipe closing (before: a 60 s timeout, then the registration deleted).
#[test]
fn a_sink_command_is_judged_by_its_exit_not_by_its_pipes() {
    let sim = Sim::start();
    config(
        &sim,
        "https://shop.example/hook",
        "epayments.payment.captured.v1",
        "        secret: { command: [sh, -c, \"cat > got.txt; sleep 300 & echo $! > bg.pid\"] }\n",
    );
    let run = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    if let Ok(pid) = sim.read("bg.pid").trim().parse::<i32>() {
        // SAFETY: kill(2) on a pid this test's sink command started.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    assert!(run.success(), "{run}");
    assert_eq!(sim.read("got.txt"), sim.live_secret());
}
