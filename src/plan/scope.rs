//! Partial runs: which merchants a run covers (`--msn`, `--shard i/n`) and which objects of them a
//! plan keeps (`--target`, `--exclude`). Pure: the CLI parses, this module decides.

use super::model::Plan;
use crate::config::model::Config;
use crate::resources::{Address, Kind, LiveMerchant};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// What `--target` / `--exclude` take: a merchant (`123456`), one kind of it
/// (`123456.webhooks`), or one object as plans print it (`123456.redirectQrs[bord 1]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Selector {
    pub msn: String,
    pub kind: Option<Kind>,
    pub key: Option<String>,
}

/// Why a selector or shard could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ScopeError {
    pub message: String,
    pub hint: String,
}

impl Selector {
    pub fn parse(s: &str) -> Result<Selector, ScopeError> {
        let bad = |why: &str| {
            ScopeError {
            message: format!("`{s}` is not an address: {why}"),
            hint: "addresses look like 123456, 123456.webhooks or 123456.redirectQrs[bord 1], as plans print them".into(),
        }
        };
        let (msn, rest) = match s.split_once('.') {
            Some((m, r)) => (m, Some(r)),
            None => (s, None),
        };
        let partner = msn == crate::config::model::PARTNER;
        if !partner && (msn.is_empty() || !msn.chars().all(|c| c.is_ascii_digit())) {
            return Err(bad(
                "it must start with the merchant's MSN (digits), or `partner`",
            ));
        }
        let Some(rest) = rest else {
            return Ok(Selector {
                msn: msn.into(),
                kind: None,
                key: None,
            });
        };
        let (kind, key) = match rest.split_once('[') {
            Some((k, key)) => {
                let key = key
                    .strip_suffix(']')
                    .ok_or_else(|| bad("a `[` without its closing `]`"))?;
                (k, Some(key.to_string()))
            }
            None => (rest, None),
        };
        let kind = Kind::parse(kind).ok_or_else(|| {
            bad(&format!(
                "`{kind}` is not a kind (webhooks, redirectQrs, callbackQrs, agreements)"
            ))
        })?;
        if partner && kind != Kind::Webhooks {
            return Err(bad(
                "the partner level has webhooks only (`partner.webhooks`)",
            ));
        }
        Ok(Selector {
            msn: msn.into(),
            kind: Some(kind),
            key,
        })
    }

    pub fn matches(&self, a: &Address) -> bool {
        self.msn == a.msn
            && self.kind.is_none_or(|k| k == a.kind)
            && self.key.as_deref().is_none_or(|k| k == a.key)
    }

    /// Whether everything of this merchant's `kind` is selected (e.g. for the unmanaged count).
    fn covers_kind(&self, msn: &str, kind: Kind) -> bool {
        self.msn == msn && self.key.is_none() && self.kind.is_none_or(|k| k == kind)
    }
}

impl std::fmt::Display for Selector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.msn)?;
        if let Some(k) = self.kind {
            write!(f, ".{k}")?;
        }
        if let Some(k) = &self.key {
            write!(f, "[{k}]")?;
        }
        Ok(())
    }
}

/// What a run can name on the command line: its merchants, and the address of every object it
/// declared or observed, whether or not the plan changes it (a declared object not created yet,
/// an unmanaged live one, an agreement by id or externalId).
#[derive(Debug, Clone, Default)]
pub struct Known {
    msns: Vec<String>,
    addresses: BTreeSet<Address>,
}

