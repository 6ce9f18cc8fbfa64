//! `--msn`, `--shard`, `--target` and `--exclude`: the options that make a run partial, shared by
//! `plan` and `apply` (`import` takes `--msn` and `--shard` alone).

use super::Failure;
use crate::config::model::Config;
use crate::plan::scope::{restrict, Known, Scope, ScopeError, Selector, Shard};
use crate::plan::Plan;
use crate::resources::Address;

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

fn failure(e: ScopeError) -> Failure {
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
        for m in &self.msns {
            if !(4..=10).contains(&m.len()) || !m.chars().all(|c| c.is_ascii_digit()) {
                return Err(Failure::new(format!("`{m}` is not an MSN"))
                    .hint("an MSN (merchant serial number) has 4-10 digits"));
            }
        }
        Ok(())
    }

    pub fn is_set(&self) -> bool {
        !self.msns.is_empty() || self.shard.is_some()
    }
}

/// A parsed scope, ready to narrow a configuration and a plan.
#[derive(Debug, Clone, Default)]
pub struct RunScope {
    msns: Vec<String>,
    shard: Option<Shard>,
    targets: Vec<Selector>,
    excludes: Vec<Selector>,
    raw_targets: Vec<String>,
    raw_excludes: Vec<String>,
    /// From a saved plan: exactly these merchants, and the shard they were chosen as.
    saved_merchants: Option<Vec<String>>,
    saved_shard: Option<String>,
}

impl RunScope {
    pub fn from_args(a: &ScopeArgs) -> Result<RunScope, Failure> {
        a.merchants.check_msns()?;
        let parse = |v: &[String]| -> Result<Vec<Selector>, Failure> {
            v.iter()
                .map(|s| Selector::parse(s).map_err(failure))
                .collect()
        };
        Ok(RunScope {
            msns: a.merchants.msns.clone(),
            shard: a.merchants.shard()?,
            targets: parse(&a.target)?,
            excludes: parse(&a.exclude)?,
            raw_targets: a.target.clone(),
            raw_excludes: a.exclude.clone(),
            saved_merchants: None,
            saved_shard: None,
        })
    }

    /// The scope a saved plan was made with, to re-plan exactly the same part.
    pub fn from_saved(s: &Scope) -> Result<RunScope, Failure> {
        let parse = |v: &[String]| -> Result<Vec<Selector>, Failure> {
            v.iter()
                .map(|s| Selector::parse(s).map_err(failure))
                .collect()
        };
        Ok(RunScope {
            targets: parse(&s.targets)?,
            excludes: parse(&s.excludes)?,
            raw_targets: s.targets.clone(),
            raw_excludes: s.excludes.clone(),
            saved_merchants: s.merchants.clone(),
            saved_shard: s.shard.clone(),
            ..Default::default()
        })
    }

    pub fn is_empty(&self) -> bool {
        self.msns.is_empty()
            && self.shard.is_none()
            && self.targets.is_empty()
            && self.excludes.is_empty()
            && self.saved_merchants.is_none()
    }

    /// Drop the merchants outside the scope before anything is observed, so a shard reads only
    /// its own merchants. Naming a merchant the configuration lacks is an error.
    pub fn narrow(&self, config: &mut Config) -> Result<(), Failure> {
        let known = |msn: &str| config.merchants.iter().any(|m| m.msn == msn);
        for msn in self
            .msns
            .iter()
            .chain(self.targets.iter().map(|t| &t.msn))
            .chain(self.excludes.iter().map(|t| &t.msn))
        {
            if !known(msn) {
                let declared = config.merchants.iter().map(|m| m.msn.as_str());
                let hint = match crate::config::structure::did_you_mean(msn, declared) {
                    Some(close) => format!("did you mean {close}? Name a merchant declared under `merchants:`; nothing was planned or applied"),
                    None => "name a merchant declared under `merchants:` (check the MSN); nothing was planned or applied".to_string(),
                };
                return Err(
                    Failure::new(format!("merchant {msn} is not in the configuration")).hint(hint),
                );
            }
        }
        let keep = |msn: &str| -> bool {
            (self.msns.is_empty() || self.msns.iter().any(|m| m == msn))
                && self.shard.is_none_or(|s| s.contains(msn))
                && (self.targets.is_empty() || self.targets.iter().any(|t| t.msn == msn))
                && self
                    .saved_merchants
                    .as_ref()
                    .is_none_or(|v| v.iter().any(|m| m == msn))
        };
        config.merchants.retain(|m| keep(&m.msn));
        Ok(())
    }

    /// Whether `--target` or `--exclude` name anything (and so must be checked by `check_names`).
    pub fn names_objects(&self) -> bool {
        !self.targets.is_empty() || !self.excludes.is_empty()
    }

    /// Every `--target`, `--exclude` and `--replace` must name something of this run: an address
    /// that matches nothing (a trailing `/`, a case difference, a wrong MSN) would otherwise be
    /// ignored in silence, and a rotation after a leak would silently not happen. `known` is
    /// taken from the plan before it is restricted.
    pub fn check_names(&self, known: &Known, replace: &[Address]) -> Result<(), Failure> {
        let mut unmatched: Vec<(&str, String)> = Vec::new();
        for (flag, raw, selectors) in [
            ("--target", &self.raw_targets, &self.targets),
            ("--exclude", &self.raw_excludes, &self.excludes),
        ] {
            for (text, sel) in raw.iter().zip(selectors) {
                if !known.names(sel) {
                    unmatched.push((flag, text.clone()));
                }
            }
        }
        for a in replace {
            if !known.has(a) {
                unmatched.push(("--replace", a.to_string()));
            }
        }
        let Some((flag, first)) = unmatched.first() else {
            return Ok(());
        };
        let why = |text: &str| -> String {
            let msn = text.split(['.', '[']).next().unwrap_or_default();
            match known.nearest(text) {
                Some(close) => format!("did you mean `{close}`?"),
                None if !known.has_merchant(msn) => {
                    format!("merchant {msn} is not part of this run.")
                }
                None => "no object of this run has a similar address.".to_string(),
            }
        };
        let rule = "Addresses are matched exactly as plans print them (case and a trailing `/` count); nothing was planned or applied";
        if unmatched.len() == 1 {
            return Err(
                Failure::new(format!("{flag} `{first}` matches no object of this run"))
                    .hint(format!("{} {rule}", why(first))),
            );
        }
        let listed: Vec<String> = unmatched
            .iter()
            .map(|(f, t)| format!("{f} `{t}`"))
            .collect();
        let reasons: Vec<String> = unmatched
            .iter()
            .map(|(_, t)| format!("`{t}`: {}", why(t)))
            .collect();
        Err(Failure::new(format!(
            "{} addresses match no object of this run: {}",
            unmatched.len(),
            listed.join(", ")
        ))
        .hint(format!("{} {rule}", reasons.join(" "))))
    }

    /// Keep the selected changes and record the scope in the plan.
    pub fn restrict(&self, plan: &mut Plan) {
        restrict(plan, &self.targets, &self.excludes);
        if self.is_empty() {
            return;
        }
        let by_merchant = !self.msns.is_empty() || self.shard.is_some();
        plan.scope = Some(Scope {
            merchants: if by_merchant || self.saved_merchants.is_some() {
                Some(plan.merchants.iter().map(|m| m.msn.clone()).collect())
            } else {
                None
            },
            shard: self
                .shard
                .map(|s| s.to_string())
                .or_else(|| self.saved_shard.clone()),
            targets: self.raw_targets.clone(),
            excludes: self.raw_excludes.clone(),
        });
    }
}
