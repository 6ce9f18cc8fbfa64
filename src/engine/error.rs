//! The engine's errors: library data, rendered by whoever calls it (the CLI's one error printer).

use crate::config::Diagnostics;
use crate::plan::Problem;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The configuration did not load; the diagnostics name file, line and column.
    #[error("the configuration has errors")]
    Config(Diagnostics),
    /// The configuration loaded, but no plan can be made of it against this live state.
    #[error("the plan cannot be made: {} {}", .0.len(), if .0.len() == 1 { "problem" } else { "problems" })]
    Problems(Vec<Problem>),
    /// Anything else: what failed, why, and what to do.
    #[error("{message}")]
    Failed {
        message: String,
        causes: Vec<String>,
        hint: Option<String>,
    },
}

impl EngineError {
    pub fn failed(message: impl Into<String>) -> Self {
        EngineError::Failed {
            message: message.into(),
            causes: Vec::new(),
            hint: None,
        }
    }

    /// From an error, its `source()` chain as causes.
    pub fn from_error(err: &(dyn std::error::Error + 'static)) -> Self {
        EngineError::Failed {
            message: err.to_string(),
            causes: crate::error_chain::causes(err),
            hint: None,
        }
    }

    pub fn caused_by(mut self, cause: impl std::fmt::Display) -> Self {
        if let EngineError::Failed { causes, .. } = &mut self {
            causes.push(cause.to_string());
        }
        self
    }

    pub fn hint(mut self, text: impl Into<String>) -> Self {
        if let EngineError::Failed { hint, .. } = &mut self {
            *hint = Some(text.into());
        }
        self
    }
}

impl From<crate::plan::scope::ScopeError> for EngineError {
    fn from(e: crate::plan::scope::ScopeError) -> Self {
        EngineError::failed(e.message).hint(e.hint)
    }
}
