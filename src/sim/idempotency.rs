//! Idempotency-Key replay, shared by the APIs that document it (recurring drafts and charges,
//! ePayment): the same key with the same request gets the first answer again, byte for byte; the
//! same key with another request is 409. Answers below 500 are kept (a 4xx is sticky for its key);
//! 5xx are not, so a retry runs again. The answers live in the merchant's state, so they survive a
//! restart with `--state`. Each API checks the key's own format before it gets here.

use super::core::{Ctx, Inner};
use super::state::{IdempotencyRecord, MerchantState};
use super::wire::{invalid, Reply};
use std::collections::BTreeMap;

/// Whose keys: each API keeps its own, as Vipps does (one key may be reused across APIs).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Keys {
    Recurring,
    Epayment,
}

impl Keys {
    fn of(self, m: &MerchantState) -> &BTreeMap<String, IdempotencyRecord> {
        match self {
            Keys::Recurring => &m.idempotency,
            Keys::Epayment => &m.epayment.idempotency,
        }
    }

    fn of_mut(self, m: &mut MerchantState) -> &mut BTreeMap<String, IdempotencyRecord> {
        match self {
            Keys::Recurring => &mut m.idempotency,
            Keys::Epayment => &mut m.epayment.idempotency,
        }
    }
}

/// Replay the answer `key` got, or run the request and keep its answer.
pub(crate) fn replay_or_run(
    inner: &mut Inner,
    ctx: &Ctx<'_>,
    keys: Keys,
    key: String,
    run: fn(&mut Inner, &Ctx<'_>) -> Reply,
) -> Reply {
    let body = match ctx.req.json() {
        Ok(Some(v)) => v.to_string(),
        _ => String::from_utf8_lossy(&ctx.req.body).into_owned(),
    };
    // A digest, not the request: the body may hold a phone number, and the state is served.
    let fingerprint = {
        use sha2::{Digest, Sha256};
        let text = format!("{} {} {}", ctx.req.method, ctx.req.path, body);
        hex::encode(Sha256::digest(text.as_bytes()))
    };
    let previous = inner
        .state
        .merchants
        .get(&ctx.msn)
        .and_then(|m| keys.of(m).get(&key));
    if let Some(prev) = previous {
        if prev.fingerprint == fingerprint {
            return match &prev.content_type {
                Some(ct) => Reply::raw(prev.status, ct, prev.body.clone().into_bytes()),
                None => Reply::empty(prev.status),
            };
        }
        return ctx.error(
            409,
            "The Idempotency-Key was already used for a different request.",
            &[invalid(
                "Idempotency-Key",
                "reused with a different request",
            )],
        );
    }
    let reply = run(inner, ctx);
    if reply.status < 500 {
        let record = IdempotencyRecord {
            fingerprint,
            status: reply.status,
            content_type: reply.content_type.clone(),
            body: String::from_utf8_lossy(&reply.body).into_owned(),
            created: inner.now(),
        };
        let m = inner.state.merchants.entry(ctx.msn.clone()).or_default();
        keys.of_mut(m).insert(key, record);
        inner.dirty = true;
    }
    reply
}
