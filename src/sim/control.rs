//! Everything under `/_sim/`, kept apart from the Vipps paths: the control API (state, seed,
//! drift, agreement accept/reject/stop, clock, faults, call log, reset, webhook deliveries and
//! their forward target, QR check-ins, triggered events), the QR images and
//! short links, and the consent page behind `vippsConfirmationUrl`. Not logged as API calls.

use super::config::FaultConfig;
use super::core::Inner;
use super::state::{AgreementStatus, SimState};
use super::wire::{percent_decode, Reply, Req};
use super::{events, image, qr, recurring};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Which kind of object a drift changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    Webhook,
    RedirectQr,
    CallbackQr,
    Agreement,
}

/// A change made behind vippsctl's back: merge `set` into the object (field names as in
/// [`SimState`]'s JSON), or delete it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    pub msn: String,
    pub kind: ObjectKind,
    pub id: String,
    #[serde(default)]
    pub set: Option<Value>,
    #[serde(default)]
    pub delete: bool,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ControlError {
    #[error("no {kind:?} with id {id} for merchant {msn}")]
    NotFound {
        msn: String,
        kind: ObjectKind,
        id: String,
    },
    #[error("the change does not make a valid object: {0}")]
    Invalid(String),
    #[error("agreement {id} is {status} and cannot be {action}")]
    WrongStatus {
        id: String,
        status: &'static str,
        action: &'static str,
    },
}

/// Add (or replace by id) every object in `extra`.
pub(crate) fn seed(inner: &mut Inner, extra: SimState) {
    for (msn, m) in extra.merchants {
        let target = inner.state.merchants.entry(msn).or_default();
        for w in m.webhooks {
            target.webhooks.retain(|x| x.id != w.id);
            target.webhooks.push(w);
        }
        target.redirect_qrs.extend(m.redirect_qrs);
        target.callback_qrs.extend(m.callback_qrs);
        target.agreements.extend(m.agreements);
        let om = &mut target.order_management;
        om.images.extend(m.order_management.images);
        om.categories.extend(m.order_management.categories);
        for (pt, orders) in m.order_management.orders {
            om.orders.entry(pt).or_default().extend(orders);
        }
    }
    inner.dirty = true;
}

fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (t, p) => *t = p.clone(),
    }
}

fn patched<T: Serialize + for<'de> Deserialize<'de>>(
    obj: &T,
    set: &Value,
) -> Result<T, ControlError> {
    let mut v = serde_json::to_value(obj).map_err(|e| ControlError::Invalid(e.to_string()))?;
    merge(&mut v, set);
    serde_json::from_value(v).map_err(|e| ControlError::Invalid(e.to_string()))
}

pub(crate) fn drift(inner: &mut Inner, d: &Drift) -> Result<(), ControlError> {
    let not_found = || ControlError::NotFound {
        msn: d.msn.clone(),
        kind: d.kind,
        id: d.id.clone(),
    };
    let m = inner
        .state
        .merchants
        .get_mut(&d.msn)
        .ok_or_else(not_found)?;
    let set = d.set.clone().unwrap_or(Value::Null);
    match d.kind {
        ObjectKind::Webhook => {
            let pos = m
                .webhooks
                .iter()
                .position(|w| w.id.to_string() == d.id)
                .ok_or_else(not_found)?;
            if d.delete {
                m.webhooks.remove(pos);
            } else {
                m.webhooks[pos] = patched(&m.webhooks[pos], &set)?;
            }
        }
        ObjectKind::RedirectQr => {
            let q = m.redirect_qrs.get(&d.id).ok_or_else(not_found)?;
            if d.delete {
                m.redirect_qrs.remove(&d.id);
            } else {
                let q = patched(q, &set)?;
                m.redirect_qrs.insert(d.id.clone(), q);
            }
        }
        ObjectKind::CallbackQr => {
            let q = m.callback_qrs.get(&d.id).ok_or_else(not_found)?;
            if d.delete {
                m.callback_qrs.remove(&d.id);
            } else {
                let q = patched(q, &set)?;
                m.callback_qrs.insert(d.id.clone(), q);
            }
        }
        ObjectKind::Agreement => {
            let a = m.agreements.get(&d.id).ok_or_else(not_found)?;
            if d.delete {
                m.agreements.remove(&d.id);
            } else {
                let a = patched(a, &set)?;
                m.agreements.insert(d.id.clone(), a);
            }
        }
    }
    inner.dirty = true;
    Ok(())
}

