//! Matching an unlinked HRIS record to an existing Nmbrs employee (docs/SPEC.md rule 1): the
//! `nmbrs_employee_id` hint, the BSN (when both sides have one: stronger than the employee number,
//! which the vendor calls not unique), the employee number confirmed by last name or birth date,
//! then last name, first name and birth date. One match links; several are refused naming them. A
//! candidate whose BSN differs from the row's is another person.

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
    /// Every employee of the company by BSN (its comparable form: a keyed hash, so a stored create
    /// intent, which holds only the hash, finds its employee too), linked or not.
    by_bsn: HashMap<String, Vec<&'a NmbrsEmployee>>,
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
            by_bsn: HashMap::new(),
            taken: HashSet::new(),
        };
        for e in nmbrs {
            if let Some(b) = e.values.get(Field::Bsn) {
                c.by_bsn
                    .entry(Field::Bsn.comparable(b).into_owned())
                    .or_default()
                    .push(e);
            }
        }
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
        !self.taken.contains(&e.employee_id) && self.by_id.contains_key(e.employee_id.as_str())
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
    let bsn = values.get(Field::Bsn);
    if let Some(b) = bsn {
        let holders = free
            .by_bsn
            .get(Field::Bsn.comparable(b).as_ref())
            .cloned()
            .unwrap_or_default();
        let open: Vec<&NmbrsEmployee> = holders.iter().copied().filter(|e| free.free(e)).collect();
        match (open.as_slice(), holders.as_slice()) {
            ([one], _) => return Match::One(one, "BSN"),
            ([], []) => {}
            ([], held) => {
                return Match::Refused(
                    format!(
                        "the row's BSN belongs to Nmbrs employee(s) {} already linked to another HRIS row; one person must not get a second employee: fix the BSN or the duplicate row",
                        ids(held).join(", ")
                    ),
                    ids(held),
                );
            }
            (several, _) => {
                return Match::Refused(
                    format!(
                        "the row's BSN is held by several Nmbrs employees: {}; link the row by hand",
                        ids(several).join(", ")
                    ),
                    ids(several),
                );
            }
        }
    }
    // Without a BSN match, a candidate with another BSN is another person.
    let other_person = |e: &NmbrsEmployee| match (bsn, e.values.get(Field::Bsn)) {
        (Some(a), Some(b)) => !Field::Bsn.same(Some(a), Some(b)),
        _ => false,
    };
    let number = values.get(Field::EmployeeNumber);
    let by_number: Vec<&NmbrsEmployee> = free
        .with_number(number)
        .into_iter()
        .filter(|e| !other_person(e))
        .collect();
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
        .filter(|e| !other_person(e))
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
