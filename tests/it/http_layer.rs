//! The HTTP layer against a real local server (axum on 127.0.0.1:0): what reaches the wire, how
//! often the token is fetched, when requests are retried and how long they wait.

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::Router;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use vippsctl::api::ratelimit::{Limit, RateLimits, Scope};
use vippsctl::api::retry::RetryPolicy;
use vippsctl::api::{Credentials, Transport};
use vippsctl::domain::Secret;

const ID: &str = "client-id-0f3a9c";
const SECRET: &str = "client-secret-Zq81x";
const KEY: &str = "subscription-key-77ab";

#[derive(Clone, Debug)]
struct Seen {
    method: Method,
    path: String,
    headers: HeaderMap,
    body_len: usize,
    at: Instant,
}

#[derive(Default)]
struct ServerState {
    token_calls: Mutex<Vec<Seen>>,
    api_calls: Mutex<Vec<Seen>>,
    /// Statuses (and an optional Retry-After) for the next API calls; then 200.
    script: Mutex<VecDeque<(u16, Option<String>)>>,
    /// `expires_in` handed out with each token, as Vipps does: a string.
    expires_in: Mutex<String>,
    /// Answer the token call with this status and body instead.
    token_failure: Mutex<Option<(u16, String)>>,
    /// Statuses for the next token calls, before `token_failure` and success.
    token_script: Mutex<VecDeque<u16>>,
    /// Bearer tokens the API answers 401 to (as if expired early on the server side).
    revoked: Mutex<Vec<String>>,
}

#[derive(Clone)]
struct Server {
    base: String,
    state: Arc<ServerState>,
}

impl Server {
    async fn start() -> Server {
        let state = Arc::new(ServerState::default());
        *state.expires_in.lock().unwrap() = "3599".into();
        let app = Router::new()
            .route("/accesstoken/get", post(token))
            .route("/{*rest}", any(api))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Server {
            base: format!("http://{addr}"),
            state,
        }
    }

    fn script(&self, steps: &[(u16, Option<&str>)]) {
        let mut s = self.state.script.lock().unwrap();
        s.extend(steps.iter().map(|(c, r)| (*c, r.map(str::to_owned))));
    }

    fn token_calls(&self) -> Vec<Seen> {
        self.state.token_calls.lock().unwrap().clone()
    }

    fn api_calls(&self) -> Vec<Seen> {
        self.state.api_calls.lock().unwrap().clone()
    }
}

fn seen(method: Method, uri: &Uri, headers: HeaderMap, body: &[u8]) -> Seen {
    Seen {
        method,
        path: uri.path().to_owned(),
        headers,
        body_len: body.len(),
        at: Instant::now(),
    }
}

async fn token(
    State(s): State<Arc<ServerState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let n = {
        let mut calls = s.token_calls.lock().unwrap();
        calls.push(seen(method, &uri, headers.clone(), &body));
        calls.len()
    };
    // Slow enough that concurrent callers really overlap with the fetch.
    tokio::time::sleep(Duration::from_millis(50)).await;
    if let Some(status) = s.token_script.lock().unwrap().pop_front() {
        return (StatusCode::from_u16(status).unwrap(), "scripted").into_response();
    }
    if let Some((status, body)) = s.token_failure.lock().unwrap().clone() {
        return (StatusCode::from_u16(status).unwrap(), body).into_response();
    }
    let ok = headers.get("client_id").is_some_and(|v| v == ID)
        && headers.get("client_secret").is_some_and(|v| v == SECRET)
        && headers
            .get("ocp-apim-subscription-key")
            .is_some_and(|v| v == KEY);
    if !ok {
        return (StatusCode::UNAUTHORIZED, "bad credentials").into_response();
    }
    let expires_in = s.expires_in.lock().unwrap().clone();
    let body = serde_json::json!({
        "token_type": "Bearer",
        "expires_in": expires_in,
        "ext_expires_in": expires_in,
        "expires_on": "1700003599",
        "not_before": "1700000000",
        "resource": "00000002-0000-0000-c000-000000000000",
        "access_token": format!("tok-{n}"),
    });
    (
        [("content-type", "application/json;charset=UTF-8")],
        body.to_string(),
    )
        .into_response()
}

