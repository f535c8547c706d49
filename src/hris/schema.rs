//! The HRIS table's contract (README "The HRIS table", docs/SPEC.md "The HRIS table"): every column,
//! its type per database, the DDL `nmbrs-sync hris init` runs, and how an existing table is compared
//! with it. Pure: the queries that read a table's columns live in `hris/mod.rs`.

use crate::config::ColumnMap;
use crate::fields::Field;

/// The SQL dialect of the HRIS database, from the scheme of `hris.database_url`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// `sqlite:` → SQLite, `postgres://` or `postgresql://` → PostgreSQL; anything else: `None`.
    pub fn of_url(url: &str) -> Option<Dialect> {
        if url.starts_with("sqlite:") {
            Some(Dialect::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Dialect::Postgres)
        } else {
            None
        }
    }
}

/// What a column holds; decides its SQL type per dialect and which declared types are accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// A whole number (the employee number).
    Integer,
    /// A decimal number (hours per week).
    Decimal,
    /// A calendar date, `YYYY-MM-DD` (TEXT in SQLite, DATE in PostgreSQL).
    Date,
    /// A point in time (`updated_at`; RFC 3339 TEXT in SQLite, TIMESTAMPTZ in PostgreSQL).
    Timestamp,
}

impl Kind {
    /// The kind of a field's column.
    pub fn of(f: Field) -> Kind {
        match f {
            Field::EmployeeNumber => Kind::Integer,
            Field::HoursPerWeek => Kind::Decimal,
            Field::BirthDate
            | Field::InServiceDate
            | Field::EndOfServiceDate
            | Field::ContractStartDate
            | Field::ContractEndDate => Kind::Date,
            _ => Kind::Text,
        }
    }

    /// The type `hris init` declares.
    pub fn sql_type(self, dialect: Dialect) -> &'static str {
        match (dialect, self) {
            (Dialect::Sqlite, Kind::Integer) => "INTEGER",
            (Dialect::Sqlite, Kind::Decimal) => "REAL",
            (Dialect::Sqlite, _) => "TEXT",
            (Dialect::Postgres, Kind::Text) => "TEXT",
            (Dialect::Postgres, Kind::Integer) => "INTEGER",
            (Dialect::Postgres, Kind::Decimal) => "NUMERIC(5,2)",
            (Dialect::Postgres, Kind::Date) => "DATE",
            (Dialect::Postgres, Kind::Timestamp) => "TIMESTAMPTZ",
        }
    }

    /// Whether an existing column's declared type can hold this kind as the sync reads and writes
    /// it (SQLite: by type affinity; PostgreSQL: by `information_schema.columns.data_type`).
    pub fn accepts(self, dialect: Dialect, declared: &str) -> bool {
        let t = declared.to_ascii_lowercase();
        match dialect {
            Dialect::Sqlite => {
                let affinity = sqlite_affinity(&t);
                match self {
                    Kind::Integer => matches!(affinity, "INTEGER" | "NUMERIC"),
                    Kind::Decimal => matches!(affinity, "REAL" | "NUMERIC"),
                    Kind::Text | Kind::Date | Kind::Timestamp => affinity == "TEXT",
                }
            }
            Dialect::Postgres => {
                // `format_type` spells a length or precision: `character varying(80)`.
                let t = t.split('(').next().unwrap_or("").trim().to_owned();
                let text = matches!(t.as_str(), "text" | "character varying" | "character");
                match self {
                    Kind::Text => text,
                    Kind::Integer => matches!(t.as_str(), "integer" | "bigint" | "smallint"),
                    Kind::Decimal => matches!(t.as_str(), "numeric" | "real" | "double precision"),
                    Kind::Date => text || t == "date",
                    Kind::Timestamp => {
                        text || t.starts_with("timestamp with")
                            || t.starts_with("timestamp without")
                    }
                }
            }
        }
    }
}

