//! `--check-capabilities`: what a sales unit may do, from its configuration in the Management
//! API, checked against what the configuration declares, so an agreement a sales unit may not
//! have is a plan problem naming it, before any write, instead of a failed draft per agreement.

use super::{EngineError, Session};
use crate::config::model::{Config, DeclaredStatus, Merchant};
use crate::plan::Problem;

/// The problems of every merchant that declares agreements (or agreement policies) its sales
/// unit does not allow. `None` in the configuration is "not said", which is not "no".
pub async fn check(config: &Config, session: &Session) -> Result<Vec<Problem>, EngineError> {
    let wanting: Vec<&Merchant> = config
        .merchants
        .iter()
        .filter(|m| !m.agreements.is_empty() || !m.agreement_policies.is_empty())
        .collect();
    let reads = wanting.iter().map(|m| async move {
        let api = session.management.get(&m.msn).ok_or_else(|| {
            EngineError::failed(format!(
                "merchant {}: no Management API client in this run to read its sales unit",
                m.msn
            ))
        })?;
        api.get_sales_unit(&m.msn).await.map_err(|e| {
            EngineError::failed(format!(
                "could not read the configuration of sales unit {} (Management API)",
                m.msn
            ))
            .caused_by(crate::error_chain::one_line(&e))
            .hint("--check-capabilities needs keys that may read the sales unit (the merchant's or a partner's); leave the flag out to plan without the check")
        })
    });
    let mut problems = Vec::new();
    for (m, unit) in wanting.iter().zip(futures::future::join_all(reads).await) {
        let c = unit?.configuration;
        let refused = [
            (c.recurring_allowed, "recurring (recurringAllowed: false)"),
            (c.payment_allowed, "payments (paymentAllowed: false)"),
        ];
        for (allowed, what) in refused {
            if allowed != Some(false) {
                continue;
            }
            let named: Vec<&str> = m
                .agreements
                .iter()
                .filter(|a| a.status == DeclaredStatus::Active)
                .map(|a| a.external_id.as_str())
                .chain(m.agreement_policies.iter().map(|p| p.name.as_str()))
                .collect();
            if named.is_empty() {
                continue;
            }
            let origin = m
                .agreements
                .first()
                .map(|a| &a.origin)
                .or_else(|| m.agreement_policies.first().map(|p| &p.origin))
                .unwrap_or(&m.origin);
            problems.push(Problem {
                address: None,
                origin: Some(origin.clone()),
                message: format!(
                    "merchant {}: its sales unit does not allow {what}, so these agreements and agreement policies would fail: {}",
                    m.msn,
                    named.join(", ")
                ),
                hint: Some(
                    "ask Vipps MobilePay to enable it for the sales unit, or remove them from this merchant; nothing was applied"
                        .into(),
                ),
            });
        }
    }
    Ok(problems)
}
