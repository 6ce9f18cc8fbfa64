//! The simulator's shared state and the one request pipeline every Vipps API call goes through:
//! route -> latency -> fault draw -> auth -> expiry sweep -> rate limit -> handler -> persist ->
//! after-write fault -> call log.

use super::config::{CountedPer, FaultConfig, FaultKind, SimConfig};
use super::state::{AgreementStatus, SimState};
use super::wire::{api_error, gateway_error, percent_decode, Reply, Req};
use super::{control, epayment, management, order_management, qr, recurring, token, webhooks};
use crate::specs::ops::{self, Api, Operation};
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

/// One Vipps API request as the simulator saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    /// The stable operation name from `specs::ops` (`unknown` for paths no operation has).
    pub operation: String,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub status: u16,
    pub msn: Option<String>,
    /// The request body, when it was JSON.
    pub body: Option<serde_json::Value>,
    /// The injected fault's name, if one was.
    pub faulted: Option<String>,
}

pub(crate) struct TokenInfo {
    pub credential: usize,
    pub expires_at: DateTime<Utc>,
    /// Fetched from `/miami/v1/token`: good for the Management API only.
    pub management: bool,
}

pub(crate) struct Inner {
    pub config: SimConfig,
    pub state: SimState,
    pub clock_offset: chrono::Duration,
    /// What the state file last got of the deliveries and the clock ([`Inner::persist`]).
    pub saved_signature: ((usize, usize, usize, usize, usize), i64),
    pub calls: Vec<CallRecord>,
    pub tokens: HashMap<String, TokenInfo>,
    /// Request times per (operation, counting key), for the per-minute limits.
    pub windows: HashMap<(String, String), VecDeque<DateTime<Utc>>>,
    pub fault_rng: StdRng,
    pub jitter_rng: StdRng,
    pub base_url: String,
    /// Set by anything that changes `state`, so it is persisted.
    pub dirty: bool,
    /// Webhook deliveries (not part of `state`: they are not persisted).
    pub deliveries: super::delivery::Book,
    /// Wakes the delivery worker when there is something new to send.
    pub wake: std::sync::Arc<tokio::sync::Notify>,
}

impl Inner {
    pub fn now(&self) -> DateTime<Utc> {
        let now = Utc::now();
        now.checked_add_signed(self.clock_offset).unwrap_or(now)
    }

    pub fn set_faults(&mut self, f: FaultConfig) {
        self.config.faults = f;
    }

    /// Expire what the simulated clock says is gone, in every merchant: drafts not accepted
    /// within 10 minutes (raising `recurring.agreement-expired.v1`), redirect QRs past their ttl.
    /// For the control API, the delivery worker and snapshots, which see every merchant.
    pub fn sweep(&mut self) {
        let now = self.now();
        let mut expired = Vec::new();
        let mut changed = false;
        for (msn, m) in self.state.merchants.iter_mut() {
            changed |= expire(msn, m, now, &mut expired);
        }
        self.swept(changed, expired);
        super::charges::sweep(self);
        epayment::expire(self, None);
    }

    /// The same for one merchant: an API call reads and writes only its own merchant's state.
    /// (Sweeping every merchant on every call made the plan of a 5,000-merchant fleet quadratic
    /// in the simulator.)
    pub fn sweep_merchant(&mut self, msn: &str) {
        let now = self.now();
        let mut expired = Vec::new();
        let changed = match self.state.merchants.get_mut(msn) {
            Some(m) => expire(msn, m, now, &mut expired),
            None => false,
        };
        self.swept(changed, expired);
        super::charges::sweep_one(self, msn);
        epayment::expire(self, Some(msn));
    }

    fn swept(&mut self, changed: bool, expired: Vec<(String, serde_json::Value)>) {
        self.dirty |= changed;
        for (msn, payload) in expired {
            self.emit(&msn, super::events::AGREEMENT_EXPIRED, payload);
        }
    }

