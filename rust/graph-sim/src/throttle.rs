//! Graph's identity-and-access throttling, per application (token `appid`) in this one tenant.
//!
//! Two sliding windows per app:
//! - resource units: every request costs units (users list page 2, minus 1 with `$select`, minus 1
//!   with `$top` < 20, at least 1; everything else 1), budget per 10 s;
//! - writes: every PATCH/POST/PUT/DELETE costs 1, budget per 150 s.
//!
//! A request that does not fit in either window is refused (429) without consuming anything, with
//! `Retry-After` = the whole seconds until enough of the window has expired. The simulator also
//! remembers, per app and per budget family ([`Family`]), until when its last `Retry-After` runs,
//! to count requests of that family that arrive during it (`sentDuringRetryAfter`): a Retry-After
//! on the reports does not ask the directory reads to wait.
//!
//! Another client of the same app (`otherClientUnits`: delegated sessions share the Graph
//! PowerShell app with every admin of the tenant) spends read units at a steady rate in the same
//! window; it is accounted lazily, whenever a request of the app arrives.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

pub const READ_WINDOW: Duration = Duration::from_secs(10);
pub const WRITE_WINDOW: Duration = Duration::from_secs(150);

/// Requests arriving within this long after a Retry-After reached the client are not counted as
/// ignoring it: the client may have sent them before it could read the answer. Nor are those in
/// the pause's last this-long: Retry-After is in whole seconds, clients time the wait from when
/// they read the answer with millisecond timers, and Microsoft's Graph SDK (its RetryHandler, in
/// the conformance tests) was seen arriving a few milliseconds before the simulator's second ended.
pub const RETRY_AFTER_GRACE: Duration = Duration::from_millis(50);

/// What a request costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    pub resource_units: u32,
    pub writes: u32,
}

/// The answer of [`Throttle::admit`].
#[derive(Debug, Clone, PartialEq)]
pub enum Admission {
    /// Admitted; `share` is the larger of used/limit over the windows this request counted in.
    Allowed { share: f64 },
    /// Refused with a 429.
    Throttled { retry_after_secs: u64, share: f64, write_limit: bool },
}

#[derive(Default)]
struct Window {
    entries: VecDeque<(Instant, u32)>,
    used: u64,
}

impl Window {
    fn prune(&mut self, now: Instant, span: Duration) {
        while let Some(&(at, cost)) = self.entries.front() {
            if now.duration_since(at) >= span {
                self.entries.pop_front();
                self.used -= cost as u64;
            } else {
                break;
            }
        }
    }

    /// Time until `cost` more fits under `limit`.
    fn wait_for(&self, now: Instant, span: Duration, cost: u32, limit: u32) -> Duration {
        let excess = (self.used + cost as u64).saturating_sub(limit as u64);
        if excess == 0 {
            return Duration::ZERO;
        }
        let mut freed = 0u64;
        for &(at, entry_cost) in &self.entries {
            freed += entry_cost as u64;
            if freed >= excess {
                return (at + span).saturating_duration_since(now);
            }
        }
        span
    }

    fn push(&mut self, now: Instant, cost: u32) {
        if cost > 0 {
            self.entries.push_back((now, cost));
            self.used += cost as u64;
        }
    }
}

/// The budgets Graph throttles, and pauses, separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Read,
    Write,
    Reports,
    SignInLogs,
    SignInActivity,
    Methods,
}

const FAMILY_COUNT: usize = 6;

/// A Retry-After sent to an app for one family: arrivals in `[notice_from, until)` ignored it.
#[derive(Default, Clone, Copy)]
struct RetryAfter {
    notice_from: Option<Instant>,
    until: Option<Instant>,
}

#[derive(Default)]
struct AppState {
    reads: Window,
    writes: Window,
    retry_after: [RetryAfter; FAMILY_COUNT],
    /// Another client's spending: when it was last accounted, and the fraction of a unit left.
    other_since: Option<Instant>,
    other_carry: f64,
}

impl AppState {
    /// Accounts what another client of the app spent since the last request, at `units` per
    /// read window, where the window has room for it (it is throttled like anyone else).
    fn other_client(&mut self, now: Instant, units: u32, read_limit: u32) {
        if units == 0 {
            self.other_since = None;
            return;
        }
        let since = *self.other_since.get_or_insert(now);
        let spent =
            self.other_carry + units as f64 * now.duration_since(since).as_secs_f64() / READ_WINDOW.as_secs_f64();
        self.other_since = Some(now);
        let whole = spent.floor();
        self.other_carry = spent - whole;
        let room = (read_limit as u64).saturating_sub(self.reads.used);
        let cost = (whole as u64).min(room) as u32;
        self.reads.push(now, cost);
    }
}

