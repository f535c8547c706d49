//! Drives the Nmbrs sandbox over real HTTP (reqwest on 127.0.0.1, ephemeral
//! ports), the way the sync client and users' tools see it, and checks it
//! answers in the shapes of `docs/nmbrs-openapi.yaml`. Every test ends with
//! `env.finish()`: the sandbox recorded no violation of the description.

mod sandbox_support;

use std::time::{Duration, Instant};

use nmbrs_sandbox::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DateStyle, Fault, FaultOptions, Sandbox,
    SandboxOptions,
};
use reqwest::{Method, StatusCode};
use sandbox_support::{Env, assert_error, now_period, person};
use serde_json::{Value, json};

// ------------------------------------------------------------------ tokens and gateway

#[tokio::test]
async fn refresh_tokens_rotate_and_client_errors_are_oauth_shaped() {
    let mut env = Env::new().await;
    let old = env.refresh_token.clone();
    let _ = env.refresh().await;
    assert_ne!(
        env.refresh_token, old,
        "each answer carries a new refresh token"
    );

    let reused = env.token_request(&old).await;
    assert_eq!(reused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        reused.json::<Value>().await.expect("json")["error"],
        "invalid_grant"
    );

    let resp = env
        .http
        .post(env.running.token_url())
        .basic_auth(DEFAULT_CLIENT_ID, Some(DEFAULT_CLIENT_SECRET))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", env.refresh_token.as_str()),
        ])
        .send()
        .await
        .expect("reachable");
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let scopes: Vec<&str> = body["scope"].as_str().expect("scope").split(' ').collect();
    for s in [
        "company.info.read",
        "employee.info",
        "employee.info.read",
        "offline_access",
    ] {
        assert!(scopes.contains(&s), "{scopes:?}");
    }
    let fresh = body["refresh_token"].as_str().expect("rt").to_string();

    let bad_client = env
        .http
        .post(env.running.token_url())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", fresh.as_str()),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", "nope"),
        ])
        .send()
        .await
        .expect("reachable");
    assert_eq!(bad_client.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        bad_client.json::<Value>().await.expect("json")["error"],
        "invalid_client"
    );

    let wrong_grant = env
        .http
        .post(env.running.token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", DEFAULT_CLIENT_SECRET),
        ])
        .send()
        .await
        .expect("reachable");
    assert_eq!(wrong_grant.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        wrong_grant.json::<Value>().await.expect("json")["error"],
        "unsupported_grant_type"
    );

    // A failed client check did not consume the refresh token.
    assert_eq!(env.token_request(&fresh).await.status(), StatusCode::OK);
    assert_eq!(env.sb().stats().token_calls, 6);
    env.finish();
}

#[tokio::test]
async fn key_and_token_failures_are_403_40304_and_401_40101_40102() {
    let env = Env::with_options(SandboxOptions {
        access_token_ttl: Duration::from_millis(500),
        ..Default::default()
    })
    .await;
    let issued = Instant::now();
    assert_eq!(env.get_json("/companies").await.0, StatusCode::OK);
    let url = format!("{}/companies", env.running.base_url());
    let send = |req: reqwest::RequestBuilder| async move {
        let resp = req.send().await.expect("reachable");
        let status = resp.status();
        (status, resp.json::<Value>().await.expect("json"))
    };

    let (status, body) = send(env.http.get(&url).bearer_auth(&env.access_token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_error(
        &body,
        403,
        40304,
        "authenticationError",
        "Invalid_Subscription",
    );
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("no valid subscription"))
    );

    let wrong_key = env
        .http
        .get(&url)
        .bearer_auth(&env.access_token)
        .header("X-Subscription-Key", "nope");
    let (status, body) = send(wrong_key).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_error(
        &body,
        403,
        40304,
        "authenticationError",
        "Invalid_Subscription",
    );

    let key = nmbrs_sandbox::DEFAULT_SUBSCRIPTION_KEY;
    let (status, body) = send(env.http.get(&url).header("X-Subscription-Key", key)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error(&body, 401, 40101, "authenticationError", "Missing_Token");

    let garbage = env
        .http
        .get(&url)
        .bearer_auth("garbage")
        .header("X-Subscription-Key", key);
    let (status, body) = send(garbage).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error(&body, 401, 40102, "authenticationError", "Invalid_Token");

    // ...and the real token stops working once it has expired.
    tokio::time::sleep(Duration::from_millis(550).saturating_sub(issued.elapsed())).await;
    let (status, body) = env.get_json("/companies").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error(&body, 401, 40102, "authenticationError", "Invalid_Token");
    env.finish();
}

#[tokio::test]
async fn scopes_follow_the_security_entries() {
    let mut env = Env::new().await;
    env.sb().revoke_scope(DEFAULT_CLIENT_ID, "employee.info");
    env.access_token = env.refresh().await;

    let path = env.employees_path();
    let body = json!({"PersonalInfo": person(1, "Hanison")});
    let (status, body) = env.send_json(Method::POST, &path, &body).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_error(
        &body,
        403,
        40303,
        "authenticationError",
        "Unauthorized_AccessData",
    );
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("employee.info")),
        "{body}"
    );
    assert_eq!(env.sb().employee_count(), 0);

    // Reading still works with employee.info.read.
    assert_eq!(env.get_json(&env.history_path()).await.0, StatusCode::OK);

    env.sb()
        .revoke_scope(DEFAULT_CLIENT_ID, "company.info.read");
    env.access_token = env.refresh().await;
    let (status, body) = env.get_json("/companies").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("company.info.read"))
    );
    assert_eq!(
        env.get_json("/debtors").await.0,
        StatusCode::FORBIDDEN,
        "company scopes"
    );

    // A write scope implies its .read: a client with only the write scopes reads too.
    let rt = env
        .sb()
        .add_client("writer", "w", &["employee.info", "company.info"]);
    let resp = env
        .http
        .post(env.running.token_url())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt.as_str()),
            ("client_id", "writer"),
            ("client_secret", "w"),
        ])
        .send()
        .await
        .expect("reachable");
    let token: Value = resp.json().await.expect("json");
    env.access_token = token["access_token"].as_str().expect("at").to_string();
    assert_eq!(env.get_json(&env.history_path()).await.0, StatusCode::OK);
    assert_eq!(env.get_json("/companies").await.0, StatusCode::OK);
    env.finish();
}

