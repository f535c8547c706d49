//! Field-by-field mapping of personal info, against entries shaped like the description's examples.
use super::*;
use crate::fields::{Field, FieldValues};
use crate::nmbrs::model::Period;
use serde_json::Value;
use serde_json::json;

const NOV: Period = Period {
    year: 2026,
    period: 11,
};

/// An entry exactly as the description's example (`EmployeesPersonalInfoResponse`) shows it.
fn entry(last: &str, year: i32, period: u8, created: &str) -> Value {
    json!({
        "personalInfoId": format!("pi-{year}-{period}-{last}"),
        "basicInfo": {"employeeNumber": 98072, "firstName": "John", "firstNameInFull": "John Jr",
                      "prefix": "van der", "initials": "J.", "lastName": last, "employeeType": "payroll"},
        "birthInfo": {"birthDate": "1980-02-26T23:00:00Z",
                      "birthCountry": {"codeISO": "NL", "description": "The Netherlands"},
                      "nationality": {"codeISO": "PT", "description": "Portuguese"},
                      "deceasedOn": null, "gender": "male"},
        "contactInfo": {"privateEmail": "doe@private.com", "businessEmail": null, "businessPhone": "+31201234567",
                        "businessMobilePhone": null, "privatePhone": null, "privateMobilePhone": "+31612345678",
                        "otherPhone": null},
        "partnerInfo": {"partnerPrefix": "de", "partnerName": "Jansen",
                        "ascription": {"code": 2, "ascription": "x"}, "maritalStatus": "married"},
        "emergencyInfo": {"emergencyContact": null, "emergencyPhone": null, "emergencyRelationship": null},
        "period": {"year": year, "period": period},
        "createdAt": created
    })
}

#[test]
fn nested_reads_map_to_flat_fields() {
    let e = entry("Doe", 2026, 1, "2026-01-05T10:00:00Z");
    let v = read_values(&e, &Field::ALL).expect("reads");
    assert_eq!(
        v.get(Field::BirthDate),
        Some("1980-02-27"),
        "Dutch midnight in UTC"
    );
    assert_eq!(v.get(Field::BirthCountryCodeIso), Some("NL"));
    assert_eq!(v.get(Field::NationalityCodeIso), Some("PT"));
    assert_eq!(v.get(Field::MaritalStatus), Some("married"));
    assert_eq!(v.get(Field::EmployeeNumber), Some("98072"));
    assert_eq!(v.get(Field::EmployeeType), Some("payroll"));
    assert_eq!(v.get(Field::BusinessEmail), None, "null is empty");
    assert_eq!(
        v.get(Field::InServiceDate),
        None,
        "not a personal-info field"
    );
}

#[test]
fn the_examples_nesting_of_marital_status_is_read_too() {
    let mut e = entry("Doe", 2026, 1, "t");
    e["partnerInfo"] = json!({"partnerPrefix": null, "partnerName": "X",
        "ascription": {"code": 0, "ascription": "s", "maritalStatus": "livingTogether"}});
    let v = read_values(&e, &[Field::MaritalStatus]).expect("reads");
    assert_eq!(v.get(Field::MaritalStatus), Some("livingTogether"));
}

#[test]
fn a_missing_key_is_an_error_naming_its_path_not_an_empty_value() {
    let mut e = entry("Doe", 2026, 1, "t");
    e["birthInfo"]
        .as_object_mut()
        .expect("object")
        .remove("birthCountry");
    let err = read_values(&e, &Field::ALL).expect_err("missing");
    assert_eq!(err.path, "birthInfo.birthCountry.codeISO");
    // A country object without a code: the schema forbids a null code, so this is "none".
    let mut none = entry("Doe", 2026, 1, "t");
    none["birthInfo"]["birthCountry"] = json!({});
    let v = read_values(&none, &[Field::BirthCountryCodeIso]).expect("empty");
    assert_eq!(v.get(Field::BirthCountryCodeIso), None);
    // A nullable leaf must be there.
    let mut gone = entry("Doe", 2026, 1, "t");
    gone["contactInfo"]
        .as_object_mut()
        .expect("o")
        .remove("privateEmail");
    assert_eq!(
        read_values(&gone, &[Field::PrivateEmail])
            .expect_err("unknown")
            .path,
        "contactInfo.privateEmail"
    );
    // A flat write-shape key where the read shape nests it is not the value.
    e["birthInfo"]["birthCountryCodeISO"] = json!("NL");
    assert!(read_values(&e, &[Field::BirthCountryCodeIso]).is_err());
    // Only mapped fields are required.
    assert!(read_values(&e, &[Field::LastName]).is_ok());
    // A null object is an empty value.
    e["birthInfo"]["birthCountry"] = Value::Null;
    let v = read_values(&e, &[Field::BirthCountryCodeIso]).expect("null");
    assert_eq!(v.get(Field::BirthCountryCodeIso), None);
    let mut e = entry("Doe", 2026, 1, "t");
    e.as_object_mut().expect("object").remove("partnerInfo");
    let err = read_values(&e, &[Field::PartnerName]).expect_err("missing section");
    assert_eq!(err.path, "partnerInfo.partnerName");
}

