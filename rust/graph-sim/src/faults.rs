//! Injected failures and latency: transient 503/504 answers, dropped connections, and simulated
//! round-trip time. All of it applies to Graph routes only, never to `/_sim/`.

use std::time::Duration;

use rand::Rng;

use crate::config::RuntimeConfig;

/// A transient failure answered instead of the real response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 503 `serviceNotAvailable`, with `Retry-After: 1` when `retry_after` is set.
    ServiceUnavailable { retry_after: bool },
    /// 504 `gatewayTimeout`.
    GatewayTimeout,
}

/// Rolls the 503/504 dice for one request or one batch sub-request.
pub fn roll(config: &RuntimeConfig) -> Option<Fault> {
    if config.fault503 <= 0.0 && config.fault504 <= 0.0 {
        return None;
    }
    let mut rng = rand::rng();
    if config.fault503 > 0.0 && rng.random_bool(config.fault503.min(1.0)) {
        return Some(Fault::ServiceUnavailable { retry_after: rng.random_bool(0.5) });
    }
    if config.fault504 > 0.0 && rng.random_bool(config.fault504.min(1.0)) {
        return Some(Fault::GatewayTimeout);
    }
    None
}

/// Whether to drop this top-level request's connection instead of answering.
pub fn roll_drop(config: &RuntimeConfig) -> bool {
    config.drop_rate > 0.0 && rand::rng().random_bool(config.drop_rate.min(1.0))
}

/// Simulated server-side time for one HTTP request: `latency ± jitter`, split into the part spent
/// before the request is handled and the part before the answer goes out.
pub fn latency(config: &RuntimeConfig) -> (Duration, Duration) {
    if config.latency_ms == 0 && config.jitter_ms == 0 {
        return (Duration::ZERO, Duration::ZERO);
    }
    let base = config.latency_ms as f64;
    let jitter = config.jitter_ms as f64;
    let total = if jitter > 0.0 { base + rand::rng().random_range(-jitter..=jitter) } else { base }.max(0.0);
    let total = Duration::from_secs_f64(total / 1000.0);
    let before = total / 2;
    (before, total - before)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_of_zero_and_one_are_exact() {
        let mut config = RuntimeConfig::default();
        assert_eq!(roll(&config), None);
        assert!(!roll_drop(&config));
        config.fault503 = 1.0;
        assert!(matches!(roll(&config), Some(Fault::ServiceUnavailable { .. })));
        config.fault503 = 0.0;
        config.fault504 = 1.0;
        assert_eq!(roll(&config), Some(Fault::GatewayTimeout));
        config.drop_rate = 1.0;
        assert!(roll_drop(&config));
    }

    #[test]
    fn latency_stays_within_jitter() {
        let config = RuntimeConfig { latency_ms: 20, jitter_ms: 5, ..RuntimeConfig::default() };
        for _ in 0..100 {
            let (a, b) = latency(&config);
            let total = (a + b).as_secs_f64() * 1000.0;
            assert!((14.999..=25.001).contains(&total), "{total}");
        }
    }
}
