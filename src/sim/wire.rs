//! What travels over HTTP inside the simulator: the request as received, the reply to send, and
//! the error bodies each API uses (shapes from the published specs, field names as on the wire).

use crate::specs::ops::Api;
use bytes::Bytes;
use http::HeaderMap;
use serde_json::{json, Value};
use std::time::Duration;

pub(crate) struct Req {
    pub method: String,
    /// Percent-encoded, as received.
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON; `Ok(None)` when empty.
    pub fn json(&self) -> Result<Option<Value>, String> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&self.body)
            .map(Some)
            .map_err(|e| format!("the request body is not valid JSON: {e}"))
    }

    /// Query parameters, percent-decoded (`+` as space, as forms encode it).
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        let Some(q) = &self.query else {
            return Vec::new();
        };
        q.split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (
                    percent_decode(&k.replace('+', " ")),
                    percent_decode(&v.replace('+', " ")),
                )
            })
            .collect()
    }

    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Close the connection without answering.
    pub drop_connection: bool,
    /// Hold the connection this long before answering.
    pub hang: Option<Duration>,
}

impl Reply {
    pub fn empty(status: u16) -> Self {
        Reply {
            status,
            content_type: None,
            headers: Vec::new(),
            body: Vec::new(),
            drop_connection: false,
            hang: None,
        }
    }

    pub fn json(status: u16, body: &Value) -> Self {
        Reply::typed(status, "application/json", body)
    }

    pub fn typed(status: u16, content_type: &str, body: &Value) -> Self {
        Reply {
            content_type: Some(content_type.to_string()),
            body: serde_json::to_vec(body).unwrap_or_default(),
            ..Reply::empty(status)
        }
    }

    pub fn raw(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        Reply {
            content_type: Some(content_type.to_string()),
            body,
            ..Reply::empty(status)
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// One field-level complaint, as the APIs list them (`extraDetails` / `invalidParams`).
pub(crate) type Invalid = (String, String);

pub(crate) fn invalid(name: &str, reason: impl Into<String>) -> Invalid {
    (name.to_string(), reason.into())
}

fn reason_phrase(status: u16) -> &'static str {
    http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error")
}

fn trace_id() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("00-{}-{}-00", &id[..32], &id[..16])
}

/// The error body of `api` for `status`: problem+json `ProblemDetails` (webhooks), `ErrorV3`
/// (recurring), `QrErrorResponse` in application/json (QR).
pub(crate) fn api_error(
    api: Api,
    status: u16,
    detail: &str,
    instance: &str,
    problems: &[Invalid],
) -> Reply {
    let title = reason_phrase(status);
    let list: Vec<Value> = problems
        .iter()
        .map(|(n, r)| json!({"name": n, "reason": r}))
        .collect();
    match api {
        Api::Webhooks => {
            let mut body = json!({
                "type": format!("https://httpstatuses.io/{status}"),
                "title": title,
                "status": status,
                "detail": detail,
                "instance": instance,
                "traceId": trace_id(),
            });
            if !list.is_empty() {
                body["extraDetails"] = Value::Array(list);
            }
            Reply::typed(status, "application/problem+json", &body)
        }
        Api::Recurring => {
            let mut body = json!({
                "type": format!("https://developer.vippsmobilepay.com/docs/APIs/recurring-api/recurring-api-problems#{}", title.to_lowercase().replace(' ', "-")),
                "title": title,
                "status": status,
                "detail": detail,
                "instance": instance,
                "contextId": uuid::Uuid::new_v4().to_string(),
            });
            if !list.is_empty() {
                body["extraDetails"] = Value::Array(list);
            }
            Reply::typed(status, "application/problem+json", &body)
        }
        // Order Management's `ErrorResponse` has QR's shape.
        Api::Qr | Api::OrderManagement => {
            let mut body = json!({
                "type": format!("https://httpstatuses.io/{status}"),
                "title": title,
                "detail": if detail.is_empty() { title } else { detail },
                "instance": trace_id(),
            });
            if !list.is_empty() {
                body["invalidParams"] = Value::Array(list);
            }
            Reply::json(status, &body)
        }
        // Management's `Problem`: its field-level details are `{key, value}` pairs.
        Api::Management => {
            let mut body = json!({
                "type": format!("https://httpstatuses.io/{status}"),
                "title": title,
                "status": status,
                "detail": detail,
                "instance": instance,
            });
            if !problems.is_empty() {
                body["extraDetails"] = problems
                    .iter()
                    .map(|(n, r)| json!({"key": n, "value": r}))
                    .collect();
            }
            Reply::typed(status, "application/problem+json", &body)
        }
        // ePayment's `Problem`: type, title, detail, status, traceId, extraDetails.
        Api::Epayment => {
            let mut body = json!({
                "type": format!("https://developer.vippsmobilepay.com/docs/APIs/epayment-api/api-guide/errors#{status}"),
                "title": title,
                "detail": if detail.is_empty() { title } else { detail },
                "status": status,
                "traceId": trace_id(),
            });
            if !list.is_empty() {
                body["extraDetails"] = Value::Array(list);
            }
            Reply::typed(status, "application/problem+json", &body)
        }
        // The token endpoint documents no error bodies; Azure AD answers in this OAuth shape.
        Api::AccessToken => Reply::json(
            status,
            &json!({"error": if status == 401 { "unauthorized_client" } else { "invalid_request" }, "error_description": detail}),
        ),
    }
}

/// Errors from the API gateway (Azure APIM) in front of every API: authentication and throttling.
/// Shaped like Recurring's `ErrorFromAzure`, the only spec that documents them.
pub(crate) fn gateway_error(status: u16, message: &str) -> Reply {
    Reply::json(
        status,
        &json!({
            "responseInfo": {"responseCode": status, "responseMessage": reason_phrase(status)},
            "result": {"message": message},
        }),
    )
}

pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(b) = hex {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encode one path segment or query value (everything but RFC 3986 unreserved).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_round_trip() {
        for s in ["kasse 1", "æøå+%/?", "", "%", "%4", "a%zz"] {
            assert_eq!(percent_decode(&percent_encode(s)), s);
        }
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("a%zzb"), "a%zzb");
    }
}
