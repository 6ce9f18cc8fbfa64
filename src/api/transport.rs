//! The HTTP layer every generated client calls through: the progenitor `pre` hook calls
//! [`Transport::prepare`] (Vipps headers, the bearer token) and the `exec` hook calls
//! [`Transport::execute`] (rate limits, retries, one token refresh on 401).
//!
//! Wiring a generated client (with `with_inner_type("crate::api::Transport")`):
//!
//! ```text
//! impl progenitor_client::ClientHooks<Transport> for recurring::Client {
//!     async fn pre<E>(&self, req: &mut reqwest::Request, info: &OperationInfo) -> Result<(), Error<E>> {
//!         self.inner().prepare(req, info.operation_id).await.map_err(|e| Error::Custom(e.describe()))
//!     }
//!     async fn exec(&self, req: reqwest::Request, info: &OperationInfo) -> reqwest::Result<reqwest::Response> {
//!         self.inner().execute(req, info.operation_id).await
//!     }
//! }
//! // recurring::Client::new_with_client(t.base_url(), t.http().clone(), t.clone())
//! ```
//!
//! Per merchant: build one transport per credential set and derive the others with
//! [`Transport::for_merchant`]; they share the token cache, the rate limiters and the connection pool.

use super::credentials::Credentials;
use super::ratelimit::{human, RateLimiter, RateLimits};
use super::retry::{is_idempotent, is_refused_unprocessed, is_retryable_status, RetryPolicy};
use super::token::{TokenCache, TokenError, TokenFlow, TokenRequest};
use crate::domain::{Environment, Secret};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Every `Vipps-System-*` value is limited to 30 characters in the specs.
const SYSTEM_HEADER_MAX: usize = 30;
const SYSTEM_NAME: &str = "vippsctl";
/// Sends in all of a write that got no answer within the timeout (a write is repeated only when
/// that is safe: it carries an Idempotency-Key).
const NO_ANSWER_ATTEMPTS: u32 = 2;
/// Sends in all of a read that got no answer: a read changes nothing, and one hung request among
/// hundreds should not fail a plan; the run's `--deadline` still bounds the whole.
const NO_ANSWER_READ_ATTEMPTS: u32 = 3;
const MSN_HEADER: &str = "merchant-serial-number";
const SUBSCRIPTION_KEY_HEADER: &str = "ocp-apim-subscription-key";

/// Why a request could not be prepared or a transport built. Its `Display` and `Debug` never
/// contain a header value or a secret.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct TransportError(Box<TransportErrorKind>);

