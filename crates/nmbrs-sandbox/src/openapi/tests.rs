use std::collections::HashMap;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::schema::{Checker, MAX_VIOLATIONS, Mode, Sink, format_problem};
use super::{Contract, Operation, SOURCE, Violation, contract};

const COMPANY: &str = "5b6a0e4e-6d2b-4c67-9a43-2f7d0c1e8a11";
const EMPLOYEE: &str = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0";

fn op(method: &str, path: &str) -> Operation<'static> {
    contract()
        .operation(method, path)
        .unwrap_or_else(|| panic!("no operation for {method} {path}"))
}

fn query(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn pointers(violations: &[Violation]) -> Vec<&str> {
    violations.iter().map(|v| v.pointer.as_str()).collect()
}

/// Exactly one violation, at `pointer`, whose message contains `fragment`.
fn assert_one(violations: &[Violation], pointer: &str, fragment: &str, case: &str) {
    assert_eq!(
        violations.len(),
        1,
        "{case}: expected one violation, got {violations:#?}"
    );
    assert_eq!(violations[0].pointer, pointer, "{case}: {violations:#?}");
    assert!(
        violations[0].message.contains(fragment),
        "{case}: {:?} lacks {fragment:?}",
        violations[0].message
    );
}

fn create_employee() -> Operation<'static> {
    op("POST", &format!("/api/companies/{COMPANY}/employees"))
}

fn valid_create_body() -> Value {
    json!({
        "PersonalInfo": {
            "basicInfo": {"lastName": "Doe", "employeeType": "applicant", "employeeNumber": 98072},
            "birthInfo": {"birthDate": "1980-02-27", "birthCountryCodeISO": "NL"},
            "period": {"year": 2026, "period": 11}
        },
        "AdditionalEmployeeInfo": {"inServiceDate": "2026-11-01"}
    })
}

fn put_personal_info() -> Operation<'static> {
    op("PUT", &format!("/api/employees/{EMPLOYEE}/personalInfo"))
}

/// A one-record page of `GET /api/companies/{companyId}/employees/personalinfo`.
fn history_page() -> Value {
    json!({
        "pagination": {
            "pageNumber": 1, "pageSize": 20, "totalPages": 1, "totalRecords": 1,
            "firstPage": "http://127.0.0.1:8080/api/companies/x/employees/personalinfo?pageNumber=1",
            "lastPage": "http://127.0.0.1:8080/api/companies/x/employees/personalinfo?pageNumber=1",
            "nextPage": null, "previousPage": null
        },
        "data": [{
            "employeeId": EMPLOYEE,
            "info": [{
                "personalInfoId": "3c9d7d2e-1b8f-4a57-9a1e-0d5c6b7a8f90",
                "basicInfo": {"employeeNumber": 98072, "firstName": "John", "lastName": "Doe", "employeeType": "payroll"},
                "birthInfo": {"birthDate": "1980-02-27T00:00:00Z", "birthCountry": {"codeISO": "NL"}, "gender": null},
                "contactInfo": {"privateEmail": "john@example.nl", "businessEmail": null},
                "partnerInfo": {"partnerName": null, "maritalStatus": "married"},
                "period": {"year": 2026, "period": 11},
                "createdAt": "2026-11-02T09:15:00.123+01:00"
            }]
        }]
    })
}

#[test]
fn embedded_description_is_the_vendored_file() {
    let digest = hex::encode(Sha256::digest(SOURCE.as_bytes()));
    assert_eq!(
        digest,
        "5b02feb7d189034a8b3d4c5c8bf706e815edacc109251e004811910d27627ba1"
    );
}

#[test]
fn description_parses_once_with_every_path_and_pattern() {
    let c = contract();
    assert!(std::ptr::eq(c, contract()), "parsed once per process");
    assert_eq!(c.paths.len(), 111);
    assert_eq!(c.doc["openapi"], "3.0.1");
    // Integer-looking YAML keys stay strings that `validate_response` can find.
    assert!(
        c.doc["paths"]["/api/companies/{companyId}/employees"]["post"]["responses"]
            .get("201")
            .is_some()
    );
    assert_eq!(c.patterns.keys().collect::<Vec<_>>(), ["^[0-9]{9}$"]);
    assert!(Contract::parse("paths: [").is_err());
    assert!(Contract::parse("openapi: 3.0.1").is_err());
}

