//! vippsctl: keep a Vipps MobilePay merchant setup in git.
//!
//! Data flows one way (see `docs/architecture.md`):
//! `config` (desired) + `resources` observing the APIs through `api` (live)
//! -> `plan::diff` (pure) -> `plan::render` | `apply` (the only side effects).
//! `sim` is a local stand-in for the Vipps APIs; `specs` reads and normalises the OpenAPI documents
//! (also compiled by `build.rs`).

// Only the command line prints; the library returns data and errors (as uv does).
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod api;
pub mod apply;
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub mod cli;
pub mod config;
pub mod domain;
pub mod duration;
pub mod engine;
pub mod error_chain;
pub mod fsutil;
pub mod import;
pub mod mask;
pub mod plan;
pub mod resources;
pub mod secrets;
pub mod sim;
pub mod specs;
