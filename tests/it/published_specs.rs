//! The spec passes on the published specs in `../shared/upstream-openapi` (read at run time,
//! never copied): every version `.ci/published-specs.sh` builds keeps all operations vippsctl
//! uses, and a version that lacks one is refused with a message naming it. (Generation and
//! compilation of those versions is the script's job.)

use std::path::{Path, PathBuf};

use vippsctl::specs::normalize::{self, NormalizeError, Wanted};
use vippsctl::specs::ops::{self, Api};

fn shared() -> Option<PathBuf> {
    let dir = match std::env::var_os("VIPPSCTL_SHARED_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"),
    };
    let upstream = dir.join("upstream-openapi");
    if upstream.is_dir() {
        Some(upstream)
    } else {
        eprintln!("shared/ not found ({}), skipping", upstream.display());
        None
    }
}

fn wanted(api: Api) -> Vec<Wanted<'static>> {
    ops::operations(api)
        .map(|o| Wanted {
            method: o.method,
            path: o.path,
            name: o.name,
        })
        .collect()
}

fn run(upstream: &Path, api: Api, file: &str) -> Result<normalize::Normalized, NormalizeError> {
    let path = upstream.join(api.file_stem()).join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    normalize::normalize(file, &text, &wanted(api))
}

/// The versions `.ci/published-specs.sh` builds.
const BUILT: &[(Api, &str)] = &[
    (Api::AccessToken, "latest.yaml"),
    (Api::AccessToken, "history/2023-11-08_d42e299.yaml"),
    (Api::AccessToken, "history/2023-10-11_779ea42.yaml"),
    (Api::Webhooks, "latest.yaml"),
    (Api::Webhooks, "history/2023-09-14_ae0e00e.yaml"),
    (Api::Webhooks, "history/2023-07-19_91b4931.yaml"),
    (Api::Qr, "latest.yaml"),
    (Api::Qr, "history/2024-02-20_4932c2d.yaml"),
    (Api::Qr, "history/2023-12-08_f8bca5d.yaml"),
    (Api::Recurring, "latest.yaml"),
    (Api::Recurring, "history/2023-12-07_3f6ac6b.yaml"),
    (Api::Recurring, "history/2023-10-06_59d96ad.yaml"),
    (Api::Management, "latest.yaml"),
    (Api::Management, "history/2023-09-22_5a0eeba.yaml"),
    (Api::OrderManagement, "latest.yaml"),
    (Api::OrderManagement, "history/2024-08-13_1fcf14f.yaml"),
    (Api::Epayment, "latest.yaml"),
    (Api::Epayment, "history/2025-08-25_bccfcb7.yaml"),
    (Api::Epayment, "history/2025-03-30_5359c09.yaml"),
];

#[test]
fn built_versions_keep_every_operation_under_its_stable_name() {
    let Some(upstream) = shared() else { return };
    for (api, file) in BUILT {
        let n = run(&upstream, *api, file).unwrap_or_else(|e| panic!("{file}: {e}"));
        let mut ids: Vec<String> = n
            .doc
            .operations()
            .filter_map(|(_, _, op)| op.operation_id.clone())
            .collect();
        ids.sort();
        let mut expected: Vec<String> = ops::operations(*api).map(|o| o.name.to_string()).collect();
        expected.sort();
        assert_eq!(ids, expected, "{} {file}", api.file_stem());
        // No header the HTTP layer injects survives.
        let text = serde_json::to_string(&n.doc.paths)
            .unwrap_or_default()
            .to_ascii_lowercase();
        assert!(!text.contains("\"ocp-apim-subscription-key\""), "{file}");
    }
}

#[test]
fn only_the_latest_recurring_spec_has_paging() {
    let Some(upstream) = shared() else { return };
    let latest = run(&upstream, Api::Recurring, "latest.yaml").unwrap_or_else(|e| panic!("{e}"));
    assert!(normalize::has_parameter(
        &latest.doc,
        "list_agreements",
        "pageNumber"
    ));
    let old = run(&upstream, Api::Recurring, "history/2023-12-07_3f6ac6b.yaml")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!normalize::has_parameter(
        &old.doc,
        "list_agreements",
        "pageNumber"
    ));
    assert!(normalize::has_parameter(
        &old.doc,
        "list_agreements",
        "status"
    ));
}

#[test]
fn a_version_without_a_needed_operation_is_refused_by_name() {
    let Some(upstream) = shared() else { return };
    // Before 2022-02 the QR API had no merchant-redirect QRs.
    let err = run(&upstream, Api::Qr, "history/2021-11-29_6c83ac2.yaml")
        .err()
        .map(|e| e.to_string());
    let err = err.unwrap_or_default();
    assert!(
        err.contains("2021-11-29_6c83ac2.yaml") && err.contains("/qr/v1/merchant-redirect"),
        "{err}"
    );
    // Before 2023-06 the webhooks server had no /webhooks base, so the paths do not match.
    let err = run(&upstream, Api::Webhooks, "history/2023-05-24_d55ae0d.yaml")
        .err()
        .map(|e| e.to_string());
    assert!(err.unwrap_or_default().contains("list_webhooks"));
}

