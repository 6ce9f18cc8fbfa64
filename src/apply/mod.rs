//! Executing a plan: ordering, bounded concurrency per merchant, one-time secret hand-off,
//! resolution of writes whose outcome is unknown, progress, and a final report. Every step is safe
//! to run again: a re-run re-observes and plans only what is still different.

pub mod lock;
pub mod report;

pub mod stop;

pub use report::{ActionResult, ApplyReport, Outcome};
pub use stop::Stop;

use crate::api::error::ApiError;
use crate::api::vipps::MerchantApi;
use crate::config::model::{Config, Merchant, Webhook};
use crate::plan::diff::webhook_address;
use crate::plan::model::{Action, Change, MerchantPlan, Plan};
use crate::resources::{agreement, webhook, Address, Kind};
use crate::secrets::sinks::{self as secrets, SecretContext, Sink};
use futures::StreamExt;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

/// How to apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Concurrent writes per merchant.
    pub parallelism: usize,
    /// Where secrets of webhooks without a declared sink go.
    pub secrets_out: Option<PathBuf>,
    /// Asked to stop early (a signal, the run deadline): see [`stop`].
    pub stop: Stop,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            parallelism: 4,
            secrets_out: None,
            stop: Stop::new(),
        }
    }
}

/// Receives progress: one call per finished action.
pub trait Progress: Send + Sync {
    fn start(&self, total: usize);
    fn finished(&self, result: &ActionResult);
}

/// No progress output (tests, or when stderr is not wanted).
pub struct Silent;

impl Progress for Silent {
    fn start(&self, _: usize) {}
    fn finished(&self, _: &ActionResult) {}
}

/// Apply every change of `plan`. `config` supplies the declared objects (the plan itself holds no
/// secrets or personal data); `apis` has one client per merchant.
pub async fn apply(
    plan: &Plan,
    config: &Config,
    apis: &HashMap<String, Arc<MerchantApi>>,
    opts: &ApplyOptions,
    progress: &dyn Progress,
) -> ApplyReport {
    let total = plan.changes().filter(|c| c.action.is_change()).count();
    progress.start(total);
    let merchants: HashMap<&str, &Merchant> = config
        .merchants
        .iter()
        .map(|m| (m.msn.as_str(), m))
        .collect();
    let merchants = &merchants;
    let runs = plan.merchants.iter().map(|mp| async move {
        let (Some(m), Some(api)) = (merchants.get(mp.msn.as_str()), apis.get(&mp.msn)) else {
            let skipped = mp
                .changes
                .iter()
                .filter(|c| c.action.is_change())
                .map(|c| ActionResult {
                    address: c.address.clone(),
                    action: c.action,
                    outcome: Outcome::Skipped {
                        reason: format!("merchant {} is not in the configuration given", mp.msn),
                    },
                })
                .collect::<Vec<_>>();
            return (skipped, Vec::new());
        };
        apply_merchant(mp, m, api, opts, progress).await
    });
    let mut results = Vec::new();
    let mut lost_secrets = Vec::new();
    for (r, lost) in futures::future::join_all(runs).await {
        results.extend(r);
        lost_secrets.extend(lost);
    }
    ApplyReport {
        results,
        lost_secrets,
        interrupted: opts.stop.reason(),
    }
}

/// The phases of one merchant, in order. Within a phase, writes run concurrently.
fn phases(mp: &MerchantPlan) -> [Vec<&Change>; 4] {
    let acts: Vec<&Change> = mp.changes.iter().filter(|c| c.action.is_change()).collect();
    // Events that allow a single registration: a delete that frees one must run before a create needs it.
    let single: HashSet<String> = acts
        .iter()
        .filter(|c| c.address.kind == Kind::Webhooks)
        .filter(|c| matches!(c.action, Action::Create | Action::ReplaceCreateFirst))
        .flat_map(|c| events_of(c))
        .filter(|e| webhook::limit_per_event(e) == 1)
        .collect();
    let mut p = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
    for c in acts {
        let i = match (c.address.kind, c.action) {
            (Kind::Webhooks, Action::ReplaceDeleteFirst) => 0,
            (Kind::Webhooks, Action::Delete) if events_of(c).iter().any(|e| single.contains(e)) => {
                0
            }
            (Kind::Webhooks, Action::Create | Action::ReplaceCreateFirst) => 1,
            (_, Action::Delete) => 3,
            _ => 2,
        };
        p[i].push(c);
    }
    p
}

