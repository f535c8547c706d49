//! A debtor's organisation structure (the reference lists employees point
//! into): functions (schema `Function`), departments (`DepartmentWithManagers`)
//! and managers (`Manager`), and the end-of-contract reasons
//! (`EndContractReason`).

use chrono::NaiveDateTime;
use serde_json::{Value, json};
use uuid::Uuid;

use super::clock::{dutch_now, render_created_at};
use super::records::{Cell, Reference};

/// The list of `GET /api/debtors/endcontractreasons/{Year}`. *Invented*: the
/// description gives no list; the same for every year.
pub(crate) const END_CONTRACT_REASONS: &[(i64, &str)] = &[
    (1, "Resignation by employee"),
    (2, "End of temporary contract"),
    (3, "Dismissal"),
    (4, "Retirement"),
    (5, "Mutual agreement"),
    (6, "Death"),
];

/// The text of an end-of-contract reason code (`None` for an unknown code).
pub(crate) fn end_contract_reason(code: i64) -> Option<&'static str> {
    END_CONTRACT_REASONS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, r)| *r)
}

/// A function or a department of a debtor.
#[derive(Clone, Debug)]
pub(crate) struct Unit {
    pub(crate) id: String,
    pub(crate) code: i64,
    pub(crate) description: String,
    pub(crate) created_at: NaiveDateTime,
}

impl Unit {
    fn new(code: i64, description: &str) -> Unit {
        Unit {
            id: Uuid::new_v4().to_string(),
            code,
            description: description.to_string(),
            created_at: dutch_now(),
        }
    }
}

/// A manager of a debtor (schema `Manager`).
#[derive(Clone, Debug)]
pub(crate) struct Manager {
    pub(crate) id: String,
    pub(crate) number: i64,
    pub(crate) first_name: String,
    pub(crate) last_name: String,
    pub(crate) gender: String,
    pub(crate) department_id: Option<String>,
    pub(crate) function_id: Option<String>,
    pub(crate) phone_number: String,
    pub(crate) cellphone: String,
    pub(crate) fax: String,
    pub(crate) email: String,
}

/// What a new manager is given; the rest is invented.
pub(crate) struct NewManager<'a> {
    pub(crate) first_name: &'a str,
    pub(crate) last_name: &'a str,
    pub(crate) email: &'a str,
    pub(crate) gender: &'a str,
    /// Department and function codes; `None`: the debtor's lowest code, if any.
    pub(crate) department_code: Option<i64>,
    pub(crate) function_code: Option<i64>,
}

/// A debtor's functions, departments and managers, in creation order.
#[derive(Debug, Default)]
pub(crate) struct DebtorOrg {
    pub(crate) functions: Vec<Unit>,
    pub(crate) departments: Vec<Unit>,
    pub(crate) managers: Vec<Manager>,
}

fn by_code(units: &[Unit], code: Option<i64>) -> Option<String> {
    match code {
        Some(c) => units.iter().find(|u| u.code == c),
        None => units.iter().min_by_key(|u| u.code),
    }
    .map(|u| u.id.clone())
}

fn unit_json(u: &Unit, id_name: &str) -> Value {
    json!({id_name: u.id, "code": u.code, "description": u.description})
}

impl DebtorOrg {
    pub(crate) fn add_function(&mut self, code: i64, description: &str) -> String {
        let u = Unit::new(code, description);
        let id = u.id.clone();
        self.functions.push(u);
        id
    }

    pub(crate) fn add_department(&mut self, code: i64, description: &str) -> String {
        let u = Unit::new(code, description);
        let id = u.id.clone();
        self.departments.push(u);
        id
    }

