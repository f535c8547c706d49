//! Personal info, field by field: the read shape of the history endpoints, the entry in force for a
//! payroll period, and the two write shapes (create, PUT). Source: `docs/nmbrs-openapi.yaml`, schemas
//! `PersonalInfos`/`PersonalInfo`/`EmployeeBirth`/`EmployeePartnerInfo` (read), `CreateEmployee`/
//! `CreatePersonalInfo`/`CreateEmployeeBirth` (create), `UpdatePersonalInfo`/`UpdateEmployeeBasic`/
//! `UpdateEmployeeBirth`/`UpdatePartnerInfo` (PUT); summarised in docs/nmbrs-api.md.
//!
//! Unknown is not empty: a key missing where the description puts it is a [`ReadError`] naming the
//! path, never a `None` the merge could push or pull. `null` is an empty value.

use super::Period;
use super::dates::{calendar_date, write_date, write_date_time};
use crate::fields::{Field, FieldValues};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One item of `GET /api/companies/{companyId}/employees/personalinfo`: `{"employeeId", "info": [...]}`.
/// `info` is kept raw: entries are read field by field, so a missing key can be named.
#[derive(Clone, Debug, Deserialize)]
pub struct PersonalInfoHistory {
    #[serde(rename = "employeeId")]
    pub employee_id: String,
    /// The history entries; `None` when the key is missing (a read error for the employee).
    #[serde(default)]
    pub info: Option<Vec<Value>>,
}

/// A value that is not where the description puts it, or not of its shape.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Nmbrs personal info: {path} {problem}")]
pub struct ReadError {
    /// Dotted path in the read shape, e.g. `info[2].birthInfo.birthCountry.codeISO`.
    pub path: String,
    pub problem: String,
}

impl ReadError {
    fn missing(path: &str) -> ReadError {
        ReadError {
            path: path.to_owned(),
            problem: "is missing from the answer (unknown is not empty: not synced until Nmbrs returns it)"
                .into(),
        }
    }
    fn bad(path: &str, problem: impl Into<String>) -> ReadError {
        ReadError {
            path: path.to_owned(),
            problem: problem.into(),
        }
    }
}

/// The entry in force for a payroll period, and what else the history says.
#[derive(Clone, Debug)]
pub struct InForce<'a> {
    pub entry: &'a Value,
    /// `personalInfoId` of that entry.
    pub personal_info_id: Option<String>,
    /// The newest period with an entry after the sync period (not yet in force), if any.
    pub future: Option<Period>,
    /// No entry was in force yet: the earliest (future) entry is used.
    pub none_in_force: bool,
}

impl InForce<'_> {
    /// A sentence for the audit log when the history holds entries that are not in force.
    pub fn note(&self, period: Period) -> Option<String> {
        match (self.none_in_force, self.future) {
            (true, _) => Some(format!(
                "no personal-info entry is in force in period {period} yet; compared on the earliest entry"
            )),
            (false, Some(f)) => Some(format!(
                "Nmbrs holds a personal-info entry for the future period {f}; compared on the one in force in {period}"
            )),
            _ => None,
        }
    }
}

fn entry_period(entry: &Value, i: usize) -> Result<Period, ReadError> {
    let path = format!("info[{i}].period");
    let p = entry
        .get("period")
        .ok_or_else(|| ReadError::missing(&path))?;
    let num = |k: &str| {
        p.get(k)
            .and_then(Value::as_i64)
            .ok_or_else(|| ReadError::bad(&format!("{path}.{k}"), "is not an integer"))
    };
    let (year, period) = (num("year")?, num("period")?);
    Ok(Period {
        year: i32::try_from(year).map_err(|_| ReadError::bad(&path, "year out of range"))?,
        period: u8::try_from(period).map_err(|_| ReadError::bad(&path, "period out of range"))?,
    })
}

