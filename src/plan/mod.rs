//! Plans: `diff(desired, live) -> Plan` (pure), the plan as plain data, and pure renderers.

pub mod diff;
pub mod model;
pub mod policy;
pub mod scope;

pub use crate::resources::LiveMerchant;
pub use diff::{diff, DiffOptions, PlanContext, Problem};
pub use model::{Action, Change, Desired, MerchantPlan, Plan, Reason, Summary};
pub use scope::{Scope, Selector, Shard};
pub mod render;
