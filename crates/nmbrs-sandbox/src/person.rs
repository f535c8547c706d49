//! One personal-info entry as the sandbox stores it (typed, dates as dates),
//! its read rendering and its write-shape field paths.
//!
//! Read shape: schema `PersonalInfo` (`EmployeeBasic`, `EmployeeBirth` with
//! nested `Country`/`Nationality`, `EmployeeContact`, `EmployeePartnerInfo`
//! with nested `EmployeePartnerAscription`, `EmployeeEmergencyInfo`, `Period`).
//! Write shape: `CreatePersonalInfo` / `UpdatePersonalInfo` (flat
//! `birthCountryCodeISO`, `nationalityCodeISO`, `partnerInfo.maritalStatus`,
//! `partnerInfo.ascriptionCode`).

use std::collections::BTreeSet;

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::clock::{DateStyle, date_or_date_time, render_created_at, render_date};
use super::countries::{ascription_text, country_description, nationality_description};

/// A payroll period, schema `Period` `{year, period}`. Ordered by year, then period.
/// Sandbox companies are monthly payrolls: `period` is the month (1..=12).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub(crate) struct Period {
    pub(crate) year: i64,
    pub(crate) period: i64,
}

/// `basicInfo` (schema `EmployeeBasic`). `employee_type` is kept as text so
/// that lenient seeding can plant values outside the description's enum.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Basic {
    pub(crate) employee_number: Option<i64>,
    pub(crate) first_name: Option<String>,
    pub(crate) first_name_in_full: Option<String>,
    pub(crate) prefix: Option<String>,
    pub(crate) initials: Option<String>,
    pub(crate) last_name: Option<String>,
    pub(crate) employee_type: Option<String>,
}

/// `birthInfo`; countries as ISO codes, dates as calendar dates.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Birth {
    pub(crate) birth_date: Option<NaiveDate>,
    pub(crate) birth_country: Option<String>,
    pub(crate) nationality: Option<String>,
    pub(crate) deceased_on: Option<NaiveDate>,
    pub(crate) gender: Option<String>,
}

/// `contactInfo` (schema `EmployeeContact`).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Contact {
    pub(crate) private_email: Option<String>,
    pub(crate) business_email: Option<String>,
    pub(crate) business_phone: Option<String>,
    pub(crate) business_mobile_phone: Option<String>,
    pub(crate) private_phone: Option<String>,
    pub(crate) private_mobile_phone: Option<String>,
    pub(crate) other_phone: Option<String>,
}

/// `partnerInfo`; the ascription as its code.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Partner {
    pub(crate) partner_prefix: Option<String>,
    pub(crate) partner_name: Option<String>,
    pub(crate) marital_status: Option<String>,
    pub(crate) ascription_code: Option<i64>,
}

/// `emergencyInfo` (schema `EmployeeEmergencyInfo`; read-only through the API).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Emergency {
    pub(crate) emergency_contact: Option<String>,
    pub(crate) emergency_phone: Option<String>,
    pub(crate) emergency_relationship: Option<String>,
}

/// What a write sets: everything of an entry but its id, stamp and period.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct PersonalData {
    pub(crate) basic: Basic,
    pub(crate) birth: Birth,
    pub(crate) contact: Contact,
    pub(crate) partner: Partner,
    pub(crate) emergency: Emergency,
}

/// One history entry of an employee's personal info.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Entry {
    pub(crate) personal_info_id: String,
    /// Dutch wall-clock time of creation (see `clock`).
    pub(crate) created_at: NaiveDateTime,
    pub(crate) period: Period,
    pub(crate) data: PersonalData,
    /// Dotted read-shape paths left out of the rendering (test hook, `Sandbox::remove_key`).
    pub(crate) removed_keys: BTreeSet<String>,
}

/// The `MaritalStatus` read for an entry that has none (the enum is not nullable).
pub(crate) const NO_MARITAL_STATUS: &str = "notSpecified";

fn opt_str(v: &Option<String>) -> Value {
    v.as_ref().map_or(Value::Null, |s| Value::String(s.clone()))
}

fn opt_date(d: Option<NaiveDate>, style: DateStyle) -> Value {
    d.map_or(Value::Null, |d| Value::String(render_date(d, style)))
}

