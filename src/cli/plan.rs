//! `vippsctl plan`: observe, diff, render; optionally save the plan for `apply`.

use super::scope::ScopeArgs;
use super::session;
use super::{Failure, GlobalArgs, Outcome};
use crate::engine::{PlanRequest, Session, Workspace};
use crate::plan::render::{json, markdown, text};
use crate::plan::scope::Selector;
use crate::plan::Plan;
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
    /// Exit 0 when there are no changes, 1 on error, 2 when there are changes (or drift that
    /// apply cannot undo).
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Replace this object even though it matches (e.g. to rotate a webhook secret). Repeatable.
    #[arg(long, value_name = "ADDRESS")]
    pub replace: Vec<String>,
    /// List every agreement an agreement policy changes (by default one line per policy).
    #[arg(long)]
    pub detail: bool,
    /// Read each sales unit's configuration (Management API) and refuse, before any write,
    /// agreements of a sales unit that does not allow recurring or payments.
    #[arg(long)]
    pub check_capabilities: bool,
    /// List the partner's sales units (Management API, partner keys) and show which of them the
    /// configuration does not declare, and which declared merchants the list lacks. With
    /// --detailed-exitcode, a sales unit not in the configuration counts as a change (exit 2).
    #[arg(long, conflicts_with_all = ["msns", "msn_from"])]
    pub all_merchants: bool,
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

/// Connect for the merchants in scope only (a shard needs only its own credentials) and plan.
pub(crate) async fn plan_loaded(
    loaded: &crate::config::Loaded,
    global: &GlobalArgs,
    sandbox: bool,
    request: &PlanRequest,
) -> Result<(Plan, Session), Failure> {
    let scoped = crate::engine::scoped_config(loaded, &request.scope)
        .map_err(|e| session::failure(e, Some(loaded), global))?;
    let session = session::connect(global, &scoped, sandbox, request.scope.shard_count()).await?;
    let plan = crate::engine::plan(loaded, &session, &Workspace::current(), request)
        .await
        .map_err(|e| session::failure(e, Some(loaded), global))?;
    Ok((plan, session))
}

pub async fn run(args: PlanArgs, global: &GlobalArgs) -> Result<Outcome, Failure> {
    let mut request = PlanRequest {
        replace: parse_addresses(&args.replace)?,
        scope: args.scope.run_scope()?,
        check_capabilities: args.check_capabilities,
        discovered: None,
    };
    let loaded = session::load_config(&args.paths, global)?;
    // Listed before the plan: keys that cannot list sales units fail before anything is read.
    if args.all_merchants {
        let units = session::discover(global, args.sandbox, &[]).await?;
        request.discovered = Some(units);
    }
    let (plan, _session) = plan_loaded(&loaded, global, args.sandbox, &request).await?;
    print_plan(&plan, args.json, args.detail, global);
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
    Ok(
        if args.detailed_exitcode && (plan.differs() || plan.uncovered() > 0) {
            Outcome::Changes
        } else {
            Outcome::Ok
        },
    )
}

/// The plan on stdout: JSON, or text as a terminal or CI log shows it (`plan` and `show`).
pub(crate) fn print_plan(plan: &Plan, as_json: bool, detail: bool, global: &GlobalArgs) {
    if as_json {
        print!("{}", json::render(plan));
    } else {
        let style = text::Style {
            color: global.color(),
        };
        print!("{}", text::render_with(plan, style, detail));
    }
}

pub(crate) fn write_file(path: &std::path::Path, content: &str) -> Result<(), Failure> {
    crate::fsutil::write_atomic(path, content.as_bytes(), crate::fsutil::PRIVATE)
        .map_err(|e| Failure::new(format!("could not write {}", path.display())).caused_by(e))
}
