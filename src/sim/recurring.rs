//! Recurring API v3 agreements: draft (Idempotency-Key), list (ACTIVE unless a status is asked
//! for, paging), fetch, PATCH (only what `PatchAgreementV3` allows), the test-only accept.
//! Errors are `ErrorV3`.

use super::config::Country;
use super::core::{Ctx, Inner};
use super::state::{Agreement, AgreementStatus, Interval, Msisdn, Pricing, PricingType};
use super::wire::{invalid, percent_encode, Invalid, Reply};
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

/// A draft not accepted within this many minutes expires.
pub const DRAFT_WINDOW_MINUTES: i64 = 10;
pub const PAGE_SIZE_DEFAULT: usize = 500;
pub const PAGE_SIZE_MAX: usize = 2000;
const UNITS: [&str; 4] = ["YEAR", "MONTH", "WEEK", "DAY"];
const CURRENCIES: [&str; 3] = ["NOK", "DKK", "EUR"];
/// The userinfo scopes a draft may ask for (`DraftAgreementV3.scope`).
const SCOPES: [&str; 6] = [
    "name",
    "address",
    "email",
    "phoneNumber",
    "birthDate",
    "nin",
];
pub const IDEMPOTENCY_KEY_MAX_LEN: usize = 40;

/// The largest `suggestedMaxAmount` (and customer-chosen `maxAmount`) per currency, in minor
/// units: NOK 20 000, DKK 300 000, EUR 2 000 (API-FACTS section 8). Kept apart from the config's
/// own table on purpose: the simulator is the independent model that catches a wrong one.
pub fn variable_cap(currency: &str) -> Option<i64> {
    match currency {
        "NOK" => Some(2_000_000),
        "DKK" => Some(30_000_000),
        "EUR" => Some(200_000),
        _ => None,
    }
}

/// Amounts are `int32` in minor units.
const AMOUNT_MAX: i64 = i32::MAX as i64;

pub(crate) fn handle(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    match ctx.op.name {
        "list_agreements" => list(inner, ctx),
        "draft_agreement" => idempotent(inner, ctx, draft),
        "fetch_agreement" => fetch(inner, ctx),
        "update_agreement" => idempotent(inner, ctx, update),
        "accept_agreement" => idempotent(inner, ctx, accept),
        "list_charges" | "create_charge" | "fetch_charge" | "cancel_charge" | "capture_charge"
        | "refund_charge" | "fetch_charge_by_id" => super::charges::handle(inner, ctx),
        _ => ctx.error(404, "Not found", &[]),
    }
}

/// Same key and same request: the first answer again. Same key, other request: 409. Answers
/// below 500 are kept (a 4xx is sticky for its key); 5xx are not, so a retry runs again. The
/// answers live in the merchant's state, so they survive a restart with `--state`.
pub(crate) fn idempotent(
    inner: &mut Inner,
    ctx: &Ctx<'_>,
    run: fn(&mut Inner, &Ctx<'_>) -> Reply,
) -> Reply {
    let key = match ctx.req.header("Idempotency-Key") {
        None => {
            return ctx.error(
                400,
                "The Idempotency-Key header is required.",
                &[invalid("Idempotency-Key", "required")],
            )
        }
        Some(k)
            if k.is_empty()
                || k.chars().count() > IDEMPOTENCY_KEY_MAX_LEN
                || k.contains(['#', '?', '/', '\\']) =>
        {
            return ctx.error(
                400,
                "The Idempotency-Key must be 1 to 40 characters without '#', '?', '/' or '\\'.",
                &[invalid("Idempotency-Key", "invalid")],
            )
        }
        Some(k) => k.to_string(),
    };
    if let Some(r) = require_json(ctx) {
        return r;
    }
    super::idempotency::replay_or_run(inner, ctx, super::idempotency::Keys::Recurring, key, run)
}

/// "The content type must be `application/json`" (the spec's `Content-Type` parameter), for
/// every request with a body.
fn require_json(ctx: &Ctx<'_>) -> Option<Reply> {
    if ctx.req.body.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    let ct = ctx.req.header("Content-Type").unwrap_or("");
    if ct.to_ascii_lowercase().starts_with("application/json") {
        None
    } else {
        Some(ctx.error(
            400,
            "The content type must be application/json.",
            &[invalid("Content-Type", "must be application/json")],
        ))
    }
}

pub(crate) fn body_object(ctx: &Ctx<'_>) -> Result<Map<String, Value>, Reply> {
    match ctx.req.json() {
        Ok(Some(Value::Object(m))) => Ok(m),
        Ok(Some(_)) => Err(ctx.error(400, "The request body must be a JSON object.", &[])),
        Ok(None) => Err(ctx.error(400, "A request body is required.", &[])),
        Err(e) => Err(ctx.error(400, &e, &[])),
    }
}

pub(crate) fn opt_string(
    body: &Map<String, Value>,
    name: &str,
    min: usize,
    max: usize,
    problems: &mut Vec<Invalid>,
) -> Option<String> {
    match body.get(name) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if (min..=max).contains(&s.chars().count()) => Some(s.clone()),
        Some(Value::String(_)) => {
            problems.push(invalid(name, format!("must be {min} to {max} characters")));
            None
        }
        Some(_) => {
            problems.push(invalid(name, "must be a string"));
            None
        }
    }
}

