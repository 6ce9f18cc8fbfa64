//! Order Management API 2.1, the operations that are not deprecated: images (merchant-chosen
//! `imageId`), the v2 category and order lines of an order keyed by paymentType and orderId, the
//! v2 order read, and the v3 categories (server-assigned ids). Errors are `ErrorResponse` (the QR
//! shape, as `application/json`). The deprecated v1 transactionId endpoints are not served: they
//! are not in `specs::ops`, so the router answers them 404 like any unknown path.
//!
//! What the spec leaves open is decided on the strict side and listed in docs/simulator.md
//! (rows O1-O24): a second set of order lines is a 409, an image id cannot be reused for another
//! image, an unknown imageId is refused.

use super::core::{Ctx, Inner};
use super::state::{OrderCategory, OrderImage, OrderInfo};
use super::wire::{invalid, Invalid, Reply};
use base64::Engine as _;
use serde_json::{json, Map, Value};

pub const PAYMENT_TYPES: [&str; 2] = ["ECOM", "RECURRING"];
pub const CATEGORIES: [&str; 6] = [
    "GENERAL",
    "RECEIPT",
    "ORDER_CONFIRMATION",
    "DELIVERY",
    "TICKET",
    "BOOKING",
];
const CURRENCIES: [&str; 3] = ["NOK", "DKK", "EUR"];
const QUANTITY_UNITS: [&str; 6] = ["PCS", "KG", "KM", "MINUTE", "LITRE", "KWH"];
const BARCODE_FORMATS: [&str; 3] = ["EAN-13", "CODE 39", "CODE 128"];
pub const IMAGE_ID_MAX_LEN: usize = 128;
/// "max file size is 2MB": read as 2 000 000 bytes (the stricter of the two readings).
pub const IMAGE_MAX_BYTES: usize = 2_000_000;
/// "Minimum height is 167px".
pub const IMAGE_MIN_HEIGHT: u32 = 167;
/// `taxRate` is in basis points: 0..10000.
pub const TAX_RATE_MAX: i64 = 10_000;

pub(crate) fn handle(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    match ctx.op.name {
        "upload_image" => upload_image(inner, ctx),
        "put_order_category" => put_category(inner, ctx),
        "add_order_lines" => add_order_lines(inner, ctx),
        "get_order" => get_order(inner, ctx),
        "create_category" => create_category(inner, ctx),
        "list_categories" => list_categories(inner, ctx),
        "get_category" => get_category(inner, ctx),
        "delete_category" => delete_category(inner, ctx),
        _ => not_found(ctx, "Not found."),
    }
}

fn bad(ctx: &Ctx<'_>, problems: &[Invalid]) -> Reply {
    ctx.error(400, "One or more validation errors occurred.", problems)
}

fn not_found(ctx: &Ctx<'_>, detail: &str) -> Reply {
    ctx.error(404, detail, &[])
}

/// A JSON id as the body: the 201 and 200 answers of the v2 writes are `type: string`.
fn id_body(status: u16) -> Reply {
    Reply::json(status, &Value::String(uuid::Uuid::new_v4().to_string()))
}

/// `^[0-9A-Za-z-_\.]+$`, the pattern of orderId and imageId.
pub fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn body_object(ctx: &Ctx<'_>) -> Result<Map<String, Value>, Reply> {
    let ct = ctx.req.header("Content-Type").unwrap_or("");
    if !ct.to_ascii_lowercase().starts_with("application/json") {
        return Err(bad(
            ctx,
            &[invalid("Content-Type", "must be application/json")],
        ));
    }
    match ctx.req.json() {
        Ok(Some(Value::Object(m))) => Ok(m),
        Ok(Some(_)) => Err(bad(ctx, &[invalid("body", "must be a JSON object")])),
        Ok(None) => Err(bad(ctx, &[invalid("body", "required")])),
        Err(e) => Err(bad(ctx, &[invalid("body", e)])),
    }
}

/// The path's paymentType and orderId, checked against their parameter schemas.
fn order_key(ctx: &Ctx<'_>, problems: &mut Vec<Invalid>) -> (String, String) {
    let pt = ctx.params.first().cloned().unwrap_or_default();
    let order = ctx.params.get(1).cloned().unwrap_or_default();
    if !PAYMENT_TYPES.contains(&pt.as_str()) {
        problems.push(invalid("paymentType", "must be ECOM or RECURRING"));
    }
    if !is_id(&order) {
        problems.push(invalid("orderId", "must match ^[0-9A-Za-z-_\\.]+$"));
    }
    (pt, order)
}

