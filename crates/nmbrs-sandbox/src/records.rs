//! The employee histories beyond personal info, kept generically: each
//! resource is a list of members with their kinds ([`Resource`]), each entry
//! a [`Record`] of typed cells (dates as dates, stamps as Dutch wall-clock
//! times), rendered in the read shape of `docs/nmbrs-openapi.yaml`:
//! `Employment`, `Contract`, `EmployeeFunction`, `EmployeeDepartment`,
//! `ManagerHistoricBasic`, `Address` and `EmployeePrivateInfo`.
//!
//! The business rules of the writes live in `state`; this module only
//! stores, orders, renders and (leniently) sets members.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::{Map, Value, json};

use super::clock::render_date;
use super::clock::{DateStyle, date_or_date_time, parse_dutch_date_time, render_created_at};
use super::org::end_contract_reason;
use super::person::Period;

/// How a member is kept and written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A uuid or other text.
    Text,
    /// A calendar date, written as a `date-time` in the sandbox's [`DateStyle`].
    Date,
    /// Dutch wall-clock time with a `Z`, like `createdAt` (see `clock`).
    Stamp,
    /// Schema `Period`.
    Period,
    Int,
    Num,
    Bool,
    /// An end-of-contract reason code, written as `EndContractReason` `{code, reason}`.
    Reason,
}

/// Which debtor object an org history entry refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reference {
    Function,
    Department,
    Manager,
}

impl Reference {
    /// The member naming the debtor object (`functionId`, …).
    pub(crate) fn id_member(self) -> &'static str {
        match self {
            Reference::Function => "functionId",
            Reference::Department => "departmentId",
            Reference::Manager => "managerId",
        }
    }
}

/// One history resource of an employee.
#[derive(Debug)]
pub(crate) struct Resource {
    /// The listing's path segment and array key (`employments`).
    pub(crate) key: &'static str,
    /// Read-shape members in order.
    pub(crate) members: &'static [(&'static str, Kind)],
    /// The member that gets a fresh uuid when an entry is added, if the read shape has one.
    pub(crate) id_member: Option<&'static str>,
    /// The creation stamp (`createdAt`; `creationDate` for employments): `createdFrom`
    /// filters on it and it orders entries by age.
    pub(crate) created: &'static str,
    /// The change stamp `changedFrom` filters on (employments only).
    pub(crate) changed: Option<&'static str>,
    /// The start date that orders entries in a listing, if any.
    pub(crate) start: Option<&'static str>,
    /// The debtor object the entries copy, for functions, departments and managers.
    pub(crate) reference: Option<Reference>,
    /// Whether the listing takes the `employeeId` filter (the description gives
    /// none to `privateInfos`).
    pub(crate) employee_id_filter: bool,
}

use Kind::{Bool, Date, Int, Num, Stamp, Text};

pub(crate) static EMPLOYMENTS: Resource = Resource {
    key: "employments",
    members: &[
        ("employmentId", Text),
        ("creationDate", Stamp),
        ("startDate", Date),
        ("endDate", Date),
        ("seniorityDate", Date),
        ("endContractReason", Kind::Reason),
        ("changedDate", Stamp),
    ],
    id_member: Some("employmentId"),
    created: "creationDate",
    changed: Some("changedDate"),
    start: Some("startDate"),
    reference: None,
    employee_id_filter: true,
};

pub(crate) static CONTRACTS: Resource = Resource {
    key: "contracts",
    members: &[
        ("contractId", Text),
        ("startDate", Date),
        ("trialPeriod", Date),
        ("endDate", Date),
        ("indefinite", Bool),
        ("writtenContract", Bool),
        ("hoursPerWeek", Num),
        ("createdAt", Stamp),
    ],
    id_member: Some("contractId"),
    created: "createdAt",
    changed: None,
    start: Some("startDate"),
    reference: None,
    employee_id_filter: true,
};

pub(crate) static FUNCTIONS: Resource = Resource {
    key: "functions",
    members: &[
        ("functionId", Text),
        ("code", Int),
        ("description", Text),
        ("createdAt", Stamp),
        ("period", Kind::Period),
    ],
    id_member: None,
    created: "createdAt",
    changed: None,
    start: None,
    reference: Some(Reference::Function),
    employee_id_filter: true,
};

pub(crate) static DEPARTMENTS: Resource = Resource {
    key: "departments",
    members: &[
        ("departmentId", Text),
        ("code", Int),
        ("description", Text),
        ("createdAt", Stamp),
        ("period", Kind::Period),
    ],
    id_member: None,
    created: "createdAt",
    changed: None,
    start: None,
    reference: Some(Reference::Department),
    employee_id_filter: true,
};

