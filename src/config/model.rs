//! The desired state as the user writes it in YAML. The doc comments here are the single source of
//! the JSON Schema descriptions (`vippsctl schema`) and of `docs/config.md`.

use crate::domain::Environment;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The MSN pattern of the ePayment spec (API-FACTS section 3).
pub const MSN_PATTERN: &str = "^[0-9]{4,10}$";
/// The QR API's `MerchantRedirectQrRequest.id` pattern.
pub const QR_ID_PATTERN: &str = r"^[-_+%æøåÆØÅ\w\s]*$";
/// The QR API's `redirectUrl` pattern.
pub const REDIRECT_URL_PATTERN: &str = r"^https:\/\/[\w\.]+([\w#!:.?+=&%@\-\/]+)?$";
/// An MSISDN: country code and number, digits only.
pub const PHONE_PATTERN: &str = "^[0-9]{10,15}$";
/// A portable environment variable name.
pub const ENV_NAME_PATTERN: &str = "^[A-Za-z_][A-Za-z0-9_]*$";
/// What every URL Vipps calls or opens starts with (the rules check the rest of it).
pub const HTTPS_URL_PATTERN: &str = "^https://";

/// A vippsctl desired-state file: the merchants (sales units) and the objects each should have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "vippsctl configuration")]
pub struct Config {
    /// The format version of this file. Always `1`.
    #[schemars(range(min = 1, max = 1))]
    pub version: u32,
    /// The Vipps MobilePay environment these merchants live in: `test` or `production`.
    /// The `--env` option overrides it. Default: `test`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Environment>,
    /// The merchants (sales units) managed by this configuration. One merchant may be split
    /// across several files of a folder; its lists are merged.
    #[serde(default)]
    pub merchants: Vec<Merchant>,
    /// What the partner declares once for all its merchants: partner webhooks, registered with
    /// the partner's keys and no `Merchant-Serial-Number`, which fire for every sales unit of
    /// the partner (future ones too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner: Option<Partner>,
}

/// The address prefix and plan unit of partner-level objects (`partner.webhooks[URL]`). Not an
/// MSN (those are digits), so it can never name a merchant.
pub const PARTNER: &str = "partner";

/// The partner level: objects registered with the partner's own keys, for all its merchants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Partner {
    /// Names of the environment variables that hold the partner's API keys (client id, client
    /// secret and subscription key for `/accesstoken/get`). Required when partner webhooks are
    /// declared: they are registered with these keys, without a `Merchant-Serial-Number`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<CredentialVars>,
    /// Partner webhooks (Webhooks API v1 without `Merchant-Serial-Number`), keyed by URL and
    /// event set like a merchant's. They fire for every merchant of the partner; for
    /// `user.checked-in.v1`, a sales unit's own registration wins over the partner's.
    #[serde(default)]
    pub webhooks: Vec<Webhook>,
    /// `[webhooks]` deletes live partner webhooks that are not declared here (without it they
    /// are shown as unmanaged and left alone). The partner level has no other kinds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("uniqueItems" = true))]
    pub prune: Vec<Kind>,
    /// Where the partner level was first declared.
    #[serde(skip)]
    #[schemars(skip)]
    pub origin: Origin,
}

impl Partner {
    /// The partner level as the pipeline handles it: one more plan unit, named [`PARTNER`],
    /// whose webhooks are diffed, applied and recorded exactly as a merchant's are.
    pub fn as_unit(&self) -> Merchant {
        Merchant {
            msn: PARTNER.to_string(),
            name: None,
            credentials: self.credentials.clone(),
            prune: self.prune.clone(),
            webhooks: self.webhooks.clone(),
            redirect_qrs: Vec::new(),
            callback_qrs: Vec::new(),
            agreements: Vec::new(),
            agreement_policies: Vec::new(),
            origin: self.origin.clone(),
        }
    }
}

impl Config {
    /// Whether the partner level declares any webhooks (without copying them).
    pub fn declares_partner_webhooks(&self) -> bool {
        self.partner
            .as_ref()
            .is_some_and(|p| !p.webhooks.is_empty())
    }