    pub fn persist(&mut self) {
        let Some(path) = &self.config.state_file else {
            self.dirty = false;
            return;
        };
        let signature = (self.deliveries.signature(), self.clock_offset.num_seconds());
        if !self.dirty && signature == self.saved_signature {
            return;
        }
        self.dirty = false;
        self.saved_signature = signature;
        let saved = self.deliveries.saved(self.clock_offset);
        if let Err(e) = self.state.save_with(path, &saved) {
            tracing::error!("{e}");
        }
    }
}

pub(crate) struct Sim {
    inner: Mutex<Inner>,
}

/// What an API handler gets besides the request.
pub(crate) struct Ctx<'a> {
    pub op: &'static Operation,
    /// Path parameters, percent-decoded, in template order.
    pub params: Vec<String>,
    pub msn: String,
    pub req: &'a Req,
}

impl<'a> Ctx<'a> {
    /// The request path without the query, for `instance` fields.
    pub fn instance(&self) -> &str {
        &self.req.path
    }

    pub fn error(&self, status: u16, detail: &str, problems: &[super::wire::Invalid]) -> Reply {
        api_error(self.op.api, status, detail, self.instance(), problems)
    }
}

/// Expire one merchant's drafts and redirect QRs that the clock says are gone; the expiry
/// events go to `expired`. Whether anything changed.
fn expire(
    msn: &str,
    m: &mut super::state::MerchantState,
    now: DateTime<Utc>,
    expired: &mut Vec<(String, serde_json::Value)>,
) -> bool {
    let mut changed = false;
    for a in m.agreements.values_mut() {
        let deadline = a
            .created
            .checked_add_signed(chrono::Duration::minutes(recurring::DRAFT_WINDOW_MINUTES));
        if let Some(deadline) = deadline {
            if a.status == AgreementStatus::Pending && now >= deadline {
                a.status = AgreementStatus::Expired;
                a.stop = Some(deadline);
                changed = true;
                expired.push((
                    msn.to_string(),
                    super::events::for_agreement(
                        super::events::AGREEMENT_EXPIRED,
                        msn,
                        a,
                        deadline,
                        None,
                    ),
                ));
            }
        }
    }
    let before = m.redirect_qrs.len();
    m.redirect_qrs
        .retain(|_, q| q.expires_at().is_none_or(|t| now < t));
    changed | (m.redirect_qrs.len() != before)
}

/// Match a request against the operations' path templates.
pub(crate) fn route(method: &str, path: &str) -> Option<(&'static Operation, Vec<String>)> {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    if method == ops::MANAGEMENT_TOKEN.method && segs.join("/") == ops::MANAGEMENT_TOKEN.path {
        return Some((&ops::MANAGEMENT_TOKEN, Vec::new()));
    }
    ops::OPERATIONS.iter().find_map(|op| {
        if op.method != method {
            return None;
        }
        let tmpl: Vec<&str> = op.path.split('/').collect();
        if tmpl.len() != segs.len() {
            return None;
        }
        let mut params = Vec::new();
        for (t, s) in tmpl.iter().zip(&segs) {
            if t.starts_with('{') {
                if s.is_empty() {
                    return None;
                }
                params.push(percent_decode(s));
            } else if t != s {
                return None;
            }
        }
        Some((op, params))
    })
}

impl Sim {
    pub fn new(config: SimConfig, state: SimState, base_url: String) -> Self {
        let seed = config.seed;
        let deliveries = super::delivery::Book {
            forward: config.forward_to.clone(),
            ..Default::default()
        };
        Sim {
            inner: Mutex::new(Inner {
                config,
                state,
                clock_offset: chrono::Duration::zero(),
                saved_signature: Default::default(),
                calls: Vec::new(),
                tokens: HashMap::new(),
                windows: HashMap::new(),
                fault_rng: StdRng::seed_from_u64(seed),
                jitter_rng: StdRng::seed_from_u64(seed ^ 0x9e37_79b9_7f4a_7c15),
                base_url,
                dirty: false,
                deliveries,
                wake: std::sync::Arc::new(tokio::sync::Notify::new()),
            }),
        }
    }

