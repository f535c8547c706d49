//! Updating a linked record: push to Nmbrs (GET → check → modify → PUT), pull to the HRIS (guarded by
//! the values read), then the new base and its audit rows in one transaction. A side that moved since
//! the plan read it is never overwritten: the record is merged again next cycle.

use super::write::Written;
use super::{Applier, ApplyError, Outcome, RecordResult, changes_json};
use crate::fields::{Field, Resource};
use crate::plan::{Change, NewLink, RecordUpdate, Resolution, conflict_summary};
use crate::record::{Base, Link, LinkStatus, PendingWrite, Side, WriteIntent};
use crate::state::{AuditEntry, Direction, StateTx};

/// What a write step found.
enum Step {
    /// Written (or nothing to write); for a PUT, the `personalInfoId` it answered.
    Done(Option<String>),
    /// The side moved since the plan read it; the message says which fields.
    Moved(String),
}

impl Applier {
    pub(super) async fn update(&self, mut u: RecordUpdate) -> Result<RecordResult, ApplyError> {
        let would_pull = self.read_only_pulls(&mut u);
        if u.is_noop() {
            if let Some(entry) = would_pull {
                self.state.audit(&[entry]).await?;
            }
            return Ok(RecordResult::of(Outcome::Unchanged));
        }
        let mut audit = self.update_notes(&u);
        audit.extend(would_pull);
        let mut personal_info_id = u.personal_info_id.clone();
        let pushed = !u.to_nmbrs.is_empty();
        let pulled = !u.to_hris.is_empty();
        if pushed || pulled {
            self.record_write_intent(&u).await?;
            crate::failpoint::hit("after_write_intent");
        }
        if pushed {
            match self.push(&u, &mut audit).await? {
                Step::Done(id) => personal_info_id = id.or(personal_info_id),
                Step::Moved(why) => return self.moved(&u, audit, why, false).await,
            }
        }
        if pulled && let Step::Moved(why) = self.pull(&u, &mut audit).await? {
            return self.moved(&u, audit, why, pushed).await;
        }
        if u.write_back_employee_id {
            self.hris
                .set_employee_id(&u.hris_id, &u.employee_id)
                .await?;
            audit.push(self.write_back_entry(&u));
        }
        let parked = self.commit_update(&u, personal_info_id, &audit).await?;
        Ok(RecordResult {
            pushed,
            pulled,
            ..RecordResult::of(outcome_of(&u, parked))
        })
    }

    /// A read-only HRIS (`hris.write_back = false`): the pulls are taken out of the update and
    /// reported (audit `would_pull`, listed by `status`) instead of written. The base keeps the
    /// HRIS value for those fields, so the next cycle sees the same Nmbrs-side change again (and
    /// reports it again) rather than reading the unchanged HRIS row as an edit to push.
    fn read_only_pulls(&self, u: &mut RecordUpdate) -> Option<AuditEntry> {
        if self.hris.writes() || u.to_hris.is_empty() {
            return None;
        }
        let pulls = std::mem::take(&mut u.to_hris);
        if let Some(base) = &mut u.base_after {
            for c in &pulls {
                base.set(c.field, u.hris.get(c.field).map(str::to_owned).as_deref());
            }
        }
        Some(
            self.entry("would_pull", &u.hris_id, Some(&u.employee_id))
                .direction(Direction::ToHris)
                .fields(changes_json(&pulls))
                .message("read-only HRIS (hris.write_back = false): changed in Nmbrs, not written to the HRIS"),
        )
    }

