//! Reading and normalising the OpenAPI documents: the same code serves `build.rs` (before
//! generating the clients), the spec surface snapshots and `vippsctl specs diff`.

pub mod diff;
pub mod normalize;
pub mod ops;
pub mod surface;
pub mod usage;