/// What a customer does with an agreement in the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerAction {
    /// Accept a pending agreement; for VARIABLE pricing the customer chooses the maximum amount
    /// (`None`: the suggested one).
    Accept { max_amount: Option<i64> },
    /// Reject a pending agreement, or stop an active one.
    Stop,
}

pub(crate) fn customer(
    inner: &mut Inner,
    id: &str,
    action: CustomerAction,
) -> Result<(), ControlError> {
    inner.sweep();
    let now = inner.now();
    let (msn, a) = inner
        .state
        .find_agreement_mut(id)
        .ok_or_else(|| ControlError::NotFound {
            msn: "*".into(),
            kind: ObjectKind::Agreement,
            id: id.to_string(),
        })?;
    let msn = msn.to_string();
    let was = a.status;
    let result = match action {
        CustomerAction::Accept { max_amount } => {
            if let Some(max) = max_amount {
                recurring::check_chosen_max(a, max).map_err(ControlError::Invalid)?;
            }
            recurring::activate(a, now, max_amount).map_err(|s| (s, "accepted"))
        }
        CustomerAction::Stop => recurring::customer_stop(a, now).map_err(|s| (s, "stopped")),
    };
    result.map_err(|(s, action)| ControlError::WrongStatus {
        id: id.to_string(),
        status: s.as_str(),
        action,
    })?;
    // Accepting raises agreement-activated; stopping a pending agreement is the customer
    // rejecting it, stopping an active one the customer stopping it (actor USER).
    let (event, actor) = match (action, was) {
        (CustomerAction::Accept { .. }, _) => (events::AGREEMENT_ACTIVATED, None),
        (CustomerAction::Stop, AgreementStatus::Pending) => (events::AGREEMENT_REJECTED, None),
        (CustomerAction::Stop, _) => (events::AGREEMENT_STOPPED, Some(events::Actor::User)),
    };
    let mut payload = events::for_agreement(event, &msn, a, now, actor);
    inner.dirty = true;
    let mut event = event;
    match action {
        // A failed initial charge expires the agreement instead of activating it.
        CustomerAction::Accept { .. } if super::charges::settle_initial(inner, &msn, id) => {
            event = events::AGREEMENT_EXPIRED;
            if let Some(a) = inner
                .state
                .merchants
                .get(&msn)
                .and_then(|m| m.agreements.get(id))
            {
                payload = events::for_agreement(event, &msn, a, now, None);
            }
        }
        CustomerAction::Accept { .. } => {}
        CustomerAction::Stop => super::charges::agreement_stopped(inner, &msn, id, false),
    }
    inner.emit(&msn, event, payload);
    Ok(())
}

/// Moves the simulated clock forward; refuses a jump past what the calendar can represent.
pub(crate) fn advance_clock(
    inner: &mut Inner,
    by: std::time::Duration,
) -> Result<(), ControlError> {
    let too_far = || ControlError::Invalid(format!("cannot advance the clock by {by:?}"));
    let offset = chrono::Duration::from_std(by)
        .ok()
        .and_then(|d| inner.clock_offset.checked_add(&d))
        .ok_or_else(too_far)?;
    // Leave a century of headroom so later arithmetic on "now" cannot overflow either.
    chrono::Utc::now()
        .checked_add_signed(offset)
        .and_then(|t| t.checked_add_signed(chrono::Duration::days(36_500)))
        .ok_or_else(too_far)?;
    inner.clock_offset = offset;
    inner.sweep();
    // Retries that are now due go at once.
    inner.wake.notify_one();
    Ok(())
}

