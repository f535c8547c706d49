//! The Nmbrs-side write of one resource of one record: read its history again (the GET right before
//! the write), check the fields to change still hold what the plan read, then the resource's write
//! call with only those fields changed (docs/architecture.md, invariant 2). One function per shape
//! of write; which call a resource takes is said once, in [`Applier::write_resource`].

use super::{Applier, ApplyError};
use crate::fields::{Field, FieldValues, Resource};
use crate::nmbrs::client::{ApiErrorKind, seg};
use crate::nmbrs::model::resources::address::{self, CreateAddress};
use crate::nmbrs::model::resources::contract::{CreateContract, UpdateContract};
use crate::nmbrs::model::resources::employment::UpdateEmployment;
use crate::nmbrs::model::resources::private_info::UpdateSocialSecurityNumber;
use crate::nmbrs::model::resources::{in_force_by_start, org, read_resource};
use crate::nmbrs::model::{ReadError, UpdatePersonalInfo, in_force};
use crate::nmbrs::{ApiError, HttpCall};
use crate::plan::Change;
use reqwest::Method;
use serde_json::Value;

/// What a resource write found.
pub(super) enum Written {
    /// Written: the call's facts, and the new `personalInfoId` for a personal-info PUT.
    Done(HttpCall, Option<String>),
    /// The resource moved since the plan read it; the message says which fields.
    Moved(String),
}

impl Applier {
    /// GET → check → write of `resource` for `employee_id`, changing `changes` (all of this
    /// resource). Returns the guard read's facts and what the write did.
    ///
    /// Errors: the API's, and [`ReadError`] for a history that cannot be read or a value that
    /// cannot be written (naming the field).
    pub(super) async fn write_resource(
        &self,
        employee_id: &str,
        resource: Resource,
        changes: &[&Change],
    ) -> Result<(HttpCall, Written), ApplyError> {
        let current = self
            .client
            .employee_history(&self.company_id, resource, employee_id)
            .await?;
        crate::failpoint::hit("after_get");
        let read_call = current.call.clone();
        let entries = match current.body.and_then(|h| h.entries) {
            Some(e) => e,
            // Every employee has personal info; the others may have no entries yet.
            None if resource != Resource::PersonalInfo => Vec::new(),
            None => {
                return Err(ApiError {
                    kind: ApiErrorKind::NotFound,
                    call: current.call,
                }
                .into());
            }
        };
        let now = read_resource(resource, &entries, &self.read_at, &self.fields)?.values;
        let moved: Vec<&str> = changes
            .iter()
            .filter(|c| !c.field.same(now.get(c.field), c.before.as_deref()))
            .map(|c| c.field.name())
            .collect();
        if !moved.is_empty() {
            return Ok((
                read_call,
                Written::Moved(format!(
                    "{} changed in Nmbrs after this cycle read it; not overwriting, the next cycle merges again",
                    moved.join(", ")
                )),
            ));
        }
        let mut want = now.clone();
        for c in changes {
            want.set(c.field, c.after.as_deref());
        }
        let written = match resource {
            Resource::PersonalInfo => {
                self.put_personal_info(employee_id, &entries, changes)
                    .await?
            }
            Resource::Employment => {
                self.write_employment(employee_id, &entries, &now, &want)
                    .await?
            }
            Resource::Contract => {
                let start_changed = changes.iter().any(|c| c.field == Field::ContractStartDate);
                self.write_contract(employee_id, &entries, start_changed, &want)
                    .await?
            }
            Resource::Function | Resource::Department | Resource::Manager => {
                self.assign(employee_id, resource, &want).await?
            }
            Resource::Address => {
                // The home address in force: other types' members are not this one's.
                let home = address::home_in_force(&entries, self.period)?.map(|f| f.entry);
                let body = CreateAddress::new(&want, home, self.period)?;
                let r = self
                    .client
                    .write_employee(Method::POST, employee_id, "address", Some(&body))
                    .await?;
                Written::Done(r.call, None)
            }
            Resource::PrivateInfo => {
                let body = UpdateSocialSecurityNumber {
                    social_security_number: want.get(Field::Bsn).unwrap_or_default().to_owned(),
                };
                let r = self
                    .client
                    .write_employee(
                        Method::PUT,
                        employee_id,
                        "socialsecuritynumber",
                        Some(&body),
                    )
                    .await?;
                Written::Done(r.call, None)
            }
        };
        crate::failpoint::hit("after_put");
        Ok((read_call, written))
    }

