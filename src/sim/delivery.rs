//! Webhook delivery, on the simulator's clock (API-FACTS section 6): every registration of the
//! sales unit whose events include the event gets a signed POST; an answer other than 2xx, or none
//! within 10 seconds, is a failure, retried with exponential backoff for up to 7 days after the
//! event, then dropped; a registration's deliveries go in order (a failing one holds back the
//! later ones); a registration that has answered nothing successfully for 2 weeks is deleted.
//!
//! The simulator never sends to a registered URL: those are public addresses (the Webhooks API
//! refuses local ones). Deliveries go to the forward target (`sim serve --forward-to`,
//! `PUT /_sim/forward`), a local URL, and wait unsent until one is set.

use super::core::{Inner, Sim};
use super::signature;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;
use uuid::Uuid;

/// "No answer within 10 s counts as a failure."
pub const ANSWER_TIMEOUT_SECONDS: i64 = 10;
/// Retries stop this long after the event; the delivery is then dropped.
pub const RETRY_DAYS: i64 = 7;
/// A registration whose endpoint has not answered successfully for this long is deleted.
pub const UNRESPONSIVE_DAYS: i64 = 14;
/// The first retry waits this long, each later one twice as long as the one before, up to
/// [`MAX_BACKOFF_SECONDS`]. Vipps documents "exponential backoff", not its steps.
pub const FIRST_RETRY_SECONDS: i64 = 30;
pub const MAX_BACKOFF_SECONDS: i64 = 12 * 3600;
/// Finished deliveries kept for `/_sim/deliveries` (the oldest go first).
const KEPT: usize = 10_000;
/// At most this much of an answer's body is kept with its attempt.
const ANSWER_KEPT: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not delivered yet: waiting for its turn, its next attempt or a forward target.
    Pending,
    /// A 2xx answer.
    Delivered,
    /// Not delivered within 7 days of the event: dropped.
    GaveUp,
    /// Its registration was deleted before it was delivered.
    Cancelled,
}

/// One POST of a delivery and what came back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    /// When it was sent, on the simulated clock.
    pub at: DateTime<Utc>,
    /// Where it was sent.
    pub target: String,
    /// The answer's status; `None` when there was no answer (refused, timed out).
    #[serde(default)]
    pub status: Option<u16>,
    /// The start of the answer's body.
    #[serde(default)]
    pub answer: Option<String>,
    /// Why there was no answer, or why the answer is a failure.
    #[serde(default)]
    pub error: Option<String>,
}

/// One event on its way to one registration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub id: Uuid,
    /// The same for every registration the event goes to.
    pub event_id: Uuid,
    pub event: String,
    pub msn: String,
    pub webhook_id: Uuid,
    /// The registration is a partner webhook (partner keys, no MSN), not the sales unit's own.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub partner: bool,
    /// The registered URL (deliveries go to the forward target instead).
    pub url: String,
    /// The body, as sent.
    pub payload: Value,
    /// When the event happened, on the simulated clock.
    pub created: DateTime<Utc>,
    pub status: DeliveryStatus,
    /// When the next attempt is due (pending deliveries whose turn it is).
    #[serde(default)]
    pub next_attempt: Option<DateTime<Utc>>,
    #[serde(default)]
    pub attempts: Vec<Attempt>,
    /// Why it gave up or was cancelled.
    #[serde(default)]
    pub note: Option<String>,
    /// The exact bytes every attempt sends (`payload` serialised once).
    #[serde(skip)]
    pub body: String,
}

/// What `GET /_sim/deliveries` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryList {
    pub forward_to: Option<String>,
    pub deliveries: Vec<Delivery>,
}

/// A check-in's customer token and when it stops being valid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerToken {
    pub msn: String,
    pub expires: DateTime<Utc>,
}

/// The deliveries and what their scheduling needs. `--state` keeps them with the simulated
/// clock ([`Saved`]), so a restarted simulator resumes its retries where it stopped.
#[derive(Debug, Default)]
pub(crate) struct Book {
    pub log: VecDeque<Delivery>,
    /// When each failing registration's current run of failures started.
    pub failing_since: HashMap<Uuid, DateTime<Utc>>,
    /// Registrations with an attempt on the wire: their next delivery waits for it.
    pub in_flight: HashSet<Uuid>,
    pub forward: Option<url::Url>,
    pub customer_tokens: HashMap<String, CustomerToken>,
}

