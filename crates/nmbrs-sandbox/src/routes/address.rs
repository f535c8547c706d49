//! Addresses and private info (BSN): their company histories, a new address
//! entry, a new social security number. Scope `employee.info`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{post, put};
use axum::{Extension, Router};
use serde_json::json;

use super::super::Sandbox;
use super::super::clock::current_period;
use super::super::model::InvalidParam;
use super::super::records::{ADDRESSES, Cell, PRIVATE_INFOS, Record};
use super::super::write::members::{boolean, period, required_text, text};
use super::errors::{ApiError, json_reply};
use super::history::listing;
use super::{Call, ok_json};

const ROUTE_ADDRESSES: &str = "/companies/{companyId}/employees/addresses";
const ROUTE_PRIVATE_INFOS: &str = "/companies/{companyId}/employees/privateInfos";
const ROUTE_ADDRESS: &str = "/employees/{employeeId}/address";
const ROUTE_BSN: &str = "/employees/{employeeId}/socialsecuritynumber";

/// The operations of this family (method, route template).
pub(crate) const OPERATIONS: &[(&str, &str)] = &[
    ("GET", ROUTE_ADDRESSES),
    ("GET", ROUTE_PRIVATE_INFOS),
    ("POST", ROUTE_ADDRESS),
    ("PUT", ROUTE_BSN),
];

pub(crate) fn routes() -> Router<Sandbox> {
    Router::new()
        .route(ROUTE_ADDRESSES, listing(&ADDRESSES))
        .route(ROUTE_PRIVATE_INFOS, listing(&PRIVATE_INFOS))
        .route(ROUTE_ADDRESS, post(create_address))
        .route(ROUTE_BSN, put(put_social_security_number))
}

/// `POST /api/employees/{employeeId}/address` (schema `CreateAddress`): 201
/// `{addressId}`; appends an entry for the body's period (else the current
/// one). `isDefault` is kept as sent (absent: false); other entries are untouched.
async fn create_address(
    State(sb): State<Sandbox>,
    Path(employee_id): Path<String>,
    Extension(call): Extension<Call>,
) -> Result<Response, ApiError> {
    sb.inner.store().employee(&employee_id)?;
    let body = call.json_body()?;
    let mut errors = Vec::new();
    let mut rec = Record::new(&ADDRESSES);
    for required in ["type", "street", "city", "countryISOCode"] {
        match required_text(body, required, &mut errors) {
            Some(s) if s.trim().is_empty() => {
                errors.push(InvalidParam::new(
                    format!("/{required}"),
                    "must not be blank",
                ));
            }
            Some(s) => rec.put(required, Cell::Text(s)),
            None => {}
        }
    }
    if let Some(Cell::Text(code)) = rec.get("countryISOCode").cloned() {
        if code.len() == 2 && code.chars().all(|c| c.is_ascii_alphabetic()) {
            rec.put("countryISOCode", Cell::Text(code.to_ascii_uppercase()));
        } else {
            errors.push(InvalidParam::new(
                "/countryISOCode",
                format!("The parameter is invalid. '{code}' is not a two-letter ISO country code."),
            ));
        }
    }
    for optional in [
        "houseNumber",
        "houseNumberAddition",
        "postalCode",
        "stateProvince",
    ] {
        let v = text(body, optional, &mut errors).value();
        rec.put(optional, v.map_or(Cell::Null, Cell::Text));
    }
    let is_default = boolean(body, "isDefault", &mut errors).value();
    rec.put("isDefault", Cell::Bool(is_default.unwrap_or(false)));
    let period = period(body, "period", &mut errors).unwrap_or_else(current_period);
    rec.put("period", Cell::Period(period));
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let id = sb
        .inner
        .store()
        .push_record(&employee_id, &ADDRESSES, rec)?;
    Ok(json_reply(StatusCode::CREATED, json!({"addressId": id})))
}

/// The Dutch BSN "eleven test": 9 digits d1..d9 with
/// 9·d1 + 8·d2 + … + 2·d8 − 1·d9 divisible by 11.
pub(crate) fn passes_eleven_test(bsn: &str) -> bool {
    let digits: Vec<i64> = bsn
        .chars()
        .filter_map(|c| c.to_digit(10).map(i64::from))
        .collect();
    if digits.len() != 9 || bsn.len() != 9 {
        return false;
    }
    let sum: i64 = digits[..8]
        .iter()
        .zip((2..=9).rev())
        .map(|(d, w)| d * w)
        .sum::<i64>()
        - digits[8];
    sum % 11 == 0
}

/// `PUT /api/employees/{employeeId}/socialsecuritynumber` (schema
/// `UpdateSocialSecurityNumber`): 9 digits passing the eleven test, else 400
/// `/socialSecurityNumber`; appends a `privateInfos` entry. 200
/// `{personalnfoId}` (sic, the description's spelling).
async fn put_social_security_number(
    State(sb): State<Sandbox>,
    Path(employee_id): Path<String>,
    Extension(call): Extension<Call>,
) -> Result<Response, ApiError> {
    sb.inner.store().employee(&employee_id)?;
    let body = call.json_body()?;
    let mut errors = Vec::new();
    let bsn = required_text(body, "socialSecurityNumber", &mut errors);
    let Some(bsn) = bsn.filter(|_| errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let reason = if bsn.len() != 9 || !bsn.chars().all(|c| c.is_ascii_digit()) {
        Some("must be exactly 9 digits")
    } else if !passes_eleven_test(&bsn) {
        Some("is not a valid BSN (it fails the eleven test)")
    } else {
        None
    };
    if let Some(reason) = reason {
        return Err(InvalidParam::new(
            "/socialSecurityNumber",
            format!("The parameter is invalid. '{bsn}' {reason}."),
        )
        .into());
    }
    let mut rec = Record::new(&PRIVATE_INFOS);
    rec.put("BSN", Cell::Text(bsn));
    let id = sb
        .inner
        .store()
        .push_record(&employee_id, &PRIVATE_INFOS, rec)?;
    ok_json(&json!({"personalnfoId": id}))
}

#[cfg(test)]
mod tests {
    use super::passes_eleven_test;

    #[test]
    fn eleven_test() {
        // 9·1 + 8·2 + 7·3 + 6·4 + 5·5 + 4·6 + 3·7 + 2·8 − 2 = 154 = 14·11.
        assert!(passes_eleven_test("123456782"));
        assert!(passes_eleven_test("111222333"));
        assert!(!passes_eleven_test("123456789"));
        assert!(!passes_eleven_test("12345678"));
        assert!(!passes_eleven_test("1234567820"));
        assert!(!passes_eleven_test("12345678a"));
    }
}
