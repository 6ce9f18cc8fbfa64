//! `vippsctl apply`: apply a saved plan exactly, or plan and apply after confirmation.

use super::plan::{parse_addresses, plan_loaded};
use super::scope::ScopeArgs;
use super::session;
use super::{Failure, GlobalArgs, Outcome};
use crate::apply::{ActionResult, ApplyOptions, Progress};
use crate::engine::{PlanRequest, Session, Workspace};
use crate::plan::render::{json, text};
use crate::plan::Plan;
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
pub struct ApplyArgs {
    /// A saved plan (from `plan --out`), or configuration files or folders to plan and apply.
    #[arg(required = true, value_name = "PLAN|PATH")]
    pub paths: Vec<PathBuf>,
    /// Use the built-in simulator (state in .vippsctl/sandbox.json) instead of the Vipps APIs.
    #[arg(long)]
    pub sandbox: bool,
    /// Apply without asking (for CI).
    #[arg(long)]
    pub auto_approve: bool,
    /// Concurrent writes per merchant.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallelism: u16,
    /// Where webhook secrets go when a webhook declares no `secret:` sink (a dotenv file, mode 0600).
    #[arg(long, value_name = "FILE")]
    pub secrets_out: Option<PathBuf>,
    /// Replace this object even though it matches (e.g. to rotate a webhook secret). Repeatable.
    #[arg(long, value_name = "ADDRESS")]
    pub replace: Vec<String>,
    /// Print one JSON object per line on stdout (planned changes, each change as it starts and
    /// finishes, a final summary) instead of text, for CI systems that parse results. Needs a
    /// saved plan or --auto-approve.
    #[arg(long)]
    pub json: bool,
    /// Write what happened to each merchant to FILE (JSON: outcome, error, changes done), also
    /// when the run fails before its writes; `--msn-from FILE --only failed` resumes the rest.
    #[arg(long, value_name = "FILE")]
    pub results: Option<PathBuf>,
    /// Wait up to this long for another apply on the same merchant to finish (e.g. 5m); by
    /// default fail at once, naming the lock file and the holder's pid.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = crate::duration::parse)]
    pub lock_timeout: std::time::Duration,
    /// Read each sales unit's configuration (Management API) and refuse, before any write,
    /// agreements of a sales unit that does not allow recurring or payments.
    #[arg(long)]
    pub check_capabilities: bool,
    #[command(flatten)]
    pub scope: ScopeArgs,
}

/// A single file whose content starts with `{` is a saved plan; YAML configs never do.
fn saved_plan(paths: &[PathBuf]) -> Option<&PathBuf> {
    let [p] = paths else { return None };
    let text = std::fs::read_to_string(p).ok()?;
    text.trim_start().starts_with('{').then_some(p)
}

pub async fn run(args: ApplyArgs, global: &GlobalArgs) -> Result<Outcome, Failure> {
    let opts = ApplyOptions {
        parallelism: args.parallelism.into(),
        secrets_out: args.secrets_out.clone(),
        stop: crate::apply::Stop::new(),
    };
    if let Some(path) = saved_plan(&args.paths) {
        return apply_saved(path, &args, global, &opts).await;
    }
    if args.json && !args.auto_approve {
        return Err(Failure::new("--json cannot ask for confirmation")
            .hint("pass --auto-approve, or apply a reviewed plan saved with `plan --out FILE`"));
    }
    let request = PlanRequest {
        replace: parse_addresses(&args.replace)?,
        scope: args.scope.run_scope()?,
        check_capabilities: args.check_capabilities,
        discovered: None,
    };
    // Loaded once: the lock and the plan see the same configuration.
    let loaded = session::load_config(&args.paths, global)?;
    // Until the first write, the deadline simply ends the run: nothing was changed yet.
    let planned = tokio::time::timeout_at(global.deadline_at(), async {
        let lock = lock_merchants(&loaded, args.lock_timeout).await?;
        let planned = plan_loaded(&loaded, global, args.sandbox, &request).await?;
        Ok::<_, Failure>((lock, planned))
    })
    .await
    .map_err(|_| super::deadline_passed(global))
    .and_then(|r| r);
    let (_lock, (plan, session)) =
        not_run_on_error(planned, &args, &loaded, &request.scope, global)?;
    report_removed(crate::secrets::sinks::remove_leftover_temp_files(
        &loaded.config,
        opts.secrets_out.as_deref(),
    ));
    // The plan is data on stdout; the question and progress go to stderr.
    if args.json {
        json_lines::planned(&plan);
    } else {
        print!(
            "{}",
            text::render(
                &plan,
                text::Style {
                    color: global.color()
                }
            )
        );
    }
    if !plan.has_changes() {
        return nothing_to_apply(&args, &plan, &session);
    }
    let mut deadline = global.deadline_at();
    if !args.auto_approve {
        // Time spent reading the plan and answering is not the run's.
        let asked = tokio::time::Instant::now();
        confirm()?;
        deadline += asked.elapsed();
    }
    execute(&plan, &loaded, &session, &opts, global, deadline, &args).await
}

