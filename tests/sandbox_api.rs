//! Drives the Nmbrs sandbox over real HTTP (reqwest on 127.0.0.1, ephemeral
//! ports), the way the sync client and users' tools see it.

use std::time::{Duration, Instant};

use nmbrs_sync::sandbox::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_SUBSCRIPTION_KEY, Fault, FaultOptions,
    RunningSandbox, Sandbox, SandboxOptions, seed_default,
};
use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

struct Env {
    running: RunningSandbox,
    http: Client,
    refresh_token: String,
    access_token: String,
    company_id: String,
}

impl Env {
    async fn new() -> Env {
        Env::with_options(SandboxOptions::default()).await
    }

    async fn with_options(options: SandboxOptions) -> Env {
        let sandbox = Sandbox::new(options);
        let refresh_token = seed_default(&sandbox);
        let running = sandbox.start(0).await.expect("bind sandbox");
        let http = Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("client");
        let mut env = Env {
            running,
            http,
            refresh_token,
            access_token: String::new(),
            company_id: String::new(),
        };
        env.access_token = env.refresh().await;
        let companies = env
            .call(Method::GET, "/companies")
            .send()
            .await
            .expect("companies");
        let body: Value = companies.json().await.expect("json");
        env.company_id = body["data"][0]["companyId"]
            .as_str()
            .expect("company id")
            .to_string();
        env.sb().reset_stats();
        env
    }

    fn sb(&self) -> &Sandbox {
        self.running.sandbox()
    }

    /// Uses the current refresh token (rotating it) and returns the access token.
    async fn refresh(&mut self) -> String {
        let resp = self.token_request(&self.refresh_token.clone()).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let body: Value = resp.json().await.expect("token json");
        self.refresh_token = body["refresh_token"]
            .as_str()
            .expect("refresh_token")
            .to_string();
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    async fn token_request(&self, refresh_token: &str) -> Response {
        self.http
            .post(self.running.token_url())
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("client_id", DEFAULT_CLIENT_ID),
                ("client_secret", DEFAULT_CLIENT_SECRET),
            ])
            .send()
            .await
            .expect("token endpoint reachable")
    }

    /// An authorised API request to `path` (relative to the base URL).
    fn call(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{}", self.running.base_url(), path))
            .bearer_auth(&self.access_token)
            .header("X-Subscription-Key", DEFAULT_SUBSCRIPTION_KEY)
            .header("Accept", "application/json")
    }

    async fn get_json(&self, path: &str) -> (StatusCode, Value) {
        let resp = self
            .call(Method::GET, path)
            .send()
            .await
            .expect("reachable");
        (resp.status(), resp.json().await.expect("json body"))
    }

    async fn send_json(&self, method: Method, path: &str, body: &Value) -> (StatusCode, Value) {
        let resp = self
            .call(method, path)
            .json(body)
            .send()
            .await
            .expect("reachable");
        (resp.status(), resp.json().await.expect("json body"))
    }

    async fn create(&self, info: Value) -> String {
        let (status, body) = self
            .send_json(
                Method::POST,
                &format!("/companies/{}/employees", self.company_id),
                &json!({"PersonalInfo": info}),
            )
            .await;
        assert!(status.is_success(), "{status} {body}");
        body["employeeId"].as_str().expect("employeeId").to_string()
    }
}

fn person(number: i64, last: &str) -> Value {
    json!({
        "basicInfo": {"employeeNumber": number, "firstName": "Lisa", "firstNameInFull": "Lisa Marie",
                      "lastName": last, "employeeType": "applicant"},
        "birthInfo": {"birthDate": "1990-04-12", "birthCountryCodeISO": "NL", "nationalityCodeISO": "NL", "gender": "female"},
        "contactInfo": {"privateEmail": "lisa@example.com", "businessEmail": "lisa@work.example.nl",
                        "businessMobilePhone": "+31600000001", "privateMobilePhone": null},
        "period": {"year": 2024, "period": 4},
        "createdAt": "2024-04-01T00:00:00Z"
    })
}

