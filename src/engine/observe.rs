//! Reading the live state of every merchant at once.

use super::connect::Apis;
use super::EngineError;
use crate::config::model::{Config, Merchant};
use crate::plan::diff::kinds_to_observe;
use crate::resources::observe::{observe, AgreementLists};
use crate::resources::LiveMerchant;

/// Read the live state of every merchant concurrently. A merchant that cannot be read fails the
/// whole run: no plan is made from partial live state.
pub async fn observe_all(config: &Config, apis: &Apis) -> Result<Vec<LiveMerchant>, EngineError> {
    observe_kinds(config, apis, |m| {
        (kinds_to_observe(m), crate::plan::diff::agreement_lists(m))
    })
    .await
}

/// Read the kinds and agreement lists `wants` names for each merchant (import reads what it is
/// asked for).
pub async fn observe_kinds(
    config: &Config,
    apis: &Apis,
    wants: impl Fn(&Merchant) -> (Vec<crate::resources::Kind>, AgreementLists),
) -> Result<Vec<LiveMerchant>, EngineError> {
    let wants = &wants;
    let reads = config.merchants.iter().map(|m| async move {
        let (kinds, lists) = wants(m);
        match apis.get(&m.msn) {
            Some(api) => observe(api, &m.msn, &kinds, &lists)
                .await
                .map_err(|e| (crate::error_chain::one_line(&e), e.source.hint())),
            None => Err((
                format!("merchant {}: no API client was made for it", m.msn),
                None,
            )),
        }
    });
    let results = futures::future::join_all(reads).await;
    let mut live = Vec::new();
    let mut failures = Vec::new();
    for r in results {
        match r {
            Ok(l) => live.push(l),
            Err(e) => failures.push(e),
        }
    }
    if failures.is_empty() {
        return Ok(live);
    }
    let mut f = EngineError::failed(format!(
        "could not read the live state of {} {}; no plan was made",
        failures.len(),
        if failures.len() == 1 {
            "merchant"
        } else {
            "merchants"
        }
    ));
    for (line, _) in &failures {
        f = f.caused_by(line);
    }
    let hint = failures.iter().find_map(|(_, h)| *h);
    Err(f.hint(match hint {
        Some(h) => format!("{h}; run again with -v for the API calls made"),
        None => "run again with -v for the API calls made".into(),
    }))
}
