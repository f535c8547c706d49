//! Employment operations: the employments and contracts histories, creating
//! and updating employments and contracts, reopening an employment, deleting
//! a contract, and the end-of-contract reasons. Scopes `employee.employment`
//! (`.read` for the GETs).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Router};
use serde_json::json;

use super::super::Sandbox;
use super::super::model::InvalidParam;
use super::super::org::END_CONTRACT_REASONS;
use super::super::paging::paginate;
use super::super::records::{CONTRACTS, EMPLOYMENTS};
use super::super::state::{ContractTerms, ContractUpdate, EmploymentUpdate};
use super::super::validation::YEAR_RANGE;
use super::super::write::members::{boolean, date_time, integer, number, text};
use super::errors::{ApiError, json_reply};
use super::history::listing;
use super::{Call, ok_json};

const ROUTE_EMPLOYMENTS: &str = "/companies/{companyId}/employees/employments";
const ROUTE_CONTRACTS: &str = "/companies/{companyId}/employees/contracts";
const ROUTE_EMPLOYMENT: &str = "/employees/{employeeId}/employment";
const ROUTE_END_OF_SERVICE: &str =
    "/employees/{employeeId}/employments/{employmentId}/endOfServiceDate";
const ROUTE_REASONS: &str = "/debtors/endcontractreasons/{Year}";
const ROUTE_CONTRACT: &str = "/employees/{employeeId}/contract";
const ROUTE_CONTRACT_ID: &str = "/employees/{employeeId}/contracts/{contractId}";

/// The operations of this family (method, route template).
pub(crate) const OPERATIONS: &[(&str, &str)] = &[
    ("GET", ROUTE_EMPLOYMENTS),
    ("GET", ROUTE_CONTRACTS),
    ("POST", ROUTE_EMPLOYMENT),
    ("PUT", ROUTE_EMPLOYMENT),
    ("DELETE", ROUTE_END_OF_SERVICE),
    ("GET", ROUTE_REASONS),
    ("POST", ROUTE_CONTRACT),
    ("PUT", ROUTE_CONTRACT),
    ("DELETE", ROUTE_CONTRACT_ID),
];

pub(crate) fn routes() -> Router<Sandbox> {
    Router::new()
        .route(ROUTE_EMPLOYMENTS, listing(&EMPLOYMENTS))
        .route(ROUTE_CONTRACTS, listing(&CONTRACTS))
        .route(
            ROUTE_EMPLOYMENT,
            post(create_employment).put(update_employment),
        )
        .route(ROUTE_END_OF_SERVICE, delete(reopen_employment))
        .route(ROUTE_REASONS, get(list_reasons))
        .route(ROUTE_CONTRACT, post(create_contract).put(update_contract))
        .route(ROUTE_CONTRACT_ID, delete(delete_contract))
}

/// `POST /api/employees/{employeeId}/employment` (schema `CreateEmployment`):
/// 201 `{employmentId}`; a missing seniority date is the start date.
async fn create_employment(
    State(sb): State<Sandbox>,
    Path(employee_id): Path<String>,
    Extension(call): Extension<Call>,
) -> Result<Response, ApiError> {
    sb.inner.store().employee(&employee_id)?;
    let body = call.json_body()?;
    let mut errors = Vec::new();
    let start = date_time(body, "startDate", &mut errors).value();
    let seniority = date_time(body, "seniorityDate", &mut errors).value();
    let Some(start) = start.filter(|_| errors.is_empty()) else {
        if errors.is_empty() {
            errors.push(InvalidParam::new("/startDate", "is required"));
        }
        return Err(ApiError::Validation(errors));
    };
    let id = sb
        .inner
        .store()
        .create_employment(&employee_id, start, seniority)?;
    Ok(json_reply(StatusCode::CREATED, json!({"employmentId": id})))
}