async fn api(
    State(s): State<Arc<ServerState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    s.api_calls
        .lock()
        .unwrap()
        .push(seen(method, &uri, headers, &body));
    if bearer.is_some_and(|b| s.revoked.lock().unwrap().contains(&b)) {
        return (StatusCode::UNAUTHORIZED, "token expired").into_response();
    }
    let step = s.script.lock().unwrap().pop_front();
    match step {
        // Status 0: a server that never answers in time.
        Some((0, _)) => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            (StatusCode::OK, "late").into_response()
        }
        Some((status, retry_after)) => {
            let mut resp = (StatusCode::from_u16(status).unwrap(), "scripted").into_response();
            if let Some(r) = retry_after {
                resp.headers_mut().insert("retry-after", r.parse().unwrap());
            }
            resp
        }
        None => (StatusCode::OK, "[]").into_response(),
    }
}

fn creds() -> Credentials {
    Credentials::new(ID, SECRET, KEY)
}

fn fast_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(10),
        factor: 2.0,
        max_delay: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
    }
}

fn transport(server: &Server, retry: RetryPolicy) -> Transport {
    Transport::builder(server.base.as_str())
        .credentials(creds())
        .merchant("123456")
        .retry(retry)
        .rate_limits(RateLimits::unlimited())
        .build()
        .unwrap()
}

/// What a generated client does: `pre` hook, then `exec` hook.
async fn send(
    t: &Transport,
    method: Method,
    path: &str,
    operation: &str,
    idempotency_key: Option<&str>,
) -> reqwest::Response {
    let mut builder = t
        .http()
        .request(method, format!("{}{path}", t.base_url()))
        .body("{}");
    if let Some(k) = idempotency_key {
        builder = builder.header("Idempotency-Key", k);
    }
    let mut req = builder.build().unwrap();
    t.prepare(&mut req, operation).await.unwrap();
    t.execute(req, operation).await.unwrap()
}

fn header<'a>(s: &'a Seen, name: &str) -> &'a str {
    s.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[tokio::test]
async fn concurrent_requests_share_one_token_fetch() {
    let server = Server::start().await;
    let t = transport(&server, fast_retries(1));
    let calls = (0..20).map(|_| {
        let t = t.clone();
        async move {
            send(
                &t,
                Method::GET,
                "/webhooks/v1/webhooks",
                "list_webhooks",
                None,
            )
            .await
        }
    });
    for resp in futures::future::join_all(calls).await {
        assert_eq!(resp.status(), 200);
    }
    assert_eq!(server.token_calls().len(), 1);
    let api = server.api_calls();
    assert_eq!(api.len(), 20);
    assert!(api
        .iter()
        .all(|s| header(s, "authorization") == "Bearer tok-1"));
}

#[tokio::test]
async fn token_is_refreshed_before_it_expires() {
    let server = Server::start().await;
    // Two seconds of life: the 10% margin makes it stale after 1.8 s.
    *server.state.expires_in.lock().unwrap() = "2".into();
    let t = transport(&server, fast_retries(1));
    send(&t, Method::GET, "/a", "list_webhooks", None).await;
    send(&t, Method::GET, "/a", "list_webhooks", None).await;
    assert_eq!(server.token_calls().len(), 1, "still fresh: reused");
    tokio::time::sleep(Duration::from_millis(2000)).await;
    send(&t, Method::GET, "/a", "list_webhooks", None).await;
    assert_eq!(server.token_calls().len(), 2);
    let api = server.api_calls();
    assert_eq!(header(&api[1], "authorization"), "Bearer tok-1");
    assert_eq!(header(&api[2], "authorization"), "Bearer tok-2");
}

