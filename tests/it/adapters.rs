//! The adapters in `api::vipps` against a local HTTP server that records every request and
//! answers with canned responses: what reaches the wire (method, path, query, JSON body, the
//! Idempotency-Key) and how answers decode (domain types, 409, problem bodies, bad bodies).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use vippsctl::api::transport::Transport;
use vippsctl::api::{ApiError, MerchantApi};
use vippsctl::domain::model::{
    AgreementPatch, AgreementStatus, DraftAgreement, ImageFormat, Interval, IntervalUnit, Pricing,
};

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Option<Value>,
}

type Canned = HashMap<String, (u16, &'static str, String)>;

#[derive(Clone, Default)]
struct Server {
    seen: Arc<Mutex<Vec<Seen>>>,
    canned: Arc<Mutex<Canned>>,
}

impl Server {
    /// Answer `METHOD /path` with this status, content type and body.
    fn on(&self, route: &str, status: u16, content_type: &'static str, body: Value) {
        let text = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        if let Ok(mut c) = self.canned.lock() {
            c.insert(route.to_string(), (status, content_type, text));
        }
    }

    fn take(&self) -> Vec<Seen> {
        self.seen
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default()
    }

    fn last(&self) -> Seen {
        let mut all = self.take();
        assert_eq!(all.len(), 1, "expected exactly one request, got {all:?}");
        all.remove(0)
    }
}

async fn start() -> (Server, MerchantApi) {
    let server = Server::default();
    let state = server.clone();
    let app = axum::Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let state = state.clone();
            async move {
                let seen = Seen {
                    method: method.to_string(),
                    path: uri.path().to_string(),
                    query: uri.query().map(str::to_string),
                    headers,
                    body: serde_json::from_slice(&body).ok(),
                };
                let route = format!("{} {}", seen.method, seen.path);
                if let Ok(mut s) = state.seen.lock() {
                    s.push(seen);
                }
                let canned = state
                    .canned
                    .lock()
                    .ok()
                    .and_then(|c| c.get(&route).cloned());
                let response: Response = match canned {
                    Some((status, ct, text)) => (
                        StatusCode::from_u16(status).unwrap_or(StatusCode::IM_A_TEAPOT),
                        [("content-type", ct)],
                        text,
                    )
                        .into_response(),
                    None => (
                        StatusCode::NOT_IMPLEMENTED,
                        format!("no canned answer for {route}"),
                    )
                        .into_response(),
                };
                response
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a local port");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let api = MerchantApi::new(Transport::plain(format!("http://{addr}")));
    (server, api)
}

const JSON: &str = "application/json";
const PROBLEM: &str = "application/problem+json";

fn agreement_json(id: &str, pricing: Value) -> Value {
    json!({
        "id": id, "uuid": "0b5b4d2e-6b5e-4b6a-9a8e-0d9d0a1e2f3c", "status": "ACTIVE",
        "productName": "News", "productDescription": null, "externalId": "cust-1",
        "pricing": pricing, "interval": {"unit": "MONTH", "count": 1, "text": "every month"},
        "merchantRedirectUrl": "https://example.com/back", "merchantAgreementUrl": null,
        "created": "2025-01-02T03:04:05Z", "countryCode": "NO",
        "campaign": null, "sub": null
    })
}

#[tokio::test]
async fn webhooks_list_register_delete() {
    let (server, api) = start().await;
    let id = "1f0c7f63-9c0c-4f7e-a0f5-3c0c9b6c2a11";
    server.on(
        "GET /webhooks/v1/webhooks",
        200,
        JSON,
        json!({"webhooks": [{"id": id, "url": "https://example.com/hook", "events": ["a.v1", "b.v1"]}]}),
    );
    let hooks = api.list_webhooks().await.expect("list decodes");
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].id, id);
    assert_eq!(hooks[0].events, ["a.v1", "b.v1"]);
    assert_eq!(server.last().method, "GET");

    server.on(
        "POST /webhooks/v1/webhooks",
        201,
        JSON,
        json!({"id": id, "secret": "wh-secret-value"}),
    );
    let (new_id, secret) = api
        .register_webhook("https://example.com/hook", &["a.v1".to_string()])
        .await
        .expect("register decodes");
    assert_eq!(new_id, id);
    assert_eq!(secret.expose(), "wh-secret-value");
    assert_eq!(format!("{secret:?}"), "***");
    let seen = server.last();
    assert_eq!(
        seen.body,
        Some(json!({"url": "https://example.com/hook", "events": ["a.v1"]}))
    );

    // Webhook ids are UUIDs: anything else is refused before sending.
    let err = api.delete_webhook("not-a-uuid").await.expect_err("bad id");
    assert!(matches!(err, ApiError::InvalidRequest { .. }), "{err}");
    assert!(server.take().is_empty());

    server.on(
        &format!("DELETE /webhooks/v1/webhooks/{id}"),
        204,
        JSON,
        Value::Null,
    );
    api.delete_webhook(id).await.expect("delete");
    assert_eq!(server.last().path, format!("/webhooks/v1/webhooks/{id}"));
}