fn enum_field(
    body: &Map<String, Value>,
    name: &str,
    allowed: &[&str],
    required: bool,
    problems: &mut Vec<Invalid>,
) -> Option<String> {
    match body.get(name) {
        None | Some(Value::Null) if required => {
            problems.push(invalid(name, "required"));
            None
        }
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if allowed.contains(&s.as_str()) => Some(s.clone()),
        Some(_) => {
            problems.push(invalid(
                name,
                format!("must be one of {}", allowed.join(", ")),
            ));
            None
        }
    }
}

/// `format: uri`, `minLength: 1`: an absolute URI.
fn uri_field(body: &Map<String, Value>, name: &str, problems: &mut Vec<Invalid>) -> Option<String> {
    match body.get(name) {
        Some(Value::String(s)) if url::Url::parse(s).is_ok() => Some(s.clone()),
        None | Some(Value::Null) => {
            problems.push(invalid(name, "required"));
            None
        }
        Some(_) => {
            problems.push(invalid(name, "must be an absolute URI"));
            None
        }
    }
}

/// An optional imageId: 1-128 characters of the id pattern, naming an uploaded image.
fn image_field(
    inner: &Inner,
    ctx: &Ctx<'_>,
    body: &Map<String, Value>,
    problems: &mut Vec<Invalid>,
) -> Result<Option<String>, ()> {
    match body.get("imageId") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if is_id(s) && s.chars().count() <= IMAGE_ID_MAX_LEN => {
            let known = inner
                .state
                .merchants
                .get(&ctx.msn)
                .is_some_and(|m| m.order_management.images.contains_key(s));
            if known {
                Ok(Some(s.clone()))
            } else {
                Err(())
            }
        }
        Some(_) => {
            problems.push(invalid(
                "imageId",
                "must be 1 to 128 characters matching ^[0-9A-Za-z-_\\.]+$",
            ));
            Ok(None)
        }
    }
}

// --- images

/// What an image's bytes are: format, width, height. `None` for anything but PNG or JPEG.
pub fn sniff_image(bytes: &[u8]) -> Option<(&'static str, u32, u32)> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let reader = decoder.read_info().ok()?;
        let info = reader.info();
        return Some(("PNG", info.width, info.height));
    }
    if bytes.starts_with(&[0xFF, 0xD8]) {
        return jpeg_size(bytes).map(|(w, h)| ("JPEG", w, h));
    }
    None
}

/// The frame size from a JPEG's first SOF marker.
fn jpeg_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let mut i = 2;
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xFF {
            return None;
        }
        let marker = bytes[i + 1];
        // Fill bytes before a marker.
        if marker == 0xFF {
            i += 1;
            continue;
        }
        // Standalone markers carry no length.
        if marker == 0x01 || (0xD0..=0xD7).contains(&marker) {
            i += 2;
            continue;
        }
        let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        if len < 2 {
            return None;
        }
        let is_sof = (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            let seg = bytes.get(i + 4..i + 2 + len)?;
            let h = u16::from_be_bytes([*seg.get(1)?, *seg.get(2)?]);
            let w = u16::from_be_bytes([*seg.get(3)?, *seg.get(4)?]);
            return Some((u32::from(w), u32::from(h)));
        }
        i += 2 + len;
    }
    None
}

