//! The fields nmbrs-sync keeps in agreement, the Nmbrs resource each belongs to, and a person's
//! values for them.
//!
//! Both sides are brought into this one normalised shape before planning, so the planner compares like
//! with like: surrounding whitespace is dropped, an empty string is "no value", employee numbers,
//! hours and reason codes are canonical numbers and dates are `YYYY-MM-DD`.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;

/// One synced field. The snake_case name is the default HRIS column, the config key under
/// `hris.columns.*` / `sync.field_owner.*`, and the key in snapshots and audit rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    EmployeeNumber,
    FirstName,
    FirstNameInFull,
    LastName,
    EmployeeType,
    BirthDate,
    BirthCountryCodeIso,
    NationalityCodeIso,
    Gender,
    PrivateEmail,
    BusinessEmail,
    BusinessMobilePhone,
    PrivateMobilePhone,
    PartnerName,
    MaritalStatus,
    /// The hire date: the start of the employment in force; sent in the create's
    /// `AdditionalEmployeeInfo.inServiceDate`.
    InServiceDate,
    /// The employment's end of service (a termination is an update, never a delete).
    EndOfServiceDate,
    /// The employment's end-of-contract reason, as its code (`/api/debtors/endcontractreasons/{year}`).
    EndOfContractReason,
    ContractStartDate,
    /// Empty = an indefinite contract.
    ContractEndDate,
    /// Hours per week, a decimal number (`32`, `32.5`).
    HoursPerWeek,
    /// The function (job title): a debtor-level object, named by description or code.
    JobTitle,
    /// A debtor-level department, named by description or code.
    Department,
    /// A debtor-level manager (not an employee), named as "first last" or by e-mail address.
    Manager,
    Street,
    HouseNumber,
    HouseNumberAddition,
    PostalCode,
    City,
    /// The home address's country (ISO 3166 alpha-2).
    CountryCodeIso,
    /// The Dutch citizen service number (BSN). Never logged; masked in audit rows; kept in the
    /// state database only as a keyed hash ([`Field::comparable`]).
    Bsn,
}

/// Number of [`Field`]s.
pub const FIELD_COUNT: usize = 31;

/// An Nmbrs employee resource: one history listing per company
/// (`GET /api/companies/{companyId}/employees/<listing>`), its own write call and scope. Every field
/// belongs to exactly one; a resource none of whose fields is mapped costs no API call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resource {
    /// `…/personalinfo`; written by `PUT /api/employees/{id}/personalInfo`.
    PersonalInfo,
    /// `…/employments`; `PUT /api/employees/{id}/employment` (end of service), created with the employee.
    Employment,
    /// `…/contracts`; `POST` (a new start date) or `PUT /api/employees/{id}/contract`.
    Contract,
    /// `…/functions`; `PUT /api/employees/{id}/function` with a debtor `functionId`.
    Function,
    /// `…/departments`; `PUT /api/employees/{id}/department` with a debtor `departmentId`.
    Department,
    /// `…/managers`; `PUT /api/employees/{id}/manager` with a debtor `managerId`.
    Manager,
    /// `…/addresses` (type `homeAddress`); `POST /api/employees/{id}/address` appends an entry.
    Address,
    /// `…/privateInfos` (the BSN); `PUT /api/employees/{id}/socialsecuritynumber`.
    PrivateInfo,
}

impl Resource {
    /// Every resource, in the order a record's writes are made (personal info first: it is the
    /// employee; the rest depend on nothing but the employee).
    pub const ALL: [Resource; 8] = [
        Resource::PersonalInfo,
        Resource::Employment,
        Resource::Contract,
        Resource::Function,
        Resource::Department,
        Resource::Manager,
        Resource::Address,
        Resource::PrivateInfo,
    ];

