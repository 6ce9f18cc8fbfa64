//! Recurring API v3 charges: create (Idempotency-Key; RECURRING with a due date and retries,
//! UNSCHEDULED for allow-listed sales units), fetch, list (status filter, Continuation-Token
//! pages), capture, refund, cancel, and the initial charge of a draft. Charges are processed on
//! the simulated clock: DUE the day before their due date, charged or reserved on it, or retried
//! daily for `retryDays` while the customer's card fails (`/_sim/charges/fail`), then FAILED.
//! Every change raises its `recurring.charge-*.v1` event. vippsctl itself never calls these:
//! charges are operational, not declarative.

use super::core::{Ctx, Inner};
use super::state::{
    Agreement, AgreementStatus, Charge, ChargeEvent, ChargeStatus, MerchantState, PricingType,
};
use super::wire::{invalid, Reply};
use chrono::{DateTime, Duration, Months, NaiveDate, Utc};
use serde_json::{json, Value};

pub const CHARGE_RESERVED: &str = "recurring.charge-reserved.v1";
pub const CHARGE_CAPTURED: &str = "recurring.charge-captured.v1";
/// With one "l", as Vipps spells it.
pub const CHARGE_CANCELED: &str = "recurring.charge-canceled.v1";
pub const CHARGE_REFUNDED: &str = "recurring.charge-refunded.v1";
pub const CHARGE_FAILED: &str = "recurring.charge-failed.v1";

/// `retryDays` is 0..14.
pub const RETRY_DAYS_MAX: i64 = 14;
/// "At least one day in the test environment" (two in production).
pub const DUE_LEAD_DAYS: i64 = 1;
/// A due date at most two years out (RECG).
pub const DUE_MAX_MONTHS: u32 = 24;
/// LEGACY agreements: the charges of one interval may total this many times the price.
pub const LEGACY_CEILING_FACTOR: i64 = 5;
/// Refunds are possible up to this many days after the capture (TK-rec-chg).
pub const REFUND_DAYS: i64 = 365;
/// Charges per list page: Vipps documents none; a small one makes a client that ignores the
/// Continuation-Token lose charges early.
pub const PAGE_SIZE: usize = 20;
/// Continuation-Tokens are "short-lived": valid this long on the simulated clock.
pub const TOKEN_MINUTES: i64 = 10;
pub const FAILURE_REASONS: [&str; 4] = [
    "user_action_required",
    "charge_amount_too_high",
    "non_technical_error",
    "technical_error",
];

pub(crate) fn handle(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    use super::recurring::idempotent;
    match ctx.op.name {
        "list_charges" => list(inner, ctx),
        "create_charge" => idempotent(inner, ctx, create),
        "fetch_charge" => fetch(inner, ctx),
        "cancel_charge" => idempotent(inner, ctx, cancel),
        "capture_charge" => idempotent(inner, ctx, capture),
        "refund_charge" => idempotent(inner, ctx, refund),
        "fetch_charge_by_id" => fetch_by_id(inner, ctx),
        _ => ctx.error(404, "Not found", &[]),
    }
}

fn bad(ctx: &Ctx<'_>, problems: &[(String, String)]) -> Reply {
    ctx.error(400, "One or more validation errors occurred.", problems)
}

fn due_start(c: &Charge) -> DateTime<Utc> {
    c.due.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Ten or more digits (`^\d{10,}$`), derived from the charge id so it is stable.
fn transaction_id(msn: &str, id: &str) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(format!("{msn}/{id}").as_bytes());
    let n = u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]);
    format!("50{:010}", n % 10_000_000_000)
}