    /// The partner level as a plan unit, when it declares anything.
    pub fn partner_unit(&self) -> Option<Merchant> {
        self.partner
            .as_ref()
            .filter(|p| !p.webhooks.is_empty())
            .map(Partner::as_unit)
    }

    /// The merchants and, when declared, the partner level: every unit whose webhooks the
    /// configuration rules check.
    pub fn units(&self) -> Vec<std::borrow::Cow<'_, Merchant>> {
        let mut v: Vec<std::borrow::Cow<'_, Merchant>> = self
            .merchants
            .iter()
            .map(std::borrow::Cow::Borrowed)
            .collect();
        // A narrowed run configuration holds the partner unit among its merchants already.
        if !self.merchants.iter().any(Merchant::is_partner) {
            v.extend(self.partner_unit().map(std::borrow::Cow::Owned));
        }
        v
    }

    /// Whether the partner declares a webhook on `event` (it fires for every merchant).
    pub fn partner_declares(&self, event: &str) -> bool {
        self.partner.as_ref().is_some_and(|p| {
            p.webhooks
                .iter()
                .any(|w| w.events.iter().any(|e| e == event))
        })
    }
}

/// One sales unit, identified by its Merchant Serial Number, and the objects it should have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Merchant {
    /// Merchant Serial Number: the sales unit's number, 4-10 digits. Quote it (`"123456"`),
    /// so YAML keeps it a string.
    #[schemars(pattern(MSN_PATTERN))]
    pub msn: String,
    /// A label for humans (shown in plans); not sent to Vipps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Names of the environment variables that hold this merchant's API keys. Never the keys
    /// themselves. Omit it to use the `VIPPS_*` defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<CredentialVars>,
    /// Kinds of live objects to delete when they are not declared here. Agreements are never
    /// pruned (stop one with `status: STOPPED`).
    #[serde(default)]
    #[schemars(extend("uniqueItems" = true))]
    pub prune: Vec<Kind>,
    /// Webhook registrations (Webhooks API v1), keyed by URL and event set.
    #[serde(default)]
    pub webhooks: Vec<Webhook>,
    /// Merchant-redirect QR codes (QR API v1): printed codes that open a URL, keyed by `id`.
    #[serde(default)]
    pub redirect_qrs: Vec<RedirectQr>,
    /// Merchant-callback QR codes (QR API v1): one per till or location; scanning one sends a
    /// `user.checked-in.v1` webhook. Keyed by `merchantQrId`.
    #[serde(default)]
    pub callback_qrs: Vec<CallbackQr>,
    /// Recurring agreements (Recurring API v3), keyed by `externalId`.
    #[serde(default)]
    pub agreements: Vec<Agreement>,
    /// Rules that change many live agreements at once (e.g. a price change for every
    /// subscriber of a product) without listing each one. Agreements declared under
    /// `agreements` are never touched by a policy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agreement_policies: Vec<AgreementPolicy>,
    /// Where this merchant was first declared.
    #[serde(skip)]
    #[schemars(skip)]
    pub origin: Origin,
}

/// Names of environment variables holding a merchant's API keys (never the values).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialVars {
    /// Environment variable holding the `client_id`.
    #[schemars(pattern(ENV_NAME_PATTERN))]
    pub client_id: String,
    /// Environment variable holding the `client_secret`.
    #[schemars(pattern(ENV_NAME_PATTERN))]
    pub client_secret: String,
    /// Environment variable holding the `Ocp-Apim-Subscription-Key`.
    #[schemars(pattern(ENV_NAME_PATTERN))]
    pub subscription_key: String,
}

/// A kind of object that `prune` can delete.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    /// Webhook registrations.
    Webhooks,
    /// Merchant-redirect QR codes.
    RedirectQrs,
    /// Merchant-callback QR codes.
    CallbackQrs,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Webhooks => "webhooks",
            Kind::RedirectQrs => "redirectQrs",
            Kind::CallbackQrs => "callbackQrs",
        }
    }
}

