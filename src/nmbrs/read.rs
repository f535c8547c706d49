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
/// (`GET /api/companies/{companyId}/employees/<listing>`, all pages each); a resource in `since`
/// is read from that time on only (an incremental read).
pub(crate) async fn company_listings(
    client: &NmbrsClient,
    company_id: &str,
    resources: &[Resource],
    since: &HashMap<Resource, String>,
) -> CompanyListings {
    let reads = resources.iter().map(|&r| async move {
        let from = since.get(&r).map(String::as_str);
        (r, client.company_history(company_id, r, from).await)
    });
    futures::future::join_all(reads).await
}

/// How far back an incremental read starts before what the last read saw: covers clock skew, the
/// hour Dutch wall-clock time repeats in autumn, and whether a server reads `createdFrom` as Dutch
/// or UTC time (1–2 h apart). Entries seen again only cost a re-read of their employees.
pub(crate) const OVERLAP: time::Duration = time::Duration::hours(3);

/// The `createdFrom` of an incremental read: `OVERLAP` before the last read's newest stamp (or,
/// when its listing was empty, before the read itself). `None` (read the listing whole) when
/// neither is known.
pub(crate) fn since(
    watermark: Option<&str>,
    read_at: Option<time::OffsetDateTime>,
) -> Option<String> {
    use time::format_description::well_known::Rfc3339;
    let stamp = match watermark {
        Some(w) => time::OffsetDateTime::parse(w.trim(), &Rfc3339)
            .ok()
            .or_else(|| {
                time::PrimitiveDateTime::parse(
                    w.trim(),
                    time::macros::format_description!(
                        "[year]-[month]-[day]T[hour]:[minute]:[second]"
                    ),
                )
                .ok()
                .map(|p| p.assume_utc())
            })?,
        None => read_at?,
    };
    // Written with `Z` (the description's `format: date-time` needs an offset): whether a server
    // reads it as UTC or, like its own `createdAt`, as Dutch wall-clock time, the overlap keeps it
    // before the watermark.
    let from = stamp - OVERLAP;
    from.format(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
    ))
    .ok()
}

/// The full histories of some employees of a company, per resource: one
/// `GET …/<listing>?employeeId=…` per employee and resource; a listing the description gives no
/// `employeeId` filter (`privateInfos`) is read whole once and cut down. An employee absent from a
/// listing has no entries there.
///
/// Errors: the first failed call (the caller skips the company for the cycle).
pub(crate) async fn employee_histories(
    client: &NmbrsClient,
    company_id: &str,
    resources: &[Resource],
    employees: &[String],
) -> Result<Vec<(Resource, Vec<History>)>, ApiError> {
    use futures::StreamExt;
    let mut out = Vec::with_capacity(resources.len());
    if employees.is_empty() {
        return Ok(out);
    }
    for &r in resources {
        let histories = if r == Resource::PrivateInfo {
            let wanted: std::collections::HashSet<&str> =
                employees.iter().map(String::as_str).collect();
            client
                .company_history(company_id, r, None)
                .await?
                .body
                .into_iter()
                .filter(|h| wanted.contains(h.employee_id.as_str()))
                .collect()
        } else {
            // Owned per call: a stream of futures borrowing from here would not be `Send` for
            // every lifetime the daemon's spawned cycle needs.
            let reads = futures::stream::iter(employees.to_vec())
                .map(|e| {
                    let (client, company) = (client.clone(), company_id.to_owned());
                    async move { client.employee_history(&company, r, &e).await }
                })
                .buffer_unordered(8)
                .collect::<Vec<_>>()
                .await;
            let mut histories = Vec::with_capacity(reads.len());
            for h in reads {
                histories.extend(h?.body);
            }
            histories
        };
        out.push((r, histories));
    }
    Ok(out)
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
    histories
        .iter()
        .flat_map(|h| h.entries.iter().flatten())
        .filter_map(|e| stamp(resource, e))
        .max()
        .map(str::to_owned)
}

/// A short hash of one entry of one employee (its whole JSON, keys sorted): the same entry read
/// again has the same key; an entry edited in place has another.
pub(crate) fn entry_key(employee_id: &str, entry: &Value) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(employee_id.as_bytes());
    h.update([0]);
    h.update(entry.to_string().as_bytes());
    hex::encode(&h.finalize()[..8])
}

