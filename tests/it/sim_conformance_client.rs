//! The requests vippsctl's generated clients actually send, validated against the PUBLISHED
//! request schemas (issue 4): a full lifecycle through plan and apply, then every request body in
//! the simulator's call log is checked with the same validator the simulator's own conformance
//! tests use.

use crate::common;
use common::cli::{load_yaml, Sim, MSN};
use common::conformance::Conformance;

fn setup(stage: u8) -> String {
    let (url, location, price, stop) = match stage {
        1 => ("https://kaffe.example/menu?t=1", "Kasse 1", 29900, ""),
        _ => (
            "https://kaffe.example/menu?t=1&v=2",
            "Kasse 1 ved døra",
            34900,
            "\n        status: STOPPED",
        ),
    };
    format!(
        r#"version: 1
merchants:
  - msn: "{MSN}"
    prune: [redirectQrs, callbackQrs, webhooks]
    webhooks:
      - url: https://kaffe.example/hooks/checkin
        events: [user.checked-in.v1]
        secret: {{ file: secrets.env, key: CHECKIN }}
      - url: https://kaffe.example/hooks/payments
        events: [epayments.payment.captured.v1, recurring.agreement-stopped.v1]
        secret: {{ file: secrets.env, key: PAYMENTS }}
    redirectQrs:
      - id: table 1
        redirectUrl: {url}
      - id: campaign-ø
        redirectUrl: https://kaffe.example/summer
        ttl: 86400
    callbackQrs:
      - merchantQrId: till-1
        locationDescription: {location}
    agreements:
      - externalId: member-legacy
        productName: Kaffeabonnement
        productDescription: En kopp om dagen
        pricing: {{ type: LEGACY, amount: {price}, currency: NOK }}
        interval: {{ unit: MONTH, count: 1 }}
        merchantRedirectUrl: https://kaffe.example/thanks
        merchantAgreementUrl: https://kaffe.example/account{stop}
      - externalId: member-variable
        productName: Strøm
        pricing: {{ type: VARIABLE, suggestedMaxAmount: 150000, currency: NOK }}
        interval: {{ unit: WEEK, count: 2 }}
        merchantRedirectUrl: https://kaffe.example/thanks
        merchantAgreementUrl: https://kaffe.example/account
      - externalId: member-flexible
        productName: Parkering
        pricing: {{ type: FLEXIBLE, currency: DKK }}
        merchantRedirectUrl: https://kaffe.example/thanks
        merchantAgreementUrl: https://kaffe.example/account
"#
    )
}

#[test]
fn every_request_body_the_clients_send_matches_the_published_schema() {
    let Some(conformance) = Conformance::load() else {
        eprintln!("shared/ not found, skipping: set VIPPSCTL_SHARED_DIR to the folder holding upstream-openapi/");
        return;
    };
    let sim = Sim::start();
    // Stage 1 creates everything; the drafts are accepted so that stage 2 can patch and stop.
    let config = load_yaml(&sim.path(""), &setup(1));
    let plan = sim.plan(&config).expect("plan");
    let report = sim.apply(&plan, &config);
    assert!(report.succeeded(), "{}", report.render());
    let ids: Vec<String> = sim.state().merchants[MSN]
        .agreements
        .values()
        .map(|a| a.id.clone())
        .collect();
    for id in ids {
        sim.handle.accept_agreement(&id).expect("accept");
    }
    // Stage 2 updates in place: a redirect URL, a location, a price; and stops one agreement.
    let config = load_yaml(&sim.path(""), &setup(2));
    let plan = sim.plan(&config).expect("plan");
    let report = sim.apply(&plan, &config);
    assert!(report.succeeded(), "{}", report.render());

    // Every write operation with a body was exercised and validated.
    assert_bodies_conform(
        &conformance,
        &sim.calls(),
        |_| {},
        &[
            "register_webhook",
            "create_redirect_qr",
            "update_redirect_qr",
            "put_callback_qr",
            "draft_agreement",
            "update_agreement",
        ],
    );
}

/// The sandbox keys acting for the sandbox sales unit, as vippsctl's own clients use them.
fn sandbox_transport(handle: &vippsctl::sim::SimHandle) -> vippsctl::api::transport::Transport {
    use vippsctl::sim;
    vippsctl::api::transport::Transport::builder(handle.base_url())
        .credentials(vippsctl::api::credentials::Credentials::new(
            sim::SANDBOX_CLIENT_ID,
            sim::SANDBOX_CLIENT_SECRET,
            sim::SANDBOX_SUBSCRIPTION_KEY,
        ))
        .merchant(sim::SANDBOX_MSN)
        .build()
        .expect("transport builds")
}