/// A webhook registration: Vipps POSTs the listed events to `url`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Webhook {
    /// The HTTPS endpoint that receives the events (world-reachable, no redirects, port
    /// 443, 80 or 8080).
    #[schemars(length(min = 1), pattern(HTTPS_URL_PATTERN))]
    pub url: String,
    /// Event names, e.g. `epayments.payment.captured.v1` or `user.checked-in.v1`. Editors
    /// suggest the documented names; others are allowed (Vipps adds events) with a warning.
    #[schemars(length(min = 1), transform = suggest_events)]
    pub events: Vec<String>,
    /// Where to store the one-time signing secret that Vipps returns when the webhook is
    /// registered (it can never be read again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretSink>,
    /// Where this webhook was declared.
    #[serde(skip)]
    #[schemars(skip)]
    pub origin: Origin,
}

/// Where a new webhook secret goes: a line `KEY=secret` in a file, or a command that reads the
/// secret on its standard input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged, deny_unknown_fields)]
pub enum SecretSink {
    /// Write `key=secret` into `file` (created with mode 0600; other lines are kept).
    File {
        /// The file to write, relative to the configuration file that declares it.
        file: PathBuf,
        /// The variable name to set in that file.
        #[schemars(pattern(ENV_NAME_PATTERN))]
        key: String,
    },
    /// Run this program (argv, no shell) with the secret on its standard input.
    Command {
        /// The program and its arguments.
        #[schemars(length(min = 1))]
        command: Vec<String>,
    },
}

/// A merchant-redirect QR code: a printed code that opens `redirectUrl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedirectQr {
    /// The merchant-chosen id, 1-128 letters, digits, spaces, `-_+%` or `æøå`. It can never
    /// change: a new id is a new QR code (the old print stops working when it is deleted).
    #[schemars(length(min = 1, max = 128), pattern(QR_ID_PATTERN))]
    pub id: String,
    /// The HTTPS URL the code opens. The only field that can change in place.
    #[schemars(length(min = 1), pattern(REDIRECT_URL_PATTERN))]
    pub redirect_url: String,
    /// Seconds until the code expires and is deleted (300-2147483647). Omit it for a code that
    /// never expires. Changing it replaces the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 300, max = 2147483647))]
    pub ttl: Option<u64>,
    /// Where this QR code was declared.
    #[serde(skip)]
    #[schemars(skip)]
    pub origin: Origin,
}

/// A merchant-callback QR code ("callback settings"): scanning it sends a `user.checked-in.v1`
/// webhook with a customer token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CallbackQr {
    /// The merchant-chosen id of the till or location. It can never change.
    #[schemars(length(min = 1))]
    pub merchant_qr_id: String,
    /// The text shown in the app after scanning, at most 36 characters. Can change in place.
    #[schemars(length(min = 1, max = 36))]
    pub location_description: String,
    /// Where this QR code was declared.
    #[serde(skip)]
    #[schemars(skip)]
    pub origin: Origin,
}

/// A recurring agreement (Recurring API v3). vippsctl drafts it; the customer must accept it in
/// the app before it becomes active.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Agreement {
    /// The merchant's key for this agreement, 1-64 characters, unique within the merchant.
    #[schemars(length(min = 1, max = 64))]
    pub external_id: String,
    /// The product name shown to the customer, at most 45 characters.
    #[schemars(length(min = 1, max = 45))]
    pub product_name: String,
    /// A longer product description, at most 100 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 100))]
    pub product_description: Option<String>,
    /// How the customer is charged. The `type` and `currency` can never change.
    pub pricing: Pricing,
    /// How often the merchant may charge. Omit it for pay-per-use agreements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Interval>,
    /// The HTTPS URL the customer returns to after accepting or rejecting (at most 2048
    /// characters). Cannot change after the draft.
    #[schemars(length(min = 1, max = 2048), pattern(HTTPS_URL_PATTERN))]
    pub merchant_redirect_url: String,
    /// The HTTPS page where the customer manages this agreement (at most 1024 characters). Vipps
    /// requires it for Norwegian sales units; `validate` warns when an ACTIVE agreement has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024), pattern(HTTPS_URL_PATTERN))]
    pub merchant_agreement_url: Option<String>,
    /// The customer's phone number (MSISDN, 10-15 digits with country code) to prefill the
    /// landing page. Personal data: masked in every output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(PHONE_PATTERN))]
    pub phone_number: Option<String>,
    /// `ACTIVE` (default): the agreement should exist. `STOPPED`: stop it (irreversible).
    #[serde(default)]
    pub status: DeclaredStatus,
    /// Refuse to stop this agreement, whatever the config says.
    #[serde(default)]
    pub protect: bool,
    /// Where this agreement was declared.
    #[serde(skip)]
    #[schemars(skip)]
    pub origin: Origin,
}

