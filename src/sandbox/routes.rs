//! The axum router: the API pipeline (count → latency → faults/rate limit →
//! authorization → handler) and the handlers themselves.

use std::collections::HashMap;
use std::io;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, FromRequest, MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Form, Json, Router};
use serde::Serialize;
use serde_json::{Value, json};

use super::Sandbox;
use super::auth::required_scopes;
use super::conn::ConnHandle;
use super::faults::{Decision, Fault};
use super::model::FieldError;
use super::state::{PageRequest, StoreError, paginate};
use super::validation::validate_personal_info;

/// Route templates under `/api`, as used for `CallStats::by_route`.
const ROUTE_COMPANIES: &str = "/companies";
const ROUTE_COMPANY_EMPLOYEES: &str = "/companies/{companyId}/employees";
const ROUTE_COMPANY_PERSONAL_INFO: &str = "/companies/{companyId}/employees/personalinfo";
const ROUTE_EMPLOYEE: &str = "/employees/{employeeId}";
const ROUTE_PUT_PERSONAL_INFO: &str = "/employees/{employeeId}/personalInfo";
const KNOWN_ROUTES: [&str; 5] = [
    ROUTE_COMPANIES,
    ROUTE_COMPANY_EMPLOYEES,
    ROUTE_COMPANY_PERSONAL_INFO,
    ROUTE_EMPLOYEE,
    ROUTE_PUT_PERSONAL_INFO,
];

/// Builds the whole application: `/api/...`, `/connect/token`, JSON 404s.
pub(crate) fn router(sandbox: Sandbox) -> Router {
    let api = Router::new()
        .route(ROUTE_COMPANIES, get(list_companies))
        .route(
            ROUTE_COMPANY_EMPLOYEES,
            post(create_employee).get(list_company_employees),
        )
        .route(ROUTE_COMPANY_PERSONAL_INFO, get(list_company_personal_info))
        .route(ROUTE_EMPLOYEE, get(get_employee))
        .route(ROUTE_PUT_PERSONAL_INFO, put(put_personal_info))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            sandbox.clone(),
            api_pipeline,
        ))
        .with_state(sandbox.clone());
    Router::new()
        .nest("/api", api)
        .route("/connect/token", post(token))
        .route("/connect/authorize", get(super::auth::authorize_endpoint))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(sandbox)
}

// ---------------------------------------------------------------- responses

fn json_status(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

fn message(status: StatusCode, msg: &str) -> Response {
    json_status(
        status,
        json!({"statusCode": status.as_u16(), "message": msg}),
    )
}

async fn not_found() -> Response {
    message(StatusCode::NOT_FOUND, "Resource not found")
}

async fn method_not_allowed() -> Response {
    message(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
}

/// Errors of handlers, each rendered as a JSON body.
#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error(transparent)]
    NotFound(#[from] StoreError),
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::Validation(vec![e])
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Validation(errors) => {
                json_status(StatusCode::BAD_REQUEST, json!({"errors": errors}))
            }
            ApiError::NotFound(e) => message(StatusCode::NOT_FOUND, &e.to_string()),
            e @ ApiError::UnsupportedMediaType => {
                message(StatusCode::UNSUPPORTED_MEDIA_TYPE, &e.to_string())
            }
        }
    }
}

/// The answer for an injected fault or a throttle.
fn fault_response(fault: &Fault) -> Response {
    match fault {
        Fault::TooManyRequests { retry_after_secs } => too_many_requests(*retry_after_secs),
        Fault::Status(429) => too_many_requests(1),
        Fault::Status(code) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            message(status, status.canonical_reason().unwrap_or("Error"))
        }
        // Not answered with a status; the callers handle these.
        Fault::Stall(_) | Fault::Drop => {
            message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
        }
    }
}

fn too_many_requests(retry_after_secs: u64) -> Response {
    let secs = retry_after_secs.max(1);
    let mut resp = message(
        StatusCode::TOO_MANY_REQUESTS,
        &format!("Rate limit is exceeded. Try again in {secs} seconds."),
    );
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    resp
}

/// Cuts the connection so the client sees a network error. Without a
/// killable connection (router used in-process), answer with a body that
/// fails mid-stream, which a client also sees as a transport error.
fn drop_connection(conn: Option<&ConnHandle>) -> Response {
    if let Some(c) = conn {
        c.kill();
    }
    let failing = futures::stream::once(async {
        Err::<Bytes, io::Error>(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "connection dropped by sandbox fault",
        ))
    });
    Response::new(Body::from_stream(failing))
}

