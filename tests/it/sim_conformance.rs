//! Every answer the simulator gives, over a broad set of valid and invalid requests, must match
//! the published spec for its operation and status (status code, content type, body schema);
//! every request body we send is checked against the published request schema, and the ones the
//! simulator rejects for shape reasons must be rejected by the schema too.

use crate::common;

use common::conformance::Conformance;
use common::{send_request, Client, Resp};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use vippsctl::sim::{RateLimits, SimConfig};
use vippsctl::specs::ops::OPERATIONS;

struct Run {
    conf: Conformance,
    http: reqwest::Client,
    failures: Vec<String>,
    /// Per operation: statuses seen and checked.
    seen: BTreeMap<String, Vec<u16>>,
}

/// What a request body is, according to the published request schema.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Body {
    SchemaValid,
    SchemaInvalid,
}

impl Run {
    async fn call(
        &mut self,
        op: &str,
        rb: reqwest::RequestBuilder,
        body: Option<(&Value, Body)>,
        expect: u16,
    ) -> Resp {
        let rb = match body {
            Some((v, kind)) => {
                let verdict = self.conf.request_body(op, v);
                match (kind, &verdict) {
                    (Body::SchemaValid, Err(e)) => self
                        .failures
                        .push(format!("request we call valid fails the spec: {e}")),
                    (Body::SchemaInvalid, Ok(())) => self.failures.push(format!(
                        "{op}: request we call invalid passes the published schema: {v}"
                    )),
                    _ => {}
                }
                rb.json(v)
            }
            None => rb,
        };
        let req = rb.build().expect("request builds");
        // What vippsctl would send (a request meant to succeed) must carry what the spec requires.
        if (200..300).contains(&expect) {
            let headers: Vec<(String, String)> = req
                .headers()
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
                .collect();
            let query: Vec<(String, String)> = req
                .url()
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            if let Err(e) = self.conf.request_params(op, &headers, &query) {
                self.failures.push(e);
            }
        }
        let r = send_request(&self.http, req).await;
        if r.status != expect {
            self.failures.push(format!(
                "{op}: expected {expect}, got {} {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            ));
        }
        if let Err(e) = self
            .conf
            .response(op, r.status, r.content_type.as_deref(), &r.body)
        {
            self.failures.push(e);
        }
        self.seen.entry(op.to_string()).or_default().push(r.status);
        r
    }
}

fn long(n: usize) -> String {
    "x".repeat(n)
}

#[tokio::test]
async fn every_answer_matches_the_published_specs() {
    let Some(conf) = Conformance::load() else {
        return;
    };
    let mut run = Run {
        conf,
        http: reqwest::Client::new(),
        failures: Vec::new(),
        seen: BTreeMap::new(),
    };
    let sim = common::start(SimConfig::test()).await;
    let c = Client::new(&sim).await;
    let base = sim.base_url();
    let http = c.http.clone();

    // --- access token
    let tok = |id: &str, secret: &str| {
        http.post(format!("{base}/accesstoken/get"))
            .header("client_id", id)
            .header("client_secret", secret)
            .header(
                "Ocp-Apim-Subscription-Key",
                vippsctl::sim::SANDBOX_SUBSCRIPTION_KEY,
            )
    };
    let r = run
        .call(
            "fetch_access_token",
            tok(
                vippsctl::sim::SANDBOX_CLIENT_ID,
                vippsctl::sim::SANDBOX_CLIENT_SECRET,
            ),
            None,
            200,
        )
        .await;
    assert!(
        r.json()["expires_in"].is_string(),
        "numeric token fields are strings"
    );
    run.call(
        "fetch_access_token",
        tok(vippsctl::sim::SANDBOX_CLIENT_ID, "wrong"),
        None,
        401,
    )
    .await;
    run.call(
        "fetch_access_token",
        http.post(format!("{base}/accesstoken/get")),
        None,
        401,
    )
    .await;
    // The POST has an empty body (API-FACTS 2).
    run.call(
        "fetch_access_token",
        tok(
            vippsctl::sim::SANDBOX_CLIENT_ID,
            vippsctl::sim::SANDBOX_CLIENT_SECRET,
        )
        .body("grant_type=client_credentials"),
        None,
        400,
    )
    .await;

    // --- webhooks
    let wh = "/webhooks/v1/webhooks";
    run.call("list_webhooks", c.req("GET", wh), None, 200).await;
    let good =
        json!({"url": "https://example.com/hook", "events": ["epayments.payment.captured.v1"]});
    let r = run
        .call(
            "register_webhook",
            c.req("POST", wh),
            Some((&good, Body::SchemaValid)),
            201,
        )
        .await;
    let hook_id = r.json()["id"].as_str().unwrap_or_default().to_string();
    let checkin = json!({"url": "https://example.com/checkin", "events": ["user.checked-in.v1"]});
    run.call(
        "register_webhook",
        c.req("POST", wh),
        Some((&checkin, Body::SchemaValid)),
        201,
    )
    .await;
    run.call(
        "register_webhook",
        c.req("POST", wh),
        Some((&checkin, Body::SchemaValid)),
        400,
    )
    .await;
    let http_url = json!({"url": "http://example.com/hook", "events": ["a.b"]});
    run.call(
        "register_webhook",
        c.req("POST", wh),
        Some((&http_url, Body::SchemaValid)),
        400,
    )
    .await;
    let no_events = json!({"url": "https://example.com/hook"});
    run.call(
        "register_webhook",
        c.req("POST", wh),
        Some((&no_events, Body::SchemaInvalid)),
        400,
    )
    .await;
    let events_string = json!({"url": "https://example.com/hook", "events": "a.b"});
    run.call(
        "register_webhook",
        c.req("POST", wh),
        Some((&events_string, Body::SchemaInvalid)),
        400,
    )
    .await;
    let r = run.call("list_webhooks", c.req("GET", wh), None, 200).await;
    assert_eq!(r.json()["webhooks"].as_array().map(Vec::len), Some(2));
    assert!(
        r.json()["webhooks"][0].get("secret").is_none(),
        "list never returns secrets"
    );
    run.call(
        "delete_webhook",
        c.req("DELETE", &format!("{wh}/not-a-uuid")),
        None,
        400,
    )
    .await;
    run.call(
        "delete_webhook",
        c.req("DELETE", &format!("{wh}/{}", uuid::Uuid::new_v4())),
        None,
        404,
    )
    .await;
    run.call(
        "delete_webhook",
        c.req("DELETE", &format!("{wh}/{hook_id}")),
        None,
        204,
    )
    .await;
    run.call(
        "list_webhooks",
        http.get(format!("{base}{wh}"))
            .header("Ocp-Apim-Subscription-Key", "x"),
        None,
        401,
    )
    .await;

    // --- QR merchant-redirect
    let mr = "/qr/v1/merchant-redirect";
    let png = |rb: reqwest::RequestBuilder| rb.header("Accept", "image/png").header("Size", "300");
    let q1 = json!({"id": "billboard_1", "redirectUrl": "https://example.com/product"});
    let r = run
        .call(
            "create_redirect_qr",
            png(c.req("POST", mr)),
            Some((&q1, Body::SchemaValid)),
            200,
        )
        .await;
    assert!(r.json()["url"]
        .as_str()
        .is_some_and(|u| u.contains(".png?") && u.contains("size=300")));
    assert_eq!(r.json()["expiresIn"], -1);
    let q2 = json!({"id": "kasse 2 æøå", "redirectUrl": "https://example.com/p2?a=1", "ttl": 600});
    let r = run
        .call(
            "create_redirect_qr",
            c.req("POST", mr).header("Accept", "image/svg+xml"),
            Some((&q2, Body::SchemaValid)),
            200,
        )
        .await;
    assert!(r.json()["url"].as_str().is_some_and(|u| u.contains(".svg")));
    let q3 = json!({"id": "target", "redirectUrl": "https://example.com/t", "ttl": null});
    run.call(
        "create_redirect_qr",
        c.req("POST", mr).header("Accept", "text/targetUrl"),
        Some((&q3, Body::SchemaValid)),
        200,
    )
    .await;
    let r = run
        .call(
            "create_redirect_qr",
            png(c.req("POST", mr)),
            Some((&q1, Body::SchemaValid)),
            409,
        )
        .await;
    assert_eq!(r.json()["id"], "billboard_1");
    for (bad, why) in [
        (
            json!({"id": "a/b", "redirectUrl": "https://example.com"}),
            "id pattern",
        ),
        (
            json!({"id": long(129), "redirectUrl": "https://example.com"}),
            "id length",
        ),
        (
            json!({"id": "", "redirectUrl": "https://example.com"}),
            "empty id",
        ),
        (
            json!({"id": "ok", "redirectUrl": "http://example.com"}),
            "http",
        ),
        (
            json!({"id": "ok", "redirectUrl": "https://example.com", "ttl": 10}),
            "ttl",
        ),
        (json!({"redirectUrl": "https://example.com"}), "no id"),
        (json!({"id": "ok"}), "no url"),
    ] {
        let before = run.failures.len();
        run.call(
            "create_redirect_qr",
            png(c.req("POST", mr)),
            Some((&bad, Body::SchemaInvalid)),
            400,
        )
        .await;
        if run.failures.len() > before {
            run.failures.push(format!("(case: {why})"));
        }
    }
    let ok_body = json!({"id": "ok", "redirectUrl": "https://example.com"});
    run.call(
        "create_redirect_qr",
        c.req("POST", mr).header("Accept", "application/json"),
        Some((&ok_body, Body::SchemaValid)),
        400,
    )
    .await;
    run.call(
        "create_redirect_qr",
        png(c.req("POST", mr))
            .header("Content-Type", "text/plain")
            .body("id=x"),
        None,
        415,
    )
    .await;
    let r = run
        .call("list_redirect_qrs", png(c.req("GET", mr)), None, 200)
        .await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(3));
    // Accept is a required header on the reads too.
    run.call("list_redirect_qrs", c.req("GET", mr), None, 400)
        .await;
    run.call(
        "get_redirect_qr",
        c.req("GET", &format!("{mr}/billboard_1")),
        None,
        400,
    )
    .await;
    run.call(
        "get_redirect_qr",
        png(c.req("GET", &format!("{mr}/billboard_1"))),
        None,
        200,
    )
    .await;
    run.call(
        "get_redirect_qr",
        png(c.req("GET", &format!("{mr}/kasse%202%20%C3%A6%C3%B8%C3%A5"))),
        None,
        200,
    )
    .await;
    run.call(
        "get_redirect_qr",
        png(c.req("GET", &format!("{mr}/nope"))),
        None,
        404,
    )
    .await;
    let upd = json!({"redirectUrl": "https://example.com/new"});
    let r = run
        .call(
            "update_redirect_qr",
            png(c.req("PUT", &format!("{mr}/billboard_1"))),
            Some((&upd, Body::SchemaValid)),
            200,
        )
        .await;
    assert_eq!(r.json()["redirectUrl"], "https://example.com/new");
    let bad_upd = json!({"redirectUrl": "ftp://example.com"});
    run.call(
        "update_redirect_qr",
        png(c.req("PUT", &format!("{mr}/billboard_1"))),
        Some((&bad_upd, Body::SchemaInvalid)),
        400,
    )
    .await;
    run.call(
        "update_redirect_qr",
        png(c.req("PUT", &format!("{mr}/nope"))),
        Some((&upd, Body::SchemaValid)),
        404,
    )
    .await;
    run.call(
        "delete_redirect_qr",
        c.req("DELETE", &format!("{mr}/target")),
        None,
        200,
    )
    .await;
    run.call(
        "delete_redirect_qr",
        c.req("DELETE", &format!("{mr}/target")),
        None,
        404,
    )
    .await;
    run.call(
        "list_redirect_qrs",
        http.get(format!("{base}{mr}"))
            .header("Accept", "image/png"),
        None,
        401,
    )
    .await;

    // --- QR merchant-callback
    let mc = "/qr/v1/merchant-callback";
    let loc = json!({"locationDescription": "Kasse 1"});
    run.call(
        "put_callback_qr",
        c.req("PUT", &format!("{mc}/till-1")),
        Some((&loc, Body::SchemaValid)),
        200,
    )
    .await;
    let loc2 = json!({"locationDescription": "Kasse 1, ved vinduet"});
    run.call(
        "put_callback_qr",
        c.req("PUT", &format!("{mc}/till-1")),
        Some((&loc2, Body::SchemaValid)),
        200,
    )
    .await;
    let too_long = json!({"locationDescription": long(37)});
    run.call(
        "put_callback_qr",
        c.req("PUT", &format!("{mc}/till-2")),
        Some((&too_long, Body::SchemaInvalid)),
        400,
    )
    .await;
    run.call(
        "put_callback_qr",
        c.req("PUT", &format!("{mc}/till-2")),
        Some((&json!({}), Body::SchemaInvalid)),
        400,
    )
    .await;
    let no_msn = Client {
        http: c.http.clone(),
        base: c.base.clone(),
        token: c.token.clone(),
        msn: None,
    };
    run.call(
        "put_callback_qr",
        no_msn.req("PUT", &format!("{mc}/till-2")),
        Some((&loc, Body::SchemaValid)),
        400,
    )
    .await;
    let r = run
        .call("list_callback_qrs", c.req("GET", mc), None, 200)
        .await;
    assert_eq!(r.json()[0]["locationDescription"], "Kasse 1, ved vinduet");
    let r = run
        .call(
            "list_callback_qrs",
            c.req("GET", &format!("{mc}?QrImageFormat=PNG&QrImageSize=300")),
            None,
            200,
        )
        .await;
    assert!(r.json()[0]["qrImageUrl"]
        .as_str()
        .is_some_and(|u| u.contains(".png?") && u.contains("size=300")));
    run.call(
        "list_callback_qrs",
        c.req("GET", &format!("{mc}?QrImageFormat=GIF")),
        None,
        400,
    )
    .await;
    run.call(
        "list_callback_qrs",
        c.req("GET", &format!("{mc}?QrImageSize=99")),
        None,
        400,
    )
    .await;
    run.call(
        "get_callback_qr",
        c.req("GET", &format!("{mc}/till-1")),
        None,
        200,
    )
    .await;
    run.call(
        "get_callback_qr",
        c.req("GET", &format!("{mc}/nope")),
        None,
        404,
    )
    .await;
    run.call(
        "delete_callback_qr",
        c.req("DELETE", &format!("{mc}/till-1")),
        None,
        200,
    )
    .await;
    run.call(
        "delete_callback_qr",
        c.req("DELETE", &format!("{mc}/till-1")),
        None,
        404,
    )
    .await;
    run.call("list_callback_qrs", no_msn.req("GET", mc), None, 400)
        .await;

    // --- Recurring v3 agreements
    let ag = "/recurring/v3/agreements";
    let draft = |key: &str| c.req("POST", ag).header("Idempotency-Key", key);
    let legacy = common::legacy_draft("Pluss");
    let r = run
        .call(
            "draft_agreement",
            draft("k-legacy"),
            Some((&legacy, Body::SchemaValid)),
            201,
        )
        .await;
    let legacy_id = r.json()["agreementId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let again = run
        .call(
            "draft_agreement",
            draft("k-legacy"),
            Some((&legacy, Body::SchemaValid)),
            201,
        )
        .await;
    assert_eq!(
        again.json()["agreementId"],
        legacy_id.as_str(),
        "same key and body: same answer"
    );
    let other = common::legacy_draft("Other");
    run.call(
        "draft_agreement",
        draft("k-legacy"),
        Some((&other, Body::SchemaValid)),
        409,
    )
    .await;
    run.call(
        "draft_agreement",
        c.req("POST", ag),
        Some((&legacy, Body::SchemaValid)),
        400,
    )
    .await;
    let variable = json!({
        "pricing": {"type": "VARIABLE", "suggestedMaxAmount": 50000, "currency": "NOK"},
        "interval": {"unit": "WEEK", "count": 2},
        "merchantRedirectUrl": "https://example.com/r",
        "merchantAgreementUrl": "https://example.com/a",
        "productName": "Variable", "productDescription": "Up to 500", "externalId": "ext-1",
    });
    let r = run
        .call(
            "draft_agreement",
            draft("k-var"),
            Some((&variable, Body::SchemaValid)),
            201,
        )
        .await;
    let variable_id = r.json()["agreementId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut flexible = json!({
        "pricing": {"type": "FLEXIBLE", "currency": "DKK"},
        "merchantRedirectUrl": "https://example.com/r",
        "productName": "Per use",
    });
    // Valid for the schema, refused for a Norwegian sales unit: "This URL is required for
    // Norwegian Merchants."
    run.call(
        "draft_agreement",
        draft("k-flex-no-url"),
        Some((&flexible, Body::SchemaValid)),
        400,
    )
    .await;
    flexible["merchantAgreementUrl"] = json!("https://example.com/a");
    run.call(
        "draft_agreement",
        draft("k-flex"),
        Some((&flexible, Body::SchemaValid)),
        201,
    )
    .await;
    let mut campaign = common::legacy_draft("Campaign");
    campaign["campaign"] =
        json!({"type": "PRICE_CAMPAIGN", "price": 100, "end": "2030-01-01T00:00:00Z"});
    campaign["initialCharge"] = json!({"amount": 100, "description": "First month", "transactionType": "DIRECT_CAPTURE", "orderId": "order-1"});
    let r = run
        .call(
            "draft_agreement",
            draft("k-camp"),
            Some((&campaign, Body::SchemaValid)),
            201,
        )
        .await;
    assert_eq!(r.json()["chargeId"], "order-1");
    let campaign_id = r.json()["agreementId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut period = common::legacy_draft("Period");
    period["campaign"] =
        json!({"type": "PERIOD_CAMPAIGN", "price": 0, "period": {"unit": "MONTH", "count": 3}});
    let r = run
        .call(
            "draft_agreement",
            draft("k-period"),
            Some((&period, Body::SchemaValid)),
            201,
        )
        .await;
    let period_id = r.json()["agreementId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut var_campaign = variable.clone();
    var_campaign["campaign"] =
        json!({"type": "PRICE_CAMPAIGN", "price": 100, "end": "2030-01-01T00:00:00Z"});
    run.call(
        "draft_agreement",
        draft("k-vc"),
        Some((&var_campaign, Body::SchemaValid)),
        400,
    )
    .await;
    let mut no_name = common::legacy_draft("x");
    no_name.as_object_mut().map(|m| m.remove("productName"));
    run.call(
        "draft_agreement",
        draft("k-nn"),
        Some((&no_name, Body::SchemaInvalid)),
        400,
    )
    .await;
    run.call(
        "draft_agreement",
        draft("k-ln"),
        Some((&common::legacy_draft(&long(46)), Body::SchemaInvalid)),
        400,
    )
    .await;
    let mut bad_currency = common::legacy_draft("x");
    bad_currency["pricing"]["currency"] = json!("SEK");
    run.call(
        "draft_agreement",
        draft("k-sek"),
        Some((&bad_currency, Body::SchemaInvalid)),
        400,
    )
    .await;
    let mut bad_interval = common::legacy_draft("x");
    bad_interval["interval"]["count"] = json!(32);
    run.call(
        "draft_agreement",
        draft("k-int"),
        Some((&bad_interval, Body::SchemaInvalid)),
        400,
    )
    .await;
    let mut variable_without_max = variable.clone();
    variable_without_max["pricing"] = json!({"type": "VARIABLE", "currency": "NOK"});
    run.call(
        "draft_agreement",
        draft("k-vnm"),
        Some((&variable_without_max, Body::SchemaInvalid)),
        400,
    )
    .await;

    // Without `status` only ACTIVE ones are listed, and all five are PENDING.
    let r = run
        .call("list_agreements", c.req("GET", ag), None, 200)
        .await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(0));
    let r = run
        .call(
            "list_agreements",
            c.req("GET", &format!("{ag}?status=PENDING")),
            None,
            200,
        )
        .await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(5));
    let r = run
        .call(
            "list_agreements",
            c.req(
                "GET",
                &format!("{ag}?status=PENDING&pageNumber=2&pageSize=2"),
            ),
            None,
            200,
        )
        .await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(2));
    run.call(
        "list_agreements",
        c.req("GET", &format!("{ag}?pageSize=0")),
        None,
        400,
    )
    .await;
    run.call(
        "list_agreements",
        c.req("GET", &format!("{ag}?status=PAUSED")),
        None,
        400,
    )
    .await;
    for id in [&legacy_id, &variable_id, &campaign_id, &period_id] {
        run.call(
            "fetch_agreement",
            c.req("GET", &format!("{ag}/{id}")),
            None,
            200,
        )
        .await;
    }
    run.call(
        "fetch_agreement",
        c.req("GET", &format!("{ag}/agr_nope")),
        None,
        404,
    )
    .await;

