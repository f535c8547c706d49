//! The company-level history listings beyond personal info, one handler for
//! all (`GET /api/companies/{companyId}/employees/employments`, `/contracts`,
//! `/functions`, `/departments`, `/managers`, `/addresses`, `/privateInfos`):
//! per employee `{employeeId, <key>: [entries in the read shape]}`.

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{MethodRouter, get};
use chrono::NaiveDateTime;
use serde_json::{Value, json};

use super::super::Sandbox;
use super::super::clock::parse_dutch_date_time;
use super::super::model::{InvalidParam, Page};
use super::super::paging::paginate;
use super::super::records::Resource;
use super::super::state::RecordFilters;
use super::errors::ApiError;
use super::{Call, ok_json};

/// A date-time query parameter as Dutch wall-clock time (see `clock`).
fn date_time_param(call: &Call, name: &str) -> Result<Option<NaiveDateTime>, ApiError> {
    match call.param(name) {
        None => Ok(None),
        Some(s) => parse_dutch_date_time(s).map(Some).ok_or_else(|| {
            InvalidParam::new(
                name,
                format!("The parameter is invalid. '{s}' is not a date-time."),
            )
            .into()
        }),
    }
}

/// The listing of `res` for a company. Only the filters the description
/// declares for it apply (`privateInfos` has no `employeeId`, only
/// `employments` has `changedFrom`); others are ignored like any undeclared parameter.
async fn list(
    sb: Sandbox,
    company_id: String,
    call: Call,
    res: &'static Resource,
) -> Result<Response, ApiError> {
    let req = call.page(&sb)?;
    let f = RecordFilters {
        employee_id: res
            .employee_id_filter
            .then(|| call.param("employeeId").map(str::to_string))
            .flatten(),
        created_from: date_time_param(&call, "createdFrom")?,
        changed_from: match res.changed {
            Some(_) => date_time_param(&call, "changedFrom")?,
            None => None,
        },
    };
    let style = sb.inner.date_style;
    let store = sb.inner.store();
    let page = paginate(
        store.record_listing(&company_id, res, &f)?,
        req,
        &call.links,
    );
    let data: Vec<Value> = page
        .data
        .iter()
        .map(|(e, recs)| {
            let entries: Vec<Value> = recs.iter().map(|r| r.render(res, style)).collect();
            json!({"employeeId": e.employee_id, res.key: entries})
        })
        .collect();
    ok_json(&Page {
        pagination: page.pagination,
        data,
    })
}

/// The GET route of the listing of `res`.
pub(crate) fn listing(res: &'static Resource) -> MethodRouter<Sandbox> {
    get(
        move |State(sb): State<Sandbox>,
              Path(company_id): Path<String>,
              Extension(call): Extension<Call>| list(sb, company_id, call, res),
    )
}
