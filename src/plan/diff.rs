//! `diff(desired, live) -> Plan`: a pure function. No I/O, no clock, no network.

use super::model::{Action, Change, Desired, MerchantPlan, Plan, Reason, FORMAT_VERSION};
use crate::config::model::{Config, DeclaredStatus, Merchant, Origin};
use crate::domain::model::{
    AgreementStatus, LiveAgreement, LiveCallbackQr, LiveRedirectQr, LiveWebhook,
};
use crate::domain::Environment;
use crate::resources::{
    agreement, callback_qr, redirect_qr, text, webhook, Address, Effect, Field, FieldDiff, Kind,
    LiveMerchant,
};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};

/// What the plan records about where it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanContext {
    pub environment: Environment,
    pub base_url: String,
    pub config_files: Vec<String>,
    pub config_digest: String,
    pub spec_versions: String,
}

/// Knobs of a plan.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// Objects to replace even though nothing differs (e.g. to rotate a webhook secret).
    pub replace: Vec<Address>,
}

/// A problem that makes the plan impossible; it points at the configuration where it can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub address: Option<Address>,
    pub origin: Option<Origin>,
    pub message: String,
    pub hint: Option<String>,
}

impl Problem {
    fn at(origin: &Origin, address: Option<Address>, message: String) -> Self {
        Problem {
            address,
            origin: Some(origin.clone()),
            message,
            hint: None,
        }
    }

    fn hint(mut self, h: impl Into<String>) -> Self {
        self.hint = Some(h.into());
        self
    }
}

/// The kinds whose live objects a plan must read for this merchant: those it declares or prunes,
/// and webhooks whenever callback QRs need the check-in webhook.
pub fn kinds_to_observe(m: &Merchant) -> Vec<Kind> {
    let prunes = |k: Kind| m.prune.iter().any(|p| Kind::from(*p) == k);
    let mut kinds = Vec::new();
    if !m.webhooks.is_empty() || !m.callback_qrs.is_empty() || prunes(Kind::Webhooks) {
        kinds.push(Kind::Webhooks);
    }
    if !m.callback_qrs.is_empty() || prunes(Kind::CallbackQrs) {
        kinds.push(Kind::CallbackQrs);
    }
    if !m.redirect_qrs.is_empty() || prunes(Kind::RedirectQrs) {
        kinds.push(Kind::RedirectQrs);
    }
    if !m.agreements.is_empty() || !m.agreement_policies.is_empty() {
        kinds.push(Kind::Agreements);
    }
    kinds
}

/// The agreement lists a plan needs for this merchant: ACTIVE and PENDING always (declared
/// agreements are matched among them, policies select among them, and the plan counts the
/// unmanaged ones); STOPPED and EXPIRED only when a declared ACTIVE agreement has no open live
/// one, because they decide whether it is drafted (again) or was refused. A declared STOPPED
/// agreement without an open one needs nothing: there is nothing left to stop.
pub fn agreement_lists(m: &Merchant) -> crate::resources::observe::AgreementLists {
    crate::resources::observe::AgreementLists {
        statuses: vec![AgreementStatus::Active, AgreementStatus::Pending],
        ended_for: m
            .agreements
            .iter()
            .filter(|a| a.status == DeclaredStatus::Active)
            .map(|a| a.external_id.clone())
            .collect(),
        created_after: None,
    }
}

/// A short digest of a serialisable value (live-object fingerprints): the first 8 bytes of the
/// SHA-256 of its JSON. The JSON is hashed as it is written, never held: a merchant's live state
/// is a megabyte of it.
pub fn fingerprint<T: Serialize>(value: &T) -> String {
    use sha2::{Digest, Sha256};
    use std::io::Write;
    struct Hashing(Sha256);
    impl Write for Hashing {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.update(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    // serde_json writes token by token; hashing whole blocks is cheaper.
    let mut out = std::io::BufWriter::with_capacity(8192, Hashing(Sha256::new()));
    // Neither step can fail: the live types serialise to JSON, and hashing never errs.
    let _ = serde_json::to_writer(&mut out, value);
    let _ = out.flush();
    let (hashing, _) = out.into_parts();
    hex::encode(&hashing.0.finalize()[..8])
}

/// The live state as fingerprints see it: what a plan depends on, without what changes by itself
/// (a QR's seconds left) or differs from one answer to the next (image links, which carry the
/// server's host, port and image options), so a fingerprint moves only when an object was changed.
/// A view that serialises as the `LiveMerchant` with those values replaced would (the
/// destructuring keeps it in step), without cloning thousands of objects.
fn stable(live: &LiveMerchant) -> StableMerchant<'_> {
    let LiveMerchant {
        msn,
        webhooks,
        redirect_qrs,
        callback_qrs,
        agreements,
    } = live;
    StableMerchant {
        msn,
        webhooks,
        redirect_qrs: redirect_qrs
            .as_ref()
            .map(|q| q.iter().map(stable_qr).collect()),
        callback_qrs: callback_qrs
            .as_ref()
            .map(|q| q.iter().map(stable_callback_qr).collect()),
        agreements,
    }
}

#[derive(Serialize)]
struct StableMerchant<'a> {
    msn: &'a String,
    webhooks: &'a Option<Vec<LiveWebhook>>,
    redirect_qrs: Option<Vec<StableQr<'a>>>,
    callback_qrs: Option<Vec<StableCallbackQr<'a>>>,
    agreements: &'a Option<Vec<LiveAgreement>>,
}

