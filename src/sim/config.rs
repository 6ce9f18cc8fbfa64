//! The simulator's knobs: credentials, latency, faults, rate limits, clock and persistence.

use crate::domain::Secret;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Well-known sandbox credentials. They open nothing but the local simulator, so they are not secrets.
pub const SANDBOX_CLIENT_ID: &str = "00000000-5a4d-4b00-8000-000000000001";
pub const SANDBOX_CLIENT_SECRET: &str = "sandbox-client-secret";
pub const SANDBOX_SUBSCRIPTION_KEY: &str = "sandbox-subscription-key";
/// The MSN a sandbox caller gets when it sends no `Merchant-Serial-Number`.
pub const SANDBOX_MSN: &str = "123456";
/// The sandbox partner's keys ([`SimCredentials::partner`]); like the others they open nothing
/// but the local simulator.
pub const SANDBOX_PARTNER_CLIENT_ID: &str = "00000000-5a4d-4b00-8002-000000000001";
pub const SANDBOX_PARTNER_CLIENT_SECRET: &str = "sandbox-partner-client-secret";
pub const SANDBOX_PARTNER_SUBSCRIPTION_KEY: &str = "sandbox-partner-subscription-key";
/// The sales units `import --all --sandbox` discovers when no `--msn` names others.
pub const SANDBOX_PARTNER_MSNS: [&str; 3] = ["123456", "234567", "345678"];

/// What the Management API tells of a sales unit besides its MSN. Unset fields take the
/// defaults [`SimConfig::sales_unit_profile`] gives.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesUnitProfile {
    /// `name` (at most 50 characters); default `Sales unit <msn>`.
    pub name: Option<String>,
    /// The merchant's organisation number (9 digits); default derived from the MSN, so every
    /// sales unit is its own merchant.
    pub organisation: Option<String>,
    /// `configuration.paymentAllowed`; default true.
    pub payment_allowed: Option<bool>,
    /// `configuration.recurringAllowed`; default true.
    pub recurring_allowed: Option<bool>,
    /// Allow-listed by Vipps for UNSCHEDULED recurring charges; default false.
    #[serde(default)]
    pub unscheduled_charges: Option<bool>,
}

/// One set of API keys, as a sales unit (or a partner) gets them from the portal.
#[derive(Debug, Clone)]
pub struct SimCredentials {
    pub client_id: String,
    pub client_secret: Secret,
    /// The primary subscription key.
    pub subscription_key: Secret,
    /// The secondary subscription key: interchangeable with the primary, so keys can be rotated
    /// (API-FACTS section 2).
    pub secondary_subscription_key: Option<Secret>,
    /// The sales units (MSNs) these keys may act for.
    pub msns: Vec<String>,
    /// A partner's keys act for several sales units and must name one (`Merchant-Serial-Number`)
    /// on every call; a sales unit's own keys act for that one MSN, with or without the header.
    pub partner: bool,
}

impl SimCredentials {
    /// The keys of the sandbox sales unit [`SANDBOX_MSN`].
    pub fn sandbox() -> Self {
        SimCredentials::for_sales_unit(SANDBOX_MSN)
    }

    /// A sales unit's own keys. They are derived from the MSN (the sandbox's for
    /// [`SANDBOX_MSN`]), so a restarted simulator prints the same ones; like the sandbox keys they
    /// open nothing but the simulator.
    pub fn for_sales_unit(msn: &str) -> Self {
        let (id, secret, key) = if msn == SANDBOX_MSN {
            (
                SANDBOX_CLIENT_ID.to_string(),
                SANDBOX_CLIENT_SECRET.to_string(),
                SANDBOX_SUBSCRIPTION_KEY.to_string(),
            )
        } else {
            sales_unit_keys(msn)
        };
        SimCredentials {
            client_id: id,
            client_secret: Secret::new(secret),
            secondary_subscription_key: Some(Secret::new(format!("{}-secondary", key))),
            subscription_key: Secret::new(key),
            msns: vec![msn.to_string()],
            partner: false,
        }
    }

    /// The sandbox keys acting for `msns` as a partner's keys do: every call names its MSN.
    pub fn sandbox_partner(msns: Vec<String>) -> Self {
        SimCredentials {
            msns,
            partner: true,
            ..SimCredentials::sandbox()
        }
    }

    /// A partner's keys for `msns`, distinct from every sales unit's own keys (derived from a
    /// fixed name, so a restart prints the same ones). They get a Management token from
    /// `/miami/v1/token`, which a sales unit's own keys do not.
    pub fn partner(msns: Vec<String>) -> Self {
        SimCredentials {
            client_id: SANDBOX_PARTNER_CLIENT_ID.to_string(),
            client_secret: Secret::new(SANDBOX_PARTNER_CLIENT_SECRET),
            subscription_key: Secret::new(SANDBOX_PARTNER_SUBSCRIPTION_KEY),
            secondary_subscription_key: Some(Secret::new(format!(
                "{SANDBOX_PARTNER_SUBSCRIPTION_KEY}-secondary"
            ))),
            msns,
            partner: true,
        }
    }