    /// Adds a manager numbered after the others, with invented (Dutch-style,
    /// fictitious) phone and fax numbers.
    pub(crate) fn add_manager(&mut self, m: NewManager<'_>) -> String {
        let number = self.managers.iter().map(|m| m.number).max().unwrap_or(0) + 1;
        let id = Uuid::new_v4().to_string();
        self.managers.push(Manager {
            id: id.clone(),
            number,
            first_name: m.first_name.to_string(),
            last_name: m.last_name.to_string(),
            gender: m.gender.to_string(),
            department_id: by_code(&self.departments, m.department_code),
            function_id: by_code(&self.functions, m.function_code),
            phone_number: format!("+3120555{:04}", number % 10_000),
            cellphone: format!("+3161555{:04}", number % 10_000),
            fax: format!("+3120556{:04}", number % 10_000),
            email: m.email.to_string(),
        });
        id
    }

    /// Items of `GET /api/debtors/{debtorId}/functions` (schema `Function`).
    pub(crate) fn functions_json(&self) -> Vec<Value> {
        self.functions
            .iter()
            .map(|u| unit_json(u, "functionId"))
            .collect()
    }

    /// Items of `GET /api/debtors/{debtorId}/departments` (schema
    /// `DepartmentWithManagers`): the managers are those whose department it is.
    pub(crate) fn departments_json(&self) -> Vec<Value> {
        self.departments
            .iter()
            .map(|d| {
                let managers: Vec<Value> = self
                    .managers
                    .iter()
                    .filter(|m| m.department_id.as_deref() == Some(d.id.as_str()))
                    .map(|m| {
                        json!({"managerId": m.id, "firstName": m.first_name,
                               "lastName": m.last_name, "email": m.email})
                    })
                    .collect();
                json!({"departmentId": d.id, "code": d.code, "description": d.description,
                       "createdAt": render_created_at(d.created_at), "managers": managers})
            })
            .collect()
    }

    /// Items of `GET /api/debtors/{debtorId}/managers` (schema `Manager`);
    /// `department`/`function` are left out when the debtor has none to give.
    pub(crate) fn managers_json(&self) -> Vec<Value> {
        self.managers
            .iter()
            .map(|m| {
                let mut v = json!({
                    "managerId": m.id,
                    "number": m.number,
                    "firstName": m.first_name,
                    "lastName": m.last_name,
                    "gender": m.gender,
                    "phoneNumber": m.phone_number,
                    "cellphone": m.cellphone,
                    "fax": m.fax,
                    "email": m.email,
                });
                let find = |units: &[Unit], id: &Option<String>, name: &str| {
                    id.as_ref()
                        .and_then(|id| units.iter().find(|u| &u.id == id))
                        .map(|u| unit_json(u, name))
                };
                if let Some(obj) = v.as_object_mut() {
                    if let Some(d) = find(&self.departments, &m.department_id, "departmentId") {
                        obj.insert("department".into(), d);
                    }
                    if let Some(f) = find(&self.functions, &m.function_id, "functionId") {
                        obj.insert("function".into(), f);
                    }
                }
                v
            })
            .collect()
    }

    /// The members an employee's history entry copies from the object `id`
    /// (`code`/`description`, or a manager's `firstName`/`lastName`/`email`);
    /// `None` if the debtor has no such object.
    pub(crate) fn snapshot(
        &self,
        reference: Reference,
        id: &str,
    ) -> Option<Vec<(&'static str, Cell)>> {
        let unit = |units: &[Unit]| {
            units.iter().find(|u| u.id == id).map(|u| {
                vec![
                    ("code", Cell::Int(u.code)),
                    ("description", Cell::Text(u.description.clone())),
                ]
            })
        };
        match reference {
            Reference::Function => unit(&self.functions),
            Reference::Department => unit(&self.departments),
            Reference::Manager => self.managers.iter().find(|m| m.id == id).map(|m| {
                vec![
                    ("firstName", Cell::Text(m.first_name.clone())),
                    ("lastName", Cell::Text(m.last_name.clone())),
                    ("email", Cell::Text(m.email.clone())),
                ]
            }),
        }
    }
}
