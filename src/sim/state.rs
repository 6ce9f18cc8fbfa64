//! The simulator's objects, per merchant (MSN), and their persistence. This is a serde snapshot:
//! what `SimHandle::state` returns, what `/_sim/state` serves and what `--state FILE` holds.

use crate::domain::Secret;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SimState {
    /// Keyed by MSN.
    #[serde(default)]
    pub merchants: BTreeMap<String, MerchantState>,
    /// Partner webhooks (registered with a partner's keys and no `Merchant-Serial-Number`),
    /// keyed by the partner's client id: a bucket apart from every sales unit's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub partner_webhooks: BTreeMap<String, Vec<Webhook>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MerchantState {
    #[serde(default)]
    pub webhooks: Vec<Webhook>,
    /// Keyed by the merchant-chosen id.
    #[serde(default)]
    pub redirect_qrs: BTreeMap<String, RedirectQr>,
    /// Keyed by merchantQrId.
    #[serde(default)]
    pub callback_qrs: BTreeMap<String, CallbackQr>,
    /// Keyed by agreementId.
    #[serde(default)]
    pub agreements: BTreeMap<String, Agreement>,
    /// Recurring answers by Idempotency-Key: a retry with the same key and request gets the
    /// first answer again, for as long as the state lives (Vipps documents no expiry).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub idempotency: BTreeMap<String, IdempotencyRecord>,
    /// Recurring charges, keyed by chargeId (unique per sales unit).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub charges: BTreeMap<String, Charge>,
    /// Agreements whose customer's card fails when charged, with the `failureReason` a failed
    /// charge gets (set through `/_sim/charges/fail`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub failing_cards: BTreeMap<String, String>,
    /// Order Management: images, what was added to orders, v3 categories.
    #[serde(default, skip_serializing_if = "OrderManagement::is_empty")]
    pub order_management: OrderManagement,
    /// ePayment payments and their answers by Idempotency-Key (`sim::epayment`).
    #[serde(default, skip_serializing_if = "Payments::is_empty")]
    pub epayment: Payments,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChargeStatus {
    Pending,
    Due,
    Processing,
    Charged,
    Reserved,
    PartiallyCaptured,
    Failed,
    Cancelled,
    PartiallyRefunded,
    Refunded,
}

impl ChargeStatus {
    pub const ALL: [ChargeStatus; 10] = [
        ChargeStatus::Pending,
        ChargeStatus::Due,
        ChargeStatus::Processing,
        ChargeStatus::Charged,
        ChargeStatus::Reserved,
        ChargeStatus::PartiallyCaptured,
        ChargeStatus::Failed,
        ChargeStatus::Cancelled,
        ChargeStatus::PartiallyRefunded,
        ChargeStatus::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChargeStatus::Pending => "PENDING",
            ChargeStatus::Due => "DUE",
            ChargeStatus::Processing => "PROCESSING",
            ChargeStatus::Charged => "CHARGED",
            ChargeStatus::Reserved => "RESERVED",
            ChargeStatus::PartiallyCaptured => "PARTIALLY_CAPTURED",
            ChargeStatus::Failed => "FAILED",
            ChargeStatus::Cancelled => "CANCELLED",
            ChargeStatus::PartiallyRefunded => "PARTIALLY_REFUNDED",
            ChargeStatus::Refunded => "REFUNDED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        ChargeStatus::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// One recurring charge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Charge {
    pub id: String,
    pub agreement_id: String,
    /// Minor units.
    pub amount: i64,
    pub currency: String,
    pub description: String,
    /// `INITIAL`, `RECURRING` or `UNSCHEDULED`.
    pub kind: String,
    /// `DIRECT_CAPTURE` or `RESERVE_CAPTURE`.
    pub transaction_type: String,
    /// The day it is processed (00:00 UTC).
    pub due: chrono::NaiveDate,
    pub retry_days: i64,
    /// `MULTIPLE_ATTEMPTS` or `SINGLE_ATTEMPT`.
    pub processing_mode: String,
    #[serde(default)]
    pub external_id: Option<String>,
    pub status: ChargeStatus,
    /// Set when the charge becomes DUE.
    #[serde(default)]
    pub transaction_id: Option<String>,
    #[serde(default)]
    pub failure_reason: Option<String>,
    /// Failed processing attempts so far (one a day from the due date).
    #[serde(default)]
    pub attempts: i64,
    #[serde(default)]
    pub captured: i64,
    #[serde(default)]
    pub refunded: i64,
    #[serde(default)]
    pub cancelled: i64,
    /// When it was first charged or captured (refunds are possible for 365 days after).
    #[serde(default)]
    pub captured_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub history: Vec<ChargeEvent>,
    pub created: DateTime<Utc>,
}

/// One operation on a charge (`ChargeEvent`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChargeEvent {
    pub occurred: DateTime<Utc>,
    /// CREATE, RESERVE, CAPTURE, REFUND, CANCEL or FAIL.
    pub event: String,
    pub amount: i64,
    pub idempotency_key: String,
    pub success: bool,
}

/// What a sales unit added through the Order Management API.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrderManagement {
    /// Keyed by the merchant-chosen imageId.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub images: BTreeMap<String, OrderImage>,
    /// Keyed by paymentType (`ECOM`, `RECURRING`), then orderId.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub orders: BTreeMap<String, BTreeMap<String, OrderInfo>>,
    /// v3 categories, keyed by their server-assigned id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub categories: BTreeMap<uuid::Uuid, OrderCategory>,
}

