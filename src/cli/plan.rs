//! `vippsctl plan`: observe, diff, render; optionally save the plan for `apply`.

use super::scope::{RunScope, ScopeArgs};
use super::session::{self, Target};
use super::{Failure, GlobalArgs, Outcome};
use crate::plan::render::{json, markdown, text};
use crate::plan::scope::{Known, Selector};
use crate::plan::{DiffOptions, Plan, PlanContext};
use crate::resources::Address;
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
pub struct PlanArgs {
    /// Configuration files or folders (every *.yaml / *.yml inside).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Use the built-in simulator (state in .vippsctl/sandbox.json) instead of the Vipps APIs.
    #[arg(long)]
    pub sandbox: bool,
    /// Save the plan to FILE for `vippsctl apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Also write the plan as a pull-request comment (markdown) to FILE.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Print the plan as JSON (the saved-plan format) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Exit 0 when there are no changes, 1 on error, 2 when there are changes.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Replace this object even though it matches (e.g. to rotate a webhook secret). Repeatable.
    #[arg(long, value_name = "ADDRESS")]
    pub replace: Vec<String>,
    /// List every agreement an agreement policy changes (by default one line per policy).
    #[arg(long)]
    pub detail: bool,
    #[command(flatten)]
    pub scope: ScopeArgs,
}

/// `--replace` values: each names one object, as plans print it. Whether it matches an object
/// of the run is checked once the run's objects are known (`RunScope::check_names`).
pub(crate) fn parse_addresses(raw: &[String]) -> Result<Vec<Address>, Failure> {
    const EXAMPLE: &str =
        "addresses look like 123456.webhooks[https://example.com/hook], as plans print them";
    raw.iter()
        .map(|s| {
            let sel = Selector::parse(s)
                .map_err(|e| Failure::new(format!("--replace {}", e.message)).hint(EXAMPLE))?;
            match (sel.kind, sel.key) {
                (Some(kind), Some(key)) => Ok(Address::new(&sel.msn, kind, key)),
                _ => Err(Failure::new(format!(
                    "--replace `{s}` names a merchant or a kind, not one object"
                ))
                .hint(EXAMPLE)),
            }
        })
        .collect()
}

/// Load, connect, observe and diff: the plan both `plan` and `apply` start from.
pub(crate) async fn make_plan(
    paths: &[PathBuf],
    global: &GlobalArgs,
    sandbox: bool,
    opts: &DiffOptions,
    scope: &RunScope,
) -> Result<(Plan, crate::config::Loaded, Target, super::session::Apis), Failure> {
    let mut loaded = session::load_config(paths, global)?;
    scope.narrow(&mut loaded.config)?;
    let (target, apis) = session::connect(global, &loaded.config, sandbox).await?;
    let mut live = session::observe_all(&loaded.config, &apis).await?;
    // Registrations whose one-time secret never reached its sink are replaced: those an earlier
    // apply recorded (LOST_SECRETS), and those the file sinks show (a killed run records nothing).
    let mut lost = session::lost_secrets(&target.label);
    for a in crate::apply::secrets::unverified_webhooks(&loaded.config, &mut live) {
        if !lost.contains(&a) {
            lost.push(a);
        }
    }
    let requested = opts.replace.clone();
    let mut opts = opts.clone();
    for a in &lost {
        if !opts.replace.contains(a) {
            opts.replace.push(a.clone());
        }
    }
    let ctx = PlanContext {
        environment: target.environment,
        base_url: target.label.clone(),
        config_files: loaded
            .files
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        config_digest: loaded.digest.clone(),
        spec_versions: super::spec_versions().to_string(),
    };
    let mut plan = crate::plan::diff(&loaded.config, &live, &ctx, &opts)
        .map_err(|problems| session::problems_failure(&problems, &loaded, global))?;
    for c in plan.merchants.iter_mut().flat_map(|m| m.changes.iter_mut()) {
        if c.action.is_change() && lost.contains(&c.address) {
            c.reason = Some(
                "its one-time secret is not in its sink (an earlier apply lost it or was interrupted)"
                    .into(),
            );
        }
    }
    if scope.names_objects() || !requested.is_empty() {
        scope.check_names(&Known::of(&plan, &loaded.config, &live), &requested)?;
    }
    scope.restrict(&mut plan);
    Ok((plan, loaded, target, apis))
}

pub async fn run(args: PlanArgs, global: &GlobalArgs) -> Result<Outcome, Failure> {
    let opts = DiffOptions {
        replace: parse_addresses(&args.replace)?,
    };
    let scope = RunScope::from_args(&args.scope)?;
    let (plan, _loaded, _target, _apis) =
        make_plan(&args.paths, global, args.sandbox, &opts, &scope).await?;
    if args.json {
        print!("{}", json::render(&plan));
    } else {
        print!(
            "{}",
            text::render_with(
                &plan,
                text::Style {
                    color: global.color()
                },
                args.detail
            )
        );
    }
    if let Some(out) = &args.out {
        write_file(out, &json::render(&plan))?;
        eprintln!(
            "Saved the plan to {}; apply it with: vippsctl apply {}",
            out.display(),
            out.display()
        );
    }
    if let Some(md) = &args.markdown {
        write_file(md, &markdown::render(&plan))?;
    }
    Ok(if args.detailed_exitcode && plan.has_changes() {
        Outcome::Changes
    } else {
        Outcome::Ok
    })
}

pub(crate) fn write_file(path: &std::path::Path, content: &str) -> Result<(), Failure> {
    crate::fsutil::write_atomic(path, content.as_bytes(), crate::fsutil::PRIVATE)
        .map_err(|e| Failure::new(format!("could not write {}", path.display())).caused_by(e))
}
