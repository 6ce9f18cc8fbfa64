//! ePayment API v1 (`upstream-openapi/epayment/latest.yaml`, 1.8.1): create (Idempotency-Key,
//! merchant-chosen reference unique per MSN), get, the event log, capture, refund, cancel and the
//! test-only force approve; the state machine CREATED -> AUTHORIZED / ABORTED / EXPIRED /
//! TERMINATED with the aggregate amounts; Express checkout's `shipping` (fixed options, or the
//! merchant's dynamic shipping callback, called when the customer approves); the
//! `epayments.payment.*.v1` webhooks. The customer's side (approve, reject, the landing page and
//! the QR) is under `/_sim/payments/` and `/_sim/pay/`. Errors are `Problem` as problem+json.

use super::config::Country;
use super::control::{escape, page};
use super::core::{Ctx, Inner, Sim};
use super::events::{time, EPAYMENT_EVENTS};
use super::state::{Msisdn, Payment, PaymentEventRecord, PaymentState};
use super::wire::{invalid, percent_decode, percent_encode, Invalid, Reply, Req};
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

/// "For most APIs, the user has 10 minutes to accept the payment" (DOCS knowledge-base/timeouts).
pub const PAYMENT_WINDOW_MINUTES: i64 = 10;
/// `Idempotency-Key` `maxLength: 50`.
pub const IDEMPOTENCY_KEY_MAX_LEN: usize = 50;
/// `Amount.value` `maximum`.
pub const AMOUNT_MAX: i64 = 65_000_000;
/// `expiresAt`: "more than 10 minutes and less than 60 days in the future".
pub const LONG_LIVING_MIN_MINUTES: i64 = 10;
pub const LONG_LIVING_MAX_DAYS: i64 = 60;
const METADATA_MAX_PAIRS: usize = 5;
const METADATA_KEY_MAX: usize = 100;
const METADATA_VALUE_MAX: usize = 500;
const USER_FLOWS: [&str; 4] = ["PUSH_MESSAGE", "NATIVE_REDIRECT", "WEB_REDIRECT", "QR"];
const SCOPES: [&str; 6] = [
    "name",
    "address",
    "email",
    "phoneNumber",
    "birthDate",
    "nin",
];
const SHIPPING_TYPES: [&str; 5] = [
    "HOME_DELIVERY",
    "PICKUP_POINT",
    "MAILBOX",
    "IN_STORE",
    "OTHER",
];
const SHIPPING_BRANDS: [&str; 13] = [
    "POSTEN",
    "BRING",
    "POSTNORD",
    "HELTHJEM",
    "PORTERBUDDY",
    "DHL",
    "INSTABOX",
    "FEDEX",
    "MATKAHUOLTO",
    "GLS",
    "POSTI",
    "GORDON",
    "OTHER",
];

/// The currency of a sales unit's market.
pub fn market_currency(country: Country) -> &'static str {
    match country {
        Country::Norway => "NOK",
        Country::Denmark => "DKK",
        Country::Finland => "EUR",
    }
}

/// "The minimum amounts allowed are NOK 100 øre, DKK 1 øre, EUR 1 cent" (`Amount.value`).
fn minimum_amount(currency: &str) -> i64 {
    if currency == "NOK" {
        100
    } else {
        1
    }
}

pub(crate) fn handle(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    match ctx.op.name {
        "create_payment" => idempotent(inner, ctx, true, create),
        "get_payment" => get(inner, ctx),
        "get_payment_events" => event_log(inner, ctx),
        "capture_payment" => idempotent(inner, ctx, true, capture),
        "refund_payment" => idempotent(inner, ctx, true, refund),
        // Cancel declares no Idempotency-Key ("recommended" in the guide): honoured when sent.
        "cancel_payment" => idempotent(inner, ctx, false, cancel),
        "force_approve_payment" => force_approve(inner, ctx),
        _ => ctx.error(404, "Not found", &[]),
    }
}

/// Same key and same request: the first answer again. Same key, another request (another
/// operation, reference or body): 409. Answers below 500 are kept, for the life of the state.
fn idempotent(
    inner: &mut Inner,
    ctx: &Ctx<'_>,
    required: bool,
    run: fn(&mut Inner, &Ctx<'_>) -> Reply,
) -> Reply {
    let key = match ctx.req.header("Idempotency-Key") {
        None if required => {
            return ctx.error(
                400,
                "The Idempotency-Key header is required.",
                &[invalid("Idempotency-Key", "required")],
            )
        }
        None => None,
        Some(k) if k.is_empty() || k.chars().count() > IDEMPOTENCY_KEY_MAX_LEN => {
            return ctx.error(
                400,
                "The Idempotency-Key must be 1 to 50 characters.",
                &[invalid("Idempotency-Key", "must be 1 to 50 characters")],
            )
        }
        Some(k) => Some(k.to_string()),
    };
    let Some(key) = key else {
        return run(inner, ctx);
    };
    super::idempotency::replay_or_run(inner, ctx, super::idempotency::Keys::Epayment, key, run)
}

fn body_object(ctx: &Ctx<'_>, required: bool) -> Result<Map<String, Value>, Reply> {
    match ctx.req.json() {
        Ok(Some(Value::Object(m))) => Ok(m),
        Ok(None) if !required => Ok(Map::new()),
        Ok(None) => Err(ctx.error(400, "A request body is required.", &[])),
        Ok(Some(_)) => Err(ctx.error(400, "The request body must be a JSON object.", &[])),
        Err(e) => Err(ctx.error(400, &e, &[])),
    }
}

fn valid_reference(r: &str) -> bool {
    (8..=64).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// `https://` or a custom scheme (`myapp://`): never plain http.
fn valid_return_url(u: &str) -> bool {
    let Some((scheme, rest)) = u.split_once("://") else {
        return false;
    };
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c));
    scheme_ok && !scheme.eq_ignore_ascii_case("http") && !rest.is_empty()
}

fn psp_reference() -> String {
    let n = uuid::Uuid::new_v4().as_u128() % 10_000_000_000;
    format!("{n:010}")
}

/// Check an `Amount` object: currency `want` (when given), value within the spec's range and at
/// least `min`.
fn check_amount(
    v: Option<&Value>,
    field: &str,
    want: Option<&str>,
    min: i64,
    problems: &mut Vec<Invalid>,
) -> Option<(String, i64)> {
    let Some(obj) = v.and_then(Value::as_object) else {
        problems.push(invalid(field, "required: {currency, value}"));
        return None;
    };
    let currency = obj.get("currency").and_then(Value::as_str);
    let value = obj.get("value").and_then(Value::as_i64);
    let Some(currency) = currency.filter(|c| ["NOK", "DKK", "EUR"].contains(c)) else {
        problems.push(invalid(
            &format!("{field}.currency"),
            "must be NOK, DKK or EUR",
        ));
        return None;
    };
    if let Some(w) = want {
        if currency != w {
            problems.push(invalid(
                &format!("{field}.currency"),
                format!("must be {w}, the currency of this payment's sales unit"),
            ));
            return None;
        }
    }
    let Some(value) = value else {
        problems.push(invalid(&format!("{field}.value"), "required: an integer"));
        return None;
    };
    if !(min..=AMOUNT_MAX).contains(&value) {
        problems.push(invalid(
            &format!("{field}.value"),
            format!("must be between {min} and {AMOUNT_MAX} (minor units)"),
        ));
        return None;
    }
    Some((currency.to_string(), value))
}

