//! Applying a plan: the writes to Nmbrs and the HRIS, then the new link and snapshot with their audit
//! rows. The planner has decided everything; this step only carries decisions out, in an order that
//! makes crashes harmless (docs/architecture.md, "Invariants"):
//!
//! * [`create`]: intent committed → POST → id written to the HRIS row → link committed. A crash after
//!   the POST leaves a pending intent that the next plan reconciles by lookup, never by posting again.
//! * [`update`]: GET of the personal-info history → the entry in force still holds what the plan read
//!   → PUT with only those fields changed → HRIS pull guarded by the values read → snapshot and audit
//!   rows in one transaction.
//! * [`bookkeeping`]: rejections, failures (and quarantine), skips, imports.
//! * [`dry_run`]: what each decision would do, audited, nothing written — the one place a dry run
//!   is handled.

mod bookkeeping;
mod create;
mod dry_run;
mod update;
mod write;

use crate::fields::{Field, FieldValues};
use crate::hris::{HrisDb, HrisError};
use crate::nmbrs::model::resources::ReadAt;
use crate::nmbrs::model::{CreateDefaults, ReadError};
use crate::nmbrs::{ApiError, NmbrsClient, Period};
use crate::plan::reference::References;
use crate::plan::{Change, Decision, RecordUpdate};
use crate::state::{AuditEntry, StateDb, StateError};
use serde::Serialize;
use std::sync::Arc;

/// What happened to one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Unchanged,
    Created,
    /// Linked to an existing employee (match or reconciled intent), possibly with changes.
    Linked,
    /// Written to Nmbrs and/or the HRIS.
    Updated,
    Imported,
    /// A field is parked under the manual policy.
    Conflict,
    Skipped,
    /// A create sent moments ago whose outcome is not known yet: looked up next cycle.
    Pending,
    Rejected,
    Failed,
    Quarantined,
}

/// Counters of one cycle (stored as JSON in `sync_runs.counts`).
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub records: u64,
    pub unchanged: u64,
    pub created: u64,
    pub linked: u64,
    /// Records with fields written to Nmbrs.
    pub updated: u64,
    /// Records with fields written to the HRIS.
    pub pulled: u64,
    pub imported: u64,
    pub conflicts: u64,
    pub skipped: u64,
    /// Creates still in flight (within their grace period); the next cycle looks them up.
    pub pending: u64,
    pub rejected: u64,
    pub failed: u64,
    pub quarantined: u64,
}

impl Counts {
    /// Adds one record's result.
    pub fn add(&mut self, r: &RecordResult) {
        self.records += 1;
        self.pulled += u64::from(r.pulled);
        self.updated += u64::from(r.pushed);
        let slot = match r.outcome {
            Outcome::Unchanged => &mut self.unchanged,
            Outcome::Created => &mut self.created,
            Outcome::Linked => &mut self.linked,
            Outcome::Updated => return,
            Outcome::Imported => &mut self.imported,
            Outcome::Conflict => &mut self.conflicts,
            Outcome::Skipped => &mut self.skipped,
            Outcome::Pending => &mut self.pending,
            Outcome::Rejected => &mut self.rejected,
            Outcome::Failed => &mut self.failed,
            Outcome::Quarantined => &mut self.quarantined,
        };
        *slot += 1;
    }

    /// Records that did not reach agreement (make `sync --once` exit 1).
    pub fn failures(&self) -> u64 {
        self.rejected + self.failed + self.quarantined
    }
}

/// One record's result, and a fatal error that must stop the cycle (credentials refused).
#[derive(Debug)]
pub struct RecordResult {
    pub outcome: Outcome,
    pub pushed: bool,
    pub pulled: bool,
    pub fatal: Option<String>,
}

impl RecordResult {
    fn of(outcome: Outcome) -> RecordResult {
        RecordResult {
            outcome,
            pushed: false,
            pulled: false,
            fatal: None,
        }
    }
}

/// A failure while applying one record.
#[derive(Debug, thiserror::Error)]
enum ApplyError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Hris(#[from] HrisError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Read(#[from] ReadError),
}

/// Everything needed to apply one company's decisions.
#[derive(Clone, Debug)]
pub struct Applier {
    pub client: NmbrsClient,
    pub hris: HrisDb,
    pub state: StateDb,
    pub run_id: i64,
    pub dry_run: bool,
    pub company_id: String,
    pub company_number: String,
    /// Synced fields.
    pub fields: Vec<Field>,
    /// Payroll period written with every create and PUT, and read as "in force".
    pub period: Period,
    pub quarantine_after: u32,
    /// `nmbrs.default_employee_type` / `nmbrs.default_employee_template` for creates.
    pub create_defaults: CreateDefaults,
    /// When histories are read (the entry in force).
    pub read_at: ReadAt,
    /// The debtor objects reference values name (job title, department, manager).
    pub refs: Arc<References>,
}

/// `{field: [before, after]}` JSON of changes, values as audit rows may show them (a BSN masked).
fn changes_json<'a>(changes: impl IntoIterator<Item = &'a Change>) -> String {
    let map: serde_json::Map<String, serde_json::Value> = changes
        .into_iter()
        .map(|c| {
            let shown = |v: &Option<String>| v.as_deref().map(|v| c.field.shown(v).into_owned());
            (
                c.field.name().to_owned(),
                serde_json::json!([shown(&c.before), shown(&c.after)]),
            )
        })
        .collect();
    serde_json::Value::Object(map).to_string()
}

