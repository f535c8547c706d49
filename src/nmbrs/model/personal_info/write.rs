//! The write shapes: the personal-info PUT (`UpdatePersonalInfo`, built from the entry in force) and
//! the create (`CreateEmployee`).

use super::super::Period;
use super::super::dates::{write_date, write_date_time};
use super::read::{ReadError, date_time, field_text, int, s};
use crate::fields::{Field, FieldValues};
use serde::Serialize;
use serde_json::Value;

/// `birthInfo` of the PUT body (`UpdateEmployeeBirth`): dates are date-times, codes are flat.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UpdateBirth {
    pub birth_date: Option<String>,
    #[serde(rename = "birthCountryCodeISO")]
    pub birth_country_code_iso: Option<String>,
    #[serde(rename = "nationalityCodeISO")]
    pub nationality_code_iso: Option<String>,
    pub deceased_on: Option<String>,
    pub gender: Option<String>,
}

/// `basicInfo` of the PUT body (`UpdateEmployeeBasic`: `additionalProperties: false`, no `employeeType`).
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UpdateBasic {
    pub employee_number: Option<i64>,
    pub first_name: Option<String>,
    pub first_name_in_full: Option<String>,
    pub prefix: Option<String>,
    pub initials: Option<String>,
    pub last_name: Option<String>,
}

/// `contactInfo` (`EmployeeContact`, `additionalProperties: false`), the same in reads and writes.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    pub private_email: Option<String>,
    pub business_email: Option<String>,
    pub business_phone: Option<String>,
    pub business_mobile_phone: Option<String>,
    pub private_phone: Option<String>,
    pub private_mobile_phone: Option<String>,
    pub other_phone: Option<String>,
}

/// `partnerInfo` of the create and PUT bodies (`UpdatePartnerInfo`).
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UpdatePartner {
    pub partner_prefix: Option<String>,
    pub partner_name: Option<String>,
    pub marital_status: Option<String>,
    pub ascription_code: Option<i64>,
}

/// Body of `PUT /api/employees/{employeeId}/personalInfo` (`UpdatePersonalInfo`). Every member is
/// sent, `null` included: the PUT replaces the entry of its period (docs/nmbrs-api.md, "Writing").
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UpdatePersonalInfo {
    pub basic_info: UpdateBasic,
    pub birth_info: UpdateBirth,
    pub contact_info: Contact,
    pub partner_info: UpdatePartner,
    pub period: Period,
}

fn number(value: Option<&str>, f: Field) -> Result<Option<i64>, ReadError> {
    value
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| ReadError::bad(f.name(), format!("`{v}` is not a whole number")))
        })
        .transpose()
}

impl UpdatePersonalInfo {
    /// GET → modify → PUT: the entry in force mapped member by member from the read shape to the
    /// write shape, with `changes` applied and `period` set. Members the HRIS does not map keep
    /// their Nmbrs values. `employee_type` is not in this body (create-only).
    ///
    /// Errors: [`ReadError`] when a member to carry over is missing from the entry (sending a blank
    /// for it would erase it in Nmbrs), or a change is not of its field's shape.
    pub fn from_entry(
        entry: &Value,
        changes: &[(Field, Option<&str>)],
        period: Period,
    ) -> Result<UpdatePersonalInfo, ReadError> {
        let b = |k: &str| s(entry, &["basicInfo", k]);
        let mut body = UpdatePersonalInfo {
            basic_info: UpdateBasic {
                employee_number: int(entry, &["basicInfo", "employeeNumber"])?,
                first_name: b("firstName")?,
                first_name_in_full: b("firstNameInFull")?,
                prefix: b("prefix")?,
                initials: b("initials")?,
                last_name: b("lastName")?,
            },
            birth_info: UpdateBirth {
                birth_date: date_time(entry, &["birthInfo", "birthDate"])?,
                birth_country_code_iso: field_text(entry, Field::BirthCountryCodeIso)?,
                nationality_code_iso: field_text(entry, Field::NationalityCodeIso)?,
                deceased_on: date_time(entry, &["birthInfo", "deceasedOn"])?,
                gender: s(entry, &["birthInfo", "gender"])?,
            },
            contact_info: Contact {
                private_email: s(entry, &["contactInfo", "privateEmail"])?,
                business_email: s(entry, &["contactInfo", "businessEmail"])?,
                business_phone: s(entry, &["contactInfo", "businessPhone"])?,
                business_mobile_phone: s(entry, &["contactInfo", "businessMobilePhone"])?,
                private_phone: s(entry, &["contactInfo", "privatePhone"])?,
                private_mobile_phone: s(entry, &["contactInfo", "privateMobilePhone"])?,
                other_phone: s(entry, &["contactInfo", "otherPhone"])?,
            },
            partner_info: UpdatePartner {
                partner_prefix: s(entry, &["partnerInfo", "partnerPrefix"])?,
                partner_name: s(entry, &["partnerInfo", "partnerName"])?,
                marital_status: field_text(entry, Field::MaritalStatus)?,
                ascription_code: int(entry, &["partnerInfo", "ascription", "code"])?,
            },
            period,
        };
        for &(f, v) in changes {
            body.set(f, v)?;
        }
        Ok(body)
    }

