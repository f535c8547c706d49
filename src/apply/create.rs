//! Creating an employee exactly once (docs/SPEC.md rule 2): each step a named function, in the order
//! that makes a crash at any point harmless.

use super::{Applier, ApplyError, Outcome, RecordResult, all_set, changes_json};
use crate::fields::FieldValues;
use crate::nmbrs::client::ApiErrorKind;
use crate::nmbrs::model::{CreateEmployee, CreateError};
use crate::nmbrs::{ApiError, Response};
use crate::plan::{Change, NewLink, RecordUpdate};
use crate::record::FieldProblem;
use crate::record::{Base, CreateIntent, Link, LinkStatus};
use crate::state::Direction;
use time::OffsetDateTime;

impl Applier {
    /// Intent → POST → id into the HRIS row → link → the other resources (job, address…) through
    /// the update path. `after_intent`: an earlier intent was looked up and its employee is not in
    /// the listing. `unresolved`: fields rejected alone, reported and not sent.
    pub(super) async fn create(
        &self,
        hris_id: &str,
        values: &FieldValues,
        after_intent: bool,
        unresolved: Vec<FieldProblem>,
    ) -> Result<RecordResult, ApplyError> {
        let body = match self.create_body(values) {
            Ok(b) => b,
            Err(e) => return self.create_refused(hris_id, &e, values).await,
        };
        let mut link = self.record_intent(hris_id, values, after_intent).await?;
        crate::failpoint::hit("after_intent");
        let created = match self.client.create_employee(&self.company_id, &body).await {
            Ok(r) => r,
            Err(e) => return self.create_failed(hris_id, e, values).await,
        };
        crate::failpoint::hit("after_post");
        // A crash before the link commits leaves the intent pending: the next cycle finds the
        // employee by lookup (this id in the HRIS row is its hint) and links it.
        // A read-only HRIS (`hris.write_back = false`) keeps no id: the link below holds it.
        if self.hris.writes() {
            self.hris.set_employee_id(hris_id, &created.body).await?;
        }
        crate::failpoint::hit("after_write_back");
        let employee_id = created.body.clone();
        self.commit_created(&mut link, values, created).await?;
        crate::failpoint::hit("after_link");
        // The other resources are written as an update of the new employee, with its write intent:
        // a crash from here on leaves a linked record whose base lacks them, so the next cycle's
        // merge writes them (never a second create).
        self.update(self.after_create(hris_id, &employee_id, values, unresolved))
            .await?;
        Ok(RecordResult::of(Outcome::Created))
    }

    /// The update that writes what the create body cannot carry: every other mapped field with a
    /// value, from the base the create left ([`FieldValues::as_created`]).
    fn after_create(
        &self,
        hris_id: &str,
        employee_id: &str,
        values: &FieldValues,
        unresolved: Vec<FieldProblem>,
    ) -> RecordUpdate {
        let created = values.as_created();
        let to_nmbrs: Vec<Change> = self
            .fields
            .iter()
            .filter(|f| !f.in_create_body())
            .filter_map(|&f| {
                values.get(f).map(|v| Change {
                    field: f,
                    before: None,
                    after: Some(v.to_owned()),
                })
            })
            .collect();
        RecordUpdate {
            hris_id: hris_id.to_owned(),
            employee_id: employee_id.to_owned(),
            personal_info_id: None,
            link: NewLink::Existing,
            write_back_employee_id: false,
            released: false,
            hris: values.clone(),
            nmbrs: created,
            snapshot_changed: !to_nmbrs.is_empty(),
            to_nmbrs,
            to_hris: Vec::new(),
            conflicts: Vec::new(),
            not_updatable: Vec::new(),
            held_after: Default::default(),
            held_changed: false,
            settles_link: false,
            base_after: Some(values.clone()),
            note: None,
            unresolved,
        }
    }

    /// The mapped fields the create body carries.
    fn create_body_fields(&self) -> Vec<crate::fields::Field> {
        self.fields
            .iter()
            .copied()
            .filter(|f| f.in_create_body())
            .collect()
    }

    /// The create body of a record (docs/nmbrs-api.md, "Writing").
    pub(super) fn create_body(&self, values: &FieldValues) -> Result<CreateEmployee, CreateError> {
        CreateEmployee::new(values, &self.fields, self.period, &self.create_defaults)
    }

    /// Step 1: the intent, committed before anything leaves the building.
    async fn record_intent(
        &self,
        hris_id: &str,
        values: &FieldValues,
        after_intent: bool,
    ) -> Result<Link, ApplyError> {
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
        Ok(link)
    }

    /// Step 4: the link, with its audit rows. Nmbrs now holds the create body's fields: they are
    /// the base.
    async fn commit_created(
        &self,
        link: &mut Link,
        values: &FieldValues,
        created: Response<String>,
    ) -> Result<(), ApplyError> {
        let employee_id = created.body;
        let hris_id = link.hris_id.clone();
        let mut tx = self.state.begin().await?;
        link.employee_id = Some(employee_id.clone());
        link.status = LinkStatus::Linked;
        link.create_intent = None;
        link.failures = 0;
        link.last_error = None;
        link.base = Base::of(&values.as_created());
        tx.put_link(link).await?;
        tx.audit(
            &self
                .entry("create", &hris_id, Some(&employee_id))
                .direction(Direction::ToNmbrs)
                .fields(changes_json(&all_set(values, &self.create_body_fields())))
                .http(created.call),
        )
        .await?;
        tx.audit(
            &self
                .entry("write_back", &hris_id, Some(&employee_id))
                .direction(Direction::ToHris)
                .message("nmbrs_employee_id written to the HRIS row"),
        )
        .await?;
        crate::failpoint::hit("before_commit");
        tx.commit().await?;
        tracing::info!(hris_id, employee_id, "employee created");
        Ok(())
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

    /// The POST failed. Only an answer that proves nothing was created clears the intent;
    /// anything else keeps it for the lookup of the next cycle.
    async fn create_failed(
        &self,
        hris_id: &str,
        e: ApiError,
        values: &FieldValues,
    ) -> Result<RecordResult, ApplyError> {
        if e.is_fatal() {
            return Err(e.into());
        }
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
}
