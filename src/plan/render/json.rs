//! The JSON rendering: the plan plus its summary. The same document is a saved plan
//! (`plan --out`), read back by `apply PLAN`. Format: docs/plan-format.md.

use crate::plan::model::{Plan, Summary};
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
struct Document<'a> {
    #[serde(flatten)]
    plan: &'a Plan,
    summary: Summary,
}

pub fn render(plan: &Plan) -> String {
    let doc = Document {
        plan,
        summary: plan.summary(),
    };
    let mut s =
        serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}

/// Why a saved plan could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{path}:{line}:{column}: not a vippsctl plan: {message}")]
    Syntax {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: plan format version {found} is not supported (this vippsctl reads version {supported})")]
    Version {
        path: String,
        found: u64,
        supported: u32,
    },
    #[error("{path}: the plan file is larger than {limit} bytes")]
    TooLarge { path: String, limit: usize },
}

#[derive(Deserialize)]
struct VersionOnly {
    format_version: u64,
}

/// Upper bound for a saved plan; a real one for thousands of objects is a few MiB.
pub const MAX_PLAN_BYTES: usize = 256 * 1024 * 1024;

/// Parse a saved plan, checking its format version first so an old or future plan gets a clear error.
pub fn read(path: &str, text: &str) -> Result<Plan, ReadError> {
    if text.len() > MAX_PLAN_BYTES {
        return Err(ReadError::TooLarge {
            path: path.into(),
            limit: MAX_PLAN_BYTES,
        });
    }
    let syntax = |e: serde_json::Error| ReadError::Syntax {
        path: path.into(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    };
    let v: VersionOnly = serde_json::from_str(text).map_err(syntax)?;
    if v.format_version != u64::from(crate::plan::model::FORMAT_VERSION) {
        return Err(ReadError::Version {
            path: path.into(),
            found: v.format_version,
            supported: crate::plan::model::FORMAT_VERSION,
        });
    }
    serde_json::from_str(text).map_err(syntax)
}
