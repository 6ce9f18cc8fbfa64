//! The JSON Schema of the config (draft-07, which editors' YAML plugins understand best).

use super::model::Config;
use schemars::transform::RecursiveTransform;

/// The schema as a JSON value; `vippsctl schema` prints it and the loader's structural checks
/// walk it, so the editor and `validate` never disagree on shapes and limits.
pub fn json_schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft07()
        .with_transform(RecursiveTransform(for_editors))
        .into_generator();
    let schema = generator.into_root_schema_for::<Config>();
    schema.to_value()
}

/// What every subschema gets: no formats on numbers, and descriptions as one paragraph each (a
/// doc comment's line breaks would show as paragraph breaks in an editor). schemars names the
/// Rust integer type as a number's format (`uint32`, `int64`), which the JSON Schema
/// specification does not define and strict validators such as ajv refuse; the ranges already
/// say what those would.
fn for_editors(schema: &mut schemars::Schema) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    let numeric = |t: &serde_json::Value| matches!(t.as_str(), Some("integer" | "number"));
    let is_number = obj.get("type").is_some_and(|t| match t {
        serde_json::Value::Array(ts) => ts.iter().any(numeric),
        t => numeric(t),
    });
    if is_number {
        obj.remove("format");
    }
    if let Some(serde_json::Value::String(d)) = obj.get_mut("description") {
        *d = unwrap_lines(d);
    }
}

/// Join the lines of each paragraph (paragraphs stay apart).
fn unwrap_lines(text: &str) -> String {
    text.split("\n\n")
        .map(|p| p.lines().map(str::trim).collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The schema as `vippsctl schema` prints it (and `docs/vippsctl.schema.json` holds it).
pub fn json_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&json_schema()).unwrap_or_default();
    text.push('\n');
    text
}