    fn set(&mut self, f: Field, v: Option<&str>) -> Result<(), ReadError> {
        let text = v.map(str::to_owned);
        match f {
            Field::EmployeeNumber => self.basic_info.employee_number = number(v, f)?,
            Field::FirstName => self.basic_info.first_name = text,
            Field::FirstNameInFull => self.basic_info.first_name_in_full = text,
            Field::LastName => self.basic_info.last_name = text,
            Field::BirthDate => {
                self.birth_info.birth_date = v
                    .map(|d| write_date_time(d).map_err(|e| ReadError::bad(f.name(), e)))
                    .transpose()?
            }
            Field::BirthCountryCodeIso => self.birth_info.birth_country_code_iso = text,
            Field::NationalityCodeIso => self.birth_info.nationality_code_iso = text,
            Field::Gender => self.birth_info.gender = text,
            Field::PrivateEmail => self.contact_info.private_email = text,
            Field::BusinessEmail => self.contact_info.business_email = text,
            Field::BusinessMobilePhone => self.contact_info.business_mobile_phone = text,
            Field::PrivateMobilePhone => self.contact_info.private_mobile_phone = text,
            Field::PartnerName => self.partner_info.partner_name = text,
            Field::MaritalStatus => self.partner_info.marital_status = text,
            _ => {
                return Err(ReadError::bad(
                    f.name(),
                    "cannot be changed by the personal-info PUT (create-only, or another resource)",
                ));
            }
        }
        Ok(())
    }
}

/// `basicInfo` of the create body (`EmployeeBasic`: `lastName` and `employeeType` required).
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CreateBasic {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employee_number: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name_in_full: Option<String>,
    pub last_name: String,
    pub employee_type: String,
}

/// `birthInfo` of the create body (`CreateEmployeeBirth`: `birthDate` is a `date`).
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CreateBirth {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<String>,
    #[serde(
        rename = "birthCountryCodeISO",
        skip_serializing_if = "Option::is_none"
    )]
    pub birth_country_code_iso: Option<String>,
    #[serde(rename = "nationalityCodeISO", skip_serializing_if = "Option::is_none")]
    pub nationality_code_iso: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
}

/// `PersonalInfo` of the create body (`CreatePersonalInfo`; never `personalInfoId` or `createdAt`).
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CreatePersonalInfo {
    pub basic_info: CreateBasic,
    pub birth_info: CreateBirth,
    pub contact_info: Contact,
    pub partner_info: UpdatePartner,
    pub period: Period,
}

/// `AdditionalEmployeeInfo` of the create body.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AdditionalEmployeeInfo {
    /// The hire date, `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_service_date: Option<String>,
    /// `nmbrs.default_employee_template` (uuid).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_employee_template: Option<String>,
}