impl Known {
    /// From the run's plan before `restrict`, its configuration (narrowed to the run's merchants)
    /// and the live state read.
    pub fn of(plan: &Plan, config: &Config, live: &[LiveMerchant]) -> Known {
        let mut addresses: BTreeSet<Address> = plan.changes().map(|c| c.address.clone()).collect();
        for m in &config.merchants {
            for w in &m.webhooks {
                addresses.insert(super::diff::webhook_address(m, &w.url, &w.events));
            }
            let keys = m
                .redirect_qrs
                .iter()
                .map(|q| (Kind::RedirectQrs, &q.id))
                .chain(
                    m.callback_qrs
                        .iter()
                        .map(|q| (Kind::CallbackQrs, &q.merchant_qr_id)),
                )
                .chain(
                    m.agreements
                        .iter()
                        .map(|a| (Kind::Agreements, &a.external_id)),
                );
            for (kind, key) in keys {
                addresses.insert(Address::new(&m.msn, kind, key.as_str()));
            }
        }
        for l in live {
            for a in l.agreements.iter().flatten() {
                addresses.insert(Address::new(&l.msn, Kind::Agreements, &a.id));
                if let Some(e) = &a.external_id {
                    addresses.insert(Address::new(&l.msn, Kind::Agreements, e));
                }
            }
        }
        Known {
            msns: plan.merchants.iter().map(|m| m.msn.clone()).collect(),
            addresses,
        }
    }

    /// Whether a `--target`/`--exclude` selector names something of this run.
    pub fn names(&self, s: &Selector) -> bool {
        if s.key.is_none() {
            return self.msns.contains(&s.msn);
        }
        self.addresses.iter().any(|a| s.matches(a))
    }

    /// Whether `--replace ADDRESS` names an object of this run.
    pub fn has(&self, a: &Address) -> bool {
        self.addresses.contains(a)
    }

    /// The address (or MSN) of this run nearest to `written`: the same but for case, a trailing
    /// `/`, a digit of the MSN or another small typo.
    pub fn nearest(&self, written: &str) -> Option<String> {
        let texts: Vec<String> = self
            .addresses
            .iter()
            .map(Address::to_string)
            .chain(self.msns.iter().cloned())
            .collect();
        crate::config::structure::did_you_mean(written, texts.iter().map(String::as_str))
            .map(str::to_string)
    }

    pub fn has_merchant(&self, msn: &str) -> bool {
        self.msns.iter().any(|m| m == msn)
    }
}

/// `--shard i/n`: this run covers the merchants whose shard number is `i` (1-based) of `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    pub fn parse(s: &str) -> Result<Shard, ScopeError> {
        let err = |why: String| ScopeError {
            message: format!("`{s}` is not a shard: {why}"),
            hint: "write --shard i/n with 1 <= i <= n, e.g. --shard 1/3, --shard 2/3, --shard 3/3"
                .into(),
        };
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| err("expected i/n".into()))?;
        let i: u32 = i
            .trim()
            .parse()
            .map_err(|_| err(format!("`{i}` is not a whole number")))?;
        let n: u32 = n
            .trim()
            .parse()
            .map_err(|_| err(format!("`{n}` is not a whole number")))?;
        if n == 0 {
            return Err(err("the number of shards must be at least 1".into()));
        }
        if i == 0 || i > n {
            return Err(err(format!("the shard number must be between 1 and {n}")));
        }
        Ok(Shard { index: i, count: n })
    }

    /// Whether `msn` belongs to this shard.
    pub fn contains(&self, msn: &str) -> bool {
        shard_of(msn, self.count) == self.index
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The shard (1-based, of `count`) an MSN belongs to: FNV-1a (64-bit) of the MSN's text, modulo
/// `count`, plus one. It depends on nothing but the MSN and the count, so every CI job computes the
/// same split without talking to the others, and it is easy to reproduce in any language.
pub fn shard_of(msn: &str, count: u32) -> u32 {
    if count == 0 {
        return 0;
    }
    (fnv1a64(msn.as_bytes()) % u64::from(count)) as u32 + 1
}

pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// What part of the configuration a plan covers; recorded in a saved plan so that `apply PLAN`
/// re-plans exactly the same part.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// The merchants planned, when not all of the configuration's (`--msn`, `--shard`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchants: Option<Vec<String>>,
    /// How the merchants were chosen, for the reader (`--shard 2/3`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// `--target` selectors, as written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// `--exclude` selectors, as written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excludes: Vec<String>,
}

