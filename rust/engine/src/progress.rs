//! Progress of a job: done/total, rate and time left, sampled for `Write-Progress`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use crate::events::Event;

pub struct Progress {
    activity: String,
    started: Instant,
    completed: AtomicU64,
    total: AtomicU64,
    total_known: AtomicBool,
    /// When the job expects to finish, if the operation knows better than the average rate
    /// (bulk changes paced to Graph's write budget), and a note for the status line.
    finish: Mutex<Option<(Instant, String)>>,
    /// Users come from the host's pipeline (not a listing): an unknown total means more input.
    input_fed: AtomicBool,
    /// What the job is doing, when its activity alone does not say (a resumed run re-reading the
    /// states of the journal's users).
    phase: Mutex<Option<String>>,
}

impl Progress {
    pub fn new(activity: impl Into<String>) -> Progress {
        Progress {
            activity: activity.into(),
            started: Instant::now(),
            completed: AtomicU64::new(0),
            total: AtomicU64::new(0),
            total_known: AtomicBool::new(false),
            finish: Mutex::new(None),
            input_fed: AtomicBool::new(false),
            phase: Mutex::new(None),
        }
    }

    pub fn add_completed(&self, n: u64) {
        self.completed.fetch_add(n, Ordering::Relaxed);
    }

    /// Sets the total once it is known (the listing's `@odata.count`, or input closed).
    pub fn set_total(&self, total: u64) {
        self.total.store(total, Ordering::Relaxed);
        self.total_known.store(true, Ordering::Relaxed);
    }

    /// Grows the running total while input is still arriving (once the total is known, it stays).
    pub fn add_pending(&self, n: u64) {
        if !self.total_known.load(Ordering::Relaxed) {
            self.total.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// The job's users come from the host's pipeline: while their total is unknown, the status
    /// says more are coming (not that a listing goes on).
    pub fn expect_input(&self) {
        self.input_fed.store(true, Ordering::Relaxed);
    }

    /// Says in the status what the job is doing.
    pub fn set_phase(&self, phase: impl Into<String>) {
        *self.phase.lock().unwrap() = Some(phase.into());
    }

    /// The operation's own estimate of when it finishes, with a note for the status line
    /// (replaces the estimate from the average rate).
    pub fn set_finish_estimate(&self, at: Instant, note: impl Into<String>) {
        *self.finish.lock().unwrap() = Some((at, note.into()));
    }

    pub fn snapshot(&self) -> Event {
        let completed = self.completed.load(Ordering::Relaxed);
        let total = self.total_known.load(Ordering::Relaxed).then(|| self.total.load(Ordering::Relaxed).max(completed));
        let elapsed = self.started.elapsed().as_secs_f64();
        let rate = if elapsed > 0.0 { completed as f64 / elapsed } else { 0.0 };
        let mut seconds_remaining = match total {
            Some(total) if rate > 0.5 => Some(((total - completed) as f64 / rate).ceil() as u64),
            _ => None,
        };
        let mut status = match total {
            Some(total) => format!("{completed} of {total} users, {rate:.0}/s"),
            None if self.input_fed.load(Ordering::Relaxed) => {
                format!("{completed} users, {rate:.0}/s (more are coming from the pipeline)")
            }
            None => format!("{completed} users, {rate:.0}/s (still listing)"),
        };
        if let Some(phase) = self.phase.lock().unwrap().as_ref() {
            // A job with no users of its own (an estimate) says only what it does.
            status = if total == Some(0) { phase.clone() } else { format!("{phase}: {status}") };
        }
        if let Some((at, note)) = self.finish.lock().unwrap().as_ref() {
            if total.is_some_and(|total| completed < total) {
                seconds_remaining = Some(at.saturating_duration_since(Instant::now()).as_secs_f64().ceil() as u64);
            }
            if !note.is_empty() {
                status = format!("{status}, {note}");
            }
        }
        Event::Progress {
            activity: self.activity.clone(),
            completed,
            total,
            rate_per_second: (rate * 10.0).round() / 10.0,
            seconds_remaining,
            status,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_unknown_until_set() {
        let p = Progress::new("Reading");
        p.add_completed(3);
        match p.snapshot() {
            Event::Progress { total, completed, seconds_remaining, .. } => {
                assert_eq!(total, None);
                assert_eq!(completed, 3);
                assert_eq!(seconds_remaining, None);
            }
            _ => unreachable!(),
        }
        p.set_total(10);
        match p.snapshot() {
            Event::Progress { total, .. } => assert_eq!(total, Some(10)),
            _ => unreachable!(),
        }
    }

    #[test]
    fn input_from_the_pipeline_is_not_a_listing_and_a_phase_says_what_the_job_does() {
        let p = Progress::new("Reading per-user MFA states before changing them");
        p.expect_input();
        p.add_pending(2);
        let status = |p: &Progress| match p.snapshot() {
            Event::Progress { status, total, .. } => (status, total),
            _ => unreachable!(),
        };
        let (text, total) = status(&p);
        assert!(text.ends_with("(more are coming from the pipeline)"), "{text}");
        assert!(!text.contains("still listing"), "{text}");
        assert_eq!(total, None);
        p.set_total(4277);
        p.add_pending(4277);
        p.set_phase("Re-reading the current state of 4,277 users from the journal");
        let (text, total) = status(&p);
        assert_eq!(total, Some(4277), "a known total does not grow with more input");
        assert!(
            text.starts_with("Re-reading the current state of 4,277 users from the journal: 0 of 4277 users"),
            "{text}"
        );
    }

    #[test]
    fn an_operations_own_estimate_replaces_the_average_rate() {
        let p = Progress::new("Changing");
        p.set_total(10);
        p.add_completed(2);
        p.set_finish_estimate(Instant::now() + std::time::Duration::from_secs(90), "paced to Graph's write budget");
        match p.snapshot() {
            Event::Progress { seconds_remaining, status, .. } => {
                assert!(matches!(seconds_remaining, Some(89..=90)), "{seconds_remaining:?}");
                assert!(status.ends_with("paced to Graph's write budget"), "{status}");
            }
            _ => unreachable!(),
        }
    }
}
