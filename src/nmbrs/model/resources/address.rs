//! The home address. Read: `Address` items of `GET /api/companies/{companyId}/employees/addresses`
//! of type `homeAddress`, the one in force by period. Written: `POST /api/employees/{employeeId}/
//! address` (`CreateAddress`), which appends an entry: the whole address is sent, for the period.

use super::super::history::{path, text};
use super::super::{InForce, Period, ReadError, in_force_by_period};
use super::{ReadAt, ResourceRead, carried};
use crate::fields::{Field, FieldValues};
use serde::Serialize;
use serde_json::Value;

const KEY: &str = "addresses";
const HOME: &str = "homeAddress";

/// Each address field and its member in `Address` / `CreateAddress`.
const MEMBERS: [(Field, &str); 6] = [
    (Field::Street, "street"),
    (Field::HouseNumber, "houseNumber"),
    (Field::HouseNumberAddition, "houseNumberAddition"),
    (Field::PostalCode, "postalCode"),
    (Field::City, "city"),
    (Field::CountryCodeIso, "countryISOCode"),
];

/// The home address in force for `period` (entries of other types are not read).
///
/// Errors: an entry whose `period` is unreadable.
pub fn home_in_force(entries: &[Value], period: Period) -> Result<Option<InForce<'_>>, ReadError> {
    in_force_by_period(entries, period, KEY, false, "home-address", |e| {
        e.get("type").and_then(Value::as_str) == Some(HOME)
    })
}

/// The home address in force: its values and `addressId`. Other address types are not read.
///
/// Errors: a member missing or malformed (`addresses[i].city`…).
pub fn read(entries: &[Value], at: &ReadAt) -> Result<ResourceRead, ReadError> {
    let Some(f) = home_in_force(entries, at.period)? else {
        return Ok(ResourceRead::default());
    };
    let i = f.index;
    let mut values = FieldValues::default();
    for (field, m) in MEMBERS {
        values.set(field, text(f.entry, m, &path(KEY, i, m))?.as_deref());
    }
    Ok(ResourceRead {
        values,
        entry_id: text(f.entry, "addressId", &path(KEY, i, "addressId"))?,
        note: f.note(at.period),
    })
}

/// The body of `POST /api/employees/{employeeId}/address` (schema `CreateAddress`).
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CreateAddress {
    pub is_default: bool,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub street: String,
    pub house_number: Option<String>,
    pub house_number_addition: Option<String>,
    pub postal_code: Option<String>,
    pub city: String,
    /// Carried over from the home address in force; not sent when it has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_province: Option<Option<String>>,
    #[serde(rename = "countryISOCode")]
    pub country_iso_code: String,
    pub period: Period,
}

impl CreateAddress {
    /// A home address entry for `period` with the address fields of `values`; `current` is the
    /// entry in force, if any.
    ///
    /// Errors: street, city or country missing (the schema requires them), naming the field.
    pub fn new(
        values: &FieldValues,
        current: Option<&Value>,
        period: Period,
    ) -> Result<CreateAddress, ReadError> {
        let required = |f: Field| {
            values.get(f).map(str::to_owned).ok_or_else(|| {
                ReadError::bad(
                    f.name(),
                    "is empty; Nmbrs needs a street, city and country for an address",
                )
            })
        };
        let get = |f: Field| values.get(f).map(str::to_owned);
        Ok(CreateAddress {
            is_default: true,
            kind: HOME,
            street: required(Field::Street)?,
            house_number: get(Field::HouseNumber),
            house_number_addition: get(Field::HouseNumberAddition),
            postal_code: get(Field::PostalCode),
            city: required(Field::City)?,
            state_province: carried(current, "stateProvince", "address.stateProvince", |v| {
                v.as_str().map(str::to_owned)
            })?,
            country_iso_code: required(Field::CountryCodeIso)?,
            period,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use super::super::june_2024 as at;

    fn address(id: &str, kind: &str, street: &str, created: &str) -> Value {
        json!({"addressId": id, "isDefault": true, "type": kind, "street": street,
               "houseNumber": "70", "houseNumberAddition": null, "postalCode": "1043BZ",
               "city": "Amsterdam", "stateProvince": "Noord-Holland", "countryISOCode": "NL",
               "period": {"year": 2024, "period": 1}, "createdAt": created})
    }

    #[test]
    fn the_newest_home_address_in_force_is_read() {
        let entries = vec![
            address("a", "homeAddress", "Naritaweg", "2024-01-01T00:00:00Z"),
            address("b", "postAddress", "Postbus", "2024-03-01T00:00:00Z"),
            address("c", "homeAddress", "Kalverstraat", "2024-02-01T00:00:00Z"),
        ];
        let r = read(&entries, &at()).expect("read");
        assert_eq!(r.values.get(Field::Street), Some("Kalverstraat"));
        assert_eq!(r.values.get(Field::HouseNumberAddition), None);
        assert_eq!(r.entry_id.as_deref(), Some("c"));
        let only_post = vec![address(
            "b",
            "postAddress",
            "Postbus",
            "2024-03-01T00:00:00Z",
        )];
        assert_eq!(read(&only_post, &at()), Ok(ResourceRead::default()));
    }

    #[test]
    fn an_entry_needs_street_city_and_country() {
        let mut v = FieldValues::default();
        v.set(Field::Street, Some("Naritaweg"));
        v.set(Field::City, Some("Amsterdam"));
        assert!(CreateAddress::new(&v, None, at().period).is_err());
        v.set(Field::CountryCodeIso, Some("NL"));
        let current = address("a", "homeAddress", "Old", "2024-01-01T00:00:00Z");
        let body = CreateAddress::new(&v, Some(&current), at().period).expect("body");
        assert_eq!(body.state_province, Some(Some("Noord-Holland".to_owned())));
        assert_eq!(
            serde_json::to_value(&body).expect("json")["type"],
            "homeAddress"
        );
    }
}