pub(crate) static MANAGERS: Resource = Resource {
    key: "managers",
    members: &[
        ("managerId", Text),
        ("firstName", Text),
        ("lastName", Text),
        ("email", Text),
        ("createdAt", Stamp),
        ("period", Kind::Period),
    ],
    id_member: None,
    created: "createdAt",
    changed: None,
    start: None,
    reference: Some(Reference::Manager),
    employee_id_filter: true,
};

pub(crate) static ADDRESSES: Resource = Resource {
    key: "addresses",
    members: &[
        ("addressId", Text),
        ("isDefault", Bool),
        ("type", Text),
        ("street", Text),
        ("houseNumber", Text),
        ("houseNumberAddition", Text),
        ("postalCode", Text),
        ("city", Text),
        ("stateProvince", Text),
        ("countryISOCode", Text),
        ("period", Kind::Period),
        ("createdAt", Stamp),
    ],
    id_member: Some("addressId"),
    created: "createdAt",
    changed: None,
    start: None,
    reference: None,
    employee_id_filter: true,
};

pub(crate) static PRIVATE_INFOS: Resource = Resource {
    key: "privateInfos",
    members: &[("BSN", Text), ("createdAt", Stamp)],
    id_member: None,
    created: "createdAt",
    changed: None,
    start: None,
    reference: None,
    employee_id_filter: false,
};

/// Every history resource beyond personal info.
pub(crate) static RESOURCES: [&Resource; 7] = [
    &EMPLOYMENTS,
    &CONTRACTS,
    &FUNCTIONS,
    &DEPARTMENTS,
    &MANAGERS,
    &ADDRESSES,
    &PRIVATE_INFOS,
];

/// The resource whose listing segment / array key is `key`.
pub(crate) fn resource(key: &str) -> Option<&'static Resource> {
    RESOURCES.iter().copied().find(|r| r.key == key)
}

/// One stored member value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Cell {
    Null,
    Text(String),
    Date(NaiveDate),
    Stamp(NaiveDateTime),
    Period(Period),
    Int(i64),
    Num(f64),
    Bool(bool),
}

impl Cell {
    /// Reads a JSON value as a member of `kind`; `None` if it has the wrong type.
    /// Dates may be `YYYY-MM-DD` or a date-time (its Dutch calendar date).
    pub(crate) fn parse(kind: Kind, v: &Value) -> Option<Cell> {
        if v.is_null() {
            return Some(Cell::Null);
        }
        Some(match kind {
            Text => Cell::Text(v.as_str()?.to_string()),
            Date => Cell::Date(date_or_date_time(v.as_str()?)?),
            Stamp => Cell::Stamp(parse_dutch_date_time(v.as_str()?)?),
            Kind::Period => Cell::Period(Period {
                year: v.get("year")?.as_i64()?,
                period: v.get("period")?.as_i64()?,
            }),
            Int => Cell::Int(v.as_i64()?),
            Num => Cell::Num(v.as_f64()?),
            Bool => Cell::Bool(v.as_bool()?),
            Kind::Reason => match v.get("code") {
                Some(Value::Null) => Cell::Null,
                Some(code) => Cell::Int(code.as_i64()?),
                None => Cell::Int(v.as_i64()?),
            },
        })
    }

    fn render(&self, kind: Kind, style: DateStyle) -> Value {
        match (self, kind) {
            (Cell::Null, Kind::Reason) => json!({"code": null, "reason": null}),
            (Cell::Int(code), Kind::Reason) => {
                json!({"code": code, "reason": end_contract_reason(*code)})
            }
            (Cell::Null, _) => Value::Null,
            (Cell::Text(s), _) => json!(s),
            (Cell::Date(d), _) => json!(render_date(*d, style)),
            (Cell::Stamp(t), _) => json!(render_created_at(*t)),
            (Cell::Period(p), _) => json!(p),
            (Cell::Int(i), _) => json!(i),
            (Cell::Num(x), _) => json!(x),
            (Cell::Bool(b), _) => json!(b),
        }
    }
}

/// Insertion order across all records: breaks ties between equal stamps.
static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// One history entry.
#[derive(Clone, Debug)]
pub(crate) struct Record {
    /// The entry's own id: the id member's value where the read shape has one
    /// (`employmentId`, `contractId`, `addressId`), else the id its write
    /// answered with (`employeeFunctionId`, `personalnfoId`, …).
    pub(crate) entry_id: String,
    cells: BTreeMap<&'static str, Cell>,
    seq: u64,
}

impl Record {
    /// An empty entry of `res` with a fresh id (set as its id member, if any).
    pub(crate) fn new(res: &Resource) -> Record {
        let entry_id = uuid::Uuid::new_v4().to_string();
        let mut r = Record {
            entry_id: entry_id.clone(),
            cells: BTreeMap::new(),
            seq: SEQUENCE.fetch_add(1, Ordering::Relaxed),
        };
        if let Some(id) = res.id_member {
            r.put(id, Cell::Text(entry_id));
        }
        r
    }

