//! The records the planner decides on, as plain data: a valid HRIS record or the rejection of a row,
//! and the stored link of a record (its Nmbrs ids, base snapshot, create intent and bookkeeping).
//! No I/O here: the HRIS reader (`crate::hris`) and the state database (`crate::state`) convert to
//! and from these types; the planner (`crate::plan`) only reads them.

use crate::fields::FieldValues;
use std::collections::BTreeMap;
use std::fmt;
use time::OffsetDateTime;

/// A row as planning sees it: valid, or rejected with reasons.
pub type HrisRow = Result<HrisRecord, Rejection>;

/// A valid HRIS record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HrisRecord {
    /// SQLite rowid (for messages).
    pub rowid: i64,
    pub hris_id: String,
    pub company_number: String,
    /// The `nmbrs_employee_id` column: written by this daemon, used as a link hint after a crash.
    pub nmbrs_employee_id: Option<String>,
    pub values: FieldValues,
    /// Reference values (job title, department, manager) that name no Nmbrs object: each field is
    /// rejected alone and left out of this cycle's merge (`crate::plan::reference`).
    pub unresolved: Vec<FieldProblem>,
}

/// One problem with one field of a row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldProblem {
    /// The field (or `hris_id` / `company_number`) at fault.
    pub field: String,
    pub message: String,
}

/// A row that cannot be synced; the rest of the cycle goes on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub rowid: i64,
    pub hris_id: Option<String>,
    /// The row's employee number if it is readable: an import of that employee waits while the row
    /// that is probably them is being fixed (no duplicate HRIS row).
    pub employee_number: Option<String>,
    pub problems: Vec<FieldProblem>,
}

impl Rejection {
    /// "row hris_id=X (rowid N): field: message; ..." — what an operator needs to find and fix it.
    pub fn message(&self) -> String {
        let who = match &self.hris_id {
            Some(id) => format!("HRIS row hris_id={} (rowid {})", printable(id), self.rowid),
            None => format!("HRIS row rowid {}", self.rowid),
        };
        let problems = self
            .problems
            .iter()
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect::<Vec<_>>()
            .join("; ");
        format!("{who} rejected: {problems}; fix the row in the HRIS, it is retried next cycle")
    }
}