    /// `PUT /api/employees/{employeeId}/personalInfo`: the entry in force in the write shape, with
    /// only the planned fields changed.
    async fn put_personal_info(
        &self,
        employee_id: &str,
        entries: &[Value],
        changes: &[&Change],
    ) -> Result<Written, ApplyError> {
        let in_force = in_force(entries, self.period)?;
        let changes: Vec<(Field, Option<&str>)> = changes
            .iter()
            .map(|c| (c.field, c.after.as_deref()))
            .collect();
        let body = UpdatePersonalInfo::from_entry(in_force.entry, &changes, self.period)?;
        let put = self
            .client
            .write_employee(Method::PUT, employee_id, "personalInfo", Some(&body))
            .await?;
        let id = put
            .body
            .get("personalInfoId")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok(Written::Done(put.call, id))
    }

    /// End of service: `PUT …/employment` of the employment in force, or, to take an end of
    /// service back, `DELETE …/employments/{employmentId}/endOfServiceDate`.
    async fn write_employment(
        &self,
        employee_id: &str,
        entries: &[Value],
        now: &FieldValues,
        want: &FieldValues,
    ) -> Result<Written, ApplyError> {
        let as_of = &self.read_at.as_of;
        let Some(i) = in_force_by_start(entries, as_of, "employments", "startDate", "changedDate")?
        else {
            return Err(ReadError::bad(
                Field::EndOfServiceDate.name(),
                "the employee has no employment in Nmbrs to end; add one in Nmbrs",
            )
            .into());
        };
        let entry = &entries[i];
        let id = entry
            .get("employmentId")
            .and_then(Value::as_str)
            .ok_or_else(|| ReadError::missing(&format!("employments[{i}].employmentId")))?;
        let r = match (
            now.get(Field::EndOfServiceDate),
            want.get(Field::EndOfServiceDate),
        ) {
            (Some(_), None) => {
                let what = format!("employments/{}/endOfServiceDate", seg(id));
                self.client
                    .write_employee(Method::DELETE, employee_id, &what, None::<&()>)
                    .await?
            }
            (None, None) => {
                return Err(ReadError::bad(
                    Field::EndOfContractReason.name(),
                    "an end-of-contract reason needs an end of service date; give both",
                )
                .into());
            }
            _ => {
                let body = UpdateEmployment::new(id, entry, want)?;
                self.client
                    .write_employee(Method::PUT, employee_id, "employment", Some(&body))
                    .await?
            }
        };
        Ok(Written::Done(r.call, None))
    }

    /// A new start date (or no contract yet) is a new contract (`POST …/contract`); otherwise the
    /// contract in force is updated (`PUT …/contract`).
    async fn write_contract(
        &self,
        employee_id: &str,
        entries: &[Value],
        start_changed: bool,
        want: &FieldValues,
    ) -> Result<Written, ApplyError> {
        let as_of = &self.read_at.as_of;
        let current = in_force_by_start(entries, as_of, "contracts", "startDate", "createdAt")?
            .map(|i| &entries[i]);
        let r = match current {
            Some(entry) if !start_changed => {
                let id = entry
                    .get("contractId")
                    .and_then(Value::as_str)
                    .ok_or_else(|| ReadError::missing("contracts.contractId"))?;
                let body = UpdateContract::new(id, entry, want)?;
                self.client
                    .write_employee(Method::PUT, employee_id, "contract", Some(&body))
                    .await?
            }
            _ => {
                let body = CreateContract::new(want)?;
                self.client
                    .write_employee(Method::POST, employee_id, "contract", Some(&body))
                    .await?
            }
        };
        Ok(Written::Done(r.call, None))
    }

    /// `PUT …/{function,department,manager}` with the id of the debtor object the value names.
    async fn assign(
        &self,
        employee_id: &str,
        resource: Resource,
        want: &FieldValues,
    ) -> Result<Written, ApplyError> {
        let Some(field) = org::field_of(resource) else {
            return Err(ReadError::bad(resource.name(), "is not a reference resource").into());
        };
        let value = want.get(field).unwrap_or_default();
        let object = self
            .refs
            .resolve(field, value)
            .map_err(|m| ReadError::bad(field.name(), m))?;
        let body = org::assignment(resource, &object.id, self.period);
        let r = self
            .client
            .write_employee(
                Method::PUT,
                employee_id,
                org::write_segment(resource),
                Some(&body),
            )
            .await?;
        Ok(Written::Done(r.call, None))
    }
}