    /// Whether `key` is one of these keys' subscription keys.
    pub fn has_subscription_key(&self, key: &str) -> bool {
        self.subscription_key.expose() == key
            || self
                .secondary_subscription_key
                .as_ref()
                .is_some_and(|s| s.expose() == key)
    }
}

/// `client_id`, `client_secret` and subscription key of a simulated sales unit.
fn sales_unit_keys(msn: &str) -> (String, String, String) {
    // The MSN's digits in the uuid's last group (4-10 digits, zero-padded to 12).
    let id = format!("00000000-5a4d-4b00-8001-{:0>12}", msn);
    (
        id,
        format!("sandbox-client-secret-{msn}"),
        format!("sandbox-subscription-key-{msn}"),
    )
}

/// Behaviour kinder than Vipps, each switched on only on purpose (`sim serve --lenient-*`).
/// The default (all off) follows the published specs and API-FACTS; docs/simulator.md lists
/// every rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leniency {
    /// Any 4-10 digit MSN is accepted with any configured keys, and its sales unit created on
    /// first use. Vipps refuses an MSN the keys do not belong to.
    #[serde(default)]
    pub any_msn: bool,
    /// `GET /recurring/v3/agreements` without `status` lists agreements in every status. Vipps
    /// lists only ACTIVE ones then ("there is no way to list all Agreements with all statuses").
    #[serde(default)]
    pub list_all_statuses: bool,
    /// Reads of merchant-redirect QRs without a supported `Accept` header answer with SVG links.
    /// The QR spec makes `Accept` a required header on them.
    #[serde(default)]
    pub qr_reads_without_accept: bool,
    /// An Express payment's dynamic shipping `callbackUrl` may be a local `http://` URL. The
    /// ePayment spec: "The URL must use HTTPS".
    #[serde(default)]
    pub http_callbacks: bool,
}

impl Leniency {
    /// What is switched on, in words.
    pub fn switched_on(&self) -> Vec<&'static str> {
        [
            (self.any_msn, "any MSN"),
            (self.list_all_statuses, "agreement lists in every status"),
            (self.qr_reads_without_accept, "QR reads without Accept"),
            (self.http_callbacks, "http callback URLs"),
        ]
        .into_iter()
        .filter_map(|(on, what)| on.then_some(what))
        .collect()
    }

    /// Every leniency on: what the simulator did before it followed the specs' prose.
    pub fn all() -> Self {
        Leniency {
            any_msn: true,
            list_all_statuses: true,
            qr_reads_without_accept: true,
            http_callbacks: true,
        }
    }
}

/// What a faulted request sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// 500 before anything happened.
    #[serde(rename = "status_500")]
    Status500,
    #[serde(rename = "status_502")]
    Status502,
    #[serde(rename = "status_503")]
    Status503,
    /// A 429 that no documented limit explains (gateway throttling).
    #[serde(rename = "status_429")]
    Status429,
    /// The connection is closed without an answer, before the state changes.
    Drop,
    /// No answer until long after any sane client timeout (`FaultConfig::hang`).
    Timeout,
    /// The state changes, then the client gets a 500.
    #[serde(rename = "after_write_500")]
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

    /// The kind with this [`FaultKind::name`].
    pub fn parse(name: &str) -> Option<FaultKind> {
        FaultKind::ALL.into_iter().find(|k| k.name() == name)
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
    /// The kinds to pick from, uniformly; repeat a kind to weigh it more. Default: all.
    #[serde(default = "all_faults")]
    pub mix: Vec<FaultKind>,
    /// How long a `timeout` fault holds the connection. Default: 120 s.
    #[serde(with = "millis", rename = "hang_ms", default = "default_hang")]
    pub hang: Duration,
    /// Only requests of these operations (stable names from `specs::ops`) can fault; empty: all.
    /// Lets a test lose the answer to one kind of write without breaking the reads around it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<String>,
    /// Stop faulting after this many faults (decremented as they happen); `None`: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_faults: Option<u32>,
    /// Only requests for these merchants (their `Merchant-Serial-Number`) can fault; empty: all.
    /// Lets a fleet test fail a few merchants and resume exactly those.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub msns: Vec<String>,
}

fn all_faults() -> Vec<FaultKind> {
    FaultKind::ALL.to_vec()
}

fn default_hang() -> Duration {
    Duration::from_secs(120)
}

