//! Client-side rate limiting, so that vippsctl stays inside the documented Vipps limits instead of
//! collecting 429s. One cell per (operation, merchant, agreement id) as the limit's scope says: a
//! GCRA cell, or for the documented per-minute limits a log of the requests in the last window,
//! because "N per minute" read strictly (as the simulator counts it) allows no more than N in
//! any minute, which a token bucket does not guarantee.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// The cell of calls made without a `Merchant-Serial-Number`: a partner's own (partner-level)
/// registrations, whose limits Vipps counts apart from every sales unit's (API-FACTS 6). Not an
/// MSN (those are digits), so it never shares a merchant's budget.
pub const PARTNER_LEVEL: &str = "partner";

/// What one limit is counted per.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// One budget for every merchant and object.
    Global,
    /// Per Merchant-Serial-Number.
    Merchant,
    /// Per agreement id (taken from the URL path), within a merchant.
    Agreement,
}

/// At most `requests` per `per`, bursting up to `requests`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub requests: u32,
    pub per: Duration,
    pub scope: Scope,
}

impl Limit {
    pub fn per_minute(requests: u32, scope: Scope) -> Self {
        Limit {
            requests,
            per: Duration::from_secs(60),
            scope,
        }
    }

    pub fn per_second(requests: u32) -> Self {
        Limit {
            requests,
            per: Duration::from_secs(1),
            scope: Scope::Global,
        }
    }
}

/// Limits per operation (stable names from `specs::ops`) plus an optional global cap.
#[derive(Clone, Debug, PartialEq)]
pub struct RateLimits {
    per_operation: BTreeMap<String, Limit>,
    /// Operations whose limit is a sliding window: at most `requests` in any `per`.
    windowed: BTreeSet<String>,
    global: Option<Limit>,
}

/// Sent this much later than a sliding window strictly needs, so that latency jitter cannot make
/// a request arrive inside the window its predecessor left.
pub const WINDOW_MARGIN: Duration = Duration::from_millis(500);

impl Default for RateLimits {
    fn default() -> Self {
        Self::documented()
    }
}

impl RateLimits {
    /// The limits Vipps documents for the operations vippsctl calls (API-FACTS section 5).
    /// QR and webhooks have none documented, so none are applied to them.
    pub fn documented() -> Self {
        Self::unlimited()
            .with_window("list_agreements", Limit::per_minute(5, Scope::Merchant))
            .with_window("update_agreement", Limit::per_minute(5, Scope::Agreement))
            .with_window("fetch_agreement", Limit::per_minute(120, Scope::Agreement))
            .with_window("draft_agreement", Limit::per_minute(300, Scope::Merchant))
    }

    pub fn unlimited() -> Self {
        RateLimits {
            per_operation: BTreeMap::new(),
            windowed: BTreeSet::new(),
            global: None,
        }
    }

    /// A token bucket (GCRA): `requests` at once, then one every `per / requests`.
    pub fn with(mut self, operation: &str, limit: Limit) -> Self {
        self.windowed.remove(operation);
        self.per_operation.insert(operation.to_owned(), limit);
        self
    }

    /// A sliding window: at most `requests` in any `per` (plus [`WINDOW_MARGIN`]).
    pub fn with_window(mut self, operation: &str, limit: Limit) -> Self {
        self.windowed.insert(operation.to_owned());
        self.per_operation.insert(operation.to_owned(), limit);
        self
    }

    pub fn without(mut self, operation: &str) -> Self {
        self.windowed.remove(operation);
        self.per_operation.remove(operation);
        self
    }

    /// Whether the operation's limit is a sliding window.
    pub fn is_windowed(&self, operation: &str) -> bool {
        self.windowed.contains(operation)
    }

    /// A cap on all requests together (its scope is ignored: it is always global).
    pub fn with_global(mut self, limit: Limit) -> Self {
        self.global = Some(limit);
        self
    }

    pub fn get(&self, operation: &str) -> Option<&Limit> {
        self.per_operation.get(operation)
    }

    pub fn global(&self) -> Option<&Limit> {
        self.global.as_ref()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    operation: String,
    merchant: String,
    agreement: String,
}

/// Forget cells whose budget is full again once the table grows past this (many agreement ids).
const PRUNE_ABOVE: usize = 10_000;

/// The shared limiter. Waits are reserved under a short lock and slept outside it, so concurrent
/// callers queue up in order instead of all waking at once.
#[derive(Debug)]
pub struct RateLimiter {
    limits: RateLimits,
    /// Theoretical arrival time per cell (GCRA).
    cells: Mutex<HashMap<Key, Instant>>,
    /// Reserved send times per windowed cell, oldest first.
    windows: Mutex<HashMap<Key, VecDeque<Instant>>>,
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> Self {
        RateLimiter {
            limits,
            cells: Mutex::new(HashMap::new()),
            windows: Mutex::new(HashMap::new()),
        }
    }

    pub fn limits(&self) -> &RateLimits {
        &self.limits
    }