/// SQLite's type affinity of a declared type (https://sqlite.org/datatype3.html, section 3.1).
fn sqlite_affinity(declared: &str) -> &'static str {
    let t = declared.to_ascii_uppercase();
    if t.contains("INT") {
        "INTEGER"
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
        "TEXT"
    } else if t.contains("BLOB") || t.is_empty() {
        "BLOB"
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        "REAL"
    } else {
        "NUMERIC"
    }
}

/// One column of the HRIS table as the configuration maps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnSpec {
    /// The logical name: a [`Field`] name, or `hris_id`, `company_number`, `updated_at`,
    /// `nmbrs_employee_id` (the `hris.columns.*` key).
    pub key: &'static str,
    /// The column's name in the table (`hris.columns.<key>`).
    pub column: String,
    pub kind: Kind,
    pub primary_key: bool,
    /// The field it feeds, if it is one.
    pub field: Option<Field>,
}

/// The table's columns in DDL order: `hris_id`, `company_number`, every mapped field (in
/// [`Field::ALL`] order, optional ones included), `updated_at`, `nmbrs_employee_id`.
pub fn columns(map: &ColumnMap) -> Vec<ColumnSpec> {
    let spec = |key, column: &str, kind, field| ColumnSpec {
        key,
        column: column.to_owned(),
        kind,
        primary_key: key == "hris_id",
        field,
    };
    let mut out = vec![
        spec("hris_id", &map.hris_id, Kind::Text, None),
        spec("company_number", &map.company_number, Kind::Text, None),
    ];
    for f in Field::ALL {
        if let Some(c) = &map.fields[f.index()] {
            out.push(spec(f.name(), c, Kind::of(f), Some(f)));
        }
    }
    if let Some(u) = &map.updated_at {
        out.push(spec("updated_at", u, Kind::Timestamp, None));
    }
    out.push(spec(
        "nmbrs_employee_id",
        &map.nmbrs_employee_id,
        Kind::Text,
        None,
    ));
    out
}

/// A quoted identifier: `"name"`; a schema-qualified table `hr.employees` as `"hr"."employees"`.
/// Names are plain identifiers (validated by `config`), so no escaping is needed.
pub fn quote(ident: &str) -> String {
    ident
        .split('.')
        .map(|p| format!("\"{p}\""))
        .collect::<Vec<_>>()
        .join(".")
}

/// `CREATE TABLE` of the mapped table (no `IF NOT EXISTS`: `hris init` looks first).
pub fn ddl(dialect: Dialect, table: &str, cols: &[ColumnSpec]) -> String {
    let body: Vec<String> = cols
        .iter()
        .map(|c| {
            format!(
                "    {} {}{}",
                quote(&c.column),
                c.kind.sql_type(dialect),
                if c.primary_key { " PRIMARY KEY" } else { "" }
            )
        })
        .collect();
    format!("CREATE TABLE {} (\n{}\n)", quote(table), body.join(",\n"))
}

/// A column of an existing table: name, declared type, part of the primary key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExistingColumn {
    pub name: String,
    pub declared: String,
    pub primary_key: bool,
}

/// How an existing table differs from the contract, one sentence per difference (empty: it
/// matches). Extra columns are not differences: the sync never reads them.
pub fn differences(
    dialect: Dialect,
    existing: &[ExistingColumn],
    cols: &[ColumnSpec],
) -> Vec<String> {
    let mut out = Vec::new();
    for c in cols {
        let found = existing
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(&c.column));
        match found {
            None => out.push(format!(
                "column `{}` (hris.columns.{}) is missing; expected {}",
                c.column,
                c.key,
                c.kind.sql_type(dialect)
            )),
            Some(e) if !c.kind.accepts(dialect, &e.declared) => out.push(format!(
                "column `{}` (hris.columns.{}) is declared `{}`; expected {}",
                c.column,
                c.key,
                if e.declared.is_empty() { "without a type" } else { &e.declared },
                c.kind.sql_type(dialect)
            )),
            Some(e) if c.primary_key && !e.primary_key => out.push(format!(
                "column `{}` (hris.columns.{}) is not the primary key; the sync finds rows by it, so it must be unique",
                c.column, c.key
            )),
            Some(_) => {}
        }
    }
    out
}

