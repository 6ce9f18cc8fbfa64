//! Every invalid config in tests/it/corpus/invalid yields located errors, and the full diagnostic
//! text is pinned by a snapshot (review changes with `cargo insta review`).

use std::path::{Path, PathBuf};
use vippsctl::cli::validate::{validate, Format, ValidateArgs};
use vippsctl::config;

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/corpus/invalid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/it/corpus/invalid exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

/// The environment the corpus sees: one variable set, so `${...}` cases test the unset one.
fn env(name: &str) -> Option<String> {
    (name == "SHOP_HOST").then(|| "shop.example".to_string())
}

#[test]
fn corpus_has_at_least_40_cases() {
    assert!(corpus().len() >= 40, "only {} corpus cases", corpus().len());
}

#[test]
fn every_case_yields_a_located_error() {
    for file in corpus() {
        let err = match config::load(std::slice::from_ref(&file), &env) {
            Ok(_) => panic!("{} loaded without errors", file.display()),
            Err(e) => e,
        };
        let located = err
            .items
            .iter()
            .filter(|d| d.is_error())
            .filter_map(|d| d.location.as_ref())
            .find(|o| o.file == file && o.line >= 1 && o.column >= 1);
        let located = located.unwrap_or_else(|| panic!("{}: no located error", file.display()));
        // The located line exists, so the renderer can show it.
        assert!(
            err.sources.line(&located.file, located.line).is_some(),
            "{}: line {} is not in the file",
            file.display(),
            located.line
        );
    }
}

#[test]
fn diagnostics_match_snapshots() {
    let root = format!("{}/", env!("CARGO_MANIFEST_DIR"));
    for file in corpus() {
        let args = ValidateArgs {
            paths: vec![file.clone()],
            strict: false,
            format: Format::Text,
        };
        let (text, ok) = validate(&args, &env, false);
        assert!(!ok, "{} passed validation", file.display());
        let text = text.replace(&root, "");
        let name = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("case")
            .to_string();
        insta::with_settings!({ snapshot_path => "corpus/snapshots", prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(name, text);
        });
    }
}

#[test]
fn phone_numbers_never_appear_unmasked() {
    for file in corpus() {
        let args = ValidateArgs {
            paths: vec![file.clone()],
            strict: false,
            format: Format::Text,
        };
        let (text, _) = validate(&args, &env, false);
        let source = std::fs::read_to_string(&file).unwrap_or_default();
        for line in source.lines().filter(|l| l.contains("phoneNumber")) {
            let value = line
                .split(':')
                .nth(1)
                .unwrap_or_default()
                .trim()
                .trim_matches('"');
            assert!(!value.is_empty());
            assert!(
                !text.contains(value),
                "{}: phone number shown unmasked",
                file.display()
            );
        }
    }
}
