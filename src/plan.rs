//! The planner: pure functions from what was read (HRIS rows, Nmbrs employees, links with base
//! snapshots) to one [`Decision`] per record. No I/O, no clock: everything it needs is an argument,
//! so every rule here is tested directly.
//!
//! Rules (docs/SPEC.md "Sync rules"):
//! 1. Link by stored `employeeId`; else match unlinked rows (the `nmbrs_employee_id` column written
//!    earlier, then employee number confirmed by last name or birth date, then last name + first name +
//!    birth date); one match links, several fail naming the candidates, none creates.
//! 2. A pending create intent is reconciled by looking the employee up in the fresh listing; only when
//!    it is absent (and the intent is older than the grace period) is it created again.
//! 3. Three-way merge per field against the base snapshot ([`merge_field`]).
//! 7. Deletes are never propagated: a vanished side is reported.

use crate::config::{ConflictPolicy, FieldOwner};
use crate::fields::{FIELD_COUNT, Field, FieldValues, Lifecycle};
use crate::record::{Base, HrisRecord, HrisRow, Link, LinkStatus, Rejection};
use std::collections::BTreeMap;
use std::collections::{HashMap, HashSet};

/// An employee as read from the company listing.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct NmbrsEmployee {
    pub employee_id: String,
    pub personal_info_id: Option<String>,
    /// Values of the entry in force; empty when [`NmbrsEmployee::unreadable`] is set.
    pub values: FieldValues,
    /// Why the personal info could not be read (a key missing where the description puts it):
    /// the record fails rather than treating the unknown value as empty.
    pub unreadable: Option<String>,
    /// What the audit should say about the history (e.g. an entry for a future period).
    pub note: Option<String>,
}

/// The rules a plan follows, from settings.
#[derive(Clone, Debug)]
pub struct Rules {
    /// Fields mapped to HRIS columns; only these are compared and written.
    pub fields: Vec<Field>,
    pub owners: [FieldOwner; FIELD_COUNT],
    pub conflict_policy: ConflictPolicy,
    pub import_from_nmbrs: bool,
}

impl Rules {
    /// Every field, owned by both sides, with `policy`.
    pub fn all_fields(policy: ConflictPolicy) -> Rules {
        Rules {
            fields: Field::ALL.to_vec(),
            owners: [FieldOwner::Both; FIELD_COUNT],
            conflict_policy: policy,
            import_from_nmbrs: true,
        }
    }
}

/// One company's inputs.
#[derive(Clone, Debug)]
pub struct CompanyInput<'a> {
    pub company_id: &'a str,
    pub company_number: &'a str,
    pub hris: &'a [HrisRow],
    /// Links of this company.
    pub links: &'a [Link],
    /// Links of rows of this company that point at another company (the row was moved).
    pub foreign_links: &'a [Link],
    pub nmbrs: &'a [NmbrsEmployee],
    /// The time of planning (UTC): with `intent_grace` it tells which create intents may still be
    /// in flight.
    pub now: time::OffsetDateTime,
    /// How long a create intent may be in flight (a POST sent by a process that died may still be
    /// processed by Nmbrs); only an older intent is looked up and, if absent, created again.
    pub intent_grace: time::Duration,
}

/// A field changed on one side, to be written to the other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub field: Field,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// How a both-sides change was settled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    HrisWon,
    NmbrsWon,
    /// `manual`: nothing written, reported until a person makes both sides agree.
    Parked,
}

/// A field that changed on both sides (or differs with no base to tell which side moved).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    pub field: Field,
    pub base: Option<String>,
    pub hris: Option<String>,
    pub nmbrs: Option<String>,
    pub resolution: Resolution,
}

/// How a record comes to be linked in this plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NewLink {
    /// Already linked before this cycle.
    Existing,
    /// Matched by the rule named.
    Matched(&'static str),
    /// A pending create intent found its employee in the listing.
    IntentReconciled,
}

