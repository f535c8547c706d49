use super::*;
use time::macros::date;

fn text(s: &str) -> RawValue {
    RawValue {
        text: Some(s.into()),
        sql_type: SqlType::Text,
    }
}
fn null() -> RawValue {
    RawValue {
        text: None,
        sql_type: SqlType::Null,
    }
}
fn row(changes: &[(Field, RawValue)]) -> RawRow {
    let mut values: Vec<Option<RawValue>> = vec![Some(null()); Field::ALL.len()];
    values[Field::EmployeeNumber.index()] = Some(RawValue {
        text: Some("98072".into()),
        sql_type: SqlType::Integer,
    });
    values[Field::LastName.index()] = Some(text("Hanison"));
    values[Field::BirthDate.index()] = Some(text("1990-02-01"));
    for (f, v) in changes {
        values[f.index()] = Some(v.clone());
    }
    RawRow {
        rowid: 7,
        hris_id: text("h-1"),
        company_number: text("2"),
        nmbrs_employee_id: None,
        values,
    }
}
const TODAY: Date = date!(2026 - 11 - 29);

fn problems(r: &RawRow) -> Vec<String> {
    match validate(r, &Field::ALL, TODAY) {
        Ok(_) => vec![],
        Err(rej) => rej.problems.into_iter().map(|p| p.field).collect(),
    }
}

#[test]
fn good_row_passes_with_unicode_intact() {
    let rec = validate(
        &row(&[(Field::FirstName, text(" Zoë 🎉 "))]),
        &Field::ALL,
        TODAY,
    )
    .expect("valid");
    assert_eq!(rec.values.get(Field::FirstName), Some("Zoë 🎉"));
    assert_eq!(rec.values.get(Field::EmployeeNumber), Some("98072"));
    assert_eq!(rec.hris_id, "h-1");
}

#[test]
fn each_bad_field_is_named() {
    for (f, bad) in [
        (Field::EmployeeType, "employee"),
        (Field::EmployeeType, "Payroll"),
        (Field::Gender, "F"),
        (Field::MaritalStatus, "single"),
        (Field::InServiceDate, "2026-02-30"),
        (Field::InServiceDate, "1-2-2026"),
    ] {
        let p = validate(&row(&[(f, text(bad))]), &Field::ALL, today_utc()).expect_err("rejected");
        assert_eq!(p.problems.len(), 1, "{bad}");
        assert_eq!(p.problems[0].field, f.name());
        if let Some(allowed) = f.allowed_values() {
            assert!(
                p.problems[0].message.contains(allowed[0]),
                "names the values"
            );
        }
    }
    for (f, good) in [
        (Field::EmployeeType, "newHire"),
        (Field::Gender, "unspecified"),
        (Field::MaritalStatus, "livingTogether"),
        (Field::InServiceDate, "2027-01-01"),
    ] {
        assert!(
            validate(&row(&[(f, text(good))]), &Field::ALL, today_utc()).is_ok(),
            "{good}"
        );
    }
    assert_eq!(
        problems(&row(&[(Field::BirthDate, text("1990-02-30"))])),
        ["birth_date"]
    );
    assert_eq!(
        problems(&row(&[(Field::BirthDate, text("2990-01-01"))])),
        ["birth_date"]
    );
    assert_eq!(
        problems(&row(&[(Field::BirthDate, text("01-02-1990"))])),
        ["birth_date"]
    );
    assert_eq!(
        problems(&row(&[(Field::LastName, text("   "))])),
        ["last_name"]
    );
    assert_eq!(
        problems(&row(&[(Field::PrivateEmail, text("lisa@@example"))])),
        ["private_email"]
    );
    assert_eq!(
        problems(&row(&[(Field::BusinessEmail, text("a b@example.com"))])),
        ["business_email"]
    );
    assert_eq!(
        problems(&row(&[(Field::FirstName, text("Li\u{0}sa"))])),
        ["first_name"]
    );
    assert_eq!(
        problems(&row(&[(Field::FirstName, text(&"x".repeat(10_000)))])),
        ["first_name"]
    );
    assert_eq!(
        problems(&row(&[(Field::EmployeeNumber, text("abc"))])),
        ["employee_number"]
    );
    assert_eq!(
        problems(&row(&[(Field::EmployeeNumber, text("-5"))])),
        ["employee_number"]
    );
    assert_eq!(
        problems(&row(&[(
            Field::FirstName,
            RawValue {
                text: None,
                sql_type: SqlType::Blob
            }
        )])),
        ["first_name"]
    );
    assert_eq!(
        problems(&row(&[(
            Field::LastName,
            RawValue {
                text: Some("42".into()),
                sql_type: SqlType::Integer
            }
        )])),
        ["last_name"]
    );
    assert_eq!(
        problems(&row(&[(Field::NationalityCodeIso, text("Dutch"))])),
        ["nationality_code_iso"]
    );
}

