//! The in-memory "database" of the sandbox and its business rules: companies,
//! employees with their current personal info record, and pagination.

use std::collections::HashMap;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::model::{CompanyItem, EmployeeListItem, Page, Pagination, Sections};

/// A company; employees are kept as indices into [`Store::employees`], in creation order.
#[derive(Debug)]
pub(crate) struct Company {
    pub(crate) item: CompanyItem,
    pub(crate) employees: Vec<usize>,
}

/// An employee and the personal info record currently in force.
///
/// Nmbrs keeps one personal info record per period; the sandbox keeps only the
/// newest (a PUT for any period replaces it and gets a new `personalInfoId`).
#[derive(Debug)]
pub(crate) struct Employee {
    pub(crate) employee_id: String,
    pub(crate) personal_info_id: String,
    pub(crate) sections: Sections,
    pub(crate) created_at: String,
}

impl Employee {
    /// The JSON of a `GET /employees/{id}` item.
    pub(crate) fn to_json(&self) -> Value {
        let mut info = Map::new();
        info.insert("personalInfoId".into(), json!(self.personal_info_id));
        for (k, v) in &self.sections.0 {
            info.insert(k.clone(), v.clone());
        }
        info.insert("createdAt".into(), json!(self.created_at));
        json!({"employeeId": self.employee_id, "personalInfo": Value::Object(info)})
    }

    fn employee_number(&self) -> Value {
        self.sections
            .0
            .get("basicInfo")
            .and_then(|b| b.get("employeeNumber"))
            .cloned()
            .unwrap_or(Value::Null)
    }
}

/// Errors of the business layer, mapped to 404s by the routes.
#[derive(Debug, thiserror::Error, PartialEq)]
pub(crate) enum StoreError {
    #[error("Company {0} not found")]
    UnknownCompany(String),
    #[error("Employee {0} not found")]
    UnknownEmployee(String),
}

/// All companies and employees.
#[derive(Debug, Default)]
pub(crate) struct Store {
    companies: Vec<Company>,
    company_index: HashMap<String, usize>,
    employees: Vec<Employee>,
    employee_index: HashMap<String, usize>,
}

pub(crate) fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

impl Store {
    pub(crate) fn add_company(&mut self, number: &str, name: &str) -> String {
        let id = Uuid::new_v4().to_string();
        let item = CompanyItem {
            company_id: id.clone(),
            number: number.to_string(),
            name: name.to_string(),
            debtor_id: Uuid::new_v4().to_string(),
        };
        self.company_index.insert(id.clone(), self.companies.len());
        self.companies.push(Company {
            item,
            employees: Vec::new(),
        });
        id
    }

    pub(crate) fn companies(&self) -> Vec<CompanyItem> {
        self.companies.iter().map(|c| c.item.clone()).collect()
    }

    fn company(&self, company_id: &str) -> Result<&Company, StoreError> {
        self.company_index
            .get(company_id)
            .map(|&i| &self.companies[i])
            .ok_or_else(|| StoreError::UnknownCompany(company_id.to_string()))
    }

    /// Creates an employee. A missing employee number is assigned as the
    /// company's highest number + 1 (*assumed*: Nmbrs can auto-number).
    pub(crate) fn create_employee(
        &mut self,
        company_id: &str,
        mut sections: Sections,
    ) -> Result<String, StoreError> {
        let ci = *self
            .company_index
            .get(company_id)
            .ok_or_else(|| StoreError::UnknownCompany(company_id.to_string()))?;
        if let Some(Value::Object(basic)) = sections.0.get_mut("basicInfo")
            && basic.get("employeeNumber").is_none_or(Value::is_null)
        {
            let max = self.companies[ci]
                .employees
                .iter()
                .filter_map(|&e| self.employees[e].employee_number().as_i64())
                .max()
                .unwrap_or(0);
            basic.insert("employeeNumber".into(), json!(max + 1));
        }
        let employee_id = Uuid::new_v4().to_string();
        let idx = self.employees.len();
        self.employees.push(Employee {
            employee_id: employee_id.clone(),
            personal_info_id: Uuid::new_v4().to_string(),
            sections,
            created_at: now_rfc3339(),
        });
        self.employee_index.insert(employee_id.clone(), idx);
        self.companies[ci].employees.push(idx);
        Ok(employee_id)
    }

    pub(crate) fn employee(&self, employee_id: &str) -> Result<&Employee, StoreError> {
        self.employee_index
            .get(employee_id)
            .map(|&i| &self.employees[i])
            .ok_or_else(|| StoreError::UnknownEmployee(employee_id.to_string()))
    }

    fn employee_mut(&mut self, employee_id: &str) -> Option<&mut Employee> {
        let i = *self.employee_index.get(employee_id)?;
        self.employees.get_mut(i)
    }

    /// Replaces (does not merge) the personal info: a field absent from the
    /// body is null afterwards. Each PUT makes a new period record, so a new id.
    pub(crate) fn replace_personal_info(
        &mut self,
        employee_id: &str,
        sections: Sections,
    ) -> Result<String, StoreError> {
        let e = self
            .employee_mut(employee_id)
            .ok_or_else(|| StoreError::UnknownEmployee(employee_id.to_string()))?;
        e.sections = sections;
        e.personal_info_id = Uuid::new_v4().to_string();
        e.created_at = now_rfc3339();
        Ok(e.personal_info_id.clone())
    }

