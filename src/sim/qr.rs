//! QR API v1: merchant-redirect QRs (create with 409 on an existing id, list, get, PUT
//! redirectUrl, delete, ttl; `Accept` required; a deleted code's content never works again) and
//! merchant-callback QRs (PUT upsert, list, get, delete). Errors are `QrErrorResponse` in
//! application/json. Image links point at the simulator's own renderer.

use super::core::{Ctx, Inner};
use super::state::{CallbackQr, RedirectQr};
use super::wire::{invalid, percent_encode, Invalid, Reply};
use serde_json::{json, Value};

pub const ID_MAX_LEN: usize = 128;
pub const TTL_MIN: i64 = 300;
pub const TTL_MAX: i64 = 2_147_483_647;
pub const LOCATION_MAX_LEN: usize = 36;
pub const SIZE_MIN: u32 = 100;
pub const SIZE_MAX: u32 = 2000;

pub(crate) fn handle(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    match ctx.op.name {
        "create_redirect_qr" => create_redirect(inner, ctx),
        "list_redirect_qrs" => list_redirect(inner, ctx),
        "get_redirect_qr" => get_redirect(inner, ctx),
        "update_redirect_qr" => update_redirect(inner, ctx),
        "delete_redirect_qr" => delete_redirect(inner, ctx),
        "put_callback_qr" => put_callback(inner, ctx),
        "list_callback_qrs" => list_callback(inner, ctx),
        "get_callback_qr" => get_callback(inner, ctx),
        "delete_callback_qr" => delete_callback(inner, ctx),
        _ => ctx.error(404, "Not found", &[]),
    }
}

/// What a QR image link should point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ImageFormat {
    Png,
    Svg,
    /// `text/targetUrl`: the link is the QR's content itself.
    Target,
}

struct ImageChoice {
    format: ImageFormat,
    size: Option<u32>,
}

/// `[\w\s-_+%æøå]`: .NET's `\w` is Unicode-aware, so any letter or digit counts.
pub fn valid_redirect_id(id: &str) -> bool {
    !id.is_empty()
        && id.chars().count() <= ID_MAX_LEN
        && id
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c.is_whitespace() || "-+%".contains(c))
}

/// `^https:\/\/[\w\.]+([\w#!:.?+=&%@\-\/]+)?$`
pub fn valid_redirect_url(url: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let Some(rest) = url.strip_prefix("https://") else {
        return false;
    };
    let mut chars = rest.chars();
    match chars.next() {
        Some(c) if word(c) || c == '.' => {}
        _ => return false,
    }
    chars.all(|c| word(c) || "#!:.?+=&%@-/".contains(c))
}

fn parse_size(raw: Option<&str>, name: &str) -> Result<Option<u32>, Invalid> {
    match raw {
        None => Ok(None),
        Some(s) => match s.trim().parse::<u32>() {
            Ok(n) if (SIZE_MIN..=SIZE_MAX).contains(&n) => Ok(Some(n)),
            _ => Err(invalid(
                name,
                format!("must be an integer from {SIZE_MIN} to {SIZE_MAX}"),
            )),
        },
    }
}

