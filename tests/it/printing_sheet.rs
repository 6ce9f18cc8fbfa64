//! The printable sheet in a real headless Chromium: it loads, every image on it loads, and a
//! screenshot of it contains every QR code, scannable. The screenshot is kept under
//! `target/test-artifacts/` for review.
//!
//! Chromium comes from the system packages (`apt-get install -y chromium`; `.ci/run` installs it).
//! Without it the test fails in CI (`CI=true`) and skips with a message elsewhere.

use crate::printing_common;

use printing_common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const SETUP: &str = r#"
version: 1
merchants:
  - msn: "123456"
    name: Kaffebar
    webhooks:
      - url: https://example.com/vipps/check-in
        events: [user.checked-in.v1]
        secret: { command: ["true"] }
    redirectQrs:
      - id: bord 1
        redirectUrl: https://example.com/meny?bord=1
      - id: bord 2
        redirectUrl: https://example.com/meny?bord=2
      - id: sommer
        redirectUrl: https://example.com/sommer
    callbackQrs:
      - merchantQrId: till-1
        locationDescription: Kasse 1
  - msn: "654321"
    redirectQrs:
      - id: meny
        redirectUrl: https://example.org/meny
"#;
const CODES: usize = 5;

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("VIPPSCTL_CHROMIUM") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH")?;
    [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    .iter()
    .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
    .find(|p| p.is_file())
}

fn artifacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("create target/test-artifacts");
    dir
}

/// A headless Chromium that touches nothing outside its own fresh profile.
fn browser(exe: &Path, profile: &Path) -> Command {
    let mut cmd = Command::new(exe);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

fn file_url(path: &Path) -> String {
    let path = path.canonicalize().expect("canonical path");
    url::Url::from_file_path(&path)
        .expect("a file URL")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sheet_loads_in_chromium_and_shows_every_code() {
    let Some(exe) = chromium() else {
        let msg = "Chromium not found (looked for chromium, chromium-browser, google-chrome on \
                   PATH and $VIPPSCTL_CHROMIUM); install it with `apt-get install -y chromium`";
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{msg}: the printable QR sheet cannot be checked");
        }
        eprintln!("skipping: {msg}");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("setup.yaml"), SETUP).expect("write setup");
    // The whole user path: the sandbox, no credentials, no base URL.
    let mut cmd = vippsctl(dir.path());
    cmd.args(["apply", "--sandbox", "--auto-approve", "setup.yaml"]);
    let out = run(cmd).await;
    assert!(out.status.success(), "apply: {:?}", text(&out));

    for format in ["png", "svg"] {
        let mut cmd = vippsctl(dir.path());
        cmd.args([
            "qr",
            "export",
            "--sandbox",
            "setup.yaml",
            "--format",
            format,
            "--out",
            format,
        ]);
        let out = run(cmd).await;
        assert!(out.status.success(), "export {format}: {:?}", text(&out));
        let sheet = dir.path().join(format).join("index.html");
        let profile = tempfile::tempdir().expect("profile dir");

        // The DOM after load: the sheet's own script counts the images that really decoded.
        let mut cmd = browser(&exe, profile.path());
        cmd.args(["--virtual-time-budget=10000", "--dump-dom"])
            .arg(file_url(&sheet));
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .expect("join")
            .expect("chromium runs");
        let dom = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && dom.contains("<main>"),
            "chromium --dump-dom failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let imgs = dom.matches("<img ").count();
        assert_eq!(imgs, CODES, "{format}: one image per code on the sheet");
        assert!(
            dom.contains(&format!("data-images-loaded=\"{CODES}\"")),
            "{format}: every image loaded in the browser: {dom}"
        );
        assert!(
            !dom.contains("class=\"broken\""),
            "{format}: no broken-image notice"
        );
        for id in ["bord 1", "bord 2", "sommer", "till-1", "meny"] {
            assert!(
                dom.contains(&format!("data-id=\"{id}\"")),
                "{format}: {id} shown"
            );
        }

        // What a person sees: a screenshot, in which every code must be found and decode.
        let shot = artifacts().join(format!("qr-sheet-{format}.png"));
        let _ = std::fs::remove_file(&shot);
        let mut cmd = browser(&exe, profile.path());
        cmd.args(["--window-size=1400,1400", "--force-device-scale-factor=2"])
            .arg(format!("--screenshot={}", shot.display()))
            .arg(file_url(&sheet));
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .expect("join")
            .expect("chromium runs");
        assert!(
            out.status.success() && shot.is_file(),
            "chromium --screenshot failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (_, mut on_screen) = decode_png(&std::fs::read(&shot).expect("screenshot"));
        on_screen.sort();
        // The sandbox is gone with the command, so compare with the image files themselves
        // (tests/printing_qr.rs follows each code to its target).
        let mut in_files = Vec::new();
        for entry in std::fs::read_dir(dir.path().join(format)).expect("out dir") {
            let path = entry.expect("entry").path();
            let codes = match path.extension().and_then(|e| e.to_str()) {
                Some("png") => decode_png(&std::fs::read(&path).expect("png")).1,
                Some("svg") => decode_svg(&std::fs::read_to_string(&path).expect("svg")),
                _ => continue,
            };
            in_files.extend(codes);
        }
        in_files.sort();
        assert_eq!(in_files.len(), CODES, "{format}: {in_files:?}");
        assert_eq!(
            on_screen,
            in_files,
            "{format}: every code is visible and scannable in the screenshot {}",
            shot.display()
        );
    }
}