/// All apps' windows.
#[derive(Default)]
pub struct Throttle {
    apps: Mutex<HashMap<String, AppState>>,
}

impl Throttle {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn clear(&self) {
        self.apps.lock().clear();
    }

    /// Whether a request of `app` in any of `families` arriving `now` ignores a Retry-After that
    /// app was given for one of them.
    pub fn arrived_during_retry_after(&self, app: &str, families: &[Family], now: Instant) -> bool {
        let apps = self.apps.lock();
        let Some(state) = apps.get(app) else { return false };
        families.iter().any(|&family| match state.retry_after[family as usize] {
            RetryAfter { notice_from: Some(from), until: Some(until) } => {
                now >= from && now + RETRY_AFTER_GRACE < until
            }
            _ => false,
        })
    }

    /// Records a `Retry-After` of `secs` for `family` sent to `app` now, that reaches the client
    /// after `delivery` (the remaining simulated latency). Arrivals from `now + delivery + grace`
    /// until `now + secs` count as sent during the Retry-After.
    pub fn note_retry_after(&self, app: &str, family: Family, now: Instant, delivery: Duration, secs: u64) {
        let mut apps = self.apps.lock();
        let state = &mut apps.entry(app.to_owned()).or_default().retry_after[family as usize];
        let until = now + Duration::from_secs(secs);
        match state.until {
            // Still inside an earlier Retry-After the client already knows about: extend it.
            Some(current) if current > now => {
                if until > current {
                    state.until = Some(until);
                }
            }
            _ => {
                state.until = Some(until);
                state.notice_from = Some(now + delivery + RETRY_AFTER_GRACE);
            }
        }
    }

    /// Admits or refuses a request of `cost` for `app`, after accounting `other_units` per read
    /// window spent by another client of the app.
    pub fn admit(
        &self,
        app: &str,
        now: Instant,
        cost: Cost,
        read_limit: u32,
        write_limit: u32,
        other_units: u32,
    ) -> Admission {
        let mut apps = self.apps.lock();
        let state = apps.entry(app.to_owned()).or_default();
        state.reads.prune(now, READ_WINDOW);
        state.writes.prune(now, WRITE_WINDOW);
        state.other_client(now, other_units, read_limit);
        let read_wait = state.reads.wait_for(now, READ_WINDOW, cost.resource_units, read_limit);
        let write_wait = if cost.writes > 0 {
            state.writes.wait_for(now, WRITE_WINDOW, cost.writes, write_limit)
        } else {
            Duration::ZERO
        };
        let read_share = |used: u64, extra: u32| (used + extra as u64) as f64 / read_limit as f64;
        let write_share = |used: u64, extra: u32| (used + extra as u64) as f64 / write_limit as f64;
        if read_wait > Duration::ZERO || write_wait > Duration::ZERO {
            let wait = read_wait.max(write_wait);
            let secs = (wait.as_secs_f64().ceil() as u64).max(1);
            let mut share = read_share(state.reads.used, cost.resource_units);
            if cost.writes > 0 {
                share = share.max(write_share(state.writes.used, cost.writes));
            }
            return Admission::Throttled {
                retry_after_secs: secs,
                share: share.min(1.8),
                write_limit: write_wait > read_wait,
            };
        }
        state.reads.push(now, cost.resource_units);
        state.writes.push(now, cost.writes);
        let mut share = read_share(state.reads.used, 0);
        if cost.writes > 0 {
            share = share.max(write_share(state.writes.used, 0));
        }
        Admission::Allowed { share }
    }
}