// ------------------------------------------------------------------ paging

#[tokio::test]
async fn pages_link_absolutely_and_end_in_null() {
    let env = Env::new().await;
    let ids: Vec<String> = (1..=5)
        .map(|n| {
            env.sb()
                .seed_employee(&env.company_id, person(n, &format!("Last{n}")))
        })
        .collect();
    let base = env.running.base_url();
    let link = |n: u32| {
        format!(
            "{base}/companies/{}/employees/personalinfo?pageNumber={n}&pageSize=2",
            env.company_id
        )
    };

    let mut url = Some(format!(
        "{}?pageSize=2",
        link(1).split('?').next().unwrap_or_default()
    ));
    let mut seen = Vec::new();
    let mut page = 1;
    while let Some(u) = url {
        let resp = env
            .call_url(Method::GET, &u)
            .send()
            .await
            .expect("reachable");
        assert_eq!(resp.status(), StatusCode::OK);
        let body: Value = resp.json().await.expect("json");
        let p = &body["pagination"];
        assert_eq!(
            (p["pageNumber"].as_u64(), p["pageSize"].as_u64()),
            (Some(page), Some(2))
        );
        assert_eq!(
            (p["totalPages"].as_u64(), p["totalRecords"].as_u64()),
            (Some(3), Some(5))
        );
        assert_eq!(p["firstPage"], link(1));
        assert_eq!(p["lastPage"], link(3));
        let prev = if page == 1 {
            Value::Null
        } else {
            json!(link(page as u32 - 1))
        };
        assert_eq!(p["previousPage"], prev, "{body}");
        for item in body["data"].as_array().into_iter().flatten() {
            seen.push(item["employeeId"].as_str().unwrap_or_default().to_string());
            assert_eq!(item["info"].as_array().map(Vec::len), Some(1));
        }
        url = match &p["nextPage"] {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => panic!("nextPage must be a URL or null, got {other}"),
        };
        page += 1;
    }
    assert_eq!(page, 4);
    assert_eq!(seen, ids, "creation order, each employee once");

    // Default page size is the description's 20.
    let (_, body) = env.get_json(&env.employees_path()).await;
    assert_eq!(body["pagination"]["pageSize"], 20);
    assert_eq!(body["pagination"]["nextPage"], Value::Null);

    // Past the end: empty data, same totals.
    let (_, body) = env
        .get_json(&format!("{}?pageNumber=4&pageSize=2", env.employees_path()))
        .await;
    assert_eq!(body["data"], json!([]));
    assert_eq!(body["pagination"]["totalRecords"], 5);

    for bad in ["pageSize=101", "pageSize=0", "pageNumber=0", "pageSize=ten"] {
        let (status, body) = env.get_json(&format!("/companies?{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        let names = assert_error(&body, 400, 40033, "validationError", "Parameter_Invalid");
        assert_eq!(names, [bad.split('=').next().unwrap_or_default()], "{body}");
    }
    let (status, body) = env.get_json("/companies?pageSize=100").await;
    assert_eq!(
        (status, body["pagination"]["pageSize"].as_u64()),
        (StatusCode::OK, Some(100))
    );

    // Unknown company: 404 40404.
    let (status, body) = env
        .get_json("/companies/00000000-0000-0000-0000-000000000000/employees")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, 404, 40404, "invalidRequestError", "Invalid_Company");
    env.finish();
}

// ------------------------------------------------------------------ reads

#[tokio::test]
async fn history_holds_every_period_and_the_entry_in_force_is_served() {
    let env = Env::new().await;
    let (year, month) = now_period();
    let id = env.sb().seed_employee(&env.company_id, person(7, "Old"));
    let current = env
        .sb()
        .add_personal_info_entry(&id, json!({"basicInfo": {"employeeNumber": 7, "lastName": "Current", "employeeType": "payroll"},
                                             "period": {"year": year, "period": month}}))
        .expect("employee exists");
    env.sb()
        .add_personal_info_entry(&id, json!({"basicInfo": {"employeeNumber": 7, "lastName": "Future", "employeeType": "payroll"},
                                             "period": {"year": year + 1, "period": 1}}))
        .expect("employee exists");

    let info = env.personal_info(&id).await;
    assert_eq!(
        info["basicInfo"]["lastName"], "Current",
        "latest period not after now"
    );
    assert_eq!(info["personalInfoId"], current.as_str());

    let (status, body) = env.get_json(&env.history_path()).await;
    assert_eq!(status, StatusCode::OK);
    let entries = body["data"][0]["info"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = entries
        .iter()
        .map(|e| e["basicInfo"]["lastName"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, ["Old", "Current", "Future"], "oldest period first");
    assert_eq!(entries, env.sb().personal_info_history(&id));
    assert_eq!(entries[0]["period"], json!({"year": 2024, "period": 4}));

    let (_, body) = env.get_json(&env.employees_path()).await;
    assert_eq!(body["data"][0]["employeeBasicInfo"]["lastName"], "Current");

    // Only a future entry: it is served (nothing is in force yet).
    let later = env.sb().seed_employee(
        &env.company_id,
        json!({"basicInfo": {"lastName": "Later", "employeeType": "newHire"}, "period": {"year": year + 1, "period": 2}}),
    );
    assert_eq!(
        env.personal_info(&later).await["basicInfo"]["lastName"],
        "Later"
    );
    // Edits in the "UI" change the entry in force in place.
    assert!(
        env.sb()
            .edit_personal_info(&id, "basicInfo.lastName", json!("Edited"))
    );
    let edited = env.personal_info(&id).await;
    assert_eq!(
        (
            edited["basicInfo"]["lastName"].as_str(),
            edited["personalInfoId"].as_str()
        ),
        (Some("Edited"), Some(current.as_str()))
    );
    env.finish();
}

#[tokio::test]
async fn reads_nest_the_read_shape_with_every_member() {
    let env = Env::new().await;
    let id = env.create(person(42, "Hanison")).await;
    let info = env.personal_info(&id).await;
    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        k.sort();
        k
    };
    assert_eq!(
        keys(&info),
        [
            "basicInfo",
            "birthInfo",
            "contactInfo",
            "createdAt",
            "emergencyInfo",
            "partnerInfo",
            "period",
            "personalInfoId"
        ]
    );
    assert_eq!(
        info["basicInfo"],
        json!({"employeeNumber": 42, "firstName": "Lisa", "firstNameInFull": "Lisa Marie", "prefix": "van",
               "initials": "L.M.", "lastName": "Hanison", "employeeType": "applicant"})
    );
    let birth = &info["birthInfo"];
    assert_eq!(
        birth["birthCountry"],
        json!({"codeISO": "NL", "description": "The Netherlands"})
    );
    assert_eq!(
        birth["nationality"],
        json!({"codeISO": "PT", "description": "Portuguese"})
    );
    assert_eq!(
        birth["birthDate"], "1990-04-11T22:00:00Z",
        "Dutch midnight in UTC (summer time)"
    );
    assert_eq!(
        (birth["deceasedOn"].clone(), birth["gender"].as_str()),
        (Value::Null, Some("female"))
    );
    assert!(
        birth.get("birthCountryCodeISO").is_none(),
        "no write-shape members in reads"
    );
    assert_eq!(
        info["partnerInfo"],
        json!({"partnerPrefix": null, "partnerName": "Sam", "maritalStatus": "married",
               "ascription": {"code": 0, "ascription": "Own name"}})
    );
    assert_eq!(keys(&info["contactInfo"]).len(), 7);
    assert_eq!(info["contactInfo"]["businessPhone"], Value::Null);
    assert_eq!(
        info["emergencyInfo"],
        json!({"emergencyContact": null, "emergencyPhone": null, "emergencyRelationship": null})
    );
    let created = info["createdAt"].as_str().expect("createdAt");
    assert!(created.len() == 20 && created.ends_with('Z'), "{created}");

    // The inspection API agrees with HTTP.
    let (_, body) = env.get_json(&format!("/employees/{id}")).await;
    assert_eq!(Some(body["data"][0].clone()), env.sb().employee(&id));
    assert_eq!(body["data"][0]["employeeId"], id.as_str());
    assert_eq!(
        env.sb().employees(&env.company_id),
        vec![body["data"][0].clone()]
    );

    let (_, body) = env.get_json(&env.employees_path()).await;
    assert_eq!(
        body["data"][0],
        json!({"employeeId": id, "employeeBasicInfo": info["basicInfo"]})
    );

    // remove_key makes a member disappear, so a client can be tested for it.
    assert!(env.sb().remove_key(&id, "birthInfo.birthCountry"));
    assert!(
        env.personal_info(&id).await["birthInfo"]
            .get("birthCountry")
            .is_none()
    );
    assert!(!env.sb().remove_key(&id, "birthInfo.noSuchKey"));

    let (status, body) = env
        .get_json("/employees/00000000-0000-0000-0000-000000000000")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, 404, 40401, "invalidRequestError", "Not_Found");
    env.finish();
}

#[tokio::test]
async fn date_styles_round_trip_27_february_and_1_july() {
    for (style, feb, jul) in [
        (
            DateStyle::DutchMidnightUtc,
            "1980-02-26T23:00:00Z",
            "1980-06-30T22:00:00Z",
        ),
        (
            DateStyle::DutchOffset,
            "1980-02-27T00:00:00+01:00",
            "1980-07-01T00:00:00+02:00",
        ),
    ] {
        let env = Env::with_options(SandboxOptions {
            date_style: style,
            ..Default::default()
        })
        .await;
        for (date, read) in [("1980-02-27", feb), ("1980-07-01", jul)] {
            let mut p = person(1, "Date");
            p["birthInfo"]["birthDate"] = json!(date);
            let id = env.create(p).await;
            let info = env.personal_info(&id).await;
            assert_eq!(info["birthInfo"]["birthDate"], read, "{style:?}");
            // A PUT of the read value keeps the calendar date.
            let put = json!({"basicInfo": {"lastName": "Date"}, "birthInfo": {"birthDate": read},
                             "period": info["period"]});
            let (status, body) = env
                .send_json(Method::PUT, &format!("/employees/{id}/personalInfo"), &put)
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(env.personal_info(&id).await["birthInfo"]["birthDate"], read);
        }
        env.finish();
    }
}

// ------------------------------------------------------------------ writes

#[tokio::test]
async fn create_answers_201_with_the_employee_id() {
    let env = Env::new().await;
    let mut p = person(1, "Hanison");
    p["basicInfo"]
        .as_object_mut()
        .map(|b| b.remove("employeeNumber"));
    p.as_object_mut().map(|o| o.remove("period"));
    let body = json!({"PersonalInfo": p, "AdditionalEmployeeInfo": {"inServiceDate": "2026-01-01", "defaultEmployeeTemplate": null}});
    let (status, body) = env
        .send_json(Method::POST, &env.employees_path(), &body)
        .await;
    assert_eq!(status, StatusCode::CREATED, "never 200: {body}");
    let keys: Vec<&String> = body
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys, ["employeeId"]);
    let id = body["employeeId"].as_str().expect("employeeId").to_string();
    assert_eq!(
        env.sb()
            .in_service_date(&id)
            .map(|d| d.to_string())
            .as_deref(),
        Some("2026-01-01")
    );
    let info = env.personal_info(&id).await;
    assert_eq!(info["basicInfo"]["employeeNumber"], 1, "auto-numbered");
    let (year, month) = now_period();
    assert_eq!(
        info["period"],
        json!({"year": year, "period": month}),
        "current period"
    );
    let s = env.sb().stats();
    assert_eq!((s.writes, s.by_status.get(&201).copied()), (1, Some(1)));
    env.finish();
}