#[tokio::test]
async fn a_401_refreshes_the_token_once_and_retries() {
    let server = Server::start().await;
    server.script(&[(401, None)]);
    let t = transport(&server, fast_retries(1));
    // A POST: the gateway's 401 means the request was never processed, so resending is safe.
    let resp = send(
        &t,
        Method::POST,
        "/webhooks/v1/webhooks",
        "register_webhook",
        None,
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(server.token_calls().len(), 2);
    let api = server.api_calls();
    assert_eq!(api.len(), 2);
    assert_eq!(header(&api[0], "authorization"), "Bearer tok-1");
    assert_eq!(header(&api[1], "authorization"), "Bearer tok-2");

    // A second 401 in a row is the caller's to see: no refresh loop.
    server.script(&[(401, None), (401, None)]);
    let resp = send(
        &t,
        Method::GET,
        "/webhooks/v1/webhooks",
        "list_webhooks",
        None,
    )
    .await;
    assert_eq!(resp.status(), 401);
    assert_eq!(server.api_calls().len(), 4);
    assert_eq!(server.token_calls().len(), 3);
}

#[tokio::test]
async fn every_vipps_header_reaches_the_wire() {
    let server = Server::start().await;
    let t = transport(&server, fast_retries(1));
    let other = t.for_merchant("654321").unwrap();
    send(
        &t,
        Method::GET,
        "/recurring/v3/agreements",
        "list_agreements",
        None,
    )
    .await;
    send(
        &other,
        Method::GET,
        "/recurring/v3/agreements",
        "list_agreements",
        None,
    )
    .await;

    let tokens = server.token_calls();
    assert_eq!(
        tokens.len(),
        1,
        "one token per credential set, not per merchant"
    );
    let tok = &tokens[0];
    assert_eq!(tok.method, Method::POST);
    assert_eq!(tok.path, "/accesstoken/get");
    assert_eq!(tok.body_len, 0);
    assert_eq!(header(tok, "client_id"), ID);
    assert_eq!(header(tok, "client_secret"), SECRET);
    assert_eq!(header(tok, "ocp-apim-subscription-key"), KEY);
    assert_eq!(header(tok, "vipps-system-name"), "vippsctl");

    let api = server.api_calls();
    let version = env!("CARGO_PKG_VERSION");
    for (call, msn) in api.iter().zip(["123456", "654321"]) {
        assert_eq!(header(call, "authorization"), "Bearer tok-1");
        assert_eq!(header(call, "ocp-apim-subscription-key"), KEY);
        assert_eq!(header(call, "merchant-serial-number"), msn);
        assert_eq!(header(call, "vipps-system-name"), "vippsctl");
        assert_eq!(header(call, "vipps-system-version"), version);
        assert_eq!(header(call, "vipps-system-plugin-name"), "vippsctl-cli");
        assert_eq!(header(call, "vipps-system-plugin-version"), version);
        assert!(call.headers.get("client_secret").is_none());
    }
}

#[tokio::test]
async fn plain_transport_sends_no_credentials() {
    let server = Server::start().await;
    let t = Transport::plain(server.base.clone());
    let resp = send(
        &t,
        Method::GET,
        "/qr/v1/merchant-redirect",
        "list_redirect_qrs",
        None,
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert!(server.token_calls().is_empty());
    let api = server.api_calls();
    assert!(api[0].headers.get("authorization").is_none());
    assert!(api[0].headers.get("ocp-apim-subscription-key").is_none());
    assert_eq!(header(&api[0], "vipps-system-name"), "vippsctl");
}

#[tokio::test]
async fn gets_are_retried_on_503_until_success() {
    let server = Server::start().await;
    server.script(&[(503, None), (502, None)]);
    let t = transport(&server, fast_retries(4));
    let resp = send(
        &t,
        Method::GET,
        "/qr/v1/merchant-redirect",
        "list_redirect_qrs",
        None,
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(server.api_calls().len(), 3);
}

#[tokio::test]
async fn retries_are_bounded() {
    let server = Server::start().await;
    server.script(&[(503, None); 10]);
    let t = transport(&server, fast_retries(3));
    let resp = send(
        &t,
        Method::DELETE,
        "/webhooks/v1/webhooks/x",
        "delete_webhook",
        None,
    )
    .await;
    assert_eq!(resp.status(), 503);
    assert_eq!(server.api_calls().len(), 3);
}

#[tokio::test]
async fn a_post_without_idempotency_key_is_sent_once() {
    let server = Server::start().await;
    server.script(&[(503, None), (429, Some("0"))]);
    let t = transport(&server, fast_retries(5));
    let resp = send(
        &t,
        Method::POST,
        "/webhooks/v1/webhooks",
        "register_webhook",
        None,
    )
    .await;
    assert_eq!(resp.status(), 503);
    assert_eq!(server.api_calls().len(), 1);
}

#[tokio::test]
async fn a_keyed_request_is_retried_with_the_same_key() {
    let server = Server::start().await;
    server.script(&[(504, None)]);
    let t = transport(&server, fast_retries(3));
    let resp = send(
        &t,
        Method::PATCH,
        "/recurring/v3/agreements/agr_1",
        "update_agreement",
        Some("key-42"),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let api = server.api_calls();
    assert_eq!(api.len(), 2);
    assert!(api.iter().all(|c| header(c, "idempotency-key") == "key-42"));
    assert!(
        api.iter().all(|c| c.body_len == 2),
        "the body is resent too"
    );
}

/// Captures what the layer logs, to check the user is told why a run is waiting.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn a_429_waits_as_long_as_retry_after_says() {
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = Server::start().await;
    server.script(&[(429, Some("1"))]);
    let t = transport(&server, fast_retries(3));
    let resp = send(
        &t,
        Method::GET,
        "/recurring/v3/agreements",
        "list_agreements",
        None,
    )
    .await;
    assert_eq!(resp.status(), 200);
    let api = server.api_calls();
    assert_eq!(api.len(), 2);
    let gap = api[1].at - api[0].at;
    // The backoff alone would be at most 50 ms here.
    assert!(gap >= Duration::from_millis(900), "waited only {gap:?}");
    let text = log.text();
    assert!(
        text.contains("rate limited by Vipps on list_agreements; retrying in 1.0s"),
        "{text}"
    );
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured() {
    let server = Server::start().await;
    let at = std::time::SystemTime::now() + Duration::from_secs(2);
    server.script(&[(503, Some(&httpdate::fmt_http_date(at)))]);
    let t = transport(&server, fast_retries(2));
    let resp = send(&t, Method::GET, "/a", "list_webhooks", None).await;
    assert_eq!(resp.status(), 200);
    let api = server.api_calls();
    // HTTP dates have whole seconds, so the wait is between 1 and 2 s.
    let gap = api[1].at - api[0].at;
    assert!(gap >= Duration::from_millis(900), "waited only {gap:?}");
}

#[tokio::test]
async fn connection_failures_are_retried_for_gets() {
    // A server that accepts and hangs up at once, counting connections.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(Mutex::new(0usize));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            *counter.lock().unwrap() += 1;
            drop(sock);
        }
    });
    let t = Transport::builder(format!("http://{addr}"))
        .retry(fast_retries(3))
        .rate_limits(RateLimits::unlimited())
        .build()
        .unwrap();
    let req = t
        .http()
        .get(format!("{}/webhooks/v1/webhooks", t.base_url()))
        .build()
        .unwrap();
    let err = t.execute(req, "list_webhooks").await.unwrap_err();
    assert!(!err.to_string().is_empty());
    assert_eq!(*accepted.lock().unwrap(), 3);
}

#[tokio::test]
async fn the_rate_limiter_spaces_requests() {
    let server = Server::start().await;
    // 2 per 400 ms: the first two go at once, then one every 200 ms.
    let limits = RateLimits::unlimited().with(
        "list_agreements",
        Limit {
            requests: 2,
            per: Duration::from_millis(400),
            scope: Scope::Merchant,
        },
    );
    let t = Transport::builder(server.base.as_str())
        .credentials(creds())
        .merchant("123456")
        .retry(fast_retries(1))
        .rate_limits(limits)
        .build()
        .unwrap();
    let other = t.for_merchant("654321").unwrap();
    for _ in 0..4 {
        send(
            &t,
            Method::GET,
            "/recurring/v3/agreements",
            "list_agreements",
            None,
        )
        .await;
    }
    let api = server.api_calls();
    let span = api[3].at - api[0].at;
    assert!(
        span >= Duration::from_millis(350),
        "4 calls took only {span:?}"
    );
    // A transport derived again for the same merchant shares its spent budget (the other
    // merchant's calls in between do not reset it).
    send(
        &other,
        Method::GET,
        "/recurring/v3/agreements",
        "list_agreements",
        None,
    )
    .await;
    let again = other.for_merchant("123456").unwrap();
    let start = Instant::now();
    for _ in 0..3 {
        send(
            &again,
            Method::GET,
            "/recurring/v3/agreements",
            "list_agreements",
            None,
        )
        .await;
    }
    assert!(
        start.elapsed() >= Duration::from_millis(150),
        "the derived transport did not share the merchant's budget"
    );
}

#[tokio::test]
async fn token_errors_never_show_secrets() {
    let server = Server::start().await;
    // A misbehaving gateway that echoes the credentials back in its error body.
    *server.state.token_failure.lock().unwrap() = Some((
        401,
        format!("{{\"error\":\"bad {ID} / {SECRET} / {KEY}\"}}"),
    ));
    let t = transport(&server, fast_retries(1));
    let mut req = t.http().get(format!("{}/a", t.base_url())).build().unwrap();
    let err = t.prepare(&mut req, "list_webhooks").await.unwrap_err();
    let mut text = format!("{err} {err:?} {t:?}");
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        text.push_str(&format!(" | {s}"));
        source = s.source();
    }
    assert!(text.contains("401"), "{text}");
    for secret in [ID, SECRET, KEY] {
        assert!(!text.contains(secret), "leaked {secret}: {text}");
    }
    assert!(req.headers().get("authorization").is_none());
}