    /// snake_case name, for messages and the audit log.
    pub fn name(self) -> &'static str {
        match self {
            Resource::PersonalInfo => "personal_info",
            Resource::Employment => "employment",
            Resource::Contract => "contract",
            Resource::Function => "function",
            Resource::Department => "department",
            Resource::Manager => "manager",
            Resource::Address => "address",
            Resource::PrivateInfo => "private_info",
        }
    }

    /// The company listing's last path segment (`GET /api/companies/{companyId}/employees/<this>`).
    pub fn listing(self) -> &'static str {
        match self {
            Resource::PersonalInfo => "personalinfo",
            Resource::Employment => "employments",
            Resource::Contract => "contracts",
            Resource::Function => "functions",
            Resource::Department => "departments",
            Resource::Manager => "managers",
            Resource::Address => "addresses",
            Resource::PrivateInfo => "privateInfos",
        }
    }

    /// The member of a listing item that holds the history (`{"employeeId", <this>: [...]}`).
    pub fn history_key(self) -> &'static str {
        match self {
            Resource::PersonalInfo => "info",
            other => other.listing(),
        }
    }

    /// The OAuth scope the resource's write needs (its read takes this or `<scope>.read`), per the
    /// operations' `security` in the vendor description.
    pub fn write_scope(self) -> &'static str {
        match self {
            Resource::PersonalInfo | Resource::Address | Resource::PrivateInfo => "employee.info",
            Resource::Employment | Resource::Contract => "employee.employment",
            Resource::Function | Resource::Department | Resource::Manager => {
                "employee.orgstructure"
            }
        }
    }

    /// The scope the listing needs (or its write scope).
    pub fn read_scope(self) -> &'static str {
        match self {
            Resource::Employment | Resource::Contract => "employee.employment.read",
            _ => "employee.info.read",
        }
    }

    /// The fields of this resource, in index order.
    pub fn fields(self) -> impl Iterator<Item = Field> {
        Field::ALL.into_iter().filter(move |f| f.resource() == self)
    }

    /// Whether the resource's value is one of the debtor's objects (functions, departments,
    /// managers), read from `GET /api/debtors/{debtorId}/<listing>`.
    pub fn is_reference(self) -> bool {
        matches!(
            self,
            Resource::Function | Resource::Department | Resource::Manager
        )
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `basicInfo.employeeType` values of the vendor description (schema `EmployeeType`).
pub const EMPLOYEE_TYPES: [&str; 7] = [
    "applicant",
    "newHire",
    "payroll",
    "formerPayroll",
    "external",
    "formerExternal",
    "rejectedApplicant",
];

/// `birthInfo.gender` values of the vendor description (schema `Gender`).
pub const GENDERS: [&str; 4] = ["unspecified", "male", "female", "unknown"];

/// `partnerInfo.maritalStatus` values of the vendor description (schema `MaritalStatus`).
pub const MARITAL_STATUSES: [&str; 7] = [
    "married",
    "unmarried",
    "livingTogether",
    "divorced",
    "registeredPartner",
    "widowWidower",
    "notSpecified",
];

/// How the sync treats a field after the employee exists (docs/nmbrs-api.md, "Writing").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lifecycle {
    /// Read from its resource's history, merged three-way, written by the resource's write.
    Synced,
    /// Read and merged, but no write after the create can carry it (`employeeType`: the
    /// personal-info PUT has no such member; the hire date: `UpdateEmployment` has no start date):
    /// an HRIS change is reported once, never sent; Nmbrs-side changes are pulled.
    CreateOnly,
}

impl Field {
    /// Every field, in a fixed order (the index order of [`FieldValues`]).
    pub const ALL: [Field; FIELD_COUNT] = [
        Field::EmployeeNumber,
        Field::FirstName,
        Field::FirstNameInFull,
        Field::LastName,
        Field::EmployeeType,
        Field::BirthDate,
        Field::BirthCountryCodeIso,
        Field::NationalityCodeIso,
        Field::Gender,
        Field::PrivateEmail,
        Field::BusinessEmail,
        Field::BusinessMobilePhone,
        Field::PrivateMobilePhone,
        Field::PartnerName,
        Field::MaritalStatus,
        Field::InServiceDate,
        Field::EndOfServiceDate,
        Field::EndOfContractReason,
        Field::ContractStartDate,
        Field::ContractEndDate,
        Field::HoursPerWeek,
        Field::JobTitle,
        Field::Department,
        Field::Manager,
        Field::Street,
        Field::HouseNumber,
        Field::HouseNumberAddition,
        Field::PostalCode,
        Field::City,
        Field::CountryCodeIso,
        Field::Bsn,
    ];