/// The stamp of an entry (see [`newest_stamp`]).
fn stamp(resource: Resource, entry: &Value) -> Option<&str> {
    let members: &[&str] = match resource {
        Resource::Employment => &["creationDate", "changedDate"],
        _ => &["createdAt"],
    };
    members
        .iter()
        .filter_map(|m| entry.get(*m).and_then(Value::as_str))
        .max()
}

/// The keys of the entries stamped within [`OVERLAP`] before `watermark`: what the next
/// incremental read will see again and must not take for new.
pub(crate) fn recent_keys(
    resource: Resource,
    histories: &[History],
    watermark: Option<&str>,
) -> Vec<String> {
    let Some(from) = since(watermark, None) else {
        return Vec::new();
    };
    histories
        .iter()
        .flat_map(|h| {
            h.entries.iter().flatten().filter_map(|e| {
                let s = stamp(resource, e)?;
                (s >= from.as_str()).then(|| entry_key(&h.employee_id, e))
            })
        })
        .collect()
}

/// The employees of incremental listings with an entry that is new: not among the recent keys the
/// last read kept ([`recent_keys`]).
pub(crate) fn employees_with_new_entries<'a>(
    listings: impl IntoIterator<Item = (Resource, &'a [History])>,
    recent: &HashMap<Resource, &std::collections::HashSet<String>>,
) -> Vec<String> {
    let mut out = std::collections::BTreeSet::new();
    for (r, histories) in listings {
        let known = recent.get(&r);
        for h in histories {
            let new = h
                .entries
                .iter()
                .flatten()
                .any(|e| known.is_none_or(|k| !k.contains(&entry_key(&h.employee_id, e))));
            if new {
                out.insert(h.employee_id.clone());
            }
        }
    }
    out.into_iter().collect()
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

/// What an incremental read of one company needs besides its listings since the last read.
#[derive(Debug, Default)]
pub(crate) struct Incremental {
    /// Employees to read whole (every resource): seen in a listing since the last read, or whose
    /// record has work pending (not a clean link), or whose HRIS row changed since its base.
    pub(crate) fresh: Vec<String>,
    /// The other linked employees, as they were when last agreed (their base): nothing about them
    /// changed on either side since.
    pub(crate) known: Vec<NmbrsEmployee>,
}

/// Whether a link is clean: linked here, agreed on a known base, nothing pending.
fn clean(link: &crate::record::Link, company_id: &str) -> bool {
    use crate::record::{Base, LinkStatus};
    link.company_id == company_id
        && link.employee_id.is_some()
        && link.status == LinkStatus::Linked
        && matches!(link.base, Base::Known { .. })
        && link.write_intent.is_none()
        && link.create_intent.is_none()
}

/// Decides what an incremental read of a company must read whole (issue 13). `None` when the
/// company must be read whole: a valid HRIS row without an employee here (a create or a match
/// needs the full listing, or the same person could be created twice).
pub(crate) fn incremental(
    company_id: &str,
    rows: &[crate::record::HrisRow],
    links: &[crate::record::Link],
    seen: impl IntoIterator<Item = String>,
) -> Option<Incremental> {
    use crate::record::Base;
    use std::collections::{BTreeSet, HashMap};
    let by_hris: HashMap<&str, &crate::record::Link> =
        links.iter().map(|l| (l.hris_id.as_str(), l)).collect();
    let mut fresh: BTreeSet<String> = seen.into_iter().collect();
    for rec in rows.iter().flatten() {
        let link = by_hris.get(rec.hris_id.as_str())?;
        // A forgotten record is skipped whatever either side holds (issue 15).
        if link.status == crate::record::LinkStatus::Forgotten {
            continue;
        }
        let employee = link.employee_id.as_deref()?;
        if link.company_id != company_id {
            return None;
        }
        let unchanged = link.base.hash() == Some(rec.values.digest().as_str())
            && rec.unresolved.is_empty()
            && rec.nmbrs_employee_id.as_deref() == Some(employee);
        if !unchanged {
            fresh.insert(employee.to_owned());
        }
    }
    for l in links {
        // A tombstone's employee needs no read: a new row that might be them makes the company
        // read whole (above), where matching finds it.
        if let Some(e) = &l.employee_id
            && l.status != crate::record::LinkStatus::Forgotten
            && !clean(l, company_id)
        {
            fresh.insert(e.clone());
        }
    }
    let known = links
        .iter()
        .filter_map(|l| {
            let e = l.employee_id.as_ref()?;
            let Base::Known { values, .. } = &l.base else {
                return None;
            };
            (!fresh.contains(e)).then(|| NmbrsEmployee {
                employee_id: e.clone(),
                personal_info_id: l.personal_info_id.clone(),
                values: values.clone(),
                unreadable: None,
                note: None,
            })
        })
        .collect();
    Some(Incremental {
        fresh: fresh.into_iter().collect(),
        known,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::FieldValues;
    use crate::record::{Base, HrisRecord, Link, LinkStatus};
    use serde_json::json;

    #[test]
    fn an_incremental_read_starts_the_overlap_before_the_watermark_with_an_offset() {
        assert_eq!(
            since(Some("2026-11-30T10:15:00Z"), None).as_deref(),
            Some("2026-11-30T07:15:00Z")
        );
        let read_at = time::macros::datetime!(2026-11-30 12:00 UTC);
        assert_eq!(
            since(None, Some(read_at)).as_deref(),
            Some("2026-11-30T09:00:00Z"),
            "an empty listing starts from its read"
        );
        assert_eq!(
            since(Some("yesterday"), Some(read_at)),
            None,
            "unreadable: read whole"
        );
        assert_eq!(since(None, None), None);
    }

    fn history(employee: &str, entries: Vec<Value>) -> History {
        History {
            employee_id: employee.into(),
            entries: Some(entries),
        }
    }

    #[test]
    fn entries_seen_by_the_last_read_are_not_new() {
        let old = json!({"createdAt": "2026-11-30T10:00:00Z", "description": "Sales"});
        let new = json!({"createdAt": "2026-11-30T10:05:00Z", "description": "Finance"});
        let last = vec![history("e1", vec![old.clone()])];
        let keys: std::collections::HashSet<String> =
            recent_keys(Resource::Department, &last, Some("2026-11-30T10:00:00Z"))
                .into_iter()
                .collect();
        let recent: HashMap<Resource, &std::collections::HashSet<String>> =
            [(Resource::Department, &keys)].into();
        let seen = vec![
            history("e1", vec![old.clone()]),
            history("e2", vec![old, new]),
        ];
        let seen = || [(Resource::Department, seen.as_slice())];
        assert_eq!(employees_with_new_entries(seen(), &recent), ["e2"]);
        assert_eq!(
            employees_with_new_entries(seen(), &HashMap::new()),
            ["e1", "e2"],
            "without marks every entry is new"
        );
    }

    #[test]
    fn a_row_without_its_employee_makes_the_company_read_whole() {
        let mut values = FieldValues::default();
        values.set(Field::LastName, Some("Hanison"));
        let rec = |id: &str| {
            Ok(HrisRecord {
                rowid: 1,
                hris_id: id.into(),
                company_number: "1".into(),
                nmbrs_employee_id: Some(format!("e-{id}")),
                values: values.clone(),
                unresolved: vec![],
            })
        };
        let mut link = Link::new("h1", "c1", LinkStatus::Linked);
        link.employee_id = Some("e-h1".into());
        link.base = Base::of(&values);
        let plan = incremental("c1", &[rec("h1")], std::slice::from_ref(&link), Vec::new())
            .expect("incremental");
        assert!(plan.fresh.is_empty());
        assert_eq!(plan.known.len(), 1);
        assert_eq!(plan.known[0].values, values, "as last agreed");
        assert!(
            incremental("c1", &[rec("h1"), rec("h2")], &[link.clone()], Vec::new()).is_none(),
            "h2 needs a create or a match"
        );
        let mut failed = link.clone();
        failed.status = LinkStatus::Failed;
        let plan = incremental("c1", &[rec("h1")], &[failed], Vec::new()).expect("plan");
        assert_eq!(plan.fresh, ["e-h1"], "pending work is read whole");
    }
}