fn https(url: &Option<String>, name: &str, problems: &mut Vec<Invalid>) {
    if let Some(u) = url {
        if !u.starts_with("https://") {
            problems.push(invalid(name, "must be an https:// URL"));
        }
    }
}

/// `merchantRedirectUrl`: "HTTPS and deeplinks are allowed (example: myApp://home)"; plain
/// http is neither.
fn https_or_deeplink(url: &str, name: &str, problems: &mut Vec<Invalid>) {
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    let ok = match scheme.as_deref() {
        Some("https") => url.len() > "https://".len(),
        Some("http") | None | Some("") => false,
        Some(s) => s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)),
    };
    if !ok {
        problems.push(invalid(
            name,
            "must be an https:// URL or an app deeplink (myApp://...)",
        ));
    }
}

fn int(v: Option<&Value>) -> Option<i64> {
    v.and_then(Value::as_i64)
}

fn parse_period(v: &Value, name: &str, problems: &mut Vec<Invalid>) -> Option<Interval> {
    let unit = v.get("unit").and_then(Value::as_str);
    let count = int(v.get("count"));
    match (unit, count) {
        (Some(u), Some(c)) if UNITS.contains(&u) && (1..=31).contains(&c) => Some(Interval {
            unit: u.to_string(),
            count: c,
        }),
        _ => {
            problems.push(invalid(
                name,
                "unit must be YEAR, MONTH, WEEK or DAY and count 1 to 31",
            ));
            None
        }
    }
}

fn parse_pricing(v: Option<&Value>, problems: &mut Vec<Invalid>) -> Option<Pricing> {
    let Some(Value::Object(p)) = v else {
        problems.push(invalid("pricing", "required"));
        return None;
    };
    let kind = match p.get("type").and_then(Value::as_str) {
        None | Some("LEGACY") => PricingType::Legacy,
        Some("VARIABLE") => PricingType::Variable,
        Some("FLEXIBLE") => PricingType::Flexible,
        Some(_) => {
            problems.push(invalid(
                "pricing.type",
                "must be LEGACY, VARIABLE or FLEXIBLE",
            ));
            return None;
        }
    };
    let currency = match p.get("currency").and_then(Value::as_str) {
        Some(c) if CURRENCIES.contains(&c) => c.to_string(),
        _ => {
            problems.push(invalid("pricing.currency", "must be NOK, DKK or EUR"));
            return None;
        }
    };
    let mut pricing = Pricing {
        kind,
        currency,
        amount: None,
        suggested_max_amount: None,
        max_amount: None,
    };
    match kind {
        PricingType::Legacy => match int(p.get("amount")) {
            Some(a) if a > 0 && a <= AMOUNT_MAX => pricing.amount = Some(a),
            _ => problems.push(invalid(
                "pricing.amount",
                "required for LEGACY, a positive integer in minor units",
            )),
        },
        PricingType::Variable => match int(p.get("suggestedMaxAmount")) {
            Some(a) if a > 0 && Some(a) <= variable_cap(&pricing.currency) => {
                pricing.suggested_max_amount = Some(a)
            }
            Some(a) if a > 0 => problems.push(invalid(
                "pricing.suggestedMaxAmount",
                format!(
                    "{a} is above the {} limit of {}",
                    pricing.currency,
                    variable_cap(&pricing.currency).unwrap_or(0)
                ),
            )),
            _ => problems.push(invalid(
                "pricing.suggestedMaxAmount",
                "required for VARIABLE, a positive integer in minor units",
            )),
        },
        PricingType::Flexible => {}
    }
    Some(pricing)
}

