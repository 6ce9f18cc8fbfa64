//! `vippsctl qr export` against the simulator: every declared code is written under a safe file
//! name, each image decodes to a QR whose URL leads where the config says, and the sheet lists
//! them all.

use crate::printing_common;

use printing_common::*;
use std::collections::BTreeSet;
use std::path::Path;

const SETUP: &str = r#"
version: 1
merchants:
  - msn: "123456"
    name: Café <Blåbær> & Co
    webhooks:
      - url: https://example.com/vipps/check-in
        events: [user.checked-in.v1]
        secret: { command: ["true"] }
    redirectQrs:
      - id: bord 1
        redirectUrl: https://example.com/meny?bord=1
      - id: bord_1
        redirectUrl: https://example.com/meny?bord=one
      - id: blåbær
        redirectUrl: https://example.com/blaabaer
    callbackQrs:
      - merchantQrId: ../till/1
        locationDescription: Kasse 1 ved døra
      - merchantQrId: till-2
        locationDescription: Kasse 2 i baren
"#;

/// (file name, then kind and what a scan must lead to)
fn expected() -> Vec<(&'static str, (&'static str, &'static str))> {
    Vec::from([
        (
            "123456-redirect-bord_1",
            ("redirect", "https://example.com/meny?bord=1"),
        ),
        (
            "123456-redirect-bord_1",
            ("redirect", "https://example.com/meny?bord=one"),
        ),
        (
            "123456-redirect-blaabaer",
            ("redirect", "https://example.com/blaabaer"),
        ),
        (
            "123456-callback-_._till_1",
            ("callback", "Kasse 1 ved døra"),
        ),
        ("123456-callback-till-2", ("callback", "Kasse 2 i baren")),
    ])
}

/// The target the sheet prints under the image `file` (HTML entities undone).
fn sheet_target(sheet: &str, file: &str) -> String {
    let at = sheet
        .find(&format!("src=\"{file}\""))
        .unwrap_or_else(|| panic!("the sheet shows {file}"));
    let rest = &sheet[at..];
    let start = rest
        .find("<span class=\"target\">")
        .expect("a target caption")
        + 21;
    let end = rest[start..].find("</span>").expect("caption end");
    rest[start..start + end]
        .trim_start_matches("opens ")
        .trim_start_matches("check-in at ")
        .replace("&amp;", "&")
}

async fn applied(dir: &Path, base_url: &str) {
    std::fs::write(dir.join("setup.yaml"), SETUP).expect("write setup");
    let mut cmd = vippsctl(dir);
    cmd.args([
        "apply",
        "--auto-approve",
        "--base-url",
        base_url,
        "setup.yaml",
    ]);
    let out = run(cmd).await;
    assert!(out.status.success(), "apply: {:?}", text(&out));
}

async fn export(dir: &Path, base_url: &str, extra: &[&str]) -> std::process::Output {
    let mut cmd = vippsctl(dir);
    cmd.args([
        "qr",
        "export",
        "setup.yaml",
        "--out",
        "qr",
        "--base-url",
        base_url,
    ]);
    cmd.args(extra);
    run(cmd).await
}

/// Width and height from a PNG's header.
fn png_dimensions(bytes: &[u8]) -> (u32, u32) {
    let reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .expect("a PNG header");
    let info = reader.info();
    (info.width, info.height)
}