pub(crate) fn reset(inner: &mut Inner) {
    let forward = inner.deliveries.forward.take();
    inner.deliveries = super::delivery::Book {
        forward,
        ..Default::default()
    };
    inner.state = SimState::default();
    inner.calls.clear();
    inner.windows.clear();
    inner.clock_offset = chrono::Duration::zero();
    inner.dirty = true;
}

fn bad_request(msg: &str) -> Reply {
    Reply::json(400, &json!({"error": msg}))
}

fn control_error(e: &ControlError) -> Reply {
    let status = match e {
        ControlError::NotFound { .. } => 404,
        _ => 400,
    };
    Reply::json(status, &json!({"error": e.to_string()}))
}

fn parse<T: for<'de> Deserialize<'de>>(req: &Req) -> Result<T, Reply> {
    serde_json::from_slice(&req.body).map_err(|e| bad_request(&format!("invalid body: {e}")))
}

pub(crate) fn handle(inner: &mut Inner, req: &Req) -> Reply {
    let rest = req.path.trim_start_matches("/_sim");
    let segs: Vec<String> = rest
        .trim_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let ok = || Reply::json(200, &json!({"ok": true}));
    match (req.method.as_str(), segs.as_slice()) {
        ("GET", ["state"]) => {
            inner.sweep();
            Reply::json(
                200,
                &serde_json::to_value(&inner.state).unwrap_or(Value::Null),
            )
        }
        ("PUT", ["state"]) => match parse::<SimState>(req) {
            Ok(s) => {
                inner.state = s;
                inner.dirty = true;
                ok()
            }
            Err(r) => r,
        },
        ("POST", ["seed"]) => match parse::<SimState>(req) {
            Ok(s) => {
                seed(inner, s);
                ok()
            }
            Err(r) => r,
        },
        ("POST", ["drift"]) => match parse::<Drift>(req) {
            Ok(d) => match drift(inner, &d) {
                Ok(()) => ok(),
                Err(e) => control_error(&e),
            },
            Err(r) => r,
        },
        ("POST", ["agreements", id, action]) => {
            let action = match *action {
                "accept" => {
                    #[derive(Deserialize)]
                    #[serde(rename_all = "camelCase", deny_unknown_fields)]
                    struct Accept {
                        #[serde(default)]
                        max_amount: Option<i64>,
                    }
                    let max_amount = if req.body.iter().all(u8::is_ascii_whitespace) {
                        None
                    } else {
                        match parse::<Accept>(req) {
                            Ok(a) => a.max_amount,
                            Err(r) => return r,
                        }
                    };
                    CustomerAction::Accept { max_amount }
                }
                "reject" | "stop" => CustomerAction::Stop,
                _ => return bad_request("action must be accept, reject or stop"),
            };
            match customer(inner, id, action) {
                Ok(()) => ok(),
                Err(e) => control_error(&e),
            }
        }
        ("GET", ["clock"]) => Reply::json(200, &json!({"now": inner.now().to_rfc3339()})),
        ("POST", ["clock", "advance"]) => {
            #[derive(Deserialize)]
            struct Advance {
                seconds: u64,
            }
            match parse::<Advance>(req) {
                Ok(a) => match advance_clock(inner, std::time::Duration::from_secs(a.seconds)) {
                    Ok(()) => Reply::json(200, &json!({"now": inner.now().to_rfc3339()})),
                    Err(e) => control_error(&e),
                },
                Err(r) => r,
            }
        }
        ("GET", ["faults"]) => Reply::json(
            200,
            &serde_json::to_value(&inner.config.faults).unwrap_or(Value::Null),
        ),
        ("PUT", ["faults"]) => match parse::<FaultConfig>(req) {
            Ok(f) if (0.0..=1.0).contains(&f.rate) => {
                inner.set_faults(f);
                ok()
            }
            Ok(_) => bad_request("rate must be between 0 and 1"),
            Err(r) => r,
        },
        ("GET", ["calls"]) => Reply::json(
            200,
            &serde_json::to_value(&inner.calls).unwrap_or(Value::Null),
        ),
        ("DELETE", ["calls"]) => {
            inner.calls.clear();
            ok()
        }
        ("POST", ["reset"]) => {
            reset(inner);
            ok()
        }
        ("GET", ["deliveries"]) => Reply::json(
            200,
            &serde_json::to_value(inner.deliveries.list()).unwrap_or(Value::Null),
        ),
        ("DELETE", ["deliveries"]) => {
            inner.deliveries.log.clear();
            inner.deliveries.in_flight.clear();
            ok()
        }
        ("GET", ["forward"]) => Reply::json(
            200,
            &json!({"url": inner.deliveries.forward.as_ref().map(url::Url::to_string)}),
        ),
        ("PUT", ["forward"]) => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Forward {
                url: String,
            }
            match parse::<Forward>(req) {
                Ok(f) => match super::delivery::check_forward(&f.url) {
                    Ok(u) => {
                        inner.deliveries.forward = Some(u);
                        inner.wake.notify_one();
                        ok()
                    }
                    Err(e) => bad_request(&e),
                },
                Err(r) => r,
            }
        }
        ("DELETE", ["forward"]) => {
            inner.deliveries.forward = None;
            ok()
        }
        ("POST", ["charges", "fail"]) => {
            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase", deny_unknown_fields)]
            struct Fail {
                agreement_id: String,
                #[serde(default)]
                reason: Option<String>,
                #[serde(default = "yes")]
                fails: bool,
            }
            fn yes() -> bool {
                true
            }
            match parse::<Fail>(req) {
                Ok(f) => {
                    let reason = f
                        .fails
                        .then(|| f.reason.unwrap_or_else(|| "user_action_required".into()));
                    match super::charges::set_card_fails(inner, &f.agreement_id, reason.as_deref())
                    {
                        Ok(()) => ok(),
                        Err(e) => control_error(&e),
                    }
                }
                Err(r) => r,
            }
        }
        ("POST", ["scan"]) => {
            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase", deny_unknown_fields)]
            struct Scan {
                msn: String,
                merchant_qr_id: String,
            }
            match parse::<Scan>(req) {
                Ok(sc) => match inner.check_in(&sc.msn, &sc.merchant_qr_id) {
                    Some((token, emitted)) => Reply::json(
                        200,
                        &json!({
                            "eventId": emitted.event_id,
                            "deliveries": emitted.deliveries,
                            "customerToken": token,
                            "validMinutes": events::CUSTOMER_TOKEN_MINUTES,
                        }),
                    ),
                    None => control_error(&ControlError::NotFound {
                        msn: sc.msn,
                        kind: ObjectKind::CallbackQr,
                        id: sc.merchant_qr_id,
                    }),
                },
                Err(r) => r,
            }
        }
        ("POST", ["trigger"]) => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Trigger {
                event: String,
                msn: String,
            }
            match parse::<Trigger>(req) {
                Ok(t) => match events::synthetic(&t.event, &t.msn, inner.now()) {
                    Ok(payload) => {
                        if let Some(token) = payload.get("customerToken").and_then(Value::as_str) {
                            let token = token.to_string();
                            inner.remember_customer_token(&t.msn, &token);
                        }
                        let emitted = inner.emit(&t.msn, &t.event, payload.clone());
                        Reply::json(
                            200,
                            &json!({
                                "eventId": emitted.event_id,
                                "deliveries": emitted.deliveries,
                                "payload": payload,
                            }),
                        )
                    }
                    Err(e) => bad_request(&e),
                },
                Err(r) => r,
            }
        }
        ("GET", ["qr", msn, kind, file]) => qr_image(inner, req, msn, kind, file),
        ("GET", ["r", msn, content]) => redirect_content(inner, msn, content),
        // Opening a callback QR's content is scanning it: the customer checks in.
        ("GET", ["m", msn, id]) => match inner
            .state
            .merchants
            .get(*msn)
            .and_then(|m| m.callback_qrs.get(*id))
            .map(|q| q.location_description.clone())
        {
            Some(location) => {
                inner.check_in(msn, id);
                Reply::raw(
                    200,
                    "text/plain; charset=utf-8",
                    format!("Checked in at {location} (merchant {msn}).\n").into_bytes(),
                )
            }
            None => Reply::raw(
                404,
                "text/plain",
                b"This QR code no longer exists.\n".to_vec(),
            ),
        },
        ("GET", ["consent", id]) => consent_page(inner, id),
        ("POST", ["consent", id, action]) => {
            let act = match *action {
                "accept" => match consent_max_amount(req) {
                    Ok(max_amount) => CustomerAction::Accept { max_amount },
                    Err(msg) => {
                        return Reply::raw(
                            400,
                            "text/html; charset=utf-8",
                            page(
                                "Vipps MobilePay (simulator)",
                                &format!("<p>{}</p>", escape(&msg)),
                            )
                            .into_bytes(),
                        )
                    }
                },
                "reject" => CustomerAction::Stop,
                _ => return Reply::raw(404, "text/plain", b"not found\n".to_vec()),
            };
            let (status, message) = match customer(inner, id, act) {
                Ok(()) if matches!(act, CustomerAction::Accept { .. }) => {
                    (200, "You accepted the agreement.".to_string())
                }
                Ok(()) => (200, "You rejected the agreement.".to_string()),
                Err(e) => (
                    if matches!(e, ControlError::NotFound { .. }) {
                        404
                    } else {
                        409
                    },
                    e.to_string(),
                ),
            };
            Reply::raw(
                status,
                "text/html; charset=utf-8",
                page(
                    "Vipps MobilePay (simulator)",
                    &format!("<p>{}</p>", escape(&message)),
                )
                .into_bytes(),
            )
        }
        _ => Reply::json(
            404,
            &json!({"error": format!("no simulator control endpoint {} {}", req.method, req.path)}),
        ),
    }
}

