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
        let io = |source| StateFileError::Io {
            path: path.display().to_string(),
            source,
        };
        let json = serde_json::to_vec_pretty(self).map_err(|e| io(std::io::Error::other(e)))?;
        crate::fsutil::write_atomic(path, &json, crate::fsutil::PRIVATE).map_err(io)
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
