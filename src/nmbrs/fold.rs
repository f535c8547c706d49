//! A company's listings folded as their pages arrive (issue 13: one company of 100,000 employees in
//! bounded memory): one record per employee with the values in force of every resource read, and
//! per resource what the next read mark needs. It replaces one reduced history per employee *and*
//! resource (eight records per person, each with its own buffers).

use super::model::ReadError;
use super::model::resources::ResourceRead;
use crate::fields::{FieldValues, Resource};
use crate::plan::NmbrsEmployee;
use std::collections::{BTreeSet, HashMap};

/// What the listings of one company read so far (shared by the company's reducers,
/// [`super::read::Reducer`]).
#[derive(Debug, Default)]
pub(crate) struct Fold {
    employees: HashMap<Box<str>, Folded>,
    listings: HashMap<Resource, ListingMarks>,
    /// How many employees the personal-info listing gave so far (their order).
    listed: u32,
}

/// One employee, folded over the resources read.
#[derive(Debug, Default)]
struct Folded {
    values: FieldValues,
    personal_info_id: Option<String>,
    /// Position in the personal-info listing; `None`: not listed there, so no employee.
    seq: Option<u32>,
    /// The first unreadable resource (by [`Resource::ALL`] order) and why.
    unreadable: Option<(usize, String)>,
    /// Notes by resource order.
    notes: Vec<(usize, String)>,
}

/// What one resource's listing saw, for the next read mark (`crate::state::marks`).
#[derive(Debug, Default)]
pub(crate) struct ListingMarks {
    /// The newest entry stamp, as Nmbrs wrote it ([`super::read::newest_stamp`]).
    pub(crate) newest: Option<String>,
    /// `(stamp, key)` of the entries stamped from the reducer's floor on.
    pub(crate) stamped: Vec<(String, String)>,
    /// Employees with an entry the last read did not see (an incremental listing).
    pub(crate) new_entries: BTreeSet<String>,
}

fn order(resource: Resource) -> usize {
    Resource::ALL
        .iter()
        .position(|r| *r == resource)
        .unwrap_or(usize::MAX)
}

impl Fold {
    /// Folds one employee's read of one resource in. A listing read again (it changed while
    /// read) replaces what its first read folded.
    pub(crate) fn add(
        &mut self,
        resource: Resource,
        employee_id: &str,
        read: Result<ResourceRead, ReadError>,
    ) {
        let k = order(resource);
        let e = match self.employees.get_mut(employee_id) {
            Some(e) => e,
            None => self.employees.entry(employee_id.into()).or_default(),
        };
        if resource == Resource::PersonalInfo && e.seq.is_none() {
            e.seq = Some(self.listed);
            self.listed += 1;
        }
        if e.unreadable.as_ref().is_some_and(|(o, _)| *o == k) {
            e.unreadable = None;
        }
        e.notes.retain(|(o, _)| *o != k);
        match read {
            Ok(r) => {
                let fields: Vec<_> = resource.fields().collect();
                e.values.overlay(&r.values, &fields);
                if resource == Resource::PersonalInfo {
                    e.personal_info_id = r.entry_id;
                }
                if let Some(n) = r.note {
                    e.notes.push((k, n));
                }
            }
            Err(err) => {
                if e.unreadable.as_ref().is_none_or(|(o, _)| k < *o) {
                    e.unreadable = Some((k, format!("employee {employee_id}: {err}")));
                }
            }
        }
    }

    /// The marks of one resource's listing, to add to.
    pub(crate) fn marks_mut(&mut self, resource: Resource) -> &mut ListingMarks {
        self.listings.entry(resource).or_default()
    }

    /// The marks of one resource's listing (`None`: nothing listed).
    pub(crate) fn marks(&self, resource: Resource) -> Option<&ListingMarks> {
        self.listings.get(&resource)
    }

    /// The employees with an entry that is new to an incremental listing, in id order.
    pub(crate) fn new_entries(&self) -> Vec<String> {
        let all: BTreeSet<&String> = self
            .listings
            .values()
            .flat_map(|m| &m.new_entries)
            .collect();
        all.into_iter().cloned().collect()
    }

    /// The employees of the personal-info listing, in its order, as the planner sees them: the
    /// values of every resource's entry in force; an employee with a resource that could not be
    /// read is unreadable (no values: unknown is not empty).
    pub(crate) fn into_employees(self) -> Vec<NmbrsEmployee> {
        let mut listed: Vec<(u32, Box<str>, Folded)> = self
            .employees
            .into_iter()
            .filter_map(|(id, e)| Some((e.seq?, id, e)))
            .collect();
        listed.sort_unstable_by_key(|(seq, ..)| *seq);
        listed
            .into_iter()
            .map(|(_, id, mut e)| {
                let cut = e.unreadable.as_ref().map_or(usize::MAX, |(k, _)| *k);
                e.notes.sort_by_key(|(k, _)| *k);
                let notes: Vec<String> = e
                    .notes
                    .into_iter()
                    .filter(|(k, _)| *k < cut)
                    .map(|(_, n)| n)
                    .collect();
                let unreadable = e.unreadable.map(|(_, why)| why);
                NmbrsEmployee {
                    employee_id: id.into(),
                    personal_info_id: e.personal_info_id,
                    values: if unreadable.is_some() {
                        FieldValues::default()
                    } else {
                        e.values
                    },
                    unreadable,
                    note: (!notes.is_empty()).then(|| notes.join("; ")),
                }
            })
            .collect()
    }
}