    /// Take back the deliveries and the clock a state file kept.
    pub fn restore(&self, saved: super::delivery::Saved) {
        let mut inner = self.lock();
        inner.clock_offset = chrono::Duration::seconds(saved.clock_offset_seconds);
        inner.deliveries.restore(saved);
        inner.saved_signature = (
            inner.deliveries.signature(),
            inner.clock_offset.num_seconds(),
        );
    }

    /// A poisoned lock only means a handler panicked mid-request; the state is still usable.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub async fn handle(&self, req: Req) -> Reply {
        // The customer's side of a payment may call the merchant's shipping callback, which must
        // not happen under the lock.
        if let Some(reply) = epayment::customer(self, &req).await {
            return reply;
        }
        if req.path.starts_with("/_sim/") || req.path == "/_sim" {
            let mut inner = self.lock();
            let reply = control::handle(&mut inner, &req);
            inner.persist();
            return reply;
        }
        let Some((op, params)) = route(&req.method, &req.path) else {
            let reply = Reply::json(
                404,
                &serde_json::json!({"statusCode": 404, "message": "Resource not found"}),
            );
            self.lock().calls.push(CallRecord {
                operation: "unknown".into(),
                method: req.method.clone(),
                path: req.path.clone(),
                query: req.query.clone(),
                status: 404,
                msn: req.header("Merchant-Serial-Number").map(str::to_string),
                body: req.json().ok().flatten().map(masked),
                faulted: None,
            });
            return reply;
        };

        let delay = {
            let mut inner = self.lock();
            let jitter = inner.config.jitter;
            let extra = if jitter.is_zero() {
                std::time::Duration::ZERO
            } else {
                let nanos = u64::try_from(jitter.as_nanos()).unwrap_or(u64::MAX);
                std::time::Duration::from_nanos(inner.jitter_rng.random_range(0..=nanos))
            };
            inner.config.latency + extra
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }

        let mut inner = self.lock();
        let fault = draw_fault(&mut inner, op.name, req.header("Merchant-Serial-Number"));
        let mut record = CallRecord {
            operation: op.name.to_string(),
            method: req.method.clone(),
            path: req.path.clone(),
            query: req.query.clone(),
            status: 0,
            msn: req.header("Merchant-Serial-Number").map(str::to_string),
            body: req.json().ok().flatten().map(masked),
            faulted: fault.map(|f| f.name().to_string()),
        };
        let is_write = op.method != "GET";
        let mut reply = match fault {
            Some(f) if !(f.after_write() && is_write) => fault_reply(f, &inner.config.faults),
            _ => {
                let reply = process(&mut inner, op, params, &req, &mut record);
                inner.persist();
                match fault {
                    Some(f) if reply.is_success() => fault_reply(f, &inner.config.faults),
                    // The write failed anyway; the client sees that failure, not the fault.
                    Some(_) => {
                        record.faulted = None;
                        reply
                    }
                    None => reply,
                }
            }
        };
        if reply.drop_connection {
            reply.status = 0;
        }
        record.status = reply.status;
        inner.calls.push(record);
        reply
    }
}

