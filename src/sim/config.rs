//! The simulator's knobs: credentials, latency, faults, rate limits, clock and persistence.

use crate::api::Secret;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// Well-known sandbox credentials. They open nothing but the local simulator, so they are not secrets.
pub const SANDBOX_CLIENT_ID: &str = "00000000-5a4d-4b00-8000-000000000001";
pub const SANDBOX_CLIENT_SECRET: &str = "sandbox-client-secret";
pub const SANDBOX_SUBSCRIPTION_KEY: &str = "sandbox-subscription-key";
/// The MSN a sandbox caller gets when it sends no `Merchant-Serial-Number`.
pub const SANDBOX_MSN: &str = "123456";

/// One set of API keys, as a sales unit (or partner) gets them from the portal.
#[derive(Debug, Clone)]
pub struct SimCredentials {
    pub client_id: String,
    pub client_secret: Secret,
    pub subscription_key: Secret,
    /// The MSNs these keys may act for; the first is used when a call names none.
    pub msns: Vec<String>,
}

impl SimCredentials {
    pub fn sandbox() -> Self {
        SimCredentials {
            client_id: SANDBOX_CLIENT_ID.to_string(),
            client_secret: Secret::new(SANDBOX_CLIENT_SECRET),
            subscription_key: Secret::new(SANDBOX_SUBSCRIPTION_KEY),
            msns: vec![SANDBOX_MSN.to_string()],
        }
    }
}

/// What a faulted request sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// 500 before anything happened.
    Status500,
    Status502,
    Status503,
    /// A 429 that no documented limit explains (gateway throttling).
    Status429,
    /// The connection is closed without an answer, before the state changes.
    Drop,
    /// No answer until long after any sane client timeout (`FaultConfig::hang`).
    Timeout,
    /// The state changes, then the client gets a 500.
    AfterWrite500,
    /// The state changes, then the connection is closed without an answer.
    AfterWriteDrop,
}

impl FaultKind {
    pub const ALL: [FaultKind; 8] = [
        FaultKind::Status500,
        FaultKind::Status502,
        FaultKind::Status503,
        FaultKind::Status429,
        FaultKind::Drop,
        FaultKind::Timeout,
        FaultKind::AfterWrite500,
        FaultKind::AfterWriteDrop,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Status500 => "status_500",
            FaultKind::Status502 => "status_502",
            FaultKind::Status503 => "status_503",
            FaultKind::Status429 => "status_429",
            FaultKind::Drop => "drop",
            FaultKind::Timeout => "timeout",
            FaultKind::AfterWrite500 => "after_write_500",
            FaultKind::AfterWriteDrop => "after_write_drop",
        }
    }

    pub fn after_write(self) -> bool {
        matches!(self, FaultKind::AfterWrite500 | FaultKind::AfterWriteDrop)
    }
}

/// Faults are drawn from a seeded RNG, one draw per Vipps API request in arrival order, so a
/// given seed and request sequence always fault the same requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultConfig {
    /// Probability (0.0..=1.0) that a request is faulted.
    pub rate: f64,
    /// The kinds to pick from, uniformly; repeat a kind to weigh it more.
    pub mix: Vec<FaultKind>,
    /// How long a `timeout` fault holds the connection.
    #[serde(with = "millis", rename = "hang_ms")]
    pub hang: Duration,
    /// Only requests of these operations (stable names from `specs::ops`) can fault; empty: all.
    /// Lets a test lose the answer to one kind of write without breaking the reads around it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<String>,
    /// Stop faulting after this many faults (decremented as they happen); `None`: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_faults: Option<u32>,
}

impl FaultConfig {
    pub fn none() -> Self {
        FaultConfig {
            rate: 0.0,
            mix: FaultKind::ALL.to_vec(),
            hang: Duration::from_secs(120),
            operations: Vec::new(),
            max_faults: None,
        }
    }

    /// Every request faults with one of `kinds`.
    pub fn always(kinds: &[FaultKind]) -> Self {
        FaultConfig {
            rate: 1.0,
            mix: kinds.to_vec(),
            ..FaultConfig::none()
        }
    }