#[test]
fn missing_identity_is_rejected_with_rowid() {
    let mut r = row(&[]);
    r.hris_id = null();
    let rej = validate(&r, &Field::ALL, TODAY).expect_err("no id");
    assert!(rej.message().contains("rowid 7"));
    let mut r = row(&[]);
    r.company_number = null();
    let rej = validate(&r, &Field::ALL, TODAY).expect_err("no company");
    assert!(
        rej.message().contains("hris_id=h-1") && rej.message().contains("company_number"),
        "{}",
        rej.message()
    );
}

#[test]
fn messages_escape_control_characters() {
    let rej = validate(
        &row(&[(Field::FirstName, text("x\n[ERROR] forged"))]),
        &Field::ALL,
        TODAY,
    )
    .expect_err("bad");
    assert!(!rej.message().contains('\n'));
}

#[test]
fn sql_meta_characters_are_just_text() {
    let rec = validate(
        &row(&[(Field::LastName, text("O'Brien\"; DROP TABLE x; --"))]),
        &Field::ALL,
        TODAY,
    )
    .expect("valid");
    assert_eq!(
        rec.values.get(Field::LastName),
        Some("O'Brien\"; DROP TABLE x; --")
    );
}

#[test]
fn line_separators_and_bidi_overrides_are_refused_marks_and_joiners_pass() {
    for bad in [
        "Lisa\u{2028}Hanison",
        "Rick\u{2029}Petterson",
        "Hanison\u{202E}nosirap",
        "\u{202B}عربي\u{202C}",
        "\u{2067}x\u{2069}",
    ] {
        assert_eq!(
            problems(&row(&[(Field::LastName, text(bad))])),
            ["last_name"],
            "{bad:?}"
        );
    }
    for good in [
        "Ali\u{200F}",
        "👩\u{200D}💻",
        "فاطمه\u{200C}زهرا",
        "e\u{0301}lodie",
    ] {
        let rec =
            validate(&row(&[(Field::LastName, text(good))]), &Field::ALL, TODAY).expect("valid");
        assert_eq!(
            rec.values.get(Field::LastName),
            Some(good),
            "byte-identical"
        );
    }
    let rej = validate(
        &row(&[(Field::FirstName, text("x\u{2028}[ERROR] forged\u{202E}"))]),
        &Field::ALL,
        TODAY,
    )
    .expect_err("bad");
    assert!(!rej.message().contains('\u{2028}') && !rej.message().contains('\u{202E}'));
}

#[test]
fn invisible_only_values_are_blank() {
    for blank in ["\u{200B}", "\u{3164}", "\u{FEFF}", " \u{200B}\u{200D} "] {
        assert_eq!(
            problems(&row(&[(Field::LastName, text(blank))])),
            ["last_name"],
            "{blank:?}"
        );
        assert_eq!(
            problems(&row(&[(Field::FirstName, text(blank))])),
            ["first_name"],
            "{blank:?}"
        );
    }
}

#[test]
fn dates_must_have_the_exact_shape() {
    for bad in [
        "+1990-02-01",
        "-1990-02-01",
        "1990-2-01",
        "١٩٩٠-٠١-٠١",
        "1990-02-01x",
    ] {
        assert_eq!(
            problems(&row(&[(Field::BirthDate, text(bad))])),
            ["birth_date"],
            "{bad:?}"
        );
    }
    assert_eq!(
        problems(&row(&[(Field::BirthDate, text("2024-02-29"))])),
        [] as [&str; 0]
    );
}

