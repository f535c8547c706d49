//! `nmbrs-sync doctor`: checks, in order, what a cycle needs and says exactly what is missing:
//! config → state database → HRIS database → token → subscription key → scopes → company access.

use crate::config::Settings;
use crate::fields::{Field, Resource};
use crate::hris::HrisDb;
use crate::nmbrs::NmbrsClient;
use crate::nmbrs::client::ApiErrorKind;
use crate::state::StateDb;
use serde::Serialize;

/// One check's result.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    /// Passes, but something should be done (e.g. the state database was readable by others).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub warn: bool,
    pub detail: String,
}

/// A check's verdict: a plain `bool` (pass/fail) or [`Verdict::Warn`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Pass,
    Warn,
    Fail,
}

impl From<bool> for Verdict {
    fn from(ok: bool) -> Verdict {
        if ok { Verdict::Pass } else { Verdict::Fail }
    }
}

/// The state database files readable or writable by group or others, with their modes.
fn loose_files(url: &str) -> Vec<(String, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let Some(db) = crate::db::sqlite_path(url) else {
        return vec![];
    };
    crate::db::sqlite_files(&db)
        .into_iter()
        .filter_map(|f| {
            let mode = std::fs::metadata(&f).ok()?.permissions().mode() & 0o777;
            (mode & 0o077 != 0).then(|| (f.display().to_string(), mode))
        })
        .collect()
}

/// The scopes the sync needs for the mapped `fields`, each with the feature it serves (the
/// operations' `security` in `docs/nmbrs-openapi.yaml`; summarised in `docs/nmbrs-api.md`): a
/// resource none of whose fields is mapped needs nothing.
pub fn scopes_for(fields: &[Field]) -> Vec<(&'static str, &'static str)> {
    let uses = |r: Resource| fields.iter().any(|f| f.resource() == r);
    let mut scopes = vec![
        (
            "company.info.read",
            "listing companies (every cycle starts there)",
        ),
        (
            "employee.info",
            "creating employees, updating personal info and home addresses (writes to Nmbrs)",
        ),
        (
            "employee.info.read",
            "reading personal info, addresses, functions, departments and managers (implied by employee.info)",
        ),
    ];
    if uses(Resource::Employment) || uses(Resource::Contract) {
        scopes.push((
            "employee.employment",
            "hire date, end of service and contracts (reads and writes)",
        ));
    }
    if [Resource::Function, Resource::Department, Resource::Manager]
        .into_iter()
        .any(uses)
    {
        scopes.push((
            "employee.orgstructure",
            "job title, department and manager (the debtor's lists and the writes)",
        ));
    }
    scopes
}

/// Whether `granted` (scopes as the token endpoint listed them) covers `scope`, counting that a write
/// scope implies its `.read` variant (docs/nmbrs-api.md, "Base, headers, auth").
pub(crate) fn has_scope(granted: &[&str], scope: &str) -> bool {
    granted.contains(&scope)
        || scope
            .strip_suffix(".read")
            .is_some_and(|write| granted.contains(&write))
}

/// The scopes to ask consent for (`nmbrs-sync authorize`): every scope [`scopes_for`] the mapped
/// `fields` lists, except those implied by another in the list. `offline_access` is the caller's
/// to add.
pub(crate) fn scopes_to_request(fields: &[Field]) -> Vec<&'static str> {
    let all: Vec<&str> = scopes_for(fields).iter().map(|(scope, _)| *scope).collect();
    all.iter()
        .copied()
        .filter(|scope| {
            let others: Vec<&str> = all.iter().copied().filter(|s| s != scope).collect();
            !has_scope(&others, scope)
        })
        .collect()
}