fn parse_campaign(v: &Value, created: DateTime<Utc>, problems: &mut Vec<Invalid>) -> Option<Value> {
    let price = int(v.get("price"));
    let Some(price) = price.filter(|p| *p >= 0) else {
        problems.push(invalid(
            "campaign.price",
            "required, a non-negative integer",
        ));
        return None;
    };
    let date = |name: &str, problems: &mut Vec<Invalid>| -> Option<String> {
        match v
            .get(name)
            .and_then(Value::as_str)
            .map(DateTime::parse_from_rfc3339)
        {
            // "Needs to be UTC."
            Some(Ok(d)) if d.offset().local_minus_utc() == 0 => Some(
                d.with_timezone(&Utc)
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
            Some(Ok(_)) => {
                problems.push(invalid(&format!("campaign.{name}"), "must be in UTC"));
                None
            }
            _ => {
                problems.push(invalid(
                    &format!("campaign.{name}"),
                    "required, an ISO 8601 date-time",
                ));
                None
            }
        }
    };
    match v.get("type").and_then(Value::as_str) {
        Some("PRICE_CAMPAIGN") => {
            let end = date("end", problems)?;
            Some(json!({"type": "PRICE_CAMPAIGN", "price": price, "end": end,
                "explanation": format!("Campaign price {price} until {end}")}))
        }
        Some("PERIOD_CAMPAIGN") => {
            let period = parse_period(
                v.get("period").unwrap_or(&Value::Null),
                "campaign.period",
                problems,
            )?;
            let days = match period.unit.as_str() {
                "YEAR" => 365,
                "MONTH" => 30,
                "WEEK" => 7,
                _ => 1,
            } * period.count;
            let end = (created + chrono::Duration::days(days))
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            Some(
                json!({"type": "PERIOD_CAMPAIGN", "price": price, "end": end,
                "period": {"unit": period.unit, "count": period.count},
                "explanation": format!("Campaign price {price} for {} {}", period.count, period.unit)}),
            )
        }
        Some("EVENT_CAMPAIGN") => {
            let event_date = date("eventDate", problems)?;
            match v.get("eventText").and_then(Value::as_str) {
                Some(t) if (1..=15).contains(&t.chars().count()) => Some(json!({
                    "type": "EVENT_CAMPAIGN", "price": price, "eventDate": event_date, "eventText": t,
                    "explanation": format!("Campaign price {price} until {t}")})),
                _ => {
                    problems.push(invalid(
                        "campaign.eventText",
                        "required, 1 to 15 characters",
                    ));
                    None
                }
            }
        }
        _ => {
            problems.push(invalid(
                "campaign.type",
                "must be PRICE_CAMPAIGN, PERIOD_CAMPAIGN or EVENT_CAMPAIGN",
            ));
            None
        }
    }
}

/// `agr_` and seven base-62 characters, like the real ids.
fn agreement_id(uuid: &uuid::Uuid) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut n = uuid.as_u128();
    let mut s = String::from("agr_");
    for _ in 0..7 {
        s.push(ALPHABET[(n % 62) as usize] as char);
        n /= 62;
    }
    s
}

pub(crate) fn confirmation_url(base: &str, id: &str) -> String {
    format!("{base}/_sim/consent/{}", percent_encode(id))
}