fn upload_image(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    let body = match body_object(ctx) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut problems = Vec::new();
    let id = match body.get("imageId") {
        Some(Value::String(s)) if is_id(s) && s.chars().count() <= IMAGE_ID_MAX_LEN => s.clone(),
        None | Some(Value::Null) => {
            problems.push(invalid("imageId", "required"));
            String::new()
        }
        Some(_) => {
            problems.push(invalid(
                "imageId",
                "must be 1 to 128 characters matching ^[0-9A-Za-z-_\\.]+$",
            ));
            String::new()
        }
    };
    enum_field(&body, "type", &["base64"], true, &mut problems);
    let decoded = match body.get("src") {
        Some(Value::String(s)) => {
            match base64::engine::general_purpose::STANDARD.decode(s.trim()) {
                Ok(b) => Some(b),
                Err(_) => {
                    problems.push(invalid(
                        "src",
                        "must be the image as a base64 string (not a URL)",
                    ));
                    None
                }
            }
        }
        None | Some(Value::Null) => {
            problems.push(invalid("src", "required"));
            None
        }
        Some(_) => {
            problems.push(invalid("src", "must be a base64 string"));
            None
        }
    };
    let mut image = None;
    if let Some(bytes) = decoded {
        if bytes.len() > IMAGE_MAX_BYTES {
            problems.push(invalid("src", "the image is larger than 2MB"));
        } else {
            match sniff_image(&bytes) {
                None => problems.push(invalid("src", "the image must be a PNG or a JPEG")),
                Some((_, _, h)) if h < IMAGE_MIN_HEIGHT => problems.push(invalid(
                    "src",
                    format!("the image is {h} pixels high; the minimum is {IMAGE_MIN_HEIGHT}"),
                )),
                Some((format, w, h)) => {
                    use sha2::{Digest, Sha256};
                    image = Some(OrderImage {
                        sha256: hex::encode(Sha256::digest(&bytes)),
                        format: format.to_string(),
                        width: w,
                        height: h,
                        bytes: bytes.len(),
                        created: inner.now(),
                    });
                }
            }
        }
    }
    if !problems.is_empty() {
        return bad(ctx, &problems);
    }
    let Some(image) = image else {
        return bad(ctx, &[invalid("src", "required")]);
    };
    let images = &mut inner
        .state
        .merchants
        .entry(ctx.msn.clone())
        .or_default()
        .order_management
        .images;
    match images.get(&id) {
        // The same image again is a retry.
        Some(existing) if existing.sha256 == image.sha256 => {}
        // Orders already show the image under this id; the spec does not say an upload replaces
        // it, so another image under the id is refused.
        Some(_) => {
            return bad(
                ctx,
                &[invalid(
                    "imageId",
                    "an image with this id exists already; upload a new image under a new id",
                )],
            )
        }
        None => {
            images.insert(id.clone(), image);
            inner.dirty = true;
        }
    }
    Reply::json(200, &json!({"imageId": id}))
}

// --- v2 category and order lines

fn put_category(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    let body = match body_object(ctx) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut problems = Vec::new();
    let (pt, order) = order_key(ctx, &mut problems);
    let category = enum_field(&body, "category", &CATEGORIES, true, &mut problems);
    let url = uri_field(&body, "orderDetailsUrl", &mut problems);
    let image = image_field(inner, ctx, &body, &mut problems);
    if !problems.is_empty() {
        return bad(ctx, &problems);
    }
    let Ok(image) = image else {
        return not_found(
            ctx,
            "No image with this imageId was uploaded for the sales unit.",
        );
    };
    let mut stored = json!({"category": category, "orderDetailsUrl": url});
    if let Some(i) = image {
        stored["imageId"] = json!(i);
    }
    // "Only one (the latest) category is shown": a second PUT replaces the first.
    order_entry(inner, &ctx.msn, &pt, &order).category = Some(stored);
    inner.dirty = true;
    id_body(200)
}

fn order_entry<'a>(inner: &'a mut Inner, msn: &str, pt: &str, order: &str) -> &'a mut OrderInfo {
    inner
        .state
        .merchants
        .entry(msn.to_string())
        .or_default()
        .order_management
        .orders
        .entry(pt.to_string())
        .or_default()
        .entry(order.to_string())
        .or_default()
}

fn int_field(
    obj: &Map<String, Value>,
    path: &str,
    name: &str,
    required: bool,
    min: Option<i64>,
    max: Option<i64>,
    problems: &mut Vec<Invalid>,
) -> Option<i64> {
    let at = format!("{path}{name}");
    match obj.get(name) {
        None | Some(Value::Null) => {
            if required {
                problems.push(invalid(&at, "required"));
            }
            None
        }
        Some(v) => match v.as_i64() {
            Some(n) if min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m) => Some(n),
            Some(_) => {
                let range = match (min, max) {
                    (Some(a), Some(b)) => format!("from {a} to {b}"),
                    (Some(a), None) => format!("at least {a}"),
                    (None, Some(b)) => format!("at most {b}"),
                    (None, None) => String::new(),
                };
                problems.push(invalid(&at, format!("must be an integer {range}")));
                None
            }
            None => {
                problems.push(invalid(&at, "must be an integer"));
                None
            }
        },
    }
}

