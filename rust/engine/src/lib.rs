//! PerUserMfa engine: everything the PowerShell module does over the network.
//!
//! Layers, bottom to top (each uses only those below it; docs/ARCHITECTURE.md):
//! - domain: [`model`], [`error`], [`utc`], [`secret`], [`bulk`] (the rule that decides each
//!   PATCH), [`options`] (what the host passes in);
//! - [`graph`]: the request pipeline (auth, shared throttle gate, retry, `$batch`, paging);
//! - [`signin`]: turns the session's sign-in options into a refreshing credential;
//! - [`journal`]: the append-only record of a bulk change;
//! - [`events`] and [`progress`]: what a job sends to the host;
//! - [`job`]: one cmdlet invocation (pushed input in, JSON events out, cancellable) on the
//!   session's [`runtime`]; it runs whatever operation it is handed;
//! - [`ops`]: the operations (read states, the detailed report, plan and apply bulk changes,
//!   read a journal) and the table that maps a request to one;
//! - [`session`] (one connection; hands the operation table to its jobs) and [`ffi`], the only C
//!   ABI surface (opaque handles, owned buffers, no panics across).

pub mod bulk;
pub mod error;
pub mod events;
pub mod ffi;
pub mod graph;
pub mod job;
pub mod journal;
pub mod model;
pub mod ops;
pub mod options;
pub mod progress;
pub mod runtime;
pub mod secret;
pub mod session;
pub mod signin;
pub mod utc;

/// Module name and version, sent in every request's User-Agent.
pub const ENGINE_VERSION: &str = env!("CARGO_PKG_VERSION");
