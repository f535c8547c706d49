//! Harness of `tests/sandbox_api.rs` and `tests/sandbox_resources.rs`: a
//! seeded sandbox on an ephemeral loopback port, an HTTP client with a fresh
//! access token, and helpers that speak the description's shapes. Each test
//! binary uses part of it.

#![allow(dead_code)]

use std::time::Duration;

use chrono::{Datelike, Utc};
use nmbrs_sandbox::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_SUBSCRIPTION_KEY, RunningSandbox, Sandbox,
    SandboxOptions, seed_default,
};
use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

pub struct Env {
    pub running: RunningSandbox,
    pub http: Client,
    pub refresh_token: String,
    pub access_token: String,
    pub company_id: String,
}

/// The current payroll period of a sandbox company: Dutch year and month.
pub fn now_period() -> (i64, i64) {
    let now = Utc::now().with_timezone(&chrono_tz::Europe::Amsterdam);
    (i64::from(now.year()), i64::from(now.month()))
}

impl Env {
    pub async fn new() -> Env {
        Env::with_options(SandboxOptions::default()).await
    }

    pub async fn with_options(options: SandboxOptions) -> Env {
        Env::with_sandbox(Sandbox::new(options)).await
    }

    /// Seeds `sandbox` with [`seed_default`] (after whatever the caller added) and starts it.
    pub async fn with_sandbox(sandbox: Sandbox) -> Env {
        let refresh_token = seed_default(&sandbox);
        let company_id = sandbox.company_id("1").expect("company 1");
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
            company_id,
        };
        env.access_token = env.refresh().await;
        env.sb().reset_stats();
        env
    }

    pub fn sb(&self) -> &Sandbox {
        self.running.sandbox()
    }

    /// Every test ends here: the sandbox never answered outside the description.
    pub fn finish(&self) {
        assert_eq!(
            self.sb().contract_violations(),
            Vec::<String>::new(),
            "the sandbox broke the OpenAPI description"
        );
    }

    /// Uses the current refresh token (rotating it) and returns the access token.
    pub async fn refresh(&mut self) -> String {
        let resp = self.token_request(&self.refresh_token.clone()).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let body: Value = resp.json().await.expect("token json");
        self.refresh_token = body["refresh_token"].as_str().expect("rt").to_string();
        body["access_token"].as_str().expect("at").to_string()
    }

    pub async fn token_request(&self, refresh_token: &str) -> Response {
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

    /// An authorised API request to `path` (relative to the base URL, `/api`).
    pub fn call(&self, method: Method, path: &str) -> RequestBuilder {
        self.call_url(method, &format!("{}{}", self.running.base_url(), path))
    }

    /// An authorised API request to an absolute URL (e.g. a `nextPage` link).
    pub fn call_url(&self, method: Method, url: &str) -> RequestBuilder {
        self.http
            .request(method, url)
            .bearer_auth(&self.access_token)
            .header("X-Subscription-Key", DEFAULT_SUBSCRIPTION_KEY)
            .header("Accept", "application/json")
    }

    pub async fn get_json(&self, path: &str) -> (StatusCode, Value) {
        let resp = self
            .call(Method::GET, path)
            .send()
            .await
            .expect("reachable");
        (resp.status(), resp.json().await.expect("json body"))
    }

    pub async fn send_json(&self, method: Method, path: &str, body: &Value) -> (StatusCode, Value) {
        let resp = self
            .call(method, path)
            .json(body)
            .send()
            .await
            .expect("reachable");
        (resp.status(), resp.json().await.expect("json body"))
    }

    pub fn employees_path(&self) -> String {
        format!("/companies/{}/employees", self.company_id)
    }

    pub fn history_path(&self) -> String {
        format!("/companies/{}/employees/personalinfo", self.company_id)
    }

    /// POST a create body; asserts 201 and returns the `employeeId`.
    pub async fn create(&self, personal_info: Value) -> String {
        let (status, body) = self
            .send_json(
                Method::POST,
                &self.employees_path(),
                &json!({"PersonalInfo": personal_info}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["employeeId"].as_str().expect("employeeId").to_string()
    }

    /// `GET /employees/{id}` → the `personalInfo` of its one item.
    pub async fn personal_info(&self, employee_id: &str) -> Value {
        let (status, body) = self.get_json(&format!("/employees/{employee_id}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["data"][0]["personalInfo"].clone()
    }
}

/// A create `PersonalInfo` in the write shape.
pub fn person(number: i64, last: &str) -> Value {
    json!({
        "basicInfo": {"employeeNumber": number, "firstName": "Lisa", "firstNameInFull": "Lisa Marie",
                      "prefix": "van", "initials": "L.M.", "lastName": last, "employeeType": "applicant"},
        "birthInfo": {"birthDate": "1990-04-12", "birthCountryCodeISO": "NL", "nationalityCodeISO": "PT", "gender": "female"},
        "contactInfo": {"privateEmail": "lisa@example.com", "businessEmail": "lisa@work.example.nl",
                        "businessMobilePhone": "+31600000001", "privateMobilePhone": null},
        "partnerInfo": {"partnerPrefix": null, "partnerName": "Sam", "maritalStatus": "married", "ascriptionCode": 0},
        "period": {"year": 2024, "period": 4}
    })
}

/// Asserts the description's error shape and returns its `invalid-params` names.
pub fn assert_error(body: &Value, status: u16, code: u64, kind: &str, title: &str) -> Vec<String> {
    assert_eq!(body["httpStatus"], status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["type"], kind, "{body}");
    assert_eq!(body["title"], title, "{body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    assert!(
        body["docUrl"]
            .as_str()
            .is_some_and(|d| d.starts_with("https://")),
        "{body}"
    );
    body["invalid-params"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| p["name"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}