/// The entry in force for `period`: the latest period not after it, then the latest `createdAt`
/// (docs/nmbrs-api.md, "Reading employees"). Entries for later periods are not in force; when no entry
/// is in force yet, the earliest one stands in (and [`InForce::none_in_force`] says so).
///
/// Errors: an empty history, or an entry without a readable `period`.
pub fn in_force(entries: &[Value], period: Period) -> Result<InForce<'_>, ReadError> {
    let mut keyed = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let p = entry_period(e, i)?;
        let created = e.get("createdAt").and_then(Value::as_str).unwrap_or("");
        keyed.push(((p.year, p.period), created, e));
    }
    let now = (period.year, period.period);
    let future = keyed
        .iter()
        .filter(|k| k.0 > now)
        .map(|k| k.0)
        .max()
        .map(|(year, period)| Period { year, period });
    let current = keyed
        .iter()
        .filter(|k| k.0 <= now)
        .max_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    let (chosen, none_in_force) = match current {
        Some(c) => (c, false),
        None => (
            keyed
                .iter()
                .min_by(|a, b| (a.0, std::cmp::Reverse(a.1)).cmp(&(b.0, std::cmp::Reverse(b.1))))
                .ok_or_else(|| {
                    ReadError::bad("info", "is empty: the employee has no personal info")
                })?,
            true,
        ),
    };
    Ok(InForce {
        entry: chosen.2,
        personal_info_id: chosen
            .2
            .get("personalInfoId")
            .and_then(Value::as_str)
            .map(str::to_owned),
        future,
        none_in_force,
    })
}

/// Where a field is read (the first path present wins) — the read shape nests what writes keep flat.
fn read_paths(f: Field) -> &'static [&'static [&'static str]] {
    match f {
        Field::EmployeeNumber => &[&["basicInfo", "employeeNumber"]],
        Field::FirstName => &[&["basicInfo", "firstName"]],
        Field::FirstNameInFull => &[&["basicInfo", "firstNameInFull"]],
        Field::LastName => &[&["basicInfo", "lastName"]],
        Field::EmployeeType => &[&["basicInfo", "employeeType"]],
        Field::BirthDate => &[&["birthInfo", "birthDate"]],
        Field::BirthCountryCodeIso => &[&["birthInfo", "birthCountry", "codeISO"]],
        Field::NationalityCodeIso => &[&["birthInfo", "nationality", "codeISO"]],
        Field::Gender => &[&["birthInfo", "gender"]],
        Field::PrivateEmail => &[&["contactInfo", "privateEmail"]],
        Field::BusinessEmail => &[&["contactInfo", "businessEmail"]],
        Field::BusinessMobilePhone => &[&["contactInfo", "businessMobilePhone"]],
        Field::PrivateMobilePhone => &[&["contactInfo", "privateMobilePhone"]],
        Field::PartnerName => &[&["partnerInfo", "partnerName"]],
        // The schema puts maritalStatus on partnerInfo; the description's example nests it under
        // `ascription`. Both are read.
        Field::MaritalStatus => &[
            &["partnerInfo", "maritalStatus"],
            &["partnerInfo", "ascription", "maritalStatus"],
        ],
        Field::InServiceDate => &[],
    }
}

/// Leaves the read schemas declare without `nullable` (`EmployeeBasic.employeeNumber`,
/// `Country.codeISO`, `Nationality.codeISO`, `EmployeePartnerInfo.maritalStatus`,
/// `EmployeePartnerAscription.code`): Nmbrs can say "none" for them only by leaving them out, so
/// their absence from a present parent object is an empty value. Any other missing key, and every
/// missing object on the way, is unknown — an error, never an empty value.
const ABSENT_MEANS_EMPTY: [&str; 6] = [
    "basicInfo.employeeNumber",
    "birthInfo.birthCountry.codeISO",
    "birthInfo.nationality.codeISO",
    "partnerInfo.maritalStatus",
    "partnerInfo.ascription.maritalStatus",
    "partnerInfo.ascription.code",
];

