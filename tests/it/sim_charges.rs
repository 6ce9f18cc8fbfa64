//! Recurring charges in the simulator, rule by rule (docs/simulator.md rows C1-C24, E4, R15,
//! R27, R34): create with its due date, retry and mode rules, processing on the simulated
//! clock, capture, refund, cancel, the initial charge, the ceilings, the effect of stopping an
//! agreement, paging, the charge rate limits, and the events each change raises.

use crate::common;
use common::{send, Client, Resp};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use vippsctl::sim::{
    RateLimits, SalesUnitProfile, SimConfig, SimHandle, CHARGE_CANCELED, CHARGE_CAPTURED,
    CHARGE_FAILED, CHARGE_REFUNDED, CHARGE_RESERVED, SANDBOX_MSN,
};

const AG: &str = "/recurring/v3/agreements";
const DAY: u64 = 24 * 3600;
static KEYS: AtomicUsize = AtomicUsize::new(0);

/// Tokens that outlive the clock jumps (a year and more) these tests make.
fn config() -> SimConfig {
    SimConfig {
        token_ttl: Duration::from_secs(400 * DAY),
        ..SimConfig::test()
    }
}

fn key() -> String {
    format!("k-{}", KEYS.fetch_add(1, Ordering::Relaxed))
}

fn why(r: &Resp) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

async fn write(c: &Client, method: &str, path: &str, body: Option<&Value>, key: &str) -> Resp {
    let rb = c.req(method, path).header("Idempotency-Key", key);
    send(match body {
        Some(b) => rb.json(b),
        None => rb,
    })
    .await
}

/// A POST with a fresh Idempotency-Key.
async fn post(c: &Client, path: &str, body: &Value) -> Resp {
    write(c, "POST", path, Some(body), &key()).await
}

/// An ACTIVE agreement drafted from `draft` (accepted with `max` for VARIABLE pricing).
async fn active(sim: &SimHandle, c: &Client, draft: &Value, max: Option<i64>) -> String {
    let r = write(c, "POST", AG, Some(draft), &key()).await;
    assert_eq!(r.status, 201, "{}", why(&r));
    let id = r.json()["agreementId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    match max {
        Some(m) => sim.accept_agreement_with_max(&id, m),
        None => sim.accept_agreement(&id),
    }
    .expect("accepted");
    id
}

fn flexible() -> Value {
    json!({
        "pricing": {"type": "FLEXIBLE", "currency": "NOK"},
        "merchantRedirectUrl": "https://example.com/r",
        "merchantAgreementUrl": "https://example.com/a",
        "productName": "Parking",
    })
}

