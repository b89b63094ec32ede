//! One throttle gate per session, shared by every worker.
//!
//! Graph's limits apply per app per tenant, so per-request backoff is not enough: when one
//! request is told to wait, every worker sending to the same budget must wait, or the tenant stays
//! throttled. The gate keeps one [`Family`] state per budget Graph throttles separately (directory
//! reads, writes, reports, sign-in logs, `signInActivity`, authentication methods, Conditional
//! Access), each with:
//!
//! 1. **A pause.** A `Retry-After` (429, or 503/504 with the header) on a request of that budget
//!    pauses that budget's admissions, and only that budget's: a throttled report does not hold
//!    the directory reads. One pause lasts at most [`MAX_PAUSE`], and it belongs to the job that
//!    was told to wait: when that job ends, its pauses end with it, so the next command does not
//!    inherit a wait it never caused (if Graph still throttles, it says so again).
//! 2. **Pacing.** A sliding window of the units the gate let through (reads: 10 s, writes: 150 s),
//!    admitting requests only while the window stays under the budget's target share
//!    ([`Budget::target_share`]: 97 % for reads, whose bursts are spread, 95 % for writes). Every
//!    budget starts from what Graph documents. `x-ms-throttle-limit-percentage` (sent once the
//!    app's usage passes 80%, counting every client of the app: delegated sessions share the
//!    Graph PowerShell app with every admin of the tenant) is read as a bound on the room left,
//!    not as a way to solve for the budget: this process may add `budget x (target - share)`
//!    more units until the next header or until the window has slid by. A 429 caps the window at
//!    what the gate had let through, for one window; neither ever goes below one `$batch`.
//! 3. **Backoff where Graph gives no `Retry-After`.** Conditional Access resources answer 429
//!    without one, and their budget is shared with every other app of the tenant, so pacing alone
//!    cannot keep clear of it: each 429 in a row pauses that family twice as long as the last
//!    ([`CA_FIRST_BACKOFF`] up to [`CA_MAX_BACKOFF`]); its first answer that is not a 429 resets it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::time::Instant;

use super::batch::MAX_BATCH;
use super::Notify;

/// Share of the budget the gate fills: close to the ceiling, with room for requests already in
/// flight. The read budgets fill [`SPREAD_TARGET_SHARE`] ([`Budget::target_share`]).
pub const TARGET_SHARE: f64 = 0.95;

/// Share of the budget the gate fills for budgets whose bursts it spreads ([`SPREAD_SPAN`]: the
/// reads' windows of 10 s): at 0.95 with bursts let out at once, 24,000 reads drew 429s on
/// 0-0.58 % of them; spread, 0.97 drew none at 20 ms to 2 s, and each window carries 2 % more.
pub const SPREAD_TARGET_SHARE: f64 = 0.97;

/// The most of its allowed window a budget lets out in any one second. Graph counts a request
/// when it arrives, the gate when it admits it, and the time between varies from request to
/// request (network jitter, new connections). Units let out in one burst all leave the gate's
/// window at one instant a window later, and sent again at once some reach Graph before the ones
/// they replace have left Graph's window: with the first window sent in about one second, 0.9-2.3 %
/// of 24,000 reads were answered 429 at 20-300 ms round trips. A quarter per second keeps the
/// crossing small, and still fills a window in four seconds.
pub const MAX_WINDOW_SHARE_PER_SECOND: f64 = 0.25;

/// Within a second, units go out at most the room [`SPREAD_TARGET_SHARE`] leaves per this span: a second's
/// share admitted at one instant leaves the window at one instant too, and re-sent at once about
/// half of them reach Graph before the ones they replace leave (measured at a 20 ms round trip:
/// 0.72 % of reads answered 429 with the share going out at once). Spread this way, what crosses
/// the edge never exceeds the room left.
pub const SPREAD_SPAN: Duration = Duration::from_millis(100);

/// The longest one `Retry-After` pauses a budget. Graph has answered `Retry-After` in the tens of
/// minutes; waiting that long inside one command looks like a hang, so the pause ends earlier and
/// the request's own retry budget ([`super::retry::RetryOptions::max_wait`]) decides whether it is
/// tried again or reported as throttled.
pub const MAX_PAUSE: Duration = Duration::from_secs(180);

/// The shortest time between two `-Verbose` lines about a changed budget of one job.
const PACING_NEWS_EVERY: Duration = Duration::from_secs(5);

/// Room the gate always leaves a budget it paces by estimate: one full `$batch`, so a bound learnt
/// from a crowded moment can slow the job down but never stop it.
const MIN_ROOM: f64 = MAX_BATCH as f64;

/// The budgets Graph throttles separately; one [`ThrottleGate`] family each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// Identity and access reads: resource units per 10 s.
    Read,
    /// Identity and access writes: requests per 150 s.
    Write,
    /// Identity and access reports (`/reports/authenticationMethods/*`): 5 requests per 10 s.
    Reports,
    /// Sign-in logs (`/auditLogs/signIns`): 5 requests per 10 s.
    SignInLogs,
    /// Users listings that select `signInActivity`: 10 requests per 60 s.
    SignInActivity,
    /// `/users/{id}/authentication/methods`: Graph lists it among the reports resources, but
    /// documents no figure for it; learnt from 429s on this family alone.
    AuthMethods,
    /// Conditional Access policies, named locations and What-If (`evaluate`): 1 request per
    /// second per tenant, shared by every app; 429s without `Retry-After`.
    ConditionalAccess,
}

