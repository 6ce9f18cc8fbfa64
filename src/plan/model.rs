//! The plan as plain data. It serialises to the saved-plan / `--json` format (`FORMAT_VERSION`),
//! documented in docs/plan-format.md. It holds no secrets and no unmasked personal data.

use crate::config::model::SecretSink;
use crate::domain::model::DraftAgreement;
use crate::domain::Environment;
use crate::resources::{Address, Field, FieldDiff, Kind};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Bumped on any incompatible change of the JSON shape (docs/plan-format.md). A string, as
/// Terraform's `format_version` is.
pub const FORMAT_VERSION: &str = "2";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: String,
    pub vippsctl_version: String,
    /// The spec versions the API clients were generated from.
    pub spec_versions: String,
    pub environment: Environment,
    pub base_url: String,
    /// The configuration files read, and a digest of their bytes.
    pub config_files: Vec<String>,
    pub config_digest: String,
    /// Addresses given with `--replace`: `apply FILE` plans again with them, so a requested
    /// replacement is not mistaken for drift.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replace: Vec<Address>,
    pub merchants: Vec<MerchantPlan>,
    /// Set when the plan covers only part of the configuration (`--msn`, `--shard`, `--target`,
    /// `--exclude`); `apply PLAN` re-plans the same part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<super::scope::Scope>,
    /// `plan --all-merchants`: the partner's sales units against the configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<Coverage>,
}

/// What `plan --all-merchants` found: the sales units the Management API lists for the partner
/// keys (within the run's shard), against the merchants the configuration declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// How many sales units the Management API listed in this run's shard.
    pub listed: usize,
    /// Listed sales units the configuration does not declare: vippsctl manages nothing on them.
    pub not_in_configuration: Vec<SalesUnitRef>,
    /// Declared merchants (in this run's shard) the partner's list lacks: their own keys may
    /// reach them, the partner keys cannot.
    pub not_listed: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesUnitRef {
    pub msn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Coverage {
    /// The sales units `listed` against the merchants `declared`, both already within the run's
    /// shard.
    pub fn of(listed: &[(String, Option<String>)], declared: &[String]) -> Coverage {
        let mut not_in_configuration: Vec<SalesUnitRef> = listed
            .iter()
            .filter(|(msn, _)| !declared.contains(msn))
            .map(|(msn, name)| SalesUnitRef {
                msn: msn.clone(),
                name: name.clone(),
            })
            .collect();
        not_in_configuration.sort_by(|a, b| a.msn.cmp(&b.msn));
        not_in_configuration.dedup_by(|a, b| a.msn == b.msn);
        let mut not_listed: Vec<String> = declared
            .iter()
            .filter(|m| !listed.iter().any(|(l, _)| l == *m))
            .cloned()
            .collect();
        not_listed.sort();
        not_listed.dedup();
        let mut msns: Vec<&String> = listed.iter().map(|(m, _)| m).collect();
        msns.sort();
        msns.dedup();
        Coverage {
            listed: msns.len(),
            not_in_configuration,
            not_listed,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantPlan {
    pub msn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The kinds whose live objects were read.
    pub observed: Vec<Kind>,
    /// A digest of every live object read for this merchant.
    pub live_fingerprint: String,
    pub changes: Vec<Change>,
    /// Live agreements not in the configuration, counted by status (never listed one by one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmanaged_agreements: Vec<(String, usize)>,
}

/// Who a plan unit's registrations belong to: a sales unit (its MSN sent on every call), or the
/// partner (partner keys, no `Merchant-Serial-Number`: partner webhooks, which fire for all the
/// partner's merchants).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Merchant,
    Partner,
}

impl Level {
    /// The level of the unit (or address) named `msn`: the partner's is `partner`.
    pub fn of(msn: &str) -> Level {
        if msn == crate::config::model::PARTNER {
            Level::Partner
        } else {
            Level::Merchant
        }
    }
}

impl MerchantPlan {
    pub fn level(&self) -> Level {
        Level::of(&self.msn)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `+`
    Create,
    /// `~` in place.
    Update,
    /// `+/-`: create the new object, then delete the old one.
    ReplaceCreateFirst,
    /// `-/+`: delete first, when a limit or the key forces it.
    ReplaceDeleteFirst,
    /// `-`
    Delete,
    /// `-` for agreements: stop (irreversible).
    Stop,
    /// `?` a drafted agreement waits for the customer's consent (info only).
    AwaitingConsent,
    /// `!` exists live but not in the configuration, left alone (info only).
    Unmanaged,
    /// `!` something the reviewer should know about, no action (info only).
    Notice,
    /// `!` live state that no longer matches the configuration in a way apply cannot undo (a
    /// `protect: true` agreement stopped outside vippsctl). No action, but it counts for
    /// `plan --detailed-exitcode`, so a drift check fails.
    Drift,
}

impl Action {
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::ReplaceCreateFirst => "+/-",
            Action::ReplaceDeleteFirst => "-/+",
            Action::Delete | Action::Stop => "-",
            Action::AwaitingConsent => "?",
            Action::Unmanaged | Action::Notice | Action::Drift => "!",
        }
    }

    pub fn verb(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update in place",
            Action::ReplaceCreateFirst => "replace (create new, then delete old)",
            Action::ReplaceDeleteFirst => "replace (delete old, then create new)",
            Action::Delete => "delete",
            Action::Stop => "stop",
            Action::AwaitingConsent => "awaiting the customer's consent",
            Action::Unmanaged => "unmanaged (left alone)",
            Action::Notice => "note",
            Action::Drift => "drift that apply cannot undo",
        }
    }

    /// Whether applying the plan does something for this change.
    pub fn is_change(self) -> bool {
        !matches!(
            self,
            Action::AwaitingConsent | Action::Unmanaged | Action::Notice | Action::Drift
        )
    }

    /// Whether it destroys something that cannot be brought back as it was.
    pub fn is_destructive(self) -> bool {
        matches!(
            self,
            Action::Delete | Action::Stop | Action::ReplaceCreateFirst | Action::ReplaceDeleteFirst
        )
    }
}

/// One change of one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub address: Address,
    pub action: Action,
    /// Field differences (for create: the fields set; for replace: the fields that differ).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldDiff>,
    /// Why this action (e.g. which field forces the replacement).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    /// The object as apply creates or sets it (creates, replacements, updates of declared
    /// objects). Personal data in it is masked: apply takes the real values from the
    /// configuration's sensitive part, by address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired: Option<Desired>,
    /// Business impact a reviewer must see.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The server id of the live object this change acts on (webhook id, agreement id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_id: Option<String>,
    /// A digest of the live object this change depends on; `apply` refuses the plan when it moved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_fingerprint: Option<String>,
    /// The Idempotency-Key a recurring write sends (stable across retries and re-runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// The agreement policy (or policies, joined by `+`) this change comes from; such changes are
    /// summarised per policy in text and markdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
}