/// Phone numbers never reach the call log (it is printed by tests and served by `/_sim/calls`).
fn masked(mut v: serde_json::Value) -> serde_json::Value {
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    match x {
                        serde_json::Value::String(s) if k == "phoneNumber" => {
                            *s = super::state::mask_phone(s)
                        }
                        _ => walk(x),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v
}

fn draw_fault(inner: &mut Inner, op: &str, msn: Option<&str>) -> Option<FaultKind> {
    let f = &inner.config.faults;
    if f.rate <= 0.0 || f.mix.is_empty() || f.max_faults == Some(0) {
        return None;
    }
    if !f.operations.is_empty() && !f.operations.iter().any(|o| o == op) {
        return None;
    }
    if !f.msns.is_empty() && !msn.is_some_and(|m| f.msns.iter().any(|x| x == m)) {
        return None;
    }
    let roll: f64 = inner.fault_rng.random();
    let pick = inner.fault_rng.random_range(0..f.mix.len());
    let fault = (roll < f.rate).then(|| f.mix[pick]);
    if let (Some(_), Some(n)) = (fault, inner.config.faults.max_faults.as_mut()) {
        *n -= 1;
    }
    fault
}

fn fault_reply(f: FaultKind, cfg: &FaultConfig) -> Reply {
    match f {
        FaultKind::Status500 | FaultKind::AfterWrite500 => {
            gateway_error(500, "Internal server error (injected by the simulator)")
        }
        FaultKind::Status502 => gateway_error(502, "Bad gateway (injected by the simulator)"),
        FaultKind::Status503 => {
            gateway_error(503, "Service unavailable (injected by the simulator)")
        }
        FaultKind::Status429 => {
            gateway_error(429, "Rate limit is exceeded. Try again in 1 seconds.")
                .with_header("Retry-After", "1")
        }
        FaultKind::Drop | FaultKind::AfterWriteDrop => Reply {
            drop_connection: true,
            ..Reply::empty(0)
        },
        FaultKind::Timeout => Reply {
            hang: Some(cfg.hang),
            ..gateway_error(504, "Gateway timeout (injected by the simulator)")
        },
    }
}

/// Auth, expiry, rate limit, then the operation's handler.
fn process(
    inner: &mut Inner,
    op: &'static Operation,
    params: Vec<String>,
    req: &Req,
    record: &mut CallRecord,
) -> Reply {
    if op.api == Api::AccessToken {
        if let Some(reply) = check_system_headers(op, req) {
            return reply;
        }
        if op.name == ops::MANAGEMENT_TOKEN.name {
            return token::fetch_management(inner, req);
        }
        return token::fetch(inner, req);
    }
    if op.api == Api::Management {
        return management::handle(inner, op, params, req, record);
    }
    // A partner's Webhooks call without an MSN acts on the partner's own registrations.
    let partner = match partner_level(inner, op, req) {
        Some(Ok(p)) => Some(p),
        Some(Err(reply)) => return reply,
        None => None,
    };
    let msn = match &partner {
        Some(_) => String::new(),
        None => match authenticate(inner, op, req) {
            Ok(msn) => msn,
            Err(reply) => return reply,
        },
    };
    if let Some(reply) = check_system_headers(op, req) {
        return reply;
    }
    if partner.is_none() {
        // Partner registrations have nothing that expires; a merchant's call expires its own.
        record.msn = Some(msn.clone());
        inner.sweep_merchant(&msn);
    }
    let ctx = Ctx {
        op,
        params,
        msn,
        req,
    };
    if let Some(reply) = rate_limit(inner, &ctx) {
        return reply;
    }
    if let Some(p) = &partner {
        return webhooks::handle_partner(inner, &ctx, p);
    }
    match op.api {
        Api::Webhooks => webhooks::handle(inner, &ctx),
        Api::Qr => qr::handle(inner, &ctx),
        Api::Recurring => recurring::handle(inner, &ctx),
        Api::AccessToken => token::fetch(inner, req),
        Api::Management => management::handle(inner, op, ctx.params.clone(), req, record),
        Api::OrderManagement => order_management::handle(inner, &ctx),
        Api::Epayment => epayment::handle(inner, &ctx),
    }
}

/// The identification headers every spec declares, each at most this long.
pub const SYSTEM_HEADERS: [&str; 4] = [
    "Vipps-System-Name",
    "Vipps-System-Version",
    "Vipps-System-Plugin-Name",
    "Vipps-System-Plugin-Version",
];
pub const SYSTEM_HEADER_MAX_LEN: usize = 30;

/// `Vipps-System-*` values longer than the specs' `maxLength: 30` are refused.
pub(crate) fn check_system_headers(op: &Operation, req: &Req) -> Option<Reply> {
    // Order Management's spec allows 100 characters.
    let max = match op.api {
        Api::OrderManagement => 100,
        _ => SYSTEM_HEADER_MAX_LEN,
    };
    let problems: Vec<super::wire::Invalid> = SYSTEM_HEADERS
        .iter()
        .filter(|h| req.header(h).is_some_and(|v| v.chars().count() > max))
        .map(|h| super::wire::invalid(h, format!("must be at most {max} characters")))
        .collect();
    (!problems.is_empty()).then(|| {
        api_error(
            op.api,
            400,
            "One or more validation errors occurred.",
            &req.path,
            &problems,
        )
    })
}

/// Operations that name the sales unit in every call: the QR merchant-callback endpoints
/// (`Merchant-Serial-Number-Required`) and the webhooks ("required for merchant login"; a
/// partner's calls without one act on partner-level registrations: [`partner_level`]).
fn msn_always_required(op: &Operation) -> bool {
    op.path.starts_with("/qr/v1/merchant-callback")
        || op.api == Api::Webhooks
        // Order Management declares the header required on every operation.
        || op.api == Api::OrderManagement
        // Every ePayment operation declares `Merchant-Serial-Number` as `required: true`.
        || op.api == Api::Epayment
}

/// Where the spec documents a 403 for keys that may not act for the sales unit; elsewhere the
/// gateway refuses the call with a 401.
fn forbidden_documented(op: &Operation) -> bool {
    op.path.starts_with("/qr/v1/merchant-callback") || op.name == "draft_agreement"
}

fn missing_msn(op: &Operation, req: &Req, why: &str) -> Reply {
    api_error(
        op.api,
        400,
        why,
        &req.path,
        &[super::wire::invalid("Merchant-Serial-Number", "required")],
    )
}

/// The caller's keys, from the subscription key and the bearer token (`None` when the simulator
/// checks no auth: the first keys then).
fn credential<'a>(
    inner: &'a Inner,
    req: &Req,
) -> Result<Option<&'a super::config::SimCredentials>, Reply> {
    if !inner.config.require_auth {
        return Ok(inner.config.credentials.first());
    }
    let Some(key) = req.header("Ocp-Apim-Subscription-Key") else {
        return Err(gateway_error(
            401,
            "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.",
        ));
    };
    let Some(auth) = req.header("Authorization") else {
        return Err(gateway_error(
            401,
            "Access denied due to missing access token.",
        ));
    };
    let Some(token) = auth.strip_prefix("Bearer ") else {
        return Err(gateway_error(
            401,
            "Access denied: the Authorization header must be 'Bearer <access token>'.",
        ));
    };
    let now = inner.now();
    let Some(info) = inner.tokens.get(token.trim()) else {
        return Err(gateway_error(
            401,
            "Access denied due to invalid access token.",
        ));
    };
    if now >= info.expires_at {
        return Err(gateway_error(
            401,
            "Access denied: the access token has expired.",
        ));
    }
    if info.management {
        return Err(gateway_error(
            401,
            "Access denied: a token from /miami/v1/token is for the Management API only.",
        ));
    }
    let cred = inner.config.credentials.get(info.credential);
    if cred.is_none_or(|c| !c.has_subscription_key(key)) {
        return Err(gateway_error(
            401,
            "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.",
        ));
    }
    Ok(cred)
}

