//! Checks of `agreementPolicies` that the schema cannot express: a name used once, something to
//! set, amounts only with the price model they belong to, HTTPS URLs. Whether two policies
//! disagree about one agreement depends on live agreements, so `plan` checks that.

use super::diagnostic::Diagnostic;
use super::index::SourceIndex;
use super::model::{Merchant, PricingType};
use std::collections::HashMap;

pub fn check(m: &Merchant, index: &SourceIndex, out: &mut Vec<Diagnostic>) {
    let mut names: HashMap<&str, &super::model::Origin> = HashMap::new();
    for p in &m.agreement_policies {
        let at = |field: &str| index.field(&p.origin, field);
        if let Some(first) = names.insert(p.name.as_str(), &p.origin) {
            out.push(
                Diagnostic::error(
                    &at("name"),
                    format!(
                        "merchant {}: agreement policy `{}` is declared twice",
                        m.msn, p.name
                    ),
                )
                .with_hint(format!(
                    "the first is at {first}; give each policy its own name"
                ))
                .with_code("duplicate-policy"),
            );
        }
        if p.set.is_empty() {
            out.push(
                Diagnostic::error(
                    &at("set"),
                    format!("agreement policy `{}` sets nothing", p.name),
                )
                .with_hint("set at least one of amount, suggestedMaxAmount, productName, productDescription, merchantAgreementUrl")
                .with_code("empty-policy"),
            );
        }
        let needs = |field: &str, want: PricingType, out: &mut Vec<Diagnostic>| {
            if p.select.pricing_type != Some(want) {
                out.push(
                    Diagnostic::error(
                        &at(&format!("set.{field}")),
                        format!(
                            "agreement policy `{}` sets `{field}`, which only {} agreements have",
                            p.name,
                            want.as_str()
                        ),
                    )
                    .with_hint(format!(
                        "add `pricingType: {}` under `select`, so no other agreement is selected",
                        want.as_str()
                    ))
                    .with_code("policy-pricing-type"),
                );
            }
        };
        if p.set.amount.is_some() {
            needs("amount", PricingType::Legacy, out);
        }
        if p.set.suggested_max_amount.is_some() {
            needs("suggestedMaxAmount", PricingType::Variable, out);
        }
        if let Some(u) = &p.set.merchant_agreement_url {
            super::rules::https_url(
                u,
                "`merchantAgreementUrl`",
                &at("set.merchantAgreementUrl"),
                out,
            );
        }
        let s = &p.select;
        if s.product_name.is_none() && s.external_id_prefix.is_none() && s.pricing_type.is_none() {
            out.push(
                Diagnostic::warning(
                    &at("select"),
                    format!(
                        "agreement policy `{}` selects every agreement of merchant {} in its statuses",
                        p.name, m.msn
                    ),
                )
                .with_hint("narrow it with productName, externalIdPrefix or pricingType if that is not meant")
                .with_code("broad-policy"),
            );
        }
    }
}
