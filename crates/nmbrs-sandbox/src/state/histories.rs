//! The employees' histories beyond personal info (see `records`) and the
//! debtors' organisation structure: the company listings, the function /
//! department / manager PUTs, appending address and BSN entries, and the
//! programmatic (UI-like, rule-free) append and edit.

use chrono::NaiveDateTime;
use serde_json::Value;

use super::super::clock::dutch_now;
use super::super::org::DebtorOrg;
use super::super::person::Period;
use super::super::records::{Cell, Record, Resource};
use super::{Employee, Store, StoreError};

/// Query filters of the history listings (`employeeId`, `createdFrom`, `changedFrom`).
#[derive(Debug, Default, Clone)]
pub(crate) struct RecordFilters {
    pub(crate) employee_id: Option<String>,
    /// Dutch wall-clock time; entries created before it are left out.
    pub(crate) created_from: Option<NaiveDateTime>,
    /// Dutch wall-clock time; entries changed before it are left out (employments).
    pub(crate) changed_from: Option<NaiveDateTime>,
}

impl Employee {
    /// The entries of `res` in listing order (period, start date, creation).
    pub(crate) fn records(&self, res: &Resource) -> Vec<&Record> {
        let mut v: Vec<&Record> = self
            .records
            .get(res.key)
            .map(|r| r.iter().collect())
            .unwrap_or_default();
        v.sort_by_key(|r| r.list_key(res));
        v
    }

    pub(crate) fn records_mut(&mut self, res: &'static Resource) -> &mut Vec<Record> {
        self.records.entry(res.key).or_default()
    }

    /// Index (in storage order) of the entry `n`-th from the newest by creation stamp.
    fn nth_newest(&self, res: &Resource, n: usize) -> Option<usize> {
        let recs = self.records.get(res.key)?;
        let mut order: Vec<usize> = (0..recs.len()).collect();
        order.sort_by(|&a, &b| recs[b].age_key(res).cmp(&recs[a].age_key(res)));
        order.get(n).copied()
    }
}

/// Stamps a new entry: its creation (and change) stamp is now.
fn stamp_new(res: &Resource, rec: &mut Record) {
    let now = dutch_now();
    rec.put(res.created, Cell::Stamp(now));
    if let Some(changed) = res.changed {
        rec.put(changed, Cell::Stamp(now));
    }
}

impl Store {
    /// Per employee of the company (creation order), its entries of `res`
    /// passing `f`. An employee without entries is listed with none, unless
    /// `createdFrom`/`changedFrom` is given: then only employees with an
    /// entry since then are listed.
    pub(crate) fn record_listing(
        &self,
        company_id: &str,
        res: &Resource,
        f: &RecordFilters,
    ) -> Result<Vec<(&Employee, Vec<&Record>)>, StoreError> {
        let since = |t: Option<NaiveDateTime>, member: Option<&str>, r: &Record| {
            t.is_none_or(|t| member.and_then(|m| r.stamp(m)).is_some_and(|s| s >= t))
        };
        let time_filtered = f.created_from.is_some() || f.changed_from.is_some();
        Ok(self
            .company_employees(company_id)?
            .into_iter()
            .filter(|e| {
                !res.employee_id_filter
                    || f.employee_id.as_ref().is_none_or(|id| *id == e.employee_id)
            })
            .map(|e| {
                let entries: Vec<&Record> = e
                    .records(res)
                    .into_iter()
                    .filter(|r| since(f.created_from, Some(res.created), r))
                    .filter(|r| since(f.changed_from, res.changed, r))
                    .collect();
                (e, entries)
            })
            .filter(|(_, entries)| !time_filtered || !entries.is_empty())
            .collect())
    }

    /// The debtor of the employee's company.
    pub(crate) fn debtor_of(&self, employee_id: &str) -> Result<String, StoreError> {
        let idx = *self
            .employee_index
            .get(employee_id)
            .ok_or_else(|| StoreError::Employee(employee_id.to_string()))?;
        self.companies
            .iter()
            .find(|c| c.employees.contains(&idx))
            .map(|c| c.item.debtor_id.clone())
            .ok_or_else(|| StoreError::Employee(employee_id.to_string()))
    }

    /// The organisation structure of a debtor.
    pub(crate) fn org(&self, debtor_id: &str) -> Result<&DebtorOrg, StoreError> {
        self.org
            .get(debtor_id)
            .ok_or_else(|| StoreError::Debtor(debtor_id.to_string()))
    }

