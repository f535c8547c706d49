//! The axum router: the API pipeline (count → latency → faults/rate limit →
//! authorization → request check → handler → response check) and the handlers.
//! Each family of operations beyond personal info has its own module with its
//! routes and `OPERATIONS`.

mod address;
mod companies;
mod employees;
mod employment;
pub(crate) mod errors;
mod history;
mod org;
mod token;

use axum::body::to_bytes;
use axum::extract::{ConnectInfo, MatchedPath, OriginalUri, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::Value;

use super::Sandbox;
use super::auth::required_scopes;
use super::checks::request_problems;
use super::conn::ConnHandle;
use super::faults::{Decision, Fault};
use super::model::InvalidParam;
use super::paging::{PageLinks, PageRequest, page_request};
use errors::{ApiError, RetryAfter, drop_connection, fault_error};

/// Route templates under `/api`, as used for `CallStats::by_route`.
const ROUTE_COMPANIES: &str = "/companies";
const ROUTE_DEBTORS: &str = "/debtors";
const ROUTE_DEBTOR_COMPANIES: &str = "/debtors/{debtorId}/companies";
const ROUTE_COMPANY_EMPLOYEES: &str = "/companies/{companyId}/employees";
const ROUTE_COMPANY_PERSONAL_INFO: &str = "/companies/{companyId}/employees/personalinfo";
const ROUTE_EMPLOYEE: &str = "/employees/{employeeId}";
const ROUTE_PUT_PERSONAL_INFO: &str = "/employees/{employeeId}/personalInfo";

/// The personal-info operations (method, route template); see [`operations`].
const OPERATIONS: &[(&str, &str)] = &[
    ("GET", ROUTE_COMPANIES),
    ("GET", ROUTE_DEBTORS),
    ("GET", ROUTE_DEBTOR_COMPANIES),
    ("GET", ROUTE_COMPANY_EMPLOYEES),
    ("POST", ROUTE_COMPANY_EMPLOYEES),
    ("GET", ROUTE_COMPANY_PERSONAL_INFO),
    ("GET", ROUTE_EMPLOYEE),
    ("PUT", ROUTE_PUT_PERSONAL_INFO),
];

/// Every operation the sandbox serves (method, route template).
fn operations() -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    OPERATIONS
        .iter()
        .chain(employment::OPERATIONS)
        .chain(org::OPERATIONS)
        .chain(address::OPERATIONS)
}

/// Largest request body read (bytes); larger is a 400.
const MAX_BODY_BYTES: usize = 1 << 20;

