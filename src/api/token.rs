//! The access token: fetched from `POST /accesstoken/get` (or, for the Management API with
//! partner keys, `POST /miami/v1/token`: [`TokenFlow`]) with a raw reqwest call (the token path
//! stays outside the generated clients and their hooks), cached per credential set and refreshed
//! before it expires. Concurrent callers share one fetch.

use super::ratelimit::human;
use super::redact::redact;
use super::retry::{is_retryable_status, RetryPolicy};
use super::Credentials;
use crate::domain::Secret;
use reqwest::header::{HeaderMap, HeaderValue};
use serde::Deserialize;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// Vipps documents 1 h (test) and 24 h (production); used only when a response names no lifetime.
const FALLBACK_LIFETIME: Duration = Duration::from_secs(300);
/// Refresh this long before expiry at most (the 10% rule wins for short-lived tokens).
const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// How much of a body that is not a problem document to quote in a message.
const BODY_EXCERPT: usize = 160;
/// A request that got no answer within the timeout is sent at most this often in all: a server
/// that kept one request waiting for the whole timeout seldom answers the next one.
const NO_ANSWER_ATTEMPTS: u32 = 2;

/// Why no token could be had. Every variant names the URL (never a credential); what the
/// endpoint answered is quoted from its problem detail, or the first bytes of a body that is not
/// JSON, with any credential value blanked out.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// No connection: refused, unknown host, TLS.
    #[error("could not reach {url}")]
    Send {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// Connected, but no answer in time.
    #[error("no answer from {origin} within {} to the token request{}", human(*.after), if *.attempts > 1 { format!(" (sent {attempts} times)") } else { String::new() })]
    NoAnswer {
        url: String,
        origin: String,
        after: Duration,
        attempts: u32,
    },
    #[error("{url} answered {status}{}", excerpt(.body))]
    Status {
        url: String,
        status: reqwest::StatusCode,
        /// The problem detail, or the first bytes of the body (with its content type).
        body: String,
    },
    #[error("{url} answered {status} to {location}, which is not followed (credentials are sent only to the configured host)")]
    Redirect {
        url: String,
        status: reqwest::StatusCode,
        /// Scheme, host and port of the `Location`, or `no Location`.
        location: String,
    },
    #[error("{url} answered {status} with a body that is not a token response: {reason}")]
    Malformed {
        url: String,
        status: reqwest::StatusCode,
        reason: String,
    },
    #[error("header {name} cannot be sent: its value is not a valid HTTP header value")]
    InvalidHeader { name: &'static str },
}

fn excerpt(body: &str) -> String {
    if body.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", body.trim())
    }
}

impl TokenError {
    /// What to try, fitting the cause: a network problem is not a credentials problem.
    pub fn hint(&self) -> String {
        match self {
            TokenError::Send { .. } => "check the network and the API address (--env, --base-url, `environment:`); behind a proxy set HTTPS_PROXY".into(),
            TokenError::NoAnswer { origin, .. } => format!(
                "{origin} accepted the connection but did not answer: try again later, raise --timeout, or check that --base-url points at the Vipps API"
            ),
            TokenError::Status { status, body, url } => {
                if matches!(status.as_u16(), 400 | 401 | 403)
                    && !looks_like_html(body)
                    && url.ends_with(TokenFlow::Management.path())
                {
                    "the Management token (/miami/v1/token) is for partner keys: check that the client id and secret are a partner's keys for this environment; with a merchant's own keys, name its MSN with --msn".into()
                } else if matches!(status.as_u16(), 400 | 401 | 403) && !looks_like_html(body) {
                    "check the client id, client secret and subscription key (a trailing space counts) and that they are for this environment: test and production keys differ".into()
                } else if *status == reqwest::StatusCode::TOO_MANY_REQUESTS
                    || (status.is_server_error() && !looks_like_html(body) && status.as_u16() != 501)
                {
                    "the token service had a problem: try again later".into()
                } else {
                    NOT_THE_TOKEN_ENDPOINT.into()
                }
            }
            TokenError::Redirect { .. } => {
                "set --base-url (or --env) to the API host itself; vippsctl follows no redirects".into()
            }
            TokenError::Malformed { .. } => NOT_THE_TOKEN_ENDPOINT.into(),
            TokenError::InvalidHeader { .. } => {
                "the credential contains characters that cannot be sent in an HTTP header".into()
            }
        }
    }
}