#[test]
fn operation_matching_prefers_literals_and_is_case_sensitive() {
    let c = contract();
    let template = |m: &str, p: &str| c.operation(m, p).map(|o| o.template());
    let company = format!("/api/companies/{COMPANY}");
    let employee = format!("/api/employees/{EMPLOYEE}");
    assert_eq!(
        template("GET", &format!("{company}/employees/personalinfo")),
        Some("/api/companies/{companyId}/employees/personalinfo")
    );
    assert_eq!(
        template("put", &format!("{employee}/personalInfo")),
        Some("/api/employees/{employeeId}/personalInfo")
    );
    assert_eq!(
        template("PUT", &format!("{employee}/personalinfo")),
        None,
        "segments are case-sensitive"
    );
    assert_eq!(
        template("GET", &format!("{company}/employees/personalInfo")),
        None
    );
    assert_eq!(
        template("GET", &employee),
        Some("/api/employees/{employeeId}")
    );
    assert_eq!(
        template("GET", &format!("/api/debtors/{COMPANY}/companies")),
        Some("/api/debtors/{debtorId}/companies")
    );
    assert_eq!(
        template("GET", "/api/debtors/endcontractreasons/2026"),
        Some("/api/debtors/endcontractreasons/{Year}")
    );
    assert_eq!(
        template("GET", "/api/debtors/info"),
        Some("/api/debtors/info")
    );
    // Both `{debtorId}/companies` and `endcontractreasons/{Year}` fit; the literal comes first.
    let ambiguous = op("GET", "/api/debtors/endcontractreasons/companies");
    assert_eq!(
        ambiguous.template(),
        "/api/debtors/endcontractreasons/{Year}"
    );
    assert_one(
        &ambiguous.validate_request(&[], None),
        "path:Year",
        "must be an integer",
        "Year",
    );
    assert_eq!(template("GET", "/api/nothing/here"), None, "unknown path");
    assert_eq!(
        template("DELETE", &format!("{company}/employees")),
        None,
        "wrong method"
    );
    assert_eq!(
        template("PARAMETERS", &format!("{company}/employees")),
        None
    );
    assert_eq!(
        c.operation("POST", &format!("{company}/employees"))
            .and_then(|o| o.operation_id()),
        Some("createEmployee")
    );
}

#[test]
fn every_operation_is_reachable_from_a_concrete_path() {
    let c = contract();
    let mut seen = 0;
    for (template, item) in c.doc["paths"].as_object().expect("paths") {
        let concrete: Vec<String> = template
            .split('/')
            .map(|seg| match seg {
                "{Year}" => "2026".to_owned(),
                s if s.starts_with('{') => EMPLOYEE.to_owned(),
                s => s.to_owned(),
            })
            .collect();
        for method in item
            .as_object()
            .expect("path item")
            .keys()
            .filter(|m| *m != "parameters")
        {
            let found = c
                .operation(method, &concrete.join("/"))
                .map(|o| o.template());
            assert_eq!(found, Some(template.as_str()), "{method} {template}");
            seen += 1;
        }
    }
    assert_eq!(seen, 123, "operations in the description");
}

#[test]
fn path_parameters_are_checked_against_their_schema() {
    let ok = op("GET", &format!("/api/debtors/{COMPANY}/companies"));
    assert!(ok.validate_request(&[], None).is_empty());
    let bad = op("GET", "/api/debtors/12345/companies");
    assert_one(
        &bad.validate_request(&[], None),
        "path:debtorId",
        "must be a UUID",
        "debtorId",
    );
}

#[test]
fn create_employee_valid_body_passes() {
    assert_eq!(
        create_employee().validate_request(&[], Some(&valid_create_body())),
        []
    );
    // The description does not mark this request body as required.
    assert_eq!(create_employee().validate_request(&[], None), []);
}

