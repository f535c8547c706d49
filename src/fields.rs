//! The personal-info fields nmbrs-sync keeps in agreement, and a person's values for them.
//!
//! Both sides are brought into this one normalised shape before planning, so the planner compares like
//! with like: surrounding whitespace is dropped, an empty string is "no value", employee numbers are
//! canonical integers and dates are `YYYY-MM-DD`.

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
}

/// Number of [`Field`]s.
pub const FIELD_COUNT: usize = 15;

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
        }
    }

    /// Parses a snake_case name.
    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Where the field lives in a Nmbrs personal-info object: `(section, key)`,
    /// e.g. `("basicInfo", "lastName")` (`docs/nmbrs-api.md`, create and PUT bodies).
    pub fn nmbrs_path(self) -> (&'static str, &'static str) {
        match self {
            Field::EmployeeNumber => ("basicInfo", "employeeNumber"),
            Field::FirstName => ("basicInfo", "firstName"),
            Field::FirstNameInFull => ("basicInfo", "firstNameInFull"),
            Field::LastName => ("basicInfo", "lastName"),
            Field::EmployeeType => ("basicInfo", "employeeType"),
            Field::BirthDate => ("birthInfo", "birthDate"),
            Field::BirthCountryCodeIso => ("birthInfo", "birthCountryCodeISO"),
            Field::NationalityCodeIso => ("birthInfo", "nationalityCodeISO"),
            Field::Gender => ("birthInfo", "gender"),
            Field::PrivateEmail => ("contactInfo", "privateEmail"),
            Field::BusinessEmail => ("contactInfo", "businessEmail"),
            Field::BusinessMobilePhone => ("contactInfo", "businessMobilePhone"),
            Field::PrivateMobilePhone => ("contactInfo", "privateMobilePhone"),
            Field::PartnerName => ("partnerInfo", "partnerName"),
            Field::MaritalStatus => ("partnerInfo", "maritalStatus"),
        }
    }

    /// Whether the create body (`POST /companies/{companyId}/employees`) carries this field.
    /// The create body has no `partnerInfo`; those fields follow with a PUT.
    pub fn in_create_body(self) -> bool {
        self.nmbrs_path().0 != "partnerInfo"
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Normalises a raw text value: trims, and maps empty to `None`.
pub fn normalize(raw: Option<&str>) -> Option<String> {
    let t = raw?.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// A person's values for every [`Field`], normalised (see module docs). `None` = no value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldValues([Option<String>; FIELD_COUNT]);

impl FieldValues {
    /// The value of `field`.
    pub fn get(&self, field: Field) -> Option<&str> {
        self.0[field.index()].as_deref()
    }

    /// Sets `field`; the value is normalised.
    pub fn set(&mut self, field: Field, value: Option<&str>) {
        self.0[field.index()] = normalize(value);
    }

    /// A 128-bit digest, hex, of all values: equal digests mean equal values. Stored beside the
    /// snapshot so an unchanged record is recognised without parsing the snapshot JSON.
    pub fn digest(&self) -> String {
        let mut h = Sha256::new();
        for v in &self.0 {
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

    /// What Nmbrs holds right after a create with these values: the create body has no
    /// `partnerInfo`, so those fields are empty until a PUT follows.
    pub fn as_created(&self) -> FieldValues {
        let mut v = self.clone();
        for f in Field::ALL.into_iter().filter(|f| !f.in_create_body()) {
            v.set(f, None);
        }
        v
    }

    /// Snapshot / audit JSON: `{"field": "value", ...}` with absent values left out.
    pub fn to_json(&self) -> String {
        let map: BTreeMap<&str, &str> = Field::ALL
            .into_iter()
            .filter_map(|f| self.get(f).map(|v| (f.name(), v)))
            .collect();
        serde_json::to_string(&map).unwrap_or_else(|_| "{}".into())
    }

    /// Parses [`FieldValues::to_json`] output. Unknown keys are ignored (a field removed in a later
    /// version must not make old snapshots unreadable).
    pub fn from_json(json: &str) -> Result<FieldValues, serde_json::Error> {
        let map: BTreeMap<String, Option<String>> = serde_json::from_str(json)?;
        let mut values = FieldValues::default();
        for (k, v) in &map {
            if let Some(f) = Field::from_name(k) {
                values.set(f, v.as_deref());
            }
        }
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        for f in Field::ALL {
            assert_eq!(Field::from_name(f.name()), Some(f));
            assert_eq!(Field::ALL[f.index()], f);
        }
    }

    #[test]
    fn normalisation_trims_and_drops_empty() {
        let mut v = FieldValues::default();
        v.set(Field::FirstName, Some("  Lisa "));
        v.set(Field::LastName, Some("   "));
        assert_eq!(v.get(Field::FirstName), Some("Lisa"));
        assert_eq!(v.get(Field::LastName), None);
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