#[tokio::test]
async fn webhook_problem_details_decode_into_the_error() {
    let (server, api) = start().await;
    server.on(
        "POST /webhooks/v1/webhooks",
        400,
        PROBLEM,
        json!({"title": "Bad Request", "status": 400, "detail": "One or more validation errors occurred.",
               "traceId": "00-abc-01", "extraDetails": [{"name": "Url", "reason": "must be https"}],
               "someNewField": 1}),
    );
    let err = api
        .register_webhook("https://example.com/x", &[])
        .await
        .expect_err("400 is an error");
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.trace_id(), Some("00-abc-01"));
    let problem = err.problem().cloned().unwrap_or_default();
    assert_eq!(problem.details[0].reason, "must be https");
    assert!(!err.outcome_unknown());
    let shown = err.to_string();
    assert!(
        shown.contains("register_webhook") && shown.contains("Url: must be https"),
        "{shown}"
    );
}

#[tokio::test]
async fn redirect_qr_crud_and_conflict() {
    let (server, api) = start().await;
    let qr = json!({"id": "billboard 1", "url": "https://qr.example/img.svg",
                    "redirectUrl": "https://example.com/p", "expiresIn": -1});
    server.on("POST /qr/v1/merchant-redirect", 200, JSON, qr.clone());
    let created = api
        .create_redirect_qr("billboard 1", "https://example.com/p", Some(600))
        .await
        .expect("create decodes");
    assert_eq!(created.expires_in, Some(-1));
    assert_eq!(created.url.as_deref(), Some("https://qr.example/img.svg"));
    let seen = server.last();
    assert_eq!(
        seen.body,
        Some(json!({"id": "billboard 1", "redirectUrl": "https://example.com/p", "ttl": 600}))
    );
    assert_eq!(
        seen.headers.get("accept").and_then(|v| v.to_str().ok()),
        Some("image/svg+xml")
    );

    // An id that exists: the API answers 409 with an `{id}` body.
    server.on(
        "POST /qr/v1/merchant-redirect",
        409,
        JSON,
        json!({"id": "billboard 1"}),
    );
    let err = api
        .create_redirect_qr("billboard 1", "https://example.com/p", None)
        .await
        .expect_err("409");
    assert!(err.is_conflict(), "{err}");
    let _ = server.take();

    // The spec's string limits are checked before sending: an id with `/` never leaves.
    let err = api
        .create_redirect_qr("a/b", "https://example.com/p", None)
        .await
        .expect_err("id breaks the pattern");
    assert!(matches!(err, ApiError::InvalidRequest { .. }), "{err}");
    assert!(server.take().is_empty());

    server.on("GET /qr/v1/merchant-redirect", 200, JSON, json!([qr]));
    let all = api.list_redirect_qrs().await.expect("list");
    assert_eq!(all[0].id, "billboard 1");
    assert_eq!(server.last().path, "/qr/v1/merchant-redirect");

    server.on(
        "GET /qr/v1/merchant-redirect/billboard%201",
        200,
        JSON,
        json!({"id": "billboard 1", "url": "https://qr.example/img.png", "redirectUrl": "https://example.com/p"}),
    );
    let url = api
        .redirect_qr_image("billboard 1", ImageFormat::Png, Some(400))
        .await
        .expect("image url");
    assert_eq!(url, "https://qr.example/img.png");
    let seen = server.last();
    assert_eq!(
        seen.headers.get("accept").and_then(|v| v.to_str().ok()),
        Some("image/png")
    );
    assert_eq!(
        seen.headers.get("size").and_then(|v| v.to_str().ok()),
        Some("400")
    );

    server.on(
        "PUT /qr/v1/merchant-redirect/billboard%201",
        200,
        JSON,
        json!({"id": "billboard 1", "url": "u", "redirectUrl": "https://example.com/q"}),
    );
    api.update_redirect_qr("billboard 1", "https://example.com/q")
        .await
        .expect("update");
    assert_eq!(
        server.last().body,
        Some(json!({"redirectUrl": "https://example.com/q"}))
    );

    server.on(
        "DELETE /qr/v1/merchant-redirect/gone",
        404,
        JSON,
        json!({"title": "Not found", "detail": "No QR with id gone", "instance": "i-1"}),
    );
    let err = api.delete_redirect_qr("gone").await.expect_err("404");
    assert!(err.is_not_found());
    assert_eq!(
        err.problem().and_then(|p| p.detail.clone()).as_deref(),
        Some("No QR with id gone")
    );
}

