//! Injected failures and latency: transient 503/504 answers, dropped connections, and simulated
//! round-trip time (the network's, per HTTP request, and the server's, per request with a long
//! tail; see [`RuntimeConfig`]). All of it applies to Graph routes only, never to `/_sim/`.

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

/// The tail of the server-time distribution: this many times the median, at least and at most.
pub const TAIL_FACTOR: (f64, f64) = (5.0, 10.0);

/// Simulated network time for one HTTP request: `latency ± jitter`, split into the part spent
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

/// Server time of one request to the route at `route` (an index into `config::ROUTE_NAMES`):
/// its route's time or `server_ms`, and for a `tail_rate` share of requests 5-10x that.
pub fn server_time(config: &RuntimeConfig, route: usize) -> Duration {
    let median = config.route_ms.get(route).copied().flatten().unwrap_or(config.server_ms);
    if median == 0 {
        return Duration::ZERO;
    }
    let mut rng = rand::rng();
    let factor = if config.tail_rate > 0.0 && rng.random_bool(config.tail_rate.min(1.0)) {
        rng.random_range(TAIL_FACTOR.0..=TAIL_FACTOR.1)
    } else {
        // Ordinary requests vary too: 0.8-1.2x the median.
        rng.random_range(0.8..=1.2)
    };
    Duration::from_secs_f64(median as f64 * factor / 1000.0)
}

/// Server time of a `$batch` whose requests take `requests`: the envelope's overhead plus the
/// slowest request (they run side by side).
pub fn batch_server_time(config: &RuntimeConfig, requests: &[Duration]) -> Duration {
    let overhead =
        config.route_ms[crate::config::route_index("batch").unwrap_or(3)].unwrap_or(config.batch_overhead_ms);
    Duration::from_millis(overhead) + requests.iter().copied().max().unwrap_or_default()
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
    fn server_time_has_a_long_tail_and_a_batch_waits_for_its_slowest_request() {
        let config =
            RuntimeConfig { server_ms: 100, tail_rate: 0.05, batch_overhead_ms: 30, ..RuntimeConfig::default() };
        let times: Vec<Duration> = (0..4000).map(|_| server_time(&config, 2)).collect();
        let slow = times.iter().filter(|t| **t >= Duration::from_millis(500)).count();
        assert!((100..=320).contains(&slow), "about 5% of 4,000 in the tail, got {slow}");
        assert!(times.iter().all(|t| *t >= Duration::from_millis(80) && *t <= Duration::from_millis(1000)));
        let batch = batch_server_time(&config, &times[..20]);
        assert_eq!(batch, Duration::from_millis(30) + *times[..20].iter().max().unwrap());
        let routed = RuntimeConfig { route_ms: [None, None, Some(7), None, None, None, None], ..config };
        assert!(server_time(&routed, 2) <= Duration::from_millis(70));
        assert_eq!(server_time(&RuntimeConfig::default(), 0), Duration::ZERO);
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
