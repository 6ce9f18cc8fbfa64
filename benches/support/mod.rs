//! What the reconcile benchmarks share: generated configurations, a simulator seeded with what a
//! configuration declares, the library pipeline wired as the CLI wires it, and peak-memory
//! sampling of a child process.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use vippsctl::api::credentials::Credentials;
use vippsctl::api::ratelimit::RateLimits as ClientLimits;
use vippsctl::api::transport::Transport;
use vippsctl::api::vipps::MerchantApi;
use vippsctl::apply::{ApplyOptions, ApplyReport, Silent};
use vippsctl::config::model::Config;
use vippsctl::plan::Plan;
use vippsctl::sim::{self, AgreementStatus, SimConfig, SimHandle, SimState};

/// How many objects of each kind one merchant declares.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub redirect_qrs: usize,
    pub callback_qrs: usize,
    pub webhooks: usize,
    pub agreements: usize,
}

impl Shape {
    /// The merchant issue 5 and issue 8 name.
    pub const ISSUE: Shape = Shape {
        redirect_qrs: 1000,
        callback_qrs: 500,
        webhooks: 20,
        agreements: 2000,
    };

    /// Every count times `f` (at least one of each kind that was non-zero).
    pub fn scaled(self, f: f64) -> Shape {
        let s = |n: usize| {
            if n == 0 {
                0
            } else {
                ((n as f64 * f).round() as usize).max(1)
            }
        };
        Shape {
            redirect_qrs: s(self.redirect_qrs),
            callback_qrs: s(self.callback_qrs),
            webhooks: s(self.webhooks).min(25),
            agreements: s(self.agreements),
        }
    }

    pub fn objects(self) -> usize {
        self.redirect_qrs + self.callback_qrs + self.webhooks + self.agreements
    }
}

/// A config with one entry per MSN, each declaring `shape`. Nothing but `msn:` depends on the
/// merchant, so one merchant's simulator state can be copied to the others.
pub fn config_yaml(msns: &[String], shape: Shape) -> String {
    let mut y = String::from("version: 1\nenvironment: test\nmerchants:\n");
    for msn in msns {
        y.push_str(&format!(
            "  - msn: \"{msn}\"\n    name: Bench {msn}\n    prune: [webhooks, redirectQrs, callbackQrs]\n"
        ));
        if shape.webhooks > 0 {
            y.push_str("    webhooks:\n");
            // Callback QRs need the one check-in registration; the rest stay under the
            // 25-per-event limit.
            y.push_str("      - url: https://hooks.example/checkin\n        events: [user.checked-in.v1]\n");
            for w in 1..shape.webhooks {
                y.push_str(&format!(
                    "      - url: https://hooks.example/w{w}\n        events: [epayments.payment.captured.v1, epayments.payment.refunded.v1]\n"
                ));
            }
        }
        if shape.redirect_qrs > 0 {
            y.push_str("    redirectQrs:\n");
            for q in 0..shape.redirect_qrs {
                y.push_str(&format!(
                    "      - id: table-{q}\n        redirectUrl: https://shop.example/menu?table={q}\n"
                ));
            }
        }
        if shape.callback_qrs > 0 {
            y.push_str("    callbackQrs:\n");
            for c in 0..shape.callback_qrs {
                y.push_str(&format!(
                    "      - merchantQrId: till-{c}\n        locationDescription: Till {c}\n"
                ));
            }
        }
        if shape.agreements > 0 {
            y.push_str("    agreements:\n");
            for a in 0..shape.agreements {
                y.push_str(&format!(
                    "      - externalId: member-{a}\n        productName: Club {}\n        pricing: {{ type: LEGACY, amount: {}, currency: NOK }}\n        interval: {{ unit: MONTH, count: 1 }}\n        merchantRedirectUrl: https://shop.example/thanks\n        merchantAgreementUrl: https://shop.example/account\n",
                    a % 10,
                    9900 + (a % 10) * 100
                ));
            }
        }
    }
    y
}

pub fn msns(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{}", 200_000 + i)).collect()
}

pub fn load(yaml: &str) -> vippsctl::config::Loaded {
    let sources = vec![(PathBuf::from("bench.yaml"), yaml.to_string())];
    match vippsctl::config::load_sources(&sources, &|_| None) {
        Ok(l) => l,
        Err(d) => {
            eprintln!("the generated config is invalid:\n{}", d.render(false));
            std::process::exit(1);
        }
    }
}

/// The most merchants a benchmark uses (`memory`).
pub const MAX_MERCHANTS: usize = 100;

