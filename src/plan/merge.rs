//! The three-way merge (docs/SPEC.md rule 3): per field, against the base snapshot, under the field's
//! owner and the conflict policy. Create-only fields (docs/nmbrs-api.md: the personal-info PUT has no
//! `employeeType`) are never pushed, nor is "no value" for a field Nmbrs cannot unset
//! ([`Field::clearable`]).

use super::Rules;
use super::decision::{Change, Conflict, Resolution};
use crate::fields::{Field, FieldValues, Lifecycle};
use serde::Deserialize;

/// Resolution when a field changed on both sides since the base snapshot (docs/SPEC.md rule 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictPolicy {
    HrisWins,
    NmbrsWins,
    /// Park the field, report the conflict, change nothing until a person resolves it.
    Manual,
}

/// Who may change a field: `both` merges three-way, the others make one side authoritative.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FieldOwner {
    Hris,
    Nmbrs,
    #[default]
    Both,
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

/// Why a record cannot be merged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    /// A pull would blank a field that identifies the person.
    #[error("Nmbrs has no {0} for this employee; not blanking it in the HRIS — fill it in Nmbrs")]
    WouldBlank(Field),
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
    /// or not; see [`crate::plan::RecordUpdate::not_updatable`]).
    pub not_updatable: Vec<Change>,
    /// The new base snapshot; `None` = keep none (a parked field has no known base).
    pub base_after: Option<FieldValues>,
}

/// Merges a whole record. `base` is the parsed snapshot (`None` = no snapshot yet). Fields in
/// `left_out` (an HRIS value that names no Nmbrs object) are not merged this cycle: nothing is
/// written either way and the base keeps what it knew.
/// Errors: [`MergeError::WouldBlank`] for a pull that would blank a required field.
pub fn merge_record(
    rules: &Rules,
    base: Option<&FieldValues>,
    hris: &FieldValues,
    nmbrs: &FieldValues,
    left_out: &[Field],
) -> Result<Merged, MergeError> {
    let mut to_nmbrs = Vec::new();
    let mut to_hris = Vec::new();
    let mut conflicts = Vec::new();
    let mut not_updatable = Vec::new();
    let mut base_after = FieldValues::default();
    let mut keep_snapshot = true;
    for &f in &rules.fields {
        let (h, n) = (hris.get(f), nmbrs.get(f));
        let b = base.map(|b| b.get(f));
        if left_out.contains(&f) {
            base_after.set(f, b.map_or(n, |b| b));
            continue;
        }
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
        // Compared in their comparable form (e.g. e-mail case), written as each side has them.
        fn key(f: Field, v: Option<&str>) -> Option<std::borrow::Cow<'_, str>> {
            v.map(|x| f.comparable(x))
        }
        let (hk, nk, bk) = (key(f, h), key(f, n), b.map(|b| key(f, b)));
        let outcome = merge_field(
            rules.owners[f.index()],
            rules.conflict_policy,
            bk.as_ref().map(|o| o.as_deref()),
            hk.as_deref(),
            nk.as_deref(),
        );
        let create_only = f.lifecycle() == Lifecycle::CreateOnly;
        // The HRIS side of a create-only field can never be applied: when both sides moved from a
        // known base, Nmbrs's value is the one both can hold.
        let outcome = match outcome {
            FieldOutcome::Conflict(Resolution::HrisWon)
                if create_only && b.is_some() && n.is_some() =>
            {
                FieldOutcome::Conflict(Resolution::NmbrsWon)
            }
            o => o,
        };
        // Create-only fields, and "no value" for a field Nmbrs cannot unset: the API cannot take it.
        let unsendable = create_only || (!f.clearable() && h.is_none());
        if unsendable
            && matches!(
                outcome,
                FieldOutcome::Push | FieldOutcome::Conflict(Resolution::HrisWon)
            )
        {
            // Nothing is sent, Nmbrs's value stays the base.
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
                    return Err(MergeError::WouldBlank(f));
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
