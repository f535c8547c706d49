//! The sandbox's own wire types (deliberately not shared with the client, so a
//! client-side mistake in a type cannot be mirrored here and go unnoticed).
//! Each names the schema of `docs/nmbrs-openapi.yaml` it follows.

use serde::Serialize;

/// `{"pagination": {...}, "data": [...]}`, the envelope of every list
/// (`CompanyListResponse`, `EmployeesPersonalInfoResponse`, …).
#[derive(Serialize, Debug)]
pub(crate) struct Page<T> {
    pub(crate) pagination: Pagination,
    pub(crate) data: Vec<T>,
}

/// Schema `Pagination`. Page URLs are absolute (`format: uri`);
/// `nextPage`/`previousPage` are `null` at the ends (`nullable: true`).
#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Pagination {
    pub(crate) page_number: u32,
    pub(crate) page_size: u32,
    pub(crate) first_page: String,
    pub(crate) last_page: String,
    pub(crate) total_pages: u32,
    pub(crate) total_records: u64,
    pub(crate) next_page: Option<String>,
    pub(crate) previous_page: Option<String>,
}

/// Schema `Company` (items of `GET /api/companies` and `GET /api/debtors/{debtorId}/companies`).
#[derive(Serialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CompanyItem {
    pub(crate) company_id: String,
    pub(crate) number: String,
    pub(crate) name: String,
    pub(crate) debtor_id: String,
}

/// Schema `Debtor` (items of `GET /api/debtors`).
#[derive(Serialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DebtorItem {
    pub(crate) debtor_id: String,
    pub(crate) number: String,
    pub(crate) name: String,
}

/// One entry of an error's `invalid-params` (`components.responses.400-error`):
/// `name` is a JSON pointer into the body (`/basicInfo/lastName`) or a query
/// parameter name (`pageSize`).
#[derive(Serialize, Debug, Clone, PartialEq)]
pub(crate) struct InvalidParam {
    pub(crate) name: String,
    pub(crate) reason: String,
}

impl InvalidParam {
    pub(crate) fn new(name: impl Into<String>, reason: impl Into<String>) -> Self {
        InvalidParam {
            name: name.into(),
            reason: reason.into(),
        }
    }
}

/// Successful answer of the token endpoint (RFC 6749 §5.1).
#[derive(Serialize, Debug)]
pub(crate) struct TokenResponse {
    pub(crate) access_token: String,
    pub(crate) token_type: &'static str,
    pub(crate) expires_in: u64,
    /// Issued only for a consent that included `offline_access` (and for seed tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) refresh_token: Option<String>,
    pub(crate) scope: String,
}