#[tokio::test]
async fn refresh_tokens_rotate_and_client_errors_are_oauth_shaped() {
    let mut env = Env::new().await;
    let old = env.refresh_token.clone();
    let _ = env.refresh().await;
    assert_ne!(
        env.refresh_token, old,
        "each answer carries a new refresh token"
    );

    // Second use of a refresh token fails.
    let reused = env.token_request(&old).await;
    assert_eq!(reused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        reused.json::<Value>().await.expect("json")["error"],
        "invalid_grant"
    );

    // The newest token still works, with HTTP Basic client credentials.
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
    for s in ["company.info.read", "employee.info", "employee.info.read"] {
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
}

#[tokio::test]
async fn gateway_and_token_failures_have_distinct_401_messages() {
    let env = Env::with_options(SandboxOptions {
        access_token_ttl: Duration::from_millis(500),
        ..Default::default()
    })
    .await;
    let issued = Instant::now();
    // The token works now (checked first: the TTL is short)...
    assert_eq!(
        env.call(Method::GET, "/companies")
            .send()
            .await
            .expect("reachable")
            .status(),
        StatusCode::OK
    );
    let url = format!("{}/companies", env.running.base_url());

    let no_key = env
        .http
        .get(&url)
        .bearer_auth(&env.access_token)
        .send()
        .await
        .expect("reachable");
    assert_eq!(no_key.status(), StatusCode::UNAUTHORIZED);
    let msg = no_key.json::<Value>().await.expect("json")["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(msg.contains("missing subscription key"), "{msg}");

    let wrong_key = env
        .http
        .get(&url)
        .bearer_auth(&env.access_token)
        .header("X-Subscription-Key", "nope")
        .send()
        .await
        .expect("reachable");
    assert_eq!(wrong_key.status(), StatusCode::UNAUTHORIZED);
    let msg = wrong_key.json::<Value>().await.expect("json")["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(msg.contains("invalid subscription key"), "{msg}");

    let invalid_token =
        json!({"statusCode": 401, "message": "Access denied due to invalid bearer token."});
    let bad_token = env
        .http
        .get(&url)
        .bearer_auth("garbage")
        .header("X-Subscription-Key", DEFAULT_SUBSCRIPTION_KEY)
        .send()
        .await
        .expect("reachable");
    assert_eq!(bad_token.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        bad_token.json::<Value>().await.expect("json"),
        invalid_token
    );

    let no_token = env
        .http
        .get(&url)
        .header("X-Subscription-Key", DEFAULT_SUBSCRIPTION_KEY)
        .send()
        .await
        .expect("reachable");
    assert_eq!(no_token.json::<Value>().await.expect("json"), invalid_token);

    // ...and stops working once it has expired.
    tokio::time::sleep(Duration::from_millis(550).saturating_sub(issued.elapsed())).await;
    let expired = env
        .call(Method::GET, "/companies")
        .send()
        .await
        .expect("reachable");
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(expired.json::<Value>().await.expect("json"), invalid_token);
}

#[tokio::test]
async fn revoked_scope_answers_403_naming_it() {
    let mut env = Env::new().await;
    env.sb().revoke_scope(DEFAULT_CLIENT_ID, "employee.info");
    env.access_token = env.refresh().await;

    let (status, body) = env
        .send_json(
            Method::POST,
            &format!("/companies/{}/employees", env.company_id),
            &json!({"PersonalInfo": person(1, "Hanison")}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body,
        json!({"statusCode": 403, "message": "Missing scope: employee.info"})
    );
    assert_eq!(env.sb().employee_count(), 0);

    // Reading still works with employee.info.read.
    let (status, _) = env
        .get_json(&format!(
            "/companies/{}/employees/personalinfo",
            env.company_id
        ))
        .await;
    assert_eq!(status, StatusCode::OK);

    env.sb()
        .revoke_scope(DEFAULT_CLIENT_ID, "company.info.read");
    env.access_token = env.refresh().await;
    let (status, body) = env.get_json("/companies").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["message"], "Missing scope: company.info.read");
}

#[tokio::test]
async fn pagination_walks_pages_with_correct_envelope() {
    let env = Env::new().await;
    let ids: Vec<String> = (1..=5)
        .map(|n| {
            env.sb()
                .seed_employee(&env.company_id, person(n, &format!("Last{n}")))
        })
        .collect();

    let mut page = 1;
    let mut seen = Vec::new();
    let expected = [(2, "2", ""), (2, "3", "1"), (1, "", "2")];
    loop {
        let (status, body) = env
            .get_json(&format!(
                "/companies/{}/employees/personalinfo?pageNumber={page}&pageSize=2",
                env.company_id
            ))
            .await;
        assert_eq!(status, StatusCode::OK);
        let p = &body["pagination"];
        let (len, next, prev) = expected[page - 1];
        assert_eq!(
            body["data"].as_array().map(Vec::len),
            Some(len),
            "page {page}: {body}"
        );
        assert_eq!(p["pageNumber"], page);
        assert_eq!(p["pageSize"], 2);
        assert_eq!(p["firstPage"], 1);
        assert_eq!(p["lastPage"], 3);
        assert_eq!(p["totalPages"], 3);
        assert_eq!(p["totalRecords"], 5);
        assert_eq!(p["nextPage"], next);
        assert_eq!(p["previousPage"], prev);
        for item in body["data"].as_array().into_iter().flatten() {
            seen.push(item["employeeId"].as_str().unwrap_or_default().to_string());
            assert!(item["personalInfo"]["personalInfoId"].is_string());
        }
        match p["nextPage"].as_str() {
            Some("") => break,
            Some(n) => page = n.parse().expect("numeric nextPage"),
            None => panic!("nextPage must be a string"),
        }
    }
    assert_eq!(seen, ids, "creation order, each employee once");

    // Past the end: empty data, same totals.
    let (_, body) = env
        .get_json(&format!(
            "/companies/{}/employees?pageNumber=4&pageSize=2",
            env.company_id
        ))
        .await;
    assert_eq!(body["data"], json!([]));
    assert_eq!(body["pagination"]["totalRecords"], 5);

    // Oversized pages are capped; the plain list carries employee numbers.
    let (_, body) = env
        .get_json(&format!(
            "/companies/{}/employees?pageSize=5000",
            env.company_id
        ))
        .await;
    assert_eq!(body["pagination"]["pageSize"], 100);
    assert_eq!(
        body["data"][4],
        json!({"employeeId": ids[4], "employeeNumber": 5})
    );

    let (status, body) = env.get_json("/companies?pageSize=0").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"][0]["field"], "pageSize");

    // Unknown company.
    let (status, _) = env
        .get_json("/companies/00000000-0000-0000-0000-000000000000/employees")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn create_get_put_replaces_sections() {
    let env = Env::new().await;
    let id = env.create(person(42, "Hanison")).await;

    let (status, body) = env.get_json(&format!("/employees/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["pagination"]["totalRecords"], 1);
    let item = &body["data"][0];
    assert_eq!(item["employeeId"], id.as_str());
    let mut info = item["personalInfo"].clone();
    let first_pi = info["personalInfoId"]
        .as_str()
        .expect("personalInfoId")
        .to_string();
    assert_eq!(info["basicInfo"]["lastName"], "Hanison");
    assert_eq!(info["basicInfo"]["employeeNumber"], 42);
    assert_eq!(
        info["partnerInfo"],
        json!({"partnerName": null, "maritalStatus": null})
    );
    assert!(info["createdAt"].is_string());

    // GET -> modify -> PUT, but (like a careless client) leave out one field,
    // add a field Nmbrs has and we do not map, and drop partnerInfo entirely.
    info["basicInfo"]["lastName"] = json!("Petterson");
    info["basicInfo"]["initials"] = json!("L.M.");
    info["contactInfo"]
        .as_object_mut()
        .map(|c| c.remove("businessEmail"));
    info.as_object_mut().map(|o| o.remove("partnerInfo"));
    env.sb()
        .edit_personal_info(&id, "partnerInfo.partnerName", json!("Sam"));
    let (status, body) = env
        .send_json(Method::PUT, &format!("/employees/{id}/personalInfo"), &info)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let new_pi = body["personalInfoId"].as_str().expect("personalInfoId");
    assert_ne!(new_pi, first_pi, "a PUT makes a new period record");

    let stored = env.sb().employee(&id).expect("exists");
    let pi = &stored["personalInfo"];
    assert_eq!(pi["personalInfoId"], new_pi);
    assert_eq!(pi["basicInfo"]["lastName"], "Petterson");
    assert_eq!(
        pi["basicInfo"]["initials"], "L.M.",
        "unknown fields survive"
    );
    assert_eq!(
        pi["contactInfo"]["businessEmail"],
        Value::Null,
        "omitted field becomes null"
    );
    assert_eq!(pi["contactInfo"]["privateEmail"], "lisa@example.com");
    assert_eq!(
        pi["partnerInfo"]["partnerName"],
        Value::Null,
        "replaced, not merged"
    );

    // The HTTP view agrees with the inspection API.
    let (_, body) = env.get_json(&format!("/employees/{id}")).await;
    assert_eq!(body["data"][0], stored);

    // The camelCase key of the create body is accepted too.
    let (status, _) = env
        .send_json(
            Method::POST,
            &format!("/companies/{}/employees", env.company_id),
            &json!({"personalInfo": person(43, "Other")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(env.sb().employees(&env.company_id).len(), 2);

    let (status, _) = env.get_json("/employees/not-an-employee").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = env
        .send_json(
            Method::PUT,
            "/employees/not-an-employee/personalInfo",
            &info,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn invalid_input_is_400_naming_the_field() {
    let env = Env::new().await;
    let path = format!("/companies/{}/employees", env.company_id);

    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation)> = vec![
        (
            "basicInfo.lastName",
            Box::new(|v| v["basicInfo"]["lastName"] = json!("   ")),
        ),
        (
            "birthInfo.birthDate",
            Box::new(|v| v["birthInfo"]["birthDate"] = json!("1990-02-30")),
        ),
        (
            "contactInfo.privateEmail",
            Box::new(|v| v["contactInfo"]["privateEmail"] = json!("lisa.example.com")),
        ),
        (
            "basicInfo.employeeNumber",
            Box::new(|v| v["basicInfo"]["employeeNumber"] = json!(-1)),
        ),
        (
            "period.period",
            Box::new(|v| v["period"]["period"] = json!(0)),
        ),
        (
            "basicInfo.firstName",
            Box::new(|v| v["basicInfo"]["firstName"] = json!("x".repeat(256))),
        ),
    ];
    for (field, mutate) in &cases {
        let mut info = person(1, "Hanison");
        mutate(&mut info);
        let (status, body) = env
            .send_json(Method::POST, &path, &json!({"PersonalInfo": info}))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}");
        assert_eq!(body["errors"][0]["field"], *field, "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }

    // Trailing comma, as printed in the integration guide: strict JSON refuses it.
    let resp = env
        .call(Method::POST, &path)
        .header("Content-Type", "application/json")
        .body(r#"{"PersonalInfo": {"basicInfo": {"lastName": "Hanison",}, "period": {"year": 2024, "period": 4}}}"#)
        .send()
        .await
        .expect("reachable");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["errors"][0]["field"], "body");

    let (status, body) = env
        .send_json(Method::POST, &path, &json!({"personalinformation": {}}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"][0]["field"], "PersonalInfo");

    assert_eq!(env.sb().employee_count(), 0, "nothing rejected was stored");
    let stats = env.sb().stats();
    assert_eq!(stats.rejected_writes, cases.len() as u64 + 2);
    assert_eq!(stats.writes, 0);
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
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
            assert!(resp.json::<Value>().await.expect("json")["message"].is_string());
        }
    }
    // Bucket of 1 at 1/s: only a very slow machine would let more than one more through.
    assert!(throttled >= 4, "only {throttled} of 6 throttled at 1/s");
    let stats = env.sb().stats();
    assert_eq!(stats.throttled, throttled);
    assert_eq!(stats.by_status.get(&429).copied(), Some(throttled));

    env.sb().set_rate_limit(None);
    assert_eq!(
        env.call(Method::GET, "/companies")
            .send()
            .await
            .expect("reachable")
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn injected_statuses_come_first_then_success() {
    let env = Env::new().await;
    env.sb().inject(Fault::Status(503), 2);
    env.sb().inject(
        Fault::TooManyRequests {
            retry_after_secs: 7,
        },
        1,
    );
    let statuses = [
        StatusCode::SERVICE_UNAVAILABLE,
        StatusCode::SERVICE_UNAVAILABLE,
        StatusCode::TOO_MANY_REQUESTS,
        StatusCode::OK,
    ];
    for expected in statuses {
        let resp = env
            .call(Method::GET, "/companies")
            .send()
            .await
            .expect("reachable");
        assert_eq!(resp.status(), expected);
        if expected == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(
                resp.headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok()),
                Some("7")
            );
        }
    }
    let stats = env.sb().stats();
    assert_eq!(
        (stats.faults, stats.throttled, stats.reads, stats.total),
        (2, 1, 1, 4)
    );

    // Token endpoint faults are separate.
    env.sb().inject_token_fault(Fault::Status(502), 1);
    assert_eq!(
        env.token_request(&env.refresh_token).await.status(),
        StatusCode::BAD_GATEWAY
    );
    assert_eq!(
        env.token_request(&env.refresh_token).await.status(),
        StatusCode::OK,
        "the faulted call did not use the token"
    );
}

#[tokio::test]
async fn dropped_connection_is_a_transport_error_and_nothing_is_written() {
    let env = Env::new().await;
    env.sb().inject(Fault::Drop, 1);
    let err = env
        .call(
            Method::POST,
            &format!("/companies/{}/employees", env.company_id),
        )
        .json(&json!({"PersonalInfo": person(1, "Hanison")}))
        .send()
        .await
        .expect_err("a dropped connection is not an HTTP answer");
    assert!(err.status().is_none() && !err.is_status(), "{err:?}");
    assert_eq!(env.sb().employee_count(), 0);

    // Next call on a fresh connection works.
    let (status, _) = env.get_json("/companies").await;
    assert_eq!(status, StatusCode::OK);
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
}

#[tokio::test]
async fn stalled_answer_times_out_but_the_write_happened() {
    let env = Env::new().await;
    env.sb().inject(Fault::Stall(Duration::from_millis(600)), 1);
    let err = env
        .call(
            Method::POST,
            &format!("/companies/{}/employees", env.company_id),
        )
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
        let status = env
            .call(Method::GET, "/companies")
            .send()
            .await
            .expect("reachable")
            .status();
        assert!([500, 502, 503].contains(&status.as_u16()), "{status}");
    }
    env.sb().set_faults(FaultOptions::default());
    assert_eq!(env.get_json("/companies").await.0, StatusCode::OK);
    assert_eq!(env.sb().stats().faults, 5);
}

#[tokio::test]
async fn stats_count_reads_writes_and_routes() {
    let env = Env::new().await;
    let id = env.create(person(1, "Hanison")).await;
    let (_, body) = env.get_json(&format!("/employees/{id}")).await;
    let info = body["data"][0]["personalInfo"].clone();
    let (status, _) = env
        .send_json(Method::PUT, &format!("/employees/{id}/personalInfo"), &info)
        .await;
    assert_eq!(status, StatusCode::OK);
    env.get_json(&format!(
        "/companies/{}/employees/personalinfo",
        env.company_id
    ))
    .await;

    let s = env.sb().stats();
    assert_eq!(
        (s.total, s.reads, s.writes, s.rejected_writes),
        (4, 2, 2, 0)
    );
    let routes: Vec<(&str, u64)> = s.by_route.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        routes,
        [
            ("GET /companies/{companyId}/employees/personalinfo", 1),
            ("GET /employees/{employeeId}", 1),
            ("POST /companies/{companyId}/employees", 1),
            ("PUT /employees/{employeeId}/personalInfo", 1),
        ]
    );
    assert_eq!(s.by_status.get(&200).copied(), Some(4));
    assert_eq!(s.calls_matching("PUT "), 1);

    env.sb().reset_stats();
    assert_eq!(env.sb().stats().total, 0);
}

#[tokio::test]
async fn unknown_routes_and_methods_are_json_errors() {
    let env = Env::new().await;
    let resp = env
        .call(Method::GET, "/nothing/here")
        .send()
        .await
        .expect("reachable");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(resp.json::<Value>().await.expect("json")["statusCode"], 404);

    let resp = env
        .call(Method::DELETE, "/companies")
        .send()
        .await
        .expect("reachable");
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(resp.json::<Value>().await.expect("json")["statusCode"], 405);

    let resp = env
        .http
        .get(format!("http://{}/elsewhere", env.running.addr()))
        .send()
        .await
        .expect("reachable");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(resp.json::<Value>().await.is_ok());

    // Wrong media type for a write.
    let resp = env
        .call(
            Method::POST,
            &format!("/companies/{}/employees", env.company_id),
        )
        .body(person(1, "X").to_string())
        .send()
        .await
        .expect("reachable");
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let s = env.sb().stats();
    assert_eq!(s.by_route.get("GET <unknown>").copied(), Some(1));
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
}
