//! Talking to the Vipps MobilePay APIs: the generated clients, and the HTTP layer they share
//! (access tokens, Vipps headers, retries, rate limits, redaction).

pub mod credentials;
pub mod environment;
pub mod error;
pub mod generated;
pub mod idempotency;
pub mod model;
pub mod ratelimit;
pub mod redact;
pub mod retry;
pub mod secret;
pub mod token;
pub mod transport;
pub mod vipps;

pub use credentials::Credentials;
pub use environment::Environment;
pub use error::ApiError;
pub use redact::redact;
pub use secret::Secret;
pub use transport::{Transport, TransportError};
pub use vipps::MerchantApi;