/// A plan without changes: the JSON summary and the results file still say so.
fn nothing_to_apply(args: &ApplyArgs, plan: &Plan, session: &Session) -> Result<Outcome, Failure> {
    if args.json {
        json_lines::summary(&crate::apply::ApplyReport::default());
    }
    write_results(args.results.as_deref(), plan, &Default::default(), session)?;
    Ok(Outcome::Ok)
}

/// `--results FILE`: what happened to each merchant of the plan.
fn write_results(
    path: Option<&std::path::Path>,
    plan: &Plan,
    report: &crate::apply::ApplyReport,
    session: &Session,
) -> Result<(), Failure> {
    let Some(path) = path else { return Ok(()) };
    crate::engine::results::FleetResults::of(plan, report, &session.label)
        .write(path)
        .map_err(|e| Failure::from_error(&e))
}

/// A run that ends before its writes still writes its results file (`--results`): every
/// merchant of the run `not_run`, with the error, so a resumed run picks them all up.
fn not_run_on_error<T>(
    r: Result<T, Failure>,
    args: &ApplyArgs,
    loaded: &crate::config::Loaded,
    scope: &crate::plan::scope::RunScope,
    global: &GlobalArgs,
) -> Result<T, Failure> {
    let (Err(f), Some(path)) = (&r, &args.results) else {
        return r;
    };
    let msns: Vec<String> = crate::engine::scoped_config(loaded, scope)
        .map(|c| c.merchants.iter().map(|m| m.msn.clone()).collect())
        .unwrap_or_default();
    let error = f.render();
    let error = error
        .lines()
        .next()
        .unwrap_or("the run failed before applying");
    let label = if args.sandbox {
        "sandbox".to_string()
    } else {
        // Where the run would have applied, as `engine::connect` picks it.
        global.base_url.clone().unwrap_or_else(|| {
            global
                .environment
                .or(loaded.config.environment)
                .unwrap_or_default()
                .base_url()
                .to_string()
        })
    };
    let results = crate::engine::results::FleetResults::not_run(
        &msns,
        error.trim_start_matches("error: "),
        &label,
    );
    if let Err(e) = results.write(path) {
        eprint!("{}", Failure::from_error(&e).render());
    }
    r
}

/// Serialise applies to the same merchants from this working directory (see `apply::lock`).
/// A configuration that does not load locks nothing: planning reports its errors next.
async fn lock_merchants(
    loaded: &crate::config::Loaded,
    wait: std::time::Duration,
) -> Result<crate::apply::lock::ApplyLock, Failure> {
    use crate::apply::lock::{acquire, LockError};
    // The partner level too: two applies must not both register its webhooks.
    let msns: Vec<String> = loaded
        .config
        .units()
        .iter()
        .map(|m| m.msn.clone())
        .collect();
    let waiting = |msn: &str,
                   path: &std::path::Path,
                   holder: Option<&crate::apply::lock::Holder>| {
        eprintln!(
            "Waiting up to {} (--lock-timeout) for another vippsctl apply on merchant {msn} ({}) to finish (lock {})",
            crate::duration::show(wait),
            holder.map_or("its pid is not recorded".to_string(), ToString::to_string),
            path.display()
        );
    };
    // Relative to the working directory, as the message shows it.
    acquire(Workspace::current().root(), &msns, wait, &waiting)
        .await
        .map_err(|e| {
            let hint = match &e {
                LockError::Busy { waited, .. } if waited.is_zero() => "wait for it to finish, or pass --lock-timeout DURATION (e.g. 5m) to wait; the lock is released when that process ends, however it ends",
                LockError::Busy { .. } => "wait for it to finish, or pass a longer --lock-timeout; the lock is released when that process ends, however it ends",
                LockError::Io { .. } => "check that the working directory is writable",
            };
            Failure::from_error(&e).hint(hint)
        })
}

