//! The two write bodies, read strictly: `CreateEmployee` (POST
//! `/api/companies/{companyId}/employees`) and `UpdatePersonalInfo` (PUT
//! `/api/employees/{employeeId}/personalInfo`), schemas of the same names in
//! `docs/nmbrs-openapi.yaml`.
//!
//! Objects the description closes with `additionalProperties: false`
//! (`CreateEmployee`, `CreatePersonalInfo`, `EmployeeBasic`,
//! `UpdateEmployeeBasic`, `CreateEmployeeBirth`, `EmployeeContact`) refuse
//! unknown members here too; the open ones (`UpdatePersonalInfo`,
//! `UpdateEmployeeBirth`, `UpdatePartnerInfo`, `Period`,
//! `AdditionalEmployeeInfo`) ignore them — so a read-shape `birthCountry`
//! sent in a PUT is silently dropped, exactly as the description allows.
//! Business rules the schemas cannot express live in `validation`. The
//! smaller bodies of the other employee resources are read member by member
//! (`members`).

pub(crate) mod members;

use chrono::NaiveDate;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_path_to_error::Segment;

use super::clock::{dutch_date_of, parse_date};
use super::model::InvalidParam;
use super::person::{Basic, Birth, Contact, Partner, Period, PersonalData};
use super::validation;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateEmployeeIn {
    #[serde(rename = "PersonalInfo")]
    personal_info: Option<CreatePersonalInfoIn>,
    #[serde(rename = "AdditionalEmployeeInfo")]
    additional: Option<AdditionalIn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreatePersonalInfoIn {
    /// readOnly: refused before deserialising, listed so it is not "unknown".
    #[allow(dead_code)]
    personal_info_id: Option<Value>,
    /// readOnly, as above.
    #[allow(dead_code)]
    created_at: Option<Value>,
    basic_info: Option<BasicIn>,
    birth_info: Option<BirthIn>,
    contact_info: Option<ContactIn>,
    partner_info: Option<PartnerIn>,
    period: Option<PeriodIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdatePersonalInfoIn {
    basic_info: Option<UpdateBasicIn>,
    birth_info: Option<OpenBirthIn>,
    contact_info: Option<ContactIn>,
    partner_info: Option<PartnerIn>,
    period: Option<PeriodIn>,
}

/// `EmployeeBasic` (create).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct BasicIn {
    employee_number: Option<i64>,
    first_name: Option<String>,
    first_name_in_full: Option<String>,
    prefix: Option<String>,
    initials: Option<String>,
    last_name: Option<String>,
    employee_type: Option<String>,
}

/// `UpdateEmployeeBasic`: no `employeeType`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct UpdateBasicIn {
    employee_number: Option<i64>,
    first_name: Option<String>,
    first_name_in_full: Option<String>,
    prefix: Option<String>,
    initials: Option<String>,
    last_name: Option<String>,
}

/// `CreateEmployeeBirth` (closed; dates are `format: date`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct BirthIn {
    birth_date: Option<String>,
    #[serde(rename = "birthCountryCodeISO")]
    birth_country_code_iso: Option<String>,
    #[serde(rename = "nationalityCodeISO")]
    nationality_code_iso: Option<String>,
    deceased_on: Option<String>,
    gender: Option<String>,
}

/// `UpdateEmployeeBirth` (open; dates are `format: date-time`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OpenBirthIn {
    birth_date: Option<String>,
    #[serde(rename = "birthCountryCodeISO")]
    birth_country_code_iso: Option<String>,
    #[serde(rename = "nationalityCodeISO")]
    nationality_code_iso: Option<String>,
    deceased_on: Option<String>,
    gender: Option<String>,
}

/// `EmployeeContact`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ContactIn {
    private_email: Option<String>,
    business_email: Option<String>,
    business_phone: Option<String>,
    business_mobile_phone: Option<String>,
    private_phone: Option<String>,
    private_mobile_phone: Option<String>,
    other_phone: Option<String>,
}

