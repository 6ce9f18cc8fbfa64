//! A field's typed values as plans show them: strings quoted, names and numbers bare, event
//! sets joined, `(none)` for no value, personal data masked. Used by the renderers and by the
//! messages that quote a field (plan problems, stale saved plans).

use super::FieldDiff;

/// A field line's value texts (before, after), formatted from the typed values and masked when
/// personal.
pub fn field_values(f: &FieldDiff) -> (Option<String>, Option<String>) {
    let show = |v: &Option<serde_json::Value>| -> Option<String> {
        v.as_ref().map(|v| {
            let s = show_value(f.field, v);
            if f.personal {
                crate::resources::mask_phone(&s)
            } else {
                s
            }
        })
    };
    (show(&f.before), show(&f.after))
}

/// One typed value as plans show it: strings quoted, names and numbers bare, event sets joined,
/// `(none)` for no value.
pub fn show_value(field: crate::resources::Field, v: &serde_json::Value) -> String {
    use crate::resources::{agreement, redirect_qr, show_str, Field};
    use serde_json::Value;
    match (field, v) {
        (Field::Ttl, v) => redirect_qr::show_ttl(v),
        (_, Value::Null) => "(none)".into(),
        (Field::Events, Value::Array(events)) => events
            .iter()
            .map(|e| e.as_str().map_or_else(|| e.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(", "),
        (Field::Secret, v) => match (v.get("file"), v.get("key"), v.get("command")) {
            (Some(file), Some(key), _) => format!(
                "(sent to {} as {})",
                file.as_str().unwrap_or_default(),
                key.as_str().unwrap_or_default()
            ),
            (_, _, Some(c)) => {
                format!("(sent to the command `{}`)", c.as_str().unwrap_or_default())
            }
            _ => v.to_string(),
        },
        (Field::Interval, v) => match serde_json::from_value(v.clone()) {
            Ok(i) => agreement::show_interval(&i),
            Err(_) => v.to_string(),
        },
        (Field::Pricing, v) => match serde_json::from_value(v.clone()) {
            Ok(p) => agreement::show_pricing(&p),
            Err(_) => v.to_string(),
        },
        (
            Field::PricingType | Field::PricingCurrency | Field::Status | Field::PhoneNumber,
            Value::String(s),
        ) => s.clone(),
        (_, Value::String(s)) => show_str(s),
        (_, v) => v.to_string(),
    }
}