/// A rule over live agreements: the agreements that `select` matches get the values in `set`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgreementPolicy {
    /// The policy's name, unique within the merchant; plans show it (`policy gold-2027`).
    #[schemars(length(min = 1, max = 64))]
    pub name: String,
    /// Which live agreements the policy applies to. Every condition given must hold.
    pub select: PolicySelect,
    /// The values every selected agreement gets. Only what the Recurring API can change in
    /// place (PATCH): price, product name and description, merchant agreement URL.
    pub set: PolicySet,
    /// Where this policy was declared.
    #[serde(skip)]
    #[schemars(skip)]
    pub origin: Origin,
}

/// The conditions a live agreement must all meet to be selected by a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicySelect {
    /// The agreement's current product name, exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub product_name: Option<String>,
    /// The start of the agreement's `externalId` (agreements without one never match).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub external_id_prefix: Option<String>,
    /// The agreement statuses to select: ACTIVE and/or PENDING. Default: ACTIVE.
    #[serde(default = "default_policy_status")]
    #[schemars(length(min = 1))]
    pub status: Vec<PolicyStatus>,
    /// The price model: LEGACY, VARIABLE or FLEXIBLE. Required when `set` changes an amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pricing_type: Option<PricingType>,
}

fn default_policy_status() -> Vec<PolicyStatus> {
    vec![PolicyStatus::Active]
}

/// A status of a live agreement that a policy may change (ended agreements cannot change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PolicyStatus {
    /// Accepted by the customer.
    Active,
    /// Drafted, waiting for the customer's consent.
    Pending,
}

/// The price model of an agreement, as a policy selects it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PricingType {
    /// A fixed price per interval.
    Legacy,
    /// A customer-chosen maximum with a suggested amount.
    Variable,
    /// No amount.
    Flexible,
}

impl PricingType {
    pub fn as_str(self) -> &'static str {
        match self {
            PricingType::Legacy => "LEGACY",
            PricingType::Variable => "VARIABLE",
            PricingType::Flexible => "FLEXIBLE",
        }
    }
}

/// What a policy sets on each agreement it selects. At least one field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicySet {
    /// The new price in minor units (LEGACY agreements; needs `select.pricingType: LEGACY`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub amount: Option<i64>,
    /// The new suggested maximum in minor units (VARIABLE agreements; needs
    /// `select.pricingType: VARIABLE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub suggested_max_amount: Option<i64>,
    /// The new product name, at most 45 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 45))]
    pub product_name: Option<String>,
    /// The new product description, at most 100 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 100))]
    pub product_description: Option<String>,
    /// The new HTTPS page where customers manage their agreement (at most 1024 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024), pattern(HTTPS_URL_PATTERN))]
    pub merchant_agreement_url: Option<String>,
}

impl PolicySet {
    pub fn is_empty(&self) -> bool {
        self == &PolicySet::default()
    }
}

