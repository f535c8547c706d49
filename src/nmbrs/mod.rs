//! Reading and writing Nmbrs over its REST API (`docs/nmbrs-api.md`).

pub mod auth;
pub(crate) mod authorize;
pub mod client;
pub(crate) mod fold;
pub mod model;
pub(crate) mod read;

pub use client::{ApiError, ApiErrorKind, NmbrsClient, Response};
pub use model::{Company, EmployeeItem, Period};

use std::time::Duration;

/// The HTTP facts of one call (retries summed), as the audit log records them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpCall {
    pub method: &'static str,
    /// Path below the API root, ids included, query excluded (no secrets live in paths).
    pub path: String,
    /// Final status; `None` when no HTTP answer came (timeout, dropped connection).
    pub status: Option<u16>,
    /// Attempts made, retries included.
    pub attempts: u32,
    pub duration: Duration,
}
