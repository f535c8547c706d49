//! Applying a plan: the writes to Nmbrs and the HRIS, then the new link/snapshot with its audit rows.
//!
//! Order inside a record is what makes crashes harmless:
//! * create: intent committed → POST (every merged field: the create body carries them all) → id
//!   written to the HRIS row → link committed. A crash after the POST leaves a pending intent that
//!   the next plan reconciles by lookup.
//! * update: GET of the employee's personal-info history → check the entry in force still holds
//!   what the plan read → PUT of that entry in the write shape with only those fields changed → HRIS
//!   pull (guarded by the values read) → snapshot + audit rows in one transaction.
//!   A crash anywhere leaves sides that the next three-way merge sees as already agreed.

use crate::fields::{Field, FieldValues};
use crate::hris::{HrisDb, HrisError};
use crate::nmbrs::client::ApiErrorKind;
use crate::nmbrs::model::{
    CreateDefaults, CreateEmployee, CreateError, ReadError, UpdatePersonalInfo, in_force,
    read_values,
};
use crate::nmbrs::{ApiError, NmbrsClient, Period};
use crate::plan::{Change, Conflict, Decision, NewLink, RecordUpdate, Resolution, SkipReason};
use crate::record::{Base, CreateIntent, Link, LinkStatus};
use crate::state::{AuditEntry, Direction, HttpCall, StateDb, StateError};
use serde::Serialize;
use time::OffsetDateTime;

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
}