fn str_len(
    m: &Map<String, Value>,
    key: &str,
    path: &str,
    range: std::ops::RangeInclusive<usize>,
    problems: &mut Vec<Invalid>,
) -> Option<String> {
    match m.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if range.contains(&s.chars().count()) => Some(s.clone()),
        Some(_) => {
            problems.push(invalid(
                path,
                format!(
                    "must be a string of {} to {} characters",
                    range.start(),
                    range.end()
                ),
            ));
            None
        }
    }
}

/// `Customer`: exactly one of phoneNumber, personalQr and customerToken.
fn check_customer(
    inner: &Inner,
    msn: &str,
    v: &Value,
    path: &str,
    problems: &mut Vec<Invalid>,
) -> Option<Option<Msisdn>> {
    let Some(c) = v.as_object() else {
        problems.push(invalid(path, "must be an object"));
        return None;
    };
    let given: Vec<&str> = ["phoneNumber", "personalQr", "customerToken"]
        .into_iter()
        .filter(|k| c.get(*k).is_some_and(|x| !x.is_null()))
        .collect();
    if given.len() != 1 {
        problems.push(invalid(
            path,
            "give exactly one of phoneNumber, personalQr and customerToken",
        ));
        return None;
    }
    let before = problems.len();
    let mut phone = None;
    match given[0] {
        "phoneNumber" => match c.get("phoneNumber").and_then(Value::as_str) {
            Some(p) if (9..=15).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()) => {
                phone = Some(Msisdn(p.to_string()));
            }
            _ => problems.push(invalid(
                &format!("{path}.phoneNumber"),
                "must be an MSISDN of 9 to 15 digits",
            )),
        },
        "personalQr" => {
            str_len(
                c,
                "personalQr",
                &format!("{path}.personalQr"),
                5..=255,
                problems,
            );
        }
        _ => match c.get("customerToken").and_then(Value::as_str) {
            Some(t) if inner.customer_token_valid(msn, t) => {}
            _ => problems.push(invalid(
                &format!("{path}.customerToken"),
                "is not a customer token of this sales unit that is still valid (a check-in's token is valid 15 minutes)",
            )),
        },
    }
    (problems.len() == before).then_some(phone)
}

fn check_receipt(v: &Value, problems: &mut Vec<Invalid>) {
    let Some(r) = v.as_object() else {
        problems.push(invalid("receipt", "must be an object"));
        return;
    };
    match r.get("orderLines").and_then(Value::as_array) {
        Some(lines) if !lines.is_empty() => {
            for (i, l) in lines.iter().enumerate() {
                let path = format!("receipt.orderLines[{i}]");
                let Some(l) = l.as_object() else {
                    problems.push(invalid(&path, "must be an object"));
                    continue;
                };
                for k in ["name", "id"] {
                    if !l.get(k).is_some_and(Value::is_string) {
                        problems.push(invalid(&format!("{path}.{k}"), "required"));
                    }
                }
                for k in ["totalAmount", "totalAmountExcludingTax", "totalTaxAmount"] {
                    if !l.get(k).is_some_and(Value::is_i64) {
                        problems.push(invalid(&format!("{path}.{k}"), "required: an integer"));
                    }
                }
                let pct = l.get("taxPercentage").and_then(Value::as_i64);
                let rate = l.get("taxRate").and_then(Value::as_i64);
                if pct.is_none() && rate.is_none() {
                    problems.push(invalid(&path, "taxRate or taxPercentage must be set"));
                }
                if pct.is_some_and(|p| !(0..=100).contains(&p)) {
                    problems.push(invalid(&format!("{path}.taxPercentage"), "0 to 100"));
                }
                if rate.is_some_and(|p| !(0..=10_000).contains(&p)) {
                    problems.push(invalid(&format!("{path}.taxRate"), "0 to 10000"));
                }
            }
        }
        _ => problems.push(invalid(
            "receipt.orderLines",
            "required: at least one order line",
        )),
    }
    let currency = r
        .get("bottomLine")
        .and_then(|b| b.get("currency"))
        .and_then(Value::as_str);
    if !currency.is_some_and(|c| ["NOK", "DKK", "EUR"].contains(&c)) {
        problems.push(invalid(
            "receipt.bottomLine.currency",
            "required: NOK, DKK or EUR",
        ));
    }
}

/// The ports Vipps sends callbacks to: "We do not send requests to all ports, so use common
/// ports such as: 80, 443, 8080" (EP `DynamicOptions.callbackUrl`).
pub const CALLBACK_PORTS: [u16; 3] = [80, 443, 8080];

/// A dynamic shipping `callbackUrl` as Vipps takes it: "The URL must use HTTPS", on a common
/// port. A local `http://` URL only with `--lenient-http-callbacks`. `Err` says what to change.
fn check_callback_url(u: &str, lenient: &super::config::Leniency) -> Result<(), String> {
    let Ok(url) = url::Url::parse(u) else {
        return Err("required: an https URL".into());
    };
    let local_http = url.scheme() == "http" && super::delivery::check_forward(u).is_ok();
    if url.scheme() != "https" && !(local_http && lenient.http_callbacks) {
        return Err(if local_http {
            "must use HTTPS (locally: name an https URL and run `sim serve --callbacks-to http://127.0.0.1:PORT/...`, or start the simulator with --lenient-http-callbacks)".into()
        } else {
            "must use HTTPS".into()
        });
    }
    if url.host().is_none() {
        return Err("required: an https URL with a host".into());
    }
    match url.port_or_known_default() {
        Some(p) if CALLBACK_PORTS.contains(&p) || url.scheme() == "http" => Ok(()),
        _ => Err(format!(
            "must use a common port ({}): Vipps does not send requests to all ports",
            CALLBACK_PORTS.map(|p| p.to_string()).join(", ")
        )),
    }
}

fn check_shipping_group(g: &Value, path: &str, currency: &str, problems: &mut Vec<Invalid>) {
    let Some(g) = g.as_object() else {
        problems.push(invalid(path, "must be an object"));
        return;
    };
    if !g
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| SHIPPING_TYPES.contains(&t))
    {
        problems.push(invalid(
            &format!("{path}.type"),
            format!("required: one of {}", SHIPPING_TYPES.join(", ")),
        ));
    }
    if !g
        .get("brand")
        .and_then(Value::as_str)
        .is_some_and(|t| SHIPPING_BRANDS.contains(&t))
    {
        problems.push(invalid(
            &format!("{path}.brand"),
            format!("required: one of {}", SHIPPING_BRANDS.join(", ")),
        ));
    }
    let Some(options) = g.get("options").and_then(Value::as_array) else {
        problems.push(invalid(&format!("{path}.options"), "required: an array"));
        return;
    };
    for (i, o) in options.iter().enumerate() {
        let p = format!("{path}.options[{i}]");
        if !o.get("id").is_some_and(Value::is_string) {
            problems.push(invalid(&format!("{p}.id"), "required"));
        }
        if !o.get("name").is_some_and(Value::is_string) {
            problems.push(invalid(&format!("{p}.name"), "required"));
        }
        check_amount(
            o.get("amount"),
            &format!("{p}.amount"),
            Some(currency),
            0,
            problems,
        );
    }
}