#[test]
fn create_employee_violations_name_the_spot() {
    type Edit = fn(&mut Value);
    let cases: [(&str, Edit, &str, &str); 7] = [
        (
            "missing employeeType",
            |b| {
                if let Some(basic) = b["PersonalInfo"]["basicInfo"].as_object_mut() {
                    basic.remove("employeeType");
                }
            },
            "/PersonalInfo/basicInfo/employeeType",
            "is required",
        ),
        (
            "employeeType outside the enum",
            |b| b["PersonalInfo"]["basicInfo"]["employeeType"] = json!("employee"),
            "/PersonalInfo/basicInfo/employeeType",
            "must be one of applicant, newHire, payroll, formerPayroll, external, formerExternal, rejectedApplicant",
        ),
        (
            "unknown key in basicInfo",
            |b| b["PersonalInfo"]["basicInfo"]["nickName"] = json!("J"),
            "/PersonalInfo/basicInfo/nickName",
            "is not allowed here (additionalProperties: false)",
        ),
        (
            "personalInfoId sent",
            |b| b["PersonalInfo"]["personalInfoId"] = json!(EMPLOYEE),
            "/PersonalInfo/personalInfoId",
            "is read-only; must not be sent",
        ),
        (
            "createdAt sent",
            |b| b["PersonalInfo"]["createdAt"] = json!("2026-11-01T00:00:00Z"),
            "/PersonalInfo/createdAt",
            "is read-only; must not be sent",
        ),
        (
            "birthDate not ISO",
            |b| b["PersonalInfo"]["birthInfo"]["birthDate"] = json!("27-02-1980"),
            "/PersonalInfo/birthInfo/birthDate",
            "must be a date (YYYY-MM-DD",
        ),
        (
            "employeeNumber as string",
            |b| b["PersonalInfo"]["basicInfo"]["employeeNumber"] = json!("98072"),
            "/PersonalInfo/basicInfo/employeeNumber",
            "must be an integer, not a string",
        ),
    ];
    let mut all = valid_create_body();
    for (case, edit, pointer, fragment) in cases {
        let mut body = valid_create_body();
        edit(&mut body);
        assert_one(
            &create_employee().validate_request(&[], Some(&body)),
            pointer,
            fragment,
            case,
        );
        edit(&mut all);
    }
    // Every problem at once, not just the first (the enum edit puts the
    // removed employeeType back, so six remain).
    assert_eq!(create_employee().validate_request(&[], Some(&all)).len(), 6);
}

#[test]
fn put_personal_info_follows_the_update_schemas() {
    let put = put_personal_info();
    let body = |basic: Value, birth: Value, partner: Value| json!({"basicInfo": basic, "birthInfo": birth, "partnerInfo": partner, "period": {"year": 2026, "period": 11}});
    let basic = json!({"lastName": "Doe"});
    let offset = json!({"birthDate": "1980-02-27T00:00:00Z"});
    let single_null = json!({"maritalStatus": null});
    assert_eq!(
        put.validate_request(
            &[],
            Some(&body(basic.clone(), offset.clone(), single_null.clone()))
        ),
        []
    );

    let typed = body(
        json!({"lastName": "Doe", "employeeType": "payroll"}),
        offset.clone(),
        single_null.clone(),
    );
    assert_one(
        &put.validate_request(&[], Some(&typed)),
        "/basicInfo/employeeType",
        "additionalProperties: false",
        "type",
    );

    let local = body(
        basic.clone(),
        json!({"birthDate": "1980-02-27T00:00:00"}),
        single_null,
    );
    assert_one(
        &put.validate_request(&[], Some(&local)),
        "/birthInfo/birthDate",
        "must be a date-time (RFC 3339",
        "offset",
    );

    let single = body(basic, offset, json!({"maritalStatus": "single"}));
    assert_one(
        &put.validate_request(&[], Some(&single)),
        "/partnerInfo/maritalStatus",
        "must be one of married, ",
        "single",
    );

    let no_last_name = body(json!({"firstName": "J"}), json!({}), json!({}));
    assert_one(
        &put.validate_request(&[], Some(&no_last_name)),
        "/basicInfo/lastName",
        "is required",
        "lastName",
    );
}