/// What a walk along a path found.
enum Found<'v> {
    Value(&'v Value),
    /// The last key is absent from its (present) parent object.
    NoLeaf,
    /// An object on the way is absent, or not an object.
    NoParent,
}

/// Walks `path`; a `null` on the way is an empty value.
fn lookup<'v>(entry: &'v Value, path: &[&str]) -> Found<'v> {
    let mut cur = entry;
    for (i, key) in path.iter().enumerate() {
        match cur {
            Value::Null => return Found::Value(&Value::Null),
            Value::Object(m) => match m.get(*key) {
                Some(v) => cur = v,
                None if i + 1 == path.len() => return Found::NoLeaf,
                None => return Found::NoParent,
            },
            _ => return Found::NoParent,
        }
    }
    Found::Value(cur)
}

/// The value at the first of `paths` that holds one; absent leaves that may be absent
/// ([`ABSENT_MEANS_EMPTY`]) are empty when no path holds a value.
fn value_at<'v>(entry: &'v Value, paths: &[&[&str]]) -> Result<&'v Value, ReadError> {
    let mut absent_is_empty = false;
    for path in paths {
        match lookup(entry, path) {
            Found::Value(v) => return Ok(v),
            Found::NoLeaf if ABSENT_MEANS_EMPTY.contains(&path.join(".").as_str()) => {
                absent_is_empty = true
            }
            Found::NoLeaf | Found::NoParent => {}
        }
    }
    if absent_is_empty {
        return Ok(&Value::Null);
    }
    Err(ReadError::missing(
        &paths.first().map(|p| p.join(".")).unwrap_or_default(),
    ))
}

fn text_at(entry: &Value, paths: &[&[&str]]) -> Result<Option<String>, ReadError> {
    let dotted = || paths.first().map(|p| p.join(".")).unwrap_or_default();
    match value_at(entry, paths)? {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        _ => Err(ReadError::bad(&dotted(), "is not a text or number")),
    }
}

fn field_text(entry: &Value, f: Field) -> Result<Option<String>, ReadError> {
    let raw = text_at(entry, read_paths(f))?;
    let path = || {
        read_paths(f)
            .first()
            .map(|p| p.join("."))
            .unwrap_or_default()
    };
    match (f, raw) {
        (_, None) => Ok(None),
        (Field::EmployeeNumber, Some(s)) => s
            .trim()
            .parse::<i64>()
            .map(|n| Some(n.to_string()))
            .map_err(|_| ReadError::bad(&path(), format!("`{s}` is not a whole number"))),
        (Field::BirthDate, Some(s)) => calendar_date(&s)
            .map(Some)
            .map_err(|e| ReadError::bad(&path(), e)),
        (_, Some(s)) => Ok(Some(s)),
    }
}

/// The values of `fields` in one read-shape entry (merged fields only; others stay empty).
///
/// Errors: [`ReadError`] for the first field whose key is missing or whose value has the wrong shape.
pub fn read_values(entry: &Value, fields: &[Field]) -> Result<FieldValues, ReadError> {
    let mut values = FieldValues::default();
    for &f in fields.iter().filter(|f| f.is_merged()) {
        values.set(f, field_text(entry, f)?.as_deref());
    }
    Ok(values)
}

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

fn s(entry: &Value, path: &[&str]) -> Result<Option<String>, ReadError> {
    text_at(entry, &[path])
}

fn int(entry: &Value, path: &[&str]) -> Result<Option<i64>, ReadError> {
    match value_at(entry, &[path])? {
        Value::Null => Ok(None),
        v => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| ReadError::bad(&path.join("."), "is not an integer")),
    }
}

