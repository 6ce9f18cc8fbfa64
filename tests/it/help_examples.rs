//! Every example in examples/ works as written on a fresh machine: in a temp dir, with no
//! credentials and only the system's own programs on PATH, `apply --sandbox --auto-approve`
//! succeeds and a following `plan --sandbox --detailed-exitcode` exits 0 (converged).

use crate::printing_common;

use printing_common::{copy_tree, run, text, vippsctl};
use std::path::{Path, PathBuf};

/// The configuration examples: every `*.yaml` file and every folder in examples/ (the `*.rs`
/// files there are cargo examples, not configurations).
fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("examples/ exists")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    out.sort();
    out
}

async fn vippsctl_on_a_fresh_machine(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut c = vippsctl(dir);
    c.env_remove("VIPPS_CLIENT_ID")
        .env_remove("VIPPS_CLIENT_SECRET")
        .env_remove("VIPPS_SUBSCRIPTION_KEY")
        // Only what every machine has: no `pass`, `gh` or other tools installed by hand.
        .env("PATH", "/usr/bin:/bin")
        .args(args);
    let out = run(c).await;
    let (stdout, stderr) = text(&out);
    (out.status.code(), format!("{stdout}\n{stderr}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_applies_and_converges_in_the_sandbox() {
    let all = examples();
    assert!(
        all.len() >= 3,
        "cafe.yaml, webshop.yaml and partner/: {all:?}"
    );
    for example in all {
        let name = example
            .file_name()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        let dir = tempfile::tempdir().expect("tempdir");
        copy_tree(&example, &dir.path().join(&name));
        let (code, out) = vippsctl_on_a_fresh_machine(
            dir.path(),
            &["apply", &name, "--sandbox", "--auto-approve"],
        )
        .await;
        assert_eq!(code, Some(0), "examples/{name}: apply failed:\n{out}");
        let (code, out) = vippsctl_on_a_fresh_machine(
            dir.path(),
            &["plan", &name, "--sandbox", "--detailed-exitcode"],
        )
        .await;
        assert_eq!(code, Some(0), "examples/{name} did not converge:\n{out}");
    }
}

/// `validate` on each example says how many merchants and objects it found, in words that fit
/// the count ("1 merchant", not "1 merchants").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_counts_each_example_in_words() {
    let mut report = String::new();
    for example in examples() {
        let name = example
            .file_name()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        let (code, out) =
            vippsctl_on_a_fresh_machine(example.parent().expect("examples/"), &["validate", &name])
                .await;
        assert_eq!(code, Some(0), "{name}: {out}");
        report.push_str(&format!("{name}: {}\n", out.trim()));
    }
    insta::assert_snapshot!("validate_examples", report);
}