fn draft(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    let body = match body_object(ctx) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let now = inner.now();
    let mut problems = Vec::new();
    let pricing = parse_pricing(body.get("pricing"), &mut problems);
    let product_name = opt_string(&body, "productName", 1, 45, &mut problems);
    if product_name.is_none() && !problems.iter().any(|p| p.0 == "productName") {
        problems.push(invalid("productName", "required"));
    }
    let product_description = opt_string(&body, "productDescription", 0, 100, &mut problems);
    let redirect = opt_string(&body, "merchantRedirectUrl", 1, 2048, &mut problems);
    let is_app = body.get("isApp").and_then(Value::as_bool).unwrap_or(false);
    match &redirect {
        None if !problems.iter().any(|p| p.0 == "merchantRedirectUrl") => {
            problems.push(invalid("merchantRedirectUrl", "required"))
        }
        // "When isApp is set to true, URLs passed to us will not be validated as regular URLs."
        Some(u) if !is_app => https_or_deeplink(u, "merchantRedirectUrl", &mut problems),
        _ => {}
    }
    let agreement_url = opt_string(&body, "merchantAgreementUrl", 1, 1024, &mut problems);
    if !is_app {
        https(&agreement_url, "merchantAgreementUrl", &mut problems);
    }
    let country = inner.config.country(&ctx.msn);
    if agreement_url.is_none()
        && country == Country::Norway
        && !problems.iter().any(|p| p.0 == "merchantAgreementUrl")
    {
        problems.push(invalid(
            "merchantAgreementUrl",
            "required for Norwegian merchants: the page where the customer manages this agreement",
        ));
    }
    if body.get("skipLandingPage").and_then(Value::as_bool) == Some(true) {
        // Only sales units Vipps has allow-listed may skip the landing page; none is here.
        return ctx.error(
            403,
            "skipLandingPage is not enabled for this sales unit.",
            &[invalid(
                "skipLandingPage",
                "the sales unit is not allow-listed",
            )],
        );
    }
    match body.get("scope") {
        None | Some(Value::Null) => {}
        Some(Value::String(sc)) => {
            if let Some(bad) = sc.split_whitespace().find(|w| !SCOPES.contains(w)) {
                problems.push(invalid(
                    "scope",
                    format!("`{bad}` is not one of {}", SCOPES.join(", ")),
                ));
            }
        }
        Some(_) => problems.push(invalid("scope", "must be a space-separated string")),
    }
    let external_id = opt_string(&body, "externalId", 1, 64, &mut problems);
    let phone = opt_string(&body, "phoneNumber", 1, 15, &mut problems);
    if phone
        .as_ref()
        .is_some_and(|p| !p.bytes().all(|b| b.is_ascii_digit()))
    {
        problems.push(invalid("phoneNumber", "must be an MSISDN: digits only"));
    }
    let interval = match body.get("interval") {
        None | Some(Value::Null) => None,
        Some(v) => parse_period(v, "interval", &mut problems),
    };
    let campaign = match body.get("campaign") {
        None | Some(Value::Null) => None,
        Some(v) => {
            if pricing
                .as_ref()
                .is_some_and(|p| p.kind != PricingType::Legacy)
            {
                problems.push(invalid(
                    "campaign",
                    "campaigns are allowed with LEGACY pricing only",
                ));
                None
            } else {
                parse_campaign(v, now, &mut problems)
            }
        }
    };
    let charge_id = match body.get("initialCharge") {
        None | Some(Value::Null) => None,
        Some(c) => {
            let ok = int(c.get("amount")).is_some_and(|a| a > 0 && a <= AMOUNT_MAX)
                && c.get("description")
                    .and_then(Value::as_str)
                    .is_some_and(|d| (1..=100).contains(&d.chars().count()))
                && matches!(
                    c.get("transactionType").and_then(Value::as_str),
                    Some("RESERVE_CAPTURE" | "DIRECT_CAPTURE")
                );
            if !ok {
                problems.push(invalid(
                    "initialCharge",
                    "amount, description (1 to 100) and transactionType are required",
                ));
            }
            Some(match c.get("orderId").and_then(Value::as_str) {
                Some(o)
                    if (1..=64).contains(&o.len())
                        && o.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
                {
                    o.to_string()
                }
                Some(_) => {
                    problems.push(invalid(
                        "initialCharge.orderId",
                        "1 to 64 letters, digits and hyphens",
                    ));
                    String::new()
                }
                None => format!("chr-{}", &uuid::Uuid::new_v4().simple().to_string()[..7]),
            })
        }
    };
    let (Some(pricing), Some(product_name), Some(redirect), true) =
        (pricing, product_name, redirect, problems.is_empty())
    else {
        return ctx.error(400, "One or more validation errors occurred.", &problems);
    };
    let uuid = uuid::Uuid::new_v4();
    let id = agreement_id(&uuid);
    let agreement = Agreement {
        id: id.clone(),
        uuid,
        status: AgreementStatus::Pending,
        product_name,
        product_description,
        pricing,
        interval,
        merchant_agreement_url: agreement_url,
        merchant_redirect_url: redirect,
        external_id,
        campaign,
        phone_number: phone.map(Msisdn),
        created: now,
        start: None,
        stop: None,
    };
    inner
        .state
        .merchants
        .entry(ctx.msn.clone())
        .or_default()
        .agreements
        .insert(id.clone(), agreement.clone());
    inner.dirty = true;
    if let (Some(charge_id), Some(initial)) = (&charge_id, body.get("initialCharge")) {
        let key = ctx.req.header("Idempotency-Key").unwrap_or_default();
        super::charges::create_initial(inner, &ctx.msn, &agreement, charge_id, initial, key);
    }
    Reply::json(
        201,
        &json!({
            "agreementId": id,
            "uuid": uuid,
            "vippsConfirmationUrl": confirmation_url(&inner.base_url, &id),
            "chargeId": charge_id,
        }),
    )
}

fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub(crate) fn agreement_json(base: &str, a: &Agreement, country: Country) -> Value {
    let pricing = match a.pricing.kind {
        PricingType::Legacy => {
            json!({"type": "LEGACY", "currency": a.pricing.currency, "amount": a.pricing.amount.unwrap_or(0)})
        }
        PricingType::Variable => {
            let mut p = json!({"type": "VARIABLE", "currency": a.pricing.currency, "suggestedMaxAmount": a.pricing.suggested_max_amount.unwrap_or(0)});
            if let Some(m) = a.pricing.max_amount {
                p["maxAmount"] = json!(m);
            }
            p
        }
        PricingType::Flexible => json!({"type": "FLEXIBLE", "currency": a.pricing.currency}),
    };
    let interval = match &a.interval {
        Some(i) => json!({"unit": i.unit, "count": i.count,
            "text": format!("every {} {}", i.count, i.unit.to_lowercase())}),
        None => json!({"text": "flexible"}),
    };
    let mut v = json!({
        "id": a.id,
        "uuid": a.uuid,
        "status": a.status.as_str(),
        "productName": a.product_name,
        "pricing": pricing,
        "interval": interval,
        "created": time(&a.created),
        "start": a.start.as_ref().map(time),
        "stop": a.stop.as_ref().map(time),
        // Required in the response although optional at draft (outside Norway); Vipps documents
        // no value for an absent one, so it reads as empty.
        "merchantAgreementUrl": a.merchant_agreement_url.clone().unwrap_or_default(),
        "merchantRedirectUrl": a.merchant_redirect_url,
        "countryCode": country.code(),
        "campaign": a.campaign,
        "sub": null,
        "userinfoUrl": null,
    });
    if let Some(d) = &a.product_description {
        v["productDescription"] = json!(d);
    }
    if let Some(e) = &a.external_id {
        v["externalId"] = json!(e);
    }
    if a.status == AgreementStatus::Pending {
        v["vippsConfirmationUrl"] = json!(confirmation_url(base, &a.id));
    }
    v
}