fn check_shipping(
    v: &Value,
    currency: &str,
    lenient: &super::config::Leniency,
    problems: &mut Vec<Invalid>,
) {
    let Some(s) = v.as_object() else {
        problems.push(invalid("shipping", "must be an object"));
        return;
    };
    let dynamic = s.get("dynamicOptions").filter(|x| !x.is_null());
    let fixed = s.get("fixedOptions").filter(|x| !x.is_null());
    match (dynamic, fixed) {
        (Some(_), Some(_)) => problems.push(invalid(
            "shipping",
            "either dynamicOptions or fixedOptions, not both",
        )),
        (None, None) => problems.push(invalid("shipping", "needs dynamicOptions or fixedOptions")),
        (Some(d), None) => {
            let checked = match d.get("callbackUrl").and_then(Value::as_str) {
                Some(u) => check_callback_url(u, lenient),
                None => Err("required: an https URL".into()),
            };
            if let Err(why) = checked {
                problems.push(invalid("shipping.dynamicOptions.callbackUrl", why));
            }
            match d.get("callbackAuthorizationToken") {
                None | Some(Value::Null) => {}
                Some(Value::String(t))
                    if (1..=50).contains(&t.len())
                        && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') => {}
                Some(_) => problems.push(invalid(
                    "shipping.dynamicOptions.callbackAuthorizationToken",
                    "must match ^[a-zA-Z0-9-]{1,50}$ (it is sent back as the callback's Authorization header)",
                )),
            }
        }
        (None, Some(f)) => match f.as_array() {
            Some(groups) => {
                for (i, g) in groups.iter().enumerate() {
                    check_shipping_group(
                        g,
                        &format!("shipping.fixedOptions[{i}]"),
                        currency,
                        problems,
                    );
                }
            }
            None => problems.push(invalid("shipping.fixedOptions", "must be an array")),
        },
    }
}