fn stable_qr(q: &LiveRedirectQr) -> StableQr<'_> {
    let LiveRedirectQr {
        id,
        redirect_url,
        url: _,
        expires_in,
    } = q;
    StableQr {
        id,
        redirect_url,
        url: None,
        expires_in: expires_in.map(|s| if s >= 0 { 0 } else { -1 }),
    }
}

/// A `LiveRedirectQr` as fingerprinted (see [`stable`]).
#[derive(Serialize)]
struct StableQr<'a> {
    id: &'a String,
    redirect_url: &'a String,
    url: Option<&'a String>,
    expires_in: Option<i64>,
}

fn stable_callback_qr(q: &LiveCallbackQr) -> StableCallbackQr<'_> {
    let LiveCallbackQr {
        merchant_qr_id,
        location_description,
        qr_image_url: _,
        qr_content: _,
    } = q;
    StableCallbackQr {
        merchant_qr_id,
        location_description,
        qr_image_url: None,
        qr_content: None,
    }
}

/// A `LiveCallbackQr` as fingerprinted (see [`stable`]).
#[derive(Serialize)]
struct StableCallbackQr<'a> {
    merchant_qr_id: &'a String,
    location_description: &'a Option<String>,
    qr_image_url: Option<&'a String>,
    qr_content: Option<&'a String>,
}

