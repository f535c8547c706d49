//! Contract: start, end (none = indefinite) and hours per week. Read: `Contract` items of
//! `GET /api/companies/{companyId}/employees/contracts`, the one in force by start date. Written:
//! `POST /api/employees/{employeeId}/contract` (`CreateContract`) for a new start date (a new dated
//! entry: `UpdateEmployeeContract` has no start date), else `PUT …/contract`
//! (`UpdateEmployeeContract`) of the contract in force.

use super::super::ReadError;
use super::super::history::{date, decimal, member, path, text};
use super::{
    ReadAt, ResourceRead, carried, carried_date, in_force_by_start, number_of, write_field_date,
};
use crate::fields::{Field, FieldValues};
use serde::Serialize;
use serde_json::Value;

const KEY: &str = "contracts";

/// The contract in force, read: its values and `contractId`. `indefinite: true` reads as no end.
///
/// Errors: a member missing or malformed (`contracts[i].hoursPerWeek`…).
pub fn read(entries: &[Value], at: &ReadAt) -> Result<ResourceRead, ReadError> {
    let Some(i) = in_force_by_start(entries, &at.as_of, KEY, "startDate", "createdAt")? else {
        return Ok(ResourceRead::default());
    };
    let e = &entries[i];
    let indefinite = match member(e, "indefinite", &path(KEY, i, "indefinite"))? {
        Value::Bool(b) => *b,
        Value::Null => false,
        _ => {
            return Err(ReadError::bad(
                &path(KEY, i, "indefinite"),
                "is not true or false",
            ));
        }
    };
    let end = date(e, "endDate", &path(KEY, i, "endDate"))?;
    let mut values = FieldValues::default();
    values.set(
        Field::ContractStartDate,
        date(e, "startDate", &path(KEY, i, "startDate"))?.as_deref(),
    );
    values.set(
        Field::ContractEndDate,
        if indefinite { None } else { end.as_deref() },
    );
    values.set(
        Field::HoursPerWeek,
        decimal(e, "hoursPerWeek", &path(KEY, i, "hoursPerWeek"))?.as_deref(),
    );
    Ok(ResourceRead {
        values,
        entry_id: text(e, "contractId", &path(KEY, i, "contractId"))?,
        note: None,
    })
}

fn end_and_hours(values: &FieldValues) -> Result<(Option<String>, Option<f64>), ReadError> {
    let end = write_field_date(values, Field::ContractEndDate)?;
    let hours = values
        .get(Field::HoursPerWeek)
        .map(|h| number_of(Field::HoursPerWeek, h))
        .transpose()?;
    Ok((end, hours))
}

/// The body of `POST /api/employees/{employeeId}/contract` (schema `CreateContract`).
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CreateContract {
    pub start_date: String,
    pub end_date: Option<String>,
    pub indefinite: bool,
    pub hours_per_week: Option<f64>,
}

impl CreateContract {
    /// A new contract with the contract fields of `values`.
    ///
    /// Errors: no start date, or a value that cannot be written, naming the field.
    pub fn new(values: &FieldValues) -> Result<CreateContract, ReadError> {
        let start = write_field_date(values, Field::ContractStartDate)?.ok_or_else(|| {
            ReadError::bad(
                Field::ContractStartDate.name(),
                "is empty; a new contract needs a start date",
            )
        })?;
        let (end_date, hours_per_week) = end_and_hours(values)?;
        Ok(CreateContract {
            start_date: start,
            indefinite: end_date.is_none(),
            end_date,
            hours_per_week,
        })
    }
}

/// The body of `PUT /api/employees/{employeeId}/contract` (schema `UpdateEmployeeContract`).
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UpdateContract {
    pub contract_id: String,
    /// Carried over from the contract in force; not sent when it has none ([`super::carried`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trial_period: Option<Option<String>>,
    pub end_date: Option<String>,
    pub indefinite: bool,
    /// Carried over from the contract in force; not sent when it has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub written_contract: Option<Option<bool>>,
    pub hours_per_week: Option<f64>,
}

impl UpdateContract {
    /// The update of contract `contract_id` (read as `current`) to the end and hours of `values`.
    ///
    /// Errors: a value that cannot be written, naming the field.
    pub fn new(
        contract_id: &str,
        current: &Value,
        values: &FieldValues,
    ) -> Result<UpdateContract, ReadError> {
        let (end_date, hours_per_week) = end_and_hours(values)?;
        let trial = carried_date(Some(current), "trialPeriod", "contract.trialPeriod")?;
        Ok(UpdateContract {
            contract_id: contract_id.to_owned(),
            trial_period: trial,
            indefinite: end_date.is_none(),
            end_date,
            written_contract: carried(
                Some(current),
                "writtenContract",
                "contract.writtenContract",
                Value::as_bool,
            )?,
            hours_per_week,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use super::super::june_2024 as at;

    #[test]
    fn the_contract_in_force_is_read_and_indefinite_has_no_end() {
        let entries = vec![
            json!({"contractId": "a", "startDate": "2021-01-01T00:00:00Z", "trialPeriod": null,
                   "endDate": "2021-12-31T00:00:00Z", "indefinite": false, "writtenContract": true,
                   "hoursPerWeek": 40, "createdAt": "2021-01-01T00:00:00Z"}),
            json!({"contractId": "b", "startDate": "2022-01-01T00:00:00Z", "trialPeriod": null,
                   "endDate": "2030-01-01T00:00:00Z", "indefinite": true, "writtenContract": true,
                   "hoursPerWeek": 32.0, "createdAt": "2022-01-01T00:00:00Z"}),
        ];
        let r = read(&entries, &at()).expect("read");
        assert_eq!(r.entry_id.as_deref(), Some("b"));
        assert_eq!(r.values.get(Field::ContractStartDate), Some("2022-01-01"));
        assert_eq!(r.values.get(Field::ContractEndDate), None);
        assert_eq!(r.values.get(Field::HoursPerWeek), Some("32"));
    }

    #[test]
    fn writes_carry_what_they_do_not_change() {
        let mut v = FieldValues::default();
        v.set(Field::ContractStartDate, Some("2024-07-01"));
        v.set(Field::HoursPerWeek, Some("36.5"));
        let c = CreateContract::new(&v).expect("create");
        assert_eq!(
            serde_json::to_value(&c).expect("json"),
            json!({"startDate": "2024-07-01T00:00:00Z", "endDate": null, "indefinite": true, "hoursPerWeek": 36.5})
        );
        let current = json!({"trialPeriod": "2024-08-01T00:00:00Z", "writtenContract": true});
        v.set(Field::ContractEndDate, Some("2025-06-30"));
        let u = UpdateContract::new("b", &current, &v).expect("update");
        assert_eq!(
            u.trial_period,
            Some(Some("2024-08-01T00:00:00Z".to_owned()))
        );
        assert_eq!(u.written_contract, Some(Some(true)));
        assert!(!u.indefinite);
        v.set(Field::ContractStartDate, None);
        assert!(CreateContract::new(&v).is_err());
        // What the contract in force lacks is not sent; what it holds in another shape is an
        // error, not a blank.
        let u = UpdateContract::new("b", &json!({}), &v).expect("update");
        let body = serde_json::to_value(&u).expect("json");
        assert!(
            body.get("trialPeriod").is_none() && body.get("writtenContract").is_none(),
            "{body}"
        );
        assert!(UpdateContract::new("b", &json!({"writtenContract": "yes"}), &v).is_err());
        assert!(UpdateContract::new("b", &json!({"trialPeriod": 7}), &v).is_err());
    }
}
