//! What a user sees when no access token can be had (issue 12.9): the status, what the endpoint
//! said (its problem detail, or the first bytes of a body that is not JSON), the URL, and a hint
//! that fits the cause; an unreachable host gets a network hint; `-vv` adds the request and
//! response lines; missing credential variables are named all at once. Never a secret.

use crate::common;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use common::cli::{assert_quoted_in_docs, Run, Sim};

const VIPPS: &str = "https://apitest.vipps.no";

const CONFIG: &str = "version: 1\nmerchants:\n  - msn: \"123456\"\n    webhooks:\n      - url: https://shop.example/hook\n        events: [epayments.payment.captured.v1]\n";
const WRONG: &str = "wrong-secret-7a6c0d";

fn setup() -> Sim {
    let sim = Sim::start();
    sim.write("setup.yaml", CONFIG);
    sim
}

/// A token endpoint that answers `status` with an HTML page.
fn html_token_endpoint(sim: &Sim, status: u16) -> String {
    sim.block_on(async move {
        let page = move || async move {
            (
                StatusCode::from_u16(status).unwrap(),
                [("content-type", "text/html; charset=utf-8")],
                "<!DOCTYPE html>\n<html><head><title>Sign in</title></head>\n<body><h1>Corporate proxy: please sign in</h1></body></html>",
            )
                .into_response()
        };
        let app = Router::new().route("/accesstoken/get", post(page));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        format!("http://{addr}")
    })
}

fn no_secret(run: &Run) {
    for s in [
        WRONG,
        vippsctl::sim::SANDBOX_CLIENT_SECRET,
        vippsctl::sim::SANDBOX_SUBSCRIPTION_KEY,
    ] {
        assert!(!run.stdout.contains(s) && !run.stderr.contains(s), "{run}");
    }
}

#[test]
fn a_wrong_secret_shows_the_401_and_its_detail_with_a_credentials_hint() {
    let sim = setup();
    let run = sim.run_env(
        &sim.base_url(),
        &[("VIPPS_CLIENT_SECRET", WRONG)],
        &["plan", "setup.yaml"],
    );
    no_secret(&run);
    assert_eq!(run.code, Some(1));
    common::cli::assert_run!(sim, "wrong_secret", run);
    assert_quoted_in_docs("troubleshooting.md", &run, &[(&sim.base_url(), VIPPS)]);
}

#[test]
fn verbose_adds_the_token_request_and_response_lines() {
    let sim = setup();
    let run = sim.run_env(
        &sim.base_url(),
        &[("VIPPS_CLIENT_SECRET", WRONG)],
        &["-vv", "plan", "setup.yaml"],
    );
    no_secret(&run);
    assert!(
        run.stderr.contains("POST http://") && run.stderr.contains("answered 401"),
        "{run}"
    );
    common::cli::assert_run!(sim, "wrong_secret_verbose", run);
}

#[test]
fn an_html_error_page_is_quoted_and_not_blamed_on_the_credentials() {
    let sim = setup();
    let base = html_token_endpoint(&sim, 501);
    let run = sim.run_at(&base, &["plan", "setup.yaml"]);
    no_secret(&run);
    assert_eq!(run.code, Some(1));
    common::cli::assert_run!(sim, "html_501", run);
    assert_quoted_in_docs("troubleshooting.md", &run, &[(&base, VIPPS)]);
}

#[test]
fn an_html_page_with_200_is_not_a_token() {
    let sim = setup();
    let base = html_token_endpoint(&sim, 200);
    let run = sim.run_at(&base, &["plan", "setup.yaml"]);
    no_secret(&run);
    assert_eq!(run.code, Some(1));
    common::cli::assert_run!(sim, "html_200", run);
    assert_quoted_in_docs("troubleshooting.md", &run, &[(&base, VIPPS)]);
}

#[test]
fn an_unreachable_host_gets_a_network_hint() {
    let sim = setup();
    // A port nobody listens on: bound, then closed again.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let run = sim.run_at(&base, &["plan", "setup.yaml"]);
    no_secret(&run);
    assert_eq!(run.code, Some(1));
    assert!(!run.stderr.contains("credentials"), "{run}");
    common::cli::assert_run!(sim, "unreachable", run);
    assert_quoted_in_docs("troubleshooting.md", &run, &[(&base, VIPPS)]);
}

#[test]
fn every_missing_credential_variable_is_named_at_once() {
    let sim = setup();
    let run = sim.run_with(
        &sim.base_url(),
        &[],
        &[
            "VIPPS_CLIENT_ID",
            "VIPPS_CLIENT_SECRET",
            "VIPPS_SUBSCRIPTION_KEY",
        ],
        &["plan", "setup.yaml"],
    );
    assert_eq!(run.code, Some(1));
    common::cli::assert_run!(sim, "missing_variables", run);
    assert_quoted_in_docs("troubleshooting.md", &run, &[]);
}
