//! Nmbrs JSON shapes as this client reads and writes them (`docs/nmbrs-api.md`), and the one place that maps
//! a personal-info object to [`FieldValues`] and back. Shapes marked *assumed* in `docs/nmbrs-api.md` are
//! handled here and nowhere else.
//!
//! Personal info is kept as [`serde_json::Value`] on the way from GET to PUT so that fields this
//! service does not map survive untouched (docs/SPEC.md rule 4).

use crate::fields::{Field, FieldValues};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The page envelope of every list endpoint: `{"pagination": {...}, "data": [...]}`.
#[derive(Debug, Deserialize)]
pub struct Page<T> {
    #[serde(default)]
    pub pagination: Pagination,
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
}

/// `pagination` of a [`Page`]. Every member is optional on reading: only `totalPages` (or an empty
/// `nextPage`) is needed to know whether another page follows.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Pagination {
    pub page_number: Option<u32>,
    pub page_size: Option<u32>,
    pub total_pages: Option<u32>,
    pub total_records: Option<u64>,
    /// Next page number as text, `""` on the last page (some servers send a number or null).
    pub next_page: Option<Value>,
}

impl Pagination {
    /// Whether a page after `current` (1-based) exists. Errs toward reading on: a missed page would
    /// hide existing employees and could lead to a duplicate create.
    pub fn has_next(&self, current: u32, items_on_page: usize) -> bool {
        if items_on_page == 0 {
            return false;
        }
        let next_named = match &self.next_page {
            Some(Value::String(s)) => !s.trim().is_empty(),
            Some(Value::Number(_)) => true,
            _ => false,
        };
        next_named || self.total_pages.is_some_and(|total| current < total)
    }
}

/// A company from `GET /companies`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Company {
    pub company_id: String,
    /// The company `number` (the HRIS `company_number`); some servers send it as a JSON number.
    #[serde(deserialize_with = "string_or_number")]
    pub number: String,
    #[serde(default)]
    pub name: Option<String>,
}

fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s.trim().to_owned()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "expected a string or number, got {other}"
        ))),
    }
}

/// An item of `GET /companies/{companyId}/employees/personalinfo` or of `GET /employees/{employeeId}`:
/// `{"employeeId", "personalInfo": {...}}`. `personalInfo` may also arrive as a list of
/// period records (*assumed* alternative) or spelled `PersonalInfo`.
#[derive(Clone, Debug, Deserialize)]
pub struct EmployeeItem {
    #[serde(rename = "employeeId")]
    pub employee_id: String,
    #[serde(
        rename = "personalInfo",
        alias = "PersonalInfo",
        alias = "personalInfos",
        default
    )]
    pub personal_info: Value,
    #[serde(rename = "employeeNumber", default)]
    pub employee_number: Option<Value>,
}

impl EmployeeItem {
    /// The personal-info record in force: the object itself, or from a list the one with the latest
    /// period (then the latest `createdAt`).
    pub fn current_personal_info(&self) -> Option<&Value> {
        match &self.personal_info {
            Value::Object(_) => Some(&self.personal_info),
            Value::Array(items) => items.iter().filter(|v| v.is_object()).max_by_key(|v| {
                let year = v
                    .pointer("/period/year")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                let period = v
                    .pointer("/period/period")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                let created = v
                    .get("createdAt")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                (year, period, created)
            }),
            _ => None,
        }
    }

    /// Normalised field values of the current personal info; an item-level `employeeNumber`
    /// fills in when `basicInfo` lacks one.
    pub fn values(&self) -> FieldValues {
        let mut values = self
            .current_personal_info()
            .map(values_from_personal_info)
            .unwrap_or_default();
        if values.get(Field::EmployeeNumber).is_none()
            && let Some(n) = self.employee_number.as_ref().and_then(employee_number_text)
        {
            values.set(Field::EmployeeNumber, Some(&n));
        }
        values
    }

    /// `personalInfoId` of the current personal info.
    pub fn personal_info_id(&self) -> Option<String> {
        self.current_personal_info()?
            .get("personalInfoId")?
            .as_str()
            .map(str::to_owned)
    }
}

/// `{"employeeId": uuid}` answer of the create call.
#[derive(Debug, Deserialize)]
pub struct Created {
    #[serde(rename = "employeeId")]
    pub employee_id: String,
}

/// `{"personalInfoId": uuid}` answer of the PUT.
#[derive(Debug, Deserialize)]
pub struct PersonalInfoUpdated {
    #[serde(rename = "personalInfoId", default)]
    pub personal_info_id: Option<String>,
}