fn create(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    let b = match body_object(ctx, true) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let now = inner.now();
    let country = inner
        .config
        .countries
        .get(&ctx.msn)
        .copied()
        .unwrap_or_default();
    let market = market_currency(country);
    let mut problems = Vec::new();

    let reference = match b.get("reference").and_then(Value::as_str) {
        Some(r) if valid_reference(r) => Some(r.to_string()),
        _ => {
            problems.push(invalid("reference", "required: ^[a-zA-Z0-9-]{8,64}$"));
            None
        }
    };
    let amount = check_amount(
        b.get("amount"),
        "amount",
        Some(market),
        minimum_amount(market),
        &mut problems,
    );
    let method = b
        .get("paymentMethod")
        .and_then(|m| m.get("type"))
        .and_then(Value::as_str)
        .filter(|t| ["WALLET", "CARD"].contains(t));
    if method.is_none() {
        problems.push(invalid("paymentMethod.type", "required: WALLET or CARD"));
    }
    if let Some(blocked) = b.get("paymentMethod").and_then(|m| m.get("blockedSources")) {
        let ok = blocked
            .as_array()
            .is_some_and(|a| a.iter().all(|x| x.as_str() == Some("COMMERCIAL_CARDS")));
        if !ok {
            problems.push(invalid(
                "paymentMethod.blockedSources",
                "must be an array of COMMERCIAL_CARDS",
            ));
        }
    }
    let flow = b
        .get("userFlow")
        .and_then(Value::as_str)
        .filter(|f| USER_FLOWS.contains(f));
    if flow.is_none() {
        problems.push(invalid(
            "userFlow",
            "required: PUSH_MESSAGE, NATIVE_REDIRECT, WEB_REDIRECT or QR",
        ));
    }
    if method == Some("CARD") && flow.is_some_and(|f| f != "WEB_REDIRECT") {
        problems.push(invalid(
            "paymentMethod.type",
            "CARD has to be combined with the WEB_REDIRECT userFlow",
        ));
    }
    let customer = b.get("customer").filter(|c| !c.is_null());
    let phone = match customer {
        Some(c) => check_customer(inner, &ctx.msn, c, "customer", &mut problems).flatten(),
        None => None,
    };
    if flow == Some("PUSH_MESSAGE") && customer.is_none() {
        problems.push(invalid("customer", "PUSH_MESSAGE needs a valid customer"));
    }
    let return_url = str_len(&b, "returnUrl", "returnUrl", 1..=2500, &mut problems);
    if return_url.as_deref().is_some_and(|u| !valid_return_url(u)) {
        problems.push(invalid(
            "returnUrl",
            "must use https:// or a custom URL scheme",
        ));
    }
    if flow == Some("WEB_REDIRECT") && return_url.is_none() {
        problems.push(invalid("returnUrl", "WEB_REDIRECT needs a valid returnUrl"));
    }
    match b.get("receiptUrl") {
        None | Some(Value::Null) => {}
        Some(Value::String(u)) if valid_return_url(u) => {}
        Some(_) => problems.push(invalid(
            "receiptUrl",
            "must use https:// or a custom URL scheme",
        )),
    }
    str_len(
        &b,
        "paymentDescription",
        "paymentDescription",
        3..=100,
        &mut problems,
    );
    match b.get("minimumUserAge") {
        None | Some(Value::Null) => {}
        Some(v) if v.as_i64().is_some_and(|a| (0..=100).contains(&a)) => {}
        Some(_) => problems.push(invalid("minimumUserAge", "an integer from 0 to 100")),
    }
    match b.get("customerInteraction") {
        None => {}
        Some(Value::String(s)) if s == "CUSTOMER_PRESENT" || s == "CUSTOMER_NOT_PRESENT" => {}
        Some(_) => problems.push(invalid(
            "customerInteraction",
            "CUSTOMER_PRESENT or CUSTOMER_NOT_PRESENT",
        )),
    }
    let metadata = match b.get("metadata") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => {
            let ok = m.len() <= METADATA_MAX_PAIRS
                && m.iter().all(|(k, v)| {
                    k.chars().count() <= METADATA_KEY_MAX
                        && v.as_str()
                            .is_some_and(|s| s.chars().count() <= METADATA_VALUE_MAX)
                });
            if !ok {
                problems.push(invalid(
                    "metadata",
                    "at most 5 pairs, keys of at most 100 and string values of at most 500 characters",
                ));
            }
            Some(Value::Object(m.clone()))
        }
        Some(_) => {
            problems.push(invalid("metadata", "must be an object"));
            None
        }
    };
    let scope = match b.get("profile").and_then(|p| p.get("scope")) {
        None | Some(Value::Null) => None,
        Some(Value::String(s))
            if !s.trim().is_empty() && s.split_whitespace().all(|x| SCOPES.contains(&x)) =>
        {
            Some(s.clone())
        }
        Some(_) => {
            problems.push(invalid(
                "profile.scope",
                "space-separated: name, address, email, phoneNumber, birthDate, nin",
            ));
            None
        }
    };
    let mut expires_at = now + chrono::Duration::minutes(PAYMENT_WINDOW_MINUTES);
    match b.get("expiresAt") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => match DateTime::parse_from_rfc3339(s) {
            Ok(t) => {
                let t = t.with_timezone(&Utc);
                let lo = now + chrono::Duration::minutes(LONG_LIVING_MIN_MINUTES);
                let hi = now + chrono::Duration::days(LONG_LIVING_MAX_DAYS);
                if t <= lo || t >= hi {
                    problems.push(invalid(
                        "expiresAt",
                        "must be more than 10 minutes and less than 60 days in the future",
                    ));
                }
                if b.get("receipt").is_none_or(Value::is_null) {
                    problems.push(invalid("receipt", "required when expiresAt is set"));
                }
                expires_at = t;
            }
            Err(_) => problems.push(invalid("expiresAt", "must be an RFC 3339 date-time")),
        },
        Some(_) => problems.push(invalid("expiresAt", "must be an RFC 3339 date-time")),
    }
    let mut qr = ("IMAGE/SVG+XML".to_string(), 1024u32);
    if let Some(q) = b.get("qrFormat").filter(|q| !q.is_null()) {
        let format = q.get("format").and_then(Value::as_str);
        match format {
            Some(f @ ("TEXT/TARGETURL" | "IMAGE/SVG+XML" | "IMAGE/PNG")) => qr.0 = f.to_string(),
            _ => problems.push(invalid(
                "qrFormat.format",
                "required: TEXT/TARGETURL, IMAGE/SVG+XML or IMAGE/PNG",
            )),
        }
        match q.get("size") {
            None | Some(Value::Null) => {}
            Some(v) => match v.as_u64().and_then(|s| u32::try_from(s).ok()) {
                Some(s) if (100..=2000).contains(&s) => qr.1 = s,
                _ => problems.push(invalid("qrFormat.size", "100 to 2000")),
            },
        }
    }
    if let Some(r) = b.get("receipt").filter(|r| !r.is_null()) {
        check_receipt(r, &mut problems);
    }
    let shipping = b.get("shipping").filter(|s| !s.is_null()).cloned();
    if let Some(s) = &shipping {
        let lenient = inner.config.lenient;
        check_shipping(s, market, &lenient, &mut problems);
    }
    if let Some(a) = b
        .get("industryData")
        .and_then(|i| i.get("airlineData"))
        .and_then(Value::as_object)
    {
        let limits = [
            ("agencyInvoiceNumber", 1, 6),
            ("airlineCode", 3, 3),
            ("airlineDesignatorCode", 2, 2),
            ("passengerName", 1, 49),
        ];
        for (k, lo, hi) in limits {
            if a.get(k).is_none_or(Value::is_null) {
                problems.push(invalid(
                    &format!("industryData.airlineData.{k}"),
                    "required",
                ));
            } else {
                str_len(
                    a,
                    k,
                    &format!("industryData.airlineData.{k}"),
                    lo..=hi,
                    &mut problems,
                );
            }
        }
        str_len(
            a,
            "ticketNumber",
            "industryData.airlineData.ticketNumber",
            1..=150,
            &mut problems,
        );
    }
    if !problems.is_empty() {
        return ctx.error(400, "One or more validation errors occurred.", &problems);
    }
    let (Some(reference), Some((currency, value)), Some(method), Some(flow)) =
        (reference, amount, method, flow)
    else {
        return ctx.error(400, "One or more validation errors occurred.", &[]);
    };
    if inner
        .state
        .merchants
        .get(&ctx.msn)
        .is_some_and(|m| m.epayment.payments.contains_key(&reference))
    {
        return ctx.error(
            409,
            &format!("A payment with reference {reference} already exists for this sales unit."),
            &[invalid("reference", "must be unique for the sales unit")],
        );
    }
    let token = uuid::Uuid::new_v4().simple().to_string();
    let base = inner.base_url.clone();
    let landing = format!("{base}/_sim/pay/{token}");
    let redirect_url = match flow {
        "PUSH_MESSAGE" => None,
        "NATIVE_REDIRECT" => Some(format!("vipps://sim/pay?token={token}")),
        "QR" => Some(match qr.0.as_str() {
            "TEXT/TARGETURL" => landing,
            "IMAGE/PNG" => format!("{landing}/qr.png?size={}", qr.1),
            _ => format!("{landing}/qr.svg"),
        }),
        _ => Some(landing),
    };
    let key = ctx.req.header("Idempotency-Key").map(str::to_string);
    let psp = psp_reference();
    let payment = Payment {
        reference: reference.clone(),
        psp_reference: psp.clone(),
        state: PaymentState::Created,
        currency,
        amount: value,
        payment_method: method.to_string(),
        user_flow: flow.to_string(),
        token,
        redirect_url: redirect_url.clone(),
        phone_number: phone,
        created: now,
        expires_at,
        authorized: 0,
        captured: 0,
        refunded: 0,
        cancelled: 0,
        metadata,
        scope,
        sub: None,
        shipping,
        shipping_details: None,
        user_details: None,
        events: vec![PaymentEventRecord {
            name: "CREATED".into(),
            psp_reference: psp,
            amount: value,
            timestamp: now,
            idempotency_key: key,
            success: true,
        }],
    };
    inner
        .state
        .merchants
        .entry(ctx.msn.clone())
        .or_default()
        .epayment
        .payments
        .insert(reference.clone(), payment);
    inner.dirty = true;
    announce_last(inner, &ctx.msn, &reference);
    let mut out = json!({"reference": reference});
    if let Some(u) = redirect_url {
        out["redirectUrl"] = json!(u);
    }
    Reply::json(201, &out)
}

fn amount_json(currency: &str, value: i64) -> Value {
    json!({"currency": currency, "value": value})
}

fn aggregate(p: &Payment) -> Value {
    json!({
        "authorizedAmount": amount_json(&p.currency, p.authorized),
        "cancelledAmount": amount_json(&p.currency, p.cancelled),
        "capturedAmount": amount_json(&p.currency, p.captured),
        "refundedAmount": amount_json(&p.currency, p.refunded),
    })
}

/// What the customer is asked to pay: the merchant's amount, plus the chosen shipping option's.
fn total(p: &Payment) -> i64 {
    let shipping = p
        .shipping_details
        .as_ref()
        .and_then(|d| d.get("shippingCost"))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    p.amount.saturating_add(shipping)
}

pub(crate) fn payment_json(p: &Payment) -> Value {
    let mut profile = json!({});
    if let Some(s) = &p.sub {
        profile["sub"] = json!(s);
    }
    let mut v = json!({
        "aggregate": aggregate(p),
        "amount": amount_json(&p.currency, total(p)),
        "state": p.state.as_str(),
        "paymentMethod": {"type": p.payment_method},
        "profile": profile,
        "pspReference": p.psp_reference,
        "reference": p.reference,
    });
    if let Some(u) = &p.redirect_url {
        v["redirectUrl"] = json!(u);
    }
    if let Some(m) = &p.metadata {
        v["metadata"] = m.clone();
    }
    if let Some(d) = &p.shipping_details {
        v["shippingDetails"] = d.clone();
    }
    if let Some(d) = &p.user_details {
        v["userDetails"] = d.clone();
    }
    v
}

