//! Checks of `agreementPolicies` that the schema cannot express: a name used once, something to
//! set, amounts only with the price model they belong to, HTTPS URLs, and two policies that
//! certainly disagree. Two policies whose selections only may overlap disagree about the live
//! agreements both select, if any, so `plan` checks those.

use super::diagnostic::Diagnostic;
use super::index::SourceIndex;
use super::model::{AgreementPolicy, Merchant, PolicySelect, PricingType};
use std::collections::HashMap;

pub fn check(m: &Merchant, index: &SourceIndex, out: &mut Vec<Diagnostic>) {
    each(m, index, out);
    disagreements(m, index, out);
}

fn each(m: &Merchant, index: &SourceIndex, out: &mut Vec<Diagnostic>) {
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

/// Whether every agreement `narrow` selects is also selected by `broad`, whatever the live
/// agreements are: each condition of `broad` is implied by one of `narrow`.
fn implies(narrow: &PolicySelect, broad: &PolicySelect) -> bool {
    narrow.status.iter().all(|s| broad.status.contains(s))
        && broad
            .product_name
            .as_ref()
            .is_none_or(|b| narrow.product_name.as_ref() == Some(b))
        && broad.external_id_prefix.as_ref().is_none_or(|b| {
            narrow
                .external_id_prefix
                .as_ref()
                .is_some_and(|n| n.starts_with(b.as_str()))
        })
        && broad
            .pricing_type
            .is_none_or(|b| narrow.pricing_type == Some(b))
}

/// The fields two policies both set, to different values.
fn conflicting_fields(a: &AgreementPolicy, b: &AgreementPolicy) -> Vec<&'static str> {
    let (x, y) = (&a.set, &b.set);
    let differ =
        |l: Option<String>, r: Option<String>| matches!((l, r), (Some(l), Some(r)) if l != r);
    let mut fields = Vec::new();
    if differ(
        x.amount.map(|v| v.to_string()),
        y.amount.map(|v| v.to_string()),
    ) {
        fields.push("amount");
    }
    if differ(
        x.suggested_max_amount.map(|v| v.to_string()),
        y.suggested_max_amount.map(|v| v.to_string()),
    ) {
        fields.push("suggestedMaxAmount");
    }
    if differ(x.product_name.clone(), y.product_name.clone()) {
        fields.push("productName");
    }
    if differ(x.product_description.clone(), y.product_description.clone()) {
        fields.push("productDescription");
    }
    if differ(
        x.merchant_agreement_url.clone(),
        y.merchant_agreement_url.clone(),
    ) {
        fields.push("merchantAgreementUrl");
    }
    fields
}

/// Two policies where one selects a subset of the other's agreements and both set a field
/// differently: every agreement the narrower one selects is in conflict, so that policy can
/// never apply. Reported once per pair, at the later one.
fn disagreements(m: &Merchant, index: &SourceIndex, out: &mut Vec<Diagnostic>) {
    let policies = &m.agreement_policies;
    for (j, b) in policies.iter().enumerate() {
        for a in &policies[..j] {
            if a.name == b.name {
                continue; // a duplicate name is its own error
            }
            let (narrow, broad) = if implies(&b.select, &a.select) {
                (b, a)
            } else if implies(&a.select, &b.select) {
                (a, b)
            } else {
                continue;
            };
            let fields = conflicting_fields(a, b);
            if fields.is_empty() {
                continue;
            }
            let list = fields
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ");
            out.push(
                Diagnostic::error(
                    &index.field(&b.origin, "select"),
                    format!(
                        "merchant {}: every agreement that policy `{}` selects is also selected by `{}`, and they set {list} differently",
                        m.msn, narrow.name, broad.name
                    ),
                )
                .with_hint(format!(
                    "narrow a `select` so they cannot select the same agreement, or make them set the same value (`{}` is at {})",
                    a.name, a.origin
                ))
                .with_code("policy-conflict"),
            );
        }
    }
}
