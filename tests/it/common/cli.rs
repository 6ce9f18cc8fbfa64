//! Runs the real `vippsctl` binary against an in-process simulator, in a temp dir, and renders
//! exit code, stdout and stderr together for insta snapshots (ports, temp paths, ids and
//! durations filtered out).
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use vippsctl::api::vipps::MerchantApi;
use vippsctl::apply::{ApplyOptions, ApplyReport};
use vippsctl::config::model::Config;
use vippsctl::config::Loaded;
use vippsctl::engine::{EngineError, PlanRequest, Session, Workspace};
use vippsctl::plan::Plan;
use vippsctl::sim::{CallRecord, SimConfig, SimHandle, SimState};

pub const MSN: &str = vippsctl::sim::SANDBOX_MSN;

/// A simulator on 127.0.0.1:0 and a scratch folder for configs, plans and secrets.
/// Field order matters: the handle stops the server before its runtime goes away.
pub struct Sim {
    pub handle: SimHandle,
    pub dir: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
}

/// One finished run of the binary.
#[derive(Debug, Clone)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let code = self
            .code
            .map(|c| c.to_string())
            .unwrap_or_else(|| "signal".into());
        write!(
            f,
            "success: {}\nexit_code: {code}\n----- stdout -----\n{}\n----- stderr -----\n{}",
            self.success(),
            self.stdout,
            self.stderr
        )
    }
}

impl Sim {
    pub fn start() -> Sim {
        Sim::with_config(super::test_config())
    }

    pub fn with_config(config: SimConfig) -> Sim {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let handle = rt
            .block_on(vippsctl::sim::start(config, ([127, 0, 0, 1], 0).into()))
            .expect("simulator starts");
        let dir = tempfile::tempdir().expect("temp dir");
        Sim { handle, dir, rt }
    }

    /// A simulator on which the first call of `op` hangs for `hang` (recorded at once), then
    /// answers 504.
    pub fn hanging_on(op: &str, hang: Duration) -> Sim {
        let mut config = SimConfig::test();
        config.faults = vippsctl::sim::FaultConfig {
            hang,
            ..vippsctl::sim::FaultConfig::once_on(op, vippsctl::sim::FaultKind::Timeout, 1)
        };
        Sim::with_config(config)
    }

    pub fn base_url(&self) -> String {
        self.handle.base_url()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Write a file below the temp dir (parents created) and return its path.
    pub fn write(&self, name: &str, content: &str) -> PathBuf {
        let p = self.path(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, content).expect("write file");
        p
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }

    /// `vippsctl --base-url <sim> ARGS...` with the sandbox credentials, stdin closed.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_at(&self.base_url(), args)
    }

    pub fn run_at(&self, base_url: &str, args: &[&str]) -> Run {
        self.run_env(base_url, &[], args)
    }

    /// Like [`Sim::run_at`], with extra environment variables (set after the defaults).
    pub fn run_env(&self, base_url: &str, env: &[(&str, &str)], args: &[&str]) -> Run {
        self.run_with(base_url, env, &[], args)
    }

    /// Like [`Sim::run_env`], with the variables in `unset` removed (e.g. the credentials).
    pub fn run_with(
        &self,
        base_url: &str,
        env: &[(&str, &str)],
        unset: &[&str],
        args: &[&str],
    ) -> Run {
        let out = self
            .command(base_url, env, unset, args)
            .output()
            .expect("run vippsctl");
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The command [`Sim::run_with`] runs, for tests that start it and act while it runs.
    pub fn command(
        &self,
        base_url: &str,
        env: &[(&str, &str)],
        unset: &[&str],
        args: &[&str],
    ) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vippsctl"));
        cmd.args(args)
            .arg("--base-url")
            .arg(base_url)
            .current_dir(self.dir.path())
            .env("VIPPS_CLIENT_ID", vippsctl::sim::SANDBOX_CLIENT_ID)
            .env("VIPPS_CLIENT_SECRET", vippsctl::sim::SANDBOX_CLIENT_SECRET)
            .env(
                "VIPPS_SUBSCRIPTION_KEY",
                vippsctl::sim::SANDBOX_SUBSCRIPTION_KEY,
            )
            .env("NO_COLOR", "1")
            .env_remove("VIPPSCTL_ENV")
            .env_remove("VIPPSCTL_BASE_URL")
            .env_remove("VIPPSCTL_LOG")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        for k in unset {
            cmd.env_remove(k);
        }
        cmd
    }