impl Scope {
    pub fn is_partial(&self) -> bool {
        self.merchants.is_some() || !self.targets.is_empty() || !self.excludes.is_empty()
    }

    /// One sentence for the plan's head, saying what was left out.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = &self.shard {
            parts.push(format!("shard {s}"));
        }
        if let Some(m) = &self.merchants {
            parts.push(format!(
                "{} {} ({})",
                m.len(),
                if m.len() == 1 {
                    "merchant"
                } else {
                    "merchants"
                },
                if m.is_empty() {
                    "none".to_string()
                } else {
                    m.join(", ")
                }
            ));
        }
        if !self.targets.is_empty() {
            parts.push(format!("only {}", self.targets.join(", ")));
        }
        if !self.excludes.is_empty() {
            parts.push(format!("excluding {}", self.excludes.join(", ")));
        }
        format!(
            "This plan is partial: {}. Objects outside it were not planned.",
            parts.join("; ")
        )
    }
}

/// Keep only the selected changes: those matching some target (all when there are none) and no
/// exclude. Merchants that no target names are dropped; live agreements counted as unmanaged stay
/// only where the whole kind is selected and not excluded.
pub fn restrict(plan: &mut Plan, targets: &[Selector], excludes: &[Selector]) {
    if targets.is_empty() && excludes.is_empty() {
        return;
    }
    let selected = |a: &Address| {
        (targets.is_empty() || targets.iter().any(|t| t.matches(a)))
            && !excludes.iter().any(|e| e.matches(a))
    };
    plan.merchants
        .retain(|m| targets.is_empty() || targets.iter().any(|t| t.msn == m.msn));
    for m in &mut plan.merchants {
        m.changes.retain(|c| selected(&c.address));
        let agreements_kept = (targets.is_empty()
            || targets
                .iter()
                .any(|t| t.covers_kind(&m.msn, Kind::Agreements)))
            && !excludes
                .iter()
                .any(|e| e.msn == m.msn && e.kind.is_none_or(|k| k == Kind::Agreements));
        if !agreements_kept {
            m.unmanaged_agreements.clear();
        }
    }
}

/// A parsed scope, ready to narrow a configuration and a plan.
#[derive(Debug, Clone, Default)]
pub struct RunScope {
    msns: Vec<String>,
    shard: Option<Shard>,
    targets: Vec<Selector>,
    excludes: Vec<Selector>,
    raw_targets: Vec<String>,
    raw_excludes: Vec<String>,
    /// From a saved plan: exactly these merchants, and the shard they were chosen as.
    saved_merchants: Option<Vec<String>>,
    saved_shard: Option<String>,
}

impl RunScope {
    /// `--msn`, `--shard`, `--target` and `--exclude` as given.
    pub fn new(
        msns: &[String],
        shard: Option<&str>,
        targets: &[String],
        excludes: &[String],
    ) -> Result<RunScope, ScopeError> {
        for m in msns {
            if !(4..=10).contains(&m.len()) || !m.chars().all(|c| c.is_ascii_digit()) {
                return Err(ScopeError {
                    message: format!("`{m}` is not an MSN"),
                    hint: "an MSN (merchant serial number) has 4-10 digits".into(),
                });
            }
        }
        let parse = |v: &[String]| -> Result<Vec<Selector>, ScopeError> {
            v.iter().map(|s| Selector::parse(s)).collect()
        };
        Ok(RunScope {
            msns: msns.to_vec(),
            shard: shard.map(Shard::parse).transpose()?,
            targets: parse(targets)?,
            excludes: parse(excludes)?,
            raw_targets: targets.to_vec(),
            raw_excludes: excludes.to_vec(),
            saved_merchants: None,
            saved_shard: None,
        })
    }