/// Escapes control characters so a message about a bad value cannot forge log lines; shortens it.
pub fn printable(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(80)
        .flat_map(|c| {
            if c.is_control() || is_forbidden_format(c) {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect();
    if s.chars().count() > 80 {
        out.push('…');
    }
    out
}

/// Characters refused in every value although `char::is_control` says no: the line and
/// paragraph separators U+2028/U+2029 (line breaks to JSON-in-JS, log viewers and editors), and the
/// explicit bidirectional embeddings, overrides and isolates U+202A–U+202E, U+2066–U+2069 (an RLO
/// makes "Hanison\u{202E}nosirap" display as something else: "Trojan Source"). Right-to-left text
/// needs none of them; the bidi *marks* LRM/RLM/ALM, ZWJ and ZWNJ are allowed (real names and emoji
/// use them).
pub fn is_forbidden_format(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Where a record stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkStatus {
    /// A create intent is recorded; the POST may or may not have reached Nmbrs.
    PendingCreate,
    /// An import is recorded (the employee and its values are the base); the HRIS row may or may
    /// not have been inserted yet.
    PendingImport,
    Linked,
    /// A field is parked under `conflict_policy = manual`.
    Conflict,
    /// The last cycle failed for this record (see `failures`, `last_error`).
    Failed,
    /// Failed `sync.quarantine_after` cycles in a row: skipped until released or the HRIS row changes.
    Quarantined,
    VanishedHris,
    VanishedNmbrs,
    /// Erased at the person's request (`nmbrs-sync forget`): a tombstone. The record is never
    /// created, linked, matched, pulled or imported again until `nmbrs-sync release` lifts it.
    Forgotten,
}

impl LinkStatus {
    /// Stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkStatus::PendingCreate => "pending_create",
            LinkStatus::PendingImport => "pending_import",
            LinkStatus::Linked => "linked",
            LinkStatus::Conflict => "conflict",
            LinkStatus::Failed => "failed",
            LinkStatus::Quarantined => "quarantined",
            LinkStatus::VanishedHris => "vanished_hris",
            LinkStatus::VanishedNmbrs => "vanished_nmbrs",
            LinkStatus::Forgotten => "forgotten",
        }
    }

    /// Parses [`LinkStatus::as_str`] text.
    pub fn parse(s: &str) -> Option<LinkStatus> {
        Some(match s {
            "pending_create" => LinkStatus::PendingCreate,
            "pending_import" => LinkStatus::PendingImport,
            "linked" => LinkStatus::Linked,
            "conflict" => LinkStatus::Conflict,
            "failed" => LinkStatus::Failed,
            "quarantined" => LinkStatus::Quarantined,
            "vanished_hris" => LinkStatus::VanishedHris,
            "vanished_nmbrs" => LinkStatus::VanishedNmbrs,
            "forgotten" => LinkStatus::Forgotten,
            _ => return None,
        })
    }
}

impl fmt::Display for LinkStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The base snapshot of a link: the values both sides agreed on at the last successful sync
/// (docs/SPEC.md rule 3).
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // nearly every stored link is `Known`: boxing would only add an allocation
pub enum Base {
    /// No base yet (first link, or a parked field whose base is unknown).
    None,
    /// The agreed values and their digest ([`FieldValues::digest`]), compared before anything is
    /// parsed or merged.
    Known { values: FieldValues, hash: String },
    /// The stored snapshot could not be read: the record is not merged until a person checks it.
    /// `raw` is kept as stored, so bookkeeping never erases it.
    Unreadable { raw: String, error: String },
}

impl Base {
    /// A known base of `values`.
    pub fn of(values: &FieldValues) -> Base {
        Base::Known {
            values: values.clone(),
            hash: values.digest(),
        }
    }

    /// The digest of a known base.
    pub fn hash(&self) -> Option<&str> {
        match self {
            Base::Known { hash, .. } => Some(hash),
            _ => None,
        }
    }
}

/// A create recorded before its POST (docs/SPEC.md rule 2), until the employee is linked.
#[derive(Clone, Debug, PartialEq)]
pub struct CreateIntent {
    /// The values posted; `None` when the stored copy cannot be read (the row's values stand in).
    pub values: Option<FieldValues>,
    /// When it was recorded (UTC); `None` when unreadable, which makes it old enough to look up.
    pub at: Option<OffsetDateTime>,
    /// The stored JSON, written back unchanged (an unreadable intent is never replaced by a blank one).
    pub raw: String,
}

impl CreateIntent {
    /// The intent to post `values`, recorded `at`.
    pub fn new(values: &FieldValues, at: OffsetDateTime) -> CreateIntent {
        CreateIntent {
            values: Some(values.clone()),
            at: Some(at),
            raw: values.to_json(),
        }
    }
}

/// The side a pending write goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Nmbrs,
    Hris,
}

/// One field of a [`WriteIntent`]: the value the written side held when planned, and the one sent.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PendingWrite {
    pub to: Side,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// The writes of an update and the base they leave, recorded before the first write so that a
/// crash (or a lost answer) between a write and the new base never makes the next merge mistake a
/// later edit for a conflict (docs/architecture.md, "Invariants").
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WriteIntent {
    /// The snapshot to store if every write lands (field name → value; absent = no value).
    pub base_after: BTreeMap<String, String>,
    /// field name → the write.
    pub writes: BTreeMap<String, PendingWrite>,
}

/// One `employee_links` row, typed.
#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    pub hris_id: String,
    pub company_id: String,
    /// Nmbrs `employeeId`; `None` until the employee exists (or while a create intent is pending).
    pub employee_id: Option<String>,
    pub personal_info_id: Option<String>,
    pub base: Base,
    pub create_intent: Option<CreateIntent>,
    pub status: LinkStatus,
    pub failures: u32,
    pub last_error: Option<String>,
    /// Digest of the HRIS values when quarantined: a changed row is released.
    pub quarantined_hash: Option<String>,
    /// HRIS values of create-only fields already reported as not updatable through the API
    /// (field name → value; [`crate::fields::Lifecycle::CreateOnly`]).
    pub held: BTreeMap<String, String>,
    /// An update whose writes may have landed without their new base being stored.
    pub write_intent: Option<WriteIntent>,
}

impl Link {
    /// A fresh link for `hris_id` in company `company_id`.
    pub fn new(hris_id: &str, company_id: &str, status: LinkStatus) -> Link {
        Link {
            hris_id: hris_id.to_owned(),
            company_id: company_id.to_owned(),
            employee_id: None,
            personal_info_id: None,
            base: Base::None,
            create_intent: None,
            status,
            failures: 0,
            last_error: None,
            quarantined_hash: None,
            held: BTreeMap::new(),
            write_intent: None,
        }
    }
}

/// What an incremental cycle needs of a link to tell a quiet record (issue 13): no snapshot
/// values, so 100,000 links load without decoding 100,000 snapshots. A record that is not quiet
/// is planned on its whole [`Link`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkHead {
    pub hris_id: String,
    pub company_id: String,
    pub employee_id: Option<String>,
    pub status: LinkStatus,
    /// The base snapshot's hash (`None`: no base).
    pub base_hash: Option<String>,
    /// Agreed on a base, no write or create intent pending (whatever the company).
    pub settled: bool,
}

impl LinkHead {
    /// The head of a whole link.
    pub fn of(l: &Link) -> LinkHead {
        LinkHead {
            hris_id: l.hris_id.clone(),
            company_id: l.company_id.clone(),
            employee_id: l.employee_id.clone(),
            status: l.status,
            base_hash: l.base.hash().map(str::to_owned),
            settled: matches!(l.base, Base::Known { .. })
                && l.write_intent.is_none()
                && l.create_intent.is_none(),
        }
    }

    /// Whether the link is clean in `company_id`: linked there, agreed on a known base, nothing
    /// pending.
    pub fn clean_in(&self, company_id: &str) -> bool {
        self.company_id == company_id
            && self.employee_id.is_some()
            && self.status == LinkStatus::Linked
            && self.settled
    }
}