fn date_time(entry: &Value, path: &[&str]) -> Result<Option<String>, ReadError> {
    s(entry, path)?
        .map(|d| write_date_time(&d).map_err(|e| ReadError::bad(&path.join("."), e)))
        .transpose()
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
            Field::EmployeeType | Field::InServiceDate => {
                return Err(ReadError::bad(
                    f.name(),
                    "cannot be changed by the personal-info PUT (create-only)",
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOV: Period = Period {
        year: 2026,
        period: 11,
    };

    /// An entry exactly as the description's example (`EmployeesPersonalInfoResponse`) shows it.
    fn entry(last: &str, year: i32, period: u8, created: &str) -> Value {
        json!({
            "personalInfoId": format!("pi-{year}-{period}-{last}"),
            "basicInfo": {"employeeNumber": 98072, "firstName": "John", "firstNameInFull": "John Jr",
                          "prefix": "van der", "initials": "J.", "lastName": last, "employeeType": "payroll"},
            "birthInfo": {"birthDate": "1980-02-26T23:00:00Z",
                          "birthCountry": {"codeISO": "NL", "description": "The Netherlands"},
                          "nationality": {"codeISO": "PT", "description": "Portuguese"},
                          "deceasedOn": null, "gender": "male"},
            "contactInfo": {"privateEmail": "doe@private.com", "businessEmail": null, "businessPhone": "+31201234567",
                            "businessMobilePhone": null, "privatePhone": null, "privateMobilePhone": "+31612345678",
                            "otherPhone": null},
            "partnerInfo": {"partnerPrefix": "de", "partnerName": "Jansen",
                            "ascription": {"code": 2, "ascription": "x"}, "maritalStatus": "married"},
            "emergencyInfo": {"emergencyContact": null, "emergencyPhone": null, "emergencyRelationship": null},
            "period": {"year": year, "period": period},
            "createdAt": created
        })
    }

    #[test]
    fn nested_reads_map_to_flat_fields() {
        let e = entry("Doe", 2026, 1, "2026-01-05T10:00:00Z");
        let v = read_values(&e, &Field::ALL).expect("reads");
        assert_eq!(
            v.get(Field::BirthDate),
            Some("1980-02-27"),
            "Dutch midnight in UTC"
        );
        assert_eq!(v.get(Field::BirthCountryCodeIso), Some("NL"));
        assert_eq!(v.get(Field::NationalityCodeIso), Some("PT"));
        assert_eq!(v.get(Field::MaritalStatus), Some("married"));
        assert_eq!(v.get(Field::EmployeeNumber), Some("98072"));
        assert_eq!(v.get(Field::EmployeeType), Some("payroll"));
        assert_eq!(v.get(Field::BusinessEmail), None, "null is empty");
        assert_eq!(
            v.get(Field::InServiceDate),
            None,
            "not a personal-info field"
        );
    }

    #[test]
    fn the_examples_nesting_of_marital_status_is_read_too() {
        let mut e = entry("Doe", 2026, 1, "t");
        e["partnerInfo"] = json!({"partnerPrefix": null, "partnerName": "X",
            "ascription": {"code": 0, "ascription": "s", "maritalStatus": "livingTogether"}});
        let v = read_values(&e, &[Field::MaritalStatus]).expect("reads");
        assert_eq!(v.get(Field::MaritalStatus), Some("livingTogether"));
    }

    #[test]
    fn a_missing_key_is_an_error_naming_its_path_not_an_empty_value() {
        let mut e = entry("Doe", 2026, 1, "t");
        e["birthInfo"]
            .as_object_mut()
            .expect("object")
            .remove("birthCountry");
        let err = read_values(&e, &Field::ALL).expect_err("missing");
        assert_eq!(err.path, "birthInfo.birthCountry.codeISO");
        // A country object without a code: the schema forbids a null code, so this is "none".
        let mut none = entry("Doe", 2026, 1, "t");
        none["birthInfo"]["birthCountry"] = json!({});
        let v = read_values(&none, &[Field::BirthCountryCodeIso]).expect("empty");
        assert_eq!(v.get(Field::BirthCountryCodeIso), None);
        // A nullable leaf must be there.
        let mut gone = entry("Doe", 2026, 1, "t");
        gone["contactInfo"]
            .as_object_mut()
            .expect("o")
            .remove("privateEmail");
        assert_eq!(
            read_values(&gone, &[Field::PrivateEmail])
                .expect_err("unknown")
                .path,
            "contactInfo.privateEmail"
        );
        // A flat write-shape key where the read shape nests it is not the value.
        e["birthInfo"]["birthCountryCodeISO"] = json!("NL");
        assert!(read_values(&e, &[Field::BirthCountryCodeIso]).is_err());
        // Only mapped fields are required.
        assert!(read_values(&e, &[Field::LastName]).is_ok());
        // A null object is an empty value.
        e["birthInfo"]["birthCountry"] = Value::Null;
        let v = read_values(&e, &[Field::BirthCountryCodeIso]).expect("null");
        assert_eq!(v.get(Field::BirthCountryCodeIso), None);
        let mut e = entry("Doe", 2026, 1, "t");
        e.as_object_mut().expect("object").remove("partnerInfo");
        let err = read_values(&e, &[Field::PartnerName]).expect_err("missing section");
        assert_eq!(err.path, "partnerInfo.partnerName");
    }

    #[test]
    fn in_force_is_the_latest_period_not_after_the_sync_period_then_latest_created() {
        let h = vec![
            entry("A", 2025, 12, "2025-12-01T09:00:00Z"),
            entry("B", 2026, 3, "2026-03-01T09:00:00Z"),
            entry("C", 2026, 3, "2026-03-05T09:00:00Z"),
            entry("D", 2027, 1, "2026-11-20T09:00:00Z"),
        ];
        let f = in_force(&h, NOV).expect("in force");
        assert_eq!(f.entry["basicInfo"]["lastName"], "C");
        assert_eq!(f.personal_info_id.as_deref(), Some("pi-2026-3-C"));
        assert_eq!(
            f.future,
            Some(Period {
                year: 2027,
                period: 1
            })
        );
        assert!(f.note(NOV).expect("note").contains("2027-01"));
        let f = in_force(&h[..2], NOV).expect("in force");
        assert_eq!(f.entry["basicInfo"]["lastName"], "B");
        assert!(f.note(NOV).is_none());
        // Nothing in force yet: the earliest entry, said so.
        let only_future = vec![h[3].clone()];
        let f = in_force(&only_future, NOV).expect("future only");
        assert!(f.none_in_force);
        assert_eq!(f.entry["basicInfo"]["lastName"], "D");
        assert!(in_force(&[], NOV).is_err());
        let mut no_period = entry("E", 2026, 1, "t");
        no_period.as_object_mut().expect("o").remove("period");
        assert_eq!(
            in_force(&[no_period], NOV).expect_err("no period").path,
            "info[0].period"
        );
    }

    #[test]
    fn put_body_carries_every_member_and_changes_only_the_given_fields() {
        let e = entry("Hanison", 2026, 1, "t");
        let body = UpdatePersonalInfo::from_entry(
            &e,
            &[
                (Field::LastName, Some("Petterson")),
                (Field::MaritalStatus, Some("married")),
                (Field::BirthDate, Some("1980-02-27")),
            ],
            NOV,
        )
        .expect("body");
        let j = serde_json::to_value(&body).expect("json");
        assert_eq!(j["basicInfo"]["lastName"], "Petterson");
        assert_eq!(j["basicInfo"]["prefix"], "van der", "unmapped member kept");
        assert_eq!(j["basicInfo"]["initials"], "J.");
        assert!(
            j["basicInfo"].get("employeeType").is_none(),
            "not in the PUT"
        );
        assert_eq!(
            j["birthInfo"]["birthCountryCodeISO"], "NL",
            "flat write shape"
        );
        assert_eq!(j["birthInfo"]["birthDate"], "1980-02-27T00:00:00Z");
        assert!(j["birthInfo"].get("birthCountry").is_none());
        assert_eq!(j["contactInfo"]["businessPhone"], "+31201234567");
        assert_eq!(j["partnerInfo"]["ascriptionCode"], 2);
        assert_eq!(j["partnerInfo"]["partnerPrefix"], "de");
        assert_eq!(j["period"], json!({"year": 2026, "period": 11}));
        assert!(j.get("personalInfoId").is_none() && j.get("createdAt").is_none());
        assert!(
            UpdatePersonalInfo::from_entry(&e, &[(Field::EmployeeType, Some("payroll"))], NOV)
                .is_err(),
            "employee type is create-only"
        );
        let mut e = e;
        e["contactInfo"]
            .as_object_mut()
            .expect("o")
            .remove("otherPhone");
        let err = UpdatePersonalInfo::from_entry(&e, &[], NOV).expect_err("would blank it");
        assert_eq!(err.path, "contactInfo.otherPhone");
    }

    #[test]
    fn create_body_has_the_create_shape() {
        let mut v = FieldValues::default();
        for (f, s) in [
            (Field::EmployeeNumber, "98072"),
            (Field::LastName, "Hanison"),
            (Field::EmployeeType, "applicant"),
            (Field::BirthDate, "1980-02-27"),
            (Field::BirthCountryCodeIso, "NL"),
            (Field::PartnerName, "Rick"),
            (Field::InServiceDate, "2026-12-01"),
        ] {
            v.set(f, Some(s));
        }
        let body =
            CreateEmployee::new(&v, &Field::ALL, NOV, &CreateDefaults::default()).expect("body");
        let j = serde_json::to_value(&body).expect("json");
        let pi = &j["PersonalInfo"];
        assert_eq!(pi["basicInfo"]["employeeNumber"], 98072);
        assert_eq!(pi["basicInfo"]["employeeType"], "applicant");
        assert_eq!(
            pi["birthInfo"]["birthDate"], "1980-02-27",
            "a date, not a date-time"
        );
        assert_eq!(pi["birthInfo"]["birthCountryCodeISO"], "NL");
        assert_eq!(pi["partnerInfo"]["partnerName"], "Rick");
        assert!(pi.get("personalInfoId").is_none() && pi.get("createdAt").is_none());
        assert!(pi["basicInfo"].get("firstName").is_none(), "empty left out");
        assert_eq!(
            j["AdditionalEmployeeInfo"],
            json!({"inServiceDate": "2026-12-01"})
        );
        // Unsynced fields are not sent.
        let defaults = CreateDefaults {
            employee_template: Some("t-1".into()),
            ..CreateDefaults::default()
        };
        let body = CreateEmployee::new(&v, &[Field::LastName, Field::EmployeeType], NOV, &defaults)
            .expect("body");
        let j = serde_json::to_value(&body).expect("json");
        assert!(
            j["PersonalInfo"]["basicInfo"]
                .get("employeeNumber")
                .is_none()
        );
        assert_eq!(
            j["AdditionalEmployeeInfo"],
            json!({"defaultEmployeeTemplate": "t-1"})
        );
        v.set(Field::EmployeeType, None);
        let err = CreateEmployee::new(&v, &Field::ALL, NOV, &CreateDefaults::default())
            .expect_err("required");
        assert_eq!(err.field, "employee_type");
        let defaults = CreateDefaults {
            employee_type: Some("newHire".into()),
            ..CreateDefaults::default()
        };
        let j = serde_json::to_value(
            CreateEmployee::new(&v, &Field::ALL, NOV, &defaults).expect("body"),
        )
        .expect("json");
        assert_eq!(j["PersonalInfo"]["basicInfo"]["employeeType"], "newHire");
    }
}
