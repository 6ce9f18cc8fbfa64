//! Merchant-redirect QR codes (QR API v1). The id is merchant-chosen; only `redirectUrl` can be
//! updated. A deleted id never works again, even if created anew, so delete and replace break every
//! printed copy.

use super::{compare, Effect, FieldDiff};
use crate::api::model::LiveRedirectQr;
use crate::config::model::RedirectQr;

pub const NOTE_PRINTED: &str =
    "every printed copy of this QR code stops working for good (a deleted id never works again)";

/// Field differences between a declared QR and its live counterpart.
///
/// The API reports `expiresIn` (seconds left, -1 for none), never the ttl a code was created with.
/// What that proves: a code that expires against a declaration without ttl (and the reverse), and
/// a ttl shorter than the seconds left. A ttl at least as long as the time left cannot be told
/// from the one the code has: see [`ttl_unverified`]. The values shown do not move with the clock,
/// so a saved plan still matches the plan made when it is applied.
pub fn fields(desired: &RedirectQr, live: &LiveRedirectQr) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    compare(
        &mut out,
        "redirectUrl",
        Some(&live.redirect_url),
        Some(&desired.redirect_url),
        Effect::InPlace,
    );
    let ttl = |before: &str, after: String| {
        FieldDiff::new(
            "ttl",
            Some(before.into()),
            Some(after),
            Effect::ForcesReplacement,
        )
    };
    match (seconds_left(live), desired.ttl) {
        (None, Some(t)) => out.push(ttl("(none)", t.to_string())),
        (Some(_), None) => out.push(ttl("(set: the code expires)", "(none)".into())),
        (Some(left), Some(t)) if left > t => {
            out.push(ttl(&format!("(longer than {t})"), t.to_string()))
        }
        _ => {}
    }
    out
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