impl Entry {
    /// The read shape (schema `PersonalInfo`). Every member is present, null
    /// when empty — except where the description does not allow null: an
    /// unknown birth country or nationality is an empty `Country`/`Nationality`
    /// object (`{}`: neither `codeISO` nor `description` is nullable), no
    /// ascription is `{"ascription": null}` (`code` is not nullable), and no
    /// marital status is `notSpecified` (the `MaritalStatus` enum is not nullable).
    pub(crate) fn render(&self, style: DateStyle) -> Value {
        let d = &self.data;
        let (b, bi, c, p, e) = (&d.basic, &d.birth, &d.contact, &d.partner, &d.emergency);
        let mut v = json!({
            "personalInfoId": self.personal_info_id,
            "basicInfo": {
                "employeeNumber": b.employee_number,
                "firstName": opt_str(&b.first_name),
                "firstNameInFull": opt_str(&b.first_name_in_full),
                "prefix": opt_str(&b.prefix),
                "initials": opt_str(&b.initials),
                "lastName": opt_str(&b.last_name),
                "employeeType": opt_str(&b.employee_type),
            },
            "birthInfo": {
                "birthDate": opt_date(bi.birth_date, style),
                "birthCountry": bi.birth_country.as_ref().map_or_else(|| json!({}), |c| json!({"codeISO": c, "description": country_description(c)})),
                "nationality": bi.nationality.as_ref().map_or_else(|| json!({}), |c| json!({"codeISO": c, "description": nationality_description(c)})),
                "deceasedOn": opt_date(bi.deceased_on, style),
                "gender": opt_str(&bi.gender),
            },
            "contactInfo": {
                "privateEmail": opt_str(&c.private_email),
                "businessEmail": opt_str(&c.business_email),
                "businessPhone": opt_str(&c.business_phone),
                "businessMobilePhone": opt_str(&c.business_mobile_phone),
                "privatePhone": opt_str(&c.private_phone),
                "privateMobilePhone": opt_str(&c.private_mobile_phone),
                "otherPhone": opt_str(&c.other_phone),
            },
            "partnerInfo": {
                "partnerPrefix": opt_str(&p.partner_prefix),
                "partnerName": opt_str(&p.partner_name),
                "ascription": p.ascription_code.map_or_else(|| json!({"ascription": null}), |code| json!({"code": code, "ascription": ascription_text(code)})),
                "maritalStatus": p.marital_status.as_deref().unwrap_or(NO_MARITAL_STATUS),
            },
            "emergencyInfo": {
                "emergencyContact": opt_str(&e.emergency_contact),
                "emergencyPhone": opt_str(&e.emergency_phone),
                "emergencyRelationship": opt_str(&e.emergency_relationship),
            },
            "period": self.period,
            "createdAt": render_created_at(self.created_at),
        });
        for path in &self.removed_keys {
            remove_path(&mut v, path);
        }
        v
    }

    /// The `basicInfo` alone (schema `EmployeeBasic`), as `GET /companies/{companyId}/employees` lists it.
    pub(crate) fn render_basic(&self, style: DateStyle) -> Value {
        let mut all = self.render(style);
        all.get_mut("basicInfo")
            .map(Value::take)
            .unwrap_or(Value::Null)
    }
}

/// Removes `a.b.c` from a JSON object; false if it was not there.
pub(crate) fn remove_path(v: &mut Value, path: &str) -> bool {
    let mut parts: Vec<&str> = path.split('.').collect();
    let Some(last) = parts.pop() else {
        return false;
    };
    let mut cur = v;
    for p in parts {
        match cur.get_mut(p) {
            Some(next) => cur = next,
            None => return false,
        }
    }
    cur.as_object_mut().and_then(|m| m.remove(last)).is_some()
}

/// Why a write-shape field could not be set.
#[derive(Debug, thiserror::Error, PartialEq)]
pub(crate) enum FieldError {
    #[error("unknown field {0}")]
    Unknown(String),
    #[error("{0}: value of the wrong type")]
    WrongType(String),
}

fn as_opt_string(path: &str, v: Value) -> Result<Option<String>, FieldError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        _ => Err(FieldError::WrongType(path.to_string())),
    }
}