/// A Webhooks API call without `Merchant-Serial-Number` made with a partner's keys acts on the
/// partner's own registrations (WH: the MSN is "optional for ecom-partners"): answers the
/// partner's client id. `None` for every other call, which [`authenticate`] handles.
fn partner_level(inner: &Inner, op: &Operation, req: &Req) -> Option<Result<String, Reply>> {
    let no_msn = req
        .header("Merchant-Serial-Number")
        .map(str::trim)
        .is_none_or(str::is_empty);
    if op.api != Api::Webhooks || !no_msn {
        return None;
    }
    match credential(inner, req) {
        Err(reply) => Some(Err(reply)),
        Ok(Some(c)) if c.partner => Some(Ok(c.client_id.clone())),
        // A sales unit's keys never reach partner registrations: the MSN stays required.
        Ok(_) => None,
    }
}

/// Check the subscription key, the bearer token and the MSN; answer with the MSN the call acts
/// for. Keys belong to their sales unit (or a partner's sales units) unless
/// `Leniency::any_msn` opens them.
fn authenticate(inner: &Inner, op: &Operation, req: &Req) -> Result<String, Reply> {
    let msn_header = req
        .header("Merchant-Serial-Number")
        .map(str::trim)
        .filter(|m| !m.is_empty());
    let credential = credential(inner, req)?;
    let msn = match (msn_header, credential) {
        (Some(m), _) => m.to_string(),
        (None, _) if msn_always_required(op) => {
            return Err(missing_msn(
                op,
                req,
                "The Merchant-Serial-Number header is required.",
            ))
        }
        (None, Some(c)) if c.partner => {
            return Err(missing_msn(
                op,
                req,
                "Partner keys must send the Merchant-Serial-Number header of the merchant they act for.",
            ))
        }
        (None, Some(c)) => match c.msns.first() {
            Some(m) => m.clone(),
            None => super::config::SANDBOX_MSN.to_string(),
        },
        (None, None) => super::config::SANDBOX_MSN.to_string(),
    };
    if !msn.bytes().all(|b| b.is_ascii_digit()) || msn.len() < 4 || msn.len() > 10 {
        return Err(api_error(
            op.api,
            400,
            "Merchant-Serial-Number must be 4 to 10 digits.",
            &req.path,
            &[super::wire::invalid(
                "Merchant-Serial-Number",
                "must be 4 to 10 digits",
            )],
        ));
    }
    let allowed = inner.config.lenient.any_msn || credential.is_none_or(|c| c.msns.contains(&msn));
    if !allowed {
        let detail =
            format!("These API keys do not belong to the sales unit {msn} and may not act for it.");
        return Err(if forbidden_documented(op) {
            api_error(op.api, 403, &detail, &req.path, &[])
        } else {
            gateway_error(401, &format!("Access denied: {detail}"))
        });
    }
    Ok(msn)
}

