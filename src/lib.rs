//! nmbrs-sync keeps an HRIS table and Visma Nmbrs payroll in agreement.
//!
//! The data flow of one cycle, one module per step:
//! [`hris`] (read the HRIS table) → [`nmbrs`] (read Nmbrs) → [`plan`] (decide, pure) →
//! [`apply`] (write with retries) → [`state`] (links, snapshots, audit). [`sync`] runs a cycle.

pub mod apply;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod db;
pub mod doctor;
pub mod failpoint;
pub mod fields;
pub mod hris;
pub mod metrics_http;
pub mod nmbrs;
pub mod plan;
pub mod record;
pub mod report;
pub mod shutdown;
pub mod state;
pub mod sync;
pub mod telemetry;
