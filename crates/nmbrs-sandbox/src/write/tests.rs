//! Unit tests of the parent module.

use super::*;
use serde_json::json;

fn create_body() -> Value {
    json!({
        "PersonalInfo": {
            "basicInfo": {"employeeNumber": 7, "firstName": "Lisa", "lastName": "Hanison", "employeeType": "applicant"},
            "birthInfo": {"birthDate": "1990-02-28", "birthCountryCodeISO": "NL", "gender": "female"},
            "contactInfo": {"privateEmail": "lisa@example.com"},
            "partnerInfo": {"maritalStatus": "married", "ascriptionCode": 1},
            "period": {"year": 2024, "period": 4}
        },
        "AdditionalEmployeeInfo": {"inServiceDate": "2024-04-01"}
    })
}

fn names(r: Result<impl std::fmt::Debug, Vec<InvalidParam>>) -> Vec<String> {
    match r {
        Ok(_) => vec![],
        Err(e) => e.into_iter().map(|e| e.name).collect(),
    }
}

#[test]
fn create_reads_the_write_shape() {
    let r = parse_create(&create_body()).expect("valid");
    assert_eq!(r.data.basic.last_name.as_deref(), Some("Hanison"));
    assert_eq!(
        r.data.birth.birth_date,
        NaiveDate::from_ymd_opt(1990, 2, 28)
    );
    assert_eq!(r.data.birth.birth_country.as_deref(), Some("NL"));
    assert_eq!(r.data.partner.ascription_code, Some(1));
    assert_eq!(r.in_service_date, NaiveDate::from_ymd_opt(2024, 4, 1));
    assert_eq!(
        r.period,
        Some(Period {
            year: 2024,
            period: 4
        })
    );
}

#[test]
fn create_refuses_read_only_unknown_and_bad_dates() {
    let mut b = create_body();
    b["PersonalInfo"]["createdAt"] = json!("2021-07-01T10:15:08Z");
    assert_eq!(names(parse_create(&b)), ["/PersonalInfo/createdAt"]);
    let mut b = create_body();
    b["PersonalInfo"]["birthInfo"]["birthCountry"] = json!({"codeISO": "NL"});
    assert_eq!(
        names(parse_create(&b)),
        ["/PersonalInfo/birthInfo/birthCountry"]
    );
    let mut b = create_body();
    b["PersonalInfo"]["birthInfo"]["birthDate"] = json!("1990-02-28T00:00:00Z");
    assert_eq!(
        names(parse_create(&b)),
        ["/PersonalInfo/birthInfo/birthDate"]
    );
    let mut b = create_body();
    b["PersonalInfo"]["basicInfo"]["employeeNumber"] = json!("7");
    assert_eq!(
        names(parse_create(&b)),
        ["/PersonalInfo/basicInfo/employeeNumber"]
    );
}

#[test]
fn update_takes_date_times_and_refuses_employee_type() {
    let body = json!({
        "basicInfo": {"lastName": "Petterson"},
        "birthInfo": {"birthDate": "1980-02-26T23:00:00Z", "birthCountry": {"codeISO": "NL"}},
        "period": {"year": 2024, "period": 5}
    });
    let r = parse_update(&body).expect("valid");
    assert_eq!(
        r.data.birth.birth_date,
        NaiveDate::from_ymd_opt(1980, 2, 27)
    );
    assert_eq!(
        r.data.birth.birth_country, None,
        "read-shape member ignored"
    );
    let mut b = body.clone();
    b["basicInfo"]["employeeType"] = json!("payroll");
    assert_eq!(names(parse_update(&b)), ["/basicInfo/employeeType"]);
    let mut b = body.clone();
    b["personalInfoId"] = json!("x");
    assert_eq!(names(parse_update(&b)), ["/personalInfoId"]);
    let mut b = body;
    b["birthInfo"]["birthDate"] = json!("1980-02-27");
    assert_eq!(names(parse_update(&b)), ["/birthInfo/birthDate"]);
}
