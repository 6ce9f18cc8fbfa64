//! The CI recipes in docs/ci/ run for real against the simulator, so the docs cannot rot: every
//! `run:` / `script:` that calls vippsctl is executed by bash as the CI service would, with the
//! real binary on PATH (`VIPPSCTL_BASE_URL` points it at an in-process simulator), stand-ins for
//! `gh` / `glab` that record what they were asked to do, and the recipe's own setup example.

mod printing_common;

use printing_common::*;
use serde_yaml::Value;
use std::collections::BTreeMap;
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

/// Run a job's steps in order, skipping the install step (the binary is already on PATH) and
/// steps whose `if:` needs the plan's exit code when it was an error. Returns the last failure.
async fn gh_job(bench: &Bench, wf: &Value, job: &str, extra: &[(&str, &str)]) -> (i32, String) {
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
        let (code, out) = bench.bash(&step.run, &env).await;
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
