//! Credentials never follow a redirect (issue 12.4). A server at the configured base URL answers
//! 307 to another host, which records everything it receives; the real binary must send that
//! host nothing (no client id or secret, no subscription key, no token) and say why it stopped.

use crate::common;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use common::cli::Sim;
use std::sync::{Arc, Mutex};

const ID: &str = "canary-client-id-5c1d";
const SECRET: &str = "canary-client-secret-9e07";
const KEY: &str = "canary-subscription-key-33fa";

/// What the other host received: one line per request, with every header.
type Seen = Arc<Mutex<Vec<String>>>;

async fn record(State(seen): State<Seen>, uri: Uri, headers: HeaderMap) -> Response {
    let mut line = format!("{uri}");
    for (k, v) in &headers {
        line.push_str(&format!(" {k}={}", v.to_str().unwrap_or("?")));
    }
    seen.lock().unwrap().push(line);
    // Whatever a follower would want: a token, and empty lists.
    axum::Json(serde_json::json!({
        "access_token": "stolen-token", "expires_in": "3600", "webhooks": []
    }))
    .into_response()
}

#[derive(Clone)]
struct Redirect {
    to: String,
    /// Serve the token here (so only API calls are redirected).
    token_here: bool,
}

async fn redirect(State(r): State<Redirect>, uri: Uri) -> Response {
    if r.token_here && uri.path() == "/accesstoken/get" {
        return axum::Json(serde_json::json!({
            "token_type": "Bearer", "expires_in": "3600", "access_token": "the-real-token"
        }))
        .into_response();
    }
    (
        axum::http::StatusCode::TEMPORARY_REDIRECT,
        [("location", format!("{}{uri}", r.to))],
    )
        .into_response()
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

/// The redirecting server's base URL, the other host's, and what the other host received.
fn servers(sim: &Sim, token_here: bool) -> (String, String, Seen) {
    sim.block_on(async {
        let seen = Seen::default();
        let other = serve(
            Router::new()
                .route("/{*rest}", any(record))
                .with_state(seen.clone()),
        )
        .await;
        let base = serve(
            Router::new()
                .route("/{*rest}", any(redirect))
                .with_state(Redirect {
                    to: other.clone(),
                    token_here,
                }),
        )
        .await;
        (base, other, seen)
    })
}

fn plan(sim: &Sim, base: &str) -> common::cli::Run {
    sim.write(
        "setup.yaml",
        "version: 1\nmerchants:\n  - msn: \"123456\"\n    webhooks:\n      - url: https://shop.example/hook\n        events: [epayments.payment.captured.v1]\n",
    );
    sim.run_env(
        base,
        &[
            ("VIPPS_CLIENT_ID", ID),
            ("VIPPS_CLIENT_SECRET", SECRET),
            ("VIPPS_SUBSCRIPTION_KEY", KEY),
        ],
        &["-vv", "plan", "setup.yaml"],
    )
}

fn assert_nothing_leaked(run: &common::cli::Run, seen: &Seen) {
    let seen = seen.lock().unwrap();
    assert!(seen.is_empty(), "the other host received: {seen:#?}");
    for s in [ID, SECRET, KEY, "the-real-token"] {
        assert!(!run.stderr.contains(s) && !run.stdout.contains(s), "{run}");
    }
}

#[test]
fn a_token_endpoint_that_redirects_gets_no_credentials_followed() {
    let sim = Sim::start();
    let (base, other, seen) = servers(&sim, false);
    let run = plan(&sim, &base);
    assert_nothing_leaked(&run, &seen);
    assert_eq!(run.code, Some(1), "{run}");
    common::cli::assert_run!(sim, "token_redirect", run);
    common::cli::assert_quoted_in_docs(
        "troubleshooting.md",
        &run,
        &[
            (&base, "https://apitest.vipps.no"),
            (&other, "https://elsewhere.example"),
        ],
    );
}

#[test]
fn an_api_call_that_redirects_is_not_followed() {
    let sim = Sim::start();
    let (base, _, seen) = servers(&sim, true);
    let run = plan(&sim, &base);
    assert_nothing_leaked(&run, &seen);
    assert_eq!(run.code, Some(1), "{run}");
    common::cli::assert_run!(sim, "api_redirect", run);
}