/// The price model of an agreement, selected by `type`. Amounts are in minor units (øre, cent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE", deny_unknown_fields)]
#[schemars(transform = describe_pricing_type)]
pub enum Pricing {
    /// A fixed price per interval.
    Legacy {
        /// The price in minor units (29900 = 299.00 NOK), at least 1.
        #[schemars(range(min = 1))]
        amount: i64,
        /// The currency: NOK, DKK or EUR.
        currency: Currency,
    },
    /// The customer chooses a maximum amount per interval; the merchant suggests one.
    Variable {
        /// The suggested maximum in minor units, at least 1 and at most NOK 20 000, DKK 300 000
        /// or EUR 2 000.
        #[serde(rename = "suggestedMaxAmount")]
        #[schemars(range(min = 1))]
        suggested_max_amount: i64,
        /// The currency: NOK, DKK or EUR.
        currency: Currency,
    },
    /// No amount and no ceiling.
    Flexible {
        /// The currency: NOK, DKK or EUR.
        currency: Currency,
    },
}

/// The event names as suggestions: an editor offers the documented names, and any other
/// string is still valid (the rules warn about an unknown one).
fn suggest_events(schema: &mut schemars::Schema) {
    let known: Vec<serde_json::Value> = super::rules::KNOWN_EVENTS
        .iter()
        .map(|e| (*e).into())
        .collect();
    schema.insert(
        "items".into(),
        serde_json::json!({
            "anyOf": [
                {
                    "type": "string",
                    "enum": known,
                    "description": "An event the Webhooks API documents."
                },
                {
                    "type": "string",
                    "description": "Another event name: Vipps adds events, so any name is accepted (validate warns about one it does not know)."
                }
            ]
        }),
    );
}

/// schemars gives the `type` tag of each variant no description; editors show one. The
/// VARIABLE variant also gets the per-currency ceiling of `suggestedMaxAmount`, which a schema
/// can say with `if`/`then` (the rules check it too, with a message that names the limit).
fn describe_pricing_type(schema: &mut schemars::Schema) {
    let Some(variants) = schema.get_mut("oneOf").and_then(|v| v.as_array_mut()) else {
        return;
    };
    for v in variants.iter_mut() {
        let variable =
            v.pointer("/properties/type/const").and_then(|t| t.as_str()) == Some("VARIABLE");
        if let (true, Some(obj)) = (variable, v.as_object_mut()) {
            let caps: Vec<serde_json::Value> = [Currency::NOK, Currency::DKK, Currency::EUR]
                .into_iter()
                .map(|c| {
                    serde_json::json!({
                        "if": { "properties": { "currency": {
                            "const": c.as_str(),
                            "description": format!("The currency {}.", c.as_str())
                        } } },
                        "then": { "properties": { "suggestedMaxAmount": {
                            "type": "integer",
                            "maximum": c.variable_max(),
                            "description": format!(
                                "In {}, at most {} ({} {}).",
                                c.as_str(),
                                c.variable_max(),
                                c.variable_max() / 100,
                                c.as_str()
                            )
                        } } }
                    })
                })
                .collect();
            obj.insert("allOf".into(), caps.into());
        }
    }
    for v in variants {
        if let Some(t) = v
            .pointer_mut("/properties/type")
            .and_then(|t| t.as_object_mut())
        {
            t.insert(
                "description".into(),
                "The price model: LEGACY (fixed price), VARIABLE (customer-chosen maximum) or \
                 FLEXIBLE (no amount). It can never change."
                    .into(),
            );
        }
    }
}

impl Pricing {
    pub fn currency(&self) -> Currency {
        match self {
            Pricing::Legacy { currency, .. }
            | Pricing::Variable { currency, .. }
            | Pricing::Flexible { currency } => *currency,
        }
    }
}

/// A currency the Recurring API accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum Currency {
    /// Norwegian kroner.
    NOK,
    /// Danish kroner.
    DKK,
    /// Euro.
    EUR,
}

impl Currency {
    pub fn as_str(self) -> &'static str {
        match self {
            Currency::NOK => "NOK",
            Currency::DKK => "DKK",
            Currency::EUR => "EUR",
        }
    }

    /// The documented ceiling for a VARIABLE agreement's `suggestedMaxAmount`, in minor units.
    pub fn variable_max(self) -> i64 {
        match self {
            Currency::NOK => 2_000_000,
            Currency::DKK => 30_000_000,
            Currency::EUR => 200_000,
        }
    }
}

