//! `vippsctl specs`: the spec surface vippsctl depends on, and what a spec update changes in it.

use super::{Failure, Outcome};
use crate::specs::diff::{api_for_file, diff_paths, Severity};
use crate::specs::ops::Api;
use crate::specs::surface::load_surface;
use crate::specs::usage::ConfigUsage;
use std::path::PathBuf;

#[derive(Debug, clap::Subcommand)]
pub enum SpecsCommand {
    /// Classify the changes between two spec files (or directories of them) for vippsctl.
    Diff(DiffArgs),
    /// Print the surface of a spec that vippsctl uses (what the snapshot tests record).
    Surface(SurfaceArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Markdown,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    Breaking,
    Warning,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ApiArg {
    AccessToken,
    Webhooks,
    Qr,
    Recurring,
}

impl From<ApiArg> for Api {
    fn from(a: ApiArg) -> Api {
        match a {
            ApiArg::AccessToken => Api::AccessToken,
            ApiArg::Webhooks => Api::Webhooks,
            ApiArg::Qr => Api::Qr,
            ApiArg::Recurring => Api::Recurring,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The spec in use (a file, or a directory such as `openapi/`).
    pub old: PathBuf,
    /// The new spec (a file, or a directory with the same file names).
    pub new: PathBuf,
    /// Config files or directories: each change then says how many objects it affects.
    #[arg(long, num_args = 1..)]
    pub config: Vec<PathBuf>,
    /// Output format (markdown suits a pull-request comment).
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Exit 1 when a change of this severity (or worse) is found.
    #[arg(long, value_enum, default_value = "breaking")]
    pub fail_on: FailOn,
    /// Which API the files describe, when their names do not tell.
    #[arg(long, value_enum)]
    pub api: Option<ApiArg>,
}

#[derive(Debug, clap::Args)]
pub struct SurfaceArgs {
    /// The spec file (e.g. `openapi/qr.yaml`).
    pub file: PathBuf,
    /// Which API the file describes, when its name does not tell.
    #[arg(long, value_enum)]
    pub api: Option<ApiArg>,
}

pub fn run(cmd: SpecsCommand) -> Result<Outcome, Failure> {
    match cmd {
        SpecsCommand::Diff(args) => diff(args),
        SpecsCommand::Surface(args) => {
            let api = match args.api {
                Some(a) => a.into(),
                None => api_for_file(&args.file)
                    .map_err(|e| Failure::from_error(&e).hint("name the API with --api"))?,
            };
            let s = load_surface(&args.file, api)?;
            print!("{}", s.to_text());
            Ok(Outcome::Ok)
        }
    }
}

fn diff(args: DiffArgs) -> Result<Outcome, Failure> {
    let mut report = diff_paths(&args.old, &args.new, args.api.map(Api::from)).map_err(|e| {
        Failure::from_error(&e).hint("name the API with --api, or use files named like qr.yaml")
    })?;
    if !args.config.is_empty() {
        let usage = ConfigUsage::load(&args.config)?;
        report.annotate(&usage);
    }
    let rendered = match args.format {
        Format::Text => report.render_text(),
        Format::Markdown => report.render_markdown(),
        Format::Json => report.render_json(),
    };
    print!("{rendered}");
    if report.apis.is_empty() {
        return Err(Failure::new(format!(
            "no spec of qr, webhooks, recurring or access-token found in both {} and {}",
            args.old.display(),
            args.new.display()
        )));
    }
    let errors: Vec<String> = report.errors().filter_map(|a| a.error.clone()).collect();
    if !errors.is_empty() {
        let mut f = Failure::new("some specs could not be compared");
        for e in errors {
            f = f.caused_by(e);
        }
        return Err(f);
    }
    let threshold = match args.fail_on {
        FailOn::Breaking => Some(Severity::Breaking),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Never => None,
    };
    let fails = threshold.is_some_and(|t| report.changes().any(|c| c.severity >= t));
    Ok(if fails { Outcome::Failed } else { Outcome::Ok })
}
