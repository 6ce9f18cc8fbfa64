//! Crash recovery: the real binary is killed with SIGKILL at seeded random moments while it
//! applies (creates in one half of the runs; updates, replacements and deletes in the other).
//! Running `apply` again always reaches the configured state with no duplicate, nothing
//! undeclared, every webhook secret in its sink, and a secrets file that is never corrupt.

use crate::proof;

use proof::{Rng, Size};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};
use vippsctl::sim::{SimConfig, SimHandle};

const POINTS: u64 = 24;
const BEFORE: Size = Size {
    webhooks: 6,
    redirect_qrs: 30,
    callback_qrs: 10,
    agreements: 15,
};
/// Two webhooks and ten redirect QRs fewer (pruned), and everything else changed.
const AFTER: Size = Size {
    webhooks: 4,
    redirect_qrs: 20,
    callback_qrs: 10,
    agreements: 15,
};

async fn sim() -> SimHandle {
    let mut sc = SimConfig::test();
    sc.latency = Duration::from_millis(10);
    sc.jitter = Duration::from_millis(10);
    let sim = vippsctl::sim::start(sc, ([127, 0, 0, 1], 0).into())
        .await
        .expect("sim");
    proof::seed_unmanaged(&sim);
    sim
}

fn apply_cmd(dir: &Path, sim: &SimHandle) -> tokio::process::Command {
    let mut cmd = proof::cli(dir, &sim.base_url());
    cmd.args(["apply", "--auto-approve", "setup.yaml"]);
    cmd
}

async fn apply_fully(dir: &Path, sim: &SimHandle) -> Result<Duration, String> {
    let t = Instant::now();
    let (code, out, err) = proof::run(apply_cmd(dir, sim)).await;
    if code != 0 {
        return Err(format!("apply exited {code}\n{out}\n{err}"));
    }
    Ok(t.elapsed())
}

/// A secrets file, if there is one, parses with every key once.
fn secrets_intact(dir: &Path) -> Result<(), String> {
    match std::fs::read_to_string(dir.join(proof::SECRETS_FILE)) {
        Ok(t) => proof::parse_dotenv(&t).map(|_| ()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

/// Writes in flight or just answered when the process died, by operation.
fn writes_near_kill(sim: &SimHandle, before: usize) -> Vec<String> {
    let calls = sim.calls();
    let writes: Vec<&vippsctl::sim::CallRecord> = calls
        .iter()
        .skip(before)
        .filter(|c| c.method != "GET" && c.operation != "fetch_token" && c.operation != "unknown")
        .collect();
    writes
        .iter()
        .rev()
        .take(4)
        .map(|c| c.operation.clone())
        .collect()
}

/// The customer accepts every drafted agreement, so a changed price is an update.
fn accept_all(sim: &SimHandle) {
    let pending: Vec<String> = sim
        .state()
        .merchants
        .values()
        .flat_map(|m| m.agreements.values())
        .filter(|a| a.status == vippsctl::sim::AgreementStatus::Pending)
        .map(|a| a.id.clone())
        .collect();
    for id in pending {
        sim.accept_agreement(&id).expect("accept");
    }
}

/// Each kill point waits for the first call of one of these, then a seeded few milliseconds.
const TARGETS: [(&str, bool); 8] = [
    ("register_webhook", false),
    ("create_redirect_qr", false),
    ("put_callback_qr", false),
    ("draft_agreement", false),
    ("update_redirect_qr", true),
    ("update_agreement", true),
    ("delete_redirect_qr", true),
    ("delete_webhook", true),
];

struct Point {
    kinds: Vec<String>,
    /// False when the run finished before the kill arrived.
    killed: bool,
}

async fn crash_at(seed: u64) -> Result<Point, String> {
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let sim = sim().await;
    let (target, changing) = TARGETS[(seed as usize) % TARGETS.len()];
    let (_, mut config) = proof::write_config_text(dir.path(), &proof::config_yaml(BEFORE, None));
    if changing {
        apply_fully(dir.path(), &sim).await?;
        accept_all(&sim);
        config = proof::write_config_text(dir.path(), &proof::config_yaml_v(AFTER, None, true)).1;
    }
    let before = sim.calls().len();
    let offset = Duration::from_millis(rng.below(25));
    let mut child = apply_cmd(dir.path(), &sim)
        .spawn()
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    loop {
        if sim
            .calls()
            .iter()
            .skip(before)
            .any(|c| c.operation == target)
        {
            break;
        }
        if started.elapsed() > Duration::from_secs(20) {
            return Err(format!("seed {seed}: {target} never called"));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    tokio::time::sleep(offset).await;
    // SIGKILL: no destructor, no flush, no signal handler runs.
    let _ = child.start_kill();
    let status = child.wait().await.map_err(|e| e.to_string())?;
    let killed = status.code().is_none();
    let kinds = writes_near_kill(&sim, before);
    secrets_intact(dir.path())
        .map_err(|e| format!("seed {seed}: secrets file corrupt after kill: {e}"))?;

    apply_fully(dir.path(), &sim)
        .await
        .map_err(|e| format!("seed {seed}: apply after the kill failed: {e}"))?;
    let mut plan = proof::cli(dir.path(), &sim.base_url());
    plan.args(["plan", "--detailed-exitcode", "setup.yaml"]);
    let (code, out, err) = proof::run(plan).await;
    if code != 0 {
        return Err(format!(
            "seed {seed}: plan after recovery exited {code}:\n{out}\n{err}"
        ));
    }
    let v = proof::violations(
        &sim.state(),
        &config.config,
        &dir.path().join(proof::SECRETS_FILE),
    );
    if !v.is_empty() {
        return Err(format!("seed {seed} (killed {offset:?} after the first {target}, last writes {kinds:?}): {v:#?}"));
    }
    sim.shutdown().await;
    Ok(Point { kinds, killed })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_then_apply_again_converges() {
    let mut failures = Vec::new();
    let mut coverage: BTreeMap<String, usize> = BTreeMap::new();
    let mut killed = 0;
    for seed in 0..POINTS {
        match crash_at(seed).await {
            Ok(p) => {
                killed += usize::from(p.killed);
                for k in p.kinds {
                    *coverage.entry(k).or_default() += 1;
                }
            }
            Err(e) => failures.push(e),
        }
    }
    eprintln!("{killed} of {POINTS} runs killed; writes just before the kill: {coverage:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(killed >= 20, "only {killed} runs were killed mid-apply");
    for (op, _) in TARGETS {
        assert!(
            coverage.contains_key(op),
            "no kill point near {op}: {coverage:?}"
        );
    }
}