/// Temporary files a killed sink write left hold secrets: they are removed, and the user told.
fn report_removed(paths: Vec<PathBuf>) {
    for p in paths {
        eprintln!(
            "Removed {}: a temporary copy of a secret sink left by an interrupted apply",
            p.display()
        );
    }
}

fn confirm() -> Result<(), Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(Failure::new(
            "refusing to apply without confirmation: standard input is not a terminal",
        )
        .hint("pass --auto-approve (CI), or apply a reviewed plan saved with `plan --out FILE`"));
    }
    eprint!("\nApply these changes? Only 'yes' is accepted: ");
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|e| Failure::new("could not read the answer").caused_by(e))?;
    if answer.trim() != "yes" {
        return Err(Failure::new("apply cancelled; nothing was changed"));
    }
    Ok(())
}

async fn apply_saved(
    path: &PathBuf,
    args: &ApplyArgs,
    global: &GlobalArgs,
    opts: &ApplyOptions,
) -> Result<Outcome, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::new(format!("could not read {}", path.display())).caused_by(e))?;
    let saved =
        json::read(&path.display().to_string(), &text).map_err(|e| Failure::from_error(&e))?;
    let config_paths: Vec<PathBuf> = saved.config_files.iter().map(PathBuf::from).collect();
    let sandbox = args.sandbox || saved.base_url == "sandbox";
    let extra_replace = parse_addresses(&args.replace)?;
    if args.check_capabilities {
        return Err(Failure::new(format!(
            "--check-capabilities does not apply to a saved plan: {} was made as it is",
            path.display()
        ))
        .hint("pass --check-capabilities to `vippsctl plan` when making the plan"));
    }
    if !args.scope.run_scope()?.is_empty() {
        return Err(Failure::new(format!(
            "{} was planned with its own scope; --msn, --shard, --target and --exclude do not apply to a saved plan",
            path.display()
        ))
        .hint("pass them to `vippsctl plan` when making the plan"));
    }
    let scope = match &saved.scope {
        Some(s) => crate::plan::scope::RunScope::from_saved(s).map_err(super::scope::failure)?,
        None => Default::default(),
    };
    let loaded = session::load_config(&config_paths, global)?;
    let name = path.display().to_string();
    let planned = tokio::time::timeout_at(global.deadline_at(), async {
        let lock = lock_merchants(&loaded, args.lock_timeout).await?;
        let scoped = crate::engine::scoped_config(&loaded, &scope)
            .map_err(|e| session::failure(e, Some(&loaded), global))?;
        let session = session::connect(global, &scoped, sandbox, scope.shard_count()).await?;
        let plan = crate::engine::replan_saved(
            saved,
            &name,
            &loaded,
            &session,
            &Workspace::current(),
            &extra_replace,
        )
        .await
        .map_err(|e| session::failure(e, Some(&loaded), global))?;
        Ok::<_, Failure>((lock, (plan, session)))
    })
    .await
    .map_err(|_| super::deadline_passed(global))
    .and_then(|r| r);
    let (_lock, (plan, session)) = not_run_on_error(planned, args, &loaded, &scope, global)?;
    report_removed(crate::secrets::sinks::remove_leftover_temp_files(
        &loaded.config,
        opts.secrets_out.as_deref(),
    ));
    if args.json {
        json_lines::planned(&plan);
    }
    if !plan.has_changes() {
        eprintln!("The saved plan has no changes.");
        return nothing_to_apply(args, &plan, &session);
    }
    execute(
        &plan,
        &loaded,
        &session,
        opts,
        global,
        global.deadline_at(),
        args,
    )
    .await
}

