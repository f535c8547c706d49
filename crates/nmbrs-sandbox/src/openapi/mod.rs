//! Contract checks against the vendor's OpenAPI 3.0.1 description of the
//! Nmbrs REST API, vendored at `docs/nmbrs-openapi.yaml` and embedded in the
//! binary: do a request's path, query and JSON body, and a response's status
//! and JSON body, match what the description says?
//!
//! ```ignore
//! let op = openapi::contract().operation("POST", "/api/companies/5b6a…/employees")?;
//! let problems = op.validate_request(&query_pairs, Some(&body)); // empty = accepted
//! let problems = op.validate_response(201, &answer);             // empty = conforms
//! ```
//!
//! Choices where the description leaves room (each kept in one place):
//! - A request body is required only where `requestBody.required: true`
//!   (three absence operations); creating an employee does not mark it.
//! - `readOnly` properties sent in a request are violations, even though a
//!   lenient server might ignore them; `required` does not apply to them in
//!   requests (nor to `writeOnly` ones in responses).
//! - Query parameters the operation does not declare are ignored, as ASP.NET
//!   does, except a name that differs from a declared one only by letter
//!   case (`pagesize`): that is reported, since the description is
//!   case-sensitive and a client relying on the server's leniency would not
//!   notice a typo.
//! - Query pairs are expected decoded; path segments are matched and checked
//!   as received (ids need no percent-decoding).
//! - A response status without `application/json` content (a 204, the
//!   octet-stream download) conforms only with `Value::Null` as its body.
//! - `nullable: true` beside a `$ref` is honoured (see [`schema`]).
//!
//! The YAML is read with `yaml_serde`, the serde_yaml fork maintained by the
//! YAML organisation (serde_yaml itself is archived; `serde_yaml_ng` still
//! builds on the archived `unsafe-libyaml`; `serde_norway` was last released
//! in December 2024). Being a serde format it yields a `serde_json::Value`
//! directly, with YAML 1.2 scalars (an unquoted `2026-01-01` stays a string,
//! `200:` keys become `"200"`), so no conversion code of ours sits between
//! the file and the checks.
//!
//! Long because it holds the whole operation model (paths, parameters, bodies, responses) in one place.

#![cfg_attr(not(test), allow(dead_code))] // until the sandbox routes call it

mod schema;

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value;

use schema::{Checker, Mode, Sink, resolve};

/// The vendored description (see `docs/` for its provenance).
const SOURCE: &str = include_str!("../../../../docs/nmbrs-openapi.yaml");

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

/// One way a request or response departs from the description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Where: a JSON pointer into the body (`/PersonalInfo/basicInfo/lastName`,
    /// `""` for the body as a whole), `query:NAME`, `path:NAME`, or `status`.
    pub pointer: String,
    /// What is wrong, for a client developer ("is required", "must be one of …").
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pointer.is_empty() {
            "(body)"
        } else {
            &self.pointer
        };
        write!(f, "{at}: {}", self.message)
    }
}

/// The parsed description with its paths indexed for matching.
pub struct Contract {
    doc: Value,
    paths: Vec<Template>,
    /// Every `pattern` in the description, compiled once.
    patterns: HashMap<String, Regex>,
}

/// A path template of the description, split at `/`.
struct Template {
    text: String,
    /// `Some(literal)` or `None` for a `{param}` segment.
    segments: Vec<Option<String>>,
}

/// The description embedded in this binary, parsed on first use (then shared
/// for the life of the process).
///
/// # Panics
/// If the embedded `docs/nmbrs-openapi.yaml` is not YAML, has no `paths`
/// object or holds a `pattern` that is not a valid regex: a build defect that
/// the tests in this module catch.
pub fn contract() -> &'static Contract {
    static CONTRACT: OnceLock<Contract> = OnceLock::new();
    CONTRACT.get_or_init(|| match Contract::parse(SOURCE) {
        Ok(contract) => contract,
        Err(e) => panic!("docs/nmbrs-openapi.yaml (embedded) is unusable: {e}"),
    })
}