fn list(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    let mut problems = Vec::new();
    let status = match ctx.req.query_param("status") {
        None => None,
        Some(s) => match AgreementStatus::parse(&s) {
            Some(st) => Some(st),
            None => {
                problems.push(invalid(
                    "status",
                    "must be PENDING, ACTIVE, STOPPED or EXPIRED",
                ));
                None
            }
        },
    };
    let created_after = match ctx.req.query_param("createdAfter") {
        None => None,
        Some(s) => match s.parse::<i64>() {
            Ok(ms) => Some(ms),
            Err(_) => {
                problems.push(invalid("createdAfter", "must be epoch milliseconds"));
                None
            }
        },
    };
    let page_number = match ctx
        .req
        .query_param("pageNumber")
        .map(|s| s.parse::<usize>())
    {
        None => 1,
        Some(Ok(n)) if n >= 1 => n,
        Some(_) => {
            problems.push(invalid("pageNumber", "must be an integer of at least 1"));
            1
        }
    };
    let page_size = match ctx.req.query_param("pageSize").map(|s| s.parse::<usize>()) {
        None => PAGE_SIZE_DEFAULT,
        Some(Ok(n)) if (1..=PAGE_SIZE_MAX).contains(&n) => n,
        Some(_) => {
            problems.push(invalid("pageSize", "must be an integer from 1 to 2000"));
            PAGE_SIZE_DEFAULT
        }
    };
    // "pageSize ... must be used in combination with pageNumber".
    if ctx.req.query_param("pageSize").is_some() && ctx.req.query_param("pageNumber").is_none() {
        problems.push(invalid(
            "pageNumber",
            "required when pageSize is given (use them together)",
        ));
    }
    // "If no query status is supplied it will default to only retrieving active agreements.
    // There is no way to list all Agreements with all statuses."
    let status = match status {
        None if !inner.config.lenient.list_all_statuses => Some(AgreementStatus::Active),
        s => s,
    };
    if !problems.is_empty() {
        return ctx.error(400, "One or more validation errors occurred.", &problems);
    }
    let mut all: Vec<&Agreement> = inner
        .state
        .merchants
        .get(&ctx.msn)
        .map(|m| m.agreements.values().collect())
        .unwrap_or_default();
    all.retain(|a| status.is_none_or(|s| a.status == s));
    all.retain(|a| created_after.is_none_or(|ms| a.created.timestamp_millis() > ms));
    all.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.id.cmp(&b.id)));
    let page: Vec<Value> = all
        .into_iter()
        .skip((page_number - 1).saturating_mul(page_size))
        .take(page_size)
        .map(|a| agreement_json(&inner.base_url, a, inner.config.country(&ctx.msn)))
        .collect();
    Reply::json(200, &Value::Array(page))
}

fn not_found(ctx: &Ctx<'_>, id: &str) -> Reply {
    ctx.error(404, &format!("Agreement {id} was not found."), &[])
}

fn fetch(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    let id = ctx.params.first().cloned().unwrap_or_default();
    match inner
        .state
        .merchants
        .get(&ctx.msn)
        .and_then(|m| m.agreements.get(&id))
    {
        Some(a) => Reply::json(
            200,
            &agreement_json(&inner.base_url, a, inner.config.country(&ctx.msn)),
        ),
        None => not_found(ctx, &id),
    }
}

const PATCHABLE: [&str; 7] = [
    "productName",
    "productDescription",
    "merchantAgreementUrl",
    "externalId",
    "status",
    "pricing",
    "interval",
];