#[tokio::test]
async fn put_replaces_its_period_and_cannot_change_employee_type() {
    let env = Env::new().await;
    let id = env.create(person(42, "Hanison")).await;
    let first = env.personal_info(&id).await;
    let path = format!("/employees/{id}/personalInfo");

    // Same period, nothing but basicInfo: the rest is gone (replace, not merge).
    let put = json!({"basicInfo": {"employeeNumber": 42, "lastName": "Petterson"}, "period": {"year": 2024, "period": 4}});
    let (status, body) = env.send_json(Method::PUT, &path, &put).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let new_id = body["personalInfoId"]
        .as_str()
        .expect("personalInfoId")
        .to_string();
    assert_ne!(new_id, first["personalInfoId"].as_str().unwrap_or_default());
    let history = env.sb().personal_info_history(&id);
    assert_eq!(history.len(), 1, "the period's entry was replaced");
    let info = &history[0];
    assert_eq!(info["personalInfoId"], new_id.as_str());
    assert_eq!(info["basicInfo"]["lastName"], "Petterson");
    assert_eq!(info["basicInfo"]["firstName"], Value::Null);
    assert_eq!(
        info["basicInfo"]["employeeType"], "applicant",
        "carried over"
    );
    assert_eq!(info["contactInfo"]["privateEmail"], Value::Null);
    // Members the description does not let be null: an empty object, notSpecified.
    assert_eq!(info["birthInfo"]["birthCountry"], json!({}));
    assert_eq!(
        info["partnerInfo"],
        json!({"partnerPrefix": null, "partnerName": null, "maritalStatus": "notSpecified",
               "ascription": {"ascription": null}})
    );

    // employeeType is not a member of UpdateEmployeeBasic (additionalProperties: false).
    let mut with_type = put.clone();
    with_type["basicInfo"]["employeeType"] = json!("payroll");
    let (status, body) = env.send_json(Method::PUT, &path, &with_type).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let names = assert_error(&body, 400, 40033, "validationError", "Parameter_Invalid");
    assert_eq!(names, ["/basicInfo/employeeType"]);

    // A read-shape birthInfo is not the write shape: its nested members are ignored.
    let mut read_shape = put.clone();
    read_shape["birthInfo"] = first["birthInfo"].clone();
    read_shape["birthInfo"]
        .as_object_mut()
        .map(|b| b.remove("birthDate"));
    let (status, _) = env.send_json(Method::PUT, &path, &read_shape).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        env.personal_info(&id).await["birthInfo"]["birthCountry"],
        json!({}),
        "the nested birthCountry of the read shape was not taken"
    );

    // Another period adds an entry.
    let (year, month) = now_period();
    let mut now_put = put.clone();
    now_put["period"] = json!({"year": year, "period": month});
    now_put["birthInfo"] = json!({"birthCountryCodeISO": "BE"});
    let (status, _) = env.send_json(Method::PUT, &path, &now_put).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(env.sb().personal_info_history(&id).len(), 2);
    let current = env.personal_info(&id).await;
    assert_eq!(
        current["birthInfo"]["birthCountry"],
        json!({"codeISO": "BE", "description": "Belgium"})
    );
    assert_eq!(current["basicInfo"]["employeeType"], "applicant");

    let (status, body) = env
        .send_json(
            Method::PUT,
            "/employees/00000000-0000-0000-0000-000000000000/personalInfo",
            &put,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, 404, 40401, "invalidRequestError", "Not_Found");
    env.finish();
}