const FAMILIES: [Budget; 7] = [
    Budget::Read,
    Budget::Write,
    Budget::Reports,
    Budget::SignInLogs,
    Budget::SignInActivity,
    Budget::AuthMethods,
    Budget::ConditionalAccess,
];

/// The first pause after a Conditional Access 429 (Graph sends no `Retry-After` there).
pub const CA_FIRST_BACKOFF: Duration = Duration::from_secs(2);
/// The longest pause one Conditional Access 429 causes, however many came before it.
pub const CA_MAX_BACKOFF: Duration = Duration::from_secs(32);

impl Budget {
    /// The window Graph counts the budget over.
    pub fn span(self) -> Duration {
        match self {
            Budget::Read | Budget::AuthMethods => Duration::from_secs(10),
            Budget::Write => Duration::from_secs(150),
            // The documented span plus a margin: the gate logs a request when it leaves, Graph when
            // it arrives, so a window exactly Graph's length could admit one a moment too early.
            Budget::Reports | Budget::SignInLogs => Duration::from_millis(10_750),
            Budget::SignInActivity => Duration::from_millis(60_750),
            Budget::ConditionalAccess => Duration::from_millis(1_050),
        }
    }

    /// Whether the gate spreads this budget's bursts ([`SPREAD_SPAN`]): Graph's window is 10 s or
    /// shorter, so a burst re-sent a window later can cross it. Writes' 150 s window is never sent
    /// in bursts that matter (PATCHes go out at tens a second).
    fn is_spread(self) -> bool {
        self.span() <= Duration::from_secs(10)
    }

    /// The share of Graph's budget the gate fills.
    pub fn target_share(self) -> f64 {
        if self.is_spread() {
            SPREAD_TARGET_SHARE
        } else {
            TARGET_SHARE
        }
    }

    /// Budgets Graph documents as a small fixed request count: filled completely, never
    /// re-estimated from headers or 429s.
    fn is_fixed(self) -> bool {
        matches!(self, Budget::Reports | Budget::SignInLogs | Budget::SignInActivity | Budget::ConditionalAccess)
    }

    /// What Graph documents per app per tenant. Writes: 3,000 per 150 s. Reads: 8,000 units per
    /// 10 s for a tenant over 500 users (3,500 under 50, 5,000 up to 500): a tenant that small
    /// never has enough users for a job to reach even the smallest figure in one window, so the
    /// largest is the one that matters. Authentication methods: none documented.
    pub fn documented_limit(self) -> Option<f64> {
        match self {
            Budget::Read => Some(8000.0),
            Budget::Write => Some(3000.0),
            Budget::Reports | Budget::SignInLogs => Some(5.0),
            Budget::SignInActivity => Some(10.0),
            Budget::ConditionalAccess => Some(1.0),
            Budget::AuthMethods => None,
        }
    }

    fn index(self) -> usize {
        FAMILIES.iter().position(|&b| b == self).expect("every budget is a family")
    }

    fn name(self) -> &'static str {
        match self {
            Budget::Read => "read",
            Budget::Write => "write",
            Budget::Reports => "reports",
            Budget::SignInLogs => "sign-in logs",
            Budget::SignInActivity => "signInActivity",
            Budget::AuthMethods => "authentication methods",
            Budget::ConditionalAccess => "Conditional Access",
        }
    }
}

/// Time as the gate sees it: the system's, or a test's that moves only when the gate waits.
pub trait Clock: Send + Sync {
    fn now(&self) -> Instant;
    fn sleep_until(&self, until: Instant) -> BoxFuture<'static, ()>;
}

/// Tokio's clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep_until(&self, until: Instant) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep_until(until))
    }
}

/// A pause Graph asked for, and the job it was asked of.
#[derive(Debug, Clone, Copy)]
struct Pause {
    until: Instant,
    job: u64,
}

struct Family {
    budget: Budget,
    log: VecDeque<(Instant, u32)>,
    used: u64,
    /// The budget: documented, or learnt from 429s where Graph documents none.
    limit: Option<f64>,
    /// Units this process may have in the window, from the last throttle header, until then.
    header_room: Option<(f64, Instant)>,
    /// After a 429: what the gate had let through, until then.
    throttled_cap: Option<(f64, Instant)>,
    pause: Option<Pause>,
    /// 429s in a row without `Retry-After` (Conditional Access): the next backoff doubles.
    backoff_streak: u32,
    /// The budget last told to `-Verbose`, the job told (each job hears what it paces to), and when.
    told_pacing: Option<(u64, f64, Instant)>,
    /// Until when the last pacing wait told lasts: waits within it are not told again.
    told_wait_until: Option<Instant>,
}

