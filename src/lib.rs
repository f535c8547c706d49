//! nmbrs-sync keeps an HRIS table and Visma Nmbrs payroll in agreement.
//!
//! The data flow of one cycle, one module per step:
//! [`hris`] (read the HRIS table) → [`nmbrs`] (read Nmbrs) → [`plan`] (decide, pure) →
//! `apply` (write with retries) → [`state`] (links, snapshots, audit). [`sync`] runs a cycle.
//! The pure core is [`fields`], [`record`] and [`plan`]. `docs/architecture.md` has the module map.
//!
//! Modules the binary, the integration tests and the benchmark use are `pub`; the rest are
//! `pub(crate)`.

pub(crate) mod apply;
pub mod commands;
pub mod config;
pub(crate) mod daemon;
pub mod db;
pub(crate) mod doctor;
pub mod failpoint;
pub mod fields;
pub mod hris;
pub(crate) mod metrics_http;
pub mod nmbrs;
pub mod plan;
pub mod record;
pub(crate) mod report;
pub(crate) mod shutdown;
pub mod state;
pub mod sync;
pub(crate) mod telemetry;
