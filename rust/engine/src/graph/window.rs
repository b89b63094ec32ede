//! The adaptive in-flight window of the `$batch` path: how many sub-requests may be outstanding.
//!
//! A fixed window caps throughput at window / round trip (Little's law), so any fixed default is
//! wrong for most round trips: 60 sub-requests reach Graph's 800 reads per second only below
//! ~75 ms, while a `$batch` of 20 commonly takes 300 ms to 1 s. The window is therefore learnt per
//! job, like TCP Vegas or Netflix's gradient limiter, from what each answered batch shows:
//!
//! - **Grow** while more work is waiting than the window lets out, the batch's latency has not
//!   climbed, and the throttle gate did not hold it (when the gate paces, a larger window only
//!   queues at the gate: throughput has stopped rising). Growth doubles the window per round trip
//!   until the first sign of trouble (slow start), then adds about `2 * sqrt(window)` per round trip.
//! - **Shrink** when latency climbs (the recent round trip over [`TOLERANCE`] times the long-run
//!   one) or Graph answers 429, at most once per round trip.
//!
//! The window never exceeds the job's `-ThrottleLimit` (an upper bound, not the working value) and
//! never goes below one batch. It does not keep the job under Graph's budget: the throttle gate
//! does that; the window only makes sure the round trip is not what limits the rate.

use std::time::Duration;

use tokio::time::Instant;

use super::batch::MAX_BATCH;

/// Where the window starts when the connection has seen no round trip yet ([`InFlightWindow::seed`]
/// sizes it from one otherwise): twenty-five batches, enough for Graph's documented 800 reads a
/// second at a 625 ms round trip. Graph counts its budget in a sliding window, so however slowly the
/// first window's requests go out, every later window repeats it (a unit can go out only when the
/// one sent 10 s earlier leaves): at a 1 s round trip, starting at 10 batches cost about five
/// round trips of ramp in every window.
pub const INITIAL_WINDOW: usize = 25 * MAX_BATCH;

/// How far the recent round trip may rise over the long-run one before the window shrinks. Batch
/// round trips are heavy-tailed (a batch takes as long as its slowest request), so ordinary
/// variation must not read as congestion.
pub const TOLERANCE: f64 = 2.0;

/// Weight of a new sample in the recent and the long-run round trip.
const RECENT_WEIGHT: f64 = 0.2;
const LONG_RUN_WEIGHT: f64 = 0.02;
/// What a 429 leaves of the window.
const THROTTLED_FACTOR: f64 = 0.7;

/// What one answered `$batch` tells the window.
#[derive(Debug, Clone, Copy)]
pub struct BatchSample {
    /// Sub-requests the batch carried.
    pub size: usize,
    /// Time on the wire for the answering try.
    pub round_trip: Duration,
    /// Time the throttle gate held the batch before it left.
    pub gate_wait: Duration,
    /// Whether Graph answered any of its sub-requests 429.
    pub throttled: bool,
}

#[derive(Debug)]
pub struct InFlightWindow {
    limit: f64,
    max: f64,
    min: f64,
    slow_start: bool,
    recent: Option<f64>,
    long_run: Option<f64>,
    last_cut: Option<Instant>,
    peak: f64,
}

impl InFlightWindow {
    /// A window bounded by `throttle_limit` sub-requests (at least one batch of `min`).
    pub fn new(throttle_limit: usize, min: usize) -> InFlightWindow {
        let max = throttle_limit.max(1) as f64;
        let min = (min.max(1) as f64).min(max);
        let limit = (INITIAL_WINDOW as f64).clamp(min, max);
        InFlightWindow { limit, max, min, slow_start: true, recent: None, long_run: None, last_cut: None, peak: limit }
    }

    /// Sub-requests that may be outstanding now.
    pub fn limit(&self) -> usize {
        self.limit as usize
    }

    /// The largest the window has been.
    pub fn peak(&self) -> usize {
        self.peak as usize
    }

