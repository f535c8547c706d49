//! Settings, layered with the `config` crate (docs/SPEC.md, "Configuration"):
//! built-in defaults (`config/default.toml`, compiled in) → `config/default.toml` on disk, if present →
//! the `--config` file → environment variables `NMBRS_SYNC__SECTION__KEY`.
//!
//! Secrets are [`SecretString`]s: `Debug` prints `[REDACTED]` and nothing here logs them.
//!
//! Long because every key, its default, its validation and its error message are in one place (the
//! tests are in `config_tests.rs`).

use crate::fields::{FIELD_COUNT, Field};
use crate::plan::{ConflictPolicy, FieldOwner};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const BUILT_IN_DEFAULTS: &str = include_str!("../config/default.toml");
const ENV_PREFIX: &str = "NMBRS_SYNC";

/// A configuration problem. The message names the key and where its value came from.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The layered sources could not be read or did not fit the expected types.
    #[error("configuration could not be loaded: {0}")]
    Load(#[from] config::ConfigError),
    /// A key has a value of the right type but an unusable meaning.
    #[error("configuration key `{key}` (from {origin}): {message}")]
    Invalid {
        key: String,
        origin: String,
        message: String,
    },
}

/// All settings. Field docs give units.
#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    pub nmbrs: NmbrsSettings,
    pub hris: HrisSettings,
    pub state: StateSettings,
    pub sync: SyncSettings,
    pub retry: RetrySettings,
    pub log: LogSettings,
    #[serde(default)]
    pub metrics: MetricsSettings,
    pub audit: AuditSettings,
}

/// `[audit]`: how long the audit log keeps personal values.
#[derive(Clone, Debug, Deserialize)]
pub struct AuditSettings {
    /// Days an audit row keeps its personal values (`fields`, `message`); older rows keep the rest
    /// and a digest (`nmbrs-sync audit prune`, and every cycle). `0`: kept forever.
    pub retention_days: u32,
}

/// The largest `nmbrs.page_size`: the description's maximum `pageSize`
/// (`docs/nmbrs-openapi.yaml`, `components.parameters.pageSize`).
pub const MAX_PAGE_SIZE: u32 = 100;

/// `[nmbrs]`: the API, OAuth client and client-side limits.
#[derive(Clone, Debug, Deserialize)]
pub struct NmbrsSettings {
    /// REST API root, e.g. `https://api.nmbrsapp.com/api`.
    pub base_url: String,
    /// OAuth 2.0 token endpoint (form-encoded `refresh_token` and `authorization_code` grants).
    pub token_url: String,
    /// OAuth 2.0 authorization endpoint, where `nmbrs-sync authorize` sends the person who consents
    /// (docs/nmbrs-openapi.yaml, `components.securitySchemes.Bearer`).
    pub authorize_url: String,
    /// The redirect URI registered for the API client in Nmbrs; `nmbrs-sync authorize` needs it
    /// (the identity service sends the browser there with the code).
    #[serde(default)]
    pub redirect_uri: Option<String>,
    pub client_id: String,
    pub client_secret: Option<SecretString>,
    pub client_secret_file: Option<PathBuf>,
    /// Optional: a refresh token obtained outside `nmbrs-sync authorize`. Rotated tokens, and the one
    /// `authorize` obtains, are kept in the state database (see `nmbrs::auth::choose_refresh_token`).
    pub refresh_token: Option<SecretString>,
    pub refresh_token_file: Option<PathBuf>,
    /// Sent as `X-Subscription-Key`.
    pub subscription_key: Option<SecretString>,
    pub subscription_key_file: Option<PathBuf>,
    /// Per-request timeout, seconds.
    pub timeout_secs: u64,
    /// Records applied in parallel.
    pub max_concurrency: usize,
    /// Client-side pacing across all calls, requests/s.
    pub max_requests_per_sec: u32,
    /// `pageSize` asked for on list endpoints, 1..=100 (the description's maximum).
    pub page_size: u32,
    /// Restricts the sync to this debtor's companies (`GET /api/debtors/{debtorId}/companies`).
    #[serde(default)]
    pub debtor_id: Option<String>,
    /// `AdditionalEmployeeInfo.defaultEmployeeTemplate` of every create (uuid), if set.
    #[serde(default)]
    pub default_employee_template: Option<String>,
    /// `basicInfo.employeeType` of a create when the HRIS row has none (Nmbrs requires one).
    #[serde(default)]
    pub default_employee_type: Option<String>,
}

