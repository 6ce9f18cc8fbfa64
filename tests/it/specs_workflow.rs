//! docs/updating-specs.md followed once, end to end, on a real published version: a "new" spec
//! is dropped into a copy of `openapi/`, its surface differs from the current one in exactly the
//! expected lines (what `cargo insta review` would show), and `vippsctl specs diff` reports the
//! change with its severity, the config objects it affects, and the exit code CI relies on.

use std::path::{Path, PathBuf};
use std::process::Command;
use vippsctl::specs::ops::Api;
use vippsctl::specs::surface::load_surface;

fn shared() -> Option<PathBuf> {
    let dir = std::env::var_os("VIPPSCTL_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    if dir.join("upstream-openapi").is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "shared/ not found at {}, skipping (set VIPPSCTL_SHARED_DIR)",
            dir.display()
        );
        None
    }
}

/// The project's `openapi/` when it exists; until then the published latest specs, laid out the
/// same way in a temporary directory.
fn current_openapi(shared: &Path, tmp: &Path) -> PathBuf {
    let project = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi");
    if Api::ALL
        .iter()
        .all(|a| project.join(format!("{}.yaml", a.file_stem())).is_file())
    {
        return project;
    }
    let dir = tmp.join("current");
    std::fs::create_dir_all(&dir).expect("temp dir");
    for api in Api::ALL {
        let src = shared
            .join("upstream-openapi")
            .join(api.file_stem())
            .join("latest.yaml");
        std::fs::copy(&src, dir.join(format!("{}.yaml", api.file_stem()))).expect("copy spec");
    }
    dir
}

