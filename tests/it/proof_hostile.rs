//! A hostile or broken API (a small axum server in the test): huge bodies, wrong content types,
//! invalid JSON, bytes trickling in slower than any timeout (slow loris), and a registration
//! answered with garbage after it was made. vippsctl fails the affected action with a clear
//! error, returns within its timeouts, and leaves nothing half-done: no registration whose
//! secret nobody has.

use crate::proof;

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use futures::StreamExt;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vippsctl::apply::{ApplyOptions, Outcome};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    /// 200 with a JSON body that never ends (streamed as fast as the client reads).
    HugeBody,
    /// 200 with an HTML page, as a proxy's error page would be.
    WrongContentType,
    /// 200 `application/json` that stops mid-document.
    InvalidJson,
    /// 200, then one byte every 300 ms, forever.
    SlowLoris,
}

#[derive(Default)]
struct Server {
    /// Per operation: list_webhooks or register_webhook.
    list_mode: Option<Mode>,
    register_mode: Option<Mode>,
    webhooks: Vec<(String, String, Vec<String>, String)>,
    next: u32,
}

type Shared = Arc<Mutex<Server>>;

fn hostile(mode: Mode) -> Response {
    match mode {
        Mode::HugeBody => {
            let chunk = bytes::Bytes::from(
                "{\"id\":\"00000000-0000-4000-8000-000000000000\",\"url\":\"https://x.example/\",\"events\":[\"a\"]},"
                    .repeat(1024),
            );
            let first = futures::stream::once(async {
                Ok::<_, std::io::Error>(bytes::Bytes::from("{\"webhooks\":["))
            });
            let rest = futures::stream::repeat_with(move || Ok(chunk.clone()));
            Response::builder()
                .status(200)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from_stream(first.chain(rest)))
                .unwrap()
        }
        Mode::WrongContentType => Response::builder()
            .status(200)
            .header(header::CONTENT_TYPE, "text/html")
            .body(Body::from(
                "<html><body>Service temporarily moved</body></html>",
            ))
            .unwrap(),
        Mode::InvalidJson => Response::builder()
            .status(200)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{\"id\": \"0000"))
            .unwrap(),
        Mode::SlowLoris => {
            let s = futures::stream::unfold((), |()| async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                Some((Ok::<_, std::io::Error>(bytes::Bytes::from_static(b" ")), ()))
            });
            Response::builder()
                .status(200)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from_stream(s))
                .unwrap()
        }
    }
}

async fn token() -> Json<Value> {
    Json(json!({
        "token_type": "Bearer", "expires_in": "3600", "ext_expires_in": "3600",
        "expires_on": "9999999999", "not_before": "0", "resource": "r",
        "access_token": "hostile-token"
    }))
}

async fn list(State(s): State<Shared>) -> Response {
    let (mode, hooks) = {
        let s = s.lock().unwrap();
        (s.list_mode, s.webhooks.clone())
    };
    if let Some(m) = mode {
        return hostile(m);
    }
    let items: Vec<Value> = hooks
        .iter()
        .map(|(id, url, events, _)| json!({"id": id, "url": url, "events": events}))
        .collect();
    Json(json!({ "webhooks": items })).into_response()
}

async fn register(State(s): State<Shared>, Json(body): Json<Value>) -> Response {
    let (mode, id, secret) = {
        let mut s = s.lock().unwrap();
        s.next += 1;
        let id = format!("00000000-0000-4000-8000-{:012}", s.next);
        let secret = format!("secret-{}", s.next);
        let events = body["events"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let url = body["url"].as_str().unwrap_or_default().to_string();
        // The registration is made before the answer goes wrong.
        s.webhooks.push((id.clone(), url, events, secret.clone()));
        (s.register_mode.take(), id, secret)
    };
    match mode {
        Some(m) => hostile(m),
        None => (
            StatusCode::CREATED,
            Json(json!({"id": id, "secret": secret})),
        )
            .into_response(),
    }
}

async fn remove(State(s): State<Shared>, UrlPath(id): UrlPath<String>) -> StatusCode {
    let mut s = s.lock().unwrap();
    let before = s.webhooks.len();
    s.webhooks.retain(|w| w.0 != id);
    if s.webhooks.len() < before {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

async fn start() -> (String, Shared) {
    let shared: Shared = Arc::default();
    let app = Router::new()
        .route("/accesstoken/get", post(token))
        .route("/webhooks/v1/webhooks", get(list).post(register))
        .route("/webhooks/v1/webhooks/{id}", delete(remove))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), shared)
}

const TIMEOUT: Duration = Duration::from_secs(2);
/// Generous: only a hang (no timeout at all) comes near it.
const HANG_GUARD: Duration = Duration::from_secs(120);

fn api(base: &str) -> vippsctl::api::MerchantApi {
    let t = proof::fast_transport(base, TIMEOUT);
    vippsctl::api::MerchantApi::new(t.for_merchant(proof::MSN).unwrap())
}

/// Reading live state from a hostile server is a clear error, returned in bounded time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_reads_fail_clearly_and_in_time() {
    for mode in [
        Mode::HugeBody,
        Mode::WrongContentType,
        Mode::InvalidJson,
        Mode::SlowLoris,
    ] {
        let (base, shared) = start().await;
        shared.lock().unwrap().list_mode = Some(mode);
        let api = api(&base);
        let got = tokio::time::timeout(HANG_GUARD, api.list_webhooks())
            .await
            .unwrap_or_else(|_| panic!("{mode:?}: list_webhooks hung"));
        let err = match got {
            Ok(l) => panic!("{mode:?}: accepted {} webhooks", l.len()),
            Err(e) => e.to_string(),
        };
        eprintln!("{mode:?}: {err}");
        if mode == Mode::HugeBody {
            // Regression: the body used to be buffered without limit until the timeout.
            assert!(err.contains("larger than 32 MiB"), "{err}");
        }
        assert!(err.starts_with("list_webhooks: "), "{mode:?}: {err}");
        assert!(
            err.len() < 600,
            "{mode:?}: error is not a one-liner: {} bytes",
            err.len()
        );
        let lower = err.to_lowercase();
        assert!(
            [
                "unexpected response",
                "timed out",
                "did not complete",
                "connection failed",
                "decod",
                "body"
            ]
            .iter()
            .any(|w| lower.contains(w)),
            "{mode:?}: unclear error: {err}"
        );
    }
}

