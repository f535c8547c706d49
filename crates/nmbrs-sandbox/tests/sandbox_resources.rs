//! The employee resources beyond personal info, over real HTTP: employments,
//! contracts, functions, departments, managers, addresses and private info
//! (BSN), their company histories, the debtor's reference lists and the
//! end-of-contract reasons. Every test ends with `env.finish()`: no answer
//! broke `docs/nmbrs-openapi.yaml`.

mod sandbox_support;

use nmbrs_sandbox::DEFAULT_CLIENT_ID;
use reqwest::{Method, StatusCode};
use sandbox_support::{Env, assert_error, now_period, person};
use serde_json::{Value, json};

const UNKNOWN_ID: &str = "00000000-0000-4000-8000-000000000000";

impl Env {
    /// `GET /companies/{companyId}/employees/{segment}{query}` → 200 body.
    async fn listing(&self, segment: &str, query: &str) -> Value {
        let path = format!("/companies/{}/employees/{segment}{query}", self.company_id);
        let (status, body) = self.get_json(&path).await;
        assert_eq!(status, StatusCode::OK, "{segment}{query}: {body}");
        body
    }

    /// The history array `segment` of one employee in the company listing.
    async fn entries(&self, segment: &str, employee_id: &str) -> Vec<Value> {
        let body = self.listing(segment, "").await;
        let item = body["data"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|i| i["employeeId"] == employee_id)
            .unwrap_or_else(|| panic!("{employee_id} not listed: {body}"));
        item[segment].as_array().cloned().unwrap_or_default()
    }

    /// A DELETE; its status and (for errors) its JSON body.
    async fn delete(&self, path: &str) -> (StatusCode, Value) {
        let resp = self
            .call(Method::DELETE, path)
            .send()
            .await
            .expect("reachable");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("json body")
        };
        (status, body)
    }

    /// An employee created with this in-service date (POST, so the create's rule runs).
    async fn hire(&self, number: i64, in_service: &str) -> String {
        let mut p = person(number, "Hanison");
        p.as_object_mut().map(|o| o.remove("period"));
        let body =
            json!({"PersonalInfo": p, "AdditionalEmployeeInfo": {"inServiceDate": in_service}});
        let (status, body) = self
            .send_json(Method::POST, &self.employees_path(), &body)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["employeeId"].as_str().expect("employeeId").to_string()
    }

    fn debtor(&self) -> String {
        self.sb().default_debtor_id().expect("seeded debtor")
    }
}

/// Asserts a 400 40033 and returns its `invalid-params` names.
fn refused(status: StatusCode, body: &Value) -> Vec<String> {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_error(body, 400, 40033, "validationError", "Parameter_Invalid")
}

// ------------------------------------------------------------------ employments