    /// How many shards run beside this one (`--shard i/n`, or a saved plan's shard): 1 when the
    /// run is not sharded.
    pub fn shard_count(&self) -> u32 {
        self.shard
            .map(|s| s.count)
            .or_else(|| {
                self.saved_shard
                    .as_deref()
                    .and_then(|s| Shard::parse(s).ok())
                    .map(|s| s.count)
            })
            .unwrap_or(1)
    }

    /// Whether `msn` is in the run's shard (`--shard i/n`, or a saved plan's shard); every MSN is
    /// when the run is not sharded.
    pub fn shard_contains(&self, msn: &str) -> bool {
        match self.shard.or_else(|| {
            self.saved_shard
                .as_deref()
                .and_then(|s| Shard::parse(s).ok())
        }) {
            Some(s) => s.contains(msn),
            None => true,
        }
    }

    /// Exactly these merchants (`--msn-from`): an empty list plans none.
    pub fn only_merchants(mut self, msns: Vec<String>) -> RunScope {
        self.saved_merchants = Some(msns);
        self
    }

    /// The scope a saved plan was made with, to re-plan exactly the same part.
    pub fn from_saved(s: &Scope) -> Result<RunScope, ScopeError> {
        let parse = |v: &[String]| -> Result<Vec<Selector>, ScopeError> {
            v.iter().map(|s| Selector::parse(s)).collect()
        };
        Ok(RunScope {
            targets: parse(&s.targets)?,
            excludes: parse(&s.excludes)?,
            raw_targets: s.targets.clone(),
            raw_excludes: s.excludes.clone(),
            saved_merchants: s.merchants.clone(),
            saved_shard: s.shard.clone(),
            ..Default::default()
        })
    }

    pub fn is_empty(&self) -> bool {
        self.msns.is_empty()
            && self.shard.is_none()
            && self.targets.is_empty()
            && self.excludes.is_empty()
            && self.saved_merchants.is_none()
    }

    /// Drop the merchants outside the scope before anything is observed, so a shard reads only
    /// its own merchants. Naming a merchant the configuration lacks is an error.
    pub fn narrow(&self, config: &mut Config) -> Result<(), ScopeError> {
        let has_partner = config.declares_partner_webhooks();
        let known = |msn: &str| {
            config.merchants.iter().any(|m| m.msn == msn)
                || (msn == crate::config::model::PARTNER && has_partner)
        };
        for msn in self
            .msns
            .iter()
            .chain(self.targets.iter().map(|t| &t.msn))
            .chain(self.excludes.iter().map(|t| &t.msn))
            .chain(self.saved_merchants.iter().flatten())
        {
            if !known(msn) && msn == crate::config::model::PARTNER {
                return Err(ScopeError {
                    message: "the configuration declares no partner webhooks".into(),
                    hint: "`partner` names the partner level (`partner: { webhooks: [...] }`); nothing was planned or applied".into(),
                });
            }
            if !known(msn) {
                let declared = config.merchants.iter().map(|m| m.msn.as_str());
                let hint = match crate::config::structure::did_you_mean(msn, declared) {
                    Some(close) => format!("did you mean {close}? Name a merchant declared under `merchants:`; nothing was planned or applied"),
                    None => "name a merchant declared under `merchants:` (check the MSN); nothing was planned or applied".to_string(),
                };
                return Err(ScopeError {
                    message: format!("merchant {msn} is not in the configuration"),
                    hint,
                });
            }
        }
        let keep = |msn: &str| -> bool {
            (self.msns.is_empty() || self.msns.iter().any(|m| m == msn))
                && self.shard.is_none_or(|s| s.contains(msn))
                && (self.targets.is_empty() || self.targets.iter().any(|t| t.msn == msn))
                && self
                    .saved_merchants
                    .as_ref()
                    .is_none_or(|v| v.iter().any(|m| m == msn))
        };
        config.merchants.retain(|m| keep(&m.msn));
        if has_partner && self.includes_partner() {
            config.merchants.extend(config.partner_unit());
        }
        Ok(())
    }

