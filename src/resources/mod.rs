//! What vippsctl knows about each kind of object: its key, which fields update in place, which
//! force a replacement, and (in `ops`) how to observe, create, update and delete it.
//! Nothing here prints; `plan` turns these facts into a plan.

pub mod agreement;
pub mod callback_qr;
pub mod live;
pub mod observe;
pub mod redirect_qr;
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

/// One field that differs between the live object and the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDiff {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub effect: Effect,
    /// Personal data: masked in every rendering.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub personal: bool,
}

impl FieldDiff {
    pub fn new(field: &str, before: Option<String>, after: Option<String>, effect: Effect) -> Self {
        FieldDiff {
            field: field.to_string(),
            before,
            after,
            effect,
            personal: false,
        }
    }
}

/// A value as plans show it: strings quoted, numbers bare.
pub fn show_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

pub fn show_opt(s: Option<&str>) -> Option<String> {
    s.map(show_str)
}

/// Compare two optional string fields and push a diff when they differ.
pub(crate) fn compare(
    out: &mut Vec<FieldDiff>,
    field: &str,
    live: Option<&str>,
    desired: Option<&str>,
    effect: Effect,
) {
    if live != desired {
        out.push(FieldDiff::new(
            field,
            show_opt(live),
            show_opt(desired),
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