/// `YYYY-MM-DD`, `days` after the simulator's today.
fn day(sim: &SimHandle, days: i64) -> String {
    (sim.now().date_naive() + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

fn charge(amount: i64, due: &str, retry: i64, tt: &str) -> Value {
    json!({"amount": amount, "description": "Monthly", "transactionType": tt, "due": due, "retryDays": retry})
}

async fn create(c: &Client, agreement: &str, body: &Value) -> Resp {
    write(
        c,
        "POST",
        &format!("{AG}/{agreement}/charges"),
        Some(body),
        &key(),
    )
    .await
}

async fn create_id(c: &Client, agreement: &str, body: &Value) -> String {
    let r = create(c, agreement, body).await;
    assert_eq!(r.status, 201, "{}", why(&r));
    r.json()["chargeId"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn get_charge(c: &Client, agreement: &str, id: &str) -> Value {
    let r = send(c.req("GET", &format!("{AG}/{agreement}/charges/{id}"))).await;
    assert_eq!(r.status, 200, "{}", why(&r));
    r.json()
}

/// The events raised so far for this charge, in order.
fn events_of(sim: &SimHandle, charge: &str) -> Vec<String> {
    sim.deliveries()
        .deliveries
        .iter()
        .filter(|d| d.payload["chargeId"] == charge)
        .map(|d| d.event.clone())
        .collect()
}

/// A registration for every charge event (deliveries are listed even without a forward target).
async fn hook(c: &Client, events: &[&str]) {
    let body = json!({"url": "https://example.com/hooks", "events": events});
    let r = send(c.req("POST", "/webhooks/v1/webhooks").json(&body)).await;
    assert_eq!(r.status, 201, "{}", why(&r));
}

const ALL_EVENTS: [&str; 7] = [
    CHARGE_RESERVED,
    CHARGE_CAPTURED,
    CHARGE_CANCELED,
    CHARGE_REFUNDED,
    CHARGE_FAILED,
    "recurring.agreement-expired.v1",
    "recurring.agreement-activated.v1",
];

#[tokio::test]
async fn a_direct_capture_charge_is_due_the_day_before_and_charged_on_its_due_date() {
    let sim = common::start(config()).await;
    let c = Client::new(&sim).await;
    hook(&c, &ALL_EVENTS).await;
    let ag = active(&sim, &c, &common::legacy_draft("Club"), None).await;
    let body = json!({"amount": 29900, "description": "March", "transactionType": "DIRECT_CAPTURE",
        "due": day(&sim, 3), "retryDays": 2, "orderId": "order-2026-03", "externalId": "inv-77"});
    let id = create_id(&c, &ag, &body).await;
    // The orderId becomes the chargeId.
    assert_eq!(id, "order-2026-03");
    let ch = get_charge(&c, &ag, &id).await;
    assert_eq!(ch["status"], "PENDING");
    assert_eq!(ch["transactionId"], Value::Null, "null until DUE");
    assert_eq!(ch["type"], "RECURRING");
    assert_eq!(ch["processingMode"], "MULTIPLE_ATTEMPTS");
    assert_eq!(ch["externalId"], "inv-77");
    assert_eq!(ch["currency"], "NOK");
    assert_eq!(ch["due"], format!("{}T00:00:00Z", day(&sim, 3)));
    assert_eq!(ch["history"][0]["event"], "CREATE");

    sim.advance_clock(Duration::from_secs(2 * DAY));
    let ch = get_charge(&c, &ag, &id).await;
    assert_eq!(ch["status"], "DUE", "{ch}");
    let tx = ch["transactionId"].as_str().unwrap_or_default().to_string();
    assert!(
        tx.len() >= 10 && tx.bytes().all(|b| b.is_ascii_digit()),
        "{tx}"
    );

    sim.advance_clock(Duration::from_secs(DAY));
    let ch = get_charge(&c, &ag, &id).await;
    assert_eq!(ch["status"], "CHARGED", "{ch}");
    assert_eq!(
        ch["summary"],
        json!({"captured": 29900, "refunded": 0, "cancelled": 0})
    );
    assert_eq!(ch["history"][1]["event"], "CAPTURE");
    assert_eq!(events_of(&sim, &id), [CHARGE_CAPTURED]);
    let delivery = sim
        .deliveries()
        .deliveries
        .into_iter()
        .find(|d| d.payload["chargeId"] == id.as_str())
        .expect("a delivery");
    assert_eq!(delivery.payload["agreementId"], ag.as_str());
    assert_eq!(delivery.payload["amount"], 29900);
    assert_eq!(delivery.payload["transactionId"], tx.as_str());
    assert_eq!(delivery.payload["chargeExternalId"], "inv-77");
    assert_eq!(delivery.payload["msn"], SANDBOX_MSN);
    sim.shutdown().await;
}

#[tokio::test]
async fn reserved_charges_are_captured_in_parts_refunded_in_parts_and_direct_ones_cannot_be_captured(
) {
    let sim = common::start(config()).await;
    let c = Client::new(&sim).await;
    hook(&c, &ALL_EVENTS).await;
    let ag = active(&sim, &c, &flexible(), None).await;
    let id = create_id(&c, &ag, &charge(1000, &day(&sim, 1), 0, "RESERVE_CAPTURE")).await;
    let direct = create_id(&c, &ag, &charge(500, &day(&sim, 1), 0, "DIRECT_CAPTURE")).await;
    sim.advance_clock(Duration::from_secs(DAY));
    assert_eq!(get_charge(&c, &ag, &id).await["status"], "RESERVED");
    let cap = |amount: i64| json!({"amount": amount});
    let path = format!("{AG}/{ag}/charges/{id}");
    // Only RESERVE_CAPTURE charges can be captured.
    let r = post(
        &c,
        &format!("{AG}/{ag}/charges/{direct}/capture"),
        &cap(100),
    )
    .await;
    assert_eq!(r.status, 400, "{}", why(&r));
    let r = post(&c, &format!("{path}/capture"), &cap(300)).await;
    assert_eq!(r.status, 204, "{}", why(&r));
    assert_eq!(
        get_charge(&c, &ag, &id).await["status"],
        "PARTIALLY_CAPTURED"
    );
    // No more than what is left.
    let r = post(&c, &format!("{path}/capture"), &cap(800)).await;
    assert_eq!(r.status, 400, "{}", why(&r));
    let r = post(&c, &format!("{path}/capture"), &cap(0)).await;
    assert_eq!(r.status, 400, "{}", why(&r));
    let r = post(&c, &format!("{path}/capture"), &cap(700)).await;
    assert_eq!(r.status, 204, "{}", why(&r));
    let ch = get_charge(&c, &ag, &id).await;
    assert_eq!(ch["status"], "CHARGED");
    assert_eq!(ch["summary"]["captured"], 1000);

    let refund = |amount: i64| json!({"amount": amount, "description": "Goodwill"});
    let r = post(&c, &format!("{path}/refund"), &json!({"amount": 100})).await;
    assert_eq!(r.status, 400, "description is required: {}", why(&r));
    let r = post(&c, &format!("{path}/refund"), &refund(200)).await;
    assert_eq!(r.status, 204, "{}", why(&r));
    assert_eq!(
        get_charge(&c, &ag, &id).await["status"],
        "PARTIALLY_REFUNDED"
    );
    let r = post(&c, &format!("{path}/refund"), &refund(900)).await;
    assert_eq!(r.status, 400, "{}", why(&r));
    let r = post(&c, &format!("{path}/refund"), &refund(800)).await;
    assert_eq!(r.status, 204, "{}", why(&r));
    let ch = get_charge(&c, &ag, &id).await;
    assert_eq!(ch["status"], "REFUNDED");
    assert_eq!(
        ch["summary"],
        json!({"captured": 1000, "refunded": 1000, "cancelled": 0})
    );
    assert_eq!(
        events_of(&sim, &id),
        [
            CHARGE_RESERVED,
            CHARGE_CAPTURED,
            CHARGE_CAPTURED,
            CHARGE_REFUNDED,
            CHARGE_REFUNDED
        ]
    );
    // A refunded charge cannot be cancelled; a reserved one can, and a refund of the direct one
    // is possible for 365 days after its capture.
    let r = write(&c, "DELETE", &path, None, &key()).await;
    assert_eq!(r.status, 400, "{}", why(&r));
    sim.advance_clock(Duration::from_secs(366 * DAY));
    let r = post(
        &c,
        &format!("{AG}/{ag}/charges/{direct}/refund"),
        &refund(100),
    )
    .await;
    assert_eq!(r.status, 400, "{}", why(&r));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_charge_s_due_date_retry_days_mode_and_ids_follow_the_spec() {
    let sim = common::start(config()).await;
    let c = Client::new(&sim).await;
    let ag = active(&sim, &c, &flexible(), None).await;
    let ok = charge(100, &day(&sim, 1), 2, "DIRECT_CAPTURE");
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = ok.clone();
        f(&mut v);
        v
    };
    let two_years = (sim.now().date_naive() + chrono::Months::new(24))
        .format("%Y-%m-%d")
        .to_string();
    let too_far = (sim.now().date_naive() + chrono::Months::new(24) + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    for (what, body) in [
        // At least one day ahead in the test environment; at most two years.
        ("due today", with(&|v| v["due"] = json!(day(&sim, 0)))),
        ("due beyond two years", with(&|v| v["due"] = json!(too_far))),
        ("due not a date", with(&|v| v["due"] = json!("31.12.2030"))),
        (
            "due missing",
            with(&|v| {
                v.as_object_mut().map(|o| o.remove("due"));
            }),
        ),
        (
            "retryDays missing",
            with(&|v| {
                v.as_object_mut().map(|o| o.remove("retryDays"));
            }),
        ),
        ("retryDays 15", with(&|v| v["retryDays"] = json!(15))),
        (
            "SINGLE_ATTEMPT with retries",
            with(&|v| v["processingMode"] = json!("SINGLE_ATTEMPT")),
        ),
        (
            "description 101",
            with(&|v| v["description"] = json!("d".repeat(101))),
        ),
        ("amount 0", with(&|v| v["amount"] = json!(0))),
        (
            "transactionType",
            with(&|v| v["transactionType"] = json!("CAPTURE")),
        ),
        ("type INITIAL", with(&|v| v["type"] = json!("INITIAL"))),
        ("orderId", with(&|v| v["orderId"] = json!("order_1"))),
        (
            "externalId 65",
            with(&|v| v["externalId"] = json!("e".repeat(65))),
        ),
    ] {
        let r = create(&c, &ag, &body).await;
        assert_eq!(r.status, 400, "{what}: {}", why(&r));
    }
    let r = create(&c, &ag, &with(&|v| v["due"] = json!(two_years))).await;
    assert_eq!(r.status, 201, "{}", why(&r));
    let single = with(&|v| {
        v["processingMode"] = json!("SINGLE_ATTEMPT");
        v["retryDays"] = json!(0);
    });
    assert_eq!(create(&c, &ag, &single).await.status, 201);

    // The orderId is unique per merchant; a generated chargeId otherwise.
    let named = with(&|v| v["orderId"] = json!("acme-1"));
    assert_eq!(create(&c, &ag, &named).await.status, 201);
    let r = create(&c, &ag, &named).await;
    assert_eq!(r.status, 409, "{}", why(&r));
    let generated = create_id(&c, &ag, &ok).await;
    assert!(generated.starts_with("chr-"), "{generated}");
    // Idempotency: the same key and request answer the same; another request with it is 409.
    let path = format!("{AG}/{ag}/charges");
    let first = write(&c, "POST", &path, Some(&ok), "same-key").await;
    let again = write(&c, "POST", &path, Some(&ok), "same-key").await;
    assert_eq!((first.status, first.json()), (again.status, again.json()));
    let other = write(&c, "POST", &path, Some(&named), "same-key").await;
    assert_eq!(other.status, 409, "{}", why(&other));
    let none = send(c.req("POST", &path).json(&ok)).await;
    assert_eq!(
        none.status,
        400,
        "Idempotency-Key is required: {}",
        why(&none)
    );

    // Charges need an ACTIVE agreement that exists.
    let r = write(&c, "POST", AG, Some(&flexible()), &key()).await;
    let pending = r.json()["agreementId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(create(&c, &pending, &ok).await.status, 400);
    assert_eq!(create(&c, "agr_nothere", &ok).await.status, 404);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_failing_card_is_retried_daily_for_retry_days_then_the_charge_fails() {
    let sim = common::start(config()).await;
    let c = Client::new(&sim).await;
    hook(&c, &ALL_EVENTS).await;
    let ag = active(&sim, &c, &flexible(), None).await;
    let retried = create_id(&c, &ag, &charge(100, &day(&sim, 2), 2, "DIRECT_CAPTURE")).await;
    let mut single = charge(100, &day(&sim, 2), 0, "DIRECT_CAPTURE");
    single["processingMode"] = json!("SINGLE_ATTEMPT");
    let single = create_id(&c, &ag, &single).await;
    let recovers = create_id(&c, &ag, &charge(100, &day(&sim, 2), 2, "RESERVE_CAPTURE")).await;
    sim.set_card_fails(&ag, Some("user_action_required"))
        .expect("agreement");
    assert!(
        sim.set_card_fails(&ag, Some("card_melted")).is_err(),
        "failureReason values only"
    );

    sim.advance_clock(Duration::from_secs(2 * DAY));
    assert_eq!(
        get_charge(&c, &ag, &retried).await["status"],
        "DUE",
        "tried, failed, retried"
    );
    let failed = get_charge(&c, &ag, &single).await;
    assert_eq!(
        failed["status"], "FAILED",
        "SINGLE_ATTEMPT is never retried"
    );
    assert_eq!(failed["failureReason"], "user_action_required");
    assert_eq!(events_of(&sim, &single), [CHARGE_FAILED]);

    sim.advance_clock(Duration::from_secs(DAY));
    assert_eq!(get_charge(&c, &ag, &retried).await["status"], "DUE");
    // The card works again: the next daily attempt succeeds.
    sim.set_card_fails(&ag, None).expect("agreement");
    sim.advance_clock(Duration::from_secs(DAY));
    assert_eq!(get_charge(&c, &ag, &recovers).await["status"], "RESERVED");
    assert_eq!(get_charge(&c, &ag, &retried).await["status"], "CHARGED");

    // With the card failing throughout, the last try is retryDays after the due date.
    let late = create_id(&c, &ag, &charge(100, &day(&sim, 1), 2, "DIRECT_CAPTURE")).await;
    sim.set_card_fails(&ag, Some("non_technical_error"))
        .expect("agreement");
    sim.advance_clock(Duration::from_secs(2 * DAY));
    assert_eq!(get_charge(&c, &ag, &late).await["status"], "DUE");
    sim.advance_clock(Duration::from_secs(DAY));
    let ch = get_charge(&c, &ag, &late).await;
    assert_eq!(ch["status"], "FAILED", "{ch}");
    assert_eq!(ch["failureReason"], "non_technical_error");
    assert_eq!(
        ch["history"]
            .as_array()
            .and_then(|h| h.last())
            .map(|h| h["event"].clone()),
        Some(json!("FAIL"))
    );
    assert_eq!(events_of(&sim, &late), [CHARGE_FAILED]);
    sim.shutdown().await;
}

#[tokio::test]
async fn variable_charges_above_the_ceiling_fail_with_charge_amount_too_high() {
    let sim = common::start(config()).await;
    let c = Client::new(&sim).await;
    let draft = json!({
        "pricing": {"type": "VARIABLE", "suggestedMaxAmount": 3000, "currency": "NOK"},
        "interval": {"unit": "MONTH", "count": 1},
        "merchantRedirectUrl": "https://example.com/r",
        "merchantAgreementUrl": "https://example.com/a",
        "productName": "Power",
    });
    // The customer chose 5000: the ceiling is max(suggestedMaxAmount, maxAmount).
    let ag = active(&sim, &c, &draft, Some(5000)).await;
    let high = create_id(&c, &ag, &charge(5001, &day(&sim, 1), 1, "DIRECT_CAPTURE")).await;
    let fits = create_id(&c, &ag, &charge(5000, &day(&sim, 1), 1, "DIRECT_CAPTURE")).await;
    sim.advance_clock(Duration::from_secs(3 * DAY));
    let ch = get_charge(&c, &ag, &high).await;
    assert_eq!(ch["status"], "FAILED");
    assert_eq!(ch["failureReason"], "charge_amount_too_high");
    assert_eq!(get_charge(&c, &ag, &fits).await["status"], "CHARGED");
    sim.shutdown().await;
}

#[tokio::test]
async fn legacy_charges_of_one_interval_total_at_most_five_times_the_price() {
    let sim = common::start(config()).await;
    let c = Client::new(&sim).await;
    let mut draft = common::legacy_draft("Club");
    draft["pricing"]["amount"] = json!(1000);
    draft["interval"] = json!({"unit": "WEEK", "count": 1});
    let ag = active(&sim, &c, &draft, None).await;
    // The first week (from the start day): 5 x 1000 in total.
    let a = create_id(&c, &ag, &charge(3000, &day(&sim, 1), 0, "DIRECT_CAPTURE")).await;
    create_id(&c, &ag, &charge(2000, &day(&sim, 2), 0, "DIRECT_CAPTURE")).await;
    let r = create(&c, &ag, &charge(1, &day(&sim, 3), 0, "DIRECT_CAPTURE")).await;
    assert_eq!(r.status, 400, "{}", why(&r));
    // The next week has its own ceiling.
    create_id(&c, &ag, &charge(5000, &day(&sim, 7), 0, "DIRECT_CAPTURE")).await;
    // A cancelled charge no longer counts.
    let r = write(
        &c,
        "DELETE",
        &format!("{AG}/{ag}/charges/{a}"),
        None,
        &key(),
    )
    .await;
    assert_eq!(r.status, 204, "{}", why(&r));
    create_id(&c, &ag, &charge(3000, &day(&sim, 3), 0, "DIRECT_CAPTURE")).await;
    let r = create(&c, &ag, &charge(1, &day(&sim, 6), 0, "DIRECT_CAPTURE")).await;
    assert_eq!(r.status, 400, "{}", why(&r));
    sim.shutdown().await;
}

#[tokio::test]
async fn stopping_an_agreement_cancels_its_open_charges_and_a_customer_stop_leaves_reserved_ones() {
    let sim = common::start(config()).await;
    let c = Client::new(&sim).await;
    hook(&c, &ALL_EVENTS).await;
    for by_merchant in [true, false] {
        let ag = active(&sim, &c, &flexible(), None).await;
        let reserved = create_id(&c, &ag, &charge(100, &day(&sim, 1), 0, "RESERVE_CAPTURE")).await;
        sim.advance_clock(Duration::from_secs(DAY));
        let pending = create_id(&c, &ag, &charge(100, &day(&sim, 5), 0, "DIRECT_CAPTURE")).await;
        assert_eq!(get_charge(&c, &ag, &reserved).await["status"], "RESERVED");
        if by_merchant {
            let r = write(
                &c,
                "PATCH",
                &format!("{AG}/{ag}"),
                Some(&json!({"status": "STOPPED"})),
                &key(),
            )
            .await;
            assert_eq!(r.status, 204, "{}", why(&r));
        } else {
            sim.stop_agreement(&ag).expect("customer stop");
        }
        let p = get_charge(&c, &ag, &pending).await;
        assert_eq!(p["status"], "CANCELLED");
        assert_eq!(p["summary"]["cancelled"], 100);
        assert_eq!(events_of(&sim, &pending), [CHARGE_CANCELED]);
        let res = get_charge(&c, &ag, &reserved).await["status"].clone();
        if by_merchant {
            assert_eq!(res, "CANCELLED", "a merchant stop cancels reserved charges");
        } else {
            assert_eq!(
                res, "RESERVED",
                "a customer stop leaves reserved charges alone"
            );
        }
        // No charges on a stopped agreement.
        assert_eq!(
            create(&c, &ag, &charge(100, &day(&sim, 2), 0, "DIRECT_CAPTURE"))
                .await
                .status,
            400
        );
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn an_initial_charge_that_fails_expires_the_pending_agreement() {
    let sim = common::start(config()).await;
    let c = Client::new(&sim).await;
    hook(&c, &ALL_EVENTS).await;
    let mut draft = common::legacy_draft("Club");
    draft["initialCharge"] = json!({"amount": 4900, "description": "First month", "transactionType": "DIRECT_CAPTURE", "orderId": "init-ok"});
    let r = write(&c, "POST", AG, Some(&draft), &key()).await;
    assert_eq!(r.json()["chargeId"], "init-ok");
    let ok = r.json()["agreementId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(get_charge(&c, &ok, "init-ok").await["status"], "PENDING");
    sim.accept_agreement(&ok).expect("accept");
    let ch = get_charge(&c, &ok, "init-ok").await;
    assert_eq!(
        (ch["status"].clone(), ch["type"].clone()),
        (json!("CHARGED"), json!("INITIAL"))
    );

    draft["initialCharge"]["orderId"] = json!("init-bad");
    draft["initialCharge"]["transactionType"] = json!("RESERVE_CAPTURE");
    let r = write(&c, "POST", AG, Some(&draft), &key()).await;
    let bad = r.json()["agreementId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    sim.set_card_fails(&bad, Some("user_action_required"))
        .expect("agreement");
    sim.accept_agreement(&bad).expect("accept");
    let a = send(c.req("GET", &format!("{AG}/{bad}"))).await.json();
    assert_eq!(a["status"], "EXPIRED", "{a}");
    assert_eq!(get_charge(&c, &bad, "init-bad").await["status"], "FAILED");
    let events: Vec<String> = sim
        .deliveries()
        .deliveries
        .iter()
        .filter(|d| d.payload["agreementId"] == bad.as_str())
        .map(|d| d.event.clone())
        .collect();
    assert_eq!(events, [CHARGE_FAILED, "recurring.agreement-expired.v1"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn unscheduled_charges_need_an_allow_listed_sales_unit_and_are_charged_at_once_without_retries(
) {
    let mut config = config().with_merchants(["654321"]);
    config.sales_units.insert(
        "654321".into(),
        SalesUnitProfile {
            unscheduled_charges: Some(true),
            ..Default::default()
        },
    );
    let sim = common::start(config).await;
    let c = Client::new(&sim).await;
    let unscheduled = json!({"amount": 700, "description": "Top-up", "transactionType": "DIRECT_CAPTURE", "type": "UNSCHEDULED"});
    let ag = active(&sim, &c, &flexible(), None).await;
    let r = create(&c, &ag, &unscheduled).await;
    assert_eq!(r.status, 400, "123456 is not allow-listed: {}", why(&r));

    let other = Client {
        msn: Some("654321".into()),
        ..Client::new(&sim).await
    };
    let ag = active(&sim, &other, &flexible(), None).await;
    let id = create_id(&other, &ag, &unscheduled).await;
    let ch = get_charge(&other, &ag, &id).await;
    assert_eq!(
        (ch["status"].clone(), ch["type"].clone()),
        (json!("CHARGED"), json!("UNSCHEDULED"))
    );
    let mut with_mode = unscheduled.clone();
    with_mode["processingMode"] = json!("MULTIPLE_ATTEMPTS");
    assert_eq!(
        create(&other, &ag, &with_mode).await.status,
        400,
        "processingMode cannot be set"
    );
    sim.set_card_fails(&ag, Some("user_action_required"))
        .expect("agreement");
    let id = create_id(&other, &ag, &unscheduled).await;
    assert_eq!(
        get_charge(&other, &ag, &id).await["status"],
        "FAILED",
        "never retried"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn charge_lists_filter_by_status_and_page_with_short_lived_continuation_tokens() {
    let sim = common::start(config()).await;
    let c = Client::new(&sim).await;
    let ag = active(&sim, &c, &flexible(), None).await;
    let other = active(&sim, &c, &flexible(), None).await;
    let mut ids = Vec::new();
    for _ in 0..45 {
        ids.push(create_id(&c, &ag, &charge(100, &day(&sim, 5), 0, "DIRECT_CAPTURE")).await);
    }
    let foreign = create_id(&c, &other, &charge(100, &day(&sim, 5), 0, "DIRECT_CAPTURE")).await;
    let r = write(
        &c,
        "DELETE",
        &format!("{AG}/{ag}/charges/{}", ids[0]),
        None,
        &key(),
    )
    .await;
    assert_eq!(r.status, 204);
    let list = format!("{AG}/{ag}/charges");
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut rb = c.req("GET", &list);
        if let Some(t) = &token {
            rb = rb.header("Continuation-Token", t);
        }
        let r = send(rb).await;
        assert_eq!(r.status, 200, "{}", why(&r));
        pages += 1;
        seen.extend(
            r.json()
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["id"].as_str().map(str::to_string)),
        );
        token = r.header("Continuation-Token").map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ids, "every charge once, oldest first");
    let cancelled = send(c.req("GET", &format!("{list}?status=CANCELLED")))
        .await
        .json();
    assert_eq!(cancelled.as_array().map(Vec::len), Some(1));
    assert_eq!(
        send(c.req("GET", &format!("{list}?status=SETTLED")))
            .await
            .status,
        400
    );
    // Tokens are short-lived.
    let r = send(c.req("GET", &list)).await;
    let t = r
        .header("Continuation-Token")
        .unwrap_or_default()
        .to_string();
    sim.advance_clock(Duration::from_secs(11 * 60));
    let r = send(c.req("GET", &list).header("Continuation-Token", t)).await;
    assert_eq!(r.status, 400, "{}", why(&r));
    assert_eq!(
        send(c.req("GET", &format!("{AG}/agr_nothere/charges")))
            .await
            .status,
        404
    );
    // By id alone; a charge is found only under its own agreement.
    let r = send(c.req("GET", &format!("/recurring/v3/charges/{foreign}"))).await;
    assert_eq!(r.json()["agreementId"], other.as_str());
    assert_eq!(
        send(c.req("GET", "/recurring/v3/charges/chr-none"))
            .await
            .status,
        404
    );
    assert_eq!(
        send(c.req("GET", &format!("{list}/{foreign}")))
            .await
            .status,
        404
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn charge_rate_limits_are_sliding_windows_per_agreement_and_charge() {
    let config = SimConfig {
        rate_limits: RateLimits::documented(),
        ..config()
    };
    let sim = common::start(config).await;
    let c = Client::new(&sim).await;
    let ag = active(&sim, &c, &flexible(), None).await;
    let second = active(&sim, &c, &flexible(), None).await;
    // CreateCharge: 2 a minute.
    let a = create_id(&c, &ag, &charge(100, &day(&sim, 3), 0, "DIRECT_CAPTURE")).await;
    let b = create_id(&c, &ag, &charge(100, &day(&sim, 3), 0, "DIRECT_CAPTURE")).await;
    let r = create(&c, &ag, &charge(100, &day(&sim, 3), 0, "DIRECT_CAPTURE")).await;
    assert_eq!(r.status, 429, "{}", why(&r));
    assert!(r.header("Retry-After").is_some());
    assert_eq!(
        create(
            &c,
            &second,
            &charge(100, &day(&sim, 3), 0, "DIRECT_CAPTURE")
        )
        .await
        .status,
        201
    );
    // FetchCharge: 10 a minute per charge.
    for _ in 0..10 {
        get_charge(&c, &ag, &a).await;
    }
    let r = send(c.req("GET", &format!("{AG}/{ag}/charges/{a}"))).await;
    assert_eq!(r.status, 429);
    get_charge(&c, &ag, &b).await;
    // ListCharges: 10 a minute per agreement.
    for _ in 0..10 {
        assert_eq!(
            send(c.req("GET", &format!("{AG}/{ag}/charges")))
                .await
                .status,
            200
        );
    }
    assert_eq!(
        send(c.req("GET", &format!("{AG}/{ag}/charges")))
            .await
            .status,
        429
    );
    sim.advance_clock(Duration::from_secs(61));
    get_charge(&c, &ag, &a).await;
    assert_eq!(
        create(&c, &ag, &charge(100, &day(&sim, 3), 0, "DIRECT_CAPTURE"))
            .await
            .status,
        201
    );
    sim.shutdown().await;
}

#[test]
fn sim_charge_fails_switches_an_agreement_s_card_off_and_on() {
    use common::cli::{Sim, MSN};
    let sim = Sim::with_config(SimConfig::test());
    let agreement: vippsctl::sim::Agreement = serde_json::from_value(json!({
        "id": "agr_cli0001", "uuid": uuid::Uuid::new_v4(), "status": "ACTIVE",
        "product_name": "Club", "pricing": {"type": "FLEXIBLE", "currency": "NOK"},
        "merchant_redirect_url": "https://example.com/r", "created": sim.handle.now(),
    }))
    .expect("an agreement");
    sim.handle.update(|s| {
        s.merchants
            .entry(MSN.to_string())
            .or_default()
            .agreements
            .insert(agreement.id.clone(), agreement)
    });
    let on = sim.run(&[
        "sim",
        "charge-fails",
        "agr_cli0001",
        "--reason",
        "non_technical_error",
    ]);
    assert!(on.success(), "{on}");
    assert!(
        on.stdout.contains("charges fail with non_technical_error"),
        "{on}"
    );
    assert_eq!(
        sim.handle.state().merchants[MSN]
            .failing_cards
            .get("agr_cli0001")
            .map(String::as_str),
        Some("non_technical_error")
    );
    let off = sim.run(&["sim", "charge-fails", "agr_cli0001", "--off"]);
    assert!(off.success(), "{off}");
    assert!(sim.handle.state().merchants[MSN].failing_cards.is_empty());
    let unknown = sim.run(&["sim", "charge-fails", "agr_nothere"]);
    assert!(!unknown.success(), "{unknown}");
    assert!(unknown.stderr.contains("agr_nothere"), "{unknown}");
    let bad = sim.run(&[
        "sim",
        "charge-fails",
        "agr_cli0001",
        "--reason",
        "card_melted",
    ]);
    assert!(!bad.success(), "{bad}");
}

#[tokio::test]
async fn charges_and_failing_cards_survive_a_restart_with_the_state_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let with_file = || SimConfig {
        state_file: Some(dir.path().join("sim.json")),
        ..config()
    };
    let sim = common::start(with_file()).await;
    let c = Client::new(&sim).await;
    let ag = active(&sim, &c, &flexible(), None).await;
    let id = create_id(&c, &ag, &charge(100, &day(&sim, 2), 0, "DIRECT_CAPTURE")).await;
    sim.set_card_fails(&ag, Some("technical_error"))
        .expect("agreement");
    sim.shutdown().await;

    let sim = common::start(with_file()).await;
    let c = Client::new(&sim).await;
    assert_eq!(get_charge(&c, &ag, &id).await["status"], "PENDING");
    // The simulated clock starts again from now, so two days still bring the due date.
    sim.advance_clock(Duration::from_secs(2 * DAY));
    let ch = get_charge(&c, &ag, &id).await;
    assert_eq!(ch["status"], "FAILED", "the failing card was kept: {ch}");
    assert_eq!(ch["failureReason"], "technical_error");
    sim.shutdown().await;
}

#[tokio::test]
async fn seeded_charges_with_extreme_dates_and_amounts_do_not_break_the_simulator() {
    use vippsctl::sim::{Charge, ChargeStatus};
    let sim = common::start(config()).await;
    let c = Client::new(&sim).await;
    let ag = active(&sim, &c, &flexible(), None).await;
    let now = sim.now();
    let seeded = |id: &str, due: chrono::NaiveDate, status: ChargeStatus| Charge {
        id: id.into(),
        agreement_id: ag.clone(),
        amount: i64::MAX,
        currency: "NOK".into(),
        description: "seeded".into(),
        kind: "RECURRING".into(),
        transaction_type: "RESERVE_CAPTURE".into(),
        due,
        retry_days: 14,
        processing_mode: "MULTIPLE_ATTEMPTS".into(),
        external_id: None,
        status,
        transaction_id: None,
        failure_reason: None,
        attempts: 0,
        captured: i64::MIN,
        refunded: i64::MAX,
        cancelled: i64::MIN,
        captured_at: Some(chrono::DateTime::<chrono::Utc>::MAX_UTC),
        history: Vec::new(),
        created: now,
    };
    sim.update(|s| {
        let m = s.merchants.entry(SANDBOX_MSN.to_string()).or_default();
        for (id, due, status) in [
            ("far", chrono::NaiveDate::MAX, ChargeStatus::Pending),
            ("early", chrono::NaiveDate::MIN, ChargeStatus::Due),
            ("odd", now.date_naive(), ChargeStatus::PartiallyRefunded),
        ] {
            m.charges.insert(id.into(), seeded(id, due, status));
        }
    });
    for id in ["far", "early", "odd"] {
        let r = send(c.req("GET", &format!("{AG}/{ag}/charges/{id}"))).await;
        assert_eq!(r.status, 200, "{id}: {}", why(&r));
    }
    let refund = json!({"amount": 1, "description": "x"});
    for path in ["refund", "capture"] {
        let r = post(&c, &format!("{AG}/{ag}/charges/odd/{path}"), &refund).await;
        assert!(r.status < 500, "{path}: {}", why(&r));
    }
    let r = write(
        &c,
        "DELETE",
        &format!("{AG}/{ag}/charges/odd"),
        None,
        &key(),
    )
    .await;
    assert!(r.status < 500, "{}", why(&r));
    sim.advance_clock(Duration::from_secs(30 * DAY));
    assert_eq!(
        send(c.req("GET", &format!("{AG}/{ag}/charges")))
            .await
            .status,
        200
    );
    sim.shutdown().await;
}
