//! config: the desired state (YAML), its JSON Schema, and loading with located diagnostics.
//!
//! `load` reads files or folders, parses YAML keeping positions (`tree`), checks shapes against
//! the JSON Schema (`structure`), deserialises, merges merchants across files and applies the
//! cross-object rules (`rules`). Every problem is a `Diagnostic` at a file, line and column.

pub mod diagnostic;
pub mod index;
mod load;
pub mod model;
pub mod policies;
pub mod rules;
pub mod schema;
mod sensitive;
mod sinks;
pub(crate) mod structure;
pub(crate) mod tree;

pub use diagnostic::{render, render_json, Diagnostic, Diagnostics, Severity, SourceCache};
pub use index::SourceIndex;
pub use load::{load, load_sources, Loaded};
pub use model::*;
