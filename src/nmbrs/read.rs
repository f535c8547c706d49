//! The "read Nmbrs" step of a cycle: one company's listings (one per enabled resource, read side by
//! side, each page by page), the employees as the planner sees them (the entry in force of every
//! resource, member by member), and the debtor's reference lists. Nothing here writes; the cycle
//! (`crate::sync`) records what was read in the audit log.

use super::client::{ApiError, NmbrsClient, Response};
use super::model::History;
use super::model::resources::{ReadAt, org, read_resource};
use super::{HttpCall, model::ReadError};
use crate::fields::{Field, Resource};
use crate::plan::NmbrsEmployee;
use crate::plan::reference::References;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// Each enabled resource's listing of one company, as read.
pub(crate) type CompanyListings = Vec<(Resource, Result<Response<Vec<History>>, ApiError>)>;

/// One resource's histories by `employeeId`.
type ById = HashMap<String, Option<Vec<Value>>>;

/// The resources a cycle reads: personal info (the employees themselves) and every resource with
/// a mapped field. A resource with no mapped field costs no call.
pub(crate) fn resources_for(fields: &[Field]) -> Vec<Resource> {
    Resource::ALL
        .into_iter()
        .filter(|&r| r == Resource::PersonalInfo || fields.iter().any(|f| f.resource() == r))
        .collect()
}

/// Reads every listing of `resources` for one company, side by side
/// (`GET /api/companies/{companyId}/employees/<listing>`, all pages each).
pub(crate) async fn company_listings(
    client: &NmbrsClient,
    company_id: &str,
    resources: &[Resource],
) -> CompanyListings {
    let reads = resources
        .iter()
        .map(|&r| async move { (r, client.company_history(company_id, r).await) });
    futures::future::join_all(reads).await
}

/// The employees of the personal-info listing as the planner sees them: for every read resource,
/// the entry in force (`read_at`), read for the mapped `fields` (unmapped ones stay empty, so both
/// sides hash alike). A missing key or an unreadable history makes the employee unreadable, never
/// empty; an employee absent from another resource's listing has no entries there.
pub(crate) fn employees_in_force(
    listings: Vec<(Resource, Vec<History>)>,
    read_at: &ReadAt,
    fields: &[Field],
) -> Vec<NmbrsEmployee> {
    let mut personal = Vec::new();
    let mut others: Vec<(Resource, ById)> = Vec::new();
    for (resource, body) in listings {
        if resource == Resource::PersonalInfo {
            personal = body;
        } else {
            others.push((
                resource,
                body.into_iter()
                    .map(|h| (h.employee_id, h.entries))
                    .collect(),
            ));
        }
    }
    personal
        .into_iter()
        .map(|item| {
            let mut e = NmbrsEmployee {
                employee_id: item.employee_id,
                ..NmbrsEmployee::default()
            };
            let sources = std::iter::once((Resource::PersonalInfo, item.entries.as_deref())).chain(
                others.iter().map(|(r, by_id)| {
                    let entries = match by_id.get(&e.employee_id) {
                        Some(entries) => entries.as_deref(),
                        None => Some(&[][..]),
                    };
                    (*r, entries)
                }),
            );
            let mut notes = Vec::new();
            for (resource, entries) in sources {
                let read = entries
                    .ok_or_else(|| ReadError::missing(resource.history_key()))
                    .and_then(|entries| read_resource(resource, entries, read_at, fields));
                match read {
                    Ok(r) => {
                        for f in resource.fields() {
                            if let Some(v) = r.values.get(f) {
                                e.values.set(f, Some(v));
                            }
                        }
                        if resource == Resource::PersonalInfo {
                            e.personal_info_id = r.entry_id;
                        }
                        notes.extend(r.note);
                    }
                    Err(err) => {
                        e.unreadable = Some(format!("employee {}: {err}", e.employee_id));
                        e.values = Default::default();
                        break;
                    }
                }
            }
            e.note = (!notes.is_empty()).then(|| notes.join("; "));
            e
        })
        .collect()
}

/// The newest stamp among a listing's entries: when an entry was created (`createdAt`; for an
/// employment, which is updated in place, the later of `creationDate` and `changedDate`), as
/// Nmbrs wrote it. The watermark an incremental read starts from (issue 13); `None` for a listing
/// without entries. Stamps of one server share one format, so the text order is the time order.
pub(crate) fn newest_stamp(resource: Resource, histories: &[History]) -> Option<String> {
    let members: &[&str] = match resource {
        Resource::Employment => &["creationDate", "changedDate"],
        _ => &["createdAt"],
    };
    histories
        .iter()
        .flat_map(|h| h.entries.iter().flatten())
        .flat_map(|e| {
            members
                .iter()
                .filter_map(|m| e.get(*m).and_then(Value::as_str))
        })
        .max()
        .map(str::to_owned)
}

/// What reading one reference list gave, for the audit log.
pub(crate) struct ReferenceRead {
    pub(crate) resource: Resource,
    pub(crate) call: HttpCall,
    /// `Ok(objects read)`, or why the list is not used this cycle.
    pub(crate) outcome: Result<usize, String>,
}

/// The debtor's objects the reference fields among `resources` name
/// (`GET /api/debtors/{debtorId}/{functions,departments,managers}`). A list that cannot be read
/// leaves its field unresolved (not synced this cycle), never empty.
///
/// Errors: only a fatal API error (credentials, scope, quota), which stops the cycle.
pub(crate) async fn debtor_references(
    client: &NmbrsClient,
    debtor_id: &str,
    resources: &[Resource],
    value_maps: &BTreeMap<Field, BTreeMap<String, String>>,
) -> Result<(References, Vec<ReferenceRead>), ApiError> {
    let mut refs = References::new(value_maps);
    let mut reads = Vec::new();
    for &resource in resources.iter().filter(|r| r.is_reference()) {
        let Some(field) = org::field_of(resource) else {
            continue;
        };
        match client.debtor_objects(debtor_id, resource).await {
            Ok(r) => {
                let objects: Result<Vec<_>, _> = r
                    .body
                    .iter()
                    .enumerate()
                    .map(|(i, o)| org::ref_object(resource, o, i))
                    .collect();
                let outcome = match objects {
                    Ok(objects) => {
                        let n = objects.len();
                        refs.set(field, objects);
                        Ok(n)
                    }
                    Err(e) => Err(e.to_string()),
                };
                reads.push(ReferenceRead {
                    resource,
                    call: r.call,
                    outcome,
                });
            }
            Err(e) if e.is_fatal() => return Err(e),
            Err(e) => reads.push(ReferenceRead {
                resource,
                outcome: Err(e.to_string()),
                call: e.call,
            }),
        }
    }
    Ok((refs, reads))
}
