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
    /// Only the merchants listed in FILE: a results file of `apply --results` (with --only), or
    /// a text file with one MSN per line.
    #[arg(long, value_name = "FILE", conflicts_with = "msns")]
    pub msn_from: Option<std::path::PathBuf>,
    /// Which merchants of a --msn-from results file: `failed` (failed, interrupted or not run:
    /// the ones to resume) or `all`.
    #[arg(long, value_enum, requires = "msn_from")]
    pub only: Option<Only>,
}

/// `--only` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Only {
    Failed,
    All,
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
        let scope = RunScope::new(
            &self.merchants.msns,
            self.merchants.shard.as_deref(),
            &self.target,
            &self.exclude,
        )
        .map_err(failure)?;
        match &self.msn_from {
            Some(path) => Ok(scope.only_merchants(self.listed(path)?)),
            None => Ok(scope),
        }
    }

    /// The MSNs `--msn-from FILE` names (a results file, or one MSN per line).
    fn listed(&self, path: &std::path::Path) -> Result<Vec<String>, Failure> {
        use crate::engine::results::FleetResults;
        let name = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::new(format!("could not read {name}")).caused_by(e))?;
        if text.trim_start().starts_with('{') {
            let results = FleetResults::read(path).map_err(|e| Failure::from_error(&e))?;
            let Some(only) = self.only else {
                return Err(Failure::new(format!(
                    "{name} is a results file: say which of its merchants to run"
                ))
                .hint("pass --only failed (the merchants to resume) or --only all"));
            };
            let msns = match only {
                Only::Failed => results.unfinished(),
                Only::All => results.merchants.iter().map(|m| m.msn.clone()).collect(),
            };
            if msns.is_empty() {
                eprintln!(
                    "--msn-from {name} --only failed: every merchant in it finished; nothing to resume"
                );
            }
            return Ok(msns);
        }
        if self.only.is_some() {
            return Err(Failure::new(format!(
                "--only needs a results file (from `apply --results`); {name} is a list of MSNs"
            )));
        }
        let mut msns = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let msn = line.trim();
            if msn.is_empty() || msn.starts_with('#') {
                continue;
            }
            // `partner` names the partner level, as a results file does.
            let partner = msn == crate::config::model::PARTNER;
            if !partner && RunScope::new(&[msn.to_string()], None, &[], &[]).is_err() {
                return Err(
                    Failure::new(format!("{name}:{}:1: `{msn}` is not an MSN", i + 1))
                        .hint("one MSN (4-10 digits), or `partner` for the partner webhooks, per line; `#` starts a comment"),
                );
            }
            if !msns.iter().any(|m| m == msn) {
                msns.push(msn.to_string());
            }
        }
        Ok(msns)
    }
}
