//! Management API 1.1.6, the operations that are not "Idea/proposal": all sales units, the sales
//! units of a merchant by business identifier, and one sales unit with its `configuration`.
//!
//! Auth: a bearer token is required. A token from `/miami/v1/token` (partner keys) needs no
//! subscription key; a token from `/accesstoken/get` needs the subscription key of the same keys,
//! as on every other API (the spec's `security` names both). Either way the caller sees only the
//! sales units its keys act for. The spec defines no paging: a list is one answer.

use super::core::{check_system_headers, rate_limit, CallRecord, Ctx, Inner};
use super::wire::{gateway_error, invalid, Reply, Req};
use crate::specs::ops::Operation;
use serde_json::{json, Value};

pub(crate) fn handle(
    inner: &mut Inner,
    op: &'static Operation,
    params: Vec<String>,
    req: &Req,
    record: &mut CallRecord,
) -> Reply {
    let credential = match authenticate(inner, req) {
        Ok(c) => c,
        Err(reply) => return reply,
    };
    if let Some(reply) = check_system_headers(op, req) {
        return reply;
    }
    let ctx = Ctx {
        op,
        params,
        // Management calls act for the keys, not for one sales unit.
        msn: String::new(),
        req,
    };
    if let Some(reply) = rate_limit(inner, &ctx) {
        return reply;
    }
    let msns = inner
        .config
        .credentials
        .get(credential)
        .map(|c| c.msns.clone())
        .unwrap_or_default();
    let reply = match op.name {
        "list_sales_units" => ok(Value::Array(
            msns.iter().map(|m| msn_info(inner, m)).collect(),
        )),
        "get_sales_unit" => get_sales_unit(inner, &ctx, &msns),
        "list_merchant_sales_units" => merchant_sales_units(inner, &ctx, &msns),
        _ => ctx.error(404, "Not found.", &[]),
    };
    record.msn = req.header("Merchant-Serial-Number").map(str::to_string);
    reply
}

fn ok(body: Value) -> Reply {
    Reply::typed(200, "application/json;charset=UTF-8", &body)
}

fn msn_info(inner: &Inner, msn: &str) -> Value {
    let p = inner.config.sales_unit_profile(msn);
    json!({"msn": msn, "name": p.name})
}

fn scheme_of(inner: &Inner, msn: &str) -> &'static str {
    match inner.config.country(msn) {
        super::config::Country::Norway => "business:NO:ORG",
        super::config::Country::Denmark => "business:DK:CVR",
        super::config::Country::Finland => "business:FI:Y-tunnus",
    }
}

fn get_sales_unit(inner: &Inner, ctx: &Ctx<'_>, msns: &[String]) -> Reply {
    let msn = ctx.params.first().map(String::as_str).unwrap_or_default();
    // The path parameter's pattern is `^\d{3,}$`.
    if msn.len() < 3 || !msn.bytes().all(|b| b.is_ascii_digit()) {
        return ctx.error(
            400,
            "One or more validation errors occurred.",
            &[invalid("msn", "must be at least 3 digits")],
        );
    }
    if !msns.iter().any(|m| m == msn) {
        return ctx.error(
            404,
            &format!("No sales unit {msn} that these keys have access to."),
            &[],
        );
    }
    let p = inner.config.sales_unit_profile(msn);
    ok(json!({
        "msn": msn,
        "name": p.name,
        "businessIdentifier": {"scheme": scheme_of(inner, msn), "id": p.organisation},
        "configuration": {
            "paymentAllowed": p.payment_allowed,
            "captureType": "ReserveCapture",
            "skipLandingPageAllowed": false,
            "recurringAllowed": p.recurring_allowed,
        },
    }))
}

fn merchant_sales_units(inner: &Inner, ctx: &Ctx<'_>, msns: &[String]) -> Reply {
    let (Some(scheme), Some(id)) = (ctx.params.first(), ctx.params.get(1)) else {
        return ctx.error(404, "Not found.", &[]);
    };
    let found: Vec<Value> = msns
        .iter()
        .filter(|m| {
            scheme_of(inner, m) == scheme
                && inner.config.sales_unit_profile(m).organisation.as_deref() == Some(id.as_str())
        })
        .map(|m| msn_info(inner, m))
        .collect();
    if found.is_empty() {
        return ctx.error(
            404,
            &format!("No merchant {scheme}/{id} with sales units that these keys have access to."),
            &[],
        );
    }
    ok(Value::Array(found))
}

/// The keys behind the bearer token (their index in the configuration).
fn authenticate(inner: &Inner, req: &Req) -> Result<usize, Reply> {
    if !inner.config.require_auth {
        return Ok(0);
    }
    let Some(token) = req
        .header("Authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
    else {
        return Err(gateway_error(
            401,
            "Access denied due to missing access token.",
        ));
    };
    let Some(info) = inner.tokens.get(token.trim()) else {
        return Err(gateway_error(
            401,
            "Access denied due to invalid access token.",
        ));
    };
    if inner.now() >= info.expires_at {
        return Err(gateway_error(
            401,
            "Access denied: the access token has expired.",
        ));
    }
    if !info.management {
        let key = req.header("Ocp-Apim-Subscription-Key");
        let matches = inner
            .config
            .credentials
            .get(info.credential)
            .is_some_and(|c| key.is_some_and(|k| c.has_subscription_key(k)));
        if !matches {
            return Err(gateway_error(
                401,
                "Access denied due to missing or invalid subscription key. Make sure to provide a valid key for an active subscription.",
            ));
        }
    }
    Ok(info.credential)
}