    /// Sets one field by dotted path, as a person editing in the Nmbrs UI would.
    /// The record keeps its `personalInfoId` (an edit of the current period).
    pub(crate) fn edit_field(&mut self, employee_id: &str, path: &str, value: Value) -> bool {
        let Some(e) = self.employee_mut(employee_id) else {
            return false;
        };
        let parts: Vec<&str> = path.split('.').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return false;
        }
        let Some((last, parents)) = parts.split_last() else {
            return false;
        };
        let mut cur = &mut e.sections.0;
        for p in parents {
            let entry = cur
                .entry(p.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            match entry {
                Value::Object(m) => cur = m,
                _ => return false,
            }
        }
        cur.insert(last.to_string(), value);
        true
    }

    pub(crate) fn company_employees(&self, company_id: &str) -> Result<Vec<&Employee>, StoreError> {
        Ok(self
            .company(company_id)?
            .employees
            .iter()
            .map(|&i| &self.employees[i])
            .collect())
    }

    pub(crate) fn company_employee_list(
        &self,
        company_id: &str,
    ) -> Result<Vec<EmployeeListItem>, StoreError> {
        Ok(self
            .company_employees(company_id)?
            .into_iter()
            .map(|e| EmployeeListItem {
                employee_id: e.employee_id.clone(),
                employee_number: e.employee_number(),
            })
            .collect())
    }

    pub(crate) fn employee_count(&self) -> usize {
        self.employees.len()
    }
}

/// Requested page (1-based) and size, after capping.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PageRequest {
    pub(crate) number: u32,
    pub(crate) size: u32,
}

/// Cuts one page out of `items`.
///
/// An empty list has one (empty) page: `totalPages` = `lastPage` = 1, so page 1
/// always exists and `lastPage` is never below `firstPage`. A page past the end
/// answers with empty `data` and the real totals.
pub(crate) fn paginate<T>(items: Vec<T>, req: PageRequest) -> Page<T> {
    let size = req.size.max(1);
    let total = items.len() as u64;
    let total_pages = u32::try_from(total.div_ceil(u64::from(size)))
        .unwrap_or(u32::MAX)
        .max(1);
    let start = (u64::from(req.number) - 1).saturating_mul(u64::from(size));
    let data: Vec<T> = if start >= total {
        Vec::new()
    } else {
        items
            .into_iter()
            .skip(start as usize)
            .take(size as usize)
            .collect()
    };
    let next_page = if req.number < total_pages {
        (req.number + 1).to_string()
    } else {
        String::new()
    };
    let previous_page = if req.number > 1 {
        (req.number - 1).min(total_pages).to_string()
    } else {
        String::new()
    };
    Page {
        pagination: Pagination {
            page_number: req.number,
            page_size: size,
            first_page: 1,
            last_page: total_pages,
            total_pages,
            total_records: total,
            next_page,
            previous_page,
        },
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(n: u32, size: u32, count: usize) -> Page<usize> {
        paginate((0..count).collect(), PageRequest { number: n, size })
    }

    #[test]
    fn pages_walk_to_the_end() {
        let p1 = page(1, 2, 5);
        assert_eq!(p1.data, [0, 1]);
        assert_eq!(
            (
                p1.pagination.next_page.as_str(),
                p1.pagination.previous_page.as_str()
            ),
            ("2", "")
        );
        assert_eq!(p1.pagination.total_pages, 3);
        let p3 = page(3, 2, 5);
        assert_eq!(p3.data, [4]);
        assert_eq!(
            (
                p3.pagination.next_page.as_str(),
                p3.pagination.previous_page.as_str()
            ),
            ("", "2")
        );
        let p9 = page(9, 2, 5);
        assert!(p9.data.is_empty());
        assert_eq!(p9.pagination.previous_page, "3");
    }

    #[test]
    fn empty_list_has_one_empty_page() {
        let p = page(1, 100, 0);
        assert!(p.data.is_empty());
        assert_eq!(
            (
                p.pagination.total_pages,
                p.pagination.last_page,
                p.pagination.total_records
            ),
            (1, 1, 0)
        );
        assert_eq!(p.pagination.next_page, "");
    }

    #[test]
    fn edit_field_sets_nested_values() {
        let mut s = Store::default();
        let c = s.add_company("1", "C");
        let sections =
            super::super::validation::normalise_lenient(&json!({"basicInfo": {"lastName": "A"}}));
        let e = s.create_employee(&c, sections).expect("company exists");
        assert!(s.edit_field(&e, "basicInfo.lastName", json!("B")));
        assert!(s.edit_field(&e, "partnerInfo.partnerName", json!("P")));
        let emp = s.employee(&e).expect("exists");
        assert_eq!(emp.sections.0["basicInfo"]["lastName"], json!("B"));
        assert_eq!(emp.sections.0["basicInfo"]["employeeNumber"], json!(1));
        assert_eq!(emp.sections.0["partnerInfo"]["partnerName"], json!("P"));
        assert!(!s.edit_field("nope", "basicInfo.lastName", json!("B")));
        assert!(!s.edit_field(&e, "basicInfo..x", json!("B")));
    }
}