#[tokio::test]
async fn callback_qrs_and_undocumented_errors() {
    let (server, api) = start().await;
    let qr = json!({"merchantSerialNumber": "123456", "merchantQrId": "till-1",
                    "locationDescription": "Till 1", "qrImageUrl": "https://qr.example/c.png",
                    "qrContent": "https://qr.vipps.no/x"});
    server.on("GET /qr/v1/merchant-callback/till-1", 200, JSON, qr.clone());
    let got = api
        .get_callback_qr("till-1", ImageFormat::Png, Some(300))
        .await
        .expect("get");
    assert_eq!(got.location_description.as_deref(), Some("Till 1"));
    let seen = server.last();
    let query = seen.query.unwrap_or_default();
    assert!(
        query.contains("QrImageFormat=PNG") && query.contains("QrImageSize=300"),
        "{query}"
    );

    server.on("GET /qr/v1/merchant-callback", 200, JSON, json!([qr]));
    assert_eq!(api.list_callback_qrs().await.expect("list").len(), 1);
    let _ = server.take();

    server.on(
        "PUT /qr/v1/merchant-callback/till-1",
        200,
        JSON,
        Value::Null,
    );
    api.put_callback_qr("till-1", "Till 2").await.expect("put");
    let seen = server.last();
    assert_eq!(seen.method, "PUT");
    assert_eq!(seen.body, Some(json!({"locationDescription": "Till 2"})));

    // 401 and 500 are not typed in the spec: still an ApiError with status and body text.
    server.on(
        "DELETE /qr/v1/merchant-callback/till-1",
        500,
        "text/plain",
        json!("upstream broke"),
    );
    let err = api.delete_callback_qr("till-1").await.expect_err("500");
    assert_eq!(err.status(), Some(500));
    assert!(err.outcome_unknown(), "a 5xx on a write may have happened");
    server.on(
        "GET /qr/v1/merchant-callback",
        401,
        "text/plain",
        Value::Null,
    );
    let err = api.list_callback_qrs().await.expect_err("401");
    assert_eq!(err.status(), Some(401));
    assert!(!err.outcome_unknown());
}

