//! `agreementPolicies`: the changes a merchant's policies make to its live agreements. Pure, like
//! the rest of `diff`. Agreements declared by `externalId` are left to the declaration; an
//! agreement that two policies would set differently is a problem naming both.

use super::diff::{fingerprint, idempotency_key, Problem};
use super::model::{Action, Change};
use crate::config::model::{AgreementPolicy, Merchant, PolicyStatus};
use crate::domain::model::{AgreementStatus, LiveAgreement, Pricing};
use crate::resources::{agreement, text, Address, Effect, Field, FieldDiff, Kind};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};

/// Whether `p` selects the live agreement `l`.
pub fn selects(p: &AgreementPolicy, l: &LiveAgreement) -> bool {
    let s = &p.select;
    let status_ok = s.status.iter().any(|st| match st {
        PolicyStatus::Active => l.status == AgreementStatus::Active,
        PolicyStatus::Pending => l.status == AgreementStatus::Pending,
    });
    status_ok
        && s.product_name
            .as_deref()
            .is_none_or(|n| n == l.product_name)
        && s.external_id_prefix
            .as_deref()
            .is_none_or(|pre| l.external_id.as_deref().is_some_and(|e| e.starts_with(pre)))
        && s.pricing_type
            .is_none_or(|t| t.as_str() == l.pricing.type_name())
}

/// One settable field's wanted value and the policy that wants it.
type Wants = BTreeMap<Field, (Value, usize)>;

fn wants_of(p: &AgreementPolicy, l: &LiveAgreement) -> Vec<(Field, Value)> {
    let mut v = Vec::new();
    // An amount belongs to one price model; config validation ties it to `select.pricingType`.
    match (&l.pricing, p.set.amount, p.set.suggested_max_amount) {
        (Pricing::Legacy { .. }, Some(a), _) => v.push((Field::PricingAmount, json!(a))),
        (Pricing::Variable { .. }, _, Some(a)) => {
            v.push((Field::PricingSuggestedMaxAmount, json!(a)))
        }
        _ => {}
    }
    if let Some(n) = &p.set.product_name {
        v.push((Field::ProductName, text(n)));
    }
    if let Some(d) = &p.set.product_description {
        v.push((Field::ProductDescription, text(d)));
    }
    if let Some(u) = &p.set.merchant_agreement_url {
        v.push((Field::MerchantAgreementUrl, text(u)));
    }
    v
}

fn live_value(l: &LiveAgreement, field: Field) -> Option<Value> {
    match (field, &l.pricing) {
        (Field::PricingAmount, Pricing::Legacy { amount, .. }) => Some(json!(amount)),
        (
            Field::PricingSuggestedMaxAmount,
            Pricing::Variable {
                suggested_max_amount,
                ..
            },
        ) => Some(json!(suggested_max_amount)),
        (Field::ProductName, _) => Some(text(&l.product_name)),
        (Field::ProductDescription, _) => l.product_description.as_deref().map(text),
        (Field::MerchantAgreementUrl, _) => l.merchant_agreement_url.as_deref().map(text),
        _ => None,
    }
}