impl Change {
    pub fn new(address: Address, action: Action) -> Self {
        Change {
            address,
            action,
            fields: Vec::new(),
            reason: None,
            desired: None,
            notes: Vec::new(),
            warnings: Vec::new(),
            live_id: None,
            live_fingerprint: None,
            idempotency_key: None,
            policy: None,
        }
    }
}

/// Why a change is planned the way it is: typed, so tools can branch on it and renderers word it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// `--replace` asked for it.
    Requested,
    /// These fields cannot be changed on the live object: it is replaced.
    CannotUpdate { fields: Vec<Field> },
    /// `event` allows `limit` registrations per sales unit: the old one is deleted first.
    EventLimit { event: String, limit: usize },
    /// The registration's one-time secret is not in its sink (lost by an earlier apply, or the
    /// sink shows another registration): it is replaced.
    SecretLost,
    /// Drafted as `draft`; the customer has not accepted it yet.
    AwaitingConsent { draft: String },
    /// The previous draft `previous` expired without consent: a new one is drafted.
    RedraftAfterExpiry { previous: String },
    /// `agreement` was stopped; vippsctl does not ask the customer again by itself.
    StoppedNotAskedAgain { agreement: String },
    /// A `protect: true` agreement was stopped outside vippsctl.
    ProtectedStopped { agreement: String },
    /// The declared ttl cannot be read back from the live code.
    TtlUnreadable,
}