#[test]
fn email_local_part_is_a_dot_atom_and_domain_labels_are_hostnames() {
    for bad in [
        ".user@example.com",
        "user.@example.com",
        "us..er@example.com",
        "user@exa_mple.com",
        "user@exa!mple.com",
        "user\u{202E}@example.com",
    ] {
        assert!(!is_email(bad), "{bad:?}");
    }
    for good in [
        "first.last+tag@sub.example.co.uk",
        "o'brien@example.com",
        "üser@exämple.de",
        "user@example.c0m",
        "a@xn--80ak6aa92e.xn--p1ai",
    ] {
        assert!(is_email(good), "{good:?}");
    }
}

#[test]
fn hris_id_is_used_verbatim_and_must_be_text_or_integer() {
    let mut r = row(&[]);
    r.hris_id = text(" padded ");
    assert_eq!(
        validate(&r, &Field::ALL, TODAY).expect("valid").hris_id,
        " padded "
    );
    r.hris_id = RawValue {
        text: Some("7.5".into()),
        sql_type: SqlType::Real,
    };
    let rej = validate(&r, &Field::ALL, TODAY).expect_err("real key");
    assert_eq!(rej.problems[0].field, "hris_id");
    assert!(rej.message().contains("rowid 7"));
}

#[test]
fn text_that_is_not_utf8_is_named_not_read_as_empty() {
    let bad = RawValue {
        text: None,
        sql_type: SqlType::InvalidUtf8,
    };
    assert_eq!(
        problems(&row(&[(Field::FirstName, bad.clone())])),
        ["first_name"]
    );
    let mut r = row(&[]);
    r.hris_id = bad;
    let rej = validate(&r, &Field::ALL, TODAY).expect_err("bad key");
    assert!(rej.message().contains("UTF-8"), "{}", rej.message());
}

fn real(s: &str) -> RawValue {
    RawValue {
        text: Some(s.into()),
        sql_type: SqlType::Real,
    }
}

#[test]
fn employment_contract_address_and_bsn_values_are_checked_and_canonical() {
    for (f, bad) in [
        (Field::EndOfServiceDate, "31-12-2026"),
        (Field::ContractStartDate, "2026-02-30"),
        (Field::HoursPerWeek, "0"),
        (Field::HoursPerWeek, "200"),
        (Field::HoursPerWeek, "full time"),
        (Field::EndOfContractReason, "resigned"),
        (Field::CountryCodeIso, "NLD"),
        (Field::Bsn, "123456789"),
        (Field::Bsn, "12345678a"),
        (Field::Bsn, "000000000"),
    ] {
        let mut changes = vec![(f, text(bad))];
        if f == Field::EndOfContractReason {
            changes.push((Field::EndOfServiceDate, text("2026-12-31")));
        }
        assert_eq!(problems(&row(&changes)), vec![f.name()], "{f} = {bad}");
    }
    let rec = validate(
        &row(&[
            (Field::HoursPerWeek, real("32.0")),
            (
                Field::Bsn,
                RawValue {
                    text: Some("12345672".into()),
                    sql_type: SqlType::Integer,
                },
            ),
            (Field::CountryCodeIso, text("nl")),
            (Field::EndOfServiceDate, text("2026-12-31")),
            (Field::EndOfContractReason, text("2")),
        ]),
        &Field::ALL,
        TODAY,
    )
    .expect("valid");
    assert_eq!(rec.values.get(Field::HoursPerWeek), Some("32"));
    assert_eq!(
        rec.values.get(Field::Bsn),
        Some("012345672"),
        "a BSN in a number column gets its leading zero back"
    );
    assert_eq!(rec.values.get(Field::CountryCodeIso), Some("NL"));
    assert!(bsn_valid("123456782") && bsn_valid("012345672"));
}

#[test]
fn a_bad_bsn_is_never_echoed_and_ends_are_not_before_starts() {
    let rej = validate(&row(&[(Field::Bsn, text("123456789"))]), &Field::ALL, TODAY)
        .expect_err("eleven-test");
    assert!(!rej.message().contains("123456789"), "{}", rej.message());
    for (start, end) in [
        (Field::InServiceDate, Field::EndOfServiceDate),
        (Field::ContractStartDate, Field::ContractEndDate),
    ] {
        let r = row(&[(start, text("2026-06-01")), (end, text("2026-05-31"))]);
        assert_eq!(problems(&r), vec![end.name()]);
    }
    let r = row(&[(Field::EndOfContractReason, text("1"))]);
    assert_eq!(
        problems(&r),
        vec![Field::EndOfContractReason.name()],
        "a reason without an end of service"
    );
}