/// The short link a redirect QR encodes: its content token (or, for seeded QRs without one,
/// its id). It redirects while that very QR exists, so a code printed before a DELETE stays dead
/// when the id is created again.
fn redirect_content(inner: &mut Inner, msn: &str, content: &str) -> Reply {
    inner.sweep();
    let qrs = inner.state.merchants.get(msn).map(|m| &m.redirect_qrs);
    let found = qrs.and_then(|q| {
        q.values()
            .find(|x| x.content.as_deref() == Some(content))
            .or_else(|| q.get(content).filter(|x| x.content.is_none()))
    });
    match found {
        Some(q) => Reply::empty(302).with_header("Location", q.redirect_url.clone()),
        None => Reply::raw(
            404,
            "text/plain",
            b"This QR code no longer exists.\n".to_vec(),
        ),
    }
}

/// The maximum amount a customer typed on the consent page, in major units (`299.50`).
fn consent_max_amount(req: &Req) -> Result<Option<i64>, String> {
    let body = String::from_utf8_lossy(&req.body);
    let Some(raw) = body
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == "maxAmount")
        .map(|(_, v)| percent_decode(&v.replace('+', " ")))
    else {
        return Ok(None);
    };
    let raw = raw.trim().replace(',', ".");
    if raw.is_empty() {
        return Ok(None);
    }
    match raw.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v < 1e12 => Ok(Some((v * 100.0).round() as i64)),
        _ => Err(format!("`{raw}` is not an amount")),
    }
}

