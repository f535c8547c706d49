//! The rules of employments and contracts: one employment at a time (no
//! overlaps, at most one open), an end not before the start, end-of-contract
//! reasons from the fixed list; contracts with their dates in order and an end
//! date for a temporary one.

use chrono::NaiveDate;

use super::super::clock::dutch_now;
use super::super::model::InvalidParam;
use super::super::org::end_contract_reason;
use super::super::records::{CONTRACTS, Cell, EMPLOYMENTS, Record, Resource};
use super::super::write::members::Change;
use super::{Store, StoreError};

/// A new employment record (not yet stamped unless via [`Store::push_record`]);
/// a missing seniority date is the start date.
pub(crate) fn new_employment(start: NaiveDate, seniority: Option<NaiveDate>) -> Record {
    let mut rec = Record::new(&EMPLOYMENTS);
    let now = Cell::Stamp(dutch_now());
    rec.put("creationDate", now.clone());
    rec.put("changedDate", now);
    rec.put("startDate", Cell::Date(start));
    rec.put("endDate", Cell::Null);
    rec.put("seniorityDate", Cell::Date(seniority.unwrap_or(start)));
    rec.put("endContractReason", Cell::Null);
    rec
}

/// The body of `PUT /api/employees/{employeeId}/employment`.
#[derive(Debug)]
pub(crate) struct EmploymentUpdate {
    /// `None`: the latest employment (by start date).
    pub(crate) employment_id: Option<String>,
    pub(crate) seniority: Change<NaiveDate>,
    pub(crate) end: Change<NaiveDate>,
    pub(crate) reason: Change<i64>,
}

/// The terms of a contract (schema `Contract` without id and stamp).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct ContractTerms {
    pub(crate) start: Option<NaiveDate>,
    pub(crate) trial: Option<NaiveDate>,
    pub(crate) end: Option<NaiveDate>,
    pub(crate) indefinite: Option<bool>,
    pub(crate) written: Option<bool>,
    pub(crate) hours: Option<f64>,
}

/// The body of `PUT /api/employees/{employeeId}/contract` (no start date: the
/// description's `UpdateEmployeeContract` has none).
#[derive(Debug)]
pub(crate) struct ContractUpdate {
    /// `None`: the latest contract (by start date).
    pub(crate) contract_id: Option<String>,
    pub(crate) trial: Change<NaiveDate>,
    pub(crate) end: Change<NaiveDate>,
    pub(crate) indefinite: Change<bool>,
    pub(crate) written: Change<bool>,
    pub(crate) hours: Change<f64>,
}

/// Whether `[a_start, a_end]` and `[b_start, b_end]` share a day (`None` = open).
fn overlap(
    a: (Option<NaiveDate>, Option<NaiveDate>),
    b: (Option<NaiveDate>, Option<NaiveDate>),
) -> bool {
    let start = |d: Option<NaiveDate>| d.unwrap_or(NaiveDate::MIN);
    let end = |d: Option<NaiveDate>| d.unwrap_or(NaiveDate::MAX);
    start(a.0) <= end(b.1) && start(b.0) <= end(a.1)
}

fn span(r: &Record) -> (Option<NaiveDate>, Option<NaiveDate>) {
    (r.date("startDate"), r.date("endDate"))
}

fn describe(r: &Record) -> String {
    let d = |d: Option<NaiveDate>| d.map_or_else(|| "open".to_string(), |d| d.to_string());
    format!(
        "employment {} ({} to {})",
        r.entry_id,
        d(r.date("startDate")),
        d(r.date("endDate"))
    )
}

fn reason_of(r: &Record) -> Option<i64> {
    match r.get("endContractReason") {
        Some(Cell::Int(c)) => Some(*c),
        _ => None,
    }
}

/// The index of the record with this id, or of the latest (listing order) when `None`.
fn target(
    recs: &[Record],
    res: &Resource,
    id: Option<&str>,
    what: &str,
) -> Result<usize, StoreError> {
    match id {
        Some(id) => recs
            .iter()
            .position(|r| r.entry_id == id)
            .ok_or_else(|| StoreError::Missing(format!("The employee has no {what} {id}."))),
        None => (0..recs.len())
            .max_by_key(|&i| recs[i].list_key(res))
            .ok_or_else(|| StoreError::Missing(format!("The employee has no {what}."))),
    }
}

fn check_contract(t: &ContractTerms, errors: &mut Vec<InvalidParam>) {
    let Some(start) = t.start else {
        errors.push(InvalidParam::new("/startDate", "is required"));
        return;
    };
    if t.end.is_some_and(|e| e < start) {
        errors.push(InvalidParam::new(
            "/endDate",
            format!("The parameter is invalid. The end date is before the start date {start}."),
        ));
    }
    if t.trial.is_some_and(|d| d < start) {
        errors.push(InvalidParam::new(
            "/trialPeriod",
            format!(
                "The parameter is invalid. The trial period ends before the start date {start}."
            ),
        ));
    }
    if t.indefinite == Some(false) && t.end.is_none() {
        errors.push(InvalidParam::new(
            "/endDate",
            "is required for a temporary contract (indefinite: false)",
        ));
    }
    if t.hours.is_some_and(|h| !(0.0..=168.0).contains(&h)) {
        errors.push(InvalidParam::new(
            "/hoursPerWeek",
            "The parameter is invalid. It needs to be between 0 and 168.",
        ));
    }
}