/// How often an agreement may be charged: every `count` `unit`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Interval {
    /// YEAR, MONTH, WEEK or DAY.
    pub unit: IntervalUnit,
    /// How many units between charges, 1-31.
    #[schemars(range(min = 1, max = 31))]
    pub count: u32,
}

/// The unit of an agreement interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IntervalUnit {
    /// Yearly.
    Year,
    /// Monthly.
    Month,
    /// Weekly.
    Week,
    /// Daily.
    Day,
}

/// What the config asks of an agreement's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeclaredStatus {
    /// The agreement should exist (drafted, then accepted by the customer).
    #[default]
    Active,
    /// The agreement should be stopped. Irreversible.
    Stopped,
}

/// Where an object was declared: file, 1-based line and column. Filled in by `load`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Origin {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl Origin {
    pub fn new(file: impl Into<PathBuf>, line: usize, column: usize) -> Self {
        Origin {
            file: file.into(),
            line,
            column,
        }
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

impl Merchant {
    /// Whether this is the partner level ([`PARTNER`]), not a sales unit.
    pub fn is_partner(&self) -> bool {
        self.msn == PARTNER
    }

    /// How many declared objects this merchant has (webhooks, QR codes, agreements).
    pub fn object_count(&self) -> usize {
        self.webhooks.len()
            + self.redirect_qrs.len()
            + self.callback_qrs.len()
            + self.agreements.len()
            + self.agreement_policies.len()
    }
}

/// By hand, so that the phone number (personal data) is masked in logs and errors too.
impl std::fmt::Debug for Agreement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agreement")
            .field("external_id", &self.external_id)
            .field("product_name", &self.product_name)
            .field("product_description", &self.product_description)
            .field("pricing", &self.pricing)
            .field("interval", &self.interval)
            .field("merchant_redirect_url", &self.merchant_redirect_url)
            .field("merchant_agreement_url", &self.merchant_agreement_url)
            .field(
                "phone_number",
                &self.phone_number.as_deref().map(crate::mask::phone),
            )
            .field("status", &self.status)
            .field("protect", &self.protect)
            .field("origin", &self.origin)
            .finish()
    }
}

impl From<IntervalUnit> for crate::domain::model::IntervalUnit {
    fn from(u: IntervalUnit) -> Self {
        match u {
            IntervalUnit::Year => Self::Year,
            IntervalUnit::Month => Self::Month,
            IntervalUnit::Week => Self::Week,
            IntervalUnit::Day => Self::Day,
        }
    }
}

impl From<&Interval> for crate::domain::model::Interval {
    fn from(i: &Interval) -> Self {
        crate::domain::model::Interval {
            unit: i.unit.into(),
            count: i.count,
        }
    }
}

impl From<&Pricing> for crate::domain::model::Pricing {
    fn from(p: &Pricing) -> Self {
        use crate::domain::model::Pricing as P;
        match p {
            Pricing::Legacy { amount, currency } => P::Legacy {
                amount: *amount,
                currency: currency.as_str().to_string(),
            },
            Pricing::Variable {
                suggested_max_amount,
                currency,
            } => P::Variable {
                suggested_max_amount: *suggested_max_amount,
                currency: currency.as_str().to_string(),
                max_amount: None,
            },
            Pricing::Flexible { currency } => P::Flexible {
                currency: currency.as_str().to_string(),
            },
        }
    }
}

impl From<&Agreement> for crate::domain::model::DraftAgreement {
    fn from(a: &Agreement) -> Self {
        crate::domain::model::DraftAgreement {
            external_id: a.external_id.clone(),
            product_name: a.product_name.clone(),
            product_description: a.product_description.clone(),
            pricing: (&a.pricing).into(),
            interval: a.interval.as_ref().map(Into::into),
            merchant_redirect_url: a.merchant_redirect_url.clone(),
            merchant_agreement_url: a.merchant_agreement_url.clone(),
            phone_number: a.phone_number.clone(),
        }
    }
}