    /// Position in [`Field::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// snake_case name: HRIS default column, config key, snapshot/audit key.
    pub fn name(self) -> &'static str {
        match self {
            Field::EmployeeNumber => "employee_number",
            Field::FirstName => "first_name",
            Field::FirstNameInFull => "first_name_in_full",
            Field::LastName => "last_name",
            Field::EmployeeType => "employee_type",
            Field::BirthDate => "birth_date",
            Field::BirthCountryCodeIso => "birth_country_code_iso",
            Field::NationalityCodeIso => "nationality_code_iso",
            Field::Gender => "gender",
            Field::PrivateEmail => "private_email",
            Field::BusinessEmail => "business_email",
            Field::BusinessMobilePhone => "business_mobile_phone",
            Field::PrivateMobilePhone => "private_mobile_phone",
            Field::PartnerName => "partner_name",
            Field::MaritalStatus => "marital_status",
            Field::InServiceDate => "in_service_date",
            Field::EndOfServiceDate => "end_of_service_date",
            Field::EndOfContractReason => "end_of_contract_reason",
            Field::ContractStartDate => "contract_start_date",
            Field::ContractEndDate => "contract_end_date",
            Field::HoursPerWeek => "hours_per_week",
            Field::JobTitle => "job_title",
            Field::Department => "department",
            Field::Manager => "manager",
            Field::Street => "street",
            Field::HouseNumber => "house_number",
            Field::HouseNumberAddition => "house_number_addition",
            Field::PostalCode => "postal_code",
            Field::City => "city",
            Field::CountryCodeIso => "country_code_iso",
            Field::Bsn => "bsn",
        }
    }

    /// The Nmbrs resource the field is read from and written to.
    pub fn resource(self) -> Resource {
        use Field::*;
        match self {
            InServiceDate | EndOfServiceDate | EndOfContractReason => Resource::Employment,
            ContractStartDate | ContractEndDate | HoursPerWeek => Resource::Contract,
            JobTitle => Resource::Function,
            Department => Resource::Department,
            Manager => Resource::Manager,
            Street | HouseNumber | HouseNumberAddition | PostalCode | City | CountryCodeIso => {
                Resource::Address
            }
            Bsn => Resource::PrivateInfo,
            _ => Resource::PersonalInfo,
        }
    }

    /// How the field is synced once the employee exists.
    pub fn lifecycle(self) -> Lifecycle {
        match self {
            Field::EmployeeType | Field::InServiceDate => Lifecycle::CreateOnly,
            _ => Lifecycle::Synced,
        }
    }

    /// Whether the create call carries the field (`CreatePersonalInfo`, and the hire date in
    /// `AdditionalEmployeeInfo`); the other resources are written right after the create.
    pub fn in_create_body(self) -> bool {
        self.resource() == Resource::PersonalInfo || self == Field::InServiceDate
    }

    /// Whether Nmbrs can be told "no value" for this field. Functions, departments and managers
    /// are set by id and never unset; an address entry needs a street, city and country; a
    /// contract needs a start date. Clearing one of these in the HRIS is reported once, never sent.
    pub fn clearable(self) -> bool {
        !matches!(
            self,
            Field::JobTitle
                | Field::Department
                | Field::Manager
                | Field::ContractStartDate
                | Field::Street
                | Field::City
                | Field::CountryCodeIso
                | Field::Bsn
        )
    }

    /// The enum value that says "no value": Nmbrs reads a marital status that was never set as
    /// `notSpecified` (the read schema does not allow `null`), so both sides treat it as empty.
    pub fn empty_value(self) -> Option<&'static str> {
        (self == Field::MaritalStatus).then_some("notSpecified")
    }

    /// The form in which two values of this field are compared: e-mail addresses case-insensitively
    /// (Nmbrs may store them lower-cased), phone numbers as E.164 (`+31 6 2345 6789`, `0031 6 23456789`
    /// and, with the region NL, `06-23456789` are all `+31623456789`; see [`set_phone_region`]). A phone
    /// value that does not parse as a number is compared without its separators. Values are still
    /// written as their side has them: the HRIS keeps its own formatting.
    pub fn comparable(self, value: &str) -> std::borrow::Cow<'_, str> {
        use std::borrow::Cow;
        // Borrowed when already in that form: the digest of every record runs through here.
        match self {
            Field::PrivateEmail | Field::BusinessEmail
                if value.chars().any(|c| !c.to_lowercase().eq([c])) =>
            {
                Cow::Owned(value.to_lowercase())
            }
            Field::BusinessMobilePhone | Field::PrivateMobilePhone if !is_e164(value) => {
                Cow::Owned(phone_e164(value))
            }
            // Reference names compare case- and space-insensitively; postal codes without spaces
            // and in capitals (`1043 bz` is `1043BZ`).
            Field::JobTitle | Field::Department | Field::Manager
                if value.chars().any(|c| {
                    c.is_whitespace()
                        || !c.is_lowercase() && c.is_alphabetic() && c.to_lowercase().ne([c])
                }) =>
            {
                Cow::Owned(reference_key(value, false))
            }
            Field::PostalCode if value.chars().any(|c| c.is_whitespace() || c.is_lowercase()) => {
                Cow::Owned(reference_key(value, true))
            }
            Field::Bsn if !value.starts_with(BSN_HASH_PREFIX) => Cow::Owned(bsn_hash(value)),
            _ => Cow::Borrowed(value),
        }
    }

    /// Whether two values of this field are the same value ([`Field::comparable`]).
    pub fn same(self, a: Option<&str>, b: Option<&str>) -> bool {
        match (a, b) {
            (Some(a), Some(b)) => self.comparable(a) == self.comparable(b),
            (a, b) => a == b,
        }
    }

    /// The values the vendor description allows, for fields that are enums.
    pub fn allowed_values(self) -> Option<&'static [&'static str]> {
        match self {
            Field::EmployeeType => Some(&EMPLOYEE_TYPES),
            Field::Gender => Some(&GENDERS),
            Field::MaritalStatus => Some(&MARITAL_STATUSES),
            _ => None,
        }
    }

    /// Why an HRIS change of this field is not sent (the merge's `not_updatable`): to `after`.
    pub fn unsendable_reason(self, after: Option<&str>) -> &'static str {
        match self {
            Field::EmployeeType => {
                "the personal-info PUT has no employeeType member; change it in Nmbrs"
            }
            Field::InServiceDate => {
                "the employment's start date is set when the employee is created and UpdateEmployment has no start date; change it in Nmbrs"
            }
            _ if after.is_none() => {
                "Nmbrs cannot be told \"no value\" for it (it is set by id, or required in its entry); clear it in Nmbrs or give a value"
            }
            _ => "the Nmbrs API has no write for it",
        }
    }

    /// Whether the default HRIS column may be absent from the table (a column added after the
    /// first release): then the field is simply not synced. A column named in the config must exist.
    pub fn column_optional(self) -> bool {
        self == Field::InServiceDate || self.resource() != Resource::PersonalInfo
    }

    /// Whether an HRIS column may hold the value as a number (SQLite INTEGER or REAL) rather than
    /// text.
    pub fn numeric_ok(self) -> bool {
        matches!(
            self,
            Field::EmployeeNumber
                | Field::HoursPerWeek
                | Field::EndOfContractReason
                | Field::HouseNumber
                | Field::Bsn
        )
    }

    /// A value as the state database keeps it: a BSN as its keyed hash ([`bsn_hash`]), every other
    /// value as it is. Comparing stored forms with [`Field::same`] still works: a hash compares as
    /// itself.
    pub fn stored(self, value: &str) -> std::borrow::Cow<'_, str> {
        match self {
            Field::Bsn => self.comparable(value),
            _ => std::borrow::Cow::Borrowed(value),
        }
    }

    /// A value as an audit row or a message may show it: a BSN masked to its last four digits
    /// (`*****6789`; a stored hash shows as `*****`), every other value as it is.
    pub fn shown(self, value: &str) -> std::borrow::Cow<'_, str> {
        use std::borrow::Cow;
        match self {
            Field::Bsn if value.starts_with(BSN_HASH_PREFIX) => Cow::Borrowed("*****"),
            Field::Bsn => {
                let n = value.chars().count();
                let tail: String = value.chars().skip(n.saturating_sub(4)).collect();
                Cow::Owned(format!("*****{tail}"))
            }
            _ => Cow::Borrowed(value),
        }
    }

    /// Parses a snake_case name.
    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a stored BSN hash starts (never a real BSN, which is nine digits).
