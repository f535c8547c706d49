//! The sandbox's own wire types (deliberately not shared with the client, so a
//! client-side mistake in a type cannot be mirrored here and go unnoticed).

use serde::Serialize;
use serde_json::{Map, Value};

/// The five sections of a personal info object and the fields Nmbrs documents
/// for each. Sections are stored as JSON maps so that fields we do not map
/// (Nmbrs has many more) survive a round trip.
///
/// *Assumed*: the exact field list per section; keep it here, in one place.
pub(crate) const SECTIONS: &[(&str, &[&str])] = &[
    (
        "basicInfo",
        &[
            "employeeNumber",
            "firstName",
            "firstNameInFull",
            "lastName",
            "employeeType",
        ],
    ),
    (
        "birthInfo",
        &[
            "birthDate",
            "birthCountryCodeISO",
            "nationalityCodeISO",
            "gender",
        ],
    ),
    (
        "contactInfo",
        &[
            "privateEmail",
            "businessEmail",
            "businessMobilePhone",
            "privateMobilePhone",
        ],
    ),
    ("partnerInfo", &["partnerName", "maritalStatus"]),
    ("period", &["year", "period"]),
];

/// Known fields whose values must be JSON strings (or null).
pub(crate) const STRING_FIELDS: &[&str] = &[
    "basicInfo.firstName",
    "basicInfo.firstNameInFull",
    "basicInfo.lastName",
    "basicInfo.employeeType",
    "birthInfo.birthDate",
    "birthInfo.birthCountryCodeISO",
    "birthInfo.nationalityCodeISO",
    "birthInfo.gender",
    "contactInfo.privateEmail",
    "contactInfo.businessEmail",
    "contactInfo.businessMobilePhone",
    "contactInfo.privateMobilePhone",
    "partnerInfo.partnerName",
    "partnerInfo.maritalStatus",
];

/// Known fields that hold e-mail addresses.
pub(crate) const EMAIL_FIELDS: &[&str] = &["contactInfo.privateEmail", "contactInfo.businessEmail"];

/// Longest string accepted in any field (*assumed* limit).
pub(crate) const MAX_STRING_CHARS: usize = 255;

/// Accepted payroll years (*assumed*; Nmbrs does not publish a range).
pub(crate) const YEAR_RANGE: std::ops::RangeInclusive<i64> = 1900..=2999;

/// Accepted payroll periods: monthly (1..12), four-weekly (1..13) and weekly (1..53) payrolls.
pub(crate) const PERIOD_RANGE: std::ops::RangeInclusive<i64> = 1..=53;

/// Validated, normalised personal info sections: every section is present and
/// is an object holding every documented field (null when absent) plus any
/// extra fields the sender included.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Sections(pub(crate) Map<String, Value>);

/// `{"pagination": {...}, "data": [...]}`, the envelope of every list.
#[derive(Serialize, Debug)]
pub(crate) struct Page<T> {
    pub(crate) pagination: Pagination,
    pub(crate) data: Vec<T>,
}

/// The pagination block of a page envelope.
#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Pagination {
    pub(crate) page_number: u32,
    pub(crate) page_size: u32,
    pub(crate) first_page: u32,
    pub(crate) last_page: u32,
    pub(crate) total_pages: u32,
    pub(crate) total_records: u64,
    /// Next page number as a string, "" on the last page.
    pub(crate) next_page: String,
    /// Previous page number as a string, "" on the first page.
    pub(crate) previous_page: String,
}

/// A company as listed by `GET /companies`.
#[derive(Serialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CompanyItem {
    pub(crate) company_id: String,
    pub(crate) number: String,
    pub(crate) name: String,
    pub(crate) debtor_id: String,
}

/// An item of `GET /companies/{companyId}/employees`.
#[derive(Serialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EmployeeListItem {
    pub(crate) employee_id: String,
    pub(crate) employee_number: Value,
}

/// One field-level validation problem; the 400 body is `{"errors": [FieldError, ...]}`.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub(crate) struct FieldError {
    pub(crate) field: String,
    pub(crate) message: String,
}

impl FieldError {
    pub(crate) fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Successful answer of the token endpoint.
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