fn as_opt_int(path: &str, v: Value) -> Result<Option<i64>, FieldError> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| FieldError::WrongType(path.to_string())),
        _ => Err(FieldError::WrongType(path.to_string())),
    }
}

fn as_opt_date(path: &str, v: Value) -> Result<Option<NaiveDate>, FieldError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => date_or_date_time(&s)
            .map(Some)
            .ok_or_else(|| FieldError::WrongType(path.to_string())),
        _ => Err(FieldError::WrongType(path.to_string())),
    }
}

impl PersonalData {
    /// Sets one field by its WRITE-shape path (`basicInfo.lastName`,
    /// `birthInfo.birthCountryCodeISO`, `birthInfo.birthDate` as a date or a
    /// date-time, `partnerInfo.maritalStatus`, `partnerInfo.ascriptionCode`,
    /// `emergencyInfo.emergencyPhone`, …), without any business rule: this is
    /// how data typed into the Nmbrs UI arrives.
    pub(crate) fn set(&mut self, path: &str, v: Value) -> Result<(), FieldError> {
        let (b, bi, c, p, e) = (
            &mut self.basic,
            &mut self.birth,
            &mut self.contact,
            &mut self.partner,
            &mut self.emergency,
        );
        let slot = match path {
            "basicInfo.employeeNumber" => {
                b.employee_number = as_opt_int(path, v)?;
                return Ok(());
            }
            "partnerInfo.ascriptionCode" => {
                p.ascription_code = as_opt_int(path, v)?;
                return Ok(());
            }
            "birthInfo.birthDate" => {
                bi.birth_date = as_opt_date(path, v)?;
                return Ok(());
            }
            "birthInfo.deceasedOn" => {
                bi.deceased_on = as_opt_date(path, v)?;
                return Ok(());
            }
            "basicInfo.firstName" => &mut b.first_name,
            "basicInfo.firstNameInFull" => &mut b.first_name_in_full,
            "basicInfo.prefix" => &mut b.prefix,
            "basicInfo.initials" => &mut b.initials,
            "basicInfo.lastName" => &mut b.last_name,
            "basicInfo.employeeType" => &mut b.employee_type,
            "birthInfo.birthCountryCodeISO" => &mut bi.birth_country,
            "birthInfo.nationalityCodeISO" => &mut bi.nationality,
            "birthInfo.gender" => &mut bi.gender,
            "contactInfo.privateEmail" => &mut c.private_email,
            "contactInfo.businessEmail" => &mut c.business_email,
            "contactInfo.businessPhone" => &mut c.business_phone,
            "contactInfo.businessMobilePhone" => &mut c.business_mobile_phone,
            "contactInfo.privatePhone" => &mut c.private_phone,
            "contactInfo.privateMobilePhone" => &mut c.private_mobile_phone,
            "contactInfo.otherPhone" => &mut c.other_phone,
            "partnerInfo.partnerPrefix" => &mut p.partner_prefix,
            "partnerInfo.partnerName" => &mut p.partner_name,
            "partnerInfo.maritalStatus" => &mut p.marital_status,
            "emergencyInfo.emergencyContact" => &mut e.emergency_contact,
            "emergencyInfo.emergencyPhone" => &mut e.emergency_phone,
            "emergencyInfo.emergencyRelationship" => &mut e.emergency_relationship,
            _ => return Err(FieldError::Unknown(path.to_string())),
        };
        *slot = as_opt_string(path, v)?;
        Ok(())
    }