/// `PUT /api/employees/{employeeId}/employment` (schema `UpdateEmployment`):
/// 200 `{employmentId}`. Absent members stay, `null` clears.
async fn update_employment(
    State(sb): State<Sandbox>,
    Path(employee_id): Path<String>,
    Extension(call): Extension<Call>,
) -> Result<Response, ApiError> {
    sb.inner.store().employee(&employee_id)?;
    let body = call.json_body()?;
    let mut errors = Vec::new();
    let update = EmploymentUpdate {
        employment_id: text(body, "employmentId", &mut errors).value(),
        seniority: date_time(body, "seniorityDate", &mut errors),
        end: date_time(body, "endOfServiceDate", &mut errors),
        reason: integer(body, "endOfContractReason", &mut errors),
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let id = sb.inner.store().update_employment(&employee_id, update)?;
    ok_json(&json!({"employmentId": id}))
}

/// `DELETE /api/employees/{employeeId}/employments/{employmentId}/endOfServiceDate`: 204.
async fn reopen_employment(
    State(sb): State<Sandbox>,
    Path((employee_id, employment_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    sb.inner
        .store()
        .reopen_employment(&employee_id, &employment_id)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/debtors/endcontractreasons/{Year}` (schema `EndContractReasonsResponse`):
/// the same fixed list for every payroll year.
async fn list_reasons(
    State(sb): State<Sandbox>,
    Path(year): Path<String>,
    Extension(call): Extension<Call>,
) -> Result<Response, ApiError> {
    let req = call.page(&sb)?;
    if !year.parse::<i64>().is_ok_and(|y| YEAR_RANGE.contains(&y)) {
        return Err(InvalidParam::new(
            "Year",
            format!(
                "The parameter is invalid. It needs to be a valid year ({} to {}).",
                YEAR_RANGE.start(),
                YEAR_RANGE.end()
            ),
        )
        .into());
    }
    let reasons = END_CONTRACT_REASONS
        .iter()
        .map(|(code, reason)| json!({"code": code, "reason": reason}))
        .collect();
    ok_json(&paginate(reasons, req, &call.links))
}

/// `POST /api/employees/{employeeId}/contract` (schema `CreateContract`): 201 `{contractId}`.
async fn create_contract(
    State(sb): State<Sandbox>,
    Path(employee_id): Path<String>,
    Extension(call): Extension<Call>,
) -> Result<Response, ApiError> {
    sb.inner.store().employee(&employee_id)?;
    let body = call.json_body()?;
    let mut errors = Vec::new();
    let terms = ContractTerms {
        start: date_time(body, "startDate", &mut errors).value(),
        trial: date_time(body, "trialPeriod", &mut errors).value(),
        end: date_time(body, "endDate", &mut errors).value(),
        indefinite: boolean(body, "indefinite", &mut errors).value(),
        written: boolean(body, "writtenContract", &mut errors).value(),
        hours: number(body, "hoursPerWeek", &mut errors).value(),
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let id = sb.inner.store().create_contract(&employee_id, terms)?;
    Ok(json_reply(StatusCode::CREATED, json!({"contractId": id})))
}

/// `PUT /api/employees/{employeeId}/contract` (schema `UpdateEmployeeContract`):
/// 200 `{employeeContractId}`. Absent members stay, `null` clears.
async fn update_contract(
    State(sb): State<Sandbox>,
    Path(employee_id): Path<String>,
    Extension(call): Extension<Call>,
) -> Result<Response, ApiError> {
    sb.inner.store().employee(&employee_id)?;
    let body = call.json_body()?;
    let mut errors = Vec::new();
    let update = ContractUpdate {
        contract_id: text(body, "contractId", &mut errors).value(),
        trial: date_time(body, "trialPeriod", &mut errors),
        end: date_time(body, "endDate", &mut errors),
        indefinite: boolean(body, "indefinite", &mut errors),
        written: boolean(body, "writtenContract", &mut errors),
        hours: number(body, "hoursPerWeek", &mut errors),
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let id = sb.inner.store().update_contract(&employee_id, update)?;
    ok_json(&json!({"employeeContractId": id}))
}

/// `DELETE /api/employees/{employeeId}/contracts/{contractId}`: 204.
async fn delete_contract(
    State(sb): State<Sandbox>,
    Path((employee_id, contract_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    sb.inner
        .store()
        .delete_contract(&employee_id, &contract_id)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
