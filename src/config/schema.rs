//! The JSON Schema of the config (draft-07, which editors' YAML plugins understand best).

use super::model::Config;

/// The schema as a JSON value; `vippsctl schema` prints it and the loader's structural checks
/// walk it, so the editor and `validate` never disagree on shapes and limits.
pub fn json_schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    let schema = generator.into_root_schema_for::<Config>();
    schema.to_value()
}

/// The schema as `vippsctl schema` prints it (and `docs/vippsctl.schema.json` holds it).
pub fn json_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&json_schema()).unwrap_or_default();
    text.push('\n');
    text
}
