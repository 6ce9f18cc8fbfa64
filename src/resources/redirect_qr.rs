//! Merchant-redirect QR codes (QR API v1). The id is merchant-chosen; only `redirectUrl` can be
//! updated. A deleted id never works again, even if created anew, so delete and replace break every
//! printed copy.

use super::{compare, Effect, Field, FieldDiff};
use crate::config::model::RedirectQr;
use crate::domain::model::LiveRedirectQr;
use serde_json::{json, Value};

pub const NOTE_PRINTED: &str =
    "every printed copy of this QR code stops working for good (a deleted id never works again)";
/// A replaced code keeps its id but gets new content: what was printed must be printed again.
pub const NOTE_PRINT_AGAIN: &str =
    "the new code has new content: export and print it again (vippsctl qr export)";

/// Field differences between a declared QR and its live counterpart.
///
/// The API reports `expiresIn` (seconds left, -1 for none), never the ttl a code was created with.
/// What that proves: a code that expires against a declaration without ttl (and the reverse), and
/// a ttl shorter than the seconds left. A ttl at least as long as the time left cannot be told
/// from the one the code has: see [`ttl_unverified`]. The values shown do not move with the clock,
/// so a saved plan still matches the plan made when it is applied.
pub fn fields(desired: &RedirectQr, live: &LiveRedirectQr) -> Vec<FieldDiff> {
    differences(&desired.redirect_url, desired.ttl, live)
}

/// [`fields`] of a QR code wanted with this url and ttl. The ttl's values say what is known:
/// `null` for none, a number of seconds, `{"expires": true}` for a code that expires after an
/// unknown time, `{"longerThan": t}` for one with more than `t` seconds left.
pub fn differences(redirect_url: &str, ttl: Option<u64>, live: &LiveRedirectQr) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    compare(
        &mut out,
        Field::RedirectUrl,
        Some(&live.redirect_url),
        Some(redirect_url),
        Effect::InPlace,
    );
    let change = |before: Value, after: Value| {
        FieldDiff::new(
            Field::Ttl,
            Some(before),
            Some(after),
            Effect::ForcesReplacement,
        )
    };
    match (seconds_left(live), ttl) {
        (None, Some(t)) => out.push(change(Value::Null, json!(t))),
        (Some(_), None) => out.push(change(json!({ "expires": true }), Value::Null)),
        (Some(left), Some(t)) if left > t => out.push(change(json!({ "longerThan": t }), json!(t))),
        _ => {}
    }
    out
}

/// A ttl value as plans show it (see [`differences`]).
pub fn show_ttl(v: &Value) -> String {
    if let Some(n) = v.as_u64() {
        return n.to_string();
    }
    if let Some(t) = v.get("longerThan").and_then(Value::as_u64) {
        return format!("(longer than {t})");
    }
    if v.get("expires").is_some() {
        return "(set: the code expires)".into();
    }
    "(none)".into()
}

/// Seconds until the live code expires, `None` when it never does.
fn seconds_left(live: &LiveRedirectQr) -> Option<u64> {
    live.expires_in.and_then(|s| u64::try_from(s).ok())
}

/// Whether the declared ttl cannot be checked: the code expires, and no later than the declared
/// ttl allows, so any ttl from the seconds left up to the declared one looks the same.
pub fn ttl_unverified(desired: &RedirectQr, live: &LiveRedirectQr) -> bool {
    matches!((seconds_left(live), desired.ttl), (Some(left), Some(t)) if left <= t)
}

/// Why the plan cannot show a ttl change, and how to force one.
pub fn ttl_unverified_note(address: &super::Address) -> (String, String) {
    (
        "the ttl cannot be read back: Vipps reports only the seconds left (expiresIn), and they fit the declared ttl".into(),
        format!(
            "a ttl change shows in a plan only when the new ttl is shorter than the time left; to apply any other, replace the code with --replace '{address}' (every printed copy stops working)"
        ),
    )
}
