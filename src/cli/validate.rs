//! `vippsctl validate PATH...`: check config files offline and print located diagnostics.

use super::Outcome;
use crate::config::{self, Diagnostic, Severity};
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
pub struct ValidateArgs {
    /// Config files, or folders of `*.yaml`/`*.yml` files.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Treat warnings as errors.
    #[arg(long)]
    pub strict: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// What `validate` prints and whether it passed; separate from printing so tests can call it.
pub fn validate(
    args: &ValidateArgs,
    env: &dyn Fn(&str) -> Option<String>,
    color: bool,
) -> (String, bool) {
    let (diags, sources, summary) = match config::load(&args.paths, env) {
        Ok(loaded) => {
            let (merchants, objects) = (loaded.config.merchants.len(), loaded.object_count());
            let summary = format!(
                "{merchants} {}{}, {objects} {}: valid",
                if merchants == 1 {
                    "merchant"
                } else {
                    "merchants"
                },
                if loaded.config.declares_partner_webhooks() {
                    " and the partner level"
                } else {
                    ""
                },
                if objects == 1 { "object" } else { "objects" }
            );
            (loaded.warnings, loaded.sources, Some(summary))
        }
        Err(d) => (d.items, d.sources, None),
    };
    let warnings = diags
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count();
    let ok = summary.is_some() && !(args.strict && warnings > 0);
    let text = match args.format {
        Format::Json => {
            let mut t = config::render_json(&diags, &sources);
            t.push('\n');
            t
        }
        Format::Text => {
            let mut t = config::render(&diags, &sources, color);
            match (&summary, ok) {
                (Some(s), true) if warnings == 0 => t.push_str(&format!("{s}\n")),
                (Some(s), true) => t.push_str(&format!("{s} ({warnings} warning(s))\n")),
                (Some(_), false) => t.push_str(&format!(
                    "{warnings} warning(s); --strict treats them as errors\n"
                )),
                (None, _) => t.push_str(&count_line(&diags)),
            }
            t
        }
    };
    (text, ok)
}

fn count_line(diags: &[Diagnostic]) -> String {
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    format!("{errors} error(s), {warnings} warning(s): invalid\n")
}

pub fn run(args: &ValidateArgs, color: bool) -> Outcome {
    let (text, ok) = validate(args, &|name| std::env::var(name).ok(), color);
    print!("{text}");
    if ok {
        Outcome::Ok
    } else {
        Outcome::Failed
    }
}