impl Family {
    fn new(budget: Budget) -> Family {
        Family {
            budget,
            log: VecDeque::new(),
            used: 0,
            limit: budget.documented_limit(),
            header_room: None,
            throttled_cap: None,
            pause: None,
            backoff_streak: 0,
            told_pacing: None,
            told_wait_until: None,
        }
    }

    /// What `-Verbose` should hear about pacing before `job` sends `units` at `now`, waiting
    /// until `admitted`: the budget this job paces to (the first time, and when it changes by a
    /// tenth or more, at most every [`PACING_NEWS_EVERY`]: Graph's throttle header or a 429 moved
    /// it), and a wait for room in the
    /// window (once per wait, not per request).
    fn pacing_news(&mut self, job: u64, units: u32, now: Instant, admitted: Instant) -> Vec<String> {
        let mut news = Vec::new();
        let Some(allowed) = self.allowed() else { return news };
        let span = self.budget.span().as_secs_f64();
        let changed = match self.told_pacing {
            Some((told_job, told, at)) => {
                told_job != job || ((allowed - told).abs() >= told * 0.1 && now.duration_since(at) >= PACING_NEWS_EVERY)
            }
            None => true,
        };
        if changed {
            let why = if self.budget.is_fixed() {
                "Graph's documented budget".to_string()
            } else if self.throttled_cap.is_some_and(|(cap, _)| cap <= allowed) {
                "held at what was let through before Graph's last 429, for one window".to_string()
            } else if self.header_room.is_some_and(|(room, _)| room <= allowed) {
                "the room Graph's x-ms-throttle-limit-percentage header leaves this app".to_string()
            } else {
                match self.limit {
                    Some(limit) => {
                        format!("{:.0}% of Graph's {} per {span:.0} s", self.budget.target_share() * 100.0, limit)
                    }
                    None => "learnt from Graph's 429s".to_string(),
                }
            };
            news.push(format!(
                "Pacing {} requests to {:.0} per {span:.0} s ({why}); {} sent in the current window.",
                self.budget.name(),
                allowed.floor(),
                self.used
            ));
            self.told_pacing = Some((job, allowed, now));
        }
        let wait = admitted.saturating_duration_since(now);
        if wait >= Duration::from_secs(1) && self.told_wait_until.is_none_or(|until| now >= until) {
            news.push(format!(
                "Waiting {:.0} s for room in Graph's {} budget: {} of {:.0} per {span:.0} s used; the next {} can go when \
                 the oldest leave the window.",
                wait.as_secs_f64().ceil(),
                self.budget.name(),
                self.used,
                allowed.floor(),
                units
            ));
            self.told_wait_until = Some(admitted);
        }
        news
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
        if self.header_room.is_some_and(|(_, until)| now >= until) {
            self.header_room = None;
        }
        if self.throttled_cap.is_some_and(|(_, until)| now >= until) {
            self.throttled_cap = None;
        }
        if self.pause.is_some_and(|p| now >= p.until) {
            self.pause = None;
        }
    }

    /// Units this process may have in the current window.
    fn allowed(&self) -> Option<f64> {
        if self.budget.is_fixed() {
            return self.limit;
        }
        let mut allowed = self.limit.map(|limit| limit * self.budget.target_share());
        for bound in [self.header_room, self.throttled_cap].into_iter().flatten() {
            allowed = Some(allowed.map_or(bound.0, |a| a.min(bound.0)));
        }
        allowed.map(|a| a.max(MIN_ROOM))
    }

    /// When `units` more fit, or now if they already do: in the window, and in the last second
    /// ([`MAX_WINDOW_SHARE_PER_SECOND`]).
    fn admission_time(&self, units: u32, now: Instant) -> Instant {
        let Some(allowed) = self.allowed() else { return now };
        let allowed = allowed.max(f64::from(units));
        self.window_admission(allowed, units, now).max(self.burst_admission(allowed, units, now))
    }

    fn window_admission(&self, allowed: f64, units: u32, now: Instant) -> Instant {
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

    /// When `units` more fit in the last second's share of the window and in the room left per
    /// [`SPREAD_SPAN`] (never less than one `$batch` per span, so small budgets are paced by their
    /// window alone).
    fn burst_admission(&self, allowed: f64, units: u32, now: Instant) -> Instant {
        if !self.budget.is_spread() {
            return now;
        }
        let per_second = allowed * MAX_WINDOW_SHARE_PER_SECOND;
        let room_left = allowed * (1.0 / self.budget.target_share() - 1.0);
        self.spread_admission(Duration::from_secs(1), per_second, units, now).max(self.spread_admission(
            SPREAD_SPAN,
            room_left,
            units,
            now,
        ))
    }

    /// When `units` more fit among the units admitted in the last `span`, at most `cap` of them.
    fn spread_admission(&self, span: Duration, cap: f64, units: u32, now: Instant) -> Instant {
        let cap = cap.max(MIN_ROOM).max(f64::from(units));
        let mut recent = 0.0;
        for &(at, logged) in self.log.iter().rev() {
            if now.duration_since(at) >= span {
                break;
            }
            recent += f64::from(logged);
            if recent + f64::from(units) > cap {
                return at + span;
            }
        }
        now
    }
}

pub struct ThrottleGate {
    families: Mutex<Vec<Family>>,
    clock: Arc<dyn Clock>,
    /// Wakes requests waiting out a pause that ended early, with the job that caused it.
    pause_ended: tokio::sync::Notify,
}

impl Default for ThrottleGate {
    fn default() -> Self {
        ThrottleGate::new()
    }
}

impl ThrottleGate {
    pub fn new() -> ThrottleGate {
        ThrottleGate::with_clock(Arc::new(SystemClock))
    }