fn refuse_if(errors: Vec<InvalidParam>) -> Result<(), StoreError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Invalid(errors))
    }
}

fn write_terms(rec: &mut Record, t: &ContractTerms) {
    let date = |d: Option<NaiveDate>| d.map_or(Cell::Null, Cell::Date);
    let flag = |b: Option<bool>| b.map_or(Cell::Null, Cell::Bool);
    rec.put("startDate", date(t.start));
    rec.put("trialPeriod", date(t.trial));
    rec.put("endDate", date(t.end));
    rec.put("indefinite", flag(t.indefinite));
    rec.put("writtenContract", flag(t.written));
    rec.put("hoursPerWeek", t.hours.map_or(Cell::Null, Cell::Num));
}

fn read_terms(rec: &Record) -> ContractTerms {
    let flag = |m: &str| match rec.get(m) {
        Some(Cell::Bool(b)) => Some(*b),
        _ => None,
    };
    ContractTerms {
        start: rec.date("startDate"),
        trial: rec.date("trialPeriod"),
        end: rec.date("endDate"),
        indefinite: flag("indefinite"),
        written: flag("writtenContract"),
        hours: match rec.get("hoursPerWeek") {
            Some(Cell::Num(h)) => Some(*h),
            Some(Cell::Int(h)) => Some(*h as f64),
            _ => None,
        },
    }
}

impl Store {
    /// `POST …/employment`: refused (400 `/startDate`) while another
    /// employment is open or when one ends on or after `start`.
    pub(crate) fn create_employment(
        &mut self,
        employee_id: &str,
        start: NaiveDate,
        seniority: Option<NaiveDate>,
    ) -> Result<String, StoreError> {
        let e = self.employee(employee_id)?;
        let mut errors = Vec::new();
        for r in e.records(&EMPLOYMENTS) {
            let reason = if r.date("endDate").is_none() {
                "is still open (no end date): end it first"
            } else if overlap((Some(start), None), span(r)) {
                "ends on or after this start date"
            } else {
                continue;
            };
            errors.push(InvalidParam::new(
                "/startDate",
                format!(
                    "The parameter is invalid. The employee's {} {reason}.",
                    describe(r)
                ),
            ));
        }
        refuse_if(errors)?;
        self.push_record(employee_id, &EMPLOYMENTS, new_employment(start, seniority))
    }

    /// `PUT …/employment`: seniority date, end of service date and reason of
    /// one employment (the latest without an id); `changedDate` becomes now.
    pub(crate) fn update_employment(
        &mut self,
        employee_id: &str,
        u: EmploymentUpdate,
    ) -> Result<String, StoreError> {
        let e = self.employee_mut(employee_id)?;
        let recs = e
            .records
            .get(EMPLOYMENTS.key)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let i = target(recs, &EMPLOYMENTS, u.employment_id.as_deref(), "employment")?;
        let rec = &recs[i];
        let start = rec.date("startDate");
        let end = u.end.apply(rec.date("endDate"));
        let reason = match u.end {
            Change::Clear => None,
            _ => u.reason.apply(reason_of(rec)),
        };
        let mut errors = Vec::new();
        if let Change::Set(code) = u.reason
            && end_contract_reason(code).is_none()
        {
            errors.push(InvalidParam::new(
                "/endOfContractReason",
                format!("The parameter is invalid. {code} is not an end of contract reason (GET /api/debtors/endcontractreasons/{{Year}})."),
            ));
        } else if reason.is_some() && end.is_none() {
            errors.push(InvalidParam::new(
                "/endOfContractReason",
                "needs an end of service date",
            ));
        }
        if let (Some(s), Some(d)) = (start, end)
            && d < s
        {
            errors.push(InvalidParam::new(
                "/endOfServiceDate",
                format!("The parameter is invalid. The end of service date is before the start date {s}."),
            ));
        } else if u.end != Change::Keep {
            for (j, other) in recs.iter().enumerate() {
                if j != i && overlap((start, end), span(other)) {
                    errors.push(InvalidParam::new(
                        "/endOfServiceDate",
                        format!(
                            "The parameter is invalid. The employment would overlap {}.",
                            describe(other)
                        ),
                    ));
                }
            }
        }
        refuse_if(errors)?;
        let seniority = u.seniority.apply(rec.date("seniorityDate"));
        let rec = &mut e.records_mut(&EMPLOYMENTS)[i];
        rec.put("seniorityDate", seniority.map_or(Cell::Null, Cell::Date));
        rec.put("endDate", end.map_or(Cell::Null, Cell::Date));
        rec.put("endContractReason", reason.map_or(Cell::Null, Cell::Int));
        rec.put("changedDate", Cell::Stamp(dutch_now()));
        Ok(rec.entry_id.clone())
    }