pub(crate) fn rate_limit(inner: &mut Inner, ctx: &Ctx<'_>) -> Option<Reply> {
    if let Some(limit) = inner.config.rate_limits.global_per_second {
        let now = inner.now();
        let window = chrono::Duration::seconds(1);
        let times = inner
            .windows
            .entry(("*".into(), String::new()))
            .or_default();
        while times.front().is_some_and(|t| *t + window <= now) {
            times.pop_front();
        }
        if times.len() >= limit as usize {
            return Some(
                gateway_error(429, "Rate limit is exceeded. Try again in 1 seconds.")
                    .with_header("Retry-After", "1"),
            );
        }
        times.push_back(now);
    }
    let (limit, per) = inner.config.rate_limits.for_operation(ctx.op.name)?;
    let key = match per {
        CountedPer::Merchant => ctx.msn.clone(),
        CountedPer::Agreement => format!("{}/{}", ctx.msn, ctx.params.first()?),
        CountedPer::Charge => format!("{}/{}/{}", ctx.msn, ctx.params.first()?, ctx.params.get(1)?),
    };
    let now = inner.now();
    let window = chrono::Duration::minutes(1);
    let times = inner
        .windows
        .entry((ctx.op.name.to_string(), key))
        .or_default();
    while times.front().is_some_and(|t| *t + window <= now) {
        times.pop_front();
    }
    if times.len() >= limit as usize {
        let oldest = times.front().copied().unwrap_or(now);
        let wait = (oldest + window - now).num_milliseconds().max(0);
        let secs = (wait + 999) / 1000;
        return Some(
            gateway_error(
                429,
                &format!("Rate limit is exceeded. Try again in {secs} seconds."),
            )
            .with_header("Retry-After", secs.max(1).to_string()),
        );
    }
    times.push_back(now);
    None
}