impl FaultConfig {
    pub fn none() -> Self {
        FaultConfig {
            rate: 0.0,
            mix: FaultKind::ALL.to_vec(),
            hang: Duration::from_secs(120),
            operations: Vec::new(),
            max_faults: None,
            msns: Vec::new(),
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
    /// CreateCharge, per agreement (documented per agreementId + chargeId; a create names no
    /// charge in its path, so all creates on the agreement count together: the stricter reading).
    #[serde(default = "two")]
    pub create_charge: Option<u32>,
    /// Cancel, capture and refund, each per agreement and charge.
    #[serde(default = "five")]
    pub modify_charge: Option<u32>,
    /// FetchCharge, per agreement and charge.
    #[serde(default = "ten")]
    pub fetch_charge: Option<u32>,
    /// ListCharges, per agreement.
    #[serde(default = "ten")]
    pub list_charges: Option<u32>,
    /// FetchChargeById, per MSN.
    #[serde(default = "hundred")]
    pub fetch_charge_by_id: Option<u32>,
    /// ePayment capture, refund and cancel, per reference and MSN (EPG: 5 per minute).
    #[serde(default)]
    pub adjust_payment: Option<u32>,
    /// ePayment get payment and get events, per reference and MSN (EPG: 120 per minute, counted
    /// per subscription key there; one sales unit's keys here).
    #[serde(default)]
    pub read_payment: Option<u32>,
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
            create_charge: two(),
            modify_charge: five(),
            fetch_charge: ten(),
            list_charges: ten(),
            fetch_charge_by_id: hundred(),
            adjust_payment: Some(5),
            read_payment: Some(120),
            global_per_second: None,
        }
    }

    pub fn off() -> Self {
        RateLimits {
            list_agreements: None,
            update_agreement: None,
            fetch_agreement: None,
            draft_agreement: None,
            create_charge: None,
            modify_charge: None,
            fetch_charge: None,
            list_charges: None,
            fetch_charge_by_id: None,
            adjust_payment: None,
            read_payment: None,
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
            "create_charge" => self.create_charge.map(|n| (n, CountedPer::Agreement)),
            "cancel_charge" | "capture_charge" | "refund_charge" => {
                self.modify_charge.map(|n| (n, CountedPer::Charge))
            }
            "fetch_charge" => self.fetch_charge.map(|n| (n, CountedPer::Charge)),
            "list_charges" => self.list_charges.map(|n| (n, CountedPer::Agreement)),
            "fetch_charge_by_id" => self.fetch_charge_by_id.map(|n| (n, CountedPer::Merchant)),
            // Keyed by the path's first parameter, the payment's reference.
            "capture_payment" | "refund_payment" | "cancel_payment" => {
                self.adjust_payment.map(|n| (n, CountedPer::Agreement))
            }
            "get_payment" | "get_payment_events" => {
                self.read_payment.map(|n| (n, CountedPer::Agreement))
            }
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CountedPer {
    Merchant,
    Agreement,
    /// Agreement and charge: the path's first two parameters.
    Charge,
}

// The documented charge limits (API-FACTS 5), as serde defaults for older configurations.
fn two() -> Option<u32> {
    Some(2)
}
fn five() -> Option<u32> {
    Some(5)
}
fn ten() -> Option<u32> {
    Some(10)
}
fn hundred() -> Option<u32> {
    Some(100)
}

/// The market of a sales unit: it decides an agreement's `countryCode`, and Norwegian sales
/// units must send `merchantAgreementUrl` with a draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Country {
    #[default]
    #[serde(rename = "NO")]
    Norway,
    #[serde(rename = "DK")]
    Denmark,
    #[serde(rename = "FI")]
    Finland,
}

impl Country {
    pub fn code(self) -> &'static str {
        match self {
            Country::Norway => "NO",
            Country::Denmark => "DK",
            Country::Finland => "FI",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "NO" => Some(Country::Norway),
            "DK" => Some(Country::Denmark),
            "FI" => Some(Country::Finland),
            _ => None,
        }
    }
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
    /// Lifetime of an access token on the simulated clock: 1 hour in the Vipps test environment
    /// (the default), 24 hours in production.
    pub token_ttl: Duration,
    /// The keys the simulator knows; their MSNs are the sales units that exist.
    pub credentials: Vec<SimCredentials>,
    /// Sales units outside Norway (the default market), by MSN.
    pub countries: BTreeMap<String, Country>,
    /// What is kinder than Vipps; all off by default.
    pub lenient: Leniency,
    /// Load state from here at start and write it after every change.
    pub state_file: Option<PathBuf>,
    /// Check the bearer token and subscription key on API calls.
    pub require_auth: bool,
    /// Names, merchants and capabilities of sales units, by MSN (Management API).
    pub sales_units: BTreeMap<String, SalesUnitProfile>,
    /// Send every webhook delivery here (a local http or https URL) instead of to the registered
    /// URL, as `sim serve --forward-to` does. `None`: deliveries wait, unsent, until one is set
    /// (the simulator never contacts the registered, public URLs).
    pub forward_to: Option<url::Url>,
    /// Send every call to a merchant's callback (an Express payment's dynamic shipping
    /// callback) here (a local http or https URL) instead of to the payment's `callbackUrl`, as
    /// `sim serve --callbacks-to` does, so a payment can name the https URL it names in
    /// production. `None`: only callback URLs on this machine are called.
    pub callbacks_to: Option<url::Url>,
}

/// A Management token's lifetime, in test and production alike (AT `fetchToken`).
pub const MANAGEMENT_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);

