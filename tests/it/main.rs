//! The integration tests: one binary (one link step, one process), one module per area.
//!
//! `common` is the harness ([`common::TestApp`]: an in-process sandbox, a real HRIS and state
//! database in a temp dir, and the one builder that starts `nmbrs-sync` for a test). Its
//! `common/setup.rs` is also compiled into `benches/sync_bench.rs`, so the bench and the tests
//! set up the sandbox, the HRIS table and the binary's configuration the same way.
//!
//! All tests share this process: a test never changes the process environment, the working
//! directory or any other global; whatever a child process needs is passed to that child.
//! Run one area with `cargo test --test it crash::`.

mod common;

mod authorize;
mod backends;
mod bench_smoke;
mod crash;
mod daemon;
mod deploy_configs;
mod faults;
mod first_hour;
mod hostile_input;
mod incremental;
mod log_hygiene;
mod lost_update;
mod privacy;
mod read_only;
mod real_api;
mod resources;
mod sdk_reads;
mod secrets;
mod sync_cycle;
