//! The one place where the sandbox asks `docs/nmbrs-openapi.yaml` about a
//! call: request checks (query parameters and JSON body, before the handler)
//! and response checks (status and JSON body of every answer).
//!
//! Until the contract validator (`openapi.rs`) is merged these find nothing;
//! the business rules in `validation` and the strict body reading in `write`
//! stand alone.

use axum::http::Method;
use serde_json::Value;

use super::model::InvalidParam;

/// Problems of a request against the operation `method` `route` (template
/// without `/api`), as `invalid-params` entries (pointer or parameter name).
pub(crate) fn request_problems(
    _method: &Method,
    _route: &str,
    _query: &[(String, String)],
    _body: Option<&Value>,
) -> Vec<InvalidParam> {
    Vec::new()
}

/// Problems of an answer: `(pointer, message)` pairs.
pub(crate) fn response_problems(
    _method: &Method,
    _route: &str,
    _status: u16,
    _body: Option<&Value>,
) -> Vec<(String, String)> {
    Vec::new()
}