impl Reason {
    /// The `action_reason` of the JSON plan (Terraform's style of names).
    pub fn name(&self) -> &'static str {
        match self {
            Reason::Requested => "replace_by_request",
            Reason::CannotUpdate { .. } => "replace_because_cannot_update",
            Reason::EventLimit { .. } => "replace_delete_first_because_event_limit",
            Reason::SecretLost => "replace_because_secret_lost",
            Reason::AwaitingConsent { .. } => "awaiting_consent",
            Reason::RedraftAfterExpiry { .. } => "create_because_previous_draft_expired",
            Reason::StoppedNotAskedAgain { .. } => "not_asked_again_after_stop",
            Reason::ProtectedStopped { .. } => "drift_protected_agreement_stopped",
            Reason::TtlUnreadable => "ttl_cannot_be_read_back",
        }
    }
}

/// The object a change creates or sets, as apply sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Desired {
    #[serde(rename_all = "camelCase")]
    Webhook {
        url: String,
        /// The event set (sorted, without duplicates).
        events: Vec<String>,
        /// The declared sink; `None` sends the secret to `--secrets-out`, if given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        secret: Option<SecretSink>,
        /// The configuration file that declares it: a sink's file is relative to it.
        declared_in: PathBuf,
        /// The key the secret gets in the `--secrets-out` file.
        secrets_out_key: String,
    },
    #[serde(rename_all = "camelCase")]
    RedirectQr {
        id: String,
        redirect_url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ttl: Option<u64>,
    },
    #[serde(rename_all = "camelCase")]
    CallbackQr {
        id: String,
        location_description: String,
    },
    /// The draft of a new agreement (phone number masked).
    Agreement(DraftAgreement),
}

/// The counts of the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub replace: usize,
    pub destroy: usize,
    pub awaiting_consent: usize,
    pub unmanaged: usize,
    /// Objects that drifted in a way apply cannot undo (`Action::Drift`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub drift: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Summary {
    /// No action for apply to take (drift may still be present).
    pub fn is_empty(&self) -> bool {
        self.add + self.change + self.replace + self.destroy == 0
    }
}

impl Plan {
    pub fn changes(&self) -> impl Iterator<Item = &Change> {
        self.merchants.iter().flat_map(|m| m.changes.iter())
    }

    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in self.changes() {
            match c.action {
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::ReplaceCreateFirst | Action::ReplaceDeleteFirst => s.replace += 1,
                Action::Delete | Action::Stop => s.destroy += 1,
                Action::AwaitingConsent => s.awaiting_consent += 1,
                Action::Unmanaged => s.unmanaged += 1,
                Action::Notice => {}
                Action::Drift => s.drift += 1,
            }
        }
        for m in &self.merchants {
            s.unmanaged += m.unmanaged_agreements.iter().map(|(_, n)| n).sum::<usize>();
        }
        s
    }

    /// Whether apply has something to do.
    pub fn has_changes(&self) -> bool {
        !self.summary().is_empty()
    }

    /// Whether the live state differs from the configuration at all: changes to apply, or drift
    /// apply cannot undo. This is what `plan --detailed-exitcode` exits 2 for.
    pub fn differs(&self) -> bool {
        let s = self.summary();
        !s.is_empty() || s.drift > 0
    }

    /// Sales units of the partner that the configuration does not declare (`plan
    /// --all-merchants`): a difference between the fleet and git that no apply closes.
    pub fn uncovered(&self) -> usize {
        self.coverage
            .as_ref()
            .map_or(0, |c| c.not_in_configuration.len())
    }
}

#[cfg(test)]
mod tests {
    use super::Coverage;

    #[test]
    fn coverage_sets_listed_units_against_declared_merchants_each_once() {
        let listed = vec![
            ("300".to_string(), Some("C".to_string())),
            ("100".to_string(), None),
            ("200".to_string(), Some("B".to_string())),
            ("100".to_string(), None),
        ];
        let declared = vec!["200".to_string(), "900".to_string(), "900".to_string()];
        let c = Coverage::of(&listed, &declared);
        assert_eq!(c.listed, 3, "a unit listed twice counts once");
        let left: Vec<&str> = c
            .not_in_configuration
            .iter()
            .map(|u| u.msn.as_str())
            .collect();
        assert_eq!(left, ["100", "300"], "sorted, each once");
        assert_eq!(c.not_in_configuration[1].name.as_deref(), Some("C"));
        assert_eq!(c.not_listed, ["900"]);
    }
}
