//! `--msn`, `--shard`, `--target` and `--exclude`: the options that make a run partial, shared by
//! `plan` and `apply` (`import` takes `--msn` and `--shard` alone).

use super::Failure;
use crate::plan::scope::{RunScope, ScopeError, Shard};

#[derive(Debug, Clone, Default, clap::Args)]
pub struct ScopeArgs {
    /// Plan only this object, kind or merchant, as plans print addresses: `123456`,
    /// `123456.webhooks` or `123456.redirectQrs[bord 1]`. Repeatable. The plan says it is partial.
    #[arg(long, value_name = "ADDRESS")]
    pub target: Vec<String>,
    /// Leave this object, kind or merchant out of the plan (same forms as --target). Repeatable.
    #[arg(long, value_name = "ADDRESS")]
    pub exclude: Vec<String>,
    #[command(flatten)]
    pub merchants: MerchantArgs,
}

/// Which merchants a run covers.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct MerchantArgs {
    /// Only this merchant (MSN). Repeatable.
    #[arg(long = "msn", value_name = "MSN")]
    pub msns: Vec<String>,
    /// Only the merchants of shard i of n (1-based), split by a stable hash of the MSN, so that
    /// n CI jobs with --shard 1/n .. n/n cover every merchant exactly once.
    #[arg(long, value_name = "i/n")]
    pub shard: Option<String>,
}

pub(crate) fn failure(e: ScopeError) -> Failure {
    Failure::new(e.message).hint(e.hint)
}

impl MerchantArgs {
    pub fn shard(&self) -> Result<Option<Shard>, Failure> {
        self.shard
            .as_deref()
            .map(Shard::parse)
            .transpose()
            .map_err(failure)
    }

    pub fn check_msns(&self) -> Result<(), Failure> {
        RunScope::new(&self.msns, None, &[], &[])
            .map(|_| ())
            .map_err(failure)
    }

    pub fn is_set(&self) -> bool {
        !self.msns.is_empty() || self.shard.is_some()
    }
}

impl ScopeArgs {
    pub fn run_scope(&self) -> Result<RunScope, Failure> {
        RunScope::new(
            &self.merchants.msns,
            self.merchants.shard.as_deref(),
            &self.target,
            &self.exclude,
        )
        .map_err(failure)
    }
}