#[derive(Debug, thiserror::Error)]
pub enum TransportErrorKind {
    #[error("could not get a Vipps access token")]
    Token(#[source] TokenError),
    #[error("{header} value {value:?} is not valid: {reason}")]
    InvalidHeader {
        header: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("could not set up the HTTP client")]
    Client(#[source] reqwest::Error),
}

impl TransportError {
    pub fn kind(&self) -> &TransportErrorKind {
        &self.0
    }

    /// The message with its causes on one line (`a: b: c`), for callers that can carry only a
    /// string (progenitor's `Error::Custom`).
    pub fn describe(&self) -> String {
        crate::error_chain::one_line(self)
    }

    /// What to try, fitting the cause.
    pub fn hint(&self) -> String {
        match self.kind() {
            TransportErrorKind::Token(e) => e.hint(),
            TransportErrorKind::InvalidHeader { .. } => {
                "fix the value named above; header values cannot hold control characters".into()
            }
            TransportErrorKind::Client(_) => "this is a problem of the local TLS setup".into(),
        }
    }
}

impl From<TransportErrorKind> for TransportError {
    fn from(kind: TransportErrorKind) -> Self {
        TransportError(Box::new(kind))
    }
}

/// Where the APIs live: an environment, or any base URL (the simulator, a test server).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseUrl(pub String);

impl From<Environment> for BaseUrl {
    fn from(e: Environment) -> Self {
        BaseUrl(e.base_url().to_owned())
    }
}
impl From<&str> for BaseUrl {
    fn from(s: &str) -> Self {
        BaseUrl(s.to_owned())
    }
}
impl From<String> for BaseUrl {
    fn from(s: String) -> Self {
        BaseUrl(s)
    }
}
impl From<&String> for BaseUrl {
    fn from(s: &String) -> Self {
        BaseUrl(s.clone())
    }
}

/// Shared by every per-merchant transport derived from one: one token per credential set, one
/// set of rate limiters.
struct Shared {
    base_url: String,
    http: reqwest::Client,
    /// The whole request, from connecting to the end of the response body.
    timeout: Duration,
    auth: Option<Auth>,
    retry: RetryPolicy,
    limiter: RateLimiter,
    /// Requests in flight, from sending to the end of the body: one connection each.
    in_flight: Arc<tokio::sync::Semaphore>,
    system_headers: HeaderMap,
}

/// Requests one transport (one set of keys) has in flight at most by default. Plans read every
/// merchant at once; without a bound a fleet of 1,000 merchants opens 5,000 connections, each
/// with its buffers (the partner benchmark measured 214 MiB), and hits a real gateway at once.
pub const MAX_IN_FLIGHT: usize = 64;

struct Auth {
    credentials: Credentials,
    tokens: TokenCache,
    flow: TokenFlow,
}

#[derive(Clone)]
pub struct Transport {
    shared: Arc<Shared>,
    merchant: Option<(String, HeaderValue)>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("base_url", &self.shared.base_url)
            .field("merchant", &self.merchant())
            .field(
                "credentials",
                &self.shared.auth.as_ref().map(|a| &a.credentials),
            )
            .field("retry", &self.shared.retry)
            .field("rate_limits", self.shared.limiter.limits())
            .finish_non_exhaustive()
    }
}

/// Builds a [`Transport`]; see [`Transport::builder`].
#[derive(Debug)]
pub struct TransportBuilder {
    base_url: String,
    credentials: Option<Credentials>,
    merchant: Option<String>,
    retry: RetryPolicy,
    rate_limits: RateLimits,
    timeout: Duration,
    connect_timeout: Duration,
    plugin: (String, String),
    flow: TokenFlow,
    max_in_flight: usize,
}

impl TransportBuilder {
    /// Where the token comes from (default `/accesstoken/get`). [`TokenFlow::Management`] also
    /// leaves the subscription key off every call.
    pub fn token_flow(mut self, flow: TokenFlow) -> Self {
        self.flow = flow;
        self
    }

    /// Without credentials no token is fetched and no auth headers are sent.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Send `Merchant-Serial-Number: msn` on every call.
    pub fn merchant(mut self, msn: impl Into<String>) -> Self {
        self.merchant = Some(msn.into());
        self
    }

    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = limits;
        self
    }

    /// At most this many requests in flight at once (default [`MAX_IN_FLIGHT`]).
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n.max(1);
        self
    }

    /// The whole request, from connecting to the end of the response body.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// `Vipps-System-Plugin-Name` / `-Version` (default: `vippsctl-cli` and the crate version).
    pub fn plugin(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.plugin = (name.into(), version.into());
        self
    }

    pub fn build(self) -> Result<Transport, TransportError> {
        let version = env!("CARGO_PKG_VERSION");
        let mut system_headers = HeaderMap::new();
        for (name, header, value) in [
            ("vipps-system-name", "Vipps-System-Name", SYSTEM_NAME),
            ("vipps-system-version", "Vipps-System-Version", version),
            (
                "vipps-system-plugin-name",
                "Vipps-System-Plugin-Name",
                self.plugin.0.as_str(),
            ),
            (
                "vipps-system-plugin-version",
                "Vipps-System-Plugin-Version",
                self.plugin.1.as_str(),
            ),
        ] {
            system_headers.insert(
                HeaderName::from_static(name),
                system_header_value(header, value)?,
            );
        }
        let http = client_builder()
            .connect_timeout(self.connect_timeout.min(self.timeout))
            .timeout(self.timeout)
            .build()
            .map_err(|e| TransportErrorKind::Client(e.without_url()))?;
        let base_url = self.base_url.trim_end_matches('/').to_owned();
        note_request_timeout(&base_url, self.timeout);
        let shared = Arc::new(Shared {
            base_url,
            http,
            timeout: self.timeout,
            auth: self.credentials.map(|credentials| Auth {
                credentials,
                tokens: TokenCache::new(),
                flow: self.flow,
            }),
            retry: self.retry,
            limiter: RateLimiter::new(self.rate_limits),
            in_flight: Arc::new(tokio::sync::Semaphore::new(self.max_in_flight)),
            system_headers,
        });
        let transport = Transport {
            shared,
            merchant: None,
        };
        match self.merchant {
            Some(msn) => transport.for_merchant(msn),
            None => Ok(transport),
        }
    }
}