impl Contract {
    fn parse(source: &str) -> Result<Contract, String> {
        let doc: Value = yaml_serde::from_str(source).map_err(|e| e.to_string())?;
        let paths = doc
            .get("paths")
            .and_then(Value::as_object)
            .ok_or("no `paths` object")?
            .keys()
            .map(|text| Template {
                text: text.clone(),
                segments: text
                    .split('/')
                    .map(|seg| {
                        (!(seg.starts_with('{') && seg.ends_with('}'))).then(|| seg.to_owned())
                    })
                    .collect(),
            })
            .collect();
        let mut patterns = HashMap::new();
        collect_patterns(&doc, &mut patterns)?;
        Ok(Contract {
            doc,
            paths,
            patterns,
        })
    }

    /// The operation `method` (any case) on the concrete `path` (with the
    /// `/api` prefix, without the query string), or `None` if the description
    /// has none. Segments match case-sensitively; where several templates
    /// match, the one with a literal segment where the others have a
    /// `{param}` wins, first difference from the left (as ASP.NET routes).
    /// Path parameter values are checked by [`Operation::validate_request`].
    pub(crate) fn operation(&self, method: &str, path: &str) -> Option<Operation<'_>> {
        let method = method.to_ascii_lowercase();
        if !METHODS.contains(&method.as_str()) {
            return None;
        }
        let actual: Vec<&str> = path.split('/').collect();
        let mut best: Option<(&Template, &Value)> = None;
        for t in &self.paths {
            let fits = t.segments.len() == actual.len()
                && t.segments
                    .iter()
                    .zip(&actual)
                    .all(|(seg, got)| seg.as_deref().is_none_or(|lit| lit == *got));
            if !fits {
                continue;
            }
            let Some(op) = self.doc["paths"][&t.text].get(&method) else {
                continue;
            };
            if best.is_none_or(|(b, _)| more_specific(t, b)) {
                best = Some((t, op));
            }
        }
        let (t, op) = best?;
        let path_values = t
            .segments
            .iter()
            .zip(t.text.split('/'))
            .zip(&actual)
            .filter(|((seg, _), _)| seg.is_none())
            .map(|((_, name), got)| {
                (
                    name.trim_start_matches('{').trim_end_matches('}'),
                    (*got).to_owned(),
                )
            })
            .collect();
        Some(Operation {
            contract: self,
            method: method.to_ascii_uppercase(),
            template: &t.text,
            item: &self.doc["paths"][&t.text],
            op,
            path_values,
        })
    }

    fn checker(&self, mode: Mode) -> Checker<'_> {
        Checker {
            doc: &self.doc,
            patterns: &self.patterns,
            mode,
        }
    }

    /// Follows a `$ref` (if any) to the object it names.
    fn deref<'a>(&'a self, value: &'a Value) -> &'a Value {
        match value.get("$ref").and_then(Value::as_str) {
            Some(r) => resolve(&self.doc, r).unwrap_or(&Value::Null),
            None => value,
        }
    }
}

/// Whether `a` has a literal segment at the first place where it and `b`
/// differ in kind.
fn more_specific(a: &Template, b: &Template) -> bool {
    a.segments
        .iter()
        .zip(&b.segments)
        .find(|(x, y)| x.is_some() != y.is_some())
        .is_some_and(|(x, _)| x.is_some())
}