    /// Whether the partner level is part of this run. Partner webhooks belong to no merchant, so
    /// no merchant selection can reach them: `--msn` leaves them out, a shard run plans them in
    /// shard 1 of n only (so n jobs plan them exactly once), a target list keeps them only when
    /// it names `partner`, and a saved plan or `--msn-from` list only when it lists `partner`.
    pub fn includes_partner(&self) -> bool {
        let partner = crate::config::model::PARTNER;
        self.msns.is_empty()
            && self.shard.is_none_or(|s| s.index == 1)
            && (self.targets.is_empty() || self.targets.iter().any(|t| t.msn == partner))
            && self
                .saved_merchants
                .as_ref()
                .is_none_or(|v| v.iter().any(|m| m == partner))
    }

    /// Whether `--target` or `--exclude` name anything (and so must be checked by `check_names`).
    pub fn names_objects(&self) -> bool {
        !self.targets.is_empty() || !self.excludes.is_empty()
    }

    /// Every `--target`, `--exclude` and `--replace` must name something of this run: an address
    /// that matches nothing (a trailing `/`, a case difference, a wrong MSN) would otherwise be
    /// ignored in silence, and a rotation after a leak would silently not happen. `known` is
    /// taken from the plan before it is restricted.
    pub fn check_names(&self, known: &Known, replace: &[Address]) -> Result<(), ScopeError> {
        let mut unmatched: Vec<(&str, String)> = Vec::new();
        for (flag, raw, selectors) in [
            ("--target", &self.raw_targets, &self.targets),
            ("--exclude", &self.raw_excludes, &self.excludes),
        ] {
            for (text, sel) in raw.iter().zip(selectors) {
                if !known.names(sel) {
                    unmatched.push((flag, text.clone()));
                }
            }
        }
        for a in replace {
            if !known.has(a) {
                unmatched.push(("--replace", a.to_string()));
            }
        }
        let Some((flag, first)) = unmatched.first() else {
            return Ok(());
        };
        let why = |text: &str| -> String {
            let msn = text.split(['.', '[']).next().unwrap_or_default();
            match known.nearest(text) {
                Some(close) => format!("did you mean `{close}`?"),
                None if msn == crate::config::model::PARTNER && !known.has_merchant(msn) => {
                    "the partner level is not part of this run: it is planned when no --msn narrows the run, in shard 1 of n, and with --target only when a target names `partner`.".to_string()
                }
                None if !known.has_merchant(msn) => {
                    format!("merchant {msn} is not part of this run.")
                }
                None => "no object of this run has a similar address.".to_string(),
            }
        };
        let rule = "Addresses are matched exactly as plans print them (case and a trailing `/` count); nothing was planned or applied";
        if unmatched.len() == 1 {
            return Err(ScopeError {
                message: format!("{flag} `{first}` matches no object of this run"),
                hint: format!("{} {rule}", why(first)),
            });
        }
        let listed: Vec<String> = unmatched
            .iter()
            .map(|(f, t)| format!("{f} `{t}`"))
            .collect();
        let reasons: Vec<String> = unmatched
            .iter()
            .map(|(_, t)| format!("`{t}`: {}", why(t)))
            .collect();
        Err(ScopeError {
            message: format!(
                "{} addresses match no object of this run: {}",
                unmatched.len(),
                listed.join(", ")
            ),
            hint: format!("{} {rule}", reasons.join(" ")),
        })
    }