/// Builds the whole application: `/api/...`, `/connect/token`, `/connect/authorize`, JSON 404s.
pub(crate) fn router(sandbox: Sandbox) -> Router {
    let api = Router::new()
        .route(ROUTE_COMPANIES, get(companies::list_companies))
        .route(ROUTE_DEBTORS, get(companies::list_debtors))
        .route(
            ROUTE_DEBTOR_COMPANIES,
            get(companies::list_debtor_companies),
        )
        .route(
            ROUTE_COMPANY_EMPLOYEES,
            post(employees::create_employee).get(employees::list_company_employees),
        )
        .route(
            ROUTE_COMPANY_PERSONAL_INFO,
            get(employees::list_company_personal_info),
        )
        .route(ROUTE_EMPLOYEE, get(employees::get_employee))
        .route(ROUTE_PUT_PERSONAL_INFO, put(employees::put_personal_info))
        .merge(employment::routes())
        .merge(org::routes())
        .merge(address::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .layer(middleware::from_fn_with_state(
            sandbox.clone(),
            api_pipeline,
        ))
        .with_state(sandbox.clone());
    Router::new()
        .nest("/api", api)
        .route("/connect/token", post(token::token))
        .route("/connect/authorize", get(super::auth::authorize_endpoint))
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .with_state(sandbox)
}

/// No such operation: 404 40401, like the gateway in front of Nmbrs (which
/// matches operations by method and path, so a wrong method is a 404 too).
async fn not_found() -> Response {
    ApiError::NoRoute.into_response()
}

/// What the pipeline read from a request, handed to the handler.
#[derive(Clone, Debug)]
pub(crate) struct Call {
    /// Query parameters as sent.
    pub(crate) query: Vec<(String, String)>,
    /// The JSON body of a POST/PUT.
    pub(crate) body: Option<Value>,
    /// Where page links point.
    pub(crate) links: PageLinks,
}

impl Call {
    /// The last value of a query parameter (name case-insensitive).
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The JSON body of a POST/PUT; 400 `body` when there is none (the
    /// description marks these bodies optional, the operations need them).
    pub(crate) fn json_body(&self) -> Result<&Value, ApiError> {
        self.body
            .as_ref()
            .ok_or_else(|| InvalidParam::new("body", "is required").into())
    }

    /// `pageNumber`/`pageSize` of this call.
    pub(crate) fn page(&self, sb: &Sandbox) -> Result<PageRequest, ApiError> {
        page_request(
            &self.query,
            sb.inner.default_page_size,
            sb.inner.max_page_size,
        )
        .map_err(ApiError::Validation)
    }
}

/// A 200 with `value` as its JSON body.
pub(crate) fn ok_json<T: Serialize>(value: &T) -> Result<Response, ApiError> {
    let body = serde_json::to_value(value).map_err(|_| ApiError::Status(500))?;
    Ok(errors::json_reply(StatusCode::OK, body))
}

// ---------------------------------------------------------------- pipeline

/// The known operation a request is for: `(route template, is served)`.
fn operation_of(req: &Request) -> Option<(String, bool)> {
    let matched = req.extensions().get::<MatchedPath>()?.as_str();
    let route = matched.strip_prefix("/api").unwrap_or(matched);
    let known = operations().any(|(_, r)| *r == route);
    known.then(|| {
        let served = operations().any(|(m, r)| *r == route && *m == req.method().as_str());
        (route.to_string(), served)
    })
}

/// Runs for every call under `/api`.
async fn api_pipeline(State(sb): State<Sandbox>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let op = operation_of(&req);
    let route_key = format!(
        "{method} {}",
        op.as_ref().map_or("<unknown>", |(r, _)| r.as_str())
    );
    let conn = req
        .extensions()
        .get::<ConnectInfo<ConnHandle>>()
        .map(|c| c.0.clone());

    for action in sb.inner.due_before(&route_key) {
        action(&sb);
    }
    let (latency, decision) = {
        sb.inner.stats().on_call(&route_key);
        let mut faults = sb.inner.faults();
        (faults.latency, faults.decide())
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    // Answers are checked against the description only for its operations.
    let checked = op
        .as_ref()
        .filter(|(_, served)| *served)
        .map(|(route, _)| Served {
            method: method.clone(),
            route: route.clone(),
            path: original_path(&req),
        });

    let stall = match decision {
        Decision::Proceed { stall } => stall,
        Decision::Throttle { retry_after_secs } => {
            let resp = ApiError::TooManyCalls(RetryAfter::Secs(retry_after_secs)).into_response();
            return sb.inner.finish(resp, Counter::Throttled, checked.as_ref());
        }
        Decision::Fault(Fault::Drop) => {
            sb.inner.stats().faults += 1;
            return drop_connection(conn.as_ref());
        }
        Decision::Fault(f) => {
            let resp = fault_error(&f).into_response();
            let counter = if resp.status() == StatusCode::TOO_MANY_REQUESTS {
                Counter::Throttled
            } else {
                Counter::Fault
            };
            return sb.inner.finish(resp, counter, checked.as_ref());
        }
    };
    if stall.is_some() {
        sb.inner.stats().faults += 1;
    }

    let resp = match &checked {
        // Unknown operations: 404 before any key or token check, like the gateway.
        None => ApiError::NoRoute.into_response(),
        Some(served) => handle(&sb, served, req, next).await,
    };
    let resp = sb.inner.finish(resp, Counter::None, checked.as_ref());
    if let Some(d) = stall {
        // The work is done; only the answer is late (a timed-out client cannot
        // tell whether its write happened, exactly as in production).
        tokio::time::sleep(d).await;
    }
    resp
}

/// Authorization, request reading and checking, the handler, and the counters.
async fn handle(sb: &Sandbox, served: &Served, req: Request, next: Next) -> Response {
    let method = &served.method;
    let authorized = sb
        .inner
        .auth()
        .authorize(req.headers(), required_scopes(method, &served.route));
    if let Err(e) = authorized {
        return ApiError::from(e).into_response();
    }
    let resp = match read_call(served, req).await {
        Ok(req) => next.run(req).await,
        Err(e) => e.into_response(),
    };
    let mut stats = sb.inner.stats();
    let status = resp.status();
    if *method == Method::GET {
        stats.reads += 1;
    } else if status.is_success() {
        stats.writes += 1;
    } else if status.is_client_error() {
        stats.rejected_writes += 1;
    }
    resp
}

/// Reads query, host, path and JSON body into a [`Call`] and checks them
/// against the description; refusals are 400s.
async fn read_call(served: &Served, req: Request) -> Result<Request, ApiError> {
    let method = &served.method;
    let query = Query::<Vec<(String, String)>>::try_from_uri(req.uri())
        .map(|Query(q)| q)
        .map_err(|e| InvalidParam::new("query", e.body_text()))?;
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string();
    let links = PageLinks::new(&host, &served.path, req.uri().query());
    let (mut parts, body) = req.into_parts();
    let body = if *method == Method::POST || *method == Method::PUT {
        let bytes = to_bytes(body, MAX_BODY_BYTES)
            .await
            .map_err(|_| InvalidParam::new("body", "is unreadable or too large"))?;
        Some(json_body(&parts.headers, &bytes)?)
    } else {
        None
    };
    let problems = request_problems(method, &served.path, &query, body.as_ref());
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    parts.extensions.insert(Call { query, body, links });
    Ok(Request::from_parts(parts, axum::body::Body::empty()))
}

/// Strict JSON body: a JSON media type, and serde_json's parser (no trailing commas).
fn json_body(headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
        .unwrap_or(false);
    if !is_json {
        return Err(InvalidParam::new("Content-Type", "must be application/json").into());
    }
    serde_json::from_slice(body)
        .map_err(|e| InvalidParam::new("body", format!("malformed JSON: {e}")).into())
}

/// A call to one of the description's operations that the sandbox serves.
pub(crate) struct Served {
    pub(crate) method: Method,
    /// Route template without `/api`, e.g. `/employees/{employeeId}`.
    pub(crate) route: String,
    /// The concrete request path, with `/api`.
    pub(crate) path: String,
}

/// The request path as sent (with `/api`; the nested router strips it from `uri()`).
fn original_path(req: &Request) -> String {
    req.extensions().get::<OriginalUri>().map_or_else(
        || format!("/api{}", req.uri().path()),
        |u| u.path().to_string(),
    )
}

/// Which extra counter an answer bumps.
pub(crate) enum Counter {
    None,
    Throttled,
    Fault,
}

/// The token endpoint's plain JSON answers.
pub(crate) fn plain_json(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Every served operation exists in the description, and its scopes are
    /// exactly those of the operation's `security` entry.
    #[test]
    fn served_operations_and_scopes_match_the_description() {
        let doc: Value = yaml_serde::from_str(include_str!("../../../../docs/nmbrs-openapi.yaml"))
            .expect("the vendored description parses");
        for &(method, route) in operations() {
            let op = &doc["paths"][format!("/api{route}")][method.to_ascii_lowercase()];
            assert!(
                op.is_object(),
                "{method} /api{route} is not in the description"
            );
            let described: BTreeSet<&str> = op["security"][0]["Bearer"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let method = Method::from_bytes(method.as_bytes()).expect("method");
            let ours: BTreeSet<&str> = required_scopes(&method, route).iter().copied().collect();
            assert_eq!(ours, described, "{method} {route}");
        }
    }
}
