//! One request with pacing (a shared token bucket and a shared pause after a 429), retries with
//! exponential backoff and jitter, token refresh on 401, and the classification of every answer.

use super::error::{required_scope, server_message};
use super::*;

/// What was wrong with one attempt, and whether it may be retried.
enum Attempt {
    Retry {
        reason: String,
        retry_after: Option<Duration>,
        maybe_processed: bool,
        /// A 429: the wait holds back every task of the client.
        throttled: bool,
    },
    Fail(ApiErrorKind),
}

impl NmbrsClient {
    /// Sends one request with pacing, retries and token refresh; decodes a 2xx body as `T`.
    pub async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        idempotency: Idempotency,
    ) -> Result<Response<T>, ApiError> {
        let inner = &self.inner;
        let started = Instant::now();
        let mut call = HttpCall {
            method: method_name(&method),
            path: path.to_owned(),
            status: None,
            attempts: 0,
            duration: Duration::ZERO,
        };
        let mut backoff = backoff(&inner.retry).build();
        let budget = Duration::from_secs(inner.retry.max_elapsed_secs);
        let mut refreshed = false;
        loop {
            self.pace().await;
            let token = match inner.tokens.access_token().await {
                Ok(t) => t,
                Err(e) => {
                    call.duration = started.elapsed();
                    return Err(ApiError {
                        kind: e.into(),
                        call,
                    });
                }
            };
            call.attempts += 1;
            inner.counters.requests.fetch_add(1, Ordering::Relaxed);
            if call.attempts > 1 {
                inner.counters.retries.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("nmbrs_sync_api_retries_total").increment(1);
            }
            if method != Method::GET {
                inner.counters.writes.fetch_add(1, Ordering::Relaxed);
            }
            let mut request = inner
                .http
                .request(method.clone(), format!("{}{}", inner.base_url, path))
                .query(query)
                .bearer_auth(token.expose_secret())
                .header("X-Subscription-Key", inner.subscription_key.expose_secret())
                .header(reqwest::header::ACCEPT, "application/json");
            if let Some(b) = body {
                request = request.json(b);
            }
            let outcome = request.send().await;
            let attempt = match outcome {
                Err(e) => {
                    call.status = None;
                    metrics::counter!("nmbrs_sync_api_calls_total", "status" => "transport_error")
                        .increment(1);
                    // A refused connection never reached Nmbrs; anything later might have.
                    Attempt::Retry {
                        reason: without_url(&e),
                        retry_after: None,
                        maybe_processed: !e.is_connect(),
                        throttled: false,
                    }
                }
                Ok(resp) => {
                    let status = resp.status();
                    call.status = Some(status.as_u16());
                    metrics::counter!("nmbrs_sync_api_calls_total", "status" => status.as_u16().to_string()).increment(1);
                    tracing::debug!(
                        method = call.method,
                        path,
                        status = status.as_u16(),
                        attempt = call.attempts,
                        "nmbrs call"
                    );
                    if status == StatusCode::NO_CONTENT {
                        // A DELETE's answer has no body: decoded as `null`.
                        match serde_json::from_value::<T>(Value::Null) {
                            Ok(body) => {
                                call.duration = started.elapsed();
                                return Ok(Response { body, call });
                            }
                            Err(e) => Attempt::Fail(ApiErrorKind::Decode(e.to_string())),
                        }
                    } else if status.is_success() {
                        match resp.json::<T>().await {
                            Ok(body) => {
                                call.duration = started.elapsed();
                                return Ok(Response { body, call });
                            }
                            Err(e) if e.is_decode() => {
                                Attempt::Fail(ApiErrorKind::Decode(without_url(&e)))
                            }
                            Err(e) => Attempt::Retry {
                                reason: without_url(&e),
                                retry_after: None,
                                maybe_processed: true,
                                throttled: false,
                            },
                        }
                    } else {
                        self.classify(status, resp, &token, &mut refreshed).await
                    }
                }
            };
            let (reason, retry_after, maybe_processed, throttled) = match attempt {
                Attempt::Fail(kind) => {
                    call.duration = started.elapsed();
                    return Err(ApiError { kind, call });
                }
                Attempt::Retry {
                    reason,
                    retry_after,
                    maybe_processed,
                    throttled,
                } => (reason, retry_after, maybe_processed, throttled),
            };
            if idempotency == Idempotency::CreateOnce && maybe_processed {
                call.duration = started.elapsed();
                return Err(ApiError {
                    kind: ApiErrorKind::Ambiguous { last: reason },
                    call,
                });
            }
            let delay = match retry_after {
                Some(d) => Some(d),
                None => backoff.next(),
            };
            let elapsed = started.elapsed();
            let Some(delay) = delay
                .filter(|d| call.attempts < inner.retry.max_attempts && elapsed + *d <= budget)
            else {
                call.duration = elapsed;
                return Err(ApiError {
                    kind: ApiErrorKind::Exhausted {
                        attempts: call.attempts,
                        elapsed_secs: elapsed.as_secs_f64(),
                        last: reason,
                    },
                    call,
                });
            };
            if throttled {
                // Everyone waits: the limit is per subscription, not per task.
                self.pause_all(delay);
            }
            tracing::info!(method = call.method, path, attempt = call.attempts, delay_ms = delay.as_millis() as u64, %reason, "retrying");
            tokio::time::sleep(delay).await;
        }
    }

    /// Turns a non-2xx answer into a retry decision or a final error (docs/nmbrs-api.md, "Errors and
    /// throttling"): 429 42908 waits `Retry-After` (seconds or an HTTP date; backoff without it),
    /// 429 42909 stops, 403 40304 names the subscription key, 403 otherwise the scope the call needs.
    async fn classify(
        &self,
        status: StatusCode,
        resp: reqwest::Response,
        token: &SecretString,
        refreshed: &mut bool,
    ) -> Attempt {
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, std::time::SystemTime::now()));
        let request_path = resp.url().path().to_owned();
        let text = resp.text().await.unwrap_or_default();
        let error = ErrorBody::parse(&text);
        let message = error
            .as_ref()
            .map(ErrorBody::summary)
            .unwrap_or_else(|| server_message(&text));
        let code = error.as_ref().and_then(|e| e.code);
        match status.as_u16() {
            429 if code == Some(42909) => {
                metrics::counter!("nmbrs_sync_quota_exhausted_total").increment(1);
                Attempt::Fail(ApiErrorKind::QuotaExceeded)
            }
            429 => {
                self.inner
                    .counters
                    .throttled
                    .fetch_add(1, Ordering::Relaxed);
                Attempt::Retry {
                    reason: format!("HTTP 429 {message}"),
                    retry_after,
                    maybe_processed: false,
                    throttled: true,
                }
            }
            401 if !*refreshed => {
                *refreshed = true;
                self.inner.tokens.invalidate(token).await;
                Attempt::Retry {
                    reason: "401: refreshing the access token".into(),
                    retry_after: Some(Duration::ZERO),
                    maybe_processed: false,
                    throttled: false,
                }
            }
            401 => {
                let credential = if message.to_lowercase().contains("subscription key") {
                    "the subscription key (`nmbrs.subscription_key`)"
                } else {
                    "the bearer token, even freshly refreshed (check `nmbrs.client_id` and the API client's access)"
                };
                Attempt::Fail(ApiErrorKind::Unauthorized(format!(
                    "Nmbrs refused {credential}: HTTP 401 {message}"
                )))
            }
            403 if code == Some(40304) => Attempt::Fail(ApiErrorKind::NoSubscription),
            403 => Attempt::Fail(ApiErrorKind::Forbidden {
                message,
                scope: required_scope(&request_path),
            }),
            404 => Attempt::Fail(ApiErrorKind::NotFound),
            s if status.is_server_error() || s == 408 => Attempt::Retry {
                reason: format!("HTTP {s} {message}"),
                retry_after: None,
                maybe_processed: true,
                throttled: false,
            },
            s => {
                self.inner.counters.rejected.fetch_add(1, Ordering::Relaxed);
                Attempt::Fail(ApiErrorKind::Rejected {
                    status: s,
                    message,
                    fields: error.map(|e| e.invalid_params_text()).unwrap_or_default(),
                })
            }
        }
    }

    async fn pace(&self) {
        loop {
            let until = self.inner.paused_until.lock().ok().and_then(|p| *p);
            match until {
                Some(t) if t > tokio::time::Instant::now() => tokio::time::sleep_until(t).await,
                _ => break,
            }
        }
        self.inner.limiter.until_ready().await;
    }

    fn pause_all(&self, d: Duration) {
        let until = tokio::time::Instant::now() + d;
        if let Ok(mut p) = self.inner.paused_until.lock()
            && p.is_none_or(|cur| cur < until)
        {
            *p = Some(until);
        }
    }
}

/// `Retry-After` as delay-seconds or an HTTP date (RFC 9110 §10.2.3); a date in the past is zero.
fn parse_retry_after(v: &str, now: std::time::SystemTime) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The exponential schedule with jitter from `retry.*`.
fn backoff(r: &RetrySettings) -> backon::ExponentialBuilder {
    let b = backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(r.initial_interval_ms))
        .with_factor(r.multiplier)
        .with_max_delay(Duration::from_secs(r.max_interval_secs.max(1)))
        .with_max_times(r.max_attempts.saturating_sub(1) as usize);
    if r.jitter { b.with_jitter() } else { b }
}

fn method_name(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        _ => "OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        let now = std::time::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        // RFC 9110's example date is 1445412480 + 3 s.
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:03 GMT", now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn backoff_grows_and_respects_max_times() {
        let r = RetrySettings {
            initial_interval_ms: 100,
            multiplier: 2.0,
            max_interval_secs: 1,
            max_elapsed_secs: 60,
            max_attempts: 4,
            jitter: false,
        };
        let delays: Vec<u128> = backoff(&r).build().map(|d| d.as_millis()).collect();
        assert_eq!(delays, [100, 200, 400]);
    }
}
