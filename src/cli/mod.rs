//! The command line: one file per subcommand. Each parses its arguments, calls the layers below and
//! maps the outcome to an exit code. Data goes to stdout; logs, progress and errors to stderr.

mod apply;
mod import;
mod plan;
mod report;
pub mod schema;
mod scope;
mod session;
mod sim;
mod specs;
pub mod validate;

pub use report::{Failure, Outcome};

use crate::api::Environment;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Exit codes that CI can branch on (also documented in docs/exit-codes.md).
pub mod exit {
    /// Success, or no changes.
    pub const OK: u8 = 0;
    /// An error: bad input, an API failure, a refused plan.
    pub const ERROR: u8 = 1;
    /// `plan --detailed-exitcode`: changes are present.
    pub const CHANGES: u8 = 2;
}

#[derive(Debug, Parser)]
#[command(
    name = "vippsctl",
    version = crate::cli::version_string(),
    about = "Plan and apply Vipps MobilePay merchant setup (webhooks, QR codes, recurring agreements) kept as YAML in git",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options that every subcommand takes.
#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// Vipps MobilePay environment to talk to (overrides `environment:` in the config).
    #[arg(long = "env", global = true, value_enum, env = "VIPPSCTL_ENV")]
    pub environment: Option<Environment>,
    /// Base URL of the API (for the simulator or a proxy); overrides the environment's host.
    #[arg(long, global = true, env = "VIPPSCTL_BASE_URL")]
    pub base_url: Option<String>,
    /// More logging on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Never colour the output (also: the NO_COLOR environment variable).
    #[arg(long, global = true)]
    pub no_color: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print version information, including the API spec versions compiled in.
    Version,
    /// Check config files offline and report every problem with its file, line and column.
    Validate(validate::ValidateArgs),
    /// Show what apply would change: read the live state and compare it with the configuration.
    Plan(plan::PlanArgs),
    /// Apply a saved plan, or plan and apply after confirmation.
    Apply(apply::ApplyArgs),
    /// Write the live webhooks, QR codes and agreements of merchants as configuration.
    Import(import::ImportArgs),
    /// Print the JSON Schema of the config files (for editors).
    Schema,
    /// Inspect the OpenAPI specs: the surface vippsctl uses, and what an update changes.
    Specs {
        #[command(subcommand)]
        command: specs::SpecsCommand,
    },
    /// Run the local Vipps simulator (`sim serve`).
    Sim(sim::SimArgs),
}

/// `vippsctl --version`: the crate version and the API spec versions compiled in.
pub fn version_string() -> &'static str {
    concat!(
        env!("CARGO_PKG_VERSION"),
        " (specs: ",
        env!("VIPPSCTL_SPEC_VERSIONS"),
        ")"
    )
}

/// The API spec versions the clients were generated from (set by build.rs).
pub fn spec_versions() -> &'static str {
    crate::api::generated::SPEC_VERSIONS
}

impl GlobalArgs {
    /// Colour is used only on a terminal, and never with `--no-color` or `NO_COLOR`.
    pub fn color(&self) -> bool {
        use std::io::IsTerminal;
        !self.no_color
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && std::io::stdout().is_terminal()
    }

    /// The same for what goes to stderr (diagnostics, progress).
    pub fn color_stderr(&self) -> bool {
        use std::io::IsTerminal;
        !self.no_color
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && std::io::stderr().is_terminal()
    }
}

fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("VIPPSCTL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("vippsctl={level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .try_init();
}

/// The binary's entry point: parse, run, print the one error report, exit.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return report::print(&Failure::new("could not start the async runtime").caused_by(e))
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(outcome) => outcome.into(),
        Err(failure) => report::print(&failure),
    }
}

async fn run(cli: Cli) -> Result<Outcome, Failure> {
    match cli.command {
        Command::Version => {
            println!("vippsctl {}", version_string());
            Ok(Outcome::Ok)
        }
        Command::Validate(args) => Ok(validate::run(&args, cli.global.color())),
        Command::Plan(args) => plan::run(args, &cli.global).await,
        Command::Apply(args) => apply::run(args, &cli.global).await,
        Command::Import(args) => import::run(args, &cli.global).await,
        Command::Schema => Ok(schema::run()),
        Command::Specs { command } => specs::run(command),
        Command::Sim(args) => sim::run(args).await,
    }
}
