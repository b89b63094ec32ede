//! The Graph request pipeline, in the order a request meets it: pacing and pauses per budget
//! through the session's [`throttle::ThrottleGate`], bearer auth, request ids and a bounded body
//! ([`client`]), the retry policy ([`retry`]), and `$batch` bundling of per-user requests with an
//! adaptive in-flight window ([`batch`], [`window`]).

pub mod auth;
pub mod batch;
pub mod batch_report;
pub mod client;
pub mod paths;
pub mod retry;
pub mod throttle;
pub mod window;

/// The job a request belongs to, as the pipeline sees it: where it reports why it waited (the job
/// turns these into `-Verbose` lines), and which job a `Retry-After` pause belongs to.
pub trait Notify: Send + Sync {
    fn verbose(&self, message: String);

    /// Identifies the job, so the throttle gate can end the pauses it caused when it ends
    /// (`ThrottleGate::end_pauses_of`). 0: no particular job.
    fn job_id(&self) -> u64 {
        0
    }
}

/// Graph API versions the engine calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    V1,
    Beta,
}

impl ApiVersion {
    pub fn segment(self) -> &'static str {
        match self {
            ApiVersion::V1 => "v1.0",
            ApiVersion::Beta => "beta",
        }
    }
}
