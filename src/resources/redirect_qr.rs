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
/// The API reports `expiresIn` (seconds left, -1 for none), not the ttl it was created with, so a
/// ttl change is visible only as "expiring" vs "not expiring".
pub fn fields(desired: &RedirectQr, live: &LiveRedirectQr) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    compare(
        &mut out,
        "redirectUrl",
        Some(&live.redirect_url),
        Some(&desired.redirect_url),
        Effect::InPlace,
    );
    let live_expires = matches!(live.expires_in, Some(n) if n >= 0);
    match (live_expires, desired.ttl) {
        (false, Some(ttl)) => out.push(FieldDiff::new(
            "ttl",
            Some("(none)".into()),
            Some(ttl.to_string()),
            Effect::ForcesReplacement,
        )),
        (true, None) => out.push(FieldDiff::new(
            "ttl",
            live.expires_in.map(|s| format!("(expires in {s}s)")),
            Some("(none)".into()),
            Effect::ForcesReplacement,
        )),
        _ => {}
    }
    out
}