fn vippsctl(args: &[&Path]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vippsctl"))
        .arg("specs")
        .arg("diff")
        .args(args)
        .output()
        .expect("run vippsctl");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn updating_a_spec_shows_the_change_in_the_surface_and_the_diff() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().expect("temp dir");
    let current = current_openapi(&shared, tmp.path());

    // Step 1-2 of the doc: the "new" published spec dropped into (a copy of) openapi/. The 2023-06
    // access-token spec still declares the token's numbers as integers: from today's strings,
    // that is a type change on a response field every run reads.
    let new_dir = tmp.path().join("openapi");
    std::fs::create_dir_all(&new_dir).expect("temp dir");
    for api in Api::ALL {
        let name = format!("{}.yaml", api.file_stem());
        std::fs::copy(current.join(&name), new_dir.join(&name)).expect("copy current spec");
    }
    let historic = shared.join("upstream-openapi/access-token/history/2023-06-15_04951cb.yaml");
    std::fs::copy(&historic, new_dir.join("access-token.yaml")).expect("drop in new spec");

    // Step 4: the snapshot review. The surface diff holds the retyped fields and nothing else
    // that is unrelated to them.
    let before = load_surface(&current.join("access-token.yaml"), Api::AccessToken)
        .expect("current surface")
        .to_text();
    let after = load_surface(&new_dir.join("access-token.yaml"), Api::AccessToken)
        .expect("new surface")
        .to_text();
    let diff = similar::TextDiff::from_lines(&before, &after);
    let changed: Vec<String> = diff
        .iter_all_changes()
        .filter(|c| c.tag() != similar::ChangeTag::Equal)
        .map(|c| format!("{}{}", c.tag(), c.value().trim_end()))
        .collect();
    for field in ["expires_in", "ext_expires_in", "expires_on", "not_before"] {
        assert!(
            changed
                .iter()
                .any(|l| l.starts_with('-') && l.contains(&format!(".{field}: string"))),
            "{field} missing from the removed lines: {changed:#?}"
        );
        assert!(
            changed
                .iter()
                .any(|l| l.starts_with('+') && l.contains(&format!(".{field}: integer"))),
            "{field} missing from the added lines: {changed:#?}"
        );
    }
    // The other specs are unchanged, so their surfaces are too.
    for api in [Api::Qr, Api::Webhooks, Api::Recurring, Api::Management] {
        let name = format!("{}.yaml", api.file_stem());
        assert_eq!(
            load_surface(&current.join(&name), api)
                .expect("current")
                .to_text(),
            load_surface(&new_dir.join(&name), api)
                .expect("new")
                .to_text()
        );
    }

    // Step 5: specs diff over the two directories, with the user's config.
    let config = tmp.path().join("cafe.yaml");
    std::fs::write(
        &config,
        "merchants:\n  - msn: '123456'\n    redirectQrs:\n      - {id: table-1, redirectUrl: 'https://cafe.example/1'}\n      - {id: table-2, redirectUrl: 'https://cafe.example/2'}\n    webhooks:\n      - {url: 'https://cafe.example/hook', events: [user.checked-in.v1]}\n",
    )
    .expect("write config");
    let (code, out, err) = vippsctl(&[
        &current,
        &new_dir,
        Path::new("--config"),
        &config,
        Path::new("--format"),
        Path::new("json"),
    ]);
    assert_eq!(code, 1, "breaking changes fail by default\n{out}\n{err}");
    let json: serde_json::Value = serde_json::from_str(&out).expect("JSON output");
    assert_eq!(json["apis"].as_array().map(Vec::len), Some(Api::ALL.len()));
    let changes: Vec<&serde_json::Value> = json["apis"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|a| a["changes"].as_array().into_iter().flatten())
        .collect();
    let retyped: Vec<_> = changes
        .iter()
        .filter(|c| c["message"] == "type string -> integer")
        .collect();
    assert_eq!(retyped.len(), 4, "{out}");
    for c in &retyped {
        assert_eq!(c["severity"], "breaking");
        assert_eq!(c["operation"], "fetch_access_token");
        assert_eq!(c["location"], "response 200");
        let usage = c["usage"].as_str().unwrap_or_default();
        assert!(
            usage.starts_with("affects every call for the 3 objects in ")
                && usage.ends_with("cafe.yaml"),
            "{usage}"
        );
    }
    // Only access-token changed.
    assert!(changes
        .iter()
        .all(|c| c["operation"] == "fetch_access_token"
            || c["operation"]
                .as_str()
                .is_some_and(|o| o.contains("/miami/"))));

    // CI knobs: never fail, and the markdown report for a pull request comment.
    let (code, out, _) = vippsctl(&[
        &current,
        &new_dir,
        Path::new("--fail-on"),
        Path::new("never"),
        Path::new("--format"),
        Path::new("markdown"),
    ]);
    assert_eq!(code, 0);
    assert!(
        out.contains("| BREAKING | `fetch_access_token` (POST /accesstoken/get) | response 200 |"),
        "{out}"
    );

    // Unchanged specs: nothing to report, exit 0 even with --fail-on warning.
    let (code, out, _) = vippsctl(&[
        &current,
        &current,
        Path::new("--fail-on"),
        Path::new("warning"),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("Specs: 0 breaking, 0 warning, 0 info."),
        "{out}"
    );
}

#[test]
fn fail_on_warning_trips_on_a_warning_only_update() {
    let Some(shared) = shared() else { return };
    let base = shared.join("upstream-openapi/qr/history");
    // 2023-05-30 -> 2023-12-08 adds query parameters (warnings) and drops headers.
    let (old, new) = (
        base.join("2023-05-30_11763ac.yaml"),
        base.join("2023-12-08_f8bca5d.yaml"),
    );
    let (code, out, err) = vippsctl(&[&old, &new, Path::new("--fail-on"), Path::new("warning")]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("warning  get_callback_qr"), "{out}");
}

#[test]
fn unreadable_input_is_a_clear_error() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let bad = tmp.path().join("qr.yaml");
    std::fs::write(&bad, "openapi: [unclosed").expect("write");
    let swagger = tmp.path().join("access-token.yaml");
    std::fs::write(&swagger, "swagger: '2.0'\npaths: {}\n").expect("write");
    let (code, _, err) = vippsctl(&[&bad, &bad]);
    assert_eq!(code, 1);
    assert!(
        err.contains("error: some specs could not be compared"),
        "{err}"
    );
    assert!(err.contains("not valid YAML or JSON"), "{err}");
    let (code, _, err) = vippsctl(&[&swagger, &swagger]);
    assert_eq!(code, 1);
    assert!(err.contains("Swagger 2.0"), "{err}");
    let (code, _, err) = vippsctl(&[&tmp.path().join("nope.yaml"), &bad]);
    assert_eq!(code, 1);
    assert!(err.contains("could not read"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