#[test]
fn responses_match_their_status_schema() {
    let create = create_employee();
    assert_eq!(
        create.validate_response(201, &json!({"employeeId": EMPLOYEE})),
        []
    );
    assert_one(
        &create.validate_response(201, &json!({"employeeId": "42"})),
        "/employeeId",
        "must be a UUID",
        "id",
    );
    assert_one(
        &create.validate_response(200, &json!({"employeeId": EMPLOYEE})),
        "status",
        "200 is not a documented status",
        "200",
    );

    let history = op(
        "GET",
        &format!("/api/companies/{COMPANY}/employees/personalinfo"),
    );
    assert_eq!(history.validate_response(200, &history_page()), []);
    let mut flat = history_page();
    flat["data"][0]["info"][0]["birthInfo"] =
        json!({"birthDate": "1980-02-27T00:00:00Z", "birthCountryCodeISO": "NL"});
    let at = "/data/0/info/0/birthInfo/birthCountryCodeISO";
    assert_one(
        &history.validate_response(200, &flat),
        at,
        "additionalProperties: false",
        "flat",
    );
    let mut relative = history_page();
    relative["pagination"]["nextPage"] =
        json!("/api/companies/x/employees/personalinfo?pageNumber=2");
    assert_one(
        &history.validate_response(200, &relative),
        "/pagination/nextPage",
        "absolute http(s) URI",
        "uri",
    );

    let throttled = json!({"type": "throttlingError", "httpStatus": 429, "code": 42908, "title": "Too_Many_Calls", "detail": "…"});
    assert_eq!(history.validate_response(429, &throttled), []);
    let mut no_code = throttled.clone();
    if let Some(error) = no_code.as_object_mut() {
        error.remove("code");
    }
    assert_one(
        &history.validate_response(429, &no_code),
        "/code",
        "is required",
        "code",
    );
    let mut odd_type = throttled;
    odd_type["type"] = json!("tooManyRequests");
    assert_one(
        &history.validate_response(429, &odd_type),
        "/type",
        "must be one of apiError, ",
        "type",
    );
}

#[test]
fn bodiless_statuses_and_non_json_bodies() {
    let delete = op(
        "DELETE",
        &format!("/api/employees/{EMPLOYEE}/contracts/{COMPANY}"),
    );
    assert_eq!(delete.validate_response(204, &Value::Null), []);
    assert_one(
        &delete.validate_response(204, &json!({})),
        "",
        "no JSON body is described for status 204",
        "204",
    );
    let list = op("GET", &format!("/api/companies/{COMPANY}/employees"));
    assert_one(
        &list.validate_request(&[], Some(&json!({}))),
        "",
        "no request body is described",
        "GET body",
    );
    let upload = op("POST", &format!("/api/employees/{EMPLOYEE}/documents"));
    assert_one(
        &upload.validate_request(&[], Some(&json!({}))),
        "",
        "multipart/form-data",
        "multipart",
    );
    let absences = op(
        "POST",
        &format!("/api/companies/{COMPANY}/employees/{EMPLOYEE}/absences"),
    );
    assert_one(
        &absences.validate_request(&[], None),
        "",
        "a JSON request body is required",
        "required body",
    );
}

#[test]
fn query_parameters_follow_their_declarations() {
    let list = op("GET", &format!("/api/companies/{COMPANY}/employees"));
    let check = |pairs: &[(&str, &str)]| list.validate_request(&query(pairs), None);
    assert_eq!(
        check(&[("pageSize", "100"), ("pageNumber", "1"), ("unrelated", "x")]),
        []
    );
    assert_one(
        &check(&[("pageSize", "101")]),
        "query:pageSize",
        "must be at most 100",
        "101",
    );
    assert_one(
        &check(&[("pageSize", "0")]),
        "query:pageSize",
        "must be at least 1",
        "0",
    );
    assert_one(
        &check(&[("pageNumber", "0")]),
        "query:pageNumber",
        "must be at least 1",
        "page 0",
    );
    assert_one(
        &check(&[("pageNumber", "two")]),
        "query:pageNumber",
        "must be an integer (got \"two\")",
        "two",
    );
    assert_one(
        &check(&[("pageNumber", "")]),
        "query:pageNumber",
        "must not be empty",
        "empty",
    );
    assert_one(
        &check(&[("pageSize", "5"), ("pageSize", "6")]),
        "query:pageSize",
        "must be given once",
        "twice",
    );
    assert_one(
        &check(&[("pagesize", "5")]),
        "query:pagesize",
        "names it pageSize",
        "case",
    );
    assert_eq!(
        check(&[
            ("createdFrom", "2026-01-01T00:00:00Z"),
            ("employeeId", EMPLOYEE)
        ]),
        []
    );
    assert_one(
        &check(&[("createdFrom", "2026-01-01")]),
        "query:createdFrom",
        "must be a date-time",
        "date",
    );
    assert_one(
        &check(&[("employeeId", "42")]),
        "query:employeeId",
        "must be a UUID",
        "uuid",
    );
    let bad_company = op("GET", "/api/companies/acme/employees");
    assert_eq!(
        pointers(&bad_company.validate_request(&query(&[("pageSize", "101")]), None)),
        ["path:companyId", "query:pageSize"]
    );

    let xml = op(
        "GET",
        &format!("/api/companies/{COMPANY}/runs/{EMPLOYEE}/wagecodes/xml"),
    );
    let codes = |pairs: &[(&str, &str)]| xml.validate_request(&query(pairs), None);
    assert_eq!(codes(&[("wageCodes", "1"), ("wageCodes", "2")]), []);
    assert_one(
        &codes(&[("wageCodes", "1"), ("wageCodes", "x")]),
        "query:wageCodes",
        "each value must be an integer",
        "x",
    );
    assert_one(
        &codes(&[("wageCodes", "1"), ("wageCodes", "1")]),
        "query:wageCodes",
        "uniqueItems",
        "dup",
    );
}

