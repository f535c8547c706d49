//! What the planner decides, one [`Decision`] per record, and the shapes inside it. Plain data: the
//! apply step carries decisions out and never decides again.

use crate::fields::{Field, FieldValues};
use crate::record::{FieldProblem, LinkStatus, Rejection};
use std::collections::BTreeMap;

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
    /// The link carries a write intent or a pending import that this update's commit settles.
    pub settles_link: bool,
    /// The snapshot to store once applied; `None` = keep none (a parked field has no known base).
    pub base_after: Option<FieldValues>,
    /// Whether the stored snapshot differs from `base_after` (a write to the state database only).
    pub snapshot_changed: bool,
    /// Said in the audit rows of this record (e.g. a personal-info entry for a future period).
    pub note: Option<String>,
    /// Fields rejected alone this cycle (a reference value that names no Nmbrs object).
    pub unresolved: Vec<FieldProblem>,
}

impl RecordUpdate {
    /// Whether a field is parked under `manual` (the record then waits for a person).
    pub fn parks(&self) -> bool {
        self.conflicts
            .iter()
            .any(|c| c.resolution == Resolution::Parked)
    }

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
            && !self.settles_link
            && !self.snapshot_changed
            && self.unresolved.is_empty()
    }

    /// Whether only the state database (and perhaps the HRIS `nmbrs_employee_id` column) is
    /// written: no field goes to either side. Such updates are applied in batches.
    pub fn is_bookkeeping(&self) -> bool {
        self.to_nmbrs.is_empty() && self.to_hris.is_empty() && !self.is_noop()
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
    /// Erased at the person's request (`nmbrs-sync forget`): nothing is synced, read into the
    /// audit log or matched until `nmbrs-sync release` lifts the tombstone.
    Forgotten,
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
            SkipReason::Forgotten => {
                "erased at the person's request (`nmbrs-sync forget`); not synced until `nmbrs-sync release HRIS_ID`"
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
    /// Parked under `manual` and already reported with the same fields: nothing new to say or write.
    StillParked {
        hris_id: String,
        employee_id: String,
    },
    /// Linked (now or before); apply the changes (may be a no-op).
    Update(Box<RecordUpdate>),
    /// No employee in Nmbrs: record an intent, POST, write the id back.
    Create {
        hris_id: String,
        /// The values to create with (reference values that name no object left out).
        values: FieldValues,
        after_intent: bool,
        /// Fields rejected alone (a reference value that names no Nmbrs object).
        unresolved: Vec<FieldProblem>,
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

impl Decision {
    /// The record's `hris_id` (a rejected row without one: `rowid:N`) and `employeeId` when known,
    /// for spans and audit rows.
    pub fn ids(&self) -> (String, Option<String>) {
        match self {
            Decision::Unchanged { hris_id } => (hris_id.clone(), None),
            Decision::StillParked {
                hris_id,
                employee_id,
            } => (hris_id.clone(), Some(employee_id.clone())),
            Decision::Update(u) => (u.hris_id.clone(), Some(u.employee_id.clone())),
            Decision::Create { hris_id, .. } => (hris_id.clone(), None),
            Decision::Import { hris_id, employee } => {
                (hris_id.clone(), Some(employee.employee_id.clone()))
            }
            Decision::Reject(r) => (
                r.hris_id
                    .clone()
                    .unwrap_or_else(|| format!("rowid:{}", r.rowid)),
                None,
            ),
            Decision::Fail {
                hris_id,
                employee_id,
                ..
            }
            | Decision::Skip {
                hris_id,
                employee_id,
                ..
            } => (hris_id.clone(), employee_id.clone()),
        }
    }
}

/// "conflict (manual): field, field" — stored as the link's `last_error` while parked, so a record
/// parked on the same fields is reported once.
pub fn conflict_summary(conflicts: &[Conflict]) -> String {
    let parked: Vec<&str> = conflicts
        .iter()
        .filter(|c| c.resolution == Resolution::Parked)
        .map(|c| c.field.name())
        .collect();
    format!("conflict (manual): {}", parked.join(", "))
}
