//! Matching an unlinked HRIS record to an existing Nmbrs employee (docs/SPEC.md rule 1): the
//! `nmbrs_employee_id` hint, the employee number confirmed by last name or birth date, then last name,
//! first name and birth date. One match links; several are refused naming them.

use super::decision::NmbrsEmployee;
use crate::fields::{Field, FieldValues};
use std::collections::{HashMap, HashSet};

/// The result of looking an unlinked record up among the company's unlinked employees.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Match<'a> {
    One(&'a NmbrsEmployee, &'static str),
    None,
    /// Several candidates, or a number used by someone else; the message names them.
    Refused(String, Vec<String>),
}

/// A name as matching compares it: Unicode NFC (a decomposed "Zoe\u{308}" is "Zoë") and
/// case-folded, so the same person typed on two systems is the same key (docs/SPEC.md rule 1).
pub(super) fn name_key(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfc().collect::<String>().to_lowercase()
}

fn same(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => name_key(a) == name_key(b),
        _ => false,
    }
}

/// The employees nobody holds yet (not linked, not claimed in this plan), indexed by the keys
/// matching uses: each lookup is a hash probe, so matching n rows stays O(n), not O(n²).
pub(super) struct Candidates<'a> {
    by_id: HashMap<&'a str, &'a NmbrsEmployee>,
    by_number: HashMap<&'a str, Vec<&'a NmbrsEmployee>>,
    by_name_birth: HashMap<(String, &'a str), Vec<&'a NmbrsEmployee>>,
    /// Claimed by a match (or a refused match) in this plan.
    pub(super) taken: HashSet<String>,
}

impl<'a> Candidates<'a> {
    /// Indexes the employees not in `linked` (in a steady state that is almost none, so this
    /// costs nothing on the common path).
    pub(super) fn new(nmbrs: &'a [NmbrsEmployee], linked: &HashSet<&str>) -> Candidates<'a> {
        let mut c = Candidates {
            by_id: HashMap::new(),
            by_number: HashMap::new(),
            by_name_birth: HashMap::new(),
            taken: HashSet::new(),
        };
        for e in nmbrs
            .iter()
            .filter(|e| !linked.contains(e.employee_id.as_str()))
        {
            c.by_id.insert(&e.employee_id, e);
            if let Some(n) = e.values.get(Field::EmployeeNumber) {
                c.by_number.entry(n).or_default().push(e);
            }
            if let (Some(last), Some(birth)) = (
                e.values.get(Field::LastName),
                e.values.get(Field::BirthDate),
            ) {
                c.by_name_birth
                    .entry((name_key(last), birth))
                    .or_default()
                    .push(e);
            }
        }
        c
    }

    fn free(&self, e: &NmbrsEmployee) -> bool {
        !self.taken.contains(&e.employee_id)
    }

    pub(super) fn hint(&self, id: &str) -> Option<&'a NmbrsEmployee> {
        self.by_id.get(id).copied().filter(|e| self.free(e))
    }

    fn with_number(&self, n: Option<&str>) -> Vec<&'a NmbrsEmployee> {
        let list = n.and_then(|n| self.by_number.get(n));
        list.map(|l| l.iter().copied().filter(|e| self.free(e)).collect())
            .unwrap_or_default()
    }

    fn with_name_birth(&self, last: Option<&str>, birth: Option<&str>) -> Vec<&'a NmbrsEmployee> {
        let (Some(last), Some(birth)) = (last, birth) else {
            return vec![];
        };
        let list = self.by_name_birth.get(&(name_key(last), birth));
        list.map(|l| l.iter().copied().filter(|e| self.free(e)).collect())
            .unwrap_or_default()
    }
}

/// docs/SPEC.md rule 1 for one record among the free [`Candidates`].
pub(super) fn find_match<'a>(
    values: &FieldValues,
    hint: Option<&str>,
    free: &Candidates<'a>,
) -> Match<'a> {
    if let Some(e) = hint.and_then(|h| free.hint(h)) {
        return Match::One(e, "nmbrs_employee_id column");
    }
    let ids = |v: &[&NmbrsEmployee]| v.iter().map(|e| e.employee_id.clone()).collect::<Vec<_>>();
    let number = values.get(Field::EmployeeNumber);
    let by_number = free.with_number(number);
    if !by_number.is_empty() {
        let confirmed: Vec<&NmbrsEmployee> = by_number
            .iter()
            .copied()
            .filter(|e| {
                same(e.values.get(Field::LastName), values.get(Field::LastName))
                    || e.values.get(Field::BirthDate) == values.get(Field::BirthDate)
            })
            .collect();
        let narrowed: Vec<&NmbrsEmployee> = confirmed
            .iter()
            .copied()
            .filter(|e| {
                same(e.values.get(Field::LastName), values.get(Field::LastName))
                    && e.values.get(Field::BirthDate) == values.get(Field::BirthDate)
            })
            .collect();
        return match (confirmed.as_slice(), narrowed.as_slice()) {
            ([one], _) | (_, [one]) => Match::One(one, "employee number"),
            ([], _) => Match::Refused(
                format!(
                    "employee number {} is used in Nmbrs by employee(s) {} with a different last name and birth date; fix the number or link the row by hand",
                    number.unwrap_or("?"),
                    ids(&by_number).join(", ")
                ),
                ids(&by_number),
            ),
            _ => Match::Refused(
                format!(
                    "employee number {} matches several Nmbrs employees: {}; link the row by hand",
                    number.unwrap_or("?"),
                    ids(&confirmed).join(", ")
                ),
                ids(&confirmed),
            ),
        };
    }
    let by_name: Vec<&NmbrsEmployee> = free
        .with_name_birth(values.get(Field::LastName), values.get(Field::BirthDate))
        .into_iter()
        .filter(|e| {
            values.get(Field::LastName).is_some()
                && same(e.values.get(Field::LastName), values.get(Field::LastName))
                && (e.values.get(Field::FirstName).is_none()
                    || values.get(Field::FirstName).is_none()
                    || same(e.values.get(Field::FirstName), values.get(Field::FirstName)))
                && values.get(Field::BirthDate).is_some()
                && e.values.get(Field::BirthDate) == values.get(Field::BirthDate)
        })
        .collect();
    match by_name.as_slice() {
        [] => Match::None,
        [one] => Match::One(one, "name and birth date"),
        several => Match::Refused(
            format!(
                "name and birth date match several Nmbrs employees: {}; link the row by hand",
                ids(several).join(", ")
            ),
            ids(several),
        ),
    }
}