/// `[hris]`: where the HRIS table is and how its columns map to fields.
#[derive(Clone, Debug, Deserialize)]
pub struct HrisSettings {
    /// `sqlite:path` of the HRIS database.
    pub database_url: String,
    pub table: String,
    /// How long a statement waits for another process's lock on the HRIS database, seconds.
    pub busy_timeout_secs: u64,
    /// `false` for a read-only HRIS (a view or a replica): the sync never writes it; ids live only
    /// in the state database's links and pulls are reported as would-be changes.
    pub write_back: bool,
    /// Whether incremental cycles read only the rows whose `updated_at` moved since the last read
    /// (plus rows with pending work); `false`: every row every cycle, for an HRIS whose writers do
    /// not maintain `updated_at`.
    pub incremental: bool,
    /// Logical column (a [`Field`] name or `hris_id`, `company_number`, `updated_at`,
    /// `nmbrs_employee_id`) → HRIS column name; `""` leaves a field out of the sync.
    pub columns: BTreeMap<String, String>,
}

/// `[state]`: the daemon's own database (links, snapshots, runs, audit).
#[derive(Clone, Debug, Deserialize)]
pub struct StateSettings {
    pub database_url: String,
    /// A file with at least 32 random bytes (e.g. a systemd credential): the refresh token is
    /// stored sealed with a key derived from it (`crate::state::sealing`). Unset: stored in clear.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
}

/// `sync.period`: `"current"` or `{ year, period }`.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum PeriodSetting {
    Named(String),
    Explicit { year: i32, period: u8 },
}

/// `[sync]`: schedule and merge rules.
#[derive(Clone, Debug, Deserialize)]
pub struct SyncSettings {
    /// Cron expression, seconds field first, read in `timezone`.
    pub schedule: String,
    /// IANA time zone of the schedule and of the "current" payroll period (default `UTC`).
    pub timezone: String,
    pub run_at_start: bool,
    pub conflict_policy: ConflictPolicy,
    #[serde(default)]
    pub field_owner: BTreeMap<String, FieldOwner>,
    /// Per reference field (`job_title`, `department`, `manager`): HRIS value → the Nmbrs object's
    /// code or name, for values that name it differently.
    #[serde(default)]
    pub value_map: BTreeMap<String, BTreeMap<String, String>>,
    pub import_from_nmbrs: bool,
    pub period: PeriodSetting,
    /// Consecutive failed cycles before a record is quarantined.
    pub quarantine_after: u32,
    /// How often a cycle reads every company whole (a full reconcile), e.g. `24h`, `30m`; cycles in
    /// between read only what Nmbrs created or changed since the last read (`createdFrom`). `0s`:
    /// every cycle is a full reconcile.
    pub full_every: String,
    /// ISO 3166 region (e.g. `NL`) in whose national format a phone number without a country code
    /// is read when comparing phone numbers (`06 2345 6789` = `+31 6 2345 6789` in NL).
    pub phone_region: String,
}

/// `[retry]`: exponential backoff with jitter for 429, 5xx, timeouts and dropped connections.
#[derive(Clone, Debug, Deserialize)]
pub struct RetrySettings {
    /// First backoff delay, milliseconds.
    pub initial_interval_ms: u64,
    pub multiplier: f32,
    /// Longest single delay, seconds.
    pub max_interval_secs: u64,
    /// Retry budget per call: no retry starts after this many seconds, seconds.
    pub max_elapsed_secs: u64,
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    pub jitter: bool,
}

/// `[log]`.
#[derive(Clone, Debug, Deserialize)]
pub struct LogSettings {
    /// tracing filter, e.g. `info` or `nmbrs_sync=debug`.
    pub level: String,
    pub format: LogFormat,
}

/// `log.format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