/// Changes for a linked record (possibly none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordUpdate {
    pub hris_id: String,
    pub employee_id: String,
    pub personal_info_id: Option<String>,
    pub link: NewLink,
    /// The HRIS `nmbrs_employee_id` column does not hold the employeeId yet.
    pub write_back_employee_id: bool,
    /// Was quarantined; the HRIS row changed since, so it is tried again.
    pub released: bool,
    pub hris: FieldValues,
    pub nmbrs: FieldValues,
    pub to_nmbrs: Vec<Change>,
    pub to_hris: Vec<Change>,
    pub conflicts: Vec<Conflict>,
    /// HRIS changes to create-only fields that the API cannot take, not reported before: reported
    /// once, never sent (`before` = Nmbrs value, `after` = HRIS value).
    pub not_updatable: Vec<Change>,
    /// The link's `held` after this record: field → HRIS value of every create-only field whose
    /// HRIS value differs from Nmbrs.
    pub held_after: BTreeMap<String, String>,
    /// Whether `held_after` differs from what the link holds.
    pub held_changed: bool,
    /// The snapshot to store once applied; `None` = keep none (a parked field has no known base).
    pub base_after: Option<FieldValues>,
    /// Whether the stored snapshot differs from `base_after` (a write to the state database only).
    pub snapshot_changed: bool,
    /// Said in the audit rows of this record (e.g. a personal-info entry for a future period).
    pub note: Option<String>,
}

impl RecordUpdate {
    /// Whether anything at all must be written (either side, or the state database).
    pub fn is_noop(&self) -> bool {
        self.link == NewLink::Existing
            && !self.write_back_employee_id
            && !self.released
            && self.to_nmbrs.is_empty()
            && self.to_hris.is_empty()
            && self.conflicts.is_empty()
            && self.not_updatable.is_empty()
            && !self.held_changed
            && !self.snapshot_changed
    }
}

/// Why a record is left alone this cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipReason {
    Quarantined,
    /// The HRIS row is gone; the Nmbrs employee is kept (deletes are never propagated).
    VanishedHris,
    /// The Nmbrs employee is gone from the listing; the HRIS row is kept.
    VanishedNmbrs,
    /// A create intent is younger than the grace period: its POST may still be in flight.
    CreateInFlight,
}

impl SkipReason {
    /// Text for audit rows and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Quarantined => {
                "quarantined: failed too many cycles in a row; release it with `nmbrs-sync release HRIS_ID` or change the HRIS row"
            }
            SkipReason::VanishedHris => {
                "the HRIS row is gone; the Nmbrs employee is kept (deletes are never propagated)"
            }
            SkipReason::VanishedNmbrs => {
                "the Nmbrs employee is gone from its company listing; the HRIS row is kept (deletes are never propagated)"
            }
            SkipReason::CreateInFlight => {
                "a create for this row was sent moments ago; it is looked up next cycle"
            }
        }
    }

    /// The link status this reason leaves, if it changes it.
    pub fn status(self) -> Option<LinkStatus> {
        match self {
            SkipReason::VanishedHris => Some(LinkStatus::VanishedHris),
            SkipReason::VanishedNmbrs => Some(LinkStatus::VanishedNmbrs),
            _ => None,
        }
    }
}

/// What to do with one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Linked, and both sides hash to the base snapshot: nothing to write. Kept small on purpose:
    /// it is by far the most common decision.
    Unchanged { hris_id: String },
    /// Linked (now or before); apply the changes (may be a no-op).
    Update(Box<RecordUpdate>),
    /// No employee in Nmbrs: record an intent, POST, write the id back.
    Create {
        hris_id: String,
        values: FieldValues,
        after_intent: bool,
    },
    /// An employee only Nmbrs has: insert an HRIS row.
    Import {
        hris_id: String,
        employee: NmbrsEmployee,
    },
    /// The HRIS row is invalid.
    Reject(Rejection),
    /// The record cannot be planned (ambiguous match, moved company...); `message` says what to do.
    Fail {
        hris_id: String,
        employee_id: Option<String>,
        message: String,
    },
    Skip {
        hris_id: String,
        employee_id: Option<String>,
        reason: SkipReason,
    },
}