    /// Keep the selected changes and record the scope in the plan.
    pub fn restrict(&self, plan: &mut Plan) {
        restrict(plan, &self.targets, &self.excludes);
        if self.is_empty() {
            return;
        }
        let by_merchant = !self.msns.is_empty() || self.shard.is_some();
        plan.scope = Some(Scope {
            merchants: if by_merchant || self.saved_merchants.is_some() {
                Some(plan.merchants.iter().map(|m| m.msn.clone()).collect())
            } else {
                None
            },
            shard: self
                .shard
                .map(|s| s.to_string())
                .or_else(|| self.saved_shard.clone()),
            targets: self.raw_targets.clone(),
            excludes: self.raw_excludes.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_parse_at_three_levels() {
        let s = Selector::parse("123456").unwrap();
        assert_eq!((s.kind, s.key), (None, None));
        let s = Selector::parse("123456.webhooks").unwrap();
        assert_eq!(s.kind, Some(Kind::Webhooks));
        let s = Selector::parse("123456.webhooks[https://a.example/x.y]").unwrap();
        assert_eq!(s.key.as_deref(), Some("https://a.example/x.y"));
        assert_eq!(s.to_string(), "123456.webhooks[https://a.example/x.y]");
        assert!(Selector::parse("123456.nope").is_err());
        assert!(Selector::parse("abc").is_err());
        assert!(Selector::parse("123456.webhooks[x").is_err());
    }

    #[test]
    fn selectors_match_by_level() {
        let a = Address::new("123456", Kind::RedirectQrs, "bord 1");
        for s in ["123456", "123456.redirectQrs", "123456.redirectQrs[bord 1]"] {
            assert!(Selector::parse(s).unwrap().matches(&a), "{s}");
        }
        for s in ["654321", "123456.webhooks", "123456.redirectQrs[bord 2]"] {
            assert!(!Selector::parse(s).unwrap().matches(&a), "{s}");
        }
    }

    #[test]
    fn the_partner_level_is_addressed_and_scoped_apart_from_merchants() {
        let s = Selector::parse("partner.webhooks[https://p.example/x]").unwrap();
        assert!(s.matches(&Address::new(
            "partner",
            Kind::Webhooks,
            "https://p.example/x"
        )));
        assert!(Selector::parse("partner").is_ok());
        assert!(Selector::parse("partner.redirectQrs").is_err());
        assert!(Selector::parse("partners").is_err());
        let scope = |msns: &[&str], shard: Option<&str>, targets: &[&str]| {
            let msns: Vec<String> = msns.iter().map(|m| m.to_string()).collect();
            let targets: Vec<String> = targets.iter().map(|t| t.to_string()).collect();
            RunScope::new(&msns, shard, &targets, &[]).unwrap()
        };
        assert!(scope(&[], None, &[]).includes_partner());
        assert!(scope(&[], Some("1/4"), &[]).includes_partner());
        assert!(!scope(&[], Some("2/4"), &[]).includes_partner());
        assert!(!scope(&["123456"], None, &[]).includes_partner());
        assert!(!scope(&[], None, &["123456"]).includes_partner());
        assert!(scope(&[], None, &["partner.webhooks"]).includes_partner());
        assert!(!RunScope::default()
            .only_merchants(vec!["123456".into()])
            .includes_partner());
        assert!(RunScope::default()
            .only_merchants(vec!["partner".into()])
            .includes_partner());
    }

    #[test]
    fn shards_reject_bad_syntax() {
        for bad in ["0/3", "4/3", "1/0", "3", "a/3", "1/b", "-1/3", ""] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Shard::parse("2/3").unwrap(), Shard { index: 2, count: 3 });
    }

    #[test]
    fn every_msn_is_in_exactly_one_shard() {
        let shards: Vec<Shard> = (1..=4).map(|i| Shard { index: i, count: 4 }).collect();
        let mut per_shard = [0usize; 4];
        for msn in 100000..101000u32 {
            let msn = msn.to_string();
            let hits: Vec<usize> = (0..4).filter(|&i| shards[i].contains(&msn)).collect();
            assert_eq!(hits.len(), 1, "{msn}");
            per_shard[hits[0]] += 1;
        }
        // A hash split of 1000 consecutive MSNs is roughly even (no shard empty or doubled).
        assert!(
            per_shard.iter().all(|&n| (150..=350).contains(&n)),
            "{per_shard:?}"
        );
    }

    #[test]
    fn the_split_is_stable() {
        // Pinned: CI jobs of different vippsctl versions must agree on the split.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(shard_of("123456", 1), 1);
    }
}