async fn execute(
    plan: &Plan,
    loaded: &crate::config::Loaded,
    session: &Session,
    opts: &ApplyOptions,
    global: &GlobalArgs,
    deadline: tokio::time::Instant,
    args: &ApplyArgs,
) -> Result<Outcome, Failure> {
    let json = args.json;
    use crate::apply::stop::GRACE;
    let signals = signals::watch(opts.stop.clone());
    let at_deadline = {
        let stop = opts.stop.clone();
        let limit = crate::duration::show(global.deadline);
        tokio::spawn(async move {
            tokio::time::sleep_until(deadline).await;
            eprintln!(
                "The run deadline of {limit} (--deadline) passed: no new change starts; changes in flight get up to {} to finish",
                crate::duration::show(GRACE)
            );
            stop.request(
                format!("stopped at its deadline of {limit} (--deadline)"),
                GRACE,
            );
        })
    };
    let stderr = StderrProgress::new();
    let lines = json_lines::Lines;
    let progress: &dyn Progress = if json { &lines } else { &stderr };
    let applied =
        crate::engine::apply(plan, loaded, session, &Workspace::current(), opts, progress).await;
    at_deadline.abort();
    stderr.finish();
    report_removed(applied.removed_temp_files);
    let report = applied.report;
    if json {
        json_lines::summary(&report);
    } else {
        print!("\n{}", report.render());
    }
    write_results(args.results.as_deref(), plan, &report, session)?;
    if let Some(e) = applied.record_error {
        return Err(session::failure(e, None, global));
    }
    if let Some(code) = signals.exit_code() {
        return Ok(Outcome::Interrupted(code));
    }
    if report.succeeded() {
        Ok(Outcome::Ok)
    } else {
        Ok(Outcome::Failed)
    }
}

/// `apply --json`: one JSON object per line on stdout, as `terraform apply -json` writes them
/// (docs/cli.md lists the types). Each line is written whole and flushed, so a reader that
/// follows the stream sees a change start before its result.
mod json_lines {
    use crate::apply::{ActionResult, ApplyReport, Outcome, Progress};
    use crate::plan::render::json::{action_reason, actions};
    use crate::plan::{Change, Plan};
    use serde_json::{json, Value};
    use std::io::Write;

    fn emit(v: Value) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{v}");
        let _ = out.flush();
    }

    /// Every change the apply will make (and the information-only entries), before it starts.
    pub fn planned(plan: &Plan) {
        for c in plan.changes() {
            emit(json!({
                "type": "planned_change",
                "address": c.address.to_string(),
                "actions": actions(c.action),
                "action_reason": action_reason(c),
            }));
        }
    }

    pub fn summary(r: &ApplyReport) {
        let (done, failed, skipped) = r.counts();
        emit(json!({
            "type": "summary",
            "succeeded": r.succeeded(),
            "done": done,
            "failed": failed,
            "skipped": skipped,
            "unknown": r.unknown(),
            "lost_secrets": r.lost_secrets.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "interrupted": r.interrupted,
        }));
    }

    pub struct Lines;

    impl Progress for Lines {
        fn start(&self, total: usize) {
            emit(json!({ "type": "apply_start", "changes": total }));
        }

        fn started(&self, c: &Change) {
            emit(json!({
                "type": "change_start",
                "address": c.address.to_string(),
                "actions": actions(c.action),
            }));
        }

        fn finished(&self, r: &ActionResult) {
            let (kind, key, text) = match &r.outcome {
                Outcome::Done { detail } => ("change_complete", "detail", detail.clone()),
                Outcome::Failed { error } => ("change_failed", "error", Some(error.clone())),
                Outcome::Skipped { reason } => ("change_skipped", "reason", Some(reason.clone())),
                Outcome::Unknown { reason } => ("change_unknown", "reason", Some(reason.clone())),
            };
            emit(json!({
                "type": kind,
                "address": r.address.to_string(),
                "actions": actions(r.action),
                key: text,
            }));
        }
    }
}

/// SIGINT and SIGTERM while an apply writes: the first asks the apply to stop (see
/// `apply::stop`), a second exits at once. Before the writes start a signal just ends the
/// process: nothing has been changed yet.
mod signals {
    use crate::apply::stop::{Stop, GRACE};
    use std::sync::atomic::{AtomicU8, Ordering};
    use std::sync::Arc;

    pub struct Watch {
        code: Arc<AtomicU8>,
        task: tokio::task::JoinHandle<()>,
    }

    impl Watch {
        /// The exit code for the signal received, if one was.
        pub fn exit_code(&self) -> Option<u8> {
            match self.code.load(Ordering::SeqCst) {
                0 => None,
                c => Some(c),
            }
        }
    }

    impl Drop for Watch {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    pub fn watch(stop: Stop) -> Watch {
        let code = Arc::new(AtomicU8::new(0));
        let seen = Arc::clone(&code);
        // Registered here, not in the task: a signal must not find the default handler (which
        // kills the process) once the writes may start.
        let mut signals = Signals::register();
        let task = tokio::spawn(async move {
            while let Some((name, exit)) = signals.next().await {
                if seen.swap(exit, Ordering::SeqCst) != 0 {
                    eprintln!(
                        "\n{name} again: exiting now, without the report; changes in flight have an unknown outcome (the next plan shows what is still to do)"
                    );
                    std::process::exit(i32::from(exit));
                }
                eprintln!(
                    "\n{name} received: no new change starts; changes in flight get up to {} to finish (send it again to exit at once)",
                    crate::duration::show(GRACE)
                );
                stop.request(format!("interrupted by {name}"), GRACE);
            }
        });
        Watch { code, task }
    }