/// `UpdatePartnerInfo`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PartnerIn {
    partner_prefix: Option<String>,
    partner_name: Option<String>,
    marital_status: Option<String>,
    ascription_code: Option<i64>,
}

/// `Period`.
#[derive(Deserialize)]
struct PeriodIn {
    year: Option<i64>,
    period: Option<i64>,
}

/// `AdditionalEmployeeInfo`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdditionalIn {
    in_service_date: Option<String>,
    #[allow(dead_code)] // accepted; the sandbox has no employee templates
    default_employee_template: Option<String>,
}

/// A create, read and checked.
#[derive(Debug, PartialEq)]
pub(crate) struct CreateRequest {
    pub(crate) data: PersonalData,
    /// `None`: the current period.
    pub(crate) period: Option<Period>,
    pub(crate) in_service_date: Option<NaiveDate>,
}

/// A PUT of personal info, read and checked (`data.basic.employee_type` is always `None`).
#[derive(Debug, PartialEq)]
pub(crate) struct UpdateRequest {
    pub(crate) data: PersonalData,
    /// `None`: the current period.
    pub(crate) period: Option<Period>,
}

/// A serde path as a JSON pointer (`/PersonalInfo/basicInfo/employeeType`).
fn pointer(path: &serde_path_to_error::Path) -> String {
    let mut p = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => p.push_str(&format!("/{index}")),
            Segment::Map { key } => p.push_str(&format!("/{key}")),
            Segment::Enum { variant } => p.push_str(&format!("/{variant}")),
            Segment::Unknown => {}
        }
    }
    if p.is_empty() { "/".into() } else { p }
}

fn deserialize<T: DeserializeOwned>(body: &Value) -> Result<T, Vec<InvalidParam>> {
    serde_path_to_error::deserialize(body)
        .map_err(|e| vec![InvalidParam::new(pointer(e.path()), e.inner().to_string())])
}

/// Refuses the `readOnly` members of `PersonalInfo` in a request body.
fn read_only(info: Option<&Value>, at: &str, errors: &mut Vec<InvalidParam>) {
    for key in ["personalInfoId", "createdAt"] {
        if info.and_then(|i| i.get(key)).is_some() {
            errors.push(InvalidParam::new(
                format!("{at}/{key}"),
                "is read-only and must not be sent",
            ));
        }
    }
}

fn date(
    v: Option<String>,
    at: &str,
    parse: fn(&str) -> Option<NaiveDate>,
    what: &str,
    errors: &mut Vec<InvalidParam>,
) -> Option<NaiveDate> {
    let s = v?;
    let parsed = parse(&s);
    if parsed.is_none() {
        errors.push(InvalidParam::new(
            at,
            format!("'{s}' is not a valid {what}"),
        ));
    }
    parsed
}

fn period(p: Option<PeriodIn>, at: &str, errors: &mut Vec<InvalidParam>) -> Option<Period> {
    let p = p?;
    match (p.year, p.period) {
        (Some(year), Some(period)) => Some(Period { year, period }),
        (None, None) => None,
        _ => {
            errors.push(InvalidParam::new(at, "needs both year and period"));
            None
        }
    }
}

fn contact(c: Option<ContactIn>) -> Contact {
    c.map(|c| Contact {
        private_email: c.private_email,
        business_email: c.business_email,
        business_phone: c.business_phone,
        business_mobile_phone: c.business_mobile_phone,
        private_phone: c.private_phone,
        private_mobile_phone: c.private_mobile_phone,
        other_phone: c.other_phone,
    })
    .unwrap_or_default()
}

fn partner(p: Option<PartnerIn>) -> Partner {
    p.map(|p| Partner {
        partner_prefix: p.partner_prefix,
        partner_name: p.partner_name,
        marital_status: p.marital_status,
        ascription_code: p.ascription_code,
    })
    .unwrap_or_default()
}

