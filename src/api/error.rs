//! What a failed Vipps API call turns into: the operation, the HTTP status, the RFC 7807 problem
//! details and trace id, or the transport failure. Request headers are never kept, so an
//! `ApiError` cannot leak a token or key; values quoted in decode errors are elided.

use std::fmt;

use serde_json::Value;

use crate::specs::ops;

/// One `{name, reason}` entry of a problem (`extraDetails` or QR's `invalidParams`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProblemDetail {
    pub name: String,
    pub reason: String,
}

/// The RFC 7807 problem body the APIs send with errors (each API names the fields a little
/// differently; this is their union).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problem {
    pub title: Option<String>,
    pub detail: Option<String>,
    pub type_: Option<String>,
    pub instance: Option<String>,
    /// `traceId` (webhooks, ePayment) or `contextId` (recurring).
    pub trace_id: Option<String>,
    pub details: Vec<ProblemDetail>,
}

impl Problem {
    /// Read a problem from any JSON body; `None` when it has none of the problem fields.
    pub fn from_json(v: &Value) -> Option<Problem> {
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let mut details = Vec::new();
        for key in ["extraDetails", "invalidParams"] {
            if let Some(list) = v.get(key).and_then(Value::as_array) {
                for d in list {
                    let field = |k: &str| {
                        d.get(k)
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string()
                    };
                    details.push(ProblemDetail {
                        name: field("name"),
                        reason: field("reason"),
                    });
                }
            }
        }
        let p = Problem {
            title: text("title"),
            detail: text("detail"),
            type_: text("type"),
            instance: text("instance"),
            trace_id: text("traceId").or_else(|| text("contextId")),
            details,
        };
        if p == Problem::default() {
            None
        } else {
            Some(p)
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if let Some(t) = &self.title {
            parts.push(t.clone());
        }
        if let Some(d) = &self.detail {
            if self.title.as_deref() != Some(d.as_str()) {
                parts.push(d.clone());
            }
        }
        for d in &self.details {
            parts.push(format!("{}: {}", d.name, d.reason));
        }
        f.write_str(&parts.join("; "))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The API answered with an error status.
    #[error("{operation}: HTTP {status}{}{}", problem_suffix(.problem), trace_suffix(.problem))]
    Status {
        operation: String,
        status: u16,
        /// Boxed to keep `Result<_, ApiError>` small.
        problem: Option<Box<Problem>>,
    },
    /// No answer in time: the request reached the server (it accepted the connection), and a
    /// write may or may not have been carried out.
    #[error("{}", timeout_text(.operation, *.body_started, .origin.as_deref(), *.after))]
    Timeout {
        operation: String,
        /// The status and headers came, the body did not finish.
        body_started: bool,
        /// `scheme://host:port` the request went to.
        origin: Option<String>,
        /// The request timeout, when known for certain.
        after: Option<std::time::Duration>,
    },
    /// The connection failed. `refused`: it was never established, so nothing was sent.
    #[error("{operation}: {}: {message}", if *.refused { "could not connect" } else { "the connection failed" })]
    Connection {
        operation: String,
        refused: bool,
        message: String,
    },
    /// The answer was not what the spec describes.
    #[error("{operation}: unexpected response{}: {message}", .status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    Decode {
        operation: String,
        status: Option<u16>,
        message: String,
    },
    /// Credentials or request preparation failed before anything was sent (e.g. no token).
    #[error("{operation}: could not authenticate: {message}")]
    Prepare { operation: String, message: String },
    /// vippsctl built a request the spec does not allow (e.g. a field too long); nothing was sent.
    #[error("{operation}: invalid request: {message}")]
    InvalidRequest { operation: String, message: String },
}

/// `op: no answer from HOST within N` (the request reached a server that accepted it), or
/// `op: the answer from HOST did not complete within N`; writes add that the outcome is unknown.
fn timeout_text(
    operation: &str,
    body_started: bool,
    origin: Option<&str>,
    after: Option<std::time::Duration>,
) -> String {
    let host = origin.unwrap_or("the API");
    let within = after
        .map(|d| format!(" within {}", crate::api::ratelimit::human(d)))
        .unwrap_or_default();
    let what = if body_started {
        format!("the answer from {host} did not complete{within}")
    } else {
        format!("no answer from {host}{within}")
    };
    let unknown = if is_write(operation) {
        " (the outcome is unknown)"
    } else {
        ""
    };
    format!("{operation}: {what}{unknown}")
}

fn problem_suffix(p: &Option<Box<Problem>>) -> String {
    match p {
        Some(p) if !p.to_string().is_empty() => format!(": {p}"),
        _ => String::new(),
    }
}

fn trace_suffix(p: &Option<Box<Problem>>) -> String {
    match p.as_ref().and_then(|p| p.trace_id.as_deref()) {
        Some(t) => format!(" (trace id {t})"),
        None => String::new(),
    }
}

/// Serde messages quote offending values (`invalid type: string "..."`); a value may be a secret
/// or a phone number, so quoted parts are elided.
pub(crate) fn elide_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut inside = false;
    for c in message.chars() {
        if c == '"' {
            if !inside {
                out.push_str("\"…");
            } else {
                out.push('"');
            }
            inside = !inside;
        } else if !inside {
            out.push(c);
        }
    }
    out
}

