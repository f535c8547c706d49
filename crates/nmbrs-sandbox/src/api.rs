//! The programmatic side of the [`Sandbox`]: seeding, inspecting and editing
//! data as a person in the Nmbrs UI would, the knobs and the counters. None
//! of this goes through HTTP, is counted or checked against the description.

use std::time::Duration;

use serde_json::Value;

use super::clock::current_period;
use super::org::NewManager;
use super::person::PersonalData;
use super::records::resource;
use super::{CallStats, Fault, FaultOptions, Sandbox, lock};

impl Sandbox {
    // ------------------------------------------------------------ seeding

    /// Adds a debtor (a client administration, schema `Debtor`); returns its `debtorId`.
    pub fn add_debtor(&self, number: &str, name: &str) -> String {
        self.inner.store().add_debtor(number, name)
    }

    /// Adds a company to the default debtor (created with the first such
    /// company: number "1", "Sandbox debtor"); returns its `companyId`.
    pub fn add_company(&self, number: &str, name: &str) -> String {
        self.inner.store().add_company(number, name)
    }

    /// Adds a company to the debtor `debtor_id`; returns its `companyId`.
    ///
    /// # Panics
    /// If `debtor_id` is unknown: that is a bug in the test or seed code.
    pub fn add_company_for_debtor(&self, debtor_id: &str, number: &str, name: &str) -> String {
        match self
            .inner
            .store()
            .add_company_for_debtor(debtor_id, number, name)
        {
            Ok(id) => id,
            Err(e) => panic!("add_company_for_debtor: {e}"),
        }
    }

    /// The debtor [`Sandbox::add_company`] adds companies to (`None` before the first one).
    pub fn default_debtor_id(&self) -> Option<String> {
        self.inner.store().default_debtor()
    }

    /// Adds a function to the debtor (schema `Function`, listed by
    /// `GET /api/debtors/{debtorId}/functions`); returns its `functionId`.
    ///
    /// # Panics
    /// If `debtor_id` is unknown: that is a bug in the test or seed code.
    pub fn add_function(&self, debtor_id: &str, code: i64, description: &str) -> String {
        match self.inner.store().org_mut(debtor_id) {
            Ok(org) => org.add_function(code, description),
            Err(e) => panic!("add_function: {e}"),
        }
    }

    /// Adds a department to the debtor (schema `DepartmentWithManagers`);
    /// returns its `departmentId`.
    ///
    /// # Panics
    /// If `debtor_id` is unknown.
    pub fn add_department(&self, debtor_id: &str, code: i64, description: &str) -> String {
        match self.inner.store().org_mut(debtor_id) {
            Ok(org) => org.add_department(code, description),
            Err(e) => panic!("add_department: {e}"),
        }
    }

    /// Adds a manager to the debtor (schema `Manager`); returns its
    /// `managerId`. The manager is numbered after the debtor's others, gets
    /// the debtor's department and function with the lowest code (if any; the
    /// department then lists the manager), gender `Unknown` (the description's
    /// `Manager.gender` is free text, its examples `Female`/`Male`) and invented
    /// phone, cellphone and fax numbers.
    ///
    /// # Panics
    /// If `debtor_id` is unknown.
    pub fn add_manager(
        &self,
        debtor_id: &str,
        first_name: &str,
        last_name: &str,
        email: &str,
    ) -> String {
        let m = NewManager {
            first_name,
            last_name,
            email,
            gender: "Unknown",
            department_code: None,
            function_code: None,
        };
        match self.inner.store().org_mut(debtor_id) {
            Ok(org) => org.add_manager(m),
            Err(e) => panic!("add_manager: {e}"),
        }
    }

    /// When on and the sandbox has more than one debtor, `GET /api/companies`
    /// answers 403 40303, as Nmbrs does for a token spanning several debtors;
    /// `GET /api/debtors` and `GET /api/debtors/{debtorId}/companies` still work.
    pub fn set_multi_debtor_forbidden(&self, on: bool) {
        self.inner.store().multi_debtor_forbidden = on;
    }

    /// The `companyId` of the company with this `number`, if any.
    pub fn company_id(&self, number: &str) -> Option<String> {
        self.inner
            .store()
            .companies()
            .into_iter()
            .find(|c| c.number == number)
            .map(|c| c.company_id)
    }