#[test]
fn in_force_is_the_latest_period_not_after_the_sync_period_then_latest_created() {
    let h = vec![
        entry("A", 2025, 12, "2025-12-01T09:00:00Z"),
        entry("B", 2026, 3, "2026-03-01T09:00:00Z"),
        entry("C", 2026, 3, "2026-03-05T09:00:00Z"),
        entry("D", 2027, 1, "2026-11-20T09:00:00Z"),
    ];
    let f = in_force(&h, NOV).expect("in force");
    assert_eq!(f.entry["basicInfo"]["lastName"], "C");
    assert_eq!(f.personal_info_id.as_deref(), Some("pi-2026-3-C"));
    assert_eq!(
        f.future,
        Some(Period {
            year: 2027,
            period: 1
        })
    );
    assert!(f.note(NOV).expect("note").contains("2027-01"));
    let f = in_force(&h[..2], NOV).expect("in force");
    assert_eq!(f.entry["basicInfo"]["lastName"], "B");
    assert!(f.note(NOV).is_none());
    // Nothing in force yet: the earliest entry, said so.
    let only_future = vec![h[3].clone()];
    let f = in_force(&only_future, NOV).expect("future only");
    assert!(f.none_in_force);
    assert_eq!(f.entry["basicInfo"]["lastName"], "D");
    assert!(in_force(&[], NOV).is_err());
    let mut no_period = entry("E", 2026, 1, "t");
    no_period.as_object_mut().expect("o").remove("period");
    assert_eq!(
        in_force(&[no_period], NOV).expect_err("no period").path,
        "info[0].period"
    );
}

#[test]
fn put_body_carries_every_member_and_changes_only_the_given_fields() {
    let e = entry("Hanison", 2026, 1, "t");
    let body = UpdatePersonalInfo::from_entry(
        &e,
        &[
            (Field::LastName, Some("Petterson")),
            (Field::MaritalStatus, Some("married")),
            (Field::BirthDate, Some("1980-02-27")),
        ],
        NOV,
    )
    .expect("body");
    let j = serde_json::to_value(&body).expect("json");
    assert_eq!(j["basicInfo"]["lastName"], "Petterson");
    assert_eq!(j["basicInfo"]["prefix"], "van der", "unmapped member kept");
    assert_eq!(j["basicInfo"]["initials"], "J.");
    assert!(
        j["basicInfo"].get("employeeType").is_none(),
        "not in the PUT"
    );
    assert_eq!(
        j["birthInfo"]["birthCountryCodeISO"], "NL",
        "flat write shape"
    );
    assert_eq!(j["birthInfo"]["birthDate"], "1980-02-27T00:00:00Z");
    assert!(j["birthInfo"].get("birthCountry").is_none());
    assert_eq!(j["contactInfo"]["businessPhone"], "+31201234567");
    assert_eq!(j["partnerInfo"]["ascriptionCode"], 2);
    assert_eq!(j["partnerInfo"]["partnerPrefix"], "de");
    assert_eq!(j["period"], json!({"year": 2026, "period": 11}));
    assert!(j.get("personalInfoId").is_none() && j.get("createdAt").is_none());
    assert!(
        UpdatePersonalInfo::from_entry(&e, &[(Field::EmployeeType, Some("payroll"))], NOV).is_err(),
        "employee type is create-only"
    );
    let mut e = e;
    e["contactInfo"]
        .as_object_mut()
        .expect("o")
        .remove("otherPhone");
    let err = UpdatePersonalInfo::from_entry(&e, &[], NOV).expect_err("would blank it");
    assert_eq!(err.path, "contactInfo.otherPhone");
}

#[test]
fn create_body_has_the_create_shape() {
    let mut v = FieldValues::default();
    for (f, s) in [
        (Field::EmployeeNumber, "98072"),
        (Field::LastName, "Hanison"),
        (Field::EmployeeType, "applicant"),
        (Field::BirthDate, "1980-02-27"),
        (Field::BirthCountryCodeIso, "NL"),
        (Field::PartnerName, "Rick"),
        (Field::InServiceDate, "2026-12-01"),
    ] {
        v.set(f, Some(s));
    }
    let body = CreateEmployee::new(&v, &Field::ALL, NOV, &CreateDefaults::default()).expect("body");
    let j = serde_json::to_value(&body).expect("json");
    let pi = &j["PersonalInfo"];
    assert_eq!(pi["basicInfo"]["employeeNumber"], 98072);
    assert_eq!(pi["basicInfo"]["employeeType"], "applicant");
    assert_eq!(
        pi["birthInfo"]["birthDate"], "1980-02-27",
        "a date, not a date-time"
    );
    assert_eq!(pi["birthInfo"]["birthCountryCodeISO"], "NL");
    assert_eq!(pi["partnerInfo"]["partnerName"], "Rick");
    assert!(pi.get("personalInfoId").is_none() && pi.get("createdAt").is_none());
    assert!(pi["basicInfo"].get("firstName").is_none(), "empty left out");
    assert_eq!(
        j["AdditionalEmployeeInfo"],
        json!({"inServiceDate": "2026-12-01"})
    );
    // Unsynced fields are not sent.
    let defaults = CreateDefaults {
        employee_template: Some("t-1".into()),
        ..CreateDefaults::default()
    };
    let body = CreateEmployee::new(&v, &[Field::LastName, Field::EmployeeType], NOV, &defaults)
        .expect("body");
    let j = serde_json::to_value(&body).expect("json");
    assert!(
        j["PersonalInfo"]["basicInfo"]
            .get("employeeNumber")
            .is_none()
    );
    assert_eq!(
        j["AdditionalEmployeeInfo"],
        json!({"defaultEmployeeTemplate": "t-1"})
    );
    v.set(Field::EmployeeType, None);
    let err = CreateEmployee::new(&v, &Field::ALL, NOV, &CreateDefaults::default())
        .expect_err("required");
    assert_eq!(err.field, "employee_type");
    let defaults = CreateDefaults {
        employee_type: Some("newHire".into()),
        ..CreateDefaults::default()
    };
    let j =
        serde_json::to_value(CreateEmployee::new(&v, &Field::ALL, NOV, &defaults).expect("body"))
            .expect("json");
    assert_eq!(j["PersonalInfo"]["basicInfo"]["employeeType"], "newHire");
}