fn update(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    let body = match body_object(ctx) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let id = ctx.params.first().cloned().unwrap_or_default();
    let Some(current) = inner
        .state
        .merchants
        .get(&ctx.msn)
        .and_then(|m| m.agreements.get(&id))
        .cloned()
    else {
        return not_found(ctx, &id);
    };
    let mut problems = Vec::new();
    for key in body.keys() {
        if !PATCHABLE.contains(&key.as_str()) {
            problems.push(invalid(key, "cannot be changed on an existing agreement"));
        }
    }
    if current.status.is_terminal() {
        return ctx.error(
            400,
            &format!(
                "Agreement {id} is {} and can no longer be changed.",
                current.status.as_str()
            ),
            &[invalid("status", "terminal")],
        );
    }
    let mut next = current.clone();
    if let Some(s) = body.get("status") {
        if s.as_str() != Some("STOPPED") {
            problems.push(invalid(
                "status",
                "the only status that can be set is STOPPED",
            ));
        } else if body.len() != 1 {
            problems.push(invalid(
                "status",
                "STOPPED must be sent alone, without other changes",
            ));
        } else {
            next.status = AgreementStatus::Stopped;
            next.stop = Some(inner.now());
        }
    }
    if let Some(v) = opt_string(&body, "productName", 1, 45, &mut problems) {
        next.product_name = v;
    }
    if body.contains_key("productDescription") {
        next.product_description = opt_string(&body, "productDescription", 0, 100, &mut problems);
    }
    if let Some(v) = opt_string(&body, "merchantAgreementUrl", 1, 1024, &mut problems) {
        https(&Some(v.clone()), "merchantAgreementUrl", &mut problems);
        next.merchant_agreement_url = Some(v);
    }
    if let Some(v) = opt_string(&body, "externalId", 1, 64, &mut problems) {
        next.external_id = Some(v);
    }
    if let Some(p) = body.get("pricing") {
        match p.as_object() {
            None => problems.push(invalid("pricing", "must be an object")),
            Some(p) => {
                for key in p.keys() {
                    match (key.as_str(), current.pricing.kind) {
                        ("amount", PricingType::Legacy) => match int(p.get("amount")) {
                            Some(a) if a > 0 && a <= AMOUNT_MAX => next.pricing.amount = Some(a),
                            _ => {
                                problems.push(invalid("pricing.amount", "must be a positive int32"))
                            }
                        },
                        ("suggestedMaxAmount", PricingType::Variable) => {
                            // "There are limits for each currency."
                            let cap = variable_cap(&current.pricing.currency);
                            match int(p.get("suggestedMaxAmount")) {
                                Some(a) if a > 0 && Some(a) <= cap => {
                                    next.pricing.suggested_max_amount = Some(a)
                                }
                                _ => problems.push(invalid(
                                    "pricing.suggestedMaxAmount",
                                    format!(
                                        "must be 1 to {} (minor units of {})",
                                        cap.unwrap_or(0),
                                        current.pricing.currency
                                    ),
                                )),
                            }
                        }
                        ("amount", _) => problems.push(invalid(
                            "pricing.amount",
                            "only LEGACY pricing has an amount",
                        )),
                        ("suggestedMaxAmount", _) => problems.push(invalid(
                            "pricing.suggestedMaxAmount",
                            "only VARIABLE pricing has a suggestedMaxAmount",
                        )),
                        (other, _) => problems.push(invalid(
                            &format!("pricing.{other}"),
                            "cannot be changed; create a new agreement",
                        )),
                    }
                }
            }
        }
    }
    if let Some(i) = body.get("interval") {
        let kind = i.get("type").and_then(Value::as_str).unwrap_or("RECURRING");
        match (kind, i.get("period")) {
            ("RECURRING", Some(p)) => {
                if let Some(period) = parse_period(p, "interval.period", &mut problems) {
                    next.interval = Some(period);
                }
            }
            ("RECURRING", None) => problems.push(invalid(
                "interval.period",
                "required when type is RECURRING",
            )),
            ("FLEXIBLE", None) => next.interval = None,
            ("FLEXIBLE", Some(_)) => problems.push(invalid(
                "interval.period",
                "not allowed when type is FLEXIBLE",
            )),
            _ => problems.push(invalid("interval.type", "must be RECURRING or FLEXIBLE")),
        }
    }
    if !problems.is_empty() {
        return ctx.error(400, "One or more validation errors occurred.", &problems);
    }
    let stopped = (next.status == AgreementStatus::Stopped).then(|| {
        super::events::for_agreement(
            super::events::AGREEMENT_STOPPED,
            &ctx.msn,
            &next,
            next.stop.unwrap_or_else(|| inner.now()),
            Some(super::events::Actor::Merchant),
        )
    });
    if let Some(m) = inner.state.merchants.get_mut(&ctx.msn) {
        m.agreements.insert(id.clone(), next);
    }
    inner.dirty = true;
    if let Some(payload) = stopped {
        inner.emit(&ctx.msn, super::events::AGREEMENT_STOPPED, payload);
        super::charges::agreement_stopped(inner, &ctx.msn, &id, true);
    }
    Reply::empty(204)
}