/// Compare the configuration with the live state and produce the plan.
pub fn diff(
    config: &Config,
    live: &[LiveMerchant],
    ctx: &PlanContext,
    opts: &DiffOptions,
) -> Result<Plan, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut merchants = Vec::new();
    let by_msn: HashMap<&str, &LiveMerchant> = live.iter().map(|l| (l.msn.as_str(), l)).collect();
    for m in &config.merchants {
        let empty = LiveMerchant {
            msn: m.msn.clone(),
            ..Default::default()
        };
        let l = by_msn.get(m.msn.as_str()).copied().unwrap_or(&empty);
        merchants.push(diff_merchant(
            m,
            l,
            opts,
            config.partner_declares(webhook::CHECK_IN_EVENT),
            &mut problems,
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    check_in_precedence(config, live, &mut merchants);
    Ok(Plan {
        format_version: FORMAT_VERSION.to_string(),
        vippsctl_version: env!("CARGO_PKG_VERSION").to_string(),
        spec_versions: ctx.spec_versions.clone(),
        environment: ctx.environment,
        base_url: ctx.base_url.clone(),
        config_files: ctx.config_files.clone(),
        config_digest: ctx.config_digest.clone(),
        replace: opts.replace.clone(),
        merchants,
        scope: None,
        coverage: None,
    })
}

/// `user.checked-in.v1` allows one sales-unit registration plus one partner registration, and
/// the sales unit's wins where both exist (API-FACTS 6): the plan says so on the changes that
/// make or keep both. On a merchant's check-in change when the partner declares (or has) one; on
/// the partner's check-in change, naming the merchants of this run that have their own after
/// apply (declared, or live and kept).
fn check_in_precedence(config: &Config, live: &[LiveMerchant], plans: &mut [MerchantPlan]) {
    let ev = webhook::CHECK_IN_EVENT;
    let has = |events: &[String]| events.iter().any(|e| e == ev);
    let by_msn: HashMap<&str, &LiveMerchant> = live.iter().map(|l| (l.msn.as_str(), l)).collect();
    let live_of = |msn: &str| by_msn.get(msn).copied();
    let partner_live = live_of(crate::config::model::PARTNER)
        .and_then(|l| l.webhooks.as_ref())
        .is_some_and(|w| w.iter().any(|w| has(&w.events)));
    let partner_has = config.partner_declares(ev) || partner_live;
    if !partner_has {
        return;
    }
    let mut own: Vec<String> = Vec::new();
    for m in config.merchants.iter().filter(|m| !m.is_partner()) {
        let prunes = m.prune.contains(&crate::config::model::Kind::Webhooks);
        let declared = m.webhooks.iter().any(|w| has(&w.events));
        let kept_live = !prunes
            && live_of(&m.msn)
                .and_then(|l| l.webhooks.as_ref())
                .is_some_and(|w| w.iter().any(|w| has(&w.events)));
        if declared || kept_live {
            own.push(m.msn.clone());
        }
    }
    // With nothing to change, the precedence still holds: the partner's plan says it once, so a
    // plan without changes does not hide that some check-ins never reach the partner.
    if let (Some(partner), Some(p)) = (
        config.merchants.iter().find(|m| m.is_partner()),
        plans
            .iter_mut()
            .find(|p| p.msn == crate::config::model::PARTNER),
    ) {
        let changed = p.changes.iter().any(|c| {
            c.action.is_change()
                && matches!(&c.desired, Some(Desired::Webhook { events, .. }) if has(events))
        });
        if !own.is_empty() && !changed {
            let msns: Vec<&str> = own.iter().map(String::as_str).collect();
            for w in partner.webhooks.iter().filter(|w| has(&w.events)) {
                let mut c =
                    Change::new(webhook_address(partner, &w.url, &w.events), Action::Notice);
                c.notes.push(webhook::note_partner_check_in_loses(&msns));
                p.changes.push(c);
            }
        }
    }
    for p in plans.iter_mut() {
        let is_partner = p.msn == crate::config::model::PARTNER;
        if !is_partner && !own.contains(&p.msn) {
            continue;
        }
        for c in p.changes.iter_mut() {
            let events: Vec<String> = match &c.desired {
                Some(Desired::Webhook { events, .. }) => events.clone(),
                _ => continue,
            };
            if !c.action.is_change() || !has(&events) {
                continue;
            }
            if is_partner {
                if !own.is_empty() {
                    let msns: Vec<&str> = own.iter().map(String::as_str).collect();
                    c.notes.push(webhook::note_partner_check_in_loses(&msns));
                }
            } else {
                c.notes.push(webhook::NOTE_SALES_UNIT_CHECK_IN_WINS.into());
            }
        }
    }
}

fn diff_merchant(
    m: &Merchant,
    live: &LiveMerchant,
    opts: &DiffOptions,
    partner_check_in: bool,
    problems: &mut Vec<Problem>,
) -> MerchantPlan {
    let prunes = |k: Kind| m.prune.iter().any(|p| Kind::from(*p) == k);
    let forced = |a: &Address| opts.replace.contains(a);
    let mut changes = Vec::new();
    let observed = kinds_to_observe(m);

    let empty_wh = Vec::new();
    let live_webhooks = live.webhooks.as_ref().unwrap_or(&empty_wh);
    let kept_live_webhooks = diff_webhooks(
        m,
        live_webhooks,
        prunes(Kind::Webhooks),
        &forced,
        &mut changes,
        problems,
    );
    check_webhook_limits(m, &kept_live_webhooks, partner_check_in, problems);

    if let Some(live_cb) = &live.callback_qrs {
        diff_callback_qrs(m, live_cb, prunes(Kind::CallbackQrs), &mut changes);
    }
    if let Some(live_rq) = &live.redirect_qrs {
        diff_redirect_qrs(m, live_rq, prunes(Kind::RedirectQrs), &forced, &mut changes);
    }
    let mut unmanaged_agreements = Vec::new();
    if let Some(live_ag) = &live.agreements {
        let by_policy = super::policy::diff_policies(m, live_ag, &mut changes, problems);
        unmanaged_agreements = diff_agreements(m, live_ag, &by_policy, &mut changes, problems);
    }

    MerchantPlan {
        msn: m.msn.clone(),
        name: m.name.clone(),
        observed,
        live_fingerprint: fingerprint(&stable(live)),
        changes,
        unmanaged_agreements,
    }
}

/// The address of a declared webhook: its url, plus its events when the merchant declares the
/// url more than once.
pub fn webhook_address(m: &Merchant, url: &str, events: &[String]) -> Address {
    let unique = m.webhooks.iter().filter(|w| w.url == url).count() <= 1;
    Address::new(
        &m.msn,
        Kind::Webhooks,
        webhook::display_key(url, events, unique),
    )
}

/// Returns the live webhooks that stay (matched or unmanaged), for the limit checks.
fn diff_webhooks<'a>(
    m: &Merchant,
    live: &'a [LiveWebhook],
    prune: bool,
    forced: &dyn Fn(&Address) -> bool,
    changes: &mut Vec<Change>,
    problems: &mut Vec<Problem>,
) -> Vec<&'a LiveWebhook> {
    let address_of = |url: &str, events: &[String]| webhook_address(m, url, events);
    // Live count per event, for deciding the order of replacements under the limits.
    let mut live_per_event: HashMap<String, usize> = HashMap::new();
    for l in live {
        for e in webhook::event_set(&l.events) {
            *live_per_event.entry(e).or_default() += 1;
        }
    }

    let mut used: HashSet<usize> = HashSet::new();
    let mut unmatched = Vec::new();
    let mut kept = Vec::new();
    for d in &m.webhooks {
        let key = webhook::desired_key(d);
        let found = live
            .iter()
            .enumerate()
            .find(|(i, l)| !used.contains(i) && webhook::live_key(l) == key);
        match found {
            Some((i, l)) => {
                used.insert(i);
                let address = address_of(&d.url, &d.events);
                if forced(&address) {
                    let mut c = replacement(m, &address, d, l, &live_per_event);
                    c.reason = Some(Reason::Requested);
                    changes.push(c);
                } else {
                    kept.push(l);
                }
            }
            None => unmatched.push(d),
        }
    }
    // Pair each unmatched declaration with an unmatched live registration of the same url: that is
    // the same webhook with other events, replaced without a gap in delivery.
    for d in unmatched {
        let address = address_of(&d.url, &d.events);
        let pair = live
            .iter()
            .enumerate()
            .find(|(i, l)| !used.contains(i) && l.url == d.url);
        match pair {
            Some((i, l)) => {
                used.insert(i);
                let mut c = replacement(m, &address, d, l, &live_per_event);
                c.fields.push(FieldDiff::new(
                    Field::Events,
                    Some(events_value(&l.events)),
                    Some(events_value(&d.events)),
                    Effect::ForcesReplacement,
                ));
                if c.reason.is_none() {
                    c.reason = Some(Reason::CannotUpdate {
                        fields: vec![Field::Events],
                    });
                }
                changes.push(c);
            }
            None => {
                let mut c = Change::new(address, Action::Create);
                c.fields = webhook_fields(d);
                c.desired = Some(desired_webhook(m, d));
                if d.secret.is_none() {
                    c.warnings.push(
                        "no secret sink declared: the one-time secret goes to --secrets-out, or is lost".into(),
                    );
                }
                changes.push(c);
            }
        }
    }
    for (i, l) in live.iter().enumerate() {
        if used.contains(&i) {
            continue;
        }
        let shared_url = live.iter().filter(|o| o.url == l.url).count() > 1
            || m.webhooks.iter().any(|d| d.url == l.url);
        let address = Address::new(
            &m.msn,
            Kind::Webhooks,
            webhook::display_key(&l.url, &l.events, !shared_url),
        );
        let mut c = Change::new(
            address,
            if prune {
                Action::Delete
            } else {
                Action::Unmanaged
            },
        );
        c.live_id = Some(l.id.clone());
        c.live_fingerprint = Some(fingerprint(l));
        c.fields.push(FieldDiff::new(
            Field::Events,
            Some(events_value(&l.events)),
            None,
            Effect::Ignored,
        ));
        if m.webhooks
            .iter()
            .any(|d| webhook::desired_key(d) == webhook::live_key(l))
        {
            c.warnings
                .push("a duplicate registration of the same url and events".into());
        }
        if !prune {
            kept.push(l);
        }
        changes.push(c);
    }
    let _ = problems;
    kept
}

