//! Employment: the hire date, end of service and its reason. Read: `Employment` items of
//! `GET /api/companies/{companyId}/employees/employments`; the employment in force is the one with
//! the latest start not after the read date (a re-hire's second employment wins once it starts).
//! Written: `PUT /api/employees/{employeeId}/employment` (`UpdateEmployment`: end of service and
//! reason; there is no start date member, so the hire date is create-only), and
//! `DELETE /api/employees/{employeeId}/employments/{employmentId}/endOfServiceDate` to take an end
//! of service back.

use super::super::ReadError;
use super::super::history::{date, member, path, text};
use super::{ReadAt, ResourceRead, carried_date, in_force_by_start, write_field_date};
use crate::fields::{Field, FieldValues};
use serde::Serialize;
use serde_json::Value;

const KEY: &str = "employments";

/// The employment in force, read: its values and `employmentId`.
///
/// Errors: a member missing or malformed (`employments[i].startDate`…).
pub fn read(entries: &[Value], at: &ReadAt) -> Result<ResourceRead, ReadError> {
    let Some(i) = in_force_by_start(entries, &at.as_of, KEY, "startDate", "changedDate")? else {
        return Ok(ResourceRead::default());
    };
    let e = &entries[i];
    let mut values = FieldValues::default();
    values.set(
        Field::InServiceDate,
        date(e, "startDate", &path(KEY, i, "startDate"))?.as_deref(),
    );
    values.set(
        Field::EndOfServiceDate,
        date(e, "endDate", &path(KEY, i, "endDate"))?.as_deref(),
    );
    let reason_at = path(KEY, i, "endContractReason");
    let reason = match member(e, "endContractReason", &reason_at)? {
        Value::Null => None,
        r => text(r, "code", &format!("{reason_at}.code"))?,
    };
    values.set(Field::EndOfContractReason, reason.as_deref());
    Ok(ResourceRead {
        values,
        entry_id: text(e, "employmentId", &path(KEY, i, "employmentId"))?,
        note: None,
    })
}

/// The body of `PUT /api/employees/{employeeId}/employment` (schema `UpdateEmployment`).
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UpdateEmployment {
    pub employment_id: String,
    /// Carried over from the entry in force; not sent when it has none ([`super::carried`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seniority_date: Option<Option<String>>,
    pub end_of_service_date: Option<String>,
    pub end_of_contract_reason: Option<i64>,
}

impl UpdateEmployment {
    /// The update of employment `employment_id` (read as `current`) to the end of service and
    /// reason in `values`.
    ///
    /// Errors: a date or reason code that cannot be written, naming the field.
    pub fn new(
        employment_id: &str,
        current: &Value,
        values: &FieldValues,
    ) -> Result<UpdateEmployment, ReadError> {
        let end = write_field_date(values, Field::EndOfServiceDate)?;
        let reason = values
            .get(Field::EndOfContractReason)
            .map(|r| {
                r.trim().parse::<i64>().map_err(|_| {
                    ReadError::bad(
                        Field::EndOfContractReason.name(),
                        format!("`{r}` is not a reason code (a whole number)"),
                    )
                })
            })
            .transpose()?;
        Ok(UpdateEmployment {
            employment_id: employment_id.to_owned(),
            seniority_date: carried_date(
                Some(current),
                "seniorityDate",
                "employment.seniorityDate",
            )?,
            end_of_service_date: end,
            end_of_contract_reason: reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use super::super::june_2024 as at;

    fn employment(id: &str, start: &str, end: Option<&str>, reason: Value) -> Value {
        json!({"employmentId": id, "creationDate": "2020-01-01T00:00:00Z", "startDate": start,
               "endDate": end, "seniorityDate": null, "endContractReason": reason,
               "changedDate": "2020-01-01T00:00:00Z"})
    }

    #[test]
    fn a_rehire_reads_the_employment_in_force() {
        let entries = vec![
            employment(
                "first",
                "2015-03-01T00:00:00Z",
                Some("2019-12-31T00:00:00Z"),
                json!({"code": 1, "reason": "Resignation by employee"}),
            ),
            employment("second", "2024-02-01T00:00:00Z", None, json!(null)),
        ];
        let r = read(&entries, &at()).expect("read");
        assert_eq!(r.entry_id.as_deref(), Some("second"));
        assert_eq!(r.values.get(Field::InServiceDate), Some("2024-02-01"));
        assert_eq!(r.values.get(Field::EndOfServiceDate), None);
        let mut earlier = at();
        earlier.as_of = "2020-06-30".into();
        let r = read(&entries, &earlier).expect("read");
        assert_eq!(r.values.get(Field::EndOfServiceDate), Some("2019-12-31"));
        assert_eq!(r.values.get(Field::EndOfContractReason), Some("1"));
    }

    #[test]
    fn a_missing_member_is_unknown_not_empty() {
        let mut e = employment("x", "2015-03-01T00:00:00Z", None, json!(null));
        e.as_object_mut().map(|m| m.remove("endDate"));
        let err = read(&[e], &at()).expect_err("unknown");
        assert_eq!(err.path, "employments[0].endDate");
        assert_eq!(read(&[], &at()), Ok(ResourceRead::default()));
    }

    #[test]
    fn a_member_the_entry_lacks_is_not_sent_and_an_unreadable_one_is_not_blanked() {
        let mut current = employment("x", "2015-03-01T00:00:00Z", None, json!(null));
        let mut v = FieldValues::default();
        v.set(Field::EndOfServiceDate, Some("2024-08-31"));
        current.as_object_mut().map(|m| m.remove("seniorityDate"));
        let body = serde_json::to_value(UpdateEmployment::new("x", &current, &v).expect("body"))
            .expect("json");
        assert!(body.get("seniorityDate").is_none(), "not sent: {body}");
        current["seniorityDate"] = json!("2014-02-01T00:00:00Z");
        let body = serde_json::to_value(UpdateEmployment::new("x", &current, &v).expect("body"))
            .expect("json");
        assert_eq!(body["seniorityDate"], "2014-02-01T00:00:00Z");
        current["seniorityDate"] = json!("first of February");
        assert!(
            UpdateEmployment::new("x", &current, &v).is_err(),
            "never sent back as null"
        );
    }

    #[test]
    fn the_update_carries_the_seniority_date_and_writes_date_times() {
        let current = employment("x", "2015-03-01T00:00:00Z", None, json!(null));
        let mut v = FieldValues::default();
        v.set(Field::EndOfServiceDate, Some("2024-08-31"));
        v.set(Field::EndOfContractReason, Some("2"));
        let body = UpdateEmployment::new("x", &current, &v).expect("body");
        assert_eq!(
            serde_json::to_value(&body).expect("json"),
            json!({"employmentId": "x", "seniorityDate": null,
                   "endOfServiceDate": "2024-08-31T00:00:00Z", "endOfContractReason": 2})
        );
    }
}