#[tokio::test]
async fn a_prepared_request_debug_hides_the_token_and_key() {
    let server = Server::start().await;
    let t = transport(&server, fast_retries(1));
    let mut req = t.http().get(format!("{}/a", t.base_url())).build().unwrap();
    t.prepare(&mut req, "list_webhooks").await.unwrap();
    let text = format!("{:?}", req.headers());
    assert!(!text.contains("tok-1") && !text.contains(KEY), "{text}");
    let token = Secret::new("tok-1");
    assert_eq!(
        vippsctl::api::redact("Bearer tok-1", &[&token]),
        "Bearer ***"
    );
}

#[tokio::test]
async fn many_requests_rejected_with_one_stale_token_cause_one_refresh() {
    let server = Server::start().await;
    let t = transport(&server, fast_retries(1));
    send(&t, Method::GET, "/a", "list_webhooks", None).await;
    server.state.revoked.lock().unwrap().push("tok-1".into());
    let calls = (0..10).map(|_| {
        let t = t.clone();
        async move { send(&t, Method::GET, "/a", "list_webhooks", None).await }
    });
    for resp in futures::future::join_all(calls).await {
        assert_eq!(resp.status(), 200);
    }
    assert_eq!(server.token_calls().len(), 2, "one refresh for all ten");
    let api = server.api_calls();
    assert_eq!(api.len(), 1 + 10 + 10);
    assert!(api[11..]
        .iter()
        .all(|c| header(c, "authorization") == "Bearer tok-2"));
}

