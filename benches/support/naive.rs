//! The naive flow of the Nmbrs integration guide, as the baseline nmbrs-sync is compared with:
//! one request at a time, one `GET /employees/{employeeId}` per employee, a PUT when the HRIS
//! values differ from what the GET returned, and one `POST /companies/{companyId}/employees` per
//! new employee. No bulk reads, no snapshot (so it cannot tell which side changed), no concurrency.
//!
//! Shared by `benches/sync_bench.rs` and `tests/it/bench_smoke.rs` (included with `#[path]`).
#![allow(dead_code)]

use nmbrs_sync::fields::{Field, FieldValues, Lifecycle};
use nmbrs_sync::nmbrs::Period;
use nmbrs_sync::nmbrs::model::{CreateEmployee, UpdatePersonalInfo, read_values};
use serde_json::Value;
use std::time::Duration;

/// A sequential client: bearer token from the `refresh_token` grant, subscription key header.
pub struct Naive {
    http: reqwest::Client,
    base_url: String,
    access_token: String,
    subscription_key: String,
    /// 429 answers this client saw (it waits `Retry-After` and repeats).
    pub throttled: u64,
    /// Requests sent to the API (token endpoint excluded).
    pub calls: u64,
    pub period: Period,
    /// The rotated refresh token from the token answer (each one is good once).
    pub next_refresh_token: String,
}

/// What a naive pass over existing employees did.
#[derive(Clone, Copy, Debug, Default)]
pub struct NaivePass {
    pub gets: u64,
    pub puts: u64,
}

type Error = Box<dyn std::error::Error + Send + Sync>;

impl Naive {
    /// Gets an access token with `POST /connect/token` (`grant_type=refresh_token`).
    pub async fn connect(
        base_url: &str,
        token_url: &str,
        client_id: &str,
        client_secret: &str,
        refresh_token: &str,
        subscription_key: &str,
    ) -> Result<Naive, Error> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?;
        let resp: Value = http
            .post(token_url)
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("client_id", client_id),
                ("client_secret", client_secret),
            ])
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let access_token = resp["access_token"]
            .as_str()
            .ok_or("token answer without access_token")?
            .to_owned();
        let next_refresh_token = resp["refresh_token"].as_str().unwrap_or("").to_owned();
        Ok(Naive {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            access_token,
            subscription_key: subscription_key.to_owned(),
            throttled: 0,
            calls: 0,
            period: Period {
                year: 2024,
                period: 1,
            },
            next_refresh_token,
        })
    }

    async fn send(
        &mut self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, Error> {
        loop {
            let mut req = self
                .http
                .request(method.clone(), format!("{}{}", self.base_url, path))
                .bearer_auth(&self.access_token)
                .header("X-Subscription-Key", &self.subscription_key)
                .header("Accept", "application/json");
            if let Some(b) = body {
                req = req.json(b);
            }
            self.calls += 1;
            let resp = req.send().await?;
            if resp.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
                self.throttled += 1;
                let secs = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(1);
                tokio::time::sleep(Duration::from_secs(secs)).await;
                continue;
            }
            let status = resp.status();
            let text = resp.text().await?;
            if !status.is_success() {
                return Err(format!("{method} {path}: HTTP {status}: {text}").into());
            }
            return Ok(serde_json::from_str(&text)?);
        }
    }

    /// `POST /companies/{companyId}/employees` → employeeId.
    pub async fn create(
        &mut self,
        company_id: &str,
        values: &FieldValues,
    ) -> Result<String, Error> {
        let body = serde_json::to_value(CreateEmployee::new(
            values,
            &Field::ALL,
            self.period,
            &Default::default(),
        )?)?;
        let r = self
            .send(
                reqwest::Method::POST,
                &format!("/companies/{company_id}/employees"),
                Some(&body),
            )
            .await?;
        Ok(r["employeeId"]
            .as_str()
            .ok_or("create answer without employeeId")?
            .to_owned())
    }

    /// `GET /employees/{employeeId}`, compare with the HRIS values, `PUT` the HRIS values when any
    /// field differs (the guide's flow: the HRIS is the source, Nmbrs-side edits are overwritten).
    /// Returns whether it sent a PUT.
    pub async fn sync_one(&mut self, employee_id: &str, hris: &FieldValues) -> Result<bool, Error> {
        let page = self
            .send(
                reqwest::Method::GET,
                &format!("/employees/{employee_id}"),
                None,
            )
            .await?;
        let pi = page["data"][0]["personalInfo"].clone();
        let now = read_values(&pi, &Field::ALL)?;
        let changes: Vec<(Field, Option<&str>)> = Field::ALL
            .into_iter()
            .filter(|f| f.lifecycle() == Lifecycle::Synced)
            .filter(|&f| now.get(f) != hris.get(f))
            .map(|f| (f, hris.get(f)))
            .collect();
        if changes.is_empty() {
            return Ok(false);
        }
        let body =
            serde_json::to_value(UpdatePersonalInfo::from_entry(&pi, &changes, self.period)?)?;
        self.send(
            reqwest::Method::PUT,
            &format!("/employees/{employee_id}/personalInfo"),
            Some(&body),
        )
        .await?;
        Ok(true)
    }

    /// The naive update pass over `(employeeId, HRIS values)` pairs, one after the other.
    pub async fn sync_all(&mut self, rows: &[(String, FieldValues)]) -> Result<NaivePass, Error> {
        let mut pass = NaivePass::default();
        for (employee_id, values) in rows {
            pass.gets += 1;
            if self.sync_one(employee_id, values).await? {
                pass.puts += 1;
            }
        }
        Ok(pass)
    }
}