/// A registration's events as plans carry them: the sorted event set.
fn events_value(events: &[String]) -> Value {
    json!(webhook::event_set(events))
}

fn webhook_fields(d: &crate::config::model::Webhook) -> Vec<FieldDiff> {
    let mut f = vec![
        FieldDiff::new(Field::Url, None, Some(text(&d.url)), Effect::InPlace),
        FieldDiff::new(
            Field::Events,
            None,
            Some(events_value(&d.events)),
            Effect::InPlace,
        ),
    ];
    if let Some(sink) = &d.secret {
        f.push(FieldDiff::new(
            Field::Secret,
            None,
            Some(sink_value(sink)),
            Effect::InPlace,
        ));
    }
    f
}

/// Where a secret goes, as plans carry it: the file and key, or the command's program (its
/// arguments may hold anything). Never the secret itself.
fn sink_value(sink: &crate::config::model::SecretSink) -> Value {
    use crate::config::model::SecretSink;
    match sink {
        SecretSink::File { file, key } => json!({ "file": file, "key": key }),
        SecretSink::Command { command } => {
            json!({ "command": command.first().map(String::as_str).unwrap_or("") })
        }
    }
}

/// The registration apply makes for a declared webhook.
fn desired_webhook(m: &Merchant, d: &crate::config::model::Webhook) -> Desired {
    Desired::Webhook {
        url: d.url.clone(),
        events: webhook::event_set(&d.events),
        secret: d.secret.clone(),
        declared_in: d.origin.file.clone(),
        secrets_out_key: webhook::secrets_out_key(m, d),
    }
}

fn replacement(
    m: &Merchant,
    address: &Address,
    d: &crate::config::model::Webhook,
    l: &LiveWebhook,
    live_per_event: &HashMap<String, usize>,
) -> Change {
    // Creating first keeps delivery going, unless the new registration would exceed a per-event
    // limit while the old one still exists.
    let blocking = webhook::event_set(&d.events)
        .into_iter()
        .find(|e| live_per_event.get(e).copied().unwrap_or(0) + 1 > webhook::limit_per_event(e));
    let mut c = match &blocking {
        Some(e) => {
            let mut c = Change::new(address.clone(), Action::ReplaceDeleteFirst);
            c.reason = Some(Reason::EventLimit {
                event: e.clone(),
                limit: webhook::limit_per_event(e),
            });
            c.notes.push(format!(
                "events of {e} are not delivered between the delete and the create"
            ));
            c
        }
        None => Change::new(address.clone(), Action::ReplaceCreateFirst),
    };
    c.live_id = Some(l.id.clone());
    c.live_fingerprint = Some(fingerprint(l));
    c.desired = Some(desired_webhook(m, d));
    c.notes.push(webhook::NOTE_SECRET_ROTATES.into());
    if d.secret.is_none() {
        c.warnings.push(
            "no secret sink declared: the new one-time secret goes to --secrets-out, or is lost"
                .into(),
        );
    }
    c
}