    pub fn state(&self) -> SimState {
        self.handle.state()
    }

    pub fn calls(&self) -> Vec<CallRecord> {
        self.handle.calls()
    }

    pub fn clear_calls(&self) {
        self.handle.clear_calls()
    }

    /// Calls that change state (anything but GET and the token).
    pub fn writes(&self) -> Vec<CallRecord> {
        writes(&self.calls())
    }

    /// Run a future on the simulator's runtime (library-level tests).
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// A client of the simulator for one merchant, with the sandbox credentials.
    pub fn api(&self, msn: &str) -> Arc<MerchantApi> {
        let creds = vippsctl::api::credentials::Credentials::new(
            vippsctl::sim::SANDBOX_CLIENT_ID,
            vippsctl::sim::SANDBOX_CLIENT_SECRET,
            vippsctl::sim::SANDBOX_SUBSCRIPTION_KEY,
        );
        // Retries as in production, only faster, so fault tests stay quick.
        let retry = vippsctl::api::retry::RetryPolicy {
            base_delay: std::time::Duration::from_millis(1),
            max_delay: std::time::Duration::from_millis(5),
            max_retry_after: std::time::Duration::from_millis(5),
            ..Default::default()
        };
        let t = vippsctl::api::transport::Transport::builder(self.base_url())
            .credentials(creds)
            .retry(retry)
            .build()
            .and_then(|t| t.for_merchant(msn))
            .expect("transport");
        Arc::new(MerchantApi::new(t))
    }

    /// `vippsctl plan`, in-process: the engine's pipeline over this simulator, with the scratch
    /// folder as the workspace (its lost-secrets record included).
    pub fn plan(&self, loaded: &Loaded) -> Result<Plan, EngineError> {
        self.plan_replacing(loaded, &[])
    }

    /// [`Sim::plan`] with `--replace` addresses.
    pub fn plan_replacing(
        &self,
        loaded: &Loaded,
        replace: &[vippsctl::resources::Address],
    ) -> Result<Plan, EngineError> {
        let session = self.session(&loaded.config);
        let request = PlanRequest {
            replace: replace.to_vec(),
            ..PlanRequest::default()
        };
        self.block_on(vippsctl::engine::plan(
            loaded,
            &session,
            &Workspace::at(self.dir.path()),
            &request,
        ))
    }

    /// `vippsctl apply`'s writes, in-process (one at a time), through the engine.
    pub fn apply(&self, plan: &Plan, loaded: &Loaded) -> ApplyReport {
        let session = self.session(&loaded.config);
        let opts = ApplyOptions {
            parallelism: 1,
            secrets_out: Some(self.path("secrets.env")),
            ..ApplyOptions::default()
        };
        let applied = self.block_on(vippsctl::engine::apply(
            plan,
            loaded,
            &session,
            &Workspace::at(self.dir.path()),
            &opts,
            &vippsctl::apply::Silent,
        ));
        if let Some(e) = applied.record_error {
            panic!("the lost-secrets record could not be written: {e}");
        }
        applied.report
    }

    fn session(&self, config: &Config) -> Session {
        Session::prepared(
            vippsctl::domain::Environment::Test,
            self.base_url(),
            self.apis(config),
        )
    }

    fn apis(&self, config: &Config) -> HashMap<String, Arc<MerchantApi>> {
        config
            .merchants
            .iter()
            .map(|m| (m.msn.clone(), self.api(&m.msn)))
            .collect()
    }

