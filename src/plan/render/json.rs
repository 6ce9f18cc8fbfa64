//! The JSON plan, format 2 (docs/plan-format.md): shaped as `terraform show -json` is, so tools
//! that read Terraform plans read it. `resource_changes[]` is flat, one entry per object, with
//! `change.actions` as arrays and typed `before`/`after` values; what vippsctl needs to apply
//! exactly this plan sits beside them under `vippsctl`. A saved plan (`plan --out`) is the same
//! document; [`read`] takes it back and checks that the two views of each change agree.

use crate::domain::Environment;
use crate::plan::model::{
    Action, Change, Coverage, Desired, Level, MerchantPlan, Plan, Reason, Summary,
};
use crate::plan::scope::Scope;
use crate::resources::{Address, Effect, FieldDiff, Kind};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The whole document.
#[derive(Debug, Serialize, Deserialize)]
struct Document {
    format_version: String,
    vippsctl_version: String,
    spec_versions: String,
    environment: Environment,
    base_url: String,
    config_files: Vec<String>,
    config_digest: String,
    /// `--replace` addresses, as plans print them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    replace: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<Scope>,
    resource_changes: Vec<ResourceChange>,
    merchants: Vec<MerchantInfo>,
    /// `plan --all-merchants`: the partner's sales units against the configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    coverage: Option<Coverage>,
    summary: Summary,
}

#[derive(Debug, Serialize, Deserialize)]
struct ResourceChange {
    /// As plans print it: `123456.redirectQrs[table-1]`.
    address: String,
    msn: String,
    /// `partner` for partner-level objects (whose `msn` is `partner`); absent for a merchant's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    level: Option<Level>,
    kind: Kind,
    key: String,
    change: ChangeBlock,
    /// Why, as a name tools can branch on (`replace_because_cannot_update`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    action_reason: Option<String>,
    vippsctl: Extras,
}

/// Terraform's `change` object.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct ChangeBlock {
    actions: Vec<String>,
    before: Option<Map<String, Value>>,
    after: Option<Map<String, Value>>,
    /// `false`, or the fields whose values are personal data (masked in `before`/`after`).
    before_sensitive: Value,
    after_sensitive: Value,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    replace_paths: Vec<Vec<String>>,
}

/// What vippsctl itself reads and shows: the typed change.
#[derive(Debug, Serialize, Deserialize)]
struct Extras {
    action: Action,
    symbol: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    fields: Vec<FieldDiff>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<Reason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    desired: Option<Desired>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    notes: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    live_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    live_fingerprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    idempotency_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    policy: Option<String>,
}

/// What a plan knows of each merchant beyond its changes.
#[derive(Debug, Serialize, Deserialize)]
struct MerchantInfo {
    msn: String,
    /// `partner` for the partner level; absent for a merchant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    level: Option<Level>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    observed: Vec<Kind>,
    live_fingerprint: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    unmanaged_agreements: Vec<(String, usize)>,
    summary: Summary,
}

/// Terraform's action list for a vippsctl action.
pub fn actions(a: Action) -> &'static [&'static str] {
    match a {
        Action::Create => &["create"],
        Action::Update => &["update"],
        Action::ReplaceCreateFirst => &["create", "delete"],
        Action::ReplaceDeleteFirst => &["delete", "create"],
        Action::Delete | Action::Stop => &["delete"],
        Action::AwaitingConsent | Action::Unmanaged | Action::Notice | Action::Drift => &["no-op"],
    }
}

/// The `action_reason` of a change: its typed reason's name, or what its action implies.
pub fn action_reason(c: &Change) -> Option<&'static str> {
    if let Some(r) = &c.reason {
        return Some(r.name());
    }
    match c.action {
        Action::Delete => Some("delete_because_pruned"),
        Action::Stop => Some("stop_because_declared_stopped"),
        Action::Unmanaged => Some("not_in_configuration"),
        Action::AwaitingConsent => Some("awaiting_consent"),
        Action::Drift => Some("drift"),
        _ => None,
    }
}

