//! Webhooks API v1: list, register, delete. Ids are server-assigned uuids; the secret is only in
//! the register answer; at most 25 registrations per event per MSN, and 1 for QR check-ins.

use super::core::{Ctx, Inner};
use super::state::Webhook;
use super::wire::{invalid, Invalid, Reply};
use crate::api::Secret;
use serde_json::{json, Value};

pub const PER_EVENT_LIMIT: usize = 25;
/// The QR check-in event allows one registration per sales unit.
pub const CHECKED_IN_EVENT: &str = "user.checked-in.v1";

pub(crate) fn handle(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    match ctx.op.name {
        "list_webhooks" => list(inner, ctx),
        "register_webhook" => register(inner, ctx),
        "delete_webhook" => delete(inner, ctx),
        _ => ctx.error(404, "Not found", &[]),
    }
}

fn list(inner: &Inner, ctx: &Ctx<'_>) -> Reply {
    let hooks: Vec<Value> = inner
        .state
        .merchants
        .get(&ctx.msn)
        .map(|m| {
            m.webhooks
                .iter()
                .map(|w| json!({"id": w.id, "url": w.url, "events": w.events}))
                .collect()
        })
        .unwrap_or_default();
    Reply::json(200, &json!({ "webhooks": hooks }))
}

pub(crate) fn validate_url(url: &str) -> Option<String> {
    let Some(rest) = url.strip_prefix("https://") else {
        return Some("The URL must use HTTPS.".into());
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_only = host.rsplit_once(':').map_or(host, |(h, _)| h);
    if host_only.is_empty()
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
        || !host_only
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
    {
        return Some("The URL must be a valid, absolute URL.".into());
    }
    None
}

fn register(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
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
    let existing = inner
        .state
        .merchants
        .get(&ctx.msn)
        .map(|m| m.webhooks.as_slice())
        .unwrap_or_default();
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
    inner
        .state
        .merchants
        .entry(ctx.msn.clone())
        .or_default()
        .webhooks
        .push(Webhook {
            id,
            url: url.unwrap_or_default().to_string(),
            events: unique,
            secret: Secret::new(secret.clone()),
        });
    inner.dirty = true;
    Reply::json(201, &json!({"id": id, "secret": secret}))
}

fn delete(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    let raw = ctx.params.first().map(String::as_str).unwrap_or_default();
    let Ok(id) = uuid::Uuid::parse_str(raw) else {
        return ctx.error(
            400,
            "The webhook id must be a uuid.",
            &[invalid("id", "must be a uuid")],
        );
    };
    let Some(m) = inner.state.merchants.get_mut(&ctx.msn) else {
        return ctx.error(404, "Webhook not found.", &[]);
    };
    let before = m.webhooks.len();
    m.webhooks.retain(|w| w.id != id);
    if m.webhooks.len() == before {
        return ctx.error(404, "Webhook not found.", &[]);
    }
    inner.dirty = true;
    Reply::empty(204)
}