/// The simulator with every rule on, the sales units of [`msns`] (the sandbox keys act for them,
/// as a partner's keys do) and `limits`.
pub fn sim_config(latency: Duration, limits: sim::RateLimits) -> SimConfig {
    SimConfig {
        latency,
        rate_limits: limits,
        ..SimConfig::sandbox()
    }
    .with_merchants(msns(MAX_MERCHANTS))
}

pub async fn start(config: SimConfig) -> SimHandle {
    match sim::start(config, ([127, 0, 0, 1], 0).into()).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("could not start the simulator: {e}");
            std::process::exit(1);
        }
    }
}

/// One transport (one token cache, one set of limiters, one connection pool) shared by every
/// merchant, as `cli::session::connect` builds it for one credential set.
pub fn apis(
    base_url: &str,
    config: &Config,
    limits: ClientLimits,
) -> HashMap<String, Arc<MerchantApi>> {
    let transport = transport(base_url, limits);
    config
        .merchants
        .iter()
        .map(|m| {
            let t = transport
                .for_merchant(m.msn.clone())
                .unwrap_or_else(|e| fail(&format!("transport: {e}")));
            (m.msn.clone(), Arc::new(MerchantApi::new(t)))
        })
        .collect()
}

/// The transport `apis` derives every merchant's from: the simulator's sandbox credentials.
pub fn transport(base_url: &str, limits: ClientLimits) -> Transport {
    Transport::builder(base_url.to_string())
        .credentials(Credentials::new(
            sim::SANDBOX_CLIENT_ID,
            sim::SANDBOX_CLIENT_SECRET,
            sim::SANDBOX_SUBSCRIPTION_KEY,
        ))
        .rate_limits(limits)
        .build()
        .unwrap_or_else(|e| fail(&format!("transport: {e}")))
}

pub fn fail(msg: &str) -> ! {
    eprintln!("benchmark failed: {msg}");
    std::process::exit(1)
}

/// The engine's plan, as `vippsctl plan` makes it.
pub async fn plan(
    loaded: &vippsctl::config::Loaded,
    apis: &HashMap<String, Arc<MerchantApi>>,
    base_url: &str,
) -> Plan {
    timed_plan(loaded, apis, base_url).await.plan
}

/// A plan and where its time went.
pub struct PlanRun {
    pub plan: Plan,
    /// Token and list calls, until every merchant's live state is in memory.
    pub observe: Duration,
    /// The pure diff (CPU only).
    pub diff: Duration,
}

/// The engine's plan (the one `vippsctl plan` runs), timed by the engine.
pub async fn timed_plan(
    loaded: &vippsctl::config::Loaded,
    apis: &HashMap<String, Arc<MerchantApi>>,
    base_url: &str,
) -> PlanRun {
    let session = vippsctl::engine::Session::prepared(
        vippsctl::domain::Environment::Test,
        base_url,
        apis.clone(),
    );
    let (plan, t) = vippsctl::engine::plan_timed(
        loaded,
        &session,
        &workspace(),
        &vippsctl::engine::PlanRequest::default(),
    )
    .await
    .unwrap_or_else(|e| fail(&format!("plan: {e:?}")));
    PlanRun {
        plan,
        observe: t.observe,
        diff: t.diff,
    }
}

/// A workspace of this bench process's own (lost-secrets record, locks), never the checkout's.
pub fn workspace() -> vippsctl::engine::Workspace {
    vippsctl::engine::Workspace::at(
        std::env::temp_dir().join(format!("vippsctl-bench-{}", std::process::id())),
    )
}

pub async fn apply(
    plan: &Plan,
    loaded: &vippsctl::config::Loaded,
    apis: &HashMap<String, Arc<MerchantApi>>,
    secrets: &Path,
    parallelism: usize,
) -> ApplyReport {
    let opts = ApplyOptions {
        parallelism,
        secrets_out: Some(secrets.to_path_buf()),
        ..ApplyOptions::default()
    };
    let session = vippsctl::engine::Session::prepared(
        vippsctl::domain::Environment::Test,
        "bench",
        apis.clone(),
    );
    vippsctl::engine::apply(plan, loaded, &session, &workspace(), &opts, &Silent)
        .await
        .report
}