fn change_block(c: &Change) -> ChangeBlock {
    let values = |pick: fn(&FieldDiff) -> Option<&Value>| -> Map<String, Value> {
        c.fields
            .iter()
            .filter_map(|f| pick(f).map(|v| (f.field.as_str().to_string(), v.clone())))
            .collect()
    };
    let sensitive = |pick: fn(&FieldDiff) -> Option<&Value>| -> Value {
        let m: Map<String, Value> = c
            .fields
            .iter()
            .filter(|f| f.personal && pick(f).is_some())
            .map(|f| (f.field.as_str().to_string(), Value::Bool(true)))
            .collect();
        if m.is_empty() {
            Value::Bool(false)
        } else {
            Value::Object(m)
        }
    };
    fn before(f: &FieldDiff) -> Option<&Value> {
        f.before.as_ref()
    }
    fn after(f: &FieldDiff) -> Option<&Value> {
        f.after.as_ref()
    }
    let creates = c.action == Action::Create;
    // A stopped agreement still exists (as STOPPED): only a delete leaves nothing after.
    let deletes = c.action == Action::Delete;
    ChangeBlock {
        actions: actions(c.action).iter().map(|s| s.to_string()).collect(),
        before: (!creates).then(|| values(before)),
        after: (!deletes).then(|| values(after)),
        before_sensitive: sensitive(before),
        after_sensitive: sensitive(after),
        replace_paths: c
            .fields
            .iter()
            .filter(|f| f.effect == Effect::ForcesReplacement)
            .map(|f| vec![f.field.as_str().to_string()])
            .collect(),
    }
}

fn resource_change(c: &Change) -> ResourceChange {
    ResourceChange {
        address: c.address.to_string(),
        msn: c.address.msn.clone(),
        level: written_level(&c.address.msn),
        kind: c.address.kind,
        key: c.address.key.clone(),
        change: change_block(c),
        action_reason: action_reason(c).map(str::to_string),
        vippsctl: Extras {
            action: c.action,
            symbol: c.action.symbol().to_string(),
            fields: c.fields.clone(),
            reason: c.reason.clone(),
            desired: c.desired.clone(),
            notes: c.notes.clone(),
            warnings: c.warnings.clone(),
            live_id: c.live_id.clone(),
            live_fingerprint: c.live_fingerprint.clone(),
            idempotency_key: c.idempotency_key.clone(),
            policy: c.policy.clone(),
        },
    }
}

fn document(plan: &Plan) -> Document {
    Document {
        format_version: plan.format_version.clone(),
        vippsctl_version: plan.vippsctl_version.clone(),
        spec_versions: plan.spec_versions.clone(),
        environment: plan.environment,
        base_url: plan.base_url.clone(),
        config_files: plan.config_files.clone(),
        config_digest: plan.config_digest.clone(),
        replace: plan.replace.iter().map(ToString::to_string).collect(),
        scope: plan.scope.clone(),
        resource_changes: plan.changes().map(resource_change).collect(),
        merchants: plan
            .merchants
            .iter()
            .map(|m| MerchantInfo {
                msn: m.msn.clone(),
                level: written_level(&m.msn),
                name: m.name.clone(),
                observed: m.observed.clone(),
                live_fingerprint: m.live_fingerprint.clone(),
                unmanaged_agreements: m.unmanaged_agreements.clone(),
                summary: super::merchant_summary(m),
            })
            .collect(),
        coverage: plan.coverage.clone(),
        summary: plan.summary(),
    }
}

pub fn render(plan: &Plan) -> String {
    let mut s = serde_json::to_string_pretty(&document(plan))
        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}

/// Why a saved plan could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{path}:{line}:{column}: not a vippsctl plan: {message}")]
    Syntax {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: plan format version {found} was written by an earlier vippsctl; this one reads format version {supported} only: run `vippsctl plan --out` again and review the new plan")]
    Old {
        path: String,
        found: String,
        supported: &'static str,
    },
    #[error("{path}: plan format version {found} is not supported (this vippsctl reads version {supported})")]
    Version {
        path: String,
        found: String,
        supported: &'static str,
    },
    #[error("{path}: the plan file is larger than {limit} bytes")]
    TooLarge { path: String, limit: usize },
    #[error("{path}: {what}; the file was edited (vippsctl writes both views of a change from the same data): run plan again")]
    Inconsistent { path: String, what: String },
}

#[derive(Deserialize)]
struct VersionOnly {
    format_version: Value,
}

/// Upper bound for a saved plan; a real one for thousands of objects is a few MiB.
pub const MAX_PLAN_BYTES: usize = 256 * 1024 * 1024;