fn qr_image(inner: &mut Inner, req: &Req, msn: &str, kind: &str, file: &str) -> Reply {
    inner.sweep();
    let (id, ext) = match file.rsplit_once('.') {
        Some((id, ext)) if ext == "png" || ext == "svg" => (id, ext),
        _ => return Reply::raw(404, "text/plain", b"not found\n".to_vec()),
    };
    let asked = req.query_param("v");
    let content = inner.state.merchants.get(msn).and_then(|m| match kind {
        "redirect" => m
            .redirect_qrs
            .get(id)
            .filter(|q| q.content == asked)
            .map(|q| q.content.clone()),
        "callback" => m.callback_qrs.get(id).map(|_| None),
        _ => None,
    });
    let Some(token) = content else {
        return Reply::raw(404, "text/plain", b"no such QR code\n".to_vec());
    };
    let size = req
        .query_param("size")
        .and_then(|s| s.parse::<u32>().ok())
        .filter(|s| (qr::SIZE_MIN..=qr::SIZE_MAX).contains(s))
        .unwrap_or(image::DEFAULT_SIZE);
    let content = qr::content_url(&inner.base_url, msn, kind, id, token.as_deref());
    let rendered = if ext == "png" {
        image::png(&content, size).map(|b| Reply::raw(200, "image/png", b))
    } else {
        image::svg(&content, size).map(|s| Reply::raw(200, "image/svg+xml", s.into_bytes()))
    };
    rendered.unwrap_or_else(|e| Reply::raw(500, "text/plain", format!("{e}\n").into_bytes()))
}

pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

pub(crate) fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>body{{font-family:sans-serif;max-width:32em;margin:3em auto}}button{{font-size:1.2em;margin:.5em}}</style>\
         </head><body><h1>{t}</h1>{body}</body></html>\n",
        t = escape(title)
    )
}

fn consent_page(inner: &mut Inner, id: &str) -> Reply {
    inner.sweep();
    let Some((msn, a)) = inner.state.find_agreement_mut(id) else {
        return Reply::raw(
            404,
            "text/html; charset=utf-8",
            page("Agreement not found", "<p>There is no such agreement.</p>").into_bytes(),
        );
    };
    let price = match (a.pricing.amount, a.pricing.suggested_max_amount) {
        (Some(amount), _) => format!("{} {}", amount as f64 / 100.0, a.pricing.currency),
        (None, Some(max)) => format!("up to {} {}", max as f64 / 100.0, a.pricing.currency),
        _ => format!("billed per use ({})", a.pricing.currency),
    };
    let enc = super::wire::percent_encode(id);
    let choose = match a.pricing.suggested_max_amount {
        Some(max) if a.pricing.amount.is_none() => format!(
            "<label>Maximum amount per interval ({}) <input name=\"maxAmount\" value=\"{}\"></label>",
            escape(&a.pricing.currency),
            max as f64 / 100.0
        ),
        _ => String::new(),
    };
    let actions = if a.status == AgreementStatus::Pending {
        format!(
            "<form method=\"post\" action=\"/_sim/consent/{enc}/accept\">{choose}<button type=\"submit\">Accept</button></form>\
             <form method=\"post\" action=\"/_sim/consent/{enc}/reject\"><button type=\"submit\">Reject</button></form>"
        )
    } else {
        format!("<p>This agreement is {}.</p>", a.status.as_str())
    };
    let body = format!(
        "<p>Merchant {msn} asks you to accept an agreement.</p><dl><dt>Product</dt><dd>{}</dd><dt>Price</dt><dd>{}</dd></dl>{actions}",
        escape(&a.product_name),
        escape(&price),
    );
    Reply::raw(
        200,
        "text/html; charset=utf-8",
        page("Vipps MobilePay (simulator)", &body).into_bytes(),
    )
}
