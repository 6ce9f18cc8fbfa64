//! The shipped examples validate, the checked-in schema is current, and the reference documents
//! every field the schema has.

use std::path::{Path, PathBuf};
use vippsctl::config;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn example_files() -> Vec<PathBuf> {
    let mut files = vec![
        root().join("examples/cafe.yaml"),
        root().join("examples/webshop.yaml"),
    ];
    let mut partner: Vec<PathBuf> = std::fs::read_dir(root().join("examples/partner"))
        .expect("examples/partner exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    partner.sort();
    files.extend(partner);
    files
}

#[test]
fn examples_validate_without_warnings() {
    for path in [
        "examples/cafe.yaml",
        "examples/webshop.yaml",
        "examples/partner",
    ] {
        let loaded = match config::load(&[root().join(path)], &no_env) {
            Ok(l) => l,
            Err(d) => panic!("{path} is invalid:\n{}", d.render(false)),
        };
        assert!(
            loaded.warnings.is_empty(),
            "{path} has warnings:\n{}",
            config::render(&loaded.warnings, &loaded.sources, false)
        );
        assert!(loaded.object_count() > 0, "{path} declares nothing");
        for m in &loaded.config.merchants {
            assert_eq!(m.msn.len(), 6, "{path}: examples use 6-digit MSNs");
        }
    }
}

#[test]
fn cafe_has_tills_tables_and_check_in_webhook_and_no_credentials() {
    let loaded = config::load(&[root().join("examples/cafe.yaml")], &no_env).expect("valid");
    let m = &loaded.config.merchants[0];
    assert!(m.credentials.is_none());
    assert!(m.callback_qrs.len() >= 2);
    assert!(m.redirect_qrs.len() >= 2);
    assert!(m
        .webhooks
        .iter()
        .any(|w| w.events.iter().any(|e| e == "user.checked-in.v1")));
}

#[test]
fn partner_folder_merges_a_merchant_split_across_files() {
    let loaded = config::load(&[root().join("examples/partner")], &no_env).expect("valid");
    assert!(loaded.files.len() >= 2);
    assert!(loaded.config.merchants.len() >= 3);
    let split: Vec<_> = loaded
        .config
        .merchants
        .iter()
        .filter(|m| {
            let mut files: Vec<_> = m
                .webhooks
                .iter()
                .map(|w| &w.origin.file)
                .chain(m.redirect_qrs.iter().map(|q| &q.origin.file))
                .chain(m.callback_qrs.iter().map(|q| &q.origin.file))
                .collect();
            files.sort();
            files.dedup();
            files.len() > 1
        })
        .collect();
    assert!(!split.is_empty(), "no merchant is split across files");
}

#[test]
fn examples_point_editors_at_the_schema() {
    for file in example_files() {
        let text = std::fs::read_to_string(&file).expect("readable");
        let first = text.lines().next().unwrap_or_default();
        let rel = first
            .strip_prefix("# yaml-language-server: $schema=")
            .unwrap_or_else(|| panic!("{}: first line is not the schema line", file.display()));
        let target = file.parent().expect("has a folder").join(rel);
        assert!(
            target.is_file(),
            "{}: {} does not exist",
            file.display(),
            target.display()
        );
    }
}

#[test]
fn checked_in_schema_is_current() {
    let path = root().join("docs/vippsctl.schema.json");
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == config::schema::json_schema_text(),
        "docs/vippsctl.schema.json is stale; regenerate it with:\n  cargo run -- schema > docs/vippsctl.schema.json"
    );
}

#[test]
fn schema_is_draft_07_and_describes_every_property() {
    let schema = config::schema::json_schema();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    let mut missing = Vec::new();
    for_each_property(&schema, &mut |name, prop| {
        if prop
            .get("description")
            .and_then(|d| d.as_str())
            .is_none_or(str::is_empty)
        {
            missing.push(name.to_string());
        }
    });
    assert!(
        missing.is_empty(),
        "properties without a description: {missing:?}"
    );
}

#[test]
fn reference_documents_every_schema_property() {
    let doc =
        std::fs::read_to_string(root().join("docs/config.md")).expect("docs/config.md exists");
    let schema = config::schema::json_schema();
    let mut missing = Vec::new();
    let mut count = 0;
    for_each_property(&schema, &mut |name, _| {
        count += 1;
        if !doc.contains(&format!("| `{name}` |")) {
            missing.push(name.to_string());
        }
    });
    assert!(count > 25, "the schema walk found only {count} properties");
    assert!(
        missing.is_empty(),
        "docs/config.md has no table row for: {missing:?}"
    );
}

/// Every named property anywhere in the schema (definitions and variants included).
fn for_each_property(v: &serde_json::Value, f: &mut dyn FnMut(&str, &serde_json::Value)) {
    match v {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::Object(props)) = map.get("properties") {
                for (name, prop) in props {
                    f(name, prop);
                }
            }
            for (_, child) in map {
                for_each_property(child, f);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| for_each_property(i, f)),
        _ => {}
    }
}