fn string_field(
    obj: &Map<String, Value>,
    path: &str,
    name: &str,
    required: bool,
    problems: &mut Vec<Invalid>,
) -> Option<String> {
    match obj.get(name) {
        Some(Value::String(s)) => Some(s.clone()),
        None | Some(Value::Null) => {
            if required {
                problems.push(invalid(&format!("{path}{name}"), "required"));
            }
            None
        }
        Some(_) => {
            problems.push(invalid(&format!("{path}{name}"), "must be a string"));
            None
        }
    }
}

fn bool_field(obj: &Map<String, Value>, path: &str, name: &str, problems: &mut Vec<Invalid>) {
    if let Some(v) = obj.get(name) {
        if !v.is_boolean() && !v.is_null() {
            problems.push(invalid(&format!("{path}{name}"), "must be a boolean"));
        }
    }
}

/// `^\d+([\.]\d{1,8})?$`, at most 10 characters.
pub fn is_quantity(s: &str) -> bool {
    if s.len() > 10 {
        return false;
    }
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (s, None),
    };
    !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| (1..=8).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()))
}

/// Barcode data must fit its symbology ("Added barcode data validation", OM changelog
/// 2023-01; the rules are those of the symbologies): EAN-13 is 13 digits with a valid check
/// digit, CODE 39 its 43 characters, CODE 128 printable ASCII.
pub fn barcode_ok(format: &str, data: &str) -> bool {
    match format {
        "EAN-13" => {
            let digits: Vec<u32> = data.chars().filter_map(|c| c.to_digit(10)).collect();
            if digits.len() != 13 || data.len() != 13 {
                return false;
            }
            let sum: u32 = digits[..12]
                .iter()
                .enumerate()
                .map(|(i, d)| if i % 2 == 0 { *d } else { d * 3 })
                .sum();
            (10 - sum % 10) % 10 == digits[12]
        }
        "CODE 39" => {
            !data.is_empty()
                && data
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || " -.$/+%".contains(c))
        }
        "CODE 128" => !data.is_empty() && data.bytes().all(|b| (32..=126).contains(&b)),
        _ => false,
    }
}

fn check_line(i: usize, line: &Value, problems: &mut Vec<Invalid>) -> Option<Value> {
    let path = format!("orderLines[{i}].");
    let Some(o) = line.as_object() else {
        problems.push(invalid(&format!("orderLines[{i}]"), "must be an object"));
        return None;
    };
    string_field(o, &path, "name", true, problems);
    string_field(o, &path, "id", true, problems);
    let total = int_field(o, &path, "totalAmount", true, None, None, problems);
    let excl = int_field(
        o,
        &path,
        "totalAmountExcludingTax",
        true,
        None,
        None,
        problems,
    );
    let tax = int_field(o, &path, "totalTaxAmount", true, None, None, problems);
    let pct = int_field(
        o,
        &path,
        "taxPercentage",
        false,
        Some(0),
        Some(100),
        problems,
    );
    let rate = int_field(
        o,
        &path,
        "taxRate",
        false,
        Some(0),
        Some(TAX_RATE_MAX),
        problems,
    );
    int_field(o, &path, "discount", false, Some(0), None, problems);
    string_field(o, &path, "productUrl", false, problems);
    bool_field(o, &path, "isReturn", problems);
    bool_field(o, &path, "isShipping", problems);
    // "Either this or taxRate must be set."
    let tax_given = |k: &str| o.get(k).is_some_and(|v| !v.is_null());
    if !tax_given("taxRate") && !tax_given("taxPercentage") {
        problems.push(invalid(
            &format!("{path}taxRate"),
            "taxRate (basis points, 0-10000) or taxPercentage (0-100) must be set",
        ));
    }
    if let (Some(p), Some(r)) = (pct, rate) {
        if p * 100 != r {
            problems.push(invalid(
                &format!("{path}taxRate"),
                format!("taxRate {r} and taxPercentage {p} disagree"),
            ));
        }
    }
    // The line's total includes its tax; the amount without tax plus the tax is the total.
    if let (Some(t), Some(e), Some(x)) = (total, excl, tax) {
        if e.checked_add(x) != Some(t) {
            problems.push(invalid(
                &format!("{path}totalAmount"),
                format!("{t} is not totalAmountExcludingTax {e} plus totalTaxAmount {x}"),
            ));
        }
    }
    let mut out = line.clone();
    match o.get("unitInfo") {
        None | Some(Value::Null) => {}
        Some(Value::Object(u)) => {
            let upath = format!("{path}unitInfo.");
            if !u.contains_key("unitPrice") {
                problems.push(invalid(&format!("{upath}unitPrice"), "required"));
            }
            int_field(u, &upath, "unitPrice", false, Some(0), None, problems);
            match u.get("quantity") {
                Some(Value::String(q)) if is_quantity(q) => {}
                None => problems.push(invalid(&format!("{upath}quantity"), "required")),
                Some(_) => problems.push(invalid(
                    &format!("{upath}quantity"),
                    "must be a string of at most 10 characters matching ^\\d+([\\.]\\d{1,8})?$",
                )),
            }
            let unit = enum_field(u, "quantityUnit", &QUANTITY_UNITS, false, problems);
            // "Will default to PCS if not set."
            if unit.is_none() {
                out["unitInfo"]["quantityUnit"] = json!("PCS");
            }
        }
        Some(_) => problems.push(invalid(&format!("{path}unitInfo"), "must be an object")),
    }
    Some(out)
}

