//! The in-memory "database" of the sandbox and its business rules: debtors
//! (with their organisation structure), companies, and employees with their
//! personal-info history and their other histories (`histories`, `employment`).

mod employment;
mod histories;

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::{Value, json};
use uuid::Uuid;

use super::clock::{DateStyle, dutch_now};
use super::model::{CompanyItem, DebtorItem, InvalidParam};
use super::org::DebtorOrg;
use super::person::{Entry, Period, PersonalData, remove_path};
use super::records::Record;

pub(crate) use employment::{ContractTerms, ContractUpdate, EmploymentUpdate};
pub(crate) use histories::RecordFilters;

/// A company; employees are kept as indices into [`Store::employees`], in creation order.
#[derive(Debug)]
pub(crate) struct Company {
    pub(crate) item: CompanyItem,
    pub(crate) employees: Vec<usize>,
}

/// An employee: its in-service date, its
/// personal-info history, ordered by period, then `createdAt`, and its other
/// histories by resource key (`employments`, …; see `records`), in insertion order.
#[derive(Debug)]
pub(crate) struct Employee {
    pub(crate) employee_id: String,
    /// `AdditionalEmployeeInfo.inServiceDate` of the create.
    pub(crate) in_service_date: Option<NaiveDate>,
    pub(crate) history: Vec<Entry>,
    pub(crate) records: BTreeMap<&'static str, Vec<Record>>,
}

impl Employee {
    /// Index of the entry in force in period `now`: the latest period not
    /// after it (then the latest `createdAt`); if none is in force yet, the earliest entry.
    fn in_force_index(&self, now: Period) -> Option<usize> {
        // `history` is sorted, so the last entry not after `now` is the one.
        self.history
            .iter()
            .rposition(|e| e.period <= now)
            .or_else(|| (!self.history.is_empty()).then_some(0))
    }

    /// The entry in force in period `now` (see `in_force_index`).
    pub(crate) fn in_force(&self, now: Period) -> Option<&Entry> {
        self.in_force_index(now).and_then(|i| self.history.get(i))
    }

    /// The item of `GET /api/employees/{employeeId}` (schema `EmployeeInfo`):
    /// `{"employeeId", "personalInfo": <entry in force, read shape>}`.
    pub(crate) fn info_item(&self, now: Period, style: DateStyle) -> Value {
        json!({
            "employeeId": self.employee_id,
            "personalInfo": self.in_force(now).map(|e| e.render(style)),
        })
    }

    fn sort_history(&mut self) {
        self.history.sort_by_key(|e| (e.period, e.created_at));
    }
}

/// Errors of the business layer, mapped to 404s by the routes.
#[derive(Debug, thiserror::Error, PartialEq)]
pub(crate) enum StoreError {
    /// No company with this id (404 40404 Invalid_Company).
    #[error("Company not found. Check if the company Id is correct.")]
    Company(String),
    /// No employee with this id (404 40401).
    #[error("Employee {0} not found.")]
    Employee(String),
    /// No debtor with this id (404 40401).
    #[error("Debtor {0} not found.")]
    Debtor(String),
    /// Something else named by the request does not exist (404 40401); the detail.
    #[error("{0}")]
    Missing(String),
    /// A business rule refused the write (400 40033 with these `invalid-params`).
    #[error("Invalid parameter.")]
    Invalid(Vec<InvalidParam>),
}

impl StoreError {
    /// A 400 naming one parameter (a JSON pointer into the body, or a path parameter).
    pub(crate) fn invalid(name: &str, reason: impl Into<String>) -> StoreError {
        StoreError::Invalid(vec![InvalidParam::new(name, reason)])
    }
}

/// Query filters of the employee lists (`components.parameters`
/// `employeeId`, `createdFrom`, `employeeType`).
#[derive(Debug, Default, Clone)]
pub(crate) struct Filters {
    pub(crate) employee_id: Option<String>,
    /// Dutch wall-clock time; entries created before it are left out.
    pub(crate) created_from: Option<NaiveDateTime>,
    /// Employee types of the entry in force (any of them).
    pub(crate) employee_types: Option<Vec<String>>,
}

/// All debtors, companies and employees.
#[derive(Debug, Default)]
pub(crate) struct Store {
    debtors: Vec<DebtorItem>,
    default_debtor: Option<String>,
    companies: Vec<Company>,
    company_index: HashMap<String, usize>,
    employees: Vec<Employee>,
    employee_index: HashMap<String, usize>,
    /// Functions, departments and managers by `debtorId`.
    org: HashMap<String, DebtorOrg>,
    /// See `Sandbox::set_multi_debtor_forbidden`.
    pub(crate) multi_debtor_forbidden: bool,
}

fn new_entry(data: PersonalData, period: Period) -> Entry {
    Entry {
        personal_info_id: Uuid::new_v4().to_string(),
        created_at: dutch_now(),
        period,
        data,
        removed_keys: Default::default(),
    }
}