#[tokio::test]
async fn read_only_members_and_business_rules_are_400s_naming_the_member() {
    let env = Env::new().await;
    let id = env.create(person(1, "Hanison")).await;
    let put_path = format!("/employees/{id}/personalInfo");

    // Sending back what a GET returned: the read shape is not the write shape.
    let mut read = env.personal_info(&id).await;
    let (status, body) = env.send_json(Method::PUT, &put_path, &read).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let names = assert_error(&body, 400, 40033, "validationError", "Parameter_Invalid");
    assert_eq!(names, ["/basicInfo/employeeType"]);
    // Without employeeType, the readOnly members are refused (UpdatePersonalInfo
    // does not list them; PersonalInfo marks them readOnly).
    read["basicInfo"]
        .as_object_mut()
        .map(|b| b.remove("employeeType"));
    let (status, body) = env.send_json(Method::PUT, &put_path, &read).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let names = assert_error(&body, 400, 40033, "validationError", "Parameter_Invalid");
    assert_eq!(names, ["/personalInfoId", "/createdAt"]);
    let mut p = person(2, "X");
    p["personalInfoId"] = json!("0039b188-b5f5-49a6-a3d5-0448ce4042ee");
    let (status, body) = env
        .send_json(
            Method::POST,
            &env.employees_path(),
            &json!({"PersonalInfo": p}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        assert_error(&body, 400, 40033, "validationError", "Parameter_Invalid"),
        ["/PersonalInfo/personalInfoId"]
    );

    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation)> = vec![
        (
            "/PersonalInfo/basicInfo/lastName",
            Box::new(|v| v["basicInfo"]["lastName"] = json!("   ")),
        ),
        (
            "/PersonalInfo/birthInfo/birthDate",
            Box::new(|v| v["birthInfo"]["birthDate"] = json!("1990-02-30")),
        ),
        (
            "/PersonalInfo/contactInfo/privateEmail",
            Box::new(|v| v["contactInfo"]["privateEmail"] = json!("lisa.example.com")),
        ),
        (
            "/PersonalInfo/basicInfo/employeeNumber",
            Box::new(|v| v["basicInfo"]["employeeNumber"] = json!(-1)),
        ),
        (
            "/PersonalInfo/period/period",
            Box::new(|v| v["period"]["period"] = json!(13)),
        ),
        (
            "/PersonalInfo/period/year",
            Box::new(|v| v["period"]["year"] = json!(1800)),
        ),
    ];
    for (name, mutate) in &cases {
        let mut info = person(1, "Hanison");
        mutate(&mut info);
        let (status, body) = env
            .send_json(
                Method::POST,
                &env.employees_path(),
                &json!({"PersonalInfo": info}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}");
        let names = assert_error(&body, 400, 40033, "validationError", "Parameter_Invalid");
        assert!(names.iter().any(|n| n == name), "{name}: {body}");
    }

    // Trailing comma, as printed in the integration guide: strict JSON refuses it.
    let resp = env
        .call(Method::POST, &env.employees_path())
        .header("Content-Type", "application/json")
        .body(r#"{"PersonalInfo": {"basicInfo": {"lastName": "Hanison",}}}"#)
        .send()
        .await
        .expect("reachable");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(
        assert_error(&body, 400, 40033, "validationError", "Parameter_Invalid"),
        ["body"]
    );
    // Not JSON at all.
    let resp = env
        .call(Method::POST, &env.employees_path())
        .body(person(1, "X").to_string())
        .send()
        .await
        .expect("reachable");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    assert_eq!(env.sb().employee_count(), 1, "nothing rejected was stored");
    let stats = env.sb().stats();
    assert_eq!(stats.rejected_writes, cases.len() as u64 + 5);
    assert_eq!(stats.writes, 1);
    env.finish();
}

// ------------------------------------------------------------------ filters and debtors

#[tokio::test]
async fn created_from_employee_id_and_employee_type_filter() {
    let env = Env::new().await;
    let a = env.sb().seed_employee(&env.company_id, person(1, "A"));
    let b = env.sb().seed_employee(
        &env.company_id,
        json!({"basicInfo": {"lastName": "B", "employeeType": "payroll"}, "period": {"year": 2024, "period": 1}}),
    );
    let count = |body: &Value| body["data"].as_array().map(Vec::len).unwrap_or(0);

    let (_, body) = env
        .get_json(&format!("{}?employeeId={b}", env.history_path()))
        .await;
    assert_eq!(
        (count(&body), body["data"][0]["employeeId"].as_str()),
        (1, Some(b.as_str()))
    );
    let (_, body) = env
        .get_json(&format!("{}?employeeId={a}", env.employees_path()))
        .await;
    assert_eq!(count(&body), 1);

    let (_, body) = env
        .get_json(&format!(
            "{}?employeeType=payroll,formerPayroll",
            env.employees_path()
        ))
        .await;
    assert_eq!(
        (count(&body), body["data"][0]["employeeId"].as_str()),
        (1, Some(b.as_str()))
    );

    // createdAt is Dutch time: a UTC instant an hour ago is before every entry,
    // an hour ahead after all of them.
    let fmt = |d: chrono::Duration| {
        (chrono::Utc::now() + d)
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    let (_, body) = env
        .get_json(&format!(
            "{}?createdFrom={}",
            env.history_path(),
            fmt(chrono::Duration::hours(-1))
        ))
        .await;
    assert_eq!(count(&body), 2);
    let (_, body) = env
        .get_json(&format!(
            "{}?createdFrom={}",
            env.history_path(),
            fmt(chrono::Duration::hours(1))
        ))
        .await;
    assert_eq!(count(&body), 0, "{body}");
    assert_eq!(body["pagination"]["totalRecords"], 0);

    // A later entry alone passes a createdFrom between the two.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let since = fmt(chrono::Duration::zero());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (year, month) = now_period();
    env.sb().add_personal_info_entry(&a, json!({"basicInfo": {"lastName": "A2", "employeeType": "applicant"}, "period": {"year": year, "period": month}}));
    let (_, body) = env
        .get_json(&format!("{}?createdFrom={since}", env.history_path()))
        .await;
    assert_eq!(count(&body), 1, "{body}");
    assert_eq!(body["data"][0]["info"].as_array().map(Vec::len), Some(1));
    assert_eq!(body["data"][0]["info"][0]["basicInfo"]["lastName"], "A2");
    // Page links keep the filter.
    let next_filter = body["pagination"]["firstPage"].as_str().unwrap_or_default();
    assert!(next_filter.contains("createdFrom="), "{next_filter}");

    let (status, body) = env
        .get_json(&format!("{}?createdFrom=yesterday", env.history_path()))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        assert_error(&body, 400, 40033, "validationError", "Parameter_Invalid"),
        ["createdFrom"]
    );
    env.finish();
}

#[tokio::test]
async fn several_debtors_forbid_the_company_list_but_not_the_debtor_listings() {
    let sandbox = Sandbox::new(SandboxOptions::default());
    let other = sandbox.add_debtor("2210", "Nmbrs International");
    let other_company = sandbox.add_company_for_debtor(&other, "9", "Abroad BV");
    sandbox.set_multi_debtor_forbidden(true);
    let env = Env::with_sandbox(sandbox).await;

    let (status, body) = env.get_json("/companies").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_error(
        &body,
        403,
        40303,
        "authenticationError",
        "Unauthorized_AccessData",
    );

    let (status, body) = env.get_json("/debtors").await;
    assert_eq!(status, StatusCode::OK);
    let debtors = body["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(debtors.len(), 2);
    assert_eq!(
        debtors[0],
        json!({"debtorId": debtors[0]["debtorId"], "number": "2210", "name": "Nmbrs International"})
    );

    let (status, body) = env.get_json(&format!("/debtors/{other}/companies")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["data"],
        json!([{"companyId": other_company, "number": "9", "name": "Abroad BV", "debtorId": other}])
    );
    let default_debtor = debtors[1]["debtorId"].as_str().unwrap_or_default();
    let (_, body) = env
        .get_json(&format!("/debtors/{default_debtor}/companies"))
        .await;
    assert_eq!(
        body["pagination"]["totalRecords"], 2,
        "companies 1 and 2 of seed_default"
    );

    let (status, body) = env
        .get_json("/debtors/00000000-0000-0000-0000-000000000000/companies")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, 404, 40401, "invalidRequestError", "Not_Found");

    env.sb().set_multi_debtor_forbidden(false);
    let (status, body) = env.get_json("/companies").await;
    assert_eq!(
        (status, body["pagination"]["totalRecords"].as_u64()),
        (StatusCode::OK, Some(3))
    );
    env.finish();
}

// ------------------------------------------------------------------ throttling and faults

#[tokio::test]
async fn rate_limit_answers_42908_with_retry_after() {
    let env = Env::new().await;
    env.sb().set_rate_limit(Some(1));
    let mut throttled = 0;
    for _ in 0..6 {
        let resp = env
            .call(Method::GET, "/companies")
            .send()
            .await
            .expect("reachable");
        if resp.status() == StatusCode::TOO_MANY_REQUESTS {
            throttled += 1;
            let retry_after: u64 = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .expect("integer Retry-After");
            assert!(retry_after >= 1);
            let body: Value = resp.json().await.expect("json");
            assert_error(&body, 429, 42908, "throttlingError", "Too_Many_Calls");
        }
    }
    // Bucket of 1 at 1/s: only a very slow machine would let more than one more through.
    assert!(throttled >= 4, "only {throttled} of 6 throttled at 1/s");
    let stats = env.sb().stats();
    assert_eq!(stats.throttled, throttled);
    assert_eq!(stats.by_status.get(&429).copied(), Some(throttled));
    env.sb().set_rate_limit(None);
    assert_eq!(env.get_json("/companies").await.0, StatusCode::OK);
    env.finish();
}

#[tokio::test]
async fn injected_faults_answer_in_the_error_shape() {
    let env = Env::new().await;
    let sb = env.sb();
    sb.inject(Fault::Status(503), 2);
    sb.inject(Fault::Status(500), 1);
    sb.inject(Fault::Status(502), 1);
    sb.inject(
        Fault::TooManyRequests {
            retry_after_secs: 7,
        },
        1,
    );
    sb.inject(
        Fault::TooManyRequestsAt {
            retry_after_secs: 30,
        },
        1,
    );
    sb.inject(Fault::QuotaExceeded, 1);
    let expected: [(u16, u64, &str, &str); 7] = [
        (503, 50301, "apiError", "Service_Unavailable"),
        (503, 50301, "apiError", "Service_Unavailable"),
        (500, 50001, "apiError", "Unkown"),
        (502, 50201, "apiError", "Bad_Gateway"),
        (429, 42908, "throttlingError", "Too_Many_Calls"),
        (429, 42908, "throttlingError", "Too_Many_Calls"),
        (429, 42909, "throttlingError", "Quota_Exceeded"),
    ];
    let mut retry_afters = Vec::new();
    for (status, code, kind, title) in expected {
        let resp = env
            .call(Method::GET, "/companies")
            .send()
            .await
            .expect("reachable");
        assert_eq!(resp.status().as_u16(), status);
        retry_afters.push(
            resp.headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        );
        assert_error(
            &resp.json::<Value>().await.expect("json"),
            status,
            code,
            kind,
            title,
        );
    }
    assert_eq!(retry_afters[4].as_deref(), Some("7"));
    let date = retry_afters[5]
        .clone()
        .expect("Retry-After as an HTTP date");
    let when = httpdate::parse_http_date(&date).expect("IMF-fixdate");
    let ahead = when
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    assert!(
        ahead > Duration::from_secs(25) && ahead <= Duration::from_secs(31),
        "{date}"
    );
    assert_eq!(retry_afters[6], None, "a used-up quota has no Retry-After");
    assert_eq!(env.get_json("/companies").await.0, StatusCode::OK);
    let stats = sb.stats();
    assert_eq!(
        (stats.faults, stats.throttled, stats.reads, stats.total),
        (4, 3, 1, 8)
    );

    // Token endpoint faults are separate and OAuth-shaped.
    sb.inject_token_fault(Fault::Status(502), 1);
    let resp = env.token_request(&env.refresh_token).await;
    assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);
    assert!(resp.json::<Value>().await.expect("json")["error"].is_string());
    assert_eq!(
        env.token_request(&env.refresh_token).await.status(),
        StatusCode::OK,
        "the faulted call did not use the token"
    );
    env.finish();
}

#[tokio::test]
async fn dropped_connection_is_a_transport_error_and_nothing_is_written() {
    let env = Env::new().await;
    env.sb().inject(Fault::Drop, 1);
    let err = env
        .call(Method::POST, &env.employees_path())
        .json(&json!({"PersonalInfo": person(1, "Hanison")}))
        .send()
        .await
        .expect_err("a dropped connection is not an HTTP answer");
    assert!(err.status().is_none() && !err.is_status(), "{err:?}");
    assert_eq!(env.sb().employee_count(), 0);
    assert_eq!(env.get_json("/companies").await.0, StatusCode::OK);
    let stats = env.sb().stats();
    assert_eq!((stats.faults, stats.writes, stats.total), (1, 0, 2));

    env.sb().inject_token_fault(Fault::Drop, 1);
    assert!(
        env.http
            .post(env.running.token_url())
            .form(&[("grant_type", "refresh_token")])
            .send()
            .await
            .is_err()
    );
    env.finish();
}

#[tokio::test]
async fn stalled_answer_times_out_but_the_write_happened() {
    let env = Env::new().await;
    env.sb().inject(Fault::Stall(Duration::from_millis(600)), 1);
    let err = env
        .call(Method::POST, &env.employees_path())
        .json(&json!({"PersonalInfo": person(1, "Hanison")}))
        .timeout(Duration::from_millis(150))
        .send()
        .await
        .expect_err("client times out");
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(
        env.sb().employee_count(),
        1,
        "processed although the answer never arrived"
    );
    assert_eq!(env.sb().stats().faults, 1);
    env.finish();
}

#[tokio::test]
async fn latency_and_random_faults_are_live_knobs() {
    let env = Env::new().await;
    env.sb().set_latency(Duration::from_millis(120));
    let t = Instant::now();
    assert_eq!(env.get_json("/companies").await.0, StatusCode::OK);
    assert!(t.elapsed() >= Duration::from_millis(120));
    env.sb().set_latency(Duration::ZERO);

    env.sb().set_faults(FaultOptions {
        error_rate: 1.0,
        ..Default::default()
    });
    for _ in 0..5 {
        let (status, body) = env.get_json("/companies").await;
        assert!([500, 502, 503].contains(&status.as_u16()), "{status}");
        assert_eq!(body["type"], "apiError");
    }
    env.sb().set_faults(FaultOptions::default());
    assert_eq!(env.get_json("/companies").await.0, StatusCode::OK);
    assert_eq!(env.sb().stats().faults, 5);
    env.finish();
}

// ------------------------------------------------------------------ counters and routing

#[tokio::test]
async fn stats_count_reads_writes_and_routes() {
    let env = Env::new().await;
    let id = env.create(person(1, "Hanison")).await;
    let put =
        json!({"basicInfo": {"lastName": "Petterson"}, "period": {"year": 2024, "period": 4}});
    let (status, _) = env
        .send_json(Method::PUT, &format!("/employees/{id}/personalInfo"), &put)
        .await;
    assert_eq!(status, StatusCode::OK);
    env.get_json(&format!("/employees/{id}")).await;
    env.get_json(&env.history_path()).await;
    env.get_json("/debtors").await;

    let s = env.sb().stats();
    assert_eq!(
        (s.total, s.reads, s.writes, s.rejected_writes),
        (5, 3, 2, 0)
    );
    let routes: Vec<(&str, u64)> = s.by_route.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        routes,
        [
            ("GET /companies/{companyId}/employees/personalinfo", 1),
            ("GET /debtors", 1),
            ("GET /employees/{employeeId}", 1),
            ("POST /companies/{companyId}/employees", 1),
            ("PUT /employees/{employeeId}/personalInfo", 1),
        ]
    );
    assert_eq!(
        (
            s.by_status.get(&200).copied(),
            s.by_status.get(&201).copied()
        ),
        (Some(4), Some(1))
    );
    assert_eq!(s.calls_matching("PUT "), 1);
    env.sb().reset_stats();
    assert_eq!(env.sb().stats().total, 0);
    env.finish();
}

