//! Talking to the Vipps MobilePay APIs: the generated clients, and the HTTP layer they share
//! (access tokens, Vipps headers, retries, rate limits, redaction).

pub mod credentials;
pub mod error;
pub mod generated;
pub mod ratelimit;
pub mod redact;
pub mod retry;
pub mod token;
pub mod transport;
pub mod vipps;

pub use credentials::Credentials;
pub use error::ApiError;
pub use redact::redact;
pub use transport::{Transport, TransportError};
pub use vipps::{ManagementApi, MerchantApi};