fn check_bottom_line(v: Option<&Value>, problems: &mut Vec<Invalid>) {
    let Some(Value::Object(b)) = v else {
        problems.push(invalid("bottomLine", "required, an object"));
        return;
    };
    let path = "bottomLine.";
    match b.get("currency") {
        Some(Value::String(c)) if CURRENCIES.contains(&c.as_str()) => {}
        None | Some(Value::Null) => problems.push(invalid("bottomLine.currency", "required")),
        Some(_) => problems.push(invalid("bottomLine.currency", "must be NOK, DKK or EUR")),
    }
    for name in [
        "tipAmount",
        "giftCardAmount",
        "totalTax",
        "totalDiscount",
        "shippingAmount",
    ] {
        int_field(b, path, name, false, Some(0), None, problems);
    }
    int_field(b, path, "totalAmount", false, None, None, problems);
    for name in ["posId", "receiptNumber", "terminalId"] {
        string_field(b, path, name, false, problems);
    }
    match b.get("paymentSources") {
        None | Some(Value::Null) => {}
        Some(Value::Object(s)) => {
            for name in ["giftCard", "card", "voucher", "cash"] {
                int_field(
                    s,
                    "bottomLine.paymentSources.",
                    name,
                    false,
                    None,
                    None,
                    problems,
                );
            }
        }
        Some(_) => problems.push(invalid("bottomLine.paymentSources", "must be an object")),
    }
    match b.get("shippingInfo") {
        None | Some(Value::Null) => {}
        Some(Value::Object(s)) => {
            let sp = "bottomLine.shippingInfo.";
            // All four are required, and nullable.
            for name in ["amount", "amountExcludingTax", "taxAmount", "taxPercentage"] {
                if !s.contains_key(name) {
                    problems.push(invalid(&format!("{sp}{name}"), "required"));
                }
            }
            for name in ["amount", "amountExcludingTax", "taxAmount"] {
                int_field(s, sp, name, false, Some(0), None, problems);
            }
            int_field(s, sp, "taxPercentage", false, Some(0), Some(100), problems);
        }
        Some(_) => problems.push(invalid("bottomLine.shippingInfo", "must be an object")),
    }
    match b.get("barcode") {
        None | Some(Value::Null) => {}
        Some(Value::Object(c)) => {
            let format = c.get("format").and_then(Value::as_str);
            let data = c.get("data");
            match (format, data) {
                (Some(f), _) if !BARCODE_FORMATS.contains(&f) => problems.push(invalid(
                    "bottomLine.barcode.format",
                    "must be EAN-13, CODE 39 or CODE 128",
                )),
                (None, _) => {
                    problems.push(invalid("bottomLine.barcode.format", "required"));
                }
                (_, None) => problems.push(invalid("bottomLine.barcode.data", "required")),
                (Some(f), Some(Value::String(d))) if !barcode_ok(f, d) => problems.push(invalid(
                    "bottomLine.barcode.data",
                    format!("is not valid {f} data"),
                )),
                (Some(_), Some(Value::String(_))) => {}
                (Some(f), Some(_)) => problems.push(invalid(
                    "bottomLine.barcode.data",
                    format!("must be {f} data, a string"),
                )),
            }
        }
        Some(_) => problems.push(invalid("bottomLine.barcode", "must be an object")),
    }
}

