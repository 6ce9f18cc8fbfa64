//! Recurring agreements (Recurring API v3). The id is server-assigned; `externalId` is the
//! merchant's key but not unique. A new agreement needs the customer's consent in the app, so
//! vippsctl drafts it and observes the outcome; PATCH changes a few fields; STOPPED is irreversible.
//! Agreements are never pruned.

use super::{text, Effect, Field, FieldDiff};
use crate::config::model::Agreement;
use crate::domain::model::{AgreementPatch, DraftAgreement, Interval, LiveAgreement, Pricing};
use serde_json::{json, Value};

pub const NOTE_STOP: &str =
    "stopping is irreversible: the customer must consent to a new agreement to resume";
/// A protected agreement found STOPPED: what it means, and what the merchant can do about it.
pub const NOTE_PROTECTED_STOPPED: &str =
    "a protected agreement is STOPPED; apply cannot restart it (stopping is irreversible)";
pub const WHAT_TO_DO_PROTECTED_STOPPED: &str =
    "to keep the customer, ask them to accept a new agreement: declare it with a new externalId; to accept the loss, declare this one `status: STOPPED` and remove `protect: true`";
pub const NOTE_PRICE: &str =
    "the new price applies to the next charges and Vipps does not ask the customer again: tell your customers (for a large change, consider a new agreement)";

fn amount(p: &Pricing) -> Option<(Field, i64)> {
    match p {
        Pricing::Legacy { amount, .. } => Some((Field::PricingAmount, *amount)),
        Pricing::Variable {
            suggested_max_amount,
            ..
        } => Some((Field::PricingSuggestedMaxAmount, *suggested_max_amount)),
        Pricing::Flexible { .. } => None,
    }
}

/// An interval as plans carry it: `{"unit": "MONTH", "count": 1}`.
pub fn interval_value(i: &Interval) -> Value {
    json!({ "unit": i.unit, "count": i.count })
}

/// A pricing as plans carry it (the API's shape: `{"type": "LEGACY", "amount": ..}`).
pub fn pricing_value(p: &Pricing) -> Value {
    serde_json::to_value(p).unwrap_or(Value::Null)
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
    if desired.product_name != live.product_name {
        out.push(FieldDiff::new(
            Field::ProductName,
            Some(text(&live.product_name)),
            Some(text(&desired.product_name)),
            Effect::InPlace,
        ));
    }
    if desired.product_description.is_some()
        && desired.product_description != live.product_description
    {
        out.push(FieldDiff::new(
            Field::ProductDescription,
            live.product_description.as_deref().map(text),
            desired.product_description.as_deref().map(text),
            Effect::InPlace,
        ));
    }
    if desired.merchant_agreement_url.is_some()
        && desired.merchant_agreement_url != live.merchant_agreement_url
    {
        out.push(FieldDiff::new(
            Field::MerchantAgreementUrl,
            live.merchant_agreement_url.as_deref().map(text),
            desired.merchant_agreement_url.as_deref().map(text),
            Effect::InPlace,
        ));
    }
    if want_pricing.type_name() != live.pricing.type_name() {
        out.push(FieldDiff::new(
            Field::PricingType,
            Some(text(live.pricing.type_name())),
            Some(text(want_pricing.type_name())),
            Effect::Unchangeable,
        ));
    } else {
        if want_pricing.currency() != live.pricing.currency() {
            out.push(FieldDiff::new(
                Field::PricingCurrency,
                Some(text(live.pricing.currency())),
                Some(text(want_pricing.currency())),
                Effect::Unchangeable,
            ));
        }
        if let (Some((field, want)), Some((_, have))) =
            (amount(&want_pricing), amount(&live.pricing))
        {
            if want != have {
                out.push(FieldDiff::new(
                    field,
                    Some(json!(have)),
                    Some(json!(want)),
                    Effect::InPlace,
                ));
            }
        }
    }
    if want_interval.is_some() && want_interval != live.interval {
        out.push(FieldDiff::new(
            Field::Interval,
            live.interval.as_ref().map(interval_value),
            want_interval.as_ref().map(interval_value),
            Effect::InPlace,
        ));
    }
    if let Some(live_url) = &live.merchant_redirect_url {
        if live_url != &desired.merchant_redirect_url {
            // Only used while the customer consents; once drafted it cannot change and no longer matters.
            out.push(FieldDiff::new(
                Field::MerchantRedirectUrl,
                Some(text(live_url)),
                Some(text(&desired.merchant_redirect_url)),
                Effect::Ignored,
            ));
        }
    }
    out
}

/// Why a plan's field changes make no PATCH: the plan was not made by vippsctl as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the plan changes {field} to {value}, which PATCH cannot set")]
pub struct PatchError {
    pub field: Field,
    pub value: String,
}

/// The PATCH body for the in-place differences, from their planned values alone.
pub fn patch(diffs: &[FieldDiff]) -> Result<AgreementPatch, PatchError> {
    let mut p = AgreementPatch::default();
    for d in diffs.iter().filter(|d| d.effect == Effect::InPlace) {
        let bad = || PatchError {
            field: d.field,
            value: d
                .after
                .as_ref()
                .map_or("nothing".to_string(), |v| v.to_string()),
        };
        let after = d.after.as_ref().ok_or_else(bad)?;
        let string = || after.as_str().map(str::to_string).ok_or_else(bad);
        match d.field {
            Field::ProductName => p.product_name = Some(string()?),
            Field::ProductDescription => p.product_description = Some(string()?),
            Field::MerchantAgreementUrl => p.merchant_agreement_url = Some(string()?),
            Field::PricingAmount => p.pricing_amount = Some(after.as_i64().ok_or_else(bad)?),
            Field::PricingSuggestedMaxAmount => {
                p.pricing_suggested_max_amount = Some(after.as_i64().ok_or_else(bad)?)
            }
            Field::Interval => {
                p.interval = Some(serde_json::from_value(after.clone()).map_err(|_| bad())?)
            }
            _ => return Err(bad()),
        }
    }
    Ok(p)
}

pub fn draft(desired: &Agreement) -> DraftAgreement {
    DraftAgreement::from(desired)
}
