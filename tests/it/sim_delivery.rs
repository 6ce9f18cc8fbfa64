//! Webhook delivery: the simulator signs and sends every event to each registration it matches,
//! with the secret that registration returned, on the simulated clock (retries, order, 7 days,
//! 2 weeks). The receiver here verifies the signature as the Webhooks API's "Request
//! authentication" page describes it, written from that page, not from the simulator's code.

use crate::common::cli::{dotenv_value, Sim, GUARD, MSN};
use crate::common::conformance;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use vippsctl::sim::{DeliveryStatus, SimConfig};

const RECURRING_HOOK: &str = "https://shop.example.com/vipps/recurring";
const CHECKIN_HOOK: &str = "https://shop.example.com/vipps/check-in";

/// One POST as the receiver got it.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    path_and_query: String,
    host: String,
    date: String,
    content_sha256: String,
    authorization: String,
    body: Vec<u8>,
}

impl Received {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// The documented check: the body hash first, then the HMAC of
/// `POST\n{pathAndQuery}\n{x-ms-date};{host};{x-ms-content-sha256}` with the secret's UTF-8
/// bytes, compared in constant time.
pub(crate) fn verify(r: &Received, secret: &str) -> bool {
    let b64 = base64::engine::general_purpose::STANDARD;
    if b64.encode(Sha256::digest(&r.body)) != r.content_sha256 {
        return false;
    }
    let Some(sig) = r
        .authorization
        .strip_prefix("HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=")
    else {
        return false;
    };
    let Ok(sig) = b64.decode(sig) else {
        return false;
    };
    let signed = format!(
        "POST\n{}\n{};{};{}",
        r.path_and_query, r.date, r.host, r.content_sha256
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(signed.as_bytes());
    mac.verify_slice(&sig).is_ok()
}

#[derive(Clone)]
pub(crate) struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    /// The status it answers; 0: no answer at all (it hangs).
    answer: Arc<AtomicU16>,
    pub(crate) url: String,
}

async fn receive(
    State(r): State<Receiver>,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    r.got.lock().unwrap().push(Received {
        path_and_query: uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        host: h("host"),
        date: h("x-ms-date"),
        content_sha256: h("x-ms-content-sha256"),
        authorization: h("authorization"),
        body: body.to_vec(),
    });
    match r.answer.load(Ordering::SeqCst) {
        0 => std::future::pending().await,
        s => StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

/// A receiver on 127.0.0.1, served on the simulator's runtime.
pub(crate) fn receiver(sim: &Sim) -> Receiver {
    let listener = sim
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let r = Receiver {
        got: Arc::default(),
        answer: Arc::new(AtomicU16::new(200)),
        url: format!("http://127.0.0.1:{port}/hooks?from=vipps"),
    };
    let app = axum::Router::new().fallback(receive).with_state(r.clone());
    sim.block_on(async move {
        tokio::spawn(async move { axum::serve(listener, app).await });
    });
    r
}

impl Receiver {
    pub(crate) fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    pub(crate) fn wait_for(&self, n: usize) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let got = self.got();
            if got.len() >= n {
                return got;
            }
            assert!(
                started.elapsed() < GUARD,
                "only {} of {n} deliveries: {got:?}",
                got.len()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Set the forward target through the control API, as a user of `sim serve` does.
pub(crate) fn forward(sim: &Sim, url: &str) {
    let base = sim.base_url();
    let status = sim.block_on(async {
        reqwest::Client::new()
            .put(format!("{base}/_sim/forward"))
            .json(&json!({"url": url}))
            .send()
            .await
            .expect("forward")
            .status()
    });
    assert_eq!(status.as_u16(), 200);
}

pub(crate) fn control(sim: &Sim, path: &str, body: Value) -> Value {
    let base = sim.base_url();
    sim.block_on(async {
        let r = reqwest::Client::new()
            .post(format!("{base}/_sim/{path}"))
            .json(&body)
            .send()
            .await
            .expect("control call");
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json::<Value>().await.expect("json")
    })
}

fn setup_yaml(club: &str, trial: &str) -> String {
    format!(
        r#"version: 1
environment: test
merchants:
  - msn: "{MSN}"
    webhooks:
      - url: {RECURRING_HOOK}
        events:
          - recurring.agreement-activated.v1
          - recurring.agreement-rejected.v1
          - recurring.agreement-stopped.v1
          - recurring.agreement-expired.v1
        secret: {{ file: hooks.env, key: RECURRING_SECRET }}
      - url: {CHECKIN_HOOK}
        events: [user.checked-in.v1]
        secret: {{ file: hooks.env, key: CHECKIN_SECRET }}
    callbackQrs:
      - merchantQrId: till-1
        locationDescription: Kasse 1
    agreements:
      - externalId: club
        productName: Kaffeklubben
        pricing: {{ type: LEGACY, amount: 29900, currency: NOK }}
        interval: {{ unit: MONTH, count: 1 }}
        merchantRedirectUrl: https://shop.example.com/takk
        merchantAgreementUrl: https://shop.example.com/konto
{club}      - externalId: trial
        productName: Prøveabonnement
        pricing: {{ type: LEGACY, amount: 100, currency: NOK }}
        interval: {{ unit: MONTH, count: 1 }}
        merchantRedirectUrl: https://shop.example.com/takk
        merchantAgreementUrl: https://shop.example.com/konto
{trial}"#
    )
}

fn agreement_id(sim: &Sim, external: &str) -> String {
    sim.state().merchants[MSN]
        .agreements
        .values()
        .find(|a| a.external_id.as_deref() == Some(external))
        .map(|a| a.id.clone())
        .unwrap_or_else(|| panic!("no agreement {external}"))
}

fn secret(sim: &Sim, key: &str) -> String {
    dotenv_value(&sim.read("hooks.env"), key).unwrap_or_else(|| panic!("{key} not in the sink"))
}

/// Wait until the simulator has nothing left to deliver.
pub(crate) fn settled(sim: &Sim) {
    let started = Instant::now();
    while sim
        .handle
        .deliveries()
        .deliveries
        .iter()
        .any(|d| d.status == DeliveryStatus::Pending)
    {
        assert!(started.elapsed() < GUARD, "deliveries still pending");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn deliveries_are_signed_with_the_secret_in_the_sink_and_rotation_leaves_no_gap() {
    let sim = Sim::start();
    let rx = receiver(&sim);
    sim.write("setup.yaml", &setup_yaml("", ""));
    let apply = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    assert!(apply.success(), "{apply}");
    forward(&sim, &rx.url);
    let recurring_secret = secret(&sim, "RECURRING_SECRET");
    let checkin_secret = secret(&sim, "CHECKIN_SECRET");

    // The customer accepts one agreement and rejects the other; the merchant stops the first
    // with an apply; a customer scans the till's QR.
    let club = agreement_id(&sim, "club");
    let trial = agreement_id(&sim, "trial");
    control(&sim, &format!("agreements/{club}/accept"), json!({}));
    control(&sim, &format!("agreements/{trial}/reject"), json!({}));
    let stopped = "        status: STOPPED\n";
    sim.write("setup.yaml", &setup_yaml(stopped, stopped));
    let stop = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    assert!(stop.success(), "{stop}");
    let scan = sim.run(&["sim", "scan", MSN, "till-1"]);
    assert!(scan.success(), "{scan}");
    let token = scan
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("customer_token: "))
        .and_then(|l| l.split(' ').next())
        .expect("the customer token is printed")
        .to_string();

    let got = rx.wait_for(4);
    settled(&sim);
    let got_now = rx.got();
    assert_eq!(got_now.len(), 4, "each event exactly once: {got_now:?}");
    let recurring: Vec<Value> = got
        .iter()
        .filter(|r| verify(r, &recurring_secret))
        .map(Received::json)
        .collect();
    let summary: Vec<(String, String, Option<String>)> = recurring
        .iter()
        .map(|v| {
            (
                v["eventType"].as_str().unwrap_or_default().to_string(),
                v["agreementId"].as_str().unwrap_or_default().to_string(),
                v["actor"].as_str().map(str::to_string),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "recurring.agreement-activated.v1".into(),
                club.clone(),
                None
            ),
            (
                "recurring.agreement-rejected.v1".into(),
                trial.clone(),
                None
            ),
            (
                "recurring.agreement-stopped.v1".into(),
                club.clone(),
                Some("MERCHANT".into())
            ),
        ],
        "in order, each signed with the recurring registration's secret"
    );
    assert_eq!(recurring[0]["agreementExternalId"], "club");
    let club_uuid = sim.state().merchants[MSN].agreements[&club]
        .uuid
        .to_string();
    assert_eq!(recurring[0]["agreementUUID"], club_uuid.as_str());
    assert_eq!(recurring[0]["msn"], MSN);
    let checkins: Vec<&Received> = got.iter().filter(|r| verify(r, &checkin_secret)).collect();
    assert_eq!(checkins.len(), 1, "{got:?}");
    let checkin = checkins[0].json();
    assert_eq!(checkin["merchantQrId"], "till-1");
    assert_eq!(checkin["msn"], MSN);
    assert_eq!(checkin["customerToken"], token.as_str());
    assert!(checkin["initiatedAt"].is_string());
    assert!(sim.handle.customer_token_valid(MSN, &token));
    // Signed for the URL it was sent to, and with headers as documented.
    let r = &got[0];
    assert_eq!(r.path_and_query, "/hooks?from=vipps");
    assert!(rx.url.contains(&r.host), "{}", r.host);
    assert!(httpdate::parse_http_date(&r.date).is_ok(), "{}", r.date);

    // The same verifier refuses a changed body, and a wrong secret.
    let mut tampered = got[0].clone();
    tampered.body[1] ^= 0x01;
    assert!(!verify(&tampered, &recurring_secret));
    let mut rehashed = tampered.clone();
    rehashed.content_sha256 =
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&rehashed.body));
    assert!(
        !verify(&rehashed, &recurring_secret),
        "a new hash does not fix the signature"
    );
    assert!(!verify(&got[0], &checkin_secret));
    assert!(!verify(&got[0], "not-the-secret"));

    // `sim deliveries` lists them, attempts and answers included.
    let listed = sim.run(&["sim", "deliveries", "--format", "json"]);
    assert!(listed.success(), "{listed}");
    let listed: Value = serde_json::from_str(&listed.stdout).expect("json");
    assert_eq!(listed["deliveries"].as_array().map(Vec::len), Some(4));
    assert!(listed["deliveries"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|d| d["status"] == "delivered" && d["attempts"][0]["status"] == 200));
    assert!(
        !listed.to_string().contains(&recurring_secret),
        "no secret in the list"
    );
    let text = sim.run(&["sim", "deliveries", "--event", "user.checked-in.v1"]);
    assert!(text.success(), "{text}");
    assert_eq!(
        text.stdout
            .lines()
            .filter(|l| l.contains("delivered"))
            .count(),
        1,
        "{text}"
    );

    // Rotate the recurring webhook with a saved plan while events keep happening: each one
    // reaches the receiver signed with the old or the new secret, and the registration is made
    // before the old one is deleted.
    let address = format!("{MSN}.webhooks[{RECURRING_HOOK}]");
    let plan = sim.run(&[
        "plan",
        "setup.yaml",
        "--replace",
        &address,
        "--out",
        "p.json",
    ]);
    assert!(plan.success(), "{plan}");
    sim.clear_calls();
    let before = rx.got().len();
    let mut apply = sim
        .command(&sim.base_url(), &[], &[], &["apply", "p.json"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("apply starts");
    let mut during = Vec::new();
    loop {
        let done = apply.try_wait().expect("apply").is_some();
        let t = control(
            &sim,
            "trigger",
            json!({"event": "recurring.agreement-activated.v1", "msn": MSN}),
        );
        during.push(
            t["payload"]["agreementId"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
        if done || during.len() >= 500 {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let status = apply.wait().expect("apply exits");
    assert!(status.success());
    let new_secret = secret(&sim, "RECURRING_SECRET");
    assert_ne!(new_secret, recurring_secret);
    let writes: Vec<String> = sim
        .writes()
        .iter()
        .filter(|c| c.operation.ends_with("webhook"))
        .map(|c| c.operation.clone())
        .collect();
    assert_eq!(
        writes,
        ["register_webhook", "delete_webhook"],
        "create before delete"
    );
    let after = control(
        &sim,
        "trigger",
        json!({"event": "recurring.agreement-activated.v1", "msn": MSN}),
    );
    let after_id = after["payload"]["agreementId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    settled(&sim);
    let mut all = rx.got();
    let rotated: Vec<Received> = all.split_off(before);
    for id in &during {
        let copies: Vec<&Received> = rotated
            .iter()
            .filter(|r| r.json()["agreementId"] == id.as_str())
            .collect();
        assert!(
            !copies.is_empty(),
            "event {id} during the rotation was never delivered"
        );
        assert!(
            copies
                .iter()
                .all(|r| verify(r, &recurring_secret) || verify(r, &new_secret)),
            "{copies:?}"
        );
    }
    let last: Vec<&Received> = rotated
        .iter()
        .filter(|r| r.json()["agreementId"] == after_id.as_str())
        .collect();
    assert_eq!(
        last.len(),
        1,
        "after the rotation, only the new registration: {last:?}"
    );
    assert!(verify(last[0], &new_secret));
    assert!(!verify(last[0], &recurring_secret));
}

/// A simulator with one registration for the agreement events, forwarding to a receiver.
fn hooked(config: SimConfig) -> (Sim, Receiver, String) {
    let sim = Sim::with_config(config);
    let rx = receiver(&sim);
    let api = sim.api(MSN);
    let (_, secret) = sim
        .block_on(api.register_webhook(
            RECURRING_HOOK,
            &["recurring.agreement-activated.v1".to_string()],
        ))
        .expect("register");
    let secret = secret.expose().to_string();
    forward(&sim, &rx.url);
    (sim, rx, secret)
}

fn trigger(sim: &Sim) -> String {
    let t = control(
        sim,
        "trigger",
        json!({"event": "recurring.agreement-activated.v1", "msn": MSN}),
    );
    t["payload"]["agreementId"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn deliveries(sim: &Sim) -> Vec<vippsctl::sim::Delivery> {
    sim.handle.deliveries().deliveries
}

/// Wait until delivery `i` has `n` attempts.
fn attempts(sim: &Sim, i: usize, n: usize) -> Vec<vippsctl::sim::Delivery> {
    let started = Instant::now();
    loop {
        let d = deliveries(sim);
        if d.get(i).is_some_and(|d| d.attempts.len() >= n) {
            return d;
        }
        assert!(
            started.elapsed() < GUARD,
            "delivery {i} never had {n} attempts: {d:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_failing_event_holds_back_later_ones_and_is_retried_with_backoff() {
    let (sim, rx, secret) = hooked(crate::common::test_config());
    rx.answer.store(500, Ordering::SeqCst);
    let first = trigger(&sim);
    let d = attempts(&sim, 0, 1);
    let second = trigger(&sim);
    assert_eq!(d[0].attempts[0].status, Some(500));
    assert_eq!(
        d[0].next_attempt,
        Some(d[0].attempts[0].at + vippsctl::sim::backoff(1))
    );
    // The second waits behind the first, unsent, until the first is delivered.
    sim.handle.advance_clock(Duration::from_secs(30));
    let d = attempts(&sim, 0, 2);
    assert!(d[1].attempts.is_empty(), "{d:?}");
    rx.answer.store(200, Ordering::SeqCst);
    sim.handle.advance_clock(Duration::from_secs(60));
    settled(&sim);
    let d = deliveries(&sim);
    assert_eq!(d[0].status, DeliveryStatus::Delivered);
    assert_eq!(d[0].attempts.len(), 3);
    assert_eq!(d[1].status, DeliveryStatus::Delivered);
    let got: Vec<String> = rx
        .got()
        .iter()
        .filter(|r| verify(r, &secret))
        .map(|r| {
            r.json()["agreementId"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(got, [first.clone(), first.clone(), first, second]);
}

#[test]
fn no_answer_within_10_simulated_seconds_is_a_failure() {
    let (sim, rx, _) = hooked(crate::common::test_config());
    rx.answer.store(0, Ordering::SeqCst);
    trigger(&sim);
    rx.wait_for(1);
    sim.handle.advance_clock(Duration::from_secs(11));
    let d = attempts(&sim, 0, 1);
    assert_eq!(d[0].attempts[0].status, None);
    assert_eq!(
        d[0].attempts[0].error.as_deref(),
        Some("no answer within 10 s")
    );
    assert_eq!(d[0].status, DeliveryStatus::Pending);
}

#[test]
fn retries_stop_after_7_days_and_an_endpoint_failing_for_2_weeks_loses_its_registration() {
    let (sim, rx, _) = hooked(crate::common::test_config());
    rx.answer.store(503, Ordering::SeqCst);
    trigger(&sim);
    attempts(&sim, 0, 1);
    // Day by day: each day the due retry is made, until the 7 days are over.
    for day in 1..=6 {
        sim.handle.advance_clock(Duration::from_secs(24 * 3600));
        attempts(&sim, 0, day + 1);
    }
    sim.handle.advance_clock(Duration::from_secs(2 * 24 * 3600));
    let started = Instant::now();
    while deliveries(&sim)[0].status == DeliveryStatus::Pending {
        assert!(started.elapsed() < GUARD);
        std::thread::sleep(Duration::from_millis(10));
    }
    let d = deliveries(&sim);
    assert_eq!(d[0].status, DeliveryStatus::GaveUp, "{d:?}");
    assert!(d[0].attempts.len() >= 2);
    assert_eq!(sim.state().merchants[MSN].webhooks.len(), 1);
    sim.handle.advance_clock(Duration::from_secs(7 * 24 * 3600));
    let started = Instant::now();
    while !sim.state().merchants[MSN].webhooks.is_empty() {
        assert!(started.elapsed() < GUARD, "the registration is still there");
        std::thread::sleep(Duration::from_millis(10));
    }
    // The API lists it no more: the next plan sees the drift like any deletion behind
    // vippsctl's back.
    let api = sim.api(MSN);
    assert!(sim.block_on(api.list_webhooks()).expect("list").is_empty());
    assert_eq!(deliveries(&sim)[0].attempts.len(), 7);
}

#[test]
fn without_a_forward_target_deliveries_wait_unsent() {
    let sim = Sim::start();
    let rx = receiver(&sim);
    let api = sim.api(MSN);
    sim.block_on(api.register_webhook(
        RECURRING_HOOK,
        &["recurring.agreement-activated.v1".to_string()],
    ))
    .expect("register");
    trigger(&sim);
    let listed = sim.run(&["sim", "deliveries"]);
    assert!(listed.success(), "{listed}");
    assert!(listed.stdout.contains("(no forward target)"), "{listed}");
    assert!(
        listed.stderr.contains("no forward target is set"),
        "{listed}"
    );
    assert!(deliveries(&sim)[0].attempts.is_empty());
    forward(&sim, &rx.url);
    rx.wait_for(1);
    settled(&sim);
    assert_eq!(deliveries(&sim)[0].status, DeliveryStatus::Delivered);
    // Not a local URL: refused, so nothing leaves the machine.
    assert!(sim
        .handle
        .set_forward(Some("https://shop.example.com/hooks"))
        .is_err());
}

#[test]
fn a_draft_nobody_accepts_raises_agreement_expired_and_customer_tokens_last_15_minutes() {
    let sim = Sim::start();
    let rx = receiver(&sim);
    forward(&sim, &rx.url);
    sim.write("setup.yaml", &setup_yaml("", ""));
    let apply = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    assert!(apply.success(), "{apply}");
    let secret = secret(&sim, "RECURRING_SECRET");
    let (token, emitted) = sim.handle.check_in(MSN, "till-1").expect("scan");
    assert_eq!(emitted.deliveries, 1);
    sim.handle.advance_clock(Duration::from_secs(11 * 60));
    let got = rx.wait_for(3);
    let mut expired: Vec<String> = got
        .iter()
        .filter(|r| verify(r, &secret))
        .map(|r| {
            let v = r.json();
            assert_eq!(v["eventType"], "recurring.agreement-expired.v1");
            v["agreementExternalId"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    expired.sort();
    assert_eq!(expired, ["club", "trial"]);
    assert!(sim.handle.customer_token_valid(MSN, &token), "11 minutes");
    sim.handle.advance_clock(Duration::from_secs(5 * 60));
    assert!(!sim.handle.customer_token_valid(MSN, &token), "16 minutes");
    assert!(sim.handle.check_in(MSN, "no-such-qr").is_err());
}

#[test]
fn triggered_payment_events_match_the_published_webhook_event_schema() {
    let Some(dir) = conformance::shared_dir() else {
        eprintln!("shared/ not found, skipping (set VIPPSCTL_SHARED_DIR)");
        return;
    };
    let text = std::fs::read_to_string(dir.join("upstream-openapi/epayment/latest.yaml"))
        .expect("the ePayment spec");
    let spec: Value =
        serde_json::to_value(serde_yaml::from_str::<serde_yaml::Value>(&text).expect("yaml"))
            .expect("json");
    let schema = conformance::convert(&spec, &spec["components"]["schemas"]["WebhookEvent"], 0);
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema)
        .expect("schema compiles");
    let sim = Sim::start();
    for (event, name) in vippsctl::sim::EPAYMENT_EVENTS {
        let run = sim.run(&["sim", "trigger", event, "--msn", MSN]);
        assert!(run.success(), "{run}");
        assert!(run.stderr.contains("nothing is delivered"), "{run}");
        let payload = run
            .stdout
            .split_once("payload: ")
            .map(|(_, p)| p)
            .expect("payload printed");
        let v: Value = serde_json::from_str(payload).expect("json payload");
        let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{event}: {errors:?} in {v}");
        assert_eq!(v["name"], name);
    }
    let refused = sim.run(&["sim", "trigger", "recurring.charge-failed.v1", "--msn", MSN]);
    assert!(!refused.success(), "{refused}");
    assert!(refused.stderr.contains("invalid value"), "{refused}");
}

#[test]
fn a_redirect_is_not_followed_but_counted_as_a_failure() {
    let (sim, rx, _) = hooked(crate::common::test_config());
    rx.answer.store(302, Ordering::SeqCst);
    trigger(&sim);
    let d = attempts(&sim, 0, 1);
    assert_eq!(d[0].attempts[0].status, Some(302));
    assert_eq!(
        d[0].attempts[0].error.as_deref(),
        Some("answered 302, not 2xx")
    );
    assert_eq!(d[0].status, DeliveryStatus::Pending);
    assert_eq!(rx.got().len(), 1, "the redirect was not followed");
}

const PAYMENTS_HOOK: &str = "https://shop.example.com/vipps/payments";

/// Issue 14's end-to-end proof: the real binary applies webhooks whose secrets go to a file sink;
/// a merchant's integration takes a payment (created, approved with `sim pay`, captured), a
/// customer accepts an agreement the merchant then stops, a customer scans a callback QR with
/// `sim scan`. The receiver gets every event once, in the order it happened, each signed with
/// the secret its registration's sink holds; the same verifier refuses a tampered body and a
/// wrong secret.
#[test]
fn an_integration_sees_every_event_once_in_order_signed_with_the_sink_secret() {
    let sim = Sim::start();
    let rx = receiver(&sim);
    let config = |status: &str| {
        format!(
            r#"version: 1
environment: test
merchants:
  - msn: "{MSN}"
    webhooks:
      - url: {PAYMENTS_HOOK}
        events:
          - epayments.payment.created.v1
          - epayments.payment.authorized.v1
          - epayments.payment.captured.v1
        secret: {{ file: hooks.env, key: PAYMENTS_SECRET }}
      - url: {RECURRING_HOOK}
        events: [recurring.agreement-activated.v1, recurring.agreement-stopped.v1]
        secret: {{ file: hooks.env, key: RECURRING_SECRET }}
      - url: {CHECKIN_HOOK}
        events: [user.checked-in.v1]
        secret: {{ file: hooks.env, key: CHECKIN_SECRET }}
    callbackQrs:
      - merchantQrId: till-1
        locationDescription: Kasse 1
    agreements:
      - externalId: club
        productName: Kaffeklubben
        pricing: {{ type: LEGACY, amount: 29900, currency: NOK }}
        interval: {{ unit: MONTH, count: 1 }}
        merchantRedirectUrl: https://shop.example.com/takk
        merchantAgreementUrl: https://shop.example.com/konto
{status}"#
        )
    };
    sim.write("setup.yaml", &config(""));
    let apply = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    assert!(apply.success(), "{apply}");
    forward(&sim, &rx.url);
    let secrets = [
        ("PAYMENTS_SECRET", secret(&sim, "PAYMENTS_SECRET")),
        ("RECURRING_SECRET", secret(&sim, "RECURRING_SECRET")),
        ("CHECKIN_SECRET", secret(&sim, "CHECKIN_SECRET")),
    ];
    let signer = |r: &Received| -> Vec<&str> {
        secrets
            .iter()
            .filter(|(_, s)| verify(r, s))
            .map(|(k, _)| *k)
            .collect()
    };
    // Each step, then the one delivery it must cause, before the next step.
    let mut expected: Vec<(&str, &str)> = Vec::new();
    let mut step = |what: &str, event: &'static str, key: &'static str| {
        expected.push((event, key));
        let got = rx.wait_for(expected.len());
        let last = &got[expected.len() - 1];
        let name = last.json();
        let seen = name["eventType"]
            .as_str()
            .map(str::to_string)
            .or_else(|| {
                name["name"]
                    .as_str()
                    .map(|n| format!("epayments.payment.{}.v1", n.to_lowercase()))
            })
            .or_else(|| {
                name["merchantQrId"]
                    .as_str()
                    .map(|_| "user.checked-in.v1".into())
            })
            .unwrap_or_default();
        assert_eq!(seen, event, "after {what}: {name}");
        assert_eq!(
            signer(last),
            [key],
            "after {what}: signed with its sink's secret"
        );
    };

    let c = sim.block_on(crate::common::Client::new(&sim.handle));
    let create = sim.block_on(crate::common::send(
        c.req("POST", "/epayment/v1/payments")
            .header("Idempotency-Key", "order-77-create")
            .json(&json!({
                "amount": {"currency": "NOK", "value": 24900},
                "paymentMethod": {"type": "WALLET"},
                "reference": "order-77",
                "userFlow": "WEB_REDIRECT",
                "returnUrl": "https://shop.example.com/order/77",
                "paymentDescription": "Kaffekvern",
            })),
    ));
    assert_eq!(create.status, 201, "{:?}", create.json());
    step("create", "epayments.payment.created.v1", "PAYMENTS_SECRET");
    let pay = sim.run(&["sim", "pay", "order-77", "--msn", MSN]);
    assert!(pay.success(), "{pay}");
    step(
        "sim pay",
        "epayments.payment.authorized.v1",
        "PAYMENTS_SECRET",
    );
    let capture = sim.block_on(crate::common::send(
        c.req("POST", "/epayment/v1/payments/order-77/capture")
            .header("Idempotency-Key", "order-77-capture")
            .json(&json!({"modificationAmount": {"currency": "NOK", "value": 24900}})),
    ));
    assert_eq!(capture.status, 200, "{:?}", capture.json());
    step(
        "capture",
        "epayments.payment.captured.v1",
        "PAYMENTS_SECRET",
    );
    let club = agreement_id(&sim, "club");
    control(&sim, &format!("agreements/{club}/accept"), json!({}));
    step(
        "accept",
        "recurring.agreement-activated.v1",
        "RECURRING_SECRET",
    );
    sim.write("setup.yaml", &config("        status: STOPPED\n"));
    let stop = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    assert!(stop.success(), "{stop}");
    step("stop", "recurring.agreement-stopped.v1", "RECURRING_SECRET");
    let scan = sim.run(&["sim", "scan", MSN, "till-1"]);
    assert!(scan.success(), "{scan}");
    step("scan", "user.checked-in.v1", "CHECKIN_SECRET");

    settled(&sim);
    let got = rx.got();
    assert_eq!(
        got.len(),
        expected.len(),
        "each event exactly once: {got:?}"
    );
    let payment = got[2].json();
    assert_eq!(payment["reference"], "order-77");
    assert_eq!(payment["amount"]["value"], 24900);
    assert_eq!(payment["idempotencyKey"], "order-77-capture");
    assert_eq!(got[4].json()["actor"], "MERCHANT");
    // The same verifier refuses a changed body and a wrong secret.
    let payments_secret = &secrets[0].1;
    let mut tampered = got[2].clone();
    tampered.body = String::from_utf8_lossy(&tampered.body)
        .replace("24900", "2490")
        .into_bytes();
    assert!(!verify(&tampered, payments_secret));
    tampered.content_sha256 =
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&tampered.body));
    assert!(
        !verify(&tampered, payments_secret),
        "a new hash does not fix the signature"
    );
    assert!(!verify(&got[2], &secrets[1].1));
    assert!(!verify(&got[2], "not-the-secret"));
    assert!(verify(&got[2], payments_secret));
}

/// `sim serve --state FILE` keeps the deliveries and the simulated clock: a restarted simulator
/// resumes the pending ones, signed with the registration's secret, on the clock it stopped at.
#[test]
fn pending_deliveries_and_the_clock_survive_a_restart_with_the_state_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("sim.json");
    let config = || {
        let mut c = crate::common::test_config();
        c.state_file = Some(state.clone());
        c
    };
    let secret = {
        let sim = Sim::with_config(config());
        let api = sim.api(MSN);
        let (_, secret) = sim
            .block_on(api.register_webhook(
                RECURRING_HOOK,
                &["recurring.agreement-activated.v1".to_string()],
            ))
            .expect("register");
        sim.handle.advance_clock(Duration::from_secs(3600));
        trigger(&sim);
        assert!(
            deliveries(&sim)[0].attempts.is_empty(),
            "no forward target yet"
        );
        secret.expose().to_string()
    };
    let sim = Sim::with_config(config());
    let kept = deliveries(&sim);
    assert_eq!(kept.len(), 1, "the pending delivery is back: {kept:?}");
    assert_eq!(kept[0].status, DeliveryStatus::Pending);
    let rx = receiver(&sim);
    forward(&sim, &rx.url);
    let got = rx.wait_for(1);
    assert!(
        verify(&got[0], &secret),
        "signed with the registration's secret"
    );
    settled(&sim);
    let d = &deliveries(&sim)[0];
    assert_eq!(d.status, DeliveryStatus::Delivered);
    assert!(
        d.attempts[0].at >= d.created,
        "the simulated clock went on from where it stopped: attempt {} before the event {}",
        d.attempts[0].at,
        d.created
    );
}