impl OrderManagement {
    pub fn is_empty(&self) -> bool {
        self.images.is_empty() && self.orders.is_empty() && self.categories.is_empty()
    }
}

/// An uploaded image: what was checked of it, not the image itself (the state is served and
/// persisted; 2 MB per image would swamp it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderImage {
    /// SHA-256 of the decoded bytes, hex: a second upload under the same id is compared by it.
    pub sha256: String,
    /// `PNG` or `JPEG`.
    pub format: String,
    pub width: u32,
    pub height: u32,
    pub bytes: usize,
    pub created: DateTime<Utc>,
}

/// What was added to one order (paymentType + orderId), as the API answers it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrderInfo {
    /// The v2 category (`Order`): the latest PUT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<serde_json::Value>,
    /// The order lines and bottom line (`Receipt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<serde_json::Value>,
}

/// A v3 category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderCategory {
    pub order_id: String,
    pub payment_type: String,
    /// `type`: one of the `CategoryEnum` values.
    pub kind: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    pub created: DateTime<Utc>,
}

/// The first answer to a recurring write with an Idempotency-Key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// SHA-256 of method, path and body of the request that used the key first.
    pub fingerprint: String,
    pub status: u16,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub body: String,
    pub created: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: uuid::Uuid,
    pub url: String,
    pub events: Vec<String>,
    /// Kept so tests can verify what vippsctl stored; never served by the Vipps API paths after
    /// registration.
    #[serde(with = "secret_string")]
    pub secret: Secret,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedirectQr {
    pub id: String,
    pub redirect_url: String,
    /// Seconds, as created; `None` for a QR that never expires.
    #[serde(default)]
    pub ttl: Option<i64>,
    pub created: DateTime<Utc>,
    /// What makes this QR's printed content unique: drawn anew at every create, so a code
    /// printed before a DELETE never works again, even when the id is created again (QRG).
    /// `None` (seeded state): the content is derived from the id alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

impl RedirectQr {
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        // A ttl too large for the calendar never expires (seeded state may hold anything).
        self.ttl
            .and_then(chrono::Duration::try_seconds)
            .and_then(|d| self.created.checked_add_signed(d))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallbackQr {
    pub merchant_qr_id: String,
    pub location_description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AgreementStatus {
    Pending,
    Active,
    Stopped,
    Expired,
}

impl AgreementStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AgreementStatus::Pending => "PENDING",
            AgreementStatus::Active => "ACTIVE",
            AgreementStatus::Stopped => "STOPPED",
            AgreementStatus::Expired => "EXPIRED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "PENDING" => Some(AgreementStatus::Pending),
            "ACTIVE" => Some(AgreementStatus::Active),
            "STOPPED" => Some(AgreementStatus::Stopped),
            "EXPIRED" => Some(AgreementStatus::Expired),
            _ => None,
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, AgreementStatus::Stopped | AgreementStatus::Expired)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PricingType {
    Legacy,
    Variable,
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pricing {
    #[serde(rename = "type")]
    pub kind: PricingType,
    pub currency: String,
    /// LEGACY only, in minor units.
    #[serde(default)]
    pub amount: Option<i64>,
    /// VARIABLE only.
    #[serde(default)]
    pub suggested_max_amount: Option<i64>,
    /// VARIABLE only: what the customer chose when accepting.
    #[serde(default)]
    pub max_amount: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interval {
    /// YEAR, MONTH, WEEK or DAY.
    pub unit: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    pub id: String,
    pub uuid: uuid::Uuid,
    pub status: AgreementStatus,
    pub product_name: String,
    #[serde(default)]
    pub product_description: Option<String>,
    pub pricing: Pricing,
    /// `None`: no fixed interval (pay-per-use / FLEXIBLE).
    #[serde(default)]
    pub interval: Option<Interval>,
    #[serde(default)]
    pub merchant_agreement_url: Option<String>,
    pub merchant_redirect_url: String,
    #[serde(default)]
    pub external_id: Option<String>,
    /// The draft's campaign object as sent, echoed back (LEGACY only).
    #[serde(default)]
    pub campaign: Option<serde_json::Value>,
    #[serde(default)]
    pub phone_number: Option<Msisdn>,
    pub created: DateTime<Utc>,
    #[serde(default)]
    pub start: Option<DateTime<Utc>>,
    #[serde(default)]
    pub stop: Option<DateTime<Utc>>,
}

/// One sales unit's ePayment payments.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Payments {
    /// Keyed by the merchant's reference (unique per MSN).
    #[serde(default)]
    pub payments: BTreeMap<String, Payment>,
    /// The first answer per Idempotency-Key, as for recurring (a key belongs to one request).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub idempotency: BTreeMap<String, IdempotencyRecord>,
}

impl Payments {
    pub fn is_empty(&self) -> bool {
        self.payments.is_empty() && self.idempotency.is_empty()
    }
}

/// ePayment `State`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentState {
    Created,
    Aborted,
    Expired,
    Authorized,
    Terminated,
}

impl PaymentState {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentState::Created => "CREATED",
            PaymentState::Aborted => "ABORTED",
            PaymentState::Expired => "EXPIRED",
            PaymentState::Authorized => "AUTHORIZED",
            PaymentState::Terminated => "TERMINATED",
        }
    }
}