fn not_found(ctx: &Ctx<'_>, reference: &str) -> Reply {
    ctx.error(
        404,
        &format!("No payment with reference {reference} for this sales unit."),
        &[],
    )
}

/// The path's reference, checked against the `Reference` schema.
fn path_reference(ctx: &Ctx<'_>) -> Result<String, Reply> {
    let r = ctx.params.first().cloned().unwrap_or_default();
    if valid_reference(&r) {
        Ok(r)
    } else {
        Err(ctx.error(
            400,
            "The reference must match ^[a-zA-Z0-9-]{8,64}$.",
            &[invalid("Reference", "must match ^[a-zA-Z0-9-]{8,64}$")],
        ))
    }
}

fn get(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    let reference = match path_reference(ctx) {
        Ok(r) => r,
        Err(e) => return e,
    };
    match find(inner, &ctx.msn, &reference) {
        Some(p) => Reply::json(200, &payment_json(p)),
        None => not_found(ctx, &reference),
    }
}

fn event_log(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    let reference = match path_reference(ctx) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let Some(p) = find(inner, &ctx.msn, &reference) else {
        return not_found(ctx, &reference);
    };
    let list: Vec<Value> = p
        .events
        .iter()
        .map(|e| {
            json!({
                "reference": p.reference,
                "pspReference": e.psp_reference,
                "name": e.name,
                "amount": amount_json(&p.currency, e.amount),
                "timestamp": time(&e.timestamp),
                "idempotencyKey": e.idempotency_key,
                "success": e.success,
            })
        })
        .collect();
    Reply::json(200, &Value::Array(list))
}

fn find<'a>(inner: &'a Inner, msn: &str, reference: &str) -> Option<&'a Payment> {
    inner
        .state
        .merchants
        .get(msn)
        .and_then(|m| m.epayment.payments.get(reference))
}

fn find_mut<'a>(inner: &'a mut Inner, msn: &str, reference: &str) -> Option<&'a mut Payment> {
    inner
        .state
        .merchants
        .get_mut(msn)
        .and_then(|m| m.epayment.payments.get_mut(reference))
}

/// `ModificationResponse`: "the pspReference for the payment creation event". problem+json,
/// because that is the media type the spec gives `AdjustResponse`.
fn modification(p: &Payment) -> Reply {
    Reply::typed(
        200,
        "application/problem+json",
        &json!({
            "amount": amount_json(&p.currency, total(p)),
            "state": p.state.as_str(),
            "aggregate": aggregate(p),
            "pspReference": p.psp_reference,
            "reference": p.reference,
        }),
    )
}

/// The webhook event `name`s payload, for the payment's last event.
fn webhook_payload(msn: &str, p: &Payment, e: &PaymentEventRecord) -> Value {
    let mut v = json!({
        "msn": msn,
        "reference": p.reference,
        "pspReference": e.psp_reference,
        "name": e.name,
        "amount": amount_json(&p.currency, e.amount),
        "timestamp": time(&e.timestamp),
        "idempotencyKey": e.idempotency_key,
        "success": e.success,
    });
    if e.name == "AUTHORIZED" {
        if let Some(d) = &p.shipping_details {
            v["shippingDetails"] = d.clone();
        }
        if let Some(d) = &p.user_details {
            v["userDetails"] = d.clone();
        }
        if let Some(s) = &p.sub {
            v["sub"] = json!(s);
        }
    }
    v
}

/// Raise the webhook of the payment's last event.
fn announce_last(inner: &mut Inner, msn: &str, reference: &str) {
    let Some(p) = find(inner, msn, reference) else {
        return;
    };
    let Some(e) = p.events.last() else {
        return;
    };
    let Some((event, _)) = EPAYMENT_EVENTS.iter().find(|(_, n)| *n == e.name) else {
        return;
    };
    let payload = webhook_payload(msn, p, e);
    inner.emit(msn, event, payload);
}

/// Append an event (with a pspReference of its own) and raise its webhook.
fn record(
    inner: &mut Inner,
    msn: &str,
    reference: &str,
    name: &str,
    amount: i64,
    key: Option<String>,
) {
    let now = inner.now();
    if let Some(p) = find_mut(inner, msn, reference) {
        let psp = if name == "CREATED" || name == "AUTHORIZED" {
            p.psp_reference.clone()
        } else {
            psp_reference()
        };
        p.events.push(PaymentEventRecord {
            name: name.to_string(),
            psp_reference: psp,
            amount,
            timestamp: now,
            idempotency_key: key,
            success: true,
        });
    }
    inner.dirty = true;
    announce_last(inner, msn, reference);
}

fn wrong_state(ctx: &Ctx<'_>, p: &Payment, action: &str) -> Reply {
    ctx.error(
        409,
        &format!(
            "The payment is {} and cannot be {action}.",
            p.state.as_str()
        ),
        &[],
    )
}

/// The modification amount: the payment's currency, at least 1 minor unit.
fn modification_amount(ctx: &Ctx<'_>, p: &Payment) -> Result<i64, Reply> {
    let b = body_object(ctx, true)?;
    let mut problems = Vec::new();
    let got = check_amount(
        b.get("modificationAmount"),
        "modificationAmount",
        Some(&p.currency),
        1,
        &mut problems,
    );
    match got {
        Some((_, v)) if problems.is_empty() => Ok(v),
        _ => Err(ctx.error(400, "One or more validation errors occurred.", &problems)),
    }
}

/// Capture or refund: of an AUTHORIZED payment, at most what is left (authorized minus captured
/// and cancelled for a capture, captured minus refunded for a refund).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Adjustment {
    Capture,
    Refund,
}

fn capture(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    adjust(inner, ctx, Adjustment::Capture)
}

fn refund(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    adjust(inner, ctx, Adjustment::Refund)
}

fn adjust(inner: &mut Inner, ctx: &Ctx<'_>, kind: Adjustment) -> Reply {
    let reference = match path_reference(ctx) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let Some(p) = find(inner, &ctx.msn, &reference) else {
        return not_found(ctx, &reference);
    };
    let value = match modification_amount(ctx, p) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let (verb, done, left, of) = match kind {
        Adjustment::Capture => (
            "capture",
            "captured",
            p.authorized - p.captured - p.cancelled,
            "of the authorized amount is left to capture",
        ),
        Adjustment::Refund => (
            "refund",
            "refunded",
            p.captured - p.refunded,
            "of the captured amount is left to refund",
        ),
    };
    if p.state != PaymentState::Authorized {
        return wrong_state(ctx, p, done);
    }
    if value > left {
        return ctx.error(
            400,
            &format!("Cannot {verb} {value}: {left} {of}."),
            &[invalid(
                "modificationAmount.value",
                format!("more than the {left} left"),
            )],
        );
    }
    let key = ctx.req.header("Idempotency-Key").map(str::to_string);
    let name = match kind {
        Adjustment::Capture => "CAPTURED",
        Adjustment::Refund => "REFUNDED",
    };
    if let Some(p) = find_mut(inner, &ctx.msn, &reference) {
        match kind {
            Adjustment::Capture => p.captured += value,
            Adjustment::Refund => p.refunded += value,
        }
    }
    record(inner, &ctx.msn, &reference, name, value, key);
    find(inner, &ctx.msn, &reference).map_or_else(|| not_found(ctx, &reference), modification)
}