/// Outcome of the per-field three-way merge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldOutcome {
    /// Both sides hold the same value.
    Agreed,
    /// Write the HRIS value to Nmbrs.
    Push,
    /// Write the Nmbrs value to the HRIS.
    Pull,
    /// Changed on both sides (or no base): settled by policy as given.
    Conflict(Resolution),
}

/// Three-way merge of one field (docs/SPEC.md rule 3).
///
/// `base` is `None` when the record has no snapshot yet (first link), else the snapshot's value.
/// A conflict never settles on "no value" when the other side has one: an empty side loses, so a
/// first link or a policy can't blank a field in payroll.
pub fn merge_field(
    owner: FieldOwner,
    policy: ConflictPolicy,
    base: Option<Option<&str>>,
    hris: Option<&str>,
    nmbrs: Option<&str>,
) -> FieldOutcome {
    if hris == nmbrs {
        return FieldOutcome::Agreed;
    }
    match (owner, base) {
        (FieldOwner::Hris, Some(_)) => return FieldOutcome::Push,
        (FieldOwner::Nmbrs, Some(_)) => return FieldOutcome::Pull,
        (FieldOwner::Both, Some(b)) if b == hris => return FieldOutcome::Pull,
        (FieldOwner::Both, Some(b)) if b == nmbrs => return FieldOutcome::Push,
        _ => {}
    }
    // Both changed, or no base to tell.
    let winner = match (owner, policy) {
        (FieldOwner::Hris, _) | (FieldOwner::Both, ConflictPolicy::HrisWins) => Resolution::HrisWon,
        (FieldOwner::Nmbrs, _) | (FieldOwner::Both, ConflictPolicy::NmbrsWins) => {
            Resolution::NmbrsWon
        }
        (FieldOwner::Both, ConflictPolicy::Manual) => Resolution::Parked,
    };
    let winner = match winner {
        Resolution::HrisWon if hris.is_none() => Resolution::NmbrsWon,
        Resolution::NmbrsWon if nmbrs.is_none() => Resolution::HrisWon,
        w => w,
    };
    FieldOutcome::Conflict(winner)
}

/// Fields that must never be blanked in the HRIS by a pull (they identify the person).
const REQUIRED: [Field; 3] = [Field::LastName, Field::EmployeeNumber, Field::BirthDate];

/// The merge of a whole record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Merged {
    pub to_nmbrs: Vec<Change>,
    pub to_hris: Vec<Change>,
    pub conflicts: Vec<Conflict>,
    /// HRIS values of create-only fields that would be pushed but cannot be (all of them, reported
    /// or not; see [`RecordUpdate::not_updatable`]).
    pub not_updatable: Vec<Change>,
    /// The new base snapshot; `None` = keep none (a parked field has no known base).
    pub base_after: Option<FieldValues>,
}

