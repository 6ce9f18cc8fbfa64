//! Webhooks API v1: list, register, delete. Ids are server-assigned uuids; the secret is only in
//! the register answer; at most 25 registrations per event per MSN, and 1 for QR check-ins; the
//! URL must be HTTPS, world-reachable and on a common port. A partner's calls without an MSN act
//! on the partner's own registrations, a bucket with the same limits apart from every sales
//! unit's (API-FACTS 6).

use super::core::{Ctx, Inner};
use super::state::Webhook;
use super::wire::{invalid, Invalid, Reply};
use crate::domain::Secret;
use serde_json::{json, Value};

pub const PER_EVENT_LIMIT: usize = 25;
/// The QR check-in event allows one registration per sales unit.
pub const CHECKED_IN_EVENT: &str = "user.checked-in.v1";

/// Whose registrations a call acts on.
enum Bucket<'a> {
    /// The sales unit's (`Merchant-Serial-Number`).
    SalesUnit(&'a str),
    /// A partner's own (partner keys, no MSN), by the partner's client id.
    Partner(&'a str),
}

impl Bucket<'_> {
    fn hooks<'s>(&self, inner: &'s Inner) -> &'s [Webhook] {
        match self {
            Bucket::SalesUnit(msn) => inner
                .state
                .merchants
                .get(*msn)
                .map(|m| m.webhooks.as_slice())
                .unwrap_or_default(),
            Bucket::Partner(id) => inner
                .state
                .partner_webhooks
                .get(*id)
                .map(Vec::as_slice)
                .unwrap_or_default(),
        }
    }

    fn hooks_mut<'s>(&self, inner: &'s mut Inner) -> &'s mut Vec<Webhook> {
        match self {
            Bucket::SalesUnit(msn) => {
                &mut inner
                    .state
                    .merchants
                    .entry(msn.to_string())
                    .or_default()
                    .webhooks
            }
            Bucket::Partner(id) => inner
                .state
                .partner_webhooks
                .entry(id.to_string())
                .or_default(),
        }
    }
}

pub(crate) fn handle(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    dispatch(inner, ctx, &Bucket::SalesUnit(&ctx.msn))
}

/// A partner's call without an MSN: on the partner's own registrations (`partner`: its client id).
pub(crate) fn handle_partner(inner: &mut Inner, ctx: &Ctx<'_>, partner: &str) -> Reply {
    dispatch(inner, ctx, &Bucket::Partner(partner))
}

fn dispatch(inner: &mut Inner, ctx: &Ctx<'_>, bucket: &Bucket<'_>) -> Reply {
    match ctx.op.name {
        "list_webhooks" => list(inner, bucket),
        "register_webhook" => register(inner, ctx, bucket),
        "delete_webhook" => delete(inner, ctx, bucket),
        _ => ctx.error(404, "Not found", &[]),
    }
}

fn list(inner: &Inner, bucket: &Bucket<'_>) -> Reply {
    let hooks: Vec<Value> = bucket
        .hooks(inner)
        .iter()
        .map(|w| json!({"id": w.id, "url": w.url, "events": w.events}))
        .collect();
    Reply::json(200, &json!({ "webhooks": hooks }))
}

/// The ports the Webhooks API names as safe ("We don't send requests to all ports, so to be safe
/// use common ports such as: 80, 443, 8080"). Others are refused: Vipps may accept them and never
/// deliver, which the simulator (it delivers nothing) could not show otherwise.
pub const COMMON_PORTS: [u16; 3] = [80, 443, 8080];