/// `[metrics]`.
#[derive(Clone, Debug, Deserialize, Default)]
pub struct MetricsSettings {
    /// `host:port` for `/healthz` and `/metrics`; none = no listener.
    pub listen: Option<String>,
}

/// An optional setting's value, trimmed; blank (e.g. an empty environment variable) counts as unset.
fn non_blank(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The HRIS columns, resolved from `hris.columns` and validated as plain SQL identifiers.
#[derive(Clone, Debug)]
pub struct ColumnMap {
    pub hris_id: String,
    pub company_number: String,
    pub updated_at: Option<String>,
    pub nmbrs_employee_id: String,
    /// Column per [`Field`] (index order); `None` = the field is not synced.
    pub fields: [Option<String>; FIELD_COUNT],
    /// Per field: mapped by default only ([`Field::column_optional`], not named in the config), so a
    /// table without that column simply does not sync the field.
    pub optional: [bool; FIELD_COUNT],
}

/// The secrets, read from their values or `*_file` paths.
#[derive(Clone, Debug)]
pub struct Secrets {
    pub client_secret: SecretString,
    /// `nmbrs.refresh_token`: optional, since `nmbrs-sync authorize` stores one in the state database.
    pub refresh_token: Option<SecretString>,
    pub subscription_key: SecretString,
}

impl Settings {
    /// `sync.timezone` (validated at load; UTC if it somehow does not parse).
    pub fn timezone(&self) -> chrono_tz::Tz {
        self.sync.timezone.parse().unwrap_or(chrono_tz::UTC)
    }

    /// `sync.full_every` (validated at load; a day if it somehow does not parse).
    pub fn full_every(&self) -> std::time::Duration {
        humantime::parse_duration(self.sync.full_every.trim())
            .unwrap_or(std::time::Duration::from_secs(86_400))
    }

    /// `sync.phone_region` (validated at load; NL if it somehow does not parse).
    pub fn phone_region(&self) -> phonenumber::country::Id {
        self.sync
            .phone_region
            .trim()
            .to_ascii_uppercase()
            .parse()
            .unwrap_or(phonenumber::country::Id::NL)
    }

    /// `nmbrs.debtor_id` when set and not blank.
    pub fn debtor_id(&self) -> Option<&str> {
        non_blank(&self.nmbrs.debtor_id)
    }

    /// `nmbrs.default_employee_template` when set and not blank.
    pub fn default_employee_template(&self) -> Option<&str> {
        non_blank(&self.nmbrs.default_employee_template)
    }

    /// `nmbrs.default_employee_type` when set and not blank.
    pub fn default_employee_type(&self) -> Option<&str> {
        non_blank(&self.nmbrs.default_employee_type)
    }

    /// Loads the layered settings. `file` is the `--config` file (must exist when given).
    ///
    /// Errors: [`ConfigError`] naming the key and the source of its value.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        Self::load_with_env(file, config::Environment::with_prefix(ENV_PREFIX))
    }

    /// The built-in defaults alone (no files, no environment): the base the demo, tests and
    /// benchmarks adjust in code.
    ///
    /// Errors: none in practice (the defaults are compiled in); typed for form's sake.
    pub fn built_in() -> Result<Settings, ConfigError> {
        let raw = config::Config::builder()
            .add_source(config::File::from_str(
                BUILT_IN_DEFAULTS,
                config::FileFormat::Toml,
            ))
            .build()?;
        Ok(raw.try_deserialize()?)
    }

    fn load_with_env(
        file: Option<&Path>,
        env: config::Environment,
    ) -> Result<Settings, ConfigError> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(
                BUILT_IN_DEFAULTS,
                config::FileFormat::Toml,
            ))
            .add_source(config::File::with_name("config/default.toml").required(false));
        if let Some(file) = file {
            builder = builder.add_source(config::File::from(file).required(true));
        }
        let raw = builder
            .add_source(env.prefix_separator("__").separator("__").try_parsing(true))
            .build()?;
        let mut unknown = Vec::new();
        let settings: Settings =
            serde_ignored::deserialize(raw.clone(), |path| unknown.push(path.to_string()))?;
        // A misspelt key would otherwise be ignored silently and its default used.
        if let Some(key) = unknown.first() {
            return Err(ConfigError::Invalid {
                key: key.clone(),
                origin: origin_of(&raw, key),
                message: unknown_key_message(key),
            });
        }
        settings.validate(&raw)?;
        Ok(settings)
    }

    fn validate(&self, raw: &config::Config) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            key: key.to_owned(),
            origin: origin_of(raw, key),
            message,
        };
        let redirect_uri = self.nmbrs.redirect_uri.as_deref().filter(|u| !u.is_empty());
        for (key, url) in [
            ("nmbrs.base_url", Some(self.nmbrs.base_url.as_str())),
            ("nmbrs.token_url", Some(self.nmbrs.token_url.as_str())),
            (
                "nmbrs.authorize_url",
                Some(self.nmbrs.authorize_url.as_str()),
            ),
            ("nmbrs.redirect_uri", redirect_uri),
        ] {
            if let Some(url) = url
                && reqwest::Url::parse(url).is_err()
            {
                return Err(invalid(key, format!("`{url}` is not an absolute URL")));
            }
        }
        if self.nmbrs.timeout_secs == 0 {
            return Err(invalid(
                "nmbrs.timeout_secs",
                "must be at least 1 second".into(),
            ));
        }
        if self.nmbrs.max_concurrency == 0 {
            return Err(invalid(
                "nmbrs.max_concurrency",
                "must be at least 1".into(),
            ));
        }
        if self.nmbrs.max_requests_per_sec == 0 {
            return Err(invalid(
                "nmbrs.max_requests_per_sec",
                "must be at least 1 request/s".into(),
            ));
        }
        if !(1..=MAX_PAGE_SIZE).contains(&self.nmbrs.page_size) {
            return Err(invalid(
                "nmbrs.page_size",
                format!(
                    "must be from 1 to {} (the Nmbrs API's maximum pageSize)",
                    MAX_PAGE_SIZE
                ),
            ));
        }
        if let Some(t) = self.default_employee_type()
            && !crate::fields::EMPLOYEE_TYPES.contains(&t)
        {
            return Err(invalid(
                "nmbrs.default_employee_type",
                format!(
                    "`{t}` is not a Nmbrs employee type; use one of {}",
                    crate::fields::EMPLOYEE_TYPES.join(", ")
                ),
            ));
        }
        for (key, value) in [
            ("nmbrs.debtor_id", &self.nmbrs.debtor_id),
            (
                "nmbrs.default_employee_template",
                &self.nmbrs.default_employee_template,
            ),
        ] {
            if let Some(v) = value
                && !v.trim().is_empty()
                && uuid::Uuid::parse_str(v.trim()).is_err()
            {
                return Err(invalid(key, format!("`{v}` is not a uuid")));
            }
        }
        if self.retry.max_attempts == 0 {
            return Err(invalid(
                "retry.max_attempts",
                "must be at least 1 (the first attempt)".into(),
            ));
        }
        if self.retry.multiplier < 1.0 {
            return Err(invalid("retry.multiplier", "must be at least 1.0".into()));
        }
        if let Err(e) = humantime::parse_duration(self.sync.full_every.trim()) {
            return Err(invalid(
                "sync.full_every",
                format!(
                    "`{}` is not a duration (e.g. \"24h\", \"6h\", \"0s\" for always): {e}",
                    self.sync.full_every
                ),
            ));
        }
        if self.sync.quarantine_after == 0 {
            return Err(invalid(
                "sync.quarantine_after",
                "must be at least 1 cycle".into(),
            ));
        }
        for key in self.sync.field_owner.keys() {
            if Field::from_name(key).is_none() {
                return Err(invalid(
                    &format!("sync.field_owner.{key}"),
                    format!("unknown field; known: {}", field_names()),
                ));
            }
        }
        for key in self.sync.value_map.keys() {
            if !Field::from_name(key).is_some_and(|f| f.resource().is_reference()) {
                return Err(invalid(
                    &format!("sync.value_map.{key}"),
                    "only job_title, department and manager name Nmbrs objects".into(),
                ));
            }
        }
        if let PeriodSetting::Named(name) = &self.sync.period
            && name != "current"
        {
            return Err(invalid(
                "sync.period",
                format!("`{name}`: use \"current\" or {{ year = 2021, period = 4 }}"),
            ));
        }
        if let PeriodSetting::Explicit { period, year } = &self.sync.period
            && (!(1..=53).contains(period) || !(1900..=9999).contains(year))
        {
            return Err(invalid(
                "sync.period",
                format!("year {year}, period {period} is out of range (period 1..=53)"),
            ));
        }
        if self.sync.timezone.parse::<chrono_tz::Tz>().is_err() {
            return Err(invalid(
                "sync.timezone",
                format!(
                    "`{}` is not an IANA time zone name (e.g. \"Europe/Amsterdam\", \"UTC\")",
                    self.sync.timezone
                ),
            ));
        }
        if self
            .sync
            .phone_region
            .trim()
            .to_ascii_uppercase()
            .parse::<phonenumber::country::Id>()
            .is_err()
        {
            return Err(invalid(
                "sync.phone_region",
                format!(
                    "`{}` is not an ISO 3166 region code (e.g. \"NL\", \"BE\")",
                    self.sync.phone_region
                ),
            ));
        }
        if let Err(e) = parse_cron(&self.sync.schedule) {
            return Err(invalid(
                "sync.schedule",
                format!(
                    "`{}` is not a cron expression with a seconds field (e.g. \"0 */15 * * * *\"): {e}",
                    self.sync.schedule
                ),
            ));
        }
        let dialect = crate::hris::schema::Dialect::of_url(&self.hris.database_url);
        if dialect.is_none() {
            return Err(invalid(
                "hris.database_url",
                format!(
                    "`{}` names no supported database; use sqlite:PATH or postgres://USER@HOST/DB",
                    self.hris.database_url
                ),
            ));
        }
        // PostgreSQL may name a schema: `hr.employees`.
        let qualified_ok = dialect == Some(crate::hris::schema::Dialect::Postgres);
        let table_ok = match self.hris.table.split_once('.') {
            Some((schema, table)) => qualified_ok && is_identifier(schema) && is_identifier(table),
            None => is_identifier(&self.hris.table),
        };
        if !table_ok {
            return Err(invalid(
                "hris.table",
                format!(
                    "`{}` is not a plain table name ([A-Za-z_][A-Za-z0-9_]*){}",
                    self.hris.table,
                    if qualified_ok {
                        ", optionally schema-qualified (hr.employees)"
                    } else {
                        "; a schema-qualified name is for PostgreSQL"
                    }
                ),
            ));
        }
        self.columns()
            .map_err(|(key, message)| invalid(&key, message))?;
        Ok(())
    }

    /// The resolved HRIS column map. Errors: `(key, message)` for a bad column name.
    pub fn columns(&self) -> Result<ColumnMap, (String, String)> {
        let col = |name: &str| -> Result<Option<String>, (String, String)> {
            let value = self
                .hris
                .columns
                .get(name)
                .cloned()
                .unwrap_or_else(|| name.to_owned());
            if value.is_empty() {
                return Ok(None);
            }
            if !is_identifier(&value) {
                return Err((
                    format!("hris.columns.{name}"),
                    format!("`{value}` is not a plain column name ([A-Za-z_][A-Za-z0-9_]*)"),
                ));
            }
            Ok(Some(value))
        };
        for key in self.hris.columns.keys() {
            let known = [
                "hris_id",
                "company_number",
                "updated_at",
                "nmbrs_employee_id",
            ]
            .contains(&key.as_str())
                || Field::from_name(key).is_some();
            if !known {
                return Err((
                    format!("hris.columns.{key}"),
                    format!(
                        "unknown column key; known: hris_id, company_number, updated_at, nmbrs_employee_id, {}",
                        field_names()
                    ),
                ));
            }
        }
        let required = |name: &str| -> Result<String, (String, String)> {
            col(name)?.ok_or_else(|| {
                (
                    format!("hris.columns.{name}"),
                    "this column is required".to_owned(),
                )
            })
        };
        let mut fields: [Option<String>; FIELD_COUNT] = Default::default();
        let mut optional = [false; FIELD_COUNT];
        for f in Field::ALL {
            fields[f.index()] = col(f.name())?;
            optional[f.index()] = f.column_optional() && !self.hris.columns.contains_key(f.name());
        }
        for f in [Field::LastName, Field::EmployeeNumber, Field::BirthDate] {
            if fields[f.index()].is_none() {
                return Err((
                    format!("hris.columns.{f}"),
                    "this field is needed to create and match employees".into(),
                ));
            }
        }
        Ok(ColumnMap {
            hris_id: required("hris_id")?,
            company_number: required("company_number")?,
            updated_at: col("updated_at")?,
            nmbrs_employee_id: required("nmbrs_employee_id")?,
            fields,
            optional,
        })
    }

    /// `sync.value_map` by field (validated at load: reference fields only).
    pub fn value_maps(&self) -> BTreeMap<Field, BTreeMap<String, String>> {
        self.sync
            .value_map
            .iter()
            .filter_map(|(k, m)| Some((Field::from_name(k)?, m.clone())))
            .collect()
    }

    /// The owner of each field (index order), from `sync.field_owner`.
    pub fn field_owners(&self) -> [FieldOwner; FIELD_COUNT] {
        let mut owners = [FieldOwner::Both; FIELD_COUNT];
        for (name, owner) in &self.sync.field_owner {
            if let Some(f) = Field::from_name(name) {
                owners[f.index()] = *owner;
            }
        }
        owners
    }

    /// `nmbrs.client_secret` (or `nmbrs.client_secret_file`).
    ///
    /// Errors: [`ConfigError::Invalid`] naming the key when it is unset or its file unreadable.
    pub fn client_secret(&self) -> Result<SecretString, ConfigError> {
        secret(
            "nmbrs.client_secret",
            &self.nmbrs.client_secret,
            &self.nmbrs.client_secret_file,
        )
    }

    /// The key of `state.key_file`, if set (blank counts as unset).
    ///
    /// Errors: [`ConfigError::Invalid`] naming `state.key_file` when the file is unreadable or short.
    pub fn seal_key(&self) -> Result<Option<crate::state::sealing::SealKey>, ConfigError> {
        match self
            .state
            .key_file
            .as_deref()
            .filter(|p| !p.as_os_str().is_empty())
        {
            None => Ok(None),
            Some(path) => crate::state::sealing::SealKey::from_file(path)
                .map(Some)
                .map_err(|e| ConfigError::Invalid {
                    key: "state.key_file".into(),
                    origin: "settings".into(),
                    message: e.to_string(),
                }),
        }
    }

    /// Reads the secrets from their values or `*_file` paths. A missing `nmbrs.refresh_token` is
    /// not an error here: the state database may hold one (`nmbrs-sync authorize`), and the first
    /// token request says what to do if it does not.
    ///
    /// Errors: [`ConfigError::Invalid`] naming the missing key, or the unreadable file (never its content).
    pub fn secrets(&self) -> Result<Secrets, ConfigError> {
        let n = &self.nmbrs;
        let refresh_token = match (&n.refresh_token, &n.refresh_token_file) {
            (Some(v), _) if !v.expose_secret().trim().is_empty() => true,
            (_, Some(f)) if !f.as_os_str().is_empty() => true,
            _ => false,
        };
        Ok(Secrets {
            client_secret: self.client_secret()?,
            refresh_token: if refresh_token {
                Some(secret(
                    "nmbrs.refresh_token",
                    &n.refresh_token,
                    &n.refresh_token_file,
                )?)
            } else {
                None
            },
            subscription_key: secret(
                "nmbrs.subscription_key",
                &n.subscription_key,
                &n.subscription_key_file,
            )?,
        })
    }
}