/// The live state a configuration declares, made by applying it to a fast simulator without
/// limits, with every agreement then accepted by its customer.
pub async fn declared_state(loaded: &vippsctl::config::Loaded, secrets: &Path) -> SimState {
    let sim = start(sim_config(Duration::ZERO, sim::RateLimits::off())).await;
    let apis = apis(&sim.base_url(), &loaded.config, ClientLimits::unlimited());
    let p = plan(loaded, &apis, &sim.base_url()).await;
    let report = apply(&p, loaded, &apis, secrets, 16).await;
    let (_, failed, skipped) = report.counts();
    if failed + skipped > 0 {
        fail(&format!("seeding failed:\n{}", report.render()));
    }
    sim.update(|s| {
        for m in s.merchants.values_mut() {
            for a in m.agreements.values_mut() {
                if a.status == AgreementStatus::Pending {
                    a.status = AgreementStatus::Active;
                    a.start = Some(a.created);
                }
            }
        }
    });
    let state = sim.state();
    sim.shutdown().await;
    state
}

/// `state`'s only merchant copied to every MSN in `msns`, with ids kept unique.
pub fn replicate(state: &SimState, msns: &[String]) -> SimState {
    let Some(one) = state.merchants.values().next() else {
        fail("empty state to replicate")
    };
    let mut out = SimState::default();
    for (i, msn) in msns.iter().enumerate() {
        let mut m = one.clone();
        m.agreements = m
            .agreements
            .into_values()
            .map(|mut a| {
                a.id = format!("{}{i}", a.id);
                a.uuid = uuid::Uuid::new_v4();
                (a.id.clone(), a)
            })
            .collect();
        for w in &mut m.webhooks {
            w.id = uuid::Uuid::new_v4();
        }
        out.merchants.insert(msn.clone(), m);
    }
    out
}

pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

pub fn secs(d: Duration) -> String {
    if d >= Duration::from_secs(10) {
        format!("{:.1} s", d.as_secs_f64())
    } else if d >= Duration::from_secs(1) {
        format!("{:.2} s", d.as_secs_f64())
    } else {
        format!("{:.0} ms", d.as_secs_f64() * 1000.0)
    }
}

/// Runs a child process to its end, sampling `VmHWM` (its peak resident set) from /proc while it
/// runs. The last sample before exit is the peak: the kernel only ever raises it.
pub struct Measured {
    pub wall: Duration,
    pub peak_kib: Option<u64>,
    /// User plus system CPU of the child, as last sampled before it exited.
    pub cpu: Option<Duration>,
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// `vippsctl ARGS` with the sandbox keys (which the bench simulators give every sales unit), no
/// colour, in `dir`: the child `run_measured` times.
pub fn vippsctl(args: &[&str], dir: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_vippsctl"));
    cmd.args(args)
        .env("VIPPS_CLIENT_ID", sim::SANDBOX_CLIENT_ID)
        .env("VIPPS_CLIENT_SECRET", sim::SANDBOX_CLIENT_SECRET)
        .env("VIPPS_SUBSCRIPTION_KEY", sim::SANDBOX_SUBSCRIPTION_KEY)
        .env("NO_COLOR", "1")
        .current_dir(dir);
    cmd
}

pub fn run_measured(mut cmd: std::process::Command) -> Measured {
    use std::io::Read;
    let start = Instant::now();
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| fail(&format!("spawn: {e}")));
    // Drain the pipes on threads so a large plan cannot block the child.
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(o) = out.as_mut() {
            let _ = o.read_to_string(&mut s);
        }
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(e) = err.as_mut() {
            let _ = e.read_to_string(&mut s);
        }
        s
    });
    let status_path = format!("/proc/{}/status", child.id());
    let stat_path = format!("/proc/{}/stat", child.id());
    let mut peak = None;
    let mut cpu = None;
    let status = loop {
        if let Some(kib) = std::fs::read_to_string(&status_path)
            .ok()
            .and_then(|s| vm_hwm_kib(&s))
        {
            peak = Some(kib);
        }
        if let Some(t) = std::fs::read_to_string(&stat_path)
            .ok()
            .and_then(|s| cpu_of_stat(&s))
        {
            cpu = Some(t);
        }
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => fail(&format!("wait: {e}")),
        }
    };
    let wall = start.elapsed();
    Measured {
        wall,
        peak_kib: peak,
        cpu,
        status,
        stdout: out_t.join().unwrap_or_default(),
        stderr: err_t.join().unwrap_or_default(),
    }
}

/// utime + stime of a `/proc/<pid>/stat` line (fields 14 and 15, in clock ticks).
pub fn cpu_of_stat(stat: &str) -> Option<Duration> {
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let hz = u64::try_from(hz).ok().filter(|h| *h > 0)?;
    Some(Duration::from_millis(ticks * 1000 / hz))
}

pub fn vm_hwm_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// User plus system CPU time of this whole process so far (client, runtime and the in-process
/// simulator together).
pub fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes into the zeroed struct we pass.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer is always allowed.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    tv(u.ru_utime) + tv(u.ru_stime)
}