fn is_order_id(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn create_key(c: &Charge) -> String {
    c.history
        .first()
        .map(|h| h.idempotency_key.clone())
        .unwrap_or_default()
}

fn record(c: &mut Charge, at: DateTime<Utc>, event: &str, amount: i64, key: String, ok: bool) {
    c.history.push(ChargeEvent {
        occurred: at,
        event: event.to_string(),
        amount,
        idempotency_key: key,
        success: ok,
    });
}

/// A webhook event of the charge. Vipps's sources name the events but not their payload: this
/// one has the agreement events' shape (`agreementId`, `eventType`, `occurred`, `msn`) with the
/// charge's fields under their `ChargeResponseV3` names, and the nullable `transactionId` the
/// recurring changelog (2025-12) announces. Unverified; see docs/simulator.md.
pub(crate) fn payload(
    event: &str,
    msn: &str,
    c: &Charge,
    agreement_external_id: Option<&str>,
    amount: i64,
    at: DateTime<Utc>,
) -> Value {
    let mut v = json!({
        "agreementId": c.agreement_id,
        "chargeId": c.id,
        "amount": amount,
        "currency": c.currency,
        "chargeType": c.kind,
        "eventType": event,
        "occurred": super::events::time(&at),
        "msn": msn,
        "transactionId": c.transaction_id,
    });
    if let Some(e) = agreement_external_id {
        v["agreementExternalId"] = json!(e);
    }
    if let Some(e) = &c.external_id {
        v["chargeExternalId"] = json!(e);
    }
    if let Some(r) = &c.failure_reason {
        v["failureReason"] = json!(r);
    }
    v
}

type Raised = Vec<(String, &'static str, Value)>;

pub(crate) fn charge_json(c: &Charge, agreement_external_id: Option<&str>) -> Value {
    let mut v = json!({
        "amount": c.amount,
        "currency": c.currency,
        "description": c.description,
        "due": format!("{}T00:00:00Z", c.due.format("%Y-%m-%d")),
        "id": c.id,
        "agreementId": c.agreement_id,
        "externalId": c.external_id,
        "retryDays": c.retry_days,
        "processingMode": c.processing_mode,
        "status": c.status.as_str(),
        "transactionId": c.transaction_id,
        "type": c.kind,
        "transactionType": c.transaction_type,
        "summary": {"captured": c.captured, "refunded": c.refunded, "cancelled": c.cancelled},
        "history": c.history.iter().map(|h| json!({
            "occurred": time(&h.occurred),
            "event": h.event,
            "amount": h.amount,
            "idempotencyKey": h.idempotency_key,
            "success": h.success,
        })).collect::<Vec<_>>(),
    });
    if let Some(e) = agreement_external_id {
        v["externalAgreementId"] = json!(e);
    }
    if let Some(r) = &c.failure_reason {
        v["failureReason"] = json!(r);
        v["failureDescription"] = json!(r.replace('_', " "));
    }
    v
}

/// The interval period `[start, end)` of an agreement that holds `day`, counted from the day
/// the agreement started.
fn period_of(anchor: NaiveDate, unit: &str, count: i64, day: NaiveDate) -> (NaiveDate, NaiveDate) {
    let count = count.max(1);
    let add = |k: i64| -> Option<NaiveDate> {
        match unit {
            "YEAR" => anchor.checked_add_months(Months::new(u32::try_from(12 * count * k).ok()?)),
            "MONTH" => anchor.checked_add_months(Months::new(u32::try_from(count * k).ok()?)),
            "WEEK" => anchor.checked_add_signed(Duration::try_days(7 * count * k)?),
            _ => anchor.checked_add_signed(Duration::try_days(count * k)?),
        }
    };
    let mut k = 0;
    // Bounded: due dates are at most two years out, the shortest period is a day.
    while k < 1000 && add(k + 1).is_some_and(|next| next <= day) {
        k += 1;
    }
    let start = add(k).unwrap_or(anchor);
    (start, add(k + 1).unwrap_or(NaiveDate::MAX))
}

fn counts_toward_ceiling(c: &Charge) -> bool {
    !matches!(c.status, ChargeStatus::Cancelled | ChargeStatus::Failed)
}

fn create(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    let body = match super::recurring::body_object(ctx) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let agreement_id = ctx.params.first().cloned().unwrap_or_default();
    let Some(agreement) = inner
        .state
        .merchants
        .get(&ctx.msn)
        .and_then(|m| m.agreements.get(&agreement_id))
        .cloned()
    else {
        return ctx.error(
            404,
            &format!("Agreement {agreement_id} was not found."),
            &[],
        );
    };
    let now = inner.now();
    let today = now.date_naive();
    let mut problems = Vec::new();
    let amount = match body.get("amount").and_then(Value::as_i64) {
        Some(a) if a > 0 && a <= i64::from(i32::MAX) => a,
        _ => {
            problems.push(invalid(
                "amount",
                "required, a positive int32 in minor units",
            ));
            0
        }
    };
    let description = super::recurring::opt_string(&body, "description", 1, 100, &mut problems);
    if description.is_none() && !problems.iter().any(|p| p.0 == "description") {
        problems.push(invalid("description", "required, 1 to 100 characters"));
    }
    let transaction_type = match body.get("transactionType").and_then(Value::as_str) {
        Some(t @ ("DIRECT_CAPTURE" | "RESERVE_CAPTURE")) => t.to_string(),
        _ => {
            problems.push(invalid(
                "transactionType",
                "required: DIRECT_CAPTURE or RESERVE_CAPTURE",
            ));
            String::new()
        }
    };
    let kind = match body.get("type") {
        None | Some(Value::Null) => "RECURRING",
        Some(Value::String(t)) if t == "RECURRING" => "RECURRING",
        Some(Value::String(t)) if t == "UNSCHEDULED" => "UNSCHEDULED",
        Some(_) => {
            problems.push(invalid("type", "must be RECURRING or UNSCHEDULED"));
            "RECURRING"
        }
    };
    let unscheduled = kind == "UNSCHEDULED";
    let mode = match body.get("processingMode") {
        None | Some(Value::Null) if unscheduled => "SINGLE_ATTEMPT",
        None | Some(Value::Null) => "MULTIPLE_ATTEMPTS",
        // "For UNSCHEDULED charges, the parameter cannot be set."
        Some(_) if unscheduled => {
            problems.push(invalid(
                "processingMode",
                "cannot be set for UNSCHEDULED charges (they are never retried)",
            ));
            "SINGLE_ATTEMPT"
        }
        Some(Value::String(m)) if m == "MULTIPLE_ATTEMPTS" => "MULTIPLE_ATTEMPTS",
        Some(Value::String(m)) if m == "SINGLE_ATTEMPT" => "SINGLE_ATTEMPT",
        Some(_) => {
            problems.push(invalid(
                "processingMode",
                "must be MULTIPLE_ATTEMPTS or SINGLE_ATTEMPT",
            ));
            "MULTIPLE_ATTEMPTS"
        }
    };
    let retry_days = match body.get("retryDays") {
        None | Some(Value::Null) if unscheduled => 0,
        None | Some(Value::Null) => {
            problems.push(invalid(
                "retryDays",
                "required for RECURRING charges (0 to 14)",
            ));
            0
        }
        Some(v) => match v.as_i64() {
            Some(d) if (0..=RETRY_DAYS_MAX).contains(&d) => d,
            _ => {
                problems.push(invalid("retryDays", "must be an integer from 0 to 14"));
                0
            }
        },
    };
    if mode == "SINGLE_ATTEMPT" && !unscheduled && retry_days != 0 {
        problems.push(invalid("retryDays", "must be 0 with SINGLE_ATTEMPT"));
    }
    let due = match body.get("due") {
        None | Some(Value::Null) if unscheduled => Some(today),
        None | Some(Value::Null) => {
            problems.push(invalid(
                "due",
                "required for RECURRING charges (YYYY-MM-DD)",
            ));
            None
        }
        Some(Value::String(d)) => match NaiveDate::parse_from_str(d, "%Y-%m-%d") {
            Ok(date) if d.len() == 10 => Some(date),
            _ => {
                problems.push(invalid("due", "must be a date, YYYY-MM-DD"));
                None
            }
        },
        Some(_) => {
            problems.push(invalid("due", "must be a date, YYYY-MM-DD"));
            None
        }
    };
    // An UNSCHEDULED charge is processed at once; a given due date does not defer it.
    let due = if unscheduled { Some(today) } else { due };
    if let (Some(d), false) = (due, unscheduled) {
        let earliest = today + Duration::days(DUE_LEAD_DAYS);
        let latest = today
            .checked_add_months(Months::new(DUE_MAX_MONTHS))
            .unwrap_or(NaiveDate::MAX);
        if d < earliest {
            problems.push(invalid(
                "due",
                format!("must be at least {DUE_LEAD_DAYS} day ahead (the test environment's lead time): {earliest} or later"),
            ));
        } else if d > latest {
            problems.push(invalid(
                "due",
                format!("must be at most two years ahead: {latest} or earlier"),
            ));
        }
    }
    let order_id = match body.get("orderId") {
        None | Some(Value::Null) => None,
        Some(Value::String(o)) if is_order_id(o) => Some(o.clone()),
        Some(_) => {
            problems.push(invalid("orderId", "1 to 64 letters, digits and hyphens"));
            None
        }
    };
    let external_id = super::recurring::opt_string(&body, "externalId", 1, 64, &mut problems);
    if !problems.is_empty() {
        return bad(ctx, &problems);
    }
    let Some(due) = due else {
        return bad(ctx, &[invalid("due", "required")]);
    };
    if agreement.status != AgreementStatus::Active {
        return ctx.error(
            400,
            &format!(
                "Agreement {agreement_id} is {}; charges need an ACTIVE agreement.",
                agreement.status.as_str()
            ),
            &[invalid("agreementId", "not ACTIVE")],
        );
    }
    // UNSCHEDULED charges are for sales units Vipps has allow-listed. The create documents no
    // 403, so this is its 400.
    if unscheduled
        && inner
            .config
            .sales_unit_profile(&ctx.msn)
            .unscheduled_charges
            != Some(true)
    {
        return ctx.error(
            400,
            "UNSCHEDULED charges are not enabled for this sales unit.",
            &[invalid(
                "type",
                "the sales unit is not allow-listed for UNSCHEDULED charges",
            )],
        );
    }
    let id = order_id
        .unwrap_or_else(|| format!("chr-{}", &uuid::Uuid::new_v4().simple().to_string()[..7]));
    let m = inner.state.merchants.entry(ctx.msn.clone()).or_default();
    if m.charges.contains_key(&id) {
        return ctx.error(
            409,
            &format!("A charge with orderId {id} exists already for the merchant."),
            &[invalid("orderId", "must be unique per merchant")],
        );
    }
    // "Charges within one interval may total at most 5x the agreement price."
    if let (PricingType::Legacy, Some(iv), Some(price)) = (
        agreement.pricing.kind,
        &agreement.interval,
        agreement.pricing.amount,
    ) {
        let anchor = agreement.start.unwrap_or(agreement.created).date_naive();
        let (start, end) = period_of(anchor, &iv.unit, iv.count, due);
        let used: i64 = m
            .charges
            .values()
            .filter(|c| c.agreement_id == agreement_id && counts_toward_ceiling(c))
            .filter(|c| (start..end).contains(&c.due))
            .fold(0i64, |sum, c| {
                sum.saturating_add(c.amount.saturating_sub(c.cancelled))
            });
        let ceiling = price.saturating_mul(LEGACY_CEILING_FACTOR);
        if used.saturating_add(amount) > ceiling {
            return ctx.error(
                400,
                &format!("The charges of the interval {start} to {end} would total {}, above 5 times the agreement price ({ceiling}).", used.saturating_add(amount)),
                &[invalid("amount", "above the LEGACY ceiling of 5 times the price per interval")],
            );
        }
    }
    let key = ctx
        .req
        .header("Idempotency-Key")
        .unwrap_or_default()
        .to_string();
    let mut charge = Charge {
        id: id.clone(),
        agreement_id: agreement_id.clone(),
        amount,
        currency: agreement.pricing.currency.clone(),
        description: description.unwrap_or_default(),
        kind: kind.to_string(),
        transaction_type,
        due,
        retry_days,
        processing_mode: mode.to_string(),
        external_id,
        status: ChargeStatus::Pending,
        transaction_id: None,
        failure_reason: None,
        attempts: 0,
        captured: 0,
        refunded: 0,
        cancelled: 0,
        captured_at: None,
        history: Vec::new(),
        created: now,
    };
    record(&mut charge, now, "CREATE", amount, key, true);
    m.charges.insert(id.clone(), charge);
    inner.dirty = true;
    if unscheduled {
        sweep(inner);
    }
    Reply::json(201, &json!({"chargeId": id}))
}

/// The draft's initial charge, PENDING until the customer accepts.
pub(crate) fn create_initial(
    inner: &mut Inner,
    msn: &str,
    agreement: &Agreement,
    charge_id: &str,
    initial: &Value,
    key: &str,
) {
    let now = inner.now();
    let mut charge = Charge {
        id: charge_id.to_string(),
        agreement_id: agreement.id.clone(),
        amount: initial.get("amount").and_then(Value::as_i64).unwrap_or(0),
        currency: agreement.pricing.currency.clone(),
        description: initial
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        kind: "INITIAL".into(),
        transaction_type: initial
            .get("transactionType")
            .and_then(Value::as_str)
            .unwrap_or("DIRECT_CAPTURE")
            .to_string(),
        due: now.date_naive(),
        retry_days: 0,
        processing_mode: "SINGLE_ATTEMPT".into(),
        external_id: initial
            .get("externalId")
            .and_then(Value::as_str)
            .map(str::to_string),
        status: ChargeStatus::Pending,
        transaction_id: None,
        failure_reason: None,
        attempts: 0,
        captured: 0,
        refunded: 0,
        cancelled: 0,
        captured_at: None,
        history: Vec::new(),
        created: now,
    };
    let amount = charge.amount;
    record(&mut charge, now, "CREATE", amount, key.to_string(), true);
    inner
        .state
        .merchants
        .entry(msn.to_string())
        .or_default()
        .charges
        .insert(charge_id.to_string(), charge);
    inner.dirty = true;
}

/// Charge the initial charge of an agreement the customer just accepted. `true` when it failed:
/// the agreement is then EXPIRED ("PENDING to EXPIRED ... or the initial charge failed"), and the
/// caller raises agreement-expired instead of agreement-activated.
pub(crate) fn settle_initial(inner: &mut Inner, msn: &str, agreement_id: &str) -> bool {
    let now = inner.now();
    let Some(m) = inner.state.merchants.get_mut(msn) else {
        return false;
    };
    let failing = m.failing_cards.get(agreement_id).cloned();
    let external = m
        .agreements
        .get(agreement_id)
        .and_then(|a| a.external_id.clone());
    let Some(c) = m.charges.values_mut().find(|c| {
        c.agreement_id == agreement_id && c.kind == "INITIAL" && c.status == ChargeStatus::Pending
    }) else {
        return false;
    };
    c.transaction_id = Some(transaction_id(msn, &c.id));
    let mut raised: Raised = Vec::new();
    let failed = match failing {
        Some(reason) => {
            fail(c, now, reason);
            raised.push((
                msn.to_string(),
                CHARGE_FAILED,
                payload(CHARGE_FAILED, msn, c, external.as_deref(), c.amount, now),
            ));
            true
        }
        None => {
            let event = succeed(c, now);
            raised.push((
                msn.to_string(),
                event,
                payload(event, msn, c, external.as_deref(), c.amount, now),
            ));
            false
        }
    };
    if failed {
        if let Some(a) = m.agreements.get_mut(agreement_id) {
            a.status = AgreementStatus::Expired;
            a.stop = Some(now);
        }
    }
    inner.dirty = true;
    for (msn, event, p) in raised {
        inner.emit(&msn, event, p);
    }
    failed
}

/// An agreement was stopped: its PENDING and DUE charges are cancelled, and RESERVED ones too
/// when the merchant stopped it ("a customer-initiated stop leaves RESERVED charges alone").
pub(crate) fn agreement_stopped(
    inner: &mut Inner,
    msn: &str,
    agreement_id: &str,
    by_merchant: bool,
) {
    let now = inner.now();
    let Some(m) = inner.state.merchants.get_mut(msn) else {
        return;
    };
    let external = m
        .agreements
        .get(agreement_id)
        .and_then(|a| a.external_id.clone());
    let mut raised: Raised = Vec::new();
    for c in m
        .charges
        .values_mut()
        .filter(|c| c.agreement_id == agreement_id)
    {
        let open = matches!(c.status, ChargeStatus::Pending | ChargeStatus::Due)
            || (by_merchant && c.status == ChargeStatus::Reserved);
        if open {
            let amount = cancel_now(c, now, create_key(c));
            raised.push((
                msn.to_string(),
                CHARGE_CANCELED,
                payload(CHARGE_CANCELED, msn, c, external.as_deref(), amount, now),
            ));
        }
    }
    inner.dirty |= !raised.is_empty();
    for (msn, event, p) in raised {
        inner.emit(&msn, event, p);
    }
}

/// What is still reserved on a RESERVE_CAPTURE charge (refunds of the captured part leave it).
fn reserved_left(c: &Charge) -> i64 {
    let reserved = matches!(
        c.status,
        ChargeStatus::Reserved
            | ChargeStatus::PartiallyCaptured
            | ChargeStatus::PartiallyRefunded
            | ChargeStatus::Refunded
    );
    if c.transaction_type == "RESERVE_CAPTURE" && reserved {
        c.amount
            .saturating_sub(c.captured)
            .saturating_sub(c.cancelled)
    } else {
        0
    }
}

fn cancel_now(c: &mut Charge, at: DateTime<Utc>, key: String) -> i64 {
    let amount = c.amount.saturating_sub(c.captured);
    c.status = ChargeStatus::Cancelled;
    c.cancelled = amount;
    record(c, at, "CANCEL", amount, key, true);
    amount
}

fn succeed(c: &mut Charge, at: DateTime<Utc>) -> &'static str {
    let key = create_key(c);
    if c.transaction_type == "RESERVE_CAPTURE" {
        c.status = ChargeStatus::Reserved;
        record(c, at, "RESERVE", c.amount, key, true);
        CHARGE_RESERVED
    } else {
        c.status = ChargeStatus::Charged;
        c.captured = c.amount;
        c.captured_at = Some(at);
        record(c, at, "CAPTURE", c.amount, key, true);
        CHARGE_CAPTURED
    }
}

fn fail(c: &mut Charge, at: DateTime<Utc>, reason: String) {
    let key = create_key(c);
    c.status = ChargeStatus::Failed;
    c.failure_reason = Some(reason);
    record(c, at, "FAIL", c.amount, key, false);
}

/// Why charging `c` now fails, if it does.
fn attempt(
    c: &Charge,
    agreement: Option<&Agreement>,
    failing: Option<&String>,
) -> Result<(), String> {
    let Some(a) = agreement.filter(|a| a.status == AgreementStatus::Active) else {
        return Err("non_technical_error".into());
    };
    // The ceiling of a VARIABLE agreement is max(suggestedMaxAmount, maxAmount) (API-FACTS 8).
    if a.pricing.kind == PricingType::Variable {
        let ceiling = a
            .pricing
            .max_amount
            .unwrap_or(0)
            .max(a.pricing.suggested_max_amount.unwrap_or(0));
        if c.amount > ceiling {
            return Err("charge_amount_too_high".into());
        }
    }
    match failing {
        Some(reason) => Err(reason.clone()),
        None => Ok(()),
    }
}

/// Move every charge along the simulated clock; called by the core's sweep before each request
/// and when the clock advances.
pub(crate) fn sweep(inner: &mut Inner) {
    let now = inner.now();
    let mut raised: Raised = Vec::new();
    let mut changed = false;
    for (msn, m) in inner.state.merchants.iter_mut() {
        changed |= sweep_merchant(msn, m, now, &mut raised);
    }
    inner.dirty |= changed;
    for (msn, event, p) in raised {
        inner.emit(&msn, event, p);
    }
}

/// [`sweep`] for one merchant: what an API call for `msn` needs (a sweep of every merchant per
/// call made a fleet's plan quadratic in the simulator).
pub(crate) fn sweep_one(inner: &mut Inner, msn: &str) {
    let now = inner.now();
    let mut raised: Raised = Vec::new();
    let changed = match inner.state.merchants.get_mut(msn) {
        Some(m) => sweep_merchant(msn, m, now, &mut raised),
        None => false,
    };
    inner.dirty |= changed;
    for (msn, event, p) in raised {
        inner.emit(&msn, event, p);
    }
}

fn sweep_merchant(
    msn: &str,
    m: &mut MerchantState,
    now: DateTime<Utc>,
    raised: &mut Raised,
) -> bool {
    let MerchantState {
        agreements,
        charges,
        failing_cards,
        ..
    } = m;
    let mut changed = false;
    for c in charges.values_mut() {
        let agreement = agreements.get(&c.agreement_id);
        let external = agreement.and_then(|a| a.external_id.clone());
        // Charges of an agreement that expired or was stopped behind the API's back.
        if agreement.is_none_or(|a| a.status.is_terminal())
            && matches!(c.status, ChargeStatus::Pending | ChargeStatus::Due)
        {
            let amount = cancel_now(c, now, create_key(c));
            raised.push((
                msn.to_string(),
                CHARGE_CANCELED,
                payload(CHARGE_CANCELED, msn, c, external.as_deref(), amount, now),
            ));
            changed = true;
            continue;
        }
        // The initial charge is settled when the customer accepts.
        if c.kind == "INITIAL" {
            continue;
        }
        let start = due_start(c);
        // Seeded state may hold any date: the arithmetic is checked, never panics.
        let due_from = start.checked_sub_signed(Duration::days(1)).unwrap_or(start);
        if c.status == ChargeStatus::Pending && now >= due_from {
            c.status = ChargeStatus::Due;
            c.transaction_id = Some(transaction_id(msn, &c.id));
            changed = true;
        }
        while c.status == ChargeStatus::Due {
            let at = match start.checked_add_signed(Duration::days(c.attempts)) {
                Some(at) if at <= now => at,
                _ => break,
            };
            changed = true;
            match attempt(c, agreement, failing_cards.get(&c.agreement_id)) {
                Ok(()) => {
                    let event = succeed(c, at);
                    raised.push((
                        msn.to_string(),
                        event,
                        payload(event, msn, c, external.as_deref(), c.amount, at),
                    ));
                }
                Err(reason) => {
                    c.attempts += 1;
                    let retries = c.kind == "RECURRING" && c.processing_mode == "MULTIPLE_ATTEMPTS";
                    if !retries || c.attempts > c.retry_days {
                        fail(c, at, reason);
                        raised.push((
                            msn.to_string(),
                            CHARGE_FAILED,
                            payload(CHARGE_FAILED, msn, c, external.as_deref(), c.amount, at),
                        ));
                    }
                }
            }
        }
    }
    changed
}

fn find<'a>(inner: &'a Inner, ctx: &Ctx<'_>) -> Result<(&'a Charge, Option<&'a str>), Reply> {
    let agreement_id = ctx.params.first().cloned().unwrap_or_default();
    let charge_id = ctx.params.get(1).cloned().unwrap_or_default();
    let m = inner.state.merchants.get(&ctx.msn);
    let Some(agreement) = m.and_then(|m| m.agreements.get(&agreement_id)) else {
        return Err(ctx.error(
            404,
            &format!("Agreement {agreement_id} was not found."),
            &[],
        ));
    };
    match m
        .and_then(|m| m.charges.get(&charge_id))
        .filter(|c| c.agreement_id == agreement_id)
    {
        Some(c) => Ok((c, agreement.external_id.as_deref())),
        None => Err(ctx.error(
            404,
            &format!("Charge {charge_id} of agreement {agreement_id} was not found."),
            &[],
        )),
    }
}