/// Parse a saved plan, checking its format version first so an old or future plan gets a clear
/// error, then that each change's Terraform view matches its typed view.
pub fn read(path: &str, text: &str) -> Result<Plan, ReadError> {
    use crate::plan::model::FORMAT_VERSION;
    if text.len() > MAX_PLAN_BYTES {
        return Err(ReadError::TooLarge {
            path: path.into(),
            limit: MAX_PLAN_BYTES,
        });
    }
    let syntax = |e: serde_json::Error| ReadError::Syntax {
        path: path.into(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    };
    let v: VersionOnly = serde_json::from_str(text).map_err(syntax)?;
    match &v.format_version {
        Value::String(s) if s == FORMAT_VERSION => {}
        Value::Number(n) if n.as_u64() == Some(1) => {
            return Err(ReadError::Old {
                path: path.into(),
                found: n.to_string(),
                supported: FORMAT_VERSION,
            })
        }
        other => {
            return Err(ReadError::Version {
                path: path.into(),
                found: other.to_string(),
                supported: FORMAT_VERSION,
            })
        }
    }
    let doc: Document = serde_json::from_str(text).map_err(syntax)?;
    plan_of(doc).map_err(|what| ReadError::Inconsistent {
        path: path.into(),
        what,
    })
}

/// The `level` a document carries: written only for the partner level.
fn written_level(msn: &str) -> Option<Level> {
    (Level::of(msn) == Level::Partner).then_some(Level::Partner)
}

fn plan_of(doc: Document) -> Result<Plan, String> {
    for (msn, level) in doc
        .merchants
        .iter()
        .map(|m| (&m.msn, m.level))
        .chain(doc.resource_changes.iter().map(|r| (&r.msn, r.level)))
    {
        if level.unwrap_or(Level::Merchant) != Level::of(msn) {
            return Err(format!("`{msn}` has the level of another unit"));
        }
    }
    let mut merchants: Vec<MerchantPlan> = doc
        .merchants
        .iter()
        .map(|m| MerchantPlan {
            msn: m.msn.clone(),
            name: m.name.clone(),
            observed: m.observed.clone(),
            live_fingerprint: m.live_fingerprint.clone(),
            changes: Vec::new(),
            unmanaged_agreements: m.unmanaged_agreements.clone(),
        })
        .collect();
    for rc in doc.resource_changes {
        let address = Address::new(&rc.msn, rc.kind, rc.key.as_str());
        if rc.address != address.to_string() {
            return Err(format!(
                "resource change `{}` has msn, kind and key of {address}",
                rc.address
            ));
        }
        let x = rc.vippsctl;
        if x.symbol != x.action.symbol() {
            return Err(format!(
                "{address}: symbol `{}` is not that of {}",
                x.symbol,
                x.action.verb()
            ));
        }
        let c = Change {
            address: address.clone(),
            action: x.action,
            fields: x.fields,
            reason: x.reason,
            desired: x.desired,
            notes: x.notes,
            warnings: x.warnings,
            live_id: x.live_id,
            live_fingerprint: x.live_fingerprint,
            idempotency_key: x.idempotency_key,
            policy: x.policy,
        };
        if change_block(&c) != rc.change {
            return Err(format!(
                "{address}: its `change` does not match its `vippsctl` fields and action"
            ));
        }
        if rc.action_reason.as_deref() != action_reason(&c) {
            return Err(format!(
                "{address}: its action_reason does not match its `vippsctl` reason"
            ));
        }
        let Some(m) = merchants.iter_mut().find(|m| m.msn == rc.msn) else {
            return Err(format!(
                "{address}: merchant {} is not in `merchants`",
                rc.msn
            ));
        };
        m.changes.push(c);
    }
    let replace = doc
        .replace
        .iter()
        .map(|a| Address::parse(a).ok_or_else(|| format!("`replace` has `{a}`, not an address")))
        .collect::<Result<Vec<_>, _>>()?;
    let plan = Plan {
        format_version: doc.format_version,
        vippsctl_version: doc.vippsctl_version,
        spec_versions: doc.spec_versions,
        environment: doc.environment,
        base_url: doc.base_url,
        config_files: doc.config_files,
        config_digest: doc.config_digest,
        replace,
        merchants,
        scope: doc.scope,
        coverage: doc.coverage,
    };
    if plan.summary() != doc.summary {
        return Err("its summary does not count its resource changes".into());
    }
    for (m, info) in plan.merchants.iter().zip(&doc.merchants) {
        if super::merchant_summary(m) != info.summary {
            return Err(format!(
                "the summary of merchant {} does not count its resource changes",
                m.msn
            ));
        }
    }
    Ok(plan)
}
