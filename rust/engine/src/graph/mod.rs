//! The Graph request pipeline, as small policies in the order a request meets them:
//! pacing through the shared [`throttle::ThrottleGate`], bearer auth and request ids
//! ([`client`]), retries of 429/503/504 and broken connections ([`retry`]), and
//! `$batch` bundling of per-user requests ([`batch`]).

pub mod auth;
pub mod batch;
pub mod client;
pub mod paths;
pub mod retry;
pub mod throttle;

/// Where the pipeline reports why it waited; the job turns these into `-Verbose` lines.
pub trait Notify: Send + Sync {
    fn verbose(&self, message: String);
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
