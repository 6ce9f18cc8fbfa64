//! What `plan`, `apply`, `import` and `qr` share on the command line: loading the configuration
//! (diagnostics printed), reaching the APIs from the global flags, and printing engine errors.

use super::{Failure, GlobalArgs};
use crate::engine::{EngineError, Session, Workspace};
use std::path::PathBuf;

/// Load the configuration, printing its warnings; errors end the command with their diagnostics.
pub fn load_config(
    paths: &[PathBuf],
    global: &GlobalArgs,
) -> Result<crate::config::Loaded, Failure> {
    let env = |name: &str| std::env::var(name).ok();
    match crate::engine::load(paths, &env) {
        Ok(loaded) => {
            if !loaded.warnings.is_empty() {
                eprint!(
                    "{}",
                    crate::config::render(&loaded.warnings, &loaded.sources, global.color_stderr())
                );
            }
            Ok(loaded)
        }
        Err(e) => Err(failure(e, None, global)),
    }
}

/// Reach the APIs the global flags name: the sandbox simulator in-process, or the environment's
/// host with real credentials.
pub async fn connect(
    global: &GlobalArgs,
    config: &crate::config::model::Config,
    sandbox: bool,
    shards: u32,
) -> Result<Session, Failure> {
    let workspace = Workspace::current();
    let how = crate::engine::Connect {
        sandbox,
        environment: global.environment,
        base_url: global.base_url.clone(),
        timeout: global.timeout,
        max_requests_per_second: global
            .max_requests_per_second
            .map(|n| rate_share(n, shards)),
        workspace: &workspace,
    };
    crate::engine::connect(config, &how)
        .await
        .map_err(|e| failure(e, None, global))
}

/// One shard's part of a per-key request cap when `shards` run at once with the same keys: an
/// even split, at least one request per second.
pub fn rate_share(per_second: u32, shards: u32) -> u32 {
    (per_second / shards.max(1)).max(1)
}

/// An engine error as the CLI prints it: diagnostics (located in `loaded`'s files) on stderr,
/// everything else through the one error printer.
pub fn failure(
    e: EngineError,
    loaded: Option<&crate::config::Loaded>,
    global: &GlobalArgs,
) -> Failure {
    let text = e.to_string();
    match e {
        EngineError::Config(diags) => {
            eprint!("{}", diags.render(global.color_stderr()));
            Failure::silent()
        }
        EngineError::Problems(problems) => match loaded {
            Some(l) => problems_failure(&problems, l, global),
            None => {
                let mut f = Failure::new(text);
                for p in problems {
                    f = f.caused_by(p.message);
                }
                f
            }
        },
        EngineError::Failed {
            message,
            causes,
            hint,
        } => {
            let mut f = Failure::new(message);
            for c in causes {
                f = f.caused_by(c);
            }
            match hint {
                Some(h) => f.hint(h),
                None => f,
            }
        }
    }
}

/// Render plan-time problems as located diagnostics.
pub fn problems_failure(
    problems: &[crate::plan::Problem],
    loaded: &crate::config::Loaded,
    global: &GlobalArgs,
) -> Failure {
    let diags: Vec<crate::config::Diagnostic> = problems
        .iter()
        .map(|p| {
            let mut d = match &p.origin {
                Some(o) => crate::config::Diagnostic::error(o, p.message.clone()),
                None => crate::config::Diagnostic::unlocated(p.message.clone()),
            };
            if let Some(h) = &p.hint {
                d = d.with_hint(h.clone());
            }
            d
        })
        .collect();
    eprint!(
        "{}",
        crate::config::render(&diags, &loaded.sources, global.color_stderr())
    );
    Failure::new(format!(
        "the plan cannot be made: {} {}",
        problems.len(),
        if problems.len() == 1 {
            "problem"
        } else {
            "problems"
        }
    ))
}

/// The partner's sales units through the Management API (`import --all`, `plan --all-merchants`).
/// With `sandbox`, those of the sandbox partner: `sandbox_units`, or the built-in three.
pub(crate) async fn discover(
    global: &GlobalArgs,
    sandbox: bool,
    sandbox_units: &[String],
) -> Result<Vec<crate::domain::model::SalesUnit>, Failure> {
    let workspace = crate::engine::Workspace::current();
    let how = crate::engine::Connect {
        sandbox,
        environment: global.environment,
        base_url: global.base_url.clone(),
        timeout: global.timeout,
        // Discovery is two requests (the token and one list): no pacing to share.
        max_requests_per_second: None,
        workspace: &workspace,
    };
    let sandbox_units: Vec<String> = if sandbox_units.is_empty() {
        crate::sim::SANDBOX_PARTNER_MSNS
            .iter()
            .map(|m| m.to_string())
            .collect()
    } else {
        sandbox_units.to_vec()
    };
    crate::engine::discover(&how, None, &sandbox_units)
        .await
        .map_err(|e| failure(e, None, global))
}

#[cfg(test)]
mod tests {
    #[test]
    fn shards_split_a_request_cap_evenly_and_never_to_zero() {
        assert_eq!(super::rate_share(30, 1), 30);
        assert_eq!(super::rate_share(30, 3), 10);
        assert_eq!(super::rate_share(20, 3), 6);
        assert_eq!(super::rate_share(2, 5), 1);
    }
}