const NOT_THE_TOKEN_ENDPOINT: &str = "this does not look like the Vipps token endpoint (a proxy, a login page or a wrong host?): check --env, --base-url and `environment:`";

fn looks_like_html(body: &str) -> bool {
    body.contains("text/html") || body.to_ascii_lowercase().contains("<html")
}

/// `scheme://host[:port]` of `url` (the port when it is not the scheme's default): where a
/// request went, without its path or query.
pub fn origin(url: &reqwest::Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{}://{h}:{p}", url.scheme()),
        (Some(h), None) => format!("{}://{h}", url.scheme()),
        _ => url.scheme().to_string(),
    }
}

/// What a non-token body says, for a message: a problem document's detail, else its first
/// bytes and content type. Credential values are blanked out.
fn describe_body(body: &[u8], content_type: Option<&str>, secrets: &[&Secret]) -> String {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        let text = |k: &str| v.get(k).and_then(serde_json::Value::as_str);
        let said: Vec<&str> = ["error_description", "detail", "message", "title", "error"]
            .into_iter()
            .filter_map(text)
            .collect();
        if let Some(first) = said.first() {
            return redact(first, secrets);
        }
    }
    let text = String::from_utf8_lossy(body);
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return String::new();
    }
    let mut start: String = text.chars().take(BODY_EXCERPT).collect();
    if start.len() < text.len() {
        start.push('…');
    }
    let kind = content_type.unwrap_or("no content type");
    format!("{kind} body {:?}", redact(&start, secrets))
}

/// Which token endpoint a credential set gets its token from (API-FACTS 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenFlow {
    /// `POST /accesstoken/get`: `client_id`, `client_secret` and the subscription key in headers,
    /// an empty body. Every API call then sends the subscription key too.
    #[default]
    AccessToken,
    /// `POST /miami/v1/token`: `Authorization: Basic base64(client_id:client_secret)` and the
    /// form `grant_type=client_credentials`; 15-minute tokens for the Management API with partner
    /// keys. No subscription key, neither here nor on the calls.
    Management,
}

impl TokenFlow {
    pub fn path(self) -> &'static str {
        match self {
            TokenFlow::AccessToken => "/accesstoken/get",
            TokenFlow::Management => "/miami/v1/token",
        }
    }
}

/// A bearer token and when to stop using it.
#[derive(Clone, Debug)]
pub struct AccessToken {
    pub value: Secret,
    /// When to fetch a new one: the expiry less a safety margin.
    pub refresh_at: Instant,
}

impl AccessToken {
    fn is_fresh(&self, now: Instant) -> bool {
        now < self.refresh_at
    }
}

/// Vipps sends every numeric field as a JSON string (`"expires_in": "3599"`); older responses used
/// numbers. Accept both.
#[derive(Deserialize)]
#[serde(untagged)]
enum Lenient {
    Number(f64),
    Text(String),
}

