//! Resumable fleet runs: `apply --results FILE` records each merchant's outcome (also when the
//! run fails before its writes), and `--msn-from FILE --only failed` re-runs exactly the
//! merchants that did not finish.

use crate::common;

use common::binary::{run, start_sim_for, stderr, stdout};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use vippsctl::sim::{FaultConfig, FaultKind, SimHandle};

/// Six merchants; the first two also declare a redirect QR (the simulator will refuse to create
/// those), the others only a webhook.
const FLEET: [&str; 6] = ["700001", "700002", "700003", "700004", "700005", "700006"];

fn write_config(dir: &Path) {
    let mut y = String::from("version: 1\nmerchants:\n");
    for (i, m) in FLEET.iter().enumerate() {
        y.push_str(&format!(
            "  - msn: \"{m}\"\n    webhooks:\n      - url: https://hooks.example/{m}\n        events: [epayments.payment.captured.v1]\n"
        ));
        if i < 2 {
            y.push_str(&format!(
                "    redirectQrs:\n      - id: door\n        redirectUrl: https://shop.example/{m}\n"
            ));
        }
    }
    std::fs::write(dir.join("setup.yaml"), y).unwrap();
}

fn results(dir: &Path, name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join(name)).expect("a results file"))
        .expect("JSON")
}

fn outcomes(r: &Value) -> Vec<(String, String)> {
    r["merchants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["msn"].as_str().unwrap().to_string(),
                m["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The MSNs that writes went to.
fn written_msns(sim: &SimHandle) -> BTreeSet<String> {
    sim.calls()
        .into_iter()
        .filter(|c| c.method != "GET" && c.operation != "fetch_access_token")
        .filter_map(|c| c.msn)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_run_touches_exactly_the_merchants_that_failed() {
    let fleet: Vec<String> = FLEET.iter().map(|s| s.to_string()).collect();
    let sim = start_sim_for(&fleet).await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path());
    sim.set_faults(FaultConfig {
        operations: vec!["create_redirect_qr".into()],
        ..FaultConfig::always(&[FaultKind::Status500])
    });
    let first = run(
        &sim,
        dir.path(),
        &[
            "apply",
            "setup.yaml",
            "--auto-approve",
            "--results",
            "r1.json",
        ],
    )
    .await;
    assert_eq!(first.status.code(), Some(1), "{}", stderr(&first));
    let r1 = results(dir.path(), "r1.json");
    assert_eq!(r1["format_version"], "1");
    let got = outcomes(&r1);
    assert_eq!(got.len(), FLEET.len(), "{r1}");
    for (msn, outcome) in &got {
        let want = if msn == FLEET[0] || msn == FLEET[1] {
            "failed"
        } else {
            "succeeded"
        };
        assert_eq!(outcome, want, "{msn}: {r1}");
    }
    let failed = &r1["merchants"][0];
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("redirectQrs[door]"),
        "{r1}"
    );
    assert!(failed["changes"].as_array().unwrap().len() == 2, "{r1}");

    // Resume: only the two failed merchants are planned, read and written.
    sim.set_faults(FaultConfig::none());
    sim.clear_calls();
    let second = run(
        &sim,
        dir.path(),
        &[
            "apply",
            "setup.yaml",
            "--auto-approve",
            "--msn-from",
            "r1.json",
            "--only",
            "failed",
            "--results",
            "r2.json",
        ],
    )
    .await;
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    let touched: BTreeSet<String> = sim.calls().into_iter().filter_map(|c| c.msn).collect();
    let want: BTreeSet<String> = [FLEET[0], FLEET[1]].iter().map(|s| s.to_string()).collect();
    assert_eq!(touched, want, "{}", stdout(&second));
    assert_eq!(written_msns(&sim), want);
    assert!(
        stdout(&second).contains("This plan is partial"),
        "{}",
        stdout(&second)
    );
    let r2 = results(dir.path(), "r2.json");
    assert!(outcomes(&r2).iter().all(|(_, o)| o == "succeeded"), "{r2}");

    // Nothing left: a resume does nothing, says so, and succeeds.
    sim.clear_calls();
    let third = run(
        &sim,
        dir.path(),
        &[
            "apply",
            "setup.yaml",
            "--auto-approve",
            "--msn-from",
            "r2.json",
            "--only",
            "failed",
        ],
    )
    .await;
    assert_eq!(third.status.code(), Some(0), "{}", stderr(&third));
    assert!(
        stderr(&third).contains("nothing to resume"),
        "{}",
        stderr(&third)
    );
    assert!(
        sim.calls().iter().all(|c| c.msn.is_none()),
        "{:?}",
        sim.calls()
    );

    // And the whole fleet now plans no changes.
    let plan = run(
        &sim,
        dir.path(),
        &["plan", "setup.yaml", "--detailed-exitcode"],
    )
    .await;
    assert_eq!(plan.status.code(), Some(0), "{}", stdout(&plan));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_fails_before_its_writes_leaves_every_merchant_to_resume() {
    // A sales unit the simulator does not know: reading it fails, so no plan is made at all.
    let fleet: Vec<String> = FLEET[..5].iter().map(|s| s.to_string()).collect();
    let sim = start_sim_for(&fleet).await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path());
    let out = run(
        &sim,
        dir.path(),
        &[
            "apply",
            "setup.yaml",
            "--auto-approve",
            "--results",
            "r.json",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let r = results(dir.path(), "r.json");
    let got = outcomes(&r);
    assert_eq!(got.len(), FLEET.len());
    assert!(got.iter().all(|(_, o)| o == "not_run"), "{r}");
    assert!(
        r["merchants"][0]["error"]
            .as_str()
            .unwrap()
            .contains("no plan was made"),
        "{r}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msn_from_reads_a_list_and_refuses_what_is_not_an_msn_or_not_configured() {
    let fleet: Vec<String> = FLEET.iter().map(|s| s.to_string()).collect();
    let sim = start_sim_for(&fleet).await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path());
    std::fs::write(
        dir.path().join("some.txt"),
        "# two of them\n700003\n\n700005\n",
    )
    .unwrap();
    let out = run(
        &sim,
        dir.path(),
        &["plan", "setup.yaml", "--msn-from", "some.txt"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("2 merchants (700003, 700005)"), "{text}");
    assert!(!text.contains("700001"), "{text}");

    std::fs::write(dir.path().join("bad.txt"), "700003\nshop-7\n").unwrap();
    let out = run(
        &sim,
        dir.path(),
        &["plan", "setup.yaml", "--msn-from", "bad.txt"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("bad.txt:2:1: `shop-7` is not an MSN"),
        "{}",
        stderr(&out)
    );

    std::fs::write(dir.path().join("gone.txt"), "799999\n").unwrap();
    let out = run(
        &sim,
        dir.path(),
        &["plan", "setup.yaml", "--msn-from", "gone.txt"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("merchant 799999 is not in the configuration"),
        "{}",
        stderr(&out)
    );

    // A results file needs --only: which of its merchants is not guessed.
    std::fs::write(
        dir.path().join("r.json"),
        "{\"format_version\": \"1\", \"base_url\": \"x\", \"merchants\": []}",
    )
    .unwrap();
    let out = run(
        &sim,
        dir.path(),
        &["plan", "setup.yaml", "--msn-from", "r.json"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--only failed"), "{}", stderr(&out));
}