pub const BSN_HASH_PREFIX: &str = "bsn-hmac:";

/// The key of BSN hashes (`set_bsn_key`); a fixed development key until one is set.
static BSN_KEY: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();

/// Sets the key BSNs are hashed with, once per process, before the first cycle (from the state
/// database; see `crate::state`). Returns false if a key was already set.
pub fn set_bsn_key(key: Vec<u8>) -> bool {
    BSN_KEY.set(key).is_ok()
}

/// A BSN's keyed hash (HMAC-SHA-256, 128 bits, hex) with [`BSN_HASH_PREFIX`]: how the state
/// database keeps a BSN (snapshots, write intents) so that a change is still seen without the
/// number being stored.
pub fn bsn_hash(bsn: &str) -> String {
    let key = BSN_KEY
        .get()
        .map_or(&b"nmbrs-sync development key"[..], Vec::as_slice);
    bsn_hash_with(key, bsn)
}

/// [`bsn_hash`] with an explicit key (a test or tool that reads another state database's key);
/// a value that is already a hash is returned as it is.
pub fn bsn_hash_with(key: &[u8], bsn: &str) -> String {
    use hmac::{KeyInit, Mac};
    if bsn.starts_with(BSN_HASH_PREFIX) {
        return bsn.to_owned();
    }
    let digits: String = bsn.chars().filter(char::is_ascii_digit).collect();
    let mut mac = match hmac::Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        // HMAC takes keys of any length; unreachable, but never a panic on the way to a digest.
        Err(_) => return format!("{BSN_HASH_PREFIX}unkeyed"),
    };
    mac.update(digits.as_bytes());
    format!(
        "{BSN_HASH_PREFIX}{}",
        hex::encode(&mac.finalize().into_bytes()[..16])
    )
}