/// Every set value of `fields` as a change from nothing (what a create or an import writes).
fn all_set(values: &FieldValues, fields: &[Field]) -> Vec<Change> {
    fields
        .iter()
        .filter_map(|&f| {
            values.get(f).map(|v| Change {
                field: f,
                before: None,
                after: Some(v.to_owned()),
            })
        })
        .collect()
}

impl Applier {
    /// The audit row of a field rejected alone (a reference value that names no Nmbrs object).
    fn unresolved_entry(
        &self,
        hris_id: &str,
        employee_id: Option<&str>,
        p: &crate::record::FieldProblem,
    ) -> AuditEntry {
        self.entry("reject", hris_id, employee_id)
            .fields(serde_json::json!({ &p.field: null }).to_string())
            .message(format!("{}: {}", p.field, p.message))
    }

    fn entry(&self, action: &str, hris_id: &str, employee_id: Option<&str>) -> AuditEntry {
        AuditEntry::new(Some(self.run_id), action)
            .hris(Some(hris_id))
            .employee(employee_id)
            .company(Some(&self.company_id))
            .dry_run(self.dry_run)
    }

    /// Applies one decision. Never panics on outside data; errors become the record's failure.
    pub async fn apply(&self, decision: Decision) -> RecordResult {
        let span = tracing::info_span!(
            "record",
            hris_id = tracing::field::Empty,
            employee_id = tracing::field::Empty
        );
        // The HRIS values' digest: a quarantined record is released when its row changes.
        let digest = match &decision {
            Decision::Update(u) => Some(u.hris.digest()),
            Decision::Create { values, .. } => Some(values.digest()),
            _ => None,
        };
        let (hris_id, employee_id) = decision.ids();
        span.record("hris_id", hris_id.as_str());
        if let Some(e) = &employee_id {
            span.record("employee_id", e.as_str());
        }
        let result = tracing::Instrument::instrument(
            self.apply_in_span(decision, &hris_id, employee_id.as_deref(), digest),
            span,
        )
        .await;
        count(&result);
        result
    }

    /// Applies updates that write no field to either side ([`RecordUpdate::is_bookkeeping`]) in
    /// one batch; a batch that fails (or a dry run) is applied record by record instead, so each
    /// failure lands on its own record.
    pub async fn apply_batch(&self, updates: Vec<RecordUpdate>) -> Vec<RecordResult> {
        if !self.dry_run {
            match self.apply_bookkeeping(&updates).await {
                Ok(results) => return results,
                Err(e) => tracing::warn!(
                    error = %e,
                    records = updates.len(),
                    "a batch of link updates failed; applying them one by one"
                ),
            }
        }
        let mut results = Vec::with_capacity(updates.len());
        for u in updates {
            results.push(self.apply(Decision::Update(Box::new(u))).await);
        }
        results
    }

    async fn apply_in_span(
        &self,
        decision: Decision,
        hris_id: &str,
        employee_id: Option<&str>,
        digest: Option<String>,
    ) -> RecordResult {
        let result = if self.dry_run {
            self.preview(decision, hris_id, employee_id).await
        } else {
            match decision {
                Decision::Unchanged { .. } => Ok(RecordResult::of(Outcome::Unchanged)),
                Decision::StillParked { .. } => Ok(RecordResult::of(Outcome::Conflict)),
                Decision::Update(u) => self.update(*u).await,
                Decision::Create {
                    values,
                    after_intent,
                    unresolved,
                    ..
                } => {
                    self.create(hris_id, &values, after_intent, unresolved)
                        .await
                }
                Decision::Import { employee, .. } => self.import(hris_id, &employee).await,
                Decision::Reject(rej) => self.reject(&rej).await,
                Decision::Fail { message, .. } => {
                    self.fail(hris_id, employee_id, &message, None, None).await
                }
                Decision::Skip { reason, .. } => self.skip(hris_id, employee_id, reason).await,
            }
        };
        match result {
            Ok(r) => r,
            Err(ApplyError::Api(e)) if e.is_fatal() => {
                let _ = self
                    .state
                    .audit(&[self
                        .entry("error", hris_id, employee_id)
                        .http(e.call.clone())
                        .message(e.to_string())])
                    .await;
                RecordResult {
                    fatal: Some(e.to_string()),
                    ..RecordResult::of(Outcome::Failed)
                }
            }
            Err(ApplyError::Api(e)) => {
                let call = e.call.clone();
                self.fail(hris_id, employee_id, &e.to_string(), Some(call), digest)
                    .await
                    .unwrap_or_else(|err| state_failure(&err))
            }
            Err(other) => self
                .fail(hris_id, employee_id, &other.to_string(), None, digest)
                .await
                .unwrap_or_else(|err| state_failure(&err)),
        }
    }
}

/// Counts one record's outcome in `nmbrs_sync_records_total`.
fn count(result: &RecordResult) {
    count_outcome(result.outcome, 1);
}

/// Counts `n` records of one outcome in `nmbrs_sync_records_total`.
fn count_outcome(outcome: Outcome, n: u64) {
    metrics::counter!("nmbrs_sync_records_total", "outcome" => format!("{outcome:?}").to_lowercase()).increment(n);
}

/// Counts `n` records found unchanged without being planned (an incremental read's quiet
/// records), in the cycle's counts and the metric, as applying an unchanged record would.
pub(crate) fn count_unchanged(counts: &mut Counts, n: u64) {
    counts.records += n;
    counts.unchanged += n;
    count_outcome(Outcome::Unchanged, n);
}

fn state_failure(err: &ApplyError) -> RecordResult {
    tracing::error!(error = %err, "could not record a failure in the state database");
    RecordResult {
        fatal: Some(format!("state database failure: {err}")),
        ..RecordResult::of(Outcome::Failed)
    }
}
