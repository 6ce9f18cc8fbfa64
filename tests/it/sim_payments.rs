//! The simulator's ePayment API, rule by rule (docs/simulator.md, "ePayment API"): create with
//! Idempotency-Key and a reference unique per sales unit, the limits of the create request, the
//! user flows, the state machine and aggregate amounts of capture, refund and cancel, the
//! customer's side under `/_sim/`, the test-only force approve, Express checkout with fixed and
//! dynamic shipping options, the payment webhooks, persistence, and `vippsctl sim pay`.

use crate::common::{self, conformance, send, Client};
use axum::http::HeaderMap;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use vippsctl::sim::{Country, DeliveryStatus, SimConfig, SimHandle};
use vippsctl::specs::ops::Api;

const PAYMENTS: &str = "/epayment/v1/payments";

use common::payment_body as payment;

async fn create(c: &Client, key: &str, body: &Value) -> common::Resp {
    send(
        c.req("POST", PAYMENTS)
            .header("Idempotency-Key", key)
            .json(body),
    )
    .await
}

async fn get(c: &Client, reference: &str) -> Value {
    let r = send(c.req("GET", &format!("{PAYMENTS}/{reference}"))).await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    r.json()
}

async fn adjust(c: &Client, reference: &str, what: &str, key: &str, value: i64) -> common::Resp {
    send(
        c.req("POST", &format!("{PAYMENTS}/{reference}/{what}"))
            .header("Idempotency-Key", key)
            .json(&json!({"modificationAmount": {"currency": "NOK", "value": value}})),
    )
    .await
}

async fn force_approve(c: &Client, reference: &str, body: &Value) -> common::Resp {
    send(
        c.req(
            "POST",
            &format!("/epayment/v1/test/payments/{reference}/approve"),
        )
        .json(body),
    )
    .await
}

/// The customer's side, as `vippsctl sim pay` calls it.
async fn customer(
    sim: &SimHandle,
    msn: &str,
    reference: &str,
    act: &str,
    body: Value,
) -> (u16, Value) {
    let r = send(
        reqwest::Client::new()
            .post(format!(
                "{}/_sim/payments/{msn}/{reference}/{act}",
                sim.base_url()
            ))
            .json(&body),
    )
    .await;
    (r.status, r.json())
}

fn amounts(p: &Value) -> [i64; 4] {
    let a = &p["aggregate"];
    [
        "authorizedAmount",
        "capturedAmount",
        "refundedAmount",
        "cancelledAmount",
    ]
    .map(|k| a[k]["value"].as_i64().unwrap_or(-1))
}

fn event_names(sim: &SimHandle) -> Vec<String> {
    sim.deliveries()
        .deliveries
        .iter()
        .map(|d| d.event.clone())
        .collect()
}

async fn hook_all_payment_events(c: &Client) {
    let events: Vec<&str> = vippsctl::sim::EPAYMENT_EVENTS
        .iter()
        .map(|(e, _)| *e)
        .collect();
    let r = send(
        c.req("POST", "/webhooks/v1/webhooks")
            .json(&json!({"url": "https://shop.example/vipps", "events": events})),
    )
    .await;
    assert_eq!(r.status, 201, "{:?}", r.json());
}

#[tokio::test]
async fn a_payment_is_created_once_per_reference_and_idempotency_key() {
    let sim = common::start(common::test_config()).await;
    let mut c = Client::new(&sim).await;
    hook_all_payment_events(&c).await;
    let body = payment("order-1001", 10000, "WEB_REDIRECT");
    let first = create(&c, "k-1", &body).await;
    assert_eq!(first.status, 201, "{:?}", first.json());
    let again = create(&c, "k-1", &body).await;
    assert_eq!(again.status, 201);
    assert_eq!(
        again.body, first.body,
        "the same key and body: the same answer"
    );
    assert_eq!(
        event_names(&sim),
        ["epayments.payment.created.v1"],
        "one payment, one event"
    );
    let other = create(&c, "k-1", &payment("order-1002", 10000, "WEB_REDIRECT")).await;
    assert_eq!(other.status, 409, "the same key for another body");
    assert_eq!(
        other.content_type.as_deref(),
        Some("application/problem+json")
    );
    let dup = create(&c, "k-2", &body).await;
    assert_eq!(dup.status, 409, "a reference is unique per sales unit");
    assert_eq!(dup.json()["extraDetails"][0]["name"], "reference");
    c.msn = Some("234567".into());
    let elsewhere = create(&c, "k-1", &body).await;
    assert_eq!(
        elsewhere.status, 201,
        "another sales unit may use the same reference (and key)"
    );
    let none = send(c.req("POST", PAYMENTS).json(&body)).await;
    assert_eq!(none.status, 400, "create needs an Idempotency-Key");
    let long = create(&c, &"k".repeat(51), &payment("order-1003", 100, "QR")).await;
    assert_eq!(long.status, 400, "at most 50 characters");
    c.msn = None;
    let r = send(
        c.req("POST", PAYMENTS)
            .header("Idempotency-Key", "k-9")
            .json(&body),
    )
    .await;
    assert_eq!(r.status, 400, "Merchant-Serial-Number is required");
    sim.shutdown().await;
}