#[tokio::test]
async fn a_401_whose_refresh_fails_is_returned_as_is() {
    let server = Server::start().await;
    let t = transport(&server, fast_retries(3));
    send(&t, Method::GET, "/a", "list_webhooks", None).await;
    server.state.revoked.lock().unwrap().push("tok-1".into());
    *server.state.token_failure.lock().unwrap() = Some((503, "maintenance".into()));
    let resp = send(&t, Method::GET, "/a", "list_webhooks", None).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(server.api_calls().len(), 2);
    // The first fetch, then the refresh tried three times (a 503 is transient).
    assert_eq!(server.token_calls().len(), 1 + 3);

    // And the next prepare says why, on one line for a generated client's Error::Custom.
    let mut req = t.http().get(format!("{}/a", t.base_url())).build().unwrap();
    let err = t.prepare(&mut req, "list_webhooks").await.unwrap_err();
    let text = err.describe();
    assert!(
        text.starts_with("could not get a Vipps access token: "),
        "{text}"
    );
    assert!(text.contains("/accesstoken/get answered 503"), "{text}");
    assert!(text.contains("maintenance"), "{text}");
}

#[tokio::test]
async fn transport_redact_blanks_credentials_and_the_cached_token() {
    let server = Server::start().await;
    let t = transport(&server, fast_retries(1));
    send(&t, Method::GET, "/a", "list_webhooks", None).await;
    let text = format!("id={ID} secret={SECRET} key={KEY} auth=Bearer tok-1");
    assert_eq!(t.redact(&text), "id=*** secret=*** key=*** auth=Bearer ***");
}

