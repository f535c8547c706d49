//! `POST /connect/token`: the identity service (RFC 6749 answers, not the API's error shape).

use std::collections::HashMap;

use axum::Form;
use axum::extract::{ConnectInfo, FromRequest, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::super::Sandbox;
use super::super::conn::ConnHandle;
use super::super::faults::Fault;
use super::errors::{drop_connection, token_fault_response};
use super::plain_json;

/// The refresh-token grant, with client authentication by HTTP Basic or form fields.
pub(crate) async fn token(State(sb): State<Sandbox>, req: Request) -> Response {
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
        Some(f) => return token_fault_response(&f),
    }
    let headers = req.headers().clone();
    let form = match Form::<HashMap<String, String>>::from_request(req, &()).await {
        Ok(Form(f)) => f,
        Err(_) => {
            return plain_json(
                StatusCode::BAD_REQUEST,
                json!({"error": "invalid_request", "error_description": "body must be application/x-www-form-urlencoded"}),
            );
        }
    };
    let ttl = sb.inner.access_token_ttl;
    let result = sb.inner.auth().token(&headers, &form, ttl);
    let mut resp = match result {
        Ok(t) => (StatusCode::OK, axum::Json(t)).into_response(),
        Err(e) => plain_json(e.status(), e.body()),
    };
    // Token answers must not be cached (RFC 6749 §5.1).
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}