    /// insta settings with this run's variable parts filtered out.
    pub fn settings(&self) -> insta::Settings {
        let mut s = insta::Settings::clone_current();
        let dir = self.dir.path();
        for p in [
            dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()),
            dir.to_path_buf(),
        ] {
            s.add_filter(&regex_escape(&p.display().to_string()), "[TEMP]");
        }
        s.add_filter(r"127\.0\.0\.1:\d+", "[SIM]");
        s.add_filter(
            r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
            "[UUID]",
        );
        s.add_filter(r"agr_[0-9A-Za-z]{7}", "[AGREEMENT]");
        s.add_filter(r"\b[0-9a-f]{40}\b", "[IDEMPOTENCY-KEY]");
        s.add_filter(r"\b[0-9a-f]{64}\b", "[DIGEST]");
        s.add_filter(r"\b[0-9a-f]{16}\b", "[FINGERPRINT]");
        s.add_filter(r"\b\d+(\.\d+)?(ms|µs|s)\b", "[TIME]");
        s.add_filter(r"vippsctl \d+\.\d+\.\d+", "vippsctl [VERSION]");
        s.add_filter(
            r#""vippsctl_version": "[^"]+""#,
            r#""vippsctl_version": "[VERSION]""#,
        );
        s.add_filter(
            r#""spec_versions": "[^"]+""#,
            r#""spec_versions": "[SPECS]""#,
        );
        s.set_prepend_module_to_snapshot(true);
        s
    }
}

/// Load a config from YAML text (written as `setup.yaml` in `dir`), as the engine loads it.
pub fn load_yaml(dir: &Path, yaml: &str) -> Loaded {
    let path = dir.join("setup.yaml");
    std::fs::write(&path, yaml).expect("write config");
    match vippsctl::engine::load(&[path], &|_| None) {
        Ok(l) => l,
        Err(EngineError::Config(d)) => panic!("config does not load:\n{}", d.render(false)),
        Err(e) => panic!("{e}"),
    }
}

pub fn writes(calls: &[CallRecord]) -> Vec<CallRecord> {
    calls
        .iter()
        .filter(|c| c.method != "GET" && c.operation != "fetch_access_token")
        .cloned()
        .collect()
}

/// The operation names of `calls`, sorted, for comparing call logs without caring about order.
pub fn operations(calls: &[CallRecord]) -> Vec<String> {
    let mut ops: Vec<String> = calls
        .iter()
        .filter(|c| c.operation != "fetch_access_token")
        .map(|c| c.operation.clone())
        .collect();
    ops.sort();
    ops
}

/// The `status` (and page, when not the first) of each agreement list call, sorted: what a run
/// spent of the 5-per-minute list budget. `(none)` for a call without a status.
pub fn agreement_lists(calls: &[CallRecord]) -> Vec<String> {
    let mut out: Vec<String> = calls
        .iter()
        .filter(|c| c.operation == "list_agreements")
        .map(|c| {
            let q = c.query.clone().unwrap_or_default();
            let param = |name: &str| {
                q.split('&')
                    .find_map(|p| p.strip_prefix(&format!("{name}=")))
                    .map(str::to_string)
            };
            let status = param("status").unwrap_or_else(|| "(none)".into());
            match param("pageNumber").filter(|p| p != "1") {
                Some(p) => format!("{status} page {p}"),
                None => status,
            }
        })
        .collect();
    out.sort();
    out
}

/// Whether every agreement list call's query contains `needle` (and there was one).
pub fn every_agreement_list_asks(calls: &[CallRecord], needle: &str) -> bool {
    let lists: Vec<&CallRecord> = calls
        .iter()
        .filter(|c| c.operation == "list_agreements")
        .collect();
    !lists.is_empty()
        && lists
            .iter()
            .all(|c| c.query.as_deref().is_some_and(|q| q.contains(needle)))
}

fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `KEY=value` of a dotenv file, unquoted.
pub fn dotenv_value(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k == key).then(|| v.trim_matches('"').to_string())
    })
}

impl Sim {
    /// The secret the simulator stored for the only webhook of merchant [`MSN`].
    pub fn live_secret(&self) -> String {
        let state = self.state();
        let hooks = &state.merchants[MSN].webhooks;
        assert_eq!(hooks.len(), 1, "exactly one registration: {hooks:?}");
        hooks[0].secret.expose().to_string()
    }

