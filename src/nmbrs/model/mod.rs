//! Nmbrs JSON shapes as this client reads and writes them, per the vendor's description
//! (`docs/nmbrs-openapi.yaml`, summarised in `docs/nmbrs-api.md`). The one place that maps Nmbrs
//! shapes to [`crate::fields::FieldValues`] and back: read and write shapes differ, and each member is
//! mapped explicitly ([`personal_info`]; the other resources in [`resources`], the listing shape they
//! share in [`history`]). Calendar dates: `dates`.

pub(crate) mod dates;
pub mod history;
pub mod personal_info;
pub mod resources;

pub use history::{History, ListingItem};
pub use personal_info::{
    CreateDefaults, CreateEmployee, CreateError, InForce, ReadError, UpdatePersonalInfo, in_force,
    in_force_by_period, read_values,
};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// The page envelope of every list endpoint: `{"pagination": {...}, "data": [...]}`.
#[derive(Debug, Deserialize)]
pub struct Page<T> {
    #[serde(default)]
    pub pagination: Pagination,
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
}

/// `pagination` of a [`Page`]. Every member is optional on reading: only `totalPages` (or an empty
/// `nextPage`) is needed to know whether another page follows.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Pagination {
    pub page_number: Option<u32>,
    pub page_size: Option<u32>,
    pub total_pages: Option<u32>,
    pub total_records: Option<u64>,
    /// Next page as a URL (the description), `null` or `""` on the last page.
    pub next_page: Option<Value>,
}

impl Pagination {
    /// Whether a page after `current` (1-based) exists: `totalPages` decides when given, whether
    /// `nextPage` is `null`, `""` or a URL; without it, a non-empty `nextPage`. An empty page ends
    /// the walk (a listing that then falls short of `totalRecords` is refused by the caller).
    pub fn has_next(&self, current: u32, items_on_page: usize) -> bool {
        if items_on_page == 0 {
            return false;
        }
        if let Some(total) = self.total_pages {
            return current < total;
        }
        match &self.next_page {
            Some(Value::String(s)) => !s.trim().is_empty(),
            Some(Value::Number(_)) => true,
            _ => false,
        }
    }
}

/// A company from `GET /api/companies` or `GET /api/debtors/{debtorId}/companies` (schema `Company`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Company {
    pub company_id: String,
    /// The company `number` (the HRIS `company_number`); some servers send it as a JSON number.
    #[serde(deserialize_with = "string_or_number")]
    pub number: String,
    #[serde(default)]
    pub name: Option<String>,
    /// The debtor (client administration) the company belongs to.
    #[serde(default)]
    pub debtor_id: Option<String>,
}

/// A debtor from `GET /api/debtors` (schema `Debtor`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Debtor {
    pub debtor_id: String,
    #[serde(default, deserialize_with = "opt_string_or_number")]
    pub number: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

fn opt_string_or_number<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(serde::de::Error::custom(format!(
            "expected a string or number, got {other}"
        ))),
    }
}

fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s.trim().to_owned()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "expected a string or number, got {other}"
        ))),
    }
}

/// An item of `GET /api/employees/{employeeId}` (schema `EmployeeInfo`): the current personal info
/// in the read shape, kept raw so it is read field by field ([`read_values`]).
#[derive(Clone, Debug, Deserialize)]
pub struct EmployeeItem {
    #[serde(rename = "employeeId")]
    pub employee_id: String,
    #[serde(rename = "personalInfo", default)]
    pub personal_info: Option<Value>,
}

/// `{"employeeId": uuid}` answer of the create call (201).
#[derive(Debug, Deserialize)]
pub struct Created {
    #[serde(rename = "employeeId")]
    pub employee_id: String,
}

/// `{"personalInfoId": uuid}` answer of the PUT.
#[derive(Debug, Deserialize)]
pub struct PersonalInfoUpdated {
    #[serde(rename = "personalInfoId", default)]
    pub personal_info_id: Option<String>,
}

