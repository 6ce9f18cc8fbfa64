//! The access token: fetched from `POST /accesstoken/get` with a raw reqwest call (the token path
//! stays outside the generated clients and their hooks), cached per credential set and refreshed
//! before it expires. Concurrent callers share one fetch.

use super::ratelimit::human;
use super::redact::redact;
use super::retry::{is_retryable_status, RetryPolicy};
use super::{Credentials, Secret};
use reqwest::header::{HeaderMap, HeaderValue};
use serde::Deserialize;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// Vipps documents 1 h (test) and 24 h (production); used only when a response names no lifetime.
const FALLBACK_LIFETIME: Duration = Duration::from_secs(300);
/// Refresh this long before expiry at most (the 10% rule wins for short-lived tokens).
const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// How much of an error body to keep in a message.
const BODY_EXCERPT: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("could not reach {url}")]
    Send {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url} answered {status}{}", excerpt(body))]
    Status {
        url: String,
        status: reqwest::StatusCode,
        body: String,
    },
    #[error("{url} answered with a body that is not a token response: {reason}")]
    Malformed { url: String, reason: String },
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
        let transient = match &error {
            TokenError::Status { status, .. } => is_retryable_status(*status),
            TokenError::Send { source, .. } => source.is_connect() || source.is_timeout(),
            _ => false,
        };
        if !transient || attempt >= req.retry.max_attempts {
            return Err(error);
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

async fn fetch(req: &TokenRequest<'_>) -> Result<AccessToken, TokenError> {
    let url = format!("{}/accesstoken/get", req.base_url.trim_end_matches('/'));
    let creds = req.credentials;
    let mut headers = req.extra_headers.clone();
    for (name, secret) in [
        ("client_id", &creds.client_id),
        ("client_secret", &creds.client_secret),
        ("Ocp-Apim-Subscription-Key", &creds.subscription_key),
    ] {
        let mut v = HeaderValue::from_str(secret.expose())
            .map_err(|_| TokenError::InvalidHeader { name })?;
        v.set_sensitive(true);
        headers.insert(name, v);
    }
    let started = Instant::now();
    let response = req
        .http
        .post(&url)
        .headers(headers)
        .header(reqwest::header::CONTENT_LENGTH, "0")
        .send()
        .await
        .map_err(|source| TokenError::Send {
            url: url.clone(),
            source: source.without_url(),
        })?;
    let status = response.status();
    let body = response.bytes().await.map_err(|source| TokenError::Send {
        url: url.clone(),
        source: source.without_url(),
    })?;
    let secrets = creds.secrets();
    if !status.is_success() {
        let text = String::from_utf8_lossy(&body);
        let text: String = text.chars().take(BODY_EXCERPT).collect();
        return Err(TokenError::Status {
            url,
            status,
            body: redact(&text, &secrets),
        });
    }
    let (value, lifetime) =
        parse_token_response(&body, SystemTime::now()).map_err(|reason| TokenError::Malformed {
            url: url.clone(),
            reason: redact(&reason, &secrets),
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
