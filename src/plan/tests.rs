use super::*;
use crate::record::{CreateIntent, FieldProblem, Rejection};

/// The planning time of every case.
const NOW: time::OffsetDateTime = time::macros::datetime!(2026-11-30 09:00:00 UTC);

use ConflictPolicy::*;
use FieldOutcome::*;
use FieldOwner as O;
use Resolution::*;

const POLICIES: [ConflictPolicy; 3] = [HrisWins, NmbrsWins, Manual];
const OWNERS: [FieldOwner; 3] = [O::Both, O::Hris, O::Nmbrs];

/// What a both-sides change becomes under each policy (owner `both`).
fn by_policy(p: ConflictPolicy) -> FieldOutcome {
    match p {
        HrisWins => Conflict(HrisWon),
        NmbrsWins => Conflict(NmbrsWon),
        Manual => Conflict(Parked),
    }
}

/// The merge table, spelled out: for each relation of base / HRIS / Nmbrs values, each owner and each
/// policy, the expected outcome. `None` base = no snapshot yet.
#[test]
fn merge_table_is_exhaustive() {
    // (base, hris, nmbrs, expected for owner both / hris / nmbrs, as a function of the policy)
    type Case = (
        Option<Option<&'static str>>,
        Option<&'static str>,
        Option<&'static str>,
        [fn(ConflictPolicy) -> FieldOutcome; 3],
    );
    let cases: Vec<(&str, Case)> = vec![
        (
            "all equal",
            (
                Some(Some("A")),
                Some("A"),
                Some("A"),
                [|_| Agreed, |_| Agreed, |_| Agreed],
            ),
        ),
        (
            "both changed the same way",
            (
                Some(Some("A")),
                Some("B"),
                Some("B"),
                [|_| Agreed, |_| Agreed, |_| Agreed],
            ),
        ),
        (
            "no base, equal",
            (
                None,
                Some("A"),
                Some("A"),
                [|_| Agreed, |_| Agreed, |_| Agreed],
            ),
        ),
        (
            "only HRIS changed",
            (
                Some(Some("A")),
                Some("B"),
                Some("A"),
                [|_| Push, |_| Push, |_| Pull],
            ),
        ),
        (
            "only Nmbrs changed",
            (
                Some(Some("A")),
                Some("A"),
                Some("B"),
                [|_| Pull, |_| Push, |_| Pull],
            ),
        ),
        (
            "both changed differently",
            (
                Some(Some("A")),
                Some("B"),
                Some("C"),
                [by_policy, |_| Push, |_| Pull],
            ),
        ),
        (
            "no base, different",
            (
                None,
                Some("B"),
                Some("C"),
                [by_policy, |_| Conflict(HrisWon), |_| Conflict(NmbrsWon)],
            ),
        ),
        (
            "HRIS cleared a value",
            (
                Some(Some("A")),
                None,
                Some("A"),
                [|_| Push, |_| Push, |_| Pull],
            ),
        ),
        (
            "Nmbrs cleared a value",
            (
                Some(Some("A")),
                Some("A"),
                None,
                [|_| Pull, |_| Push, |_| Pull],
            ),
        ),
        (
            "HRIS filled an empty field",
            (Some(None), Some("B"), None, [|_| Push, |_| Push, |_| Pull]),
        ),
        (
            "Nmbrs filled an empty field",
            (Some(None), None, Some("B"), [|_| Pull, |_| Push, |_| Pull]),
        ),
        // An empty side never wins a conflict: a policy must not blank payroll data.
        (
            "no base, HRIS empty",
            (
                None,
                None,
                Some("C"),
                [
                    |p| {
                        if p == Manual {
                            Conflict(Parked)
                        } else {
                            Conflict(NmbrsWon)
                        }
                    },
                    |_| Conflict(NmbrsWon),
                    |_| Conflict(NmbrsWon),
                ],
            ),
        ),
        (
            "no base, Nmbrs empty",
            (
                None,
                Some("B"),
                None,
                [
                    |p| {
                        if p == Manual {
                            Conflict(Parked)
                        } else {
                            Conflict(HrisWon)
                        }
                    },
                    |_| Conflict(HrisWon),
                    |_| Conflict(HrisWon),
                ],
            ),
        ),
        (
            "HRIS cleared, Nmbrs changed",
            (
                Some(Some("A")),
                None,
                Some("C"),
                [
                    |p| {
                        if p == Manual {
                            Conflict(Parked)
                        } else {
                            Conflict(NmbrsWon)
                        }
                    },
                    |_| Push,
                    |_| Pull,
                ],
            ),
        ),
        (
            "Nmbrs cleared, HRIS changed",
            (
                Some(Some("A")),
                Some("B"),
                None,
                [
                    |p| {
                        if p == Manual {
                            Conflict(Parked)
                        } else {
                            Conflict(HrisWon)
                        }
                    },
                    |_| Push,
                    |_| Pull,
                ],
            ),
        ),
    ];
    let mut checked = 0;
    for (name, (base, h, n, expected)) in &cases {
        for (oi, owner) in OWNERS.into_iter().enumerate() {
            for policy in POLICIES {
                let got = merge_field(owner, policy, *base, *h, *n);
                assert_eq!(
                    got,
                    expected[oi](policy),
                    "{name}: owner {owner:?}, policy {policy:?}"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, cases.len() * 9);
}

fn values(pairs: &[(Field, &str)]) -> FieldValues {
    let mut v = FieldValues::default();
    for (f, s) in pairs {
        v.set(*f, Some(s));
    }
    v
}

fn lisa() -> FieldValues {
    values(&[
        (Field::EmployeeNumber, "98072"),
        (Field::FirstName, "Lisa"),
        (Field::FirstNameInFull, "Elisabeth"),
        (Field::LastName, "Hanison"),
        (Field::EmployeeType, "applicant"),
        (Field::BirthDate, "1990-02-01"),
    ])
}

fn row(id: &str, v: FieldValues) -> HrisRow {
    Ok(HrisRecord {
        rowid: 1,
        hris_id: id.into(),
        company_number: "2".into(),
        nmbrs_employee_id: None,
        values: v,
        unresolved: Vec::new(),
    })
}

fn linked_row(id: &str, emp: &str, v: FieldValues) -> HrisRow {
    Ok(HrisRecord {
        rowid: 1,
        hris_id: id.into(),
        company_number: "2".into(),
        nmbrs_employee_id: Some(emp.into()),
        values: v,
        unresolved: Vec::new(),
    })
}

fn emp(id: &str, v: FieldValues) -> NmbrsEmployee {
    NmbrsEmployee {
        employee_id: id.into(),
        personal_info_id: Some(format!("pi-{id}")),
        values: v,
        ..NmbrsEmployee::default()
    }
}

fn link(hris_id: &str, emp: &str, base: &FieldValues) -> Link {
    let mut l = Link::new(hris_id, "c2", LinkStatus::Linked);
    l.employee_id = Some(emp.into());
    l.base = Base::of(base);
    l
}

struct Case {
    hris: Vec<HrisRow>,
    links: Vec<Link>,
    foreign: Vec<Link>,
    nmbrs: Vec<NmbrsEmployee>,
    now: time::OffsetDateTime,
    rules: Rules,
}

impl Case {
    fn new() -> Case {
        Case {
            hris: vec![],
            links: vec![],
            foreign: vec![],
            nmbrs: vec![],
            now: NOW,
            rules: Rules::all_fields(HrisWins),
        }
    }
    fn plan(&self) -> Vec<Decision> {
        let input = CompanyInput {
            company_id: "c2",
            company_number: "2",
            hris: &self.hris,
            links: &self.links,
            foreign_links: &self.foreign,
            nmbrs: &self.nmbrs,
            now: self.now,
            intent_grace: time::Duration::seconds(10),
        };
        plan_company(&input, &self.rules)
    }
}

fn update(d: &Decision) -> &RecordUpdate {
    match d {
        Decision::Update(u) => u,
        other => panic!("expected an update, got {other:?}"),
    }
}

#[test]
fn new_row_without_match_is_created() {
    let mut c = Case::new();
    c.hris.push(row("h1", lisa()));
    c.nmbrs.push(emp(
        "e-other",
        values(&[
            (Field::EmployeeNumber, "1"),
            (Field::LastName, "Other"),
            (Field::BirthDate, "1970-01-01"),
        ]),
    ));
    c.rules.import_from_nmbrs = false;
    assert_eq!(
        c.plan(),
        vec![Decision::Create {
            hris_id: "h1".into(),
            values: lisa(),
            after_intent: false,
            unresolved: vec![],
        }]
    );
}

#[test]
fn unchanged_linked_record_is_a_noop() {
    let mut c = Case::new();
    c.hris.push(linked_row("h1", "e1", lisa()));
    c.links.push(link("h1", "e1", &lisa()));
    c.nmbrs.push(emp("e1", lisa()));
    let d = c.plan();
    assert_eq!(
        d,
        vec![Decision::Unchanged {
            hris_id: "h1".into()
        }]
    );
}

#[test]
fn hris_change_is_pushed_and_nmbrs_change_is_pulled_in_one_record() {
    let mut c = Case::new();
    let mut h = lisa();
    h.set(Field::LastName, Some("Petterson"));
    h.set(Field::PartnerName, Some("Rick Petterson"));
    let mut n = lisa();
    n.set(Field::PrivateEmail, Some("lisa@example.com"));
    c.hris.push(linked_row("h1", "e1", h));
    c.links.push(link("h1", "e1", &lisa()));
    c.nmbrs.push(emp("e1", n));
    let d = c.plan();
    let u = update(&d[0]);
    let pushed: Vec<Field> = u.to_nmbrs.iter().map(|c| c.field).collect();
    assert_eq!(pushed, [Field::LastName, Field::PartnerName]);
    assert_eq!(u.to_nmbrs[0].before.as_deref(), Some("Hanison"));
    assert_eq!(
        u.to_hris,
        vec![Change {
            field: Field::PrivateEmail,
            before: None,
            after: Some("lisa@example.com".into())
        }]
    );
    assert!(u.conflicts.is_empty());
    let base = u.base_after.as_ref().expect("snapshot kept");
    assert_eq!(base.get(Field::LastName), Some("Petterson"));
    assert_eq!(base.get(Field::PrivateEmail), Some("lisa@example.com"));
}

#[test]
fn manual_conflict_parks_field_and_keeps_base() {
    let mut c = Case::new();
    c.rules = Rules::all_fields(Manual);
    let mut h = lisa();
    h.set(Field::LastName, Some("Petterson"));
    h.set(Field::FirstName, Some("Liz"));
    let mut n = lisa();
    n.set(Field::LastName, Some("Jansen"));
    c.hris.push(linked_row("h1", "e1", h));
    c.links.push(link("h1", "e1", &lisa()));
    c.nmbrs.push(emp("e1", n));
    let d = c.plan();
    let u = update(&d[0]);
    assert_eq!(u.conflicts.len(), 1);
    assert_eq!(u.conflicts[0].resolution, Parked);
    assert_eq!(
        u.to_nmbrs.iter().map(|c| c.field).collect::<Vec<_>>(),
        [Field::FirstName],
        "the non-conflicting field still syncs"
    );
    assert_eq!(
        u.base_after.as_ref().and_then(|b| b.get(Field::LastName)),
        Some("Hanison")
    );
}

#[test]
fn unlinked_row_matches_by_employee_number_confirmed_by_birth_date() {
    let mut c = Case::new();
    let mut n = lisa();
    n.set(Field::LastName, Some("Petterson")); // name differs, birth date confirms
    c.hris.push(row("h1", lisa()));
    c.nmbrs.push(emp("e1", n));
    let d = c.plan();
    assert_eq!(d.len(), 1, "{d:?}");
    let u = update(&d[0]);
    assert_eq!(u.link, NewLink::Matched("employee number"));
    assert_eq!(
        u.conflicts.len(),
        1,
        "no base: the differing last name is a conflict settled by policy"
    );
    assert!(u.write_back_employee_id);
    // A read-only HRIS (`hris.write_back = false`): the id stays in the link alone.
    c.rules.write_back = false;
    assert!(!update(&c.plan()[0]).write_back_employee_id);
}

#[test]
fn employee_number_used_by_someone_else_is_refused_not_overwritten() {
    let mut c = Case::new();
    c.hris.push(row("h1", lisa()));
    c.nmbrs.push(emp(
        "e9",
        values(&[
            (Field::EmployeeNumber, "98072"),
            (Field::LastName, "Pietersen"),
            (Field::BirthDate, "1960-01-01"),
        ]),
    ));
    let d = c.plan();
    match &d[0] {
        Decision::Fail { message, .. } => assert!(
            message.contains("e9") && message.contains("98072"),
            "{message}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        d.len(),
        1,
        "the refused candidate is not imported as a new HRIS row: {d:?}"
    );
}

#[test]
fn several_candidates_fail_naming_them() {
    let mut c = Case::new();
    c.hris.push(row("h1", lisa()));
    c.nmbrs.push(emp("e1", lisa()));
    c.nmbrs.push(emp("e2", lisa()));
    let d = c.plan();
    match &d[0] {
        Decision::Fail { message, .. } => assert!(
            message.contains("e1") && message.contains("e2"),
            "{message}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(d.len(), 1);
}

#[test]
fn match_by_name_and_birth_date_when_number_differs() {
    let mut c = Case::new();
    let mut n = lisa();
    n.set(Field::EmployeeNumber, Some("5"));
    c.hris.push(row("h1", lisa()));
    c.nmbrs.push(emp("e1", n));
    let u = c.plan();
    assert_eq!(update(&u[0]).link, NewLink::Matched("name and birth date"));
}

#[test]
fn pending_intent_found_in_listing_links_and_never_creates() {
    let mut c = Case::new();
    let mut l = Link::new("h1", "c2", LinkStatus::PendingCreate);
    l.create_intent = Some(CreateIntent::new(&lisa(), NOW - time::Duration::minutes(5)));
    c.links.push(l);
    let mut h = lisa();
    h.set(Field::PartnerName, Some("Rick"));
    c.hris.push(row("h1", h));
    c.nmbrs.push(emp("e-new", lisa()));
    let d = c.plan();
    assert_eq!(d.len(), 1, "{d:?}");
    let u = update(&d[0]);
    assert_eq!(u.link, NewLink::IntentReconciled);
    assert_eq!(
        u.to_nmbrs.iter().map(|c| c.field).collect::<Vec<_>>(),
        [Field::PartnerName]
    );
    assert!(
        u.conflicts.is_empty(),
        "the posted values are the base: {:?}",
        u.conflicts
    );
}

#[test]
fn pending_intent_absent_waits_in_grace_then_creates() {
    let mut c = Case::new();
    let mut l = Link::new("h1", "c2", LinkStatus::PendingCreate);
    l.create_intent = Some(CreateIntent::new(&lisa(), NOW - time::Duration::seconds(3)));
    c.links.push(l);
    c.hris.push(row("h1", lisa()));
    assert!(matches!(
        c.plan()[0],
        Decision::Skip {
            reason: SkipReason::CreateInFlight,
            ..
        }
    ));
    c.now = NOW + time::Duration::seconds(30);
    assert!(matches!(
        c.plan()[0],
        Decision::Create {
            after_intent: true,
            ..
        }
    ));
}

#[test]
fn nmbrs_only_employee_is_imported_unless_disabled() {
    let mut c = Case::new();
    c.nmbrs.push(emp("e5", lisa()));
    assert!(matches!(&c.plan()[..], [Decision::Import { hris_id, .. }] if hris_id == "nmbrs-e5"));
    c.rules.import_from_nmbrs = false;
    assert!(c.plan().is_empty());
}

#[test]
fn import_waits_while_a_rejected_row_carries_the_same_number() {
    let mut c = Case::new();
    c.nmbrs.push(emp("e5", lisa()));
    c.hris.push(Err(Rejection {
        rowid: 3,
        hris_id: Some("h3".into()),
        employee_number: Some("98072".into()),
        problems: vec![FieldProblem {
            field: "private_email".into(),
            message: "bad".into(),
        }],
    }));
    let d = c.plan();
    assert_eq!(d.len(), 1);
    assert!(matches!(d[0], Decision::Reject(_)));
}

#[test]
fn vanished_sides_are_reported_not_deleted() {
    let mut c = Case::new();
    c.links.push(link("h-gone", "e1", &lisa()));
    c.nmbrs.push(emp("e1", lisa()));
    c.hris.push(linked_row("h2", "e-gone", lisa()));
    c.links.push(link("h2", "e-gone", &lisa()));
    let d = c.plan();
    assert!(d.iter().any(|d| matches!(d, Decision::Skip { reason: SkipReason::VanishedHris, hris_id, .. } if hris_id == "h-gone")));
    assert!(d.iter().any(|d| matches!(d, Decision::Skip { reason: SkipReason::VanishedNmbrs, hris_id, .. } if hris_id == "h2")));
    assert!(
        !d.iter()
            .any(|d| matches!(d, Decision::Import { .. } | Decision::Create { .. })),
        "{d:?}"
    );
}

#[test]
fn duplicate_employee_numbers_among_unlinked_rows_fail() {
    let mut c = Case::new();
    c.hris.push(row("h1", lisa()));
    let mut other = lisa();
    other.set(Field::LastName, Some("Jansen"));
    c.hris.push(row("h2", other));
    let d = c.plan();
    assert_eq!(d.len(), 2);
    for x in &d {
        match x {
            Decision::Fail { message, .. } => assert!(
                message.contains("h1") && message.contains("h2"),
                "{message}"
            ),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn quarantined_record_is_skipped_until_its_row_changes() {
    let mut c = Case::new();
    let mut l = link("h1", "e1", &lisa());
    l.status = LinkStatus::Quarantined;
    l.quarantined_hash = Some(lisa().digest());
    c.links.push(l);
    c.nmbrs.push(emp("e1", lisa()));
    c.hris.push(linked_row("h1", "e1", lisa()));
    assert!(matches!(
        c.plan()[0],
        Decision::Skip {
            reason: SkipReason::Quarantined,
            ..
        }
    ));
    let mut fixed = lisa();
    fixed.set(Field::FirstName, Some("Liz"));
    c.hris[0] = linked_row("h1", "e1", fixed);
    let d = c.plan();
    let u = update(&d[0]);
    assert!(u.released);
    assert_eq!(u.to_nmbrs.len(), 1);
}

#[test]
fn moved_row_fails_instead_of_creating_a_second_employee() {
    let mut c = Case::new();
    c.hris.push(row("h1", lisa()));
    let mut l = link("h1", "e1", &lisa());
    l.company_id = "c1".into();
    c.foreign.push(l);
    assert!(
        matches!(&c.plan()[0], Decision::Fail { message, .. } if message.contains("another company"))
    );
}

#[test]
fn pull_that_would_blank_a_required_field_fails() {
    let mut c = Case::new();
    let mut n = lisa();
    n.set(Field::LastName, None);
    c.hris.push(linked_row("h1", "e1", lisa()));
    c.links.push(link("h1", "e1", &lisa()));
    c.nmbrs.push(emp("e1", n));
    assert!(
        matches!(&c.plan()[0], Decision::Fail { message, .. } if message.contains("last_name"))
    );
}

#[test]
fn unmapped_fields_are_never_compared() {
    let mut c = Case::new();
    c.rules.fields = Field::ALL
        .into_iter()
        .filter(|f| *f != Field::Gender)
        .collect();
    let mut n = lisa();
    n.set(Field::Gender, Some("female"));
    c.hris.push(linked_row("h1", "e1", lisa()));
    c.links.push(link("h1", "e1", &lisa()));
    c.nmbrs.push(emp("e1", n));
    let d = c.plan();
    let u = update(&d[0]);
    assert!(u.to_hris.is_empty() && u.to_nmbrs.is_empty(), "{u:?}");
}

#[test]
fn unreadable_personal_info_fails_the_record_and_blocks_creates_in_its_company() {
    let mut c = Case::new();
    c.rules.import_from_nmbrs = true;
    c.hris.push(linked_row("h1", "e1", lisa()));
    c.links.push(link("h1", "e1", &lisa()));
    let unreadable = |id: &str| NmbrsEmployee {
        employee_id: id.into(),
        unreadable: Some(format!(
            "employee {id}: birthInfo.birthCountry.codeISO is missing"
        )),
        ..NmbrsEmployee::default()
    };
    c.nmbrs.push(unreadable("e1"));
    // A new row and an employee nobody holds whose values could not be read: maybe the same person.
    c.hris.push(row(
        "h2",
        values(&[
            (Field::EmployeeNumber, "5"),
            (Field::LastName, "Öztürk"),
            (Field::BirthDate, "1980-02-27"),
        ]),
    ));
    c.nmbrs.push(unreadable("e2"));
    let d = c.plan();
    assert!(
        matches!(&d[0], Decision::Fail { hris_id, message, .. } if hris_id == "h1" && message.contains("birthCountry")),
        "{:?}",
        d[0]
    );
    assert!(
        matches!(&d[1], Decision::Fail { hris_id, message, .. } if hris_id == "h2" && message.contains("e2") && message.contains("not creating")),
        "{:?}",
        d[1]
    );
    assert!(
        matches!(&d[2], Decision::Fail { hris_id, .. } if hris_id == "nmbrs-e2"),
        "an unreadable employee is not imported as blanks: {:?}",
        d[2]
    );
    assert!(
        !d.iter()
            .any(|d| matches!(d, Decision::Create { .. } | Decision::Import { .. }))
    );
}

#[test]
fn employee_type_changed_in_the_hris_is_reported_once_and_never_pushed() {
    let mut c = Case::new();
    let base = lisa(); // applicant on both sides
    let mut hris = lisa();
    hris.set(Field::EmployeeType, Some("payroll"));
    c.hris.push(linked_row("h1", "e1", hris.clone()));
    c.links.push(link("h1", "e1", &base));
    c.nmbrs.push(emp("e1", base.clone()));
    let d = c.plan();
    let u = update(&d[0]);
    assert!(u.to_nmbrs.is_empty(), "never sent: {:?}", u.to_nmbrs);
    assert!(u.to_hris.is_empty(), "the HRIS edit is kept");
    assert_eq!(u.not_updatable.len(), 1);
    assert_eq!(u.not_updatable[0].after.as_deref(), Some("payroll"));
    assert_eq!(
        u.held_after,
        BTreeMap::from([("employee_type".to_owned(), "payroll".to_owned())])
    );
    assert!(!u.is_noop());
    let base_after = u.base_after.clone().expect("base");
    assert_eq!(base_after.get(Field::EmployeeType), Some("applicant"));

    // Next cycle, the link holds it: nothing to report, nothing to write.
    c.links[0].held = u.held_after.clone();
    let d = c.plan();
    let u = update(&d[0]);
    assert!(u.not_updatable.is_empty() && u.is_noop(), "{u:?}");

    // Payroll makes it agree in Nmbrs: the held value is dropped, the base moves.
    let mut nmbrs = base.clone();
    nmbrs.set(Field::EmployeeType, Some("payroll"));
    c.nmbrs[0] = emp("e1", nmbrs);
    let d = c.plan();
    let u = update(&d[0]);
    assert!(u.held_after.is_empty() && u.held_changed);
    assert_eq!(
        u.base_after
            .as_ref()
            .and_then(|b| b.get(Field::EmployeeType)),
        Some("payroll")
    );

    // A Nmbrs-side change is pulled as usual.
    c.links[0] = link("h1", "e1", &base);
    c.hris[0] = linked_row("h1", "e1", base.clone());
    let mut nmbrs = base.clone();
    nmbrs.set(Field::EmployeeType, Some("formerPayroll"));
    c.nmbrs[0] = emp("e1", nmbrs);
    let d = c.plan();
    let u = update(&d[0]);
    assert_eq!(u.to_hris.len(), 1);
    assert_eq!(u.to_hris[0].after.as_deref(), Some("formerPayroll"));
}

#[test]
fn the_hire_date_is_created_with_the_employee_and_afterwards_only_reported() {
    let mut base = lisa();
    base.set(Field::InServiceDate, Some("2026-12-01"));
    let mut hris = base.clone();
    hris.set(Field::InServiceDate, Some("2027-01-01"));
    let mut c = Case::new();
    c.hris.push(linked_row("h1", "e1", hris.clone()));
    c.links.push(link("h1", "e1", &base));
    c.nmbrs.push(emp("e1", base.clone()));
    let u = update(&c.plan()[0]).clone();
    assert!(
        u.to_nmbrs.is_empty(),
        "UpdateEmployment has no start date: {u:?}"
    );
    assert_eq!(u.not_updatable.len(), 1);
    assert_eq!(u.not_updatable[0].field, Field::InServiceDate);
    // A hire date moved in Nmbrs is pulled.
    let mut nmbrs = base.clone();
    nmbrs.set(Field::InServiceDate, Some("2026-11-15"));
    c.hris[0] = linked_row("h1", "e1", base.clone());
    c.nmbrs[0] = emp("e1", nmbrs);
    let u = update(&c.plan()[0]).clone();
    assert_eq!(u.to_hris.len(), 1);
    assert_eq!(u.to_hris[0].after.as_deref(), Some("2026-11-15"));
    // A new hire is created with it.
    let mut c = Case::new();
    c.rules.import_from_nmbrs = false;
    c.hris.push(row("h2", hris.clone()));
    match &c.plan()[0] {
        Decision::Create { values, .. } => {
            assert_eq!(values.get(Field::InServiceDate), Some("2027-01-01"))
        }
        other => panic!("expected a create, got {other:?}"),
    }
}

#[test]
fn clearing_a_field_nmbrs_cannot_unset_is_reported_once_and_not_sent() {
    let mut base = lisa();
    base.set(Field::Department, Some("Sales"));
    let mut c = Case::new();
    c.hris.push(linked_row("h1", "e1", lisa()));
    c.links.push(link("h1", "e1", &base));
    c.nmbrs.push(emp("e1", base.clone()));
    let u = update(&c.plan()[0]).clone();
    assert!(u.to_nmbrs.is_empty(), "{u:?}");
    assert_eq!(u.not_updatable.len(), 1);
    assert_eq!(u.held_after.get("department").map(String::as_str), Some(""));
    // Reported once: with the hold stored, the next plan says nothing new.
    let mut l = link("h1", "e1", u.base_after.as_ref().expect("base"));
    l.held = u.held_after.clone();
    c.links[0] = l;
    match &c.plan()[0] {
        Decision::Unchanged { .. } => {}
        Decision::Update(u) => {
            assert!(u.not_updatable.is_empty() && u.to_nmbrs.is_empty(), "{u:?}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_unresolved_reference_value_is_left_out_of_the_merge_and_keeps_its_base() {
    let mut base = lisa();
    base.set(Field::JobTitle, Some("Sales Lead"));
    let mut hris = base.clone();
    hris.set(Field::JobTitle, Some("Slaes Lead"));
    let mut nmbrs = base.clone();
    nmbrs.set(Field::JobTitle, Some("Payroll Specialist"));
    let mut c = Case::new();
    c.hris.push(Ok(HrisRecord {
        rowid: 1,
        hris_id: "h1".into(),
        company_number: "2".into(),
        nmbrs_employee_id: Some("e1".into()),
        values: hris,
        unresolved: vec![FieldProblem {
            field: "job_title".into(),
            message: "unknown".into(),
        }],
    }));
    c.links.push(link("h1", "e1", &base));
    c.nmbrs.push(emp("e1", nmbrs));
    let u = update(&c.plan()[0]).clone();
    assert!(
        u.to_nmbrs.is_empty() && u.to_hris.is_empty() && u.conflicts.is_empty(),
        "{u:?}"
    );
    assert_eq!(u.unresolved.len(), 1);
    assert!(!u.is_noop(), "the rejected field is reported");
    assert_eq!(
        u.base_after.as_ref().and_then(|b| b.get(Field::JobTitle)),
        Some("Sales Lead"),
        "the base keeps what it knew"
    );
}

#[test]
fn a_held_employee_type_yields_to_a_later_change_in_nmbrs() {
    let mut c = Case::new();
    let base = lisa(); // applicant
    let mut hris = lisa();
    hris.set(Field::EmployeeType, Some("payroll"));
    let mut nmbrs = lisa();
    nmbrs.set(Field::EmployeeType, Some("formerPayroll"));
    c.hris.push(linked_row("h1", "e1", hris));
    let mut l = link("h1", "e1", &base);
    l.held.insert("employee_type".into(), "payroll".into());
    c.links.push(l);
    c.nmbrs.push(emp("e1", nmbrs));
    let d = c.plan();
    let u = update(&d[0]);
    assert!(u.to_nmbrs.is_empty() && u.not_updatable.is_empty());
    assert_eq!(u.to_hris.len(), 1, "{u:?}");
    assert_eq!(u.to_hris[0].after.as_deref(), Some("formerPayroll"));
    assert_eq!(u.conflicts[0].resolution, NmbrsWon);
    assert!(u.held_after.is_empty());
}

fn intent(
    base_after: &FieldValues,
    writes: &[(Field, crate::record::Side, Option<&str>, Option<&str>)],
) -> crate::record::WriteIntent {
    crate::record::WriteIntent {
        base_after: base_after.to_map(),
        writes: writes
            .iter()
            .map(|(f, to, before, after)| {
                (
                    f.name().to_owned(),
                    crate::record::PendingWrite {
                        to: *to,
                        before: before.map(str::to_owned),
                        after: after.map(str::to_owned),
                    },
                )
            })
            .collect(),
    }
}

/// Issue "no lost update across crashes": v1 on both sides, the HRIS changes to v2, the PUT of v2
/// lands but the process dies before the new base is stored; then payroll sets v3.
#[test]
fn a_write_that_landed_before_a_crash_never_reverts_a_later_payroll_edit() {
    use crate::record::Side;
    let with = |v: &str| {
        let mut x = lisa();
        x.set(Field::BusinessEmail, Some(v));
        x
    };
    let (v1, v2, v3) = (with("v1@x.nl"), with("v2@x.nl"), with("v3@x.nl"));
    let pending = intent(
        &v2,
        &[(
            Field::BusinessEmail,
            Side::Nmbrs,
            Some("v1@x.nl"),
            Some("v2@x.nl"),
        )],
    );

    // Landed, then edited by payroll: v3 is payroll's change and flows to the HRIS.
    let mut c = Case::new();
    c.hris.push(linked_row("h1", "e1", v2.clone()));
    let mut l = link("h1", "e1", &v1);
    l.write_intent = Some(pending.clone());
    c.links.push(l.clone());
    c.nmbrs.push(emp("e1", v3.clone()));
    let d = c.plan();
    let u = update(&d[0]);
    assert!(u.to_nmbrs.is_empty(), "v2 is never PUT back over v3: {u:?}");
    assert_eq!(u.to_hris.len(), 1);
    assert_eq!(u.to_hris[0].after.as_deref(), Some("v3@x.nl"));
    assert!(u.conflicts.is_empty() && u.settles_link);

    // Landed and nothing since: agreed on v2, the intent is settled.
    c.nmbrs[0] = emp("e1", v2.clone());
    let d = c.plan();
    let u = update(&d[0]);
    assert!(u.to_nmbrs.is_empty() && u.to_hris.is_empty() && !u.is_noop());
    assert_eq!(
        u.base_after
            .as_ref()
            .and_then(|b| b.get(Field::BusinessEmail)),
        Some("v2@x.nl")
    );

    // Never landed (Nmbrs still v1): pushed again, not reverted.
    c.nmbrs[0] = emp("e1", v1.clone());
    let d = c.plan();
    let u = update(&d[0]);
    assert_eq!(u.to_nmbrs.len(), 1, "{u:?}");
    assert_eq!(u.to_nmbrs[0].after.as_deref(), Some("v2@x.nl"));
    assert!(u.to_hris.is_empty());

    // The pull direction: Nmbrs's v2 was written into the HRIS, then the HRIS changed to v3.
    let mut c = Case::new();
    c.hris.push(linked_row("h1", "e1", v3.clone()));
    let mut l = link("h1", "e1", &v1);
    l.write_intent = Some(intent(
        &v2,
        &[(
            Field::BusinessEmail,
            Side::Hris,
            Some("v1@x.nl"),
            Some("v2@x.nl"),
        )],
    ));
    c.links.push(l);
    c.nmbrs.push(emp("e1", v2.clone()));
    let d = c.plan();
    let u = update(&d[0]);
    assert!(u.to_hris.is_empty(), "{u:?}");
    assert_eq!(
        u.to_nmbrs[0].after.as_deref(),
        Some("v3@x.nl"),
        "the HRIS edit goes to Nmbrs"
    );
}

/// Found by the crash harness: a create's follow-up write of the hours landed and the process
/// died; payroll corrected the hours; the next cycle settled that intent (payroll's edit) and was
/// killed before its pull landed. Its own intent, settled as "never landed", must merge again on
/// what the HRIS held when planned, not on the older stored base (the create's, without the
/// hours), which made payroll's edit a conflict the HRIS won.
#[test]
fn a_write_that_never_landed_merges_again_on_the_base_its_plan_stood_on() {
    use crate::record::Side;
    let with = |v: Option<&str>| {
        let mut x = lisa();
        x.set(Field::BusinessEmail, v);
        x
    };
    let mut c = Case::new();
    c.hris.push(linked_row("h1", "e1", with(Some("hris@x.nl"))));
    let mut l = link("h1", "e1", &with(None));
    l.write_intent = Some(intent(
        &with(Some("payroll@x.nl")),
        &[(
            Field::BusinessEmail,
            Side::Hris,
            Some("hris@x.nl"),
            Some("payroll@x.nl"),
        )],
    ));
    c.links.push(l);
    c.nmbrs.push(emp("e1", with(Some("payroll@x.nl"))));
    let d = c.plan();
    let u = update(&d[0]);
    assert!(u.conflicts.is_empty(), "{u:?}");
    assert!(
        u.to_nmbrs.is_empty(),
        "payroll's edit is never overwritten: {u:?}"
    );
    assert_eq!(u.to_hris.len(), 1, "{u:?}");
    assert_eq!(u.to_hris[0].after.as_deref(), Some("payroll@x.nl"));
}

#[test]
fn a_pending_import_is_merged_on_its_base_or_imported_again() {
    let mut c = Case::new();
    let mut nmbrs = lisa();
    nmbrs.set(Field::PrivateEmail, Some("new@x.nl"));
    let mut imported = lisa();
    imported.set(Field::PrivateEmail, Some("old@x.nl"));
    let mut l = link("nmbrs-e1", "e1", &imported);
    l.status = LinkStatus::PendingImport;
    c.links.push(l);
    c.nmbrs.push(emp("e1", nmbrs.clone()));
    // The row never landed: imported again (once), not reported as vanished.
    let d = c.plan();
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(matches!(&d[0], Decision::Import { hris_id, .. } if hris_id == "nmbrs-e1"));
    // The row landed with the old value; payroll changed it since: pulled, never pushed back.
    c.hris.push(linked_row("nmbrs-e1", "e1", imported));
    let d = c.plan();
    let u = update(&d[0]);
    assert!(u.to_nmbrs.is_empty(), "{u:?}");
    assert_eq!(u.to_hris[0].after.as_deref(), Some("new@x.nl"));
    assert!(u.settles_link);
}

#[test]
fn a_row_that_names_its_employee_is_never_posted() {
    let mut c = Case::new();
    c.rules.import_from_nmbrs = false;
    // The named employee is out of service (not listed) and the state database is new.
    c.hris.push(linked_row("h1", "e-gone", lisa()));
    let d = c.plan();
    assert!(
        matches!(&d[0], Decision::Fail { employee_id: Some(id), message, .. } if id == "e-gone" && message.contains("not creating")),
        "{d:?}"
    );
    assert!(!d.iter().any(|d| matches!(d, Decision::Create { .. })));
}

#[test]
fn names_match_after_unicode_normalisation_and_case_folding() {
    let mut c = Case::new();
    c.rules.import_from_nmbrs = false;
    let decomposed = values(&[
        (Field::EmployeeNumber, "11"),
        (Field::FirstName, "Zoe\u{308}"),
        (Field::LastName, "O\u{308}ztu\u{308}rk"),
        (Field::BirthDate, "1988-03-04"),
    ]);
    let composed = values(&[
        (Field::EmployeeNumber, "12"),
        (Field::FirstName, "ZOË"),
        (Field::LastName, "Öztürk"),
        (Field::BirthDate, "1988-03-04"),
    ]);
    c.hris.push(row("h1", decomposed));
    c.nmbrs.push(emp("e1", composed));
    let d = c.plan();
    assert_eq!(
        update(&d[0]).link,
        NewLink::Matched("name and birth date"),
        "{d:?}"
    );
}

#[test]
fn equal_values_in_another_format_cost_no_write_and_keep_the_hris_formatting() {
    let mut hris = lisa();
    hris.set(Field::BusinessEmail, Some("Daan.deGroot@Example.NL"));
    // National format, read in the default region NL.
    hris.set(Field::PrivateMobilePhone, Some("06 2345 6789"));
    let mut nmbrs = lisa();
    nmbrs.set(Field::BusinessEmail, Some("daan.degroot@example.nl"));
    nmbrs.set(Field::PrivateMobilePhone, Some("+31623456789"));
    // First link: nothing to write either way.
    let mut c = Case::new();
    c.hris.push(linked_row("h1", "e1", hris.clone()));
    c.nmbrs.push(emp("e1", nmbrs.clone()));
    c.links.push({
        let mut l = link("h1", "e1", &lisa());
        l.base = crate::record::Base::None;
        l
    });
    let d = c.plan();
    let u = update(&d[0]);
    assert!(
        u.to_nmbrs.is_empty() && u.to_hris.is_empty() && u.conflicts.is_empty(),
        "{u:?}"
    );
    assert_eq!(
        u.base_after
            .as_ref()
            .and_then(|b| b.get(Field::BusinessEmail)),
        Some("Daan.deGroot@Example.NL"),
        "the HRIS keeps its formatting"
    );
    // Linked on that base: unchanged, the fast path included.
    c.links[0] = link("h1", "e1", u.base_after.as_ref().expect("base"));
    assert_eq!(
        c.plan(),
        vec![Decision::Unchanged {
            hris_id: "h1".into()
        }]
    );
    // A real change is still a change.
    let mut moved = nmbrs.clone();
    moved.set(Field::PrivateMobilePhone, Some("+31699999999"));
    c.nmbrs[0] = emp("e1", moved);
    let d = c.plan();
    assert_eq!(update(&d[0]).to_hris.len(), 1);
}

/// Property (issue 9, kind 1): whatever the listing looks like — people repeated, reordered, some
/// missing, names in another Unicode form or case — the planner never creates an employee for a
/// person the listing shows, never posts for a row that names its employee, and never links two
/// rows to one employee.
#[test]
fn no_listing_shape_makes_a_second_employee() {
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let names = ["Öztürk", "de Vries", "Jansen", "Zoë", "Müller", "El Amrani"];
    for case in 0..400 {
        let people = 1 + rng.below(6) as usize;
        let mut c = Case::new();
        c.rules.import_from_nmbrs = rng.below(2) == 0;
        let mut listed = Vec::new();
        for p in 0..people {
            let last = names[p % names.len()];
            let birth = format!("19{:02}-0{}-1{}", 60 + p, 1 + p % 9, p % 9);
            let number = (100 + p).to_string();
            let person = values(&[
                (Field::EmployeeNumber, number.as_str()),
                (Field::LastName, last),
                (Field::BirthDate, birth.as_str()),
                (Field::EmployeeType, "payroll"),
            ]);
            let id = format!("e{p}");
            let in_listing = rng.below(4) != 0;
            if rng.below(3) != 0 {
                // The HRIS side: another Unicode form or case; sometimes it names its employee.
                let mut row_values = person.clone();
                let typed: String = match rng.below(3) {
                    0 => {
                        use unicode_normalization::UnicodeNormalization;
                        last.nfd().collect()
                    }
                    1 => last.to_uppercase(),
                    _ => last.to_owned(),
                };
                row_values.set(Field::LastName, Some(&typed));
                let names_employee = rng.below(3) == 0;
                c.hris.push(Ok(HrisRecord {
                    rowid: p as i64,
                    hris_id: format!("h{p}"),
                    company_number: "2".into(),
                    nmbrs_employee_id: names_employee.then(|| id.clone()),
                    values: row_values,
                    unresolved: Vec::new(),
                }));
            }
            if in_listing {
                listed.push(emp(&id, person.clone()));
                if rng.below(5) == 0 {
                    listed.push(emp(&id, person)); // repeated by a listing read while it changed
                }
            }
        }
        // Reordered.
        for i in (1..listed.len()).rev() {
            listed.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let listed_ids: HashSet<String> = listed.iter().map(|e| e.employee_id.clone()).collect();
        c.nmbrs = listed;
        let decisions = c.plan();
        let mut linked = HashSet::new();
        for d in &decisions {
            match d {
                Decision::Create { hris_id, .. } => {
                    let p: usize = hris_id[1..].parse().expect("h<n>");
                    assert!(
                        !listed_ids.contains(&format!("e{p}")),
                        "case {case}: a create for {hris_id} whose employee is listed: {decisions:?}"
                    );
                    let row = c
                        .hris
                        .iter()
                        .flatten()
                        .find(|r| &r.hris_id == hris_id)
                        .expect("row");
                    assert!(
                        row.nmbrs_employee_id.is_none(),
                        "case {case}: a row naming its employee is posted"
                    );
                }
                Decision::Update(u) => {
                    assert!(
                        linked.insert(u.employee_id.clone()),
                        "case {case}: two rows linked to {}",
                        u.employee_id
                    );
                }
                _ => {}
            }
        }
    }
}

#[test]
fn the_bsn_links_across_a_renumbering_and_never_doubles_a_person() {
    let mut hris = lisa();
    hris.set(Field::Bsn, Some("123456782"));
    hris.set(Field::EmployeeNumber, Some("900"));
    let mut nmbrs = lisa();
    nmbrs.set(Field::Bsn, Some("123456782"));
    // Another employee holds the row's employee number, with another BSN.
    let mut other = lisa();
    other.set(Field::EmployeeNumber, Some("900"));
    other.set(Field::Bsn, Some("111222333"));
    let mut c = Case::new();
    c.rules.import_from_nmbrs = false;
    c.hris.push(row("h1", hris.clone()));
    c.nmbrs.push(emp("e1", nmbrs.clone()));
    c.nmbrs.push(emp("e2", other));
    let d = c.plan();
    assert_eq!(update(&d[0]).employee_id, "e1", "{d:?}");
    assert_eq!(update(&d[0]).link, NewLink::Matched("BSN"));

    // The person's employee is already linked to another row: refused, never created again.
    let mut c = Case::new();
    c.rules.import_from_nmbrs = false;
    c.hris.push(linked_row("h0", "e1", nmbrs.clone()));
    c.links.push(link("h0", "e1", &nmbrs));
    c.hris.push(row("h1", hris.clone()));
    c.nmbrs.push(emp("e1", nmbrs.clone()));
    let d = c.plan();
    assert!(
        !d.iter().any(|d| matches!(d, Decision::Create { .. })),
        "{d:?}"
    );
    assert!(
        d.iter()
            .any(|d| matches!(d, Decision::Fail { message, .. } if message.contains("BSN"))),
        "{d:?}"
    );

    // Same number and name but another BSN: another person, not matched.
    let mut c = Case::new();
    c.rules.import_from_nmbrs = false;
    let mut namesake = hris.clone();
    namesake.set(Field::Bsn, Some("111222333"));
    c.hris.push(row("h1", hris));
    c.nmbrs.push(emp("e9", namesake));
    assert!(matches!(c.plan()[0], Decision::Create { .. }));
}

#[test]
fn a_create_intent_holding_only_the_bsn_hash_still_finds_its_employee() {
    let mut hris = lisa();
    hris.set(Field::Bsn, Some("123456782"));
    // The intent as the state database keeps it: the BSN as its keyed hash.
    let stored = FieldValues::from_map(&hris.to_map());
    assert_ne!(stored.get(Field::Bsn), Some("123456782"));
    let mut nmbrs = lisa();
    nmbrs.set(Field::Bsn, Some("123456782"));
    nmbrs.set(Field::EmployeeNumber, Some("77"));
    let mut c = Case::new();
    c.rules.import_from_nmbrs = false;
    c.hris.push(row("h1", hris.clone()));
    let mut l = Link::new("h1", "c1", LinkStatus::PendingCreate);
    l.create_intent = Some(CreateIntent {
        values: Some(stored),
        at: None,
        raw: String::new(),
    });
    c.links.push(l);
    c.nmbrs.push(emp("e1", nmbrs));
    let d = c.plan();
    assert_eq!(update(&d[0]).link, NewLink::IntentReconciled, "{d:?}");
}

/// A tombstone (`nmbrs-sync forget`) as the state database keeps it: ids only, no base.
fn tombstone(hris_id: &str, emp: Option<&str>) -> Link {
    let mut l = Link::new(hris_id, "c2", LinkStatus::Forgotten);
    l.employee_id = emp.map(str::to_owned);
    l
}

#[test]
fn a_forgotten_record_is_neither_synced_nor_rejected_nor_imported() {
    let mut c = Case::new();
    // Its row is still in the HRIS (changed since), its employee still in Nmbrs (changed too).
    let mut edited = lisa();
    edited.set(Field::LastName, Some("Petterson"));
    c.hris.push(linked_row("h1", "e1", edited));
    let mut in_nmbrs = lisa();
    in_nmbrs.set(Field::FirstName, Some("Liz"));
    c.nmbrs.push(emp("e1", in_nmbrs));
    c.links.push(tombstone("h1", Some("e1")));
    let d = c.plan();
    assert!(
        matches!(&d[..], [Decision::Skip { hris_id, reason: SkipReason::Forgotten, .. }] if hris_id == "h1"),
        "no update, no pull, no import of e1: {d:?}"
    );

    // Its row gone from the HRIS: nothing at all (no vanished report, no import).
    c.hris.clear();
    assert!(c.plan().is_empty(), "{:?}", c.plan());

    // A row invalid now: skipped, not rejected (a rejection would record its values again).
    c.hris.push(Err(Rejection {
        rowid: 3,
        hris_id: Some("h1".into()),
        employee_number: Some("98072".into()),
        problems: vec![FieldProblem {
            field: "private_email".into(),
            message: "`lisa@` is not an e-mail address".into(),
        }],
    }));
    assert!(matches!(
        &c.plan()[..],
        [Decision::Skip {
            reason: SkipReason::Forgotten,
            ..
        }]
    ));
}

#[test]
fn a_forgotten_record_that_never_reached_nmbrs_is_not_created() {
    let mut c = Case::new();
    c.hris.push(row("h1", lisa()));
    let mut t = tombstone("h1", None);
    t.company_id = String::new(); // forgotten before it had a company
    c.links.push(t);
    assert!(matches!(
        &c.plan()[..],
        [Decision::Skip {
            reason: SkipReason::Forgotten,
            ..
        }]
    ));
    // Moved to this company while its tombstone names another: still skipped, not failed (a
    // failure would turn the tombstone into a failed link).
    let mut c = Case::new();
    c.hris.push(row("h1", lisa()));
    let mut t = tombstone("h1", Some("e1"));
    t.company_id = "c1".into();
    c.foreign.push(t);
    assert!(matches!(
        &c.plan()[..],
        [Decision::Skip {
            reason: SkipReason::Forgotten,
            ..
        }]
    ));
}

#[test]
fn a_new_row_that_matches_a_forgotten_employee_fails_naming_the_tombstone() {
    for (how, hint) in [("employee number", None), ("hint", Some("e1"))] {
        let mut c = Case::new();
        c.nmbrs.push(emp("e1", lisa()));
        c.links.push(tombstone("h1", Some("e1")));
        // The same person typed in again under a new hris_id.
        c.hris.push(match hint {
            Some(e) => linked_row("h9", e, lisa()),
            None => row("h9", lisa()),
        });
        let d = c.plan();
        assert!(
            matches!(&d[..], [Decision::Fail { hris_id, message, .. }]
                if hris_id == "h9" && message.contains("nmbrs-sync release h1") && message.contains("e1")),
            "{how}: neither linked to e1, nor created, nor e1 imported: {d:?}"
        );
    }
    // Someone else entirely is created as usual.
    let mut c = Case::new();
    c.nmbrs.push(emp("e1", lisa()));
    c.links.push(tombstone("h1", Some("e1")));
    c.hris.push(row(
        "h9",
        values(&[
            (Field::EmployeeNumber, "5"),
            (Field::LastName, "Jansen"),
            (Field::BirthDate, "1980-01-01"),
        ]),
    ));
    assert!(matches!(&c.plan()[..], [Decision::Create { .. }]));
}