    /// Sizes a window that has had no answer yet from what the job knows before its first batch:
    /// the connection's latest `round_trip` (a users page, usually) and the most units the
    /// throttle gate lets out in the first second (`rate`, per second). By Little's law the window
    /// must hold `rate` times the batches' round trip for the round trip not to be what limits the
    /// first second, and the first second matters in every later one: a unit can go out only when
    /// the one sent a window earlier leaves. A `$batch` takes as long as its slowest request, so
    /// its round trip runs up to [`TOLERANCE`] times a single request's before it reads as
    /// congestion: the window starts at `rate * round_trip * TOLERANCE`, never below
    /// [`INITIAL_WINDOW`] (a short round trip says nothing against it) nor above its bound.
    /// Measured with 24,000 users at 20 ms, four of five runs drew no 429 and one drew 0.13 %;
    /// a fixed 75 batches, before the gate spread its bursts, drew 0.65 % (BENCHMARKS.md).
    pub fn seed(&mut self, round_trip: Duration, rate: f64) {
        if self.recent.is_some() {
            return;
        }
        let wanted = rate * round_trip.as_secs_f64() * TOLERANCE;
        self.limit = self.limit.max(wanted).clamp(self.min, self.max);
        self.peak = self.peak.max(self.limit);
    }

    /// Learns from one answered batch. `waiting` says whether work was waiting for room in the
    /// window when the answer came (otherwise the window was not what limited the rate).
    pub fn on_answer(&mut self, sample: BatchSample, waiting: bool, now: Instant) {
        let round_trip = sample.round_trip.as_secs_f64().max(1e-4);
        let recent = self.recent.map_or(round_trip, |r| r + RECENT_WEIGHT * (round_trip - r));
        let long_run = self.long_run.map_or(round_trip, |l| l + LONG_RUN_WEIGHT * (round_trip - l));
        self.recent = Some(recent);
        self.long_run = Some(long_run);
        let gradient = TOLERANCE * long_run / recent;
        if sample.throttled {
            self.cut(THROTTLED_FACTOR, now, recent);
        } else if gradient < 1.0 {
            self.cut(gradient.max(0.5), now, recent);
        } else if waiting && sample.gate_wait.as_secs_f64() < round_trip / 4.0 {
            let size = sample.size as f64;
            let growth = if self.slow_start { size } else { 2.0 * size / self.limit.sqrt() };
            self.limit = (self.limit + growth).min(self.max);
            self.peak = self.peak.max(self.limit);
        }
    }

