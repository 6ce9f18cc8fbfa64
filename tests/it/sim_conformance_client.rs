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
