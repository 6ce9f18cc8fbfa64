//! What vippsctl knows about each kind of object: its key, which fields update in place, which
//! force a replacement, and (in `ops`) how to observe, create, update and delete it.
//! Nothing here prints; `plan` turns these facts into a plan.

pub mod agreement;
pub mod callback_qr;
pub mod live;
pub mod observe;
pub mod redirect_qr;
pub mod show;
pub mod webhook;

use serde::{Deserialize, Serialize};
use std::fmt;

pub use live::LiveMerchant;

/// The kinds of object vippsctl manages, named as in the YAML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    Webhooks,
    CallbackQrs,
    RedirectQrs,
    Agreements,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::Webhooks,
        Kind::CallbackQrs,
        Kind::RedirectQrs,
        Kind::Agreements,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Webhooks => "webhooks",
            Kind::CallbackQrs => "callbackQrs",
            Kind::RedirectQrs => "redirectQrs",
            Kind::Agreements => "agreements",
        }
    }

    /// Singular noun for sentences ("1 redirect QR").
    pub fn noun(self, n: usize) -> &'static str {
        match (self, n == 1) {
            (Kind::Webhooks, true) => "webhook",
            (Kind::Webhooks, false) => "webhooks",
            (Kind::CallbackQrs, true) => "callback QR",
            (Kind::CallbackQrs, false) => "callback QRs",
            (Kind::RedirectQrs, true) => "redirect QR",
            (Kind::RedirectQrs, false) => "redirect QRs",
            (Kind::Agreements, true) => "agreement",
            (Kind::Agreements, false) => "agreements",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<crate::config::model::Kind> for Kind {
    fn from(k: crate::config::model::Kind) -> Self {
        use crate::config::model::Kind as C;
        match k {
            C::Webhooks => Kind::Webhooks,
            C::RedirectQrs => Kind::RedirectQrs,
            C::CallbackQrs => Kind::CallbackQrs,
        }
    }
}

/// Where an object lives: `<msn>.<kind>[<key>]`, as plans print it and `--target` takes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Address {
    pub msn: String,
    pub kind: Kind,
    pub key: String,
}

impl Address {
    pub fn new(msn: &str, kind: Kind, key: impl Into<String>) -> Self {
        Address {
            msn: msn.to_string(),
            kind,
            key: key.into(),
        }
    }

    /// Parse the printed form back (`123456.redirectQrs[menu-1]`).
    pub fn parse(s: &str) -> Option<Address> {
        let (msn, rest) = s.split_once('.')?;
        let (kind, key) = rest.split_once('[')?;
        let key = key.strip_suffix(']')?;
        Some(Address::new(msn, Kind::parse(kind)?, key))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}[{}]", self.msn, self.kind, self.key)
    }
}

/// What a field difference means for the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// The API can change it in place.
    InPlace,
    /// The API cannot change it: the object must be replaced.
    ForcesReplacement,
    /// The API cannot change it and replacing is not allowed (needs the customer's consent).
    Unchangeable,
    /// Shown for information; no action follows.
    Ignored,
}

/// A field of a live object, named as the API names it (`pricing.amount` is `amount` inside
/// `pricing`). Plans carry these, never display text, so apply and the renderers read the same
/// typed data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Field {
    #[serde(rename = "url")]
    Url,
    #[serde(rename = "events")]
    Events,
    /// Where a new registration's one-time secret goes (the sink, never the secret).
    #[serde(rename = "secret")]
    Secret,
    #[serde(rename = "redirectUrl")]
    RedirectUrl,
    #[serde(rename = "ttl")]
    Ttl,
    #[serde(rename = "locationDescription")]
    LocationDescription,
    #[serde(rename = "productName")]
    ProductName,
    #[serde(rename = "productDescription")]
    ProductDescription,
    #[serde(rename = "merchantAgreementUrl")]
    MerchantAgreementUrl,
    #[serde(rename = "merchantRedirectUrl")]
    MerchantRedirectUrl,
    /// The whole pricing of a new agreement.
    #[serde(rename = "pricing")]
    Pricing,
    #[serde(rename = "pricing.type")]
    PricingType,
    #[serde(rename = "pricing.currency")]
    PricingCurrency,
    #[serde(rename = "pricing.amount")]
    PricingAmount,
    #[serde(rename = "pricing.suggestedMaxAmount")]
    PricingSuggestedMaxAmount,
    #[serde(rename = "interval")]
    Interval,
    /// Personal data: always masked.
    #[serde(rename = "phoneNumber")]
    PhoneNumber,
    #[serde(rename = "status")]
    Status,
}

impl Field {
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Url => "url",
            Field::Events => "events",
            Field::Secret => "secret",
            Field::RedirectUrl => "redirectUrl",
            Field::Ttl => "ttl",
            Field::LocationDescription => "locationDescription",
            Field::ProductName => "productName",
            Field::ProductDescription => "productDescription",
            Field::MerchantAgreementUrl => "merchantAgreementUrl",
            Field::MerchantRedirectUrl => "merchantRedirectUrl",
            Field::Pricing => "pricing",
            Field::PricingType => "pricing.type",
            Field::PricingCurrency => "pricing.currency",
            Field::PricingAmount => "pricing.amount",
            Field::PricingSuggestedMaxAmount => "pricing.suggestedMaxAmount",
            Field::Interval => "interval",
            Field::PhoneNumber => "phoneNumber",
            Field::Status => "status",
        }
    }

    /// A price field: changing it changes what the customer pays.
    pub fn is_pricing(self) -> bool {
        matches!(
            self,
            Field::Pricing
                | Field::PricingType
                | Field::PricingCurrency
                | Field::PricingAmount
                | Field::PricingSuggestedMaxAmount
        )
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One field that differs between the live object and the configuration, with typed values
/// (strings, numbers, arrays and objects as the API has them; `null` where the object has none).
/// Renderers format these; apply reads them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDiff {
    pub field: Field,
    /// Absent when the object had no such field (a create); `null` when it had none set.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub before: Option<serde_json::Value>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub after: Option<serde_json::Value>,
    pub effect: Effect,
    /// Personal data: masked in the plan and in every rendering.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub personal: bool,
}

/// A value that is there, even as `null` (serde would read `null` as `None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

impl FieldDiff {
    pub fn new(
        field: Field,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
        effect: Effect,
    ) -> Self {
        FieldDiff {
            field,
            before,
            after,
            effect,
            personal: false,
        }
    }
}

/// A string value.
pub fn text(s: &str) -> serde_json::Value {
    serde_json::Value::String(s.to_string())
}

/// A string as plans show it: quoted.
pub fn show_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

/// Compare two optional string fields and push a diff when they differ.
pub(crate) fn compare(
    out: &mut Vec<FieldDiff>,
    field: Field,
    live: Option<&str>,
    desired: Option<&str>,
    effect: Effect,
) {
    if live != desired {
        out.push(FieldDiff::new(
            field,
            live.map(text),
            desired.map(text),
            effect,
        ));
    }
}

/// Phone numbers in plans follow the one masking rule (`crate::mask`).
pub use crate::mask::phone as mask_phone;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_round_trips() {
        let a = Address::new("123456", Kind::RedirectQrs, "menu table 1");
        assert_eq!(a.to_string(), "123456.redirectQrs[menu table 1]");
        assert_eq!(Address::parse(&a.to_string()), Some(a));
        assert_eq!(Address::parse("123456.nope[x]"), None);
    }
}
