//! Reference values: job title, department and manager name one of the debtor's objects in Nmbrs
//! (functions, departments, managers), which the API cannot create. An HRIS value is matched to an
//! object by the config's explicit mapping (`sync.value_map.<field>`), then by code, name
//! (case- and space-insensitive) or, for managers, e-mail address; the record then carries the
//! object's name, so both sides compare alike. An unknown value rejects that field only, naming the
//! value and the closest known ones. Pure: the lists are read once per cycle per debtor elsewhere.

use crate::fields::{Field, reference_key};
use crate::record::{FieldProblem, HrisRow};
use std::collections::{BTreeMap, HashMap};

/// One debtor object a reference field can name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefObject {
    /// `functionId`, `departmentId` or `managerId`.
    pub id: String,
    pub code: Option<String>,
    /// The description, or the manager's "first last": the value both sides compare on.
    pub name: String,
    pub email: Option<String>,
}

/// The objects of one debtor per reference field, and the explicit mapping from config.
#[derive(Clone, Debug, Default)]
pub struct References {
    objects: HashMap<Field, Vec<RefObject>>,
    /// field → (comparable HRIS value → code or name of the object).
    value_map: HashMap<Field, HashMap<String, String>>,
}

impl References {
    /// No objects yet; `value_map` is `sync.value_map` (field → HRIS value → Nmbrs code or name).
    pub fn new(value_map: &BTreeMap<Field, BTreeMap<String, String>>) -> References {
        References {
            objects: HashMap::new(),
            value_map: value_map
                .iter()
                .map(|(f, m)| {
                    (
                        *f,
                        m.iter()
                            .map(|(k, v)| (reference_key(k, false), v.clone()))
                            .collect(),
                    )
                })
                .collect(),
        }
    }

    /// Sets the objects of `field` (as read from the debtor).
    pub fn set(&mut self, field: Field, objects: Vec<RefObject>) {
        self.objects.insert(field, objects);
    }

    /// Whether the objects of `field` were read.
    pub fn has(&self, field: Field) -> bool {
        self.objects.contains_key(&field)
    }

    /// The object an HRIS value names.
    ///
    /// Errors: a message naming the value and up to three closest known names; or that the
    /// objects of this field could not be read.
    pub fn resolve(&self, field: Field, value: &str) -> Result<&RefObject, String> {
        let Some(objects) = self.objects.get(&field) else {
            return Err(format!(
                "the debtor's {field} list could not be read this cycle; not synced until it can"
            ));
        };
        let key = reference_key(value, false);
        let target = self
            .value_map
            .get(&field)
            .and_then(|m| m.get(&key))
            .map(|t| reference_key(t, false));
        let wanted = target.as_deref().unwrap_or(&key);
        let found = objects
            .iter()
            .find(|o| o.code.as_deref() == Some(wanted))
            .or_else(|| {
                objects
                    .iter()
                    .find(|o| reference_key(&o.name, false) == wanted)
            })
            .or_else(|| {
                objects.iter().find(|o| {
                    o.email
                        .as_deref()
                        .is_some_and(|e| e.to_lowercase() == wanted)
                })
            });
        found.ok_or_else(|| {
            let mut near: Vec<(f64, &str)> = objects
                .iter()
                .map(|o| {
                    let score =
                        strsim::normalized_levenshtein(&reference_key(&o.name, false), wanted);
                    (score, o.name.as_str())
                })
                .collect();
            near.sort_by(|a, b| b.0.total_cmp(&a.0));
            let names: Vec<&str> = near.iter().take(3).map(|n| n.1).collect();
            format!(
                "`{}` is not a {field} of this debtor in Nmbrs ({}); the API cannot create one: add it in Nmbrs, fix the HRIS value or map it in sync.value_map.{field}",
                crate::record::printable(value),
                if names.is_empty() {
                    "the debtor has none".to_owned()
                } else {
                    format!("closest: {}", names.join(", "))
                }
            )
        })
    }
}

/// Gives every valid row's reference values the name of the object they name (so both sides
/// compare alike), and lists a field problem for each value that names none; those fields are left
/// out of the record's merge this cycle ([`crate::record::HrisRecord::unresolved`]).
pub fn resolve_rows(rows: &mut [HrisRow], fields: &[Field], refs: &References) {
    let reference_fields: Vec<Field> = fields
        .iter()
        .copied()
        .filter(|f| f.resource().is_reference())
        .collect();
    if reference_fields.is_empty() {
        return;
    }
    for rec in rows.iter_mut().flatten() {
        for &f in &reference_fields {
            let Some(v) = rec.values.get(f) else { continue };
            match refs.resolve(f, v) {
                Ok(o) => {
                    let name = o.name.clone();
                    rec.values.set(f, Some(&name));
                }
                Err(message) => rec.unresolved.push(FieldProblem {
                    field: f.name().to_owned(),
                    message,
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs() -> References {
        let mut map = BTreeMap::new();
        map.insert(
            Field::JobTitle,
            BTreeMap::from([("PS".to_owned(), "Payroll Specialist".to_owned())]),
        );
        let mut r = References::new(&map);
        let obj = |id: &str, code: &str, name: &str, email: Option<&str>| RefObject {
            id: id.into(),
            code: Some(code.into()),
            name: name.into(),
            email: email.map(str::to_owned),
        };
        r.set(
            Field::JobTitle,
            vec![
                obj("f1", "1", "Payroll Specialist", None),
                obj("f2", "2", "Sales Lead", None),
            ],
        );
        r.set(
            Field::Manager,
            vec![obj(
                "m1",
                "7",
                "Mila de Boer",
                Some("Mila.deBoer@example.nl"),
            )],
        );
        r
    }

    #[test]
    fn values_name_objects_by_mapping_code_name_or_email() {
        let r = refs();
        for v in ["Payroll Specialist", "payroll  specialist", "1", "PS", "ps"] {
            assert_eq!(
                r.resolve(Field::JobTitle, v).map(|o| o.id.as_str()),
                Ok("f1"),
                "{v}"
            );
        }
        assert_eq!(
            r.resolve(Field::Manager, "mila.deboer@example.nl")
                .map(|o| o.id.as_str()),
            Ok("m1")
        );
        let err = r
            .resolve(Field::JobTitle, "Payrol Specialist")
            .expect_err("unknown");
        assert!(err.contains("closest: Payroll Specialist"), "{err}");
        assert!(err.contains("cannot create"), "{err}");
        assert!(
            r.resolve(Field::Department, "Sales").is_err(),
            "list not read"
        );
    }
}
