//! When and how long to wait before sending a request again.

use reqwest::{Method, StatusCode};
use std::time::{Duration, SystemTime};

/// Retries with jittered exponential backoff. Delays are `base * factor^(n-1)`, capped at
/// `max_delay`, then jittered down to between half and all of that (so many clients that failed
/// together do not come back together).
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Sends in total, the first included (1 = never retry).
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub factor: f64,
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured; a longer one is waited out only this long.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            factor: 2.0,
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// Never send twice.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The wait before retry number `retry` (1 for the first retry), without jitter.
    pub fn backoff_ceiling(&self, retry: u32) -> Duration {
        let exp = retry.saturating_sub(1).min(64) as i32;
        let factor = if self.factor.is_finite() && self.factor >= 1.0 {
            self.factor
        } else {
            1.0
        };
        let secs = self.base_delay.as_secs_f64() * factor.powi(exp);
        let max = self.max_delay.as_secs_f64();
        if !secs.is_finite() || secs >= max {
            self.max_delay
        } else {
            Duration::from_secs_f64(secs.max(0.0))
        }
    }

    /// The jittered wait before retry number `retry`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self.backoff_ceiling(retry);
        let half = ceiling / 2;
        half + ceiling.saturating_sub(half).mul_f64(rand::random::<f64>())
    }

    /// The wait a `Retry-After` header asks for, capped at `max_retry_after`.
    pub fn retry_after_wait(&self, header: &str, now: SystemTime) -> Option<Duration> {
        parse_retry_after(header, now).map(|d| d.min(self.max_retry_after))
    }
}

/// `Retry-After` as delay-seconds or an HTTP-date; a date in the past means "now".
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(1e9)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Statuses that say "try again later" without the request having taken effect.
pub fn is_retryable_status(status: StatusCode) -> bool {
    // A 500 is retried too (for idempotent requests only, like every status here): one failed
    // list page must not fail a whole plan, and sending a GET, PUT or DELETE again is harmless.
    matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS
            | StatusCode::INTERNAL_SERVER_ERROR
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
    )
}

/// A 429 refuses a request before it is processed, so even a POST without an idempotency key
/// can be sent again after one.
pub fn is_refused_unprocessed(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
}

/// Safe to send twice: the method is idempotent, or the caller made it so with an
/// `Idempotency-Key` (which a retry reuses, since it clones the request).
pub fn is_idempotent(request: &reqwest::Request) -> bool {
    matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE
    ) || request.headers().contains_key("idempotency-key")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            factor: 2.0,
            max_delay: Duration::from_millis(1000),
            max_retry_after: Duration::from_secs(5),
        };
        assert_eq!(p.backoff_ceiling(1), Duration::from_millis(100));
        assert_eq!(p.backoff_ceiling(3), Duration::from_millis(400));
        assert_eq!(p.backoff_ceiling(5), Duration::from_millis(1000));
        assert_eq!(p.backoff_ceiling(u32::MAX), Duration::from_millis(1000));
        for retry in 1..8 {
            let d = p.backoff(retry);
            let c = p.backoff_ceiling(retry);
            assert!(d >= c / 2 && d <= c, "{d:?} outside [{:?}, {c:?}]", c / 2);
        }
    }

    #[test]
    fn nonsense_factor_does_not_panic() {
        let p = RetryPolicy {
            factor: f64::NAN,
            ..RetryPolicy::default()
        };
        assert_eq!(p.backoff_ceiling(4), p.base_delay);
        let p = RetryPolicy {
            factor: 1e300,
            ..RetryPolicy::default()
        };
        assert_eq!(p.backoff_ceiling(50), p.max_delay);
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(parse_retry_after("12", now), Some(Duration::from_secs(12)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:48 GMT", now),
            Some(Duration::from_secs(48))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
        let p = RetryPolicy::default();
        assert_eq!(p.retry_after_wait("100000", now), Some(p.max_retry_after));
    }

    #[test]
    fn idempotency_rules() {
        let url: reqwest::Url = "http://x/y".parse().unwrap();
        let req = |m: Method| reqwest::Request::new(m, url.clone());
        assert!(is_idempotent(&req(Method::GET)));
        assert!(is_idempotent(&req(Method::PUT)));
        assert!(is_idempotent(&req(Method::DELETE)));
        assert!(!is_idempotent(&req(Method::POST)));
        assert!(!is_idempotent(&req(Method::PATCH)));
        let mut keyed = req(Method::POST);
        keyed
            .headers_mut()
            .insert("Idempotency-Key", "k-1".parse().unwrap());
        assert!(is_idempotent(&keyed));
        assert!(is_retryable_status(StatusCode::TOO_MANY_REQUESTS));
        assert!(is_retryable_status(StatusCode::SERVICE_UNAVAILABLE));
        assert!(is_retryable_status(StatusCode::INTERNAL_SERVER_ERROR));
        assert!(!is_retryable_status(StatusCode::NOT_IMPLEMENTED));
        assert!(!is_retryable_status(StatusCode::BAD_REQUEST));
        assert!(!is_retryable_status(StatusCode::CONFLICT));
    }
}
