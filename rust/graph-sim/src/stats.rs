//! Counters the tests and benchmarks read from `GET /_sim/stats`.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

#[derive(Default)]
pub struct Stats {
    /// Top-level HTTP requests to Graph routes (a `$batch` envelope counts once).
    pub requests: AtomicU64,
    pub batch_envelopes: AtomicU64,
    pub sub_requests: AtomicU64,
    /// Users list pages answered 200.
    pub list_pages: AtomicU64,
    /// Requirements GETs answered 200.
    pub requirements_gets: AtomicU64,
    /// Requirements PATCHes answered 204.
    pub patches: AtomicU64,
    /// 429 answers, top-level and inside batches.
    pub throttled_429: AtomicU64,
    /// Requests and sub-requests that arrived while their app's last Retry-After still ran.
    pub sent_during_retry_after: AtomicU64,
    pub faults_503: AtomicU64,
    pub faults_504: AtomicU64,
    pub dropped: AtomicU64,
    pub in_flight: AtomicU64,
    pub max_in_flight: AtomicU64,
    /// Requests to the sign-in routes (Entra ID token endpoint, managed identity endpoints).
    pub token_requests: AtomicU64,
    /// Tokens those routes issued.
    pub tokens_issued: AtomicU64,
    /// Requests (and sub-requests) to the report sources, answered or not: registration
    /// details, the sign-in logs, and users reads that select signInActivity.
    pub registration_requests: AtomicU64,
    pub sign_in_log_requests: AtomicU64,
    pub sign_in_activity_requests: AtomicU64,
    /// Requests for directory membership (a group, its transitive members, role assignments): what
    /// a migration check spends per referenced group or role.
    pub membership_requests: AtomicU64,
    /// Requests to the CA budget's resources (policies, named locations, What-If) answered 429.
    pub ca_throttled_429: AtomicU64,
    /// What-If (`evaluate`) requests, answered or not.
    pub what_if_requests: AtomicU64,
}

/// A point-in-time copy, serialised as the `/_sim/stats` body.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct StatsSnapshot {
    pub requests: u64,
    pub batch_envelopes: u64,
    pub sub_requests: u64,
    pub list_pages: u64,
    pub requirements_gets: u64,
    pub patches: u64,
    #[serde(rename = "throttled429")]
    pub throttled_429: u64,
    pub sent_during_retry_after: u64,
    #[serde(rename = "faults503")]
    pub faults_503: u64,
    #[serde(rename = "faults504")]
    pub faults_504: u64,
    pub dropped: u64,
    pub max_in_flight: u64,
    pub token_requests: u64,
    pub tokens_issued: u64,
    pub registration_requests: u64,
    pub sign_in_log_requests: u64,
    pub sign_in_activity_requests: u64,
    pub membership_requests: u64,
    #[serde(rename = "caThrottled429")]
    pub ca_throttled_429: u64,
    pub what_if_requests: u64,
}

pub fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Stats {
    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            requests: get(&self.requests),
            batch_envelopes: get(&self.batch_envelopes),
            sub_requests: get(&self.sub_requests),
            list_pages: get(&self.list_pages),
            requirements_gets: get(&self.requirements_gets),
            patches: get(&self.patches),
            throttled_429: get(&self.throttled_429),
            sent_during_retry_after: get(&self.sent_during_retry_after),
            faults_503: get(&self.faults_503),
            faults_504: get(&self.faults_504),
            dropped: get(&self.dropped),
            max_in_flight: get(&self.max_in_flight),
            token_requests: get(&self.token_requests),
            tokens_issued: get(&self.tokens_issued),
            registration_requests: get(&self.registration_requests),
            sign_in_log_requests: get(&self.sign_in_log_requests),
            sign_in_activity_requests: get(&self.sign_in_activity_requests),
            membership_requests: get(&self.membership_requests),
            ca_throttled_429: get(&self.ca_throttled_429),
            what_if_requests: get(&self.what_if_requests),
        }
    }

    /// Zeroes every counter (requests still in flight keep being tracked).
    pub fn reset(&self) {
        for counter in [
            &self.requests,
            &self.batch_envelopes,
            &self.sub_requests,
            &self.list_pages,
            &self.requirements_gets,
            &self.patches,
            &self.throttled_429,
            &self.sent_during_retry_after,
            &self.faults_503,
            &self.faults_504,
            &self.dropped,
            &self.token_requests,
            &self.tokens_issued,
            &self.registration_requests,
            &self.sign_in_log_requests,
            &self.membership_requests,
            &self.sign_in_activity_requests,
            &self.ca_throttled_429,
            &self.what_if_requests,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
        self.max_in_flight.store(self.in_flight.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    /// Marks a top-level request in flight until the guard drops.
    pub fn enter(&self) -> InFlight<'_> {
        let now = self.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        self.max_in_flight.fetch_max(now, Ordering::Relaxed);
        InFlight { stats: self }
    }
}

pub struct InFlight<'a> {
    stats: &'a Stats,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.stats.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}