/// How much of a non-JSON error body to keep (APIM and proxies send HTML or plain text).
const BODY_EXCERPT: usize = 200;

impl ApiError {
    pub fn operation(&self) -> &str {
        match self {
            ApiError::Status { operation, .. }
            | ApiError::Timeout { operation, .. }
            | ApiError::Connection { operation, .. }
            | ApiError::Decode { operation, .. }
            | ApiError::Prepare { operation, .. }
            | ApiError::InvalidRequest { operation, .. } => operation,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            ApiError::Decode { status, .. } => *status,
            _ => None,
        }
    }

    pub fn problem(&self) -> Option<&Problem> {
        match self {
            ApiError::Status { problem, .. } => problem.as_deref(),
            _ => None,
        }
    }

    pub fn trace_id(&self) -> Option<&str> {
        self.problem().and_then(|p| p.trace_id.as_deref())
    }

    /// What to try, where the error says enough to choose: the network for a host that could
    /// not be reached or did not answer, the keys and MSN for a refusal.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            ApiError::Connection { .. } => Some(
                "the API could not be reached: check the network and the API address (--env, --base-url, `environment:`)",
            ),
            ApiError::Timeout { .. } => Some(
                "the API accepted the connection but did not answer in time: try again later, or raise --timeout",
            ),
            ApiError::Status {
                status: 401 | 403, ..
            } => Some("check the credentials and the MSN (the keys must belong to this sales unit and environment)"),
            ApiError::Prepare { .. } => Some("check the credentials: the access token could not be renewed"),
            ApiError::Status {
                status: 300..=399,
                ..
            } => Some("set --base-url (or --env) to the API host itself; vippsctl follows no redirects"),
            _ => None,
        }
    }

    pub fn is_conflict(&self) -> bool {
        self.status() == Some(409)
    }

    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    pub fn is_timeout(&self) -> bool {
        matches!(self, ApiError::Timeout { .. })
    }

    /// The request never left: connection refused, bad credentials, or an invalid request.
    pub fn is_refused(&self) -> bool {
        matches!(
            self,
            ApiError::Connection { refused: true, .. }
                | ApiError::Prepare { .. }
                | ApiError::InvalidRequest { .. }
        )
    }

    /// Whether the call may have changed something even though it failed: timeouts, connections
    /// dropped after sending, and 5xx answers to writes. The caller must observe before retrying
    /// a non-idempotent write.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            ApiError::Timeout { .. } => true,
            ApiError::Connection { refused, .. } => !refused,
            ApiError::Status {
                operation, status, ..
            } => *status >= 500 && is_write(operation),
            // The server answered a write, but with a body that cannot be read (wrong type,
            // broken JSON): the write may well have been made, and what it returned is lost.
            ApiError::Decode { operation, .. } => is_write(operation),
            _ => false,
        }
    }

    /// Turn a generated client's error into an `ApiError` (reads the body of an undocumented
    /// response to find its problem details).
    pub async fn from_generated<E: serde::Serialize>(
        operation: &str,
        err: progenitor_client::Error<E>,
    ) -> ApiError {
        use progenitor_client::Error as G;
        let operation = operation.to_string();
        match err {
            G::ErrorResponse(rv) => {
                let status = rv.status().as_u16();
                let problem = serde_json::to_value(rv.into_inner())
                    .ok()
                    .as_ref()
                    .and_then(Problem::from_json)
                    .map(Box::new);
                ApiError::Status {
                    operation,
                    status,
                    problem,
                }
            }
            G::UnexpectedResponse(resp) => {
                let status = resp.status().as_u16();
                if (300..400).contains(&status) {
                    let to = resp
                        .headers()
                        .get(reqwest::header::LOCATION)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|l| resp.url().join(l).ok())
                        .map(|u| crate::api::token::origin(&u))
                        .unwrap_or_else(|| "no Location".into());
                    return ApiError::Status {
                        operation,
                        status,
                        problem: Some(Box::new(Problem {
                            detail: Some(format!(
                                "a redirect to {to}, which is not followed (credentials are sent only to the configured host)"
                            )),
                            ..Problem::default()
                        })),
                    };
                }
                let body = match resp.bytes().await {
                    Ok(b) => b,
                    Err(e) => return ApiError::from_reqwest(operation, &e),
                };
                if (200..300).contains(&status) {
                    return ApiError::Decode {
                        operation,
                        status: Some(status),
                        message: "a success status the spec does not list".to_string(),
                    };
                }
                let problem = match serde_json::from_slice::<Value>(&body) {
                    Ok(v) => Problem::from_json(&v),
                    Err(_) => {
                        let text = String::from_utf8_lossy(&body);
                        let text = text.trim();
                        (!text.is_empty()).then(|| Problem {
                            detail: Some(text.chars().take(BODY_EXCERPT).collect()),
                            ..Problem::default()
                        })
                    }
                }
                .map(Box::new);
                ApiError::Status {
                    operation,
                    status,
                    problem,
                }
            }
            G::CommunicationError(e) | G::InvalidUpgrade(e) => {
                ApiError::from_reqwest(operation, &e)
            }
            G::ResponseBodyError(e) => match ApiError::from_reqwest(operation, &e) {
                ApiError::Timeout {
                    operation,
                    origin,
                    after,
                    ..
                } => ApiError::Timeout {
                    operation,
                    body_started: true,
                    origin,
                    after,
                },
                other => other,
            },
            G::InvalidResponsePayload(_, e) => ApiError::Decode {
                operation,
                status: None,
                message: elide_quoted(&e.to_string()),
            },
            G::InvalidRequest(message) => ApiError::InvalidRequest {
                operation,
                message: elide_quoted(&message),
            },
            G::Custom(message) => ApiError::Prepare { operation, message },
        }
    }

    fn from_reqwest(operation: String, e: &reqwest::Error) -> ApiError {
        if e.is_timeout() && !e.is_connect() {
            let origin = e.url().map(crate::api::token::origin);
            let after = origin
                .as_deref()
                .and_then(crate::api::transport::request_timeout_for);
            ApiError::Timeout {
                operation,
                body_started: false,
                origin,
                after,
            }
        } else {
            ApiError::Connection {
                operation,
                refused: e.is_connect(),
                message: crate::error_chain::one_line(e),
            }
        }
    }
}

