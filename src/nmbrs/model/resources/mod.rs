//! The employee resources beyond personal info, each in its own file: how its history is read into
//! [`FieldValues`] (the entry in force, member by member) and the write shapes of its calls. Source:
//! `docs/nmbrs-openapi.yaml` (schemas named in each file), summarised in docs/nmbrs-api.md.
//!
//! * [`employment`]: hire date, end of service and its reason (`Employment`, `UpdateEmployment`).
//! * [`contract`]: start, end, hours per week (`Contract`, `CreateContract`, `UpdateEmployeeContract`).
//! * [`org`]: function (job title), department, manager — debtor objects set by id.
//! * [`address`]: the home address (`Address`, `CreateAddress`).
//! * [`private_info`]: the BSN (`EmployeePrivateInfo`, `UpdateSocialSecurityNumber`).

pub mod address;
pub mod contract;
pub mod employment;
pub mod org;
pub mod private_info;

use super::{Period, ReadError, in_force, read_values};
use crate::fields::{Field, FieldValues, Resource};
use serde_json::Value;

/// When a history is read: the payroll period (entries with a `period`) and the calendar date
/// (`YYYY-MM-DD`; employments and contracts, which are dated by their start) it is read for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadAt {
    pub period: Period,
    /// The last day of the payroll period when it is a month, else the run's date.
    pub as_of: String,
}

/// What one resource's history says about one employee: the values of that resource's fields
/// (the others stay empty), the id of the entry in force and a note for the audit log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResourceRead {
    pub values: FieldValues,
    /// `personalInfoId`, `employmentId`, `contractId`… of the entry in force.
    pub entry_id: Option<String>,
    pub note: Option<String>,
}

/// Reads `resource`'s history `entries` for the mapped `fields` (docs/nmbrs-api.md, "Reading
/// employees"). An empty history is no value for every field — except personal info, which every
/// employee has.
///
/// Errors: [`ReadError`] naming the first member missing where the description puts it, or of the
/// wrong shape.
pub fn read_resource(
    resource: Resource,
    entries: &[Value],
    at: &ReadAt,
    fields: &[Field],
) -> Result<ResourceRead, ReadError> {
    match resource {
        Resource::PersonalInfo => {
            let f = in_force(entries, at.period)?;
            Ok(ResourceRead {
                values: read_values(f.entry, fields)?,
                entry_id: f.personal_info_id.clone(),
                note: f.note(at.period),
            })
        }
        Resource::Employment => employment::read(entries, at),
        Resource::Contract => contract::read(entries, at),
        Resource::Function | Resource::Department | Resource::Manager => {
            org::read(resource, entries, at)
        }
        Resource::Address => address::read(entries, at),
        Resource::PrivateInfo => private_info::read(entries, at),
    }
}

/// Index of the entry in force on `as_of` by its start date member `start` (employments,
/// contracts): the latest start not after `as_of` (ties: the later in the list's `tie` member),
/// else the earliest start (a future hire). A `null` start counts as "from the beginning".
///
/// Errors: a start that is not a date, named `key[i].start`.
pub(crate) fn in_force_by_start(
    entries: &[Value],
    as_of: &str,
    key: &str,
    start: &str,
    tie: &str,
) -> Result<Option<usize>, ReadError> {
    let mut keyed = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let at = super::history::path(key, i, start);
        let s = super::history::date(e, start, &at)?.unwrap_or_default();
        let t = e.get(tie).and_then(Value::as_str).unwrap_or("").to_owned();
        keyed.push((s, t, i));
    }
    let current = keyed
        .iter()
        .filter(|k| k.0.as_str() <= as_of)
        .max_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    Ok(current
        .or_else(|| keyed.iter().min_by(|a, b| a.0.cmp(&b.0)))
        .map(|k| k.2))
}

/// A date field's value as the `date-time` a write sends (`YYYY-MM-DDT00:00:00Z`); `None` when the
/// field has no value.
///
/// Errors: a value that is not a date, naming the field.
pub(crate) fn write_field_date(
    values: &FieldValues,
    f: Field,
) -> Result<Option<String>, ReadError> {
    values
        .get(f)
        .map(|d| super::dates::write_date_time(d).map_err(|e| ReadError::bad(f.name(), e)))
        .transpose()
}

/// A member of the entry in force that a write carries over unchanged (a contract's trial period,
/// an employment's seniority date…): `None` when the entry does not have it — then it is not sent,
/// and Nmbrs keeps what it has —, `Some(None)` for `null`. Unknown is not empty: a value `read`
/// cannot take is an error, never sent back blank.
///
/// Errors: the member holds a value of another shape, named by `at`.
pub(crate) fn carried<T>(
    entry: Option<&Value>,
    member: &str,
    at: &str,
    read: impl Fn(&Value) -> Option<T>,
) -> Result<Option<Option<T>>, ReadError> {
    match entry.and_then(|e| e.get(member)) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(v) => read(v)
            .map(|t| Some(Some(t)))
            .ok_or_else(|| ReadError::bad(at, "has a value of another shape; not written back")),
    }
}

/// [`carried`] for a date member, as the `date-time` a write sends.
pub(crate) fn carried_date(
    entry: Option<&Value>,
    member: &str,
    at: &str,
) -> Result<Option<Option<String>>, ReadError> {
    carried(entry, member, at, |v| {
        let day = super::dates::calendar_date(v.as_str()?).ok()?;
        super::dates::write_date_time(&day).ok()
    })
}

/// A number written in the HRIS or read from Nmbrs as a JSON number (`"32.5"` → 32.5).
///
/// Errors: a text that is not a number, naming the field.
pub(crate) fn number_of(f: Field, v: &str) -> Result<f64, ReadError> {
    v.trim()
        .parse::<f64>()
        .map_err(|_| ReadError::bad(f.name(), format!("`{v}` is not a number")))
}

/// Reading in payroll period 2024-06 (as of 30 June 2024): the read time of the resources' tests.
#[cfg(test)]
pub(crate) fn june_2024() -> ReadAt {
    ReadAt {
        period: Period {
            year: 2024,
            period: 6,
        },
        as_of: "2024-06-30".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_start_in_force_is_the_latest_not_after_the_date_else_the_earliest() {
        let e = vec![
            json!({"startDate": "2020-01-01T00:00:00Z", "c": "1"}),
            json!({"startDate": "2024-03-01T00:00:00Z", "c": "2"}),
            json!({"startDate": "2030-01-01T00:00:00Z", "c": "3"}),
        ];
        let pick = |d: &str| in_force_by_start(&e, d, "x", "startDate", "c").expect("ok");
        assert_eq!(
            pick("2024-06-30"),
            Some(1),
            "a rehire: the later employment"
        );
        assert_eq!(pick("2021-06-30"), Some(0));
        assert_eq!(pick("2019-01-31"), Some(0), "nothing yet: the earliest");
        assert_eq!(
            in_force_by_start(&[], "2024-01-01", "x", "s", "c"),
            Ok(None)
        );
        assert!(
            in_force_by_start(&[json!({"c": "1"})], "2024-01-01", "x", "startDate", "c").is_err()
        );
    }
}
