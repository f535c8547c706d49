//! Employee operations: list, history, one employee, create, PUT personal info.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::super::Sandbox;
use super::super::clock::{current_period, parse_dutch_date_time};
use super::super::model::{InvalidParam, Page};
use super::super::paging::paginate;
use super::super::state::Filters;
use super::super::write::{parse_create, parse_update};
use super::errors::{ApiError, json_reply};
use super::{Call, ok_json};

/// Query filters `employeeId`, `createdFrom` (a date-time; with an offset it
/// is converted to Dutch time, without one it is Dutch time already — the
/// entries' `createdAt` is Dutch wall-clock time) and `employeeType` (comma list).
fn filters(call: &Call) -> Result<Filters, ApiError> {
    let created_from = match call.param("createdFrom") {
        None => None,
        Some(s) => Some(parse_dutch_date_time(s).ok_or_else(|| {
            InvalidParam::new(
                "createdFrom",
                format!("The parameter is invalid. '{s}' is not a date-time."),
            )
        })?),
    };
    let employee_types = call.param("employeeType").map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect()
    });
    Ok(Filters {
        employee_id: call.param("employeeId").map(str::to_string),
        created_from,
        employee_types,
    })
}

fn body(call: &Call) -> Result<&Value, ApiError> {
    call.body
        .as_ref()
        .ok_or_else(|| InvalidParam::new("body", "is required").into())
}

/// `GET /api/companies/{companyId}/employees` (schema `EmployeeListResponse`):
/// `{employeeId, employeeBasicInfo}` of the entry in force.
pub(crate) async fn list_company_employees(
    State(sb): State<Sandbox>,
    Path(company_id): Path<String>,
    Extension(call): Extension<Call>,
) -> Result<Response, ApiError> {
    let req = call.page(&sb)?;
    let f = filters(&call)?;
    let now = current_period();
    let style = sb.inner.date_style;
    let store = sb.inner.store();
    let page = paginate(
        store.listed_employees(&company_id, &f, now)?,
        req,
        &call.links,
    );
    let data: Vec<Value> = page
        .data
        .iter()
        .map(|e| {
            json!({
                "employeeId": e.employee_id,
                "employeeBasicInfo": e.in_force(now).map(|h| h.render_basic(style)),
            })
        })
        .collect();
    ok_json(&Page {
        pagination: page.pagination,
        data,
    })
}

/// `GET /api/companies/{companyId}/employees/personalinfo` (schema
/// `EmployeesPersonalInfoResponse`): per employee `{employeeId, info: [history]}`.
pub(crate) async fn list_company_personal_info(
    State(sb): State<Sandbox>,
    Path(company_id): Path<String>,
    Extension(call): Extension<Call>,
) -> Result<Response, ApiError> {
    let req = call.page(&sb)?;
    let f = filters(&call)?;
    let style = sb.inner.date_style;
    let store = sb.inner.store();
    // Only the requested page is rendered to JSON.
    let page = paginate(store.history(&company_id, &f)?, req, &call.links);
    let data: Vec<Value> = page
        .data
        .iter()
        .map(|(e, entries)| {
            let info: Vec<Value> = entries.iter().map(|h| h.render(style)).collect();
            json!({"employeeId": e.employee_id, "info": info})
        })
        .collect();
    ok_json(&Page {
        pagination: page.pagination,
        data,
    })
}

/// `GET /api/employees/{employeeId}` (schema `EmployeeInfoResponse`): a
/// one-item page of `{employeeId, personalInfo: <entry in force>}`.
pub(crate) async fn get_employee(
    State(sb): State<Sandbox>,
    Path(employee_id): Path<String>,
    Extension(call): Extension<Call>,
) -> Result<Response, ApiError> {
    let req = call.page(&sb)?;
    let item = sb
        .inner
        .store()
        .employee(&employee_id)?
        .info_item(current_period(), sb.inner.date_style);
    ok_json(&paginate(vec![item], req, &call.links))
}

/// `POST /api/companies/{companyId}/employees` (schema `CreateEmployee`):
/// 201 `{employeeId}`; the entry is for the body's period, else the current one.
pub(crate) async fn create_employee(
    State(sb): State<Sandbox>,
    Path(company_id): Path<String>,
    Extension(call): Extension<Call>,
) -> Result<Response, ApiError> {
    // An unknown company is a 404 whatever the body says.
    sb.inner.store().company_employees(&company_id)?;
    let req = parse_create(body(&call)?).map_err(ApiError::Validation)?;
    let period = req.period.unwrap_or_else(current_period);
    let employee_id =
        sb.inner
            .store()
            .create_employee(&company_id, req.data, period, req.in_service_date)?;
    Ok(json_reply(
        StatusCode::CREATED,
        json!({"employeeId": employee_id}),
    ))
}

/// `PUT /api/employees/{employeeId}/personalInfo` (schema `UpdatePersonalInfo`):
/// replaces the entry of the body's period (else the current one); 200 `{personalInfoId}`.
pub(crate) async fn put_personal_info(
    State(sb): State<Sandbox>,
    Path(employee_id): Path<String>,
    Extension(call): Extension<Call>,
) -> Result<Response, ApiError> {
    sb.inner.store().employee(&employee_id)?;
    let req = parse_update(body(&call)?).map_err(ApiError::Validation)?;
    let now = current_period();
    let personal_info_id = sb.inner.store().put_personal_info(
        &employee_id,
        req.data,
        req.period.unwrap_or(now),
        now,
    )?;
    ok_json(&json!({"personalInfoId": personal_info_id}))
}