    /// After an apply that lost a webhook's secret, with `setup.yaml` now sending it to
    /// `hook.env` as `HOOK_SECRET`: the next plan replaces the registration for that reason, an
    /// apply stores the new secret and forgets the loss, and then nothing is left to do.
    pub fn assert_lost_secret_is_replaced(&self) {
        let plan = self.run(&["plan", "setup.yaml", "--detailed-exitcode"]);
        assert_eq!(plan.code, Some(2), "{plan}");
        assert!(
            plan.stdout
                .contains("its one-time secret is not in its sink"),
            "{plan}"
        );
        let again = self.run(&["apply", "setup.yaml", "--auto-approve"]);
        assert!(again.success(), "{again}");
        assert_eq!(
            dotenv_value(&self.read("hook.env"), "HOOK_SECRET"),
            Some(self.live_secret())
        );
        assert!(!self.path(".vippsctl/lost-secrets.json").exists());
        let after = self.run(&["plan", "setup.yaml", "--detailed-exitcode"]);
        assert_eq!(after.code, Some(0), "{after}");
    }
}

pub fn file_mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(0)
}

/// Snapshot a run (exit code, stdout, stderr) with the simulator's filters.
#[allow(unused_macros)]
macro_rules! assert_run {
    ($sim:expr, $name:expr, $run:expr) => {
        $sim.settings()
            .bind(|| insta::assert_snapshot!($name, $run.to_string()))
    };
}
#[allow(unused_imports)]
pub(crate) use assert_run;

/// A test whose signal is not handled would otherwise hang on a 120 s fault.
pub const GUARD: Duration = Duration::from_secs(60);

/// A running `vippsctl`, its stderr read line by line as it comes.
pub struct Running {
    child: Child,
    stderr: Arc<Mutex<Vec<String>>>,
    reader: std::thread::JoinHandle<()>,
}

impl Running {
    pub fn start(sim: &Sim, args: &[&str]) -> Running {
        let mut child = sim
            .command(&sim.base_url(), &[], &[], args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("vippsctl starts");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let lines = Arc::clone(&stderr);
        let pipe = child.stderr.take().expect("stderr");
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(pipe).lines() {
                match line {
                    Ok(l) => lines.lock().unwrap().push(l),
                    Err(_) => return,
                }
            }
        });
        Running {
            child,
            stderr,
            reader,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, sig: i32) {
        let pid = i32::try_from(self.child.id()).expect("pid");
        // SAFETY: kill(2) on the child this test started and has not reaped yet.
        assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
    }

    pub fn wait_for_stderr(&self, text: &str) {
        let started = Instant::now();
        while !self.stderr.lock().unwrap().iter().any(|l| l.contains(text)) {
            assert!(started.elapsed() < GUARD, "no `{text}` on stderr");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn finish(mut self) -> Run {
        let mut stdout = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            out.read_to_string(&mut stdout).expect("stdout");
        }
        let status = self.child.wait().expect("exit");
        self.reader.join().expect("stderr reader");
        let mut stderr = self.stderr.lock().unwrap().join("\n");
        stderr.push('\n');
        Run {
            code: status.code(),
            stdout,
            stderr,
        }
    }
}

/// Wait until the simulator has received a call of `op` (it records a hanging call at once).
pub fn wait_for_call(sim: &Sim, op: &str) {
    let started = Instant::now();
    while !sim.calls().iter().any(|c| c.operation == op) {
        assert!(started.elapsed() < GUARD, "{op} never called");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Each `error:`, `caused by:` and `hint:` line of `run`, with the local servers in `hosts`
/// written as the page writes them (e.g. `https://apitest.vipps.no`), is quoted in
/// docs/`page`: the docs show real messages, and stay true when a message changes.
pub fn assert_quoted_in_docs(page: &str, run: &Run, hosts: &[(&str, &str)]) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join(page);
    let doc = std::fs::read_to_string(&path).expect("the docs page");
    for line in run.stderr.lines() {
        let t = line.trim_start();
        if !["error:", "caused by:", "hint:"]
            .iter()
            .any(|p| t.starts_with(p))
        {
            continue;
        }
        let mut quoted = line.to_string();
        for (local, shown) in hosts {
            quoted = quoted.replace(local, shown);
        }
        assert!(
            doc.lines().any(|l| l == quoted),
            "docs/{page} does not quote this line of the run:\n{quoted}"
        );
    }
}