/// The `x-ms-throttle-limit-percentage` value: used/limit as a decimal, sent only above 0.8.
pub fn limit_percentage(share: f64) -> Option<String> {
    if share > 0.8 {
        Some(format!("{:.2}", share.min(1.8)))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const READ: Cost = Cost { resource_units: 1, writes: 0 };
    const WRITE: Cost = Cost { resource_units: 1, writes: 1 };

    #[test]
    fn refuses_over_budget_until_the_window_frees() {
        let throttle = Throttle::new();
        let t0 = Instant::now();
        for i in 0..10 {
            let at = t0 + Duration::from_millis(i * 100);
            assert!(matches!(throttle.admit("a", at, READ, 10, 100, 0), Admission::Allowed { .. }));
        }
        // Another app has its own budget.
        assert!(matches!(
            throttle.admit("b", t0 + Duration::from_secs(1), READ, 10, 100, 0),
            Admission::Allowed { .. }
        ));
        match throttle.admit("a", t0 + Duration::from_secs(1), READ, 10, 100, 0) {
            Admission::Throttled { retry_after_secs, .. } => assert_eq!(retry_after_secs, 9),
            other => panic!("{other:?}"),
        }
        // The first entry expires at t0 + 10 s.
        assert!(matches!(
            throttle.admit("a", t0 + Duration::from_secs(10), READ, 10, 100, 0),
            Admission::Allowed { .. }
        ));
    }

    #[test]
    fn writes_have_their_own_window_and_share_is_reported() {
        let throttle = Throttle::new();
        let t0 = Instant::now();
        let mut last = 0.0;
        for _ in 0..5 {
            if let Admission::Allowed { share } = throttle.admit("a", t0, WRITE, 1000, 5, 0) {
                last = share;
            } else {
                panic!("throttled too early");
            }
        }
        assert_eq!(last, 1.0);
        assert_eq!(limit_percentage(last).as_deref(), Some("1.00"));
        assert_eq!(limit_percentage(0.5), None);
        match throttle.admit("a", t0 + Duration::from_secs(1), WRITE, 1000, 5, 0) {
            Admission::Throttled { retry_after_secs, write_limit, .. } => {
                assert_eq!(retry_after_secs, 149);
                assert!(write_limit);
            }
            other => panic!("{other:?}"),
        }
        // Reads still pass.
        assert!(matches!(
            throttle.admit("a", t0 + Duration::from_secs(1), READ, 1000, 5, 0),
            Admission::Allowed { .. }
        ));
    }

    #[test]
    fn retry_after_window_counts_arrivals_of_its_family() {
        let throttle = Throttle::new();
        let t0 = Instant::now();
        let read = &[Family::Read];
        throttle.note_retry_after("a", Family::Read, t0, Duration::from_millis(10), 2);
        assert!(!throttle.arrived_during_retry_after("a", read, t0 + Duration::from_millis(5)));
        assert!(!throttle.arrived_during_retry_after("a", read, t0 + Duration::from_millis(55)));
        assert!(throttle.arrived_during_retry_after("a", read, t0 + Duration::from_millis(500)));
        assert!(!throttle.arrived_during_retry_after("a", read, t0 + Duration::from_secs(2)));
        assert!(!throttle.arrived_during_retry_after("b", read, t0 + Duration::from_millis(500)));
        assert!(
            !throttle.arrived_during_retry_after("a", &[Family::Reports], t0 + Duration::from_millis(500)),
            "a report request does not ignore a Retry-After on the reads"
        );
        // A later 429 inside the window extends it without a new grace period.
        throttle.note_retry_after("a", Family::Read, t0 + Duration::from_millis(600), Duration::ZERO, 3);
        assert!(throttle.arrived_during_retry_after("a", read, t0 + Duration::from_millis(610)));
        assert!(throttle.arrived_during_retry_after("a", read, t0 + Duration::from_millis(3_500)));
        assert!(!throttle.arrived_during_retry_after("a", read, t0 + Duration::from_millis(3_600)));
    }

    #[test]
    fn another_client_of_the_app_spends_the_same_read_budget() {
        let throttle = Throttle::new();
        let t0 = Instant::now();
        // The other client spends 6,000 of 8,000 units per 10 s; after 10 s it holds 6,000.
        assert!(matches!(throttle.admit("a", t0, READ, 8000, 3000, 6000), Admission::Allowed { .. }));
        match throttle.admit("a", t0 + Duration::from_secs(10), READ, 8000, 3000, 6000) {
            Admission::Allowed { share } => assert!((0.74..0.76).contains(&share), "{share}"),
            other => panic!("{other:?}"),
        }
        for _ in 0..1999 {
            assert!(matches!(
                throttle.admit("a", t0 + Duration::from_secs(10), READ, 8000, 3000, 6000),
                Admission::Allowed { .. }
            ));
        }
        assert!(matches!(
            throttle.admit("a", t0 + Duration::from_secs(10), READ, 8000, 3000, 6000),
            Admission::Throttled { .. }
        ));
        // Another app has a budget of its own.
        assert!(matches!(
            throttle.admit("b", t0 + Duration::from_secs(10), READ, 8000, 3000, 0),
            Admission::Allowed { .. }
        ));
    }
}