/// The events a webhook change shows (created or live), from its `events` field.
fn events_of(c: &Change) -> Vec<String> {
    c.fields
        .iter()
        .filter(|f| f.field == "events")
        .flat_map(|f| f.after.clone().or_else(|| f.before.clone()))
        .flat_map(|s| s.split(", ").map(str::to_string).collect::<Vec<_>>())
        .collect()
}

async fn apply_merchant(
    mp: &MerchantPlan,
    m: &Merchant,
    api: &MerchantApi,
    opts: &ApplyOptions,
    progress: &dyn Progress,
) -> (Vec<ActionResult>, Vec<Address>) {
    let webhooks: HashMap<Address, &Webhook> = m
        .webhooks
        .iter()
        .map(|w| (webhook_address(m, &w.url, &w.events), w))
        .collect();
    let ctx = Ctx {
        m,
        api,
        webhooks,
        opts,
        lost: std::sync::Mutex::new(Vec::new()),
        freed: std::sync::Mutex::new(HashMap::new()),
    };
    let mut results = Vec::new();
    let mut check_in_failed = false;
    for phase in phases(mp) {
        let ctx = &ctx;
        let done: Vec<ActionResult> = futures::stream::iter(phase)
            .map(|c| async move {
                // A callback QR without its check-in webhook would never fire: skip, don't half-apply.
                let outcome = if let Some(why) = opts.stop.reason() {
                    Outcome::Skipped {
                        reason: format!("not started: the apply was {why}"),
                    }
                } else if c.address.kind == Kind::CallbackQrs
                    && c.action == Action::Create
                    && check_in_failed
                {
                    Outcome::Skipped {
                        reason: format!(
                            "the {} webhook could not be set up",
                            webhook::CHECK_IN_EVENT
                        ),
                    }
                } else {
                    ctx.execute_unless_abandoned(c).await
                };
                let r = ActionResult {
                    address: c.address.clone(),
                    action: c.action,
                    outcome,
                };
                progress.finished(&r);
                r
            })
            .buffer_unordered(opts.parallelism.max(1))
            .collect()
            .await;
        check_in_failed |= done.iter().any(|r| {
            r.address.kind == Kind::Webhooks
                && r.outcome.is_failed()
                && ctx
                    .webhooks
                    .get(&r.address)
                    .is_some_and(|w| w.events.iter().any(|e| e == webhook::CHECK_IN_EVENT))
        });
        results.extend(done);
    }
    results.sort_by(|a, b| a.address.cmp(&b.address));
    let lost = ctx.lost.into_inner().unwrap_or_else(|e| e.into_inner());
    (results, lost)
}

struct Ctx<'a> {
    m: &'a Merchant,
    api: &'a MerchantApi,
    webhooks: HashMap<Address, &'a Webhook>,
    opts: &'a ApplyOptions,
    /// Webhooks whose registration may exist without its secret in a sink.
    lost: std::sync::Mutex<Vec<Address>>,
    /// Events that allow one registration per sales unit whose registration this run deleted,
    /// with that registration's id: a new one for such an event is the only one left.
    freed: std::sync::Mutex<HashMap<String, String>>,
}

