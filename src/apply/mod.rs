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
use crate::config::model::Config;
use crate::plan::model::{Action, Change, Desired, MerchantPlan, Plan};
use crate::resources::Field;
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

/// Receives progress: the number of actions, then each action as it starts and finishes.
pub trait Progress: Send + Sync {
    fn start(&self, total: usize);
    /// A change's first request is about to be sent.
    fn started(&self, _change: &Change) {}
    fn finished(&self, result: &ActionResult);
}

/// No progress output (tests, or when stderr is not wanted).
pub struct Silent;

impl Progress for Silent {
    fn start(&self, _: usize) {}
    fn finished(&self, _: &ActionResult) {}
}

/// What a plan does not hold and apply needs: personal data (agreement phone numbers), by
/// address, taken from the configuration.
#[derive(Debug, Clone, Default)]
pub struct Sensitive {
    phones: HashMap<Address, String>,
}

impl Sensitive {
    pub fn from_config(config: &Config) -> Sensitive {
        let mut phones = HashMap::new();
        for m in &config.merchants {
            for a in &m.agreements {
                if let Some(p) = &a.phone_number {
                    phones.insert(
                        Address::new(&m.msn, Kind::Agreements, &a.external_id),
                        p.clone(),
                    );
                }
            }
        }
        Sensitive { phones }
    }
}