/// Every client vippsctl sends credentials with. Redirects are never followed: the token call
/// carries the client secret and every API call the subscription key in headers that reqwest
/// would forward to whatever host a `Location` names. A redirect is returned as the answer and
/// reported as such.
fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("vippsctl/", env!("CARGO_PKG_VERSION")))
}

/// The request timeout of the transports built in this process, by base URL origin; `None`
/// where transports to one origin use different ones. An [`super::ApiError`] made from a
/// generated client's error knows its request's URL but not the transport that sent it, and
/// says how long it waited only when that is certain.
static REQUEST_TIMEOUTS: std::sync::Mutex<std::collections::BTreeMap<String, Option<Duration>>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

fn note_request_timeout(base_url: &str, timeout: Duration) {
    let Ok(url) = reqwest::Url::parse(base_url) else {
        return;
    };
    let mut all = REQUEST_TIMEOUTS.lock().unwrap_or_else(|e| e.into_inner());
    let entry = all
        .entry(super::token::origin(&url))
        .or_insert(Some(timeout));
    if *entry != Some(timeout) {
        *entry = None;
    }
}

/// The request timeout every transport to `origin` (as [`super::token::origin`] writes it) uses,
/// if they agree.
pub fn request_timeout_for(origin: &str) -> Option<Duration> {
    let all = REQUEST_TIMEOUTS.lock().unwrap_or_else(|e| e.into_inner());
    all.get(origin).copied().flatten()
}

fn system_header_value(header: &'static str, value: &str) -> Result<HeaderValue, TransportError> {
    let invalid = |reason| TransportErrorKind::InvalidHeader {
        header,
        value: value.to_owned(),
        reason,
    };
    if value.is_empty() || value.chars().count() > SYSTEM_HEADER_MAX {
        return Err(invalid("it must be 1 to 30 characters").into());
    }
    HeaderValue::from_str(value).map_err(|_| invalid("it contains control characters").into())
}

impl Transport {
    /// Real use: `Transport::builder(Environment::Test).credentials(c).merchant("123456").build()`.
    /// Defaults: documented rate limits, [`RetryPolicy::default`], connect timeout 10 s, request
    /// timeout 30 s.
    pub fn builder(base: impl Into<BaseUrl>) -> TransportBuilder {
        TransportBuilder {
            base_url: base.into().0,
            credentials: None,
            merchant: None,
            retry: RetryPolicy::default(),
            rate_limits: RateLimits::documented(),
            timeout: DEFAULT_REQUEST_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            plugin: ("vippsctl-cli".into(), env!("CARGO_PKG_VERSION").into()),
            flow: TokenFlow::AccessToken,
            max_in_flight: MAX_IN_FLIGHT,
        }
    }

    /// No credentials, no retries, no rate limits: requests go out as the caller built them plus
    /// the `Vipps-System-*` headers (tests; the simulator with auth off).
    pub fn plain(base_url: impl Into<String>) -> Transport {
        let base = base_url.into();
        let built = Transport::builder(base.as_str())
            .retry(RetryPolicy::none())
            .rate_limits(RateLimits::unlimited())
            .build();
        match built {
            Ok(t) => t,
            // Only a TLS backend that fails to initialise gets here; a default client keeps
            // `plain` infallible for tests and the simulator.
            Err(_) => Transport {
                shared: Arc::new(Shared {
                    base_url: base.trim_end_matches('/').to_owned(),
                    http: client_builder().build().unwrap_or_default(),
                    timeout: DEFAULT_REQUEST_TIMEOUT,
                    auth: None,
                    retry: RetryPolicy::none(),
                    limiter: RateLimiter::new(RateLimits::unlimited()),
                    in_flight: Arc::new(tokio::sync::Semaphore::new(
                        tokio::sync::Semaphore::MAX_PERMITS,
                    )),
                    system_headers: HeaderMap::new(),
                }),
                merchant: None,
            },
        }
    }