/// What the state file keeps of the simulator itself, beside the APIs' state (under the key
/// `simulator`): the simulated clock and the deliveries. Attempts on the wire when it stopped
/// are sent again (an answer that never arrived is a failure in Vipps's terms too).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Saved {
    #[serde(default)]
    pub clock_offset_seconds: i64,
    #[serde(default)]
    pub deliveries: Vec<Delivery>,
    #[serde(default)]
    pub failing_since: HashMap<Uuid, DateTime<Utc>>,
    #[serde(default)]
    pub customer_tokens: HashMap<String, CustomerToken>,
}

impl Saved {
    pub fn is_empty(&self) -> bool {
        *self == Saved::default()
    }
}

impl Book {
    pub fn saved(&self, clock_offset: chrono::Duration) -> Saved {
        Saved {
            clock_offset_seconds: clock_offset.num_seconds(),
            deliveries: self.log.iter().cloned().collect(),
            failing_since: self.failing_since.clone(),
            customer_tokens: self.customer_tokens.clone(),
        }
    }

    /// Take back what [`Book::saved`] wrote; the bytes each attempt sends are the payload
    /// serialised again, as at the first attempt.
    pub fn restore(&mut self, saved: Saved) {
        self.log = saved
            .deliveries
            .into_iter()
            .map(|mut d| {
                d.body = d.payload.to_string();
                d
            })
            .collect();
        self.failing_since = saved.failing_since;
        self.customer_tokens = saved.customer_tokens;
    }

    /// A cheap summary of what [`Book::saved`] would write: when it changes, the state file is
    /// written again (every change adds a delivery or an attempt, or settles one, or touches a
    /// token or a failing registration).
    pub fn signature(&self) -> (usize, usize, usize, usize, usize) {
        let attempts = self.log.iter().map(|d| d.attempts.len()).sum();
        let pending = self
            .log
            .iter()
            .filter(|d| d.status == DeliveryStatus::Pending)
            .count();
        (
            self.log.len(),
            attempts,
            pending,
            self.failing_since.len(),
            self.customer_tokens.len(),
        )
    }

    pub fn list(&self) -> DeliveryList {
        DeliveryList {
            forward_to: self.forward.as_ref().map(url::Url::to_string),
            deliveries: self.log.iter().cloned().collect(),
        }
    }

    fn trim(&mut self) {
        while self.log.len() > KEPT {
            match self
                .log
                .iter()
                .position(|d| d.status != DeliveryStatus::Pending)
            {
                Some(i) => {
                    self.log.remove(i);
                }
                None => break,
            }
        }
    }
}

/// Events raised and the deliveries they made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Emitted {
    pub event_id: Uuid,
    /// How many registrations it goes to.
    pub deliveries: usize,
}

/// A forward target must be a local http or https URL: deliveries go to this machine only.
pub fn check_forward(raw: &str) -> Result<url::Url, String> {
    let refuse = || {
        format!(
            "'{raw}' is not a local http or https URL (http://127.0.0.1:PORT/path, \
             http://localhost:PORT/path or http://[::1]:PORT/path); the simulator delivers to this machine only"
        )
    };
    let url = url::Url::parse(raw).map_err(|_| refuse())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refuse());
    }
    let local = match url.host() {
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if !local {
        return Err(refuse());
    }
    Ok(url)
}

/// The wait before the retry that follows the `n`-th failed attempt (1-based).
pub fn backoff(n: usize) -> chrono::Duration {
    let doublings = u32::try_from(n.saturating_sub(1))
        .unwrap_or(u32::MAX)
        .min(30);
    let secs = FIRST_RETRY_SECONDS
        .saturating_mul(1i64 << doublings)
        .min(MAX_BACKOFF_SECONDS);
    chrono::Duration::seconds(secs)
}

impl Inner {
    /// The registrations an event of sales unit `msn` goes to: the sales unit's own whose events
    /// include it, and the partner webhooks of every partner whose keys act for `msn` (they fire
    /// for all the partner's merchants), except for `user.checked-in.v1` when the sales unit has
    /// its own registration on it: that one wins (API-FACTS 6).
    fn recipients(&self, msn: &str, event: &str) -> Vec<(Uuid, String, bool)> {
        let on = |w: &&super::state::Webhook| w.events.iter().any(|e| e == event);
        let mut hooks: Vec<(Uuid, String, bool)> = self
            .state
            .merchants
            .get(msn)
            .map(|m| {
                m.webhooks
                    .iter()
                    .filter(on)
                    .map(|w| (w.id, w.url.clone(), false))
                    .collect()
            })
            .unwrap_or_default();
        if event == super::webhooks::CHECKED_IN_EVENT && !hooks.is_empty() {
            return hooks;
        }
        for c in self
            .config
            .credentials
            .iter()
            .filter(|c| c.partner && c.msns.iter().any(|m| m == msn))
        {
            if let Some(list) = self.state.partner_webhooks.get(&c.client_id) {
                hooks.extend(list.iter().filter(on).map(|w| (w.id, w.url.clone(), true)));
            }
        }
        hooks
    }