/// `{"errors": [{"field", "message"}]}` of a 400 (*assumed shape*).
#[derive(Debug, Deserialize)]
pub struct ValidationErrors {
    pub errors: Vec<FieldErrorBody>,
}

/// One entry of [`ValidationErrors`].
#[derive(Debug, Deserialize)]
pub struct FieldErrorBody {
    #[serde(default)]
    pub field: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

fn employee_number_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => n.as_i64().map(|i| i.to_string()),
        Value::String(s) => s.trim().parse::<i64>().ok().map(|i| i.to_string()),
        _ => None,
    }
}

/// Reads the mapped fields out of a personal-info object. Dates are cut to `YYYY-MM-DD`
/// (a server may add a time part); employee numbers become canonical integer text.
pub fn values_from_personal_info(pi: &Value) -> FieldValues {
    let mut values = FieldValues::default();
    for f in Field::ALL {
        let (section, key) = f.nmbrs_path();
        let Some(v) = pi.get(section).and_then(|s| s.get(key)) else {
            continue;
        };
        let text = match (f, v) {
            (Field::EmployeeNumber, v) => employee_number_text(v),
            (Field::BirthDate, Value::String(s)) => Some(
                s.get(..10)
                    .filter(|d| d.len() == 10)
                    .unwrap_or(s)
                    .to_owned(),
            ),
            (_, Value::String(s)) => Some(s.clone()),
            (_, Value::Number(n)) => Some(n.to_string()),
            (_, Value::Bool(b)) => Some(b.to_string()),
            _ => None,
        };
        values.set(f, text.as_deref());
    }
    values
}

/// JSON for one field's value: employee numbers are integers, the rest strings; no value is `null`.
fn field_json(f: Field, value: Option<&str>) -> Value {
    match (f, value) {
        (_, None) => Value::Null,
        (Field::EmployeeNumber, Some(v)) => v
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::from(v)),
        (_, Some(v)) => Value::from(v),
    }
}

/// Sets one field inside a personal-info object, creating the section if needed.
pub fn set_field(pi: &mut Value, f: Field, value: Option<&str>) {
    let (section, key) = f.nmbrs_path();
    if !pi.is_object() {
        *pi = Value::Object(Map::new());
    }
    if let Some(obj) = pi.as_object_mut() {
        let sec = obj
            .entry(section)
            .or_insert_with(|| Value::Object(Map::new()));
        if !sec.is_object() {
            *sec = Value::Object(Map::new());
        }
        if let Some(sec) = sec.as_object_mut() {
            sec.insert(key.to_owned(), field_json(f, value));
        }
    }
}

/// A payroll period: `{"year": 2021, "period": 4}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub year: i32,
    pub period: u8,
}

impl Period {
    fn json(self) -> Value {
        serde_json::json!({"year": self.year, "period": self.period})
    }
}

/// Body of `POST /companies/{companyId}/employees`:
/// `{"PersonalInfo": {basicInfo, birthInfo, contactInfo, period, createdAt}}`. Only fields the
/// create body carries are included (no `partnerInfo`); `synced` limits it to mapped fields.
pub fn create_body(
    values: &FieldValues,
    synced: &[Field],
    period: Period,
    created_at: &str,
) -> Value {
    let mut pi = serde_json::json!({
        "basicInfo": {}, "birthInfo": {}, "contactInfo": {},
        "period": period.json(), "createdAt": created_at,
    });
    for &f in synced.iter().filter(|f| f.in_create_body()) {
        set_field(&mut pi, f, values.get(f));
    }
    serde_json::json!({ "PersonalInfo": pi })
}

