//! The webhook events the simulator raises, and their payloads (API-FACTS section 6; the
//! recurring guide's webhook section for the agreement events; the ePayment spec's
//! `WebhookEvent` for the payment events). What happens in the simulator raises the agreement
//! events and the QR check-in; `vippsctl sim trigger` raises any of [`TRIGGERABLE`] with
//! synthetic ids.

use super::state::Agreement;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

pub const AGREEMENT_ACTIVATED: &str = "recurring.agreement-activated.v1";
pub const AGREEMENT_REJECTED: &str = "recurring.agreement-rejected.v1";
pub const AGREEMENT_STOPPED: &str = "recurring.agreement-stopped.v1";
pub const AGREEMENT_EXPIRED: &str = "recurring.agreement-expired.v1";
pub const CHECKED_IN: &str = super::webhooks::CHECKED_IN_EVENT;
pub const LOGIN_PING: &str = "login.merchant-initiated.ping.v1";

/// How long a check-in's `customerToken` is valid (DOCS qr-api webhooks).
pub const CUSTOMER_TOKEN_MINUTES: i64 = 15;

/// The ePayment events and the `name` their payload carries (EP `PaymentEventName`).
pub const EPAYMENT_EVENTS: [(&str, &str); 8] = [
    ("epayments.payment.created.v1", "CREATED"),
    ("epayments.payment.aborted.v1", "ABORTED"),
    ("epayments.payment.expired.v1", "EXPIRED"),
    ("epayments.payment.cancelled.v1", "CANCELLED"),
    ("epayments.payment.captured.v1", "CAPTURED"),
    ("epayments.payment.refunded.v1", "REFUNDED"),
    ("epayments.payment.authorized.v1", "AUTHORIZED"),
    ("epayments.payment.terminated.v1", "TERMINATED"),
];

/// Every event `sim trigger` can send: those whose payload our sources document. The recurring
/// charge events are not among them: their payload is not in the sources (API-FACTS names them
/// only).
pub const TRIGGERABLE: [&str; 14] = [
    AGREEMENT_ACTIVATED,
    AGREEMENT_REJECTED,
    AGREEMENT_STOPPED,
    AGREEMENT_EXPIRED,
    CHECKED_IN,
    LOGIN_PING,
    EPAYMENT_EVENTS[0].0,
    EPAYMENT_EVENTS[1].0,
    EPAYMENT_EVENTS[2].0,
    EPAYMENT_EVENTS[3].0,
    EPAYMENT_EVENTS[4].0,
    EPAYMENT_EVENTS[5].0,
    EPAYMENT_EVENTS[6].0,
    EPAYMENT_EVENTS[7].0,
];

/// Who stopped an agreement (`actor` of `recurring.agreement-stopped.v1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Merchant,
    /// The customer, in the app.
    User,
}

impl Actor {
    pub fn as_str(self) -> &'static str {
        match self {
            Actor::Merchant => "MERCHANT",
            Actor::User => "USER",
        }
    }
}

pub(crate) fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// An agreement event's payload: the agreement (id and uuid), the merchant's externalId, what
/// happened and when; `actor` (`MERCHANT` or `USER`) on the stopped event only. API-FACTS names
/// only `actor`; the other names are those of the recurring guide's webhook section, as
/// receivers in the wild read them.
pub fn agreement(
    event: &str,
    msn: &str,
    (id, uuid): (&str, uuid::Uuid),
    external_id: Option<&str>,
    occurred: DateTime<Utc>,
    actor: Option<Actor>,
) -> Value {
    let mut v = json!({
        "agreementId": id,
        "agreementUUID": uuid,
        "eventType": event,
        "occurred": time(&occurred),
        "msn": msn,
    });
    if let Some(e) = external_id {
        v["agreementExternalId"] = json!(e);
    }
    if let Some(a) = actor {
        v["actor"] = json!(a.as_str());
    }
    v
}

pub fn for_agreement(
    event: &str,
    msn: &str,
    a: &Agreement,
    occurred: DateTime<Utc>,
    actor: Option<Actor>,
) -> Value {
    agreement(
        event,
        msn,
        (&a.id, a.uuid),
        a.external_id.as_deref(),
        occurred,
        actor,
    )
}

/// `user.checked-in.v1`: `{customerToken, merchantQrId, msn, initiatedAt}`.
pub fn checked_in(
    msn: &str,
    merchant_qr_id: &str,
    customer_token: &str,
    at: DateTime<Utc>,
) -> Value {
    json!({
        "customerToken": customer_token,
        "merchantQrId": merchant_qr_id,
        "msn": msn,
        "initiatedAt": time(&at),
    })
}

/// A customer token: opaque, drawn per check-in.
pub fn customer_token() -> String {
    format!(
        "ctok-{}{}",
        uuid::Uuid::new_v4().simple(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// What `sim trigger EVENT --msn N` sends: the event's documented payload with synthetic ids
/// (they name nothing in the simulator's state). `Err` lists what can be triggered.
pub fn synthetic(event: &str, msn: &str, now: DateTime<Utc>) -> Result<Value, String> {
    let short = || uuid::Uuid::new_v4().simple().to_string();
    if let Some((_, name)) = EPAYMENT_EVENTS.iter().find(|(e, _)| *e == event) {
        return Ok(json!({
            "msn": msn,
            "reference": format!("sim-trigger-{}", &short()[..12]),
            "pspReference": short(),
            "name": name,
            "amount": {"currency": "NOK", "value": 49900},
            "timestamp": time(&now),
            "idempotencyKey": null,
            "success": true,
        }));
    }
    let agreement_id = || format!("agr_sim{}", &short()[..4]);
    let ids = |id: &'_ str| -> (String, uuid::Uuid) { (id.to_string(), uuid::Uuid::new_v4()) };
    match event {
        AGREEMENT_ACTIVATED | AGREEMENT_REJECTED | AGREEMENT_EXPIRED | AGREEMENT_STOPPED => {
            let (id, uuid) = ids(&agreement_id());
            let actor = (event == AGREEMENT_STOPPED).then_some(Actor::User);
            Ok(agreement(
                event,
                msn,
                (&id, uuid),
                Some("sim-trigger"),
                now,
                actor,
            ))
        }
        CHECKED_IN => Ok(checked_in(msn, "sim-trigger", &customer_token(), now)),
        LOGIN_PING => Ok(json!({"auth_req_id": short()})),
        _ => Err(format!(
            "'{event}' cannot be triggered; use one of {}",
            TRIGGERABLE.join(", ")
        )),
    }
}