/// The redirect endpoints choose the image through `Accept` and `Size`. The spec makes a
/// supported Accept required on every one that answers with a QR; only
/// `Leniency::qr_reads_without_accept` lets reads fall back to SVG.
fn redirect_image_choice(ctx: &Ctx<'_>, strict: bool) -> Result<ImageChoice, Reply> {
    let accept = ctx.req.header("Accept").unwrap_or("");
    let format = accept
        .split(',')
        .map(|p| {
            p.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .find_map(|m| match m.as_str() {
            "image/png" | "image/*" => Some(ImageFormat::Png),
            "image/svg+xml" => Some(ImageFormat::Svg),
            "text/targeturl" => Some(ImageFormat::Target),
            _ => None,
        });
    let format = match format {
        Some(f) => f,
        None if strict => return Err(ctx.error(
            400,
            "The Accept header must be one of image/*, image/png, image/svg+xml, text/targetUrl.",
            &[invalid("Accept", "unsupported value")],
        )),
        None => ImageFormat::Svg,
    };
    let size = match parse_size(ctx.req.header("Size"), "Size") {
        Ok(s) => s,
        Err(p) if strict => return Err(ctx.error(400, "Invalid Size header.", &[p])),
        Err(_) => None,
    };
    Ok(ImageChoice { format, size })
}

fn callback_image_choice(ctx: &Ctx<'_>) -> Result<ImageChoice, Reply> {
    let format = match ctx.req.query_param("QrImageFormat") {
        None => ImageFormat::Svg,
        Some(f) if f.eq_ignore_ascii_case("PNG") => ImageFormat::Png,
        Some(f) if f.eq_ignore_ascii_case("SVG") => ImageFormat::Svg,
        Some(_) => {
            return Err(ctx.error(
                400,
                "QrImageFormat must be PNG or SVG.",
                &[invalid("QrImageFormat", "must be PNG or SVG")],
            ))
        }
    };
    let size = ctx.req.query_param("QrImageSize");
    let size = parse_size(size.as_deref(), "QrImageSize")
        .map_err(|p| ctx.error(400, "Invalid QrImageSize.", &[p]))?;
    Ok(ImageChoice { format, size })
}

/// The text a QR encodes; the simulator serves these paths itself. A redirect QR's content is
/// its `content` token instead of its id (see `RedirectQr::content`), which keeps the code as
/// small as an id-based one.
pub(crate) fn content_url(
    base: &str,
    msn: &str,
    kind: &str,
    id: &str,
    content: Option<&str>,
) -> String {
    let short = if kind == "redirect" { "r" } else { "m" };
    format!(
        "{base}/_sim/{short}/{}/{}",
        percent_encode(msn),
        percent_encode(content.unwrap_or(id))
    )
}

/// A fresh content token for a created redirect QR.
fn new_content() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}

fn image_url(
    base: &str,
    msn: &str,
    kind: &str,
    id: &str,
    content: Option<&str>,
    choice: &ImageChoice,
) -> String {
    let ext = match choice.format {
        ImageFormat::Png => "png",
        ImageFormat::Svg => "svg",
        ImageFormat::Target => return content_url(base, msn, kind, id, content),
    };
    let mut url = format!(
        "{base}/_sim/qr/{}/{kind}/{}.{ext}",
        percent_encode(msn),
        percent_encode(id)
    );
    let mut query = Vec::new();
    if let Some(c) = content {
        query.push(format!("v={}", percent_encode(c)));
    }
    if let (ImageFormat::Png, Some(size)) = (choice.format, choice.size) {
        query.push(format!("size={size}"));
    }
    if !query.is_empty() {
        url.push('?');
        url.push_str(&query.join("&"));
    }
    url
}

fn redirect_json(inner: &Inner, msn: &str, q: &RedirectQr, choice: &ImageChoice) -> Value {
    // Whole seconds left, rounded up: a QR just created reports its ttl.
    let expires_in = match q.expires_at() {
        Some(t) => ((t - inner.now()).num_milliseconds().max(0) + 999) / 1000,
        None => -1,
    };
    json!({
        "id": q.id,
        "url": image_url(&inner.base_url, msn, "redirect", &q.id, q.content.as_deref(), choice),
        "redirectUrl": q.redirect_url,
        "expiresIn": expires_in,
    })
}

fn require_json_content_type(ctx: &Ctx<'_>, status: u16) -> Result<(), Reply> {
    let ct = ctx.req.header("Content-Type").unwrap_or("");
    if ct.to_ascii_lowercase().starts_with("application/json") {
        Ok(())
    } else {
        Err(ctx.error(
            status,
            "The request body must be application/json.",
            &[invalid("Content-Type", "must be application/json")],
        ))
    }
}

fn body_object(ctx: &Ctx<'_>) -> Result<serde_json::Map<String, Value>, Reply> {
    match ctx.req.json() {
        Ok(Some(Value::Object(m))) => Ok(m),
        Ok(Some(_)) => Err(ctx.error(400, "The request body must be a JSON object.", &[])),
        Ok(None) => Err(ctx.error(400, "A request body is required.", &[])),
        Err(e) => Err(ctx.error(400, &e, &[])),
    }
}

fn check_redirect_url(body: &serde_json::Map<String, Value>, problems: &mut Vec<Invalid>) {
    match body.get("redirectUrl") {
        Some(Value::String(u)) if valid_redirect_url(u) => {}
        Some(Value::String(_)) => problems.push(invalid(
            "RedirectUrl",
            "The field RedirectUrl must match the regular expression '^https://[\\w\\.]+([\\w#!:.?+=&%@\\-/]+)?$'.",
        )),
        _ => problems.push(invalid("RedirectUrl", "The RedirectUrl field is required.")),
    }
}

fn create_redirect(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    if let Err(r) = require_json_content_type(ctx, 415) {
        return r;
    }
    let choice = match redirect_image_choice(ctx, true) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let body = match body_object(ctx) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut problems = Vec::new();
    let id = match body.get("id") {
        Some(Value::String(id)) if valid_redirect_id(id) => Some(id.clone()),
        Some(Value::String(_)) => {
            problems.push(invalid(
                "Id",
                format!("The field Id must be 1 to {ID_MAX_LEN} characters of letters, digits, whitespace and -_+%."),
            ));
            None
        }
        _ => {
            problems.push(invalid("Id", "The Id field is required."));
            None
        }
    };
    check_redirect_url(&body, &mut problems);
    let ttl = match body.get("ttl") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_i64() {
            Some(t) if (TTL_MIN..=TTL_MAX).contains(&t) => Some(t),
            _ => {
                problems.push(invalid(
                    "Ttl",
                    format!("The field Ttl must be between {TTL_MIN} and {TTL_MAX}."),
                ));
                None
            }
        },
    };
    let (Some(id), true) = (id, problems.is_empty()) else {
        return ctx.error(400, "One or more validation errors occurred.", &problems);
    };
    let exists = inner
        .state
        .merchants
        .get(&ctx.msn)
        .is_some_and(|m| m.redirect_qrs.contains_key(&id));
    if exists {
        // The spec's 409 body is an object with `id`; the error fields make it useful too.
        return Reply::json(
            409,
            &json!({
                "id": id,
                "title": "Conflict",
                "detail": format!("A QR with id '{id}' already exists."),
                "instance": ctx.instance(),
            }),
        );
    }
    let qr = RedirectQr {
        id: id.clone(),
        redirect_url: body
            .get("redirectUrl")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        ttl,
        created: inner.now(),
        content: Some(new_content()),
    };
    let reply = Reply::json(200, &redirect_json(inner, &ctx.msn, &qr, &choice));
    inner
        .state
        .merchants
        .entry(ctx.msn.clone())
        .or_default()
        .redirect_qrs
        .insert(id, qr);
    inner.dirty = true;
    reply
}