    /// Sets a member (no kind check: callers pass the right cell).
    pub(crate) fn put(&mut self, member: &'static str, cell: Cell) {
        self.cells.insert(member, cell);
    }

    pub(crate) fn get(&self, member: &str) -> Option<&Cell> {
        self.cells.get(member)
    }

    pub(crate) fn date(&self, member: &str) -> Option<NaiveDate> {
        match self.get(member) {
            Some(Cell::Date(d)) => Some(*d),
            _ => None,
        }
    }

    /// Moves every stamp of the entry `by` back (time passing: [`crate::Sandbox::age`]).
    pub(crate) fn age(&mut self, by: chrono::Duration) {
        for cell in self.cells.values_mut() {
            if let Cell::Stamp(t) = cell {
                *t -= by;
            }
        }
    }

    pub(crate) fn stamp(&self, member: &str) -> Option<NaiveDateTime> {
        match self.get(member) {
            Some(Cell::Stamp(t)) => Some(*t),
            _ => None,
        }
    }

    pub(crate) fn text(&self, member: &str) -> Option<&str> {
        match self.get(member) {
            Some(Cell::Text(s)) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn period(&self) -> Option<Period> {
        match self.get("period") {
            Some(Cell::Period(p)) => Some(*p),
            _ => None,
        }
    }

    /// The read shape: every member of `res`, null when unset.
    pub(crate) fn render(&self, res: &Resource, style: DateStyle) -> Value {
        let mut m = Map::new();
        for (name, kind) in res.members {
            let cell = self.cells.get(name).unwrap_or(&Cell::Null);
            m.insert((*name).to_string(), cell.render(*kind, style));
        }
        Value::Object(m)
    }

    /// Sets member `name` of `res` from JSON, leniently (a person typing in the
    /// Nmbrs UI: no business rules). False for an unknown member or a value of the wrong type.
    pub(crate) fn set(&mut self, res: &Resource, name: &str, v: &Value) -> bool {
        let Some((member, kind)) = res.members.iter().find(|(m, _)| *m == name) else {
            return false;
        };
        match Cell::parse(*kind, v) {
            Some(cell) => {
                self.put(member, cell);
                true
            }
            None => false,
        }
    }

    /// Listing order: period, then start date, then creation stamp, then insertion.
    pub(crate) fn list_key(
        &self,
        res: &Resource,
    ) -> (
        Option<Period>,
        Option<NaiveDate>,
        Option<NaiveDateTime>,
        u64,
    ) {
        (
            self.period(),
            res.start.and_then(|s| self.date(s)),
            self.stamp(res.created),
            self.seq,
        )
    }

    /// Age order (for "the newest entry"): creation stamp, then insertion.
    pub(crate) fn age_key(&self, res: &Resource) -> (Option<NaiveDateTime>, u64) {
        (self.stamp(res.created), self.seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_member_in_the_read_shape() {
        let mut r = Record::new(&EMPLOYMENTS);
        assert!(r.set(&EMPLOYMENTS, "startDate", &json!("2024-02-27")));
        assert!(r.set(&EMPLOYMENTS, "endContractReason", &json!(1)));
        assert!(r.set(&EMPLOYMENTS, "creationDate", &json!("2024-03-01T10:00:00")));
        assert!(!r.set(&EMPLOYMENTS, "startDate", &json!(3)), "wrong type");
        assert!(!r.set(&EMPLOYMENTS, "nope", &json!(null)), "unknown member");
        let v = r.render(&EMPLOYMENTS, DateStyle::DutchMidnightUtc);
        assert_eq!(v["employmentId"], r.entry_id.as_str());
        assert_eq!(v["startDate"], "2024-02-26T23:00:00Z");
        assert_eq!(v["endDate"], Value::Null);
        assert_eq!(v["creationDate"], "2024-03-01T10:00:00Z");
        assert_eq!(
            v["endContractReason"],
            json!({"code": 1, "reason": "Resignation by employee"})
        );
        assert!(r.set(&EMPLOYMENTS, "endContractReason", &json!({"code": null})));
        let v = r.render(&EMPLOYMENTS, DateStyle::DutchOffset);
        assert_eq!(
            v["endContractReason"],
            json!({"code": null, "reason": null})
        );
        assert_eq!(v.as_object().map(Map::len), Some(7));
    }

    #[test]
    fn every_resource_is_found_by_its_key() {
        for r in RESOURCES {
            assert_eq!(resource(r.key).map(|x| x.key), Some(r.key));
            assert!(r.members.iter().any(|(m, _)| *m == r.created));
        }
        assert!(resource("personalinfo").is_none());
    }
}
