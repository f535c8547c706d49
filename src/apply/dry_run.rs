//! A dry run (`sync --once --dry-run`, docs/SPEC.md "Command line"): every decision becomes the audit
//! rows of what it would do; nothing is sent to Nmbrs and nothing is written to the HRIS or the links.

use super::bookkeeping::skip_outcome;
use super::update::outcome_of;
use super::{Applier, ApplyError, Outcome, RecordResult, all_set, changes_json};
use crate::plan::Decision;
use crate::plan::SkipReason;
use crate::state::Direction;

impl Applier {
    /// What `decision` would do, audited (rows carry `dry_run = 1`).
    pub(super) async fn preview(
        &self,
        decision: Decision,
        hris_id: &str,
        employee_id: Option<&str>,
    ) -> Result<RecordResult, ApplyError> {
        let (rows, result) = match decision {
            Decision::Unchanged { .. } => (vec![], RecordResult::of(Outcome::Unchanged)),
            Decision::StillParked { .. } => (vec![], RecordResult::of(Outcome::Conflict)),
            Decision::Update(u) if u.is_noop() => (vec![], RecordResult::of(Outcome::Unchanged)),
            Decision::Update(u) => {
                let mut rows = self.update_notes(&u);
                if !u.to_nmbrs.is_empty() {
                    rows.push(self.update_entry(&u, &u.to_nmbrs));
                }
                // A read-only HRIS takes no pull: the real run reports it as `would_pull` too.
                let writes = self.hris.writes();
                if !u.to_hris.is_empty() {
                    rows.push(
                        self.entry(
                            if writes { "pull" } else { "would_pull" },
                            hris_id,
                            employee_id,
                        )
                        .direction(Direction::ToHris)
                        .fields(changes_json(&u.to_hris)),
                    );
                }
                let parked = u.parks();
                let result = RecordResult {
                    pushed: !u.to_nmbrs.is_empty(),
                    pulled: writes && !u.to_hris.is_empty(),
                    ..RecordResult::of(outcome_of(&u, parked))
                };
                (rows, result)
            }
            Decision::Create {
                values, unresolved, ..
            } => match self.create_body(&values) {
                Ok(_) => {
                    let mut rows = vec![
                        self.entry("create", hris_id, None)
                            .direction(Direction::ToNmbrs)
                            .fields(changes_json(&all_set(&values, &self.fields))),
                    ];
                    rows.extend(
                        unresolved
                            .iter()
                            .map(|p| self.unresolved_entry(hris_id, None, p)),
                    );
                    (rows, RecordResult::of(Outcome::Created))
                }
                Err(e) => (
                    vec![self.entry("error", hris_id, None).message(e.to_string())],
                    RecordResult::of(Outcome::Failed),
                ),
            },
            Decision::Import { employee, .. } if !self.hris.writes() => {
                let mut entry = self.import_entry(hris_id, &employee);
                entry.action = "would_import".into();
                (vec![entry], RecordResult::of(Outcome::Skipped))
            }
            Decision::Import { employee, .. } => (
                vec![self.import_entry(hris_id, &employee)],
                RecordResult::of(Outcome::Imported),
            ),
            Decision::Reject(rej) => (
                vec![self.reject_entry(&rej)],
                RecordResult::of(Outcome::Rejected),
            ),
            Decision::Fail { message, .. } => (
                vec![self.entry("error", hris_id, employee_id).message(message)],
                RecordResult::of(Outcome::Failed),
            ),
            // A vanished side is reported when it is first seen by a real run; a forgotten record
            // was reported by its `forget` row.
            Decision::Skip { reason, .. }
                if reason.status().is_some() || reason == SkipReason::Forgotten =>
            {
                (vec![], RecordResult::of(Outcome::Skipped))
            }
            Decision::Skip { reason, .. } => (
                vec![
                    self.entry("skip", hris_id, employee_id)
                        .message(reason.as_str()),
                ],
                RecordResult::of(skip_outcome(reason)),
            ),
        };
        self.state.audit(&rows).await?;
        Ok(result)
    }
}