/// Every built version passes the wire pass build.rs runs, and its published success schemas
/// have every field the adapters' wire types read (`api::vipps::wire`), one level of nesting deep:
/// the adapters rely on these wire names, not on how typify names a version's types.
#[test]
fn built_versions_have_every_field_the_wire_types_read() {
    use vippsctl::api::vipps::wire;
    let Some(upstream) = shared() else { return };
    for (api, file) in BUILT {
        let n = run(&upstream, *api, file).unwrap_or_else(|e| panic!("{file}: {e}"));
        let published = serde_json::to_value(&n.doc).unwrap_or_default();
        let mut doc = n.doc.clone();
        let bodies = normalize::wire_bodies(*api);
        normalize::wire_responses(&mut doc, &bodies).unwrap_or_else(|e| panic!("{file}: {e}"));
        for w in ops::wire_responses(*api) {
            let at = format!("{} {file} {}", api.file_stem(), w.operation);
            let mut body = success_schema(&published, w.operation)
                .unwrap_or_else(|| panic!("{at}: no JSON success body"));
            if w.list {
                body = resolve(&published, &body["items"]);
            }
            let (top, nested): (&[&str], Vec<(&str, &[&str])>) = match w.wire_type {
                "WebhookList" => (
                    fields::<wire::WebhookList>(),
                    vec![("webhooks", fields::<wire::Webhook>())],
                ),
                "RegisteredWebhook" => (fields::<wire::RegisteredWebhook>(), vec![]),
                "RedirectQr" => (fields::<wire::RedirectQr>(), vec![]),
                "CallbackQr" => (fields::<wire::CallbackQr>(), vec![]),
                "Agreement" => (
                    fields::<wire::Agreement>(),
                    vec![
                        ("pricing", fields::<wire::Pricing>()),
                        ("interval", fields::<wire::Interval>()),
                    ],
                ),
                "DraftedAgreement" => (fields::<wire::DraftedAgreement>(), vec![]),
                "SalesUnitInfo" => (fields::<wire::SalesUnitInfo>(), vec![]),
                "SalesUnit" => (
                    fields::<wire::SalesUnit>(),
                    vec![
                        ("businessIdentifier", fields::<wire::BusinessIdentifier>()),
                        ("configuration", fields::<wire::SalesUnitConfiguration>()),
                    ],
                ),
                other => panic!("{at}: add the wire type {other} to this test"),
            };
            assert!(!top.is_empty(), "{at}: no fields recorded");
            let props = properties(&published, &body);
            for f in top {
                assert!(props.contains_key(*f), "{at}: the body has no `{f}`");
            }
            for (key, inner) in nested {
                let mut schema = resolve(&published, &props[key]);
                if schema.get("items").is_some() {
                    schema = resolve(&published, &schema["items"]);
                }
                let inner_props = properties(&published, &schema);
                for f in inner {
                    assert!(inner_props.contains_key(*f), "{at}: `{key}` has no `{f}`");
                }
            }
        }
    }
}

/// The schema of the operation's first JSON 2xx body.
fn success_schema(doc: &serde_json::Value, operation: &str) -> Option<serde_json::Value> {
    for item in doc["paths"].as_object()?.values() {
        for op in item.as_object()?.values() {
            if op["operationId"] != operation {
                continue;
            }
            for (code, r) in op["responses"].as_object()? {
                if code.starts_with('2') {
                    let r = resolve(doc, r);
                    if let Some(s) = r.pointer("/content/application~1json/schema") {
                        return Some(resolve(doc, s));
                    }
                }
            }
        }
    }
    None
}

fn resolve(doc: &serde_json::Value, v: &serde_json::Value) -> serde_json::Value {
    match v.get("$ref").and_then(|r| r.as_str()) {
        Some(r) => resolve(
            doc,
            doc.pointer(r.trim_start_matches('#'))
                .unwrap_or(&serde_json::Value::Null),
        ),
        None => v.clone(),
    }
}

/// The properties of an object schema, through `allOf` and every `oneOf`/`anyOf` variant.
fn properties(
    doc: &serde_json::Value,
    schema: &serde_json::Value,
) -> serde_json::Map<String, serde_json::Value> {
    let mut out = schema["properties"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for key in ["allOf", "oneOf", "anyOf"] {
        for s in schema[key].as_array().into_iter().flatten() {
            out.extend(properties(doc, &resolve(doc, s)));
        }
    }
    out
}

/// The JSON field names a wire type reads, as serde's derive lists them.
fn fields<T: serde::de::DeserializeOwned>() -> &'static [&'static str] {
    #[derive(Debug)]
    struct Fields(&'static [&'static str]);
    impl std::fmt::Display for Fields {
        fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "{:?}", self.0)
        }
    }
    impl std::error::Error for Fields {}
    impl serde::de::Error for Fields {
        fn custom<M: std::fmt::Display>(_: M) -> Self {
            Fields(&[])
        }
    }
    struct Recorder;
    impl<'de> serde::Deserializer<'de> for Recorder {
        type Error = Fields;
        fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Fields> {
            Err(Fields(&[]))
        }
        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Fields> {
            Err(Fields(fields))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }
    match T::deserialize(Recorder) {
        Ok(_) => &[],
        Err(Fields(f)) => f,
    }
}