/// Before authorization the payment is terminated; after it, what is left of the reservation is
/// cancelled (the payment is terminated when nothing was captured, and stays AUTHORIZED with
/// its captures otherwise). `cancelTransactionOnly` refuses to touch an authorized payment.
fn cancel(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    let reference = match path_reference(ctx) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let b = match body_object(ctx, false) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let only_unauthorized = match b.get("cancelTransactionOnly") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(x)) => *x,
        Some(_) => {
            return ctx.error(
                400,
                "One or more validation errors occurred.",
                &[invalid("cancelTransactionOnly", "must be a boolean")],
            )
        }
    };
    let Some(p) = find(inner, &ctx.msn, &reference) else {
        return not_found(ctx, &reference);
    };
    let key = ctx.req.header("Idempotency-Key").map(str::to_string);
    match p.state {
        PaymentState::Created => {
            let amount = p.amount;
            if let Some(p) = find_mut(inner, &ctx.msn, &reference) {
                p.state = PaymentState::Terminated;
            }
            record(inner, &ctx.msn, &reference, "TERMINATED", amount, key);
        }
        PaymentState::Authorized => {
            if only_unauthorized {
                return ctx.error(
                    409,
                    "The payment is authorized; with cancelTransactionOnly the reservation is not cancelled.",
                    &[],
                );
            }
            let left = p.authorized - p.captured - p.cancelled;
            if left <= 0 {
                return ctx.error(
                    409,
                    "Nothing is left to cancel: the whole authorized amount is captured or cancelled.",
                    &[],
                );
            }
            if let Some(p) = find_mut(inner, &ctx.msn, &reference) {
                p.cancelled += left;
                if p.captured == 0 {
                    p.state = PaymentState::Terminated;
                }
            }
            record(inner, &ctx.msn, &reference, "CANCELLED", left, key);
        }
        _ => return wrong_state(ctx, p, "cancelled"),
    }
    find(inner, &ctx.msn, &reference).map_or_else(|| not_found(ctx, &reference), modification)
}

fn force_approve(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    let reference = match path_reference(ctx) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let b = match body_object(ctx, false) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let mut problems = Vec::new();
    let phone = match b.get("customer").filter(|c| !c.is_null()) {
        Some(c) => match check_customer(inner, &ctx.msn, c, "customer", &mut problems) {
            Some(p) => p,
            None => return ctx.error(400, "One or more validation errors occurred.", &problems),
        },
        None => None,
    };
    let Some(p) = find(inner, &ctx.msn, &reference) else {
        return not_found(ctx, &reference);
    };
    if p.shipping.is_some() {
        return ctx.error(
            400,
            "Express checkout is not supported by force approve.",
            &[],
        );
    }
    if p.state != PaymentState::Created {
        return wrong_state(ctx, p, "approved");
    }
    if let Some(t) = b.get("token") {
        if t.as_str() != Some(p.token.as_str()) {
            return ctx.error(
                400,
                "The token is not the one of this payment's redirectUrl.",
                &[invalid("token", "does not belong to this payment")],
            );
        }
    }
    if let (Some(want), Some(got)) = (&p.phone_number, &phone) {
        if want != got {
            return ctx.error(
                400,
                "The payment was created for another customer.",
                &[invalid(
                    "customer.phoneNumber",
                    "not the payment's customer",
                )],
            );
        }
    }
    let named = b.get("customer").is_some_and(|c| !c.is_null());
    if !named && p.phone_number.is_none() && b.get("token").is_none() {
        return ctx.error(
            400,
            "Name the customer who approves: customer.phoneNumber, or the token of the redirectUrl.",
            &[invalid("customer", "required")],
        );
    }
    authorize(inner, &ctx.msn, &reference, None, None);
    Reply::empty(200)
}

/// CREATED -> AUTHORIZED: the customer approved. Express payments carry what the customer chose.
fn authorize(
    inner: &mut Inner,
    msn: &str,
    reference: &str,
    shipping_details: Option<Value>,
    user_details: Option<Value>,
) {
    let Some(p) = find_mut(inner, msn, reference) else {
        return;
    };
    p.state = PaymentState::Authorized;
    p.shipping_details = shipping_details;
    p.user_details = user_details;
    p.authorized = total(p);
    if p.scope.is_some() {
        p.sub = Some(uuid::Uuid::new_v4().to_string());
    }
    let amount = p.authorized;
    record(inner, msn, reference, "AUTHORIZED", amount, None);
}

/// CREATED payments past their expiry become EXPIRED: every merchant's, or only `only`'s (an
/// API call sweeps its own merchant, see `Inner::sweep_merchant`).
pub(crate) fn expire(inner: &mut Inner, only: Option<&str>) {
    let now = inner.now();
    let due: Vec<(String, String, i64)> = inner
        .state
        .merchants
        .iter()
        .filter(|(msn, _)| only.is_none_or(|o| o == msn.as_str()))
        .flat_map(|(msn, m)| {
            m.epayment
                .payments
                .values()
                .filter(|p| p.state == PaymentState::Created && now >= p.expires_at)
                .map(|p| (msn.clone(), p.reference.clone(), p.amount))
                .collect::<Vec<_>>()
        })
        .collect();
    for (msn, reference, amount) in due {
        if let Some(p) = find_mut(inner, &msn, &reference) {
            p.state = PaymentState::Expired;
        }
        record(inner, &msn, &reference, "EXPIRED", amount, None);
    }
}

// ---------------------------------------------------------------------------------------------
// The customer's side, under /_sim/.

/// What the customer does with a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Approve,
    Reject,
}

/// The address the simulated customer shares in an Express checkout, unless the approve call
/// names another.
fn default_address() -> Value {
    json!({
        "addressLine1": "Robert Levins gate 5",
        "city": "Oslo",
        "country": "NO",
        "postCode": "0154",
    })
}

