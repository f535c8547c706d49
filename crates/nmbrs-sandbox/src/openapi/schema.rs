//! The OpenAPI 3.0.x Schema Object rules the contract checks use.
//!
//! Supported keywords: `$ref` (local JSON pointers, cycle-safe), `type`,
//! `nullable`, `enum`, `properties`, `required`, `additionalProperties`,
//! `items`, `allOf`, `oneOf`, `anyOf`, `minimum`/`maximum` (with the 3.0
//! boolean `exclusiveMinimum`/`exclusiveMaximum`), `minLength`/`maxLength`,
//! `minItems`/`maxItems`, `uniqueItems`, `pattern`, `readOnly`/`writeOnly`
//! and the formats `date`, `date-time`, `uuid`, `email`, `uri`, `int32`,
//! `int64`. Any other keyword or format is accepted without a check.
//!
//! Long because it is one validator: each OpenAPI 3.0 keyword is a small arm of one walk.

use std::collections::HashMap;

use regex::Regex;
use serde_json::{Map, Number, Value};
use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime};

use super::Violation;

/// At most this many violations are reported for one request or response;
/// one more entry then says that the rest were left out.
pub(super) const MAX_VIOLATIONS: usize = 50;

/// Which side of the exchange a value is on: `readOnly` properties must not
/// be sent in a request, `writeOnly` ones must not come back in a response.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Mode {
    Request,
    Response,
}

/// Collects violations up to [`MAX_VIOLATIONS`].
#[derive(Default)]
pub(super) struct Sink {
    out: Vec<Violation>,
    full: bool,
}

impl Sink {
    pub(super) fn push(&mut self, pointer: &str, message: impl Into<String>) {
        if self.out.len() < MAX_VIOLATIONS {
            self.out.push(Violation {
                pointer: pointer.to_owned(),
                message: message.into(),
            });
        } else if !self.full {
            self.full = true;
            self.out.push(Violation {
                pointer: String::new(),
                message: format!(
                    "further violations left out (the first {MAX_VIOLATIONS} are shown)"
                ),
            });
        }
    }

    pub(super) fn into_violations(self) -> Vec<Violation> {
        self.out
    }
}

/// Validates JSON values against schemas of one description document.
pub(super) struct Checker<'a> {
    pub(super) doc: &'a Value,
    pub(super) patterns: &'a HashMap<String, Regex>,
    pub(super) mode: Mode,
}

impl<'a> Checker<'a> {
    /// Checks `value` against `schema`, reporting each problem under
    /// `pointer` (the location of `value`) or a pointer below it.
    pub(super) fn check(&self, schema: &'a Value, value: &Value, pointer: &str, sink: &mut Sink) {
        self.walk(schema, value, pointer, &mut Vec::new(), sink);
    }

    /// `refs` holds the `$ref`s followed at this spot of the value: meeting
    /// one again means a cycle that consumes no data, so it adds nothing.
    fn walk(
        &self,
        schema: &'a Value,
        value: &Value,
        ptr: &str,
        refs: &mut Vec<&'a str>,
        sink: &mut Sink,
    ) {
        if sink.full {
            return;
        }
        let Some(s) = schema.as_object() else { return };
        let nullable = flag(s, "nullable");
        if let Some(target) = s.get("$ref").and_then(Value::as_str) {
            // OpenAPI 3.0 ignores siblings of `$ref`; the description puts
            // `nullable: true` beside one (CompanyFixedWageComponent.endPeriod)
            // and clearly means it, so that one sibling is honoured.
            if (value.is_null() && nullable) || refs.contains(&target) {
                return;
            }
            let Some(resolved) = resolve(self.doc, target) else {
                sink.push(
                    ptr,
                    format!("cannot be checked: the description refers to a missing {target}"),
                );
                return;
            };
            refs.push(target);
            self.walk(resolved, value, ptr, refs, sink);
            refs.pop();
            return;
        }
        if value.is_null() {
            if nullable {
                return;
            }
            if s.contains_key("type") || s.contains_key("enum") {
                sink.push(ptr, "must not be null");
                return;
            }
        }
        self.composition(s, value, ptr, refs, sink);
        if value.is_null() {
            return;
        }
        if let Some(expected) = s.get("type").and_then(Value::as_str)
            && !type_matches(expected, value)
        {
            sink.push(
                ptr,
                format!("must be {}, not {}", article(expected), describe(value)),
            );
            return;
        }
        if let Some(allowed) = s.get("enum").and_then(Value::as_array)
            && !allowed.contains(value)
        {
            let list: Vec<String> = allowed.iter().map(show).collect();
            sink.push(ptr, format!("must be one of {}", list.join(", ")));
        }
        match value {
            Value::Object(map) => self.object(s, map, ptr, sink),
            Value::Array(items) => self.array(s, items, ptr, sink),
            Value::String(text) => self.string(s, text, ptr, sink),
            Value::Number(n) => number(s, n, ptr, sink),
            Value::Bool(_) | Value::Null => {}
        }
    }

