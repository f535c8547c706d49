//! `GET /api/companies`, `GET /api/debtors`, `GET /api/debtors/{debtorId}/companies`.

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::Response;

use super::super::Sandbox;
use super::super::paging::paginate;
use super::errors::ApiError;
use super::{Call, ok_json};

/// `GET /api/companies` (schema `CompanyListResponse`). With
/// [`Sandbox::set_multi_debtor_forbidden`] on and more than one debtor, 403
/// 40303, as Nmbrs answers a token that spans several debtors.
pub(crate) async fn list_companies(
    State(sb): State<Sandbox>,
    Extension(call): Extension<Call>,
) -> Result<Response, ApiError> {
    let req = call.page(&sb)?;
    let store = sb.inner.store();
    if store.multi_debtor_forbidden && store.debtors().len() > 1 {
        return Err(ApiError::Forbidden(
            "You do not have access for the debtor or company you are trying to reach: \
             this token spans several debtors; list GET /api/debtors and \
             GET /api/debtors/{debtorId}/companies instead."
                .into(),
        ));
    }
    ok_json(&paginate(store.companies(), req, &call.links))
}

/// `GET /api/debtors` (schema `DebtorListResponse`).
pub(crate) async fn list_debtors(
    State(sb): State<Sandbox>,
    Extension(call): Extension<Call>,
) -> Result<Response, ApiError> {
    let req = call.page(&sb)?;
    let debtors = sb.inner.store().debtors();
    ok_json(&paginate(debtors, req, &call.links))
}

/// `GET /api/debtors/{debtorId}/companies` (schema `CompanyListResponse`); unknown debtor: 404 40401.
pub(crate) async fn list_debtor_companies(
    State(sb): State<Sandbox>,
    Path(debtor_id): Path<String>,
    Extension(call): Extension<Call>,
) -> Result<Response, ApiError> {
    let req = call.page(&sb)?;
    let companies = sb.inner.store().debtor_companies(&debtor_id)?;
    ok_json(&paginate(companies, req, &call.links))
}
