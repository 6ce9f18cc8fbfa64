//! Every request and every run has a bound (issue 12.8): `--timeout` per request, `--deadline`
//! per run. A server that accepts the connection and never answers is "no answer from ... within
//! N", not "could not reach" (it was reachable).

use crate::common;
use common::cli::Sim;
use std::time::Duration;

const CONFIG: &str = "version: 1\nmerchants:\n  - msn: \"123456\"\n    webhooks:\n      - url: https://shop.example/hook\n        events: [epayments.payment.captured.v1]\n";

/// A server that accepts every connection, reads nothing and never answers.
fn silent_server(sim: &Sim) -> String {
    sim.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        format!("http://{addr}")
    })
}

#[test]
fn a_token_endpoint_that_never_answers_is_no_answer_within_the_timeout() {
    let sim = Sim::start();
    sim.write("setup.yaml", CONFIG);
    let base = silent_server(&sim);
    let run = sim.run_at(&base, &["plan", "setup.yaml", "--timeout", "1s"]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(!run.stderr.contains("could not reach"), "{run}");
    assert!(
        run.stderr.contains("no answer from http://127.0.0.1:"),
        "{run}"
    );
    assert!(run.stderr.contains("within 1.0s"), "{run}");
    common::cli::assert_run!(sim, "silent_token_endpoint", run);
    common::cli::assert_quoted_in_docs(
        "troubleshooting.md",
        &run,
        &[(&base, "https://apitest.vipps.no")],
    );
}

#[test]
fn an_api_that_never_answers_a_read_is_no_answer_within_the_timeout() {
    let mut config = vippsctl::sim::SimConfig::test();
    config.faults = vippsctl::sim::FaultConfig {
        hang: Duration::from_secs(120),
        ..vippsctl::sim::FaultConfig::once_on(
            "list_webhooks",
            vippsctl::sim::FaultKind::Timeout,
            10,
        )
    };
    let sim = Sim::with_config(config);
    sim.write("setup.yaml", CONFIG);
    let run = sim.run(&["plan", "setup.yaml", "--timeout", "1s"]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(run.stderr.contains("within 1.0s"), "{run}");
    common::cli::assert_run!(sim, "silent_list", run);
    // A read is sent three times in all after no answer, not five times.
    let lists = sim
        .calls()
        .iter()
        .filter(|c| c.operation == "list_webhooks")
        .count();
    assert_eq!(lists, 3);
}

#[test]
fn a_run_that_outlasts_its_deadline_ends_and_says_so() {
    let sim = Sim::start();
    sim.write("setup.yaml", CONFIG);
    let base = silent_server(&sim);
    let run = sim.run_at(
        &base,
        &["plan", "setup.yaml", "--timeout", "60s", "--deadline", "1s"],
    );
    assert_eq!(run.code, Some(1), "{run}");
    assert!(run.stderr.contains("deadline of 1.0s"), "{run}");
    common::cli::assert_run!(sim, "plan_deadline", run);
}