    /// Raise `event` for sales unit `msn`: one delivery per registration it goes to
    /// ([`Inner::recipients`]).
    pub fn emit(&mut self, msn: &str, event: &str, payload: Value) -> Emitted {
        let now = self.now();
        let event_id = Uuid::new_v4();
        let body = payload.to_string();
        let hooks = self.recipients(msn, event);
        for (webhook_id, url, partner) in &hooks {
            self.deliveries.log.push_back(Delivery {
                id: Uuid::new_v4(),
                event_id,
                event: event.to_string(),
                msn: msn.to_string(),
                webhook_id: *webhook_id,
                partner: *partner,
                url: url.clone(),
                payload: payload.clone(),
                created: now,
                status: DeliveryStatus::Pending,
                next_attempt: Some(now),
                attempts: Vec::new(),
                note: None,
                body: body.clone(),
            });
        }
        self.deliveries.trim();
        tracing::debug!(event, msn, deliveries = hooks.len(), "simulator event");
        self.wake.notify_one();
        Emitted {
            event_id,
            deliveries: hooks.len(),
        }
    }

    /// A customer scans callback QR `qr_id` of `msn`: a `user.checked-in.v1` with a fresh
    /// customer token valid 15 minutes.
    pub fn check_in(&mut self, msn: &str, qr_id: &str) -> Option<(String, Emitted)> {
        self.state.merchants.get(msn)?.callback_qrs.get(qr_id)?;
        let now = self.now();
        let token = super::events::customer_token();
        self.remember_customer_token(msn, &token);
        let payload = super::events::checked_in(msn, qr_id, &token, now);
        let emitted = self.emit(msn, super::events::CHECKED_IN, payload);
        Some((token, emitted))
    }

    pub fn remember_customer_token(&mut self, msn: &str, token: &str) {
        let now = self.now();
        self.deliveries
            .customer_tokens
            .retain(|_, t| t.expires > now);
        self.deliveries.customer_tokens.insert(
            token.to_string(),
            CustomerToken {
                msn: msn.to_string(),
                expires: now + chrono::Duration::minutes(super::events::CUSTOMER_TOKEN_MINUTES),
            },
        );
    }

    /// Whether `token` is a customer token of `msn` that is still valid.
    pub fn customer_token_valid(&self, msn: &str, token: &str) -> bool {
        let now = self.now();
        self.deliveries
            .customer_tokens
            .get(token)
            .is_some_and(|t| t.msn == msn && now < t.expires)
    }

    fn registration(&self, msn: &str, id: Uuid) -> Option<&super::state::Webhook> {
        self.state
            .merchants
            .get(msn)
            .and_then(|m| m.webhooks.iter().find(|w| w.id == id))
            .or_else(|| {
                self.state
                    .partner_webhooks
                    .values()
                    .flatten()
                    .find(|w| w.id == id)
            })
    }