#[tokio::test]
async fn create_fields_follow_the_spec_limits() {
    let mut config = common::test_config();
    config.countries.insert("234567".into(), Country::Denmark);
    let sim = common::start(config).await;
    let mut c = Client::new(&sim).await;
    let refused = |r: &common::Resp, field: &str| {
        assert_eq!(r.status, 400, "{field}: {:?}", r.json());
        let names: Vec<String> = r.json()["extraDetails"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["name"].as_str().map(str::to_string))
            .collect();
        assert!(names.iter().any(|n| n == field), "{field} not in {names:?}");
    };
    let base = payment("limits-0001", 10000, "WEB_REDIRECT");
    let with = |f: &dyn Fn(&mut Value)| {
        let mut b = base.clone();
        f(&mut b);
        b
    };
    let cases: Vec<(&str, Value)> = vec![
        ("reference", with(&|b| b["reference"] = json!("short"))),
        (
            "reference",
            with(&|b| b["reference"] = json!("has space 123")),
        ),
        (
            "amount.currency",
            with(&|b| b["amount"]["currency"] = json!("DKK")),
        ),
        ("amount.value", with(&|b| b["amount"]["value"] = json!(99))),
        (
            "amount.value",
            with(&|b| b["amount"]["value"] = json!(65_000_001)),
        ),
        (
            "paymentMethod.type",
            with(&|b| b["paymentMethod"]["type"] = json!("CASH")),
        ),
        ("userFlow", with(&|b| b["userFlow"] = json!("EMAIL"))),
        (
            "returnUrl",
            with(&|b| b["returnUrl"] = json!("http://shop.example/done")),
        ),
        (
            "returnUrl",
            with(&|b| {
                b.as_object_mut().map(|m| m.remove("returnUrl"));
            }),
        ),
        (
            "paymentDescription",
            with(&|b| b["paymentDescription"] = json!("ab")),
        ),
        (
            "metadata",
            with(&|b| b["metadata"] = json!({"a":"1","b":"2","c":"3","d":"4","e":"5","f":"6"})),
        ),
        (
            "profile.scope",
            with(&|b| b["profile"] = json!({"scope": "name shoeSize"})),
        ),
        (
            "minimumUserAge",
            with(&|b| b["minimumUserAge"] = json!(101)),
        ),
        (
            "receipt",
            with(&|b| b["expiresAt"] = json!("2999-01-01T00:00:00Z")),
        ),
        ("expiresAt", with(&|b| b["expiresAt"] = json!("yesterday"))),
        (
            "paymentMethod.type",
            with(&|b| {
                b["paymentMethod"]["type"] = json!("CARD");
                b["userFlow"] = json!("QR");
            }),
        ),
        ("customer", with(&|b| b["userFlow"] = json!("PUSH_MESSAGE"))),
        (
            "customer",
            with(&|b| {
                b["customer"] =
                    json!({"phoneNumber": "4712345678", "personalQr": "https://qr.vipps.no/p/1"})
            }),
        ),
        (
            "customer.phoneNumber",
            with(&|b| b["customer"] = json!({"phoneNumber": "12345"})),
        ),
        (
            "customer.customerToken",
            with(&|b| b["customer"] = json!({"customerToken": "made-up"})),
        ),
        (
            "qrFormat.size",
            with(&|b| {
                b["userFlow"] = json!("QR");
                b["qrFormat"] = json!({"format": "IMAGE/PNG", "size": 50});
            }),
        ),
        (
            "receipt.orderLines[0]",
            with(&|b| {
                b["receipt"] = json!({"orderLines": [{"name": "x", "id": "1", "totalAmount": 1,
                "totalAmountExcludingTax": 1, "totalTaxAmount": 0}], "bottomLine": {"currency": "NOK"}})
            }),
        ),
        (
            "shipping",
            with(
                &|b| b["shipping"] = json!({"fixedOptions": [], "dynamicOptions": {"callbackUrl": "https://shop.example/s"}}),
            ),
        ),
        (
            "shipping.dynamicOptions.callbackUrl",
            with(&|b| {
                b["shipping"] = json!({"dynamicOptions": {"callbackUrl": "http://shop.example/s"}})
            }),
        ),
        (
            "shipping.dynamicOptions.callbackAuthorizationToken",
            with(&|b| {
                b["shipping"] = json!({"dynamicOptions": {"callbackUrl": "https://shop.example/s",
                "callbackAuthorizationToken": "not allowed!"}})
            }),
        ),
        (
            "shipping.fixedOptions[0].options[0].amount.currency",
            with(&|b| {
                b["shipping"] = json!({"fixedOptions": [{"type": "MAILBOX", "brand": "POSTEN",
                "options": [{"id": "a", "name": "A", "amount": {"currency": "EUR", "value": 100}}]}]})
            }),
        ),
        (
            "industryData.airlineData.airlineCode",
            with(&|b| {
                b["industryData"] = json!({"airlineData": {"agencyInvoiceNumber": "1",
                "airlineCode": "74", "airlineDesignatorCode": "KL", "passengerName": "FLYER/MARY"}})
            }),
        ),
    ];
    for (i, (field, body)) in cases.iter().enumerate() {
        let r = create(&c, &format!("lim-{i}"), body).await;
        refused(&r, field);
    }
    assert_eq!(create(&c, "ok-1", &base).await.status, 201);
    let mut min = base.clone();
    min["reference"] = json!("limits-0002");
    min["amount"]["value"] = json!(100);
    min["expiresAt"] = json!((chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339());
    min["receipt"] = json!({"orderLines": [{"name": "x", "id": "1", "totalAmount": 100,
        "totalAmountExcludingTax": 80, "totalTaxAmount": 20, "taxRate": 2500}],
        "bottomLine": {"currency": "NOK"}});
    assert_eq!(
        create(&c, "ok-2", &min).await.status,
        201,
        "NOK 1.00 is the minimum"
    );
    // A Danish sales unit takes DKK, from 1 øre.
    c.msn = Some("234567".into());
    refused(&create(&c, "dk-1", &base).await, "amount.currency");
    let mut dkk = base.clone();
    dkk["amount"] = json!({"currency": "DKK", "value": 1});
    assert_eq!(create(&c, "dk-2", &dkk).await.status, 201);
    sim.shutdown().await;
}

#[tokio::test]
async fn each_user_flow_answers_its_redirect() {
    let sim = common::start(common::test_config()).await;
    let c = Client::new(&sim).await;
    let redirect = |r: &common::Resp| r.json()["redirectUrl"].as_str().map(str::to_string);
    let web = create(&c, "f-1", &payment("flow-web-1", 1000, "WEB_REDIRECT")).await;
    let landing = redirect(&web).expect("a landing page");
    let page = send(reqwest::Client::new().get(&landing)).await;
    assert_eq!(page.status, 200);
    assert!(String::from_utf8_lossy(&page.body).contains("Approve"));
    let native = create(
        &c,
        "f-2",
        &payment("flow-native-1", 1000, "NATIVE_REDIRECT"),
    )
    .await;
    assert!(redirect(&native).is_some_and(|u| u.starts_with("vipps://")));
    let push = create(&c, "f-3", &payment("flow-push-1", 1000, "PUSH_MESSAGE")).await;
    assert_eq!(push.status, 201);
    assert_eq!(redirect(&push), None, "nothing for PUSH_MESSAGE");
    let qr = create(&c, "f-4", &payment("flow-qr-1", 1000, "QR")).await;
    let svg = send(reqwest::Client::new().get(redirect(&qr).expect("QR link"))).await;
    assert_eq!(
        svg.content_type.as_deref(),
        Some("image/svg+xml"),
        "SVG by default"
    );
    let mut png = payment("flow-qr-2", 1000, "QR");
    png["qrFormat"] = json!({"format": "IMAGE/PNG", "size": 200});
    let png = create(&c, "f-5", &png).await;
    let link = redirect(&png).expect("QR link");
    assert!(link.contains("size=200"), "{link}");
    let img = send(reqwest::Client::new().get(link)).await;
    assert_eq!(img.content_type.as_deref(), Some("image/png"));
    let mut target = payment("flow-qr-3", 1000, "QR");
    target["qrFormat"] = json!({"format": "TEXT/TARGETURL"});
    let target = create(&c, "f-6", &target).await;
    assert!(redirect(&target).is_some_and(|u| u.contains("/_sim/pay/") && !u.contains("qr.")));
    // The landing page is the customer's: approving there authorizes the payment.
    let form = send(reqwest::Client::new().post(format!("{landing}/approve"))).await;
    assert_eq!(form.status, 200);
    assert_eq!(get(&c, "flow-web-1").await["state"], "AUTHORIZED");
    sim.shutdown().await;
}

#[tokio::test]
async fn captures_and_refunds_follow_the_aggregate_amounts() {
    let sim = common::start(common::test_config()).await;
    let c = Client::new(&sim).await;
    create(&c, "c-1", &payment("amounts-1", 10000, "PUSH_MESSAGE")).await;
    assert_eq!(
        adjust(&c, "amounts-1", "capture", "cap-0", 100)
            .await
            .status,
        409,
        "not authorized yet"
    );
    assert_eq!(force_approve(&c, "amounts-1", &json!({})).await.status, 200);
    let p = get(&c, "amounts-1").await;
    assert_eq!(p["state"], "AUTHORIZED");
    assert_eq!(amounts(&p), [10000, 0, 0, 0]);
    let cap = adjust(&c, "amounts-1", "capture", "cap-1", 4000).await;
    assert_eq!(cap.status, 200);
    assert_eq!(
        cap.json()["pspReference"],
        p["pspReference"],
        "the creation's pspReference"
    );
    assert_eq!(amounts(&cap.json()), [10000, 4000, 0, 0]);
    // A retry with the same key does not capture twice.
    let retry = adjust(&c, "amounts-1", "capture", "cap-1", 4000).await;
    assert_eq!(retry.body, cap.body);
    assert_eq!(
        adjust(&c, "amounts-1", "capture", "cap-2", 6001)
            .await
            .status,
        400,
        "more than is left"
    );
    let wrong = send(
        c.req("POST", &format!("{PAYMENTS}/amounts-1/capture"))
            .header("Idempotency-Key", "cap-3")
            .json(&json!({"modificationAmount": {"currency": "EUR", "value": 100}})),
    )
    .await;
    assert_eq!(wrong.status, 400, "the payment's currency");
    assert_eq!(
        adjust(&c, "amounts-1", "capture", "cap-4", 0).await.status,
        400
    );
    assert_eq!(
        adjust(&c, "amounts-1", "refund", "ref-1", 4001)
            .await
            .status,
        400,
        "more than was captured"
    );
    assert_eq!(
        adjust(&c, "amounts-1", "refund", "ref-2", 1500)
            .await
            .status,
        200
    );
    assert_eq!(
        adjust(&c, "amounts-1", "capture", "cap-5", 6000)
            .await
            .status,
        200,
        "partial captures add up"
    );
    assert_eq!(
        adjust(&c, "amounts-1", "refund", "ref-3", 8500)
            .await
            .status,
        200
    );
    assert_eq!(
        adjust(&c, "amounts-1", "refund", "ref-4", 1).await.status,
        400,
        "all refunded"
    );
    let p = get(&c, "amounts-1").await;
    assert_eq!(amounts(&p), [10000, 10000, 10000, 0]);
    assert_eq!(
        p["state"], "AUTHORIZED",
        "captures and refunds keep AUTHORIZED"
    );
    let log = send(c.req("GET", &format!("{PAYMENTS}/amounts-1/events")))
        .await
        .json();
    let names: Vec<&str> = log
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "CREATED",
            "AUTHORIZED",
            "CAPTURED",
            "REFUNDED",
            "CAPTURED",
            "REFUNDED"
        ]
    );
    assert_eq!(log[2]["idempotencyKey"], "cap-1");
    let psps: std::collections::BTreeSet<&str> = log
        .as_array()
        .into_iter()
        .flatten()
        .skip(2)
        .filter_map(|e| e["pspReference"].as_str())
        .collect();
    assert_eq!(
        psps.len(),
        4,
        "each adjustment has a pspReference of its own"
    );
    assert_eq!(
        send(c.req("GET", &format!("{PAYMENTS}/nowhere-123")))
            .await
            .status,
        404
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn cancel_terminates_before_capture_and_releases_the_rest_after() {
    let sim = common::start(common::test_config()).await;
    let c = Client::new(&sim).await;
    let cancel = |reference: &'static str, body: Option<Value>| {
        let mut rb = c.req("POST", &format!("{PAYMENTS}/{reference}/cancel"));
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        send(rb)
    };
    for (i, r) in ["cancel-1", "cancel-2", "cancel-3", "cancel-4"]
        .iter()
        .enumerate()
    {
        create(&c, &format!("k-{i}"), &payment(r, 10000, "PUSH_MESSAGE")).await;
    }
    let r = cancel("cancel-1", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["state"],
        "TERMINATED",
        "not yet authorized: terminated"
    );
    assert_eq!(
        cancel("cancel-1", None).await.status,
        409,
        "terminated is final"
    );
    force_approve(&c, "cancel-2", &json!({})).await;
    let r = cancel("cancel-2", Some(json!({"cancelTransactionOnly": true}))).await;
    assert_eq!(
        r.status, 409,
        "cancelTransactionOnly leaves an authorized payment alone"
    );
    let r = cancel("cancel-2", None).await;
    assert_eq!(r.json()["state"], "TERMINATED");
    assert_eq!(amounts(&r.json()), [10000, 0, 0, 10000]);
    force_approve(&c, "cancel-3", &json!({})).await;
    adjust(&c, "cancel-3", "capture", "cap", 3000).await;
    let r = cancel("cancel-3", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["state"],
        "AUTHORIZED",
        "captured money stays captured"
    );
    assert_eq!(amounts(&r.json()), [10000, 3000, 0, 7000]);
    assert_eq!(
        adjust(&c, "cancel-3", "capture", "cap-2", 1).await.status,
        400,
        "nothing left to capture"
    );
    assert_eq!(
        adjust(&c, "cancel-3", "refund", "ref", 3000).await.status,
        200,
        "refunds still work"
    );
    assert_eq!(
        cancel("cancel-3", None).await.status,
        409,
        "nothing left to cancel"
    );
    force_approve(&c, "cancel-4", &json!({})).await;
    assert_eq!(
        adjust(&c, "cancel-4", "capture", "cap", 10000).await.status,
        409,
        "a key belongs to one request (here: a capture of cancel-3)"
    );
    assert_eq!(
        adjust(&c, "cancel-4", "capture", "cap-4", 10000)
            .await
            .status,
        200
    );
    assert_eq!(cancel("cancel-4", None).await.status, 409, "fully captured");
    sim.shutdown().await;
}