impl Lenient {
    fn seconds(&self) -> Option<u64> {
        let n = match self {
            Lenient::Number(n) => *n,
            Lenient::Text(s) => s.trim().parse::<f64>().ok()?,
        };
        (n.is_finite() && n >= 0.0).then_some(n as u64)
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    expires_in: Option<Lenient>,
    expires_on: Option<Lenient>,
}

/// Parse a `/accesstoken/get` body into the token and its remaining lifetime.
pub fn parse_token_response(body: &[u8], now: SystemTime) -> Result<(Secret, Duration), String> {
    let parsed: TokenResponse =
        serde_json::from_slice(body).map_err(|e| format!("invalid JSON ({e})"))?;
    let token = parsed
        .access_token
        .filter(|t| !t.trim().is_empty())
        .ok_or("no access_token")?;
    if HeaderValue::from_str(&format!("Bearer {token}")).is_err() {
        return Err("access_token contains characters not allowed in a header".into());
    }
    let lifetime = parsed
        .expires_in
        .as_ref()
        .and_then(Lenient::seconds)
        .filter(|s| *s > 0)
        .map(Duration::from_secs)
        .or_else(|| {
            let on = parsed.expires_on.as_ref()?.seconds()?;
            let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
            Some(Duration::from_secs(on.saturating_sub(now)))
        })
        .unwrap_or(FALLBACK_LIFETIME);
    Ok((Secret::new(token), lifetime))
}

/// Refresh 5 minutes early, or after 90% of the lifetime for tokens shorter than 50 minutes.
pub fn refresh_margin(lifetime: Duration) -> Duration {
    (lifetime / 10).min(MAX_REFRESH_MARGIN)
}

/// One cached token per credential set. The async mutex is the single flight: whoever finds the
/// token stale fetches while holding it, and everyone queued behind reuses the result.
#[derive(Default)]
pub struct TokenCache {
    slot: tokio::sync::Mutex<Option<AccessToken>>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCache(***)")
    }
}

/// What a token request needs besides the credentials.
pub struct TokenRequest<'a> {
    pub http: &'a reqwest::Client,
    pub base_url: &'a str,
    pub credentials: &'a Credentials,
    /// `Vipps-System-*` headers, sent on the token call too.
    pub extra_headers: &'a HeaderMap,
    /// Asking for a token twice is harmless, so a transient failure is retried like a GET.
    pub retry: &'a RetryPolicy,
    /// The transport's request timeout (for the message when no answer comes).
    pub timeout: Duration,
    pub flow: TokenFlow,
}

impl TokenCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// A fresh token, fetched only when the cached one is missing or due for refresh.
    pub async fn get(&self, req: &TokenRequest<'_>) -> Result<Secret, TokenError> {
        let mut slot = self.slot.lock().await;
        if let Some(t) = slot.as_ref().filter(|t| t.is_fresh(Instant::now())) {
            return Ok(t.value.clone());
        }
        let token = fetch_with_retries(req).await?;
        let value = token.value.clone();
        *slot = Some(token);
        Ok(value)
    }

    /// The cached token, if one is cached and nobody is refreshing it right now (for redaction).
    pub fn current(&self) -> Option<Secret> {
        let slot = self.slot.try_lock().ok()?;
        slot.as_ref().map(|t| t.value.clone())
    }

    /// Drop `stale` if it is still the cached token. Comparing first means that many requests
    /// failing with the same expired token cause one refresh, not one each.
    pub async fn invalidate(&self, stale: &Secret) {
        let mut slot = self.slot.lock().await;
        if slot.as_ref().is_some_and(|t| &t.value == stale) {
            *slot = None;
        }
    }
}