/// Merges a whole record. `base` is the parsed snapshot (`None` = no snapshot yet).
/// Errors: the message for a pull that would blank a required field.
pub fn merge_record(
    rules: &Rules,
    base: Option<&FieldValues>,
    hris: &FieldValues,
    nmbrs: &FieldValues,
) -> Result<Merged, String> {
    let mut to_nmbrs = Vec::new();
    let mut to_hris = Vec::new();
    let mut conflicts = Vec::new();
    let mut not_updatable = Vec::new();
    let mut base_after = FieldValues::default();
    let mut keep_snapshot = true;
    for &f in rules.fields.iter().filter(|f| f.is_merged()) {
        let (h, n) = (hris.get(f), nmbrs.get(f));
        let b = base.map(|b| b.get(f));
        let push = |to: &mut Vec<Change>| {
            to.push(Change {
                field: f,
                before: n.map(str::to_owned),
                after: h.map(str::to_owned),
            })
        };
        let pull = |to: &mut Vec<Change>| {
            to.push(Change {
                field: f,
                before: h.map(str::to_owned),
                after: n.map(str::to_owned),
            })
        };
        let outcome = merge_field(rules.owners[f.index()], rules.conflict_policy, b, h, n);
        let create_only = f.lifecycle() == Lifecycle::CreateOnly;
        if create_only
            && matches!(
                outcome,
                FieldOutcome::Push | FieldOutcome::Conflict(Resolution::HrisWon)
            )
        {
            // The API cannot take it: nothing is sent, Nmbrs's value stays the base.
            push(&mut not_updatable);
            base_after.set(f, n);
            continue;
        }
        let agreed = match outcome {
            FieldOutcome::Agreed => h,
            FieldOutcome::Push | FieldOutcome::Conflict(Resolution::HrisWon) => {
                push(&mut to_nmbrs);
                h
            }
            FieldOutcome::Pull | FieldOutcome::Conflict(Resolution::NmbrsWon) => {
                if n.is_none() && REQUIRED.contains(&f) {
                    return Err(format!(
                        "Nmbrs has no {f} for this employee; not blanking it in the HRIS — fill it in Nmbrs"
                    ));
                }
                pull(&mut to_hris);
                n
            }
            FieldOutcome::Conflict(Resolution::Parked) => {
                // Keep the old base so the field stays in conflict until both sides agree.
                if base.is_none() {
                    keep_snapshot = false;
                }
                b.flatten()
            }
        };
        if let FieldOutcome::Conflict(resolution) = outcome {
            conflicts.push(Conflict {
                field: f,
                base: b.flatten().map(str::to_owned),
                hris: h.map(str::to_owned),
                nmbrs: n.map(str::to_owned),
                resolution,
            });
        }
        base_after.set(f, agreed);
    }
    Ok(Merged {
        to_nmbrs,
        to_hris,
        conflicts,
        not_updatable,
        base_after: keep_snapshot.then_some(base_after),
    })
}

/// The result of looking an unlinked record up among the company's unlinked employees.
#[derive(Debug, PartialEq, Eq)]
enum Match<'a> {
    One(&'a NmbrsEmployee, &'static str),
    None,
    /// Several candidates, or a number used by someone else; the message names them.
    Refused(String, Vec<String>),
}

fn same(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.to_lowercase() == b.to_lowercase(),
        _ => false,
    }
}

/// The employees nobody holds yet (not linked, not claimed in this plan), indexed by the keys
/// matching uses: each lookup is a hash probe, so matching n rows stays O(n), not O(n²).
struct Candidates<'a> {
    by_id: HashMap<&'a str, &'a NmbrsEmployee>,
    by_number: HashMap<&'a str, Vec<&'a NmbrsEmployee>>,
    by_name_birth: HashMap<(String, &'a str), Vec<&'a NmbrsEmployee>>,
    /// Claimed by a match (or a refused match) in this plan.
    taken: HashSet<String>,
}

impl<'a> Candidates<'a> {
    /// Indexes the employees not in `linked` (in a steady state that is almost none, so this
    /// costs nothing on the common path).
    fn new(nmbrs: &'a [NmbrsEmployee], linked: &HashSet<&str>) -> Candidates<'a> {
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
                    .entry((last.to_lowercase(), birth))
                    .or_default()
                    .push(e);
            }
        }
        c
    }

    fn free(&self, e: &NmbrsEmployee) -> bool {
        !self.taken.contains(&e.employee_id)
    }

    fn hint(&self, id: &str) -> Option<&'a NmbrsEmployee> {
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
        let list = self.by_name_birth.get(&(last.to_lowercase(), birth));
        list.map(|l| l.iter().copied().filter(|e| self.free(e)).collect())
            .unwrap_or_default()
    }
}