    pub fn with_clock(clock: Arc<dyn Clock>) -> ThrottleGate {
        ThrottleGate {
            families: Mutex::new(FAMILIES.iter().map(|&b| Family::new(b)).collect()),
            clock,
            pause_ended: tokio::sync::Notify::new(),
        }
    }

    fn with_family<T>(&self, budget: Budget, now: Instant, work: impl FnOnce(&mut Family) -> T) -> T {
        let mut families = self.families.lock().unwrap();
        let family = &mut families[budget.index()];
        family.prune(now);
        work(family)
    }

    /// Waits until `units` of `budget` may be sent, then records them. Says on `notify` when it
    /// waits for a pause, what budget the job paces to (and when that changes), and when pacing
    /// holds requests back a second or more (once per wait: pacing waits are frequent).
    pub async fn admit(&self, budget: Budget, units: u32, notify: &dyn Notify) {
        let mut told = false;
        loop {
            // Registered before the state is read, so a pause ending in between still wakes it.
            let ended = self.pause_ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            let now = self.clock.now();
            let (decision, news) = self.with_family(budget, now, |family| {
                if let Some(pause) = family.pause {
                    return (Err((pause.until, true)), Vec::new());
                }
                let at = family.admission_time(units, now);
                let news = family.pacing_news(notify.job_id(), units, now, at);
                if at <= now {
                    family.log.push_back((now, units));
                    family.used += u64::from(units);
                    (Ok(()), news)
                } else {
                    (Err((at, false)), news)
                }
            });
            for line in news {
                notify.verbose(line);
            }
            match decision {
                Ok(()) => return,
                Err((until, paused)) => {
                    if paused && !told && until.duration_since(now) >= Duration::from_millis(500) {
                        told = true;
                        notify.verbose(format!(
                            "Waiting {:.1} s before sending more {} requests: Graph throttled them ({}).",
                            until.duration_since(now).as_secs_f64(),
                            budget.name(),
                            if budget == Budget::ConditionalAccess { "429, backing off" } else { "Retry-After" }
                        ));
                    }
                    if paused {
                        tokio::select! {
                            _ = self.clock.sleep_until(until) => {}
                            _ = ended => {}
                        }
                    } else {
                        self.clock.sleep_until(until).await;
                    }
                }
            }
        }
    }

    /// Learns from `x-ms-throttle-limit-percentage` (the app's share of the budget in use, such
    /// as 0.85, every client of the app counted) on the answer to a request that spent `spent`.
    ///
    /// With `used` units of its own in the window, this process may have `used x target share /
    /// share` there: alone, that fills the budget to the target share exactly; sharing it, the
    /// bound grows while the app is under the target and shrinks while it is over, so the app as
    /// a whole settles at the target whatever the other clients take, without this process having
    /// to know the budget or their share of it.
    ///
    /// The header does not say which budget it measures, so it is read only from a request that
    /// spent one budget, and never for a fixed one. A PATCH spends write and read units: taking
    /// its header for the write window shrank 3,000 writes per 150 s to 60.
    pub fn observe_share(&self, spent: &[Budget], share: f64, notify: &dyn Notify) {
        let &[budget] = spent else { return };
        if !share.is_finite() || share < 0.05 || budget.is_fixed() {
            return;
        }
        let now = self.clock.now();
        let message = self.with_family(budget, now, |family| {
            if family.used == 0 {
                return None;
            }
            let target = budget.target_share();
            let room = family.used as f64 * target / share;
            let first = family.header_room.is_none();
            family.header_room = Some((room, now + budget.span()));
            (first && share >= target).then(|| {
                format!(
                    "Graph reports {:.0}% of the app's {} budget in use (other clients of the app count too); pacing \
                     this command to the room left.",
                    share * 100.0,
                    budget.name()
                )
            })
        });
        if let Some(message) = message {
            notify.verbose(message);
        }
    }

