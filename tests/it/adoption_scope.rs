//! Partial runs: `--target`, `--exclude`, `--msn`, `--shard` on plan and apply, and `--replace`
//! from the command line.

use crate::common;

use common::binary::{run, start_sim, start_sim_for, stderr, stdout, writes};
use std::path::Path;

const A: &str = "123456";
const B: &str = "234567";

fn write_config(dir: &Path, msns: &[&str]) {
    let mut y = String::from("version: 1\nmerchants:\n");
    for m in msns {
        y.push_str(&format!(
            "  - msn: \"{m}\"\n    webhooks:\n      - url: https://hooks.example/{m}\n        events: [epayments.payment.captured.v1]\n    redirectQrs:\n      - id: bord 1\n        redirectUrl: https://kaffe.example/{m}/1\n      - id: bord 2\n        redirectUrl: https://kaffe.example/{m}/2\n"
        ));
    }
    std::fs::write(dir.join("setup.yaml"), y).unwrap();
}

fn addresses(plan: &str) -> Vec<String> {
    plan.lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let (sym, rest) = l.split_once(' ')?;
            ["+", "~", "-", "+/-", "-/+", "?", "!"]
                .contains(&sym)
                .then(|| rest.split(" (").next().unwrap_or(rest).to_string())
        })
        .filter(|a| a.contains('['))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_and_exclude_restrict_plan_and_apply() {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &[A, B]);

    let out = run(
        &sim,
        dir.path(),
        &[
            "plan",
            "setup.yaml",
            "--target",
            "123456.redirectQrs[bord 1]",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(addresses(&text), ["123456.redirectQrs[bord 1]"], "{text}");
    assert!(
        text.contains("This plan is partial: only 123456.redirectQrs[bord 1]"),
        "{text}"
    );
    assert!(text.contains("Plan: 1 to add"), "{text}");

    // A whole kind, minus one object; and a whole merchant.
    let out = run(
        &sim,
        dir.path(),
        &[
            "plan",
            "setup.yaml",
            "--target",
            "123456.redirectQrs",
            "--target",
            B,
            "--exclude",
            "234567.webhooks",
        ],
    )
    .await;
    let mut got = addresses(&stdout(&out));
    got.sort();
    assert_eq!(
        got,
        [
            "123456.redirectQrs[bord 1]",
            "123456.redirectQrs[bord 2]",
            "234567.redirectQrs[bord 1]",
            "234567.redirectQrs[bord 2]"
        ],
        "{}",
        stdout(&out)
    );

    // Apply with a target writes only that object.
    let out = run(
        &sim,
        dir.path(),
        &[
            "apply",
            "setup.yaml",
            "--auto-approve",
            "--target",
            "234567.redirectQrs[bord 2]",
        ],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(writes(&sim), ["POST /qr/v1/merchant-redirect"]);
    let state = sim.state();
    assert_eq!(
        state.merchants[B].redirect_qrs.keys().collect::<Vec<_>>(),
        ["bord 2"]
    );
    assert!(state
        .merchants
        .get(A)
        .is_none_or(|m| m.redirect_qrs.is_empty()));

    // A saved partial plan applies only its part, and names the part.
    sim.clear_calls();
    let out = run(
        &sim,
        dir.path(),
        &[
            "plan",
            "setup.yaml",
            "--exclude",
            A,
            "--exclude",
            "234567.redirectQrs",
            "--out",
            "p.json",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let saved = std::fs::read_to_string(dir.path().join("p.json")).unwrap();
    assert!(saved.contains("\"excludes\""), "{saved}");
    let out = run(&sim, dir.path(), &["apply", "p.json"]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(writes(&sim), ["POST /webhooks/v1/webhooks"]);
    let out = run(&sim, dir.path(), &["apply", "p.json", "--target", A]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("its own scope"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_addresses_and_unknown_merchants_are_errors() {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &[A]);
    for (args, says) in [
        (vec!["--target", "123456.qrs[x]"], "is not an address"),
        (vec!["--exclude", "123456.webhooks[x"], "is not an address"),
        (
            vec!["--target", "999999"],
            "merchant 999999 is not in the configuration",
        ),
        (
            vec!["--msn", "999999"],
            "merchant 999999 is not in the configuration",
        ),
        (vec!["--shard", "0/3"], "is not a shard"),
        (vec!["--shard", "4/3"], "is not a shard"),
        (vec!["--shard", "1-3"], "is not a shard"),
        (vec!["--replace", "nope"], "is not an address"),
    ] {
        let mut full = vec!["plan", "setup.yaml"];
        full.extend(args.iter());
        let out = run(&sim, dir.path(), &full).await;
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
        assert!(sim.calls().is_empty(), "{args:?} reached the API");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_cover_every_merchant_once_and_read_only_their_own() {
    let msns: Vec<String> = (0..9).map(|i| format!("{}", 300000 + i * 7919)).collect();
    let sim = start_sim_for(&msns).await;
    let dir = tempfile::tempdir().unwrap();
    let refs: Vec<&str> = msns.iter().map(String::as_str).collect();
    write_config(dir.path(), &refs);
    let mut seen: Vec<String> = Vec::new();
    for i in 1..=3 {
        sim.clear_calls();
        let shard = format!("{i}/3");
        let out = run(&sim, dir.path(), &["plan", "setup.yaml", "--shard", &shard]).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let text = stdout(&out);
        assert!(
            text.contains(&format!("This plan is partial: shard {shard}")),
            "{text}"
        );
        let mine: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("merchant "))
            .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
            .collect();
        // Each shard observes only its own merchants.
        let read: std::collections::BTreeSet<String> =
            sim.calls().into_iter().filter_map(|c| c.msn).collect();
        assert_eq!(read, mine.iter().cloned().collect(), "shard {shard}");
        for m in &mine {
            assert_eq!(vippsctl::plan::scope::shard_of(m, 3), i);
        }
        seen.extend(mine);
    }
    seen.sort();
    let mut all = msns.clone();
    all.sort();
    assert_eq!(seen, all);

    let out = run(
        &sim,
        dir.path(),
        &["plan", "setup.yaml", "--msn", &msns[4], "--msn", &msns[2]],
    )
    .await;
    let text = stdout(&out);
    assert!(
        text.contains(&format!("merchant {}", msns[2]))
            && text.contains(&format!("merchant {}", msns[4]))
    );
    assert_eq!(text.matches("\nmerchant ").count(), 2, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replace_from_the_command_line_rotates_a_webhook_secret() {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &[A]);
    let out = run(
        &sim,
        dir.path(),
        &[
            "apply",
            "setup.yaml",
            "--auto-approve",
            "--secrets-out",
            "first.env",
        ],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let old = sim.state().merchants[A].webhooks[0].id;

    let address = "123456.webhooks[https://hooks.example/123456]";
    let out = run(
        &sim,
        dir.path(),
        &[
            "plan",
            "setup.yaml",
            "--detailed-exitcode",
            "--replace",
            address,
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("+/- {address}")),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("replacement requested with --replace"));

    let out = run(
        &sim,
        dir.path(),
        &[
            "apply",
            "setup.yaml",
            "--auto-approve",
            "--replace",
            address,
            "--secrets-out",
            "new.env",
        ],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let hooks = &sim.state().merchants[A].webhooks;
    assert_eq!(hooks.len(), 1);
    assert_ne!(hooks[0].id, old);
    let env = std::fs::read_to_string(dir.path().join("new.env")).unwrap();
    assert!(
        env.contains(hooks[0].secret.expose()),
        "the new secret was handed over"
    );
    assert!(!stdout(&out).contains(hooks[0].secret.expose()));
    assert!(!stderr(&out).contains(hooks[0].secret.expose()));
    let out = run(
        &sim,
        dir.path(),
        &["plan", "setup.yaml", "--detailed-exitcode"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}