/// docs/SPEC.md rule 1 for one record among the free [`Candidates`].
fn find_match<'a>(values: &FieldValues, hint: Option<&str>, free: &Candidates<'a>) -> Match<'a> {
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

/// Plans one company. Returns one decision per HRIS row, per vanished link and per importable
/// Nmbrs employee.
pub fn plan_company(input: &CompanyInput<'_>, rules: &Rules) -> Vec<Decision> {
    let links: HashMap<&str, &Link> = input
        .links
        .iter()
        .map(|l| (l.hris_id.as_str(), l))
        .collect();
    let foreign: HashMap<&str, &Link> = input
        .foreign_links
        .iter()
        .map(|l| (l.hris_id.as_str(), l))
        .collect();
    let by_id: HashMap<&str, &NmbrsEmployee> = input
        .nmbrs
        .iter()
        .map(|e| (e.employee_id.as_str(), e))
        .collect();
    let linked_ids: HashSet<&str> = input
        .links
        .iter()
        .filter_map(|l| l.employee_id.as_deref())
        .collect();
    let mut free = Candidates::new(input.nmbrs, &linked_ids);
    // Employees nobody holds whose personal info could not be read: no create while they exist.
    let unreadable_free: Vec<&str> = input
        .nmbrs
        .iter()
        .filter(|e| e.unreadable.is_some() && !linked_ids.contains(e.employee_id.as_str()))
        .map(|e| e.employee_id.as_str())
        .collect();
    let mut decisions = Vec::with_capacity(input.hris.len());

    // Employee numbers used by several valid rows: an unlinked one of them can't be matched safely.
    let mut number_count: HashMap<&str, Vec<&str>> = HashMap::new();
    for r in input.hris.iter().flatten() {
        if let Some(n) = r.values.get(Field::EmployeeNumber) {
            number_count.entry(n).or_default().push(&r.hris_id);
        }
    }
    let mut seen_rows: HashSet<&str> = HashSet::new();
    let mut rejected_numbers: HashSet<&str> = HashSet::new();
    let mut unlinked: Vec<(&HrisRecord, Option<&Link>)> = Vec::new();

    // Pass 1: rejected rows and linked rows (they hold their employees).
    for row in input.hris {
        let rec = match row {
            Err(rej) => {
                if let Some(n) = &rej.employee_number {
                    rejected_numbers.insert(n);
                }
                if let Some(id) = &rej.hris_id {
                    seen_rows.insert(id);
                }
                decisions.push(Decision::Reject(rej.clone()));
                continue;
            }
            Ok(rec) => rec,
        };
        seen_rows.insert(&rec.hris_id);
        if let Some(l) = foreign.get(rec.hris_id.as_str()) {
            decisions.push(Decision::Fail {
                hris_id: rec.hris_id.clone(),
                employee_id: l.employee_id.clone(),
                message: format!(
                    "the row's company_number is now {} but it is linked to an employee of another company ({}); moving employees between companies is not synced — end the old employment in Nmbrs and give the row a new hris_id",
                    input.company_number, l.company_id
                ),
            });
            continue;
        }
        match links.get(rec.hris_id.as_str()) {
            Some(l) if l.employee_id.is_some() => {
                decisions.push(plan_linked(rec, l, &by_id, rules))
            }
            l => unlinked.push((rec, l.copied())),
        }
    }

    // Pass 2: unlinked rows and pending intents, matched among employees nobody holds.
    for (rec, link) in unlinked {
        let pending = link.filter(|l| l.status == LinkStatus::PendingCreate);
        let intent = pending
            .and_then(|l| l.create_intent.as_ref())
            .and_then(|i| i.values.clone());
        if pending.is_none()
            && let Some(n) = rec.values.get(Field::EmployeeNumber)
            && let Some(rows) = number_count.get(n)
            && rows.len() > 1
        {
            decisions.push(Decision::Fail {
                hris_id: rec.hris_id.clone(),
                employee_id: None,
                message: format!("employee number {n} is used by several HRIS rows of company {}: {}; give each person their own number", input.company_number, rows.join(", ")),
            });
            continue;
        }
        if let Some(l) = link
            && still_quarantined(l, &rec.values)
        {
            decisions.push(Decision::Skip {
                hris_id: rec.hris_id.clone(),
                employee_id: None,
                reason: SkipReason::Quarantined,
            });
            continue;
        }
        let lookup = intent.as_ref().unwrap_or(&rec.values);
        match find_match(lookup, rec.nmbrs_employee_id.as_deref(), &free) {
            Match::One(e, rule) => {
                free.taken.insert(e.employee_id.clone());
                let how = if intent.is_some() {
                    NewLink::IntentReconciled
                } else {
                    NewLink::Matched(rule)
                };
                // After a reconciled intent, the posted values are the base: they are what Nmbrs got.
                let base = intent.as_ref().map(FieldValues::as_created);
                decisions.push(update_for(rec, e, how, base.as_ref(), link, false, rules));
            }
            Match::Refused(message, candidates) => {
                free.taken.extend(candidates);
                decisions.push(Decision::Fail {
                    hris_id: rec.hris_id.clone(),
                    employee_id: None,
                    message,
                });
            }
            Match::None if in_flight(pending, input) => {
                decisions.push(Decision::Skip {
                    hris_id: rec.hris_id.clone(),
                    employee_id: None,
                    reason: SkipReason::CreateInFlight,
                });
            }
            Match::None if !unreadable_free.is_empty() => decisions.push(Decision::Fail {
                hris_id: rec.hris_id.clone(),
                employee_id: None,
                message: format!(
                    "not creating: Nmbrs employee(s) {} of this company could not be read, and one may be this person; it is retried when Nmbrs returns them",
                    unreadable_free.join(", ")
                ),
            }),
            Match::None => decisions.push(Decision::Create {
                hris_id: rec.hris_id.clone(),
                values: rec.values.clone(),
                after_intent: pending.is_some(),
            }),
        }
    }

    // Links whose HRIS row is gone.
    for l in input.links {
        if l.employee_id.is_some() && !seen_rows.contains(l.hris_id.as_str()) {
            decisions.push(Decision::Skip {
                hris_id: l.hris_id.clone(),
                employee_id: l.employee_id.clone(),
                reason: SkipReason::VanishedHris,
            });
        }
    }

    // Employees only Nmbrs has.
    if rules.import_from_nmbrs {
        for e in input.nmbrs {
            if linked_ids.contains(e.employee_id.as_str()) || free.taken.contains(&e.employee_id) {
                continue;
            }
            if let Some(why) = &e.unreadable {
                decisions.push(Decision::Fail {
                    hris_id: format!("nmbrs-{}", e.employee_id),
                    employee_id: Some(e.employee_id.clone()),
                    message: format!("not imported: {why}"),
                });
                continue;
            }
            if e.values
                .get(Field::EmployeeNumber)
                .is_some_and(|n| rejected_numbers.contains(n))
            {
                continue; // probably the rejected row's person: wait until that row is fixed
            }
            decisions.push(Decision::Import {
                hris_id: format!("nmbrs-{}", e.employee_id),
                employee: e.clone(),
            });
        }
    }
    decisions
}