fn add_order_lines(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    let body = match body_object(ctx) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut problems = Vec::new();
    let (pt, order) = order_key(ctx, &mut problems);
    let mut lines = Vec::new();
    match body.get("orderLines") {
        Some(Value::Array(a)) if !a.is_empty() => {
            for (i, l) in a.iter().enumerate() {
                if let Some(l) = check_line(i, l, &mut problems) {
                    lines.push(l);
                }
            }
        }
        Some(Value::Array(_)) => problems.push(invalid("orderLines", "at least one order line")),
        _ => problems.push(invalid("orderLines", "required, an array")),
    }
    check_bottom_line(body.get("bottomLine"), &mut problems);
    if !problems.is_empty() {
        return bad(ctx, &problems);
    }
    let entry = order_entry(inner, &ctx.msn, &pt, &order);
    if entry.receipt.is_some() {
        return ctx.error(
            409,
            &format!("Order {pt}/{order} has order lines already."),
            &[invalid("orderId", "order lines were added already")],
        );
    }
    let mut receipt = Value::Object(body);
    receipt["orderLines"] = Value::Array(lines);
    entry.receipt = Some(receipt);
    inner.dirty = true;
    id_body(201)
}

fn get_order(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    let mut problems = Vec::new();
    let (pt, order) = order_key(ctx, &mut problems);
    let info = inner
        .state
        .merchants
        .get(&ctx.msn)
        .and_then(|m| m.order_management.orders.get(&pt))
        .and_then(|o| o.get(&order));
    // The operation documents no 400: a malformed key names no order, so it is not found.
    match info {
        Some(i) if problems.is_empty() => {
            let mut v = json!({});
            if let Some(c) = &i.category {
                v["category"] = c.clone();
            }
            if let Some(r) = &i.receipt {
                v["receipt"] = r.clone();
            }
            Reply::json(200, &v)
        }
        _ => not_found(ctx, &format!("No order {pt}/{order} for the sales unit.")),
    }
}

// --- v3 categories

fn category_json(id: &uuid::Uuid, c: &OrderCategory) -> Value {
    let mut v = json!({
        "categoryId": id,
        "orderId": c.order_id,
        "paymentType": c.payment_type,
        "type": c.kind,
        "url": c.url,
    });
    if let Some(i) = &c.image_id {
        v["imageId"] = json!(i);
    }
    v
}

fn create_category(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    let body = match body_object(ctx) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut problems = Vec::new();
    let order_id = match body.get("orderId") {
        Some(Value::String(s)) if is_id(s) => Some(s.clone()),
        None | Some(Value::Null) => {
            problems.push(invalid("orderId", "required"));
            None
        }
        Some(_) => {
            problems.push(invalid("orderId", "must match ^[0-9A-Za-z-_\\.]+$"));
            None
        }
    };
    let pt = enum_field(&body, "paymentType", &PAYMENT_TYPES, true, &mut problems);
    let kind = enum_field(&body, "type", &CATEGORIES, true, &mut problems);
    let url = uri_field(&body, "url", &mut problems);
    // v3 documents no 404: an unknown image is a bad request here.
    let image = match image_field(inner, ctx, &body, &mut problems) {
        Ok(i) => i,
        Err(()) => {
            problems.push(invalid(
                "imageId",
                "no image with this id was uploaded for the sales unit",
            ));
            None
        }
    };
    let (Some(order_id), Some(pt), Some(kind), Some(url)) = (order_id, pt, kind, url) else {
        return bad(ctx, &problems);
    };
    if !problems.is_empty() {
        return bad(ctx, &problems);
    }
    let id = uuid::Uuid::new_v4();
    let category = OrderCategory {
        order_id,
        payment_type: pt,
        kind,
        url,
        image_id: image,
        created: inner.now(),
    };
    inner
        .state
        .merchants
        .entry(ctx.msn.clone())
        .or_default()
        .order_management
        .categories
        .insert(id, category);
    inner.dirty = true;
    Reply::json(201, &json!({"categoryId": id}))
}