    /// Registers an OAuth client with its scopes; returns its first refresh token.
    pub fn add_client(&self, client_id: &str, client_secret: &str, scopes: &[&str]) -> String {
        self.inner
            .auth()
            .add_client(client_id, client_secret, scopes)
    }

    /// Accepts `key` as an `X-Subscription-Key`.
    pub fn add_subscription_key(&self, key: &str) {
        self.inner.auth().add_subscription_key(key);
    }

    /// The id of debtor `debtor_id`'s function, department or manager (`resource`: "functions",
    /// "departments", "managers") whose description (or "first last" name) is `name`.
    pub fn debtor_object_id(&self, debtor_id: &str, resource: &str, name: &str) -> Option<String> {
        let store = self.inner.store();
        let org = store.org(debtor_id).ok()?;
        let (list, id_key) = match resource {
            "functions" => (org.functions_json(), "functionId"),
            "departments" => (org.departments_json(), "departmentId"),
            "managers" => (org.managers_json(), "managerId"),
            _ => return None,
        };
        list.into_iter()
            .find(|o| {
                let full = format!(
                    "{} {}",
                    o["firstName"].as_str().unwrap_or(""),
                    o["lastName"].as_str().unwrap_or("")
                );
                o["description"].as_str() == Some(name) || full == name
            })
            .and_then(|o| o[id_key].as_str().map(str::to_owned))
    }

    /// Runs `action` right before the `nth` call from now to `route_key` (keyed like
    /// [`CallStats::by_route`], e.g. `"GET /companies/{companyId}/employees/personalinfo"`) is
    /// handled: Nmbrs changing while a client reads it page by page.
    pub fn before_call(
        &self,
        route_key: &str,
        nth: u64,
        action: impl FnOnce(&Sandbox) + Send + 'static,
    ) {
        lock(&self.inner.before_calls).push(crate::BeforeCall {
            route_key: route_key.to_owned(),
            nth: nth.max(1),
            action: Box::new(action),
        });
    }

    /// Inserts an employee directly, leniently (data planted as if typed into
    /// the Nmbrs UI: no rules, values outside the description's enums kept).
    /// `personal_info` is in the WRITE shape of a create/PUT `PersonalInfo`:
    /// `basicInfo` (with `employeeType`), a flat `birthInfo` (`birthDate` as
    /// `YYYY-MM-DD` or a date-time, `birthCountryCodeISO`, `nationalityCodeISO`),
    /// `contactInfo`, `partnerInfo` (`maritalStatus`, `ascriptionCode`),
    /// `emergencyInfo`, `period`. Missing period: the current one; missing or
    /// ill-typed members: null; a missing employee number is assigned. The
    /// employee has no employment (plant one with [`Sandbox::append_entry`]).
    /// Returns the `employeeId`.
    ///
    /// # Panics
    /// If `company_id` is unknown: that is a bug in the test or seed code.
    pub fn seed_employee(&self, company_id: &str, personal_info: Value) -> String {
        let (data, period) = PersonalData::from_write_lenient(&personal_info);
        let period = period.unwrap_or_else(current_period);
        match self
            .inner
            .store()
            .create_employee(company_id, data, period, None)
        {
            Ok(id) => id,
            Err(e) => panic!("seed_employee: {e}"),
        }
    }

    /// Adds a history entry for the period of `write_shape` (same shape and
    /// leniency as [`Sandbox::seed_employee`]; e.g. a future period, not yet in
    /// force); a missing employee number carries over from the entry in force.
    /// Returns its `personalInfoId`, `None` for an unknown employee.
    pub fn add_personal_info_entry(&self, employee_id: &str, write_shape: Value) -> Option<String> {
        let (data, period) = PersonalData::from_write_lenient(&write_shape);
        let now = current_period();
        self.inner
            .store()
            .add_entry(employee_id, data, period.unwrap_or(now), now)
            .ok()
    }

    // ------------------------------------------------------------ inspecting / editing

    /// The employee exactly as `GET /api/employees/{employeeId}` lists it:
    /// `{"employeeId", "personalInfo": <read shape of the entry in force>}`.
    pub fn employee(&self, employee_id: &str) -> Option<Value> {
        self.inner
            .store()
            .employee(employee_id)
            .ok()
            .map(|e| e.info_item(current_period(), self.inner.date_style))
    }

    /// All employees of a company as [`Sandbox::employee`] gives them, in
    /// creation order (empty for an unknown company).
    pub fn employees(&self, company_id: &str) -> Vec<Value> {
        let now = current_period();
        let style = self.inner.date_style;
        self.inner
            .store()
            .company_employees(company_id)
            .map(|v| v.into_iter().map(|e| e.info_item(now, style)).collect())
            .unwrap_or_default()
    }