/// Body of `POST /api/companies/{companyId}/employees` (`CreateEmployee`); answered 201 `{employeeId}`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CreateEmployee {
    #[serde(rename = "PersonalInfo")]
    pub personal_info: CreatePersonalInfo,
    #[serde(
        rename = "AdditionalEmployeeInfo",
        skip_serializing_if = "Option::is_none"
    )]
    pub additional: Option<AdditionalEmployeeInfo>,
}

/// Settings that fill in a create body (`nmbrs.default_employee_type`,
/// `nmbrs.default_employee_template`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CreateDefaults {
    /// Used when the HRIS row has no `employee_type`.
    pub employee_type: Option<String>,
    /// `AdditionalEmployeeInfo.defaultEmployeeTemplate` (uuid).
    pub employee_template: Option<String>,
}

/// Why a create body cannot be built from an HRIS record.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot create the employee: {field} {problem}")]
pub struct CreateError {
    pub field: &'static str,
    pub problem: String,
}

impl CreateEmployee {
    /// The create body for `values`, limited to the `synced` fields; unsynced and empty members
    /// are left out (the description marks nothing but `lastName` and `employeeType` required).
    ///
    /// Errors: [`CreateError`] when `last_name` or `employee_type` has no value (Nmbrs requires
    /// both; `defaults.employee_type` stands in for a missing type), or a value is not of its
    /// field's shape.
    pub fn new(
        values: &FieldValues,
        synced: &[Field],
        period: Period,
        defaults: &CreateDefaults,
    ) -> Result<CreateEmployee, CreateError> {
        let get = |f: Field| {
            synced
                .contains(&f)
                .then(|| values.get(f).map(str::to_owned))
                .flatten()
        };
        let required = |f: Field, what: &str| {
            let fallback = (f == Field::EmployeeType)
                .then(|| defaults.employee_type.clone())
                .flatten();
            get(f).or(fallback).ok_or_else(|| CreateError {
                field: f.name(),
                problem: format!("is empty; Nmbrs requires {what} to create an employee"),
            })
        };
        let bad = |f: Field| {
            move |e: String| CreateError {
                field: f.name(),
                problem: e,
            }
        };
        let employee_number = get(Field::EmployeeNumber)
            .map(|n| {
                n.parse::<i64>()
                    .map_err(|_| bad(Field::EmployeeNumber)(format!("`{n}` is not a whole number")))
            })
            .transpose()?;
        let birth_date = get(Field::BirthDate)
            .map(|d| write_date(&d).map_err(bad(Field::BirthDate)))
            .transpose()?;
        let in_service_date = get(Field::InServiceDate)
            .map(|d| write_date(&d).map_err(bad(Field::InServiceDate)))
            .transpose()?;
        let additional = AdditionalEmployeeInfo {
            in_service_date,
            default_employee_template: defaults.employee_template.clone(),
        };
        Ok(CreateEmployee {
            personal_info: CreatePersonalInfo {
                basic_info: CreateBasic {
                    employee_number,
                    first_name: get(Field::FirstName),
                    first_name_in_full: get(Field::FirstNameInFull),
                    last_name: required(Field::LastName, "a last name")?,
                    employee_type: required(Field::EmployeeType, "an employee type")?,
                },
                birth_info: CreateBirth {
                    birth_date,
                    birth_country_code_iso: get(Field::BirthCountryCodeIso),
                    nationality_code_iso: get(Field::NationalityCodeIso),
                    gender: get(Field::Gender),
                },
                contact_info: Contact {
                    private_email: get(Field::PrivateEmail),
                    business_email: get(Field::BusinessEmail),
                    business_mobile_phone: get(Field::BusinessMobilePhone),
                    private_mobile_phone: get(Field::PrivateMobilePhone),
                    ..Contact::default()
                },
                partner_info: UpdatePartner {
                    partner_name: get(Field::PartnerName),
                    marital_status: get(Field::MaritalStatus),
                    ..UpdatePartner::default()
                },
                period,
            },
            additional: (additional != AdditionalEmployeeInfo::default()).then_some(additional),
        })
    }
}
