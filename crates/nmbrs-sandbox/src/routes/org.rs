//! Organisation structure: the employees' function, department and manager
//! histories (scope `employee.info` for the company listings, as the
//! description says), the PUTs that set them and the debtor's reference lists
//! (scope `employee.orgstructure`).

use axum::extract::{Path, State};
use axum::routing::{MethodRouter, get, put};
use axum::{Extension, Router};
use serde_json::{Value, json};

use super::super::Sandbox;
use super::super::clock::current_period;
use super::super::org::DebtorOrg;
use super::super::paging::paginate;
use super::super::records::{DEPARTMENTS, FUNCTIONS, MANAGERS, Resource};
use super::super::write::members::{period, required_text};
use super::errors::ApiError;
use super::history::listing;
use super::{Call, ok_json};

const ROUTE_FUNCTIONS: &str = "/companies/{companyId}/employees/functions";
const ROUTE_DEPARTMENTS: &str = "/companies/{companyId}/employees/departments";
const ROUTE_MANAGERS: &str = "/companies/{companyId}/employees/managers";
const ROUTE_FUNCTION: &str = "/employees/{employeeId}/function";
const ROUTE_DEPARTMENT: &str = "/employees/{employeeId}/department";
const ROUTE_MANAGER: &str = "/employees/{employeeId}/manager";
const ROUTE_DEBTOR_FUNCTIONS: &str = "/debtors/{debtorId}/functions";
const ROUTE_DEBTOR_DEPARTMENTS: &str = "/debtors/{debtorId}/departments";
const ROUTE_DEBTOR_MANAGERS: &str = "/debtors/{debtorId}/managers";

/// The operations of this family (method, route template).
pub(crate) const OPERATIONS: &[(&str, &str)] = &[
    ("GET", ROUTE_FUNCTIONS),
    ("GET", ROUTE_DEPARTMENTS),
    ("GET", ROUTE_MANAGERS),
    ("PUT", ROUTE_FUNCTION),
    ("PUT", ROUTE_DEPARTMENT),
    ("PUT", ROUTE_MANAGER),
    ("GET", ROUTE_DEBTOR_FUNCTIONS),
    ("GET", ROUTE_DEBTOR_DEPARTMENTS),
    ("GET", ROUTE_DEBTOR_MANAGERS),
];

pub(crate) fn routes() -> Router<Sandbox> {
    Router::new()
        .route(ROUTE_FUNCTIONS, listing(&FUNCTIONS))
        .route(ROUTE_DEPARTMENTS, listing(&DEPARTMENTS))
        .route(ROUTE_MANAGERS, listing(&MANAGERS))
        .route(ROUTE_FUNCTION, put_route(&FUNCTIONS, "employeeFunctionId"))
        .route(
            ROUTE_DEPARTMENT,
            put_route(&DEPARTMENTS, "employeeDepartmentId"),
        )
        .route(ROUTE_MANAGER, put_route(&MANAGERS, "employeeManagerId"))
        .route(
            ROUTE_DEBTOR_FUNCTIONS,
            debtor_list(DebtorOrg::functions_json),
        )
        .route(
            ROUTE_DEBTOR_DEPARTMENTS,
            debtor_list(DebtorOrg::departments_json),
        )
        .route(ROUTE_DEBTOR_MANAGERS, debtor_list(DebtorOrg::managers_json))
}

/// `PUT /api/employees/{employeeId}/function|department|manager` (schemas
/// `UpdateEmployeeFunction`, `…Department`, `…Manager`): 200 `{<answer>: id}`.
fn put_route(res: &'static Resource, answer: &'static str) -> MethodRouter<Sandbox> {
    put(
        move |State(sb): State<Sandbox>,
              Path(employee_id): Path<String>,
              Extension(call): Extension<Call>| async move {
            sb.inner.store().employee(&employee_id)?;
            let body = call.json_body()?;
            let mut errors = Vec::new();
            let id_member = res.reference.map_or("id", |r| r.id_member());
            let object_id = required_text(body, id_member, &mut errors);
            let period = period(body, "periodDetails", &mut errors);
            let Some(object_id) = object_id.filter(|_| errors.is_empty()) else {
                return Err(ApiError::Validation(errors));
            };
            let id = sb.inner.store().put_org(
                &employee_id,
                res,
                &object_id,
                period.unwrap_or_else(current_period),
            )?;
            ok_json(&json!({answer: id}))
        },
    )
}

/// `GET /api/debtors/{debtorId}/functions|departments|managers`: the debtor's
/// objects in creation order; 404 40401 for an unknown debtor.
fn debtor_list(items: fn(&DebtorOrg) -> Vec<Value>) -> MethodRouter<Sandbox> {
    get(
        move |State(sb): State<Sandbox>,
              Path(debtor_id): Path<String>,
              Extension(call): Extension<Call>| async move {
            let req = call.page(&sb)?;
            let all = items(sb.inner.store().org(&debtor_id)?);
            ok_json(&paginate(all, req, &call.links))
        },
    )
}