fn secret(
    key: &str,
    value: &Option<SecretString>,
    file: &Option<PathBuf>,
) -> Result<SecretString, ConfigError> {
    let invalid = |message: String| ConfigError::Invalid {
        key: key.to_owned(),
        origin: "settings".into(),
        message,
    };
    // A value given directly wins over a `*_file` path: a deployment's config file can name a
    // credential file and an operator can still override it with `NMBRS_SYNC__NMBRS__CLIENT_SECRET`.
    if let Some(v) = value
        && !v.expose_secret().trim().is_empty()
    {
        return Ok(SecretString::from(v.expose_secret().trim().to_owned()));
    }
    match file {
        Some(path) if !path.as_os_str().is_empty() => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                invalid(format!("cannot read {key}_file `{}`: {e}", path.display()))
            })?;
            let trimmed = text.trim();
            if trimmed.is_empty() {
                return Err(invalid(format!("{key}_file `{}` is empty", path.display())));
            }
            Ok(SecretString::from(trimmed.to_owned()))
        }
        _ => Err(invalid(format!(
            "not set: give `{key}` or `{key}_file` (env NMBRS_SYNC__{})",
            key.to_uppercase().replace('.', "__")
        ))),
    }
}

/// Where a key's value came from: the file that set it, else the environment (values from variables
/// carry no origin), else the built-in defaults.
/// Keys with no built-in default (optional settings, secrets and their `*_file` forms).
const OPTIONAL_KEYS: [&str; 13] = [
    "nmbrs.client_secret",
    "nmbrs.client_secret_file",
    "nmbrs.refresh_token",
    "nmbrs.refresh_token_file",
    "nmbrs.subscription_key",
    "nmbrs.subscription_key_file",
    "nmbrs.debtor_id",
    "nmbrs.default_employee_type",
    "nmbrs.default_employee_template",
    "nmbrs.redirect_uri",
    "metrics.listen",
    "sync.field_owner",
    "state.key_file",
];