    /// Fault only the first `times` requests of operation `op` with `kind`.
    pub fn once_on(op: &str, kind: FaultKind, times: u32) -> Self {
        FaultConfig {
            operations: vec![op.to_string()],
            max_faults: Some(times),
            ..FaultConfig::always(&[kind])
        }
    }

    /// `rate` with the full mix.
    pub fn with_rate(rate: f64) -> Self {
        FaultConfig {
            rate,
            ..FaultConfig::none()
        }
    }
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig::none()
    }
}

/// Requests per minute; `None` switches a limit off. Defaults are the documented Recurring limits
/// (API-FACTS section 5). QR and Webhooks document none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateLimits {
    /// Per MSN.
    pub list_agreements: Option<u32>,
    /// Per agreementId.
    pub update_agreement: Option<u32>,
    /// Per agreementId.
    pub fetch_agreement: Option<u32>,
    /// Per MSN.
    pub draft_agreement: Option<u32>,
    /// Every Vipps API request together (all merchants, all operations; not the token), per
    /// second over a sliding window, like a gateway-wide quota. Vipps documents none; benchmarks
    /// set one to check that the client paces itself instead of collecting 429s.
    #[serde(default)]
    pub global_per_second: Option<u32>,
}

impl RateLimits {
    pub fn documented() -> Self {
        RateLimits {
            list_agreements: Some(5),
            update_agreement: Some(5),
            fetch_agreement: Some(120),
            draft_agreement: Some(300),
            global_per_second: None,
        }
    }

    pub fn off() -> Self {
        RateLimits {
            list_agreements: None,
            update_agreement: None,
            fetch_agreement: None,
            draft_agreement: None,
            global_per_second: None,
        }
    }

    /// The limit for an operation (by its stable name) and what it is counted per.
    pub(crate) fn for_operation(&self, op: &str) -> Option<(u32, CountedPer)> {
        match op {
            "list_agreements" => self.list_agreements.map(|n| (n, CountedPer::Merchant)),
            "update_agreement" => self.update_agreement.map(|n| (n, CountedPer::Agreement)),
            "fetch_agreement" => self.fetch_agreement.map(|n| (n, CountedPer::Agreement)),
            "draft_agreement" => self.draft_agreement.map(|n| (n, CountedPer::Merchant)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CountedPer {
    Merchant,
    Agreement,
}

#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Added to every Vipps API answer.
    pub latency: Duration,
    /// Up to this much more, drawn per request.
    pub jitter: Duration,
    pub faults: FaultConfig,
    pub seed: u64,
    pub rate_limits: RateLimits,
    /// Lifetime of an access token on the simulated clock (1 hour in the Vipps test environment).
    pub token_ttl: Duration,
    pub credentials: Vec<SimCredentials>,
    /// Any MSN is accepted and its merchant created on first use, as a sandbox should.
    pub open_merchants: bool,
    /// Load state from here at start and write it after every change.
    pub state_file: Option<PathBuf>,
    /// Check the bearer token and subscription key on API calls.
    pub require_auth: bool,
}

impl SimConfig {
    pub fn sandbox() -> Self {
        SimConfig {
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            faults: FaultConfig::none(),
            seed: 0,
            rate_limits: RateLimits::documented(),
            token_ttl: Duration::from_secs(3600),
            credentials: vec![SimCredentials::sandbox()],
            open_merchants: true,
            state_file: None,
            require_auth: true,
        }
    }

    /// What `--sandbox` runs: the sandbox, with its state in `.vippsctl/sandbox.json` under
    /// `workdir`.
    pub fn sandbox_in(workdir: &std::path::Path) -> Self {
        SimConfig {
            state_file: Some(workdir.join(".vippsctl").join("sandbox.json")),
            ..SimConfig::sandbox()
        }
    }

    /// The sandbox without rate limits, so tests can call as often as they like.
    pub fn test() -> Self {
        SimConfig {
            rate_limits: RateLimits::off(),
            ..SimConfig::sandbox()
        }
    }
}

pub(crate) mod millis {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}
