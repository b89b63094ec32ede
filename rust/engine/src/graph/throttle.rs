//! One throttle gate per session, shared by every worker.
//!
//! Graph's limits apply per app per tenant, so per-request backoff is not enough: when one
//! request is told to wait, every worker must wait, or the tenant stays throttled. The gate does
//! two things:
//!
//! 1. **Pause.** A `Retry-After` (429, or 503/504 with the header) pauses all admissions until it
//!    has passed.
//! 2. **Pace.** It keeps its own sliding window of the units it let through per budget (reads:
//!    10 s, writes: 150 s) and, once it knows the budget, admits requests only while the window
//!    stays under [`TARGET_SHARE`] of it. The budget is learnt from Graph itself: the
//!    `x-ms-throttle-limit-percentage` header (sent once usage passes 80%) gives
//!    `limit ≈ used / share`; a 429 caps the estimate at what we had sent. Without signals for a
//!    whole window the estimate creeps up, so a bigger budget is found again.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::Notify;

/// Share of the learnt budget the gate fills: close to the ceiling, with room for requests
/// already in flight.
pub const TARGET_SHARE: f64 = 0.95;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// Identity and access reads: units per 10 s.
    Read,
    /// Identity and access writes: requests per 150 s.
    Write,
    /// Identity and access reports (`/reports/authenticationMethods/*`): 5 requests per 10 s.
    Reports,
    /// Sign-in logs (`/auditLogs/signIns`): 5 requests per 10 s.
    SignInLogs,
    /// Users listings that select `signInActivity`: 10 requests per 60 s.
    SignInActivity,
}

impl Budget {
    fn span(self) -> Duration {
        match self {
            Budget::Read => Duration::from_secs(10),
            Budget::Write => Duration::from_secs(150),
            // The documented span plus a margin: the gate logs a request when it leaves, Graph when
            // it arrives, so a window exactly Graph's length could admit one a moment too early.
            Budget::Reports | Budget::SignInLogs => Duration::from_millis(10_750),
            Budget::SignInActivity => Duration::from_millis(60_750),
        }
    }

    /// Budgets Graph documents as a small fixed request count: filled completely, never
    /// re-estimated from headers or 429s.
    fn is_fixed(self) -> bool {
        matches!(self, Budget::Reports | Budget::SignInLogs | Budget::SignInActivity)
    }

    /// What Graph documents, where one figure holds for every tenant: writes are 3,000 per
    /// 150 s per app per tenant. Reads depend on the tenant's size and are learnt instead.
    fn documented_limit(self) -> Option<f64> {
        match self {
            Budget::Read => None,
            Budget::Write => Some(3000.0),
            Budget::Reports | Budget::SignInLogs => Some(5.0),
            Budget::SignInActivity => Some(10.0),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Budget::Read => "read",
            Budget::Write => "write",
            Budget::Reports => "reports",
            Budget::SignInLogs => "sign-in logs",
            Budget::SignInActivity => "signInActivity",
        }
    }
}

struct Window {
    budget: Budget,
    log: VecDeque<(Instant, u32)>,
    used: u64,
    limit_estimate: Option<f64>,
    last_signal: Option<Instant>,
}

impl Window {
    fn new(budget: Budget) -> Window {
        Window { budget, log: VecDeque::new(), used: 0, limit_estimate: budget.documented_limit(), last_signal: None }
    }

    fn prune(&mut self, now: Instant) {
        let span = self.budget.span();
        while let Some(&(at, units)) = self.log.front() {
            if now.duration_since(at) < span {
                break;
            }
            self.log.pop_front();
            self.used -= u64::from(units);
        }
        // No header and no 429 for a whole window: the budget may be larger than we think.
        if self.budget.is_fixed() {
            return;
        }
        if let (Some(limit), Some(last)) = (self.limit_estimate, self.last_signal) {
            if now.duration_since(last) >= span {
                self.limit_estimate = Some(limit * 1.05);
                self.last_signal = Some(now);
            }
        }
    }

    /// When `units` more fit, or now if they already do.
    fn admission_time(&self, units: u32, now: Instant) -> Instant {
        let Some(limit) = self.limit_estimate else { return now };
        let share = if self.budget.is_fixed() { 1.0 } else { TARGET_SHARE };
        let allowed = (limit * share).max(f64::from(units));
        let mut used = self.used as f64;
        if used + f64::from(units) <= allowed {
            return now;
        }
        for &(at, logged) in &self.log {
            used -= f64::from(logged);
            if used + f64::from(units) <= allowed {
                return at + self.budget.span();
            }
        }
        now
    }
}

struct GateState {
    paused_until: Option<Instant>,
    read: Window,
    write: Window,
    reports: Window,
    sign_in_logs: Window,
    sign_in_activity: Window,
}