#[tokio::test]
async fn a_transient_token_failure_is_retried_but_bad_credentials_are_not() {
    let server = Server::start().await;
    server.state.token_script.lock().unwrap().extend([503, 502]);
    let t = transport(&server, fast_retries(3));
    let resp = send(&t, Method::GET, "/a", "list_webhooks", None).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(server.token_calls().len(), 3);

    let server = Server::start().await;
    let wrong = Transport::builder(server.base.as_str())
        .credentials(Credentials::new(ID, "wrong-secret", KEY))
        .retry(fast_retries(3))
        .build()
        .unwrap();
    let mut req = wrong
        .http()
        .get(format!("{}/a", wrong.base_url()))
        .build()
        .unwrap();
    let err = wrong.prepare(&mut req, "list_webhooks").await.unwrap_err();
    assert!(err.describe().contains("401"), "{}", err.describe());
    assert!(!err.describe().contains("wrong-secret"));
    assert_eq!(server.token_calls().len(), 1);
    assert!(server.api_calls().is_empty());
}

#[tokio::test]
async fn a_slow_server_times_out_and_a_get_is_retried_once_more() {
    let server = Server::start().await;
    server.script(&[(0, None), (0, None)]);
    let t = Transport::builder(server.base.as_str())
        .retry(fast_retries(2))
        .rate_limits(RateLimits::unlimited())
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let req = t.http().get(format!("{}/a", t.base_url())).build().unwrap();
    let err = t.execute(req, "list_webhooks").await.unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert_eq!(server.api_calls().len(), 2);
}

#[tokio::test]
async fn a_long_rate_limit_wait_is_announced_as_a_warning() {
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = Server::start().await;
    let limits = RateLimits::unlimited().with(
        "list_agreements",
        Limit {
            requests: 1,
            per: Duration::from_millis(2100),
            scope: Scope::Merchant,
        },
    );
    let t = Transport::builder(server.base.as_str())
        .merchant("123456")
        .retry(fast_retries(1))
        .rate_limits(limits)
        .build()
        .unwrap();
    for _ in 0..2 {
        send(
            &t,
            Method::GET,
            "/recurring/v3/agreements",
            "list_agreements",
            None,
        )
        .await;
    }
    let api = server.api_calls();
    assert!(api[1].at - api[0].at >= Duration::from_millis(2000));
    let text = log.text();
    let line = text
        .lines()
        .find(|l| l.contains("for the Vipps rate limit on list_agreements (merchant 123456)"))
        .unwrap_or_else(|| panic!("no wait announced: {text}"));
    assert!(
        line.contains("WARN") && line.contains("waiting 2."),
        "{line}"
    );
}

