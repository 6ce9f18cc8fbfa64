//! One test per rule (or small group of rules) of the fidelity table in docs/simulator.md: each
//! rule the published specs' descriptions or API-FACTS state for the four APIs vippsctl uses,
//! checked against the simulator with its default (strict) configuration, and where a leniency
//! flag exists, that the flag is what opens it.

use crate::common;

use common::{send, Resp};
use reqwest::RequestBuilder;
use serde_json::{json, Value};
use std::time::Duration;
use vippsctl::sim::{
    AgreementStatus, Country, Leniency, RateLimits, SimConfig, SimCredentials, SimHandle,
    SANDBOX_MSN,
};

/// A caller with one set of keys and a fresh token.
struct Caller {
    http: reqwest::Client,
    base: String,
    token: String,
    key: String,
    msn: Option<String>,
}

async fn token_for(http: &reqwest::Client, base: &str, c: &SimCredentials, key: &str) -> Resp {
    send(
        http.post(format!("{base}/accesstoken/get"))
            .header("client_id", &c.client_id)
            .header("client_secret", c.client_secret.expose())
            .header("Ocp-Apim-Subscription-Key", key),
    )
    .await
}

impl Caller {
    async fn new(sim: &SimHandle, c: &SimCredentials, msn: Option<&str>) -> Caller {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let base = sim.base_url();
        let key = c.subscription_key.expose().to_string();
        let r = token_for(&http, &base, c, &key).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let token = r.json()["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        Caller {
            http,
            base,
            token,
            key,
            msn: msn.map(str::to_string),
        }
    }

    async fn sandbox(sim: &SimHandle) -> Caller {
        Caller::new(sim, &SimCredentials::sandbox(), Some(SANDBOX_MSN)).await
    }

    fn req(&self, method: &str, path: &str) -> RequestBuilder {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut rb = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {}", self.token))
            .header("Ocp-Apim-Subscription-Key", &self.key);
        if let Some(m) = &self.msn {
            rb = rb.header("Merchant-Serial-Number", m);
        }
        rb
    }

    /// A recurring write with an Idempotency-Key.
    fn write(&self, method: &str, path: &str, key: &str, body: &Value) -> RequestBuilder {
        self.req(method, path)
            .header("Idempotency-Key", key)
            .json(body)
    }

    async fn draft(&self, key: &str, body: &Value) -> Resp {
        send(self.write("POST", AG, key, body)).await
    }

