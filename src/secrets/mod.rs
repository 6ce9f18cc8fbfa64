//! What vippsctl knows about webhook secrets beyond the live state: the sinks they were handed to
//! ([`sinks`]) and the record of secrets an apply lost ([`record`]). The live API never shows a
//! secret again, so a plan takes both as part of the observed state: a registration whose secret
//! is in neither place is useless and is replaced.

pub mod record;
pub mod sinks;

use crate::config::model::Config;
use crate::resources::{Address, LiveMerchant};

/// The webhook registrations whose one-time secret is known not to be in its sink: those an
/// earlier apply recorded as lost (`recorded`), and those the file sinks show (a killed run
/// records nothing). Reorders `live` so that, among duplicates, the registration whose secret is
/// stored comes first (see [`sinks::unverified_webhooks`]).
pub fn evidence(config: &Config, live: &mut [LiveMerchant], recorded: &[Address]) -> Vec<Address> {
    let mut lost = recorded.to_vec();
    for a in sinks::unverified_webhooks(config, live) {
        if !lost.contains(&a) {
            lost.push(a);
        }
    }
    lost
}