#[tokio::test]
async fn agreements_list_fetch_and_each_pricing_type() {
    let (server, api) = start().await;
    server.on(
        "GET /recurring/v3/agreements",
        200,
        JSON,
        json!([
            agreement_json("agr_1", json!({"type": "LEGACY", "amount": 4900, "currency": "NOK"})),
            agreement_json("agr_2", json!({"type": "VARIABLE", "suggestedMaxAmount": 20000, "maxAmount": 30000, "currency": "DKK"})),
            agreement_json("agr_3", json!({"type": "FLEXIBLE", "currency": "EUR"})),
        ]),
    );
    let list = api
        .list_agreements(
            Some(AgreementStatus::Active),
            Some(1_700_000_000_000),
            2,
            100,
        )
        .await
        .expect("list decodes");
    assert_eq!(
        list.iter().map(|a| a.pricing.clone()).collect::<Vec<_>>(),
        [
            Pricing::Legacy {
                amount: 4900,
                currency: "NOK".into()
            },
            Pricing::Variable {
                suggested_max_amount: 20000,
                currency: "DKK".into(),
                max_amount: Some(30000)
            },
            Pricing::Flexible {
                currency: "EUR".into()
            },
        ]
    );
    let a = &list[0];
    assert_eq!(a.status, AgreementStatus::Active);
    assert_eq!(
        a.interval,
        Some(Interval {
            unit: IntervalUnit::Month,
            count: 1
        })
    );
    assert_eq!(
        a.merchant_agreement_url, None,
        "null in the response is fine"
    );
    assert_eq!(a.created.as_deref(), Some("2025-01-02T03:04:05Z"));
    let query = server.last().query.unwrap_or_default();
    for part in [
        "status=ACTIVE",
        "createdAfter=1700000000000",
        "pageNumber=2",
        "pageSize=100",
    ] {
        assert!(query.contains(part), "{part} missing in {query}");
    }

    // Real responses break the published limits (externalId longer than 64, id > 36 chars).
    let long = "x".repeat(80);
    let mut odd = agreement_json(
        &long,
        json!({"type": "LEGACY", "amount": 1, "currency": "NOK"}),
    );
    odd["externalId"] = json!(long);
    server.on(
        &format!("GET /recurring/v3/agreements/{long}"),
        200,
        JSON,
        odd,
    );
    let got = api
        .fetch_agreement(&long)
        .await
        .expect("relaxed response decodes");
    assert_eq!(got.external_id.as_deref(), Some(long.as_str()));
}

#[tokio::test]
async fn agreement_writes_send_the_right_bodies_and_keys() {
    let (server, api) = start().await;
    server.on(
        "POST /recurring/v3/agreements",
        201,
        JSON,
        json!({"agreementId": "agr_9", "uuid": "0b5b4d2e-6b5e-4b6a-9a8e-0d9d0a1e2f3c",
               "vippsConfirmationUrl": "https://landing.example/agr_9", "chargeId": null}),
    );
    let draft = DraftAgreement {
        external_id: "cust-9".into(),
        product_name: "News".into(),
        product_description: None,
        pricing: Pricing::Variable {
            suggested_max_amount: 20000,
            currency: "NOK".into(),
            max_amount: None,
        },
        interval: Some(Interval {
            unit: IntervalUnit::Week,
            count: 2,
        }),
        merchant_redirect_url: "https://example.com/back".into(),
        merchant_agreement_url: Some("https://example.com/mine".into()),
        phone_number: None,
    };
    let drafted = api.draft_agreement(&draft, "key-1").await.expect("draft");
    assert_eq!(drafted.agreement_id, "agr_9");
    let seen = server.last();
    assert_eq!(
        seen.headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok()),
        Some("key-1")
    );
    assert_eq!(
        seen.body,
        Some(
            json!({"pricing": {"type": "VARIABLE", "suggestedMaxAmount": 20000, "currency": "NOK"},
                    "productName": "News", "merchantRedirectUrl": "https://example.com/back",
                    "externalId": "cust-9", "merchantAgreementUrl": "https://example.com/mine",
                    "interval": {"unit": "WEEK", "count": 2},
                    // the generated type writes the spec's defaults out
                    "isApp": false, "skipLandingPage": false})
        )
    );

    server.on(
        "PATCH /recurring/v3/agreements/agr_9",
        204,
        JSON,
        Value::Null,
    );
    let patch = AgreementPatch {
        product_name: Some("News+".into()),
        pricing_amount: Some(5900),
        ..AgreementPatch::default()
    };
    api.update_agreement("agr_9", &patch, "key-2")
        .await
        .expect("patch");
    assert_eq!(
        server.last().body,
        Some(json!({"productName": "News+", "pricing": {"amount": 5900}}))
    );
    api.stop_agreement("agr_9", "key-3").await.expect("stop");
    assert_eq!(server.last().body, Some(json!({"status": "STOPPED"})));

    server.on(
        "PATCH /recurring/v3/agreements/agr_9/accept",
        204,
        JSON,
        Value::Null,
    );
    api.accept_agreement("agr_9", "4791234567", "key-4")
        .await
        .expect("accept");
    assert_eq!(
        server.last().body,
        Some(json!({"phoneNumber": "4791234567"}))
    );

    // Idempotency-Key reuse with another body: 409 with a recurring problem (contextId).
    server.on(
        "PATCH /recurring/v3/agreements/agr_9",
        409,
        PROBLEM,
        json!({"type": "about:blank", "title": "Conflict", "status": 409, "detail": "key reused", "contextId": "ctx-7"}),
    );
    let err = api.stop_agreement("agr_9", "key-2").await.expect_err("409");
    assert!(err.is_conflict());
    assert_eq!(err.trace_id(), Some("ctx-7"));

    // An undecodable success body is a decode error, not a panic.
    server.on(
        "GET /recurring/v3/agreements/agr_9",
        200,
        JSON,
        json!({"id": 5}),
    );
    let err = api.fetch_agreement("agr_9").await.expect_err("bad body");
    assert!(matches!(err, ApiError::Decode { .. }), "{err}");
}

