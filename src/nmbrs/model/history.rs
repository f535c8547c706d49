//! The shape every company history listing shares (`GET /api/companies/{companyId}/employees/<listing>`:
//! items `{"employeeId", <history key>: [entries]}`), and reading single members of an entry with
//! "unknown is not empty": a member missing where the description puts it is a [`ReadError`] naming
//! its path, `null` is an empty value.

use super::ReadError;
use super::dates::calendar_date;
use crate::fields::Resource;
use serde::Deserialize;
use serde_json::{Map, Value};

/// One employee's history of one resource, from one listing item.
#[derive(Clone, Debug, PartialEq)]
pub struct History {
    pub employee_id: String,
    /// The entries; `None` when the history key is missing (a read error for the employee).
    pub entries: Option<Vec<Value>>,
}

/// A listing item as sent: the employee id and the other members, of which one is the history.
#[derive(Debug, Deserialize)]
pub struct ListingItem {
    #[serde(rename = "employeeId")]
    pub employee_id: String,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl ListingItem {
    /// The history of `resource` in this item (`null` is an empty history).
    pub fn into_history(mut self, resource: Resource) -> History {
        let entries = match self.rest.remove(resource.history_key()) {
            None => None,
            Some(Value::Null) => Some(Vec::new()),
            Some(Value::Array(a)) => Some(a),
            Some(_) => None,
        };
        History {
            employee_id: self.employee_id,
            entries,
        }
    }
}

/// `<key>[i].<member>`, the path of a member for messages.
pub(crate) fn path(key: &str, i: usize, member: &str) -> String {
    format!("{key}[{i}].{member}")
}

/// The member `name` of `entry`, which must be present (`null` allowed).
pub(crate) fn member<'v>(entry: &'v Value, name: &str, at: &str) -> Result<&'v Value, ReadError> {
    match entry {
        Value::Object(m) => m.get(name).ok_or_else(|| ReadError::missing(at)),
        _ => Err(ReadError::bad(at, "is not inside an object")),
    }
}

/// A text (or number, as text) member; `null` → `None`.
pub(crate) fn text(entry: &Value, name: &str, at: &str) -> Result<Option<String>, ReadError> {
    match member(entry, name, at)? {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        _ => Err(ReadError::bad(at, "is not a text or number")),
    }
}

/// A date or date-time member as its calendar date `YYYY-MM-DD` (docs/nmbrs-api.md, dates).
pub(crate) fn date(entry: &Value, name: &str, at: &str) -> Result<Option<String>, ReadError> {
    text(entry, name, at)?
        .map(|s| calendar_date(&s).map_err(|e| ReadError::bad(at, e)))
        .transpose()
}

/// A number member in canonical text: `32`, `32.5` (never `32.0`).
pub(crate) fn decimal(entry: &Value, name: &str, at: &str) -> Result<Option<String>, ReadError> {
    match member(entry, name, at)? {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_f64()
            .map(|f| Some(canonical_decimal(f)))
            .ok_or_else(|| ReadError::bad(at, "is not a number")),
        _ => Err(ReadError::bad(at, "is not a number")),
    }
}

/// `f` as the shortest decimal text, without a trailing `.0`.
pub fn canonical_decimal(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn listing_items_give_their_history_and_missing_is_unknown() {
        let item: ListingItem =
            serde_json::from_value(json!({"employeeId": "e1", "contracts": [{"contractId": "c"}]}))
                .expect("item");
        let h = item.into_history(Resource::Contract);
        assert_eq!(h.employee_id, "e1");
        assert_eq!(h.entries.map(|e| e.len()), Some(1));
        let item: ListingItem = serde_json::from_value(json!({"employeeId": "e1"})).expect("item");
        assert_eq!(item.into_history(Resource::Contract).entries, None);
        let item: ListingItem =
            serde_json::from_value(json!({"employeeId": "e1", "addresses": null})).expect("item");
        assert_eq!(
            item.into_history(Resource::Address).entries,
            Some(Vec::new())
        );
    }

    #[test]
    fn members_are_read_strictly() {
        let e = json!({"a": null, "n": 32.0, "h": 32.5, "d": "2021-01-01T00:00:00Z"});
        assert_eq!(text(&e, "a", "x.a"), Ok(None));
        assert!(text(&e, "missing", "x.missing").is_err());
        assert_eq!(decimal(&e, "n", "x.n"), Ok(Some("32".into())));
        assert_eq!(decimal(&e, "h", "x.h"), Ok(Some("32.5".into())));
        assert_eq!(date(&e, "d", "x.d"), Ok(Some("2021-01-01".into())));
    }
}
