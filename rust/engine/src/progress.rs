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

    /// Grows the running total while input is still arriving.
    pub fn add_pending(&self, n: u64) {
        self.total.fetch_add(n, Ordering::Relaxed);
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
            None => format!("{completed} users, {rate:.0}/s (still listing)"),
        };
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
