//! The one place where the sandbox asks `docs/nmbrs-openapi.yaml` (through
//! the contract validator in `openapi`) about a call: request checks (path
//! and query parameters and the JSON body, before the handler) and response
//! checks (status and JSON body of every answer to a described operation).
//!
//! A 400 from an operation that documents no 400 (the description forgot it
//! for several writes whose bodies can be refused) is checked against the
//! shared `400-error` response instead of being reported as undocumented.
//!
//! What the schemas cannot say (a blank last name, an e-mail's shape, payroll
//! year and period ranges, `readOnly` members in a PUT whose schema does not
//! list them) stays in `validation` and `write`.

use axum::http::Method;
use serde_json::Value;

use super::model::InvalidParam;
use super::openapi::{Violation, contract};

/// The `invalid-params` name of a violation: a query or path parameter by its
/// name, a body member by its JSON pointer, the body as a whole as `body`.
fn param_name(pointer: &str) -> String {
    if let Some(name) = pointer
        .strip_prefix("query:")
        .or_else(|| pointer.strip_prefix("path:"))
    {
        name.to_string()
    } else if pointer.is_empty() {
        "body".to_string()
    } else {
        pointer.to_string()
    }
}

fn missing(method: &Method, path: &str) -> Violation {
    Violation {
        pointer: "status".into(),
        message: format!("the description has no operation {method} {path}"),
    }
}

/// Problems of a request to `path` (concrete, with `/api`) as `invalid-params`
/// entries; empty means the description accepts it.
pub(crate) fn request_problems(
    method: &Method,
    path: &str,
    query: &[(String, String)],
    body: Option<&Value>,
) -> Vec<InvalidParam> {
    let violations = match contract().operation(method.as_str(), path) {
        Some(op) => op.validate_request(query, body),
        // A served operation the description lacks: a sandbox bug, not the client's.
        None => return Vec::new(),
    };
    violations
        .into_iter()
        .map(|v| InvalidParam::new(param_name(&v.pointer), v.message))
        .collect()
}

/// Problems of an answer with `status` and JSON `body` (`None`: not JSON) to
/// `method` `path` (concrete, with `/api`), as `(pointer, message)` pairs.
pub(crate) fn response_problems(
    method: &Method,
    path: &str,
    status: u16,
    body: Option<&Value>,
) -> Vec<(String, String)> {
    let body = body.unwrap_or(&Value::Null);
    let violations = match contract().operation(method.as_str(), path) {
        // A refusal of a write whose description forgot its 400 (PUT
        // employment, contract, department, manager): the shared error shape.
        Some(op) if status == 400 && !op.documents(400) => {
            op.validate_shared_response("400-error", body)
        }
        Some(op) => op.validate_response(status, body),
        None => vec![missing(method, path)],
    };
    violations
        .into_iter()
        .map(|v| (v.pointer, v.message))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const COMPANY: &str = "5b6a77c7-6abe-4f31-93dc-2692169e3ea4";

    #[test]
    fn request_violations_become_invalid_params() {
        let path = format!("/api/companies/{COMPANY}/employees");
        let query = vec![("pageSize".to_string(), "101".to_string())];
        let p = request_problems(&Method::GET, &path, &query, None);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].name, "pageSize");
        let body =
            json!({"PersonalInfo": {"basicInfo": {"lastName": "Doe", "employeeType": "employee"}}});
        let p = request_problems(&Method::POST, &path, &[], Some(&body));
        let names: Vec<&str> = p.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["/PersonalInfo/basicInfo/employeeType"]);
        let p = request_problems(&Method::GET, "/api/employees/not-a-uuid", &[], None);
        assert_eq!(p.first().map(|p| p.name.as_str()), Some("employeeId"));
    }

    /// PUT manager documents no 400: a refusal is checked against the shared
    /// error shape, and other undocumented statuses are still reported.
    #[test]
    fn a_forgotten_400_is_checked_against_the_shared_error() {
        let path = format!("/api/employees/{COMPANY}/manager");
        let good = json!({"type": "validationError", "httpStatus": 400, "code": 40033,
                          "title": "Parameter_Invalid", "detail": "Invalid parameter.",
                          "docUrl": "https://developer.nmbrs.com/api/docs/errors"});
        assert_eq!(
            response_problems(&Method::PUT, &path, 400, Some(&good)),
            vec![]
        );
        let bad = json!({"message": "x"});
        assert!(!response_problems(&Method::PUT, &path, 400, Some(&bad)).is_empty());
        assert!(!response_problems(&Method::PUT, &path, 418, Some(&good)).is_empty());
    }

    /// A deliberately broken answer is caught by the very function every
    /// answer goes through.
    #[test]
    fn a_broken_answer_is_caught() {
        let path = format!("/api/companies/{COMPANY}/employees/personalinfo");
        let page = |info: Value| {
            json!({
                "pagination": {"pageNumber": 1, "pageSize": 20, "totalPages": 1, "totalRecords": 1,
                    "firstPage": "http://127.0.0.1:1/api/x?pageNumber=1&pageSize=20",
                    "lastPage": "http://127.0.0.1:1/api/x?pageNumber=1&pageSize=20",
                    "nextPage": null, "previousPage": null},
                "data": [{"employeeId": COMPANY, "info": [info]}]
            })
        };
        let good = json!({"basicInfo": {"lastName": "Doe", "employeeType": "payroll", "employeeNumber": 1},
                          "birthInfo": {"birthCountry": {"codeISO": "NL", "description": "The Netherlands"}}});
        assert_eq!(
            response_problems(&Method::GET, &path, 200, Some(&page(good))),
            vec![]
        );
        // The old guess: the flat write shape in a read.
        let broken = json!({"basicInfo": {"lastName": "Doe", "employeeType": "payroll"},
                            "birthInfo": {"birthCountryCodeISO": "NL"}});
        let problems = response_problems(&Method::GET, &path, 200, Some(&page(broken)));
        assert_eq!(
            problems.first().map(|(p, _)| p.as_str()),
            Some("/data/0/info/0/birthInfo/birthCountryCodeISO"),
            "{problems:?}"
        );
        // An undocumented status, and an error body without its required members.
        assert!(!response_problems(&Method::GET, &path, 418, Some(&json!({}))).is_empty());
        let p = response_problems(&Method::GET, &path, 404, Some(&json!({"message": "x"})));
        assert_eq!(p.len(), 3, "httpStatus, code and title are required: {p:?}");
    }
}