    fn cut(&mut self, factor: f64, now: Instant, recent: f64) {
        self.slow_start = false;
        // Answers of batches sent before the last cut say nothing about the window after it.
        if self.last_cut.is_some_and(|at| now.duration_since(at).as_secs_f64() < recent) {
            return;
        }
        self.last_cut = Some(now);
        self.limit = (self.limit * factor).max(self.min);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(ms: u64) -> BatchSample {
        BatchSample {
            size: MAX_BATCH,
            round_trip: Duration::from_millis(ms),
            gate_wait: Duration::ZERO,
            throttled: false,
        }
    }

    /// Feeds one round trip's worth of answers (one per batch in the window).
    fn round(window: &mut InFlightWindow, now: &mut Instant, ms: u64, waiting: bool) {
        for _ in 0..window.limit() / MAX_BATCH {
            window.on_answer(sample(ms), waiting, *now);
        }
        *now += Duration::from_millis(ms);
    }

    #[test]
    fn grows_to_what_the_round_trip_needs_within_a_few_round_trips() {
        // 800 sub-requests a second at 2 s per batch need 1,600 in flight.
        let mut window = InFlightWindow::new(5000, MAX_BATCH);
        let mut now = Instant::now();
        for _ in 0..4 {
            round(&mut window, &mut now, 2000, true);
        }
        assert!(window.limit() >= 1600, "{}", window.limit());
    }

    #[test]
    fn a_window_starts_from_the_round_trip_the_connection_has_seen() {
        // 1,900 units a second (about a quarter of the read window) at a 1.2 s users page, batches
        // taking up to twice that: 4,560 in flight.
        let mut window = InFlightWindow::new(5000, MAX_BATCH);
        window.seed(Duration::from_millis(1200), 1900.0);
        assert_eq!(window.limit(), 4560);
        let mut short = InFlightWindow::new(5000, MAX_BATCH);
        short.seed(Duration::from_millis(20), 1900.0);
        assert_eq!(short.limit(), INITIAL_WINDOW, "a short round trip never starts it smaller");
        let mut bounded = InFlightWindow::new(1000, MAX_BATCH);
        bounded.seed(Duration::from_secs(2), 1900.0);
        assert_eq!(bounded.limit(), 1000, "-ThrottleLimit bounds the start too");
        let mut answered = InFlightWindow::new(5000, MAX_BATCH);
        answered.on_answer(sample(300), false, Instant::now());
        answered.seed(Duration::from_secs(2), 1900.0);
        assert_eq!(answered.limit(), INITIAL_WINDOW, "answers, not the guess, size a window in use");
    }

    #[test]
    fn the_throttle_limit_is_an_upper_bound() {
        assert_eq!(InFlightWindow::new(300, MAX_BATCH).limit(), 300, "it starts at most at the bound");
        let mut window = InFlightWindow::new(1300, MAX_BATCH);
        assert_eq!(window.limit(), INITIAL_WINDOW);
        let mut now = Instant::now();
        for _ in 0..10 {
            round(&mut window, &mut now, 300, true);
        }
        assert_eq!(window.limit(), 1300);
        assert_eq!(InFlightWindow::new(5, 5).limit(), 5);
    }

    #[test]
    fn does_not_grow_when_the_window_is_not_what_limits() {
        let mut window = InFlightWindow::new(5000, MAX_BATCH);
        let mut now = Instant::now();
        round(&mut window, &mut now, 300, false);
        assert_eq!(window.limit(), INITIAL_WINDOW, "nothing was waiting for room");
        let paced = BatchSample { gate_wait: Duration::from_secs(2), ..sample(300) };
        window.on_answer(paced, true, now);
        assert_eq!(window.limit(), INITIAL_WINDOW, "the gate held the batch: its pacing limits the rate");
    }

    #[test]
    fn heavy_tailed_round_trips_are_not_congestion() {
        let mut window = InFlightWindow::new(5000, MAX_BATCH);
        let mut now = Instant::now();
        for i in 0..400u64 {
            // About half the batches hold a slow request: 1.6x the fast ones.
            let ms = if i % 2 == 0 { 300 } else { 480 };
            window.on_answer(sample(ms), true, now);
            now += Duration::from_millis(5);
        }
        assert_eq!(window.limit(), 5000, "grew to the bound without a cut");
    }

    #[test]
    fn shrinks_when_latency_climbs_or_graph_throttles_once_per_round_trip() {
        let mut window = InFlightWindow::new(5000, MAX_BATCH);
        let mut now = Instant::now();
        for _ in 0..2 {
            round(&mut window, &mut now, 300, true);
        }
        let grown = window.limit();
        assert_eq!(grown, 4 * INITIAL_WINDOW, "slow start doubles per round trip");
        for _ in 0..30 {
            window.on_answer(sample(3000), true, now);
        }
        let after_climb = window.limit();
        assert!(after_climb < grown && after_climb >= grown / 2, "{after_climb}");
        now += Duration::from_secs(10);
        let throttled = BatchSample { throttled: true, ..sample(300) };
        window.on_answer(throttled, true, now);
        window.on_answer(throttled, true, now);
        assert_eq!(window.limit(), (after_climb as f64 * THROTTLED_FACTOR) as usize, "one cut per round trip");
        for _ in 0..200 {
            now += Duration::from_secs(10);
            window.on_answer(throttled, true, now);
        }
        assert_eq!(window.limit(), MAX_BATCH, "never below one batch");
    }
}
