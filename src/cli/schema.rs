//! `vippsctl schema`: print the config's JSON Schema (for editors; docs/vippsctl.schema.json).

use super::Outcome;

pub fn run() -> Outcome {
    print!("{}", crate::config::schema::json_schema_text());
    Outcome::Ok
}