/// Plan the policies of `m` over its live agreements. Returns the ids of the agreements some
/// policy selected (they are managed, not "left alone").
pub(crate) fn diff_policies(
    m: &Merchant,
    live: &[LiveAgreement],
    changes: &mut Vec<Change>,
    problems: &mut Vec<Problem>,
) -> HashSet<String> {
    let mut selected = HashSet::new();
    if m.agreement_policies.is_empty() {
        return selected;
    }
    let declared: HashSet<&str> = m
        .agreements
        .iter()
        .map(|a| a.external_id.as_str())
        .collect();
    // Disagreements, counted per policy pair and field so 20,000 agreements give one problem.
    let mut conflicts: BTreeMap<(usize, usize, Field), (usize, Vec<String>)> = BTreeMap::new();
    for l in live {
        if l.external_id
            .as_deref()
            .is_some_and(|e| declared.contains(e))
        {
            continue; // declared explicitly: the declaration wins
        }
        let matching: Vec<usize> = m
            .agreement_policies
            .iter()
            .enumerate()
            .filter(|(_, p)| selects(p, l))
            .map(|(i, _)| i)
            .collect();
        if matching.is_empty() {
            continue;
        }
        selected.insert(l.id.clone());
        let mut wants: Wants = BTreeMap::new();
        let mut clash = false;
        for &i in &matching {
            for (field, value) in wants_of(&m.agreement_policies[i], l) {
                match wants.get(&field) {
                    Some((v, j)) if *v != value => {
                        clash = true;
                        let e = conflicts.entry((*j, i, field)).or_default();
                        e.0 += 1;
                        if e.1.len() < 3 {
                            e.1.push(l.id.clone());
                        }
                    }
                    Some(_) => {}
                    None => {
                        wants.insert(field, (value, i));
                    }
                }
            }
        }
        if clash {
            continue;
        }
        let fields: Vec<FieldDiff> = wants
            .iter()
            .filter_map(|(field, (want, _))| {
                let have = live_value(l, *field);
                (have.as_ref() != Some(want))
                    .then(|| FieldDiff::new(*field, have, Some(want.clone()), Effect::InPlace))
            })
            .collect();
        if fields.is_empty() {
            continue;
        }
        let mut names: Vec<&str> = matching
            .iter()
            .map(|&i| m.agreement_policies[i].name.as_str())
            .collect();
        names.dedup();
        let mut c = Change::new(
            Address::new(&m.msn, Kind::Agreements, &l.id),
            Action::Update,
        );
        c.live_id = Some(l.id.clone());
        c.live_fingerprint = Some(fingerprint(l));
        c.policy = Some(names.join("+"));
        if fields.iter().any(|f| f.field.is_pricing()) {
            c.notes.push(agreement::NOTE_PRICE.into());
        }
        c.fields = fields;
        c.idempotency_key = Some(idempotency_key(&c, &[]));
        changes.push(c);
    }
    for ((a, b), (n, ids)) in conflicts
        .iter()
        .map(|((a, b, f), v)| ((*a, *b), (v.0, (f, &v.1))))
    {
        let (pa, pb) = (&m.agreement_policies[a], &m.agreement_policies[b]);
        let (field, examples) = ids;
        problems.push(Problem {
            address: None,
            origin: Some(pb.origin.clone()),
            message: format!(
                "merchant {}: agreement policies `{}` and `{}` both select {n} agreement{} (e.g. {}) and set {field} differently",
                m.msn,
                pa.name,
                pb.name,
                if n == 1 { "" } else { "s" },
                examples.join(", ")
            ),
            hint: Some(format!(
                "narrow their `select` so they do not overlap, or make them set the same {field}; `{}` is at {}",
                pa.name, pa.origin
            )),
        });
    }
    selected
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::{Origin, PolicySelect, PolicySet, PricingType};

    fn live(id: &str, ext: &str, name: &str, amount: i64) -> LiveAgreement {
        LiveAgreement {
            id: id.into(),
            status: AgreementStatus::Active,
            external_id: Some(ext.into()),
            product_name: name.into(),
            product_description: None,
            pricing: Pricing::Legacy {
                amount,
                currency: "NOK".into(),
            },
            interval: None,
            merchant_redirect_url: None,
            merchant_agreement_url: None,
            created: None,
        }
    }

    fn policy(name: &str, product: &str, amount: i64) -> AgreementPolicy {
        AgreementPolicy {
            name: name.into(),
            select: PolicySelect {
                product_name: Some(product.into()),
                external_id_prefix: None,
                status: vec![PolicyStatus::Active],
                pricing_type: Some(PricingType::Legacy),
            },
            set: PolicySet {
                amount: Some(amount),
                ..Default::default()
            },
            origin: Origin::default(),
        }
    }

    #[test]
    fn selection_needs_every_condition() {
        let mut p = policy("p", "Gold", 1);
        p.select.external_id_prefix = Some("gold-".into());
        assert!(selects(&p, &live("a", "gold-1", "Gold", 1)));
        assert!(!selects(&p, &live("a", "silver-1", "Gold", 1)));
        assert!(!selects(&p, &live("a", "gold-1", "Silver", 1)));
        let mut stopped = live("a", "gold-1", "Gold", 1);
        stopped.status = AgreementStatus::Stopped;
        assert!(!selects(&p, &stopped));
    }
}