/// Handle `/_sim/payments/{msn}/{reference}/{approve|reject}` and `/_sim/pay/{token}...`;
/// `None` for every other path.
pub(crate) async fn customer(sim: &Sim, req: &Req) -> Option<Reply> {
    let rest = req.path.strip_prefix("/_sim/")?;
    let segs: Vec<String> = rest
        .trim_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    match (req.method.as_str(), segs.as_slice()) {
        ("POST", ["payments", msn, reference, action]) => {
            let act = match *action {
                "approve" => Act::Approve,
                "reject" | "abort" => Act::Reject,
                _ => return Some(control_json(400, "action must be approve or reject")),
            };
            let choice = match req.json() {
                Ok(Some(Value::Object(m))) => m,
                Ok(None) => Map::new(),
                _ => return Some(control_json(400, "the body must be a JSON object")),
            };
            Some(match act_on(sim, msn, reference, act, &choice).await {
                Ok(v) => Reply::json(200, &v),
                Err((status, msg)) => control_json(status, &msg),
            })
        }
        ("GET", ["pay", token]) => Some(landing_page(sim, token)),
        ("GET", ["pay", token, file]) => Some(qr_image(sim, req, token, file)),
        ("POST", ["pay", token, action]) => {
            let act = match *action {
                "approve" => Act::Approve,
                "reject" => Act::Reject,
                _ => return Some(Reply::raw(404, "text/plain", b"not found\n".to_vec())),
            };
            let found = {
                let inner = sim.lock();
                by_token(&inner, token).map(|(m, p)| (m.to_string(), p.reference.clone()))
            };
            let Some((msn, reference)) = found else {
                return Some(html(404, "<p>There is no such payment.</p>"));
            };
            Some(
                match act_on(sim, &msn, &reference, act, &Map::new()).await {
                    Ok(v) => html(
                        200,
                        &format!(
                            "<p>The payment is {}.</p>",
                            v["state"].as_str().unwrap_or_default()
                        ),
                    ),
                    Err((status, msg)) => html(status, &format!("<p>{}</p>", escape(&msg))),
                },
            )
        }
        _ => None,
    }
}

fn control_json(status: u16, msg: &str) -> Reply {
    Reply::json(status, &json!({"error": msg}))
}

fn by_token<'a>(inner: &'a Inner, token: &str) -> Option<(&'a str, &'a Payment)> {
    inner.state.merchants.iter().find_map(|(msn, m)| {
        m.epayment
            .payments
            .values()
            .find(|p| p.token == token)
            .map(|p| (msn.as_str(), p))
    })
}

/// What an Express approval needs from the merchant before it can complete.
struct Callback {
    url: String,
    token: Option<String>,
    body: Value,
}

async fn act_on(
    sim: &Sim,
    msn: &str,
    reference: &str,
    act: Act,
    choice: &Map<String, Value>,
) -> Result<Value, (u16, String)> {
    let address = choice
        .get("address")
        .cloned()
        .unwrap_or_else(default_address);
    if !address.is_object() {
        return Err((400, "address must be an object".into()));
    }
    // First look, under the lock: the state, and the callback an Express approval needs.
    let (groups, callback) = {
        let mut inner = sim.lock();
        inner.sweep_merchant(msn);
        let outcome = prepare(&inner, msn, reference, act, &address);
        inner.persist();
        outcome?
    };
    let groups = match callback {
        Some(cb) => Some(call_merchant(&cb).await?),
        None => groups,
    };
    let mut inner = sim.lock();
    inner.sweep_merchant(msn);
    let result = finish(&mut inner, msn, reference, act, choice, &address, groups);
    inner.persist();
    result
}

type Prepared = (Option<Vec<Value>>, Option<Callback>);