fn list_redirect(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    let choice = match redirect_image_choice(ctx, !inner.config.lenient.qr_reads_without_accept) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let items: Vec<Value> = inner
        .state
        .merchants
        .get(&ctx.msn)
        .map(|m| {
            m.redirect_qrs
                .values()
                .map(|q| redirect_json(inner, &ctx.msn, q, &choice))
                .collect()
        })
        .unwrap_or_default();
    Reply::json(200, &Value::Array(items))
}

fn id_param(ctx: &Ctx<'_>) -> String {
    ctx.params.first().cloned().unwrap_or_default()
}

fn redirect_not_found(ctx: &Ctx<'_>, id: &str) -> Reply {
    ctx.error(404, &format!("No QR with id '{id}' was found."), &[])
}

fn get_redirect(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    let choice = match redirect_image_choice(ctx, !inner.config.lenient.qr_reads_without_accept) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let id = id_param(ctx);
    match inner
        .state
        .merchants
        .get(&ctx.msn)
        .and_then(|m| m.redirect_qrs.get(&id))
    {
        Some(q) => Reply::json(200, &redirect_json(inner, &ctx.msn, q, &choice)),
        None => redirect_not_found(ctx, &id),
    }
}

fn update_redirect(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    if let Err(r) = require_json_content_type(ctx, 415) {
        return r;
    }
    let choice = match redirect_image_choice(ctx, true) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let body = match body_object(ctx) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut problems = Vec::new();
    check_redirect_url(&body, &mut problems);
    if !problems.is_empty() {
        return ctx.error(400, "One or more validation errors occurred.", &problems);
    }
    let id = id_param(ctx);
    let url = body
        .get("redirectUrl")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let Some(q) = inner
        .state
        .merchants
        .get_mut(&ctx.msn)
        .and_then(|m| m.redirect_qrs.get_mut(&id))
    else {
        return redirect_not_found(ctx, &id);
    };
    q.redirect_url = url;
    let q = q.clone();
    inner.dirty = true;
    Reply::json(200, &redirect_json(inner, &ctx.msn, &q, &choice))
}