/// The per-event limits and the check-in webhook that callback QRs need, on the state after apply.
fn check_webhook_limits(
    m: &Merchant,
    kept_live: &[&LiveWebhook],
    partner_check_in: bool,
    problems: &mut Vec<Problem>,
) {
    let mut count: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for d in &m.webhooks {
        for e in webhook::event_set(&d.events) {
            count.entry(e).or_default().0 += 1;
        }
    }
    let declared: HashSet<String> = m.webhooks.iter().map(webhook::desired_key).collect();
    for l in kept_live {
        if declared.contains(&webhook::live_key(l)) {
            continue; // counted as declared
        }
        for e in webhook::event_set(&l.events) {
            count.entry(e).or_default().1 += 1;
        }
    }
    for (event, (declared_n, live_n)) in &count {
        let limit = webhook::limit_per_event(event);
        if declared_n + live_n > limit {
            let origin = m
                .webhooks
                .iter()
                .find(|w| w.events.contains(event))
                .map(|w| &w.origin)
                .unwrap_or(&m.origin);
            problems.push(
                Problem::at(
                    origin,
                    None,
                    if m.is_partner() {
                        format!(
                            "the partner level: {event} would have {} partner webhook registrations ({declared_n} declared, {live_n} live and not in the configuration); Vipps allows {limit} (partner registrations count apart from each sales unit's)",
                            declared_n + live_n
                        )
                    } else {
                        format!(
                            "merchant {}: {event} would have {} webhook registrations ({declared_n} declared, {live_n} live and not in the configuration); Vipps allows {limit} per sales unit",
                            m.msn,
                            declared_n + live_n
                        )
                    },
                )
                .hint(if m.is_partner() {
                    "add `prune: [webhooks]` under `partner:` to delete the live ones, or declare fewer"
                } else {
                    "add `webhooks` to this merchant's `prune` list to delete the live ones, or declare fewer"
                }),
            );
        }
    }
    // A partner check-in webhook fires for every merchant of the partner.
    let has_check_in = partner_check_in
        || count
            .get(webhook::CHECK_IN_EVENT)
            .is_some_and(|(d, l)| d + l > 0);
    if let (Some(first), false) = (m.callback_qrs.first(), has_check_in) {
        problems.push(
            Problem::at(
                &first.origin,
                None,
                format!(
                    "merchant {}: callback QRs need a webhook on {}, and none is declared or live",
                    m.msn,
                    webhook::CHECK_IN_EVENT
                ),
            )
            .hint(format!(
                "declare a webhook with `events: [{}]` for this merchant",
                webhook::CHECK_IN_EVENT
            )),
        );
    }
}

fn desired_callback_qr(d: &crate::config::model::CallbackQr) -> Desired {
    Desired::CallbackQr {
        id: d.merchant_qr_id.clone(),
        location_description: d.location_description.clone(),
    }
}

fn desired_redirect_qr(d: &crate::config::model::RedirectQr) -> Desired {
    Desired::RedirectQr {
        id: d.id.clone(),
        redirect_url: d.redirect_url.clone(),
        ttl: d.ttl,
    }
}

/// A live object the configuration does not declare: deleted when the merchant prunes its kind,
/// otherwise shown and left alone.
fn undeclared(m: &Merchant, kind: Kind, key: &str, prune: bool) -> Change {
    let action = if prune {
        Action::Delete
    } else {
        Action::Unmanaged
    };
    Change::new(Address::new(&m.msn, kind, key), action)
}

fn diff_callback_qrs(
    m: &Merchant,
    live: &[LiveCallbackQr],
    prune: bool,
    changes: &mut Vec<Change>,
) {
    let by_id: HashMap<&str, &LiveCallbackQr> = live
        .iter()
        .map(|l| (l.merchant_qr_id.as_str(), l))
        .collect();
    let declared: HashSet<&str> = m
        .callback_qrs
        .iter()
        .map(|d| d.merchant_qr_id.as_str())
        .collect();
    for d in &m.callback_qrs {
        let address = Address::new(&m.msn, Kind::CallbackQrs, &d.merchant_qr_id);
        match by_id.get(d.merchant_qr_id.as_str()) {
            Some(l) => {
                let fields = callback_qr::fields(d, l);
                if !fields.is_empty() {
                    let mut c = Change::new(address, Action::Update);
                    c.fields = fields;
                    c.desired = Some(desired_callback_qr(d));
                    c.live_fingerprint = Some(fingerprint(&stable_callback_qr(l)));
                    changes.push(c);
                }
            }
            None => {
                let mut c = Change::new(address, Action::Create);
                c.fields.push(FieldDiff::new(
                    Field::LocationDescription,
                    None,
                    Some(text(&d.location_description)),
                    Effect::InPlace,
                ));
                c.desired = Some(desired_callback_qr(d));
                changes.push(c);
            }
        }
    }
    let mut rest: Vec<&LiveCallbackQr> = live
        .iter()
        .filter(|l| !declared.contains(l.merchant_qr_id.as_str()))
        .collect();
    rest.sort_by(|a, b| a.merchant_qr_id.cmp(&b.merchant_qr_id));
    for l in rest {
        let mut c = undeclared(m, Kind::CallbackQrs, &l.merchant_qr_id, prune);
        c.live_fingerprint = Some(fingerprint(&stable_callback_qr(l)));
        if prune {
            c.notes.push(callback_qr::NOTE_PRINTED.into());
        }
        changes.push(c);
    }
}

