//! One snapshot per API of the surface vippsctl depends on: of the specs in `openapi/` (what the
//! clients are generated from) and of the published `latest.yaml` in the shared corpus. A spec
//! update shows up in `cargo insta review` as a diff of exactly what matters.

use serde_json::Value;
use std::path::{Path, PathBuf};
use vippsctl::specs::ops::Api;
use vippsctl::specs::surface::{load_surface, parse, Surface};

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

fn latest(shared: &Path, api: Api) -> PathBuf {
    shared
        .join("upstream-openapi")
        .join(api.file_stem())
        .join("latest.yaml")
}

#[test]
fn openapi_dir_surfaces() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi");
    for api in Api::ALL {
        let file = dir.join(format!("{}.yaml", api.file_stem()));
        if !file.is_file() {
            eprintln!(
                "{} not found, skipping its surface snapshot (openapi/ is written by the foundation work)",
                file.display()
            );
            continue;
        }
        let surface = match load_surface(&file, api) {
            Ok(s) => s,
            Err(e) => panic!("{}: {e:?}", file.display()),
        };
        assert!(
            surface.missing.is_empty(),
            "{}: operations vippsctl uses are missing: {:?}",
            file.display(),
            surface.missing
        );
        insta::assert_snapshot!(format!("openapi_{}", api.file_stem()), surface.to_text());
    }
}

#[test]
fn published_latest_surfaces() {
    let Some(shared) = shared() else { return };
    for api in Api::ALL {
        let surface = match load_surface(&latest(&shared, api), api) {
            Ok(s) => s,
            Err(e) => panic!("{api:?}: {e:?}"),
        };
        // Every operation vippsctl calls is in the newest published spec.
        assert!(surface.missing.is_empty(), "{api:?}: {:?}", surface.missing);
        insta::assert_snapshot!(format!("latest_{}", api.file_stem()), surface.to_text());
    }
}

/// Rewrite every description and summary, and reverse the key order of every mapping.
fn cosmetic_rewrite(v: &mut Value) {
    match v {
        Value::Object(map) => {
            let entries: Vec<(String, Value)> = std::mem::take(map).into_iter().rev().collect();
            for (k, mut child) in entries {
                if matches!(k.as_str(), "description" | "summary") {
                    if let Value::String(s) = &mut child {
                        *s = s
                            .split_whitespace()
                            .collect::<Vec<_>>()
                            .chunks(3)
                            .map(|c| c.join(" "))
                            .collect::<Vec<_>>()
                            .join("\n  ");
                        s.push_str(" (re-wrapped)");
                    }
                } else {
                    cosmetic_rewrite(&mut child);
                }
                map.insert(k, child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(cosmetic_rewrite),
        _ => {}
    }
}

fn set_first(v: &mut Value, key: &str, value: Value) -> bool {
    match v {
        Value::Object(map) => {
            if map.contains_key(key) {
                map.insert(key.to_string(), value);
                return true;
            }
            map.values_mut().any(|c| set_first(c, key, value.clone()))
        }
        Value::Array(items) => items.iter_mut().any(|c| set_first(c, key, value.clone())),
        _ => false,
    }
}

#[test]
fn rewrapped_descriptions_give_an_identical_surface() {
    let Some(shared) = shared() else { return };
    for api in Api::ALL {
        let text = std::fs::read_to_string(latest(&shared, api)).unwrap_or_default();
        let doc = match parse(&text) {
            Ok(d) => d,
            Err(e) => panic!("{api:?}: {e:?}"),
        };
        let mut cosmetic = doc.clone();
        cosmetic_rewrite(&mut cosmetic);
        assert_ne!(cosmetic, doc, "the rewrite must change the document");
        let original = Surface::from_document(api, doc.clone());
        assert_eq!(
            original.to_text(),
            Surface::from_document(api, cosmetic).to_text(),
            "{api:?}"
        );

        // The comparison is not blind: a real constraint change does show.
        let mut tightened = doc;
        // Management's first maxLength belongs to an idea-stage operation, outside the surface.
        let target = match api {
            Api::Management => &mut tightened["components"]["schemas"]["MsnInfo"],
            _ => &mut tightened,
        };
        assert!(set_first(target, "maxLength", Value::from(3)));
        let changed = Surface::from_document(api, tightened).to_text();
        assert_ne!(
            original.to_text(),
            changed,
            "{api:?}: maxLength change not seen"
        );
    }
}

#[test]
fn yaml_and_json_forms_of_a_spec_have_the_same_surface() {
    let Some(shared) = shared() else { return };
    let text = std::fs::read_to_string(latest(&shared, Api::Qr)).unwrap_or_default();
    let doc = parse(&text).expect("qr latest parses");
    let json = serde_json::to_string(&doc).expect("serialises");
    let from_json = parse(&json).expect("JSON is YAML");
    assert_eq!(
        Surface::from_document(Api::Qr, doc).to_text(),
        Surface::from_document(Api::Qr, from_json).to_text()
    );
}