fn check_inline(doc: &Value, schema: &Value, value: &Value, mode: Mode) -> Vec<Violation> {
    let patterns = HashMap::new();
    let mut sink = Sink::default();
    Checker {
        doc,
        patterns: &patterns,
        mode,
    }
    .check(schema, value, "", &mut sink);
    sink.into_violations()
}

fn check_ref(name: &str, value: &Value, mode: Mode) -> Vec<Violation> {
    let c = contract();
    let schema = json!({"$ref": format!("#/components/schemas/{name}")});
    let mut sink = Sink::default();
    c.checker(mode).check(&schema, value, "", &mut sink);
    sink.into_violations()
}

#[test]
fn formats_are_checked_strictly() {
    let ok = |format: &str, text: &str| format_problem(format, text).is_none();
    for good in ["2024-02-29", "1980-02-27", "0001-01-01"] {
        assert!(ok("date", good), "{good}");
    }
    for bad in [
        "2026-02-29",
        "2026-13-01",
        "2026-1-01",
        "27-02-1980",
        "2026-11-01T00:00:00Z",
        "２０２６-11-01",
    ] {
        assert!(!ok("date", bad), "{bad}");
    }
    for good in [
        "2026-11-01T00:00:00Z",
        "2026-11-01T00:00:00.1234567+01:00",
        "2026-11-01T23:59:59-05:30",
    ] {
        assert!(ok("date-time", good), "{good}");
    }
    for bad in [
        "2026-11-01T00:00:00",
        "2026-11-01",
        "2026-11-01 00:00:00Z",
        "2026-02-30T00:00:00Z",
    ] {
        assert!(!ok("date-time", bad), "{bad}");
    }
    assert!(ok("uuid", EMPLOYEE));
    for bad in [
        "0f1e2d3c4b5a49688776a5b4c3d2e1f0",
        "{0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0}",
        "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1fz",
    ] {
        assert!(!ok("uuid", bad), "{bad}");
    }
    assert!(ok("email", "john.doe@example.nl"));
    for bad in [
        "john@example",
        "@example.nl",
        "john@@example.nl",
        "john doe@example.nl",
        "john@.nl",
        "john",
    ] {
        assert!(!ok("email", bad), "{bad}");
    }
    assert!(
        ok("uri", "https://api.nmbrsapp.com/api/debtors?pageNumber=2")
            && ok("uri", "http://127.0.0.1:8080/api")
    );
    for bad in [
        "/api/debtors",
        "ftp://example.nl/x",
        "mailto:a@example.nl",
        "https://",
    ] {
        assert!(!ok("uri", bad), "{bad}");
    }
    assert!(ok("binary", "anything"), "unknown formats pass");
}

#[test]
fn numbers_integers_and_their_formats() {
    let doc = json!({});
    let int32 = json!({"type": "integer", "format": "int32", "minimum": 1, "maximum": 100, "exclusiveMaximum": true});
    let check = |v: Value| check_inline(&doc, &int32, &v, Mode::Request);
    assert_eq!(check(json!(3)), []);
    assert_eq!(
        check(json!(3.0)),
        [],
        "an integer is a number without a fraction"
    );
    assert_eq!(
        check(json!(3.5))[0].message,
        "must be an integer, not a fractional number"
    );
    assert_eq!(check(json!(100))[0].message, "must be less than 100");
    let wide = json!({"type": "integer", "format": "int32"});
    assert_eq!(
        check_inline(&doc, &wide, &json!(2_147_483_648_i64), Mode::Request).len(),
        1
    );
    assert_eq!(check(json!(null))[0].message, "must not be null");
}