#[tokio::test]
async fn a_dead_server_is_refused_not_unknown() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let api = MerchantApi::new(Transport::plain(format!("http://{addr}")));
    let err = api.list_webhooks().await.expect_err("nobody listens");
    assert!(err.is_refused() && !err.outcome_unknown(), "{err:?}");
}

/// Success bodies are decoded once into the adapters' own types: what vippsctl does not read is
/// ignored, what it needs is named when missing, and the shapes the API varies in are accepted.
#[tokio::test]
async fn success_bodies_decode_what_the_adapters_read_and_name_what_is_missing() {
    let (server, api) = start().await;
    // Epoch milliseconds, an interval with only its text, fields vippsctl does not know.
    let mut flexible = agreement_json("agr_1", json!({"type": "FLEXIBLE", "currency": "EUR"}));
    flexible["created"] = json!(1_700_000_000_000_i64);
    flexible["interval"] = json!({"text": "when used"});
    flexible["somethingNew"] = json!({"nested": [1, 2]});
    server.on("GET /recurring/v3/agreements", 200, JSON, json!([flexible]));
    let list = api
        .list_agreements(None, None, 1, 10)
        .await
        .expect("list decodes");
    assert_eq!(list[0].created.as_deref(), Some("1700000000000"));
    assert_eq!(list[0].interval, None);

    // A LEGACY price without its amount, and an agreement without its id.
    let broken = agreement_json("agr_2", json!({"type": "LEGACY", "currency": "NOK"}));
    server.on("GET /recurring/v3/agreements/agr_2", 200, JSON, broken);
    let err = api.fetch_agreement("agr_2").await.expect_err("no amount");
    assert!(matches!(err, ApiError::Decode { .. }), "{err}");
    assert!(err.to_string().contains("`pricing.amount`"), "{err}");
    let mut no_id = agreement_json("x", json!({"type": "FLEXIBLE", "currency": "NOK"}));
    no_id["id"] = Value::Null;
    server.on("GET /recurring/v3/agreements/agr_3", 200, JSON, no_id);
    let err = api.fetch_agreement("agr_3").await.expect_err("no id");
    assert_eq!(
        err.to_string(),
        "fetch_agreement: unexpected response: the response lacks `id`"
    );

    // An absent list is an empty one; so are absent or null events.
    server.on("GET /webhooks/v1/webhooks", 200, JSON, json!({}));
    assert!(api.list_webhooks().await.expect("empty").is_empty());
    server.on(
        "GET /webhooks/v1/webhooks",
        200,
        JSON,
        json!({"webhooks": [{"id": "w", "url": "https://example.com/h", "events": null}]}),
    );
    let hooks = api.list_webhooks().await.expect("null events");
    assert!(hooks[0].events.is_empty());

    // A wrong type is a decode error whose message keeps no value from the body.
    server.on(
        "POST /webhooks/v1/webhooks",
        201,
        JSON,
        json!({"id": "1f0c7f63-9c0c-4f7e-a0f5-3c0c9b6c2a11", "secret": 42}),
    );
    let err = api
        .register_webhook("https://example.com/hook", &[])
        .await
        .expect_err("secret is no string");
    assert!(matches!(err, ApiError::Decode { .. }), "{err}");
    assert!(
        err.outcome_unknown(),
        "the webhook may have been registered"
    );
    server.on(
        "POST /webhooks/v1/webhooks",
        201,
        JSON,
        json!({"id": "1f0c7f63-9c0c-4f7e-a0f5-3c0c9b6c2a11", "secret": ["wh-secret-value"]}),
    );
    let err = api
        .register_webhook("https://example.com/hook", &[])
        .await
        .expect_err("secret is no string");
    assert!(!err.to_string().contains("wh-secret-value"), "{err}");
}
