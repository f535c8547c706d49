//! Unit tests of the parent module.

use super::*;

const NOW: Period = Period {
    year: 2026,
    period: 6,
};

fn data(last: &str) -> PersonalData {
    let mut d = PersonalData::default();
    d.basic.last_name = Some(last.into());
    d.basic.employee_type = Some("payroll".into());
    d
}

fn p(year: i64, period: i64) -> Period {
    Period { year, period }
}

#[test]
fn in_force_is_latest_period_not_after_now_else_earliest() {
    let mut s = Store::default();
    let c = s.add_company("1", "C");
    let e = s
        .create_employee(&c, data("Future"), p(2027, 1), None)
        .expect("company exists");
    let in_force = |s: &Store| {
        s.employee(&e)
            .ok()
            .and_then(|e| e.in_force(NOW))
            .and_then(|h| h.data.basic.last_name.clone())
    };
    assert_eq!(
        in_force(&s).as_deref(),
        Some("Future"),
        "none in force yet: earliest"
    );
    let mut old = data("Old");
    old.basic.employee_number = Some(9);
    s.add_entry(&e, old, p(2024, 1), NOW).expect("exists");
    s.add_entry(&e, data("Current"), p(2026, 6), NOW)
        .expect("exists");
    assert_eq!(in_force(&s).as_deref(), Some("Current"));
    let hist = &s.employee(&e).expect("exists").history;
    let periods: Vec<Period> = hist.iter().map(|h| h.period).collect();
    assert_eq!(periods, [p(2024, 1), p(2026, 6), p(2027, 1)]);
    assert_eq!(hist[0].data.basic.employee_number, Some(9));
    assert_eq!(
        hist[1].data.basic.employee_number,
        Some(9),
        "carried over from the entry in force (Old)"
    );
    assert_eq!(
        hist[2].data.basic.employee_number,
        Some(1),
        "auto-numbered create"
    );
}

#[test]
fn put_replaces_the_period_and_keeps_type_and_number() {
    let mut s = Store::default();
    let c = s.add_company("1", "C");
    let e = s
        .create_employee(&c, data("A"), p(2024, 1), None)
        .expect("company exists");
    let first = s.employee(&e).expect("exists").history[0]
        .personal_info_id
        .clone();
    let id = s
        .put_personal_info(&e, PersonalData::default(), p(2024, 1), NOW)
        .expect("exists");
    let h = &s.employee(&e).expect("exists").history;
    assert_eq!(h.len(), 1);
    assert_ne!(id, first);
    assert_eq!(h[0].data.basic.last_name, None, "replaced, not merged");
    assert_eq!(h[0].data.basic.employee_type.as_deref(), Some("payroll"));
    assert_eq!(h[0].data.basic.employee_number, Some(1));
    s.put_personal_info(&e, data("B"), NOW, NOW)
        .expect("exists");
    assert_eq!(s.employee(&e).expect("exists").history.len(), 2);
}

#[test]
fn filters_and_edits() {
    let mut s = Store::default();
    let c = s.add_company("1", "C");
    let a = s
        .create_employee(&c, data("A"), p(2024, 1), None)
        .expect("ok");
    let b = s
        .create_employee(&c, data("B"), p(2024, 1), None)
        .expect("ok");
    let only_b = Filters {
        employee_id: Some(b.clone()),
        ..Default::default()
    };
    assert_eq!(s.history(&c, &only_b).expect("ok").len(), 1);
    let future = Filters {
        created_from: Some(dutch_now() + chrono::Duration::hours(1)),
        ..Default::default()
    };
    assert!(s.history(&c, &future).expect("ok").is_empty());
    let types = Filters {
        employee_types: Some(vec!["applicant".into(), "payroll".into()]),
        ..Default::default()
    };
    assert_eq!(s.listed_employees(&c, &types, NOW).expect("ok").len(), 2);
    assert!(s.edit_in_force(&a, "basicInfo.employeeType", json!("applicant"), NOW, false));
    let types = Filters {
        employee_types: Some(vec!["payroll".into()]),
        ..Default::default()
    };
    assert_eq!(s.listed_employees(&c, &types, NOW).expect("ok").len(), 1);
    assert!(!s.edit_in_force("nope", "basicInfo.lastName", json!("x"), NOW, false));
    // An edit saved as a new entry gives the current period an entry with a new id (and stamp,
    // which a `createdFrom` read sees); an in-place edit keeps both.
    let before: Vec<String> = s.history(&c, &Filters::default()).expect("ok")[0]
        .1
        .iter()
        .map(|h| h.personal_info_id.clone())
        .collect();
    assert!(s.edit_in_force(&a, "basicInfo.lastName", json!("Nieuw"), NOW, true));
    let after = s.history(&c, &Filters::default()).expect("ok");
    let ids: Vec<String> = after[0]
        .1
        .iter()
        .map(|h| h.personal_info_id.clone())
        .collect();
    assert!(
        ids.iter().any(|id| !before.contains(id)),
        "a new entry: {before:?} → {ids:?}"
    );
    assert!(
        ids.len() <= before.len() + 1,
        "at most one entry per period"
    );
    assert!(s.remove_key(&a, "birthInfo.birthCountry", NOW));
    assert!(!s.remove_key(&a, "birthInfo.nothing", NOW));
    assert_eq!(
        s.history("nope", &Filters::default()).err(),
        Some(StoreError::Company("nope".into()))
    );
}

#[test]
fn debtors_group_companies() {
    let mut s = Store::default();
    let c1 = s.add_company("1", "Default");
    let d = s.add_debtor("2210", "Nmbrs International");
    let c2 = s
        .add_company_for_debtor(&d, "7", "Other")
        .expect("debtor exists");
    assert_eq!(s.debtors().len(), 2);
    let listed = s.debtor_companies(&d).expect("exists");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].company_id, c2);
    assert_ne!(s.companies()[0].debtor_id, d);
    assert_eq!(s.companies()[0].company_id, c1);
    assert!(s.add_company_for_debtor("nope", "8", "X").is_err());
    assert!(s.debtor_companies("nope").is_err());
}