#[tokio::test]
async fn unknown_routes_and_methods_are_404_not_found() {
    let env = Env::new().await;
    for (method, path) in [
        (Method::GET, "/nothing/here"),
        (Method::DELETE, "/companies"),
    ] {
        let resp = env.call(method, path).send().await.expect("reachable");
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert_error(
            &resp.json::<Value>().await.expect("json"),
            404,
            40401,
            "invalidRequestError",
            "Not_Found",
        );
    }
    let resp = env
        .http
        .get(format!("http://{}/elsewhere", env.running.addr()))
        .send()
        .await
        .expect("reachable");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(resp.json::<Value>().await.is_ok());
    let s = env.sb().stats();
    assert_eq!(s.by_route.get("GET <unknown>").copied(), Some(1));
    env.finish();
    env.running.shutdown().await;
}

#[tokio::test]
async fn abandoned_stalled_token_request_keeps_the_refresh_token() {
    let env = Env::new().await;
    env.sb()
        .inject_token_fault(Fault::Stall(Duration::from_millis(400)), 1);
    let err = env
        .http
        .post(env.running.token_url())
        .timeout(Duration::from_millis(100))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", env.refresh_token.as_str()),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", DEFAULT_CLIENT_SECRET),
        ])
        .send()
        .await
        .expect_err("client gives up");
    assert!(err.is_timeout(), "{err:?}");
    // Well after the stall ended: the abandoned request must not have rotated the token away.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        env.token_request(&env.refresh_token).await.status(),
        StatusCode::OK
    );
    env.finish();
}