/// `{field: [before, after]}` JSON of changes.
fn changes_json(changes: &[Change]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = changes
        .iter()
        .map(|c| {
            (
                c.field.name().to_owned(),
                serde_json::json!([c.before, c.after]),
            )
        })
        .collect();
    serde_json::Value::Object(map).to_string()
}

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
        let (hris_id, employee_id) = match &decision {
            Decision::Unchanged { hris_id } => (hris_id.clone(), None),
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
            } => (hris_id.clone(), employee_id.clone()),
            Decision::Skip {
                hris_id,
                employee_id,
                ..
            } => (hris_id.clone(), employee_id.clone()),
        };
        span.record("hris_id", hris_id.as_str());
        if let Some(e) = &employee_id {
            span.record("employee_id", e.as_str());
        }
        let result = tracing::Instrument::instrument(
            self.apply_in_span(decision, &hris_id, employee_id.as_deref(), digest),
            span,
        )
        .await;
        metrics::counter!("nmbrs_sync_records_total", "outcome" => format!("{:?}", result.outcome).to_lowercase()).increment(1);
        result
    }

    async fn apply_in_span(
        &self,
        decision: Decision,
        hris_id: &str,
        employee_id: Option<&str>,
        digest: Option<String>,
    ) -> RecordResult {
        let result = match decision {
            Decision::Unchanged { .. } => Ok(RecordResult::of(Outcome::Unchanged)),
            Decision::Update(u) => self.update(*u).await,
            Decision::Create {
                values,
                after_intent,
                ..
            } => self.create(hris_id, &values, after_intent).await,
            Decision::Import { employee, .. } => self.import(hris_id, &employee).await,
            Decision::Reject(rej) => self.reject(&rej).await,
            Decision::Fail { message, .. } => {
                self.fail(hris_id, employee_id, &message, None, None).await
            }
            Decision::Skip { reason, .. } => self.skip(hris_id, employee_id, reason).await,
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

    async fn reject(&self, rej: &crate::record::Rejection) -> Result<RecordResult, ApplyError> {
        let message = rej.message();
        // Field names only at warn: the values may be personal data (they are in the audit log).
        let fields: Vec<&str> = rej.problems.iter().map(|p| p.field.as_str()).collect();
        tracing::warn!(rowid = rej.rowid, hris_id = rej.hris_id.as_deref(), fields = ?fields, "HRIS row rejected; details in the audit log");
        tracing::debug!(message = %rej.message(), "rejection details");
        let hris_id = rej
            .hris_id
            .clone()
            .unwrap_or_else(|| format!("rowid:{}", rej.rowid));
        let problems: serde_json::Map<String, serde_json::Value> = rej
            .problems
            .iter()
            .map(|p| (p.field.clone(), serde_json::Value::from(p.message.clone())))
            .collect();
        let entry = self
            .entry("reject", &hris_id, None)
            .message(message)
            .fields(serde_json::Value::Object(problems).to_string());
        if self.dry_run {
            self.state.audit(&[entry]).await?;
            return Ok(RecordResult::of(Outcome::Rejected));
        }
        let mut tx = self.state.begin().await?;
        tx.audit(&entry).await?;
        // A linked record whose row turned invalid counts toward quarantine; an unknown row gets no link.
        if let Some(id) = &rej.hris_id
            && let Some(mut link) = tx.get_link(id).await?
        {
            link.failures += 1;
            link.last_error = entry.message.clone();
            tx.put_link(&link).await?;
        }
        tx.commit().await?;
        Ok(RecordResult::of(Outcome::Rejected))
    }

    /// Records a failed record: audit row, failure count, quarantine after `quarantine_after` in a row.
    async fn fail(
        &self,
        hris_id: &str,
        employee_id: Option<&str>,
        message: &str,
        call: Option<HttpCall>,
        digest: Option<String>,
    ) -> Result<RecordResult, ApplyError> {
        // The message may quote personal data (a server echoing a value): ids at warn, text at debug.
        tracing::warn!(
            hris_id,
            employee_id,
            "record failed; details in the audit log"
        );
        tracing::debug!(hris_id, error = message, "failure details");
        let mut entry = self.entry("error", hris_id, employee_id).message(message);
        if let Some(c) = call {
            entry = entry.http(c);
        }
        if self.dry_run {
            self.state.audit(&[entry]).await?;
            return Ok(RecordResult::of(Outcome::Failed));
        }
        let mut tx = self.state.begin().await?;
        tx.audit(&entry).await?;
        let mut link = tx
            .get_link(hris_id)
            .await?
            .unwrap_or_else(|| Link::new(hris_id, &self.company_id, LinkStatus::Failed));
        link.failures += 1;
        link.last_error = Some(message.chars().take(1000).collect());
        let mut outcome = Outcome::Failed;
        if link.failures >= self.quarantine_after {
            link.status = LinkStatus::Quarantined;
            link.quarantined_hash = digest;
            outcome = Outcome::Quarantined;
            tx.audit(&self.entry("quarantine", hris_id, employee_id).message(format!(
                "failed {} cycles in a row; skipped until `nmbrs-sync release {hris_id}` or the HRIS row changes. Last error: {message}",
                link.failures
            )))
            .await?;
        } else if link.status != LinkStatus::PendingCreate {
            // A pending create keeps its intent: the POST may have landed and must be looked up.
            link.status = LinkStatus::Failed;
        }
        tx.put_link(&link).await?;
        tx.commit().await?;
        Ok(RecordResult::of(outcome))
    }

    async fn skip(
        &self,
        hris_id: &str,
        employee_id: Option<&str>,
        reason: SkipReason,
    ) -> Result<RecordResult, ApplyError> {
        let entry = self
            .entry("skip", hris_id, employee_id)
            .message(reason.as_str());
        match reason.status() {
            // Report a vanished side once, when it is first seen, not every cycle.
            Some(status) => {
                if self.dry_run {
                    return Ok(RecordResult::of(Outcome::Skipped));
                }
                let mut tx = self.state.begin().await?;
                if let Some(mut link) = tx.get_link(hris_id).await?
                    && link.status != status
                {
                    tracing::warn!(
                        hris_id,
                        employee_id,
                        reason = reason.as_str(),
                        "record vanished on one side"
                    );
                    link.status = status;
                    tx.put_link(&link).await?;
                    tx.audit(&entry).await?;
                }
                tx.commit().await?;
            }
            None => self.state.audit(&[entry]).await?,
        }
        Ok(RecordResult::of(Outcome::Skipped))
    }

    async fn create(
        &self,
        hris_id: &str,
        values: &FieldValues,
        after_intent: bool,
    ) -> Result<RecordResult, ApplyError> {
        let created_fields = all_set(values, &self.fields);
        let body =
            match CreateEmployee::new(values, &self.fields, self.period, &self.create_defaults) {
                Ok(b) => b,
                Err(e) => return self.create_refused(hris_id, &e, values).await,
            };
        if self.dry_run {
            self.state
                .audit(&[self
                    .entry("create", hris_id, None)
                    .direction(Direction::ToNmbrs)
                    .fields(changes_json(&created_fields))])
                .await?;
            return Ok(RecordResult::of(Outcome::Created));
        }
        // 1. The intent, before anything leaves the building.
        let mut tx = self.state.begin().await?;
        let mut link = tx
            .get_link(hris_id)
            .await?
            .unwrap_or_else(|| Link::new(hris_id, &self.company_id, LinkStatus::PendingCreate));
        link.company_id = self.company_id.clone();
        link.status = LinkStatus::PendingCreate;
        link.create_intent = Some(CreateIntent::new(values, OffsetDateTime::now_utc()));
        tx.put_link(&link).await?;
        let note = if after_intent {
            "earlier create intent looked up: not in the Nmbrs listing; creating"
        } else {
            "new employee"
        };
        tx.audit(
            &self
                .entry("create_intent", hris_id, None)
                .direction(Direction::ToNmbrs)
                .message(note),
        )
        .await?;
        tx.commit().await?;
        crate::failpoint::hit("after_intent");

        // 2. The POST.
        let created = match self.client.create_employee(&self.company_id, &body).await {
            Ok(r) => r,
            Err(e) => return self.create_failed(hris_id, e, values).await,
        };
        let employee_id = created.body;
        crate::failpoint::hit("after_post");

        // 3. The id into the HRIS row (a crash before the link commits leaves the intent pending;
        //    the next cycle finds the employee by lookup and links it).
        self.hris.set_employee_id(hris_id, &employee_id).await?;
        crate::failpoint::hit("after_write_back");

        // 4. The link, with its audit rows: Nmbrs now holds the create body's fields.
        let base = values.as_created();
        let mut tx = self.state.begin().await?;
        link.employee_id = Some(employee_id.clone());
        link.status = LinkStatus::Linked;
        link.create_intent = None;
        link.failures = 0;
        link.last_error = None;
        link.base = Base::of(&base);
        tx.put_link(&link).await?;
        tx.audit(
            &self
                .entry("create", hris_id, Some(&employee_id))
                .direction(Direction::ToNmbrs)
                .fields(changes_json(&created_fields))
                .http(created.call),
        )
        .await?;
        tx.audit(
            &self
                .entry("write_back", hris_id, Some(&employee_id))
                .direction(Direction::ToHris)
                .message("nmbrs_employee_id written to the HRIS row"),
        )
        .await?;
        crate::failpoint::hit("before_commit");
        tx.commit().await?;
        crate::failpoint::hit("after_link");
        tracing::info!(hris_id, employee_id, "employee created");

        Ok(RecordResult::of(Outcome::Created))
    }

    /// The HRIS record cannot become a create body (e.g. no `employee_type`): a failure of the
    /// record, fixed in the HRIS; nothing was recorded or sent.
    async fn create_refused(
        &self,
        hris_id: &str,
        e: &CreateError,
        values: &FieldValues,
    ) -> Result<RecordResult, ApplyError> {
        let message = format!("{e}; fill it in the HRIS row, it is retried next cycle");
        self.fail(hris_id, None, &message, None, Some(values.digest()))
            .await
    }

    async fn create_failed(
        &self,
        hris_id: &str,
        e: ApiError,
        values: &FieldValues,
    ) -> Result<RecordResult, ApplyError> {
        if e.is_fatal() {
            return Err(e.into());
        }
        // Only these prove the POST created nothing; anything else keeps the intent for lookup.
        let certainly_not_created = matches!(
            e.kind,
            ApiErrorKind::Rejected { .. }
                | ApiErrorKind::NotFound
                | ApiErrorKind::Exhausted { .. }
                | ApiErrorKind::Forbidden { .. }
                | ApiErrorKind::NoSubscription
                | ApiErrorKind::QuotaExceeded
        );
        if certainly_not_created {
            let mut tx = self.state.begin().await?;
            if let Some(mut link) = tx.get_link(hris_id).await? {
                link.create_intent = None;
                link.status = LinkStatus::Failed;
                tx.put_link(&link).await?;
            }
            tx.commit().await?;
        }
        let message = match &e.kind {
            ApiErrorKind::Rejected { fields, .. } if !fields.is_empty() => {
                format!("{e}: fix the HRIS row, it is retried next cycle")
            }
            _ => e.to_string(),
        };
        self.fail(hris_id, None, &message, Some(e.call), Some(values.digest()))
            .await
    }

    async fn import(
        &self,
        hris_id: &str,
        e: &crate::plan::NmbrsEmployee,
    ) -> Result<RecordResult, ApplyError> {
        let fields = changes_json(&all_set(&e.values, &self.fields));
        let entry = self
            .entry("import", hris_id, Some(&e.employee_id))
            .direction(Direction::ToHris)
            .fields(fields);
        if self.dry_run {
            self.state.audit(&[entry]).await?;
            return Ok(RecordResult::of(Outcome::Imported));
        }
        if !self
            .hris
            .insert(hris_id, &self.company_number, &e.employee_id, &e.values)
            .await?
        {
            return self
                .fail(hris_id, Some(&e.employee_id), &format!("HRIS row {hris_id} already exists with another company number; not importing employee {} twice", e.employee_id), None, None)
                .await;
        }
        crate::failpoint::hit("after_import_insert");
        let mut link = Link::new(hris_id, &self.company_id, LinkStatus::Linked);
        link.employee_id = Some(e.employee_id.clone());
        link.personal_info_id = e.personal_info_id.clone();
        link.base = Base::of(&e.values);
        let mut tx = self.state.begin().await?;
        tx.put_link(&link).await?;
        tx.audit(&entry).await?;
        tx.commit().await?;
        Ok(RecordResult::of(Outcome::Imported))
    }

    async fn update(&self, u: RecordUpdate) -> Result<RecordResult, ApplyError> {
        if u.is_noop() {
            return Ok(RecordResult::of(Outcome::Unchanged));
        }
        let only_parked = u.to_nmbrs.is_empty()
            && u.to_hris.is_empty()
            && u.link == NewLink::Existing
            && !u.write_back_employee_id
            && !u.released
            && u.conflicts
                .iter()
                .all(|c| c.resolution == Resolution::Parked);
        if only_parked && !u.conflicts.is_empty() && !self.dry_run {
            // Already reported and parked with the same fields: nothing new to say or write.
            let link = self.state.link(&u.hris_id).await?;
            if link.is_some_and(|l| {
                l.status == LinkStatus::Conflict
                    && l.last_error.as_deref() == Some(conflict_summary(&u.conflicts).as_str())
            }) {
                return Ok(RecordResult::of(Outcome::Conflict));
            }
        }
        self.update_inner(u).await
    }

    async fn update_inner(&self, u: RecordUpdate) -> Result<RecordResult, ApplyError> {
        let mut audit = Vec::new();
        let mut personal_info_id = u.personal_info_id.clone();
        let parked = u
            .conflicts
            .iter()
            .any(|c| c.resolution == Resolution::Parked);
        if let NewLink::Matched(rule) = u.link {
            audit.push(
                self.entry("link", &u.hris_id, Some(&u.employee_id))
                    .message(format!("matched an existing Nmbrs employee by {rule}")),
            );
        }
        if u.link == NewLink::IntentReconciled {
            audit.push(self.entry("link", &u.hris_id, Some(&u.employee_id)).message("create intent reconciled: the employee was found in the Nmbrs listing; not posted again"));
        }
        for c in &u.conflicts {
            audit.push(
                self.entry("conflict", &u.hris_id, Some(&u.employee_id))
                    .fields(serde_json::json!({ c.field.name(): {"base": c.base, "hris": c.hris, "nmbrs": c.nmbrs} }).to_string())
                    .message(match c.resolution {
                        Resolution::HrisWon => "changed on both sides: HRIS value kept (conflict_policy / field owner)",
                        Resolution::NmbrsWon => "changed on both sides: Nmbrs value kept (conflict_policy / field owner)",
                        Resolution::Parked => "changed on both sides: parked (conflict_policy = manual); make both sides agree to resolve",
                    }),
            );
        }
        if u.released {
            audit.push(
                self.entry("release", &u.hris_id, Some(&u.employee_id))
                    .message("the HRIS row changed since quarantine: trying again"),
            );
        }
        for c in &u.not_updatable {
            audit.push(
                self.entry("skip", &u.hris_id, Some(&u.employee_id))
                    .direction(Direction::ToNmbrs)
                    .fields(changes_json(std::slice::from_ref(c)))
                    .message(format!(
                        "{} cannot be changed through the Nmbrs API (the personal-info PUT has no such member); change it in Nmbrs. Reported once, not sent",
                        c.field
                    )),
            );
        }
        let note = |e: AuditEntry| match &u.note {
            Some(n) => e.message(n.clone()),
            None => e,
        };
        if self.dry_run {
            if !u.to_nmbrs.is_empty() {
                audit.push(note(
                    self.entry("update", &u.hris_id, Some(&u.employee_id))
                        .direction(Direction::ToNmbrs)
                        .fields(changes_json(&u.to_nmbrs)),
                ));
            }
            if !u.to_hris.is_empty() {
                audit.push(
                    self.entry("pull", &u.hris_id, Some(&u.employee_id))
                        .direction(Direction::ToHris)
                        .fields(changes_json(&u.to_hris)),
                );
            }
            self.state.audit(&audit).await?;
            return Ok(RecordResult {
                pushed: !u.to_nmbrs.is_empty(),
                pulled: !u.to_hris.is_empty(),
                ..RecordResult::of(outcome_of(&u, parked))
            });
        }

        // Nmbrs: GET → check → modify → PUT.
        if !u.to_nmbrs.is_empty() {
            let current = self
                .client
                .employee_personal_info(&self.company_id, &u.employee_id)
                .await?;
            crate::failpoint::hit("after_get");
            audit.push(
                self.entry("read", &u.hris_id, Some(&u.employee_id))
                    .http(current.call.clone()),
            );
            let Some(entries) = current.body.and_then(|h| h.info) else {
                return Err(ApiError {
                    kind: ApiErrorKind::NotFound,
                    call: current.call,
                }
                .into());
            };
            let in_force = in_force(&entries, self.period)?;
            let now = read_values(in_force.entry, &self.fields)?;
            let moved: Vec<&str> = u
                .to_nmbrs
                .iter()
                .filter(|c| now.get(c.field) != c.before.as_deref())
                .map(|c| c.field.name())
                .collect();
            if !moved.is_empty() {
                audit.push(self.entry("skip", &u.hris_id, Some(&u.employee_id)).message(format!(
                    "{} changed in Nmbrs after this cycle read it; not overwriting, the next cycle merges again",
                    moved.join(", ")
                )));
                self.state.audit(&audit).await?;
                return Ok(RecordResult::of(Outcome::Skipped));
            }
            let changes: Vec<(Field, Option<&str>)> = u
                .to_nmbrs
                .iter()
                .map(|c| (c.field, c.after.as_deref()))
                .collect();
            let body = UpdatePersonalInfo::from_entry(in_force.entry, &changes, self.period)?;
            let put = self.client.put_personal_info(&u.employee_id, &body).await?;
            crate::failpoint::hit("after_put");
            if put.body.is_some() {
                personal_info_id = put.body;
            }
            audit.push(note(
                self.entry("update", &u.hris_id, Some(&u.employee_id))
                    .direction(Direction::ToNmbrs)
                    .fields(changes_json(&u.to_nmbrs))
                    .http(put.call),
            ));
        }

        // HRIS: only if the row still holds what the plan read.
        if !u.to_hris.is_empty() {
            let changes: Vec<(Field, Option<&str>, Option<&str>)> = u
                .to_hris
                .iter()
                .map(|c| (c.field, c.before.as_deref(), c.after.as_deref()))
                .collect();
            if !self.hris.pull(&u.hris_id, &changes).await? {
                audit.push(self.entry("skip", &u.hris_id, Some(&u.employee_id)).message("the HRIS row changed during this cycle; not overwriting, the next cycle merges again"));
                self.state.audit(&audit).await?;
                return Ok(RecordResult {
                    pushed: !u.to_nmbrs.is_empty(),
                    ..RecordResult::of(Outcome::Skipped)
                });
            }
            audit.push(
                self.entry("pull", &u.hris_id, Some(&u.employee_id))
                    .direction(Direction::ToHris)
                    .fields(changes_json(&u.to_hris)),
            );
            crate::failpoint::hit("after_pull");
        }
        if u.write_back_employee_id {
            self.hris
                .set_employee_id(&u.hris_id, &u.employee_id)
                .await?;
            audit.push(
                self.entry("write_back", &u.hris_id, Some(&u.employee_id))
                    .direction(Direction::ToHris)
                    .message("nmbrs_employee_id written to the HRIS row"),
            );
        }

        // State: the new base and its explanation, together.
        let mut tx = self.state.begin().await?;
        let mut link = tx
            .get_link(&u.hris_id)
            .await?
            .unwrap_or_else(|| Link::new(&u.hris_id, &self.company_id, LinkStatus::Linked));
        link.company_id = self.company_id.clone();
        link.employee_id = Some(u.employee_id.clone());
        link.personal_info_id = personal_info_id;
        link.base = u.base_after.as_ref().map(Base::of).unwrap_or(Base::None);
        link.create_intent = None;
        link.failures = 0;
        link.quarantined_hash = None;
        link.held = u.held_after.clone();
        if parked {
            link.status = LinkStatus::Conflict;
            link.last_error = Some(conflict_summary(&u.conflicts));
        } else {
            link.status = LinkStatus::Linked;
            link.last_error = None;
        }
        tx.put_link(&link).await?;
        for e in &audit {
            tx.audit(e).await?;
        }
        crate::failpoint::hit("before_commit");
        tx.commit().await?;
        Ok(RecordResult {
            pushed: !u.to_nmbrs.is_empty(),
            pulled: !u.to_hris.is_empty(),
            ..RecordResult::of(outcome_of(&u, parked))
        })
    }
}

fn outcome_of(u: &RecordUpdate, parked: bool) -> Outcome {
    if parked {
        Outcome::Conflict
    } else if u.link != NewLink::Existing {
        Outcome::Linked
    } else if u.to_nmbrs.is_empty() && u.to_hris.is_empty() {
        Outcome::Unchanged
    } else {
        Outcome::Updated
    }
}

/// "conflict: field, field" — stored as the link's `last_error` while parked.
fn conflict_summary(conflicts: &[Conflict]) -> String {
    let parked: Vec<&str> = conflicts
        .iter()
        .filter(|c| c.resolution == Resolution::Parked)
        .map(|c| c.field.name())
        .collect();
    format!("conflict (manual): {}", parked.join(", "))
}

fn state_failure(err: &ApplyError) -> RecordResult {
    tracing::error!(error = %err, "could not record a failure in the state database");
    RecordResult {
        fatal: Some(format!("state database failure: {err}")),
        ..RecordResult::of(Outcome::Failed)
    }
}