/// Quarantined, and the HRIS row is as it was then (no recorded digest: until released by hand).
fn still_quarantined(link: &Link, values: &FieldValues) -> bool {
    link.status == LinkStatus::Quarantined
        && link
            .quarantined_hash
            .as_deref()
            .is_none_or(|h| h == values.digest())
}

/// A row linked before this cycle.
fn plan_linked(
    rec: &HrisRecord,
    link: &Link,
    by_id: &HashMap<&str, &NmbrsEmployee>,
    rules: &Rules,
) -> Decision {
    let employee_id = link.employee_id.clone().unwrap_or_default();
    let released = link.status == LinkStatus::Quarantined;
    if still_quarantined(link, &rec.values) {
        return Decision::Skip {
            hris_id: rec.hris_id.clone(),
            employee_id: Some(employee_id),
            reason: SkipReason::Quarantined,
        };
    }
    let Some(e) = by_id.get(employee_id.as_str()) else {
        return Decision::Skip {
            hris_id: rec.hris_id.clone(),
            employee_id: Some(employee_id),
            reason: SkipReason::VanishedNmbrs,
        };
    };
    if let Some(why) = &e.unreadable {
        return Decision::Fail {
            hris_id: rec.hris_id.clone(),
            employee_id: Some(employee_id),
            message: format!("{why}; nothing is synced for this record until Nmbrs returns it"),
        };
    }
    let write_back = rec.nmbrs_employee_id.as_deref() != Some(employee_id.as_str());
    // Fast path: both sides hash to the stored snapshot.
    if let Some(hash) = link.base.hash()
        && !released
        && !write_back
        && link.status == LinkStatus::Linked
    {
        let h = rec.values.digest();
        if h == hash && e.values.digest() == h {
            return Decision::Unchanged {
                hris_id: rec.hris_id.clone(),
            };
        }
    }
    let base = match &link.base {
        Base::Known { values, .. } => Some(values),
        Base::Unreadable { error: err, .. } => {
            return Decision::Fail {
                hris_id: rec.hris_id.clone(),
                employee_id: Some(employee_id),
                message: format!(
                    "the stored base snapshot is unreadable ({err}); the record needs a person to check both sides"
                ),
            };
        }
        Base::None => None,
    };
    update_for(rec, e, NewLink::Existing, base, Some(link), released, rules)
}