// ---------------------------------------------------------------- pipeline

/// Runs for every call under `/api`.
async fn api_pipeline(State(sb): State<Sandbox>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| {
            m.as_str()
                .strip_prefix("/api")
                .unwrap_or(m.as_str())
                .to_string()
        })
        .filter(|r| KNOWN_ROUTES.contains(&r.as_str()));
    let route_key = format!("{method} {}", route.as_deref().unwrap_or("<unknown>"));
    let conn = req
        .extensions()
        .get::<ConnectInfo<ConnHandle>>()
        .map(|c| c.0.clone());

    let (latency, decision) = {
        sb.inner.stats().on_call(&route_key);
        let mut faults = sb.inner.faults();
        (faults.latency, faults.decide())
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }

    let stall = match decision {
        Decision::Proceed { stall } => stall,
        Decision::Throttle { retry_after_secs } => {
            return sb
                .inner
                .finish(too_many_requests(retry_after_secs), Counter::Throttled);
        }
        Decision::Fault(Fault::Drop) => {
            sb.inner.stats().faults += 1;
            return drop_connection(conn.as_ref());
        }
        Decision::Fault(f) => {
            let resp = fault_response(&f);
            let counter = if resp.status() == StatusCode::TOO_MANY_REQUESTS {
                Counter::Throttled
            } else {
                Counter::Fault
            };
            return sb.inner.finish(resp, counter);
        }
    };
    if stall.is_some() {
        sb.inner.stats().faults += 1;
    }

    let resp = match route {
        // Unknown paths: 404 before any key or token check, like the gateway.
        None => next.run(req).await,
        Some(route) => {
            let authorized = sb
                .inner
                .auth()
                .authorize(req.headers(), required_scopes(&method, &route));
            match authorized {
                Err(e) => json_status(e.status(), e.body()),
                Ok(()) => {
                    let resp = next.run(req).await;
                    let mut stats = sb.inner.stats();
                    let status = resp.status();
                    if method == Method::GET {
                        stats.reads += 1;
                    } else if method == Method::POST || method == Method::PUT {
                        if status.is_success() {
                            stats.writes += 1;
                        } else if status.is_client_error()
                            && status != StatusCode::METHOD_NOT_ALLOWED
                        {
                            stats.rejected_writes += 1;
                        }
                    }
                    resp
                }
            }
        }
    };
    let resp = sb.inner.finish(resp, Counter::None);
    if let Some(d) = stall {
        // The work is done; only the answer is late (a timed-out client cannot
        // tell whether its write happened, exactly as in production).
        tokio::time::sleep(d).await;
    }
    resp
}

/// Which extra counter an answer bumps.
pub(crate) enum Counter {
    None,
    Throttled,
    Fault,
}

// ---------------------------------------------------------------- token endpoint