fn collect_patterns(value: &Value, out: &mut HashMap<String, Regex>) -> Result<(), String> {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("example" | "examples" | "x-examples", _) => {}
                    ("pattern", Value::String(p)) => {
                        let re = Regex::new(p).map_err(|e| format!("pattern {p}: {e}"))?;
                        out.insert(p.clone(), re);
                    }
                    _ => collect_patterns(v, out)?,
                }
            }
        }
        Value::Array(items) => {
            for v in items {
                collect_patterns(v, out)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// One operation of the description, matched to a concrete request path.
pub(crate) struct Operation<'a> {
    contract: &'a Contract,
    method: String,
    template: &'a str,
    item: &'a Value,
    op: &'a Value,
    /// `(name, value as received)` for each `{param}` of the template.
    path_values: Vec<(&'a str, String)>,
}

/// A parameter object (`paths.*.parameters`, `components.parameters`).
struct Param<'a> {
    name: &'a str,
    location: &'a str,
    required: bool,
    allow_empty: bool,
    explode: bool,
    schema: Option<&'a Value>,
}

impl<'a> Operation<'a> {
    /// The path template, e.g. `/api/companies/{companyId}/employees`.
    pub(crate) fn template(&self) -> &'a str {
        self.template
    }

    /// The description's `operationId`, e.g. `createEmployee`.
    pub(crate) fn operation_id(&self) -> Option<&'a str> {
        self.op.get("operationId").and_then(Value::as_str)
    }

    /// Checks the path parameters, the query parameters (`query` as decoded
    /// name/value pairs, repeated names allowed) and the JSON body (`None`:
    /// no body) against the operation's and its path's `parameters` and its
    /// `requestBody`. Empty means the request conforms. `readOnly`
    /// properties in the body are violations; header parameters are not
    /// checked.
    pub(crate) fn validate_request(
        &self,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Vec<Violation> {
        let mut sink = Sink::default();
        let params = self.parameters();
        for (name, got) in &self.path_values {
            if let Some(p) = params
                .iter()
                .find(|p| p.location == "path" && p.name == *name)
            {
                self.check_param(p, &[got.as_str()], &mut sink);
            }
        }
        for p in params.iter().filter(|p| p.location == "query") {
            let values: Vec<&str> = query
                .iter()
                .filter(|(k, _)| k == p.name)
                .map(|(_, v)| v.as_str())
                .collect();
            if values.is_empty() {
                if p.required {
                    sink.push(&format!("query:{}", p.name), "is required");
                }
            } else {
                self.check_param(p, &values, &mut sink);
            }
        }
        let mut reported: Vec<&str> = Vec::new();
        for (key, _) in query {
            let declared =
                |p: &&Param<'_>| p.location == "query" && p.name.eq_ignore_ascii_case(key);
            if let Some(p) = params.iter().find(declared)
                && p.name != key
                && !reported.contains(&key.as_str())
            {
                reported.push(key);
                let msg = format!(
                    "is not a parameter of this operation; the description names it {}",
                    p.name
                );
                sink.push(&format!("query:{key}"), msg);
            }
        }
        self.check_body(body, &mut sink);
        sink.into_violations()
    }

    /// Checks a response: `status` must be documented for the operation
    /// (exactly, as `NXX` or as `default`), and `body` must match that
    /// status's `application/json` schema (`$ref`s to `components.responses`
    /// followed). Empty means the response conforms.
    pub(crate) fn validate_response(&self, status: u16, body: &Value) -> Vec<Violation> {
        let mut sink = Sink::default();
        let responses = &self.op["responses"];
        let found = [
            status.to_string(),
            format!("{}XX", status / 100),
            "default".to_owned(),
        ]
        .iter()
        .find_map(|key| responses.get(key));
        let Some(response) = found.map(|r| self.contract.deref(r)) else {
            let documented: Vec<&str> = responses
                .as_object()
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default();
            let msg = format!(
                "{status} is not a documented status of {} {} (documented: {})",
                self.method,
                self.template,
                documented.join(", ")
            );
            sink.push("status", msg);
            return sink.into_violations();
        };
        match response.pointer("/content/application~1json") {
            Some(media) => {
                if let Some(schema) = media.get("schema") {
                    self.contract
                        .checker(Mode::Response)
                        .check(schema, body, "", &mut sink);
                }
            }
            None if body.is_null() => {}
            None => sink.push(
                "",
                format!(
                    "no JSON body is described for status {status} ({})",
                    media_types(response)
                ),
            ),
        }
        sink.into_violations()
    }

    /// Whether the operation lists `status` among its responses (exactly, as
    /// `NXX` or as `default`).
    pub(crate) fn documents(&self, status: u16) -> bool {
        let responses = &self.op["responses"];
        [
            status.to_string(),
            format!("{}XX", status / 100),
            "default".to_owned(),
        ]
        .iter()
        .any(|key| responses.get(key).is_some())
    }

    /// Checks `body` against the shared response `components.responses.{name}`
    /// (e.g. `400-error`), whatever the operation documents.
    pub(crate) fn validate_shared_response(&self, name: &str, body: &Value) -> Vec<Violation> {
        let mut sink = Sink::default();
        let schema = self.contract.doc["components"]["responses"][name]
            .pointer("/content/application~1json/schema");
        match schema {
            Some(schema) => self
                .contract
                .checker(Mode::Response)
                .check(schema, body, "", &mut sink),
            None => sink.push("status", format!("the description has no response {name}")),
        }
        sink.into_violations()
    }

    /// The path-level parameters, overridden by operation-level ones with
    /// the same name and location.
    fn parameters(&self) -> Vec<Param<'a>> {
        let mut out: Vec<Param<'a>> = Vec::new();
        let lists = [self.item.get("parameters"), self.op.get("parameters")];
        for raw in lists
            .into_iter()
            .flatten()
            .filter_map(Value::as_array)
            .flatten()
        {
            let p = self.contract.deref(raw);
            let (Some(name), Some(location)) = (p["name"].as_str(), p["in"].as_str()) else {
                continue;
            };
            let param = Param {
                name,
                location,
                required: p["required"] == Value::Bool(true),
                allow_empty: p["allowEmptyValue"] == Value::Bool(true),
                explode: p["explode"] != Value::Bool(false),
                schema: p.get("schema"),
            };
            out.retain(|q| !(q.name == name && q.location == location));
            out.push(param);
        }
        out
    }

    /// Turns the text of a path or query parameter into the JSON value its
    /// schema describes, then checks that value.
    fn check_param(&self, p: &Param<'_>, values: &[&str], sink: &mut Sink) {
        let at = format!("{}:{}", p.location, p.name);
        let Some(schema) = p.schema else { return };
        let resolved = self.contract.deref(schema);
        let value = if resolved["type"] == "array" {
            let texts: Vec<&str> = if p.explode {
                values.to_vec()
            } else {
                values.iter().flat_map(|v| v.split(',')).collect()
            };
            let item_type = self.contract.deref(&resolved["items"])["type"].as_str();
            let mut items = Vec::new();
            for text in texts {
                match coerce(item_type, text) {
                    Ok(v) => items.push(v),
                    Err(msg) => return sink.push(&at, format!("each value {msg}")),
                }
            }
            Value::Array(items)
        } else {
            if values.len() > 1 {
                return sink.push(
                    &at,
                    format!("must be given once, not {} times", values.len()),
                );
            }
            let text = values.first().copied().unwrap_or_default();
            if text.is_empty() && !p.allow_empty {
                return sink.push(&at, "must not be empty");
            }
            match coerce(resolved["type"].as_str(), text) {
                Ok(v) => v,
                Err(msg) => return sink.push(&at, msg),
            }
        };
        self.contract
            .checker(Mode::Request)
            .check(schema, &value, &at, sink);
    }

    fn check_body(&self, body: Option<&Value>, sink: &mut Sink) {
        let request_body = self.op.get("requestBody").map(|rb| self.contract.deref(rb));
        match (request_body, body) {
            (None, None) => {}
            (None, Some(_)) => sink.push(
                "",
                format!(
                    "no request body is described for {} {}",
                    self.method, self.template
                ),
            ),
            (Some(rb), None) => {
                if rb["required"] == Value::Bool(true) {
                    sink.push("", "a JSON request body is required");
                }
            }
            (Some(rb), Some(body)) => match rb.pointer("/content/application~1json") {
                Some(media) => {
                    if let Some(schema) = media.get("schema") {
                        self.contract
                            .checker(Mode::Request)
                            .check(schema, body, "", sink);
                    }
                }
                None => sink.push("", format!("must not be JSON here ({})", media_types(rb))),
            },
        }
    }
}

/// The media types of an object with `content`, for messages ("the
/// description has multipart/form-data").
fn media_types(with_content: &Value) -> String {
    match with_content.get("content").and_then(Value::as_object) {
        Some(m) if !m.is_empty() => {
            format!(
                "the description has {}",
                m.keys().map(String::as_str).collect::<Vec<_>>().join(", ")
            )
        }
        _ => "the description has no content".to_owned(),
    }
}

/// Parses parameter text as the JSON type `type_name` (strings unchanged).
fn coerce(type_name: Option<&str>, text: &str) -> Result<Value, String> {
    let fail = |what: &str| Err(format!("must be {what} (got \"{text}\")"));
    match type_name {
        Some("integer") => text
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| fail("an integer")),
        Some("number") => match text.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Value::from(x)),
            _ => fail("a number"),
        },
        Some("boolean") => match text.to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => fail("true or false"),
        },
        _ => Ok(Value::String(text.to_owned())),
    }
}

#[cfg(test)]
mod tests;