/// `RegisterRequest.url`: a valid absolute HTTPS URL, world-reachable, on a common port.
pub(crate) fn validate_url(url: &str) -> Option<String> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("The URL must be a valid, absolute URL.".into());
    }
    let Ok(parsed) = url::Url::parse(url) else {
        return Some("The URL must be a valid, absolute URL.".into());
    };
    if parsed.scheme() != "https" {
        return Some("The URL must use HTTPS.".into());
    }
    let reachable = match parsed.host() {
        None => return Some("The URL must be a valid, absolute URL.".into()),
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            !(d.is_empty()
                || d == "localhost"
                || d.ends_with(".localhost")
                || d.ends_with(".local")
                || d.ends_with(".internal")
                || !d.contains('.'))
        }
        Some(url::Host::Ipv4(ip)) => {
            !(ip.is_loopback()
                || ip.is_private()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_broadcast())
        }
        Some(url::Host::Ipv6(ip)) => !(ip.is_loopback() || ip.is_unspecified()),
    };
    if !reachable {
        return Some("The URL must be world-reachable; a local or private address is not.".into());
    }
    if let Some(port) = parsed.port() {
        if !COMMON_PORTS.contains(&port) {
            return Some(format!(
                "Webhooks are delivered to common ports only (80, 443, 8080), not {port}."
            ));
        }
    }
    None
}

fn register(inner: &mut Inner, ctx: &Ctx<'_>, bucket: &Bucket<'_>) -> Reply {
    let body = match ctx.req.json() {
        Ok(Some(v)) => v,
        Ok(None) => return ctx.error(400, "A request body is required.", &[]),
        Err(e) => return ctx.error(400, &e, &[]),
    };
    let mut problems: Vec<Invalid> = Vec::new();
    let url = body.get("url").and_then(Value::as_str);
    match url {
        None => problems.push(invalid("url", "The url field is required.")),
        Some(u) => {
            if let Some(reason) = validate_url(u) {
                problems.push(invalid("url", reason));
            }
        }
    }
    let events: Vec<String> = match body.get("events") {
        Some(Value::Array(items)) => {
            let names: Vec<String> = items
                .iter()
                .filter_map(|e| e.as_str().map(str::to_string))
                .collect();
            if names.len() != items.len() || names.iter().any(|n| n.trim().is_empty()) {
                problems.push(invalid("events", "Every event must be a non-empty string."));
            }
            if items.is_empty() {
                problems.push(invalid("events", "At least one event is required."));
            }
            names
        }
        Some(_) => {
            problems.push(invalid("events", "The events field must be an array."));
            Vec::new()
        }
        None => {
            problems.push(invalid("events", "The events field is required."));
            Vec::new()
        }
    };
    if !problems.is_empty() {
        return ctx.error(400, "One or more validation errors occurred.", &problems);
    }
    let existing = bucket.hooks(inner);
    for event in &events {
        let limit = if event == CHECKED_IN_EVENT {
            1
        } else {
            PER_EVENT_LIMIT
        };
        let count = existing
            .iter()
            .filter(|w| w.events.iter().any(|e| e == event))
            .count();
        if count >= limit {
            return ctx.error(
                400,
                &format!("Maximum number of webhooks ({limit}) for event {event} reached."),
                &[invalid(
                    "events",
                    format!("at most {limit} registrations per event"),
                )],
            );
        }
    }
    let mut unique: Vec<String> = Vec::with_capacity(events.len());
    for e in &events {
        if !unique.contains(e) {
            unique.push(e.clone());
        }
    }
    let id = uuid::Uuid::new_v4();
    let secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    bucket.hooks_mut(inner).push(Webhook {
        id,
        url: url.unwrap_or_default().to_string(),
        events: unique,
        secret: Secret::new(secret.clone()),
    });
    inner.dirty = true;
    Reply::json(201, &json!({"id": id, "secret": secret}))
}

fn delete(inner: &mut Inner, ctx: &Ctx<'_>, bucket: &Bucket<'_>) -> Reply {
    let raw = ctx.params.first().map(String::as_str).unwrap_or_default();
    let Ok(id) = uuid::Uuid::parse_str(raw) else {
        return ctx.error(
            400,
            "The webhook id must be a uuid.",
            &[invalid("id", "must be a uuid")],
        );
    };
    if !bucket.hooks(inner).iter().any(|w| w.id == id) {
        return ctx.error(404, "Webhook not found.", &[]);
    }
    let hooks = bucket.hooks_mut(inner);
    let before = hooks.len();
    hooks.retain(|w| w.id != id);
    if hooks.len() == before {
        return ctx.error(404, "Webhook not found.", &[]);
    }
    inner.dirty = true;
    Reply::empty(204)
}