/// The generated Order Management client against the simulator: every operation through the
/// client (which checks request limits and decodes each answer into the generated types), then
/// every request body in the call log against the published request schemas.
#[tokio::test]
async fn the_generated_order_management_client_works_against_the_simulator() {
    use serde_json::json;
    use vippsctl::api::generated::ordermanagement::{types, Client};
    use vippsctl::sim;
    let Some(conformance) = Conformance::load() else {
        eprintln!("shared/ not found, skipping: set VIPPSCTL_SHARED_DIR to the folder holding upstream-openapi/");
        return;
    };
    let handle = common::start(sim::SimConfig::test()).await;
    let transport = sandbox_transport(&handle);
    let client = Client::new_with_client(
        transport.base_url(),
        transport.http().clone(),
        transport.clone(),
    );
    let image: types::Image = serde_json::from_value(crate::sim_order_management::image(
        "socks-orange-123",
        &crate::sim_order_management::png_base64(200, 200),
    ))
    .expect("an Image");
    let r = client
        .upload_image()
        .body(image)
        .send()
        .await
        .expect("upload");
    assert_eq!(r.into_inner().image_id.as_deref(), Some("socks-orange-123"));

    let order: types::Order = serde_json::from_value(json!({
        "category": "RECEIPT", "orderDetailsUrl": "https://example.com/o/1", "imageId": "socks-orange-123"
    }))
    .expect("an Order");
    let id = client
        .put_order_category()
        .payment_type("ECOM")
        .order_id("order-1")
        .body(order)
        .send()
        .await
        .expect("category")
        .into_inner();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    let receipt: types::Receipt =
        serde_json::from_value(crate::sim_order_management::receipt()).expect("a Receipt");
    client
        .add_order_lines()
        .payment_type("ECOM")
        .order_id("order-1")
        .body(receipt.clone())
        .send()
        .await
        .expect("order lines");
    // A second set is the documented 409, decoded as the typed ErrorResponse.
    let err = client
        .add_order_lines()
        .payment_type("ECOM")
        .order_id("order-1")
        .body(receipt)
        .send()
        .await
        .expect_err("a conflict");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(409), "{err:?}");
    let read = client
        .get_order()
        .payment_type("ECOM")
        .order_id("order-1")
        .send()
        .await
        .expect("order")
        .into_inner();
    assert_eq!(read.receipt.map(|r| r.order_lines.len()), Some(3));
    assert!(read.category.is_some());

    let add: types::AddCategoryRequest = serde_json::from_value(json!({
        "orderId": "order-1", "paymentType": "ECOM", "type": "TICKET", "url": "https://example.com/t"
    }))
    .expect("an AddCategoryRequest");
    let created = client
        .create_category()
        .body(add)
        .send()
        .await
        .expect("v3 category")
        .into_inner();
    let category_id = created.category_id.expect("an id");
    let listed = client
        .list_categories()
        .order_id("order-1")
        .send()
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.categories.len(), 1);
    let one = client
        .get_category()
        .category_id(category_id)
        .send()
        .await
        .expect("get")
        .into_inner();
    assert_eq!(one.url.as_deref(), Some("https://example.com/t"));
    client
        .delete_category()
        .category_id(category_id)
        .send()
        .await
        .expect("delete");
    let gone = client
        .get_category()
        .category_id(category_id)
        .send()
        .await
        .expect_err("gone");
    assert_eq!(gone.status().map(|s| s.as_u16()), Some(404));

    assert_bodies_conform(
        &conformance,
        &handle.calls(),
        |_| {},
        &[
            "upload_image",
            "put_order_category",
            "add_order_lines",
            "create_category",
        ],
    );
    handle.shutdown().await;
}