impl Store {
    pub(crate) fn add_debtor(&mut self, number: &str, name: &str) -> String {
        let id = Uuid::new_v4().to_string();
        self.org.insert(id.clone(), DebtorOrg::default());
        self.debtors.push(DebtorItem {
            debtor_id: id.clone(),
            number: number.to_string(),
            name: name.to_string(),
        });
        id
    }

    /// Adds a company to the default debtor (created on first use).
    pub(crate) fn add_company(&mut self, number: &str, name: &str) -> String {
        let debtor_id = match &self.default_debtor {
            Some(d) => d.clone(),
            None => {
                let d = self.add_debtor("1", "Sandbox debtor");
                self.default_debtor = Some(d.clone());
                d
            }
        };
        self.insert_company(&debtor_id, number, name)
    }

    pub(crate) fn add_company_for_debtor(
        &mut self,
        debtor_id: &str,
        number: &str,
        name: &str,
    ) -> Result<String, StoreError> {
        if !self.debtors.iter().any(|d| d.debtor_id == debtor_id) {
            return Err(StoreError::Debtor(debtor_id.to_string()));
        }
        Ok(self.insert_company(debtor_id, number, name))
    }

    fn insert_company(&mut self, debtor_id: &str, number: &str, name: &str) -> String {
        let id = Uuid::new_v4().to_string();
        self.company_index.insert(id.clone(), self.companies.len());
        self.companies.push(Company {
            item: CompanyItem {
                company_id: id.clone(),
                number: number.to_string(),
                name: name.to_string(),
                debtor_id: debtor_id.to_string(),
            },
            employees: Vec::new(),
        });
        id
    }

    /// The debtor [`Store::add_company`] uses, once it exists.
    pub(crate) fn default_debtor(&self) -> Option<String> {
        self.default_debtor.clone()
    }

    pub(crate) fn debtors(&self) -> Vec<DebtorItem> {
        self.debtors.clone()
    }

    pub(crate) fn companies(&self) -> Vec<CompanyItem> {
        self.companies.iter().map(|c| c.item.clone()).collect()
    }

    pub(crate) fn debtor_companies(&self, debtor_id: &str) -> Result<Vec<CompanyItem>, StoreError> {
        if !self.debtors.iter().any(|d| d.debtor_id == debtor_id) {
            return Err(StoreError::Debtor(debtor_id.to_string()));
        }
        Ok(self
            .companies
            .iter()
            .filter(|c| c.item.debtor_id == debtor_id)
            .map(|c| c.item.clone())
            .collect())
    }

    fn company_idx(&self, company_id: &str) -> Result<usize, StoreError> {
        self.company_index
            .get(company_id)
            .copied()
            .ok_or_else(|| StoreError::Company(company_id.to_string()))
    }

    /// Creates an employee with one entry for `period`. A missing employee
    /// number is assigned as the company's highest number + 1. An in-service
    /// date starts the first employment.
    pub(crate) fn create_employee(
        &mut self,
        company_id: &str,
        mut data: PersonalData,
        period: Period,
        in_service_date: Option<NaiveDate>,
    ) -> Result<String, StoreError> {
        let ci = self.company_idx(company_id)?;
        if data.basic.employee_number.is_none() {
            let max = self.companies[ci]
                .employees
                .iter()
                .flat_map(|&e| self.employees[e].history.iter())
                .filter_map(|h| h.data.basic.employee_number)
                .max()
                .unwrap_or(0);
            data.basic.employee_number = Some(max + 1);
        }
        let employee_id = Uuid::new_v4().to_string();
        let idx = self.employees.len();
        self.employees.push(Employee {
            employee_id: employee_id.clone(),
            in_service_date,
            history: vec![new_entry(data, period)],
            records: BTreeMap::new(),
        });
        self.employee_index.insert(employee_id.clone(), idx);
        self.companies[ci].employees.push(idx);
        if let Some(start) = in_service_date {
            self.employees[idx]
                .records_mut(&super::records::EMPLOYMENTS)
                .push(employment::new_employment(start, None));
        }
        Ok(employee_id)
    }

    pub(crate) fn employee(&self, employee_id: &str) -> Result<&Employee, StoreError> {
        self.employee_index
            .get(employee_id)
            .map(|&i| &self.employees[i])
            .ok_or_else(|| StoreError::Employee(employee_id.to_string()))
    }

    fn employee_mut(&mut self, employee_id: &str) -> Result<&mut Employee, StoreError> {
        let i = *self
            .employee_index
            .get(employee_id)
            .ok_or_else(|| StoreError::Employee(employee_id.to_string()))?;
        Ok(&mut self.employees[i])
    }

    /// The PUT: replaces (does not merge) the entry of `period` — or adds one
    /// if that period has none — with a new `personalInfoId` and `createdAt`.
    /// `employeeType` cannot be set by a PUT: it carries over from the entry in
    /// force in `now`; so does the employee number when the body has none
    /// (the read schema `EmployeeBasic.employeeNumber` is not nullable).
    pub(crate) fn put_personal_info(
        &mut self,
        employee_id: &str,
        mut data: PersonalData,
        period: Period,
        now: Period,
    ) -> Result<String, StoreError> {
        let e = self.employee_mut(employee_id)?;
        if let Some(cur) = e.in_force(now) {
            data.basic.employee_type = cur.data.basic.employee_type.clone();
            if data.basic.employee_number.is_none() {
                data.basic.employee_number = cur.data.basic.employee_number;
            }
        }
        e.history.retain(|h| h.period != period);
        let entry = new_entry(data, period);
        let id = entry.personal_info_id.clone();
        e.history.push(entry);
        e.sort_history();
        Ok(id)
    }

