//! Contract stub of the desired-state model (replaced by the real module at merge).
use crate::api::model::{Interval, Pricing};
use std::path::PathBuf;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
}
#[derive(Debug, Clone)]
pub struct Config {
    pub version: u32,
    pub environment: Option<crate::api::Environment>,
    pub merchants: Vec<Merchant>,
}
#[derive(Debug, Clone, Default)]
pub struct Merchant {
    pub msn: String,
    pub name: Option<String>,
    pub credentials: Option<CredentialVars>,
    pub prune: Vec<Kind>,
    pub webhooks: Vec<Webhook>,
    pub redirect_qrs: Vec<RedirectQr>,
    pub callback_qrs: Vec<CallbackQr>,
    pub agreements: Vec<Agreement>,
    pub origin: Origin,
}
#[derive(Debug, Clone)]
pub struct CredentialVars {
    pub client_id: String,
    pub client_secret: String,
    pub subscription_key: String,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Webhooks,
    RedirectQrs,
    CallbackQrs,
}
#[derive(Debug, Clone)]
pub struct Webhook {
    pub url: String,
    pub events: Vec<String>,
    pub secret: Option<SecretSink>,
    pub origin: Origin,
}
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum SecretSink {
    File { file: PathBuf, key: String },
    Command { command: Vec<String> },
}
#[derive(Debug, Clone)]
pub struct RedirectQr {
    pub id: String,
    pub redirect_url: String,
    pub ttl: Option<u64>,
    pub origin: Origin,
}
#[derive(Debug, Clone)]
pub struct CallbackQr {
    pub merchant_qr_id: String,
    pub location_description: String,
    pub origin: Origin,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeclaredStatus {
    #[default]
    Active,
    Stopped,
}
#[derive(Debug, Clone)]
pub struct Agreement {
    pub external_id: String,
    pub product_name: String,
    pub product_description: Option<String>,
    pub pricing: Pricing,
    pub interval: Option<Interval>,
    pub merchant_redirect_url: String,
    pub merchant_agreement_url: Option<String>,
    pub phone_number: Option<String>,
    pub status: DeclaredStatus,
    pub protect: bool,
    pub origin: Origin,
}
