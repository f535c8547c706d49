//! Function (job title), department and manager: debtor-level objects assigned to an employee per
//! payroll period. Read: `EmployeeFunction`/`EmployeeDepartment`/`ManagerHistoricBasic` items of
//! `GET /api/companies/{companyId}/employees/{functions,departments,managers}` (the entry in force by
//! period) and the debtor's objects from `GET /api/debtors/{debtorId}/{functions,departments,managers}`
//! (`Function`, `DepartmentWithManagers`, `Manager`). Written: `PUT /api/employees/{employeeId}/
//! {function,department,manager}` with the object's id and the period (`UpdateEmployeeFunction`…).
//! The API cannot create these objects.

use super::super::history::{path, text};
use super::super::{Period, ReadError, in_force_by_period};
use super::{ReadAt, ResourceRead};
use crate::fields::{Field, FieldValues, Resource};
use crate::plan::reference::RefObject;
use serde_json::{Value, json};

/// The field a reference resource holds.
pub fn field_of(resource: Resource) -> Option<Field> {
    match resource {
        Resource::Function => Some(Field::JobTitle),
        Resource::Department => Some(Field::Department),
        Resource::Manager => Some(Field::Manager),
        _ => None,
    }
}

/// The id member of a reference resource's objects and writes (`functionId`…).
pub fn id_member(resource: Resource) -> &'static str {
    match resource {
        Resource::Function => "functionId",
        Resource::Department => "departmentId",
        _ => "managerId",
    }
}

/// The last path segment of the resource's write (`PUT /api/employees/{employeeId}/<this>`).
pub fn write_segment(resource: Resource) -> &'static str {
    match resource {
        Resource::Function => "function",
        Resource::Department => "department",
        _ => "manager",
    }
}

/// "first last" of a manager entry or object (either part may be `null`).
fn manager_name(e: &Value, at: &str) -> Result<Option<String>, ReadError> {
    let first = text(e, "firstName", &format!("{at}.firstName"))?;
    let last = text(e, "lastName", &format!("{at}.lastName"))?;
    let name = [first, last]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    Ok((!name.trim().is_empty()).then_some(name))
}

/// The assignment in force: the object's description (or the manager's name) and id.
///
/// Errors: a member missing or malformed (`departments[i].description`…).
pub fn read(resource: Resource, entries: &[Value], at: &ReadAt) -> Result<ResourceRead, ReadError> {
    let key = resource.history_key();
    let Some(f) = in_force_by_period(entries, at.period, key, false, resource.name(), |_| true)?
    else {
        return Ok(ResourceRead::default());
    };
    let i = f.index;
    let name = match resource {
        Resource::Manager => manager_name(f.entry, &format!("{key}[{i}]"))?,
        _ => text(f.entry, "description", &path(key, i, "description"))?,
    };
    let mut values = FieldValues::default();
    if let Some(field) = field_of(resource) {
        values.set(field, name.as_deref());
    }
    Ok(ResourceRead {
        values,
        entry_id: text(
            f.entry,
            id_member(resource),
            &path(key, i, id_member(resource)),
        )?,
        note: f.note(at.period),
    })
}

/// One object of a debtor list as a [`RefObject`].
///
/// Errors: an object without its id or name, named by its index.
pub fn ref_object(resource: Resource, item: &Value, i: usize) -> Result<RefObject, ReadError> {
    let at = format!("{}[{i}]", resource.listing());
    let id = text(
        item,
        id_member(resource),
        &format!("{at}.{}", id_member(resource)),
    )?
    .ok_or_else(|| ReadError::bad(&at, "has no id"))?;
    let (name, email) = match resource {
        Resource::Manager => (
            manager_name(item, &at)?,
            item.get("email").and_then(Value::as_str).map(str::to_owned),
        ),
        _ => (
            text(item, "description", &format!("{at}.description"))?,
            None,
        ),
    };
    Ok(RefObject {
        id,
        code: item.get("code").filter(|c| !c.is_null()).map(|c| match c {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }),
        name: name.ok_or_else(|| ReadError::bad(&at, "has no description or name"))?,
        email,
    })
}

/// The body of `PUT /api/employees/{employeeId}/{function,department,manager}`:
/// `{"<id member>": id, "periodDetails": {"year", "period"}}`.
pub fn assignment(resource: Resource, id: &str, period: Period) -> Value {
    json!({ id_member(resource): id, "periodDetails": period })
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::june_2024 as at;

    #[test]
    fn the_assignment_in_force_names_the_object() {
        let entries = vec![
            json!({"departmentId": "d1", "code": 1, "description": "Finance",
                   "createdAt": "2024-01-02T00:00:00Z", "period": {"year": 2024, "period": 1}}),
            json!({"departmentId": "d2", "code": 2, "description": "Sales",
                   "createdAt": "2024-05-02T00:00:00Z", "period": {"year": 2024, "period": 5}}),
            json!({"departmentId": "d3", "code": 3, "description": "Engineering",
                   "createdAt": "2024-05-03T00:00:00Z", "period": {"year": 2024, "period": 9}}),
        ];
        let r = read(Resource::Department, &entries, &at()).expect("read");
        assert_eq!(r.values.get(Field::Department), Some("Sales"));
        assert_eq!(r.entry_id.as_deref(), Some("d2"));
        assert!(
            r.note.is_some_and(|n| n.contains("2024-09")),
            "the future entry is noted"
        );
        let m = vec![
            json!({"managerId": "m", "firstName": "Mila", "lastName": "de Boer",
                            "email": null, "createdAt": "2024-01-01T00:00:00Z", "period": null}),
        ];
        let r = read(Resource::Manager, &m, &at()).expect("read");
        assert_eq!(r.values.get(Field::Manager), Some("Mila de Boer"));
    }

    #[test]
    fn debtor_objects_and_writes() {
        let o = ref_object(
            Resource::Function,
            &json!({"functionId": "f", "code": 1, "description": "Payroll Specialist"}),
            0,
        )
        .expect("object");
        assert_eq!(
            (o.code.as_deref(), o.name.as_str()),
            (Some("1"), "Payroll Specialist")
        );
        assert!(ref_object(Resource::Function, &json!({"code": 1}), 3).is_err());
        assert_eq!(
            assignment(
                Resource::Manager,
                "m",
                Period {
                    year: 2024,
                    period: 6
                }
            ),
            json!({"managerId": "m", "periodDetails": {"year": 2024, "period": 6}})
        );
    }
}
