//! Graph's budget for Conditional Access resources (policies, named locations, What-If): one
//! request per second per tenant, across all apps. Its 429s carry no `Retry-After`.

use std::time::{Duration, Instant};

use parking_lot::Mutex;

const SPAN: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct CaBudget {
    last: Mutex<Option<Instant>>,
}

impl CaBudget {
    /// True when a request arriving `now` fits the budget (and is counted).
    pub fn admit(&self, now: Instant) -> bool {
        let mut last = self.last.lock();
        match *last {
            Some(previous) if now.saturating_duration_since(previous) < SPAN => false,
            _ => {
                *last = Some(now);
                true
            }
        }
    }

    pub fn clear(&self) {
        *self.last.lock() = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_request_per_second() {
        let budget = CaBudget::default();
        let start = Instant::now();
        assert!(budget.admit(start));
        assert!(!budget.admit(start + Duration::from_millis(999)));
        assert!(budget.admit(start + Duration::from_millis(1000)));
        budget.clear();
        assert!(budget.admit(start + Duration::from_millis(1001)));
    }
}
