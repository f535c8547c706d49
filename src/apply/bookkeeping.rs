//! Records that need no write to Nmbrs: rejected rows, failures (counted toward quarantine), skips
//! (a vanished side is reported once), and imports of employees only Nmbrs has.

use super::{Applier, ApplyError, Outcome, RecordResult, all_set, changes_json};
use crate::nmbrs::HttpCall;
use crate::plan::{NmbrsEmployee, SkipReason};
use crate::record::{Base, Link, LinkStatus, Rejection};
use crate::state::{AuditEntry, Direction};

impl Applier {
    pub(super) async fn reject(&self, rej: &Rejection) -> Result<RecordResult, ApplyError> {
        // Field names only at warn: the values may be personal data (they are in the audit log).
        let fields: Vec<&str> = rej.problems.iter().map(|p| p.field.as_str()).collect();
        tracing::warn!(rowid = rej.rowid, hris_id = rej.hris_id.as_deref(), fields = ?fields, "HRIS row rejected; details in the audit log");
        tracing::debug!(message = %rej.message(), "rejection details");
        let entry = self.reject_entry(rej);
        let mut tx = self.state.begin().await?;
        // A forgotten record's row is never recorded again (the planner skips it; a row of an
        // unknown company is rejected without the planner seeing its link).
        if let Some(id) = &rej.hris_id
            && tx
                .get_link(id)
                .await?
                .is_some_and(|l| l.status == LinkStatus::Forgotten)
        {
            return Ok(RecordResult::of(Outcome::Skipped));
        }
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
    pub(super) async fn fail(
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
        let mut tx = self.state.begin().await?;
        let link = tx.get_link(hris_id).await?;
        // A tombstone stays one, and its record's errors are not recorded (they may quote values).
        if link
            .as_ref()
            .is_some_and(|l| l.status == LinkStatus::Forgotten)
        {
            return Ok(RecordResult::of(Outcome::Skipped));
        }
        tx.audit(&entry).await?;
        let mut link =
            link.unwrap_or_else(|| Link::new(hris_id, &self.company_id, LinkStatus::Failed));
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
        } else if !matches!(
            link.status,
            LinkStatus::PendingCreate | LinkStatus::PendingImport
        ) {
            // A pending create keeps its intent (the POST may have landed and must be looked up),
            // a pending import its base (the row may have landed).
            link.status = LinkStatus::Failed;
        }
        tx.put_link(&link).await?;
        tx.commit().await?;
        Ok(RecordResult::of(outcome))
    }

    pub(super) async fn skip(
        &self,
        hris_id: &str,
        employee_id: Option<&str>,
        reason: SkipReason,
    ) -> Result<RecordResult, ApplyError> {
        // Its `forget` row said it all; a row per cycle would only keep the id in fresh rows.
        if reason == SkipReason::Forgotten {
            return Ok(RecordResult::of(Outcome::Skipped));
        }
        let entry = self
            .entry("skip", hris_id, employee_id)
            .message(reason.as_str());
        match reason.status() {
            // Report a vanished side once, when it is first seen, not every cycle.
            Some(status) => {
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
        Ok(RecordResult::of(skip_outcome(reason)))
    }

    pub(super) async fn import(
        &self,
        hris_id: &str,
        e: &NmbrsEmployee,
    ) -> Result<RecordResult, ApplyError> {
        let entry = self.import_entry(hris_id, e);
        // A read-only HRIS cannot take the row: report it, link nothing (it is reported again
        // each cycle until the HRIS has the person).
        if !self.hris.writes() {
            let mut entry = entry;
            entry.action = "would_import".into();
            let entry = entry.message(
                "read-only HRIS (hris.write_back = false): employee only in Nmbrs, no row inserted",
            );
            self.state.audit(&[entry]).await?;
            return Ok(RecordResult::of(Outcome::Skipped));
        }
        // 1. The import is recorded first, with the employee's values as the base, so a crash after
        //    the row lands never leaves a row without a base (its stale copy would win a conflict).
        let mut link = Link::new(hris_id, &self.company_id, LinkStatus::PendingImport);
        link.employee_id = Some(e.employee_id.clone());
        link.personal_info_id = e.personal_info_id.clone();
        link.base = Base::of(&e.values);
        let mut tx = self.state.begin().await?;
        tx.put_link(&link).await?;
        tx.commit().await?;
        crate::failpoint::hit("after_import_intent");
        // 2. The row.
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
        // 3. Linked, with its audit row.
        link.status = LinkStatus::Linked;
        let mut tx = self.state.begin().await?;
        tx.put_link(&link).await?;
        tx.audit(&entry).await?;
        tx.commit().await?;
        Ok(RecordResult::of(Outcome::Imported))
    }

    /// The audit row of a rejection: the message, and each field's problem as JSON.
    pub(super) fn reject_entry(&self, rej: &Rejection) -> AuditEntry {
        let hris_id = rej
            .hris_id
            .clone()
            .unwrap_or_else(|| format!("rowid:{}", rej.rowid));
        let problems: serde_json::Map<String, serde_json::Value> = rej
            .problems
            .iter()
            .map(|p| (p.field.clone(), serde_json::Value::from(p.message.clone())))
            .collect();
        self.entry("reject", &hris_id, None)
            .message(rej.message())
            .fields(serde_json::Value::Object(problems).to_string())
    }

    /// The audit row of an import.
    pub(super) fn import_entry(&self, hris_id: &str, e: &NmbrsEmployee) -> AuditEntry {
        self.entry("import", hris_id, Some(&e.employee_id))
            .direction(Direction::ToHris)
            .fields(changes_json(&all_set(&e.values, &self.fields)))
    }
}

/// A create still in flight is `pending` (its own count in the summary); every other skip is `skipped`.
pub(super) fn skip_outcome(reason: SkipReason) -> Outcome {
    match reason {
        SkipReason::CreateInFlight => Outcome::Pending,
        _ => Outcome::Skipped,
    }
}