    /// Every personal-info entry of the employee (read shape), oldest period
    /// first; empty for an unknown employee.
    pub fn personal_info_history(&self, employee_id: &str) -> Vec<Value> {
        let style = self.inner.date_style;
        self.inner
            .store()
            .employee(employee_id)
            .map(|e| e.history.iter().map(|h| h.render(style)).collect())
            .unwrap_or_default()
    }

    /// The `AdditionalEmployeeInfo.inServiceDate` the employee was created with
    /// (the start of its first employment; later employment changes do not change it).
    pub fn in_service_date(&self, employee_id: &str) -> Option<chrono::NaiveDate> {
        self.inner
            .store()
            .employee(employee_id)
            .ok()
            .and_then(|e| e.in_service_date)
    }

    /// The entries of one of the employee's histories in the read shape, in
    /// the order the company listing gives them. `resource` is the listing's
    /// path segment and array key: `employments`, `contracts`, `functions`,
    /// `departments`, `managers`, `addresses` or `privateInfos`. Empty for an
    /// unknown employee or resource.
    pub fn history(&self, employee_id: &str, resource_key: &str) -> Vec<Value> {
        let Some(res) = resource(resource_key) else {
            return Vec::new();
        };
        let style = self.inner.date_style;
        self.inner
            .store()
            .employee(employee_id)
            .map(|e| {
                e.records(res)
                    .iter()
                    .map(|r| r.render(res, style))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Adds an entry to one of the employee's histories (`resource` as in
    /// [`Sandbox::history`]) as a person in the Nmbrs UI would: no business
    /// rules (overlapping employments can be planted). `entry` is in the read
    /// shape of that resource; members of the wrong type are ignored, missing
    /// ones are null. The id member (`employmentId`, `contractId`,
    /// `addressId`) and the stamps (`createdAt`; `creationDate` and
    /// `changedDate`) are assigned; a missing `period` is the current one.
    /// Functions, departments and managers need only their object id
    /// (`functionId`, …): the members the entry lacks are copied from that
    /// object of the employee's debtor. Dates may be `YYYY-MM-DD` or date-times
    /// (their Dutch calendar date); `endContractReason` a code or `{code}`.
    /// Returns the entry's id: the id member's value, or for entries whose
    /// read shape has none the id a write would have answered with
    /// (`employeeFunctionId`, …, `personalnfoId`). `None` for an unknown
    /// employee or resource, an entry that is not an object, or an unknown object id.
    pub fn append_entry(
        &self,
        employee_id: &str,
        resource_key: &str,
        entry: Value,
    ) -> Option<String> {
        let res = resource(resource_key)?;
        self.inner
            .store()
            .append_record(employee_id, res, &entry, current_period())
    }

    /// Sets member `key` of one entry of the employee's history `resource`
    /// (as in [`Sandbox::history`]) in place, like an edit in the Nmbrs UI:
    /// same id, same `createdAt`; an employment's `changedDate` becomes now
    /// (unless `key` is `changedDate`), so `changedFrom` sees the edit.
    /// `index_from_newest` counts from the newest entry by creation stamp
    /// (`createdAt`, or `creationDate` for employments): 0 is the newest. The
    /// value is in the read shape (dates as `YYYY-MM-DD` or date-times, a period as
    /// `{year, period}`, `endContractReason` as a code). False for an unknown
    /// employee, resource, entry or member, or a value of the wrong type.
    pub fn edit_entry(
        &self,
        employee_id: &str,
        resource_key: &str,
        index_from_newest: usize,
        key: &str,
        value: Value,
    ) -> bool {
        let Some(res) = resource(resource_key) else {
            return false;
        };
        self.inner
            .store()
            .edit_record(employee_id, res, index_from_newest, key, &value)
    }

    /// Time passing: every entry's `createdAt` (and an employment's `creationDate` and
    /// `changedDate`) moves `by` back, as if everything had been created that much earlier. What a
    /// `createdFrom` read after a quiet day sees.
    pub fn age(&self, by: Duration) {
        let by = chrono::Duration::from_std(by).unwrap_or(chrono::Duration::zero());
        self.inner.store().age(by);
    }

    /// Number of employees over all companies.
    pub fn employee_count(&self) -> usize {
        self.inner.store().employee_count()
    }

    /// Sets one field as a new entry for the current period: a copy of the entry in force with
    /// the edit, with a new `personalInfoId` and `createdAt` (what a PUT does, so `createdFrom`
    /// sees it). `path` is in WRITE-shape terms (`basicInfo.lastName`,
    /// `birthInfo.birthCountryCodeISO`, `birthInfo.birthDate` as a date or a date-time,
    /// `partnerInfo.maritalStatus`, `contactInfo.businessEmail`). False for an unknown employee or
    /// path, or a value of the wrong type.
    pub fn edit_personal_info_as_new_entry(
        &self,
        employee_id: &str,
        path: &str,
        value: Value,
    ) -> bool {
        self.inner
            .store()
            .edit_in_force(employee_id, path, value, current_period(), true)
    }

    /// Sets one field of the entry in force, in place (same `personalInfoId` and `createdAt`: a
    /// correction `createdFrom` cannot see), as a person editing in the Nmbrs UI would: no rules.
    /// `path` as for [`Sandbox::edit_personal_info_as_new_entry`].
    pub fn edit_personal_info(&self, employee_id: &str, path: &str, value: Value) -> bool {
        self.inner
            .store()
            .edit_in_force(employee_id, path, value, current_period(), false)
    }

    /// Leaves the READ-shape key `path` (e.g. `birthInfo.birthCountry`) out of
    /// every rendering of the entry in force, so a test can prove a client
    /// treats a missing key as an error, not as empty. The answer then breaks
    /// the description on purpose (and is recorded in [`Sandbox::contract_violations`]
    /// if the description requires the key). False if there was no such key.
    pub fn remove_key(&self, employee_id: &str, path: &str) -> bool {
        self.inner
            .store()
            .remove_key(employee_id, path, current_period())
    }

    /// Every access token the token endpoint has issued, oldest first, expired ones included.
    /// For leak tests: none of them may show up in logs or databases.
    pub fn issued_access_tokens(&self) -> Vec<String> {
        self.inner.auth().issued_access_tokens()
    }

    /// Every refresh token issued (by [`Sandbox::add_client`] and by each rotation), oldest
    /// first. For leak tests: only the newest may be stored, in the state database's `oauth_state`.
    pub fn issued_refresh_tokens(&self) -> Vec<String> {
        self.inner.auth().issued_refresh_tokens()
    }

    /// Every authorization code `/connect/authorize` issued, oldest first. For leak tests.
    pub fn issued_authorization_codes(&self) -> Vec<String> {
        self.inner.auth().issued_codes()
    }

    /// Every `code_verifier` presented at the token endpoint, oldest first. For leak tests.
    pub fn received_code_verifiers(&self) -> Vec<String> {
        self.inner.auth().received_verifiers()
    }

    // ------------------------------------------------------------ knobs

    /// Latency added to every API response from now on.
    pub fn set_latency(&self, d: Duration) {
        self.inner.faults().latency = d;
    }

    /// Replaces the rate limit (a new, full bucket); `None` removes it.
    pub fn set_rate_limit(&self, per_sec: Option<u32>) {
        self.inner.faults().set_rate_limit(per_sec);
    }

    /// Replaces the random fault rates.
    pub fn set_faults(&self, f: FaultOptions) {
        self.inner.faults().random = f;
    }

    /// The next `count` API calls get `fault` before rate limiting, random
    /// faults, authorization or business logic. Injections queue up in order.
    pub fn inject(&self, fault: Fault, count: usize) {
        self.inner.faults().inject(fault, count);
    }

    /// Like [`Sandbox::inject`], for the token endpoint (which otherwise has no
    /// latency, rate limit or random faults: it is a separate service).
    pub fn inject_token_fault(&self, fault: Fault, count: usize) {
        self.inner.faults().inject_token(fault, count);
    }

    /// Tokens issued from now on lack `scope`; tokens already issued keep it
    /// until they expire, as with a real identity service.
    pub fn revoke_scope(&self, client_id: &str, scope: &str) {
        self.inner.auth().revoke_scope(client_id, scope);
    }

    // ------------------------------------------------------------ counting

    /// A snapshot of the call counters.
    pub fn stats(&self) -> CallStats {
        self.inner.stats().clone()
    }

    /// Sets all counters to zero.
    pub fn reset_stats(&self) {
        *self.inner.stats() = CallStats::default();
    }
}
