//! The simulator's integration tests, one module per file, linked into one test binary (one link
//! instead of one per file). Run one file's tests with `cargo test -p graph-sim --test it <file>::`.

mod common;

mod api;
mod ca;
mod reports;
mod schema;
mod signin;
mod throughput;