/// The generated Recurring client's charge operations against the simulator: create, fetch,
/// list, capture, refund and cancel decode into the generated types, and the request bodies in
/// the call log match the published schemas.
#[tokio::test]
async fn the_generated_recurring_client_s_charge_operations_work_against_the_simulator() {
    use serde_json::json;
    use vippsctl::api::generated::recurring::{types, Client};
    use vippsctl::sim;
    let Some(conformance) = Conformance::load() else {
        eprintln!("shared/ not found, skipping: set VIPPSCTL_SHARED_DIR to the folder holding upstream-openapi/");
        return;
    };
    let handle = common::start(sim::SimConfig {
        token_ttl: std::time::Duration::from_secs(7 * 24 * 3600),
        ..sim::SimConfig::test()
    })
    .await;
    let transport = sandbox_transport(&handle);
    let client = Client::new_with_client(
        transport.base_url(),
        transport.http().clone(),
        transport.clone(),
    );
    let draft: types::DraftAgreementV3 = serde_json::from_value(json!({
        "pricing": {"type": "FLEXIBLE", "currency": "NOK"},
        "merchantRedirectUrl": "https://example.com/r",
        "merchantAgreementUrl": "https://example.com/a",
        "productName": "Charges",
    }))
    .expect("a draft");
    let drafted = client
        .draft_agreement()
        .idempotency_key("client-draft")
        .body(draft)
        .send()
        .await
        .expect("draft")
        .into_inner();
    let agreement = drafted.agreement_id.clone().expect("an agreement id");
    handle.accept_agreement(&agreement).expect("accept");
    let due = (handle.now().date_naive() + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let body: types::CreateChargeV3 = serde_json::from_value(json!({
        "amount": 2500, "description": "Parking", "transactionType": "RESERVE_CAPTURE",
        "due": due, "retryDays": 0, "orderId": "client-charge-1"
    }))
    .expect("a charge");
    let created = client
        .create_charge()
        .agreement_id(agreement.clone())
        .idempotency_key("client-charge")
        .body(body)
        .send()
        .await
        .expect("create")
        .into_inner();
    assert_eq!(created.charge_id.as_deref(), Some("client-charge-1"));
    // DUE at once (due tomorrow): a transactionId, and the answer decodes.
    let fetched = client
        .fetch_charge()
        .agreement_id(agreement.clone())
        .charge_id("client-charge-1")
        .send()
        .await
        .expect("fetch")
        .into_inner();
    assert_eq!(fetched.amount, Some(2500));
    handle.advance_clock(std::time::Duration::from_secs(24 * 3600));
    let listed = client
        .list_charges()
        .agreement_id(agreement.clone())
        .send()
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.len(), 1);
    let capture: types::CaptureRequestV3 =
        serde_json::from_value(json!({"amount": 2000})).expect("a capture");
    client
        .capture_charge()
        .agreement_id(agreement.clone())
        .charge_id("client-charge-1")
        .idempotency_key("client-capture")
        .body(capture)
        .send()
        .await
        .expect("capture");
    let refund: types::RefundRequest =
        serde_json::from_value(json!({"amount": 500, "description": "Sorry"})).expect("a refund");
    client
        .refund_charge()
        .agreement_id(agreement.clone())
        .charge_id("client-charge-1")
        .idempotency_key("client-refund")
        .body(refund)
        .send()
        .await
        .expect("refund");
    client
        .cancel_charge()
        .agreement_id(agreement.clone())
        .charge_id("client-charge-1")
        .idempotency_key("client-cancel")
        .send()
        .await
        .expect("cancel");
    let by_id = client
        .fetch_charge_by_id()
        .charge_id("client-charge-1")
        .send()
        .await
        .expect("by id")
        .into_inner();
    let summary = serde_json::to_value(&by_id).expect("serialises")["summary"].clone();
    assert_eq!(
        summary,
        json!({"captured": 2000, "refunded": 500, "cancelled": 500})
    );

    assert_bodies_conform(
        &conformance,
        &handle.calls(),
        |_| {},
        &["create_charge", "capture_charge", "refund_charge"],
    );
    handle.shutdown().await;
}

