//! Two `vippsctl apply` runs of the same configuration at the same moment (a re-run CI job, two
//! pushes in a row) end in the configured state: no duplicate registration or draft, every
//! webhook secret in its sink, and the next plan shows no changes.

use crate::proof;

use proof::Size;
use std::time::Duration;
use vippsctl::sim::SimConfig;

const SIZE: Size = Size {
    webhooks: 8,
    redirect_qrs: 20,
    callback_qrs: 8,
    agreements: 12,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_applies_at_once_end_in_the_configured_state() {
    let mut failures = Vec::new();
    let mut waited = 0;
    for seed in 0..5u64 {
        let mut sc = SimConfig::test();
        sc.seed = seed;
        sc.latency = Duration::from_millis(5);
        sc.jitter = Duration::from_millis(15);
        let sim = vippsctl::sim::start(sc, ([127, 0, 0, 1], 0).into())
            .await
            .unwrap();
        proof::seed_unmanaged(&sim);
        let dir = tempfile::tempdir().unwrap();
        let (_, config) = proof::write_config(dir.path(), SIZE, None);
        let apply = || {
            let mut c = proof::cli(dir.path(), &sim.base_url());
            // Without --lock-timeout the second run would fail at once (cli_lock tests that).
            c.args([
                "apply",
                "--auto-approve",
                "--lock-timeout",
                "5m",
                "setup.yaml",
            ]);
            proof::run(c)
        };
        let (a, b) = tokio::join!(apply(), apply());
        waited += [&a, &b]
            .iter()
            .filter(|r| r.2.contains("for another vippsctl apply on merchant"))
            .count();
        for (name, (code, out, err)) in [("first", &a), ("second", &b)] {
            if *code != 0 {
                failures.push(format!(
                    "seed {seed}: {name} apply exited {code}\n{out}\n{err}"
                ));
            }
        }
        let mut plan = proof::cli(dir.path(), &sim.base_url());
        plan.args(["plan", "--detailed-exitcode", "setup.yaml"]);
        let (code, out, _) = proof::run(plan).await;
        if code != 0 {
            failures.push(format!(
                "seed {seed}: plan after both exited {code}:\n{out}"
            ));
        }
        let v = proof::violations(
            &sim.state(),
            &config.config,
            &dir.path().join(proof::SECRETS_FILE),
        );
        if !v.is_empty() {
            failures.push(format!("seed {seed}: {v:#?}"));
        }
        sim.shutdown().await;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // The runs overlapped: one of each pair found the other holding the merchant.
    assert!(waited >= 1, "no run ever waited for the other");
}