    /// A 429 (or a 503/504 with `Retry-After`) on a request of `budget`: pause that budget for
    /// `retry_after` (at most [`MAX_PAUSE`]) on behalf of `notify`'s job, and after a 429 hold
    /// the window at what this gate had let through, for one window.
    pub fn throttled(&self, budget: Budget, retry_after: Option<Duration>, is_429: bool, notify: &dyn Notify) {
        let now = self.clock.now();
        let job = notify.job_id();
        let backoff = self.with_family(budget, now, |family| {
            let retry_after = match retry_after {
                None if is_429 && budget == Budget::ConditionalAccess => {
                    family.backoff_streak += 1;
                    let doubled = CA_FIRST_BACKOFF.saturating_mul(1 << (family.backoff_streak - 1).min(8));
                    Some(doubled.min(CA_MAX_BACKOFF))
                }
                other => other,
            };
            if let Some(delay) = retry_after.filter(|d| !d.is_zero()) {
                let until = now + delay.min(MAX_PAUSE);
                family.pause = Some(match family.pause {
                    Some(pause) if pause.until >= until => pause,
                    _ => Pause { until, job },
                });
            }
            if is_429 && !family.budget.is_fixed() {
                let sent = (family.used as f64 * budget.target_share()).max(MIN_ROOM);
                let cap = family.throttled_cap.map_or(sent, |(cap, _)| cap.min(sent));
                family.throttled_cap = Some((cap, now + budget.span()));
                if family.limit.is_none() {
                    // Graph documents no figure: what got through before the 429 is the best one.
                    family.limit = Some((family.used as f64).max(MIN_ROOM));
                }
            }
            (budget == Budget::ConditionalAccess && family.backoff_streak > 0).then_some(retry_after)
        });
        if let Some(Some(delay)) = backoff {
            notify.verbose(format!(
                "Graph throttled a Conditional Access request (429, no Retry-After; the budget is one request per \
                 second for the whole tenant, shared with other apps): backing off {:.0} s.",
                delay.as_secs_f64()
            ));
        }
    }

    /// An answer on `budget` that was not a throttle: the next 429 there backs off from the start.
    pub fn answered(&self, budget: Budget) {
        self.with_family(budget, self.clock.now(), |family| family.backoff_streak = 0);
    }

    /// Ends every pause `job` was told to wait, when that job ends.
    pub fn end_pauses_of(&self, job: u64) {
        let mut ended = false;
        for family in self.families.lock().unwrap().iter_mut() {
            if family.pause.is_some_and(|p| p.job == job) {
                family.pause = None;
                ended = true;
            }
        }
        if ended {
            self.pause_ended.notify_waiters();
        }
    }

    /// How many units of `budget` this process may have in the window now (None: unpaced).
    pub fn allowed(&self, budget: Budget) -> Option<f64> {
        self.with_family(budget, self.clock.now(), |family| family.allowed())
    }

    /// The most units of `budget` the gate lets out in one second when nothing was sent before:
    /// a quarter of the allowed window for the read budgets ([`MAX_WINDOW_SHARE_PER_SECOND`]), the
    /// window spread over its span for the others (None: unpaced). What an in-flight window must
    /// hold so that the round trip, not the gate, is never what limits a job's first second.
    pub fn first_second_rate(&self, budget: Budget) -> Option<f64> {
        let allowed = self.allowed(budget)?;
        Some(if budget.is_spread() {
            (allowed * MAX_WINDOW_SHARE_PER_SECOND).max(MIN_ROOM)
        } else {
            allowed / budget.span().as_secs_f64()
        })
    }

    /// Until when `budget` is paused, if it is.
    pub fn paused_until(&self, budget: Budget) -> Option<Instant> {
        self.with_family(budget, self.clock.now(), |family| family.pause.map(|p| p.until))
    }

