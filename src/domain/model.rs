//! Domain types for live objects, as the adapters over the generated clients return them.
//! These are vippsctl's own types: the rest of the program never sees a generated type.

use serde::{Deserialize, Serialize};

/// A webhook registration (Webhooks API v1). The id is server-assigned; the secret is returned
/// only by register, never by list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveWebhook {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
}

/// A merchant-redirect QR (QR API v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveRedirectQr {
    pub id: String,
    pub redirect_url: String,
    /// The image (or target) URL the API returned.
    pub url: Option<String>,
    /// Seconds left; `None` or -1 means no expiry.
    pub expires_in: Option<i64>,
}

/// A merchant-callback QR (QR API v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveCallbackQr {
    pub merchant_qr_id: String,
    pub location_description: Option<String>,
    pub qr_image_url: Option<String>,
    pub qr_content: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IntervalUnit {
    Year,
    Month,
    Week,
    Day,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interval {
    pub unit: IntervalUnit,
    pub count: u32,
}

/// Recurring v3 pricing, selected by its `type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Pricing {
    /// A fixed price per interval (minor units).
    #[serde(rename_all = "camelCase")]
    Legacy { amount: i64, currency: String },
    /// The customer picks a max amount; the merchant suggests one.
    #[serde(rename_all = "camelCase")]
    Variable {
        suggested_max_amount: i64,
        currency: String,
        /// Chosen by the customer (responses only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_amount: Option<i64>,
    },
    /// No amount, no ceiling.
    Flexible { currency: String },
}

impl Pricing {
    pub fn type_name(&self) -> &'static str {
        match self {
            Pricing::Legacy { .. } => "LEGACY",
            Pricing::Variable { .. } => "VARIABLE",
            Pricing::Flexible { .. } => "FLEXIBLE",
        }
    }

    pub fn currency(&self) -> &str {
        match self {
            Pricing::Legacy { currency, .. }
            | Pricing::Variable { currency, .. }
            | Pricing::Flexible { currency } => currency,
        }
    }
}

/// A recurring agreement as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveAgreement {
    pub id: String,
    pub status: AgreementStatus,
    pub external_id: Option<String>,
    pub product_name: String,
    pub product_description: Option<String>,
    pub pricing: Pricing,
    pub interval: Option<Interval>,
    pub merchant_redirect_url: Option<String>,
    pub merchant_agreement_url: Option<String>,
    /// Epoch milliseconds or RFC 3339, as the API gave it (for display only).
    pub created: Option<String>,
}

/// What vippsctl sends to draft a new agreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DraftAgreement {
    pub external_id: String,
    pub product_name: String,
    pub product_description: Option<String>,
    pub pricing: Pricing,
    pub interval: Option<Interval>,
    pub merchant_redirect_url: String,
    pub merchant_agreement_url: Option<String>,
    /// MSISDN; personal data, masked in every output.
    pub phone_number: Option<String>,
}

/// The answer to a draft: the customer must open the confirmation URL to consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftedAgreement {
    pub agreement_id: String,
    pub vipps_confirmation_url: String,
}

/// The fields PATCH can change; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementPatch {
    pub product_name: Option<String>,
    pub product_description: Option<String>,
    pub merchant_agreement_url: Option<String>,
    pub external_id: Option<String>,
    /// LEGACY only.
    pub pricing_amount: Option<i64>,
    /// VARIABLE only.
    pub pricing_suggested_max_amount: Option<i64>,
    pub interval: Option<Interval>,
}

/// The image format of a QR code's image URL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    #[default]
    Svg,
    Png,
}

/// A sales unit as the Management API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SalesUnit {
    pub msn: String,
    pub name: String,
}

/// One sales unit's details (Management `GET /management/v1/sales-units/{msn}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SalesUnitDetails {
    pub msn: String,
    pub name: String,
    /// `(scheme, id)`, e.g. `("business:NO:ORG", "987654321")`.
    pub business_identifier: Option<(String, String)>,
    pub configuration: SalesUnitConfiguration,
}

/// What a sales unit may do. `None` is "not said", which the API says does not mean "no".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SalesUnitConfiguration {
    pub payment_allowed: Option<bool>,
    pub capture_type: Option<String>,
    pub skip_landing_page_allowed: Option<bool>,
    pub recurring_allowed: Option<bool>,
}
