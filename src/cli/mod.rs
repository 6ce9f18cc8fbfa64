//! The command line: one file per subcommand. Each parses its arguments, calls the layers below and
//! maps the outcome to an exit code. Data goes to stdout; logs, progress and errors to stderr.

mod apply;
mod completions;
mod import;
mod plan;
mod qr;
mod report;
pub mod schema;
mod scope;
mod session;
mod show;
mod sim;
mod specs;
pub mod validate;

pub use report::{Failure, Outcome};

use crate::domain::Environment;
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
    /// `apply` stopped by SIGINT (Ctrl-C), after its report: 128 + 2, as shells report it.
    pub const SIGINT: u8 = 130;
    /// `apply` stopped by SIGTERM (a cancelled CI job), after its report: 128 + 15.
    pub const SIGTERM: u8 = 143;
}

#[derive(Debug, Parser)]
#[command(
    name = "vippsctl",
    version = crate::cli::version_string(),
    about = "Plan and apply Vipps MobilePay merchant setup (webhooks, QR codes, recurring agreements) kept as YAML in git",
    propagate_version = true,
    after_help = "\
Examples:
  vippsctl validate setup/                          # offline checks, file:line:column errors
  vippsctl plan setup/ --sandbox                    # try it on the built-in simulator
  vippsctl plan setup/ --out plan.json              # save a plan for review
  vippsctl apply plan.json                          # apply exactly what was reviewed
  vippsctl qr export setup/ --out qr/               # printable QR codes and qr/index.html

Credentials come from VIPPS_CLIENT_ID, VIPPS_CLIENT_SECRET and VIPPS_SUBSCRIPTION_KEY.
Docs: docs/guide.md (getting started), docs/cli.md (every command and flag)."
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
    /// Longest wait for one API request, from connecting to the last byte (e.g. 10s, 2m). A
    /// read that got no answer is sent at most three times, a write at most twice.
    #[arg(
        long,
        global = true,
        value_name = "DURATION",
        default_value = "30s",
        value_parser = crate::duration::parse_positive,
        env = "VIPPSCTL_TIMEOUT"
    )]
    pub timeout: std::time::Duration,
    /// Longest a whole plan, apply, import or qr export may take (e.g. 10m, 2h). An apply that
    /// reaches it starts no new write and ends as when interrupted.
    #[arg(
        long,
        global = true,
        value_name = "DURATION",
        default_value = "30m",
        value_parser = crate::duration::parse_positive,
        env = "VIPPSCTL_DEADLINE"
    )]
    pub deadline: std::time::Duration,
    /// At most N requests per second with one set of API keys, beside the documented
    /// per-merchant limits (for a gateway limit you were given). With --shard i/n each shard
    /// takes N/n: the shards of one run share the keys.
    #[arg(long, global = true, value_name = "N", env = "VIPPSCTL_MAX_REQUESTS_PER_SECOND",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_requests_per_second: Option<u32>,
    /// When the run started (the deadline counts from here).
    #[arg(skip = tokio::time::Instant::now())]
    pub started: tokio::time::Instant,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print version information, including the API spec versions compiled in.
    Version,
    /// Check config files offline and report every problem with its file, line and column.
    #[command(after_help = "\
Examples:
  vippsctl validate setup/                  # every *.yaml / *.yml in the folder
  vippsctl validate setup/ --strict         # warnings fail too (for CI)
  vippsctl validate setup/ --format json    # machine-readable diagnostics

Needs no credentials and makes no network calls.")]
    Validate(validate::ValidateArgs),
    /// Show what apply would change: read the live state and compare it with the configuration.
    #[command(after_help = "\
Examples:
  vippsctl plan setup/ --sandbox                              # against the simulator
  vippsctl plan setup/ --out plan.json                        # save it for `vippsctl apply plan.json`
  vippsctl plan setup/ --detailed-exitcode --markdown plan.md # CI: exit 2 on changes, PR comment
  vippsctl plan setup/ --replace '123456.webhooks[https://example.com/hook]'  # rotate a secret

Exit codes: 0 no changes (or changes without --detailed-exitcode), 1 error, 2 changes.")]
    Plan(plan::PlanArgs),
    /// Apply a saved plan, or plan and apply after confirmation.
    #[command(after_help = "\
Examples:
  vippsctl apply plan.json                       # the saved plan; refused if live state moved
  vippsctl apply setup/                          # plan, show, ask, apply
  vippsctl apply setup/ --auto-approve           # CI on merge: no question asked
  vippsctl apply setup/ --sandbox --auto-approve # against the simulator

Safe to re-run after any failure: it plans again from the live state.")]
    Apply(apply::ApplyArgs),
    /// Render a saved plan again (text, markdown or JSON), with no network and no credentials.
    #[command(after_help = "\
Examples:
  vippsctl show plan.json                      # as `plan` printed it
  vippsctl show plan.json --markdown plan.md   # the pull-request comment
  vippsctl show plan.json --json | jq '.resource_changes[] | .address'")]
    Show(show::ShowArgs),
    /// Write the live webhooks, QR codes and agreements of merchants as configuration.
    Import(import::ImportArgs),
    /// Print the JSON Schema of the config files (for editors).
    #[command(after_help = "\
Examples:
  vippsctl schema > vippsctl.schema.json
  # then start a config file with:
  # yaml-language-server: $schema=vippsctl.schema.json")]
    Schema,
    /// Inspect the OpenAPI specs: the surface vippsctl uses, and what an update changes.
    #[command(after_help = "\
Examples:
  vippsctl specs diff openapi/ new-openapi/ --config setup/   # is a new spec breaking for us?
  vippsctl specs surface openapi/qr.yaml                      # what vippsctl uses of a spec")]
    Specs {
        #[command(subcommand)]
        command: specs::SpecsCommand,
    },
    /// Run the local Vipps simulator (`sim serve`) and drive it: deliveries, QR scans, events,
    /// payments.
    #[command(after_help = "\
