//! Graph's separate, much stricter limits for report data, per application in this one tenant:
//!
//! | budget | limit |
//! |---|---|
//! | `reports/authenticationMethods/*` | 5 requests per 10 s |
//! | `auditLogs/signIns` | 5 requests per 10 s |
//! | users listings that select `signInActivity` | 10 requests per 60 s |
//! | `users/{id}/authentication/methods` | `methodsBudget` per 10 s, when set (Graph documents none) |
//!
//! Sliding windows of request arrivals; a request that does not fit is refused (429) without
//! counting, with `Retry-After` = whole seconds until the oldest entry leaves the window.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportBudget {
    Reports,
    SignInLogs,
    SignInActivity,
    /// `/users/{id}/authentication/methods`, with the configured limit.
    Methods(usize),
}

impl ReportBudget {
    pub fn limit(self) -> usize {
        match self {
            ReportBudget::Reports | ReportBudget::SignInLogs => 5,
            ReportBudget::SignInActivity => 10,
            ReportBudget::Methods(limit) => limit.max(1),
        }
    }

    pub fn window(self) -> Duration {
        match self {
            ReportBudget::Reports | ReportBudget::SignInLogs | ReportBudget::Methods(_) => Duration::from_secs(10),
            ReportBudget::SignInActivity => Duration::from_secs(60),
        }
    }

    /// The family its Retry-After pauses.
    pub fn family(self) -> crate::throttle::Family {
        use crate::throttle::Family;
        match self {
            ReportBudget::Reports => Family::Reports,
            ReportBudget::SignInLogs => Family::SignInLogs,
            ReportBudget::SignInActivity => Family::SignInActivity,
            ReportBudget::Methods(_) => Family::Methods,
        }
    }

    /// `x-ms-throttle-information` of a refusal.
    pub fn information(self) -> &'static str {
        match self {
            ReportBudget::Reports => "ReportsLimitExceeded",
            ReportBudget::SignInLogs => "SignInLogsLimitExceeded",
            ReportBudget::SignInActivity => "SignInActivityLimitExceeded",
            ReportBudget::Methods(_) => "AuthenticationMethodsLimitExceeded",
        }
    }
}

#[derive(Default)]
pub struct ReportThrottle {
    windows: Mutex<HashMap<(String, crate::throttle::Family), VecDeque<Instant>>>,
}

impl ReportThrottle {
    pub fn clear(&self) {
        self.windows.lock().clear();
    }

    /// `Ok(())` and counted, or `Err(retry_after_secs)`.
    pub fn admit(&self, app: &str, budget: ReportBudget, now: Instant) -> Result<(), u64> {
        let mut windows = self.windows.lock();
        let log = windows.entry((app.to_owned(), budget.family())).or_default();
        let span = budget.window();
        while log.front().is_some_and(|&at| now.duration_since(at) >= span) {
            log.pop_front();
        }
        if log.len() >= budget.limit() {
            let oldest = *log.front().expect("a full window has entries");
            let wait = (oldest + span).saturating_duration_since(now);
            return Err((wait.as_secs_f64().ceil() as u64).max(1));
        }
        log.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_per_ten_seconds_then_429() {
        let t = ReportThrottle::default();
        let t0 = Instant::now();
        for i in 0..5 {
            assert!(t.admit("a", ReportBudget::Reports, t0 + Duration::from_millis(i * 10)).is_ok());
        }
        assert_eq!(t.admit("a", ReportBudget::Reports, t0 + Duration::from_secs(1)), Err(9));
        // Separate budgets and apps.
        assert!(t.admit("a", ReportBudget::SignInLogs, t0).is_ok());
        assert!(t.admit("b", ReportBudget::Reports, t0).is_ok());
        assert!(t.admit("a", ReportBudget::Reports, t0 + Duration::from_secs(10)).is_ok());
        for _ in 0..10 {
            assert!(t.admit("a", ReportBudget::SignInActivity, t0).is_ok());
        }
        assert_eq!(t.admit("a", ReportBudget::SignInActivity, t0 + Duration::from_secs(30)), Err(30));
    }
}