/// One entry of a payment's event log (`PaymentEvent`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentEventRecord {
    /// `PaymentEventName`: CREATED, AUTHORIZED, CAPTURED, ...
    pub name: String,
    pub psp_reference: String,
    /// In the payment's currency, minor units.
    pub amount: i64,
    pub timestamp: DateTime<Utc>,
    #[serde(default)]
    pub idempotency_key: Option<String>,
    pub success: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payment {
    pub reference: String,
    /// The creation's pspReference.
    pub psp_reference: String,
    pub state: PaymentState,
    pub currency: String,
    /// What the merchant asked for, in minor units.
    pub amount: i64,
    /// WALLET or CARD.
    pub payment_method: String,
    /// PUSH_MESSAGE, NATIVE_REDIRECT, WEB_REDIRECT or QR.
    pub user_flow: String,
    /// The token of the landing page, deeplink or QR link (ForceApprove's `token`).
    pub token: String,
    #[serde(default)]
    pub redirect_url: Option<String>,
    #[serde(default)]
    pub phone_number: Option<Msisdn>,
    pub created: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    #[serde(default)]
    pub authorized: i64,
    #[serde(default)]
    pub captured: i64,
    #[serde(default)]
    pub refunded: i64,
    #[serde(default)]
    pub cancelled: i64,
    #[serde(default)]
    pub metadata: Option<serde_json::Value>,
    /// `profile.scope` as asked for.
    #[serde(default)]
    pub scope: Option<String>,
    /// Set at authorization when a scope was asked for.
    #[serde(default)]
    pub sub: Option<String>,
    /// The request's `shipping` object (Express checkout), as sent.
    #[serde(default)]
    pub shipping: Option<serde_json::Value>,
    /// What the customer chose (Express): `ShippingDetails` and `UserDetails`.
    #[serde(default)]
    pub shipping_details: Option<serde_json::Value>,
    #[serde(default)]
    pub user_details: Option<serde_json::Value>,
    #[serde(default)]
    pub events: Vec<PaymentEventRecord>,
}