    /// Deletes registrations unresponsive for 2 weeks, cancels deliveries whose registration is
    /// gone, gives up on those past 7 days, and hands out the attempts that are due now: each
    /// registration's first pending delivery, when it has no attempt on the wire. Also answers
    /// when the next of those first deliveries falls due (deliveries waiting behind another,
    /// or for a forward target, are not counted: nothing can be sent for them yet).
    fn due(&mut self) -> (Vec<Job>, Option<DateTime<Utc>>) {
        let now = self.now();
        let unresponsive: Vec<Uuid> = self
            .deliveries
            .failing_since
            .iter()
            .filter(|(_, since)| now >= **since + chrono::Duration::days(UNRESPONSIVE_DAYS))
            .map(|(id, _)| *id)
            .collect();
        for id in unresponsive {
            self.deliveries.failing_since.remove(&id);
            let buckets = self
                .state
                .merchants
                .values_mut()
                .map(|m| &mut m.webhooks)
                .chain(self.state.partner_webhooks.values_mut());
            for hooks in buckets {
                let before = hooks.len();
                hooks.retain(|w| w.id != id);
                if hooks.len() != before {
                    self.dirty = true;
                    tracing::info!(webhook = %id, "simulator deleted a registration unresponsive for 2 weeks");
                }
            }
            for d in self.deliveries.log.iter_mut() {
                if d.webhook_id == id && d.status == DeliveryStatus::Pending {
                    d.status = DeliveryStatus::Cancelled;
                    d.next_attempt = None;
                    d.note = Some(
                        "registration deleted: its endpoint was unresponsive for 2 weeks".into(),
                    );
                }
            }
        }
        let mut jobs = Vec::new();
        let mut soonest: Option<DateTime<Utc>> = None;
        let mut turn_taken: HashSet<Uuid> = HashSet::new();
        let forward = self.deliveries.forward.clone();
        for i in 0..self.deliveries.log.len() {
            let d = &self.deliveries.log[i];
            if d.status != DeliveryStatus::Pending || turn_taken.contains(&d.webhook_id) {
                continue;
            }
            let (msn, wid, created) = (d.msn.clone(), d.webhook_id, d.created);
            let secret = match self.registration(&msn, wid) {
                Some(w) => w.secret.expose().to_string(),
                None => {
                    let d = &mut self.deliveries.log[i];
                    d.status = DeliveryStatus::Cancelled;
                    d.next_attempt = None;
                    d.note = Some("registration deleted before delivery".into());
                    self.deliveries.failing_since.remove(&wid);
                    continue;
                }
            };
            if now > created + chrono::Duration::days(RETRY_DAYS) {
                let d = &mut self.deliveries.log[i];
                d.status = DeliveryStatus::GaveUp;
                d.next_attempt = None;
                d.note = Some("not delivered within 7 days of the event: dropped".into());
                continue;
            }
            turn_taken.insert(wid);
            let d = &self.deliveries.log[i];
            let is_due = d.next_attempt.is_some_and(|t| t <= now);
            let Some(target) = forward.clone() else {
                continue;
            };
            if self.deliveries.in_flight.contains(&wid) {
                continue;
            }
            if !is_due {
                if let Some(t) = d.next_attempt {
                    soonest = Some(soonest.map_or(t, |s| s.min(t)));
                }
                continue;
            }
            jobs.push(Job {
                delivery: d.id,
                webhook: wid,
                target,
                secret,
                body: d.body.clone(),
                at: now,
            });
        }
        for j in &jobs {
            self.deliveries.in_flight.insert(j.webhook);
        }
        (jobs, soonest)
    }

    /// How long the worker may sleep: until the next attempt falls due, at most a second (the
    /// clock may be moved, and drafts expire, in between).
    fn next_look(&self, soonest: Option<DateTime<Utc>>) -> Duration {
        let wait = soonest
            .map(|t| (t - self.now()).to_std().unwrap_or(Duration::ZERO))
            .unwrap_or(Duration::from_secs(1));
        wait.clamp(Duration::from_millis(10), Duration::from_secs(1))
    }

    fn record(&mut self, job: &Job, attempt: Attempt) {
        self.deliveries.in_flight.remove(&job.webhook);
        let ok = attempt.status.is_some_and(|s| (200..300).contains(&s)) && attempt.error.is_none();
        if ok {
            self.deliveries.failing_since.remove(&job.webhook);
        } else {
            self.deliveries
                .failing_since
                .entry(job.webhook)
                .or_insert(attempt.at);
        }
        let Some(d) = self
            .deliveries
            .log
            .iter_mut()
            .find(|d| d.id == job.delivery)
        else {
            return;
        };
        let at = attempt.at;
        d.attempts.push(attempt);
        if d.status != DeliveryStatus::Pending {
            return;
        }
        if ok {
            d.status = DeliveryStatus::Delivered;
            d.next_attempt = None;
            return;
        }
        let next = at + backoff(d.attempts.len());
        if next > d.created + chrono::Duration::days(RETRY_DAYS) {
            d.status = DeliveryStatus::GaveUp;
            d.next_attempt = None;
            d.note = Some("not delivered within 7 days of the event: dropped".into());
        } else {
            d.next_attempt = Some(next);
        }
    }
}

/// One attempt to make, with what it needs from the state (taken under the lock).
#[derive(Debug, Clone)]
struct Job {
    delivery: Uuid,
    webhook: Uuid,
    target: url::Url,
    secret: String,
    body: String,
    at: DateTime<Utc>,
}

/// RFC 7231 date of `t`, as `x-ms-date` carries it.
fn http_date(t: DateTime<Utc>) -> String {
    httpdate::fmt_http_date(std::time::SystemTime::from(t))
}