#[tokio::test]
async fn the_create_starts_an_employment_that_puts_end_and_reopen() {
    let env = Env::new().await;
    let id = env.hire(1, "2024-02-27").await;
    assert_eq!(
        env.sb().in_service_date(&id).map(|d| d.to_string()),
        Some("2024-02-27".to_string())
    );
    let plain = env.sb().seed_employee(&env.company_id, person(2, "Plain"));
    assert_eq!(
        env.entries("employments", &plain).await,
        Vec::<Value>::new(),
        "an employee without employments is listed with none"
    );

    let first = env.entries("employments", &id).await;
    assert_eq!(first.len(), 1, "{first:?}");
    let e = &first[0];
    assert_eq!(
        e["startDate"], "2024-02-26T23:00:00Z",
        "Dutch midnight in UTC"
    );
    assert_eq!(e["seniorityDate"], e["startDate"]);
    assert_eq!(e["endDate"], Value::Null);
    assert_eq!(
        e["endContractReason"],
        json!({"code": null, "reason": null})
    );
    assert!(e["creationDate"].is_string() && e["changedDate"].is_string());
    let employment_id = e["employmentId"].as_str().expect("id").to_string();
    let path = format!("/employees/{id}/employment");

    // While it is open, no second employment.
    let (status, body) = env
        .send_json(
            Method::POST,
            &path,
            &json!({"startDate": "2025-01-01T00:00:00+01:00"}),
        )
        .await;
    assert_eq!(refused(status, &body), ["/startDate"]);

    // End it (no employmentId: the latest), with a reason from the list.
    let end = json!({"endOfServiceDate": "2024-06-29T22:00:00Z", "endOfContractReason": 1});
    let (status, body) = env.send_json(Method::PUT, &path, &end).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"employmentId": employment_id}));
    let ended = &env.entries("employments", &id).await[0];
    assert_eq!(
        ended["endDate"], "2024-06-29T22:00:00Z",
        "30 June, summer time"
    );
    assert_eq!(
        ended["endContractReason"],
        json!({"code": 1, "reason": "Resignation by employee"})
    );

    // Refusals: a reason not in the list, an end before the start.
    let (status, body) = env
        .send_json(Method::PUT, &path, &json!({"endOfContractReason": 99}))
        .await;
    assert_eq!(refused(status, &body), ["/endOfContractReason"]);
    let (status, body) = env
        .send_json(
            Method::PUT,
            &path,
            &json!({"employmentId": employment_id, "endOfServiceDate": "2024-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(refused(status, &body), ["/endOfServiceDate"]);
    let (status, _) = env
        .send_json(Method::PUT, &path, &json!({"employmentId": UNKNOWN_ID}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A new employment must start after the old one's end.
    let (status, body) = env
        .send_json(
            Method::POST,
            &path,
            &json!({"startDate": "2024-06-30T00:00:00+02:00"}),
        )
        .await;
    assert_eq!(
        refused(status, &body),
        ["/startDate"],
        "overlaps on 30 June"
    );
    let (status, body) = env
        .send_json(
            Method::POST,
            &path,
            &json!({"startDate": "2024-09-01T00:00:00+02:00", "seniorityDate": "2020-01-01T00:00:00+01:00"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let second = body["employmentId"].as_str().expect("id").to_string();
    let both = env.entries("employments", &id).await;
    assert_eq!(both.len(), 2);
    assert_eq!(both[1]["employmentId"], second.as_str(), "by start date");
    assert_eq!(both[1]["seniorityDate"], "2019-12-31T23:00:00Z");

    // Reopening the first would overlap the second; reopening the second works.
    let reopen = |e: &str| format!("/employees/{id}/employments/{e}/endOfServiceDate");
    let (status, body) = env.delete(&reopen(&employment_id)).await;
    assert_eq!(refused(status, &body), ["employmentId"]);
    let (status, _) = env.delete(&reopen(UNKNOWN_ID)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let close = json!({"employmentId": second, "endOfServiceDate": "2024-12-31T00:00:00+01:00", "endOfContractReason": 5});
    assert_eq!(
        env.send_json(Method::PUT, &path, &close).await.0,
        StatusCode::OK
    );
    let (status, body) = env.delete(&reopen(&second)).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    let reopened = &env.entries("employments", &id).await[1];
    assert_eq!(reopened["endDate"], Value::Null);
    assert_eq!(
        reopened["endContractReason"],
        json!({"code": null, "reason": null})
    );
    env.finish();
}

#[tokio::test]
async fn end_contract_reasons_are_a_fixed_paged_list() {
    let env = Env::new().await;
    let (status, body) = env
        .get_json("/debtors/endcontractreasons/2024?pageSize=4")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["pagination"]["totalRecords"], 6);
    assert_eq!(
        body["data"][0],
        json!({"code": 1, "reason": "Resignation by employee"})
    );
    assert_eq!(body["data"].as_array().map(Vec::len), Some(4));
    let (status, body) = env.get_json("/debtors/endcontractreasons/12").await;
    assert_eq!(refused(status, &body), ["Year"]);
    env.finish();
}

// ------------------------------------------------------------------ contracts

#[tokio::test]
async fn contracts_are_created_updated_in_place_and_deleted() {
    let env = Env::new().await;
    let id = env.sb().seed_employee(&env.company_id, person(1, "A"));
    let path = format!("/employees/{id}/contract");
    let permanent = json!({"startDate": "2024-03-01T00:00:00+01:00", "trialPeriod": "2024-04-01T00:00:00+02:00",
                           "indefinite": true, "writtenContract": true, "hoursPerWeek": 40});
    let (status, body) = env.send_json(Method::POST, &path, &permanent).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let contract_id = body["contractId"].as_str().expect("id").to_string();
    let listed = env.entries("contracts", &id).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["startDate"], "2024-02-29T23:00:00Z");
    assert_eq!(listed[0]["endDate"], Value::Null);
    assert_eq!(listed[0]["hoursPerWeek"], 40.0);
    let created_at = listed[0]["createdAt"].clone();

    // Refusals: a temporary contract needs an end, and it cannot end before it starts.
    let temporary = json!({"startDate": "2024-03-01T00:00:00Z", "indefinite": false});
    let (status, body) = env.send_json(Method::POST, &path, &temporary).await;
    assert_eq!(refused(status, &body), ["/endDate"]);
    let backwards = json!({"startDate": "2024-03-01T00:00:00Z", "endDate": "2024-02-01T00:00:00Z", "indefinite": false});
    let (status, body) = env.send_json(Method::POST, &path, &backwards).await;
    assert_eq!(refused(status, &body), ["/endDate"]);
    let (status, body) = env
        .send_json(
            Method::POST,
            &path,
            &json!({"startDate": "2024-03-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(
        refused(status, &body),
        ["/indefinite"],
        "required by the description"
    );

    // No contractId: the latest; absent members stay, the contract keeps id and createdAt.
    let (status, body) = env
        .send_json(
            Method::PUT,
            &path,
            &json!({"indefinite": true, "hoursPerWeek": 32}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"employeeContractId": contract_id}));
    let updated = &env.entries("contracts", &id).await[0];
    assert_eq!(updated["hoursPerWeek"], 32.0);
    assert_eq!(updated["writtenContract"], true);
    assert_eq!(updated["createdAt"], created_at);
    let (status, body) = env
        .send_json(
            Method::PUT,
            &path,
            &json!({"contractId": contract_id, "indefinite": false}),
        )
        .await;
    assert_eq!(
        refused(status, &body),
        ["/endDate"],
        "now temporary without an end"
    );

    let one = format!("/employees/{id}/contracts/{contract_id}");
    assert_eq!(env.delete(&one).await.0, StatusCode::NO_CONTENT);
    assert!(env.entries("contracts", &id).await.is_empty());
    assert_eq!(env.delete(&one).await.0, StatusCode::NOT_FOUND);
    env.finish();
}

// ------------------------------------------------------------------ organisation structure

#[tokio::test]
async fn debtor_lists_hold_the_seeded_organisation() {
    let env = Env::new().await;
    let debtor = env.debtor();
    let (status, body) = env.get_json(&format!("/debtors/{debtor}/functions")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let descriptions: Vec<&str> = body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["description"].as_str())
        .collect();
    assert_eq!(
        descriptions,
        ["Payroll Specialist", "Sales Lead", "Software Engineer"]
    );

    let (_, body) = env
        .get_json(&format!("/debtors/{debtor}/departments"))
        .await;
    assert_eq!(body["data"][0]["description"], "Finance");
    assert_eq!(body["data"][0]["managers"][0]["lastName"], "de Boer");
    assert_eq!(
        body["data"][2]["managers"],
        json!([]),
        "Engineering has none"
    );

    let (_, body) = env.get_json(&format!("/debtors/{debtor}/managers")).await;
    let sem = &body["data"][1];
    assert_eq!(sem["email"], "sem.jansen@example.nl");
    assert_eq!(sem["department"]["description"], "Sales");
    assert_eq!(sem["function"]["description"], "Sales Lead");
    for member in [
        "managerId",
        "number",
        "gender",
        "phoneNumber",
        "cellphone",
        "fax",
    ] {
        assert!(!sem[member].is_null(), "{member}: {sem}");
    }

    let (status, body) = env
        .get_json(&format!("/debtors/{UNKNOWN_ID}/managers"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, 404, 40401, "invalidRequestError", "Not_Found");
    env.finish();
}

#[tokio::test]
async fn function_department_and_manager_puts_copy_the_debtor_object_per_period() {
    let env = Env::new().await;
    let debtor = env.debtor();
    let id = env.sb().seed_employee(&env.company_id, person(1, "A"));
    let sales_lead = env.sb().add_function(&debtor, 7, "Team Lead");
    let (year, month) = now_period();

    let path = format!("/employees/{id}/function");
    let (status, body) = env
        .send_json(Method::PUT, &path, &json!({"functionId": sales_lead}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["employeeFunctionId"].is_string(), "{body}");
    let listed = env.entries("functions", &id).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["functionId"], sales_lead.as_str());
    assert_eq!(
        (listed[0]["code"].clone(), listed[0]["description"].clone()),
        (json!(7), json!("Team Lead"))
    );
    assert_eq!(
        listed[0]["period"],
        json!({"year": year, "period": month}),
        "current period"
    );

    // Same period: replaced; another period: added (listed by period).
    let engineer = env.sb().add_function(&debtor, 8, "Engineer");
    let (status, _) = env
        .send_json(Method::PUT, &path, &json!({"functionId": engineer}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let early = json!({"functionId": sales_lead, "periodDetails": {"year": 2020, "period": 1}});
    assert_eq!(
        env.send_json(Method::PUT, &path, &early).await.0,
        StatusCode::OK
    );
    let listed = env.entries("functions", &id).await;
    let descriptions: Vec<&str> = listed
        .iter()
        .filter_map(|f| f["description"].as_str())
        .collect();
    assert_eq!(descriptions, ["Team Lead", "Engineer"]);

    // Not one of the debtor's functions, or a bad period: 400 naming the member.
    let (status, body) = env
        .send_json(Method::PUT, &path, &json!({"functionId": UNKNOWN_ID}))
        .await;
    assert_eq!(refused(status, &body), ["/functionId"]);
    let bad_period = json!({"functionId": engineer, "periodDetails": {"year": 2024, "period": 13}});
    let (status, body) = env.send_json(Method::PUT, &path, &bad_period).await;
    assert_eq!(refused(status, &body), ["/periodDetails/period"]);

    // Departments and managers work alike (the description lists no 400 for
    // these PUTs; the refusal is still in the shared error shape).
    let department = env.sb().add_department(&debtor, 9, "Research");
    let (status, body) = env
        .send_json(
            Method::PUT,
            &format!("/employees/{id}/department"),
            &json!({"departmentId": department}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["employeeDepartmentId"].is_string());
    assert_eq!(
        env.entries("departments", &id).await[0]["description"],
        "Research"
    );
    let manager = env
        .sb()
        .add_manager(&debtor, "Noor", "Visser", "noor.visser@example.nl");
    let manager_path = format!("/employees/{id}/manager");
    let (status, body) = env
        .send_json(Method::PUT, &manager_path, &json!({"managerId": manager}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["employeeManagerId"].is_string());
    let m = &env.entries("managers", &id).await[0];
    assert_eq!(
        (
            m["firstName"].clone(),
            m["lastName"].clone(),
            m["email"].clone()
        ),
        (
            json!("Noor"),
            json!("Visser"),
            json!("noor.visser@example.nl")
        )
    );
    let (status, body) = env
        .send_json(
            Method::PUT,
            &manager_path,
            &json!({"managerId": sales_lead}),
        )
        .await;
    assert_eq!(
        refused(status, &body),
        ["/managerId"],
        "a function is not a manager"
    );

    // Another debtor's objects are not the employee's.
    let other = env.sb().add_debtor("2", "Other debtor");
    let foreign = env.sb().add_function(&other, 1, "Foreign");
    let (status, body) = env
        .send_json(Method::PUT, &path, &json!({"functionId": foreign}))
        .await;
    assert_eq!(refused(status, &body), ["/functionId"]);
    env.finish();
}

// ------------------------------------------------------------------ addresses and BSN

#[tokio::test]
async fn addresses_append_entries() {
    let env = Env::new().await;
    let id = env.sb().seed_employee(&env.company_id, person(1, "A"));
    let path = format!("/employees/{id}/address");
    let home = json!({"type": "homeAddress", "street": "Naritaweg", "houseNumber": "70", "postalCode": "1043BZ",
                      "city": "Amsterdam", "countryISOCode": "nl", "isDefault": true,
                      "period": {"year": 2024, "period": 3}});
    let (status, body) = env.send_json(Method::POST, &path, &home).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let address_id = body["addressId"].as_str().expect("id").to_string();
    let post = json!({"type": "postAddress", "street": "Postbus", "city": "Utrecht", "countryISOCode": "NL"});
    assert_eq!(
        env.send_json(Method::POST, &path, &post).await.0,
        StatusCode::CREATED
    );

    let listed = env.entries("addresses", &id).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    let a = &listed[0];
    assert_eq!(a["addressId"], address_id.as_str());
    assert_eq!(a["countryISOCode"], "NL");
    assert_eq!(
        (a["isDefault"].clone(), a["houseNumberAddition"].clone()),
        (json!(true), Value::Null)
    );
    assert_eq!(a["period"], json!({"year": 2024, "period": 3}));
    let (year, month) = now_period();
    assert_eq!(listed[1]["period"], json!({"year": year, "period": month}));
    assert_eq!(listed[1]["isDefault"], false);

    let mut bad = post.clone();
    bad["countryISOCode"] = json!("NLD");
    let (status, body) = env.send_json(Method::POST, &path, &bad).await;
    assert_eq!(refused(status, &body), ["/countryISOCode"]);
    let (status, body) = env
        .send_json(
            Method::POST,
            &path,
            &json!({"street": "X", "city": "Y", "countryISOCode": "NL"}),
        )
        .await;
    assert_eq!(refused(status, &body), ["/type"]);
    env.finish();
}

#[tokio::test]
async fn social_security_numbers_pass_the_eleven_test() {
    let env = Env::new().await;
    let id = env.sb().seed_employee(&env.company_id, person(1, "A"));
    let path = format!("/employees/{id}/socialsecuritynumber");
    let (status, body) = env
        .send_json(
            Method::PUT,
            &path,
            &json!({"socialSecurityNumber": "123456782"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body["personalnfoId"].is_string(),
        "the description's spelling: {body}"
    );
    for bad in ["123456789", "12345678", "12345678a", ""] {
        let (status, body) = env
            .send_json(Method::PUT, &path, &json!({"socialSecurityNumber": bad}))
            .await;
        assert_eq!(refused(status, &body), ["/socialSecurityNumber"], "{bad}");
    }
    let listed = env.entries("privateInfos", &id).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["BSN"], "123456782");
    assert!(listed[0]["createdAt"].is_string());
    env.finish();
}

// ------------------------------------------------------------------ scopes and filters

#[tokio::test]
async fn each_write_family_needs_its_scope() {
    let mut env = Env::new().await;
    let id = env.sb().seed_employee(&env.company_id, person(1, "A"));
    let function = env.sb().add_function(&env.debtor(), 9, "Analyst");
    for scope in [
        "employee.employment",
        "employee.orgstructure",
        "employee.info",
    ] {
        env.sb().revoke_scope(DEFAULT_CLIENT_ID, scope);
    }
    env.access_token = env.refresh().await;
    let writes = [
        (
            "employment",
            json!({"startDate": "2024-01-01T00:00:00Z"}),
            Method::POST,
            "employee.employment",
        ),
        (
            "function",
            json!({"functionId": function}),
            Method::PUT,
            "employee.orgstructure",
        ),
        (
            "socialsecuritynumber",
            json!({"socialSecurityNumber": "123456782"}),
            Method::PUT,
            "employee.info",
        ),
    ];
    for (segment, body, method, scope) in writes {
        let (status, body) = env
            .send_json(method, &format!("/employees/{id}/{segment}"), &body)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{segment}");
        assert_error(
            &body,
            403,
            40303,
            "authenticationError",
            "Unauthorized_AccessData",
        );
        assert!(
            body["detail"].as_str().is_some_and(|d| d.contains(scope)),
            "{body}"
        );
    }
    assert!(env.sb().history(&id, "employments").is_empty());
    assert!(env.sb().history(&id, "privateInfos").is_empty());
    // The .read scopes still read.
    env.listing("employments", "").await;
    let (status, _) = env
        .get_json(&format!("/debtors/{}/functions", env.debtor()))
        .await;
    assert_eq!(status, StatusCode::OK);
    env.finish();
}

#[tokio::test]
async fn listings_filter_by_employee_created_and_changed() {
    let env = Env::new().await;
    let a = env.hire(1, "2023-01-01").await;
    let b = env.hire(2, "2024-01-01").await;
    let count = |body: &Value| body["data"].as_array().map(Vec::len).unwrap_or(0);

    let body = env
        .listing("employments", &format!("?employeeId={b}"))
        .await;
    assert_eq!(
        (count(&body), body["data"][0]["employeeId"].as_str()),
        (1, Some(b.as_str()))
    );
    // The description gives privateInfos no employeeId filter: it is ignored.
    let body = env
        .listing("privateInfos", &format!("?employeeId={b}"))
        .await;
    assert_eq!(count(&body), 2, "{body}");

    // createdFrom: a's employment planted as created in 2020 drops out.
    assert!(env.sb().edit_entry(
        &a,
        "employments",
        0,
        "creationDate",
        json!("2020-01-01T12:00:00")
    ));
    let body = env
        .listing("employments", "?createdFrom=2021-01-01T00:00:00Z")
        .await;
    assert_eq!(
        (count(&body), body["data"][0]["employeeId"].as_str()),
        (1, Some(b.as_str()))
    );
    assert!(
        body["pagination"]["firstPage"]
            .as_str()
            .is_some_and(|l| l.contains("createdFrom=")),
        "links keep the filter"
    );
    let body = env
        .listing("employments", "?createdFrom=2999-01-01T00:00:00Z")
        .await;
    assert_eq!(
        count(&body),
        0,
        "employees without entries since then are left out"
    );

    // changedFrom: only the employment changed since then (the UI-like edit moved changedDate).
    assert!(env.sb().edit_entry(
        &b,
        "employments",
        0,
        "changedDate",
        json!("2020-06-01T00:00:00")
    ));
    assert!(env.sb().edit_entry(
        &a,
        "employments",
        0,
        "changedDate",
        json!("2020-06-01T00:00:00")
    ));
    assert!(
        env.sb()
            .edit_entry(&a, "employments", 0, "endDate", json!("2023-12-31"))
    );
    let body = env
        .listing("employments", "?changedFrom=2021-01-01T00:00:00Z")
        .await;
    assert_eq!(
        (count(&body), body["data"][0]["employeeId"].as_str()),
        (1, Some(a.as_str()))
    );
    assert_eq!(
        body["data"][0]["employments"][0]["endDate"],
        "2023-12-30T23:00:00Z"
    );

    let path = format!(
        "/companies/{}/employees/employments?changedFrom=soon",
        env.company_id
    );
    let (status, body) = env.get_json(&path).await;
    assert_eq!(refused(status, &body), ["changedFrom"]);
    env.finish();
}

// ------------------------------------------------------------------ programmatic API

#[tokio::test]
async fn append_and_edit_entries_as_in_the_nmbrs_ui() {
    let env = Env::new().await;
    let sb = env.sb();
    let id = sb.seed_employee(&env.company_id, person(1, "A"));
    let debtor = env.debtor();
    let function = sb.add_function(&debtor, 4, "Controller");

    let entry = sb
        .append_entry(
            &id,
            "functions",
            json!({"functionId": function, "period": {"year": 2023, "period": 5}}),
        )
        .expect("appended");
    assert!(!entry.is_empty());
    let history = sb.history(&id, "functions");
    assert_eq!(history.len(), 1);
    assert_eq!(
        history[0]["description"], "Controller",
        "copied from the debtor"
    );
    assert_eq!(history[0]["period"], json!({"year": 2023, "period": 5}));
    assert_eq!(
        sb.append_entry(&id, "functions", json!({"functionId": UNKNOWN_ID})),
        None
    );
    assert_eq!(sb.append_entry(&id, "salaries", json!({})), None);

    let old = sb
        .append_entry(
            &id,
            "contracts",
            json!({"startDate": "2022-01-01", "indefinite": true, "hoursPerWeek": 24}),
        )
        .expect("contract");
    let new = sb
        .append_entry(
            &id,
            "contracts",
            json!({"startDate": "2023-01-01", "indefinite": true, "hoursPerWeek": 36}),
        )
        .expect("contract");
    assert!(sb.edit_entry(&id, "contracts", 0, "hoursPerWeek", json!(38)));
    assert!(!sb.edit_entry(&id, "contracts", 0, "hoursPerWeek", json!("many")));
    assert!(!sb.edit_entry(&id, "contracts", 2, "hoursPerWeek", json!(1)));
    assert!(!sb.edit_entry(&id, "contracts", 0, "salary", json!(1)));
    let contracts = env.entries("contracts", &id).await;
    assert_eq!(contracts[0]["contractId"], old.as_str());
    assert_eq!(contracts[1]["contractId"], new.as_str());
    assert_eq!(contracts[1]["hoursPerWeek"], 38.0, "index 0 is the newest");
    assert_eq!(contracts[0]["hoursPerWeek"], 24.0);
    assert!(sb.history(&id, "nothing").is_empty());
    env.finish();
}