Examples:
  vippsctl sim serve --port 8080 --state sim.json   # then: vippsctl plan setup/ --base-url http://127.0.0.1:8080
  vippsctl sim serve --fault-rate 0.1 --seed 7      # 10% of calls fail, reproducibly
  vippsctl sim serve --port 8080 --forward-to http://127.0.0.1:3000/vipps/webhooks  # signed webhooks to your app
  vippsctl sim trigger epayments.payment.captured.v1 --msn 123456 --base-url http://127.0.0.1:8080
  vippsctl sim scan 123456 till-1 --base-url http://127.0.0.1:8080     # a customer checks in
  vippsctl sim pay order-77 --msn 123456 --base-url http://127.0.0.1:8080  # the customer pays
  vippsctl sim deliveries --base-url http://127.0.0.1:8080             # what was sent, and the answers")]
    Sim(sim::SimArgs),
    /// Export printable images of the declared QR codes (`qr export`).
    #[command(after_help = "\
Examples:
  vippsctl qr export setup/ --out qr/ --format png --size 1000")]
    Qr(qr::QrArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell).
    Completions(completions::CompletionsArgs),
    /// Print the man page (roff) of vippsctl and its subcommands.
    Man(completions::ManArgs),
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
    /// When `--deadline` runs out.
    pub fn deadline_at(&self) -> tokio::time::Instant {
        self.started + self.deadline
    }

    /// Whether stdout (plans, reports, diagnostics of `validate`) is coloured: see [`colour`].
    pub fn color(&self) -> bool {
        use std::io::IsTerminal;
        colour(self.no_color, std::io::stdout().is_terminal(), &env_var)
    }

    /// The same rule for stderr (log lines, progress, errors and warnings).
    pub fn color_stderr(&self) -> bool {
        use std::io::IsTerminal;
        colour(self.no_color, std::io::stderr().is_terminal(), &env_var)
    }
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Whether a stream gets colour, the same rule for stdout and stderr, strongest first:
/// `--no-color` and `NO_COLOR` (set and not empty) never colour; `CLICOLOR_FORCE` or
/// `FORCE_COLOR` (set, not empty and not `0`) colour even when the stream is not a terminal;
/// otherwise only a terminal colours, and not with `TERM=dumb` or `CLICOLOR=0`.
pub(crate) fn colour(
    no_color_flag: bool,
    is_terminal: bool,
    env: &dyn Fn(&str) -> Option<String>,
) -> bool {
    let set = |name: &str| env(name).filter(|v| !v.is_empty());
    if no_color_flag || set("NO_COLOR").is_some() {
        return false;
    }
    if ["CLICOLOR_FORCE", "FORCE_COLOR"]
        .iter()
        .any(|n| set(n).is_some_and(|v| v != "0"))
    {
        return true;
    }
    is_terminal && !dumb_terminal(env) && set("CLICOLOR").is_none_or(|v| v != "0")
}

/// `TERM=dumb`: a terminal that cannot move the cursor or show escape codes, so no colour and no
/// redrawn progress bar (progress comes as plain lines instead).
pub(crate) fn dumb_terminal(env: &dyn Fn(&str) -> Option<String>) -> bool {
    env("TERM").is_some_and(|t| t == "dumb")
}

fn init_tracing(verbose: u8, ansi: bool) {
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
        .with_ansi(ansi)
        .with_target(false)
        .without_time()
        .try_init();
}

/// The binary's entry point: parse, run, print the one error report, exit.
pub fn main() -> ExitCode {
    // clap exits 2 on a usage error, which `plan --detailed-exitcode` uses for "changes present":
    // a mistyped flag in CI must not read as a plan with changes.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::ERROR
            } else {
                exit::OK
            });
        }
    };
    init_tracing(cli.global.verbose, cli.global.color_stderr());
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

/// Run a command that reads (and at most writes local files) under `--deadline`.
async fn within_deadline(
    global: &GlobalArgs,
    command: impl std::future::Future<Output = Result<Outcome, Failure>>,
) -> Result<Outcome, Failure> {
    match tokio::time::timeout_at(global.deadline_at(), command).await {
        Ok(r) => r,
        Err(_) => Err(deadline_passed(global)),
    }
}

/// The failure of a run cut short by `--deadline` before it changed anything.
pub(crate) fn deadline_passed(global: &GlobalArgs) -> Failure {
    Failure::new(format!(
        "the run did not finish within its deadline of {} (--deadline); nothing was changed in Vipps",
        crate::duration::show(global.deadline)
    ))
    .hint("run again with a longer --deadline, or -v to see which API calls take the time")
}

async fn run(cli: Cli) -> Result<Outcome, Failure> {
    let global = &cli.global;
    match cli.command {
        Command::Plan(args) => within_deadline(global, plan::run(args, global)).await,
        Command::Import(args) => within_deadline(global, import::run(args, global)).await,
        Command::Qr(args) => within_deadline(global, qr::run(args, global)).await,
        // Apply keeps its own deadline: it stops starting writes and reports (see apply.rs).
        Command::Apply(args) => apply::run(args, global).await,
        Command::Version => {
            println!("vippsctl {}", version_string());
            Ok(Outcome::Ok)
        }
        Command::Validate(args) => Ok(validate::run(&args, cli.global.color())),
        Command::Show(args) => show::run(&args, global),
        Command::Schema => Ok(schema::run()),
        Command::Specs { command } => specs::run(command),
        Command::Sim(args) => sim::run(args, global).await,
        Command::Completions(args) => completions::completions(&args),
        Command::Man(args) => completions::man(&args),
    }
}
