//! `--replace`, `--target`, `--exclude` and `--msn` name something of the run, or the run stops
//! before anything is planned or applied: an address that matches nothing (a trailing slash, a
//! case difference, a wrong MSN) is an error naming it, with the nearest address of the run.
//! An address matches when it names a declared object (live or not yet) or a live one (managed
//! or not).

use crate::common::cli::{Run, Sim, MSN};

const HOOK: &str = "https://shop.example/hook";

fn config(extra_qr: bool) -> String {
    let mut yaml = format!(
        r#"version: 1
merchants:
  - msn: "{MSN}"
    webhooks:
      - url: {HOOK}
        events: [epayments.payment.captured.v1]
        secret: {{ file: hook.env, key: HOOK_SECRET }}
    redirectQrs:
      - id: Bord 1
        redirectUrl: https://shop.example/bord-1
"#
    );
    if extra_qr {
        yaml.push_str("      - id: Bord 2\n        redirectUrl: https://shop.example/bord-2\n");
    }
    yaml
}

/// A merchant applied with a webhook and two QR codes, then configured without `Bord 2`, which
/// stays live and unmanaged (the merchant does not prune).
fn seeded() -> Sim {
    let sim = Sim::start();
    sim.write("setup.yaml", &config(true));
    let run = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    assert!(run.success(), "{run}");
    sim.write("setup.yaml", &config(false));
    sim.clear_calls();
    sim
}

fn refused(sim: &Sim, args: &[&str]) -> Run {
    let run = sim.run(args);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stderr.contains("nothing was planned or applied"),
        "{run}"
    );
    assert!(sim.writes().is_empty(), "something was applied: {run}");
    run
}

#[test]
fn replace_that_matches_nothing_is_an_error_with_the_nearest_address() {
    let sim = seeded();
    let trailing_slash = format!("{MSN}.webhooks[{HOOK}/]");
    let case = format!("{MSN}.webhooks[{}]", HOOK.replace("shop", "Shop"));
    let wrong_msn = format!("12345.webhooks[{HOOK}]");
    let mut outs = Vec::new();
    for address in [&trailing_slash, &case, &wrong_msn] {
        for command in ["plan", "apply"] {
            let mut args = vec![command, "setup.yaml", "--replace", address.as_str()];
            if command == "apply" {
                args.push("--auto-approve");
            }
            let run = refused(&sim, &args);
            assert!(
                run.stderr.contains(&format!(
                    "--replace `{address}` matches no object of this run"
                )),
                "{run}"
            );
            assert!(
                run.stderr
                    .contains(&format!("did you mean `{MSN}.webhooks[{HOOK}]`?")),
                "{run}"
            );
            if command == "plan" {
                outs.push(run.to_string());
            }
        }
    }
    sim.settings()
        .bind(|| insta::assert_snapshot!("replace_unmatched", outs.join("\n")));
}

#[test]
fn target_and_exclude_that_match_nothing_are_errors() {
    let sim = seeded();
    let target = refused(
        &sim,
        &[
            "plan",
            "setup.yaml",
            "--target",
            &format!("{MSN}.redirectQrs[bord 1]"),
        ],
    );
    assert!(
        target
            .stderr
            .contains(&format!("did you mean `{MSN}.redirectQrs[Bord 1]`?")),
        "{target}"
    );
    let both = refused(
        &sim,
        &[
            "apply",
            "setup.yaml",
            "--auto-approve",
            "--exclude",
            &format!("{MSN}.webhooks[{HOOK}/]"),
            "--target",
            &format!("{MSN}.callbackQrs[till-1]"),
        ],
    );
    assert!(
        both.stderr
            .contains("2 addresses match no object of this run"),
        "{both}"
    );
    let msn = refused(&sim, &["plan", "setup.yaml", "--msn", "12345"]);
    assert!(
        msn.stderr.contains(&format!("did you mean {MSN}?")),
        "{msn}"
    );
    sim.settings().bind(|| {
        insta::assert_snapshot!(
            "target_exclude_msn_unmatched",
            [target, both, msn].map(|r| r.to_string()).join("\n")
        )
    });
}

/// `plan setup.yaml ARGS...` succeeds and its output shows `shows`.
fn plans(sim: &Sim, args: &[&str], shows: &str) {
    let mut all = vec!["plan", "setup.yaml"];
    all.extend_from_slice(args);
    let run = sim.run(&all);
    assert!(run.success(), "{run}");
    assert!(run.stdout.contains(shows), "{run}");
}

#[test]
fn addresses_of_declared_and_of_unmanaged_live_objects_match() {
    let sim = seeded();
    // Live and not declared (unmanaged): a valid target.
    let unmanaged = format!("{MSN}.redirectQrs[Bord 2]");
    plans(&sim, &["--target", &unmanaged], &unmanaged);
    // Declared and not live yet: a valid target and a valid --replace (it is created anyway).
    let mut yaml = config(false);
    yaml.push_str("      - id: Bord 3\n        redirectUrl: https://shop.example/bord-3\n");
    sim.write("setup.yaml", &yaml);
    let address = format!("{MSN}.redirectQrs[Bord 3]");
    let create = format!("+ {address}");
    plans(
        &sim,
        &["--target", &address, "--replace", &address],
        &create,
    );
    // Declared and live with no change: replacing it is what --replace is for.
    let hook = format!("{MSN}.webhooks[{HOOK}]");
    let replace = format!("+/- {hook}");
    plans(&sim, &["--replace", &hook, "--exclude", &address], &replace);
    // A kind of a merchant of the run is always a valid target, even with nothing of it.
    plans(
        &sim,
        &["--target", &format!("{MSN}.callbackQrs")],
        "This plan is partial",
    );
}