    /// Take a slot for one request at `now` and return how long to wait before sending it.
    pub fn reserve(
        &self,
        operation: &str,
        merchant: Option<&str>,
        path: &str,
        now: Instant,
    ) -> Duration {
        let mut wanted: Vec<(Key, Limit)> = Vec::with_capacity(2);
        let mut window: Option<(Key, Limit)> = None;
        if let Some(g) = self.limits.global {
            wanted.push((
                Key {
                    operation: "*".into(),
                    merchant: String::new(),
                    agreement: String::new(),
                },
                g,
            ));
        }
        if let Some(l) = self.limits.get(operation) {
            let merchant = match l.scope {
                Scope::Global => String::new(),
                Scope::Merchant | Scope::Agreement => merchant.unwrap_or(PARTNER_LEVEL).to_owned(),
            };
            let agreement = match l.scope {
                Scope::Agreement => agreement_id(path).unwrap_or_default().to_owned(),
                _ => String::new(),
            };
            let key = Key {
                operation: operation.to_owned(),
                merchant,
                agreement,
            };
            if self.limits.is_windowed(operation) {
                window = Some((key, *l));
            } else {
                wanted.push((key, *l));
            }
        }
        let mut wait = match window {
            Some((key, limit)) => self.reserve_window(key, limit, now),
            None => Duration::ZERO,
        };
        if wanted.is_empty() {
            return wait;
        }
        // A poisoned lock only means another thread panicked mid-update; the map is still usable.
        let mut cells = self.cells.lock().unwrap_or_else(|p| p.into_inner());
        if cells.len() > PRUNE_ABOVE {
            cells.retain(|_, tat| *tat > now);
        }
        for (key, limit) in wanted {
            if limit.requests == 0 || limit.per.is_zero() {
                continue;
            }
            let interval = limit.per / limit.requests;
            let tolerance = interval * (limit.requests - 1);
            let tat = cells.get(&key).copied().unwrap_or(now).max(now);
            let start = if tat > now + tolerance {
                tat - tolerance
            } else {
                now
            };
            cells.insert(key, tat + interval);
            wait = wait.max(start - now);
        }
        wait
    }

    /// A sliding-window slot: the earliest time at or after `now` with fewer than
    /// `limit.requests` reservations in the window before it.
    fn reserve_window(&self, key: Key, limit: Limit, now: Instant) -> Duration {
        if limit.requests == 0 || limit.per.is_zero() {
            return Duration::ZERO;
        }
        let span = limit.per + WINDOW_MARGIN;
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() > PRUNE_ABOVE {
            windows.retain(|_, log| log.back().is_some_and(|t| *t + span > now));
        }
        let log = windows.entry(key).or_default();
        // Reservations that no longer constrain anything from `now` on.
        while log.front().is_some_and(|t| *t + span <= now) {
            log.pop_front();
        }
        let n = limit.requests as usize;
        let start = if log.len() < n {
            now
        } else {
            (log[log.len() - n] + span).max(now)
        };
        log.push_back(start);
        start - now
    }