/// The generated clients' own hooks (`api::generated`), as every call makes them: `pre` adds
/// the credentials, `exec` sends with retries.
#[tokio::test]
async fn the_generated_clients_send_through_the_transport() {
    let server = Server::start().await;
    server.script(&[(503, Some("0"))]);
    let t = transport(&server, fast_retries(2));
    let (_, webhooks, _, _) = vippsctl::api::generated::clients(&t);
    // The stub answers `[]`, not a webhook list: only what reached the wire matters here.
    let _ = webhooks.list_webhooks().send().await;
    let api = server.api_calls();
    assert_eq!(api.len(), 2, "the 503 was retried");
    assert_eq!(header(&api[1], "authorization"), "Bearer tok-1");
    assert_eq!(header(&api[1], "ocp-apim-subscription-key"), KEY);
}

/// A token failure reaches the caller of a generated client with its cause (the endpoint's
/// status and what it said), never with a secret. The hook used to keep only the top message,
/// "could not get a Vipps access token".
#[tokio::test]
async fn a_token_failure_keeps_its_cause_through_the_generated_hook() {
    let server = Server::start().await;
    *server.state.token_failure.lock().unwrap() = Some((401, format!("bad {SECRET}")));
    let t = transport(&server, fast_retries(1));
    let (_, webhooks, _, _) = vippsctl::api::generated::clients(&t);
    match webhooks.list_webhooks().send().await {
        Err(progenitor_client::Error::Custom(text)) => {
            assert!(
                text.starts_with("could not get a Vipps access token: "),
                "{text}"
            );
            assert!(
                text.contains("/accesstoken/get answered 401 Unauthorized"),
                "{text}"
            );
            assert!(text.contains("bad ***"), "{text}");
            assert!(!text.contains(SECRET), "{text}");
        }
        other => panic!("expected Error::Custom, got {other:?}"),
    }
    // And as vippsctl reports it.
    let err = vippsctl::api::MerchantApi::new(t)
        .list_webhooks()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(
            "list_webhooks: could not authenticate: could not get a Vipps access token: "
        ),
        "{text}"
    );
    assert!(text.contains("answered 401 Unauthorized"), "{text}");
    assert!(server.api_calls().is_empty());
}

/// A plan reads every merchant at once; the transport keeps at most `max_in_flight` requests
/// (one connection each, until the body is read) open to the host, so a fleet neither opens
/// thousands of connections nor floods the gateway. Counted by the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_are_bounded_until_their_body_is_read() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    #[derive(Clone, Default)]
    struct Count {
        now: Arc<AtomicUsize>,
        max: Arc<AtomicUsize>,
    }
    async fn slow(State(c): State<Count>) -> Response {
        let n = c.now.fetch_add(1, Ordering::SeqCst) + 1;
        c.max.fetch_max(n, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(30)).await;
        c.now.fetch_sub(1, Ordering::SeqCst);
        (StatusCode::OK, "[]").into_response()
    }
    let count = Count::default();
    let app = Router::new()
        .route("/{*rest}", any(slow))
        .with_state(count.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let t = Transport::builder(format!("http://{addr}"))
        .rate_limits(RateLimits::unlimited())
        .max_in_flight(3)
        .build()
        .unwrap();
    let reads = (0..20).map(|_| {
        let t = t.clone();
        async move {
            let req = t
                .http()
                .get(format!("{}/webhooks/v1/webhooks", t.base_url()))
                .build()
                .unwrap();
            let resp = t.execute(req, "list_webhooks").await.expect("answered");
            resp.bytes().await.expect("a body")
        }
    });
    let bodies = futures::future::join_all(reads).await;
    assert_eq!(bodies.len(), 20);
    assert!(bodies.iter().all(|b| b.as_ref() == b"[]"));
    assert_eq!(
        count.max.load(Ordering::SeqCst),
        3,
        "at most 3 at once, and 3 used"
    );
}