/// Checks every image in `qr/` and returns the files found (without the hash suffix rule: names
/// that clash carry `-<hash>`, matched by prefix).
async fn check_images(dir: &Path, ext: &str) -> usize {
    let qr = dir.join("qr");
    let mut files: Vec<String> = std::fs::read_dir(&qr)
        .expect("the out folder exists")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n != "index.html")
        .collect();
    files.sort();
    assert_eq!(files.len(), 5, "one image per declared code: {files:?}");
    let sheet = std::fs::read_to_string(qr.join("index.html")).expect("index.html");
    let mut seen_targets = BTreeSet::new();
    for file in &files {
        assert!(file.ends_with(&format!(".{ext}")), "{file}");
        let stem = file.trim_end_matches(&format!(".{ext}"));
        let (kind, _) = expected()
            .iter()
            .find(|(prefix, _)| stem == *prefix || stem.starts_with(&format!("{prefix}-")))
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("unexpected file name {file}"));
        let bytes = std::fs::read(qr.join(file)).expect("read image");
        let codes = match ext {
            "png" => decode_png(&bytes).1,
            _ => decode_svg(&String::from_utf8(bytes).expect("SVG is text")),
        };
        assert_eq!(codes.len(), 1, "{file}: exactly one QR code, got {codes:?}");
        let (status, lead) = follow(&codes[0]).await;
        match kind {
            "redirect" => assert_eq!(status, 302, "{file}: {lead}"),
            _ => {
                assert_eq!(status, 200, "{file}: {lead}");
                assert!(lead.starts_with("Checked in at "), "{file}: {lead}");
            }
        }
        let lead = lead
            .trim_start_matches("Checked in at ")
            .trim_end_matches(" (merchant 123456).\n")
            .to_string();
        assert!(
            sheet.contains(&format!("src=\"{file}\"")),
            "the sheet shows {file}"
        );
        // The sheet's caption for this image names the same target the code leads to.
        let caption = sheet_target(&sheet, file);
        assert_eq!(caption, lead, "{file}: the sheet and the code agree");
        seen_targets.insert(lead);
    }
    let want: BTreeSet<String> = [
        "https://example.com/meny?bord=1",
        "https://example.com/meny?bord=one",
        "https://example.com/blaabaer",
        "Kasse 1 ved døra",
        "Kasse 2 i baren",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(
        seen_targets, want,
        "each code leads to its own declared target"
    );
    assert!(sheet.contains("Café &lt;Blåbær&gt; &amp; Co (MSN 123456)"));
    assert!(sheet.contains("data-qr-count=\"5\""));
    files.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn png_images_decode_to_codes_that_lead_to_the_declared_targets() {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().expect("tempdir");
    applied(dir.path(), &sim.base_url()).await;
    let out = export(
        dir.path(),
        &sim.base_url(),
        &["--format", "png", "--size", "300"],
    )
    .await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "export: {stdout}\n{stderr}");
    assert_eq!(
        stdout.lines().count(),
        6,
        "five images and the sheet on stdout: {stdout}"
    );
    assert_eq!(check_images(dir.path(), "png").await, 5);
    // --size N gives N x N pixels exactly, for every image, and each still decodes.
    for size in ["300", "1200", "101"] {
        let out = export(
            dir.path(),
            &sim.base_url(),
            &["--format", "png", "--size", size],
        )
        .await;
        assert!(out.status.success(), "{:?}", text(&out));
        for entry in std::fs::read_dir(dir.path().join("qr")).expect("qr/") {
            let path = entry.expect("entry").path();
            if path.extension().is_none_or(|e| e != "png") {
                continue;
            }
            let bytes = std::fs::read(&path).expect("png");
            let (w, h) = png_dimensions(&bytes);
            let want: u32 = size.parse().expect("a number");
            assert_eq!((w, h), (want, want), "{}: --size {size}", path.display());
            assert_eq!(
                decode_png(&bytes).1.len(),
                1,
                "{} decodes at --size {size}",
                path.display()
            );
        }
    }
    // The image links came from the QR API with the image options, not from a local renderer.
    let calls = sim.calls();
    let ops: BTreeSet<&str> = calls.iter().map(|c| c.operation.as_str()).collect();
    assert!(
        ops.contains("get_redirect_qr") && ops.contains("get_callback_qr"),
        "{ops:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn svg_images_rasterise_to_codes_that_lead_to_the_declared_targets() {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().expect("tempdir");
    applied(dir.path(), &sim.base_url()).await;
    let out = export(dir.path(), &sim.base_url(), &[]).await;
    assert!(out.status.success(), "{:?}", text(&out));
    assert_eq!(check_images(dir.path(), "svg").await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_that_was_never_applied_fails_the_export_and_names_itself() {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().expect("tempdir");
    applied(dir.path(), &sim.base_url()).await;
    let more = SETUP.replace(
        "      - id: blåbær\n",
        "      - id: ny kampanje\n        redirectUrl: https://example.com/ny\n      - id: blåbær\n",
    );
    std::fs::write(dir.path().join("setup.yaml"), more).expect("write");
    let out = export(dir.path(), &sim.base_url(), &["--format", "png"]).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("1 of 6 QR codes could not be exported"),
        "{stderr}"
    );
    assert!(
        stderr.contains("redirect QR `ny kampanje` of merchant 123456"),
        "{stderr}"
    );
    assert!(stderr.contains("vippsctl apply"), "{stderr}");
    // The others are still written, and the sheet shows only what exists.
    let sheet = std::fs::read_to_string(dir.path().join("qr/index.html")).expect("sheet");
    assert!(sheet.contains("data-qr-count=\"5\"") && !sheet.contains("ny kampanje"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_options_and_empty_configs_are_refused_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("setup.yaml"), SETUP).expect("write");
    let mut cmd = vippsctl(dir.path());
    cmd.args([
        "qr",
        "export",
        "setup.yaml",
        "--out",
        "qr",
        "--format",
        "png",
        "--size",
        "50",
    ]);
    let out = run(cmd).await;
    let (_, stderr) = text(&out);
    // A usage error exits 1 (2 is reserved for "changes present").
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--size") && stderr.contains("100..=2000"),
        "{stderr}"
    );

    std::fs::write(
        dir.path().join("empty.yaml"),
        "version: 1\nmerchants:\n  - msn: \"123456\"\n",
    )
    .expect("write");
    let mut cmd = vippsctl(dir.path());
    cmd.args([
        "qr",
        "export",
        "empty.yaml",
        "--out",
        "qr",
        "--base-url",
        "http://127.0.0.1:9",
    ]);
    let out = run(cmd).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no QR codes are declared"), "{stderr}");
    assert!(
        !dir.path().join("qr").exists(),
        "nothing is written for nothing to print"
    );

    // Without credentials nothing is fetched and nothing is written.
    let mut cmd = vippsctl(dir.path());
    cmd.env_remove("VIPPS_CLIENT_SECRET")
        .args(["qr", "export", "setup.yaml", "--out", "qr"]);
    let out = run(cmd).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("VIPPS_CLIENT_SECRET"), "{stderr}");
    assert!(
        stderr.contains("--sandbox"),
        "the hint offers the sandbox: {stderr}"
    );
    assert!(!dir.path().join("qr").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sheet_shows_live_targets_marks_expiring_codes_and_says_so() {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let setup = "version: 1
merchants:
  - msn: \"123456\"
    redirectQrs:
      - id: kampanje
        redirectUrl: https://example.com/sommer
        ttl: 864000
      - id: meny
        redirectUrl: https://example.com/meny
";
    std::fs::write(dir.path().join("setup.yaml"), setup).expect("write");
    let mut cmd = vippsctl(dir.path());
    cmd.args([
        "apply",
        "--auto-approve",
        "--base-url",
        &sim.base_url(),
        "setup.yaml",
    ]);
    assert!(run(cmd).await.status.success());
    // The file changes after the apply: the sheet shows what a scan does now, and says so.
    std::fs::write(
        dir.path().join("setup.yaml"),
        setup.replace("example.com/meny", "example.com/meny-2027"),
    )
    .expect("write");
    let out = export(dir.path(), &sim.base_url(), &[]).await;
    assert!(out.status.success(), "{:?}", text(&out));
    let sheet = std::fs::read_to_string(dir.path().join("qr/index.html")).expect("sheet");
    let card = |id: &str| -> String {
        let at = sheet
            .find(&format!("data-id=\"{id}\""))
            .unwrap_or_else(|| panic!("a card for {id}"));
        let end = sheet[at..].find("</figure>").expect("card end");
        sheet[at..at + end].to_string()
    };
    let kampanje = card("kampanje");
    let left: i64 = kampanje
        .split("data-expires-in=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("the card says when it expires: {kampanje}"));
    assert!((863_000..=864_000).contains(&left), "{left}");
    assert!(kampanje.contains("class=\"expires\""), "{kampanje}");
    assert!(kampanje.contains("Expires"), "{kampanje}");
    let meny = card("meny");
    assert!(!meny.contains("class=\"expires\""), "{meny}");
    assert!(
        meny.contains("opens https://example.com/meny<"),
        "the live target: {meny}"
    );
    assert!(
        meny.contains("https://example.com/meny-2027"),
        "the configured target that differs is named: {meny}"
    );
    assert!(
        sheet.contains("as read from Vipps"),
        "the sheet says its values are live: {sheet}"
    );
}