/// Runs every check that can run; a failed prerequisite skips the checks that depend on it.
pub async fn run(settings: &Settings) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut push = |name: &str, verdict: Verdict, detail: String| {
        let ok = verdict != Verdict::Fail;
        checks.push(Check {
            name: name.to_owned(),
            ok,
            warn: verdict == Verdict::Warn,
            detail,
        });
        ok
    };
    // Before opening: opening narrows the modes.
    let loose = loose_files(&settings.state.database_url);
    push(
        "config",
        Verdict::Pass,
        "parsed (built-in defaults, config/default.toml, --config, NMBRS_SYNC__* variables)".into(),
    );
    let secrets = match settings.secrets() {
        Ok(s) => {
            push(
                "secrets",
                Verdict::Pass,
                if s.refresh_token.is_some() {
                    "client secret, refresh token and subscription key are set (values not shown)"
                } else {
                    "client secret and subscription key are set (values not shown); no `nmbrs.refresh_token`: the one `nmbrs-sync authorize` stored in the state database is used"
                }
                .into(),
            );
            Some(s)
        }
        Err(e) => {
            push("secrets", Verdict::Fail, e.to_string());
            None
        }
    };
    let state = match StateDb::open(&settings.state.database_url).await {
        Ok(s) => {
            push(
                "state database",
                Verdict::Pass,
                format!("{} reachable and migrated", settings.state.database_url),
            );
            Some(s)
        }
        Err(e) => {
            push("state database", Verdict::Fail, e.to_string());
            None
        }
    };
    if crate::db::sqlite_path(&settings.state.database_url).is_some() {
        if loose.is_empty() {
            push(
                "state files",
                Verdict::Pass,
                "the state database, its WAL and SHM are readable by their owner only".into(),
            );
        } else {
            let list: Vec<String> = loose
                .iter()
                .map(|(f, m)| format!("{f} (mode {m:o})"))
                .collect();
            push(
                "state files",
                Verdict::Warn,
                format!(
                    "readable by others: {}; narrowed to 0600 now. It holds personal data and the refresh token: check who copied it, and its backups",
                    list.join(", ")
                ),
            );
        }
    }
    let state = match (state, settings.seal_key()) {
        (Some(s), Ok(Some(key))) => match s.with_seal_key(Some(key)).await {
            Ok(s) => {
                push(
                    "token at rest",
                    Verdict::Pass,
                    "the refresh token is stored sealed with the key of state.key_file (ChaCha20-Poly1305)".into(),
                );
                Some(s)
            }
            Err(e) => {
                push("token at rest", Verdict::Fail, e.to_string());
                None
            }
        },
        (state, Ok(None)) => {
            push(
                "token at rest",
                Verdict::Warn,
                "the refresh token is stored in clear in the state database; set `state.key_file` (a credential file of at least 32 random bytes) to seal it".into(),
            );
            state
        }
        (None, Ok(Some(_))) => None,
        (_, Err(e)) => {
            push("token at rest", Verdict::Fail, e.to_string());
            None
        }
    };
    let hris = match settings.columns() {
        Err((key, message)) => {
            push(
                "hris database",
                Verdict::Fail,
                format!("configuration key `{key}`: {message}"),
            );
            None
        }
        Ok(columns) => {
            match HrisDb::open(
                &settings.hris.database_url,
                &settings.hris.table,
                columns,
                std::time::Duration::from_secs(settings.hris.busy_timeout_secs),
            )
            .await
            {
                Ok(h) => {
                    push(
                        "hris database",
                        Verdict::Pass,
                        format!(
                            "{} table `{}` has every mapped column",
                            settings.hris.database_url, settings.hris.table
                        ),
                    );
                    let can_write = h.probe_write().await;
                    match (settings.hris.write_back, can_write) {
                        (true, Ok(())) => push(
                            "hris mode",
                            Verdict::Pass,
                            "read-write (hris.write_back = true): employeeIds and Nmbrs-side changes are written to the HRIS; the database user can write the table".into(),
                        ),
                        (true, Err(e)) => push(
                            "hris mode",
                            Verdict::Fail,
                            format!("read-write (hris.write_back = true), but the database user cannot write the table ({e}); grant it UPDATE and INSERT, or set `hris.write_back = false` for a read-only HRIS"),
                        ),
                        (false, w) => push(
                            "hris mode",
                            Verdict::Pass,
                            format!(
                                "read-only (hris.write_back = false): nothing is written to the HRIS, ids stay in the state database, Nmbrs-side changes are reported (`status`); the database user {}",
                                if w.is_ok() { "could write the table" } else { "cannot write the table" }
                            ),
                        ),
                    };
                    Some(h)
                }
                Err(e) => {
                    push("hris database", Verdict::Fail, e.to_string());
                    None
                }
            }
        }
    };
    let (Some(secrets), Some(state)) = (secrets, state) else {
        return checks;
    };
    let client = match NmbrsClient::new(settings, &secrets, std::sync::Arc::new(state)) {
        Ok(c) => c,
        Err(e) => {
            push("http client", Verdict::Fail, e.to_string());
            return checks;
        }
    };
    if let Err(e) = client.tokens().access_token().await {
        push("token", Verdict::Fail, e.to_string());
        return checks;
    }
    push(
        "token",
        Verdict::Pass,
        format!("access token obtained from {}", settings.nmbrs.token_url),
    );
    let companies = match client.companies(settings.debtor_id()).await {
        Ok(r) => {
            push("subscription key", Verdict::Pass, "accepted".into());
            let numbers: Vec<String> = r
                .body
                .iter()
                .map(|c| format!("{} ({})", c.number, c.name.as_deref().unwrap_or("")))
                .collect();
            push(
                "companies",
                Verdict::from(!r.body.is_empty()),
                if r.body.is_empty() {
                    "the token sees no company; check the consent's debtor and `nmbrs.debtor_id`"
                        .into()
                } else {
                    format!("{} visible: {}", r.body.len(), numbers.join(", "))
                },
            );
            Some(r.body)
        }
        Err(e) => match &e.kind {
            ApiErrorKind::Unauthorized(m) => {
                push("subscription key", Verdict::Fail, m.clone());
                return checks;
            }
            ApiErrorKind::NoSubscription => {
                push("subscription key", Verdict::Fail, e.kind.to_string());
                return checks;
            }
            ApiErrorKind::Forbidden { message, .. } => {
                push("subscription key", Verdict::Pass, "accepted".into());
                push(
                    "scope company.info.read",
                    Verdict::Fail,
                    format!("missing: needed for {} ({message})", scopes_for(&[])[0].1),
                );
                None
            }
            _ => {
                push("nmbrs api", Verdict::Fail, e.to_string());
                return checks;
            }
        },
    };
    if companies.is_some() {
        match client.debtors().await {
            Ok(r) => {
                let list: Vec<String> = r
                    .body
                    .iter()
                    .map(|d| {
                        format!(
                            "{} {} ({})",
                            d.number.as_deref().unwrap_or("?"),
                            d.name.as_deref().unwrap_or(""),
                            d.debtor_id
                        )
                    })
                    .collect();
                push(
                    "debtors",
                    Verdict::Pass,
                    format!("{} visible: {}", r.body.len(), list.join(", ")),
                )
            }
            Err(e) => push("debtors", Verdict::Fail, e.to_string()),
        };
    }
    let fields = hris
        .as_ref()
        .map(HrisDb::synced_fields)
        .unwrap_or_else(|| Field::ALL.to_vec());
    match client.tokens().granted_scopes() {
        Some(granted) => {
            let granted: Vec<&str> = granted.split_whitespace().collect();
            for (scope, feature) in scopes_for(&fields) {
                let has = has_scope(&granted, scope);
                push(
                    &format!("scope {scope}"),
                    Verdict::from(has),
                    if has {
                        format!("granted ({feature})")
                    } else {
                        format!("missing: needed for {feature}")
                    },
                );
            }
        }
        None => {
            push("scopes", Verdict::Pass, "the token endpoint did not state scopes; each call will tell (403 names a missing scope)".into());
        }
    }
    if let (Some(companies), Some(hris)) = (companies, hris) {
        match hris.company_numbers().await {
            Ok(numbers) => {
                for n in numbers {
                    let found = companies.iter().find(|c| c.number == n);
                    push(
                        &format!("company {n}"),
                        Verdict::from(found.is_some()),
                        match found {
                            Some(c) => format!("visible in Nmbrs as {} ({})", c.company_id, c.name.as_deref().unwrap_or("")),
                            None => "used in the HRIS but no Nmbrs company with this number is visible to the API client; grant access or fix the HRIS".into(),
                        },
                    );
                }
            }
            Err(e) => {
                push("hris companies", Verdict::Fail, e.to_string());
            }
        }
    }
    checks
}

/// Text for people: one line per check.
pub fn render(checks: &[Check]) -> String {
    checks
        .iter()
        .map(|c| {
            format!(
                "[{}] {:<26} {}\n",
                match (c.ok, c.warn) {
                    (false, _) => "FAIL",
                    (true, true) => "WARN",
                    (true, false) => " ok ",
                },
                c.name,
                c.detail
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requested_scopes_leave_out_implied_ones() {
        let personal: Vec<Field> = Field::ALL
            .into_iter()
            .filter(|f| f.resource() == Resource::PersonalInfo)
            .collect();
        assert_eq!(
            scopes_to_request(&personal),
            ["company.info.read", "employee.info"],
            "no employment, contract or org-structure field mapped: no scope for them"
        );
        assert_eq!(
            scopes_to_request(&Field::ALL),
            [
                "company.info.read",
                "employee.info",
                "employee.employment",
                "employee.orgstructure"
            ]
        );
        assert!(has_scope(&["employee.info"], "employee.info.read"));
        assert!(!has_scope(&["employee.info.read"], "employee.info"));
        assert!(!has_scope(&["company.info.read"], "employee.info.read"));
    }
}