// ------------------------------------------------------------------ the contract check itself

/// The check every answer goes through catches a deliberately broken one:
/// `remove_key` takes away `lastName`, which `EmployeeBasic` requires.
#[tokio::test]
async fn a_deliberately_broken_answer_is_recorded_as_a_violation() {
    let env = Env::new().await;
    let id = env.sb().seed_employee(&env.company_id, person(3, "Doe"));
    assert!(env.sb().remove_key(&id, "basicInfo.lastName"));
    assert!(env.sb().contract_violations().is_empty());
    let (status, body) = env.get_json(&format!("/employees/{id}")).await;
    assert_eq!(status, StatusCode::OK, "the broken answer is still sent");
    assert!(
        body["data"][0]["personalInfo"]["basicInfo"]
            .get("lastName")
            .is_none()
    );
    assert_eq!(
        env.sb().contract_violations(),
        ["GET /employees/{employeeId} 200 /data/0/personalInfo/basicInfo/lastName: is required"]
    );
    // Planting a value outside the description's enums is caught the same way.
    assert!(
        env.sb()
            .edit_personal_info(&id, "basicInfo.employeeType", json!("employee"))
    );
    env.get_json(&env.employees_path()).await;
    let violations = env.sb().contract_violations();
    assert_eq!(violations.len(), 3, "{violations:#?}");
    assert!(violations[2].starts_with("GET /companies/{companyId}/employees 200 /data/0/employeeBasicInfo/employeeType: must be one of"), "{violations:#?}");
}
