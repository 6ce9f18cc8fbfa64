//! Reconciler benchmarks against the in-process simulator, each figure a ratio to a bound measured
//! or computed in the same run (issue 8; the plan and apply figures issue 5 asks for).
//!
//! Run: `cargo bench --bench reconcile` (`--profile dev` skips the optimised build).
//! `VIPPSCTL_BENCH_SCALE=0.1` shrinks every object count for a quick run;
//! `VIPPSCTL_BENCH_ONLY=plan,lists,apply,rate,fleet,memory,share,partner,discover` picks benchmarks (`plan,lists`:
//! the plan of the large merchant and the agreement lists' budget, a few minutes).
//! Prints a table and writes it to `target/bench-report.md`. See docs/performance.md.

mod support;

use std::time::{Duration, Instant};
use support::*;
use vippsctl::api::ratelimit::{Limit, RateLimits as ClientLimits, Scope};
use vippsctl::sim::{self, AgreementStatus, RateLimits as SimLimits};

const LATENCY: Duration = Duration::from_millis(50);
/// Requests per second the simulator allows in the paced-apply benchmark.
const RATE: u32 = 50;
/// How much slower than the simulator's cap the client paces itself (see `paced`).
const PACING_MARGIN: f64 = 1.05;
/// The API's largest agreement page (`resources::observe::AGREEMENT_PAGE_SIZE`).
const PAGE: usize = vippsctl::resources::observe::AGREEMENT_PAGE_SIZE as usize;
const MIB: f64 = 1024.0;

struct Row {
    name: String,
    measured: String,
    bound: String,
    ratio: f64,
    target: String,
    met: Option<bool>,
    note: String,
}

struct Bench {
    scale: f64,
    only: Option<Vec<String>>,
    rows: Vec<Row>,
    tmp: tempfile::TempDir,
}

impl Bench {
    fn wants(&self, name: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|o| o.iter().any(|x| x == name))
    }

    #[allow(clippy::too_many_arguments)]
    fn row(
        &mut self,
        name: impl Into<String>,
        measured: impl Into<String>,
        bound: impl Into<String>,
        ratio: f64,
        target: impl Into<String>,
        met: Option<bool>,
        note: impl Into<String>,
    ) {
        let r = Row {
            name: name.into(),
            measured: measured.into(),
            bound: bound.into(),
            ratio,
            target: target.into(),
            met,
            note: note.into(),
        };
        eprintln!(
            "  {}: {} vs {} = {:.2}x ({})",
            r.name, r.measured, r.bound, r.ratio, r.note
        );
        self.rows.push(r);
    }

    fn secrets(&self, name: &str) -> std::path::PathBuf {
        self.tmp.path().join(format!("{name}.env"))
    }
}

/// List pages of one agreement status a plan reads: the API gives no total, so a full last page
/// costs one more (empty) call.
fn agreement_pages(n: usize) -> usize {
    n / PAGE + 1
}

/// The documented agreement-list budget: calls per minute per merchant.
const LIST_BUDGET: usize = 5;