    pub(crate) fn org_mut(&mut self, debtor_id: &str) -> Result<&mut DebtorOrg, StoreError> {
        self.org
            .get_mut(debtor_id)
            .ok_or_else(|| StoreError::Debtor(debtor_id.to_string()))
    }

    /// The PUT of a function, department or manager (`res.reference` says
    /// which): `object_id` must be one of the employee's debtor's objects (else
    /// a 400 naming `/functionId` etc.). Replaces the entry of `period` — or adds
    /// one — with a new entry id and `createdAt`, copying the object's
    /// code/description or name/e-mail. Returns the entry id.
    pub(crate) fn put_org(
        &mut self,
        employee_id: &str,
        res: &'static Resource,
        object_id: &str,
        period: Period,
    ) -> Result<String, StoreError> {
        let Some(reference) = res.reference else {
            return Err(StoreError::Missing(format!("{} has no reference", res.key)));
        };
        let debtor = self.debtor_of(employee_id)?;
        let id_member = reference.id_member();
        let snapshot = self
            .org(&debtor)?
            .snapshot(reference, object_id)
            .ok_or_else(|| {
                StoreError::invalid(
                    &format!("/{id_member}"),
                    format!(
                        "The parameter is invalid. '{object_id}' is not one of the {} of the employee's debtor (GET /api/debtors/{debtor}/{}).",
                        res.key, res.key
                    ),
                )
            })?;
        let mut rec = Record::new(res);
        rec.put(id_member, Cell::Text(object_id.to_string()));
        for (member, cell) in snapshot {
            rec.put(member, cell);
        }
        rec.put("period", Cell::Period(period));
        stamp_new(res, &mut rec);
        let id = rec.entry_id.clone();
        let recs = self.employee_mut(employee_id)?.records_mut(res);
        recs.retain(|r| r.period() != Some(period));
        recs.push(rec);
        Ok(id)
    }

    /// Appends a new entry (stamped now) to the employee's `res`; its entry id.
    pub(crate) fn push_record(
        &mut self,
        employee_id: &str,
        res: &'static Resource,
        mut rec: Record,
    ) -> Result<String, StoreError> {
        stamp_new(res, &mut rec);
        let id = rec.entry_id.clone();
        self.employee_mut(employee_id)?.records_mut(res).push(rec);
        Ok(id)
    }

    /// Adds an entry as a person in the Nmbrs UI would: no rules; members of
    /// the wrong type are ignored; id and stamps assigned; `period` defaults to
    /// `now`; an org entry needs its object id and copies the members it lacks
    /// from that debtor object. `None` for an unknown employee or object.
    pub(crate) fn append_record(
        &mut self,
        employee_id: &str,
        res: &'static Resource,
        entry: &Value,
        now: Period,
    ) -> Option<String> {
        let entry = entry.as_object()?;
        let mut rec = Record::new(res);
        let assigned =
            |m: &str| Some(m) == res.id_member || m == res.created || Some(m) == res.changed;
        for (name, value) in entry.iter().filter(|(k, _)| !assigned(k)) {
            rec.set(res, name, value);
        }
        if res.members.iter().any(|(m, _)| *m == "period") && rec.period().is_none() {
            rec.put("period", Cell::Period(now));
        }
        if let Some(reference) = res.reference {
            let debtor = self.debtor_of(employee_id).ok()?;
            let object_id = rec.text(reference.id_member())?.to_string();
            let snapshot = self.org(&debtor).ok()?.snapshot(reference, &object_id)?;
            for (member, cell) in snapshot {
                if !entry.contains_key(member) {
                    rec.put(member, cell);
                }
            }
        }
        self.push_record(employee_id, res, rec).ok()
    }

    /// Sets member `key` of the employee's entry `index_from_newest` (0 = the
    /// newest by creation stamp), in place; an employment's `changedDate`
    /// becomes now (unless that is the member set). False for an unknown
    /// employee, entry or member, or a value of the wrong type.
    pub(crate) fn edit_record(
        &mut self,
        employee_id: &str,
        res: &'static Resource,
        index_from_newest: usize,
        key: &str,
        value: &Value,
    ) -> bool {
        let Ok(e) = self.employee_mut(employee_id) else {
            return false;
        };
        let Some(i) = e.nth_newest(res, index_from_newest) else {
            return false;
        };
        let rec = &mut e.records_mut(res)[i];
        if !rec.set(res, key, value) {
            return false;
        }
        if let Some(changed) = res.changed.filter(|c| *c != key) {
            rec.put(changed, Cell::Stamp(dutch_now()));
        }
        true
    }
}