/// `value` without whitespace, lower-cased (or upper-cased when `upper`): the comparable form of
/// reference names and postal codes.
pub fn reference_key(value: &str, upper: bool) -> String {
    let kept = value.chars().filter(|c| !c.is_whitespace());
    if upper {
        kept.flat_map(char::to_uppercase).collect()
    } else {
        kept.flat_map(char::to_lowercase).collect()
    }
}

/// The region whose national format a phone number without a country code is read in
/// (`sync.phone_region`); NL until [`set_phone_region`] is called.
static PHONE_REGION: std::sync::OnceLock<phonenumber::country::Id> = std::sync::OnceLock::new();

/// Sets the region of [`Field::comparable`]'s phone numbers, once per process (from
/// `sync.phone_region`, before the first cycle). A process-wide setting rather than a parameter
/// because it is a property of the deployment, like the time zone, and every comparison needs it;
/// returns false if a region was already set.
pub fn set_phone_region(region: phonenumber::country::Id) -> bool {
    PHONE_REGION.set(region).is_ok()
}

/// Whether `value` is already E.164: `+` and digits only (the form Nmbrs stores, so the common case
/// costs no parse).
fn is_e164(value: &str) -> bool {
    value
        .strip_prefix('+')
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

/// A phone number in E.164, parsed with the `phonenumber` crate (libphonenumber's metadata) in the
/// configured region; a value that is not a phone number is compared without its separators.
fn phone_e164(value: &str) -> String {
    let region = PHONE_REGION
        .get()
        .copied()
        .unwrap_or(phonenumber::country::Id::NL);
    match phonenumber::parse(Some(region), value) {
        Ok(n) => n.format().mode(phonenumber::Mode::E164).to_string(),
        Err(_) => {
            let is_separator = |c: char| matches!(c, ' ' | '-' | '.' | '(' | ')' | '\u{a0}');
            let digits: String = value.chars().filter(|&c| !is_separator(c)).collect();
            match digits.strip_prefix("00") {
                Some(rest) => format!("+{rest}"),
                None => digits,
            }
        }
    }
}

/// Normalises a raw text value: trims, and maps empty to `None`.
pub fn normalize(raw: Option<&str>) -> Option<String> {
    let t = raw?.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// A person's values for every [`Field`], normalised (see module docs). `None` = no value.
///
/// Kept compact (issue 13: a cycle holds three of these per record — HRIS row, base snapshot,
/// Nmbrs — for every record of a company): every value in one buffer, in field order, with where
/// each ends and which are present; ~150 bytes plus the text instead of 31 `Option<String>`s.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct FieldValues {
    /// The values, concatenated in field order (an absent value takes no bytes).
    buf: Box<str>,
    /// Where each field's value ends in `buf`, bytes.
    ends: [u32; FIELD_COUNT],
    /// Bit `i` set: field `i` has a value.
    present: u32,
}

// One presence bit per field.
const _: () = assert!(FIELD_COUNT <= 32);

impl std::fmt::Debug for FieldValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(
                Field::ALL
                    .iter()
                    .filter_map(|&field| self.get(field).map(|v| (field.name(), v))),
            )
            .finish()
    }
}