/// One line per column for `hris init`: `key → "column" TYPE`.
pub fn mapping_lines(dialect: Dialect, cols: &[ColumnSpec]) -> Vec<String> {
    cols.iter()
        .map(|c| {
            let renamed = if c.column == c.key {
                String::new()
            } else {
                format!(" (hris.columns.{} = \"{}\")", c.key, c.column)
            };
            format!(
                "{:<24} → {} {}{}{}",
                c.key,
                quote(&c.column),
                c.kind.sql_type(dialect),
                if c.primary_key { " PRIMARY KEY" } else { "" },
                renamed
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_columns() -> Vec<ColumnSpec> {
        let map = crate::config::Settings::built_in()
            .expect("settings")
            .columns()
            .expect("columns");
        columns(&map)
    }

    fn words(s: &str) -> Vec<String> {
        s.split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')')
            .filter(|w| !w.is_empty())
            .map(|w| w.trim_matches('"').to_ascii_uppercase())
            .collect()
    }

    /// `hris init` on SQLite creates exactly the table the demo, tests and benches use.
    #[test]
    fn sqlite_ddl_of_the_defaults_is_the_default_table() {
        let ddl = ddl(Dialect::Sqlite, "hris_employees", &default_columns());
        let default = super::super::DEFAULT_TABLE_DDL.replace("IF NOT EXISTS ", "");
        assert_eq!(words(&ddl), words(&default), "{ddl}");
    }

    #[test]
    fn differences_name_missing_mistyped_and_key_columns() {
        let cols = default_columns();
        let mut existing: Vec<ExistingColumn> = cols
            .iter()
            .map(|c| ExistingColumn {
                name: c.column.to_uppercase(),
                declared: c.kind.sql_type(Dialect::Sqlite).to_owned(),
                primary_key: c.primary_key,
            })
            .collect();
        existing.push(ExistingColumn {
            name: "notes".into(),
            declared: "TEXT".into(),
            primary_key: false,
        });
        assert!(differences(Dialect::Sqlite, &existing, &cols).is_empty());
        // VARCHAR(80) has TEXT affinity: still fine.
        existing[3].declared = "VARCHAR(80)".into();
        assert!(differences(Dialect::Sqlite, &existing, &cols).is_empty());
        existing.retain(|e| e.name != "BSN");
        existing[2].declared = "TEXT".into(); // employee_number
        existing[0].primary_key = false;
        let d = differences(Dialect::Sqlite, &existing, &cols);
        assert_eq!(d.len(), 3, "{d:?}");
        assert!(
            d[0].contains("`hris_id`") && d[0].contains("primary key"),
            "{d:?}"
        );
        assert!(
            d[1].contains("`employee_number`") && d[1].contains("INTEGER"),
            "{d:?}"
        );
        assert!(d[2].contains("`bsn`") && d[2].contains("missing"), "{d:?}");
    }

    /// The README documents every column of the table (`hris init` and the README cannot drift).
    #[test]
    fn readme_documents_every_column() {
        let readme = include_str!("../../README.md");
        for c in default_columns() {
            assert!(
                readme.contains(&format!("| `{}` | ", c.key)),
                "README \"The HRIS table\" lacks a row for `{}`",
                c.key
            );
        }
    }

    #[test]
    fn postgres_types_and_qualified_names() {
        let ddl = ddl(Dialect::Postgres, "hr.employees", &default_columns());
        assert!(
            ddl.starts_with("CREATE TABLE \"hr\".\"employees\" ("),
            "{ddl}"
        );
        assert!(ddl.contains("\"birth_date\" DATE"), "{ddl}");
        assert!(ddl.contains("\"hours_per_week\" NUMERIC(5,2)"), "{ddl}");
        assert!(Kind::Date.accepts(Dialect::Postgres, "date"));
        assert!(Kind::Date.accepts(Dialect::Postgres, "text"));
        assert!(!Kind::Integer.accepts(Dialect::Postgres, "text"));
    }
}