    #[cfg(unix)]
    struct Signals(Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>);

    #[cfg(unix)]
    impl Signals {
        fn register() -> Self {
            use tokio::signal::unix::{signal, SignalKind};
            match (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) {
                (Ok(int), Ok(term)) => Signals(Some((int, term))),
                _ => Signals(None),
            }
        }

        /// The next SIGINT or SIGTERM, with the exit code it ends the run with.
        async fn next(&mut self) -> Option<(&'static str, u8)> {
            let (int, term) = self.0.as_mut()?;
            tokio::select! {
                _ = int.recv() => Some(("SIGINT", crate::cli::exit::SIGINT)),
                _ = term.recv() => Some(("SIGTERM", crate::cli::exit::SIGTERM)),
            }
        }
    }

    #[cfg(not(unix))]
    struct Signals;

    #[cfg(not(unix))]
    impl Signals {
        fn register() -> Self {
            Signals
        }

        async fn next(&mut self) -> Option<(&'static str, u8)> {
            tokio::signal::ctrl_c().await.ok()?;
            Some(("Ctrl-C", crate::cli::exit::SIGINT))
        }
    }
}

/// A bar on a terminal; otherwise (CI logs, `TERM=dumb`) plain lines: where stdout and stderr
/// go to the same place (a CI log, a terminal), a count as actions finish, because the report on
/// stdout lists each result; where they go apart, one line per action (failures and a count every
/// 5% for large runs: a policy over thousands of agreements).
struct StderrProgress {
    bar: Option<indicatif::ProgressBar>,
    /// stdout and stderr are one stream: result lines would reach the reader twice.
    shared: bool,
    total: std::sync::atomic::AtomicUsize,
    done: std::sync::atomic::AtomicUsize,
}

/// Above this many actions, CI logs get counts instead of one line each.
const QUIET_ABOVE: usize = 200;

impl StderrProgress {
    fn new() -> Self {
        let terminal = std::io::stderr().is_terminal() && !super::dumb_terminal(&super::env_var);
        let bar = terminal.then(|| {
            let b = indicatif::ProgressBar::new(0);
            b.set_style(
                indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            b
        });
        StderrProgress {
            bar,
            shared: stdout_is_stderr(),
            total: 0.into(),
            done: 0.into(),
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// Whether stdout and stderr are the same file, pipe or terminal (`2>&1`, a CI runner's log).
#[cfg(unix)]
fn stdout_is_stderr() -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let id = |fd: std::os::fd::BorrowedFd<'_>| {
        fd.try_clone_to_owned()
            .and_then(|fd| std::fs::File::from(fd).metadata())
            .map(|m| (m.dev(), m.ino()))
            .ok()
    };
    let (out, err) = (id(std::io::stdout().as_fd()), id(std::io::stderr().as_fd()));
    out.is_some() && out == err
}

/// Without a way to tell, assume one stream: a count is never a repeated line.
#[cfg(not(unix))]
fn stdout_is_stderr() -> bool {
    true
}

impl Progress for StderrProgress {
    fn start(&self, total: usize) {
        self.total
            .store(total, std::sync::atomic::Ordering::Relaxed);
        match &self.bar {
            Some(b) => b.set_length(total as u64),
            None => eprintln!(
                "Applying {total} {}",
                if total == 1 { "change" } else { "changes" }
            ),
        }
    }

    fn finished(&self, r: &ActionResult) {
        match &self.bar {
            Some(b) => {
                b.inc(1);
                b.set_message(r.address.to_string());
            }
            None => {
                use std::sync::atomic::Ordering::Relaxed;
                let total = self.total.load(Relaxed);
                let done = self.done.fetch_add(1, Relaxed) + 1;
                let quiet = self.shared || total > QUIET_ABOVE;
                if !quiet || (r.outcome.is_failed() && !self.shared) {
                    eprintln!("  {}", r.line());
                }
                let step = if total > QUIET_ABOVE {
                    (total / 20).max(1)
                } else {
                    1
                };
                if quiet && (done % step == 0 || done == total) {
                    eprintln!("  {done}/{total} done");
                }
            }
        }
    }
}
