//! Talking to the Vipps MobilePay APIs: the generated clients, and the HTTP layer they share
//! (access tokens, Vipps headers, retries, rate limits, redaction).

pub mod credentials;
pub mod environment;
pub mod idempotency;

pub use environment::Environment;
pub mod model;
pub mod secret;

pub use secret::Secret;
pub mod ratelimit;
pub mod redact;
pub mod retry;
pub mod token;
pub mod transport;

pub use credentials::Credentials;
pub use redact::redact;
pub use transport::{Transport, TransportError};