/// A registration answered with garbage may have been made: apply finds it and removes it
/// (its secret is lost) before trying again, so the end state is one registration whose secret
/// is in the sink, or none and a failed action, never an orphan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_write_answers_leave_nothing_half_done() {
    for mode in [
        Mode::HugeBody,
        Mode::WrongContentType,
        Mode::InvalidJson,
        Mode::SlowLoris,
    ] {
        let (base, shared) = start().await;
        shared.lock().unwrap().register_mode = Some(mode);
        let dir = tempfile::tempdir().unwrap();
        let size = proof::Size {
            webhooks: 1,
            redirect_qrs: 0,
            callback_qrs: 0,
            agreements: 0,
        };
        let yaml = proof::config_yaml(size, None);
        // Only the non-check-in webhook: this server has no QR or agreement endpoints.
        let yaml = yaml.replace(
            &format!(
                "      - url: {}\n        events: [user.checked-in.v1]\n        secret: {{ file: {}, key: {} }}\n",
                proof::CHECKIN_URL,
                proof::SECRETS_FILE,
                proof::secret_key(None)
            ),
            "",
        );
        let (path, loaded) = proof::write_config_text(dir.path(), &yaml);
        let config = &loaded.config;
        assert_eq!(config.merchants[0].webhooks.len(), 1);
        let t = proof::fast_transport(&base, TIMEOUT);
        let apis = proof::apis(&t, config);
        let mut live = vec![vippsctl::plan::LiveMerchant {
            msn: proof::MSN.into(),
            webhooks: Some(vec![]),
            redirect_qrs: Some(vec![]),
            callback_qrs: Some(vec![]),
            agreements: Some(vec![]),
        }];
        // The hostile server answers only the write under test, so the plan is made from a
        // fixed empty live state (the one place a test diffs by itself); apply is the engine's.
        vippsctl::secrets::evidence(config, &mut live, &[]);
        let ctx = vippsctl::plan::PlanContext {
            environment: vippsctl::domain::Environment::Test,
            base_url: base.clone(),
            config_files: vec![],
            config_digest: "d".into(),
            spec_versions: "t".into(),
        };
        let plan = vippsctl::plan::diff(config, &live, &ctx, &Default::default()).unwrap();
        let report = tokio::time::timeout(
            HANG_GUARD,
            proof::apply(&plan, &loaded, &apis, dir.path(), &ApplyOptions::default()),
        )
        .await
        .unwrap_or_else(|_| panic!("{mode:?}: apply hung"));
        let r = &report.results[0];
        eprintln!("{mode:?}: {}", r.line());
        let hooks = shared.lock().unwrap().webhooks.clone();
        let sink = std::fs::read_to_string(path.with_file_name(proof::SECRETS_FILE))
            .ok()
            .and_then(|t| proof::parse_dotenv(&t).ok())
            .unwrap_or_default();
        match &r.outcome {
            Outcome::Done { .. } => {
                assert_eq!(hooks.len(), 1, "{mode:?}: {hooks:?}");
                assert_eq!(
                    sink.get(&proof::secret_key(Some(0))),
                    Some(&hooks[0].3),
                    "{mode:?}: the live registration's secret is not in the sink"
                );
            }
            Outcome::Failed { error } => {
                assert!(
                    hooks.is_empty(),
                    "{mode:?}: left behind {hooks:?} after: {error}"
                );
                assert!(error.contains("register_webhook"), "{mode:?}: {error}");
            }
            Outcome::Skipped { reason } => panic!("{mode:?}: skipped: {reason}"),
            Outcome::Unknown { reason } => panic!("{mode:?}: unknown: {reason}"),
        }
    }
}
