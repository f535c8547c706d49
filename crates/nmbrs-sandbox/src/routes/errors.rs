//! Error answers of the API in the description's one shape
//! (`components.responses` 400/401/403/404/429/500/502/503-error):
//! `{type, httpStatus, code, title, detail, invalid-params?, docUrl}`.

use std::io;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::super::auth::ApiAuthError;
use super::super::clock::http_date_in;
use super::super::conn::ConnHandle;
use super::super::faults::Fault;
use super::super::model::InvalidParam;
use super::super::state::StoreError;

/// Where every error body points (the description's examples use this URL).
const DOC_URL: &str = "https://developer.nmbrs.com/api/docs/errors";

/// The JSON body of an answer, kept on the response so the contract check can
/// read it without parsing the bytes again.
#[derive(Clone, Debug)]
pub(crate) struct SentJson(pub(crate) Value);

/// A JSON answer that carries its body as [`SentJson`] too.
pub(crate) fn json_reply(status: StatusCode, body: Value) -> Response {
    let mut resp = (status, axum::Json(&body)).into_response();
    resp.extensions_mut().insert(SentJson(body));
    resp
}

/// The value of a `Retry-After` header.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RetryAfter {
    /// Whole seconds (at least 1).
    Secs(u64),
    /// An HTTP date this many seconds from now.
    At(u64),
}

/// Errors of the API pipeline and handlers, each rendered in the error shape.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// 400 40033 Parameter_Invalid.
    #[error("Invalid parameter.")]
    Validation(Vec<InvalidParam>),
    /// 401 / 403 from the gateway checks.
    #[error(transparent)]
    Auth(#[from] ApiAuthError),
    /// 404: 40404 Invalid_Company for an unknown company, else 40401 Not_Found;
    /// a refused business rule ([`StoreError::Invalid`]) is 400 40033 like `Validation`.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// 404 40401 Not_Found: no such operation.
    #[error("The requested resource could not be found.")]
    NoRoute,
    /// 403 40303 Unauthorized_AccessData with this detail.
    #[error("{0}")]
    Forbidden(String),
    /// 429 42908 Too_Many_Calls.
    #[error("The amount of calls is above the threshold for your subscription plan.")]
    TooManyCalls(RetryAfter),
    /// 429 42909 Quota_Exceeded (no `Retry-After`).
    #[error("Out of call volume quota.")]
    QuotaExceeded,
    /// Any other status, 5xx in particular (500 50001, 502 50201, 503 50301).
    #[error("{}", server_detail(*.0))]
    Status(u16),
}

fn server_detail(status: u16) -> &'static str {
    match status {
        500 => "An unexpected error has occurred.",
        502 => "A gateway error has ocurred.",
        503 => "The API is not available, it can be because of an update or an unexpected error.",
        _ => "The request could not be processed.",
    }
}

impl ApiError {
    /// `(status, type, code, title)` of this error.
    fn parts(&self) -> (u16, &'static str, u32, String) {
        match self {
            ApiError::Validation(_) | ApiError::Store(StoreError::Invalid(_)) => {
                (400, "validationError", 40033, "Parameter_Invalid".into())
            }
            ApiError::Auth(a) => match a {
                ApiAuthError::MissingKey | ApiAuthError::InvalidKey => (
                    403,
                    "authenticationError",
                    40304,
                    "Invalid_Subscription".into(),
                ),
                ApiAuthError::MissingToken => {
                    (401, "authenticationError", 40101, "Missing_Token".into())
                }
                ApiAuthError::InvalidToken => {
                    (401, "authenticationError", 40102, "Invalid_Token".into())
                }
                ApiAuthError::MissingScope(_) => (
                    403,
                    "authenticationError",
                    40303,
                    "Unauthorized_AccessData".into(),
                ),
            },
            ApiError::Store(StoreError::Company(_)) => {
                (404, "invalidRequestError", 40404, "Invalid_Company".into())
            }
            ApiError::Store(_) | ApiError::NoRoute => {
                (404, "invalidRequestError", 40401, "Not_Found".into())
            }
            ApiError::Forbidden(_) => (
                403,
                "authenticationError",
                40303,
                "Unauthorized_AccessData".into(),
            ),
            ApiError::TooManyCalls(_) => (429, "throttlingError", 42908, "Too_Many_Calls".into()),
            ApiError::QuotaExceeded => (429, "throttlingError", 42909, "Quota_Exceeded".into()),
            ApiError::Status(s) => {
                let (code, title) = match s {
                    // Sic: the description's example title is "Unkown".
                    500 => (50001, "Unkown".to_string()),
                    502 => (50201, "Bad_Gateway".to_string()),
                    503 => (50301, "Service_Unavailable".to_string()),
                    other => (
                        u32::from(*other) * 100 + 1,
                        StatusCode::from_u16(*other)
                            .ok()
                            .and_then(|c| c.canonical_reason())
                            .unwrap_or("Error")
                            .replace(' ', "_"),
                    ),
                };
                (*s, "apiError", code, title)
            }
        }
    }

    /// The error body.
    pub(crate) fn body(&self) -> Value {
        let (status, kind, code, title) = self.parts();
        let mut body = json!({
            "type": kind,
            "httpStatus": status,
            "code": code,
            "title": title,
            "detail": self.to_string(),
            "docUrl": DOC_URL,
        });
        if let ApiError::Validation(params) | ApiError::Store(StoreError::Invalid(params)) = self
            && let Some(obj) = body.as_object_mut()
        {
            obj.insert("invalid-params".into(), json!(params));
        }
        body
    }
}

