//! The planner: pure functions from what was read (HRIS rows, Nmbrs employees, links with base
//! snapshots, the time) to one [`Decision`] per record. No I/O and no clock of its own: everything
//! it needs is an argument, so every rule here is tested directly.
//!
//! * `merge`: the three-way merge per field, owners and conflict policy.
//! * `matching`: finding the Nmbrs employee of an unlinked row.
//! * `decision`: what comes out.
//!
//! Rules (docs/SPEC.md "Sync rules"):
//! 1. Link by stored `employeeId`; else match unlinked rows (`matching`); one match links, several
//!    fail naming the candidates, none creates — unless an employee of the company could not be read.
//! 2. A pending create intent is reconciled by looking the employee up in the fresh listing; only when
//!    it is absent (and older than the grace period) is it created again.
//! 3. Three-way merge per field against the base snapshot ([`merge::merge_field`]).
//! 7. Deletes are never propagated: a vanished side is reported.
//!
//! Erasure (`nmbrs-sync forget`, README "Personal data"): a record with a tombstone link (status
//! `forgotten`) is skipped whatever its row holds (no create, link, update, pull or rejection that
//! would record its values again); its Nmbrs employee is never imported, and a new row that would
//! match that employee fails naming the tombstone instead of being linked or created silently.
//!
//! Long on purpose: `plan_company` is one algorithm over one company (links first, then matching,
//! then imports); its pieces are in `merge`, `matching` and `decision`.

mod decision;
mod matching;
mod merge;
pub mod reference;

pub use decision::{
    Change, Conflict, Decision, NewLink, NmbrsEmployee, RecordUpdate, Resolution, SkipReason,
    conflict_summary,
};
pub use merge::{
    ConflictPolicy, FieldOutcome, FieldOwner, MergeError, Merged, merge_field, merge_record,
};

use crate::fields::{FIELD_COUNT, Field, FieldValues};
use crate::record::{
    Base, FieldProblem, HrisRecord, HrisRow, Link, LinkStatus, Rejection, Side, WriteIntent,
};
use matching::{Candidates, Match, find_match};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The rules a plan follows, from settings.
#[derive(Clone, Debug)]
pub struct Rules {
    /// Fields mapped to HRIS columns; only these are compared and written.
    pub fields: Vec<Field>,
    pub owners: [FieldOwner; FIELD_COUNT],
    pub conflict_policy: ConflictPolicy,
    pub import_from_nmbrs: bool,
    /// `hris.write_back`: `false` = the HRIS is read-only, so no decision asks to write the
    /// `nmbrs_employee_id` column (ids live in the links alone).
    pub write_back: bool,
}

