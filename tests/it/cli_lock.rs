//! `apply --lock-timeout` (issue 13.6): a second apply on a merchant another apply holds fails at
//! once by default, naming the lock file and the holder's pid and start time; with a timeout it
//! says on stderr that it waits, and either goes on when the holder ends or gives up in time.

use crate::common;
use common::cli::{wait_for_call, Running, Sim, MSN};
use std::time::Duration;

const CONFIG: &str = "version: 1\nmerchants:\n  - msn: \"123456\"\n    redirectQrs:\n      - id: menu\n        redirectUrl: https://shop.example/menu\n";

/// An apply that holds the merchant's lock: its write hangs.
fn holder(sim: &Sim) -> Running {
    sim.write("setup.yaml", CONFIG);
    // Its hung create times out after the default 30 s, long after the checks below.
    let first = Running::start(sim, &["apply", "setup.yaml", "--auto-approve"]);
    wait_for_call(sim, "create_redirect_qr");
    first
}

fn settings(sim: &Sim, pid: u32) -> insta::Settings {
    let mut s = sim.settings();
    s.add_filter(&format!(r"\bpid {pid}\b"), "pid [PID]");
    s.add_filter(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[START]");
    s
}

#[test]
fn a_busy_merchant_fails_at_once_naming_the_lock_and_its_holder() {
    let sim = Sim::hanging_on("create_redirect_qr", Duration::from_secs(120));
    let first = holder(&sim);
    let second = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    assert_eq!(second.code, Some(1), "{second}");
    assert!(
        second.stderr.contains(&format!("pid {}", first.pid())),
        "{second}"
    );
    assert!(second.stderr.contains(".vippsctl/locks/apply-123456.lock"));
    settings(&sim, first.pid()).bind(|| insta::assert_snapshot!("busy", second.to_string()));

    let waited = sim.run(&[
        "apply",
        "setup.yaml",
        "--auto-approve",
        "--lock-timeout",
        "1s",
    ]);
    assert_eq!(waited.code, Some(1), "{waited}");
    settings(&sim, first.pid())
        .bind(|| insta::assert_snapshot!("busy_after_waiting", waited.to_string()));
    first.signal(libc::SIGKILL);
    let _ = first.finish();
}

#[test]
fn with_a_lock_timeout_it_waits_and_goes_on_when_the_holder_ends() {
    let sim = Sim::hanging_on("create_redirect_qr", Duration::from_secs(120));
    let first = holder(&sim);
    let second = Running::start(
        &sim,
        &[
            "apply",
            "setup.yaml",
            "--auto-approve",
            "--lock-timeout",
            "1m",
        ],
    );
    second.wait_for_stderr("Waiting up to 1m (--lock-timeout)");
    first.signal(libc::SIGKILL);
    let _ = first.finish();
    let second = second.finish();
    assert_eq!(second.code, Some(0), "{second}");
    assert!(sim.state().merchants[MSN].redirect_qrs.contains_key("menu"));
}