/// The test environment's force-accept: PENDING -> ACTIVE.
fn accept(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    let body = match body_object(ctx) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let phone = match body.get("phoneNumber").and_then(Value::as_str) {
        Some(p) if !p.is_empty() && p.len() <= 15 && p.bytes().all(|b| b.is_ascii_digit()) => {
            p.to_string()
        }
        _ => {
            return ctx.error(
                400,
                "phoneNumber is required: an MSISDN such as 4712345678.",
                &[invalid("phoneNumber", "required, digits only")],
            )
        }
    };
    let id = ctx.params.first().cloned().unwrap_or_default();
    let now = inner.now();
    let Some(a) = inner
        .state
        .merchants
        .get_mut(&ctx.msn)
        .and_then(|m| m.agreements.get_mut(&id))
    else {
        return not_found(ctx, &id);
    };
    if let Err(status) = activate(a, now, None) {
        return ctx.error(
            400,
            &format!(
                "Agreement {id} is {} and cannot be accepted.",
                status.as_str()
            ),
            &[invalid("status", "not PENDING")],
        );
    }
    a.phone_number = Some(Msisdn(phone));
    inner.dirty = true;
    // A failed initial charge expires the agreement instead.
    let event = if super::charges::settle_initial(inner, &ctx.msn, &id) {
        super::events::AGREEMENT_EXPIRED
    } else {
        super::events::AGREEMENT_ACTIVATED
    };
    if let Some(a) = inner
        .state
        .merchants
        .get(&ctx.msn)
        .and_then(|m| m.agreements.get(&id))
    {
        let payload = super::events::for_agreement(event, &ctx.msn, a, now, None);
        inner.emit(&ctx.msn, event, payload);
    }
    Reply::empty(204)
}

/// PENDING -> ACTIVE. A VARIABLE agreement's customer chooses the maximum amount (`None`: the
/// suggested one, as the test environment's force-accept does).
pub(crate) fn activate(
    a: &mut Agreement,
    now: DateTime<Utc>,
    max_amount: Option<i64>,
) -> Result<(), AgreementStatus> {
    if a.status != AgreementStatus::Pending {
        return Err(a.status);
    }
    a.status = AgreementStatus::Active;
    a.start = Some(now);
    if a.pricing.kind == PricingType::Variable {
        a.pricing.max_amount = max_amount.or(a.pricing.suggested_max_amount);
    }
    Ok(())
}

/// What a customer may choose as `maxAmount`: VARIABLE pricing only, positive, within the
/// currency's limit.
pub(crate) fn check_chosen_max(a: &Agreement, max: i64) -> Result<(), String> {
    if a.pricing.kind != PricingType::Variable {
        return Err(format!(
            "agreement {} has {} pricing; only VARIABLE agreements let the customer choose a maximum amount",
            a.id,
            a.pricing.kind.as_str()
        ));
    }
    let cap = variable_cap(&a.pricing.currency).unwrap_or(AMOUNT_MAX);
    if max <= 0 || max > cap {
        return Err(format!(
            "maxAmount must be 1 to {cap} (minor units of {})",
            a.pricing.currency
        ));
    }
    Ok(())
}

/// PENDING -> STOPPED (the customer rejected it) or ACTIVE -> STOPPED (the customer stopped it).
pub(crate) fn customer_stop(a: &mut Agreement, now: DateTime<Utc>) -> Result<(), AgreementStatus> {
    if a.status.is_terminal() {
        return Err(a.status);
    }
    a.status = AgreementStatus::Stopped;
    a.stop = Some(now);
    Ok(())
}