    async fn draft_id(&self, key: &str, body: &Value) -> String {
        let r = self.draft(key, body).await;
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        r.json()["agreementId"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

async fn start(config: SimConfig) -> SimHandle {
    common::start(config).await
}

const AG: &str = "/recurring/v3/agreements";
const WH: &str = "/webhooks/v1/webhooks";
const MR: &str = "/qr/v1/merchant-redirect";
const MC: &str = "/qr/v1/merchant-callback";

fn detail(r: &Resp) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

fn draft_body() -> Value {
    common::legacy_draft("Club")
}

fn variable_draft(currency: &str, max: i64) -> Value {
    json!({
        "pricing": {"type": "VARIABLE", "suggestedMaxAmount": max, "currency": currency},
        "interval": {"unit": "MONTH", "count": 1},
        "merchantRedirectUrl": "https://example.com/r",
        "merchantAgreementUrl": "https://example.com/a",
        "productName": "Variable",
    })
}

// --- access token -------------------------------------------------------------------------------

#[tokio::test]
async fn token_needs_the_three_credential_headers_and_an_empty_body() {
    let sim = start(SimConfig::test()).await;
    let http = reqwest::Client::new();
    let base = sim.base_url();
    let c = SimCredentials::sandbox();
    let key = c.subscription_key.expose().to_string();
    let ok = token_for(&http, &base, &c, &key).await;
    assert_eq!(ok.status, 200);
    assert_eq!(
        ok.content_type.as_deref(),
        Some("application/json;charset=UTF-8")
    );
    let missing = send(
        http.post(format!("{base}/accesstoken/get"))
            .header("client_id", &c.client_id)
            .header("Ocp-Apim-Subscription-Key", &key),
    )
    .await;
    assert_eq!(missing.status, 401);
    let wrong = send(
        http.post(format!("{base}/accesstoken/get"))
            .header("client_id", &c.client_id)
            .header("client_secret", "not-the-secret")
            .header("Ocp-Apim-Subscription-Key", &key),
    )
    .await;
    assert_eq!(wrong.status, 401);
    let with_body = send(
        http.post(format!("{base}/accesstoken/get"))
            .header("client_id", &c.client_id)
            .header("client_secret", c.client_secret.expose())
            .header("Ocp-Apim-Subscription-Key", &key)
            .json(&json!({"grant_type": "client_credentials"})),
    )
    .await;
    assert_eq!(with_body.status, 400, "{}", detail(&with_body));
}

#[tokio::test]
async fn token_numbers_are_strings_and_the_lifetime_is_the_environment_s() {
    for (ttl, label) in [
        (vippsctl::sim::TEST_TOKEN_TTL, "test"),
        (vippsctl::sim::PRODUCTION_TOKEN_TTL, "production"),
    ] {
        let sim = start(SimConfig {
            token_ttl: ttl,
            ..SimConfig::test()
        })
        .await;
        let c = SimCredentials::sandbox();
        let r = token_for(
            &reqwest::Client::new(),
            &sim.base_url(),
            &c,
            c.subscription_key.expose(),
        )
        .await;
        let v = r.json();
        assert_eq!(v["token_type"], "Bearer");
        for field in ["expires_in", "ext_expires_in", "expires_on", "not_before"] {
            assert!(v[field].is_string(), "{label}: {field} is a string: {v}");
        }
        assert_eq!(v["expires_in"], ttl.as_secs().to_string(), "{label}");
        let caller = Caller::sandbox(&sim).await;
        sim.advance_clock(ttl - Duration::from_secs(60));
        assert_eq!(send(caller.req("GET", WH)).await.status, 200, "{label}");
        sim.advance_clock(Duration::from_secs(61));
        assert_eq!(
            send(caller.req("GET", WH)).await.status,
            401,
            "{label}: expired"
        );
    }
}

#[tokio::test]
async fn calls_need_a_bearer_token_and_the_subscription_key_of_the_same_keys() {
    let sim = start(SimConfig::test().with_sales_units([SANDBOX_MSN, "654321"])).await;
    let a = Caller::sandbox(&sim).await;
    let http = &a.http;
    let url = format!("{}{WH}", a.base);
    let no_bearer = http
        .get(&url)
        .header("Authorization", &a.token)
        .header("Ocp-Apim-Subscription-Key", &a.key)
        .header("Merchant-Serial-Number", SANDBOX_MSN);
    assert_eq!(send(no_bearer).await.status, 401);
    let no_key = http
        .get(&url)
        .header("Authorization", format!("Bearer {}", a.token))
        .header("Merchant-Serial-Number", SANDBOX_MSN);
    assert_eq!(send(no_key).await.status, 401);
    // Another sales unit's subscription key with this token.
    let other = SimCredentials::for_sales_unit("654321");
    let mixed = http
        .get(&url)
        .header("Authorization", format!("Bearer {}", a.token))
        .header("Ocp-Apim-Subscription-Key", other.subscription_key.expose())
        .header("Merchant-Serial-Number", SANDBOX_MSN);
    assert_eq!(send(mixed).await.status, 401);
    // Several tokens of the same keys are valid at once.
    let b = Caller::sandbox(&sim).await;
    assert_ne!(a.token, b.token);
    assert_eq!(send(a.req("GET", WH)).await.status, 200);
    assert_eq!(send(b.req("GET", WH)).await.status, 200);
}

#[tokio::test]
async fn the_secondary_subscription_key_works_like_the_primary() {
    let sim = start(SimConfig::test()).await;
    let c = SimCredentials::sandbox();
    let secondary = c
        .secondary_subscription_key
        .clone()
        .expect("a secondary key");
    let r = token_for(
        &reqwest::Client::new(),
        &sim.base_url(),
        &c,
        secondary.expose(),
    )
    .await;
    assert_eq!(r.status, 200);
    let mut caller = Caller::sandbox(&sim).await;
    caller.key = secondary.expose().to_string();
    assert_eq!(send(caller.req("GET", WH)).await.status, 200);
}

#[tokio::test]
async fn the_token_ignores_the_optional_msn_header() {
    let sim = start(SimConfig::test()).await;
    let c = SimCredentials::sandbox();
    let r = send(
        reqwest::Client::new()
            .post(format!("{}/accesstoken/get", sim.base_url()))
            .header("client_id", &c.client_id)
            .header("client_secret", c.client_secret.expose())
            .header("Ocp-Apim-Subscription-Key", c.subscription_key.expose())
            .header("Merchant-Serial-Number", SANDBOX_MSN),
    )
    .await;
    assert_eq!(r.status, 200);
}

// --- common headers -----------------------------------------------------------------------------

#[tokio::test]
async fn keys_act_only_for_their_sales_unit_unless_any_msn_is_lenient() {
    let config = SimConfig::test().with_sales_units([SANDBOX_MSN, "654321"]);
    let sim = start(config.clone()).await;
    // The sandbox sales unit's keys, naming the other sales unit.
    let c = Caller::new(&sim, &SimCredentials::sandbox(), Some("654321")).await;
    // 403 where the spec documents it (QR callback, DraftAgreementV3) ...
    let r = send(c.req("GET", MC)).await;
    assert_eq!(r.status, 403, "{}", detail(&r));
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    let r = c.draft("k1", &draft_body()).await;
    assert_eq!(r.status, 403, "{}", detail(&r));
    assert_eq!(r.content_type.as_deref(), Some("application/problem+json"));
    // ... and the gateway's 401 elsewhere.
    for (m, p) in [("GET", WH), ("GET", AG), ("GET", MR)] {
        let r = send(c.req(m, p).header("Accept", "image/svg+xml")).await;
        assert_eq!(r.status, 401, "{m} {p}: {}", detail(&r));
    }
    // A sales unit that does not exist at all.
    let mut c = c;
    c.msn = Some("999999".into());
    assert_eq!(send(c.req("GET", WH)).await.status, 401);
    // The other sales unit's own keys work for it.
    let own = Caller::new(
        &sim,
        &SimCredentials::for_sales_unit("654321"),
        Some("654321"),
    )
    .await;
    assert_eq!(send(own.req("GET", WH)).await.status, 200);
    sim.shutdown().await;

    let lenient = start(config.with_leniency(Leniency {
        any_msn: true,
        ..Leniency::default()
    }))
    .await;
    let c = Caller::new(&lenient, &SimCredentials::sandbox(), Some("999999")).await;
    assert_eq!(send(c.req("GET", WH)).await.status, 200);
}

#[tokio::test]
async fn own_keys_without_the_msn_header_act_for_their_sales_unit() {
    let sim = start(SimConfig::test().with_sales_units(["654321"])).await;
    let c = Caller::new(&sim, &SimCredentials::for_sales_unit("654321"), None).await;
    let r = send(c.req("GET", MR).header("Accept", "image/svg+xml")).await;
    assert_eq!(r.status, 200, "{}", detail(&r));
    let id = c.draft_id("k1", &variable_draft("NOK", 10_000)).await;
    assert!(sim.state().merchants["654321"].agreements.contains_key(&id));
}

#[tokio::test]
async fn partner_keys_must_name_the_msn_on_every_call() {
    let sim = start(SimConfig::test().with_merchants(["654321"])).await;
    let c = Caller::new(&sim, &SimCredentials::sandbox(), None).await;
    for (m, p) in [("GET", AG), ("GET", MR)] {
        let r = send(c.req(m, p).header("Accept", "image/svg+xml")).await;
        assert_eq!(r.status, 400, "{m} {p}: {}", detail(&r));
        assert!(
            detail(&r).contains("Merchant-Serial-Number"),
            "{}",
            detail(&r)
        );
    }
    let named = Caller::new(&sim, &SimCredentials::sandbox(), Some("654321")).await;
    assert_eq!(send(named.req("GET", AG)).await.status, 200);
}

#[tokio::test]
async fn callback_qr_and_webhook_calls_need_the_msn_even_with_own_keys() {
    let sim = start(SimConfig::test()).await;
    let c = Caller::new(&sim, &SimCredentials::sandbox(), None).await;
    for p in [MC, WH] {
        let r = send(c.req("GET", p)).await;
        assert_eq!(r.status, 400, "{p}: {}", detail(&r));
    }
}

#[tokio::test]
async fn a_malformed_msn_is_refused() {
    let sim = start(SimConfig::test().with_leniency(Leniency::all())).await;
    let c = Caller::new(&sim, &SimCredentials::sandbox(), Some("12ab")).await;
    assert_eq!(send(c.req("GET", WH)).await.status, 400);
}

#[tokio::test]
async fn vipps_system_headers_longer_than_30_characters_are_refused() {
    let sim = start(SimConfig::test()).await;
    let c = Caller::sandbox(&sim).await;
    let long = "x".repeat(31);
    for h in [
        "Vipps-System-Name",
        "Vipps-System-Version",
        "Vipps-System-Plugin-Name",
        "Vipps-System-Plugin-Version",
    ] {
        let r = send(c.req("GET", WH).header(h, &long)).await;
        assert_eq!(r.status, 400, "{h}");
        assert!(detail(&r).contains(h), "{}", detail(&r));
        let r = send(c.req("GET", AG).header(h, "x".repeat(30))).await;
        assert_eq!(r.status, 200, "{h}: 30 is allowed");
    }
    let cr = SimCredentials::sandbox();
    let token = send(
        reqwest::Client::new()
            .post(format!("{}/accesstoken/get", sim.base_url()))
            .header("client_id", &cr.client_id)
            .header("client_secret", cr.client_secret.expose())
            .header("Ocp-Apim-Subscription-Key", cr.subscription_key.expose())
            .header("Vipps-System-Name", &long),
    )
    .await;
    assert_eq!(token.status, 400);
}

#[tokio::test]
async fn error_bodies_have_each_api_s_shape() {
    let sim = start(SimConfig::test()).await;
    let c = Caller::sandbox(&sim).await;
    let wh = send(
        c.req("POST", WH)
            .json(&json!({"url": "http://x.example/h", "events": ["a"]})),
    )
    .await;
    assert_eq!(wh.content_type.as_deref(), Some("application/problem+json"));
    assert!(wh.json()["traceId"].is_string() && wh.json()["extraDetails"].is_array());
    let ag = c.draft("k", &json!({})).await;
    assert_eq!(ag.content_type.as_deref(), Some("application/problem+json"));
    assert!(ag.json()["contextId"].is_string());
    let qr = send(
        c.req("POST", MR)
            .header("Accept", "image/png")
            .json(&json!({"id": "a/b", "redirectUrl": "https://x.example"})),
    )
    .await;
    assert_eq!(qr.content_type.as_deref(), Some("application/json"));
    assert!(qr.json()["invalidParams"].is_array() && qr.json()["instance"].is_string());
    let gw = send(c.http.get(format!("{}{AG}", c.base))).await;
    assert!(gw.json()["responseInfo"]["responseCode"] == 401);
}

#[tokio::test]
async fn documented_limits_are_sliding_windows_per_their_scope() {
    let sim = start(SimConfig {
        rate_limits: RateLimits::documented(),
        ..SimConfig::test()
    })
    .await;
    let c = Caller::sandbox(&sim).await;
    let a = c.draft_id("d-a", &draft_body()).await;
    let b = c.draft_id("d-b", &draft_body()).await;
    // PATCH: 5 per minute per agreement.
    for i in 0..5 {
        let r = send(c.write(
            "PATCH",
            &format!("{AG}/{a}"),
            &format!("p{i}"),
            &json!({"productName": format!("n{i}")}),
        ))
        .await;
        assert_eq!(r.status, 204, "{}", detail(&r));
    }
    let r = send(c.write(
        "PATCH",
        &format!("{AG}/{a}"),
        "p5",
        &json!({"productName": "n5"}),
    ))
    .await;
    assert_eq!(r.status, 429);
    assert!(r.header("Retry-After").is_some());
    let r = send(c.write(
        "PATCH",
        &format!("{AG}/{b}"),
        "pb",
        &json!({"productName": "b"}),
    ))
    .await;
    assert_eq!(r.status, 204, "another agreement has its own budget");
    // Fetch: 120 per minute per agreement.
    for _ in 0..120 {
        assert_eq!(send(c.req("GET", &format!("{AG}/{a}"))).await.status, 200);
    }
    assert_eq!(send(c.req("GET", &format!("{AG}/{a}"))).await.status, 429);
    assert_eq!(send(c.req("GET", &format!("{AG}/{b}"))).await.status, 200);
    // A sliding window: half a minute later the budget is still spent; a minute later it is back.
    sim.advance_clock(Duration::from_secs(30));
    assert_eq!(send(c.req("GET", &format!("{AG}/{a}"))).await.status, 429);
    sim.advance_clock(Duration::from_secs(31));
    assert_eq!(send(c.req("GET", &format!("{AG}/{a}"))).await.status, 200);
    // Draft: 300 per minute per merchant (the two above are more than a minute old).
    for i in 0..300 {
        assert_eq!(
            c.draft(&format!("many-{i}"), &draft_body()).await.status,
            201
        );
    }
    assert_eq!(c.draft("one-too-many", &draft_body()).await.status, 429);
}

#[tokio::test]
async fn qr_and_webhooks_have_no_documented_limits() {
    let sim = start(SimConfig::sandbox()).await;
    let c = Caller::sandbox(&sim).await;
    for _ in 0..60 {
        assert_eq!(send(c.req("GET", WH)).await.status, 200);
        assert_eq!(send(c.req("GET", MC)).await.status, 200);
    }
}

// --- idempotency --------------------------------------------------------------------------------

#[tokio::test]
async fn idempotency_keys_are_required_1_to_40_characters_without_reserved_ones() {
    let sim = start(SimConfig::test()).await;
    let c = Caller::sandbox(&sim).await;
    let none = send(c.req("POST", AG).json(&draft_body())).await;
    assert_eq!(none.status, 400);
    for bad in ["", "a#b", "a?b", "a/b", "a\\b", &"k".repeat(41)] {
        assert_eq!(c.draft(bad, &draft_body()).await.status, 400, "{bad:?}");
    }
    assert_eq!(c.draft(&"k".repeat(40), &draft_body()).await.status, 201);
}

#[tokio::test]
async fn a_reused_key_answers_the_same_for_the_same_request_and_409_for_another() {
    let sim = start(SimConfig::test()).await;
    let c = Caller::sandbox(&sim).await;
    let first = c.draft("same", &draft_body()).await;
    let again = c.draft("same", &draft_body()).await;
    assert_eq!((first.status, first.json()), (again.status, again.json()));
    assert_eq!(sim.state().merchants[SANDBOX_MSN].agreements.len(), 1);
    let other = c.draft("same", &common::legacy_draft("Other")).await;
    assert_eq!(other.status, 409);
    // A 4xx is sticky for its key.
    let bad = c.draft("bad", &json!({"productName": "x"})).await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        c.draft("bad", &json!({"productName": "x"})).await.status,
        400
    );
}

#[tokio::test]
async fn idempotency_answers_survive_a_restart_with_the_state_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = || SimConfig {
        state_file: Some(dir.path().join("sim.json")),
        ..SimConfig::test()
    };
    let sim = start(config()).await;
    let c = Caller::sandbox(&sim).await;
    let id = c.draft_id("survives", &draft_body()).await;
    sim.shutdown().await;
    let sim = start(config()).await;
    let c = Caller::sandbox(&sim).await;
    let again = c.draft("survives", &draft_body()).await;
    assert_eq!(again.json()["agreementId"], id.as_str());
    assert_eq!(sim.state().merchants[SANDBOX_MSN].agreements.len(), 1);
    // The state keeps a digest of the request, not the request.
    let text = std::fs::read_to_string(dir.path().join("sim.json")).expect("state");
    assert!(!text.contains("merchantRedirectUrl"), "{text}");
}

#[tokio::test]
async fn recurring_writes_must_be_application_json() {
    let sim = start(SimConfig::test()).await;
    let c = Caller::sandbox(&sim).await;
    let r = send(
        c.req("POST", AG)
            .header("Idempotency-Key", "ct")
            .header("Content-Type", "text/plain")
            .body(draft_body().to_string()),
    )
    .await;
    assert_eq!(r.status, 400, "{}", detail(&r));
    assert!(detail(&r).contains("Content-Type"));
}

// --- webhooks -----------------------------------------------------------------------------------

#[tokio::test]
async fn a_webhook_registration_is_never_idempotent_and_its_secret_is_shown_once() {
    let sim = start(SimConfig::test()).await;
    let c = Caller::sandbox(&sim).await;
    let body =
        json!({"url": "https://hooks.example/h", "events": ["epayments.payment.created.v1"]});
    let a = send(c.req("POST", WH).json(&body)).await;
    let b = send(c.req("POST", WH).json(&body)).await;
    assert_eq!((a.status, b.status), (201, 201));
    assert_ne!(a.json()["id"], b.json()["id"]);
    assert_ne!(a.json()["secret"], b.json()["secret"]);
    let list = send(c.req("GET", WH)).await;
    assert_eq!(list.json()["webhooks"].as_array().map(Vec::len), Some(2));
    assert!(!detail(&list).contains("secret"));
}

#[tokio::test]
async fn webhook_urls_must_be_https_world_reachable_on_a_common_port() {
    let sim = start(SimConfig::test()).await;
    let c = Caller::sandbox(&sim).await;
    let reg = |url: &str| {
        c.req("POST", WH)
            .json(&json!({"url": url, "events": ["epayments.payment.created.v1"]}))
    };
    for ok in [
        "https://hooks.example/h",
        "https://hooks.example:443/h",
        "https://hooks.example:8080/h",
        "https://hooks.example:80/h",
    ] {
        assert_eq!(send(reg(ok)).await.status, 201, "{ok}");
    }
    for bad in [
        "http://hooks.example/h",
        "https://hooks.example:8443/h",
        "https://localhost/h",
        "https://127.0.0.1/h",
        "https://10.1.2.3/h",
        "https://printer.local/h",
        "https://intranet/h",
        "not a url",
    ] {
        let r = send(reg(bad)).await;
        assert_eq!(r.status, 400, "{bad}: {}", detail(&r));
    }
}

#[tokio::test]
async fn webhook_events_are_free_strings_but_not_empty() {
    let sim = start(SimConfig::test()).await;
    let c = Caller::sandbox(&sim).await;
    let reg = |events: Value| {
        c.req("POST", WH)
            .json(&json!({"url": "https://hooks.example/h", "events": events}))
    };
    assert_eq!(send(reg(json!(["some.future.event.v1"]))).await.status, 201);
    assert_eq!(send(reg(json!([]))).await.status, 400);
    assert_eq!(send(reg(json!([""]))).await.status, 400);
    assert_eq!(send(reg(json!([1]))).await.status, 400);
}

#[tokio::test]
async fn webhooks_have_no_get_by_id_or_update_and_delete_needs_a_uuid() {
    let sim = start(SimConfig::test()).await;
    let c = Caller::sandbox(&sim).await;
    let r = send(
        c.req("POST", WH)
            .json(&json!({"url": "https://hooks.example/h", "events": ["a.v1"]})),
    )
    .await;
    let id = r.json()["id"].as_str().unwrap_or_default().to_string();
    assert_eq!(send(c.req("GET", &format!("{WH}/{id}"))).await.status, 404);
    assert_eq!(
        send(c.req("PUT", &format!("{WH}/{id}")).json(&json!({})))
            .await
            .status,
        404
    );
    assert_eq!(
        send(c.req("DELETE", &format!("{WH}/not-a-uuid")))
            .await
            .status,
        400
    );
    assert_eq!(
        send(c.req("DELETE", &format!("{WH}/{id}"))).await.status,
        204
    );
    assert_eq!(
        send(c.req("DELETE", &format!("{WH}/{id}"))).await.status,
        404
    );
}

// --- QR -----------------------------------------------------------------------------------------

async fn create_qr(c: &Caller, id: &str, url: &str, accept: &str) -> Resp {
    send(
        c.req("POST", MR)
            .header("Accept", accept)
            .json(&json!({"id": id, "redirectUrl": url})),
    )
    .await
}

/// The content a redirect QR encodes (Accept: text/targetUrl).
async fn content_of(c: &Caller, id: &str) -> String {
    let r = send(
        c.req("GET", &format!("{MR}/{id}"))
            .header("Accept", "text/targetUrl"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", detail(&r));
    r.json()["url"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn a_deleted_redirect_qr_never_works_again_even_when_its_id_is_created_again() {
    let sim = start(SimConfig::test()).await;
    let c = Caller::sandbox(&sim).await;
    let created = create_qr(&c, "poster", "https://shop.example/a", "image/png").await;
    let image = created.json()["url"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let printed = content_of(&c, "poster").await;
    let hop = send(c.http.get(&printed)).await;
    assert_eq!(
        (hop.status, hop.header("location")),
        (302, Some("https://shop.example/a"))
    );
    // An update keeps the printed code working (QRG "Updating and Deletion").
    let r = send(
        c.req("PUT", &format!("{MR}/poster"))
            .header("Accept", "image/png")
            .json(&json!({"redirectUrl": "https://shop.example/b"})),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(content_of(&c, "poster").await, printed);
    assert_eq!(
        send(c.http.get(&printed)).await.header("location"),
        Some("https://shop.example/b")
    );
    // Deleted and created again: new content; the printed code and the old image stay dead.
    assert_eq!(
        send(c.req("DELETE", &format!("{MR}/poster"))).await.status,
        200
    );
    assert_eq!(
        create_qr(&c, "poster", "https://shop.example/b", "image/png")
            .await
            .status,
        200
    );
    let reprinted = content_of(&c, "poster").await;
    assert_ne!(reprinted, printed);
    assert_eq!(send(c.http.get(&printed)).await.status, 404);
    assert_eq!(send(c.http.get(&image)).await.status, 404);
    assert_eq!(send(c.http.get(&reprinted)).await.status, 302);
    assert_eq!(
        send(c.req("DELETE", &format!("{MR}/poster"))).await.status,
        200
    );
    assert_eq!(
        send(c.req("DELETE", &format!("{MR}/poster"))).await.status,
        404
    );
}

#[tokio::test]
async fn a_redirect_qr_past_its_ttl_is_gone_for_good() {
    let sim = start(SimConfig::test()).await;
    let c = Caller::sandbox(&sim).await;
    let r = send(
        c.req("POST", MR)
            .header("Accept", "image/svg+xml")
            .json(&json!({"id": "summer", "redirectUrl": "https://shop.example/s", "ttl": 600})),
    )
    .await;
    assert_eq!(r.json()["expiresIn"], 600);
    let printed = content_of(&c, "summer").await;
    let forever = create_qr(&c, "menu", "https://shop.example/m", "image/svg+xml").await;
    assert_eq!(forever.json()["expiresIn"], -1, "-1: no expiry");
    sim.advance_clock(Duration::from_secs(601));
    assert_eq!(
        send(
            c.req("GET", &format!("{MR}/summer"))
                .header("Accept", "image/png")
        )
        .await
        .status,
        404
    );
    assert_eq!(send(c.http.get(&printed)).await.status, 404);
    let list = send(c.req("GET", MR).header("Accept", "image/png"))
        .await
        .json();
    assert_eq!(list.as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn redirect_qr_fields_follow_the_spec_patterns() {
    let sim = start(SimConfig::test()).await;
    let c = Caller::sandbox(&sim).await;
    assert_eq!(
        create_qr(
            &c,
            "kasse 1 æøå-+%_",
            "https://shop.example/x?a=1",
            "image/png"
        )
        .await
        .status,
        200
    );
    assert_eq!(
        create_qr(&c, "kasse 1 æøå-+%_", "https://shop.example/x", "image/png")
            .await
            .status,
        409
    );
    for (id, url) in [
        ("a/b", "https://shop.example/x"),
        ("", "https://shop.example/x"),
        (&"x".repeat(129)[..], "https://shop.example/x"),
        ("ok", "http://shop.example/x"),
        ("ok", "https://shop example/x"),
    ] {
        assert_eq!(
            create_qr(&c, id, url, "image/png").await.status,
            400,
            "{id:?} {url}"
        );
    }
    for ttl in [299, 2_147_483_648i64] {
        let r = send(
            c.req("POST", MR)
                .header("Accept", "image/png")
                .json(&json!({"id": "t", "redirectUrl": "https://shop.example/x", "ttl": ttl})),
        )
        .await;
        assert_eq!(r.status, 400, "ttl {ttl}");
    }
    let wrong_type = send(
        c.req("POST", MR)
            .header("Accept", "image/png")
            .header("Content-Type", "text/plain")
            .body(r#"{"id":"t","redirectUrl":"https://shop.example/x"}"#),
    )
    .await;
    assert_eq!(wrong_type.status, 415);
}

#[tokio::test]
async fn redirect_qr_reads_need_a_supported_accept_unless_lenient() {
    let sim = start(SimConfig::test()).await;
    let c = Caller::sandbox(&sim).await;
    assert_eq!(
        create_qr(&c, "a", "https://shop.example/a", "image/*")
            .await
            .status,
        200
    );
    assert_eq!(
        create_qr(&c, "b", "https://shop.example/b", "application/json")
            .await
            .status,
        400
    );
    for accept in [None, Some("application/json")] {
        for path in [MR.to_string(), format!("{MR}/a")] {
            let mut rb = c.req("GET", &path);
            if let Some(a) = accept {
                rb = rb.header("Accept", a);
            }
            let r = send(rb).await;
            assert_eq!(r.status, 400, "{path} {accept:?}: {}", detail(&r));
        }
    }
    let png = send(
        c.req("GET", &format!("{MR}/a"))
            .header("Accept", "image/png")
            .header("Size", "300"),
    )
    .await;
    assert!(png.json()["url"]
        .as_str()
        .is_some_and(|u| u.contains(".png") && u.contains("size=300")));
    let bad_size = send(
        c.req("GET", &format!("{MR}/a"))
            .header("Accept", "image/png")
            .header("Size", "99"),
    )
    .await;
    assert_eq!(bad_size.status, 400);
    // DELETE declares no Accept.
    assert_eq!(send(c.req("DELETE", &format!("{MR}/a"))).await.status, 200);
    sim.shutdown().await;

    let lenient = start(SimConfig::test().with_leniency(Leniency {
        qr_reads_without_accept: true,
        ..Leniency::default()
    }))
    .await;
    let c = Caller::sandbox(&lenient).await;
    assert_eq!(send(c.req("GET", MR)).await.status, 200);
}

#[tokio::test]
async fn qr_images_need_no_auth_and_are_real_images() {
    let sim = start(SimConfig::test()).await;
    let c = Caller::sandbox(&sim).await;
    let r = create_qr(&c, "a", "https://shop.example/a", "image/png").await;
    let image = r.json()["url"].as_str().unwrap_or_default().to_string();
    let img = send(reqwest::Client::new().get(&image)).await;
    assert_eq!(img.status, 200);
    assert_eq!(&img.body[..4], b"\x89PNG");
}

#[tokio::test]
async fn a_callback_qr_put_is_an_upsert_that_keeps_the_image() {
    let sim = start(SimConfig::test()).await;
    let c = Caller::sandbox(&sim).await;
    let put = |loc: &str| {
        c.req("PUT", &format!("{MC}/till-1"))
            .json(&json!({"locationDescription": loc}))
    };
    let r = send(put("Kasse 1")).await;
    assert_eq!((r.status, r.body.len()), (200, 0));
    let first = send(c.req("GET", &format!("{MC}/till-1"))).await.json();
    assert_eq!(send(put("Kasse 2")).await.status, 200);
    let second = send(c.req("GET", &format!("{MC}/till-1"))).await.json();
    assert_eq!(
        second["locationDescription"], "Kasse 2",
        "the last call wins"
    );
    assert_eq!(
        first["qrContent"], second["qrContent"],
        "the image is not updated"
    );
    assert_eq!(first["qrImageUrl"], second["qrImageUrl"]);
    assert_eq!(second["merchantSerialNumber"], SANDBOX_MSN);
    assert_eq!(send(put(&"x".repeat(37))).await.status, 400);
    assert_eq!(send(put(&"x".repeat(36))).await.status, 200);
    // Deleted and put again: the identity is (MSN, merchantQrId), so is the content.
    assert_eq!(
        send(c.req("DELETE", &format!("{MC}/till-1"))).await.status,
        200
    );
    assert_eq!(send(put("Kasse 1")).await.status, 200);
    let again = send(c.req("GET", &format!("{MC}/till-1"))).await.json();
    assert_eq!(first["qrContent"], again["qrContent"]);
}

#[tokio::test]
async fn callback_qr_images_follow_qrimageformat_and_qrimagesize() {
    let sim = start(SimConfig::test()).await;
    let c = Caller::sandbox(&sim).await;
    send(
        c.req("PUT", &format!("{MC}/t"))
            .json(&json!({"locationDescription": "T"})),
    )
    .await;
    let get = |q: &str| c.req("GET", &format!("{MC}/t{q}"));
    let svg = send(get("")).await.json();
    assert!(
        svg["qrImageUrl"]
            .as_str()
            .is_some_and(|u| u.contains(".svg")),
        "SVG by default"
    );
    let png = send(get("?QrImageFormat=PNG&QrImageSize=250")).await.json();
    assert!(png["qrImageUrl"]
        .as_str()
        .is_some_and(|u| u.contains(".png?size=250")));
    assert_eq!(send(get("?QrImageFormat=GIF")).await.status, 400);
    assert_eq!(
        send(get("?QrImageFormat=PNG&QrImageSize=2001"))
            .await
            .status,
        400
    );
    let missing = send(c.req("GET", &format!("{MC}/nope"))).await;
    assert_eq!(
        (missing.status, missing.body.len()),
        (404, 0),
        "404 without a body"
    );
    assert_eq!(send(c.req("DELETE", &format!("{MC}/t"))).await.status, 200);
    assert_eq!(send(c.req("DELETE", &format!("{MC}/t"))).await.status, 404);
}

// --- recurring ----------------------------------------------------------------------------------

/// Agreements of every status: one ACTIVE, one PENDING, one STOPPED, one EXPIRED.
async fn one_of_each(sim: &SimHandle, c: &Caller) -> [String; 4] {
    let active = c.draft_id("s-active", &draft_body()).await;
    sim.accept_agreement(&active).expect("accept");
    let expired = c.draft_id("s-expired", &draft_body()).await;
    sim.advance_clock(Duration::from_secs(11 * 60));
    let stopped = c.draft_id("s-stopped", &draft_body()).await;
    sim.stop_agreement(&stopped).expect("reject");
    let pending = c.draft_id("s-pending", &draft_body()).await;
    [active, pending, stopped, expired]
}

fn ids(r: &Resp) -> Vec<String> {
    let mut v: Vec<String> = r
        .json()
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[tokio::test]
async fn listing_agreements_without_a_status_lists_only_active_ones_unless_lenient() {
    let sim = start(SimConfig::test()).await;
    let c = Caller::sandbox(&sim).await;
    let [active, pending, stopped, expired] = one_of_each(&sim, &c).await;
    assert_eq!(ids(&send(c.req("GET", AG)).await), vec![active.clone()]);
    for (status, id) in [
        ("ACTIVE", &active),
        ("PENDING", &pending),
        ("STOPPED", &stopped),
        ("EXPIRED", &expired),
    ] {
        let r = send(c.req("GET", &format!("{AG}?status={status}"))).await;
        assert_eq!(ids(&r), vec![id.to_string()], "{status}");
    }
    assert_eq!(
        send(c.req("GET", &format!("{AG}?status=PAUSED")))
            .await
            .status,
        400
    );
    sim.shutdown().await;

    let lenient = start(SimConfig::test().with_leniency(Leniency {
        list_all_statuses: true,
        ..Leniency::default()
    }))
    .await;
    let c = Caller::sandbox(&lenient).await;
    one_of_each(&lenient, &c).await;
    assert_eq!(ids(&send(c.req("GET", AG)).await).len(), 4);
}

#[tokio::test]
async fn agreement_lists_page_with_page_number_and_size_and_filter_by_creation() {
    let sim = start(SimConfig::test()).await;
    let c = Caller::sandbox(&sim).await;
    let mut drafted = Vec::new();
    for i in 0..5 {
        drafted.push(c.draft_id(&format!("p{i}"), &draft_body()).await);
        sim.advance_clock(Duration::from_secs(1));
    }
    let page = |q: &str| c.req("GET", &format!("{AG}?status=PENDING{q}"));
    let r = send(page("&pageNumber=2&pageSize=2")).await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(2));
    let r = send(page("&pageNumber=3&pageSize=2")).await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(1));
    // pageSize must be used with pageNumber; 1..2000.
    assert_eq!(send(page("&pageSize=2")).await.status, 400);
    assert_eq!(send(page("&pageNumber=1&pageSize=2001")).await.status, 400);
    assert_eq!(send(page("&pageNumber=0&pageSize=2")).await.status, 400);
    assert_eq!(
        send(page("&pageNumber=1")).await.status,
        200,
        "pageSize defaults to 500"
    );
    // createdAfter: epoch milliseconds, strictly after.
    let third = &sim.state().merchants[SANDBOX_MSN].agreements[&drafted[2]];
    let ms = third.created.timestamp_millis();
    let r = send(page(&format!("&createdAfter={ms}"))).await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(2));
    assert_eq!(send(page("&createdAfter=yesterday")).await.status, 400);
}

#[tokio::test]
async fn a_draft_answers_its_ids_and_confirmation_url() {
    let sim = start(SimConfig::test()).await;
    let c = Caller::sandbox(&sim).await;
    let r = c.draft("d", &draft_body()).await;
    assert_eq!(r.status, 201);
    let v = r.json();
    let id = v["agreementId"].as_str().unwrap_or_default();
    assert!(id.starts_with("agr_") && id.len() <= 36, "{id}");
    assert!(uuid::Uuid::parse_str(v["uuid"].as_str().unwrap_or_default()).is_ok());
    assert!(v["vippsConfirmationUrl"].is_string());
    assert!(v["chargeId"].is_null(), "no initial charge: null");
}

#[tokio::test]
async fn draft_fields_follow_the_spec_limits() {
    let sim = start(SimConfig::test()).await;
    let c = Caller::sandbox(&sim).await;
    let with = |k: &str, v: Value| {
        let mut d = draft_body();
        d[k] = v;
        d
    };
    let without = |k: &str| {
        let mut d = draft_body();
        d.as_object_mut().map(|m| m.remove(k));
        d
    };
    let cases = [
        ("no productName", without("productName"), 400),
        ("no pricing", without("pricing"), 400),
        (
            "no merchantRedirectUrl",
            without("merchantRedirectUrl"),
            400,
        ),
        (
            "productName 46",
            with("productName", json!("x".repeat(46))),
            400,
        ),
        (
            "productName 45",
            with("productName", json!("x".repeat(45))),
            201,
        ),
        (
            "description 101",
            with("productDescription", json!("x".repeat(101))),
            400,
        ),
        (
            "externalId 65",
            with("externalId", json!("x".repeat(65))),
            400,
        ),
        (
            "externalId 64",
            with("externalId", json!("x".repeat(64))),
            201,
        ),
        ("phone 16", with("phoneNumber", json!("4".repeat(16))), 400),
        ("phone letters", with("phoneNumber", json!("47abc")), 400),
        (
            "redirect 2049",
            with(
                "merchantRedirectUrl",
                json!(format!("https://x.example/{}", "a".repeat(2031))),
            ),
            400,
        ),
        (
            "agreement url 1025",
            with(
                "merchantAgreementUrl",
                json!(format!("https://x.example/{}", "a".repeat(1010))),
            ),
            400,
        ),
        (
            "agreement url http",
            with("merchantAgreementUrl", json!("http://x.example/a")),
            400,
        ),
        (
            "redirect http",
            with("merchantRedirectUrl", json!("http://x.example/r")),
            400,
        ),
        (
            "redirect deeplink",
            with("merchantRedirectUrl", json!("myApp://home")),
            201,
        ),
        (
            "interval count 32",
            with("interval", json!({"unit": "MONTH", "count": 32})),
            400,
        ),
        (
            "interval unit",
            with("interval", json!({"unit": "FORTNIGHT", "count": 1})),
            400,
        ),
        ("no interval: pay per use", without("interval"), 201),
        (
            "currency SEK",
            with(
                "pricing",
                json!({"type": "LEGACY", "amount": 100, "currency": "SEK"}),
            ),
            400,
        ),
        (
            "amount 0",
            with(
                "pricing",
                json!({"type": "LEGACY", "amount": 0, "currency": "NOK"}),
            ),
            400,
        ),
        (
            "amount above int32",
            with(
                "pricing",
                json!({"type": "LEGACY", "amount": 2_147_483_648i64, "currency": "NOK"}),
            ),
            400,
        ),
        (
            "flexible",
            with("pricing", json!({"type": "FLEXIBLE", "currency": "EUR"})),
            201,
        ),
        (
            "variable without max",
            with("pricing", json!({"type": "VARIABLE", "currency": "NOK"})),
            400,
        ),
        ("scope", with("scope", json!("name email")), 201),
        ("scope unknown", with("scope", json!("name shoeSize")), 400),
        ("skipLandingPage", with("skipLandingPage", json!(true)), 403),
    ];
    for (i, (what, body, want)) in cases.into_iter().enumerate() {
        let r = c.draft(&format!("case-{i}"), &body).await;
        assert_eq!(r.status, want, "{what}: {}", detail(&r));
    }
    // isApp: URLs are not validated as regular URLs.
    let mut app = with("merchantRedirectUrl", json!("vipps-app-link"));
    app["isApp"] = json!(true);
    assert_eq!(c.draft("app", &app).await.status, 201);
}

#[tokio::test]
async fn norwegian_merchants_must_send_merchant_agreement_url() {
    let mut config = SimConfig::test().with_sales_units([SANDBOX_MSN, "654321"]);
    config.countries.insert("654321".into(), Country::Denmark);
    let sim = start(config).await;
    let mut no_url = draft_body();
    no_url
        .as_object_mut()
        .map(|m| m.remove("merchantAgreementUrl"));
    let no = Caller::sandbox(&sim).await;
    let r = no.draft("n", &no_url).await;
    assert_eq!(r.status, 400);
    assert!(
        detail(&r).contains("merchantAgreementUrl"),
        "{}",
        detail(&r)
    );
    let dk = Caller::new(
        &sim,
        &SimCredentials::for_sales_unit("654321"),
        Some("654321"),
    )
    .await;
    let id = dk.draft_id("d", &no_url).await;
    let a = send(dk.req("GET", &format!("{AG}/{id}"))).await.json();
    // The response schema requires the field; Vipps documents no value for a missing one.
    assert_eq!(a["merchantAgreementUrl"], "");
    assert_eq!(
        a["countryCode"], "DK",
        "countryCode follows the merchant's market"
    );
    let a = send(no.req(
        "GET",
        &format!("{AG}/{}", no.draft_id("w", &draft_body()).await),
    ))
    .await
    .json();
    assert_eq!(a["countryCode"], "NO");
}

#[tokio::test]
async fn variable_amounts_are_capped_per_currency_at_draft_and_patch() {
    let sim = start(SimConfig::test()).await;
    let c = Caller::sandbox(&sim).await;
    for (currency, cap) in [("NOK", 2_000_000), ("DKK", 30_000_000), ("EUR", 200_000)] {
        let ok = c
            .draft(&format!("{currency}-cap"), &variable_draft(currency, cap))
            .await;
        assert_eq!(ok.status, 201, "{currency} {cap}");
        let over = c
            .draft(
                &format!("{currency}-over"),
                &variable_draft(currency, cap + 1),
            )
            .await;
        assert_eq!(over.status, 400, "{currency} {}", cap + 1);
        let id = ok.json()["agreementId"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let patch = |max: i64| {
            c.write(
                "PATCH",
                &format!("{AG}/{id}"),
                &format!("{currency}-patch-{max}"),
                &json!({"pricing": {"suggestedMaxAmount": max}}),
            )
        };
        assert_eq!(
            send(patch(cap + 1)).await.status,
            400,
            "{currency} patch over"
        );
        assert_eq!(send(patch(cap)).await.status, 204, "{currency} patch at");
    }
}

#[tokio::test]
async fn the_customer_chooses_max_amount_when_accepting_a_variable_agreement() {
    let sim = start(SimConfig::test()).await;
    let c = Caller::sandbox(&sim).await;
    let chosen = c.draft_id("v1", &variable_draft("NOK", 30_000)).await;
    sim.accept_agreement_with_max(&chosen, 45_000)
        .expect("accept");
    let a = send(c.req("GET", &format!("{AG}/{chosen}"))).await.json();
    assert_eq!(a["pricing"]["maxAmount"], 45_000);
    assert_eq!(a["pricing"]["suggestedMaxAmount"], 30_000);
    // Force-accept (test environment) and the default: the suggested maximum.
    let forced = c.draft_id("v2", &variable_draft("NOK", 30_000)).await;
    let r = send(c.write(
        "PATCH",
        &format!("{AG}/{forced}/accept"),
        "acc",
        &json!({"phoneNumber": "4712345678"}),
    ))
    .await;
    assert_eq!(r.status, 204);
    let a = send(c.req("GET", &format!("{AG}/{forced}"))).await.json();
    assert_eq!(a["pricing"]["maxAmount"], 30_000);
    // Not above the currency's limit, and only for VARIABLE pricing.
    let capped = c.draft_id("v3", &variable_draft("EUR", 1_000)).await;
    assert!(sim.accept_agreement_with_max(&capped, 200_001).is_err());
    let legacy = c.draft_id("l1", &draft_body()).await;
    assert!(sim.accept_agreement_with_max(&legacy, 100).is_err());
    // The consent page takes the amount in kroner.
    let page = send(c.http.get(format!("{}/_sim/consent/{capped}", c.base))).await;
    assert!(detail(&page).contains("name=\"maxAmount\""));
    let r = send(
        c.http
            .post(format!("{}/_sim/consent/{capped}/accept", c.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("maxAmount=1500.50"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", detail(&r));
    let a = send(c.req("GET", &format!("{AG}/{capped}"))).await.json();
    assert_eq!(a["pricing"]["maxAmount"], 150_050);
}

#[tokio::test]
async fn campaigns_are_legacy_only_in_utc_and_initial_charges_name_their_charge() {
    let sim = start(SimConfig::test()).await;
    let c = Caller::sandbox(&sim).await;
    let with_campaign = |campaign: Value| {
        let mut d = draft_body();
        d["campaign"] = campaign;
        d
    };
    let cases = [
        (
            json!({"type": "PRICE_CAMPAIGN", "price": 100, "end": "2030-01-01T00:00:00Z"}),
            201,
        ),
        (
            json!({"type": "PRICE_CAMPAIGN", "price": 100, "end": "2030-01-01T00:00:00+01:00"}),
            400,
        ),
        (
            json!({"type": "PERIOD_CAMPAIGN", "price": 100, "period": {"unit": "WEEK", "count": 4}}),
            201,
        ),
        (
            json!({"type": "EVENT_CAMPAIGN", "price": 100, "eventDate": "2030-12-24T00:00:00Z", "eventText": "until Christmas"}),
            201,
        ),
        (
            json!({"type": "EVENT_CAMPAIGN", "price": 100, "eventDate": "2030-12-24T00:00:00Z", "eventText": "until Christmas!"}),
            400,
        ),
        (json!({"type": "FULL_FLEX_CAMPAIGN", "price": 100}), 400),
    ];
    for (i, (campaign, want)) in cases.into_iter().enumerate() {
        let r = c
            .draft(&format!("camp-{i}"), &with_campaign(campaign.clone()))
            .await;
        assert_eq!(r.status, want, "{campaign}: {}", detail(&r));
    }
    let mut variable = variable_draft("NOK", 1000);
    variable["campaign"] =
        json!({"type": "PRICE_CAMPAIGN", "price": 1, "end": "2030-01-01T00:00:00Z"});
    assert_eq!(c.draft("var-camp", &variable).await.status, 400);
    let mut charged = draft_body();
    charged["initialCharge"] = json!({"amount": 100, "description": "First", "transactionType": "DIRECT_CAPTURE", "orderId": "order-7"});
    assert_eq!(c.draft("ic", &charged).await.json()["chargeId"], "order-7");
    charged["initialCharge"]["orderId"] = json!("order 7");
    assert_eq!(c.draft("ic-bad", &charged).await.status, 400);
    charged["initialCharge"] =
        json!({"amount": 100, "description": "First", "transactionType": "DIRECT_CAPTURE"});
    let generated = c.draft("ic-gen", &charged).await.json();
    assert!(generated["chargeId"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
}

#[tokio::test]
async fn patch_changes_only_what_patch_agreement_v3_allows() {
    let sim = start(SimConfig::test()).await;
    let c = Caller::sandbox(&sim).await;
    let id = c.draft_id("base", &draft_body()).await;
    let patch = |key: &str, body: Value| c.write("PATCH", &format!("{AG}/{id}"), key, &body);
    let cases = [
        ("name", json!({"productName": "New"}), 204),
        ("desc", json!({"productDescription": "Longer"}), 204),
        (
            "url",
            json!({"merchantAgreementUrl": "https://x.example/mine"}),
            204,
        ),
        ("ext", json!({"externalId": "new-ext"}), 204),
        ("amount", json!({"pricing": {"amount": 500}}), 204),
        (
            "suggested on legacy",
            json!({"pricing": {"suggestedMaxAmount": 500}}),
            400,
        ),
        ("type", json!({"pricing": {"type": "FLEXIBLE"}}), 400),
        ("currency", json!({"pricing": {"currency": "EUR"}}), 400),
        (
            "campaign",
            json!({"campaign": {"type": "PRICE_CAMPAIGN", "price": 1, "end": "2030-01-01T00:00:00Z"}}),
            400,
        ),
        (
            "redirect",
            json!({"merchantRedirectUrl": "https://x.example/other"}),
            400,
        ),
        ("phone", json!({"phoneNumber": "4712345678"}), 400),
        (
            "interval",
            json!({"interval": {"type": "RECURRING", "period": {"unit": "WEEK", "count": 2}}}),
            204,
        ),
        (
            "recurring without period",
            json!({"interval": {"type": "RECURRING"}}),
            400,
        ),
        (
            "flexible with period",
            json!({"interval": {"type": "FLEXIBLE", "period": {"unit": "WEEK", "count": 2}}}),
            400,
        ),
        ("flexible", json!({"interval": {"type": "FLEXIBLE"}}), 204),
        ("status ACTIVE", json!({"status": "ACTIVE"}), 400),
        (
            "stop with more",
            json!({"status": "STOPPED", "productName": "x"}),
            400,
        ),
        ("stop", json!({"status": "STOPPED"}), 204),
        ("after stop", json!({"productName": "Again"}), 400),
    ];
    for (key, body, want) in cases {
        let r = send(patch(key, body)).await;
        assert_eq!(r.status, want, "{key}: {}", detail(&r));
    }
    let a = &sim.state().merchants[SANDBOX_MSN].agreements[&id];
    assert_eq!(
        a.status,
        AgreementStatus::Stopped,
        "STOPPED is irreversible"
    );
    let missing = send(c.write(
        "PATCH",
        &format!("{AG}/agr_nope"),
        "nope",
        &json!({"productName": "x"}),
    ))
    .await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        send(c.req("GET", &format!("{AG}/agr_nope"))).await.status,
        404
    );
}

#[tokio::test]
async fn agreement_states_and_the_transitions_between_them() {
    let sim = start(SimConfig::test()).await;
    let c = Caller::sandbox(&sim).await;
    let fetch = |id: &str| c.req("GET", &format!("{AG}/{id}"));
    // PENDING -> ACTIVE on consent: start is set, the confirmation URL goes.
    let a = c.draft_id("a", &draft_body()).await;
    let pending = send(fetch(&a)).await.json();
    assert_eq!(pending["status"], "PENDING");
    assert!(pending["vippsConfirmationUrl"].is_string() && pending["start"].is_null());
    sim.accept_agreement(&a).expect("accept");
    let active = send(fetch(&a)).await.json();
    assert_eq!(active["status"], "ACTIVE");
    assert!(active["start"].is_string() && active.get("vippsConfirmationUrl").is_none());
    // ACTIVE -> STOPPED by the customer; stop is set; terminal.
    sim.stop_agreement(&a).expect("customer stops");
    let stopped = send(fetch(&a)).await.json();
    assert_eq!(stopped["status"], "STOPPED");
    assert!(stopped["stop"].is_string());
    assert!(sim.accept_agreement(&a).is_err(), "STOPPED is terminal");
    // PENDING -> STOPPED when the customer rejects it.
    let b = c.draft_id("b", &draft_body()).await;
    sim.stop_agreement(&b).expect("reject");
    assert_eq!(send(fetch(&b)).await.json()["status"], "STOPPED");
    // PENDING -> EXPIRED after 10 minutes without consent; terminal.
    let e = c.draft_id("e", &draft_body()).await;
    sim.advance_clock(Duration::from_secs(9 * 60 + 59));
    assert_eq!(send(fetch(&e)).await.json()["status"], "PENDING");
    sim.advance_clock(Duration::from_secs(2));
    assert_eq!(send(fetch(&e)).await.json()["status"], "EXPIRED");
    assert!(sim.accept_agreement(&e).is_err(), "EXPIRED is terminal");
    let r = send(c.write(
        "PATCH",
        &format!("{AG}/{e}/accept"),
        "late",
        &json!({"phoneNumber": "4712345678"}),
    ))
    .await;
    assert_eq!(r.status, 400, "force-accept needs a PENDING agreement");
    // PENDING -> STOPPED by the merchant.
    let m = c.draft_id("m", &draft_body()).await;
    let r = send(c.write(
        "PATCH",
        &format!("{AG}/{m}"),
        "stop-m",
        &json!({"status": "STOPPED"}),
    ))
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(send(fetch(&m)).await.json()["status"], "STOPPED");
}

#[tokio::test]
async fn force_accept_needs_a_phone_number() {
    let sim = start(SimConfig::test()).await;
    let c = Caller::sandbox(&sim).await;
    let id = c.draft_id("a", &draft_body()).await;
    let accept =
        |key: &str, body: Value| c.write("PATCH", &format!("{AG}/{id}/accept"), key, &body);
    assert_eq!(send(accept("k1", json!({}))).await.status, 400);
    assert_eq!(
        send(accept("k2", json!({"phoneNumber": "47 12"})))
            .await
            .status,
        400
    );
    assert_eq!(
        send(accept("k3", json!({"phoneNumber": "4712345678"})))
            .await
            .status,
        204
    );
}

#[tokio::test]
async fn external_ids_are_not_unique() {
    let sim = start(SimConfig::test()).await;
    let c = Caller::sandbox(&sim).await;
    let mut d = draft_body();
    d["externalId"] = json!("same");
    c.draft_id("x1", &d).await;
    c.draft_id("x2", &d).await;
    let r = send(c.req("GET", &format!("{AG}?status=PENDING"))).await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(2));
}
