//! Retry policy: which answers are retried, how long to wait, how often.
//!
//! Graph's retry guidance: retry 429, 503 and 504; honour `Retry-After`; back off exponentially
//! when there is none. Broken connections and timeouts are retried the same way. The wait before
//! a retry is the larger of the server's `Retry-After` and our backoff.

use std::time::{Duration, SystemTime};

use rand::Rng;

#[derive(Debug, Clone)]
pub struct RetryOptions {
    /// Tries in all, the first included.
    pub max_attempts: u32,
    pub initial_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryOptions {
    fn default() -> Self {
        RetryOptions { max_attempts: 8, initial_delay: Duration::from_millis(500), max_delay: Duration::from_secs(30) }
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
}

/// Statuses Graph asks clients to retry: 429, 503, 504. A `$batch` throttled as a whole can also
/// come back 424 (Failed Dependency) for its requests; the engine never sets `dependsOn`, so a
/// 424 can only mean that, and is retried the same way.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 424 | 429 | 503 | 504)
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
        assert!(is_retryable_status(424));
        assert!(!is_retryable_status(500) && !is_retryable_status(404) && !is_retryable_status(403));
    }
}