impl FieldValues {
    /// The value of `field`.
    pub fn get(&self, field: Field) -> Option<&str> {
        let i = field.index();
        if self.present & (1 << i) == 0 {
            return None;
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.buf.get(start..self.ends[i] as usize)
    }

    /// Sets `field`; the value is normalised, and a value that means "none" is no value
    /// ([`Field::empty_value`]).
    pub fn set(&mut self, field: Field, value: Option<&str>) {
        let value = normalize(value).filter(|v| Some(v.as_str()) != field.empty_value());
        if self.get(field) == value.as_deref() {
            return;
        }
        let mut all: [Option<&str>; FIELD_COUNT] = [None; FIELD_COUNT];
        for f in Field::ALL {
            all[f.index()] = self.get(f);
        }
        all[field.index()] = value.as_deref();
        *self = FieldValues::pack(&all);
    }

    /// Takes `fields`' values, present or not, from `from` (one resource's read into a person's
    /// values), packing once.
    pub(crate) fn overlay(&mut self, from: &FieldValues, fields: &[Field]) {
        let mut all: [Option<&str>; FIELD_COUNT] = [None; FIELD_COUNT];
        for f in Field::ALL {
            all[f.index()] = self.get(f);
        }
        for f in fields {
            all[f.index()] = from.get(*f);
        }
        let packed = FieldValues::pack(&all);
        *self = packed;
    }

    /// Values already normalised, by field index, packed into one buffer.
    fn pack(all: &[Option<&str>; FIELD_COUNT]) -> FieldValues {
        let mut buf = String::with_capacity(all.iter().flatten().map(|v| v.len()).sum());
        let mut ends = [0u32; FIELD_COUNT];
        let mut present = 0u32;
        for (i, v) in all.iter().enumerate() {
            if let Some(v) = v {
                buf.push_str(v);
                present |= 1 << i;
            }
            // A person's values stay far below 4 GiB; saturating keeps a hostile one in range.
            ends[i] = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        }
        FieldValues {
            buf: buf.into_boxed_str(),
            ends,
            present,
        }
    }

    /// Values by field, normalised as [`FieldValues::set`] does, packed once.
    fn from_pairs<'a>(pairs: impl IntoIterator<Item = (Field, Option<&'a str>)>) -> FieldValues {
        let mut owned: [Option<String>; FIELD_COUNT] = Default::default();
        for (f, v) in pairs {
            owned[f.index()] = normalize(v).filter(|v| Some(v.as_str()) != f.empty_value());
        }
        let mut all: [Option<&str>; FIELD_COUNT] = [None; FIELD_COUNT];
        for (slot, v) in all.iter_mut().zip(&owned) {
            *slot = v.as_deref();
        }
        FieldValues::pack(&all)
    }

    /// A 128-bit digest, hex, of all values: equal digests mean equal values. Stored beside the
    /// snapshot so an unchanged record is recognised without parsing the snapshot JSON.
    pub fn digest(&self) -> String {
        let mut h = Sha256::new();
        // Values in their comparable form: equal values in another format hash alike.
        for v in Field::ALL
            .iter()
            .map(|&f| self.get(f).map(|v| f.comparable(v)))
        {
            match v {
                // Tag byte + length prefix keep `None` and `Some("")`-like shapes from colliding.
                None => h.update([0u8]),
                Some(s) => {
                    h.update([1u8]);
                    h.update((s.len() as u64).to_le_bytes());
                    h.update(s.as_bytes());
                }
            }
        }
        hex::encode(&h.finalize()[..16])
    }

    /// What Nmbrs holds right after a create with these values: the fields the create body
    /// carries ([`Field::in_create_body`]); the other resources are still empty, so a base of these
    /// values makes the next merge write them (right after the create, or in a later cycle).
    pub fn as_created(&self) -> FieldValues {
        FieldValues::from_pairs(
            Field::ALL
                .into_iter()
                .filter(|f| f.in_create_body())
                .map(|f| (f, self.get(f))),
        )
    }

    /// `{field name: value}` with absent values left out (snapshots, write intents); a BSN as its
    /// keyed hash, never in clear.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        Field::ALL
            .into_iter()
            .filter_map(|f| {
                self.get(f)
                    .map(|v| (f.name().to_owned(), f.stored(v).into_owned()))
            })
            .collect()
    }

    /// The values of a [`FieldValues::to_map`] map; unknown names are ignored (a field removed in a
    /// later version must not make old records unreadable).
    pub fn from_map(map: &BTreeMap<String, String>) -> FieldValues {
        FieldValues::from_pairs(
            map.iter()
                .filter_map(|(k, v)| Some((Field::from_name(k)?, Some(v.as_str())))),
        )
    }

    /// Snapshot / audit JSON: `{"field": "value", ...}` with absent values left out.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.to_map()).unwrap_or_else(|_| "{}".into())
    }

    /// Parses [`FieldValues::to_json`] output. Unknown keys are ignored (a field removed in a later
    /// version must not make old snapshots unreadable).
    pub fn from_json(json: &str) -> Result<FieldValues, serde_json::Error> {
        let map: BTreeMap<String, Option<String>> = serde_json::from_str(json)?;
        Ok(FieldValues::from_pairs(map.iter().filter_map(|(k, v)| {
            Some((Field::from_name(k)?, v.as_deref()))
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_pack_and_unpack_every_field() {
        let expected = |i: usize| (i % 3 != 1).then(|| format!("v{i}é"));
        let mut v = FieldValues::default();
        for (i, f) in Field::ALL.into_iter().enumerate() {
            v.set(f, expected(i).map(|e| format!("  {e} ")).as_deref());
        }
        for (i, f) in Field::ALL.into_iter().enumerate() {
            assert_eq!(v.get(f), expected(i).as_deref(), "{f}");
        }
        let f = Field::ALL[3];
        let mut w = v.clone();
        w.set(f, None);
        assert_eq!(w.get(f), None);
        assert_ne!(w, v);
        w.set(f, v.get(f));
        assert_eq!(w, v, "equal values, equal packing");
        let copied = FieldValues::from_pairs(Field::ALL.into_iter().map(|f| (f, v.get(f))));
        assert_eq!(copied, v);
        assert_eq!(FieldValues::default().get(Field::ALL[0]), None);
    }

    #[test]
    fn names_round_trip_and_are_unique() {
        for f in Field::ALL {
            assert_eq!(Field::from_name(f.name()), Some(f));
            assert_eq!(Field::ALL[f.index()], f);
        }
    }

    #[test]
    fn comparable_forms_and_borrowing() {
        use std::borrow::Cow;
        let f = Field::BusinessEmail;
        assert_eq!(
            f.comparable("Daan.deGroot@Example.NL"),
            "daan.degroot@example.nl"
        );
        assert!(matches!(f.comparable("daan@example.nl"), Cow::Borrowed(_)));
        assert_eq!(
            f.comparable("ǅ@x.nl"),
            "ǆ@x.nl",
            "a titlecase letter lowers too"
        );
        let p = Field::PrivateMobilePhone;
        assert_eq!(p.comparable("+31 6 2345-6789"), "+31623456789");
        assert_eq!(p.comparable("0031 (6) 23456789"), "+31623456789");
        assert!(matches!(p.comparable("+31623456789"), Cow::Borrowed(_)));
        // National format, read in the default region NL (issue 9, kind 2).
        assert_eq!(p.comparable("06 2345 6789"), "+31623456789");
        assert_eq!(p.comparable("06-23456789"), "+31623456789");
        assert_eq!(p.comparable("+31 (0)6 2345 6789"), "+31623456789");
        assert!(p.same(Some("06 23456789"), Some("+31623456789")));
        assert!(!p.same(Some("06 23456788"), Some("+31623456789")));
        // Another country's number keeps its own code.
        assert_eq!(p.comparable("+32 470 12 34 56"), "+32470123456");
        // Not a phone number: compared without separators, never an error.
        assert_eq!(p.comparable("ask reception"), "askreception");
        assert!(matches!(
            Field::LastName.comparable("De Vries"),
            Cow::Borrowed("De Vries")
        ));
    }

    #[test]
    fn normalisation_trims_and_drops_empty() {
        let mut v = FieldValues::default();
        v.set(Field::FirstName, Some("  Lisa "));
        v.set(Field::LastName, Some("   "));
        v.set(Field::MaritalStatus, Some("notSpecified"));
        assert_eq!(v.get(Field::FirstName), Some("Lisa"));
        assert_eq!(v.get(Field::LastName), None);
        assert_eq!(
            v.get(Field::MaritalStatus),
            None,
            "Nmbrs's 'not set' is no value"
        );
        v.set(Field::MaritalStatus, Some("married"));
        assert_eq!(v.get(Field::MaritalStatus), Some("married"));
    }

    #[test]
    fn json_round_trip_and_digest_tracks_values() {
        let mut v = FieldValues::default();
        v.set(Field::LastName, Some("Hanison"));
        v.set(Field::PartnerName, Some("Rick 🎉 Petterson"));
        let back = FieldValues::from_json(&v.to_json()).expect("parses");
        assert_eq!(back, v);
        assert_eq!(back.digest(), v.digest());
        let mut w = v.clone();
        w.set(Field::LastName, Some("Petterson"));
        assert_ne!(w.digest(), v.digest());
        // Moving a value to another field changes the digest too.
        let mut a = FieldValues::default();
        a.set(Field::FirstName, Some("x"));
        let mut b = FieldValues::default();
        b.set(Field::FirstNameInFull, Some("x"));
        assert_ne!(a.digest(), b.digest());
    }
}