    /// For estimates that match what the gate does: how long from now until one more unit of
    /// `budget` would be admitted (a Retry-After pause included; zero when it fits now), and the
    /// ages of the units already in the window.
    pub fn outlook(&self, budget: Budget) -> (Duration, Vec<Duration>) {
        let now = self.clock.now();
        self.with_family(budget, now, |family| {
            let paused = family.pause.map(|p| p.until.saturating_duration_since(now)).unwrap_or_default();
            let wait = family.admission_time(1, now).saturating_duration_since(now);
            let ages = family
                .log
                .iter()
                .flat_map(|&(at, units)| std::iter::repeat_n(now.duration_since(at), units as usize))
                .collect();
            (paused.max(wait), ages)
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A clock that stands still until someone waits on it, then jumps to the end of the wait.
    pub struct ManualClock {
        now: Mutex<Instant>,
    }

    impl ManualClock {
        pub fn new() -> Arc<ManualClock> {
            Arc::new(ManualClock { now: Mutex::new(Instant::now()) })
        }

        pub fn advance(&self, by: Duration) {
            *self.now.lock().unwrap() += by;
        }
    }

    impl Clock for ManualClock {
        fn now(&self) -> Instant {
            *self.now.lock().unwrap()
        }

        fn sleep_until(&self, until: Instant) -> BoxFuture<'static, ()> {
            let mut now = self.now.lock().unwrap();
            if until > *now {
                *now = until;
            }
            Box::pin(async {})
        }
    }

    pub struct Quiet(pub u64);
    impl Notify for Quiet {
        fn verbose(&self, _: String) {}
        fn job_id(&self) -> u64 {
            self.0
        }
    }

    fn gate() -> (ThrottleGate, Arc<ManualClock>) {
        let clock = ManualClock::new();
        (ThrottleGate::with_clock(clock.clone()), clock)
    }

    async fn admit_n(gate: &ThrottleGate, budget: Budget, n: u32) {
        for _ in 0..n {
            gate.admit(budget, 1, &Quiet(1)).await;
        }
    }

    #[tokio::test]
    async fn pause_holds_its_family_until_retry_after() {
        let (gate, clock) = gate();
        let start = clock.now();
        gate.throttled(Budget::Read, Some(Duration::from_secs(3)), true, &Quiet(1));
        gate.admit(Budget::Read, 1, &Quiet(1)).await;
        assert!(clock.now() - start >= Duration::from_secs(3));
    }

    #[tokio::test]
    async fn a_pause_holds_only_its_own_family() {
        let (gate, clock) = gate();
        let start = clock.now();
        gate.throttled(Budget::Reports, Some(Duration::from_secs(9)), true, &Quiet(1));
        gate.throttled(Budget::AuthMethods, Some(Duration::from_secs(9)), true, &Quiet(1));
        admit_n(&gate, Budget::Read, 100).await;
        admit_n(&gate, Budget::SignInLogs, 5).await;
        assert_eq!(clock.now(), start, "reads and sign-in logs do not wait for the reports' Retry-After");
        gate.admit(Budget::Reports, 1, &Quiet(1)).await;
        assert_eq!(clock.now() - start, Duration::from_secs(9));
    }

    #[tokio::test]
    async fn a_long_retry_after_is_capped_and_ends_with_its_job() {
        let (gate, clock) = gate();
        let start = clock.now();
        gate.throttled(Budget::Read, Some(Duration::from_secs(3600)), true, &Quiet(7));
        assert_eq!(gate.paused_until(Budget::Read), Some(start + MAX_PAUSE));
        // Job 8 is still told to wait while job 7 runs: they share Graph's budget.
        gate.end_pauses_of(8);
        assert!(gate.paused_until(Budget::Read).is_some());
        gate.end_pauses_of(7);
        assert_eq!(gate.paused_until(Budget::Read), None);
        gate.admit(Budget::Read, 1, &Quiet(8)).await;
        assert_eq!(clock.now(), start, "the next command does not inherit the pause");
    }

    #[tokio::test]
    async fn reads_start_from_the_documented_budget() {
        let (gate, clock) = gate();
        let start = clock.now();
        assert_eq!(gate.allowed(Budget::Read), Some(8000.0 * SPREAD_TARGET_SHARE));
        admit_n(&gate, Budget::Read, 1940).await;
        assert!(clock.now() - start < Duration::from_secs(1), "a quarter of the window in the first second");
        admit_n(&gate, Budget::Read, 5820).await;
        let filled = clock.now() - start;
        assert!(
            filled >= Duration::from_secs(3) && filled < Duration::from_secs(4),
            "the rest in a quarter a second: {filled:?}"
        );
        gate.admit(Budget::Read, 1, &Quiet(1)).await;
        assert!(clock.now() - start >= Duration::from_secs(10), "the next waits for the window to slide");
    }

    #[tokio::test]
    async fn a_window_freed_at_once_is_not_sent_again_at_once() {
        // Units let out in one second leave the window together ten seconds later; sent again in
        // one burst, some would reach Graph before those they replace left Graph's window.
        let (gate, clock) = gate();
        let start = clock.now();
        admit_n(&gate, Budget::Read, 7600).await;
        clock.advance(Duration::from_secs(20));
        let freed = clock.now();
        admit_n(&gate, Budget::Read, 3800).await;
        assert!(clock.now() - freed >= Duration::from_secs(1), "{:?}", clock.now() - start);
    }

    #[tokio::test]
    async fn within_a_second_no_more_than_the_room_left_goes_out_at_one_instant() {
        let (gate, clock) = gate();
        let start = clock.now();
        admit_n(&gate, Budget::Read, 1000).await;
        let spent = clock.now() - start;
        // 1,000 units at most 240 (8,000 - 7,760) per 100 ms: four spans of waiting.
        let room = 8000.0 * (1.0 - SPREAD_TARGET_SHARE);
        let spans = (1000.0 / room).ceil() as u32 - 1;
        assert!(spent >= SPREAD_SPAN * spans, "{spent:?}");
        assert!(spent < Duration::from_secs(1), "the second's share is not what held it: {spent:?}");
    }

    #[tokio::test]
    async fn the_throttle_header_bounds_the_room_left_when_another_client_shares_the_budget() {
        let (gate, clock) = gate();
        let start = clock.now();
        // Graph's budget is 8,000 units per 10 s; another admin's script spends 6,000 of them in
        // every window. This job may take 1,760 (97% of 8,000 in all), whatever it starts with.
        let other = 6000.0;
        let mut mine = 0u32;
        loop {
            let before = clock.now();
            for _ in 0..MAX_BATCH {
                gate.admit(Budget::Read, 1, &Quiet(1)).await;
            }
            if clock.now() - before >= Duration::from_secs(2) {
                // Waiting for the window to slide (not for the second's share of it).
                break;
            }
            mine += MAX_BATCH as u32;
            assert!(
                f64::from(mine) + other <= 8000.0 * SPREAD_TARGET_SHARE + MIN_ROOM,
                "never over the target: {mine}"
            );
            // Graph sends the header once the app as a whole is over 80% of its budget.
            let share = (other + f64::from(mine)) / 8000.0;
            if share > 0.8 {
                gate.observe_share(&[Budget::Read], share, &Quiet(1));
            }
        }
        assert!((1660..=1780).contains(&mine), "settles at the room the other client leaves: {mine}");
        assert!(clock.now() > start, "and waits for the window once it is there");
        // Once the other client stops, the header stops too (Graph sends it above 80% only), and
        // the bound lapses with the window: seconds, not half an hour.
        clock.advance(Duration::from_secs(10));
        assert_eq!(gate.allowed(Budget::Read), Some(8000.0 * SPREAD_TARGET_SHARE));
    }

    #[tokio::test]
    async fn a_header_never_collapses_the_estimate_below_one_batch() {
        let (gate, _clock) = gate();
        gate.admit(Budget::Read, 1, &Quiet(1)).await;
        gate.observe_share(&[Budget::Read], 1.8, &Quiet(1));
        assert_eq!(gate.allowed(Budget::Read), Some(MIN_ROOM));
    }

    #[tokio::test]
    async fn a_429_caps_the_window_for_one_window_only() {
        let (gate, clock) = gate();
        admit_n(&gate, Budget::Write, 100).await;
        gate.throttled(Budget::Write, Some(Duration::from_secs(1)), true, &Quiet(1));
        assert_eq!(gate.allowed(Budget::Write), Some(95.0));
        assert_eq!(gate.allowed(Budget::Read), Some(8000.0 * SPREAD_TARGET_SHARE), "reads are another family");
        clock.advance(Budget::Write.span());
        assert_eq!(gate.allowed(Budget::Write), Some(3000.0 * TARGET_SHARE), "recovered once the 429s stopped");
    }

    #[tokio::test]
    async fn authentication_methods_are_learnt_from_their_own_429s() {
        let (gate, clock) = gate();
        let start = clock.now();
        assert_eq!(gate.allowed(Budget::AuthMethods), None, "no documented figure: unpaced until Graph says");
        admit_n(&gate, Budget::AuthMethods, 30).await;
        gate.throttled(Budget::AuthMethods, Some(Duration::from_secs(2)), true, &Quiet(1));
        assert_eq!(gate.allowed(Budget::AuthMethods), Some(30.0 * SPREAD_TARGET_SHARE));
        assert_eq!(gate.allowed(Budget::Read), Some(8000.0 * SPREAD_TARGET_SHARE), "the reads keep their budget");
        admit_n(&gate, Budget::Read, 50).await;
        assert_eq!(clock.now(), start, "and are not paused");
    }

    #[tokio::test]
    async fn report_budgets_are_fixed_and_separate() {
        let (gate, clock) = gate();
        let start = clock.now();
        for _ in 0..5 {
            gate.admit(Budget::Reports, 1, &Quiet(1)).await;
            gate.admit(Budget::SignInLogs, 1, &Quiet(1)).await;
        }
        admit_n(&gate, Budget::SignInActivity, 10).await;
        assert_eq!(clock.now(), start, "each budget's documented count goes out at once");
        gate.observe_share(&[Budget::Reports], 0.9, &Quiet(1));
        gate.throttled(Budget::Reports, None, true, &Quiet(1));
        assert_eq!(gate.allowed(Budget::Reports), Some(5.0), "never re-estimated");
        gate.admit(Budget::Reports, 1, &Quiet(1)).await;
        assert!(clock.now() - start >= Duration::from_secs(10), "the sixth waits for the window");
        let before = clock.now();
        gate.admit(Budget::Read, 1, &Quiet(1)).await;
        assert_eq!(clock.now(), before, "reads are not held by the reports budget");
        gate.admit(Budget::SignInActivity, 1, &Quiet(1)).await;
        assert!(clock.now() - start >= Duration::from_secs(60));
    }

    #[tokio::test]
    async fn conditional_access_goes_out_one_request_per_second() {
        let (gate, clock) = gate();
        let start = clock.now();
        admit_n(&gate, Budget::ConditionalAccess, 4).await;
        // Graph's budget is one request per second for the tenant; the span keeps a margin.
        assert_eq!(clock.now() - start, Budget::ConditionalAccess.span() * 3);
        gate.throttled(Budget::ConditionalAccess, None, true, &Quiet(1));
        assert_eq!(gate.allowed(Budget::ConditionalAccess), Some(1.0), "a 429 never re-estimates it");
    }

    #[tokio::test]
    async fn conditional_access_429s_back_off_exponentially_and_hold_no_other_family() {
        let (gate, clock) = gate();
        let start = clock.now();
        // No Retry-After: each 429 in a row pauses the family twice as long as the last.
        gate.throttled(Budget::ConditionalAccess, None, true, &Quiet(1));
        assert_eq!(gate.paused_until(Budget::ConditionalAccess), Some(start + CA_FIRST_BACKOFF));
        gate.throttled(Budget::ConditionalAccess, None, true, &Quiet(1));
        assert_eq!(gate.paused_until(Budget::ConditionalAccess), Some(start + CA_FIRST_BACKOFF * 2));
        gate.throttled(Budget::ConditionalAccess, None, true, &Quiet(1));
        assert_eq!(gate.paused_until(Budget::ConditionalAccess), Some(start + CA_FIRST_BACKOFF * 4));
        for _ in 0..10 {
            gate.throttled(Budget::ConditionalAccess, None, true, &Quiet(1));
        }
        assert_eq!(gate.paused_until(Budget::ConditionalAccess), Some(start + CA_MAX_BACKOFF), "capped");
        // The users' reads and writes go on at their own pace.
        assert_eq!(gate.paused_until(Budget::Read), None);
        assert_eq!(gate.allowed(Budget::Read), Some(8000.0 * SPREAD_TARGET_SHARE), "not capped by the CA 429s");
        admit_n(&gate, Budget::Read, 200).await;
        gate.admit(Budget::Write, 1, &Quiet(1)).await;
        assert_eq!(clock.now(), start, "no other family waits");
        gate.admit(Budget::ConditionalAccess, 1, &Quiet(1)).await;
        assert_eq!(clock.now() - start, CA_MAX_BACKOFF);
        // An answer that is not a 429 starts the next backoff from the beginning.
        gate.answered(Budget::ConditionalAccess);
        let now = clock.now();
        gate.throttled(Budget::ConditionalAccess, None, true, &Quiet(1));
        assert_eq!(gate.paused_until(Budget::ConditionalAccess), Some(now + CA_FIRST_BACKOFF));
        // Other families keep their Retry-After semantics: a 429 without one does not pause them.
        gate.throttled(Budget::Reports, None, true, &Quiet(1));
        assert_eq!(gate.paused_until(Budget::Reports), None);
    }

    #[tokio::test]
    async fn a_throttle_header_never_shrinks_the_documented_write_budget() {
        let (gate, clock) = gate();
        for _ in 0..60 {
            gate.admit(Budget::Write, 1, &Quiet(1)).await;
            // A PATCH right after a heavy read phase: the header measures the read budget.
            gate.observe_share(&[Budget::Write, Budget::Read], 0.95, &Quiet(1));
        }
        assert_eq!(gate.allowed(Budget::Write), Some(3000.0 * TARGET_SHARE));
        assert_eq!(
            gate.allowed(Budget::Read),
            Some(8000.0 * SPREAD_TARGET_SHARE),
            "nor is it taken for the read budget"
        );
        let started = clock.now();
        admit_n(&gate, Budget::Write, 2000).await;
        assert_eq!(clock.now(), started, "2,060 writes fit the first 150 s window without waiting");
        admit_n(&gate, Budget::Write, 790).await;
        assert_eq!(clock.now(), started);
        gate.admit(Budget::Write, 1, &Quiet(1)).await;
        assert!(clock.now() - started >= Duration::from_secs(150));
    }
    /// Keeps what `-Verbose` would hear, as one job.
    struct Heard(u64, Mutex<Vec<String>>);
    impl Notify for Heard {
        fn verbose(&self, message: String) {
            self.1.lock().unwrap().push(message);
        }
        fn job_id(&self) -> u64 {
            self.0
        }
    }

    #[tokio::test]
    async fn verbose_says_what_each_job_paces_to_and_each_wait_for_room_once() {
        let (gate, clock) = gate();
        let first = Heard(1, Mutex::new(Vec::new()));
        for _ in 0..2850 {
            gate.admit(Budget::Write, 1, &first).await;
        }
        let started = clock.now();
        gate.admit(Budget::Write, 1, &first).await;
        assert!(clock.now() - started >= Duration::from_secs(149));
        gate.admit(Budget::Write, 1, &first).await;
        let heard = first.1.lock().unwrap().clone();
        assert_eq!(
            heard,
            vec![
                "Pacing write requests to 2850 per 150 s (95% of Graph's 3000 per 150 s); 0 sent in the current window."
                    .to_string(),
                "Waiting 150 s for room in Graph's write budget: 2850 of 2850 per 150 s used; the next 1 can go when \
                 the oldest leave the window."
                    .to_string(),
            ],
            "one line for the budget, one for the wait (not one per request)"
        );
        let second = Heard(2, Mutex::new(Vec::new()));
        gate.admit(Budget::Write, 1, &second).await;
        assert_eq!(second.1.lock().unwrap().len(), 1, "the next job hears what it paces to");
        assert!(second.1.lock().unwrap()[0].starts_with("Pacing write requests to 2850 per 150 s"));

        // A 429 caps the window at what was let through: said at the next request.
        gate.throttled(Budget::Read, None, true, &second);
        gate.admit(Budget::Read, 1, &second).await;
        admit_n(&gate, Budget::Read, 30).await;
        gate.throttled(Budget::Read, None, true, &second);
        clock.advance(Duration::from_secs(6));
        gate.admit(Budget::Read, 1, &second).await;
        let heard = second.1.lock().unwrap().clone();
        assert!(
            heard.iter().any(|l| l.starts_with("Pacing read requests to") && l.contains("before Graph's last 429")),
            "{heard:#?}"
        );
    }
}
