//! PerUserMfa engine: everything the PowerShell module does over the network.
//!
//! - [`ffi`] is the only C ABI surface (opaque handles, owned buffers, no panics across).
//! - [`session`] owns a tokio runtime and the Graph HTTP pipeline for one connection.
//! - [`job`] is one cmdlet invocation: pushed input in, JSON events out, cancellable.
//! - [`graph`] is the request pipeline (auth, shared throttle gate, retry, `$batch`, paging).
//! - [`signin`] turns the session's sign-in options into a refreshing credential (azure_identity).
//! - [`ops`] holds the operations jobs run (read states, change states, plan and apply bulk changes).
//! - [`journal`] is the append-only record of a bulk change; [`bulk`] the rule that decides each PATCH.

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
