//! No secret is ever written anywhere but its sink. Every command (validate, plan as text,
//! JSON, saved and markdown, apply of a saved plan and of a config, a secret rotation, refused
//! and failed runs, runs under injected faults, a failing command sink that echoes its input)
//! runs at `-vvv` with recognisable credentials. Their stdout, stderr and every file they write
//! other than the declared sinks are searched for the credentials, every access token the
//! simulator issued and every webhook secret it handed out: zero occurrences. Phone numbers
//! appear only masked.

use crate::proof;

use proof::Size;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;
use vippsctl::domain::Secret;
use vippsctl::sim::{FaultConfig, SimConfig, SimCredentials, SimHandle};

const CLIENT_ID: &str = "LEAKCANARY-CLIENTID-7f3a";
const CLIENT_SECRET: &str = "LEAKCANARY-CLIENTSECRET-9b1c";
const SUBSCRIPTION_KEY: &str = "LEAKCANARY-SUBKEY-44de";
const WRONG_SECRET: &str = "LEAKCANARY-WRONGSECRET-0000";
const PHONE: &str = "4791234567";
const PHONE_MASKED: &str = "********67";

struct Run {
    what: String,
    stdout: String,
    stderr: String,
}

fn cli(dir: &Path, sim: &SimHandle, secret: &str) -> tokio::process::Command {
    let mut c = proof::cli(dir, &sim.base_url());
    c.env("VIPPS_CLIENT_ID", CLIENT_ID)
        .env("VIPPS_CLIENT_SECRET", secret)
        .env("VIPPS_SUBSCRIPTION_KEY", SUBSCRIPTION_KEY);
    c
}

async fn run(dir: &Path, sim: &SimHandle, secret: &str, args: &[&str], runs: &mut Vec<Run>) -> i32 {
    let mut c = cli(dir, sim, secret);
    c.args(args);
    let (code, stdout, stderr) = proof::run(c).await;
    runs.push(Run {
        what: args.join(" "),
        stdout,
        stderr,
    });
    code
}

fn webhook_secrets(sim: &SimHandle, into: &mut BTreeSet<String>) {
    for m in sim.state().merchants.values() {
        for w in &m.webhooks {
            into.insert(w.secret.expose().to_string());
        }
    }
}

/// Access tokens as the simulator makes them: `sim.` and 64 hex digits.
fn tokens_in(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("sim.") {
        let tail = &rest[i + 4..];
        let hex: String = tail.chars().take_while(|c| c.is_ascii_hexdigit()).collect();
        if hex.len() >= 32 {
            found.push(format!("sim.{hex}"));
        }
        rest = tail;
    }
    found
}