/// Body of `PUT /employees/{employeeId}/personalInfo`: the current object's sections as read by the
/// GET just before (unmapped members kept), the `changes` applied, and `period` set.
pub fn put_body(current: &Value, changes: &[(Field, Option<&str>)], period: Period) -> Value {
    let mut body = Map::new();
    for section in ["basicInfo", "birthInfo", "contactInfo", "partnerInfo"] {
        let sec = current
            .get(section)
            .filter(|v| v.is_object())
            .cloned()
            .unwrap_or_else(|| Value::Object(Map::new()));
        body.insert(section.to_owned(), sec);
    }
    body.insert("period".to_owned(), period.json());
    let mut body = Value::Object(body);
    for &(f, v) in changes {
        set_field(&mut body, f, v);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lisa() -> Value {
        json!({
            "personalInfoId": "pi-1",
            "basicInfo": {"employeeNumber": 98072, "firstName": "Lisa", "firstNameInFull": "Elisabeth",
                          "lastName": "Hanison", "employeeType": "applicant", "initials": "E."},
            "birthInfo": {"birthDate": "1990-02-01T00:00:00", "birthCountryCodeISO": "NL", "nationalityCodeISO": "NL", "gender": "female"},
            "contactInfo": {"privateEmail": "lisa@example.com", "businessEmail": null},
            "period": {"year": 2021, "period": 4},
        })
    }

    #[test]
    fn reads_values_with_normalisation() {
        let v = values_from_personal_info(&lisa());
        assert_eq!(v.get(Field::EmployeeNumber), Some("98072"));
        assert_eq!(v.get(Field::BirthDate), Some("1990-02-01"));
        assert_eq!(v.get(Field::FirstNameInFull), Some("Elisabeth"));
        assert_eq!(v.get(Field::BusinessEmail), None);
        assert_eq!(v.get(Field::PartnerName), None);
    }

    #[test]
    fn put_body_keeps_unmapped_members_and_changes_only_given_fields() {
        let body = put_body(
            &lisa(),
            &[
                (Field::LastName, Some("Petterson")),
                (Field::PartnerName, Some("Rick Petterson")),
            ],
            Period {
                year: 2026,
                period: 11,
            },
        );
        assert_eq!(body["basicInfo"]["lastName"], "Petterson");
        assert_eq!(body["basicInfo"]["initials"], "E.", "unmapped field kept");
        assert_eq!(body["basicInfo"]["employeeNumber"], 98072);
        assert_eq!(body["partnerInfo"]["partnerName"], "Rick Petterson");
        assert_eq!(body["period"], json!({"year": 2026, "period": 11}));
        assert!(
            body.get("personalInfoId").is_none(),
            "read-only id not echoed"
        );
    }

    #[test]
    fn create_body_uses_guide_shape_without_partner_info() {
        let mut v = values_from_personal_info(&lisa());
        v.set(Field::PartnerName, Some("Rick"));
        let body = create_body(
            &v,
            &Field::ALL,
            Period {
                year: 2021,
                period: 4,
            },
            "2021-04-01T00:00:00Z",
        );
        let pi = &body["PersonalInfo"];
        assert_eq!(pi["basicInfo"]["employeeNumber"], 98072);
        assert_eq!(pi["birthInfo"]["birthCountryCodeISO"], "NL");
        assert!(pi.get("partnerInfo").is_none());
        assert_eq!(pi["period"]["period"], 4);
    }

    #[test]
    fn list_shaped_personal_info_picks_latest_period() {
        let item: EmployeeItem = serde_json::from_value(json!({
            "employeeId": "e1",
            "PersonalInfo": [
                {"personalInfoId": "old", "basicInfo": {"lastName": "Hanison"}, "period": {"year": 2021, "period": 4}},
                {"personalInfoId": "new", "basicInfo": {"lastName": "Petterson"}, "period": {"year": 2022, "period": 1}}
            ],
            "employeeNumber": "98072"
        }))
        .expect("parses");
        assert_eq!(item.personal_info_id().as_deref(), Some("new"));
        assert_eq!(item.values().get(Field::LastName), Some("Petterson"));
        assert_eq!(item.values().get(Field::EmployeeNumber), Some("98072"));
    }

    #[test]
    fn pagination_end_detection() {
        let p: Pagination =
            serde_json::from_value(json!({"pageNumber": 2, "totalPages": 3, "nextPage": "3"}))
                .expect("p");
        assert!(p.has_next(2, 10));
        let p: Pagination =
            serde_json::from_value(json!({"pageNumber": 3, "totalPages": 3, "nextPage": ""}))
                .expect("p");
        assert!(!p.has_next(3, 10));
        let p: Pagination = serde_json::from_value(json!({"nextPage": ""})).expect("p");
        assert!(!p.has_next(1, 10));
        let p: Pagination = serde_json::from_value(json!({"nextPage": 2})).expect("p");
        assert!(p.has_next(1, 10));
        let p = Pagination::default();
        assert!(!p.has_next(1, 10), "no information: stop rather than loop");
        let p: Pagination = serde_json::from_value(json!({"totalPages": 5})).expect("p");
        assert!(!p.has_next(1, 0), "an empty page ends the walk");
    }
}
