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

    let calls = sim.calls();
    let mut checked = std::collections::BTreeSet::new();
    let mut problems = Vec::new();
    for c in &calls {
        let Some(body) = &c.body else { continue };
        match conformance.request_body(&c.operation, body) {
            Ok(()) => {
                checked.insert(c.operation.clone());
            }
            Err(e) => problems.push(e),
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    // Every write operation with a body was exercised and validated.
    for op in [
        "register_webhook",
        "create_redirect_qr",
        "update_redirect_qr",
        "put_callback_qr",
        "draft_agreement",
        "update_agreement",
    ] {
        assert!(checked.contains(op), "{op} was not sent: {checked:?}");
    }
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
    let calls = sim.calls();
    let mut checked = std::collections::BTreeSet::new();
    let mut problems = Vec::new();
    for c in calls.iter().filter(|c| c.operation.contains("payment")) {
        if let Some(body) = &c.body {
            // The call log masks phone numbers; put back the one sent (same last two digits).
            let mut body = body.clone();
            if let Some(p) = body.pointer_mut("/customer/phoneNumber") {
                assert_eq!(p, "********78", "masked in the log");
                *p = serde_json::json!("4712345678");
            }
            match conformance.request_body(&c.operation, &body) {
                Ok(()) => {
                    checked.insert(c.operation.clone());
                }
                Err(e) => problems.push(e),
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    for op in [
        "create_payment",
        "force_approve_payment",
        "capture_payment",
        "refund_payment",
        "cancel_payment",
    ] {
        assert!(
            checked.contains(op),
            "{op} was not sent with a body: {checked:?}"
        );
    }
}