fn delete_redirect(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    let id = id_param(ctx);
    let removed = inner
        .state
        .merchants
        .get_mut(&ctx.msn)
        .and_then(|m| m.redirect_qrs.remove(&id));
    match removed {
        Some(_) => {
            inner.dirty = true;
            Reply::empty(200)
        }
        None => redirect_not_found(ctx, &id),
    }
}

fn callback_json(inner: &Inner, msn: &str, q: &CallbackQr, choice: &ImageChoice) -> Value {
    json!({
        "merchantSerialNumber": msn,
        "merchantQrId": q.merchant_qr_id,
        "locationDescription": q.location_description,
        "qrImageUrl": image_url(&inner.base_url, msn, "callback", &q.merchant_qr_id, None, choice),
        "qrContent": content_url(&inner.base_url, msn, "callback", &q.merchant_qr_id, None),
    })
}

fn put_callback(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    if let Err(r) = require_json_content_type(ctx, 400) {
        return r;
    }
    let body = match body_object(ctx) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let location = match body.get("locationDescription") {
        Some(Value::String(s)) if s.chars().count() <= LOCATION_MAX_LEN => s.clone(),
        Some(Value::String(_)) => {
            return ctx.error(
                400,
                "One or more validation errors occurred.",
                &[invalid(
                    "LocationDescription",
                    format!(
                    "The field LocationDescription must be at most {LOCATION_MAX_LEN} characters."
                ),
                )],
            )
        }
        _ => {
            return ctx.error(
                400,
                "One or more validation errors occurred.",
                &[invalid(
                    "LocationDescription",
                    "The LocationDescription field is required.",
                )],
            )
        }
    };
    let id = id_param(ctx);
    if id.trim().is_empty() {
        return ctx.error(
            400,
            "merchantQrId is required.",
            &[invalid("merchantQrId", "required")],
        );
    }
    inner
        .state
        .merchants
        .entry(ctx.msn.clone())
        .or_default()
        .callback_qrs
        .insert(
            id.clone(),
            CallbackQr {
                merchant_qr_id: id,
                location_description: location,
            },
        );
    inner.dirty = true;
    Reply::empty(200)
}

fn list_callback(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    let choice = match callback_image_choice(ctx) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let items: Vec<Value> = inner
        .state
        .merchants
        .get(&ctx.msn)
        .map(|m| {
            m.callback_qrs
                .values()
                .map(|q| callback_json(inner, &ctx.msn, q, &choice))
                .collect()
        })
        .unwrap_or_default();
    Reply::json(200, &Value::Array(items))
}

fn get_callback(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    let choice = match callback_image_choice(ctx) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let id = id_param(ctx);
    match inner
        .state
        .merchants
        .get(&ctx.msn)
        .and_then(|m| m.callback_qrs.get(&id))
    {
        Some(q) => Reply::json(200, &callback_json(inner, &ctx.msn, q, &choice)),
        // The spec's 404 here is description-only: no body.
        None => Reply::empty(404),
    }
}

fn delete_callback(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    let id = id_param(ctx);
    let removed = inner
        .state
        .merchants
        .get_mut(&ctx.msn)
        .and_then(|m| m.callback_qrs.remove(&id));
    match removed {
        Some(_) => {
            inner.dirty = true;
            Reply::empty(200)
        }
        None => ctx.error(
            404,
            &format!("No QR with merchantQrId '{id}' was found."),
            &[],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_id_follows_the_spec_pattern() {
        assert!(valid_redirect_id("billboard_1"));
        assert!(valid_redirect_id("kasse 1 æøå-+%"));
        assert!(!valid_redirect_id(""));
        assert!(!valid_redirect_id("a/b"));
        assert!(!valid_redirect_id(&"x".repeat(129)));
        assert!(valid_redirect_id(&"x".repeat(128)));
    }

    #[test]
    fn redirect_url_follows_the_spec_pattern() {
        assert!(valid_redirect_url(
            "https://example.com/myProduct?a=1&b=2#x"
        ));
        assert!(valid_redirect_url("https://example.com"));
        assert!(!valid_redirect_url("http://example.com"));
        assert!(!valid_redirect_url("https://"));
        assert!(!valid_redirect_url("https://exa mple.com"));
        assert!(!valid_redirect_url("https:///path"));
    }
}
