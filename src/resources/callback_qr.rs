//! Merchant-callback QR codes (QR API v1): PUT is create-or-update, only `locationDescription`
//! changes, and scanning one fires the `user.checked-in.v1` webhook.

use super::{compare, Effect, Field, FieldDiff};
use crate::config::model::CallbackQr;
use crate::domain::model::LiveCallbackQr;

pub fn fields(desired: &CallbackQr, live: &LiveCallbackQr) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    compare(
        &mut out,
        Field::LocationDescription,
        live.location_description.as_deref(),
        Some(&desired.location_description),
        Effect::InPlace,
    );
    out
}

pub const NOTE_PRINTED: &str = "printed copies of this callback QR stop working once it is deleted";