fn prepare(
    inner: &Inner,
    msn: &str,
    reference: &str,
    act: Act,
    address: &Value,
) -> Result<Prepared, (u16, String)> {
    let p = find(inner, msn, reference).ok_or_else(|| {
        (
            404,
            format!("no payment with reference {reference} for merchant {msn}"),
        )
    })?;
    if p.state != PaymentState::Created {
        return Err((
            409,
            format!(
                "payment {reference} is {} and cannot be {}",
                p.state.as_str(),
                if act == Act::Approve {
                    "approved"
                } else {
                    "rejected"
                }
            ),
        ));
    }
    if act == Act::Reject {
        return Ok((None, None));
    }
    let Some(shipping) = &p.shipping else {
        return Ok((None, None));
    };
    if let Some(groups) = shipping.get("fixedOptions").and_then(Value::as_array) {
        return Ok((Some(groups.clone()), None));
    }
    let dynamic = shipping.get("dynamicOptions");
    let url = dynamic
        .and_then(|d| d.get("callbackUrl"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    // The simulator calls this machine only: the forward target, or a callback URL that is local.
    let url = match &inner.config.callbacks_to {
        Some(to) => to.to_string(),
        None if super::delivery::check_forward(&url).is_ok() => url,
        None => {
            return Err((
                409,
                format!(
                    "the payment's dynamic shipping callback {url} is not on this machine, and the simulator calls local addresses only: start it with --callbacks-to http://127.0.0.1:PORT/... to send the callback to your local server"
                ),
            ))
        }
    };
    let token = dynamic
        .and_then(|d| d.get("callbackAuthorizationToken"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let field = |k: &str| address.get(k).cloned().unwrap_or(Value::Null);
    let body = json!({
        "reference": reference,
        "AddressLine1": field("addressLine1"),
        "AddressLine2": field("addressLine2"),
        "City": field("city"),
        "PostCode": field("postCode"),
        "Country": field("country"),
    });
    Ok((None, Some(Callback { url, token, body })))
}

/// POST the customer's address to the merchant's dynamic shipping callback; answer its groups.
async fn call_merchant(cb: &Callback) -> Result<Vec<Value>, (u16, String)> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(
            super::delivery::ANSWER_TIMEOUT_SECONDS.unsigned_abs(),
        ))
        .danger_accept_invalid_certs(true)
        .build()
        .map_err(|e| (500, format!("could not set up an HTTP client: {e}")))?;
    let mut req = client
        .post(&cb.url)
        .header("Content-Type", "application/json;charset=UTF-8")
        .body(cb.body.to_string());
    if let Some(t) = &cb.token {
        req = req.header("Authorization", t);
    }
    let failed = |why: String| {
        (
            502,
            format!("the merchant's dynamic shipping callback {} {why}", cb.url),
        )
    };
    let resp = req
        .send()
        .await
        .map_err(|e| failed(format!("did not answer: {e}")))?;
    let status = resp.status();
    let text = resp
        .text()
        .await
        .map_err(|e| failed(format!("did not answer in full: {e}")))?;
    if !status.is_success() {
        return Err(failed(format!("answered {status}")));
    }
    let v: Value = serde_json::from_str(&text)
        .map_err(|_| failed("answered something that is not JSON".into()))?;
    let groups = v
        .get("groups")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| failed("answered no `groups` array".into()))?;
    Ok(groups)
}

/// The option the customer picks: the one named, else the default one of the default group,
/// else the first by priority.
fn pick_option(groups: &[Value], wanted: Option<&str>) -> Option<Value> {
    let options: Vec<(&Value, &Value)> = groups
        .iter()
        .flat_map(|g| {
            g.get("options")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(move |o| (g, o))
        })
        .collect();
    if let Some(id) = wanted {
        return options
            .iter()
            .find(|(_, o)| o.get("id").and_then(Value::as_str) == Some(id))
            .map(|(_, o)| (*o).clone());
    }
    let is_default = |v: &Value| v.get("isDefault").and_then(Value::as_bool) == Some(true);
    let priority = |v: &Value| {
        v.get("priority")
            .and_then(Value::as_i64)
            .unwrap_or(i64::MAX)
    };
    options
        .iter()
        .find(|(g, o)| is_default(g) && is_default(o))
        .or_else(|| options.iter().find(|(_, o)| is_default(o)))
        .or_else(|| {
            options
                .iter()
                .min_by_key(|(g, o)| (priority(g), priority(o)))
        })
        .map(|(_, o)| (*o).clone())
}

fn finish(
    inner: &mut Inner,
    msn: &str,
    reference: &str,
    act: Act,
    choice: &Map<String, Value>,
    address: &Value,
    groups: Option<Vec<Value>>,
) -> Result<Value, (u16, String)> {
    let p = find(inner, msn, reference)
        .ok_or_else(|| (404, format!("no payment with reference {reference}")))?;
    if p.state != PaymentState::Created {
        return Err((
            409,
            format!("payment {reference} is {} now", p.state.as_str()),
        ));
    }
    if act == Act::Reject {
        let amount = p.amount;
        if let Some(p) = find_mut(inner, msn, reference) {
            p.state = PaymentState::Aborted;
        }
        record(inner, msn, reference, "ABORTED", amount, None);
    } else {
        let currency = p.currency.clone();
        let phone = match choice.get("phoneNumber").and_then(Value::as_str) {
            Some(x) if (9..=15).contains(&x.len()) && x.bytes().all(|b| b.is_ascii_digit()) => {
                Some(x.to_string())
            }
            Some(_) => return Err((400, "phoneNumber must be 9 to 15 digits".into())),
            None => p.phone_number.as_ref().map(|m| m.0.clone()),
        };
        let (shipping, user) = match &groups {
            Some(groups) => {
                let wanted = choice.get("shippingOptionId").and_then(Value::as_str);
                let option = pick_option(groups, wanted).ok_or_else(|| {
                    (
                        409,
                        match wanted {
                            Some(id) => format!("no shipping option {id} was offered"),
                            None => "no shipping option was offered".to_string(),
                        },
                    )
                })?;
                let amount = option.get("amount");
                let cost = amount
                    .and_then(|a| a.get("value"))
                    .and_then(Value::as_i64)
                    .filter(|v| (0..=AMOUNT_MAX).contains(v));
                let same_currency = amount
                    .and_then(|a| a.get("currency"))
                    .and_then(Value::as_str)
                    == Some(currency.as_str());
                let Some(cost) = cost.filter(|_| same_currency) else {
                    return Err((
                        409,
                        format!("the chosen shipping option has no valid amount in {currency}"),
                    ));
                };
                let details = json!({
                    "address": address,
                    "shippingCost": cost,
                    "shippingOptionId": option.get("id").cloned().unwrap_or(Value::Null),
                    "shippingOptionName": option.get("name").cloned().unwrap_or(Value::Null),
                });
                let user = json!({
                    "email": "customer@example.com",
                    "firstName": "Ada",
                    "lastName": "Lovelace",
                    "mobileNumber": phone.clone().unwrap_or_else(|| "4712345678".into()),
                });
                (Some(details), Some(user))
            }
            None => (None, None),
        };
        if let (Some(x), Some(p)) = (&phone, find_mut(inner, msn, reference)) {
            p.phone_number = Some(Msisdn(x.clone()));
        }
        authorize(inner, msn, reference, shipping, user);
    }
    let p = find(inner, msn, reference)
        .ok_or_else(|| (404, format!("no payment with reference {reference}")))?;
    Ok(json!({
        "reference": reference,
        "state": p.state.as_str(),
        "aggregate": aggregate(p),
        "shippingDetails": p.shipping_details,
    }))
}

fn html(status: u16, body: &str) -> Reply {
    Reply::raw(
        status,
        "text/html; charset=utf-8",
        page("Vipps MobilePay (simulator)", body).into_bytes(),
    )
}

/// The landing page behind `redirectUrl` (and the QR's target): approve or reject.
fn landing_page(sim: &Sim, token: &str) -> Reply {
    let mut inner = sim.lock();
    inner.sweep();
    inner.persist();
    let Some((msn, p)) = by_token(&inner, token) else {
        return html(404, "<p>There is no such payment.</p>");
    };
    let enc = percent_encode(token);
    let actions = if p.state == PaymentState::Created {
        format!(
            "<form method=\"post\" action=\"/_sim/pay/{enc}/approve\"><button type=\"submit\">Approve</button></form>\
             <form method=\"post\" action=\"/_sim/pay/{enc}/reject\"><button type=\"submit\">Reject</button></form>"
        )
    } else {
        format!("<p>This payment is {}.</p>", p.state.as_str())
    };
    html(
        200,
        &format!(
            "<p>Merchant {} asks you to pay {} {}.</p>{actions}",
            escape(msn),
            p.amount as f64 / 100.0,
            escape(&p.currency)
        ),
    )
}

/// The QR of a `userFlow: QR` payment: its content is the landing page.
fn qr_image(sim: &Sim, req: &Req, token: &str, file: &str) -> Reply {
    let content = {
        let inner = sim.lock();
        if by_token(&inner, token).is_none() {
            return Reply::raw(404, "text/plain", b"no such payment\n".to_vec());
        }
        format!("{}/_sim/pay/{}", inner.base_url, percent_encode(token))
    };
    let size = req
        .query_param("size")
        .and_then(|s| s.parse::<u32>().ok())
        .filter(|s| (100..=2000).contains(s))
        .unwrap_or(1024);
    let rendered = match file {
        "qr.png" => super::image::png(&content, size).map(|b| Reply::raw(200, "image/png", b)),
        "qr.svg" => super::image::svg(&content, size)
            .map(|s| Reply::raw(200, "image/svg+xml", s.into_bytes())),
        _ => return Reply::raw(404, "text/plain", b"not found\n".to_vec()),
    };
    rendered.unwrap_or_else(|e| Reply::raw(500, "text/plain", format!("{e}\n").into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_follow_the_spec_pattern() {
        assert!(valid_reference("order-123"));
        assert!(!valid_reference("short"));
        assert!(!valid_reference("has space-123"));
        assert!(!valid_reference(&"a".repeat(65)));
    }

    #[test]
    fn return_urls_are_https_or_a_custom_scheme() {
        assert!(valid_return_url("https://shop.example/done"));
        assert!(valid_return_url("myapp://done"));
        assert!(!valid_return_url("http://shop.example/done"));
        assert!(!valid_return_url("shop.example/done"));
    }

    #[test]
    fn the_default_shipping_option_is_picked_unless_one_is_named() {
        let groups = vec![
            json!({"type":"PICKUP_POINT","brand":"POSTEN","priority":2,"options":[{"id":"a","name":"A","amount":{"currency":"NOK","value":100}}]}),
            json!({"type":"IN_STORE","brand":"OTHER","isDefault":true,"options":[{"id":"b","name":"B","isDefault":true,"amount":{"currency":"NOK","value":0}}]}),
        ];
        assert_eq!(pick_option(&groups, None).unwrap()["id"], "b");
        assert_eq!(pick_option(&groups, Some("a")).unwrap()["id"], "a");
        assert!(pick_option(&groups, Some("c")).is_none());
    }
}