    /// Wait for a slot, saying so when the wait is noticeable.
    pub async fn acquire(&self, operation: &str, merchant: Option<&str>, path: &str) {
        let wait = self.reserve(operation, merchant, path, Instant::now());
        if wait.is_zero() {
            return;
        }
        let msn = merchant
            .map(|m| format!(" (merchant {m})"))
            .unwrap_or_else(|| " (partner level)".into());
        // The budget the wait is for, e.g. "at most 5 calls per minute".
        let budget = self
            .limits
            .get(operation)
            .map(|l| {
                let per = if l.per == Duration::from_secs(60) {
                    "minute".to_string()
                } else {
                    human(l.per)
                };
                let n = l.requests;
                format!(
                    ": at most {n} {} per {per}",
                    if n == 1 { "call" } else { "calls" }
                )
            })
            .unwrap_or_default();
        if wait > Duration::from_secs(2) {
            tracing::warn!(
                "waiting {} for the Vipps rate limit on {operation}{msn}{budget}",
                human(wait)
            );
        } else {
            tracing::info!(
                "waiting {} for the Vipps rate limit on {operation}{msn}{budget}",
                human(wait)
            );
        }
        tokio::time::sleep(wait).await;
    }
}

/// The `{agreementId}` segment of `/recurring/v3/agreements/{agreementId}[/...]`.
pub fn agreement_id(path: &str) -> Option<&str> {
    let mut segments = path.split('/');
    segments.find(|s| *s == "agreements")?;
    segments.next().filter(|s| !s.is_empty())
}

/// `48s`, `1.5s`, `300ms`: short enough for a log line.
pub fn human(d: Duration) -> String {
    if d >= Duration::from_secs(10) {
        format!("{}s", d.as_secs_f64().round() as u64)
    } else if d >= Duration::from_secs(1) {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{}ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = "/recurring/v3/agreements";

    #[test]
    fn documented_list_limit_is_five_in_any_minute_per_merchant() {
        let limiter = RateLimiter::new(RateLimits::documented());
        let t0 = Instant::now();
        for _ in 0..5 {
            assert_eq!(
                limiter.reserve("list_agreements", Some("123456"), LIST, t0),
                Duration::ZERO
            );
        }
        // A sliding window: the sixth and later wait until the first five have left the minute,
        // a token bucket would have sent the sixth after 12 s.
        let window = Duration::from_secs(60) + WINDOW_MARGIN;
        for _ in 0..5 {
            assert_eq!(
                limiter.reserve("list_agreements", Some("123456"), LIST, t0),
                window
            );
        }
        assert_eq!(
            limiter.reserve("list_agreements", Some("123456"), LIST, t0),
            window * 2
        );
        // Another merchant has its own budget.
        assert_eq!(
            limiter.reserve("list_agreements", Some("654321"), LIST, t0),
            Duration::ZERO
        );
        // Later calls wait only for what is still in their window.
        let later = t0 + Duration::from_secs(90);
        assert_eq!(
            limiter.reserve("list_agreements", Some("654321"), LIST, later),
            Duration::ZERO
        );
    }

    #[test]
    fn partner_level_calls_count_apart_from_every_merchant() {
        let limits = RateLimits::unlimited()
            .with_window("register_webhook", Limit::per_minute(2, Scope::Merchant));
        let limiter = RateLimiter::new(limits);
        let t0 = Instant::now();
        let hooks = "/webhooks/v1/webhooks";
        for _ in 0..2 {
            assert_eq!(
                limiter.reserve("register_webhook", None, hooks, t0),
                Duration::ZERO
            );
        }
        // The partner's budget is spent; a merchant's is untouched.
        assert!(limiter.reserve("register_webhook", None, hooks, t0) > Duration::ZERO);
        assert_eq!(
            limiter.reserve("register_webhook", Some("123456"), hooks, t0),
            Duration::ZERO
        );
    }

    #[test]
    fn a_bucket_limit_still_refills_one_per_interval() {
        let limits = RateLimits::unlimited().with("x", Limit::per_minute(5, Scope::Merchant));
        assert!(!limits.is_windowed("x"));
        let limiter = RateLimiter::new(limits);
        let t0 = Instant::now();
        for _ in 0..5 {
            assert!(limiter.reserve("x", Some("1"), LIST, t0).is_zero());
        }
        assert_eq!(
            limiter.reserve("x", Some("1"), LIST, t0),
            Duration::from_secs(12)
        );
    }

    #[test]
    fn update_is_per_agreement() {
        let limiter = RateLimiter::new(RateLimits::documented());
        let t0 = Instant::now();
        let a = "/recurring/v3/agreements/agr_A";
        let b = "/recurring/v3/agreements/agr_B";
        for _ in 0..5 {
            assert!(limiter
                .reserve("update_agreement", Some("1"), a, t0)
                .is_zero());
        }
        assert!(!limiter
            .reserve("update_agreement", Some("1"), a, t0)
            .is_zero());
        assert!(limiter
            .reserve("update_agreement", Some("1"), b, t0)
            .is_zero());
    }

    #[test]
    fn unlimited_operations_and_global_cap() {
        let limiter = RateLimiter::new(RateLimits::documented());
        let t0 = Instant::now();
        for _ in 0..100 {
            assert!(limiter
                .reserve("list_webhooks", None, "/webhooks/v1/webhooks", t0)
                .is_zero());
        }
        let limiter = RateLimiter::new(RateLimits::unlimited().with_global(Limit::per_second(2)));
        assert!(limiter.reserve("list_webhooks", None, "/", t0).is_zero());
        assert!(limiter
            .reserve("get_redirect_qr", Some("9"), "/", t0)
            .is_zero());
        assert_eq!(
            limiter.reserve("list_webhooks", None, "/", t0),
            Duration::from_millis(500)
        );
    }

    #[test]
    fn zero_limits_do_not_panic() {
        let limiter = RateLimiter::new(RateLimits::unlimited().with(
            "x",
            Limit {
                requests: 0,
                per: Duration::ZERO,
                scope: Scope::Agreement,
            },
        ));
        assert!(limiter.reserve("x", None, "", Instant::now()).is_zero());
    }

    #[test]
    fn agreement_ids_from_paths() {
        assert_eq!(
            agreement_id("/recurring/v3/agreements/agr_1"),
            Some("agr_1")
        );
        assert_eq!(
            agreement_id("/recurring/v3/agreements/agr_1/accept"),
            Some("agr_1")
        );
        assert_eq!(agreement_id("/recurring/v3/agreements"), None);
        assert_eq!(agreement_id("/recurring/v3/agreements/"), None);
        assert_eq!(human(Duration::from_millis(48_200)), "48s");
        assert_eq!(human(Duration::from_millis(1500)), "1.5s");
        assert_eq!(human(Duration::from_millis(300)), "300ms");
    }
}