/// Whether a pending create intent is younger than the grace period: its POST may still be in flight.
fn in_flight(pending: Option<&Link>, input: &CompanyInput<'_>) -> bool {
    pending
        .and_then(|l| l.create_intent.as_ref())
        .and_then(|i| i.at)
        .is_some_and(|at| input.now - at < input.intent_grace)
}

fn update_for(
    rec: &HrisRecord,
    e: &NmbrsEmployee,
    link: NewLink,
    base: Option<&FieldValues>,
    stored: Option<&Link>,
    released: bool,
    rules: &Rules,
) -> Decision {
    let stored_hash = stored.and_then(|l| l.base.hash());
    let empty = BTreeMap::new();
    let held_before = stored.map(|l| &l.held).unwrap_or(&empty);
    match merge_record(rules, base, &rec.values, &e.values) {
        Err(message) => Decision::Fail {
            hris_id: rec.hris_id.clone(),
            employee_id: Some(e.employee_id.clone()),
            message,
        },
        Ok(Merged {
            to_nmbrs,
            to_hris,
            conflicts,
            not_updatable,
            base_after,
        }) => {
            let snapshot_changed =
                base_after.as_ref().map(FieldValues::digest).as_deref() != stored_hash;
            let held: BTreeMap<String, String> = not_updatable
                .iter()
                .filter_map(|c| Some((c.field.name().to_owned(), c.after.clone()?)))
                .collect();
            let not_updatable = not_updatable
                .into_iter()
                .filter(|c| {
                    c.after.is_none() || held_before.get(c.field.name()) != c.after.as_ref()
                })
                .collect();
            let held_changed = &held != held_before;
            Decision::Update(Box::new(RecordUpdate {
                hris_id: rec.hris_id.clone(),
                employee_id: e.employee_id.clone(),
                personal_info_id: e.personal_info_id.clone(),
                write_back_employee_id: rec.nmbrs_employee_id.as_deref()
                    != Some(e.employee_id.as_str()),
                link,
                released,
                hris: rec.values.clone(),
                nmbrs: e.values.clone(),
                to_nmbrs,
                to_hris,
                conflicts,
                not_updatable,
                held_after: held,
                held_changed,
                base_after,
                snapshot_changed,
                note: e.note.clone(),
            }))
        }
    }
}

#[cfg(test)]
mod tests;