#[test]
fn nullable_enums_allof_and_ref_siblings() {
    assert_eq!(
        check_ref("Gender", &Value::Null, Mode::Request),
        [],
        "Gender is a nullable enum"
    );
    assert_eq!(
        check_ref("MaritalStatus", &Value::Null, Mode::Request)[0].message,
        "must not be null"
    );
    assert_eq!(
        check_ref(
            "UpdatePartnerInfo",
            &json!({"maritalStatus": null}),
            Mode::Request
        ),
        []
    );
    // `endPeriod: {$ref: Period, nullable: true}`: the sibling is honoured.
    assert_eq!(
        check_ref(
            "CompanyFixedWageComponent",
            &json!({"endPeriod": null}),
            Mode::Response
        ),
        []
    );
    assert_eq!(
        check_ref(
            "CompanyFixedWageComponent",
            &json!({"startPeriod": null}),
            Mode::Response
        )
        .len(),
        1
    );
}

#[test]
fn pattern_and_lengths_from_the_description() {
    assert_eq!(
        check_ref(
            "EmployeePrivateInfo",
            &json!({"BSN": "123456782"}),
            Mode::Request
        ),
        []
    );
    let short = check_ref(
        "EmployeePrivateInfo",
        &json!({"BSN": "12345678"}),
        Mode::Request,
    );
    assert_eq!(pointers(&short), ["/BSN", "/BSN"]);
    assert!(
        short[1]
            .message
            .contains("must match the pattern ^[0-9]{9}$"),
        "{short:?}"
    );
}

#[test]
fn read_only_and_write_only_depend_on_the_direction() {
    let doc = json!({"components": {"schemas": {"Id": {"type": "string", "readOnly": true}}}});
    let schema = json!({
        "type": "object",
        "required": ["id", "secret"],
        "properties": {"id": {"$ref": "#/components/schemas/Id"}, "secret": {"type": "string", "writeOnly": true}}
    });
    let sent = check_inline(
        &doc,
        &schema,
        &json!({"id": "x", "secret": "s"}),
        Mode::Request,
    );
    assert_eq!(pointers(&sent), ["/id"]);
    assert_eq!(
        check_inline(&doc, &schema, &json!({"secret": "s"}), Mode::Request),
        [],
        "required readOnly is for responses"
    );
    let returned = check_inline(
        &doc,
        &schema,
        &json!({"id": "x", "secret": "s"}),
        Mode::Response,
    );
    assert_eq!(
        returned,
        [Violation {
            pointer: "/secret".into(),
            message: "is write-only; must not be returned".into()
        }]
    );
}

#[test]
fn composition_cycles_escaping_and_the_cap() {
    let doc = json!({"components": {"schemas": {
        "A": {"$ref": "#/components/schemas/B"},
        "B": {"allOf": [{"$ref": "#/components/schemas/A"}], "type": "object",
              "properties": {"next": {"$ref": "#/components/schemas/A"}}}
    }}});
    let a = json!({"$ref": "#/components/schemas/A"});
    assert_eq!(
        check_inline(&doc, &a, &json!({"next": {"next": {}}}), Mode::Response),
        []
    );
    assert_eq!(
        pointers(&check_inline(
            &doc,
            &a,
            &json!({"next": {"next": 1}}),
            Mode::Response
        )),
        ["/next/next"]
    );

    let one_of = json!({"oneOf": [{"type": "integer"}, {"type": "number"}]});
    assert!(
        check_inline(&doc, &one_of, &json!(1), Mode::Request)[0]
            .message
            .contains("it matches 2")
    );
    assert_eq!(check_inline(&doc, &one_of, &json!(1.5), Mode::Request), []);
    let any_of = json!({"anyOf": [{"type": "string"}, {"type": "boolean"}]});
    assert_eq!(
        check_inline(&doc, &any_of, &json!(1), Mode::Request).len(),
        1
    );

    let closed = json!({"type": "object", "additionalProperties": {"type": "integer"}});
    assert_eq!(
        pointers(&check_inline(
            &doc,
            &closed,
            &json!({"a/b~c": "x"}),
            Mode::Request
        )),
        ["/a~1b~0c"]
    );

    let ints = json!({"type": "array", "items": {"type": "integer"}});
    let many = check_inline(&doc, &ints, &json!(vec!["x"; 60]), Mode::Request);
    assert_eq!(many.len(), MAX_VIOLATIONS + 1);
    assert!(many[MAX_VIOLATIONS].message.contains("left out"));
    assert_eq!(many[0].to_string(), "/0: must be an integer, not a string");
    assert_eq!(
        Violation {
            pointer: String::new(),
            message: "m".into()
        }
        .to_string(),
        "(body): m"
    );
}