#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Sink(#[from] secrets::SinkError),
    #[error("{0}")]
    Refused(String),
    /// The sink failed after the old registration of a single-registration event was deleted:
    /// the new one is kept (taking it back would leave none) and its secret recorded as lost.
    #[error(
        "{sink_failure}; the new registration {id} is kept without its secret, because the old one ({old}) was deleted first and {event} allows one registration per sales unit: events are delivered, but nobody can verify them until it is replaced. Fix the sink and run apply again: the next plan replaces {id}"
    )]
    KeptWithoutSecret {
        sink_failure: String,
        id: String,
        old: String,
        event: String,
    },
    /// Registering failed after the old registration of a single-registration event was deleted.
    #[error(
        "the old registration ({old}) was deleted first ({event} allows one registration per sales unit), and registering the new one failed, so merchant {msn} has no {event} webhook now; run apply again once the cause is fixed"
    )]
    NoneLeft {
        old: String,
        event: String,
        msn: String,
        #[source]
        source: Box<StepError>,
    },
}

fn failed(e: StepError) -> Outcome {
    Outcome::Failed {
        error: crate::error_chain::one_line(&e),
    }
}

impl Ctx<'_> {
    /// [`Ctx::execute`], cut off when the stop's grace runs out. A webhook registration cut
    /// off may exist with its secret in no sink: it is recorded as lost.
    async fn execute_unless_abandoned(&self, c: &Change) -> Outcome {
        tokio::select! {
            outcome = self.execute(c) => outcome,
            () = self.opts.stop.abandoned() => {
                let registers = c.address.kind == Kind::Webhooks && c.action != Action::Delete;
                if registers {
                    self.lose(&c.address);
                }
                Outcome::Unknown {
                    reason: format!(
                        "abandoned in flight {} after the apply was {}",
                        crate::duration::show(stop::GRACE),
                        self.opts.stop.reason().unwrap_or_default()
                    ),
                }
            }
        }
    }

    async fn execute(&self, c: &Change) -> Outcome {
        let r = match c.address.kind {
            Kind::Webhooks => self.webhook(c).await,
            Kind::RedirectQrs => self.redirect_qr(c).await,
            Kind::CallbackQrs => self.callback_qr(c).await,
            Kind::Agreements => self.agreement(c).await,
        };
        match r {
            Ok(detail) => Outcome::Done { detail },
            Err(e) => failed(e),
        }
    }

    fn lose(&self, address: &Address) {
        let mut lost = self.lost.lock().unwrap_or_else(|e| e.into_inner());
        if !lost.contains(address) {
            lost.push(address.clone());
        }
    }

    fn declared_webhook(&self, c: &Change) -> Result<&Webhook, StepError> {
        self.webhooks.get(&c.address).copied().ok_or_else(|| {
            StepError::Refused(format!(
                "{} is not declared in the configuration given",
                c.address
            ))
        })
    }

    fn live_id(c: &Change) -> Result<&str, StepError> {
        c.live_id
            .as_deref()
            .ok_or_else(|| StepError::Refused(format!("{}: the plan has no live id", c.address)))
    }

    async fn webhook(&self, c: &Change) -> Result<Option<String>, StepError> {
        match c.action {
            Action::Create => self.register(c, None).await,
            Action::ReplaceCreateFirst => {
                let old = Self::live_id(c)?;
                let detail = self.register(c, Some(old)).await?;
                self.delete_webhook(old).await?;
                Ok(detail)
            }
            Action::ReplaceDeleteFirst => {
                let old = Self::live_id(c)?;
                self.delete_webhook(old).await?;
                self.freed_by(old, &self.declared_webhook(c)?.events);
                self.register(c, Some(old)).await
            }
            Action::Delete => {
                let old = Self::live_id(c)?;
                self.delete_webhook(old).await?;
                self.freed_by(old, &events_of(c));
                Ok(None)
            }
            _ => Ok(None),
        }
    }

    /// Remember that deleting registration `old` left its single-registration events without one.
    fn freed_by(&self, old: &str, events: &[String]) {
        let mut freed = self.freed.lock().unwrap_or_else(|e| e.into_inner());
        for e in events {
            if webhook::limit_per_event(e) == 1 {
                freed.insert(e.clone(), old.to_string());
            }
        }
    }

    /// A single-registration event of `w` whose old registration this run deleted, and its id.
    fn freed_for(&self, w: &Webhook) -> Option<(String, String)> {
        let freed = self.freed.lock().unwrap_or_else(|e| e.into_inner());
        w.events
            .iter()
            .find_map(|e| freed.get(e).map(|old| (e.clone(), old.clone())))
    }

    async fn delete_webhook(&self, id: &str) -> Result<(), StepError> {
        match self.api.delete_webhook(id).await {
            Err(e) if e.is_not_found() => Ok(()), // already gone: the goal is reached
            r => Ok(r?),
        }
    }

    fn sink_for(&self, w: &Webhook) -> Option<Sink> {
        match (&w.secret, &self.opts.secrets_out) {
            (Some(s), _) => Some(Sink::resolve(s, &w.origin.file)),
            (None, Some(path)) => Some(Sink::File {
                path: path.clone(),
                key: secrets::default_key(self.m, w),
            }),
            (None, None) => None,
        }
    }

    /// Register a webhook and hand its secret to the sink. `replacing` is the id of the old
    /// registration, which must not be mistaken for the new one.
    async fn register(
        &self,
        c: &Change,
        replacing: Option<&str>,
    ) -> Result<Option<String>, StepError> {
        let w = self.declared_webhook(c)?;
        let events = webhook::event_set(&w.events);
        let sink = self.sink_for(w);
        if let Some(s) = &sink {
            secrets::ensure_file(s).map_err(|source| {
                StepError::Sink(secrets::SinkError::File {
                    path: match s {
                        Sink::File { path, .. } => path.clone(),
                        Sink::Command { .. } => PathBuf::new(),
                    },
                    source,
                })
            })?;
        }
        let (id, secret) = match self.register_once(c, &w.url, &events, replacing).await {
            Ok(r) => r,
            Err((err, unknown)) => {
                if unknown {
                    // Live state cannot tell a registration whose secret was lost from a good
                    // one: only this run knows, so it must say so.
                    self.lose(&c.address);
                }
                return Err(match self.freed_for(w) {
                    Some((event, old)) => StepError::NoneLeft {
                        old,
                        event,
                        msn: self.m.msn.clone(),
                        source: Box::new(err),
                    },
                    None => err,
                });
            }
        };
        let Some(sink) = sink else {
            return Ok(Some(format!(
                "registered as {id}; its secret was not stored (no sink declared and no --secrets-out)"
            )));
        };
        let ctx = SecretContext {
            msn: self.m.msn.clone(),
            url: w.url.clone(),
            webhook_id: id.clone(),
        };
        if let Err(e) = secrets::deliver(&sink, &secret, &ctx).await {
            if let Some((event, old)) = self.freed_for(w) {
                // Taking it back would leave the merchant without any registration for the
                // event (e.g. no check-ins for its callback QR codes): a registration that
                // delivers, recorded as lost so the next plan replaces it, is the better state.
                self.lose(&c.address);
                return Err(StepError::KeptWithoutSecret {
                    sink_failure: crate::error_chain::one_line(&e),
                    id,
                    old,
                    event,
                });
            }
            // A registration whose secret nobody has cannot be verified: take it back.
            let cleanup = self.delete_webhook(&id).await;
            if let Err(ce) = cleanup {
                tracing::error!("could not delete webhook {id} after the secret sink failed: {ce}");
                self.lose(&c.address);
            }
            return Err(e.into());
        }
        Ok(Some(format!("registered as {id}; secret stored")))
    }

    /// Register so that at most one new registration exists, and only if its secret is in hand.
    /// After an unknown outcome the registration may exist with its secret lost; it is deleted
    /// before trying again, and also before giving up, because a later run would take a
    /// leftover for the configured one and never store its secret.
    async fn register_once(
        &self,
        c: &Change,
        url: &str,
        events: &[String],
        replacing: Option<&str>,
    ) -> Result<(String, crate::api::Secret), (StepError, bool)> {
        const ATTEMPTS: usize = 3;
        let key = webhook::key(url, events);
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.api.register_webhook(url, events).await {
                Ok(r) => return Ok(r),
                Err(e) if e.outcome_unknown() => {
                    tracing::warn!(
                        "{}: outcome of the registration unknown ({e}); checking",
                        c.address
                    );
                    // `true`: a registration whose secret is lost may exist from here on.
                    let unknown = |err: StepError| (err, true);
                    let live = self
                        .api
                        .list_webhooks()
                        .await
                        .map_err(|e| unknown(e.into()))?;
                    for l in live {
                        if webhook::live_key(&l) == key && Some(l.id.as_str()) != replacing {
                            self.delete_webhook(&l.id).await.map_err(unknown)?;
                        }
                    }
                    if attempt >= ATTEMPTS {
                        return Err((e.into(), true));
                    }
                }
                Err(e) => return Err((e.into(), false)),
            }
        }
    }

    async fn redirect_qr(&self, c: &Change) -> Result<Option<String>, StepError> {
        let id = c.address.key.as_str();
        let declared = self.m.redirect_qrs.iter().find(|q| q.id == id);
        match c.action {
            Action::Update => {
                let d = declared
                    .ok_or_else(|| StepError::Refused(format!("{} is not declared", c.address)))?;
                self.api.update_redirect_qr(id, &d.redirect_url).await?;
                Ok(None)
            }
            Action::Create => {
                let d = declared
                    .ok_or_else(|| StepError::Refused(format!("{} is not declared", c.address)))?;
                self.create_redirect_qr(d).await
            }
            Action::ReplaceDeleteFirst => {
                let d = declared
                    .ok_or_else(|| StepError::Refused(format!("{} is not declared", c.address)))?;
                self.delete_redirect_qr(id).await?;
                self.create_redirect_qr(d).await
            }
            Action::Delete => {
                self.delete_redirect_qr(id).await?;
                Ok(None)
            }
            _ => Ok(None),
        }
    }

    /// The PATCH a policy change sends: each planned field, with the value of the first named
    /// policy that sets it (the plan already refused policies that disagree).
    fn policy_patch(
        &self,
        c: &Change,
        names: &str,
    ) -> Result<crate::api::model::AgreementPatch, StepError> {
        let policies: Vec<&crate::config::model::AgreementPolicy> = names
            .split('+')
            .map(|n| {
                self.m
                    .agreement_policies
                    .iter()
                    .find(|p| p.name == n)
                    .ok_or_else(|| {
                        StepError::Refused(format!(
                            "{}: agreement policy `{n}` is not in the configuration given",
                            c.address
                        ))
                    })
            })
            .collect::<Result<_, _>>()?;
        let first = |f: &dyn Fn(&crate::config::model::PolicySet) -> Option<String>| {
            policies.iter().find_map(|p| f(&p.set))
        };
        let mut patch = crate::api::model::AgreementPatch::default();
        for d in &c.fields {
            match d.field.as_str() {
                "pricing.amount" => {
                    patch.pricing_amount = policies.iter().find_map(|p| p.set.amount)
                }
                "pricing.suggestedMaxAmount" => {
                    patch.pricing_suggested_max_amount =
                        policies.iter().find_map(|p| p.set.suggested_max_amount)
                }
                "productName" => patch.product_name = first(&|s| s.product_name.clone()),
                "productDescription" => {
                    patch.product_description = first(&|s| s.product_description.clone())
                }
                "merchantAgreementUrl" => {
                    patch.merchant_agreement_url = first(&|s| s.merchant_agreement_url.clone())
                }
                other => {
                    return Err(StepError::Refused(format!(
                        "{}: a policy cannot change {other}",
                        c.address
                    )))
                }
            }
        }
        Ok(patch)
    }

    async fn delete_redirect_qr(&self, id: &str) -> Result<(), StepError> {
        match self.api.delete_redirect_qr(id).await {
            Err(e) if e.is_not_found() => Ok(()),
            r => Ok(r?),
        }
    }

    /// Create, treating "it already exists with the same fields" (a 409 after an earlier attempt
    /// whose answer was lost) as success. After an unknown outcome the QR code is looked up and,
    /// if absent, created again, a bounded number of times: one flaky answer should not leave
    /// the object for the next run.
    async fn create_redirect_qr(
        &self,
        d: &crate::config::model::RedirectQr,
    ) -> Result<Option<String>, StepError> {
        const ATTEMPTS: usize = 3;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let e = match self
                .api
                .create_redirect_qr(&d.id, &d.redirect_url, d.ttl)
                .await
            {
                Ok(_) => return Ok(None),
                Err(e) if e.is_conflict() || e.outcome_unknown() => e,
                Err(e) => return Err(e.into()),
            };
            match self.api.get_redirect_qr(&d.id).await {
                // Equal as the plan judges it: the url and whether it expires.
                Ok(live) if crate::resources::redirect_qr::fields(d, &live).is_empty() => {
                    return Ok(Some("already existed with these fields".into()))
                }
                Ok(live) => {
                    return Err(StepError::Refused(format!(
                        "QR code {} already exists with other fields (redirectUrl {}, expiresIn {}) (run plan again)",
                        d.id,
                        live.redirect_url,
                        live.expires_in.map_or("none".to_string(), |s| s.to_string())
                    )))
                }
                Err(ge) if ge.is_not_found() && e.outcome_unknown() && attempt < ATTEMPTS => {
                    continue
                }
                Err(_) => return Err(e.into()),
            }
        }
    }

    async fn callback_qr(&self, c: &Change) -> Result<Option<String>, StepError> {
        let id = c.address.key.as_str();
        match c.action {
            Action::Create | Action::Update => {
                let d = self
                    .m
                    .callback_qrs
                    .iter()
                    .find(|q| q.merchant_qr_id == id)
                    .ok_or_else(|| StepError::Refused(format!("{} is not declared", c.address)))?;
                // PUT is create-or-update, so a retry after an unknown outcome is harmless.
                self.api
                    .put_callback_qr(id, &d.location_description)
                    .await?;
                Ok(None)
            }
            Action::Delete => match self.api.delete_callback_qr(id).await {
                Err(e) if e.is_not_found() => Ok(None),
                r => Ok(r.map(|_| None)?),
            },
            _ => Ok(None),
        }
    }

    async fn agreement(&self, c: &Change) -> Result<Option<String>, StepError> {
        let key = c
            .idempotency_key
            .clone()
            .unwrap_or_else(|| crate::plan::diff::idempotency_key(c, &[]));
        if let (Some(names), Action::Update) = (&c.policy, c.action) {
            let patch = self.policy_patch(c, names)?;
            self.api
                .update_agreement(Self::live_id(c)?, &patch, &key)
                .await?;
            return Ok(None);
        }
        let declared = self
            .m
            .agreements
            .iter()
            .find(|a| a.external_id == c.address.key)
            .ok_or_else(|| StepError::Refused(format!("{} is not declared", c.address)))?;
        match c.action {
            Action::Create => {
                let drafted = self
                    .api
                    .draft_agreement(&agreement::draft(declared), &key)
                    .await?;
                Ok(Some(format!(
                    "drafted as {}; the customer accepts it at {}",
                    drafted.agreement_id, drafted.vipps_confirmation_url
                )))
            }
            Action::Update => {
                let id = Self::live_id(c)?;
                let patch = agreement::patch(declared, &c.fields);
                self.api.update_agreement(id, &patch, &key).await?;
                Ok(None)
            }
            Action::Stop => {
                if declared.protect {
                    return Err(StepError::Refused(format!("{} is protected", c.address)));
                }
                self.api.stop_agreement(Self::live_id(c)?, &key).await?;
                Ok(Some("stopped".into()))
            }
            _ => Ok(None),
        }
    }
}
