//! vippsctl's integration tests, in one binary (as uv does): every module used to be its own test
//! crate, and each of them linked the whole crate, which dominated the test build on two cores.
//! Modules are named by area: `config_*`, `plan_*`, `cli_reconcile` / `reconcile_*`, `sim_*`,
//! `specs_*`, `adoption_*`, `printing_*`, `help_*`, `ci_recipes`, `proof_*`, `published_specs`.
//! Shared helpers live in `common` (and `printing_common` for the QR export tests).

mod common;
mod printing_common;
use common::proof;

mod adapters;
mod adoption_discover;
mod adoption_import;
mod adoption_policies;
mod adoption_resume;
mod adoption_scope;
mod ci_recipes;
mod cli_lock;
mod cli_reconcile;
mod cli_token_errors;
mod config_corpus;
mod config_examples;
mod config_fuzz;
mod config_load;
mod config_masking;
mod config_schema;
mod config_scope;
mod config_sinks;
mod config_validate;
mod global_rate;
mod help_colour;
mod help_completions;
mod help_doc_blocks;
mod help_docs;
mod help_examples;
mod help_guide;
mod help_tree;
mod http_layer;
mod plan_diff;
mod plan_json;
mod plan_render;
mod printing_qr;
mod printing_sheet;
mod proof_concurrency;
mod proof_crash;
mod proof_faults;
mod proof_fuzz;
mod proof_hostile;
mod proof_leaks;
mod proof_redirects;
mod proof_saved_plans;
mod proof_signals;
mod proof_stale;
mod proof_timeouts;
mod published_specs;
mod reconcile_agreements;
mod reconcile_drift;
mod reconcile_merchants;
mod reconcile_partner_webhooks;
mod reconcile_property;
mod reconcile_secrets;
mod reconcile_sinks;
mod reconcile_unknown_outcome;
mod sim_charges;
mod sim_conformance;
mod sim_conformance_client;
mod sim_delivery;
mod sim_fidelity;
mod sim_fuzz;
mod sim_order_management;
mod sim_payments;
mod sim_scenario;
mod sim_serve;
mod sim_strict;
mod specs_history;
mod specs_surface;
mod specs_workflow;