/// Reads and checks a `CreateEmployee` body.
pub(crate) fn parse_create(body: &Value) -> Result<CreateRequest, Vec<InvalidParam>> {
    let mut errors = Vec::new();
    read_only(body.get("PersonalInfo"), "/PersonalInfo", &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let input: CreateEmployeeIn = deserialize(body)?;
    let info = input.personal_info;
    let (basic, birth, contact_in, partner_in, period_in) = match info {
        Some(i) => (
            i.basic_info,
            i.birth_info,
            i.contact_info,
            i.partner_info,
            i.period,
        ),
        None => (None, None, None, None, None),
    };
    let at = "/PersonalInfo";
    let basic = basic
        .map(|b| Basic {
            employee_number: b.employee_number,
            first_name: b.first_name,
            first_name_in_full: b.first_name_in_full,
            prefix: b.prefix,
            initials: b.initials,
            last_name: b.last_name,
            employee_type: b.employee_type,
        })
        .unwrap_or_default();
    let birth = birth
        .map(|b| Birth {
            birth_date: date(
                b.birth_date,
                &format!("{at}/birthInfo/birthDate"),
                parse_date,
                "date (YYYY-MM-DD)",
                &mut errors,
            ),
            deceased_on: date(
                b.deceased_on,
                &format!("{at}/birthInfo/deceasedOn"),
                parse_date,
                "date (YYYY-MM-DD)",
                &mut errors,
            ),
            birth_country: b.birth_country_code_iso,
            nationality: b.nationality_code_iso,
            gender: b.gender,
        })
        .unwrap_or_default();
    let period = period(period_in, &format!("{at}/period"), &mut errors);
    let in_service_date = input.additional.and_then(|a| {
        date(
            a.in_service_date,
            "/AdditionalEmployeeInfo/inServiceDate",
            parse_date,
            "date (YYYY-MM-DD)",
            &mut errors,
        )
    });
    let data = PersonalData {
        basic,
        birth,
        contact: contact(contact_in),
        partner: partner(partner_in),
        emergency: Default::default(),
    };
    validation::check(&data, period, at, true, &mut errors);
    if errors.is_empty() {
        Ok(CreateRequest {
            data,
            period,
            in_service_date,
        })
    } else {
        Err(errors)
    }
}

/// Reads and checks an `UpdatePersonalInfo` body.
pub(crate) fn parse_update(body: &Value) -> Result<UpdateRequest, Vec<InvalidParam>> {
    let mut errors = Vec::new();
    read_only(Some(body), "", &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let input: UpdatePersonalInfoIn = deserialize(body)?;
    let basic = input
        .basic_info
        .map(|b| Basic {
            employee_number: b.employee_number,
            first_name: b.first_name,
            first_name_in_full: b.first_name_in_full,
            prefix: b.prefix,
            initials: b.initials,
            last_name: b.last_name,
            employee_type: None,
        })
        .unwrap_or_default();
    let birth = input
        .birth_info
        .map(|b| Birth {
            birth_date: date(
                b.birth_date,
                "/birthInfo/birthDate",
                dutch_date_of,
                "date-time",
                &mut errors,
            ),
            deceased_on: date(
                b.deceased_on,
                "/birthInfo/deceasedOn",
                dutch_date_of,
                "date-time",
                &mut errors,
            ),
            birth_country: b.birth_country_code_iso,
            nationality: b.nationality_code_iso,
            gender: b.gender,
        })
        .unwrap_or_default();
    let period = period(input.period, "/period", &mut errors);
    let data = PersonalData {
        basic,
        birth,
        contact: contact(input.contact_info),
        partner: partner(input.partner_info),
        emergency: Default::default(),
    };
    validation::check(&data, period, "", false, &mut errors);
    if errors.is_empty() {
        Ok(UpdateRequest { data, period })
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests;