    /// `DELETE …/employments/{employmentId}/endOfServiceDate`: reopens it
    /// (no end date, no reason). 404 for an unknown employment; 400
    /// `employmentId` if the open employment would overlap another.
    pub(crate) fn reopen_employment(
        &mut self,
        employee_id: &str,
        employment_id: &str,
    ) -> Result<(), StoreError> {
        let e = self.employee_mut(employee_id)?;
        let recs = e
            .records
            .get(EMPLOYMENTS.key)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let i = target(recs, &EMPLOYMENTS, Some(employment_id), "employment")?;
        let start = recs[i].date("startDate");
        let errors: Vec<InvalidParam> = recs
            .iter()
            .enumerate()
            .filter(|(j, other)| *j != i && overlap((start, None), span(other)))
            .map(|(_, other)| {
                InvalidParam::new(
                    "employmentId",
                    format!(
                        "The parameter is invalid. Reopened, the employment would overlap {}.",
                        describe(other)
                    ),
                )
            })
            .collect();
        refuse_if(errors)?;
        let rec = &mut e.records_mut(&EMPLOYMENTS)[i];
        rec.put("endDate", Cell::Null);
        rec.put("endContractReason", Cell::Null);
        rec.put("changedDate", Cell::Stamp(dutch_now()));
        Ok(())
    }

    /// `POST …/contract`.
    pub(crate) fn create_contract(
        &mut self,
        employee_id: &str,
        terms: ContractTerms,
    ) -> Result<String, StoreError> {
        self.employee(employee_id)?;
        let mut errors = Vec::new();
        check_contract(&terms, &mut errors);
        refuse_if(errors)?;
        let mut rec = Record::new(&CONTRACTS);
        write_terms(&mut rec, &terms);
        self.push_record(employee_id, &CONTRACTS, rec)
    }

    /// `PUT …/contract`: changes one contract in place (same `contractId` and
    /// `createdAt`); the latest (by start date) without an id.
    pub(crate) fn update_contract(
        &mut self,
        employee_id: &str,
        u: ContractUpdate,
    ) -> Result<String, StoreError> {
        let e = self.employee_mut(employee_id)?;
        let recs = e
            .records
            .get(CONTRACTS.key)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let i = target(recs, &CONTRACTS, u.contract_id.as_deref(), "contract")?;
        let old = read_terms(&recs[i]);
        let terms = ContractTerms {
            start: old.start,
            trial: u.trial.apply(old.trial),
            end: u.end.apply(old.end),
            indefinite: u.indefinite.apply(old.indefinite),
            written: u.written.apply(old.written),
            hours: u.hours.apply(old.hours),
        };
        let mut errors = Vec::new();
        check_contract(&terms, &mut errors);
        refuse_if(errors)?;
        let rec = &mut e.records_mut(&CONTRACTS)[i];
        write_terms(rec, &terms);
        Ok(rec.entry_id.clone())
    }

    /// `DELETE …/contracts/{contractId}`; 404 for an unknown contract.
    pub(crate) fn delete_contract(
        &mut self,
        employee_id: &str,
        contract_id: &str,
    ) -> Result<(), StoreError> {
        let recs = self.employee_mut(employee_id)?.records_mut(&CONTRACTS);
        let before = recs.len();
        recs.retain(|r| r.entry_id != contract_id);
        if recs.len() == before {
            return Err(StoreError::Missing(format!(
                "The employee has no contract {contract_id}."
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, day)
    }

    #[test]
    fn spans_overlap_when_they_share_a_day() {
        assert!(overlap(
            (d(2024, 1, 1), d(2024, 6, 30)),
            (d(2024, 6, 30), None)
        ));
        assert!(!overlap(
            (d(2024, 1, 1), d(2024, 6, 30)),
            (d(2024, 7, 1), None)
        ));
        assert!(overlap(
            (d(2024, 1, 1), None),
            (d(2020, 1, 1), d(2030, 1, 1))
        ));
        assert!(!overlap(
            (d(2025, 1, 1), None),
            (d(2020, 1, 1), d(2024, 12, 31))
        ));
    }

    #[test]
    fn contract_rules_name_their_member() {
        let names = |t: ContractTerms| {
            let mut e = Vec::new();
            check_contract(&t, &mut e);
            e.into_iter().map(|e| e.name).collect::<Vec<_>>()
        };
        let ok = ContractTerms {
            start: d(2024, 1, 1),
            indefinite: Some(true),
            ..Default::default()
        };
        assert!(names(ok).is_empty());
        let bad = ContractTerms {
            end: d(2023, 12, 31),
            trial: d(2023, 12, 1),
            hours: Some(-1.0),
            ..ok
        };
        assert_eq!(names(bad), ["/endDate", "/trialPeriod", "/hoursPerWeek"]);
        let temporary = ContractTerms {
            indefinite: Some(false),
            ..ok
        };
        assert_eq!(names(temporary), ["/endDate"]);
    }
}