/// A customer's phone number. Debug shows only its last two digits.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Msisdn(pub String);

impl std::fmt::Debug for Msisdn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::mask::phone(&self.0))
    }
}

/// The one masking rule (`crate::mask`), under the name the call log uses.
pub use crate::mask::phone as mask_phone;

impl SimState {
    /// Find an agreement by id across merchants (ids are globally unique); for the consent page.
    pub fn find_agreement_mut(&mut self, id: &str) -> Option<(&str, &mut Agreement)> {
        self.merchants
            .iter_mut()
            .find_map(|(msn, m)| m.agreements.get_mut(id).map(|a| (msn.as_str(), a)))
    }

    pub fn load(path: &Path) -> Result<Option<SimState>, StateFileError> {
        match std::fs::read(path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|source| StateFileError::Parse {
                        path: path.display().to_string(),
                        source,
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StateFileError::Io {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// Atomically (see `fsutil`), so a crash never leaves a half-written state file.
    pub fn save(&self, path: &Path) -> Result<(), StateFileError> {
        self.save_with(path, &super::delivery::Saved::default())
    }

    /// [`SimState::save`] with what the simulator keeps of itself (deliveries, the clock) under
    /// `simulator`, which [`SimState::load`] ignores and [`load_saved`] reads.
    pub fn save_with(
        &self,
        path: &Path,
        saved: &super::delivery::Saved,
    ) -> Result<(), StateFileError> {
        let io = |source| StateFileError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut doc = serde_json::to_value(self).map_err(|e| io(std::io::Error::other(e)))?;
        if let (false, Some(obj)) = (saved.is_empty(), doc.as_object_mut()) {
            let v = serde_json::to_value(saved).map_err(|e| io(std::io::Error::other(e)))?;
            obj.insert(SIMULATOR_KEY.into(), v);
        }
        let json = serde_json::to_vec_pretty(&doc).map_err(|e| io(std::io::Error::other(e)))?;
        crate::fsutil::write_atomic(path, &json, crate::fsutil::PRIVATE).map_err(io)
    }
}

/// The state file's key for what the simulator keeps of itself.
const SIMULATOR_KEY: &str = "simulator";

/// What a state file keeps of the simulator itself: deliveries and the clock (empty when the
/// file has none, or there is no file).
pub fn load_saved(path: &Path) -> Result<super::delivery::Saved, StateFileError> {
    #[derive(Deserialize)]
    struct Only {
        #[serde(default)]
        simulator: Option<super::delivery::Saved>,
    }
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice::<Only>(&bytes)
            .map(|o| o.simulator.unwrap_or_default())
            .map_err(|source| StateFileError::Parse {
                path: path.display().to_string(),
                source,
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Default::default()),
        Err(source) => Err(StateFileError::Io {
            path: path.display().to_string(),
            source,
        }),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    #[error("could not read or write the simulator state file {path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the simulator state file {path} is not valid simulator state")]
    Parse {
        path: String,
        #[source]
        source: serde_json::Error,
    },
}

mod secret_string {
    use crate::domain::Secret;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(s: &Secret, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(s.expose())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}