    let patch = |id: &str, key: &str| {
        c.req("PATCH", &format!("{ag}/{id}"))
            .header("Idempotency-Key", key)
    };
    let p = json!({"productName": "Pluss 2", "pricing": {"amount": 39900}, "externalId": "ext-9"});
    run.call(
        "update_agreement",
        patch(&legacy_id, "p1"),
        Some((&p, Body::SchemaValid)),
        204,
    )
    .await;
    let p = json!({"pricing": {"suggestedMaxAmount": 10000}});
    run.call(
        "update_agreement",
        patch(&legacy_id, "p2"),
        Some((&p, Body::SchemaValid)),
        400,
    )
    .await;
    run.call(
        "update_agreement",
        patch(&variable_id, "p3"),
        Some((&p, Body::SchemaValid)),
        204,
    )
    .await;
    let p = json!({"status": "STOPPED", "productName": "x"});
    run.call(
        "update_agreement",
        patch(&legacy_id, "p4"),
        Some((&p, Body::SchemaValid)),
        400,
    )
    .await;
    let p = json!({"merchantRedirectUrl": "https://example.com/other"});
    run.call(
        "update_agreement",
        patch(&legacy_id, "p5"),
        Some((&p, Body::SchemaValid)),
        400,
    )
    .await;
    let p = json!({"productName": long(46)});
    run.call(
        "update_agreement",
        patch(&legacy_id, "p6"),
        Some((&p, Body::SchemaInvalid)),
        400,
    )
    .await;
    let p = json!({"status": "ACTIVE"});
    run.call(
        "update_agreement",
        patch(&legacy_id, "p7"),
        Some((&p, Body::SchemaInvalid)),
        400,
    )
    .await;
    let p = json!({"interval": {"type": "RECURRING", "period": {"unit": "YEAR", "count": 1}}});
    run.call(
        "update_agreement",
        patch(&legacy_id, "p8"),
        Some((&p, Body::SchemaValid)),
        204,
    )
    .await;
    run.call(
        "update_agreement",
        patch("agr_nope", "p9"),
        Some((&p, Body::SchemaValid)),
        404,
    )
    .await;

