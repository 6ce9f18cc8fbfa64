//! The JSON Schema that `vippsctl schema` prints is one that standard validators take in strict
//! mode: a valid draft-07 schema, only the formats the specification defines, descriptions as
//! editors show them, and what a schema can say about URLs, amounts and event names. The shipped
//! examples validate against it, with the `jsonschema` crate and (where node is installed, which
//! .ci/run ensures) with ajv in strict mode.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The schema as users get it: `vippsctl schema`.
fn schema() -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_vippsctl"))
        .arg("schema")
        .output()
        .expect("run vippsctl schema");
    assert!(out.status.success(), "vippsctl schema failed");
    serde_json::from_slice(&out.stdout).expect("the schema is JSON")
}

/// A validator that refuses formats it does not know, as ajv's strict mode does.
fn strict(schema: &Value) -> jsonschema::Validator {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .should_validate_formats(true)
        .should_ignore_unknown_formats(false)
        .build(schema)
        .unwrap_or_else(|e| panic!("the schema is refused by a strict validator: {e}"))
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
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    partner.sort();
    files.extend(partner);
    files
}

fn yaml_to_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("readable");
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn walk(v: &Value, f: &mut dyn FnMut(&serde_json::Map<String, Value>)) {
    match v {
        Value::Object(map) => {
            f(map);
            map.values().for_each(|c| walk(c, f));
        }
        Value::Array(items) => items.iter().for_each(|i| walk(i, f)),
        _ => {}
    }
}

#[test]
fn the_schema_is_a_valid_draft_07_schema() {
    let schema = schema();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    if let Err(e) = jsonschema::meta::validate(&schema) {
        panic!("not a valid draft-07 schema: {e}");
    }
    strict(&schema);
}

#[test]
fn only_formats_the_specification_defines() {
    // JSON Schema draft-07, section 7.3 (Defined Formats).
    const DEFINED: &[&str] = &[
        "date-time",
        "date",
        "time",
        "email",
        "idn-email",
        "hostname",
        "idn-hostname",
        "ipv4",
        "ipv6",
        "uri",
        "uri-reference",
        "iri",
        "iri-reference",
        "uri-template",
        "json-pointer",
        "relative-json-pointer",
        "regex",
    ];
    let mut other = Vec::new();
    walk(&schema(), &mut |m| {
        if let Some(f) = m.get("format").and_then(Value::as_str) {
            if !DEFINED.contains(&f) {
                other.push(f.to_string());
            }
        }
    });
    assert!(
        other.is_empty(),
        "formats strict validators refuse: {other:?}"
    );
}

#[test]
fn descriptions_are_not_hard_wrapped() {
    let mut wrapped = Vec::new();
    walk(&schema(), &mut |m| {
        if let Some(d) = m.get("description").and_then(Value::as_str) {
            // A paragraph break (an empty line) is meant; a single line break is a doc comment's wrap.
            if d.replace("\n\n", "").contains('\n') {
                wrapped.push(d.to_string());
            }
        }
    });
    assert!(
        wrapped.is_empty(),
        "hard-wrapped descriptions: {wrapped:#?}"
    );
}

/// One merchant with one object of `list`, for probing what the schema accepts.
fn with(list: &str, object: Value) -> Value {
    serde_json::json!({
        "version": 1,
        "merchants": [{ "msn": "123456", list: [object] }]
    })
}

fn agreement(pricing: Value, redirect: &str) -> Value {
    with(
        "agreements",
        serde_json::json!({
            "externalId": "a1",
            "productName": "Gold",
            "pricing": pricing,
            "merchantRedirectUrl": redirect,
        }),
    )
}