/// The ePayment client generated from `openapi/epayment.yaml` (which vippsctl itself never calls)
/// drives a payment through the simulator: every request it sends matches the published request
/// schema, and every answer decodes into its generated types.
#[test]
fn the_generated_epayment_client_drives_a_payment_through_the_simulator() {
    use vippsctl::api::generated::epayment::{types, Client as Epayment};
    let Some(conformance) = Conformance::load() else {
        eprintln!("shared/ not found, skipping: set VIPPSCTL_SHARED_DIR to the folder holding upstream-openapi/");
        return;
    };
    let sim = Sim::start();
    let transport = vippsctl::api::transport::Transport::builder(sim.base_url())
        .credentials(vippsctl::api::credentials::Credentials::new(
            vippsctl::sim::SANDBOX_CLIENT_ID,
            vippsctl::sim::SANDBOX_CLIENT_SECRET,
            vippsctl::sim::SANDBOX_SUBSCRIPTION_KEY,
        ))
        .build()
        .and_then(|t| t.for_merchant(MSN))
        .expect("transport");
    let client = Epayment::new_with_client(
        transport.base_url(),
        transport.http().clone(),
        transport.clone(),
    );
    let amount = |value: i64| serde_json::json!({"currency": "NOK", "value": value});
    fn js<T: serde::Serialize>(v: &T) -> serde_json::Value {
        serde_json::to_value(v).unwrap_or_default()
    }
    let request: types::CreatePaymentRequest = serde_json::from_value(serde_json::json!({
        "amount": amount(25000),
        "customer": {"phoneNumber": "4712345678"},
        "paymentMethod": {"type": "WALLET"},
        "reference": "client-order-1",
        "userFlow": "PUSH_MESSAGE",
        "paymentDescription": "A coffee subscription gift card",
        "metadata": {"order": "1"},
        "receipt": {
            "orderLines": [{"name": "Gift card", "id": "gc-1", "totalAmount": 25000,
                "totalAmountExcludingTax": 25000, "totalTaxAmount": 0, "taxRate": 0}],
            "bottomLine": {"currency": "NOK"}
        }
    }))
    .expect("a CreatePaymentRequest");
    sim.block_on(async {
        let created = client
            .create_payment()
            .idempotency_key("client-create-1")
            .body(request)
            .send()
            .await
            .expect("create");
        // The passes relax response-only schemas (nothing required), so read them as JSON.
        assert_eq!(js(&*created)["reference"], "client-order-1");
        assert!(created.redirect_url.is_none(), "PUSH_MESSAGE");
        client
            .force_approve_payment()
            .reference("client-order-1")
            .body(
                serde_json::from_value::<types::ForceApprove>(
                    serde_json::json!({"customer": {"phoneNumber": "4712345678"}}),
                )
                .expect("ForceApprove"),
            )
            .send()
            .await
            .expect("force approve");
        let capture: types::CaptureModificationRequest =
            serde_json::from_value(serde_json::json!({"modificationAmount": amount(20000)}))
                .expect("capture body");
        let captured = client
            .capture_payment()
            .reference("client-order-1")
            .idempotency_key("client-capture-1")
            .body(capture)
            .send()
            .await
            .expect("capture");
        assert_eq!(
            js(&*captured)["aggregate"]["capturedAmount"]["value"],
            20000
        );
        let refund: types::RefundModificationRequest =
            serde_json::from_value(serde_json::json!({"modificationAmount": amount(5000)}))
                .expect("refund body");
        client
            .refund_payment()
            .reference("client-order-1")
            .idempotency_key("client-refund-1")
            .body(refund)
            .send()
            .await
            .expect("refund");
        let cancelled = client
            .cancel_payment()
            .reference("client-order-1")
            .body(types::CancelModificationRequest {
                cancel_transaction_only: None,
            })
            .send()
            .await
            .expect("cancel");
        assert_eq!(
            js(&*cancelled)["aggregate"]["cancelledAmount"]["value"],
            5000
        );
        let got = client
            .get_payment()
            .reference("client-order-1")
            .send()
            .await
            .expect("get");
        assert_eq!(js(&*got)["aggregate"]["refundedAmount"]["value"], 5000);
        let events = client
            .get_payment_events()
            .reference("client-order-1")
            .send()
            .await
            .expect("events");
        assert_eq!(events.len(), 5);
        // An error comes back as the spec's Problem.
        match client
            .get_payment()
            .reference("client-order-9")
            .send()
            .await
        {
            Err(e) => assert_eq!(e.status().map(|s| s.as_u16()), Some(404), "{e:?}"),
            Ok(p) => panic!("a payment that does not exist: {p:?}"),
        }
    });
    let calls: Vec<_> = sim
        .calls()
        .into_iter()
        .filter(|c| c.operation.contains("payment"))
        .collect();
    // The call log masks phone numbers; put back the one sent (same last two digits).
    let unmask = |body: &mut serde_json::Value| {
        if let Some(p) = body.pointer_mut("/customer/phoneNumber") {
            assert_eq!(p, "********78", "masked in the log");
            *p = serde_json::json!("4712345678");
        }
    };
    assert_bodies_conform(
        &conformance,
        &calls,
        unmask,
        &[
            "create_payment",
            "force_approve_payment",
            "capture_payment",
            "refund_payment",
            "cancel_payment",
        ],
    );
}

/// Every request body in `calls` against the published request schemas (`unmask` first puts back
/// what the call log masks), and each operation of `sent` among them.
fn assert_bodies_conform(
    conformance: &Conformance,
    calls: &[vippsctl::sim::CallRecord],
    unmask: fn(&mut serde_json::Value),
    sent: &[&str],
) {
    let mut checked = std::collections::BTreeSet::new();
    let mut problems = Vec::new();
    for c in calls {
        let Some(body) = &c.body else { continue };
        let mut body = body.clone();
        unmask(&mut body);
        match conformance.request_body(&c.operation, &body) {
            Ok(()) => {
                checked.insert(c.operation.clone());
            }
            Err(e) => problems.push(e),
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    for op in sent {
        assert!(
            checked.contains(*op),
            "{op} was not sent with a body: {checked:?}"
        );
    }
}