    /// Lenient reading of a write-shape object (what `Sandbox::seed_employee`
    /// takes): known fields of the wrong type and unknown fields are ignored,
    /// missing ones stay null. Returns the data and the `period`, if given.
    pub(crate) fn from_write_lenient(v: &Value) -> (PersonalData, Option<Period>) {
        let mut data = PersonalData::default();
        let empty = Map::new();
        for section in [
            "basicInfo",
            "birthInfo",
            "contactInfo",
            "partnerInfo",
            "emergencyInfo",
        ] {
            let fields = v.get(section).and_then(Value::as_object).unwrap_or(&empty);
            for (k, val) in fields {
                let _ = data.set(&format!("{section}.{k}"), val.clone());
            }
        }
        let period = v.get("period").and_then(|p| {
            Some(Period {
                year: p.get("year")?.as_i64()?,
                period: p.get("period")?.as_i64()?,
            })
        });
        (data, period)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn entry(data: PersonalData) -> Entry {
        Entry {
            personal_info_id: "id".into(),
            created_at: NaiveDate::from_ymd_opt(2021, 7, 1)
                .and_then(|d| d.and_hms_opt(10, 15, 8))
                .expect("valid"),
            period: Period {
                year: 2021,
                period: 4,
            },
            data,
            removed_keys: BTreeSet::new(),
        }
    }

    #[test]
    fn lenient_write_shape_renders_as_read_shape() {
        let (data, period) = PersonalData::from_write_lenient(&json!({
            "basicInfo": {"employeeNumber": 7, "lastName": "Doe", "employeeType": "employee", "faxNumber": "x"},
            "birthInfo": {"birthDate": "1980-02-27", "birthCountryCodeISO": "NL", "nationalityCodeISO": "PT", "gender": 3},
            "partnerInfo": {"maritalStatus": "married", "ascriptionCode": 0},
            "period": {"year": 2024, "period": 2}
        }));
        assert_eq!(
            period,
            Some(Period {
                year: 2024,
                period: 2
            })
        );
        let v = entry(data).render(DateStyle::DutchMidnightUtc);
        assert_eq!(v["basicInfo"]["employeeType"], "employee");
        assert_eq!(v["basicInfo"]["firstName"], Value::Null);
        assert_eq!(v["birthInfo"]["birthDate"], "1980-02-26T23:00:00Z");
        assert_eq!(
            v["birthInfo"]["birthCountry"],
            json!({"codeISO": "NL", "description": "The Netherlands"})
        );
        assert_eq!(
            v["birthInfo"]["nationality"],
            json!({"codeISO": "PT", "description": "Portuguese"})
        );
        assert_eq!(v["birthInfo"]["gender"], Value::Null, "wrong type ignored");
        assert_eq!(
            v["partnerInfo"],
            json!({"partnerPrefix": null, "partnerName": null, "maritalStatus": "married",
                   "ascription": {"code": 0, "ascription": "Own name"}})
        );
        assert_eq!(v["createdAt"], "2021-07-01T10:15:08Z");
        assert_eq!(v["period"], json!({"year": 2021, "period": 4}));
        assert_eq!(
            v["emergencyInfo"],
            json!({"emergencyContact": null, "emergencyPhone": null, "emergencyRelationship": null})
        );
        assert!(v["basicInfo"].get("faxNumber").is_none());
        let empty = entry(PersonalData::default()).render(DateStyle::DutchOffset);
        assert_eq!(empty["birthInfo"]["birthCountry"], json!({}));
        assert_eq!(empty["birthInfo"]["nationality"], json!({}));
        assert_eq!(
            empty["partnerInfo"],
            json!({"partnerPrefix": null, "partnerName": null, "maritalStatus": "notSpecified",
                   "ascription": {"ascription": null}})
        );
    }

    #[test]
    fn set_by_write_path_and_remove_by_read_path() {
        let mut data = PersonalData::default();
        assert!(
            data.set("birthInfo.birthDate", json!("1980-02-26T23:00:00Z"))
                .is_ok()
        );
        assert_eq!(data.birth.birth_date, NaiveDate::from_ymd_opt(1980, 2, 27));
        assert_eq!(
            data.set("basicInfo.lastName", json!(3)),
            Err(FieldError::WrongType("basicInfo.lastName".into()))
        );
        assert!(data.set("birthInfo.birthCountry", json!("NL")).is_err());
        let mut e = entry(data);
        e.removed_keys.insert("birthInfo.birthCountry".into());
        let v = e.render(DateStyle::DutchOffset);
        assert!(v["birthInfo"].get("birthCountry").is_none());
        assert_eq!(v["birthInfo"]["birthDate"], "1980-02-27T00:00:00+01:00");
        let mut v = json!({"a": {"b": 1}});
        assert!(remove_path(&mut v, "a.b"));
        assert!(!remove_path(&mut v, "a.b"));
    }
}