/// The error body of every 4xx/5xx (`components.responses.*-error`):
/// `{type, httpStatus, code, title, detail, invalid-params[{name, reason}], docUrl}`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct ErrorBody {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub http_status: Option<u16>,
    /// E.g. 40303 (no access / scope), 40304 (no subscription), 42908 (too many calls),
    /// 42909 (quota used up).
    pub code: Option<u32>,
    pub title: Option<String>,
    pub detail: Option<String>,
    #[serde(rename = "invalid-params")]
    pub invalid_params: Vec<InvalidParam>,
}

/// One entry of [`ErrorBody::invalid_params`].
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct InvalidParam {
    pub name: Option<String>,
    pub reason: Option<String>,
}

impl ErrorBody {
    /// Parses an error answer; `None` when it is not the description's shape.
    pub fn parse(text: &str) -> Option<ErrorBody> {
        let b: ErrorBody = serde_json::from_str(text).ok()?;
        (b.code.is_some() || b.title.is_some() || b.detail.is_some()).then_some(b)
    }

    /// `name: reason` per invalid parameter.
    pub fn invalid_params_text(&self) -> Vec<String> {
        self.invalid_params
            .iter()
            .map(|p| {
                format!(
                    "{}: {}",
                    p.name.as_deref().unwrap_or("?"),
                    p.reason.as_deref().unwrap_or("invalid")
                )
            })
            .collect()
    }

    /// The human part: `title (code): detail`.
    pub fn summary(&self) -> String {
        let mut s = self.title.clone().unwrap_or_default();
        if let Some(c) = self.code {
            s.push_str(&format!(" ({c})"));
        }
        if let Some(d) = &self.detail {
            s.push_str(": ");
            s.push_str(d);
        }
        s.trim().to_owned()
    }
}

/// A payroll period: `{"year": 2021, "period": 4}` (schema `Period`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Period {
    pub year: i32,
    pub period: u8,
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:02}", self.year, self.period)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pagination_stops_on_total_pages_whatever_next_page_says() {
        let p: Pagination =
            serde_json::from_value(json!({"pageNumber": 2, "totalPages": 3, "nextPage": "https://x/api/companies?pageNumber=3"}))
                .expect("p");
        assert!(p.has_next(2, 10));
        for next in [
            json!(null),
            json!(""),
            json!("https://x/api/companies?pageNumber=4"),
        ] {
            let p: Pagination =
                serde_json::from_value(json!({"pageNumber": 3, "totalPages": 3, "nextPage": next}))
                    .expect("p");
            assert!(!p.has_next(3, 10), "{next}");
        }
        let p: Pagination =
            serde_json::from_value(json!({"pageNumber": 1, "totalPages": 3, "nextPage": null}))
                .expect("p");
        assert!(p.has_next(1, 10), "null nextPage before the last page");
        let p: Pagination = serde_json::from_value(json!({"nextPage": ""})).expect("p");
        assert!(!p.has_next(1, 10));
        let p: Pagination = serde_json::from_value(json!({"nextPage": 2})).expect("p");
        assert!(p.has_next(1, 10));
        assert!(
            !Pagination::default().has_next(1, 10),
            "no information: stop rather than loop"
        );
        let p: Pagination = serde_json::from_value(json!({"totalPages": 5})).expect("p");
        assert!(!p.has_next(1, 0), "an empty page ends the walk");
    }

    #[test]
    fn error_bodies_of_the_description_are_read() {
        let b = ErrorBody::parse(r#"{"type":"validationError","httpStatus":400,"code":40033,"title":"Parameter_Invalid","detail":"Invalid parameter.","invalid-params":[{"name":"year","reason":"It needs to be a valid year."}],"docUrl":"https://x"}"#).expect("parses");
        assert_eq!(b.code, Some(40033));
        assert_eq!(
            b.invalid_params_text(),
            ["year: It needs to be a valid year."]
        );
        assert_eq!(b.summary(), "Parameter_Invalid (40033): Invalid parameter.");
        assert!(ErrorBody::parse("<html>").is_none());
        assert!(ErrorBody::parse(r#"{"message":"x"}"#).is_none());
    }
}