#[test]
fn the_schema_says_what_a_schema_can_about_urls_amounts_and_events() {
    let v = strict(&schema());
    let hook = |url: &str, event: &str| {
        with(
            "webhooks",
            serde_json::json!({ "url": url, "events": [event] }),
        )
    };
    assert!(v.is_valid(&hook("https://shop.example/h", "user.checked-in.v1")));
    assert!(
        !v.is_valid(&hook("http://shop.example/h", "user.checked-in.v1")),
        "an http webhook url passes the schema"
    );
    // An event Vipps may add later is allowed; the known names are offered as suggestions.
    assert!(v.is_valid(&hook("https://shop.example/h", "something.new.v1")));
    let mut suggested = Vec::new();
    walk(
        &schema()["definitions"]["Webhook"]["properties"]["events"],
        &mut |m| {
            if let Some(Value::Array(names)) = m.get("enum") {
                suggested.extend(names.iter().filter_map(Value::as_str).map(str::to_string));
            }
        },
    );
    for e in ["user.checked-in.v1", "epayments.payment.captured.v1"] {
        assert!(suggested.iter().any(|s| s == e), "{e} is not suggested");
    }

    let legacy = serde_json::json!({ "type": "LEGACY", "amount": 100, "currency": "NOK" });
    assert!(v.is_valid(&agreement(legacy.clone(), "https://shop.example/r")));
    assert!(
        !v.is_valid(&agreement(legacy, "http://shop.example/r")),
        "an http merchantRedirectUrl passes the schema"
    );
    // The documented ceilings of a VARIABLE agreement's suggestedMaxAmount, per currency.
    for (currency, cap) in [("NOK", 2_000_000), ("DKK", 30_000_000), ("EUR", 200_000)] {
        let variable = |amount: i64| serde_json::json!({ "type": "VARIABLE", "suggestedMaxAmount": amount, "currency": currency });
        assert!(
            v.is_valid(&agreement(variable(cap), "https://shop.example/r")),
            "{currency} {cap}"
        );
        assert!(
            !v.is_valid(&agreement(variable(cap + 1), "https://shop.example/r")),
            "{currency} above the cap passes the schema"
        );
    }
}

#[test]
fn examples_validate_against_the_schema_strictly() {
    let schema = schema();
    let v = strict(&schema);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut instances = Vec::new();
    for (i, file) in example_files().iter().enumerate() {
        let instance = yaml_to_json(file);
        let errors: Vec<String> = v.iter_errors(&instance).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", file.display());
        let path = dir.path().join(format!("{i}.json"));
        std::fs::write(&path, instance.to_string()).expect("write instance");
        instances.push(path);
    }
    let schema_path = dir.path().join("schema.json");
    std::fs::write(&schema_path, schema.to_string()).expect("write schema");
    ajv_strict(&schema_path, &instances);
}

/// ajv (the validator most editors and CI tools use) in strict mode, pinned by
/// .ci/schema-check/package-lock.json and installed from the npm registry on first use.
fn ajv_strict(schema: &Path, instances: &[PathBuf]) {
    let tools = root().join(".ci/schema-check");
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let has = |program: &str| {
        Command::new(program)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !has("node") || !has("npm") {
        assert!(
            !ci,
            "node and npm are needed for the strict ajv check under CI=true (.ci/run installs them)"
        );
        eprintln!("node/npm not found: the ajv strict check is skipped (CI=true requires it)");
        return;
    }
    if !tools.join("node_modules/ajv/package.json").is_file() {
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(&tools)
            .output()
            .expect("run npm ci");
        if !out.status.success() {
            let why = String::from_utf8_lossy(&out.stderr);
            assert!(!ci, "npm ci in .ci/schema-check failed:\n{why}");
            eprintln!("npm ci failed, the ajv strict check is skipped:\n{why}");
            return;
        }
    }
    let out = Command::new("node")
        .arg(tools.join("check.js"))
        .arg(schema)
        .args(instances)
        .output()
        .expect("run node check.js");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "ajv (strict) refused:\n{text}");
    assert!(text.contains("schema compiles in strict mode"), "{text}");
    assert_eq!(text.matches("\nok ").count(), instances.len(), "{text}");
}
