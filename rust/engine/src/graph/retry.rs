//! Retry policy: which answers are retried, how long to wait, how often.
//!
//! Graph's retry guidance: retry 429, 503 and 504; honour `Retry-After`; back off exponentially
//! when there is none. Broken connections and timeouts are retried the same way; a request that
//! could not even be built (a header value from a bad token) is not, since it fails the same way
//! every time. The wait before a retry is the larger of the server's `Retry-After` and our
//! backoff, so `Retry-After: 0` does not spin, and every wait counts against the request's
//! retry budget: at most [`RetryOptions::max_attempts`] tries and [`RetryOptions::max_wait`] of
//! waiting in all.

use std::time::{Duration, SystemTime};

use rand::Rng;

use super::throttle::MAX_PAUSE;

#[derive(Debug, Clone)]
pub struct RetryOptions {
    /// Tries in all, the first included.
    pub max_attempts: u32,
    pub initial_delay: Duration,
    pub max_delay: Duration,
    /// The most one request waits between its tries, in all, before its last answer is final.
    pub max_wait: Duration,
}

impl Default for RetryOptions {
    fn default() -> Self {
        RetryOptions {
            max_attempts: 8,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_wait: Duration::from_secs(300),
        }
    }
}

impl RetryOptions {
    /// Backoff before try `attempt + 1` after `attempt` failed (1-based): `initial * 2^(attempt-1)`,
    /// capped, with jitter in [50%, 100%] so workers that failed together do not retry together.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.initial_delay.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let capped = exp.min(self.max_delay);
        let factor = rand::rng().random_range(0.5..=1.0);
        capped.mul_f64(factor)
    }

    pub fn can_retry(&self, attempt: u32) -> bool {
        attempt < self.max_attempts
    }

    /// The wait before try `attempt + 1`: the larger of the backoff and Graph's `Retry-After`
    /// (a single pause capped at [`MAX_PAUSE`]). None when it would take the request past its
    /// retry budget (`waited` so far plus this wait over [`RetryOptions::max_wait`]) or past its
    /// last try: the last answer is then final.
    pub fn next_wait(&self, attempt: u32, retry_after: Option<Duration>, waited: Duration) -> Option<Duration> {
        if !self.can_retry(attempt) {
            return None;
        }
        let wait = self.backoff(attempt).max(retry_after.unwrap_or_default().min(MAX_PAUSE));
        (waited + wait <= self.max_wait).then_some(wait)
    }
}

/// Whether a transport failure may succeed when tried again: a timeout, a refused or broken
/// connection, a body cut short. A request that could not be built (an invalid header value, such
/// as one made from a malformed token) or a redirect fails the same way every time.
pub fn is_retryable_transport(error: &reqwest::Error) -> bool {
    !(error.is_builder() || error.is_redirect() || error.is_status() || error.is_decode())
}

/// Statuses Graph asks clients to retry: 429, 503, 504. (A `$batch` envelope answered 424 is not
/// among them: it carries its requests' answers, and `batch` reads it like a 200.)
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 503 | 504)
}

/// Sub-responses of a `$batch` to retry: Graph's retry statuses, and 424 (Failed Dependency),
/// which, as the engine never sets `dependsOn`, can only mean the batch was throttled as a whole.
pub fn is_retryable_sub_status(status: u16) -> bool {
    status == 424 || is_retryable_status(status)
}

/// Parses `Retry-After` as delta-seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        if seconds.is_finite() && seconds >= 0.0 {
            return Some(Duration::from_secs_f64(seconds.min(3600.0)));
        }
        return None;
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO).min(Duration::from_secs(3600)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(parse_retry_after(&later, now), Some(Duration::from_secs(7)));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(7));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let o = RetryOptions {
            max_attempts: 8,
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            max_wait: Duration::from_secs(60),
        };
        for _ in 0..50 {
            let b1 = o.backoff(1);
            assert!(b1 >= Duration::from_millis(50) && b1 <= Duration::from_millis(100));
            let b3 = o.backoff(3);
            assert!(b3 >= Duration::from_millis(200) && b3 <= Duration::from_millis(400));
            assert!(o.backoff(30) <= Duration::from_secs(1));
        }
        assert!(o.can_retry(7));
        assert!(!o.can_retry(8));
    }

    #[test]
    fn only_graph_retry_statuses() {
        assert!(is_retryable_status(429) && is_retryable_status(503) && is_retryable_status(504));
        assert!(!is_retryable_status(424), "a 424 envelope carries answers to read, not to resend");
        assert!(is_retryable_sub_status(424) && is_retryable_sub_status(429));
        assert!(!is_retryable_status(500) && !is_retryable_status(404) && !is_retryable_status(403));
    }

    #[test]
    fn the_wait_is_the_larger_of_backoff_and_retry_after_within_the_retry_budget() {
        let o = RetryOptions::default();
        // Retry-After: 0 still backs off: no spinning through the tries.
        let wait = o.next_wait(1, Some(Duration::ZERO), Duration::ZERO).unwrap();
        assert!(wait >= Duration::from_millis(250), "{wait:?}");
        assert_eq!(o.next_wait(1, Some(Duration::from_secs(20)), Duration::ZERO), Some(Duration::from_secs(20)));
        // An hour's Retry-After is one capped pause, and it counts against the budget.
        assert_eq!(o.next_wait(1, Some(Duration::from_secs(3600)), Duration::ZERO), Some(MAX_PAUSE));
        assert_eq!(o.next_wait(2, Some(Duration::from_secs(3600)), MAX_PAUSE), None);
        assert_eq!(o.next_wait(8, None, Duration::ZERO), None);
    }
}