    let accept = |id: &str, key: &str| {
        c.req("PATCH", &format!("{ag}/{id}/accept"))
            .header("Idempotency-Key", key)
    };
    let phone = json!({"phoneNumber": "4712345678"});
    run.call(
        "accept_agreement",
        accept(&variable_id, "a1"),
        Some((&phone, Body::SchemaValid)),
        204,
    )
    .await;
    run.call(
        "accept_agreement",
        accept(&variable_id, "a2"),
        Some((&phone, Body::SchemaValid)),
        400,
    )
    .await;
    run.call(
        "accept_agreement",
        accept(&legacy_id, "a3"),
        Some((&json!({}), Body::SchemaInvalid)),
        400,
    )
    .await;
    run.call(
        "accept_agreement",
        accept("agr_nope", "a4"),
        Some((&phone, Body::SchemaValid)),
        404,
    )
    .await;
    let r = run
        .call(
            "fetch_agreement",
            c.req("GET", &format!("{ag}/{variable_id}")),
            None,
            200,
        )
        .await;
    assert_eq!(r.json()["status"], "ACTIVE");
    assert_eq!(r.json()["pricing"]["maxAmount"], 10000);
    let stop = json!({"status": "STOPPED"});
    run.call(
        "update_agreement",
        patch(&variable_id, "s1"),
        Some((&stop, Body::SchemaValid)),
        204,
    )
    .await;
    run.call(
        "update_agreement",
        patch(&variable_id, "s2"),
        Some((&json!({"productName": "x"}), Body::SchemaValid)),
        400,
    )
    .await;
    let r = run
        .call(
            "fetch_agreement",
            c.req("GET", &format!("{ag}/{variable_id}")),
            None,
            200,
        )
        .await;
    assert_eq!(r.json()["status"], "STOPPED");
    sim.advance_clock(std::time::Duration::from_secs(11 * 60));
    let r = run
        .call(
            "fetch_agreement",
            c.req("GET", &format!("{ag}/{legacy_id}")),
            None,
            200,
        )
        .await;
    assert_eq!(r.json()["status"], "EXPIRED");
    let r = run
        .call(
            "list_agreements",
            c.req("GET", &format!("{ag}?status=EXPIRED")),
            None,
            200,
        )
        .await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(4));
    run.call(
        "list_agreements",
        http.get(format!("{base}{ag}")),
        None,
        401,
    )
    .await;

    epayment_answers(&mut run, &c).await;

    // --- 403 for an MSN the keys may not act for, and documented rate limits
    let closed = common::start(SimConfig {
        rate_limits: RateLimits::documented(),
        ..SimConfig::test()
    })
    .await;
    let mut cc = Client::new(&closed).await;
    cc.msn = Some("999999".into());
    run.call("list_callback_qrs", cc.req("GET", mc), None, 403)
        .await;
    run.call(
        "draft_agreement",
        cc.req("POST", ag).header("Idempotency-Key", "x"),
        Some((&legacy, Body::SchemaValid)),
        403,
    )
    .await;
    cc.msn = Some(vippsctl::sim::SANDBOX_MSN.into());
    for _ in 0..5 {
        run.call("list_agreements", cc.req("GET", ag), None, 200)
            .await;
    }
    let r = run
        .call("list_agreements", cc.req("GET", ag), None, 429)
        .await;
    assert!(r.header("Retry-After").is_some());

    // --- Management: the miami token of partner keys, then the sales-unit reads
    let partner = common::start(SimConfig::test().with_merchants(["234567"])).await;
    let pbase = partner.base_url();
    let miami = |id: &str, secret: &str| {
        http.post(format!("{pbase}/miami/v1/token"))
            .basic_auth(id, Some(secret))
            .header(
                "Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )
            .body("grant_type=client_credentials")
    };
    let r = run
        .call(
            "fetch_management_token",
            miami(
                vippsctl::sim::SANDBOX_CLIENT_ID,
                vippsctl::sim::SANDBOX_CLIENT_SECRET,
            ),
            None,
            200,
        )
        .await;
    let mtoken = r.json()["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        r.json()["expires_in"],
        json!("900"),
        "15 minutes, as a string"
    );
    run.call(
        "fetch_management_token",
        miami(vippsctl::sim::SANDBOX_CLIENT_ID, "wrong"),
        None,
        401,
    )
    .await;
    run.call(
        "fetch_management_token",
        http.post(format!("{pbase}/miami/v1/token")).basic_auth(
            vippsctl::sim::SANDBOX_CLIENT_ID,
            Some(vippsctl::sim::SANDBOX_CLIENT_SECRET),
        ),
        None,
        400,
    )
    .await;
    let mreq = |path: &str| {
        http.get(format!("{pbase}{path}"))
            .header("Authorization", format!("Bearer {mtoken}"))
    };
    let r = run
        .call(
            "list_sales_units",
            mreq("/management/v1/sales-units"),
            None,
            200,
        )
        .await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(2), "{:?}", r.json());
    run.call(
        "list_sales_units",
        http.get(format!("{pbase}/management/v1/sales-units")),
        None,
        401,
    )
    .await;
    let r = run
        .call(
            "get_sales_unit",
            mreq("/management/v1/sales-units/234567"),
            None,
            200,
        )
        .await;
    let org = r.json()["businessIdentifier"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    run.call(
        "get_sales_unit",
        mreq("/management/v1/sales-units/999999"),
        None,
        404,
    )
    .await;
    run.call(
        "get_sales_unit",
        mreq("/management/v1/sales-units/12"),
        None,
        400,
    )
    .await;
    run.call(
        "list_merchant_sales_units",
        mreq(&format!(
            "/management/v1/merchants/business:NO:ORG/{org}/sales-units"
        )),
        None,
        200,
    )
    .await;
    run.call(
        "list_merchant_sales_units",
        mreq("/management/v1/merchants/business:NO:ORG/111111111/sales-units"),
        None,
        404,
    )
    .await;

    order_management(&mut run, &c).await;
    charges(&mut run, &sim, &c).await;

    eprintln!("checked answers per operation: {:?}", run.seen);
    // Breadth: every operation answered at least once with success and once with an error.
    for op in OPERATIONS {
        let statuses = run.seen.get(op.name).cloned().unwrap_or_default();
        if !statuses.iter().any(|s| (200..300).contains(s)) {
            run.failures
                .push(format!("{}: no success answer checked", op.name));
        }
        if !statuses.iter().any(|s| *s >= 400) {
            run.failures
                .push(format!("{}: no error answer checked", op.name));
        }
    }
    assert!(
        run.failures.is_empty(),
        "{} conformance failures:\n{}",
        run.failures.len(),
        run.failures.join("\n")
    );
    closed.shutdown().await;
    sim.shutdown().await;
}

