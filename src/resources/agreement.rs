//! Recurring agreements (Recurring API v3). The id is server-assigned; `externalId` is the
//! merchant's key but not unique. A new agreement needs the customer's consent in the app, so
//! vippsctl drafts it and observes the outcome; PATCH changes a few fields; STOPPED is irreversible.
//! Agreements are never pruned.

use super::{Effect, FieldDiff};
use crate::api::model::{AgreementPatch, DraftAgreement, Interval, LiveAgreement, Pricing};
use crate::config::model::Agreement;

pub const NOTE_STOP: &str =
    "stopping is irreversible: the customer must consent to a new agreement to resume";
/// A protected agreement found STOPPED: what it means, and what the merchant can do about it.
pub const NOTE_PROTECTED_STOPPED: &str =
    "a protected agreement is STOPPED; apply cannot restart it (stopping is irreversible)";
pub const WHAT_TO_DO_PROTECTED_STOPPED: &str =
    "to keep the customer, ask them to accept a new agreement: declare it with a new externalId; to accept the loss, declare this one `status: STOPPED` and remove `protect: true`";
pub const NOTE_PRICE: &str =
    "the new price applies to the next charges and Vipps does not ask the customer again: tell your customers (for a large change, consider a new agreement)";

fn amount(p: &Pricing) -> Option<(&'static str, i64)> {
    match p {
        Pricing::Legacy { amount, .. } => Some(("pricing.amount", *amount)),
        Pricing::Variable {
            suggested_max_amount,
            ..
        } => Some(("pricing.suggestedMaxAmount", *suggested_max_amount)),
        Pricing::Flexible { .. } => None,
    }
}

/// `1 MONTH`, as plans show an interval.
pub fn show_interval(i: &Interval) -> String {
    format!("{} {:?}", i.count, i.unit).to_uppercase()
}

/// The pricing as plans show it on create.
pub fn show_pricing(p: &Pricing) -> String {
    match p {
        Pricing::Legacy { amount, currency } => format!("LEGACY {amount} {currency}"),
        Pricing::Variable {
            suggested_max_amount,
            currency,
            ..
        } => format!("VARIABLE suggestedMaxAmount {suggested_max_amount} {currency}"),
        Pricing::Flexible { currency } => format!("FLEXIBLE {currency}"),
    }
}

/// Differences between a declared agreement and a live one, each marked with what can be done.
pub fn fields(desired: &Agreement, live: &LiveAgreement) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    let want_pricing = Pricing::from(&desired.pricing);
    let want_interval = desired.interval.as_ref().map(Interval::from);
    let s = super::show_str;
    if desired.product_name != live.product_name {
        out.push(FieldDiff::new(
            "productName",
            Some(s(&live.product_name)),
            Some(s(&desired.product_name)),
            Effect::InPlace,
        ));
    }
    if desired.product_description.is_some()
        && desired.product_description != live.product_description
    {
        out.push(FieldDiff::new(
            "productDescription",
            live.product_description.as_deref().map(s),
            desired.product_description.as_deref().map(s),
            Effect::InPlace,
        ));
    }
    if desired.merchant_agreement_url.is_some()
        && desired.merchant_agreement_url != live.merchant_agreement_url
    {
        out.push(FieldDiff::new(
            "merchantAgreementUrl",
            live.merchant_agreement_url.as_deref().map(s),
            desired.merchant_agreement_url.as_deref().map(s),
            Effect::InPlace,
        ));
    }
    if want_pricing.type_name() != live.pricing.type_name() {
        out.push(FieldDiff::new(
            "pricing.type",
            Some(live.pricing.type_name().into()),
            Some(want_pricing.type_name().into()),
            Effect::Unchangeable,
        ));
    } else {
        if want_pricing.currency() != live.pricing.currency() {
            out.push(FieldDiff::new(
                "pricing.currency",
                Some(live.pricing.currency().into()),
                Some(want_pricing.currency().into()),
                Effect::Unchangeable,
            ));
        }
        if let (Some((name, want)), Some((_, have))) =
            (amount(&want_pricing), amount(&live.pricing))
        {
            if want != have {
                out.push(FieldDiff::new(
                    name,
                    Some(have.to_string()),
                    Some(want.to_string()),
                    Effect::InPlace,
                ));
            }
        }
    }
    if want_interval.is_some() && want_interval != live.interval {
        out.push(FieldDiff::new(
            "interval",
            live.interval.as_ref().map(show_interval),
            want_interval.as_ref().map(show_interval),
            Effect::InPlace,
        ));
    }
    if let Some(live_url) = &live.merchant_redirect_url {
        if live_url != &desired.merchant_redirect_url {
            // Only used while the customer consents; once drafted it cannot change and no longer matters.
            out.push(FieldDiff::new(
                "merchantRedirectUrl",
                Some(s(live_url)),
                Some(s(&desired.merchant_redirect_url)),
                Effect::Ignored,
            ));
        }
    }
    out
}

/// The PATCH body for the in-place differences.
pub fn patch(desired: &Agreement, diffs: &[FieldDiff]) -> AgreementPatch {
    let mut p = AgreementPatch::default();
    for d in diffs.iter().filter(|d| d.effect == Effect::InPlace) {
        match d.field.as_str() {
            "productName" => p.product_name = Some(desired.product_name.clone()),
            "productDescription" => p.product_description = desired.product_description.clone(),
            "merchantAgreementUrl" => {
                p.merchant_agreement_url = desired.merchant_agreement_url.clone()
            }
            "pricing.amount" => {
                p.pricing_amount = amount(&Pricing::from(&desired.pricing)).map(|a| a.1)
            }
            "pricing.suggestedMaxAmount" => {
                p.pricing_suggested_max_amount =
                    amount(&Pricing::from(&desired.pricing)).map(|a| a.1)
            }
            "interval" => p.interval = desired.interval.as_ref().map(Interval::from),
            _ => {}
        }
    }
    p
}

pub fn draft(desired: &Agreement) -> DraftAgreement {
    DraftAgreement::from(desired)
}
