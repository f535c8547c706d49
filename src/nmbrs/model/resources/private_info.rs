//! The BSN. Read: `EmployeePrivateInfo` items (`{BSN, createdAt}`) of
//! `GET /api/companies/{companyId}/employees/privateInfos`, the newest entry. Written:
//! `PUT /api/employees/{employeeId}/socialsecuritynumber` (`UpdateSocialSecurityNumber`).
//! The value never reaches a log or an error message: paths are named, values are not.

use super::super::ReadError;
use super::super::history::{path, text};
use super::{ReadAt, ResourceRead};
use crate::fields::{Field, FieldValues};
use serde::Serialize;
use serde_json::Value;

const KEY: &str = "privateInfos";

/// The newest BSN entry (by `createdAt`).
///
/// Errors: the `BSN` member missing from the newest entry.
pub fn read(entries: &[Value], _at: &ReadAt) -> Result<ResourceRead, ReadError> {
    let newest = entries
        .iter()
        .enumerate()
        .max_by_key(|(_, e)| e.get("createdAt").and_then(Value::as_str).unwrap_or(""));
    let Some((i, e)) = newest else {
        return Ok(ResourceRead::default());
    };
    let mut values = FieldValues::default();
    values.set(Field::Bsn, text(e, "BSN", &path(KEY, i, "BSN"))?.as_deref());
    Ok(ResourceRead {
        values,
        entry_id: None,
        note: None,
    })
}

/// The body of `PUT /api/employees/{employeeId}/socialsecuritynumber`.
#[derive(Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UpdateSocialSecurityNumber {
    pub social_security_number: String,
}

impl std::fmt::Debug for UpdateSocialSecurityNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateSocialSecurityNumber")
            .field(
                "social_security_number",
                &Field::Bsn.shown(&self.social_security_number),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_newest_bsn_is_read_and_debug_output_masks_it() {
        let at = super::super::june_2024();
        let entries = vec![
            json!({"BSN": "111222333", "createdAt": "2021-01-01T09:29:18Z"}),
            json!({"BSN": "123456782", "createdAt": "2023-01-01T09:29:18Z"}),
        ];
        let r = read(&entries, &at).expect("read");
        assert_eq!(r.values.get(Field::Bsn), Some("123456782"));
        assert_eq!(read(&[], &at), Ok(ResourceRead::default()));
        let body = UpdateSocialSecurityNumber {
            social_security_number: "123456782".into(),
        };
        assert!(!format!("{body:?}").contains("12345"), "{body:?}");
    }
}
