//! The reconcile engine: the one pipeline from configuration to plan to applied changes. The CLI,
//! the tests and the benches all call it; nothing else assembles the steps.
//!
//! `plan` = narrow the scope -> observe -> take in what the secret sinks and the lost-secrets
//! record say -> diff -> check the names the run was given -> restrict. `apply` executes the
//! plan's changes and records the secrets it lost. Each step is safe to run again: a re-run
//! observes and plans only what is still different. Errors are [`EngineError`] data; printing
//! them is the caller's business.

pub mod capabilities;
pub mod connect;
pub mod discover;
pub mod error;
pub mod observe;
pub mod results;
pub mod stale;

pub use connect::{connect, Apis, Connect, Session};
pub use discover::{discover, DiscoverError};
pub use error::EngineError;
pub use observe::{observe_all, observe_kinds};

use crate::apply::{ApplyOptions, ApplyReport, Outcome, Progress};
use crate::config::Loaded;
use crate::plan::scope::{Known, RunScope};
use crate::plan::{DiffOptions, Plan, PlanContext};
use crate::resources::Address;
use crate::secrets::record::LostSecrets;
use std::path::{Path, PathBuf};

/// Where a run keeps its local state: the sandbox's state, the lost-secrets record and the apply
/// locks live in `.vippsctl/` below the root.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
}

impl Workspace {
    /// The working directory, named relatively so messages show `.vippsctl/...`.
    pub fn current() -> Workspace {
        Workspace {
            root: PathBuf::new(),
        }
    }