fn fetch(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    match find(inner, ctx) {
        Ok((c, ext)) => Reply::json(200, &charge_json(c, ext)),
        Err(r) => r,
    }
}

fn fetch_by_id(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    let charge_id = ctx.params.first().cloned().unwrap_or_default();
    let m = inner.state.merchants.get(&ctx.msn);
    match m.and_then(|m| m.charges.get(&charge_id)) {
        Some(c) => {
            let ext = m
                .and_then(|m| m.agreements.get(&c.agreement_id))
                .and_then(|a| a.external_id.as_deref());
            Reply::json(200, &charge_json(c, ext))
        }
        None => ctx.error(404, &format!("Charge {charge_id} was not found."), &[]),
    }
}

/// A Continuation-Token: a uuid carrying the offset of the next page and when it was issued.
fn token(offset: usize, issued: DateTime<Utc>) -> String {
    let mut b = [0u8; 16];
    let secs = issued.timestamp().max(0) as u64;
    b[0..6].copy_from_slice(&secs.to_be_bytes()[2..8]);
    b[10..16].copy_from_slice(&(offset as u64).to_be_bytes()[2..8]);
    uuid::Builder::from_custom_bytes(b).into_uuid().to_string()
}

fn read_token(s: &str, now: DateTime<Utc>) -> Option<usize> {
    let b = *uuid::Uuid::parse_str(s).ok()?.as_bytes();
    let mut secs = [0u8; 8];
    secs[2..8].copy_from_slice(&b[0..6]);
    let mut off = [0u8; 8];
    off[2..8].copy_from_slice(&b[10..16]);
    let issued = DateTime::from_timestamp(i64::try_from(u64::from_be_bytes(secs)).ok()?, 0)?;
    let fresh = issued <= now && now - issued <= Duration::minutes(TOKEN_MINUTES);
    fresh
        .then(|| usize::try_from(u64::from_be_bytes(off)).ok())
        .flatten()
}