fn diff_redirect_qrs(
    m: &Merchant,
    live: &[LiveRedirectQr],
    prune: bool,
    forced: &dyn Fn(&Address) -> bool,
    changes: &mut Vec<Change>,
) {
    let by_id: HashMap<&str, &LiveRedirectQr> = live.iter().map(|l| (l.id.as_str(), l)).collect();
    let declared: HashSet<&str> = m.redirect_qrs.iter().map(|d| d.id.as_str()).collect();
    for d in &m.redirect_qrs {
        let address = Address::new(&m.msn, Kind::RedirectQrs, &d.id);
        match by_id.get(d.id.as_str()) {
            Some(l) => {
                let fields = redirect_qr::fields(d, l);
                let forcing: Vec<Field> = fields
                    .iter()
                    .filter(|f| f.effect == Effect::ForcesReplacement)
                    .map(|f| f.field)
                    .collect();
                let unverified = redirect_qr::ttl_unverified(d, l);
                let action = if !forcing.is_empty() || forced(&address) {
                    Action::ReplaceDeleteFirst
                } else if !fields.is_empty() {
                    Action::Update
                } else if unverified {
                    Action::Notice
                } else {
                    continue;
                };
                let mut c = Change::new(address.clone(), action);
                if unverified && action != Action::ReplaceDeleteFirst {
                    let (why, what) = redirect_qr::ttl_unverified_note(&address);
                    if action == Action::Notice {
                        c.reason = Some(Reason::TtlUnreadable);
                    } else {
                        c.notes.push(why);
                    }
                    // A note, not a warning: nothing is wrong, the plan only cannot see it.
                    c.notes.push(what);
                }
                if action == Action::ReplaceDeleteFirst {
                    c.reason = Some(if forcing.is_empty() {
                        Reason::Requested
                    } else {
                        Reason::CannotUpdate { fields: forcing }
                    });
                    c.notes.push(redirect_qr::NOTE_PRINTED.into());
                    c.notes.push(redirect_qr::NOTE_PRINT_AGAIN.into());
                }
                if action != Action::Notice {
                    c.desired = Some(desired_redirect_qr(d));
                }
                c.fields = fields;
                c.live_fingerprint = Some(fingerprint(&stable_qr(l)));
                changes.push(c);
            }
            None => {
                let mut c = Change::new(address, Action::Create);
                c.fields.push(FieldDiff::new(
                    Field::RedirectUrl,
                    None,
                    Some(text(&d.redirect_url)),
                    Effect::InPlace,
                ));
                if let Some(ttl) = d.ttl {
                    c.fields.push(FieldDiff::new(
                        Field::Ttl,
                        None,
                        Some(json!(ttl)),
                        Effect::InPlace,
                    ));
                }
                c.desired = Some(desired_redirect_qr(d));
                changes.push(c);
            }
        }
    }
    let mut rest: Vec<&LiveRedirectQr> = live
        .iter()
        .filter(|l| !declared.contains(l.id.as_str()))
        .collect();
    rest.sort_by(|a, b| a.id.cmp(&b.id));
    for l in rest {
        let mut c = undeclared(m, Kind::RedirectQrs, &l.id, prune);
        c.live_fingerprint = Some(fingerprint(&stable_qr(l)));
        c.fields.push(FieldDiff::new(
            Field::RedirectUrl,
            Some(text(&l.redirect_url)),
            None,
            Effect::Ignored,
        ));
        if prune {
            c.notes.push(redirect_qr::NOTE_PRINTED.into());
        }
        changes.push(c);
    }
}