async fn attempt(sim: Arc<Sim>, client: reqwest::Client, job: Job) -> (Job, Attempt) {
    let (path, host) = signature::path_and_host(&job.target);
    let date = http_date(job.at);
    let signed = signature::sign(&job.secret, &path, &host, &date, job.body.as_bytes());
    let request = client
        .post(job.target.clone())
        .header("Content-Type", "application/json")
        .header("x-ms-date", &signed.date)
        .header("x-ms-content-sha256", &signed.content_sha256)
        .header("Authorization", &signed.authorization)
        .body(job.body.clone())
        .send();
    let exchange = async {
        let response = request.await?;
        let status = response.status().as_u16();
        let body = response.bytes().await.unwrap_or_default();
        let mut answer = String::from_utf8_lossy(&body).into_owned();
        if answer.len() > ANSWER_KEPT {
            let mut end = ANSWER_KEPT;
            while !answer.is_char_boundary(end) {
                end -= 1;
            }
            answer.truncate(end);
        }
        Ok::<_, reqwest::Error>((status, answer))
    };
    tokio::pin!(exchange);
    // The 10 seconds run on the simulated clock: moving it past them times the attempt out.
    let deadline = job.at + chrono::Duration::seconds(ANSWER_TIMEOUT_SECONDS);
    let outcome = loop {
        tokio::select! {
            r = &mut exchange => break Some(r),
            _ = tokio::time::sleep(Duration::from_millis(50)) => {
                if sim.lock().now() >= deadline {
                    break None;
                }
            }
        }
    };
    let target = job.target.to_string();
    let attempt = match outcome {
        None => Attempt {
            at: job.at,
            target,
            status: None,
            answer: None,
            error: Some(format!("no answer within {ANSWER_TIMEOUT_SECONDS} s")),
        },
        Some(Err(e)) => Attempt {
            at: job.at,
            target,
            status: None,
            answer: None,
            error: Some(crate::error_chain::causes(&e).join(": ")),
        },
        Some(Ok((status, answer))) => Attempt {
            at: job.at,
            target,
            status: Some(status),
            error: (!(200..300).contains(&status)).then(|| format!("answered {status}, not 2xx")),
            answer: Some(answer).filter(|a| !a.is_empty()),
        },
    };
    (job, attempt)
}

/// The delivery worker: runs beside the server until it stops.
pub(crate) async fn run(sim: Arc<Sim>, mut stopped: watch::Receiver<bool>) {
    // Redirects are not followed: "no redirects" (WH `RegisterRequest.url`); a 3xx is a failure.
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("the simulator cannot deliver webhooks: {e}");
            return;
        }
    };
    let wake = sim.lock().wake.clone();
    let mut attempts: JoinSet<(Job, Attempt)> = JoinSet::new();
    loop {
        let (jobs, wait) = {
            let mut inner = sim.lock();
            inner.sweep();
            let (jobs, soonest) = inner.due();
            let wait = inner.next_look(soonest);
            inner.persist();
            (jobs, wait)
        };
        for job in jobs {
            attempts.spawn(attempt(sim.clone(), client.clone(), job));
        }
        tokio::select! {
            _ = stopped.changed() => break,
            _ = wake.notified() => {}
            Some(done) = attempts.join_next(), if !attempts.is_empty() => {
                if let Ok((job, a)) = done {
                    sim.lock().record(&job, a);
                }
            }
            _ = tokio::time::sleep(wait) => {}
        }
    }
    attempts.abort_all();
    while attempts.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_30_seconds_up_to_12_hours() {
        assert_eq!(backoff(1), chrono::Duration::seconds(30));
        assert_eq!(backoff(2), chrono::Duration::seconds(60));
        assert_eq!(backoff(5), chrono::Duration::seconds(480));
        assert_eq!(backoff(12), chrono::Duration::hours(12));
        assert_eq!(backoff(400), chrono::Duration::hours(12));
    }

    #[test]
    fn forward_targets_are_local_only() {
        assert!(check_forward("http://127.0.0.1:4567/hooks").is_ok());
        assert!(check_forward("https://localhost:8443/").is_ok());
        assert!(check_forward("http://[::1]:9000/x").is_ok());
        assert!(check_forward("https://shop.example.com/hooks").is_err());
        assert!(check_forward("http://10.0.0.5/hooks").is_err());
        assert!(check_forward("ftp://127.0.0.1/x").is_err());
        assert!(check_forward("not a url").is_err());
    }
}