async fn fetch_with_retries(req: &TokenRequest<'_>) -> Result<AccessToken, TokenError> {
    let mut attempt = 1;
    loop {
        let error = match fetch(req).await {
            Ok(token) => return Ok(token),
            Err(e) => e,
        };
        let (transient, limit) = match &error {
            TokenError::Status { status, .. } => {
                (is_retryable_status(*status), req.retry.max_attempts)
            }
            TokenError::Send { source, .. } => (source.is_connect(), req.retry.max_attempts),
            TokenError::NoAnswer { .. } => (true, req.retry.max_attempts.min(NO_ANSWER_ATTEMPTS)),
            _ => (false, 0),
        };
        if !transient || attempt >= limit {
            return Err(match error {
                TokenError::NoAnswer {
                    url, origin, after, ..
                } => TokenError::NoAnswer {
                    url,
                    origin,
                    after,
                    attempts: attempt,
                },
                e => e,
            });
        }
        let wait = req.retry.backoff(attempt);
        tracing::warn!(
            "could not get a Vipps access token ({error}); retrying in {}",
            human(wait)
        );
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

/// The token request of `flow`, with the credentials in sensitive header values.
fn token_request(req: &TokenRequest<'_>, url: &str) -> Result<reqwest::RequestBuilder, TokenError> {
    let creds = req.credentials;
    let mut headers = req.extra_headers.clone();
    let sensitive = |name: &'static str, value: &str| {
        let mut v = HeaderValue::from_str(value).map_err(|_| TokenError::InvalidHeader { name })?;
        v.set_sensitive(true);
        Ok::<_, TokenError>(v)
    };
    match req.flow {
        TokenFlow::AccessToken => {
            for (name, secret) in [
                ("client_id", &creds.client_id),
                ("client_secret", &creds.client_secret),
                ("Ocp-Apim-Subscription-Key", &creds.subscription_key),
            ] {
                headers.insert(name, sensitive(name, secret.expose())?);
            }
            // Header names only: their values are the credentials.
            tracing::debug!(
                "POST {url} (headers client_id, client_secret, Ocp-Apim-Subscription-Key)"
            );
            Ok(req
                .http
                .post(url)
                .headers(headers)
                .header(reqwest::header::CONTENT_LENGTH, "0"))
        }
        TokenFlow::Management => {
            let basic = basic_credentials(creds);
            headers.insert(
                reqwest::header::AUTHORIZATION,
                sensitive("Authorization", &format!("Basic {}", basic.expose()))?,
            );
            tracing::debug!(
                "POST {url} (header Authorization: Basic ***, form grant_type=client_credentials)"
            );
            Ok(req
                .http
                .post(url)
                .headers(headers)
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded; charset=utf-8",
                )
                .body("grant_type=client_credentials"))
        }
    }
}

/// `base64(client_id:client_secret)`, as `Authorization: Basic` carries it: a secret too.
pub(crate) fn basic_credentials(creds: &Credentials) -> Secret {
    use base64::Engine as _;
    Secret::new(base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        creds.client_id.expose(),
        creds.client_secret.expose()
    )))
}

