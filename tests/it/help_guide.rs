//! The getting-started guide's sandbox walk-through, run as written: every `vippsctl` command in
//! sections 2 (the sandbox) and 3 (adopting an existing merchant) of docs/guide.md, in order, in a
//! fresh folder with the café example. A newcomer who follows the guide gets a validated, planned,
//! applied setup, a printed QR sheet, and an imported file that plans to no changes.

use crate::printing_common;

use printing_common::{run, text, vippsctl, words};
use std::path::Path;

/// The guide's section whose heading starts with `## {prefix}`, up to the next `## ` heading.
fn section(prefix: &str) -> String {
    let guide =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/guide.md"))
            .expect("docs/guide.md");
    let start = guide
        .find(&format!("\n## {prefix}"))
        .unwrap_or_else(|| panic!("a section `## {prefix}...` in docs/guide.md"));
    let rest = &guide[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |e| e + 3);
    rest[..end].to_string()
}

fn commands(section: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_sh = false;
    for line in section.lines() {
        let t = line.trim();
        if t.starts_with("```") {
            in_sh = t == "```sh";
            continue;
        }
        if in_sh && t.starts_with("vippsctl ") {
            out.push(t.to_string());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_walk_through_works_as_written() {
    let mut cmds = commands(&section("2."));
    assert!(
        cmds.len() >= 5,
        "the walk-through has its commands: {cmds:?}"
    );
    let adopt = commands(&section("3. Adopting an existing merchant"));
    // Seed by applying, import into a new file, plan that file: in this order.
    let import_at = adopt
        .iter()
        .position(|c| c.starts_with("vippsctl import ") && c.contains("--out imported.yaml"));
    assert!(
        import_at.is_some_and(|i| i > 0 && adopt[..i].iter().any(|c| c.contains(" apply ")))
            && adopt
                .last()
                .is_some_and(|c| c.starts_with("vippsctl plan imported.yaml")),
        "the adoption section seeds, imports into imported.yaml, then plans it: {adopt:?}"
    );
    cmds.extend(adopt);
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("setup")).expect("setup/");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cafe.yaml"),
        dir.path().join("setup/cafe.yaml"),
    )
    .expect("the guide copies examples/cafe.yaml");

    let mut last_plan = String::new();
    for cmd in &cmds {
        let argv = words(cmd);
        let mut c = vippsctl(dir.path());
        // No credentials at all: the sandbox must not need them.
        c.env_remove("VIPPS_CLIENT_ID")
            .env_remove("VIPPS_CLIENT_SECRET")
            .env_remove("VIPPS_SUBSCRIPTION_KEY")
            .args(&argv[1..]);
        let out = run(c).await;
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "`{cmd}` failed:\n{stdout}\n{stderr}");
        if argv.get(1).map(String::as_str) == Some("plan") {
            last_plan = stdout;
        }
    }
    // The guide promises: secrets in setup/secrets/kaffe.env, no changes after apply, a sheet.
    let env =
        std::fs::read_to_string(dir.path().join("setup/secrets/kaffe.env")).expect("secret file");
    assert!(
        env.lines().any(|l| l.starts_with("VIPPS_CHECKIN_SECRET=")),
        "the webhook secret was stored"
    );
    // The last plan is the imported file's: it describes what exists, so nothing is to be done.
    assert!(last_plan.contains("No changes."), "{last_plan}");
    let imported =
        std::fs::read_to_string(dir.path().join("imported.yaml")).expect("imported.yaml");
    for declared in [
        "msn: \"654321\"",
        "https://kaffe.example/vipps/check-in",
        "bord 1",
        "till-1",
        "plan --replace",
    ] {
        assert!(imported.contains(declared), "{declared}:\n{imported}");
    }
    let secret = env
        .lines()
        .find_map(|l| l.strip_prefix("VIPPS_CHECKIN_SECRET="))
        .unwrap_or_default()
        .trim();
    assert!(
        !secret.is_empty() && !imported.contains(secret),
        "the webhook secret is not in the imported file"
    );
    let sheet = std::fs::read_to_string(dir.path().join("qr/index.html")).expect("qr/index.html");
    assert!(
        sheet.contains("data-qr-count=\"6\""),
        "six QR codes on the sheet"
    );
    assert!(dir.path().join("qr/654321-redirect-bord_1.svg").is_file());
}