    /// Adds a history entry for `period` (no replacing, no rules); its
    /// `personalInfoId`. A missing employee number carries over from the
    /// entry in force in `now`.
    pub(crate) fn add_entry(
        &mut self,
        employee_id: &str,
        mut data: PersonalData,
        period: Period,
        now: Period,
    ) -> Result<String, StoreError> {
        let e = self.employee_mut(employee_id)?;
        if data.basic.employee_number.is_none() {
            data.basic.employee_number = e.in_force(now).and_then(|h| h.data.basic.employee_number);
        }
        let entry = new_entry(data, period);
        let id = entry.personal_info_id.clone();
        e.history.push(entry);
        e.sort_history();
        Ok(id)
    }

    /// Sets one write-shape field of the entry in force: in place (same id and `createdAt`), as a
    /// person correcting it in the Nmbrs UI would, or — `as_new_entry` — as a new entry for the
    /// current period, a copy with the edit and a new `personalInfoId` and `createdAt` (what a PUT
    /// does; `createdFrom` sees it).
    pub(crate) fn edit_in_force(
        &mut self,
        employee_id: &str,
        path: &str,
        value: Value,
        now: Period,
        as_new_entry: bool,
    ) -> bool {
        let Ok(e) = self.employee_mut(employee_id) else {
            return false;
        };
        let Some(i) = e.in_force_index(now) else {
            return false;
        };
        if !as_new_entry {
            return e.history[i].data.set(path, value).is_ok();
        }
        let mut data = e.history[i].data.clone();
        if data.set(path, value).is_err() {
            return false;
        }
        e.history.retain(|h| h.period != now);
        e.history.push(new_entry(data, now));
        e.sort_history();
        true
    }

    /// Leaves a read-shape key out of the rendering of the entry in force.
    pub(crate) fn remove_key(&mut self, employee_id: &str, path: &str, now: Period) -> bool {
        let Ok(e) = self.employee_mut(employee_id) else {
            return false;
        };
        let Some(i) = e.in_force_index(now) else {
            return false;
        };
        let entry = &mut e.history[i];
        // Only keys the rendering has can be removed.
        let mut probe = entry.render(DateStyle::default());
        if !remove_path(&mut probe, path) {
            return false;
        }
        entry.removed_keys.insert(path.to_string());
        true
    }

    pub(crate) fn company_employees(&self, company_id: &str) -> Result<Vec<&Employee>, StoreError> {
        let ci = self.company_idx(company_id)?;
        Ok(self.companies[ci]
            .employees
            .iter()
            .map(|&i| &self.employees[i])
            .collect())
    }

    /// Per employee of the company, the history entries passing `f`
    /// (employees left without entries are omitted), oldest period first.
    pub(crate) fn history(
        &self,
        company_id: &str,
        f: &Filters,
    ) -> Result<Vec<(&Employee, Vec<&Entry>)>, StoreError> {
        Ok(self
            .company_employees(company_id)?
            .into_iter()
            .filter(|e| f.employee_id.as_ref().is_none_or(|id| *id == e.employee_id))
            .map(|e| {
                let entries = e
                    .history
                    .iter()
                    .filter(|h| f.created_from.is_none_or(|t| h.created_at >= t))
                    .collect::<Vec<_>>();
                (e, entries)
            })
            .filter(|(_, entries)| !entries.is_empty())
            .collect())
    }

    /// The employees of the company passing `f`: `employeeType` is that of the
    /// entry in force; `createdFrom` keeps employees with any entry created since.
    pub(crate) fn listed_employees(
        &self,
        company_id: &str,
        f: &Filters,
        now: Period,
    ) -> Result<Vec<&Employee>, StoreError> {
        Ok(self
            .history(company_id, f)?
            .into_iter()
            .map(|(e, _)| e)
            .filter(|e| {
                f.employee_types.as_ref().is_none_or(|types| {
                    e.in_force(now)
                        .and_then(|h| h.data.basic.employee_type.as_ref())
                        .is_some_and(|t| types.iter().any(|x| x == t))
                })
            })
            .collect())
    }

    pub(crate) fn employee_count(&self) -> usize {
        self.employees.len()
    }

    /// Moves every entry's creation and change stamps `by` back, as if the data had been made
    /// that much earlier.
    pub(crate) fn age(&mut self, by: chrono::Duration) {
        for e in &mut self.employees {
            for h in &mut e.history {
                h.created_at -= by;
            }
            for r in e.records.values_mut().flatten() {
                r.age(by);
            }
        }
    }
}

#[cfg(test)]
mod tests;