fn list(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    let agreement_id = ctx.params.first().cloned().unwrap_or_default();
    let m = inner.state.merchants.get(&ctx.msn);
    let Some(agreement) = m.and_then(|m| m.agreements.get(&agreement_id)) else {
        return ctx.error(
            404,
            &format!("Agreement {agreement_id} was not found."),
            &[],
        );
    };
    let mut problems = Vec::new();
    let status = match ctx.req.query_param("status") {
        None => None,
        Some(s) => match ChargeStatus::parse(&s) {
            Some(st) => Some(st),
            None => {
                problems.push(invalid("status", "must be one of the ChargeStatus values"));
                None
            }
        },
    };
    let now = inner.now();
    let offset = match ctx.req.header("Continuation-Token") {
        None => 0,
        Some(t) => match read_token(t.trim(), now) {
            Some(o) => o,
            None => {
                problems.push(invalid(
                    "Continuation-Token",
                    format!("unknown or expired (tokens are valid {TOKEN_MINUTES} minutes)"),
                ));
                0
            }
        },
    };
    if !problems.is_empty() {
        return bad(ctx, &problems);
    }
    let mut all: Vec<&Charge> = m
        .map(|m| {
            m.charges
                .values()
                .filter(|c| c.agreement_id == agreement_id)
                .filter(|c| status.is_none_or(|s| c.status == s))
                .collect()
        })
        .unwrap_or_default();
    all.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.id.cmp(&b.id)));
    let ext = agreement.external_id.as_deref();
    let page: Vec<Value> = all
        .iter()
        .skip(offset)
        .take(PAGE_SIZE)
        .map(|c| charge_json(c, ext))
        .collect();
    let mut reply = Reply::json(200, &Value::Array(page));
    if all.len() > offset + PAGE_SIZE {
        reply = reply.with_header("Continuation-Token", token(offset + PAGE_SIZE, now));
    }
    reply
}

