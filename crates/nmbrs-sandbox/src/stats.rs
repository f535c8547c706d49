//! Call counters, so tests can assert e.g. "a no-op cycle makes zero writes".

use std::collections::BTreeMap;

/// Counters of the calls the sandbox received since start or the last reset.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallStats {
    /// API calls received (everything under `/api`, faulted and throttled ones
    /// included; the token endpoint is not an API call).
    pub total: u64,
    /// Requests to the token endpoint.
    pub token_calls: u64,
    /// GETs that passed faults, rate limit and authorization and reached business logic.
    pub reads: u64,
    /// POSTs/PUTs that reached business logic and succeeded (2xx).
    pub writes: u64,
    /// POSTs/PUTs that reached business logic and were refused with a 4xx
    /// (validation 400, unknown company/employee 404, wrong media type 415).
    pub rejected_writes: u64,
    /// 429 answers sent (rate limit and injected).
    pub throttled: u64,
    /// Injected or random faults: error statuses, stalls and dropped connections.
    pub faults: u64,
    /// API calls per route, keyed like `"GET /companies/{companyId}/employees/personalinfo"`;
    /// paths that match no route count as `"GET <unknown>"`.
    pub by_route: BTreeMap<String, u64>,
    /// API answers per HTTP status (dropped connections have none and are not counted here).
    pub by_status: BTreeMap<u16, u64>,
}

impl CallStats {
    pub(crate) fn on_call(&mut self, route_key: &str) {
        self.total += 1;
        *self.by_route.entry(route_key.to_string()).or_default() += 1;
    }

    pub(crate) fn on_status(&mut self, status: u16) {
        *self.by_status.entry(status).or_default() += 1;
    }

    /// Sum of `by_route` entries whose key starts with `prefix` (e.g. `"PUT "`).
    pub fn calls_matching(&self, prefix: &str) -> u64 {
        self.by_route
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v)
            .sum()
    }
}