/// Returns the count of live agreements not in the configuration, by status.
fn diff_agreements(
    m: &Merchant,
    live: &[LiveAgreement],
    by_policy: &HashSet<String>,
    changes: &mut Vec<Change>,
    problems: &mut Vec<Problem>,
) -> Vec<(String, usize)> {
    let mut by_ext: HashMap<&str, Vec<&LiveAgreement>> = HashMap::new();
    for l in live {
        if let Some(ext) = &l.external_id {
            by_ext.entry(ext.as_str()).or_default().push(l);
        }
    }
    let declared: HashSet<&str> = m
        .agreements
        .iter()
        .map(|a| a.external_id.as_str())
        .collect();
    for d in &m.agreements {
        let address = Address::new(&m.msn, Kind::Agreements, &d.external_id);
        let all = by_ext
            .get(d.external_id.as_str())
            .cloned()
            .unwrap_or_default();
        let open: Vec<&LiveAgreement> = all
            .iter()
            .copied()
            .filter(|l| matches!(l.status, AgreementStatus::Active | AgreementStatus::Pending))
            .collect();
        if open.len() > 1 {
            let ids: Vec<&str> = open.iter().map(|l| l.id.as_str()).collect();
            problems.push(
                Problem::at(
                    &d.origin,
                    Some(address.clone()),
                    format!(
                        "{address}: {} open agreements share this externalId ({}); vippsctl cannot tell which one the configuration means",
                        open.len(),
                        ids.join(", ")
                    ),
                )
                .hint("give the other agreements their own externalId, or stop the extra ones in the portal"),
            );
            continue;
        }
        // Earlier agreements with this externalId that ended: their ids make a new draft's
        // Idempotency-Key different from the one that drafted them.
        let mut ended: Vec<&LiveAgreement> = all
            .iter()
            .copied()
            .filter(|l| {
                matches!(
                    l.status,
                    AgreementStatus::Stopped | AgreementStatus::Expired
                )
            })
            .collect();
        ended.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        match (d.status, open.first()) {
            (DeclaredStatus::Stopped, Some(l)) => {
                if d.protect {
                    problems.push(
                        Problem::at(&d.origin, Some(address.clone()), format!(
                            "{address} is declared STOPPED but also `protect: true`; vippsctl refuses to stop a protected agreement"
                        ))
                        .hint("remove `protect: true` if the agreement really should be stopped"),
                    );
                    continue;
                }
                let mut c = Change::new(address.clone(), Action::Stop);
                c.live_id = Some(l.id.clone());
                c.live_fingerprint = Some(fingerprint(l));
                c.fields.push(FieldDiff::new(
                    Field::Status,
                    Some(text(l.status.as_str())),
                    Some(text("STOPPED")),
                    Effect::InPlace,
                ));
                c.notes.push(agreement::NOTE_STOP.into());
                c.idempotency_key = Some(idempotency_key(&c, &[]));
                changes.push(c);
            }
            (DeclaredStatus::Stopped, None) => {}
            (DeclaredStatus::Active, Some(l)) if l.status == AgreementStatus::Pending => {
                let mut c = Change::new(address.clone(), Action::AwaitingConsent);
                c.live_id = Some(l.id.clone());
                c.live_fingerprint = Some(fingerprint(l));
                c.reason = Some(Reason::AwaitingConsent {
                    draft: l.id.clone(),
                });
                let diffs = agreement::fields(d, l);
                if diffs.iter().any(|f| f.effect != Effect::Ignored) {
                    c.warnings.push(
                        "the draft differs from the configuration; the difference is planned once the customer has accepted".into(),
                    );
                }
                changes.push(c);
            }
            (DeclaredStatus::Active, Some(l)) => {
                let diffs = agreement::fields(d, l);
                let blocked: Vec<&FieldDiff> = diffs
                    .iter()
                    .filter(|f| f.effect == Effect::Unchangeable)
                    .collect();
                if !blocked.is_empty() {
                    let what: Vec<String> = blocked
                        .iter()
                        .map(|f| {
                            let (b, a) = crate::resources::show::field_values(f);
                            format!(
                                "{} {} -> {}",
                                f.field,
                                b.as_deref().unwrap_or("(none)"),
                                a.as_deref().unwrap_or("(none)")
                            )
                        })
                        .collect();
                    problems.push(
                        Problem::at(&d.origin, Some(address.clone()), format!(
                            "{address} ({}): {} cannot be changed on an existing agreement",
                            l.id,
                            what.join(", ")
                        ))
                        .hint("a new agreement needs the customer's consent: declare this one `status: STOPPED` and add a new agreement with another externalId"),
                    );
                    continue;
                }
                let in_place: Vec<FieldDiff> = diffs
                    .iter()
                    .filter(|f| f.effect == Effect::InPlace)
                    .cloned()
                    .collect();
                let ignored: Vec<&FieldDiff> = diffs
                    .iter()
                    .filter(|f| f.effect == Effect::Ignored)
                    .collect();
                if in_place.is_empty() {
                    continue;
                }
                let mut c = Change::new(address.clone(), Action::Update);
                c.live_id = Some(l.id.clone());
                c.live_fingerprint = Some(fingerprint(l));
                if in_place.iter().any(|f| f.field.is_pricing()) {
                    c.notes.push(agreement::NOTE_PRICE.into());
                }
                for f in ignored {
                    c.warnings.push(format!(
                        "{} differs but cannot be changed after drafting; ignored",
                        f.field
                    ));
                }
                c.fields = in_place;
                c.idempotency_key = Some(idempotency_key(&c, &[]));
                changes.push(c);
            }
            (DeclaredStatus::Active, None) => {
                if let Some(last) = ended.last() {
                    if last.status == AgreementStatus::Stopped && d.protect {
                        changes.push(protected_but_stopped(&address, last));
                        continue;
                    }
                    if last.status == AgreementStatus::Stopped {
                        let mut c = Change::new(address.clone(), Action::Notice);
                        c.live_id = Some(last.id.clone());
                        c.reason = Some(Reason::StoppedNotAskedAgain {
                            agreement: last.id.clone(),
                        });
                        c.warnings.push(
                            "declare `status: STOPPED` to acknowledge it, or use a new externalId to ask the customer again".into(),
                        );
                        changes.push(c);
                        continue;
                    }
                }
                let mut c = Change::new(address.clone(), Action::Create);
                let mut fields = vec![
                    FieldDiff::new(
                        Field::ProductName,
                        None,
                        Some(text(&d.product_name)),
                        Effect::InPlace,
                    ),
                    FieldDiff::new(
                        Field::Pricing,
                        None,
                        Some(agreement::pricing_value(
                            &crate::domain::model::Pricing::from(&d.pricing),
                        )),
                        Effect::InPlace,
                    ),
                ];
                if let Some(i) = &d.interval {
                    fields.push(FieldDiff::new(
                        Field::Interval,
                        None,
                        Some(agreement::interval_value(&i.into())),
                        Effect::InPlace,
                    ));
                }
                if let Some(p) = &d.phone_number {
                    // Masked here, so no plan (saved or shown) ever holds the number.
                    let mut f = FieldDiff::new(
                        Field::PhoneNumber,
                        None,
                        Some(text(&crate::resources::mask_phone(p))),
                        Effect::InPlace,
                    );
                    f.personal = true;
                    fields.push(f);
                }
                c.fields = fields;
                let mut draft = agreement::draft(d);
                draft.phone_number = draft.phone_number.map(|p| crate::resources::mask_phone(&p));
                c.desired = Some(Desired::Agreement(draft));
                c.notes.push(
                    "the agreement is drafted; it becomes ACTIVE only when the customer accepts it in the app (the confirmation URL is printed by apply)".into(),
                );
                if let Some(last) = ended.last() {
                    c.reason = Some(Reason::RedraftAfterExpiry {
                        previous: last.id.clone(),
                    });
                }
                let ended_ids: Vec<&str> = ended.iter().map(|l| l.id.as_str()).collect();
                c.idempotency_key = Some(idempotency_key(&c, &ended_ids));
                changes.push(c);
            }
        }
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    // Open agreements only: ended ones are listed only when a draft needs them, and are left
    // alone whatever the configuration says.
    let open =
        |l: &&LiveAgreement| matches!(l.status, AgreementStatus::Active | AgreementStatus::Pending);
    for l in live.iter().filter(open) {
        let managed = by_policy.contains(&l.id)
            || l.external_id
                .as_deref()
                .is_some_and(|e| declared.contains(e));
        if !managed {
            *counts.entry(l.status.as_str()).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .map(|(s, n)| (s.to_string(), n))
        .collect()
}

/// A `protect: true` agreement whose last agreement with its externalId was STOPPED outside
/// vippsctl: drift that apply cannot undo (stopping is final), said at the top of every plan.
fn protected_but_stopped(address: &Address, stopped: &LiveAgreement) -> Change {
    let mut c = Change::new(address.clone(), Action::Drift);
    c.live_id = Some(stopped.id.clone());
    c.live_fingerprint = Some(fingerprint(stopped));
    c.fields.push(FieldDiff::new(
        Field::Status,
        Some(text(stopped.status.as_str())),
        Some(text("ACTIVE")),
        Effect::Unchangeable,
    ));
    c.reason = Some(Reason::ProtectedStopped {
        agreement: stopped.id.clone(),
    });
    c.notes.push(agreement::NOTE_PROTECTED_STOPPED.into());
    c.notes.push(agreement::WHAT_TO_DO_PROTECTED_STOPPED.into());
    c
}

/// The Idempotency-Key of the write a change makes (recurring only): the same change planned again
/// (a retry, a re-run after a crash) gets the same key; a new draft after an earlier one ended gets
/// a new key, because the ended agreement's id is part of it.
pub fn idempotency_key(change: &Change, live_ended_ids: &[&str]) -> String {
    let mut parts: Vec<String> = vec![
        format!("{:?}", change.action),
        change.address.to_string(),
        change.live_id.clone().unwrap_or_default(),
    ];
    // The typed values, as JSON: a renderer's wording never changes a key.
    let json = |v: &Option<Value>| v.as_ref().map_or("-".to_string(), Value::to_string);
    for f in &change.fields {
        parts.push(format!(
            "{}={}->{}",
            f.field,
            json(&f.before),
            json(&f.after)
        ));
    }
    parts.extend(live_ended_ids.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    crate::domain::idempotency::idempotency_key(&refs)
}