/// Apply every change of `plan`, from what the plan holds (the desired objects, typed field
/// values, ids and idempotency keys) and, for personal data the plan masks, from `sensitive`.
/// `apis` has one client per merchant.
pub async fn apply(
    plan: &Plan,
    sensitive: &Sensitive,
    apis: &HashMap<String, Arc<MerchantApi>>,
    opts: &ApplyOptions,
    progress: &dyn Progress,
) -> ApplyReport {
    let total = plan.changes().filter(|c| c.action.is_change()).count();
    progress.start(total);
    let runs = plan.merchants.iter().map(|mp| async move {
        let Some(api) = apis.get(&mp.msn) else {
            let skipped = mp
                .changes
                .iter()
                .filter(|c| c.action.is_change())
                .map(|c| ActionResult {
                    address: c.address.clone(),
                    action: c.action,
                    outcome: Outcome::Skipped {
                        reason: format!("merchant {} has no API client in this run", mp.msn),
                    },
                })
                .collect::<Vec<_>>();
            return (skipped, Vec::new());
        };
        apply_merchant(mp, sensitive, api, opts, progress).await
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

/// The events of a webhook change: those it registers, or for a delete those of the live
/// registration (its typed `events` field).
fn events_of(c: &Change) -> Vec<String> {
    if let Some(Desired::Webhook { events, .. }) = &c.desired {
        return events.clone();
    }
    c.fields
        .iter()
        .filter(|f| f.field == Field::Events)
        .filter_map(|f| f.after.as_ref().or(f.before.as_ref()))
        .filter_map(|v| v.as_array())
        .flatten()
        .filter_map(|e| e.as_str().map(str::to_string))
        .collect()
}

async fn apply_merchant(
    mp: &MerchantPlan,
    sensitive: &Sensitive,
    api: &MerchantApi,
    opts: &ApplyOptions,
    progress: &dyn Progress,
) -> (Vec<ActionResult>, Vec<Address>) {
    let ctx = Ctx {
        msn: &mp.msn,
        api,
        sensitive,
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
                    progress.started(c);
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
                && mp.changes.iter().any(|c| {
                    c.address == r.address
                        && matches!(&c.desired, Some(Desired::Webhook { events, .. })
                            if events.iter().any(|e| e == webhook::CHECK_IN_EVENT))
                })
        });
        results.extend(done);
    }
    results.sort_by(|a, b| a.address.cmp(&b.address));
    let lost = ctx.lost.into_inner().unwrap_or_else(|e| e.into_inner());
    (results, lost)
}

struct Ctx<'a> {
    msn: &'a str,
    api: &'a MerchantApi,
    sensitive: &'a Sensitive,
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

    /// The registration a webhook change makes, as the plan holds it.
    fn desired_webhook(c: &Change) -> Result<DesiredWebhook<'_>, StepError> {
        match &c.desired {
            Some(Desired::Webhook {
                url,
                events,
                secret,
                declared_in,
                secrets_out_key,
            }) => Ok(DesiredWebhook {
                url,
                events,
                secret: secret.as_ref(),
                declared_in,
                secrets_out_key,
            }),
            _ => Err(Self::incomplete(c, "the webhook to register")),
        }
    }

    /// A change without what apply needs: the plan was not made by this vippsctl as it is.
    fn incomplete(c: &Change, what: &str) -> StepError {
        StepError::Refused(format!(
            "{}: the plan does not hold {what} (plan again with this vippsctl)",
            c.address
        ))
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
                let events = Self::desired_webhook(c)?.events;
                self.delete_webhook(old).await?;
                self.freed_by(old, events);
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

    /// A single-registration event of `events` whose old registration this run deleted, and its id.
    fn freed_for(&self, events: &[String]) -> Option<(String, String)> {
        let freed = self.freed.lock().unwrap_or_else(|e| e.into_inner());
        events
            .iter()
            .find_map(|e| freed.get(e).map(|old| (e.clone(), old.clone())))
    }

    async fn delete_webhook(&self, id: &str) -> Result<(), StepError> {
        match self.api.delete_webhook(id).await {
            Err(e) if e.is_not_found() => Ok(()), // already gone: the goal is reached
            r => Ok(r?),
        }
    }

    fn sink_for(&self, w: &DesiredWebhook<'_>) -> Option<Sink> {
        match (w.secret, &self.opts.secrets_out) {
            (Some(s), _) => Some(Sink::resolve(s, w.declared_in)),
            (None, Some(path)) => Some(Sink::File {
                path: path.clone(),
                key: w.secrets_out_key.to_string(),
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
        let w = Self::desired_webhook(c)?;
        let events = w.events;
        let sink = self.sink_for(&w);
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
        let (id, secret) = match self.register_once(c, w.url, events, replacing).await {
            Ok(r) => r,
            Err((err, unknown)) => {
                if unknown {
                    // Live state cannot tell a registration whose secret was lost from a good
                    // one: only this run knows, so it must say so.
                    self.lose(&c.address);
                }
                return Err(match self.freed_for(events) {
                    Some((event, old)) => StepError::NoneLeft {
                        old,
                        event,
                        msn: self.msn.to_string(),
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
            msn: self.msn.to_string(),
            url: w.url.to_string(),
            webhook_id: id.clone(),
        };
        if let Err(e) = secrets::deliver(&sink, &secret, &ctx).await {
            if let Some((event, old)) = self.freed_for(events) {
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
    ) -> Result<(String, crate::domain::Secret), (StepError, bool)> {
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
        let desired = || match &c.desired {
            Some(Desired::RedirectQr {
                redirect_url, ttl, ..
            }) => Ok((redirect_url.as_str(), *ttl)),
            _ => Err(Self::incomplete(c, "the QR code to set")),
        };
        match c.action {
            Action::Update => {
                let (url, _) = desired()?;
                self.api.update_redirect_qr(id, url).await?;
                Ok(None)
            }
            Action::Create => {
                let (url, ttl) = desired()?;
                self.create_redirect_qr(id, url, ttl).await
            }
            Action::ReplaceDeleteFirst => {
                let (url, ttl) = desired()?;
                self.delete_redirect_qr(id).await?;
                self.create_redirect_qr(id, url, ttl).await
            }
            Action::Delete => {
                self.delete_redirect_qr(id).await?;
                Ok(None)
            }
            _ => Ok(None),
        }
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
        id: &str,
        url: &str,
        ttl: Option<u64>,
    ) -> Result<Option<String>, StepError> {
        const ATTEMPTS: usize = 3;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let e = match self.api.create_redirect_qr(id, url, ttl).await {
                Ok(_) => return Ok(None),
                Err(e) if e.is_conflict() || e.outcome_unknown() => e,
                Err(e) => return Err(e.into()),
            };
            match self.api.get_redirect_qr(id).await {
                // Equal as the plan judges it: the url and whether it expires.
                Ok(live) if crate::resources::redirect_qr::differences(url, ttl, &live).is_empty() => {
                    return Ok(Some("already existed with these fields".into()))
                }
                Ok(live) => {
                    return Err(StepError::Refused(format!(
                        "QR code {} already exists with other fields (redirectUrl {}, expiresIn {}) (run plan again)",
                        id,
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
                let Some(Desired::CallbackQr {
                    location_description,
                    ..
                }) = &c.desired
                else {
                    return Err(Self::incomplete(c, "the QR code to set"));
                };
                // PUT is create-or-update, so a retry after an unknown outcome is harmless.
                self.api.put_callback_qr(id, location_description).await?;
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
            .as_deref()
            .ok_or_else(|| Self::incomplete(c, "the Idempotency-Key"))?;
        match c.action {
            Action::Create => {
                let Some(Desired::Agreement(draft)) = &c.desired else {
                    return Err(Self::incomplete(c, "the agreement to draft"));
                };
                let mut draft = draft.clone();
                if draft.phone_number.is_some() {
                    // The plan holds the number masked; the configuration holds it.
                    draft.phone_number = Some(
                        self.sensitive
                            .phones
                            .get(&c.address)
                            .cloned()
                            .ok_or_else(|| {
                                StepError::Refused(format!(
                                    "{}: the configuration given has no phoneNumber for it",
                                    c.address
                                ))
                            })?,
                    );
                }
                let drafted = self.api.draft_agreement(&draft, key).await?;
                Ok(Some(format!(
                    "drafted as {}; the customer accepts it at {}",
                    drafted.agreement_id, drafted.vipps_confirmation_url
                )))
            }
            Action::Update => {
                let id = Self::live_id(c)?;
                let patch = agreement::patch(&c.fields)
                    .map_err(|e| StepError::Refused(format!("{}: {e}", c.address)))?;
                self.api.update_agreement(id, &patch, key).await?;
                Ok(None)
            }
            Action::Stop => {
                self.api.stop_agreement(Self::live_id(c)?, key).await?;
                Ok(Some("stopped".into()))
            }
            _ => Ok(None),
        }
    }
}

/// A webhook registration as the plan holds it.
struct DesiredWebhook<'a> {
    url: &'a str,
    events: &'a [String],
    secret: Option<&'a crate::config::model::SecretSink>,
    declared_in: &'a std::path::Path,
    secrets_out_key: &'a str,
}