#[tokio::test]
async fn the_customer_approves_rejects_or_lets_the_payment_expire() {
    let sim = common::start(common::test_config()).await;
    let c = Client::new(&sim).await;
    hook_all_payment_events(&c).await;
    for (i, r) in ["cust-approve", "cust-reject1", "cust-expire1"]
        .iter()
        .enumerate()
    {
        create(&c, &format!("k-{i}"), &payment(r, 2500, "WEB_REDIRECT")).await;
    }
    let (s, v) = customer(&sim, common::MSN, "cust-approve", "approve", json!({})).await;
    assert_eq!((s, v["state"].as_str()), (200, Some("AUTHORIZED")));
    let (s, v) = customer(&sim, common::MSN, "cust-reject1", "reject", json!({})).await;
    assert_eq!((s, v["state"].as_str()), (200, Some("ABORTED")));
    let (s, _) = customer(&sim, common::MSN, "cust-reject1", "approve", json!({})).await;
    assert_eq!(s, 409, "aborted is final");
    sim.advance_clock(std::time::Duration::from_secs(9 * 60));
    assert_eq!(get(&c, "cust-expire1").await["state"], "CREATED");
    sim.advance_clock(std::time::Duration::from_secs(60));
    assert_eq!(
        get(&c, "cust-expire1").await["state"],
        "EXPIRED",
        "10 minutes to act"
    );
    let (s, _) = customer(&sim, common::MSN, "cust-expire1", "approve", json!({})).await;
    assert_eq!(s, 409);
    assert_eq!(
        force_approve(
            &c,
            "cust-expire1",
            &json!({"customer": {"phoneNumber": "4712345678"}})
        )
        .await
        .status,
        409
    );
    let (s, _) = customer(&sim, common::MSN, "nowhere-123", "approve", json!({})).await;
    assert_eq!(s, 404);
    let seen: Vec<String> = event_names(&sim)
        .into_iter()
        .filter(|e| !e.ends_with("created.v1"))
        .collect();
    assert_eq!(
        seen,
        [
            "epayments.payment.authorized.v1",
            "epayments.payment.aborted.v1",
            "epayments.payment.expired.v1"
        ]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn force_approve_needs_the_customer_and_refuses_express() {
    let sim = common::start(common::test_config()).await;
    let c = Client::new(&sim).await;
    let web = create(&c, "k-1", &payment("force-web1", 1000, "WEB_REDIRECT")).await;
    let token = web.json()["redirectUrl"]
        .as_str()
        .and_then(|u| u.rsplit('/').next())
        .map(str::to_string)
        .expect("token in the landing URL");
    assert_eq!(
        force_approve(&c, "force-web1", &json!({})).await.status,
        400,
        "who approves?"
    );
    assert_eq!(
        force_approve(&c, "force-web1", &json!({"token": "other"}))
            .await
            .status,
        400
    );
    assert_eq!(
        force_approve(&c, "force-web1", &json!({"token": token}))
            .await
            .status,
        200
    );
    create(&c, "k-2", &payment("force-push1", 1000, "PUSH_MESSAGE")).await;
    let other = json!({"customer": {"phoneNumber": "4798765432"}});
    assert_eq!(
        force_approve(&c, "force-push1", &other).await.status,
        400,
        "another customer"
    );
    let same = json!({"customer": {"phoneNumber": "4712345678"}});
    assert_eq!(force_approve(&c, "force-push1", &same).await.status, 200);
    // A customer token from a check-in names the customer too.
    sim.update(|s| {
        s.merchants
            .entry(common::MSN.into())
            .or_default()
            .callback_qrs
            .insert(
                "till-1".into(),
                vippsctl::sim::CallbackQr {
                    merchant_qr_id: "till-1".into(),
                    location_description: "Kasse 1".into(),
                },
            );
    });
    let (token, _) = sim.check_in(common::MSN, "till-1").expect("checked in");
    create(&c, "k-4", &payment("force-qr-01", 1000, "QR")).await;
    let by_token = json!({"customer": {"customerToken": token}});
    assert_eq!(
        force_approve(&c, "force-qr-01", &by_token).await.status,
        200
    );
    let mut express = payment("force-express", 1000, "WEB_REDIRECT");
    express["shipping"] = json!({"fixedOptions": [{"type": "IN_STORE", "brand": "OTHER",
        "options": [{"id": "shop", "name": "Shop", "amount": {"currency": "NOK", "value": 0}}]}]});
    create(&c, "k-3", &express).await;
    assert_eq!(
        force_approve(&c, "force-express", &same).await.status,
        400,
        "Express is not supported"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn express_fixed_options_add_the_chosen_shipping_to_the_payment() {
    let sim = common::start(common::test_config()).await;
    let c = Client::new(&sim).await;
    hook_all_payment_events(&c).await;
    let mut body = payment("express-fixed1", 20000, "WEB_REDIRECT");
    body["shipping"] = json!({"fixedOptions": [
        {"type": "IN_STORE", "brand": "OTHER", "isDefault": true, "options": [
            {"id": "collect", "name": "Click and collect", "isDefault": true,
             "amount": {"currency": "NOK", "value": 0}, "meta": "Storgata 1"}]},
        {"type": "HOME_DELIVERY", "brand": "POSTEN", "options": [
            {"id": "home", "name": "Home delivery", "amount": {"currency": "NOK", "value": 9900}}]},
    ]});
    body["profile"] = json!({"scope": "name email"});
    assert_eq!(create(&c, "k-1", &body).await.status, 201);
    let (s, v) = customer(
        &sim,
        common::MSN,
        "express-fixed1",
        "approve",
        json!({"shippingOptionId": "home"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let p = get(&c, "express-fixed1").await;
    assert_eq!(p["shippingDetails"]["shippingOptionId"], "home");
    assert_eq!(p["shippingDetails"]["shippingCost"], 9900);
    assert_eq!(p["shippingDetails"]["address"]["postCode"], "0154");
    assert_eq!(
        p["amount"]["value"], 29900,
        "the order plus the chosen shipping"
    );
    assert_eq!(amounts(&p)[0], 29900);
    assert!(p["userDetails"]["email"].is_string());
    assert!(
        p["profile"]["sub"].is_string(),
        "a scope asked for gives a sub"
    );
    let authorized = sim
        .deliveries()
        .deliveries
        .into_iter()
        .find(|d| d.event == "epayments.payment.authorized.v1")
        .expect("authorized raised");
    assert_eq!(
        authorized.payload["shippingDetails"]["shippingOptionId"],
        "home"
    );
    assert_eq!(authorized.payload["amount"]["value"], 29900);
    let mut body = payment("express-fixed2", 20000, "WEB_REDIRECT");
    body["shipping"] = json!({"fixedOptions": [{"type": "IN_STORE", "brand": "OTHER", "options": [
        {"id": "collect", "name": "Click and collect", "amount": {"currency": "NOK", "value": 0}}]}]});
    create(&c, "k-2", &body).await;
    let (s, _) = customer(
        &sim,
        common::MSN,
        "express-fixed2",
        "approve",
        json!({"shippingOptionId": "drone"}),
    )
    .await;
    assert_eq!(s, 409, "only an offered option");
    let (s, _) = customer(&sim, common::MSN, "express-fixed2", "approve", json!({})).await;
    assert_eq!(s, 200, "the only option");
    assert_eq!(
        get(&c, "express-fixed2").await["shippingDetails"]["shippingOptionName"],
        "Click and collect"
    );
    sim.shutdown().await;
}

/// One callback as the merchant got it: `Authorization`, `Content-Type`, the body.
type Callback = (Option<String>, String, Value);

/// A merchant's dynamic shipping callback: records what it got, answers `answer`.
#[derive(Clone)]
struct ShippingServer {
    got: Arc<Mutex<Vec<Callback>>>,
    answer: Arc<Mutex<(u16, Value)>>,
    url: String,
}

async fn shipping_server() -> ShippingServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let s = ShippingServer {
        got: Arc::default(),
        answer: Arc::new(Mutex::new((200, json!({})))),
        url: format!("http://127.0.0.1:{port}/vipps/shipping"),
    };
    let state = s.clone();
    let app = axum::Router::new().fallback(move |headers: HeaderMap, body: axum::body::Bytes| {
        let s = state.clone();
        async move {
            let h = |n: &str| {
                headers
                    .get(n)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            s.got.lock().unwrap().push((
                h("authorization"),
                h("content-type").unwrap_or_default(),
                v,
            ));
            let (status, answer) = s.answer.lock().unwrap().clone();
            (
                axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::OK),
                axum::Json(answer),
            )
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    s
}

#[tokio::test]
async fn express_dynamic_options_call_the_merchants_callback_with_its_token() {
    let shop = shipping_server().await;
    // What the payment names, as in production: the simulator sends the call to the shop.
    let production = "https://shop.example/vipps/shipping";
    let mut config = common::test_config();
    config.callbacks_to = Some(url::Url::parse(&shop.url).expect("a URL"));
    let sim = common::start(config).await;
    let c = Client::new(&sim).await;
    let groups = json!({"groups": [
        {"type": "PICKUP_POINT", "brand": "POSTNORD", "priority": 1, "options": [
            {"id": "pickup-1", "name": "Kiosk", "isDefault": true, "amount": {"currency": "NOK", "value": 4900}}]},
    ]});
    *shop.answer.lock().unwrap() = (500, json!({}));
    let mut body = payment("express-dyn1", 10000, "WEB_REDIRECT");
    body["shipping"] = json!({"dynamicOptions": {"callbackUrl": production, "callbackAuthorizationToken": "merchant-token-1"}});
    assert_eq!(create(&c, "k-1", &body).await.status, 201);
    let (s, v) = customer(&sim, common::MSN, "express-dyn1", "approve", json!({})).await;
    assert_eq!(s, 502, "a failing callback fails the approval: {v}");
    assert_eq!(get(&c, "express-dyn1").await["state"], "CREATED");
    *shop.answer.lock().unwrap() = (200, groups.clone());
    let address = json!({"addressLine1": "Storgata 1", "city": "Bergen", "postCode": "5003", "country": "NO"});
    let (s, v) = customer(
        &sim,
        common::MSN,
        "express-dyn1",
        "approve",
        json!({"address": address}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let got = shop.got.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
    let (auth, content_type, request) = &got[1];
    assert_eq!(
        auth.as_deref(),
        Some("merchant-token-1"),
        "the token comes back as Authorization"
    );
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    assert_eq!(request["reference"], "express-dyn1");
    assert_eq!(request["City"], "Bergen");
    if let Some(conf) = conformance::Conformance::load() {
        conf.callback("create_payment", "shippingDetails", None, request)
            .expect("the callback request matches the published spec");
        conf.callback("create_payment", "shippingDetails", Some(200), &groups)
            .expect("the test's answer matches the published spec");
        assert!(conf
            .callback(
                "create_payment",
                "shippingDetails",
                None,
                &json!({"reference": "express-dyn1"})
            )
            .is_err());
    }
    let p = get(&c, "express-dyn1").await;
    assert_eq!(p["shippingDetails"]["shippingOptionId"], "pickup-1");
    assert_eq!(p["shippingDetails"]["address"]["city"], "Bergen");
    assert_eq!(p["amount"]["value"], 14900);
    sim.shutdown().await;

    // Without --callbacks-to: "The URL must use HTTPS" on a common port, as Vipps takes it; a
    // public URL is valid, but the simulator calls this machine only.
    let sim = common::start(common::test_config()).await;
    let c = Client::new(&sim).await;
    let refused = |url: &str, n: usize| {
        let mut b = payment(&format!("express-bad{n}"), 10000, "WEB_REDIRECT");
        b["shipping"] = json!({"dynamicOptions": {"callbackUrl": url}});
        b
    };
    for (n, (url, why)) in [
        (shop.url.as_str(), "--lenient-http-callbacks"),
        ("http://shop.example/vipps/shipping", "must use HTTPS"),
        ("https://shop.example:8443/vipps/shipping", "80, 443, 8080"),
    ]
    .into_iter()
    .enumerate()
    {
        let r = create(&c, &format!("k-bad{n}"), &refused(url, n)).await;
        let text = r.json().to_string();
        assert_eq!(r.status, 400, "{url}: {text}");
        assert!(
            text.contains("shipping.dynamicOptions.callbackUrl") && text.contains(why),
            "{url}: {text}"
        );
    }
    let mut public = payment("express-dyn2", 10000, "WEB_REDIRECT");
    public["shipping"] = json!({"dynamicOptions": {"callbackUrl": production}});
    assert_eq!(create(&c, "k-2", &public).await.status, 201);
    let (s, v) = customer(&sim, common::MSN, "express-dyn2", "approve", json!({})).await;
    assert_eq!(s, 409, "{v}");
    assert!(
        v["error"]
            .as_str()
            .is_some_and(|e| e.contains("--callbacks-to")),
        "{v}"
    );
    sim.shutdown().await;

    // --lenient-http-callbacks: a local http callback is taken and called directly.
    let mut config = common::test_config();
    config.lenient.http_callbacks = true;
    let sim = common::start(config).await;
    let c = Client::new(&sim).await;
    let mut local = payment("express-dyn3", 10000, "WEB_REDIRECT");
    local["shipping"] = json!({"dynamicOptions": {"callbackUrl": shop.url}});
    assert_eq!(create(&c, "k-3", &local).await.status, 201);
    let (s, v) = customer(&sim, common::MSN, "express-dyn3", "approve", json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(shop.got.lock().unwrap().len(), 3, "called once more");
    sim.shutdown().await;
}

#[tokio::test]
async fn payment_webhooks_carry_the_published_webhook_event() {
    let sim = common::start(common::test_config()).await;
    let c = Client::new(&sim).await;
    hook_all_payment_events(&c).await;
    create(&c, "k-1", &payment("hooks-0001", 10000, "PUSH_MESSAGE")).await;
    force_approve(&c, "hooks-0001", &json!({})).await;
    adjust(&c, "hooks-0001", "capture", "cap-1", 6000).await;
    adjust(&c, "hooks-0001", "refund", "ref-1", 1000).await;
    send(c.req("POST", &format!("{PAYMENTS}/hooks-0001/cancel"))).await;
    create(&c, "k-2", &payment("hooks-0002", 10000, "PUSH_MESSAGE")).await;
    send(c.req("POST", &format!("{PAYMENTS}/hooks-0002/cancel"))).await;
    let list = sim.deliveries().deliveries;
    let got: Vec<(String, String, i64)> = list
        .iter()
        .map(|d| {
            (
                d.event.clone(),
                d.payload["reference"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                d.payload["amount"]["value"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    let want = [
        ("created", "hooks-0001", 10000),
        ("authorized", "hooks-0001", 10000),
        ("captured", "hooks-0001", 6000),
        ("refunded", "hooks-0001", 1000),
        ("cancelled", "hooks-0001", 4000),
        ("created", "hooks-0002", 10000),
        ("terminated", "hooks-0002", 10000),
    ]
    .map(|(e, r, v)| (format!("epayments.payment.{e}.v1"), r.to_string(), v));
    assert_eq!(got, want);
    assert!(
        list.iter().all(|d| d.status == DeliveryStatus::Pending),
        "no forward target yet"
    );
    assert_eq!(list[2].payload["idempotencyKey"], "cap-1");
    assert_eq!(list[2].payload["msn"], common::MSN);
    if let Some(conf) = conformance::Conformance::load() {
        for d in &list {
            conf.component(Api::Epayment, "WebhookEvent", &d.payload)
                .unwrap_or_else(|e| panic!("{}: {e}", d.event));
        }
        let mut broken = list[0].payload.clone();
        broken["name"] = json!("PAID");
        assert!(conf
            .component(Api::Epayment, "WebhookEvent", &broken)
            .is_err());
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn a_check_in_customer_token_names_the_customer() {
    let sim = common::start(common::test_config()).await;
    let c = Client::new(&sim).await;
    sim.update(|s| {
        s.merchants
            .entry(common::MSN.into())
            .or_default()
            .callback_qrs
            .insert(
                "till-1".into(),
                vippsctl::sim::CallbackQr {
                    merchant_qr_id: "till-1".into(),
                    location_description: "Kasse 1".into(),
                },
            );
    });
    let (token, _) = sim.check_in(common::MSN, "till-1").expect("checked in");
    let mut body = payment("token-0001", 1000, "PUSH_MESSAGE");
    body["customer"] = json!({"customerToken": token});
    assert_eq!(create(&c, "k-1", &body).await.status, 201);
    sim.advance_clock(std::time::Duration::from_secs(15 * 60));
    body["reference"] = json!("token-0002");
    assert_eq!(
        create(&c, "k-2", &body).await.status,
        400,
        "valid 15 minutes"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn payments_and_their_idempotency_answers_survive_a_restart_with_the_state_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = || SimConfig {
        state_file: Some(dir.path().join("state.json")),
        ..common::test_config()
    };
    let sim = common::start(config()).await;
    let c = Client::new(&sim).await;
    let body = payment("persist-01", 5000, "PUSH_MESSAGE");
    let first = create(&c, "k-1", &body).await;
    force_approve(&c, "persist-01", &json!({})).await;
    adjust(&c, "persist-01", "capture", "cap-1", 2000).await;
    sim.shutdown().await;
    let sim = common::start(config()).await;
    let c = Client::new(&sim).await;
    let p = get(&c, "persist-01").await;
    assert_eq!(amounts(&p), [5000, 2000, 0, 0]);
    assert_eq!(create(&c, "k-1", &body).await.body, first.body);
    assert_eq!(
        adjust(&c, "persist-01", "capture", "cap-1", 2000)
            .await
            .json()["aggregate"]["capturedAmount"]["value"],
        2000
    );
    sim.shutdown().await;
}

#[test]
fn sim_pay_approves_or_rejects_as_the_customer() {
    let sim = common::cli::Sim::start();
    let c = sim.block_on(Client::new(&sim.handle));
    sim.block_on(create(
        &c,
        "k-1",
        &payment("cli-pay-01", 4200, "WEB_REDIRECT"),
    ));
    sim.block_on(create(
        &c,
        "k-2",
        &payment("cli-pay-02", 4200, "WEB_REDIRECT"),
    ));
    let run = sim.run(&["sim", "pay", "cli-pay-01", "--msn", common::MSN]);
    assert!(run.success(), "{run}");
    assert!(run.stdout.contains("state: AUTHORIZED"), "{run}");
    assert!(run.stdout.contains("authorized: 4200 NOK"), "{run}");
    let run = sim.run(&["sim", "pay", "cli-pay-02", "--msn", common::MSN, "--reject"]);
    assert!(run.success(), "{run}");
    assert!(run.stdout.contains("state: ABORTED"), "{run}");
    let again = sim.run(&["sim", "pay", "cli-pay-02", "--msn", common::MSN]);
    assert!(!again.success(), "{again}");
    assert!(again.stderr.contains("ABORTED"), "{again}");
}