    /// Records, before the first write, which fields go where and the base they leave
    /// ([`WriteIntent`]); the next plan settles it if this update never commits. Skipped when the
    /// update keeps no base (a field parked under `manual` on a first link): there is none to record.
    async fn record_write_intent(&self, u: &RecordUpdate) -> Result<(), ApplyError> {
        let Some(base_after) = &u.base_after else {
            return Ok(());
        };
        let writes = u
            .to_nmbrs
            .iter()
            .map(|c| (c, Side::Nmbrs))
            .chain(u.to_hris.iter().map(|c| (c, Side::Hris)))
            .map(|(c, to)| {
                (
                    c.field.name().to_owned(),
                    PendingWrite {
                        to,
                        // Kept as the state database keeps values (a BSN hashed).
                        before: c.before.as_deref().map(|v| c.field.stored(v).into_owned()),
                        after: c.after.as_deref().map(|v| c.field.stored(v).into_owned()),
                    },
                )
            })
            .collect();
        let base_after = base_after.to_map();
        let mut tx = self.state.begin().await?;
        let mut link = self.link_of(&mut tx, u).await?;
        link.write_intent = Some(WriteIntent { base_after, writes });
        tx.put_link(&link).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The record's link inside `tx` (a new one for a record linked in this plan), pointing at this
    /// company and the employee.
    async fn link_of(&self, tx: &mut StateTx, u: &RecordUpdate) -> Result<Link, ApplyError> {
        Ok(self.pointed(tx.get_link(&u.hris_id).await?, u))
    }

    /// `stored` (or a new link), pointing at this company and the update's employee.
    fn pointed(&self, stored: Option<Link>, u: &RecordUpdate) -> Link {
        let mut link =
            stored.unwrap_or_else(|| Link::new(&u.hris_id, &self.company_id, LinkStatus::Linked));
        link.company_id = self.company_id.clone();
        link.employee_id = Some(u.employee_id.clone());
        link
    }

    /// Audit rows that explain the record before anything is written: how it was linked, its
    /// conflicts, a release from quarantine, create-only fields the API cannot take.
    pub(super) fn update_notes(&self, u: &RecordUpdate) -> Vec<AuditEntry> {
        let mut audit = Vec::new();
        let entry = |action: &str| self.entry(action, &u.hris_id, Some(&u.employee_id));
        if let NewLink::Matched(rule) = u.link {
            audit.push(
                entry("link").message(format!("matched an existing Nmbrs employee by {rule}")),
            );
        }
        if u.link == NewLink::IntentReconciled {
            audit.push(entry("link").message("create intent reconciled: the employee was found in the Nmbrs listing; not posted again"));
        }
        for c in &u.conflicts {
            audit.push(
                entry("conflict")
                    .fields({
                        let shown = |v: &Option<String>| v.as_deref().map(|v| c.field.shown(v).into_owned());
                        serde_json::json!({ c.field.name(): {"base": shown(&c.base), "hris": shown(&c.hris), "nmbrs": shown(&c.nmbrs)} }).to_string()
                    })
                    .message(match c.resolution {
                        Resolution::HrisWon => "changed on both sides: HRIS value kept (conflict_policy / field owner)",
                        Resolution::NmbrsWon => "changed on both sides: Nmbrs value kept (conflict_policy / field owner)",
                        Resolution::Parked => "changed on both sides: parked (conflict_policy = manual); make both sides agree to resolve",
                    }),
            );
        }
        if u.released {
            audit.push(
                entry("release").message("the HRIS row changed since quarantine: trying again"),
            );
        }
        for p in &u.unresolved {
            audit.push(self.unresolved_entry(&u.hris_id, Some(&u.employee_id), p));
        }
        for c in &u.not_updatable {
            audit.push(
                entry("skip")
                    .direction(Direction::ToNmbrs)
                    .fields(changes_json([c]))
                    .message(format!(
                        "{} cannot be changed through the Nmbrs API: {}. Reported once, not sent",
                        c.field,
                        c.field.unsendable_reason(c.after.as_deref())
                    )),
            );
        }
        audit
    }

    /// The audit row of one Nmbrs-side write of `changes`, with the record's history note.
    pub(super) fn update_entry<'a>(
        &self,
        u: &RecordUpdate,
        changes: impl IntoIterator<Item = &'a Change>,
    ) -> AuditEntry {
        let e = self
            .entry("update", &u.hris_id, Some(&u.employee_id))
            .direction(Direction::ToNmbrs)
            .fields(changes_json(changes));
        match &u.note {
            Some(n) => e.message(n.clone()),
            None => e,
        }
    }

