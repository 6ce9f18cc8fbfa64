//! Scripted scenarios against the simulator with plain reqwest: CRUD of every kind, drift through
//! the control API, faults (also after the write), rate limits, draft idempotency, consent and
//! expiry, token expiry, persistence across a restart. Each asserts the state and the call log.

use crate::common;

use common::{send, send_raw, Client, MSN};
use serde_json::{json, Value};
use std::time::Duration;
use vippsctl::sim::{
    AgreementStatus, Drift, FaultConfig, FaultKind, ObjectKind, RateLimits, SimConfig, SimState,
};

fn ops(sim: &vippsctl::sim::SimHandle) -> Vec<String> {
    sim.calls().into_iter().map(|c| c.operation).collect()
}

#[tokio::test]
async fn create_list_update_delete_each_kind() {
    let sim = common::start(SimConfig::test()).await;
    let c = Client::new(&sim).await;
    sim.clear_calls();

    // Webhooks: no update, so a change is register-new then delete-old.
    let wh = "/webhooks/v1/webhooks";
    let r =
        send(c.req("POST", wh).json(
            &json!({"url": "https://a.example/h", "events": ["epayments.payment.created.v1"]}),
        ))
        .await;
    assert_eq!(r.status, 201);
    let old = r.json();
    let r =
        send(c.req("POST", wh).json(
            &json!({"url": "https://b.example/h", "events": ["epayments.payment.created.v1"]}),
        ))
        .await;
    let new_id = r.json()["id"].as_str().unwrap_or_default().to_string();
    assert_ne!(
        old["secret"],
        r.json()["secret"],
        "every registration has its own secret"
    );
    let old_id = old["id"].as_str().unwrap_or_default();
    assert_eq!(
        send(c.req("DELETE", &format!("{wh}/{old_id}")))
            .await
            .status,
        204
    );
    let list = send(c.req("GET", wh)).await.json();
    assert_eq!(list["webhooks"].as_array().map(Vec::len), Some(1));
    assert_eq!(list["webhooks"][0]["id"], new_id.as_str());
    let st = sim.state();
    let hooks = &st.merchants[MSN].webhooks;
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].url, "https://b.example/h");
    let secret = r.json()["secret"].as_str().unwrap_or_default().to_string();
    assert_eq!(
        hooks[0].secret.expose(),
        secret,
        "the state keeps the secret"
    );
    assert!(
        !format!("{:?}", hooks[0]).contains(&secret),
        "Debug never shows the webhook secret"
    );

    // Redirect QR.
    let mr = "/qr/v1/merchant-redirect";
    let r = send(
        c.req("POST", mr)
            .header("Accept", "image/svg+xml")
            .json(&json!({"id": "poster", "redirectUrl": "https://example.com/a"})),
    )
    .await;
    assert_eq!(r.status, 200);
    let r = send(
        c.req("PUT", &format!("{mr}/poster"))
            .header("Accept", "image/png")
            .json(&json!({"redirectUrl": "https://example.com/b"})),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        sim.state().merchants[MSN].redirect_qrs["poster"].redirect_url,
        "https://example.com/b"
    );
    // The image link serves a real QR code of the content.
    let img = send(c.http.get(r.json()["url"].as_str().unwrap_or_default())).await;
    assert_eq!(img.status, 200);
    assert_eq!(img.content_type.as_deref(), Some("image/png"));
    assert_eq!(&img.body[..4], b"\x89PNG");
    let png_url = r.json()["url"].as_str().unwrap_or_default().to_string();
    let svg = send(c.http.get(png_url.replace(".png?", ".svg?"))).await;
    assert!(String::from_utf8_lossy(&svg.body).contains("<svg"));
    // The QR content leads to the redirect URL.
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let content = send(
        c.req("GET", &format!("{mr}/poster"))
            .header("Accept", "text/targetUrl"),
    )
    .await
    .json()["url"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let hop = send(no_redirect.get(&content)).await;
    assert_eq!(
        (hop.status, hop.header("location")),
        (302, Some("https://example.com/b"))
    );
    assert_eq!(
        send(c.req("DELETE", &format!("{mr}/poster"))).await.status,
        200
    );
    assert_eq!(
        send(c.http.get(png_url.replace(".png?", ".svg?")))
            .await
            .status,
        404
    );
    assert_eq!(send(no_redirect.get(&content)).await.status, 404);
    assert!(sim.state().merchants[MSN].redirect_qrs.is_empty());

    // Callback QR: PUT is an upsert.
    let mc = "/qr/v1/merchant-callback";
    for loc in ["Kasse 1", "Kasse 2"] {
        let r = send(
            c.req("PUT", &format!("{mc}/till"))
                .json(&json!({"locationDescription": loc})),
        )
        .await;
        assert_eq!((r.status, r.body.len()), (200, 0));
    }
    let list = send(c.req("GET", mc)).await.json();
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["locationDescription"], "Kasse 2");
    assert_eq!(
        send(c.req("DELETE", &format!("{mc}/till"))).await.status,
        200
    );
    assert!(sim.state().merchants[MSN].callback_qrs.is_empty());

    // Agreement: draft, patch, stop.
    let ag = "/recurring/v3/agreements";
    let r = send(
        c.req("POST", ag)
            .header("Idempotency-Key", "d1")
            .json(&common::legacy_draft("Avis")),
    )
    .await;
    assert_eq!(r.status, 201);
    let id = r.json()["agreementId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let r = send(
        c.req("PATCH", &format!("{ag}/{id}"))
            .header("Idempotency-Key", "p1")
            .json(&json!({"productName": "Avis+", "pricing": {"amount": 100}})),
    )
    .await;
    assert_eq!(r.status, 204);
    let a = &sim.state().merchants[MSN].agreements[&id];
    assert_eq!(
        (a.product_name.as_str(), a.pricing.amount),
        ("Avis+", Some(100))
    );
    let r = send(
        c.req("PATCH", &format!("{ag}/{id}"))
            .header("Idempotency-Key", "p2")
            .json(&json!({"status": "STOPPED"})),
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        sim.state().merchants[MSN].agreements[&id].status,
        AgreementStatus::Stopped
    );
    let r = send(
        c.req("PATCH", &format!("{ag}/{id}"))
            .header("Idempotency-Key", "p3")
            .json(&json!({"productName": "again"})),
    )
    .await;
    assert_eq!(r.status, 400, "STOPPED is terminal");

    assert_eq!(
        ops(&sim),
        [
            "register_webhook",
            "register_webhook",
            "delete_webhook",
            "list_webhooks",
            "create_redirect_qr",
            "update_redirect_qr",
            "get_redirect_qr",
            "delete_redirect_qr",
            "put_callback_qr",
            "put_callback_qr",
            "list_callback_qrs",
            "delete_callback_qr",
            "draft_agreement",
            "update_agreement",
            "update_agreement",
            "update_agreement",
        ],
        "image, short-link and control requests are not in the call log"
    );
    let calls = sim.calls();
    assert!(calls.iter().all(|c| c.msn.as_deref() == Some(MSN)));
    assert_eq!(calls.last().map(|c| c.status), Some(400));
    assert_eq!(
        calls[0].body.as_ref().map(|b| b["url"].clone()),
        Some(json!("https://a.example/h"))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn merchants_are_kept_apart() {
    // The sandbox keys act for both sales units, as a partner's do.
    let sim = common::start(SimConfig::test().with_merchants(["654321"])).await;
    let mut c = Client::new(&sim).await;
    let mc = "/qr/v1/merchant-callback";
    send(
        c.req("PUT", &format!("{mc}/a"))
            .json(&json!({"locationDescription": "one"})),
    )
    .await;
    c.msn = Some("654321".into());
    assert_eq!(send(c.req("GET", mc)).await.json(), json!([]));
    send(
        c.req("PUT", &format!("{mc}/b"))
            .json(&json!({"locationDescription": "two"})),
    )
    .await;
    let st = sim.state();
    assert_eq!(
        st.merchants[MSN].callback_qrs.keys().collect::<Vec<_>>(),
        ["a"]
    );
    assert_eq!(
        st.merchants["654321"]
            .callback_qrs
            .keys()
            .collect::<Vec<_>>(),
        ["b"]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn drift_and_seed_through_the_control_api() {
    let sim = common::start(SimConfig::test()).await;
    let c = Client::new(&sim).await;
    let ctl = |m: &str, p: &str| {
        c.http.request(
            reqwest::Method::from_bytes(m.as_bytes()).expect("method"),
            format!("{}/_sim/{p}", c.base),
        )
    };
    let seed = json!({"merchants": {MSN: {
        "redirect_qrs": {"door": {"id": "door", "redirect_url": "https://example.com/door", "ttl": null, "created": "2026-01-01T00:00:00Z"}},
        "webhooks": [{"id": "6f1c7a3e-1111-4a4a-8a8a-000000000001", "url": "https://example.com/h", "events": ["x.y.v1"], "secret": "s3cr3t"}]
    }}});
    assert_eq!(send(ctl("POST", "seed").json(&seed)).await.status, 200);
    let got = send(
        c.req("GET", "/qr/v1/merchant-redirect/door")
            .header("Accept", "image/svg+xml"),
    )
    .await
    .json();
    assert_eq!(got["redirectUrl"], "https://example.com/door");

    // Someone edits the QR in the portal, and the webhook is auto-deleted.
    let drift = json!({"msn": MSN, "kind": "redirect_qr", "id": "door", "set": {"redirect_url": "https://evil.example/"}});
    assert_eq!(send(ctl("POST", "drift").json(&drift)).await.status, 200);
    let gone = json!({"msn": MSN, "kind": "webhook", "id": "6f1c7a3e-1111-4a4a-8a8a-000000000001", "delete": true});
    assert_eq!(send(ctl("POST", "drift").json(&gone)).await.status, 200);
    let missing = json!({"msn": MSN, "kind": "agreement", "id": "agr_none", "delete": true});
    assert_eq!(send(ctl("POST", "drift").json(&missing)).await.status, 404);
    let got = send(
        c.req("GET", "/qr/v1/merchant-redirect/door")
            .header("Accept", "image/svg+xml"),
    )
    .await
    .json();
    assert_eq!(got["redirectUrl"], "https://evil.example/");
    assert_eq!(
        send(c.req("GET", "/webhooks/v1/webhooks")).await.json()["webhooks"],
        json!([])
    );

    // The state and call log over HTTP match the handle's.
    let state: SimState =
        serde_json::from_slice(&send(ctl("GET", "state")).await.body).expect("state json");
    assert_eq!(state, sim.state());
    let calls: Value = send(ctl("GET", "calls")).await.json();
    assert_eq!(calls.as_array().map(Vec::len), Some(sim.calls().len()));
    assert_eq!(calls[1]["operation"], "get_redirect_qr");

    // The in-process handle drifts through the same code.
    sim.drift(&Drift {
        msn: MSN.into(),
        kind: ObjectKind::RedirectQr,
        id: "door".into(),
        set: None,
        delete: true,
    })
    .expect("drift");
    assert_eq!(
        send(
            c.req("GET", "/qr/v1/merchant-redirect/door")
                .header("Accept", "image/svg+xml")
        )
        .await
        .status,
        404
    );
    assert_eq!(send(ctl("POST", "reset")).await.status, 200);
    assert_eq!(sim.state(), SimState::default());
    assert!(sim.calls().is_empty());
    sim.shutdown().await;
}

async fn fault_pattern(seed: u64) -> Vec<Option<String>> {
    let sim = common::start(SimConfig {
        seed,
        ..SimConfig::test()
    })
    .await;
    let c = Client::new(&sim).await;
    sim.set_faults(FaultConfig {
        rate: 0.5,
        mix: vec![
            FaultKind::Status500,
            FaultKind::Status503,
            FaultKind::Status429,
        ],
        ..FaultConfig::none()
    });
    for _ in 0..30 {
        send(c.req("GET", "/webhooks/v1/webhooks")).await;
    }
    let pattern = sim.calls().into_iter().skip(1).map(|c| c.faulted).collect();
    sim.shutdown().await;
    pattern
}

#[tokio::test]
async fn faults_are_deterministic_per_seed() {
    let a = fault_pattern(7).await;
    assert_eq!(a, fault_pattern(7).await);
    assert_ne!(a, fault_pattern(8).await);
    let faulted = a.iter().filter(|f| f.is_some()).count();
    assert!(
        (5..=25).contains(&faulted),
        "about half of 30 faulted, got {faulted}"
    );
}

#[tokio::test]
async fn faults_before_and_after_the_write() {
    let sim = common::start(SimConfig::test()).await;
    let c = Client::new(&sim).await;
    let mc = "/qr/v1/merchant-callback";
    let put = |id: &str| {
        c.req("PUT", &format!("{mc}/{id}"))
            .json(&json!({"locationDescription": "x"}))
    };

    sim.set_faults(FaultConfig::always(&[FaultKind::Status503]));
    let r = send(put("before")).await;
    assert_eq!(r.status, 503);
    assert!(
        !sim.state()
            .merchants
            .get(MSN)
            .is_some_and(|m| m.callback_qrs.contains_key("before")),
        "nothing written"
    );

    sim.set_faults(FaultConfig::always(&[FaultKind::Drop]));
    assert!(
        send_raw(put("dropped")).await.is_err(),
        "connection closed without an answer"
    );
    assert!(!sim
        .state()
        .merchants
        .get(MSN)
        .is_some_and(|m| m.callback_qrs.contains_key("dropped")));

    sim.set_faults(FaultConfig::always(&[FaultKind::AfterWrite500]));
    assert_eq!(send(put("after")).await.status, 500);
    assert!(
        sim.state().merchants[MSN]
            .callback_qrs
            .contains_key("after"),
        "the write happened"
    );

    sim.set_faults(FaultConfig::always(&[FaultKind::AfterWriteDrop]));
    assert!(send_raw(put("after-drop")).await.is_err());
    assert!(sim.state().merchants[MSN]
        .callback_qrs
        .contains_key("after-drop"));

    // A retried draft after an after-write fault gets the first answer, not a second agreement.
    sim.set_faults(FaultConfig::always(&[FaultKind::AfterWrite500]));
    let draft = || {
        c.req("POST", "/recurring/v3/agreements")
            .header("Idempotency-Key", "retry-me")
            .json(&common::legacy_draft("x"))
    };
    assert_eq!(send(draft()).await.status, 500);
    sim.set_faults(FaultConfig::none());
    let r = send(draft()).await;
    assert_eq!(r.status, 201);
    assert_eq!(sim.state().merchants[MSN].agreements.len(), 1);

    // A timeout holds the answer past the client's patience.
    sim.set_faults(FaultConfig {
        hang: Duration::from_secs(30),
        ..FaultConfig::always(&[FaultKind::Timeout])
    });
    let err = send_raw(c.req("GET", mc).timeout(Duration::from_millis(300)))
        .await
        .err();
    assert!(err.is_some_and(|e| e.is_timeout()));

    // The control API sets faults too.
    let off = serde_json::to_value(FaultConfig::none()).expect("json");
    assert_eq!(
        send(c.http.put(format!("{}/_sim/faults", c.base)).json(&off))
            .await
            .status,
        200
    );
    assert_eq!(send(c.req("GET", mc)).await.status, 200);

    let faulted: Vec<Option<String>> = sim.calls().into_iter().skip(1).map(|c| c.faulted).collect();
    let names: Vec<&str> = faulted.iter().flatten().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "status_503",
            "drop",
            "after_write_500",
            "after_write_drop",
            "after_write_500",
            "timeout"
        ]
    );
    assert_eq!(faulted.last(), Some(&None));
    sim.shutdown().await;
}

#[tokio::test]
async fn documented_rate_limits_answer_429_with_retry_after() {
    let sim = common::start(
        SimConfig {
            rate_limits: RateLimits::documented(),
            ..SimConfig::test()
        }
        .with_merchants(["777777"]),
    )
    .await;
    let c = Client::new(&sim).await;
    let ag = "/recurring/v3/agreements";
    for _ in 0..5 {
        assert_eq!(send(c.req("GET", ag)).await.status, 200);
    }
    let r = send(c.req("GET", ag)).await;
    assert_eq!(r.status, 429);
    let wait: u64 = r
        .header("retry-after")
        .and_then(|s| s.parse().ok())
        .expect("Retry-After seconds");
    assert!((1..=60).contains(&wait));
    // Per merchant: another MSN is not affected.
    let mut other = Client::new(&sim).await;
    other.msn = Some("777777".into());
    assert_eq!(send(other.req("GET", ag)).await.status, 200);
    sim.advance_clock(Duration::from_secs(wait));
    assert_eq!(send(c.req("GET", ag)).await.status, 200);

    // PATCH is counted per agreement.
    let mut ids = Vec::new();
    for key in ["a", "b"] {
        let r = send(
            c.req("POST", ag)
                .header("Idempotency-Key", key)
                .json(&common::legacy_draft(key)),
        )
        .await;
        ids.push(
            r.json()["agreementId"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
    }
    for i in 0..5 {
        let r = send(
            c.req("PATCH", &format!("{ag}/{}", ids[0]))
                .header("Idempotency-Key", format!("p{i}"))
                .json(&json!({"productName": format!("n{i}")})),
        )
        .await;
        assert_eq!(r.status, 204);
    }
    let r = send(
        c.req("PATCH", &format!("{ag}/{}", ids[0]))
            .header("Idempotency-Key", "p5")
            .json(&json!({"productName": "n5"})),
    )
    .await;
    assert_eq!(r.status, 429);
    let r = send(
        c.req("PATCH", &format!("{ag}/{}", ids[1]))
            .header("Idempotency-Key", "q")
            .json(&json!({"productName": "m"})),
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(sim.calls().iter().filter(|c| c.status == 429).count(), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn draft_idempotency() {
    let sim = common::start(SimConfig::test()).await;
    let c = Client::new(&sim).await;
    let ag = "/recurring/v3/agreements";
    let draft =
        |key: &str, body: &Value| c.req("POST", ag).header("Idempotency-Key", key).json(body);
    let body = common::legacy_draft("Same");
    let first = send(draft("k", &body)).await;
    let second = send(draft("k", &body)).await;
    assert_eq!((first.status, second.status), (201, 201));
    assert_eq!(first.json(), second.json());
    assert_eq!(
        send(draft("k", &common::legacy_draft("Other")))
            .await
            .status,
        409
    );
    // A 4xx is sticky for its key, too.
    let bad = json!({"productName": "no pricing"});
    assert_eq!(send(draft("bad", &bad)).await.status, 400);
    assert_eq!(send(draft("bad", &bad)).await.status, 400);
    assert_eq!(send(draft("k2", &body)).await.status, 201);
    assert_eq!(send(draft("has/slash", &body)).await.status, 400);
    assert_eq!(sim.state().merchants[MSN].agreements.len(), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn consent_page_and_draft_expiry() {
    let sim = common::start(SimConfig::test()).await;
    let c = Client::new(&sim).await;
    let ag = "/recurring/v3/agreements";
    let mut ids = Vec::new();
    let mut urls = Vec::new();
    for key in ["1", "2", "3"] {
        let r = send(
            c.req("POST", ag)
                .header("Idempotency-Key", key)
                .json(&common::legacy_draft("Avis")),
        )
        .await
        .json();
        ids.push(r["agreementId"].as_str().unwrap_or_default().to_string());
        urls.push(
            r["vippsConfirmationUrl"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
    }
    let page = send(c.http.get(&urls[0])).await;
    let html = String::from_utf8_lossy(&page.body).to_string();
    assert_eq!(page.status, 200);
    assert!(
        html.contains("<form method=\"post\"")
            && html.contains("Accept")
            && html.contains("Reject")
    );
    // What a browser does when the Accept button is pressed.
    let accept = send(c.http.post(format!("{}/accept", urls[0]))).await;
    assert_eq!(accept.status, 200);
    assert_eq!(
        send(c.http.post(format!("{}/reject", urls[1])))
            .await
            .status,
        200
    );
    assert_eq!(
        send(c.http.post(format!("{}/accept", urls[1])))
            .await
            .status,
        409
    );

    sim.advance_clock(Duration::from_secs(9 * 60));
    assert_eq!(
        sim.state().merchants[MSN].agreements[&ids[2]].status,
        AgreementStatus::Pending
    );
    sim.advance_clock(Duration::from_secs(61));
    let st = sim.state();
    let status = |i: usize| st.merchants[MSN].agreements[&ids[i]].status;
    assert_eq!(
        (status(0), status(1), status(2)),
        (
            AgreementStatus::Active,
            AgreementStatus::Stopped,
            AgreementStatus::Expired
        )
    );
    let r = send(c.req("GET", &format!("{ag}?status=EXPIRED")))
        .await
        .json();
    assert_eq!(r[0]["id"], ids[2].as_str());
    // Through the control API, which the handle shares.
    assert!(
        sim.accept_agreement(&ids[2]).is_err(),
        "an expired draft cannot be accepted"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn tokens_expire_on_the_simulated_clock() {
    let sim = common::start(SimConfig {
        token_ttl: Duration::from_secs(600),
        ..SimConfig::test()
    })
    .await;
    let mut c = Client::new(&sim).await;
    assert_eq!(
        send(c.req("GET", "/webhooks/v1/webhooks")).await.status,
        200
    );
    sim.advance_clock(Duration::from_secs(601));
    assert_eq!(
        send(c.req("GET", "/webhooks/v1/webhooks")).await.status,
        401
    );
    c.token = common::token(&c.http, &c.base).await;
    assert_eq!(
        send(c.req("GET", "/webhooks/v1/webhooks")).await.status,
        200
    );
    let no_bearer = c
        .http
        .get(format!("{}/webhooks/v1/webhooks", c.base))
        .header("Authorization", c.token.clone())
        .header(
            "Ocp-Apim-Subscription-Key",
            vippsctl::sim::SANDBOX_SUBSCRIPTION_KEY,
        );
    assert_eq!(
        send(no_bearer).await.status,
        401,
        "a token without 'Bearer ' is refused"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn state_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The --sandbox layout: state in .vippsctl/sandbox.json under the working directory.
    let file = dir.path().join(".vippsctl").join("sandbox.json");
    let config = || SimConfig::sandbox_in(dir.path());
    let sim = common::start(config()).await;
    let c = Client::new(&sim).await;
    send(
        c.req("PUT", "/qr/v1/merchant-callback/till")
            .json(&json!({"locationDescription": "Kasse"})),
    )
    .await;
    let r = send(
        c.req("POST", "/webhooks/v1/webhooks")
            .json(&json!({"url": "https://e.example/h", "events": ["a.b.v1"]})),
    )
    .await;
    let secret = r.json()["secret"].as_str().unwrap_or_default().to_string();
    let r = send(
        c.req("POST", "/recurring/v3/agreements")
            .header("Idempotency-Key", "x")
            .json(&common::legacy_draft("Keep")),
    )
    .await;
    let id = r.json()["agreementId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    sim.accept_agreement(&id).expect("accept");
    let before = sim.state();
    sim.shutdown().await;

    let on_disk: SimState =
        serde_json::from_slice(&std::fs::read(&file).expect("state file")).expect("valid json");
    assert_eq!(on_disk, before);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join(".vippsctl"))
        .expect("dir")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "no temporary files left behind: {leftovers:?}"
    );

    let sim = common::start(config()).await;
    assert_eq!(sim.state(), before);
    assert_eq!(
        sim.state().merchants[MSN].webhooks[0].secret.expose(),
        secret
    );
    let c = Client::new(&sim).await;
    let a = send(c.req("GET", &format!("/recurring/v3/agreements/{id}")))
        .await
        .json();
    assert_eq!(a["status"], "ACTIVE");
    assert_eq!(
        send(c.req("DELETE", "/qr/v1/merchant-callback/till"))
            .await
            .status,
        200
    );
    sim.shutdown().await;
    let on_disk: SimState =
        serde_json::from_slice(&std::fs::read(&file).expect("state file")).expect("valid json");
    assert!(
        on_disk.merchants[MSN].callback_qrs.is_empty(),
        "every change is written"
    );
}

#[tokio::test]
async fn phone_numbers_are_masked_in_the_call_log_and_debug() {
    let sim = common::start(SimConfig::test()).await;
    let c = Client::new(&sim).await;
    let ag = "/recurring/v3/agreements";
    let r = send(
        c.req("POST", ag)
            .header("Idempotency-Key", "d")
            .json(&common::legacy_draft("x")),
    )
    .await;
    let id = r.json()["agreementId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let r = send(
        c.req("PATCH", &format!("{ag}/{id}/accept"))
            .header("Idempotency-Key", "a")
            .json(&json!({"phoneNumber": "4712345678"})),
    )
    .await;
    assert_eq!(r.status, 204);
    let calls = sim.calls();
    let logged = calls
        .last()
        .and_then(|c| c.body.clone())
        .unwrap_or_default();
    assert_eq!(logged["phoneNumber"], "********78");
    let st = sim.state();
    let a = &st.merchants[MSN].agreements[&id];
    assert_eq!(
        a.phone_number.as_ref().map(|p| p.0.as_str()),
        Some("4712345678")
    );
    assert!(!format!("{st:?} {calls:?}").contains("4712345678"));
    sim.shutdown().await;
}

#[tokio::test]
async fn webhook_limits_per_event_and_msn() {
    let sim = common::start(SimConfig::test().with_merchants(["222222"])).await;
    let mut c = Client::new(&sim).await;
    let wh = "/webhooks/v1/webhooks";
    let reg = |c: &Client, event: &str| {
        c.req("POST", wh)
            .json(&json!({"url": "https://example.com/h", "events": [event]}))
    };
    for _ in 0..25 {
        assert_eq!(send(reg(&c, "a.v1")).await.status, 201);
    }
    let r = send(reg(&c, "a.v1")).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.content_type.as_deref(), Some("application/problem+json"));
    assert_eq!(
        send(reg(&c, "b.v1")).await.status,
        201,
        "other events are unaffected"
    );
    c.msn = Some("222222".into());
    assert_eq!(
        send(reg(&c, "a.v1")).await.status,
        201,
        "the limit is per MSN"
    );
    assert_eq!(sim.state().merchants[MSN].webhooks.len(), 26);
    sim.shutdown().await;
}
