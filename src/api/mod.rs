//! Talking to the Vipps MobilePay APIs: the generated clients, and the HTTP layer they share
//! (access tokens, Vipps headers, retries, rate limits, redaction).

pub mod environment;

pub use environment::Environment;
pub mod model;
pub mod secret;

pub use secret::Secret;
pub mod error;
pub mod generated;
pub mod transport;
pub mod vipps;

pub use error::ApiError;
pub use vipps::MerchantApi;
