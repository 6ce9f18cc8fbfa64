//! Live objects put straight into the simulator's state, as if made through the portal or an
//! earlier run.
#![allow(dead_code)]

use vippsctl::domain::Secret;
use vippsctl::sim::{
    Agreement, AgreementStatus, CallbackQr, Interval, Pricing, PricingType, RedirectQr, SimHandle,
    Webhook,
};

pub fn webhook(h: &SimHandle, msn: &str, url: &str, events: &[&str]) -> uuid::Uuid {
    let id = uuid::Uuid::new_v4();
    h.update(|s| {
        s.merchants
            .entry(msn.into())
            .or_default()
            .webhooks
            .push(Webhook {
                id,
                url: url.into(),
                events: events.iter().map(|e| e.to_string()).collect(),
                secret: Secret::new("seeded-secret"),
            })
    });
    id
}

pub fn redirect_qr(h: &SimHandle, msn: &str, id: &str, url: &str, ttl: Option<i64>) {
    let created = h.now();
    h.update(|s| {
        s.merchants
            .entry(msn.into())
            .or_default()
            .redirect_qrs
            .insert(
                id.into(),
                RedirectQr {
                    id: id.into(),
                    redirect_url: url.into(),
                    ttl,
                    created,
                    content: None,
                },
            )
    });
}

pub fn callback_qr(h: &SimHandle, msn: &str, id: &str, location: &str) {
    h.update(|s| {
        s.merchants
            .entry(msn.into())
            .or_default()
            .callback_qrs
            .insert(
                id.into(),
                CallbackQr {
                    merchant_qr_id: id.into(),
                    location_description: location.into(),
                },
            )
    });
}

/// A LEGACY monthly agreement in NOK, redirecting to `https://shop.example/thanks`, managed at
/// `https://shop.example/account` (Norwegian merchants must give that page).
pub fn agreement(
    h: &SimHandle,
    msn: &str,
    id: &str,
    external_id: &str,
    status: AgreementStatus,
    amount: i64,
) {
    let now = h.now();
    h.update(|s| {
        s.merchants
            .entry(msn.into())
            .or_default()
            .agreements
            .insert(
                id.into(),
                Agreement {
                    id: id.into(),
                    uuid: uuid::Uuid::new_v4(),
                    status,
                    product_name: "Coffee club".into(),
                    product_description: None,
                    pricing: Pricing {
                        kind: PricingType::Legacy,
                        currency: "NOK".into(),
                        amount: Some(amount),
                        suggested_max_amount: None,
                        max_amount: None,
                    },
                    interval: Some(Interval {
                        unit: "MONTH".into(),
                        count: 1,
                    }),
                    merchant_agreement_url: Some("https://shop.example/account".into()),
                    merchant_redirect_url: "https://shop.example/thanks".into(),
                    external_id: Some(external_id.into()),
                    campaign: None,
                    phone_number: None,
                    created: now,
                    start: (status == AgreementStatus::Active).then_some(now),
                    stop: None,
                },
            )
    });
}

/// The YAML of an agreement matching [`agreement`].
pub fn agreement_yaml(external_id: &str, amount: i64, extra: &str) -> String {
    format!(
        "      - externalId: {external_id}\n        productName: Coffee club\n        pricing: {{ type: LEGACY, amount: {amount}, currency: NOK }}\n        interval: {{ unit: MONTH, count: 1 }}\n        merchantRedirectUrl: https://shop.example/thanks\n{extra}        merchantAgreementUrl: https://shop.example/account\n"
    )
}
