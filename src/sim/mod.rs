//! A stateful local stand-in for the Vipps MobilePay APIs vippsctl uses (access token, webhooks,
//! QR, recurring agreements, Management sales units), and the ePayment API merchants' own
//! integrations call: for tests, benchmarks, `--sandbox` and `sim serve`. It answers on the paths the
//! clients send (see `specs::ops`), in the published specs' shapes, and can be made slow,
//! rate-limited and faulty on purpose. Its own control surface lives under `/_sim/`.
//!
//! Where the simulator and the published spec (or API-FACTS) disagree, the simulator is wrong.

mod charges;
mod config;
mod control;
mod core;
mod delivery;
mod epayment;
mod events;
mod idempotency;
mod image;
mod management;
mod order_management;
mod qr;
mod recurring;
mod server;
mod signature;
mod state;
mod token;
mod webhooks;
mod wire;

pub use charges::{
    CHARGE_CANCELED, CHARGE_CAPTURED, CHARGE_FAILED, CHARGE_REFUNDED, CHARGE_RESERVED,
    FAILURE_REASONS as CHARGE_FAILURE_REASONS,
};
pub use config::{
    Country, FaultConfig, FaultKind, Leniency, RateLimits, SalesUnitProfile, SimConfig,
    SimCredentials, MANAGEMENT_TOKEN_TTL, PRODUCTION_TOKEN_TTL, SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET, SANDBOX_MSN, SANDBOX_PARTNER_CLIENT_ID, SANDBOX_PARTNER_CLIENT_SECRET,
    SANDBOX_PARTNER_MSNS, SANDBOX_PARTNER_SUBSCRIPTION_KEY, SANDBOX_SUBSCRIPTION_KEY,
    TEST_TOKEN_TTL,
};
pub use control::{ControlError, Drift, ObjectKind};
pub use core::CallRecord;
pub use delivery::{
    backoff, check_forward, Attempt, Delivery, DeliveryList, DeliveryStatus, Emitted,
    ANSWER_TIMEOUT_SECONDS, RETRY_DAYS, UNRESPONSIVE_DAYS,
};
pub use events::{CHECKED_IN, CUSTOMER_TOKEN_MINUTES, EPAYMENT_EVENTS, TRIGGERABLE};
pub use server::{start, SimError, SimHandle};
pub use state::{
    Agreement, AgreementStatus, CallbackQr, Charge, ChargeEvent, ChargeStatus, IdempotencyRecord,
    Interval, MerchantState, Msisdn, OrderCategory, OrderImage, OrderInfo, OrderManagement,
    Pricing, PricingType, RedirectQr, SimState, StateFileError, Webhook,
};
pub use state::{Payment, PaymentEventRecord, PaymentState, Payments};
pub use wire::percent_encode;
