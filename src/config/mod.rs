//! config (contract stub; replaced by the config module)
pub mod model;