    pub fn at(root: impl Into<PathBuf>) -> Workspace {
        Workspace { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn sandbox_state(&self) -> PathBuf {
        self.root.join(SANDBOX_STATE)
    }

    pub fn lost_secrets(&self) -> LostSecrets {
        LostSecrets::in_workspace(&self.root)
    }
}

/// Where the sandbox keeps its state between commands, below the workspace root.
pub const SANDBOX_STATE: &str = ".vippsctl/sandbox.json";

/// Load the configuration once for the whole run. `env` resolves `${VAR}` references.
pub fn load(
    paths: &[PathBuf],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Loaded, EngineError> {
    crate::config::load(paths, env).map_err(EngineError::Config)
}

/// What to plan beyond the configuration itself.
#[derive(Debug, Clone, Default)]
pub struct PlanRequest {
    /// `--replace`: objects to replace although they match.
    pub replace: Vec<Address>,
    /// `--msn`, `--shard`, `--target`, `--exclude` (or a saved plan's scope).
    pub scope: RunScope,
    /// `--check-capabilities`: read each sales unit's configuration (Management API) and refuse
    /// agreements a sales unit may not have, before any write.
    pub check_capabilities: bool,
    /// `plan --all-merchants`: the partner's sales units (Management API), to set against the
    /// configuration in the plan's `coverage`.
    pub discovered: Option<Vec<crate::domain::model::SalesUnit>>,
}

/// The configuration narrowed to the run's merchants: what to connect for (a shard needs only
/// its own merchants' credentials). [`plan`] narrows the same way.
/// Without a scope it is the loaded configuration itself: a fleet's configuration is the
/// largest thing a run holds, and a copy of it per caller showed in the peak memory.
pub fn scoped_config<'a>(
    loaded: &'a Loaded,
    scope: &RunScope,
) -> Result<std::borrow::Cow<'a, crate::config::model::Config>, EngineError> {
    // Partner webhooks join the run as one more unit (`RunScope::narrow`), which needs the copy.
    if scope.is_empty() && !loaded.config.declares_partner_webhooks() {
        return Ok(std::borrow::Cow::Borrowed(&loaded.config));
    }
    let mut config = loaded.config.clone();
    scope.narrow(&mut config)?;
    Ok(std::borrow::Cow::Owned(config))
}

/// Make the plan of `loaded` against the live state `session` reaches.
pub async fn plan(
    loaded: &Loaded,
    session: &Session,
    workspace: &Workspace,
    request: &PlanRequest,
) -> Result<Plan, EngineError> {
    plan_timed(loaded, session, workspace, request)
        .await
        .map(|(plan, _)| plan)
}

/// Where a plan's time went (the benches report it).
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanTimings {
    /// Token and list calls, until every merchant's live state is in memory.
    pub observe: std::time::Duration,
    /// Everything after: secrets evidence, diff, scope (CPU only).
    pub diff: std::time::Duration,
}

/// [`plan`], timed.
pub async fn plan_timed(
    loaded: &Loaded,
    session: &Session,
    workspace: &Workspace,
    request: &PlanRequest,
) -> Result<(Plan, PlanTimings), EngineError> {
    let started = std::time::Instant::now();
    let config = scoped_config(loaded, &request.scope)?;
    let mut live = observe_all(&config, &session.apis).await?;
    let observed = std::time::Instant::now();
    // Live state cannot show a lost secret: the sinks and the record are part of what is observed.
    let recorded = workspace.lost_secrets().lost(&session.label);
    let lost = crate::secrets::evidence(&config, &mut live, &recorded);
    let mut opts = DiffOptions {
        replace: request.replace.clone(),
    };
    for a in &lost {
        if !opts.replace.contains(a) {
            opts.replace.push(a.clone());
        }
    }
    let ctx = PlanContext {
        environment: session.environment,
        base_url: session.label.clone(),
        config_files: loaded
            .files
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        config_digest: loaded.digest.clone(),
        spec_versions: crate::api::generated::SPEC_VERSIONS.to_string(),
    };
    if request.check_capabilities {
        let problems = capabilities::check(&config, session).await?;
        if !problems.is_empty() {
            return Err(EngineError::Problems(problems));
        }
    }
    let mut plan = crate::plan::diff(&config, &live, &ctx, &opts).map_err(EngineError::Problems)?;
    for c in plan.merchants.iter_mut().flat_map(|m| m.changes.iter_mut()) {
        if c.action.is_change() && lost.contains(&c.address) {
            c.reason = Some(crate::plan::Reason::SecretLost);
        }
    }
    if request.scope.names_objects() || !request.replace.is_empty() {
        request
            .scope
            .check_names(&Known::of(&plan, &config, &live), &request.replace)?;
    }
    request.scope.restrict(&mut plan);
    if let Some(units) = &request.discovered {
        // Against the whole configuration: `--target`/`--exclude` narrow objects, not the fleet.
        let in_shard = |msn: &str| request.scope.shard_contains(msn);
        let listed: Vec<(String, Option<String>)> = units
            .iter()
            .filter(|u| in_shard(&u.msn))
            .map(|u| {
                (
                    u.msn.clone(),
                    Some(u.name.clone()).filter(|n| !n.is_empty()),
                )
            })
            .collect();
        let declared: Vec<String> = loaded
            .config
            .merchants
            .iter()
            .filter(|m| in_shard(&m.msn))
            .map(|m| m.msn.clone())
            .collect();
        plan.coverage = Some(crate::plan::model::Coverage::of(&listed, &declared));
    }
    let timings = PlanTimings {
        observe: observed - started,
        diff: observed.elapsed(),
    };
    Ok((plan, timings))
}

/// A saved plan, checked against the same plan made now: the environment it was made for, the
/// configuration files' digest, the live state and the file's own content. The plan returned is
/// the saved one: apply executes what was reviewed, and only while planning again agrees with it.
pub async fn replan_saved(
    saved: Plan,
    name: &str,
    loaded: &Loaded,
    session: &Session,
    workspace: &Workspace,
    extra_replace: &[Address],
) -> Result<Plan, EngineError> {
    if saved.environment != session.environment || saved.base_url != session.label {
        return Err(EngineError::failed(format!(
            "{name} was made for {} ({}), not for {} ({})",
            saved.environment, saved.base_url, session.environment, session.label
        ))
        .hint("apply a plan against the environment it was made for"));
    }
    if saved.config_digest != loaded.digest {
        return Err(EngineError::failed(format!(
            "{name} is stale: the configuration files changed since it was made"
        ))
        .hint("run plan again and review the new plan"));
    }
    let mut replace = saved.replace.clone();
    replace.extend(extra_replace.iter().cloned());
    let request = PlanRequest {
        // The saved plan was checked when it was made, if asked; a re-plan reads no more.
        check_capabilities: false,
        // Nor lists the sales units again: coverage is for the reader, apply changes none of it.
        discovered: None,
        replace,
        scope: match &saved.scope {
            Some(s) => RunScope::from_saved(s)?,
            None => RunScope::default(),
        },
    };
    let fresh = plan(loaded, session, workspace, &request).await?;
    let diff = stale::stale_differences(&saved, &fresh);
    if !diff.live.is_empty() {
        let mut e = EngineError::failed(format!(
            "{name} is stale: the live state changed since it was made"
        ));
        for d in diff.live {
            e = e.caused_by(d);
        }
        for d in diff.content {
            e = e.caused_by(format!("and the file differs from a fresh plan: {d}"));
        }
        return Err(e.hint("run plan again and review the new plan"));
    }
    if !diff.content.is_empty() {
        let mut e = EngineError::failed(format!(
            "{name} does not match what planning produces now: the configuration files and the live state are as they were when it was made, but the plan file's own content differs from a fresh plan of them (it was edited, or made by another vippsctl version)"
        ));
        if saved.vippsctl_version != fresh.vippsctl_version {
            e = e.caused_by(format!(
                "it says it was made by vippsctl {}; this is vippsctl {}",
                saved.vippsctl_version, fresh.vippsctl_version
            ));
        }
        for d in diff.content {
            e = e.caused_by(d);
        }
        return Err(e.hint(
            "a saved plan is applied only as vippsctl wrote it: run plan again, review the new plan and apply that",
        ));
    }
    Ok(saved)
}

/// What an apply did, and what it could not record.
pub struct Applied {
    pub report: ApplyReport,
    /// Temporary sink files an interrupted apply left (they hold secrets), removed before writing.
    pub removed_temp_files: Vec<PathBuf>,
    /// The lost-secrets record could not be updated: the next plan may not know to replace them.
    pub record_error: Option<EngineError>,
}

/// Execute the plan's changes and record the secrets lost on the way.
pub async fn apply(
    plan: &Plan,
    loaded: &Loaded,
    session: &Session,
    workspace: &Workspace,
    opts: &ApplyOptions,
    progress: &dyn Progress,
) -> Applied {
    let removed_temp_files = crate::secrets::sinks::remove_leftover_temp_files(
        &loaded.config,
        opts.secrets_out.as_deref(),
    );
    let sensitive = crate::apply::Sensitive::from_config(&loaded.config);
    let report = crate::apply::apply(plan, &sensitive, &session.apis, opts, progress).await;
    // Only a change that is known to be done clears an earlier loss.
    let registered: Vec<Address> = report
        .results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Done { .. }))
        .map(|r| r.address.clone())
        .collect();
    let record_error = workspace
        .lost_secrets()
        .update(&session.label, &registered, &report.lost_secrets)
        .err()
        .map(|e| EngineError::from_error(&e));
    Applied {
        report,
        removed_temp_files,
        record_error,
    }
}