impl GateState {
    fn window(&mut self, budget: Budget) -> &mut Window {
        match budget {
            Budget::Read => &mut self.read,
            Budget::Write => &mut self.write,
            Budget::Reports => &mut self.reports,
            Budget::SignInLogs => &mut self.sign_in_logs,
            Budget::SignInActivity => &mut self.sign_in_activity,
        }
    }
}

pub struct ThrottleGate {
    state: Mutex<GateState>,
}

impl Default for ThrottleGate {
    fn default() -> Self {
        ThrottleGate::new()
    }
}

impl ThrottleGate {
    pub fn new() -> ThrottleGate {
        ThrottleGate {
            state: Mutex::new(GateState {
                paused_until: None,
                read: Window::new(Budget::Read),
                write: Window::new(Budget::Write),
                reports: Window::new(Budget::Reports),
                sign_in_logs: Window::new(Budget::SignInLogs),
                sign_in_activity: Window::new(Budget::SignInActivity),
            }),
        }
    }

    /// Waits until `units` of `budget` may be sent, then records them. Says on `notify` when it
    /// waits for a pause; pacing waits are short and frequent and are not reported one by one.
    pub async fn admit(&self, budget: Budget, units: u32, notify: &dyn Notify) {
        loop {
            let now = Instant::now();
            let wait_until = {
                let mut state = self.state.lock().unwrap();
                if let Some(until) = state.paused_until.filter(|&until| until > now) {
                    Err((until, true))
                } else {
                    let window = state.window(budget);
                    window.prune(now);
                    let at = window.admission_time(units, now);
                    if at <= now {
                        window.log.push_back((now, units));
                        window.used += u64::from(units);
                        Ok(())
                    } else {
                        Err((at, false))
                    }
                }
            };
            match wait_until {
                Ok(()) => return,
                Err((until, paused)) => {
                    if paused && until.duration_since(now) >= Duration::from_millis(500) {
                        notify.verbose(format!(
                            "Waiting {:.1} s before sending more requests: Graph asked all requests to pause (Retry-After).",
                            until.duration_since(now).as_secs_f64()
                        ));
                    }
                    tokio::time::sleep_until(until).await;
                }
            }
        }
    }

    /// Learns from `x-ms-throttle-limit-percentage` (a share such as 0.85 of the budget) on the
    /// answer to a request that spent the `spent` budgets.
    ///
    /// The header does not say which budget it measures, so it is learnt only from a request that
    /// spent one budget, and only where Graph documents none (reads, whose size depends on the
    /// tenant). A PATCH spends write and read units: taking its header for the write window shrank
    /// 3,000 writes per 150 s to 60, and taking it for the read budget held the reads of a bulk
    /// change to about two users a second. Documented budgets change only on a 429.
    pub fn observe_share(&self, spent: &[Budget], share: f64, notify: &dyn Notify) {
        let &[budget] = spent else { return };
        if !(share.is_finite() && share > 0.05) || budget.documented_limit().is_some() {
            return;
        }
        let now = Instant::now();
        let mut state = self.state.lock().unwrap();
        let window = state.window(budget);
        window.prune(now);
        if window.used == 0 {
            return;
        }
        let fresh = window.used as f64 / share;
        let first = window.limit_estimate.is_none();
        let estimate = match window.limit_estimate {
            None => fresh,
            Some(old) => 0.5 * old + 0.5 * fresh,
        };
        window.limit_estimate = Some(estimate);
        window.last_signal = Some(now);
        if first {
            notify.verbose(format!(
                "Graph reports {:.0}% of the {} budget in use; pacing requests to stay under about {:.0} units per {} s.",
                share * 100.0,
                budget.name(),
                estimate * TARGET_SHARE,
                budget.span().as_secs()
            ));
        }
    }

    /// A 429 (or a 503/504 with `Retry-After`): pause everyone until `retry_after` has passed, and
    /// cap the budget estimate at what this gate had let through.
    pub fn throttled(&self, budget: Budget, retry_after: Option<Duration>, is_429: bool) {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap();
        if let Some(delay) = retry_after {
            let until = now + delay;
            state.paused_until = Some(state.paused_until.map_or(until, |p| p.max(until)));
        }
        if is_429 && !budget.is_fixed() {
            let window = state.window(budget);
            window.prune(now);
            let cap = (window.used as f64 * TARGET_SHARE).max(1.0);
            window.limit_estimate = Some(window.limit_estimate.map_or(cap, |e| e.min(cap)));
            window.last_signal = Some(now);
        }
    }

    /// The budget learnt so far, for tests and verbose output.
    pub fn limit_estimate(&self, budget: Budget) -> Option<f64> {
        self.state.lock().unwrap().window(budget).limit_estimate
    }