    fn composition(
        &self,
        s: &'a Map<String, Value>,
        value: &Value,
        ptr: &str,
        refs: &mut Vec<&'a str>,
        sink: &mut Sink,
    ) {
        for sub in list(s, "allOf") {
            self.walk(sub, value, ptr, refs, sink);
        }
        let any = list(s, "anyOf");
        if !any.is_empty() && !any.iter().any(|sub| self.passes(sub, value, ptr, refs)) {
            sink.push(
                ptr,
                format!(
                    "must match at least one of the {} shapes allowed here (anyOf)",
                    any.len()
                ),
            );
        }
        let one = list(s, "oneOf");
        if !one.is_empty() {
            let matched = one
                .iter()
                .filter(|sub| self.passes(sub, value, ptr, refs))
                .count();
            if matched != 1 {
                let msg = format!(
                    "must match exactly one of the {} shapes allowed here (oneOf); it matches {matched}",
                    one.len()
                );
                sink.push(ptr, msg);
            }
        }
    }

    fn passes(&self, schema: &'a Value, value: &Value, ptr: &str, refs: &mut Vec<&'a str>) -> bool {
        let mut trial = Sink::default();
        self.walk(schema, value, ptr, refs, &mut trial);
        trial.out.is_empty()
    }

    fn object(
        &self,
        s: &'a Map<String, Value>,
        map: &Map<String, Value>,
        ptr: &str,
        sink: &mut Sink,
    ) {
        let props = s.get("properties").and_then(Value::as_object);
        let prop = |name: &str| props.and_then(|p| p.get(name));
        for name in list(s, "required").iter().filter_map(Value::as_str) {
            let exempt = match self.mode {
                Mode::Request => "readOnly",
                Mode::Response => "writeOnly",
            };
            if !map.contains_key(name) && !prop(name).is_some_and(|p| self.marked(p, exempt)) {
                sink.push(&child(ptr, name), "is required");
            }
        }
        for (key, val) in map {
            let at = child(ptr, key);
            match prop(key) {
                Some(p) if self.mode == Mode::Request && self.marked(p, "readOnly") => {
                    sink.push(&at, "is read-only; must not be sent");
                }
                Some(p) if self.mode == Mode::Response && self.marked(p, "writeOnly") => {
                    sink.push(&at, "is write-only; must not be returned");
                }
                Some(p) => self.walk(p, val, &at, &mut Vec::new(), sink),
                None => match s.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        sink.push(&at, "is not allowed here (additionalProperties: false)");
                    }
                    Some(extra @ Value::Object(_)) => {
                        self.walk(extra, val, &at, &mut Vec::new(), sink)
                    }
                    _ => {}
                },
            }
        }
    }

    /// Whether a property schema (or what its `$ref` chain points at) sets
    /// the boolean keyword `name`.
    fn marked(&self, mut schema: &'a Value, name: &str) -> bool {
        for _ in 0..16 {
            let Some(s) = schema.as_object() else {
                return false;
            };
            if flag(s, name) {
                return true;
            }
            match s
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| resolve(self.doc, r))
            {
                Some(next) => schema = next,
                None => return false,
            }
        }
        false
    }

    fn array(&self, s: &'a Map<String, Value>, items: &[Value], ptr: &str, sink: &mut Sink) {
        if let Some(min) = s.get("minItems").and_then(Value::as_u64)
            && (items.len() as u64) < min
        {
            sink.push(ptr, format!("must have at least {min} item(s)"));
        }
        if let Some(max) = s.get("maxItems").and_then(Value::as_u64)
            && (items.len() as u64) > max
        {
            sink.push(ptr, format!("must have at most {max} item(s)"));
        }
        if flag(s, "uniqueItems")
            && items
                .iter()
                .enumerate()
                .any(|(i, a)| items[..i].contains(a))
        {
            sink.push(ptr, "must not contain the same item twice (uniqueItems)");
        }
        if let Some(item_schema) = s.get("items") {
            for (i, item) in items.iter().enumerate() {
                self.walk(
                    item_schema,
                    item,
                    &format!("{ptr}/{i}"),
                    &mut Vec::new(),
                    sink,
                );
            }
        }
    }

    fn string(&self, s: &Map<String, Value>, text: &str, ptr: &str, sink: &mut Sink) {
        let chars = text.chars().count() as u64;
        if let Some(min) = s.get("minLength").and_then(Value::as_u64)
            && chars < min
        {
            sink.push(ptr, format!("must be at least {min} character(s) long"));
        }
        if let Some(max) = s.get("maxLength").and_then(Value::as_u64)
            && chars > max
        {
            sink.push(ptr, format!("must be at most {max} character(s) long"));
        }
        if let Some(pattern) = s.get("pattern").and_then(Value::as_str)
            && let Some(re) = self.patterns.get(pattern)
            && !re.is_match(text)
        {
            sink.push(ptr, format!("must match the pattern {pattern}"));
        }
        if let Some(problem) = s
            .get("format")
            .and_then(Value::as_str)
            .and_then(|f| format_problem(f, text))
        {
            sink.push(ptr, problem);
        }
    }
}