#[test]
fn the_validator_rejects_what_the_spec_forbids() {
    let Some(conf) = Conformance::load() else {
        return;
    };
    // A response schema check that cannot fail would prove nothing: feed it wrong answers.
    let ok_token = br#"{"token_type":"Bearer","expires_in":"3600","ext_expires_in":"0","expires_on":"1","not_before":"0","resource":"r","access_token":"t"}"#;
    assert!(conf
        .response(
            "fetch_access_token",
            200,
            Some("application/json;charset=UTF-8"),
            ok_token
        )
        .is_ok());
    let numeric = br#"{"token_type":"Bearer","expires_in":3600,"ext_expires_in":"0","expires_on":"1","not_before":"0","resource":"r","access_token":"t"}"#;
    assert!(conf
        .response(
            "fetch_access_token",
            200,
            Some("application/json;charset=UTF-8"),
            numeric
        )
        .is_err());
    assert!(conf
        .response(
            "fetch_access_token",
            200,
            Some("application/json"),
            ok_token
        )
        .is_err());
    assert!(conf.response("list_webhooks", 418, None, b"").is_err());
    assert!(conf
        .response(
            "list_webhooks",
            200,
            Some("application/json"),
            br#"{"hooks":[]}"#
        )
        .is_err());
    let pricing_mismatch = json!([{"id":"agr_1","uuid":"9c2ca95c-245f-4a2e-aab2-4a08eb78e6fb","productName":"p","pricing":{"type":"VARIABLE","currency":"NOK","amount":100},"interval":{},"created":"2024-01-01T00:00:00Z","merchantAgreementUrl":"","merchantRedirectUrl":"https://x","countryCode":"NO"}]);
    let body = serde_json::to_vec(&pricing_mismatch).unwrap_or_default();
    assert!(
        conf.response("list_agreements", 200, Some("application/json"), &body)
            .is_err(),
        "VARIABLE pricing without suggestedMaxAmount must fail"
    );
    let mut fixed = pricing_mismatch.clone();
    fixed[0]["pricing"] = json!({"type":"LEGACY","currency":"NOK","amount":100});
    let body = serde_json::to_vec(&fixed).unwrap_or_default();
    assert_eq!(
        conf.response("list_agreements", 200, Some("application/json"), &body),
        Ok(())
    );
    assert!(
        conf.response("get_callback_qr", 404, None, b"{}").is_err(),
        "404 there has no body"
    );
    // ePayment: the allow-listed `paymentAction` leftover is the only relief in the event log.
    let event = json!([{"reference": "order-1234", "pspReference": "1", "name": "CREATED",
        "amount": {"currency": "NOK", "value": 100}, "timestamp": "2024-01-01T00:00:00Z",
        "idempotencyKey": null, "success": true}]);
    let body = serde_json::to_vec(&event).unwrap_or_default();
    assert_eq!(
        conf.response("get_payment_events", 200, Some("application/json"), &body),
        Ok(())
    );
    let mut no_amount = event.clone();
    no_amount[0].as_object_mut().map(|m| m.remove("amount"));
    let body = serde_json::to_vec(&no_amount).unwrap_or_default();
    assert!(conf
        .response("get_payment_events", 200, Some("application/json"), &body)
        .is_err());
    // A customer is exactly one of its variants.
    let create = |customer: Value| {
        json!({"amount": {"currency": "NOK", "value": 100}, "paymentMethod": {"type": "WALLET"},
            "reference": "order-1234", "userFlow": "PUSH_MESSAGE", "customer": customer})
    };
    assert_eq!(
        conf.request_body(
            "create_payment",
            &create(json!({"phoneNumber": "4712345678"}))
        ),
        Ok(())
    );
    assert!(conf
        .request_body(
            "create_payment",
            &create(json!({"phoneNumber": "4712345678", "customerToken": "t"}))
        )
        .is_err());
    assert!(conf
        .request_body("create_payment", &create(json!({"phoneNumber": "12"})))
        .is_err());
    let mut bad_date = fixed.clone();
    bad_date[0]["created"] = json!("yesterday");
    let body = serde_json::to_vec(&bad_date).unwrap_or_default();
    assert!(
        conf.response("list_agreements", 200, Some("application/json"), &body)
            .is_err(),
        "formats (date-time) are checked"
    );
}

