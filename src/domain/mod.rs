//! The domain types: the environments, the live objects as vippsctl models them, secrets and
//! idempotency keys. No network code: `config`, `plan`, `sim` and `resources` use these without
//! depending on the HTTP layer in `api`.

pub mod environment;
pub mod idempotency;
pub mod model;
pub mod secret;

pub use environment::Environment;
pub use secret::Secret;