impl From<InvalidParam> for ApiError {
    fn from(p: InvalidParam) -> Self {
        ApiError::Validation(vec![p])
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, ..) = self.parts();
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = json_reply(status, self.body());
        if let ApiError::TooManyCalls(after) = &self {
            let value = match after {
                RetryAfter::Secs(s) => HeaderValue::from((*s).max(1)),
                RetryAfter::At(s) => HeaderValue::from_str(&http_date_in((*s).max(1)))
                    .unwrap_or_else(|_| HeaderValue::from(1u64)),
            };
            resp.headers_mut().insert(header::RETRY_AFTER, value);
        }
        resp
    }
}

/// The API error an injected fault answers with (`Stall`/`Drop` are not
/// answers; the pipeline handles them and never asks).
pub(crate) fn fault_error(fault: &Fault) -> ApiError {
    match fault {
        Fault::TooManyRequests { retry_after_secs } => {
            ApiError::TooManyCalls(RetryAfter::Secs(*retry_after_secs))
        }
        Fault::TooManyRequestsAt { retry_after_secs } => {
            ApiError::TooManyCalls(RetryAfter::At(*retry_after_secs))
        }
        Fault::QuotaExceeded => ApiError::QuotaExceeded,
        Fault::Status(400) => ApiError::Validation(Vec::new()),
        Fault::Status(401) => ApiError::Auth(ApiAuthError::InvalidToken),
        Fault::Status(403) => ApiError::Forbidden(
            "You do not have access for the debtor or company you are trying to reach.".into(),
        ),
        Fault::Status(404) => ApiError::NoRoute,
        Fault::Status(429) => ApiError::TooManyCalls(RetryAfter::Secs(1)),
        Fault::Status(code) => ApiError::Status(*code),
        Fault::Stall(_) | Fault::Drop => ApiError::Status(500),
    }
}

/// The token endpoint's answer to an injected fault: RFC 6749-style bodies
/// (the identity service is not the API and does not use its error shape).
pub(crate) fn token_fault_response(fault: &Fault) -> Response {
    let (status, error, retry) = match fault {
        Fault::TooManyRequests { retry_after_secs }
        | Fault::TooManyRequestsAt { retry_after_secs } => {
            (429, "temporarily_unavailable", Some(*retry_after_secs))
        }
        Fault::QuotaExceeded => (429, "temporarily_unavailable", None),
        Fault::Status(429) => (429, "temporarily_unavailable", Some(1)),
        Fault::Status(400) => (400, "invalid_request", None),
        Fault::Status(401) => (401, "invalid_client", None),
        Fault::Status(503) => (503, "temporarily_unavailable", None),
        Fault::Status(code) => (*code, "server_error", None),
        Fault::Stall(_) | Fault::Drop => (500, "server_error", None),
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (status, axum::Json(json!({"error": error}))).into_response();
    if let Some(secs) = retry {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    }
    resp
}

/// Cuts the connection so the client sees a network error. Without a
/// killable connection (router used in-process), answer with a body that
/// fails mid-stream, which a client also sees as a transport error.
pub(crate) fn drop_connection(conn: Option<&ConnHandle>) -> Response {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_follow_the_error_shape() {
        let b = ApiError::Validation(vec![InvalidParam::new("pageSize", "too big")]).body();
        assert_eq!(b["type"], "validationError");
        assert_eq!(
            (b["httpStatus"].as_u64(), b["code"].as_u64()),
            (Some(400), Some(40033))
        );
        assert_eq!(b["invalid-params"][0]["name"], "pageSize");
        let b = ApiError::Store(StoreError::Company("x".into())).body();
        assert_eq!(
            (b["code"].as_u64(), b["title"].as_str()),
            (Some(40404), Some("Invalid_Company"))
        );
        let b = ApiError::Auth(ApiAuthError::MissingScope(&["employee.info"])).body();
        assert_eq!(b["code"], 40303);
        assert!(
            b["detail"]
                .as_str()
                .is_some_and(|d| d.contains("employee.info"))
        );
        assert!(b.get("invalid-params").is_none());
        let b = fault_error(&Fault::Status(503)).body();
        assert_eq!(
            (b["code"].as_u64(), b["type"].as_str()),
            (Some(50301), Some("apiError"))
        );
        let b = fault_error(&Fault::Status(418)).body();
        assert_eq!(b["code"], 41801);
    }

    #[test]
    fn throttling_answers_differ_in_retry_after() {
        let r = fault_error(&Fault::TooManyRequests {
            retry_after_secs: 7,
        })
        .into_response();
        assert_eq!(r.headers()[header::RETRY_AFTER], "7");
        let r = fault_error(&Fault::TooManyRequestsAt {
            retry_after_secs: 7,
        })
        .into_response();
        let date = r.headers()[header::RETRY_AFTER]
            .to_str()
            .unwrap_or_default()
            .to_string();
        assert!(httpdate::parse_http_date(&date).is_ok(), "{date}");
        let r = fault_error(&Fault::QuotaExceeded).into_response();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(r.headers().get(header::RETRY_AFTER).is_none());
    }
}
