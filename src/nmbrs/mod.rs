//! Reading and writing Nmbrs over its REST API (`docs/nmbrs-api.md`).

pub mod auth;
pub(crate) mod authorize;
pub mod client;
pub mod model;

pub use client::{ApiError, ApiErrorKind, NmbrsClient, Response};
pub use model::{Company, EmployeeItem, Period};