impl Rules {
    /// Every field, owned by both sides, with `policy`.
    pub fn all_fields(policy: ConflictPolicy) -> Rules {
        Rules {
            fields: Field::ALL.to_vec(),
            owners: [FieldOwner::Both; FIELD_COUNT],
            conflict_policy: policy,
            import_from_nmbrs: true,
            write_back: true,
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
    // Employees of forgotten people (employee id → the tombstone's hris_id): held like linked ones
    // (never imported), but matchable, so a row that is probably them fails instead of creating.
    let forgotten: HashMap<&str, &str> = input
        .links
        .iter()
        .filter(|l| l.status == LinkStatus::Forgotten)
        .filter_map(|l| Some((l.employee_id.as_deref()?, l.hris_id.as_str())))
        .collect();
    let held: HashSet<&str> = linked_ids
        .iter()
        .copied()
        .filter(|id| !forgotten.contains_key(id))
        .collect();
    let mut free = Candidates::new(input.nmbrs, &held);
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
    let is_forgotten = |hris_id: &str| {
        links
            .get(hris_id)
            .or_else(|| foreign.get(hris_id))
            .is_some_and(|l| l.status == LinkStatus::Forgotten)
    };
    for row in input.hris {
        // A forgotten record's row is left alone, valid or not: a rejection would record its values.
        let row_id = match row {
            Ok(rec) => Some(rec.hris_id.as_str()),
            Err(rej) => rej.hris_id.as_deref(),
        };
        if let Some(id) = row_id.filter(|id| is_forgotten(id)) {
            seen_rows.insert(id);
            decisions.push(Decision::Skip {
                hris_id: id.to_owned(),
                employee_id: links.get(id).and_then(|l| l.employee_id.clone()),
                reason: SkipReason::Forgotten,
            });
            continue;
        }
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
        // A row that names its employee is never the subject of a POST: if that employee is not
        // free in this listing, the row fails naming it.
        if let Some(id) = rec.nmbrs_employee_id.as_deref()
            && free.hint(id).is_none()
        {
            let whereabouts = if by_id.contains_key(id) {
                "linked to another HRIS row"
            } else {
                "not in this company's Nmbrs listing (out of service, or in another company?)"
            };
            decisions.push(Decision::Fail {
                hris_id: rec.hris_id.clone(),
                employee_id: Some(id.to_owned()),
                message: format!(
                    "the row names Nmbrs employee {id} (column nmbrs_employee_id), which is {whereabouts}; not creating a second employee — check that employee in Nmbrs, or clear nmbrs_employee_id if it is wrong"
                ),
            });
            continue;
        }
        let lookup = intent.as_ref().unwrap_or(&rec.values);
        match find_match(lookup, rec.nmbrs_employee_id.as_deref(), &free) {
            Match::One(e, rule) if forgotten.contains_key(e.employee_id.as_str()) => {
                free.taken.insert(e.employee_id.clone());
                let tombstone = forgotten[e.employee_id.as_str()];
                decisions.push(Decision::Fail {
                    hris_id: rec.hris_id.clone(),
                    employee_id: None,
                    message: format!(
                        "matches Nmbrs employee {} (by {rule}), whose person was erased as HRIS record {tombstone} (`nmbrs-sync forget`); not linking or creating — if this is that person again, `nmbrs-sync release {tombstone}` first",
                        e.employee_id
                    ),
                });
            }
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
            Match::None => {
                let mut values = rec.values.clone();
                for p in &rec.unresolved {
                    if let Some(f) = Field::from_name(&p.field) {
                        values.set(f, None);
                    }
                }
                decisions.push(Decision::Create {
                    hris_id: rec.hris_id.clone(),
                    values,
                    after_intent: pending.is_some(),
                    unresolved: rec.unresolved.clone(),
                })
            }
        }
    }

    // Links whose HRIS row is gone; a pending import whose row was never inserted is imported again.
    // A tombstone is no record to report.
    for l in input
        .links
        .iter()
        .filter(|l| l.status != LinkStatus::Forgotten)
    {
        if l.status == LinkStatus::PendingImport
            && !seen_rows.contains(l.hris_id.as_str())
            && let Some(e) = l.employee_id.as_deref().and_then(|id| by_id.get(id))
            && e.unreadable.is_none()
        {
            decisions.push(Decision::Import {
                hris_id: l.hris_id.clone(),
                employee: (*e).clone(),
            });
            continue;
        }
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
    let write_back =
        rules.write_back && rec.nmbrs_employee_id.as_deref() != Some(employee_id.as_str());
    // Fast path: both sides hash to the stored snapshot.
    if let Some(hash) = link.base.hash()
        && !released
        && !write_back
        && link.status == LinkStatus::Linked
        && link.write_intent.is_none()
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
    // An update whose writes may have landed without its new base: settle that first.
    let settled = link
        .write_intent
        .as_ref()
        .map(|w| settle_write_intent(w, &rec.values, &e.values));
    update_for(
        rec,
        e,
        NewLink::Existing,
        settled.as_ref().or(base),
        Some(link),
        released,
        rules,
    )
}

/// The base for a record whose last update recorded its writes but not its new base (a crash, or
/// an answer lost after the write landed). Start from the base the update meant to leave; for each
/// written field, the written side decides:
/// * it holds the value sent → the write landed;
/// * it still holds the value it had when planned → the write never landed: the field merges again
///   from that value, so the write is retried, not reverted. Not from the stored base: the plan
///   that wrote may have stood on a newer one (an earlier intent it settled but never stored),
///   and the stored one would make the other side's change look like a conflict;
/// * it holds something else → it was edited since, so the write is taken as landed and that later
///   edit is that side's change, carried to the other side — payroll's edits are never overwritten.
pub fn settle_write_intent(
    intent: &WriteIntent,
    hris: &FieldValues,
    nmbrs: &FieldValues,
) -> FieldValues {
    let mut settled = FieldValues::from_map(&intent.base_after);
    for (name, w) in &intent.writes {
        let Some(f) = Field::from_name(name) else {
            continue;
        };
        let now = match w.to {
            Side::Nmbrs => nmbrs.get(f),
            Side::Hris => hris.get(f),
        };
        if !f.same(now, w.after.as_deref()) && f.same(now, w.before.as_deref()) {
            settled.set(f, w.before.as_deref());
        }
    }
    settled
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
    let unresolved: Vec<Field> = rec
        .unresolved
        .iter()
        .filter_map(|p| Field::from_name(&p.field))
        .collect();
    match merge_record(rules, base, &rec.values, &e.values, &unresolved) {
        Err(e2) => Decision::Fail {
            hris_id: rec.hris_id.clone(),
            employee_id: Some(e.employee_id.clone()),
            message: e2.to_string(),
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
            // Held as the HRIS value; "" for "no value" (values are never empty strings).
            let held: BTreeMap<String, String> = not_updatable
                .iter()
                .map(|c| {
                    let stored = c.after.as_deref().map(|v| c.field.stored(v).into_owned());
                    (c.field.name().to_owned(), stored.unwrap_or_default())
                })
                .collect();
            let not_updatable = not_updatable
                .into_iter()
                .filter(|c| {
                    let stored = c.after.as_deref().map(|v| c.field.stored(v));
                    held_before.get(c.field.name()).map(String::as_str)
                        != Some(stored.as_deref().unwrap_or_default())
                })
                .collect();
            let held_changed = &held != held_before;
            // A recorded write intent or a pending import is settled by this update's commit.
            let settles_link = stored
                .is_some_and(|l| l.write_intent.is_some() || l.status == LinkStatus::PendingImport);
            let write_back_employee_id = rules.write_back
                && rec.nmbrs_employee_id.as_deref() != Some(e.employee_id.as_str());
            let already_parked = stored.is_some_and(|l| {
                l.status == LinkStatus::Conflict
                    && l.last_error.as_deref() == Some(conflict_summary(&conflicts).as_str())
            });
            if already_parked
                && link == NewLink::Existing
                && to_nmbrs.is_empty()
                && to_hris.is_empty()
                && !write_back_employee_id
                && !released
                && !settles_link
                && !conflicts.is_empty()
                && conflicts.iter().all(|c| c.resolution == Resolution::Parked)
            {
                return Decision::StillParked {
                    hris_id: rec.hris_id.clone(),
                    employee_id: e.employee_id.clone(),
                };
            }
            Decision::Update(Box::new(RecordUpdate {
                hris_id: rec.hris_id.clone(),
                employee_id: e.employee_id.clone(),
                personal_info_id: e.personal_info_id.clone(),
                write_back_employee_id,
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
                settles_link,
                base_after,
                snapshot_changed,
                note: e.note.clone(),
                unresolved: rec.unresolved.clone(),
            }))
        }
    }
}

/// Rows whose company number no company visible to the API client has: each is rejected naming
/// `company_number` (docs/SPEC.md rule 6).
pub fn plan_unknown_companies(rows: Vec<HrisRow>) -> Vec<Decision> {
    rows.into_iter()
        .map(|row| Decision::Reject(unknown_company(row)))
        .collect()
}

/// A row whose company number no visible Nmbrs company has.
fn unknown_company(row: HrisRow) -> Rejection {
    let (mut rej, number) = match row {
        Ok(rec) => (
            Rejection {
                rowid: rec.rowid,
                hris_id: Some(rec.hris_id),
                employee_number: rec.values.get(Field::EmployeeNumber).map(str::to_owned),
                problems: vec![],
            },
            Some(rec.company_number),
        ),
        Err(rej) => (rej, None),
    };
    if rej.problems.iter().all(|p| p.field != "company_number") {
        rej.problems.push(FieldProblem {
            field: "company_number".into(),
            message: format!(
                "`{}` is not the number of any Nmbrs company this API client can see; fix the number or grant access to the company",
                number.as_deref().map(crate::record::printable).unwrap_or_default()
            ),
        });
    }
    rej
}

#[cfg(test)]
mod tests;