fn list_categories(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    // "Query categories by orderId": the query names the order.
    let order_id = match ctx.req.query_param("orderId") {
        Some(o) if is_id(&o) => o,
        Some(_) => return bad(ctx, &[invalid("orderId", "must match ^[0-9A-Za-z-_\\.]+$")]),
        None => {
            return bad(
                ctx,
                &[invalid(
                    "orderId",
                    "required: categories are queried by orderId",
                )],
            )
        }
    };
    let mut found: Vec<(&uuid::Uuid, &OrderCategory)> = inner
        .state
        .merchants
        .get(&ctx.msn)
        .map(|m| {
            m.order_management
                .categories
                .iter()
                .filter(|(_, c)| c.order_id == order_id)
                .collect()
        })
        .unwrap_or_default();
    found.sort_by(|a, b| a.1.created.cmp(&b.1.created).then(a.0.cmp(b.0)));
    let list: Vec<Value> = found
        .into_iter()
        .map(|(i, c)| category_json(i, c))
        .collect();
    Reply::json(200, &json!({"categories": list}))
}

fn category_id(ctx: &Ctx<'_>) -> Option<uuid::Uuid> {
    ctx.params
        .first()
        .and_then(|s| uuid::Uuid::parse_str(s).ok())
}

fn get_category(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    let Some(id) = category_id(ctx) else {
        return bad(ctx, &[invalid("categoryId", "must be a uuid")]);
    };
    match inner
        .state
        .merchants
        .get(&ctx.msn)
        .and_then(|m| m.order_management.categories.get(&id))
    {
        Some(c) => Reply::json(200, &category_json(&id, c)),
        None => not_found(ctx, &format!("No category {id} for the sales unit.")),
    }
}

fn delete_category(inner: &mut Inner, ctx: &Ctx<'_>) -> Reply {
    // The delete documents no 400: a malformed id names no category.
    let removed = category_id(ctx).and_then(|id| {
        inner
            .state
            .merchants
            .get_mut(&ctx.msn)
            .and_then(|m| m.order_management.categories.remove(&id))
    });
    match removed {
        Some(_) => {
            inner.dirty = true;
            Reply::empty(200)
        }
        None => not_found(ctx, "No such category for the sales unit."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_quantities_and_barcodes_follow_their_patterns() {
        assert!(is_id("socks-orange_1.2"));
        assert!(!is_id("") && !is_id("a b") && !is_id("æ") && !is_id("a/b"));
        for q in ["1", "0.822", "2.5", "12345678.1"] {
            assert!(is_quantity(q), "{q}");
        }
        for q in ["", ".5", "1.", "1.123456789", "12345678901", "-1", "1,5"] {
            assert!(!is_quantity(q), "{q}");
        }
        assert!(barcode_ok("EAN-13", "4006381333931"));
        assert!(!barcode_ok("EAN-13", "4006381333932"));
        assert!(!barcode_ok("EAN-13", "123456"));
        assert!(barcode_ok("CODE 39", "SC0527013501 "));
        assert!(!barcode_ok("CODE 39", "lower"));
        assert!(barcode_ok("CODE 128", "abc-123"));
        assert!(!barcode_ok("CODE 128", "tab\there"));
    }

    #[test]
    fn jpeg_and_png_sizes_are_read_from_their_headers() {
        // SOI, an APP0 segment, then SOF0 with height 200 and width 300.
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00];
        jpeg.extend([
            0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0xC8, 0x01, 0x2C, 0x01, 0x01, 0x11, 0x00,
        ]);
        assert_eq!(sniff_image(&jpeg), Some(("JPEG", 300, 200)));
        assert_eq!(sniff_image(&jpeg[..9]), None);
        assert_eq!(sniff_image(b"GIF89a"), None);
        let png = crate::sim::image::png("x", 200).unwrap_or_default();
        let (format, w, h) = sniff_image(&png).unwrap_or(("", 0, 0));
        assert_eq!(format, "PNG");
        assert!(w >= 200 && h >= 200, "{w}x{h}");
    }
}