    /// The same credentials, token cache, rate limiters and HTTP client, for another sales unit.
    pub fn for_merchant(&self, msn: impl Into<String>) -> Result<Transport, TransportError> {
        let msn = msn.into();
        let invalid = |reason| TransportErrorKind::InvalidHeader {
            header: "Merchant-Serial-Number",
            value: msn.clone(),
            reason,
        };
        if msn.is_empty() {
            return Err(invalid("it is empty").into());
        }
        let value =
            HeaderValue::from_str(&msn).map_err(|_| invalid("it contains control characters"))?;
        Ok(Transport {
            shared: Arc::clone(&self.shared),
            merchant: Some((msn, value)),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.shared.http
    }

    pub fn merchant(&self) -> Option<&str> {
        self.merchant.as_ref().map(|(m, _)| m.as_str())
    }

    pub fn has_credentials(&self) -> bool {
        self.shared.auth.is_some()
    }

    /// `text` with this transport's credentials and cached token blanked out (for leak checks).
    pub fn redact(&self, text: &str) -> String {
        match &self.shared.auth {
            Some(a) => {
                let token = a.tokens.current();
                let basic = super::token::basic_credentials(&a.credentials);
                let mut secrets = a.credentials.secrets().to_vec();
                secrets.extend(token.as_ref());
                secrets.push(&basic);
                super::redact::redact(text, &secrets)
            }
            None => text.to_owned(),
        }
    }

    /// Adds the bearer token (fetched and cached), `Ocp-Apim-Subscription-Key`,
    /// `Merchant-Serial-Number` (unless the request has one) and the `Vipps-System-*` headers.
    pub async fn prepare(
        &self,
        request: &mut reqwest::Request,
        operation: &str,
    ) -> Result<(), TransportError> {
        let shared = &self.shared;
        let headers = request.headers_mut();
        for (name, value) in &shared.system_headers {
            headers.insert(name.clone(), value.clone());
        }
        if let Some((_, msn)) = &self.merchant {
            if !headers.contains_key(MSN_HEADER) {
                headers.insert(MSN_HEADER, msn.clone());
            }
        }
        if let Some(auth) = &shared.auth {
            let token = self.token(auth).await?;
            let headers = request.headers_mut();
            set_bearer(headers, &token);
            // A Management token is used without a subscription key, which then is not sent.
            if auth.flow == TokenFlow::Management {
                tracing::debug!("{operation}: {} {}", request.method(), request.url().path());
                return Ok(());
            }
            let mut key = HeaderValue::from_str(auth.credentials.subscription_key.expose())
                .map_err(|_| TransportErrorKind::InvalidHeader {
                    header: "Ocp-Apim-Subscription-Key",
                    value: "***".into(),
                    reason: "it contains control characters",
                })?;
            key.set_sensitive(true);
            request.headers_mut().insert(SUBSCRIPTION_KEY_HEADER, key);
        }
        tracing::debug!("{operation}: {} {}", request.method(), request.url().path());
        Ok(())
    }

    /// Fetch (and cache) the token now, so a credentials or network problem shows up before
    /// any API call. Without credentials there is nothing to fetch.
    pub async fn authenticate(&self) -> Result<(), TransportError> {
        match &self.shared.auth {
            Some(auth) => self.token(auth).await.map(|_| ()),
            None => Ok(()),
        }
    }

    async fn token(&self, auth: &Auth) -> Result<Secret, TransportError> {
        auth.tokens
            .get(&TokenRequest {
                http: &self.shared.http,
                base_url: &self.shared.base_url,
                credentials: &auth.credentials,
                extra_headers: &self.shared.system_headers,
                retry: &self.shared.retry,
                timeout: self.shared.timeout,
                flow: auth.flow,
            })
            .await
            .map_err(|e| TransportErrorKind::Token(e).into())
    }

    /// Sends the request: client-side rate limiting, retries with jittered exponential backoff
    /// for 429/502/503/504 and connection errors on idempotent requests (GET, PUT, DELETE, and
    /// any request carrying an Idempotency-Key), honouring Retry-After (capped), and one token
    /// refresh when the API answers 401.
    pub async fn execute(
        &self,
        request: reqwest::Request,
        operation: &str,
    ) -> reqwest::Result<reqwest::Response> {
        let shared = &self.shared;
        let policy = &shared.retry;
        let idempotent = is_idempotent(&request);
        let no_answer_attempts = if matches!(*request.method(), Method::GET | Method::HEAD) {
            NO_ANSWER_READ_ATTEMPTS
        } else {
            NO_ANSWER_ATTEMPTS
        };
        let mut refreshed_token = false;
        let mut attempt: u32 = 1;
        let mut current = request;
        loop {
            shared
                .limiter
                .acquire(operation, self.merchant(), current.url().path())
                .await;
            // A streamed body cannot be sent twice; such a request gets exactly one try.
            let spare = current.try_clone();
            // Held until the body is read (or dropped): the connection is busy until then.
            let permit = Arc::clone(&shared.in_flight).acquire_owned().await.ok();
            let sent = tokio::time::Instant::now();
            let outcome = shared
                .http
                .execute(current)
                .await
                .map(|r| limit_body(r, permit));
            match &outcome {
                Ok(resp) => tracing::debug!(
                    "{operation}: answered {} in {}",
                    resp.status(),
                    human(sent.elapsed())
                ),
                Err(e) if e.is_timeout() => {
                    tracing::debug!("{operation}: no answer within {}", human(shared.timeout))
                }
                Err(e) => tracing::debug!("{operation}: failed: {e}"),
            }
            let Some(mut next) = spare else {
                return outcome;
            };
            let can_retry = idempotent && attempt < policy.max_attempts.max(1);
            let wait = match &outcome {
                Ok(resp) if resp.status() == StatusCode::UNAUTHORIZED => {
                    match (&shared.auth, refreshed_token) {
                        (Some(auth), false) => {
                            refreshed_token = true;
                            if let Some(used) = bearer_of(&next) {
                                auth.tokens.invalidate(&used).await;
                            }
                            match self.token(auth).await {
                                Ok(fresh) => {
                                    tracing::info!(
                                        "Vipps rejected the access token on {operation}; retrying with a new one"
                                    );
                                    set_bearer(next.headers_mut(), &fresh);
                                    current = next;
                                    continue;
                                }
                                Err(e) => {
                                    tracing::warn!(
                                        "Vipps rejected the access token on {operation} and a new one could not be fetched: {e}"
                                    );
                                    return outcome;
                                }
                            }
                        }
                        _ => return outcome,
                    }
                }
                Ok(resp)
                    if (can_retry && is_retryable_status(resp.status()))
                        || (is_refused_unprocessed(resp.status())
                            && attempt < policy.max_attempts.max(1)) =>
                {
                    let asked = resp
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| policy.retry_after_wait(v, SystemTime::now()));
                    let wait = asked.unwrap_or_else(|| policy.backoff(attempt));
                    if resp.status() == StatusCode::TOO_MANY_REQUESTS {
                        tracing::warn!(
                            "rate limited by Vipps on {operation}; retrying in {} (attempt {} of {})",
                            human(wait),
                            attempt + 1,
                            policy.max_attempts
                        );
                    } else {
                        tracing::warn!(
                            "Vipps answered {} on {operation}; retrying in {} (attempt {} of {})",
                            resp.status(),
                            human(wait),
                            attempt + 1,
                            policy.max_attempts
                        );
                    }
                    wait
                }
                // A server that kept a request waiting for the whole timeout seldom answers the
                // next one at once: no answer is tried a bounded few times, not `max_attempts`.
                Err(e)
                    if can_retry
                        && (e.is_connect() || e.is_request() || e.is_timeout())
                        && (e.is_connect() || !e.is_timeout() || attempt < no_answer_attempts) =>
                {
                    let wait = policy.backoff(attempt);
                    if e.is_timeout() && !e.is_connect() {
                        tracing::warn!(
                            "no answer from Vipps on {operation} within {}; sending it again in {}",
                            human(shared.timeout),
                            human(wait)
                        );
                    } else {
                        tracing::warn!(
                            "request to Vipps failed on {operation} ({}); retrying in {} (attempt {} of {})",
                            crate::error_chain::one_line(e),
                            human(wait),
                            attempt + 1,
                            policy.max_attempts
                        );
                    }
                    wait
                }
                _ => return outcome,
            };
            // Release the connection before sleeping.
            drop(outcome);
            tokio::time::sleep(wait).await;
            attempt += 1;
            current = next;
        }
    }
}

/// The largest response body read. A full page of any list is well under 1 MiB; without a cap a
/// broken proxy or hostile server streaming an endless body would be buffered until the request
/// timeout, at whatever rate the network allows.
pub const MAX_RESPONSE_BYTES: usize = 32 << 20;

#[derive(Debug, thiserror::Error)]
#[error("the response is larger than {} MiB", MAX_RESPONSE_BYTES >> 20)]
struct TooLarge;

/// The same response, whose body ends in an error once it passes [`MAX_RESPONSE_BYTES`].
fn limit_body(
    resp: reqwest::Response,
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
) -> reqwest::Response {
    use futures::StreamExt;
    use reqwest::ResponseBuilderExt;
    let mut builder = http::Response::builder()
        .status(resp.status())
        .version(resp.version())
        .url(resp.url().clone());
    if let Some(h) = builder.headers_mut() {
        *h = resp.headers().clone();
    }
    let mut seen = 0usize;
    let body = resp.bytes_stream().map(
        move |chunk| -> Result<bytes::Bytes, Box<dyn std::error::Error + Send + Sync>> {
            let _in_flight = &permit;
            let chunk = chunk?;
            seen = seen.saturating_add(chunk.len());
            if seen > MAX_RESPONSE_BYTES {
                return Err(Box::new(TooLarge));
            }
            Ok(chunk)
        },
    );
    match builder.body(reqwest::Body::wrap_stream(body)) {
        Ok(r) => reqwest::Response::from(r),
        // Status, version and headers came from a valid response, so this cannot fail; were
        // it to, an empty 502 reads as a retryable gateway error.
        Err(_) => reqwest::Response::from(
            http::Response::builder()
                .status(StatusCode::BAD_GATEWAY)
                .body(reqwest::Body::from(Vec::<u8>::new()))
                .unwrap_or_default(),
        ),
    }
}

fn set_bearer(headers: &mut HeaderMap, token: &Secret) {
    // The token was checked to be a valid header value when it was parsed.
    if let Ok(mut v) = HeaderValue::from_str(&format!("Bearer {}", token.expose())) {
        v.set_sensitive(true);
        headers.insert(AUTHORIZATION, v);
    }
}

fn bearer_of(request: &reqwest::Request) -> Option<Secret> {
    let value = request.headers().get(AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").map(Secret::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_credentials() {
        let t = Transport::builder("http://127.0.0.1:1")
            .credentials(Credentials::new("id-AAA", "secret-BBB", "key-CCC"))
            .merchant("123456")
            .build()
            .unwrap();
        let text = format!("{t:?}");
        assert!(text.contains("123456"), "{text}");
        for s in ["id-AAA", "secret-BBB", "key-CCC"] {
            assert!(!text.contains(s), "{text}");
        }
        assert_eq!(t.redact("x secret-BBB y"), "x *** y");
    }

    fn assert_send<T: Send>(_: &T) {}

    /// Generated clients run on a multi-threaded runtime and merchants are planned concurrently.
    #[test]
    fn futures_are_send_and_transport_is_shareable() {
        fn sync_send<T: Send + Sync + Clone>() {}
        sync_send::<Transport>();
        let t = Transport::plain("http://127.0.0.1:1");
        let mut req =
            reqwest::Request::new(reqwest::Method::GET, "http://127.0.0.1:1/".parse().unwrap());
        assert_send(&t.prepare(&mut req, "op"));
        let req =
            reqwest::Request::new(reqwest::Method::GET, "http://127.0.0.1:1/".parse().unwrap());
        assert_send(&t.execute(req, "op"));
    }

    #[test]
    fn builder_takes_an_environment_or_a_url() {
        let t = Transport::builder(Environment::Test).build().unwrap();
        assert_eq!(t.base_url(), "https://apitest.vipps.no");
        assert!(!t.has_credentials());
        let t = Transport::builder("http://127.0.0.1:9/").build().unwrap();
        assert_eq!(t.base_url(), "http://127.0.0.1:9");
        assert_eq!(t.merchant(), None);
    }

    #[test]
    fn bad_header_values_are_errors() {
        let t = Transport::plain("http://127.0.0.1:1");
        let err = t.for_merchant("12\n34").unwrap_err();
        assert!(err.to_string().contains("Merchant-Serial-Number"), "{err}");
        let err = Transport::builder("http://x")
            .plugin("a-plugin-name-much-longer-than-thirty-chars", "1")
            .build()
            .unwrap_err();
        assert!(
            err.to_string().contains("Vipps-System-Plugin-Name"),
            "{err}"
        );
    }
}