fn main() {
    let scale: f64 = std::env::var("VIPPSCTL_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|f: &f64| *f > 0.0 && *f <= 1.0)
        .unwrap_or(1.0);
    let only = std::env::var("VIPPSCTL_BENCH_ONLY")
        .ok()
        .map(|s| s.split(',').map(|x| x.trim().to_string()).collect());
    let tmp = tempfile::tempdir().unwrap_or_else(|e| fail(&format!("tempdir: {e}")));
    let mut b = Bench {
        scale,
        only,
        rows: Vec::new(),
        tmp,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(&format!("runtime: {e}")));
    let profile = if cfg!(debug_assertions) {
        "dev (unoptimised)"
    } else {
        "release"
    };
    eprintln!("reconcile benchmarks: scale {scale}, profile {profile}");
    if b.wants("plan") {
        rt.block_on(plan_one(&mut b));
    }
    if b.wants("lists") {
        rt.block_on(agreement_lists(&mut b));
    }
    if b.wants("apply") {
        rt.block_on(apply_from_empty(&mut b));
    }
    if b.wants("rate") {
        rt.block_on(paced_apply(&mut b));
    }
    if b.wants("fleet") {
        rt.block_on(fleet(&mut b));
    }
    if b.wants("memory") {
        rt.block_on(memory(&mut b));
    }
    if b.wants("share") {
        rt.block_on(simulator_share(&mut b));
    }
    if b.wants("partner") {
        rt.block_on(partner(&mut b));
    }
    if b.wants("discover") {
        rt.block_on(discover(&mut b));
    }
    let report = render(&b, profile);
    println!("{report}");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-report.md");
    match std::fs::write(&path, &report) {
        Ok(()) => eprintln!("wrote {}", path.display()),
        Err(e) => eprintln!("could not write {}: {e}", path.display()),
    }
}

fn render(b: &Bench, profile: &str) -> String {
    let mut s = format!(
        "# vippsctl reconcile benchmarks\n\nScale {}, profile {profile}, simulated latency {} ms, {} CPUs.\n\n",
        b.scale,
        LATENCY.as_millis(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    s.push_str("| benchmark | measured | bound | ratio | target | met | note |\n|---|---|---|---|---|---|---|\n");
    for r in &b.rows {
        let met = match r.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "-",
        };
        s.push_str(&format!(
            "| {} | {} | {} | {:.2}x | {} | {met} | {} |\n",
            r.name, r.measured, r.bound, r.ratio, r.target, r.note
        ));
    }
    s
}

/// 1. Plan of one merchant of the issue's size at 50 ms: requests vs the minimum, wall time vs
///    one token round trip plus the longest chain of list pages.
async fn plan_one(b: &mut Bench) {
    let shape = Shape::ISSUE.scaled(b.scale);
    eprintln!("plan: one merchant, {shape:?}");
    let msns = msns(1);
    let loaded = load(&config_yaml(&msns, shape));
    let state = declared_state(&loaded, &b.secrets("plan-seed")).await;
    // Every declared agreement is ACTIVE: ACTIVE pages and one PENDING list (concurrent), no
    // ended ones (no declared agreement lacks an open one).
    let pages = agreement_pages(shape.agreements);
    let minimum = 1 + 3 + pages + 1;
    let bound = LATENCY * (1 + pages as u32);
    let mut runs = sample_plans(&[(&loaded, LATENCY), (&loaded, Duration::ZERO)], &state)
        .await
        .into_iter();
    let (Some(at50), Some(at0)) = (runs.next(), runs.next()) else {
        fail("no samples")
    };
    b.row(
        "plan 1 merchant: requests",
        at50.requests.to_string(),
        format!("{minimum} (token + 3 lists + {pages} ACTIVE pages + 1 PENDING)"),
        at50.requests as f64 / minimum as f64,
        "1.00x",
        Some(at50.requests == minimum),
        format!(
            "{} objects, {} changes; {} agreement lists of the budget of {LIST_BUDGET}",
            shape.objects(),
            at50.changes,
            pages + 1
        ),
    );
    let ratio = at50.wall.as_secs_f64() / bound.as_secs_f64();
    b.row(
        "plan 1 merchant: wall",
        secs(at50.wall),
        format!("{} (token + {pages} pages x 50 ms)", secs(bound)),
        ratio,
        "<= 1.10x",
        Some(ratio <= 1.10),
        format!(
            "median of 7, cold token each; observe {}, diff {}; CPU {} (client + simulator)",
            secs(at50.observe),
            secs(at50.diff),
            secs(at50.cpu)
        ),
    );
    // What latency adds: the same plan with 0 ms latency is all CPU, so the difference is the
    // time spent waiting on the network, which the bound describes exactly.
    let waited = at50.wall.saturating_sub(at0.wall);
    let ratio = waited.as_secs_f64() / bound.as_secs_f64();
    b.row(
        "plan 1 merchant: wall at 50 ms - wall at 0 ms",
        secs(waited),
        secs(bound),
        ratio,
        "<= 1.10x",
        Some(ratio <= 1.10),
        format!(
            "wall at 0 ms {} (observe {}, diff {})",
            secs(at0.wall),
            secs(at0.observe),
            secs(at0.diff)
        ),
    );
}

/// 1b. The agreement lists' budget: the large merchant with one new agreement declared (the
///     ended statuses are listed too), and with a history of ended agreements long enough that
///     the lists exceed the 5-per-minute budget, so the plan waits for the sliding window.
async fn agreement_lists(b: &mut Bench) {
    let shape = Shape::ISSUE.scaled(b.scale);
    let msns = msns(1);
    let msn = msns[0].clone();
    let loaded = load(&config_yaml(&msns, shape));
    let state = declared_state(&loaded, &b.secrets("lists-seed")).await;
    let new_agreement = "      - externalId: newcomer\n        productName: Club new\n        pricing: { type: LEGACY, amount: 9900, currency: NOK }\n        interval: { unit: MONTH, count: 1 }\n        merchantRedirectUrl: https://shop.example/thanks\n        merchantAgreementUrl: https://shop.example/account\n";
    let yaml = config_yaml(&msns, shape) + new_agreement;
    let with_new = load(&yaml);
    let active_pages = agreement_pages(shape.agreements);

    // One new agreement: ACTIVE pages + PENDING, then STOPPED and EXPIRED (one page each).
    eprintln!("lists: {shape:?} plus one new agreement");
    let mut runs = sample_plans(&[(&with_new, LATENCY)], &state)
        .await
        .into_iter();
    let Some(run) = runs.next() else {
        fail("no samples")
    };
    let lists = active_pages + 3;
    let minimum = 1 + 3 + lists;
    b.row(
        "plan 1 merchant + 1 new agreement: requests",
        run.requests.to_string(),
        format!(
            "{minimum} (token + 3 lists + {active_pages} ACTIVE pages + PENDING, STOPPED, EXPIRED)"
        ),
        run.requests as f64 / minimum as f64,
        "1.00x",
        Some(run.requests == minimum),
        format!(
            "{lists} agreement lists of the budget of {LIST_BUDGET}; {} changes",
            run.changes
        ),
    );
    // The ended lists can only start once ACTIVE and PENDING are read.
    let bound = LATENCY * (1 + active_pages as u32 + 1);
    let ratio = run.wall.as_secs_f64() / bound.as_secs_f64();
    b.row(
        "plan 1 merchant + 1 new agreement: wall",
        secs(run.wall),
        format!(
            "{} (token + {active_pages} pages + 1 ended page x 50 ms)",
            secs(bound)
        ),
        ratio,
        "<= 1.3x",
        Some(ratio <= 1.3),
        format!(
            "median of {ROUNDS}; observe {}, diff {}",
            secs(run.observe),
            secs(run.diff)
        ),
    );

    // A history: as many EXPIRED agreements as ACTIVE ones, so EXPIRED takes as many pages.
    let mut history = state.clone();
    if let Some(m) = history.merchants.get_mut(&msn) {
        let old: Vec<_> = m.agreements.values().cloned().collect();
        for mut a in old {
            a.id = format!("{}x", a.id);
            a.uuid = uuid::Uuid::new_v4();
            a.status = AgreementStatus::Expired;
            a.external_id = a.external_id.map(|e| format!("old-{e}"));
            m.agreements.insert(a.id.clone(), a);
        }
    }
    let lists = active_pages + 1 + 1 + agreement_pages(shape.agreements);
    eprintln!(
        "lists: with {} expired agreements ({lists} lists; one sample, it waits)",
        shape.agreements
    );
    let sim = start(sim_config(LATENCY, SimLimits::documented())).await;
    sim.seed(history);
    let apis = apis(
        &sim.base_url(),
        &with_new.config,
        ClientLimits::documented(),
    );
    let t = Instant::now();
    let p = timed_plan(&with_new, &apis, &sim.base_url()).await;
    let wall = t.elapsed();
    let calls = sim.calls();
    let throttled = calls.iter().filter(|c| c.status == 429).count();
    let list_calls = calls
        .iter()
        .filter(|c| c.operation == "list_agreements")
        .count();
    let minimum = 1 + 3 + lists;
    b.row(
        format!("plan 1 merchant + history ({lists} lists): requests"),
        calls.len().to_string(),
        format!("{minimum} (token + 3 lists + {lists} agreement lists)"),
        calls.len() as f64 / minimum as f64,
        "1.00x, 0 answered 429",
        Some(calls.len() == minimum && throttled == 0),
        format!(
            "{list_calls} list calls, {throttled} answered 429; {} changes",
            p.plan.changes().filter(|c| c.action.is_change()).count()
        ),
    );
    // The first five lists may go at once; each later group of five waits for the minute since
    // the group before it (a sliding window), then one page round trip.
    // Without waits the bound is the longest chain of round trips: the token, the ACTIVE
    // pages, then the EXPIRED pages.
    let waits = (lists.saturating_sub(1) / LIST_BUDGET) as u32;
    let chain = LATENCY * (1 + active_pages as u32 + agreement_pages(shape.agreements) as u32);
    let window = LATENCY + Duration::from_secs(60) * waits + LATENCY;
    let (bound, why, target) = if window > chain {
        (
            window,
            format!("token + {waits} x 60 s window + 1 page"),
            1.05,
        )
    } else {
        let why = "token + ACTIVE pages + EXPIRED pages x 50 ms".to_string();
        (chain, why, 1.3)
    };
    let ratio = wall.as_secs_f64() / bound.as_secs_f64();
    b.row(
        format!("plan 1 merchant + history ({lists} lists): wall"),
        secs(wall),
        format!("{} ({why})", secs(bound)),
        ratio,
        format!("<= {target}x"),
        Some(ratio <= target),
        format!(
            "one sample; observe {}, diff {}; {waits} wait(s) for the list budget, each announced on stderr (WARN waiting ... list_agreements)",
            secs(p.observe),
            secs(p.diff)
        ),
    );
    sim.shutdown().await;
}

/// Samples per plan measurement (the median is reported).
const ROUNDS: usize = 7;

/// Medians of `ROUNDS` plans, each on a fresh simulator seeded with `state` and a fresh client: a
/// cold token cache, and the 5/min agreement-list limit not carried over between samples.
struct Samples {
    wall: Duration,
    observe: Duration,
    diff: Duration,
    cpu: Duration,
    requests: usize,
    changes: usize,
}

async fn sample_plans(
    cases: &[(&vippsctl::config::Loaded, Duration)],
    state: &sim::SimState,
) -> Vec<Samples> {
    #[derive(Default)]
    struct Acc {
        walls: Vec<Duration>,
        observes: Vec<Duration>,
        diffs: Vec<Duration>,
        cpus: Vec<Duration>,
        requests: usize,
        changes: usize,
    }
    let mut acc: Vec<Acc> = cases.iter().map(|_| Acc::default()).collect();
    // The cases take turns, so that the other load on a shared machine falls on all of them alike.
    for _ in 0..ROUNDS {
        for ((loaded, latency), a) in cases.iter().zip(acc.iter_mut()) {
            let (run, calls) = one_plan(loaded, *latency, state).await;
            a.walls.push(run.wall);
            a.cpus.push(run.cpu);
            a.observes.push(run.observe);
            a.diffs.push(run.diff);
            a.requests = a.requests.max(calls.len());
            a.changes = run.plan.changes().filter(|c| c.action.is_change()).count();
        }
    }
    acc.into_iter()
        .map(|a| Samples {
            wall: median(a.walls),
            observe: median(a.observes),
            diff: median(a.diffs),
            cpu: median(a.cpus),
            requests: a.requests,
            changes: a.changes,
        })
        .collect()
}

/// One plan on a fresh simulator seeded with `state` and a fresh client, and the simulator's
/// call log.
async fn one_plan(
    loaded: &vippsctl::config::Loaded,
    latency: Duration,
    state: &sim::SimState,
) -> (OnePlan, Vec<sim::CallRecord>) {
    let sim = start(sim_config(latency, SimLimits::documented())).await;
    sim.seed(state.clone());
    let apis = apis(&sim.base_url(), &loaded.config, ClientLimits::documented());
    let t = Instant::now();
    let cpu = cpu_time();
    let run = timed_plan(loaded, &apis, &sim.base_url()).await;
    let one = OnePlan {
        wall: t.elapsed(),
        cpu: cpu_time().saturating_sub(cpu),
        observe: run.observe,
        diff: run.diff,
        plan: run.plan,
    };
    let calls = sim.calls();
    sim.shutdown().await;
    (one, calls)
}

struct OnePlan {
    wall: Duration,
    cpu: Duration,
    observe: Duration,
    diff: Duration,
    plan: vippsctl::plan::Plan,
}

/// 2. Apply creating the issue's merchant from empty at 50 ms with the documented limits.
async fn apply_from_empty(b: &mut Bench) {
    let shape = Shape::ISSUE.scaled(b.scale);
    eprintln!("apply: one merchant from empty, {shape:?} (drafts are limited to 300/min)");
    let msns = msns(1);
    let loaded = load(&config_yaml(&msns, shape));
    let sim = start(sim_config(LATENCY, SimLimits::documented())).await;
    let apis = apis(&sim.base_url(), &loaded.config, ClientLimits::documented());
    let parallelism = 4;
    let t = Instant::now();
    let p = plan(&loaded, &apis, &sim.base_url()).await;
    let report = apply(&p, &loaded, &apis, &b.secrets("apply"), parallelism).await;
    let wall = t.elapsed();
    let calls = sim.calls();
    let (done, failed, skipped) = report.counts();
    let throttled = calls.iter().filter(|c| c.status == 429).count();
    // token + one list per kind (all empty) + one write per object.
    let minimum = 1 + 4 + shape.objects();
    b.row(
        "apply from empty: requests",
        calls.len().to_string(),
        format!("{minimum} (token + 4 lists + 1 write per object)"),
        calls.len() as f64 / minimum as f64,
        "report",
        None,
        format!("{done} done, {failed} failed, {skipped} skipped, {throttled} answered 429"),
    );
    // Writes run `parallelism` at a time per merchant, each one round trip; drafts may not exceed
    // 300 in a minute (the first 300 go at once, the rest at 5/s at best).
    let writes = shape.objects() as u32;
    let latency_bound = LATENCY * 2 + LATENCY * writes.div_ceil(parallelism as u32);
    let draft_bound =
        Duration::from_secs_f64((shape.agreements.saturating_sub(300)) as f64 / 300.0 * 60.0)
            + LATENCY * 2;
    // Read as a sliding window (what the simulator enforces), 300 drafts per minute means the
    // last batch cannot start before a whole number of minutes has passed.
    let window_bound =
        Duration::from_secs(60 * (shape.agreements.saturating_sub(1) / 300) as u64) + LATENCY * 2;
    let bound = latency_bound.max(window_bound);
    let which = if window_bound > latency_bound {
        "drafts 300 per sliding minute"
    } else {
        "latency x writes / parallelism 4"
    };
    let ratio = wall.as_secs_f64() / bound.as_secs_f64();
    b.row(
        "apply from empty: wall",
        secs(wall),
        format!("{} ({which})", secs(bound)),
        ratio,
        "report",
        None,
        format!(
            "latency bound {}; drafts as a token bucket {} ({:.2}x)",
            secs(latency_bound),
            secs(draft_bound),
            wall.as_secs_f64() / latency_bound.max(draft_bound).as_secs_f64()
        ),
    );
    sim.shutdown().await;
}

/// 3. Apply creating redirect QRs under a simulator cap of `RATE` requests/s, the client paced to it.
async fn paced_apply(b: &mut Bench) {
    let n = ((1000.0 * b.scale).round() as usize).max(1);
    let shape = Shape {
        redirect_qrs: n,
        callback_qrs: 0,
        webhooks: 0,
        agreements: 0,
    };
    eprintln!("rate: {n} redirect QRs at {RATE}/s");
    let msns = msns(1);
    let loaded = load(&config_yaml(&msns, shape));
    let limited = SimLimits {
        global_per_second: Some(RATE),
        ..SimLimits::documented()
    };
    for (label, client) in [
        ("paced", ClientLimits::documented().with_global(paced(RATE))),
        ("unpaced", ClientLimits::documented()),
    ] {
        let sim = start(sim_config(LATENCY, limited.clone())).await;
        let apis = apis(&sim.base_url(), &loaded.config, client);
        let t = Instant::now();
        let p = plan(&loaded, &apis, &sim.base_url()).await;
        let report = apply(&p, &loaded, &apis, &b.secrets("rate"), 4).await;
        let wall = t.elapsed();
        let (done, failed, _) = report.counts();
        let throttled = sim.calls().iter().filter(|c| c.status == 429).count();
        let bound = Duration::from_secs_f64(n as f64 / RATE as f64);
        let ratio = wall.as_secs_f64() / bound.as_secs_f64();
        let (target, met) = if label == "paced" {
            ("<= 1.15x, 0 failed", Some(ratio <= 1.15 && failed == 0))
        } else {
            ("(contrast)", None)
        };
        b.row(
            format!("apply {n} redirect QRs at {RATE}/s, {label}"),
            secs(wall),
            format!("{} ({n} / {RATE}/s)", secs(bound)),
            ratio,
            target,
            met,
            format!("{done} done, {failed} failed, {throttled} answered 429"),
        );
        sim.shutdown().await;
    }
}

/// The client-side match for a gateway that allows `rate` requests in any one-second window:
/// no burst, and 5% slower than the cap, so that scheduling delays of up to 50 ms (one request
/// sent late, the next on time) cannot put `rate + 1` requests into one sliding second.
fn paced(rate: u32) -> Limit {
    Limit {
        requests: 1,
        per: Duration::from_secs_f64(PACING_MARGIN / rate as f64),
        scope: Scope::Global,
    }
}

/// 4. Ten merchants planned at once vs one.
async fn fleet(b: &mut Bench) {
    // A tenth of the issue's merchant each (ten of them hold as much as one full one), and a
    // hundredth, where the per-request CPU cost is small next to the latency.
    for f in [0.1, 0.01] {
        fleet_of(b, Shape::ISSUE.scaled(b.scale * f)).await;
    }
}

async fn fleet_of(b: &mut Bench, shape: Shape) {
    eprintln!("fleet: 10 merchants vs 1, each {shape:?}");
    let ten = msns(10);
    let one_loaded = load(&config_yaml(&ten[..1], shape));
    let ten_loaded = load(&config_yaml(&ten, shape));
    let state = replicate(
        &declared_state(&one_loaded, &b.secrets("fleet-seed")).await,
        &ten,
    );
    let mut runs = sample_plans(&[(&one_loaded, LATENCY), (&ten_loaded, LATENCY)], &state)
        .await
        .into_iter();
    let (Some(one), Some(all)) = (runs.next(), runs.next()) else {
        fail("no samples")
    };
    let ratio = all.wall.as_secs_f64() / one.wall.as_secs_f64();
    b.row(
        format!(
            "plan 10 merchants vs 1 ({} objects each): wall",
            shape.objects()
        ),
        secs(all.wall),
        format!("{} (1 merchant)", secs(one.wall)),
        ratio,
        "<= 1.10x",
        Some(ratio <= 1.10),
        format!(
            "{} vs {} requests, one shared token; CPU {} vs {}",
            all.requests,
            one.requests,
            secs(all.cpu),
            secs(one.cpu)
        ),
    );
}

/// 5. Peak memory and time of the binary's `validate` and `plan --base-url` at 10,000 objects.
async fn memory(b: &mut Bench) {
    // 100 merchants x 100 objects, as benches/validate.rs.
    let per = Shape {
        redirect_qrs: 40,
        callback_qrs: 30,
        webhooks: 10,
        agreements: 20,
    };
    let merchants = ((100.0 * b.scale).round() as usize).max(1);
    let msns = msns(merchants);
    let yaml = config_yaml(&msns, per);
    let loaded = load(&yaml);
    let objects = loaded.object_count();
    eprintln!("memory: {objects} objects in {merchants} merchants");
    let file = b.tmp.path().join("fleet.yaml");
    std::fs::write(&file, &yaml).unwrap_or_else(|e| fail(&format!("write config: {e}")));
    let state = declared_state(&loaded, &b.secrets("memory-seed")).await;
    let sim = start(sim_config(Duration::ZERO, SimLimits::documented())).await;
    sim.seed(state);
    let limit_kib = 100.0 * MIB;
    for (name, args) in [
        ("validate", vec!["validate".to_string()]),
        (
            "plan --base-url",
            vec!["plan".to_string(), "--base-url".to_string(), sim.base_url()],
        ),
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut cmd = vippsctl(&args, b.tmp.path());
        cmd.arg(&file);
        // The simulator runs on this process's runtime: wait for the child off it.
        let m = tokio::task::spawn_blocking(move || run_measured(cmd))
            .await
            .unwrap_or_else(|e| fail(&format!("join: {e}")));
        if !m.status.success() {
            fail(&format!(
                "vippsctl {name} failed ({}):\n{}",
                m.status, m.stderr
            ));
        }
        let last = m.stdout.lines().last().unwrap_or_default().to_string();
        let peak = m.peak_kib.unwrap_or(0) as f64;
        b.row(
            format!("vippsctl {name}, {objects} objects: peak RSS"),
            format!("{:.1} MiB", peak / MIB),
            "100 MiB",
            peak / limit_kib,
            "< 1.00x",
            Some(peak > 0.0 && peak < limit_kib),
            format!("VmHWM; wall {}; `{}`", secs(m.wall), last.trim()),
        );
    }
    sim.shutdown().await;
}

/// 6. How much of the plan figures is the in-process simulator. Each plan (one merchant of the
///    issue's size; ten merchants vs one of a tenth of it) is followed by its own reads replayed
///    on a fresh simulator through the same HTTP layer, with every body read and none decoded:
///    the replay takes what the network and the simulator take (it serialises every page in this
///    process, on the same cores, one request at a time behind its lock), the plan's excess over
///    it is vippsctl's own work (decoding, observe, diff). Sampled in turns, medians of `ROUNDS`.
async fn simulator_share(b: &mut Bench) {
    let issue = Shape::ISSUE.scaled(b.scale);
    eprintln!("share: plans vs their reads replayed undecoded");
    let loaded = load(&config_yaml(&msns(1), issue));
    let state = declared_state(&loaded, &b.secrets("share-seed")).await;
    let [one] = sample_with_replay([&loaded], &state).await;
    let bound = LATENCY * one.chain;
    b.row(
        "plan 1 merchant: its reads replayed undecoded",
        secs(one.replay),
        format!("{} (token + longest chain of reads x 50 ms)", secs(bound)),
        one.replay.as_secs_f64() / bound.as_secs_f64(),
        "report",
        None,
        "the excess is the simulator serialising the pages in this process".to_string(),
    );
    let ratio = one.plan.as_secs_f64() / one.replay.as_secs_f64();
    b.row(
        "plan 1 merchant vs its reads undecoded: wall",
        secs(one.plan),
        format!("{} (the replay)", secs(one.replay)),
        ratio,
        "<= 1.10x",
        Some(ratio <= 1.10),
        format!(
            "vippsctl's own work {}, of which the diff {}",
            secs(one.plan.saturating_sub(one.replay)),
            secs(one.diff)
        ),
    );

    let shape = Shape::ISSUE.scaled(b.scale * 0.1);
    let ten = msns(10);
    let one_loaded = load(&config_yaml(&ten[..1], shape));
    let ten_loaded = load(&config_yaml(&ten, shape));
    let state = replicate(
        &declared_state(&one_loaded, &b.secrets("share-fleet-seed")).await,
        &ten,
    );
    let [one, all] = sample_with_replay([&one_loaded, &ten_loaded], &state).await;
    b.row(
        format!(
            "plan 10 merchants vs 1 ({} objects each): reads replayed undecoded",
            shape.objects()
        ),
        secs(all.replay),
        format!("{} (1 merchant)", secs(one.replay)),
        all.replay.as_secs_f64() / one.replay.as_secs_f64(),
        "report",
        None,
        "the simulator answers the merchants one after another".to_string(),
    );
    // As if the server answered ten merchants as fast as one (Vipps serves merchants in
    // parallel): the ten-merchant plan with the simulator's extra time for ten taken out.
    let net = (all.plan + one.replay).saturating_sub(all.replay);
    let ratio = net.as_secs_f64() / one.plan.as_secs_f64();
    b.row(
        format!(
            "plan 10 merchants vs 1 ({} objects each): wall net of the simulator",
            shape.objects()
        ),
        secs(net),
        format!("{} (1 merchant)", secs(one.plan)),
        ratio,
        "<= 1.10x",
        Some(ratio <= 1.10),
        format!(
            "plan 10 {} - replay 10 {} + replay 1 {}; plan 10 vs 1 as measured {:.2}x",
            secs(all.plan),
            secs(all.replay),
            secs(one.replay),
            all.plan.as_secs_f64() / one.plan.as_secs_f64()
        ),
    );
}

/// Medians of a plan at 50 ms and of its reads replayed undecoded.
struct WithReplay {
    plan: Duration,
    diff: Duration,
    replay: Duration,
    /// Round trips on the replay's critical path: the token and the longest chain of reads.
    chain: u32,
}

async fn sample_with_replay<const N: usize>(
    cases: [&vippsctl::config::Loaded; N],
    state: &sim::SimState,
) -> [WithReplay; N] {
    let mut plans: [Vec<Duration>; N] = std::array::from_fn(|_| Vec::new());
    let mut diffs: [Vec<Duration>; N] = std::array::from_fn(|_| Vec::new());
    let mut replays: [Vec<Duration>; N] = std::array::from_fn(|_| Vec::new());
    let mut chains = [0u32; N];
    for _ in 0..ROUNDS {
        for (i, loaded) in cases.iter().enumerate() {
            let (run, calls) = one_plan(loaded, LATENCY, state).await;
            let (replay, chain) = replay_reads(&calls, state).await;
            plans[i].push(run.wall);
            diffs[i].push(run.diff);
            replays[i].push(replay);
            chains[i] = chain;
        }
    }
    let mut out = plans.into_iter().zip(diffs).zip(replays).zip(chains);
    std::array::from_fn(|_| match out.next() {
        Some((((p, d), r), chain)) => WithReplay {
            plan: median(p),
            diff: median(d),
            replay: median(r),
            chain,
        },
        None => fail("no samples"),
    })
}

/// A plan's GET calls (from the simulator's log) sent again on a fresh simulator seeded with
/// `state`, through a fresh transport (cold token, documented limits): per merchant and operation
/// in the logged order, all such chains at once, each body read to its end and dropped.
async fn replay_reads(calls: &[sim::CallRecord], state: &sim::SimState) -> (Duration, u32) {
    use std::collections::BTreeMap;
    let sim = start(sim_config(LATENCY, SimLimits::documented())).await;
    sim.seed(state.clone());
    let base = sim.base_url();
    let transport = transport(&base, ClientLimits::documented());
    let mut chains: BTreeMap<(Option<String>, String), Vec<String>> = BTreeMap::new();
    for c in calls.iter().filter(|c| c.method == "GET") {
        let query = c
            .query
            .as_ref()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        // Agreement lists of different statuses run concurrently in a plan: one chain each.
        let status = c
            .query
            .as_deref()
            .and_then(|q| q.split('&').find(|p| p.starts_with("status=")))
            .unwrap_or_default();
        chains
            .entry((c.msn.clone(), format!("{} {status}", c.operation)))
            .or_default()
            .push(format!("{base}{}{query}", c.path));
    }
    let longest = chains.values().map(Vec::len).max().unwrap_or(0) as u32;
    let reads = chains.iter().map(|((msn, chain), urls)| {
        let op = chain.split(' ').next().unwrap_or_default();
        let t = match msn {
            Some(m) => transport
                .for_merchant(m.clone())
                .unwrap_or_else(|e| fail(&format!("transport: {e}"))),
            None => transport.clone(),
        };
        async move {
            for url in urls {
                let mut request = t.http().get(url);
                // The log keeps no headers; redirect QR reads need the Accept vippsctl sends.
                if matches!(op, "list_redirect_qrs" | "get_redirect_qr") {
                    request = request.header("Accept", "image/svg+xml");
                }
                let mut request = request
                    .build()
                    .unwrap_or_else(|e| fail(&format!("{url}: {e}")));
                if let Err(e) = t.prepare(&mut request, op).await {
                    fail(&format!("{op}: {e}"));
                }
                let read = match t.execute(request, op).await {
                    Ok(r) if r.status().is_success() => r.bytes().await,
                    Ok(r) => fail(&format!("{op}: HTTP {}", r.status())),
                    Err(e) => fail(&format!("{op}: {e}")),
                };
                if let Err(e) = read {
                    fail(&format!("{op}: {e}"));
                }
            }
        }
    });
    let t = Instant::now();
    futures::future::join_all(reads).await;
    let wall = t.elapsed();
    sim.shutdown().await;
    (wall, 1 + longest)
}

/// 7. A partner's fleet (issue 15): `vippsctl plan` of 100, 1,000 and 5,000 merchants of 20
///    objects each, one set of partner keys, 50 ms per request, through the binary. Requests vs
///    the minimum (one token, one list per kind per merchant, ACTIVE and PENDING agreements);
///    wall time vs the bound the client's connection limit sets (`transport::MAX_IN_FLIGHT`
///    requests in flight per key set: the token, then the lists in waves of that many, each wave
///    one latency); peak memory vs 300 MiB; growth from 100 to 1,000 to 5,000 merchants.
async fn partner(b: &mut Bench) {
    let per = Shape {
        redirect_qrs: 12,
        callback_qrs: 4,
        webhooks: 2,
        agreements: 2,
    };
    let sizes: Vec<usize> = [100usize, 1000, 5000]
        .iter()
        .map(|n| ((*n as f64 * b.scale).round() as usize).max(10))
        .collect();
    eprintln!(
        "partner: plans of {sizes:?} merchants x {} objects",
        per.objects()
    );
    let one = load(&config_yaml(&msns(1), per));
    let seed = declared_state(&one, &b.secrets("partner-seed")).await;
    let mut previous: Option<(usize, f64, f64)> = None;
    for n in sizes {
        let fleet = msns(n);
        // A partner's folder: 500 merchants a file (one file may hold at most 500,000 values).
        let dir = b.tmp.path().join(format!("partner-{n}"));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| fail(&format!("mkdir: {e}")));
        for (i, chunk) in fleet.chunks(500).enumerate() {
            let text = config_yaml(chunk, per);
            std::fs::write(dir.join(format!("{i:03}.yaml")), text)
                .unwrap_or_else(|e| fail(&format!("write config: {e}")));
        }
        let file = dir;
        let config = sim::SimConfig {
            latency: LATENCY,
            rate_limits: SimLimits::documented(),
            ..sim::SimConfig::sandbox()
        }
        .with_merchants(fleet.clone());
        let sim = start(config).await;
        sim.seed(replicate(&seed, &fleet));
        let base_url = sim.base_url();
        let mut cmd = vippsctl(
            &["plan", "--base-url", &base_url, "--detailed-exitcode"],
            b.tmp.path(),
        );
        cmd.arg(&file);
        let m = tokio::task::spawn_blocking(move || run_measured(cmd))
            .await
            .unwrap_or_else(|e| fail(&format!("join: {e}")));
        if m.status.code() != Some(0) {
            fail(&format!(
                "plan of {n} merchants: exit {} (a converged fleet plans no changes):\n{}",
                m.status,
                m.stderr.lines().take(20).collect::<Vec<_>>().join("\n")
            ));
        }
        let requests = sim.calls().len();
        let minimum = 1 + n * 5;
        sim.shutdown().await;
        b.row(
            format!(
                "partner plan, {n} merchants x {} objects: requests",
                per.objects()
            ),
            requests.to_string(),
            format!("{minimum} (1 token + 5 lists per merchant)"),
            requests as f64 / minimum as f64,
            "1.00x",
            Some(requests == minimum),
            "one token for every merchant (one set of partner keys)",
        );
        // The client keeps MAX_IN_FLIGHT requests in flight per key set: after the token, the
        // 5n lists go in waves of that many, each wave one latency.
        let in_flight = vippsctl::api::transport::MAX_IN_FLIGHT;
        let waves = u32::try_from((n * 5).div_ceil(in_flight)).unwrap_or(u32::MAX);
        let bound = LATENCY * (1 + waves);
        let wall = m.wall.as_secs_f64();
        b.row(
            format!("partner plan, {n} merchants: wall"),
            secs(m.wall),
            format!(
                "{} (token + {waves} waves of {in_flight} lists at 50 ms)",
                secs(bound)
            ),
            wall / bound.as_secs_f64(),
            "report",
            None,
            format!(
                "the process as a whole: start, config load, reads, diff, render; its CPU {}",
                m.cpu.map_or("?".to_string(), secs)
            ),
        );
        let peak = m.peak_kib.unwrap_or(0) as f64;
        b.row(
            format!("partner plan, {n} merchants: peak RSS"),
            format!("{:.1} MiB", peak / MIB),
            "300 MiB",
            peak / (300.0 * MIB),
            "< 1.00x",
            Some(peak > 0.0 && peak < 300.0 * MIB),
            "VmHWM of the vippsctl process",
        );
        if let Some((pn, pwall, ppeak)) = previous {
            let f = n as f64 / pn as f64;
            b.row(
                format!("partner plan, {pn} -> {n} merchants: growth"),
                format!("wall x{:.2}, memory x{:.2}", wall / pwall, peak / ppeak),
                format!("x{f:.0} merchants"),
                (wall / pwall) / f,
                "near-linear (<= 1.00x of the merchants' growth)",
                Some(wall / pwall <= f * 1.1 && peak / ppeak <= f * 1.1),
                "wall and memory growth divided by the merchants' growth",
            );
        }
        previous = Some((n, wall, peak));
    }
}

/// Discovery of 5,000 sales units (`import --all`'s Management read) at 50 ms: requests vs the
/// minimum (the Management token and one list: the spec defines no paging), wall time vs two
/// round trips.
async fn discover(b: &mut Bench) {
    let n = ((5000.0 * b.scale) as usize).max(1);
    let msns: Vec<String> = (0..n).map(|i| format!("{}", 100_000 + i)).collect();
    let mut config = sim::SimConfig::test().with_merchants(msns);
    config.latency = LATENCY;
    let handle = start(config).await;
    let creds =
        vippsctl::api::Credentials::new(sim::SANDBOX_CLIENT_ID, sim::SANDBOX_CLIENT_SECRET, "");
    let transport = vippsctl::engine::discover::management_transport(
        &handle.base_url(),
        creds,
        Duration::from_secs(30),
    )
    .unwrap_or_else(|e| fail(&format!("transport: {e}")));
    let started = Instant::now();
    let units = vippsctl::engine::discover::list_sales_units(&transport)
        .await
        .unwrap_or_else(|e| fail(&format!("discovery: {e}")));
    let wall = started.elapsed();
    // The sandbox sales unit 123456 is listed too.
    if units.len() != n + 1 {
        fail(&format!(
            "discovered {} sales units, expected {}",
            units.len(),
            n + 1
        ));
    }
    let requests = handle.calls().len();
    let minimum = 2;
    b.row(
        format!("discover {n} sales units: requests"),
        requests.to_string(),
        minimum.to_string(),
        requests as f64 / minimum as f64,
        "1.00x",
        Some(requests == minimum),
        "the Management token and one list (no paging in Management 1.1.6)",
    );
    let bound = LATENCY * 2;
    b.row(
        format!("discover {n} sales units: wall time"),
        format!("{} ms", wall.as_millis()),
        format!("{} ms", bound.as_millis()),
        wall.as_secs_f64() / bound.as_secs_f64(),
        "< 2x",
        Some(wall < bound * 2),
        "two round trips at 50 ms; the rest is the list's JSON, written and decoded",
    );
    handle.shutdown().await;
}