    /// The Nmbrs-side writes, resource by resource in [`Resource::ALL`] order, each GET → check →
    /// write ([`Applier::write_resource`]). Stops at the first resource that moved since the plan
    /// read it; the write intent settles what was written before it.
    async fn push(
        &self,
        u: &RecordUpdate,
        audit: &mut Vec<AuditEntry>,
    ) -> Result<Step, ApplyError> {
        let mut personal_info_id = None;
        for resource in Resource::ALL {
            let changes: Vec<&Change> = u
                .to_nmbrs
                .iter()
                .filter(|c| c.field.resource() == resource)
                .collect();
            if changes.is_empty() {
                continue;
            }
            let (read, written) = self
                .write_resource(&u.employee_id, resource, &changes)
                .await?;
            audit.push(
                self.entry("read", &u.hris_id, Some(&u.employee_id))
                    .http(read),
            );
            match written {
                Written::Moved(why) => return Ok(Step::Moved(why)),
                Written::Done(call, id) => {
                    personal_info_id = id.or(personal_info_id);
                    audit.push(self.update_entry(u, changes).http(call));
                }
            }
        }
        Ok(Step::Done(personal_info_id))
    }

    /// Writes the pulled fields to the HRIS row, only if it still holds what the plan read.
    async fn pull(
        &self,
        u: &RecordUpdate,
        audit: &mut Vec<AuditEntry>,
    ) -> Result<Step, ApplyError> {
        let changes: Vec<(Field, Option<&str>, Option<&str>)> = u
            .to_hris
            .iter()
            .map(|c| (c.field, c.before.as_deref(), c.after.as_deref()))
            .collect();
        // Still the planned value: the same value in its comparable form, or — for a reference
        // field — a code, e-mail address or mapped name of the same Nmbrs object.
        let holds = |f: Field, now: Option<&str>, before: Option<&str>| match (now, before) {
            (Some(n), Some(b)) if f.resource().is_reference() => {
                f.same(Some(n), Some(b))
                    || self
                        .refs
                        .resolve(f, n)
                        .is_ok_and(|o| f.same(Some(&o.name), Some(b)))
            }
            _ => f.same(now, before),
        };
        if !self.hris.pull(&u.hris_id, &changes, holds).await? {
            return Ok(Step::Moved(
                "the HRIS row changed during this cycle; not overwriting, the next cycle merges again"
                    .into(),
            ));
        }
        audit.push(
            self.entry("pull", &u.hris_id, Some(&u.employee_id))
                .direction(Direction::ToHris)
                .fields(changes_json(&u.to_hris)),
        );
        crate::failpoint::hit("after_pull");
        Ok(Step::Done(None))
    }

    /// A side moved under us: say so, write nothing more; the next cycle merges again.
    async fn moved(
        &self,
        u: &RecordUpdate,
        mut audit: Vec<AuditEntry>,
        why: String,
        pushed: bool,
    ) -> Result<RecordResult, ApplyError> {
        audit.push(
            self.entry("skip", &u.hris_id, Some(&u.employee_id))
                .message(why),
        );
        self.state.audit(&audit).await?;
        Ok(RecordResult {
            pushed,
            ..RecordResult::of(Outcome::Skipped)
        })
    }

    /// The new base, ids and bookkeeping with their audit rows, in one transaction. Returns
    /// whether a field is parked.
    async fn commit_update(
        &self,
        u: &RecordUpdate,
        personal_info_id: Option<String>,
        audit: &[AuditEntry],
    ) -> Result<bool, ApplyError> {
        let mut tx = self.state.begin().await?;
        let link = self.link_of(&mut tx, u).await?;
        let parked = self
            .settle(&mut tx, link, u, personal_info_id, audit)
            .await?;
        crate::failpoint::hit("before_commit");
        tx.commit().await?;
        Ok(parked)
    }

    /// Writes the record's link after the update inside `tx`: the new base, ids, held values,
    /// status; its audit rows after. Returns whether a field is parked.
    async fn settle(
        &self,
        tx: &mut StateTx,
        link: Link,
        u: &RecordUpdate,
        personal_info_id: Option<String>,
        audit: &[AuditEntry],
    ) -> Result<bool, ApplyError> {
        let (link, parked) = settled(link, u, personal_info_id);
        tx.put_link(&link).await?;
        tx.audit_many(audit).await?;
        Ok(parked)
    }