fn is_write(operation: &str) -> bool {
    ops::by_name(operation).is_some_and(|o| o.method != "GET")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_reads_each_apis_field_names() {
        let wh = serde_json::json!({"title": "Bad Request", "detail": "bad url", "traceId": "t-1",
            "extraDetails": [{"name": "url", "reason": "must be https"}]});
        let p = Problem::from_json(&wh).unwrap_or_default();
        assert_eq!(p.trace_id.as_deref(), Some("t-1"));
        assert_eq!(p.to_string(), "Bad Request; bad url; url: must be https");
        let rec = serde_json::json!({"title": "t", "contextId": "c-9"});
        assert_eq!(
            Problem::from_json(&rec).and_then(|p| p.trace_id),
            Some("c-9".into())
        );
        let qr = serde_json::json!({"title": "t", "detail": "d", "instance": "i",
            "invalidParams": [{"name": "RedirectUrl", "reason": "no"}]});
        assert_eq!(Problem::from_json(&qr).map(|p| p.details.len()), Some(1));
        assert_eq!(Problem::from_json(&serde_json::json!({"id": "x"})), None);
    }

    #[test]
    fn outcome_unknown_only_where_the_server_may_have_acted() {
        let status = |operation: &str, status| ApiError::Status {
            operation: operation.into(),
            status,
            problem: None,
        };
        assert!(status("register_webhook", 503).outcome_unknown());
        assert!(!status("list_webhooks", 503).outcome_unknown());
        assert!(!status("register_webhook", 400).outcome_unknown());
        let decode = |operation: &str| ApiError::Decode {
            operation: operation.into(),
            status: Some(200),
            message: "x".into(),
        };
        assert!(decode("register_webhook").outcome_unknown());
        assert!(!decode("list_webhooks").outcome_unknown());
        assert!(ApiError::Timeout {
            operation: "x".into(),
            body_started: false,
            origin: None,
            after: None,
        }
        .outcome_unknown());
        let refused = ApiError::Connection {
            operation: "x".into(),
            refused: true,
            message: String::new(),
        };
        assert!(!refused.outcome_unknown() && refused.is_refused());
        assert!(status("create_redirect_qr", 409).is_conflict());
        assert!(status("get_redirect_qr", 404).is_not_found());
    }

    #[test]
    fn quoted_values_are_elided_from_messages() {
        assert_eq!(
            elide_quoted(r#"invalid type: string "s3cr3t", expected u32 at line 1"#),
            "invalid type: string \"…\", expected u32 at line 1"
        );
        let e = ApiError::Status {
            operation: "draft_agreement".into(),
            status: 400,
            problem: Some(Box::new(Problem {
                title: Some("Bad Request".into()),
                trace_id: Some("abc".into()),
                ..Problem::default()
            })),
        };
        assert_eq!(
            e.to_string(),
            "draft_agreement: HTTP 400: Bad Request (trace id abc)"
        );
    }
}