async fn token(State(sb): State<Sandbox>, req: Request) -> Response {
    let conn = req
        .extensions()
        .get::<ConnectInfo<ConnHandle>>()
        .map(|c| c.0.clone());
    let fault = {
        sb.inner.stats().token_calls += 1;
        sb.inner.faults().next_token_fault()
    };
    match fault {
        None => {}
        Some(Fault::Drop) => return drop_connection(conn.as_ref()),
        // Wait before processing: a client that gave up keeps a valid refresh token.
        Some(Fault::Stall(d)) => tokio::time::sleep(d).await,
        Some(f) => return fault_response(&f),
    }
    let headers = req.headers().clone();
    let form = match Form::<HashMap<String, String>>::from_request(req, &()).await {
        Ok(Form(f)) => f,
        Err(_) => {
            return json_status(
                StatusCode::BAD_REQUEST,
                json!({"error": "invalid_request", "error_description": "body must be application/x-www-form-urlencoded"}),
            );
        }
    };
    let ttl = sb.inner.access_token_ttl;
    let result = sb.inner.auth().token(&headers, &form, ttl);
    let mut resp = match result {
        Ok(t) => (StatusCode::OK, Json(t)).into_response(),
        Err(e) => json_status(e.status(), e.body()),
    };
    // Token answers must not be cached (RFC 6749 §5.1).
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

// ---------------------------------------------------------------- request helpers

/// Reads `pageNumber` / `pageSize` (names case-insensitive, as in ASP.NET).
fn page_request(sb: &Sandbox, query: &[(String, String)]) -> Result<PageRequest, ApiError> {
    let get = |name: &str| -> Result<Option<u32>, FieldError> {
        match query
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
        {
            None => Ok(None),
            Some((_, v)) => match v.trim().parse::<u32>() {
                Ok(n) if n >= 1 => Ok(Some(n)),
                _ => Err(FieldError::new(
                    name,
                    format!("'{v}' is not a positive integer"),
                )),
            },
        }
    };
    let mut errors = Vec::new();
    let number = get("pageNumber").unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    let size = get("pageSize").unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let size = size
        .unwrap_or(sb.inner.default_page_size)
        .min(sb.inner.max_page_size)
        .max(1);
    Ok(PageRequest {
        number: number.unwrap_or(1),
        size,
    })
}

type QueryPairs = Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>;

fn query_pairs(q: QueryPairs) -> Result<Vec<(String, String)>, ApiError> {
    q.map(|Query(v)| v)
        .map_err(|e| FieldError::new("query", e.body_text()).into())
}

/// Strict JSON body: right media type, and serde_json's parser (no trailing commas).
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
        return Err(ApiError::UnsupportedMediaType);
    }
    serde_json::from_slice(body)
        .map_err(|e| FieldError::new("body", format!("malformed JSON: {e}")).into())
}

fn ok_json<T: Serialize>(value: &T) -> Result<Response, ApiError> {
    Ok((StatusCode::OK, Json(value)).into_response())
}

// ---------------------------------------------------------------- handlers

async fn list_companies(State(sb): State<Sandbox>, q: QueryPairs) -> Result<Response, ApiError> {
    let req = page_request(&sb, &query_pairs(q)?)?;
    let companies = sb.inner.store().companies();
    ok_json(&paginate(companies, req))
}

async fn create_employee(
    State(sb): State<Sandbox>,
    Path(company_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let value = json_body(&headers, &body)?;
    // Unknown company is a 404 whatever the body says.
    sb.inner.store().company_employees(&company_id)?;
    // The integration guide prints `PersonalInfo`; camelCase is accepted too.
    let info = value
        .get("PersonalInfo")
        .or_else(|| value.get("personalInfo"))
        .ok_or_else(|| FieldError::new("PersonalInfo", "is required"))?;
    let sections = validate_personal_info(info, "PersonalInfo").map_err(ApiError::Validation)?;
    let employee_id = sb.inner.store().create_employee(&company_id, sections)?;
    ok_json(&json!({"employeeId": employee_id}))
}

async fn get_employee(
    State(sb): State<Sandbox>,
    Path(employee_id): Path<String>,
    q: QueryPairs,
) -> Result<Response, ApiError> {
    let req = page_request(&sb, &query_pairs(q)?)?;
    let item = sb.inner.store().employee(&employee_id)?.to_json();
    ok_json(&paginate(vec![item], req))
}

async fn put_personal_info(
    State(sb): State<Sandbox>,
    Path(employee_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let value = json_body(&headers, &body)?;
    sb.inner.store().employee(&employee_id)?;
    let sections = validate_personal_info(&value, "body").map_err(ApiError::Validation)?;
    let personal_info_id = sb
        .inner
        .store()
        .replace_personal_info(&employee_id, sections)?;
    ok_json(&json!({"personalInfoId": personal_info_id}))
}

async fn list_company_employees(
    State(sb): State<Sandbox>,
    Path(company_id): Path<String>,
    q: QueryPairs,
) -> Result<Response, ApiError> {
    let req = page_request(&sb, &query_pairs(q)?)?;
    let items = sb.inner.store().company_employee_list(&company_id)?;
    ok_json(&paginate(items, req))
}

async fn list_company_personal_info(
    State(sb): State<Sandbox>,
    Path(company_id): Path<String>,
    q: QueryPairs,
) -> Result<Response, ApiError> {
    let req = page_request(&sb, &query_pairs(q)?)?;
    let store = sb.inner.store();
    // Only the requested page is rendered to JSON.
    let employees = store.company_employees(&company_id)?;
    let page = paginate(employees, req);
    let data: Vec<Value> = page.data.iter().map(|e| e.to_json()).collect();
    ok_json(&json!({"pagination": page.pagination, "data": data}))
}