    /// Applies many updates that write neither Nmbrs nor the HRIS fields (first links, a base or
    /// held values to refresh, an `employeeId` to write back): the write-backs in one HRIS
    /// transaction, then every link and audit row in one state transaction. A first cycle that
    /// links 100,000 employees costs two commits per batch instead of three round trips per
    /// record (issue 13). The order is the single record's: a crash after the write-backs leaves
    /// rows carrying an `employeeId` and no link, which the next plan links by that id.
    ///
    /// Errors: a failed batch is returned whole; the caller applies its records one by one, so
    /// each failure is recorded against its own record.
    pub(super) async fn apply_bookkeeping(
        &self,
        updates: &[RecordUpdate],
    ) -> Result<Vec<RecordResult>, ApplyError> {
        debug_assert!(updates.iter().all(RecordUpdate::is_bookkeeping));
        let write_backs: Vec<(&str, &str)> = updates
            .iter()
            .filter(|u| u.write_back_employee_id)
            .map(|u| (u.hris_id.as_str(), u.employee_id.as_str()))
            .collect();
        if !write_backs.is_empty() {
            self.hris.set_employee_ids(&write_backs).await?;
        }
        let mut tx = self.state.begin().await?;
        let ids: Vec<&str> = updates.iter().map(|u| u.hris_id.as_str()).collect();
        let mut stored = tx.get_links(&ids).await?;
        let mut results = Vec::with_capacity(updates.len());
        let mut links = Vec::with_capacity(updates.len());
        let mut audit = Vec::with_capacity(2 * updates.len());
        for u in updates {
            audit.extend(self.update_notes(u));
            if u.write_back_employee_id {
                audit.push(self.write_back_entry(u));
            }
            let link = self.pointed(stored.remove(&u.hris_id), u);
            let (link, parked) = settled(link, u, u.personal_info_id.clone());
            links.push(link);
            results.push(RecordResult::of(outcome_of(u, parked)));
        }
        // Every link, then every audit row in record order: a statement per table, not per row.
        tx.put_links(&links).await?;
        tx.audit_many(&audit).await?;
        crate::failpoint::hit("before_commit");
        tx.commit().await?;
        for r in &results {
            super::count(r);
        }
        Ok(results)
    }

    fn write_back_entry(&self, u: &RecordUpdate) -> AuditEntry {
        self.entry("write_back", &u.hris_id, Some(&u.employee_id))
            .direction(Direction::ToHris)
            .message("nmbrs_employee_id written to the HRIS row")
    }
}

/// The record's link after the update: the new base, ids, held values, status. Returns it and
/// whether a field is parked.
fn settled(mut link: Link, u: &RecordUpdate, personal_info_id: Option<String>) -> (Link, bool) {
    let parked = u.parks();
    link.personal_info_id = personal_info_id;
    link.base = u.base_after.as_ref().map(Base::of).unwrap_or(Base::None);
    link.create_intent = None;
    link.failures = 0;
    link.quarantined_hash = None;
    link.held = u.held_after.clone();
    link.write_intent = None;
    if parked {
        link.status = LinkStatus::Conflict;
        link.last_error = Some(conflict_summary(&u.conflicts));
    } else {
        link.status = LinkStatus::Linked;
        link.last_error = None;
    }
    (link, parked)
}

/// The outcome of an update that went through.
pub(super) fn outcome_of(u: &RecordUpdate, parked: bool) -> Outcome {
    if parked {
        Outcome::Conflict
    } else if !u.unresolved.is_empty() {
        // A field was rejected: the record is not in agreement until the HRIS value is fixed.
        Outcome::Rejected
    } else if u.link != NewLink::Existing {
        Outcome::Linked
    } else if u.to_nmbrs.is_empty() && u.to_hris.is_empty() {
        Outcome::Unchanged
    } else {
        Outcome::Updated
    }
}