/// Order Management: every operation, with successes and the errors the spec declares.
async fn order_management(run: &mut Run, c: &Client) {
    use crate::sim_order_management::{image, png_base64, receipt};
    let om = |p: &str| format!("/order-management{p}");
    let img = image("socks-orange-123", &png_base64(200, 200));
    run.call(
        "upload_image",
        c.req("POST", &om("/v1/images")),
        Some((&img, Body::SchemaValid)),
        200,
    )
    .await;
    // A GIF is schema-valid (src is a string) but not an image the API takes.
    let gif = image("gif", "R0lGODlhAQABAAAAACw=");
    run.call(
        "upload_image",
        c.req("POST", &om("/v1/images")),
        Some((&gif, Body::SchemaValid)),
        400,
    )
    .await;
    let bad_id = image("with space", &png_base64(200, 200));
    run.call(
        "upload_image",
        c.req("POST", &om("/v1/images")),
        Some((&bad_id, Body::SchemaInvalid)),
        400,
    )
    .await;

    let cat = json!({"category": "GENERAL", "orderDetailsUrl": "https://example.com/o/1", "imageId": "socks-orange-123"});
    let path = om("/v2/ECOM/categories/order-1");
    run.call(
        "put_order_category",
        c.req("PUT", &path),
        Some((&cat, Body::SchemaValid)),
        200,
    )
    .await;
    let bad = json!({"category": "INVOICE", "orderDetailsUrl": "https://example.com"});
    run.call(
        "put_order_category",
        c.req("PUT", &path),
        Some((&bad, Body::SchemaInvalid)),
        400,
    )
    .await;
    let no_image = json!({"category": "GENERAL", "orderDetailsUrl": "https://example.com", "imageId": "unknown"});
    run.call(
        "put_order_category",
        c.req("PUT", &path),
        Some((&no_image, Body::SchemaValid)),
        404,
    )
    .await;

    let lines = om("/v2/ECOM/receipts/order-1");
    run.call(
        "add_order_lines",
        c.req("POST", &lines),
        Some((&receipt(), Body::SchemaValid)),
        201,
    )
    .await;
    run.call(
        "add_order_lines",
        c.req("POST", &lines),
        Some((&receipt(), Body::SchemaValid)),
        409,
    )
    .await;
    let mut sums = receipt();
    sums["orderLines"][0]["totalAmount"] = json!(1);
    run.call(
        "add_order_lines",
        c.req("POST", &om("/v2/ECOM/receipts/order-2")),
        Some((&sums, Body::SchemaValid)),
        400,
    )
    .await;
    let mut rate = receipt();
    rate["orderLines"][0]["taxRate"] = json!(10001);
    run.call(
        "add_order_lines",
        c.req("POST", &om("/v2/ECOM/receipts/order-2")),
        Some((&rate, Body::SchemaInvalid)),
        400,
    )
    .await;

    run.call(
        "get_order",
        c.req("GET", &om("/v2/ECOM/order-1")),
        None,
        200,
    )
    .await;
    run.call(
        "get_order",
        c.req("GET", &om("/v2/RECURRING/order-1")),
        None,
        404,
    )
    .await;

    let v3 = json!({"orderId": "order-1", "paymentType": "ECOM", "type": "RECEIPT", "url": "https://www.example.com", "imageId": "socks-orange-123"});
    let r = run
        .call(
            "create_category",
            c.req("POST", &om("/v3/categories")),
            Some((&v3, Body::SchemaValid)),
            201,
        )
        .await;
    let id = r.json()["categoryId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let bad = json!({"orderId": "order-1", "paymentType": "VIPPS", "type": "RECEIPT", "url": "https://e.com"});
    run.call(
        "create_category",
        c.req("POST", &om("/v3/categories")),
        Some((&bad, Body::SchemaInvalid)),
        400,
    )
    .await;
    run.call(
        "list_categories",
        c.req("GET", &om("/v3/categories?orderId=order-1")),
        None,
        200,
    )
    .await;
    run.call(
        "list_categories",
        c.req("GET", &om("/v3/categories")),
        None,
        400,
    )
    .await;
    run.call(
        "get_category",
        c.req("GET", &om(&format!("/v3/categories/{id}"))),
        None,
        200,
    )
    .await;
    run.call(
        "get_category",
        c.req("GET", &om("/v3/categories/not-a-uuid")),
        None,
        400,
    )
    .await;
    let unknown = uuid::Uuid::new_v4();
    run.call(
        "get_category",
        c.req("GET", &om(&format!("/v3/categories/{unknown}"))),
        None,
        404,
    )
    .await;
    run.call(
        "delete_category",
        c.req("DELETE", &om(&format!("/v3/categories/{id}"))),
        None,
        200,
    )
    .await;
    run.call(
        "delete_category",
        c.req("DELETE", &om(&format!("/v3/categories/{id}"))),
        None,
        404,
    )
    .await;
    // Unauthenticated: the gateway's 401, which the spec declares without a body.
    run.call(
        "get_order",
        c.http
            .get(format!("{}{}", c.base, om("/v2/ECOM/order-1")))
            .header("Merchant-Serial-Number", vippsctl::sim::SANDBOX_MSN),
        None,
        401,
    )
    .await;
}

/// Recurring charges: every operation, with successes and the errors the spec declares.
async fn charges(run: &mut Run, sim: &vippsctl::sim::SimHandle, c: &Client) {
    let ag = "/recurring/v3/agreements";
    let idem = |rb: reqwest::RequestBuilder, k: &str| rb.header("Idempotency-Key", k);
    let draft = json!({"pricing": {"type": "FLEXIBLE", "currency": "NOK"}, "merchantRedirectUrl": "https://example.com/r",
        "merchantAgreementUrl": "https://example.com/a", "productName": "Charges"});
    let r = run
        .call(
            "draft_agreement",
            idem(c.req("POST", ag), "chg-draft"),
            Some((&draft, Body::SchemaValid)),
            201,
        )
        .await;
    let id = r.json()["agreementId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    sim.accept_agreement(&id).expect("accept");
    let due = (sim.now().date_naive() + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let charges = format!("{ag}/{id}/charges");
    let body = json!({"amount": 1000, "description": "Monthly", "transactionType": "RESERVE_CAPTURE",
        "due": due, "retryDays": 1, "orderId": "conformance-order-with-a-long-id-1"});
    run.call(
        "create_charge",
        idem(c.req("POST", &charges), "chg-1"),
        Some((&body, Body::SchemaValid)),
        201,
    )
    .await;
    let mut direct = body.clone();
    direct["orderId"] = json!("direct-1");
    direct["transactionType"] = json!("DIRECT_CAPTURE");
    direct["externalId"] = json!("ext-1");
    run.call(
        "create_charge",
        idem(c.req("POST", &charges), "chg-2"),
        Some((&direct, Body::SchemaValid)),
        201,
    )
    .await;
    run.call(
        "create_charge",
        idem(c.req("POST", &charges), "chg-3"),
        Some((&direct, Body::SchemaValid)),
        409,
    )
    .await;
    let mut bad = body.clone();
    bad["retryDays"] = json!(15);
    run.call(
        "create_charge",
        idem(c.req("POST", &charges), "chg-4"),
        Some((&bad, Body::SchemaInvalid)),
        400,
    )
    .await;
    run.call(
        "create_charge",
        idem(c.req("POST", &format!("{ag}/agr_none/charges")), "chg-5"),
        Some((&body, Body::SchemaValid)),
        404,
    )
    .await;
    // PENDING and DUE charges (transactionId null, then set), then processed ones.
    run.call("list_charges", c.req("GET", &charges), None, 200)
        .await;
    run.call(
        "list_charges",
        c.req("GET", &format!("{ag}/agr_none/charges")),
        None,
        404,
    )
    .await;
    run.call(
        "list_charges",
        c.req("GET", &format!("{charges}?status=NOPE")),
        None,
        400,
    )
    .await;
    let one = format!("{charges}/conformance-order-with-a-long-id-1");
    run.call("fetch_charge", c.req("GET", &one), None, 200)
        .await;
    run.call(
        "fetch_charge",
        c.req("GET", &format!("{charges}/chr-none")),
        None,
        404,
    )
    .await;
    sim.advance_clock(std::time::Duration::from_secs(24 * 3600));
    // The day outlived the token.
    let fresh = Client::new(sim).await;
    let c = &fresh;
    let r = run
        .call("fetch_charge", c.req("GET", &one), None, 200)
        .await;
    assert_eq!(
        r.json()["status"],
        "RESERVED",
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    run.call(
        "list_charges",
        c.req("GET", &format!("{charges}?status=CHARGED")),
        None,
        200,
    )
    .await;
    run.call(
        "fetch_charge_by_id",
        c.req("GET", "/recurring/v3/charges/direct-1"),
        None,
        200,
    )
    .await;
    run.call(
        "fetch_charge_by_id",
        c.req("GET", "/recurring/v3/charges/chr-none"),
        None,
        404,
    )
    .await;

    let cap = json!({"amount": 400});
    run.call(
        "capture_charge",
        idem(c.req("POST", &format!("{one}/capture")), "cap-1"),
        Some((&cap, Body::SchemaValid)),
        204,
    )
    .await;
    let too_much = json!({"amount": 10_000});
    run.call(
        "capture_charge",
        idem(c.req("POST", &format!("{one}/capture")), "cap-2"),
        Some((&too_much, Body::SchemaValid)),
        400,
    )
    .await;
    run.call(
        "capture_charge",
        idem(
            c.req("POST", &format!("{charges}/chr-none/capture")),
            "cap-3",
        ),
        Some((&cap, Body::SchemaValid)),
        404,
    )
    .await;
    let refund = json!({"amount": 100, "description": "Sorry"});
    run.call(
        "refund_charge",
        idem(c.req("POST", &format!("{one}/refund")), "ref-1"),
        Some((&refund, Body::SchemaValid)),
        204,
    )
    .await;
    let no_text = json!({"amount": 100});
    run.call(
        "refund_charge",
        idem(c.req("POST", &format!("{one}/refund")), "ref-2"),
        Some((&no_text, Body::SchemaInvalid)),
        400,
    )
    .await;
    run.call(
        "refund_charge",
        idem(
            c.req("POST", &format!("{charges}/chr-none/refund")),
            "ref-3",
        ),
        Some((&refund, Body::SchemaValid)),
        404,
    )
    .await;
    run.call(
        "cancel_charge",
        idem(c.req("DELETE", &one), "can-1"),
        None,
        204,
    )
    .await;
    run.call(
        "cancel_charge",
        idem(c.req("DELETE", &format!("{charges}/direct-1")), "can-2"),
        None,
        400,
    )
    .await;
    run.call(
        "cancel_charge",
        idem(c.req("DELETE", &format!("{charges}/chr-none")), "can-3"),
        None,
        404,
    )
    .await;
    let r = run
        .call("fetch_charge", c.req("GET", &one), None, 200)
        .await;
    assert_eq!(r.json()["status"], "CANCELLED");
    assert_eq!(
        r.json()["summary"],
        json!({"captured": 400, "refunded": 100, "cancelled": 600})
    );
}

/// ePayment: every operation answered with success and with its errors, each answer and request
/// body checked against the published spec.
async fn epayment_answers(run: &mut Run, c: &Client) {
    let base = "/epayment/v1/payments";
    let create = |key: &str| c.req("POST", base).header("Idempotency-Key", key);
    let pay = common::payment_body;
    let web = pay("conf-web-1", 10000, "WEB_REDIRECT");
    let r = run
        .call(
            "create_payment",
            create("ep-1"),
            Some((&web, Body::SchemaValid)),
            201,
        )
        .await;
    assert!(r.json()["redirectUrl"].is_string(), "{:?}", r.json());
    for flow in ["PUSH_MESSAGE", "QR", "NATIVE_REDIRECT"] {
        let body = pay(
            &format!("conf-flow-{}", flow.to_lowercase().replace('_', "-")),
            5000,
            flow,
        );
        run.call(
            "create_payment",
            create(&format!("ep-{flow}")),
            Some((&body, Body::SchemaValid)),
            201,
        )
        .await;
    }
    let express = json!({
        "amount": {"currency": "NOK", "value": 20000},
        "paymentMethod": {"type": "WALLET"},
        "reference": "conf-express-1",
        "userFlow": "WEB_REDIRECT",
        "returnUrl": "https://shop.example/done",
        "shipping": {"fixedOptions": [{
            "type": "IN_STORE", "brand": "OTHER", "isDefault": true,
            "options": [{"id": "shop", "name": "Click and collect", "isDefault": true,
                         "amount": {"currency": "NOK", "value": 0}, "meta": "Storgata 1"}],
        }]},
        "receipt": {
            "orderLines": [{"name": "Coffee", "id": "c-1", "totalAmount": 20000,
                            "totalAmountExcludingTax": 16000, "totalTaxAmount": 4000, "taxRate": 2500}],
            "bottomLine": {"currency": "NOK"},
        },
        "metadata": {"order": "42"},
        "profile": {"scope": "name email"},
    });
    run.call(
        "create_payment",
        create("ep-express"),
        Some((&express, Body::SchemaValid)),
        201,
    )
    .await;
    // The same key and body: the same answer; another body: 409; a used reference: 409.
    run.call(
        "create_payment",
        create("ep-1"),
        Some((&web, Body::SchemaValid)),
        201,
    )
    .await;
    let other = pay("conf-web-2", 10000, "WEB_REDIRECT");
    run.call(
        "create_payment",
        create("ep-1"),
        Some((&other, Body::SchemaValid)),
        409,
    )
    .await;
    run.call(
        "create_payment",
        create("ep-dup"),
        Some((&web, Body::SchemaValid)),
        409,
    )
    .await;
    let mut bad = pay("short", 10000, "WEB_REDIRECT");
    run.call(
        "create_payment",
        create("ep-bad"),
        Some((&bad, Body::SchemaInvalid)),
        400,
    )
    .await;
    bad["reference"] = json!("conf-bad-1");
    bad["amount"]["currency"] = json!("SEK");
    run.call(
        "create_payment",
        create("ep-bad-2"),
        Some((&bad, Body::SchemaInvalid)),
        400,
    )
    .await;
    let mut two_customers = pay("conf-two-1", 10000, "PUSH_MESSAGE");
    two_customers["customer"]["personalQr"] = json!("https://qr.vipps.no/p/4712345678");
    run.call(
        "create_payment",
        create("ep-two"),
        Some((&two_customers, Body::SchemaInvalid)),
        400,
    )
    .await;
    run.call(
        "create_payment",
        c.req("POST", base),
        Some((&web, Body::SchemaValid)),
        400,
    )
    .await;

    let at = |r: &str, rest: &str| format!("{base}/{r}{rest}");
    run.call(
        "get_payment",
        c.req("GET", &at("conf-web-1", "")),
        None,
        200,
    )
    .await;
    run.call(
        "get_payment",
        c.req("GET", &at("conf-none-1", "")),
        None,
        404,
    )
    .await;
    run.call("get_payment", c.req("GET", &at("bad", "")), None, 400)
        .await;
    run.call(
        "get_payment_events",
        c.req("GET", &at("conf-web-1", "/events")),
        None,
        200,
    )
    .await;
    run.call(
        "get_payment_events",
        c.req("GET", &at("conf-none-1", "/events")),
        None,
        404,
    )
    .await;
    let modify = |v: i64| json!({"modificationAmount": {"currency": "NOK", "value": v}});
    let post = |path: String, key: &str| c.req("POST", &path).header("Idempotency-Key", key);
    // Not yet authorized: capture is refused.
    run.call(
        "capture_payment",
        post(at("conf-web-1", "/capture"), "cap-0"),
        Some((&modify(100), Body::SchemaValid)),
        409,
    )
    .await;
    let approve = json!({"customer": {"phoneNumber": "4712345678"}});
    run.call(
        "force_approve_payment",
        c.req("POST", "/epayment/v1/test/payments/conf-web-1/approve"),
        Some((&approve, Body::SchemaValid)),
        200,
    )
    .await;
    run.call(
        "force_approve_payment",
        c.req("POST", "/epayment/v1/test/payments/conf-web-1/approve"),
        Some((&approve, Body::SchemaValid)),
        409,
    )
    .await;
    run.call(
        "force_approve_payment",
        c.req("POST", "/epayment/v1/test/payments/conf-none-1/approve"),
        Some((&approve, Body::SchemaValid)),
        404,
    )
    .await;
    run.call(
        "force_approve_payment",
        c.req("POST", "/epayment/v1/test/payments/conf-express-1/approve"),
        Some((&approve, Body::SchemaValid)),
        400,
    )
    .await;
    run.call(
        "capture_payment",
        post(at("conf-web-1", "/capture"), "cap-1"),
        Some((&modify(4000), Body::SchemaValid)),
        200,
    )
    .await;
    run.call(
        "capture_payment",
        post(at("conf-web-1", "/capture"), "cap-2"),
        Some((&modify(7000), Body::SchemaValid)),
        400,
    )
    .await;
    run.call(
        "capture_payment",
        post(at("conf-none-1", "/capture"), "cap-3"),
        Some((&modify(100), Body::SchemaValid)),
        404,
    )
    .await;
    run.call(
        "capture_payment",
        post(at("conf-web-1", "/capture"), "cap-4"),
        Some((
            &json!({"modificationAmount": {"currency": "NOK"}}),
            Body::SchemaInvalid,
        )),
        400,
    )
    .await;
    run.call(
        "refund_payment",
        post(at("conf-web-1", "/refund"), "ref-1"),
        Some((&modify(1000), Body::SchemaValid)),
        200,
    )
    .await;
    run.call(
        "refund_payment",
        post(at("conf-web-1", "/refund"), "ref-2"),
        Some((&modify(3001), Body::SchemaValid)),
        400,
    )
    .await;
    run.call(
        "refund_payment",
        post(at("conf-flow-push-message", "/refund"), "ref-3"),
        Some((&modify(100), Body::SchemaValid)),
        409,
    )
    .await;
    run.call(
        "refund_payment",
        post(at("conf-none-1", "/refund"), "ref-4"),
        Some((&modify(100), Body::SchemaValid)),
        404,
    )
    .await;
    run.call(
        "cancel_payment",
        c.req("POST", &at("conf-web-1", "/cancel")),
        Some((&json!({}), Body::SchemaValid)),
        200,
    )
    .await;
    run.call(
        "cancel_payment",
        c.req("POST", &at("conf-flow-push-message", "/cancel")),
        None,
        200,
    )
    .await;
    run.call(
        "cancel_payment",
        c.req("POST", &at("conf-flow-push-message", "/cancel")),
        None,
        409,
    )
    .await;
    run.call(
        "cancel_payment",
        c.req("POST", &at("conf-none-1", "/cancel")),
        None,
        404,
    )
    .await;
    run.call(
        "cancel_payment",
        c.req("POST", &at("conf-flow-qr", "/cancel")),
        Some((
            &json!({"cancelTransactionOnly": "yes"}),
            Body::SchemaInvalid,
        )),
        400,
    )
    .await;
    let r = run
        .call(
            "get_payment_events",
            c.req("GET", &at("conf-web-1", "/events")),
            None,
            200,
        )
        .await;
    let names: Vec<String> = r
        .json()
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["name"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        names,
        ["CREATED", "AUTHORIZED", "CAPTURED", "REFUNDED", "CANCELLED"]
    );
    run.call(
        "get_payment",
        c.http.get(format!("{}{}", c.base, at("conf-web-1", ""))),
        None,
        401,
    )
    .await;

    // The documented per-reference limit of adjustments: 5 a minute.
    let limited = common::start(SimConfig {
        rate_limits: RateLimits::documented(),
        ..SimConfig::test()
    })
    .await;
    let lc = Client::new(&limited).await;
    let body = pay("conf-limit-1", 10000, "WEB_REDIRECT");
    run.call(
        "create_payment",
        lc.req("POST", base).header("Idempotency-Key", "lim"),
        Some((&body, Body::SchemaValid)),
        201,
    )
    .await;
    for i in 0..5 {
        run.call(
            "capture_payment",
            lc.req("POST", &at("conf-limit-1", "/capture"))
                .header("Idempotency-Key", format!("lim-{i}")),
            Some((&modify(100), Body::SchemaValid)),
            409,
        )
        .await;
    }
    let r = run
        .call(
            "capture_payment",
            lc.req("POST", &at("conf-limit-1", "/capture"))
                .header("Idempotency-Key", "lim-5"),
            Some((&modify(100), Body::SchemaValid)),
            429,
        )
        .await;
    assert!(r.header("Retry-After").is_some());
    limited.shutdown().await;
}