    /// For estimates that match what the gate does: how long from now until one more unit of
    /// `budget` would be admitted (a Retry-After pause included; zero when it fits now), and the
    /// ages of the units already in the window.
    pub fn outlook(&self, budget: Budget) -> (Duration, Vec<Duration>) {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap();
        let paused = state.paused_until.map(|until| until.saturating_duration_since(now)).unwrap_or_default();
        let window = state.window(budget);
        window.prune(now);
        let wait = window.admission_time(1, now).saturating_duration_since(now);
        let ages = window
            .log
            .iter()
            .flat_map(|&(at, units)| std::iter::repeat_n(now.duration_since(at), units as usize))
            .collect();
        (paused.max(wait), ages)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Quiet;
    impl Notify for Quiet {
        fn verbose(&self, _: String) {}
    }

    #[tokio::test(start_paused = true)]
    async fn pause_holds_every_admission_until_retry_after() {
        let gate = ThrottleGate::new();
        let start = Instant::now();
        gate.throttled(Budget::Read, Some(Duration::from_secs(3)), true);
        gate.admit(Budget::Read, 1, &Quiet).await;
        assert!(start.elapsed() >= Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn unknown_budget_does_not_pace() {
        let gate = ThrottleGate::new();
        let start = Instant::now();
        for _ in 0..10_000 {
            gate.admit(Budget::Read, 1, &Quiet).await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn learnt_budget_paces_to_target_share() {
        let gate = ThrottleGate::new();
        for _ in 0..800 {
            gate.admit(Budget::Read, 1, &Quiet).await;
        }
        // 800 used at 80% → a budget of 1000 per 10 s; the gate fills 950 of it.
        gate.observe_share(&[Budget::Read], 0.8, &Quiet);
        assert_eq!(gate.limit_estimate(Budget::Read), Some(1000.0));
        let start = Instant::now();
        for _ in 0..150 {
            gate.admit(Budget::Read, 1, &Quiet).await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "room for 150 more");
        gate.admit(Budget::Read, 1, &Quiet).await;
        assert!(start.elapsed() >= Duration::from_secs(10), "the 951st waits for the window to slide");
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_caps_the_estimate() {
        let gate = ThrottleGate::new();
        for _ in 0..100 {
            gate.admit(Budget::Write, 1, &Quiet).await;
        }
        gate.throttled(Budget::Write, Some(Duration::from_secs(1)), true);
        assert_eq!(gate.limit_estimate(Budget::Write), Some(95.0));
        assert_eq!(gate.limit_estimate(Budget::Read), None);
    }

    #[tokio::test(start_paused = true)]
    async fn report_budgets_are_fixed_and_separate() {
        let gate = ThrottleGate::new();
        let start = Instant::now();
        for _ in 0..5 {
            gate.admit(Budget::Reports, 1, &Quiet).await;
            gate.admit(Budget::SignInLogs, 1, &Quiet).await;
        }
        for _ in 0..10 {
            gate.admit(Budget::SignInActivity, 1, &Quiet).await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "each budget's documented count goes out at once");
        gate.observe_share(&[Budget::Reports], 0.9, &Quiet);
        gate.throttled(Budget::Reports, None, true);
        assert_eq!(gate.limit_estimate(Budget::Reports), Some(5.0), "never re-estimated");
        gate.admit(Budget::Reports, 1, &Quiet).await;
        assert!(start.elapsed() >= Duration::from_secs(10), "the sixth waits for the window");
        let before = Instant::now();
        gate.admit(Budget::Read, 1, &Quiet).await;
        assert_eq!(before.elapsed(), Duration::ZERO, "reads are not held by the reports budget");
        gate.admit(Budget::SignInActivity, 1, &Quiet).await;
        assert!(start.elapsed() >= Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttle_header_never_shrinks_the_documented_write_budget() {
        let gate = ThrottleGate::new();
        for _ in 0..60 {
            gate.admit(Budget::Write, 1, &Quiet).await;
            // A PATCH right after a heavy read phase: the header measures the read budget.
            gate.observe_share(&[Budget::Write, Budget::Read], 0.95, &Quiet);
            gate.observe_share(&[Budget::Write], 0.95, &Quiet);
        }
        assert_eq!(gate.limit_estimate(Budget::Write), Some(3000.0));
        assert_eq!(gate.limit_estimate(Budget::Read), None, "nor is it taken for the read budget");
        let started = Instant::now();
        for _ in 0..2000 {
            gate.admit(Budget::Write, 1, &Quiet).await;
        }
        assert_eq!(Instant::now(), started, "2,060 writes fit the first 150 s window without waiting");
    }

    #[tokio::test(start_paused = true)]
    async fn writes_start_from_the_documented_budget() {
        let gate = ThrottleGate::new();
        assert_eq!(gate.limit_estimate(Budget::Write), Some(3000.0));
        let start = Instant::now();
        for _ in 0..2850 {
            gate.admit(Budget::Write, 1, &Quiet).await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        gate.admit(Budget::Write, 1, &Quiet).await;
        assert!(start.elapsed() >= Duration::from_secs(150));
    }
}
