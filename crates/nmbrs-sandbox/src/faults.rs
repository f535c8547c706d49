//! Latency, rate limiting and fault injection: the knobs that make the
//! sandbox behave like a busy, imperfect production service.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use uuid::Uuid;

/// Random faults, each a fraction (0.0..=1.0) of API calls.
#[derive(Clone, Debug, Default)]
pub struct FaultOptions {
    /// Fraction of API calls answered 500, 502 or 503 (picked at random).
    pub error_rate: f64,
    /// Fraction of API calls whose answer is held back for [`FaultOptions::stall`]
    /// (the request is processed; only the answer is late, so a client timeout
    /// does not mean "nothing happened").
    pub stall_rate: f64,
    /// How long a stalled answer is held back.
    pub stall: Duration,
    /// Fraction of API calls whose connection is closed without any HTTP answer
    /// (the request is not processed).
    pub drop_rate: f64,
}

/// One scripted fault for the next API calls (deterministic tests).
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Answer with this status and the description's error body for it
    /// (e.g. 503 → code 50301), without processing the request.
    /// A 429 is 42908 Too_Many_Calls with `Retry-After: 1`.
    Status(u16),
    /// Answer 429 42908 Too_Many_Calls with `Retry-After: retry_after_secs`
    /// (counted as throttled).
    TooManyRequests {
        /// Value of the `Retry-After` header, in seconds.
        retry_after_secs: u64,
    },
    /// Answer 429 42908 Too_Many_Calls with `Retry-After` as an HTTP date
    /// (RFC 9110 IMF-fixdate) `retry_after_secs` from now.
    TooManyRequestsAt {
        /// How far ahead the date in `Retry-After` lies, in seconds.
        retry_after_secs: u64,
    },
    /// Answer 429 42909 Quota_Exceeded, without `Retry-After`: the
    /// subscription's call volume is used up; retrying does not help.
    QuotaExceeded,
    /// On the API: process the request normally but hold the answer back this
    /// long. On the token endpoint: wait this long before processing, so a
    /// client that gave up does not lose its refresh token.
    Stall(Duration),
    /// Close the connection without an HTTP answer; the request is not processed.
    Drop,
}

/// What the fault layer decided for one call.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Decision {
    /// Handle normally; hold the answer back if `stall` is set.
    Proceed { stall: Option<Duration> },
    /// A fault to answer with instead of handling the call.
    Fault(Fault),
    /// Over the rate limit: 429 with this `Retry-After`.
    Throttle { retry_after_secs: u64 },
}

/// Live, changeable fault configuration plus the scripted fault queues.
#[derive(Debug, Default)]
pub(crate) struct FaultControl {
    pub(crate) latency: Duration,
    pub(crate) random: FaultOptions,
    limiter: Option<Arc<DefaultDirectRateLimiter>>,
    api_script: VecDeque<(Fault, usize)>,
    token_script: VecDeque<(Fault, usize)>,
}

impl FaultControl {
    pub(crate) fn set_rate_limit(&mut self, per_sec: Option<u32>) {
        // A fresh bucket each time: a changed limit starts full, like a redeploy.
        self.limiter = per_sec
            .and_then(NonZeroU32::new)
            .map(|n| Arc::new(RateLimiter::direct(Quota::per_second(n))));
    }

    pub(crate) fn inject(&mut self, fault: Fault, count: usize) {
        if count > 0 {
            self.api_script.push_back((fault, count));
        }
    }

    pub(crate) fn inject_token(&mut self, fault: Fault, count: usize) {
        if count > 0 {
            self.token_script.push_back((fault, count));
        }
    }

    pub(crate) fn next_token_fault(&mut self) -> Option<Fault> {
        take(&mut self.token_script)
    }

    /// Decides the fate of one API call: scripted faults first (deterministic
    /// tests must not depend on the bucket), then the rate limit, then chance.
    pub(crate) fn decide(&mut self) -> Decision {
        if let Some(f) = take(&mut self.api_script) {
            return match f {
                Fault::Stall(d) => Decision::Proceed { stall: Some(d) },
                other => Decision::Fault(other),
            };
        }
        if let Some(limiter) = &self.limiter
            && let Err(not_until) = limiter.check()
        {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            return Decision::Throttle {
                retry_after_secs: retry_after_secs(wait),
            };
        }
        let r = &self.random;
        if chance(r.drop_rate) {
            return Decision::Fault(Fault::Drop);
        }
        if chance(r.error_rate) {
            let status = [500, 502, 503][(random_u64() % 3) as usize];
            return Decision::Fault(Fault::Status(status));
        }
        if chance(r.stall_rate) {
            return Decision::Proceed {
                stall: Some(r.stall),
            };
        }
        Decision::Proceed { stall: None }
    }
}

fn take(queue: &mut VecDeque<(Fault, usize)>) -> Option<Fault> {
    let (fault, left) = queue.front_mut()?;
    let fault = fault.clone();
    *left -= 1;
    if *left == 0 {
        queue.pop_front();
    }
    Some(fault)
}

/// `Retry-After` is whole seconds and at least 1 (0 would invite a hot loop).
pub(crate) fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

fn chance(p: f64) -> bool {
    p > 0.0 && random_f64() < p
}

/// Randomness from the v4 UUID generator (the OS RNG), to avoid another dependency.
fn random_u64() -> u64 {
    Uuid::new_v4().as_u64_pair().0
}

fn random_f64() -> f64 {
    (random_u64() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripted_faults_run_in_order_and_run_out() {
        let mut c = FaultControl::default();
        c.inject(Fault::Status(503), 2);
        c.inject(Fault::Drop, 1);
        assert_eq!(c.decide(), Decision::Fault(Fault::Status(503)));
        assert_eq!(c.decide(), Decision::Fault(Fault::Status(503)));
        assert_eq!(c.decide(), Decision::Fault(Fault::Drop));
        assert_eq!(c.decide(), Decision::Proceed { stall: None });
    }

    #[test]
    fn rate_limit_throttles_after_burst() {
        let mut c = FaultControl::default();
        c.set_rate_limit(Some(3));
        for _ in 0..3 {
            assert_eq!(c.decide(), Decision::Proceed { stall: None });
        }
        assert!(matches!(
            c.decide(),
            Decision::Throttle {
                retry_after_secs: 1
            }
        ));
        c.set_rate_limit(None);
        assert_eq!(c.decide(), Decision::Proceed { stall: None });
    }

    #[test]
    fn certain_random_faults_always_fire() {
        let mut c = FaultControl::default();
        c.random.error_rate = 1.0;
        for _ in 0..20 {
            assert!(matches!(
                c.decide(),
                Decision::Fault(Fault::Status(500 | 502 | 503))
            ));
        }
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1500)), 2);
    }
}