async fn fetch(req: &TokenRequest<'_>) -> Result<AccessToken, TokenError> {
    let url = format!("{}{}", req.base_url.trim_end_matches('/'), req.flow.path());
    let creds = req.credentials;
    let request = token_request(req, &url)?;
    let started = Instant::now();
    let send_error = |source: reqwest::Error| {
        if source.is_timeout() && !source.is_connect() {
            TokenError::NoAnswer {
                origin: reqwest::Url::parse(&url)
                    .map(|u| origin(&u))
                    .unwrap_or_else(|_| url.clone()),
                url: url.clone(),
                after: req.timeout,
                attempts: 1,
            }
        } else {
            TokenError::Send {
                url: url.clone(),
                source: source.without_url(),
            }
        }
    };
    let response = request.send().await.map_err(send_error)?;
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(
            |l| match reqwest::Url::parse(&url).and_then(|base| base.join(l)) {
                Ok(u) => origin(&u),
                Err(_) => "an unreadable Location".to_string(),
            },
        );
    let body = response.bytes().await.map_err(send_error)?;
    tracing::debug!(
        "{url} answered {status} ({}, {} bytes) in {}",
        content_type.as_deref().unwrap_or("no content type"),
        body.len(),
        human(started.elapsed())
    );
    let basic = basic_credentials(creds);
    let mut secrets = creds.secrets().to_vec();
    secrets.push(&basic);
    if status.is_redirection() {
        return Err(TokenError::Redirect {
            url,
            status,
            location: location.unwrap_or_else(|| "no Location".into()),
        });
    }
    if !status.is_success() {
        return Err(TokenError::Status {
            url,
            status,
            body: describe_body(&body, content_type.as_deref(), &secrets),
        });
    }
    let (value, lifetime) = parse_token_response(&body, SystemTime::now()).map_err(|reason| {
        let is_json = serde_json::from_slice::<serde_json::Value>(&body).is_ok();
        TokenError::Malformed {
            url: url.clone(),
            status,
            reason: if is_json {
                redact(&reason, &secrets)
            } else {
                describe_body(&body, content_type.as_deref(), &secrets)
            },
        }
    })?;
    let usable = lifetime.saturating_sub(refresh_margin(lifetime));
    tracing::debug!(
        "fetched a Vipps access token (valid {}s, refreshing after {}s)",
        lifetime.as_secs(),
        usable.as_secs()
    );
    Ok(AccessToken {
        value,
        refresh_at: started + usable,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn numeric_fields_as_strings() {
        let body = br#"{"token_type":"Bearer","expires_in":"3599","ext_expires_in":"3599",
            "expires_on":"1700003599","not_before":"1700000000","resource":"x","access_token":"eyJ.abc"}"#;
        let (t, life) = parse_token_response(body, at(1_700_000_000)).unwrap();
        assert_eq!(t.expose(), "eyJ.abc");
        assert_eq!(life, Duration::from_secs(3599));
    }

    #[test]
    fn numbers_and_expires_on_fallback() {
        let (_, life) =
            parse_token_response(br#"{"expires_in":86398,"access_token":"t"}"#, at(0)).unwrap();
        assert_eq!(life, Duration::from_secs(86398));
        let (_, life) = parse_token_response(
            br#"{"expires_on":"1700000600","access_token":"t"}"#,
            at(1_700_000_000),
        )
        .unwrap();
        assert_eq!(life, Duration::from_secs(600));
        let (_, life) = parse_token_response(
            br#"{"expires_in":"garbage","expires_on":1700000060,"access_token":"t"}"#,
            at(1_700_000_000),
        )
        .unwrap();
        assert_eq!(life, Duration::from_secs(60));
    }

    #[test]
    fn malformed_bodies_are_errors_not_panics() {
        for body in [
            &b"not json"[..],
            br#"{"expires_in":"10"}"#,
            br#"{"access_token":""}"#,
            br#"{"access_token":"a\nb"}"#,
            br#"[]"#,
        ] {
            assert!(parse_token_response(body, at(0)).is_err());
        }
        let (_, life) =
            parse_token_response(br#"{"access_token":"t","expires_in":-5}"#, at(0)).unwrap();
        assert_eq!(life, FALLBACK_LIFETIME);
    }

    #[test]
    fn hints_follow_the_cause_and_bodies_are_quoted_without_credentials() {
        let key = Secret::new("key-123");
        let status = |code: u16, body: &[u8], ct: &str| TokenError::Status {
            url: "https://x/accesstoken/get".into(),
            status: reqwest::StatusCode::from_u16(code).unwrap(),
            body: describe_body(body, Some(ct), &[&key]),
        };
        let bad = status(
            401,
            br#"{"error":"x","error_description":"no key-123"}"#,
            "application/json",
        );
        assert!(
            bad.to_string()
                .ends_with("answered 401 Unauthorized: no ***"),
            "{bad}"
        );
        assert!(bad.hint().contains("subscription key"));
        let page = status(401, b"<html>login</html>", "text/html");
        assert_eq!(page.hint(), NOT_THE_TOKEN_ENDPOINT);
        assert!(status(429, b"", "text/plain")
            .hint()
            .contains("try again later"));
        assert!(status(503, b"{}", "application/json")
            .hint()
            .contains("try again later"));
        let long = describe_body(&[b'a'; 400], None, &[]);
        assert!(
            long.starts_with("no content type body \"aaa") && long.ends_with("…\""),
            "{long}"
        );
    }

    #[test]
    fn refresh_margin_is_ten_percent_capped_at_five_minutes() {
        assert_eq!(
            refresh_margin(Duration::from_secs(3600)),
            Duration::from_secs(300)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(86400)),
            Duration::from_secs(300)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(600)),
            Duration::from_secs(60)
        );
    }
}
