//! `vippsctl show PLANFILE`: render a saved plan again, as text, markdown or JSON, with no
//! network and no credentials (a PR job plans once and renders as often as it needs).

use super::{Failure, GlobalArgs, Outcome};
use crate::plan::render::{json, markdown};
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
pub struct ShowArgs {
    /// A plan saved with `plan --out`.
    #[arg(value_name = "PLANFILE")]
    pub plan: PathBuf,
    /// Also write the plan as a pull-request comment (markdown) to FILE.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Print the plan as JSON (format 2, as `plan --json`) instead of text.
    #[arg(long)]
    pub json: bool,
    /// List every agreement an agreement policy changes (by default one line per policy).
    #[arg(long)]
    pub detail: bool,
}

pub fn run(args: &ShowArgs, global: &GlobalArgs) -> Result<Outcome, Failure> {
    let name = args.plan.display().to_string();
    let content = std::fs::read_to_string(&args.plan)
        .map_err(|e| Failure::new(format!("could not read {name}")).caused_by(e))?;
    let plan = json::read(&name, &content).map_err(|e| Failure::from_error(&e))?;
    super::plan::print_plan(&plan, args.json, args.detail, global);
    if let Some(md) = &args.markdown {
        super::plan::write_file(md, &markdown::render(&plan))?;
    }
    Ok(Outcome::Ok)
}