fn files_below(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files_below(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_output_logs_or_files() {
    let mut sc = SimConfig::test();
    sc.credentials = vec![SimCredentials {
        client_id: CLIENT_ID.into(),
        client_secret: Secret::new(CLIENT_SECRET),
        subscription_key: Secret::new(SUBSCRIPTION_KEY),
        secondary_subscription_key: None,
        msns: vec![proof::MSN.into()],
        partner: false,
    }];
    sc.latency = Duration::from_millis(1);
    let sim = vippsctl::sim::start(sc, ([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    proof::seed_unmanaged(&sim);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let size = Size {
        webhooks: 3,
        redirect_qrs: 5,
        callback_qrs: 2,
        agreements: 4,
    };
    let setup = proof::config_yaml(size, Some(PHONE));
    std::fs::write(d.join("setup.yaml"), &setup).unwrap();
    std::fs::write(
        d.join("broken.yaml"),
        setup
            .replace("amount: 1000", "amount: -1000")
            .replace("msn: \"123456\"", "msn: 12"),
    )
    .unwrap();
    let mut runs = Vec::new();
    let mut secrets = BTreeSet::new();
    let ok = CLIENT_SECRET;

    assert_eq!(
        run(d, &sim, ok, &["validate", "setup.yaml"], &mut runs).await,
        0
    );
    assert_ne!(
        run(d, &sim, ok, &["-vvv", "validate", "broken.yaml"], &mut runs).await,
        0
    );
    assert_eq!(
        run(d, &sim, ok, &["-vvv", "plan", "setup.yaml"], &mut runs).await,
        0
    );
    assert_eq!(
        run(
            d,
            &sim,
            ok,
            &["-vvv", "plan", "--json", "setup.yaml"],
            &mut runs
        )
        .await,
        0
    );
    let saved = [
        "-vvv",
        "plan",
        "--out",
        "plan.json",
        "--markdown",
        "plan.md",
        "setup.yaml",
    ];
    assert_eq!(run(d, &sim, ok, &saved, &mut runs).await, 0);
    // Refused: no terminal to confirm on.
    assert_ne!(
        run(d, &sim, ok, &["-vvv", "apply", "setup.yaml"], &mut runs).await,
        0
    );
    assert_eq!(
        run(d, &sim, ok, &["-vvv", "apply", "plan.json"], &mut runs).await,
        0
    );
    webhook_secrets(&sim, &mut secrets);
    assert_eq!(
        run(
            d,
            &sim,
            ok,
            &["-vvv", "plan", "--detailed-exitcode", "setup.yaml"],
            &mut runs
        )
        .await,
        0
    );
    // Rotation: a new secret for one webhook.
    let addr = format!("{}.webhooks[{}]", proof::MSN, proof::webhook_url(0));
    let rotate = [
        "-vvv",
        "apply",
        "--auto-approve",
        "--replace",
        &addr,
        "setup.yaml",
    ];
    assert_eq!(run(d, &sim, ok, &rotate, &mut runs).await, 0);
    webhook_secrets(&sim, &mut secrets);
    // Wrong credentials: a clear error, not an echo of what was sent.
    assert_ne!(
        run(
            d,
            &sim,
            WRONG_SECRET,
            &["-vvv", "plan", "setup.yaml"],
            &mut runs
        )
        .await,
        0
    );
    // Faults while changing everything: retries and failures are logged.
    let changed = proof::config_yaml_v(size, Some(PHONE), true);
    std::fs::write(d.join("setup.yaml"), &changed).unwrap();
    sim.set_faults(FaultConfig {
        hang: Duration::from_secs(60),
        ..FaultConfig::with_rate(0.3)
    });
    let _ = run(
        d,
        &sim,
        ok,
        &["-vvv", "apply", "--auto-approve", "setup.yaml"],
        &mut runs,
    )
    .await;
    webhook_secrets(&sim, &mut secrets);
    sim.set_faults(FaultConfig::none());
    assert_eq!(
        run(
            d,
            &sim,
            ok,
            &["-vvv", "apply", "--auto-approve", "setup.yaml"],
            &mut runs
        )
        .await,
        0
    );
    webhook_secrets(&sim, &mut secrets);
    // A command sink that fails and prints what it was given.
    let echo = changed.replacen(
        &format!(
            "secret: {{ file: {}, key: {} }}",
            proof::SECRETS_FILE,
            proof::secret_key(Some(1))
        ),
        "secret: { command: [sh, -c, \"cat >&2; echo; cat /dev/null; exit 3\"] }",
        1,
    );
    assert_ne!(echo, changed);
    std::fs::write(d.join("setup.yaml"), &echo).unwrap();
    let addr1 = format!("{}.webhooks[{}]", proof::MSN, proof::webhook_url(1));
    let sink_fail = [
        "-vvv",
        "apply",
        "--auto-approve",
        "--replace",
        &addr1,
        "setup.yaml",
    ];
    assert_ne!(run(d, &sim, ok, &sink_fail, &mut runs).await, 0);
    webhook_secrets(&sim, &mut secrets);
    // Unreachable API.
    let mut down = proof::cli(d, "http://127.0.0.1:9");
    down.env("VIPPS_CLIENT_ID", CLIENT_ID)
        .env("VIPPS_CLIENT_SECRET", CLIENT_SECRET)
        .env("VIPPS_SUBSCRIPTION_KEY", SUBSCRIPTION_KEY)
        .args(["-vvv", "plan", "setup.yaml"]);
    let (code, stdout, stderr) = proof::run(down).await;
    assert_ne!(code, 0);
    runs.push(Run {
        what: "plan against a closed port".into(),
        stdout,
        stderr,
    });

    // Every token the simulator issued, seen in the simulator's own call log.
    assert!(
        secrets.len() >= 5,
        "too few webhook secrets seen: {}",
        secrets.len()
    );
    let mut needles: Vec<(String, String)> = vec![
        ("client id".into(), CLIENT_ID.into()),
        ("client secret".into(), CLIENT_SECRET.into()),
        ("subscription key".into(), SUBSCRIPTION_KEY.into()),
        ("wrong client secret".into(), WRONG_SECRET.into()),
        ("phone number".into(), PHONE.into()),
    ];
    needles.extend(
        secrets
            .iter()
            .map(|s| ("webhook secret".to_string(), s.clone())),
    );

    let mut leaks = Vec::new();
    let mut check = |place: &str, text: &str| {
        for (what, value) in &needles {
            if text.contains(value.as_str()) {
                leaks.push(format!("{what} in {place}"));
            }
        }
        for t in tokens_in(text) {
            leaks.push(format!("access token {}… in {place}", &t[..10]));
        }
    };
    for r in &runs {
        check(&format!("stdout of `{}`", r.what), &r.stdout);
        check(&format!("stderr of `{}`", r.what), &r.stderr);
    }
    let mut files = Vec::new();
    files_below(d, &mut files);
    // The declared sink, and the configs the test itself wrote (inputs hold the phone number).
    let sinks = [
        d.join(proof::SECRETS_FILE),
        d.join("setup.yaml"),
        d.join("broken.yaml"),
    ];
    let mut searched = 0;
    for f in &files {
        if sinks.contains(f) {
            continue;
        }
        let bytes = std::fs::read(f).unwrap_or_default();
        check(&f.display().to_string(), &String::from_utf8_lossy(&bytes));
        searched += 1;
    }
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
    assert!(
        searched >= 2,
        "expected plan.json and plan.md at least: {files:?}"
    );
    eprintln!(
        "searched {} runs and {searched} files for {} secrets and every access token",
        runs.len(),
        needles.len()
    );

    // The logs were really verbose, the sink really failed, and phone numbers show masked.
    let all_err: String = runs.iter().map(|r| r.stderr.as_str()).collect();
    let all_out: String = runs.iter().map(|r| r.stdout.as_str()).collect();
    assert!(
        all_err.contains("TRACE") || all_err.contains("DEBUG"),
        "no -vvv logging seen"
    );
    assert!(all_out.contains("exit status: 3") || all_err.contains("exit status: 3"));
    let md = std::fs::read_to_string(d.join("plan.md")).unwrap();
    assert!(md.contains(PHONE_MASKED), "plan.md shows no masked phone");
    assert!(
        all_out.contains(PHONE_MASKED),
        "no masked phone in any plan"
    );
    // Controls: the search finds what it looks for (the sink holds secrets; a token matches).
    let sink_text = std::fs::read_to_string(d.join(proof::SECRETS_FILE)).unwrap();
    assert!(needles.iter().any(|(_, v)| sink_text.contains(v.as_str())));
    assert_eq!(
        tokens_in(&format!("Bearer sim.{}", "ab".repeat(32))).len(),
        1
    );
    // The sink holds the real secrets.
    let sink = proof::parse_dotenv(&std::fs::read_to_string(d.join(proof::SECRETS_FILE)).unwrap())
        .unwrap();
    assert!(sink.values().all(|v| secrets.contains(v)));
    sim.shutdown().await;
}
