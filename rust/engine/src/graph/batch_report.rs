//! What the `$batch` path tells `-Verbose`: how requests go out (batch size, the in-flight
//! window and its bound), every [`REPORT_EVERY`] the batches sent so far, a clear change of the
//! window, and a last line with the totals when the job's batcher stops. One line per batch would
//! be thousands of lines for a large tenant; these say what a user debugging a slow run needs:
//! whether batches are full, how many are retried, and how far the window opened.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::Notify;

/// How often the running figures are told while batches go out.
pub const REPORT_EVERY: Duration = Duration::from_secs(10);
/// The shortest time between two lines about the window.
const WINDOW_NEWS_EVERY: Duration = Duration::from_secs(5);

pub struct BatchReport {
    notify: Arc<dyn Notify>,
    max_batch: usize,
    throttle_limit: usize,
    batches: u64,
    sub_requests: u64,
    retried: u64,
    peak_window: usize,
    told_window: usize,
    told_batches: u64,
    last_report: Option<Instant>,
    last_window_news: Option<Instant>,
}

impl BatchReport {
    pub fn new(notify: Arc<dyn Notify>, max_batch: usize, throttle_limit: usize) -> BatchReport {
        BatchReport {
            notify,
            max_batch,
            throttle_limit,
            batches: 0,
            sub_requests: 0,
            retried: 0,
            peak_window: 0,
            told_window: 0,
            told_batches: 0,
            last_report: None,
            last_window_news: None,
        }
    }

    /// A batch of `size` sub-requests left, with the window at `window`.
    pub fn sent(&mut self, size: usize, window: usize, now: Instant) {
        if self.batches == 0 {
            self.notify.verbose(format!(
                "Sending per-user requests in $batch requests of up to {} sub-requests; at first {} sub-requests in \
                 flight, a window that follows the round trip, at most {} (-ThrottleLimit).",
                self.max_batch, window, self.throttle_limit
            ));
            self.last_report = Some(now);
            self.last_window_news = Some(now);
            self.told_window = window;
        }
        self.batches += 1;
        self.sub_requests += size as u64;
        self.peak_window = self.peak_window.max(window);
    }

    /// `count` sub-requests of an answered batch are to be sent again.
    pub fn retrying(&mut self, count: usize) {
        self.retried += count as u64;
    }

    /// Called as the loop goes round: tells the running figures every [`REPORT_EVERY`], and a
    /// window that halved or doubled since it was last told.
    pub fn tick(&mut self, window: usize, now: Instant) {
        self.peak_window = self.peak_window.max(window);
        if self.batches == 0 {
            return;
        }
        let changed = window * 2 <= self.told_window || window >= self.told_window * 2;
        if changed && self.last_window_news.is_none_or(|at| now.duration_since(at) >= WINDOW_NEWS_EVERY) {
            self.notify.verbose(format!(
                "The $batch in-flight window is now {window} sub-requests (it was {}): it {} with the round trip and \
                 Graph's answers.",
                self.told_window,
                if window > self.told_window { "grew" } else { "shrank" }
            ));
            self.told_window = window;
            self.last_window_news = Some(now);
        }
        if self.batches > self.told_batches && self.last_report.is_none_or(|at| now.duration_since(at) >= REPORT_EVERY)
        {
            self.notify.verbose(format!("$batch so far: {}; in-flight window {window}.", self.figures()));
            self.told_batches = self.batches;
            self.last_report = Some(now);
        }
    }

    fn figures(&self) -> String {
        format!(
            "{} sent carrying {} sub-requests ({:.1} per batch), {} sub-requests retried",
            self.batches,
            self.sub_requests,
            self.sub_requests as f64 / self.batches.max(1) as f64,
            self.retried
        )
    }
}

impl Drop for BatchReport {
    /// The batcher stops when its job is done (or ends): the totals, once.
    fn drop(&mut self) {
        if self.batches > 0 {
            self.notify.verbose(format!(
                "$batch in all: {}; the in-flight window peaked at {}.",
                self.figures(),
                self.peak_window
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct Lines(Mutex<Vec<String>>);

    impl Notify for Lines {
        fn verbose(&self, message: String) {
            self.0.lock().unwrap().push(message);
        }
    }

    #[test]
    fn says_how_batches_go_out_then_every_ten_seconds_and_the_totals_at_the_end() {
        let lines = Arc::new(Lines::default());
        let start = Instant::now();
        let mut report = BatchReport::new(lines.clone(), 20, 5000);
        report.sent(20, 200, start);
        report.sent(20, 200, start);
        report.sent(7, 200, start + Duration::from_secs(1));
        report.retrying(2);
        report.tick(220, start + Duration::from_secs(2));
        assert_eq!(lines.0.lock().unwrap().len(), 1, "nothing more before ten seconds");
        report.tick(240, start + Duration::from_secs(11));
        report.tick(240, start + Duration::from_secs(12));
        report.tick(600, start + Duration::from_secs(13));
        drop(report);
        let lines = lines.0.lock().unwrap().clone();
        assert_eq!(lines.len(), 4, "{lines:#?}");
        assert!(
            lines[0].starts_with("Sending per-user requests in $batch requests of up to 20 sub-requests; at first 200")
        );
        assert!(lines[0].contains("at most 5000 (-ThrottleLimit)"), "{}", lines[0]);
        assert_eq!(
            lines[1],
            "$batch so far: 3 sent carrying 47 sub-requests (15.7 per batch), 2 sub-requests retried; in-flight window 240."
        );
        assert!(lines[2].starts_with("The $batch in-flight window is now 600 sub-requests (it was 200): it grew"));
        assert_eq!(
            lines[3],
            "$batch in all: 3 sent carrying 47 sub-requests (15.7 per batch), 2 sub-requests retried; the in-flight window peaked at 600."
        );
    }

    #[test]
    fn a_batcher_that_sent_nothing_says_nothing() {
        let lines = Arc::new(Lines::default());
        let mut report = BatchReport::new(lines.clone(), 20, 5000);
        report.tick(200, Instant::now());
        drop(report);
        assert!(lines.0.lock().unwrap().is_empty());
    }
}
