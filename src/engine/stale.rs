//! Whether a saved plan still holds: what differs between it and the same plan made now, each
//! difference put down to the live state or to the file itself.

use crate::plan::Plan;

/// How a saved plan differs from the plan made now from the same configuration files.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Staleness {
    /// The live state moved: objects whose fingerprint changed, or whose planned change changed
    /// while their merchant's live state did.
    pub live: Vec<String>,
    /// The file says what a fresh plan of the same configuration and the same live state does
    /// not: it was edited, or made by another vippsctl version.
    pub content: Vec<String>,
}

/// What differs between the saved plan and the same plan made now, by merchant and address, each
/// difference put down to the live state or to the file itself. A difference is the live state's
/// when the fingerprint of the object it concerns (or, for an object without one, of its
/// merchant's whole live state) moved; otherwise the file's. Information-only entries (awaiting
/// consent, unmanaged, notes) may change with the live state; they are compared only where it did
/// not move.
pub fn stale_differences(saved: &Plan, fresh: &Plan) -> Staleness {
    use std::collections::BTreeMap;
    let by_msn = |p: &Plan| -> BTreeMap<String, crate::plan::MerchantPlan> {
        p.merchants
            .iter()
            .map(|m| (m.msn.clone(), m.clone()))
            .collect()
    };
    let (a, b) = (by_msn(saved), by_msn(fresh));
    let mut out = Staleness::default();
    for (msn, m) in &a {
        match b.get(msn) {
            Some(n) => stale_merchant(m, n, &mut out),
            None => out.content.push(format!(
                "merchant {msn} is in the saved plan, not in a fresh one"
            )),
        }
    }
    for msn in b.keys().filter(|k| !a.contains_key(*k)) {
        out.content.push(format!(
            "merchant {msn} is in a fresh plan, not in the saved one"
        ));
    }
    out
}

fn stale_merchant(
    saved: &crate::plan::MerchantPlan,
    fresh: &crate::plan::MerchantPlan,
    out: &mut Staleness,
) {
    use crate::plan::Change;
    use std::collections::BTreeMap;
    let live_moved = saved.live_fingerprint != fresh.live_fingerprint;
    let index = |cs: &[Change]| -> BTreeMap<String, Change> {
        cs.iter()
            .map(|c| (c.address.to_string(), c.clone()))
            .collect()
    };
    let (a, b) = (index(&saved.changes), index(&fresh.changes));
    let mut addrs: Vec<&String> = a.keys().chain(b.keys()).collect();
    addrs.sort();
    addrs.dedup();
    for addr in addrs {
        let (c, n) = (a.get(addr), b.get(addr));
        if c == n {
            continue;
        }
        let moved = match (
            c.and_then(|c| c.live_fingerprint.as_ref()),
            n.and_then(|n| n.live_fingerprint.as_ref()),
        ) {
            (Some(x), Some(y)) => x != y,
            _ => live_moved,
        };
        let acts = |x: Option<&Change>| x.is_some_and(|x| x.action.is_change());
        if moved && !acts(c) && !acts(n) {
            continue;
        }
        let line = match (c, n, moved) {
            (Some(c), None, true) => {
                format!("{addr}: planned to {}, now nothing to do", c.action.verb())
            }
            (None, Some(n), true) => format!(
                "{addr}: not in the saved plan, now it would {}",
                n.action.verb()
            ),
            (Some(c), Some(n), true) if c.action != n.action => format!(
                "{addr}: planned to {}, now it would {}",
                c.action.verb(),
                n.action.verb()
            ),
            (Some(_), Some(_), true) => format!("{addr}: the live object changed"),
            (Some(c), None, false) => format!(
                "{addr}: the saved plan would {}, a fresh plan has nothing to do",
                c.action.verb()
            ),
            (None, Some(n), false) => format!(
                "{addr}: a fresh plan would {}, the saved plan does not have it",
                n.action.verb()
            ),
            (Some(c), Some(n), false) => format!("{addr}: {}", content_difference(c, n)),
            (None, None, _) => continue,
        };
        if moved {
            out.live.push(line);
        } else {
            out.content.push(line);
        }
    }
    if !live_moved
        && (saved.name != fresh.name
            || saved.observed != fresh.observed
            || saved.unmanaged_agreements != fresh.unmanaged_agreements)
    {
        out.content.push(format!(
            "merchant {}: its name, observed kinds or unmanaged agreements differ from a fresh plan's",
            saved.msn
        ));
    }
}

/// The first thing in which a saved change differs from the fresh one, values shown as plans
/// show them (personal data masked).
fn content_difference(saved: &crate::plan::Change, fresh: &crate::plan::Change) -> String {
    use crate::resources::show::field_values;
    if saved.action != fresh.action {
        return format!(
            "the saved plan would {}, a fresh plan would {}",
            saved.action.verb(),
            fresh.action.verb()
        );
    }
    let show = |f: &crate::resources::FieldDiff| {
        let (b, a) = field_values(f);
        format!(
            "{} -> {}",
            b.as_deref().unwrap_or("(none)"),
            a.as_deref().unwrap_or("(none)")
        )
    };
    let pairs = saved.fields.iter().zip(&fresh.fields);
    for (x, y) in pairs {
        if x != y {
            return if x.field == y.field {
                format!(
                    "{}: the saved plan has {}, a fresh plan has {}",
                    x.field,
                    show(x),
                    show(y)
                )
            } else {
                format!(
                    "the saved plan has the field {}, a fresh plan has {} in its place",
                    x.field, y.field
                )
            };
        }
    }
    if saved.fields.len() != fresh.fields.len() {
        return format!(
            "the saved plan has {} fields, a fresh plan {}",
            saved.fields.len(),
            fresh.fields.len()
        );
    }
    "its reason, notes, warnings, ids or keys differ from a fresh plan's".into()
}
