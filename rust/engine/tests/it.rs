//! The engine's integration tests, one module per file, linked into one test binary: with the
//! release profile's LTO each test binary costs a long link, and CI paid it once per file.
//! Run one file's tests with `cargo test -p perusermfa-engine --test it <file>::`.
//! Two files stay binaries of their own because they measure the whole process: `ffi_cycles.rs`
//! (live heap bytes, through its own global allocator) and `cpu_use.rs` (CPU time).

mod common;

mod broken_answers;
mod bulk_changes;
mod engine_against_sim;
mod graph_conditions;
mod listing_ranges;
mod migration;
mod report;
mod report_per_user;
mod schema_fallbacks;
mod signin_against_sim;