fn number(s: &Map<String, Value>, n: &Number, ptr: &str, sink: &mut Sink) {
    let x = n.as_f64().unwrap_or(f64::NAN);
    if let Some(min) = s.get("minimum").and_then(Value::as_f64) {
        if flag(s, "exclusiveMinimum") && x <= min {
            sink.push(ptr, format!("must be greater than {min}"));
        } else if x < min {
            sink.push(ptr, format!("must be at least {min}"));
        }
    }
    if let Some(max) = s.get("maximum").and_then(Value::as_f64) {
        if flag(s, "exclusiveMaximum") && x >= max {
            sink.push(ptr, format!("must be less than {max}"));
        } else if x > max {
            sink.push(ptr, format!("must be at most {max}"));
        }
    }
    let fits = match s.get("format").and_then(Value::as_str) {
        Some("int32") => is_integer(n) && x >= f64::from(i32::MIN) && x <= f64::from(i32::MAX),
        Some("int64") => {
            n.is_i64()
                || (n.is_f64() && is_integer(n) && x >= i64::MIN as f64 && x < i64::MAX as f64)
        }
        _ => true,
    };
    if !fits {
        sink.push(
            ptr,
            "does not fit its integer format (int32: ±2^31, int64: ±2^63)",
        );
    }
}

/// The object a local `$ref` (`#/components/...`) points at.
pub(super) fn resolve<'d>(doc: &'d Value, reference: &str) -> Option<&'d Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

/// The JSON pointer of member `key` of the value at `ptr` (RFC 6901 escaping).
pub(super) fn child(ptr: &str, key: &str) -> String {
    format!("{ptr}/{}", key.replace('~', "~0").replace('/', "~1"))
}

fn flag(s: &Map<String, Value>, name: &str) -> bool {
    s.get(name) == Some(&Value::Bool(true))
}

fn list<'s>(s: &'s Map<String, Value>, name: &str) -> &'s [Value] {
    s.get(name)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn is_integer(n: &Number) -> bool {
    n.is_i64()
        || n.is_u64()
        || n.as_f64()
            .is_some_and(|f| f.is_finite() && f.fract() == 0.0)
}

fn type_matches(expected: &str, value: &Value) -> bool {
    match expected {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "number" => value.is_number(),
        "integer" => value.as_number().is_some_and(is_integer),
        _ => true,
    }
}

fn article(type_name: &str) -> String {
    match type_name {
        "object" | "array" | "integer" => format!("an {type_name}"),
        _ => format!("a {type_name}"),
    }
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if is_integer(n) => "an integer",
        Value::Number(_) => "a fractional number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// An enum member as a client developer would type it (strings unquoted).
fn show(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Why `text` is not of the string `format`, or `None` if it is (or the
/// format has no check here).
pub(super) fn format_problem(format: &str, text: &str) -> Option<&'static str> {
    let ok = match format {
        "date" => is_date(text),
        // `time` also takes the space separator RFC 3339 merely permits;
        // the `date-time` production (and .NET's JSON reader) want a `T`.
        "date-time" => {
            matches!(text.as_bytes().get(10), Some(b'T' | b't'))
                && OffsetDateTime::parse(text, &Rfc3339).is_ok()
        }
        "uuid" => text.len() == 36 && uuid::Uuid::try_parse(text).is_ok(),
        "email" => is_email(text),
        "uri" => reqwest::Url::parse(text).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
        }),
        _ => return None,
    };
    if ok {
        return None;
    }
    Some(match format {
        "date" => "must be a date (YYYY-MM-DD, a real calendar day)",
        "date-time" => "must be a date-time (RFC 3339 with an offset, e.g. 2026-11-01T00:00:00Z)",
        "uuid" => "must be a UUID (8-4-4-4-12 hexadecimal digits)",
        "email" => "must be an e-mail address (local@domain.tld)",
        _ => "must be an absolute http(s) URI",
    })
}

/// `YYYY-MM-DD` naming a day that exists.
fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10
        || b[4] != b'-'
        || b[7] != b'-'
        || !digits(0..4)
        || !digits(5..7)
        || !digits(8..10)
    {
        return false;
    }
    let field = |r: std::ops::Range<usize>| text[r].parse::<u16>().unwrap_or(0);
    let Ok(month) = Month::try_from(field(5..7) as u8) else {
        return false;
    };
    Date::from_calendar_date(i32::from(field(0..4)), month, field(8..10) as u8).is_ok()
}

/// One `@`, a non-empty local part, a dotted domain, no spaces.
fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !text.chars().any(char::is_whitespace)
        && domain.contains('.')
        && domain.split('.').all(|label| !label.is_empty())
}