/// A token's lifetime in the Vipps test environment (AT description).
pub const TEST_TOKEN_TTL: Duration = Duration::from_secs(3600);
/// A token's lifetime in the Vipps production environment (AT description).
pub const PRODUCTION_TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);

impl SimConfig {
    /// The sandbox sales unit [`SANDBOX_MSN`] with the sandbox keys, the documented rate limits,
    /// every rule on.
    pub fn sandbox() -> Self {
        SimConfig {
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            faults: FaultConfig::none(),
            seed: 0,
            rate_limits: RateLimits::documented(),
            token_ttl: TEST_TOKEN_TTL,
            credentials: vec![SimCredentials::sandbox()],
            countries: BTreeMap::new(),
            lenient: Leniency::default(),
            state_file: None,
            require_auth: true,
            sales_units: BTreeMap::new(),
            forward_to: None,
            callbacks_to: None,
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

    /// Creates the sales units `msns` (besides [`SANDBOX_MSN`]) and lets the sandbox keys act for
    /// all of them as a partner's keys do, so every call must name its MSN. For setups with one
    /// set of credentials and several merchants.
    pub fn with_merchants<I, S>(mut self, msns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut all = vec![SANDBOX_MSN.to_string()];
        for m in msns {
            let m = m.into();
            if !all.contains(&m) {
                all.push(m);
            }
        }
        self.credentials
            .retain(|c| c.client_id != SANDBOX_CLIENT_ID);
        if all.len() == 1 {
            self.credentials.insert(0, SimCredentials::sandbox());
        } else {
            self.credentials
                .insert(0, SimCredentials::sandbox_partner(all));
        }
        self
    }

    /// Creates the sales units `msns`, each with its own keys ([`SimCredentials::for_sales_unit`]),
    /// instead of the sandbox sales unit: what `sim serve --msn` and `--sandbox` run.
    pub fn with_sales_units<I, S>(mut self, msns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.credentials.clear();
        for m in msns {
            let m = m.into();
            if !self.credentials.iter().any(|c| c.msns.contains(&m)) {
                self.credentials.push(SimCredentials::for_sales_unit(&m));
            }
        }
        self
    }

    /// Adds partner keys ([`SimCredentials::partner`]) acting for every sales unit that exists
    /// so far: what `sim serve --partner-keys` and `import --all --sandbox` run.
    pub fn with_partner(mut self) -> Self {
        let mut msns: Vec<String> = Vec::new();
        for c in &self.credentials {
            for m in &c.msns {
                if !msns.contains(m) {
                    msns.push(m.clone());
                }
            }
        }
        self.credentials
            .retain(|c| c.client_id != SANDBOX_PARTNER_CLIENT_ID);
        self.credentials.push(SimCredentials::partner(msns));
        self
    }

    /// The name, merchant and capabilities the Management API gives for `msn`.
    pub fn sales_unit_profile(&self, msn: &str) -> SalesUnitProfile {
        let set = self.sales_units.get(msn).cloned().unwrap_or_default();
        let digits: String = msn.chars().filter(char::is_ascii_digit).collect();
        let tail = &digits[digits.len().saturating_sub(8)..];
        SalesUnitProfile {
            name: Some(set.name.unwrap_or_else(|| format!("Sales unit {msn}"))),
            organisation: Some(set.organisation.unwrap_or_else(|| format!("9{tail:0>8}"))),
            payment_allowed: Some(set.payment_allowed.unwrap_or(true)),
            recurring_allowed: Some(set.recurring_allowed.unwrap_or(true)),
            unscheduled_charges: Some(set.unscheduled_charges.unwrap_or(false)),
        }
    }

    /// Switch on some leniency (see [`Leniency`]).
    pub fn with_leniency(mut self, lenient: Leniency) -> Self {
        self.lenient = lenient;
        self
    }

    /// The market of a sales unit (Norway unless `countries` says otherwise).
    pub fn country(&self, msn: &str) -> Country {
        self.countries.get(msn).copied().unwrap_or_default()
    }

    /// Whether a sales unit with this MSN exists (some keys act for it).
    pub fn sales_unit_exists(&self, msn: &str) -> bool {
        self.credentials
            .iter()
            .any(|c| c.msns.iter().any(|m| m == msn))
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