/// "unknown key; did you mean `…`?" — the nearest known key by edit distance, if one is close.
fn unknown_key_message(key: &str) -> String {
    let mut known: Vec<String> = OPTIONAL_KEYS.iter().map(|k| (*k).to_owned()).collect();
    if let Ok(defaults) = config::Config::builder()
        .add_source(config::File::from_str(
            BUILT_IN_DEFAULTS,
            config::FileFormat::Toml,
        ))
        .build()
        && let Ok(sections) =
            defaults.try_deserialize::<std::collections::HashMap<String, config::Value>>()
    {
        for (section, value) in sections {
            if let Ok(table) = value.into_table() {
                known.extend(table.into_keys().map(|k| format!("{section}.{k}")));
            }
        }
    }
    let nearest = known
        .iter()
        .map(|k| (strsim::levenshtein(k, key), k))
        .filter(|(d, _)| *d <= 3)
        .min();
    match nearest {
        Some((_, k)) => format!("unknown key; did you mean `{k}`?"),
        None => "unknown key (see config/default.toml for the known ones)".into(),
    }
}

fn origin_of(raw: &config::Config, key: &str) -> String {
    // `get::<Value>` deserialises and drops the origin; the parent table keeps it.
    let value = match key.rsplit_once('.') {
        Some((parent, child)) => raw
            .get_table(parent)
            .ok()
            .and_then(|t| t.get(child).cloned()),
        None => raw.get::<config::Value>(key).ok(),
    };
    let env_var = format!(
        "environment variable {ENV_PREFIX}__{}",
        key.to_uppercase().replace('.', "__")
    );
    match value.as_ref().and_then(|v| v.origin()) {
        Some("the environment") => return env_var,
        Some(file) => return file.to_owned(),
        None => {}
    }
    let defaults = config::Config::builder()
        .add_source(config::File::from_str(
            BUILT_IN_DEFAULTS,
            config::FileFormat::Toml,
        ))
        .build()
        .ok()
        .and_then(|d| d.get::<config::Value>(key).ok());
    match (value, defaults) {
        (Some(v), Some(d)) if v.to_string() == d.to_string() => "built-in defaults".into(),
        _ => env_var,
    }
}

fn field_names() -> String {
    Field::ALL
        .iter()
        .map(|f| f.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses a cron expression with a seconds field, in the dialect tokio-cron-scheduler uses
/// (`sync.schedule`).
pub fn parse_cron(expr: &str) -> Result<croner::Cron, croner::errors::CronError> {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(expr)
}

/// A plain SQL identifier; such names are safe to splice into the HRIS queries.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.len() <= 64
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