/// One change of a charge by the API: what happened (the event to raise) and for how much.
type Changed = Result<(&'static str, i64), Reply>;

/// Look the path's charge up (404 otherwise), apply `op` to it with the time and the request's
/// Idempotency-Key, and raise the event it names; 204 (the spec allows 202 or 204).
fn change(
    inner: &mut Inner,
    ctx: &Ctx<'_>,
    op: impl FnOnce(&mut Charge, DateTime<Utc>, String) -> Changed,
) -> Reply {
    let (id, ext) = match find(inner, ctx) {
        Ok((c, ext)) => (c.id.clone(), ext.map(str::to_string)),
        Err(r) => return r,
    };
    let now = inner.now();
    let key = ctx
        .req
        .header("Idempotency-Key")
        .unwrap_or_default()
        .to_string();
    let Some(c) = inner
        .state
        .merchants
        .get_mut(&ctx.msn)
        .and_then(|m| m.charges.get_mut(&id))
    else {
        return ctx.error(404, "Charge not found.", &[]);
    };
    match op(c, now, key) {
        Err(reply) => reply,
        Ok((event, amount)) => {
            let p = payload(event, &ctx.msn, c, ext.as_deref(), amount, now);
            inner.dirty = true;
            inner.emit(&ctx.msn, event, p);
            Reply::empty(204)
        }
    }
}

fn cancel(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    change(inner, ctx, |c, now, key| {
        // "Cancels a pending, due or reserved charge"; of a partially captured one the rest is
        // released.
        if !matches!(c.status, ChargeStatus::Pending | ChargeStatus::Due) && reserved_left(c) <= 0 {
            return Err(ctx.error(
                400,
                &format!(
                    "Charge {} is {} and has nothing left to cancel.",
                    c.id,
                    c.status.as_str()
                ),
                &[invalid("status", "not PENDING, DUE or reserved")],
            ));
        }
        Ok((CHARGE_CANCELED, cancel_now(c, now, key)))
    })
}

/// The body's `amount` (required, positive int32) and `description` (1-100, required or not),
/// or the 400.
fn amount_and_description(ctx: &Ctx<'_>, description_required: bool) -> Result<i64, Reply> {
    let body = super::recurring::body_object(ctx)?;
    let mut problems = Vec::new();
    let amount = match body.get("amount").and_then(Value::as_i64) {
        Some(a) if a > 0 && a <= i64::from(i32::MAX) => a,
        _ => {
            problems.push(invalid(
                "amount",
                "required, a positive int32 in minor units",
            ));
            0
        }
    };
    let description = super::recurring::opt_string(&body, "description", 1, 100, &mut problems);
    if description_required
        && description.is_none()
        && !problems.iter().any(|p| p.0 == "description")
    {
        problems.push(invalid("description", "required, 1 to 100 characters"));
    }
    if problems.is_empty() {
        Ok(amount)
    } else {
        Err(bad(ctx, &problems))
    }
}

fn capture(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    // The description is deprecated: the charge's own is used.
    let amount = match amount_and_description(ctx, false) {
        Ok(a) => a,
        Err(r) => return r,
    };
    change(inner, ctx, |c, now, key| {
        if c.transaction_type != "RESERVE_CAPTURE" {
            return Err(ctx.error(
                400,
                "Only RESERVE_CAPTURE charges can be captured.",
                &[invalid(
                    "transactionType",
                    "DIRECT_CAPTURE charges are captured when charged",
                )],
            ));
        }
        let left = reserved_left(c);
        too_much(ctx, c, amount, left, "capture")?;
        c.captured = c.captured.saturating_add(amount);
        c.captured_at.get_or_insert(now);
        c.status = if c.refunded > 0 {
            ChargeStatus::PartiallyRefunded
        } else if c.captured == c.amount {
            ChargeStatus::Charged
        } else {
            ChargeStatus::PartiallyCaptured
        };
        record(c, now, "CAPTURE", amount, key, true);
        Ok((CHARGE_CAPTURED, amount))
    })
}

/// A capture or refund of more than is `left` (or of nothing when nothing is): 400.
fn too_much(ctx: &Ctx<'_>, c: &Charge, amount: i64, left: i64, what: &str) -> Result<(), Reply> {
    if left <= 0 || amount > left {
        return Err(ctx.error(
            400,
            &format!(
                "Charge {} is {} with {} left to {what}.",
                c.id,
                c.status.as_str(),
                left.max(0)
            ),
            &[invalid("amount", format!("at most {}", left.max(0)))],
        ));
    }
    Ok(())
}

fn refund(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    let amount = match amount_and_description(ctx, true) {
        Ok(a) => a,
        Err(r) => return r,
    };
    change(inner, ctx, |c, now, key| {
        let left = c.captured.saturating_sub(c.refunded);
        if c.captured_at
            .and_then(|t| t.checked_add_signed(Duration::days(REFUND_DAYS)))
            .is_some_and(|last| now > last)
        {
            return Err(ctx.error(
                400,
                "Refunds are possible up to 365 days after the capture.",
                &[invalid("chargeId", "captured more than 365 days ago")],
            ));
        }
        too_much(ctx, c, amount, left, "refund")?;
        c.refunded = c.refunded.saturating_add(amount);
        c.status = if c.refunded == c.captured {
            ChargeStatus::Refunded
        } else {
            ChargeStatus::PartiallyRefunded
        };
        record(c, now, "REFUND", amount, key, true);
        Ok((CHARGE_REFUNDED, amount))
    })
}

/// `/_sim/charges/fail`: from now on charging this agreement's customer fails with `reason`
/// (`None`: the card works again).
pub(crate) fn set_card_fails(
    inner: &mut Inner,
    agreement_id: &str,
    reason: Option<&str>,
) -> Result<(), super::control::ControlError> {
    if let Some(r) = reason {
        if !FAILURE_REASONS.contains(&r) {
            return Err(super::control::ControlError::Invalid(format!(
                "reason must be one of {}",
                FAILURE_REASONS.join(", ")
            )));
        }
    }
    let msn = inner
        .state
        .merchants
        .iter()
        .find(|(_, m)| m.agreements.contains_key(agreement_id))
        .map(|(msn, _)| msn.clone())
        .ok_or_else(|| super::control::ControlError::NotFound {
            msn: "*".into(),
            kind: super::control::ObjectKind::Agreement,
            id: agreement_id.to_string(),
        })?;
    if let Some(m) = inner.state.merchants.get_mut(&msn) {
        match reason {
            Some(r) => {
                m.failing_cards
                    .insert(agreement_id.to_string(), r.to_string());
            }
            None => {
                m.failing_cards.remove(agreement_id);
            }
        }
    }
    inner.dirty = true;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_periods_count_from_the_start() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default();
        let anchor = d("2026-01-31");
        assert_eq!(
            period_of(anchor, "MONTH", 1, d("2026-02-15")),
            (d("2026-01-31"), d("2026-02-28"))
        );
        assert_eq!(
            period_of(anchor, "MONTH", 1, d("2026-02-28")).0,
            d("2026-02-28")
        );
        assert_eq!(
            period_of(anchor, "WEEK", 2, d("2026-02-14")),
            (d("2026-02-14"), d("2026-02-28"))
        );
        assert_eq!(
            period_of(anchor, "DAY", 1, d("2026-01-31")),
            (d("2026-01-31"), d("2026-02-01"))
        );
    }

    #[test]
    fn continuation_tokens_carry_the_offset_and_expire() {
        let now = Utc::now();
        let t = token(40, now);
        assert!(uuid::Uuid::parse_str(&t).is_ok());
        assert_eq!(read_token(&t, now), Some(40));
        assert_eq!(
            read_token(&t, now + Duration::minutes(TOKEN_MINUTES + 1)),
            None
        );
        assert_eq!(read_token("not-a-token", now), None);
        assert!(transaction_id("123456", "chr-1").len() >= 10);
    }
}
