//! Reading a CSV export of an HR tool for `nmbrs-sync import` (README, "Importing a CSV file"): the
//! encoding and delimiter are detected, headers are mapped through `hris.columns`, `dd-mm-yyyy` dates
//! become ISO, and every row goes through THE validator of the sync ([`super::validate::validate`]),
//! so a row the import accepts is a row the next cycle accepts. Pure: no database here.

use super::validate::{self, RawRow, RawValue, SqlType};
use crate::config::ColumnMap;
use crate::fields::Field;

/// A file that cannot be imported at all (as opposed to a rejected row).
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("the file is empty; the first line must name the columns")]
    Empty,
    #[error("the header names `{header}` twice (columns {first} and {second})")]
    DuplicateHeader {
        header: String,
        first: usize,
        second: usize,
    },
    #[error(
        "header `{header}` (column {position}) is not a column of the HRIS table as configured; known: {known}"
    )]
    UnknownHeader {
        header: String,
        position: usize,
        known: String,
    },
    #[error("the header has no `{column}` column (hris.columns.{key}); every row needs it")]
    MissingHeader { column: String, key: &'static str },
    #[error("the file could not be read as CSV: {0}")]
    Csv(#[from] csv::Error),
}

/// The text encoding found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf8Bom,
    /// Not valid UTF-8: read as Windows-1252, what Excel writes for "CSV" on a Western Windows.
    Windows1252,
}

impl std::fmt::Display for Encoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Utf8Bom => "UTF-8 with BOM",
            Encoding::Windows1252 => "Windows-1252 (not valid UTF-8)",
        })
    }
}

/// One valid row, ready to upsert: the key and the values of the columns the file has (canonical,
/// as validation leaves them; `None` = an empty cell, which clears the column).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportRow {
    pub hris_id: String,
    pub company_number: String,
    pub values: Vec<(Field, Option<String>)>,
}

/// A rejected row's problem: the CSV column (as the header spells it) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CellProblem {
    pub column: String,
    pub message: String,
}

/// One data line of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedRow {
    /// 1-based line of the file where the row starts (the header is line 1).
    pub line: u64,
    pub row: Result<ImportRow, Vec<CellProblem>>,
}

/// What was read from the file.
#[derive(Clone, Debug)]
pub struct Parsed {
    pub encoding: Encoding,
    pub delimiter: char,
    pub rows: Vec<ParsedRow>,
}

/// The file's bytes as text, and the encoding found (a UTF-8 BOM is dropped).
pub fn decode(bytes: &[u8]) -> (String, Encoding) {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return (
            String::from_utf8_lossy(rest).into_owned(),
            Encoding::Utf8Bom,
        );
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_owned(), Encoding::Utf8),
        Err(_) => {
            let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
            (text.into_owned(), Encoding::Windows1252)
        }
    }
}

/// `;` when the header line has more semicolons than commas (Excel in a comma-decimal locale),
/// else `,`.
pub fn detect_delimiter(text: &str) -> char {
    let header = text.lines().next().unwrap_or("");
    let count = |c: char| header.chars().filter(|&x| x == c).count();
    if count(';') > count(',') { ';' } else { ',' }
}

/// What a header maps to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    HrisId,
    CompanyNumber,
    Field(Field),
}

/// Maps a header to a column: the configured column name (`hris.columns`), or the logical key when
/// that column has its default name. Case and surrounding spaces are ignored.
fn target_of(header: &str, columns: &ColumnMap) -> Option<Target> {
    let h = header.trim();
    if h.eq_ignore_ascii_case(&columns.hris_id) {
        return Some(Target::HrisId);
    }
    if h.eq_ignore_ascii_case(&columns.company_number) {
        return Some(Target::CompanyNumber);
    }
    Field::ALL.into_iter().find_map(|f| {
        columns.fields[f.index()]
            .as_deref()
            .filter(|c| h.eq_ignore_ascii_case(c))
            .map(|_| Target::Field(f))
    })
}

/// `dd-mm-yyyy` → `yyyy-mm-dd`; anything else unchanged (ISO passes through, and a value of neither
/// shape is left for the validator to name).
pub fn iso_date(s: &str) -> String {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b[2] == b'-'
        && b[5] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 2 || i == 5 || c.is_ascii_digit());
    if shape {
        format!("{}-{}-{}", &s[6..10], &s[3..5], &s[0..2])
    } else {
        s.to_owned()
    }
}

/// Reads the file: detects encoding and delimiter, maps the header, and validates every row with
/// the sync's validator as of `today`.
///
/// Errors: [`CsvError`] for a file that cannot be imported at all (no header, an unknown or doubled
/// header, no `hris_id` or `company_number` column).
pub fn parse(bytes: &[u8], columns: &ColumnMap, today: time::Date) -> Result<Parsed, CsvError> {
    let (text, encoding) = decode(bytes);
    if text.trim().is_empty() {
        return Err(CsvError::Empty);
    }
    let delimiter = detect_delimiter(&text);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter as u8)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader.headers()?.clone();
    let mut targets: Vec<Target> = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let Some(t) = target_of(h, columns) else {
            let mut known = vec![columns.hris_id.clone(), columns.company_number.clone()];
            known.extend(columns.fields.iter().flatten().cloned());
            return Err(CsvError::UnknownHeader {
                header: crate::record::printable(h),
                position: i + 1,
                known: known.join(", "),
            });
        };
        if let Some(first) = targets.iter().position(|x| *x == t) {
            return Err(CsvError::DuplicateHeader {
                header: h.trim().to_owned(),
                first: first + 1,
                second: i + 1,
            });
        }
        targets.push(t);
    }
    for (t, column, key) in [
        (Target::HrisId, &columns.hris_id, "hris_id"),
        (
            Target::CompanyNumber,
            &columns.company_number,
            "company_number",
        ),
    ] {
        if !targets.contains(&t) {
            return Err(CsvError::MissingHeader {
                column: column.clone(),
                key,
            });
        }
    }
    let header_of = |name: &str| -> String {
        targets
            .iter()
            .zip(headers.iter())
            .find(|(t, _)| match t {
                Target::HrisId => name == "hris_id",
                Target::CompanyNumber => name == "company_number",
                Target::Field(f) => f.name() == name,
            })
            .map(|(_, h)| h.trim().to_owned())
            .unwrap_or_else(|| name.to_owned())
    };
    let file_fields: Vec<Field> = targets
        .iter()
        .filter_map(|t| match t {
            Target::Field(f) => Some(*f),
            _ => None,
        })
        .collect();
    let mut rows = Vec::new();
    let mut seen: std::collections::HashMap<String, u64> = Default::default();
    for record in reader.records() {
        let record = record?;
        // From the byte offset: csv's own line count does not advance on a CRLF line end, whose
        // `\n` the record's position may point at (hence the byte at the position counts too).
        let line = record.position().map_or(0, |p| {
            let end = (p.byte() as usize + 1).min(text.len());
            text.as_bytes()[..end]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64
                + 1
        });
        if record.iter().all(|c| c.trim().is_empty()) {
            continue; // a blank line, as spreadsheets leave at the end
        }
        if record.len() != targets.len() {
            rows.push(ParsedRow {
                line,
                row: Err(vec![CellProblem {
                    column: "(row)".into(),
                    message: format!(
                        "has {} cells; the header has {} (a `{delimiter}` inside a value needs quotes)",
                        record.len(),
                        targets.len()
                    ),
                }]),
            });
            continue;
        }
        let text = |s: &str| RawValue {
            text: Some(s.to_owned()),
            sql_type: SqlType::Text,
        };
        let mut raw = RawRow {
            rowid: line as i64,
            hris_id: RawValue {
                text: None,
                sql_type: SqlType::Null,
            },
            company_number: RawValue {
                text: None,
                sql_type: SqlType::Null,
            },
            nmbrs_employee_id: None,
            values: vec![None; Field::ALL.len()],
        };
        for (t, cell) in targets.iter().zip(record.iter()) {
            match t {
                Target::HrisId => raw.hris_id = text(cell.trim()),
                Target::CompanyNumber => raw.company_number = text(cell),
                Target::Field(f) => {
                    let cell = cell.trim();
                    let value = match super::schema::Kind::of(*f) {
                        super::schema::Kind::Date => iso_date(cell),
                        // A comma decimal from a Dutch spreadsheet: 36,5.
                        super::schema::Kind::Decimal if delimiter == ';' => {
                            cell.replacen(',', ".", 1)
                        }
                        _ => cell.to_owned(),
                    };
                    raw.values[f.index()] = Some(text(&value));
                }
            }
        }
        let row = match validate::validate(&raw, &file_fields, today) {
            Ok(rec) => {
                if let Some(first) = seen.insert(rec.hris_id.clone(), line) {
                    Err(vec![CellProblem {
                        column: header_of("hris_id"),
                        message: format!(
                            "`{}` is also on line {first}; each hris_id once per file",
                            rec.hris_id
                        ),
                    }])
                } else {
                    Ok(ImportRow {
                        values: file_fields
                            .iter()
                            .map(|&f| (f, rec.values.get(f).map(str::to_owned)))
                            .collect(),
                        hris_id: rec.hris_id,
                        company_number: rec.company_number,
                    })
                }
            }
            // A message quotes the value as the file has it (`31-02-1990`, not its ISO form).
            Err(rej) => Err(rej
                .problems
                .iter()
                .map(|p| {
                    let mut message = p.message.clone();
                    if let Some(f) = Field::from_name(&p.field)
                        && let Some(Some(v)) = raw.values.get(f.index())
                        && let Some(i) = targets.iter().position(|t| *t == Target::Field(f))
                        && let (Some(iso), Some(cell)) = (v.text.as_deref(), record.get(i))
                        && iso != cell.trim()
                    {
                        message = message.replace(iso, cell.trim());
                    }
                    CellProblem {
                        column: header_of(&p.field),
                        message,
                    }
                })
                .collect()),
        };
        rows.push(ParsedRow { line, row });
    }
    Ok(Parsed {
        encoding,
        delimiter,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns() -> ColumnMap {
        crate::config::Settings::built_in()
            .expect("settings")
            .columns()
            .expect("columns")
    }

    const TODAY: time::Date = time::macros::date!(2026 - 01 - 01);

    #[test]
    fn bom_semicolons_windows_1252_and_dutch_dates() {
        let mut bytes = b"hris_id;company_number;employee_number;first_name;last_name;birth_date;hours_per_week\r\n".to_vec();
        bytes.extend_from_slice(b"E1;2;101;Ren\xe9e;Jansen;01-02-1990;36,5\r\n");
        bytes.extend_from_slice(b"E2;2;102;Jan;Smit;1990-02-01;32\r\n");
        let p = parse(&bytes, &columns(), TODAY).expect("parse");
        assert_eq!((p.encoding, p.delimiter), (Encoding::Windows1252, ';'));
        assert_eq!(p.rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 3]);
        let row = p.rows[0].row.as_ref().expect("valid");
        assert!(
            row.values
                .contains(&(Field::FirstName, Some("Renée".into())))
        );
        assert!(
            row.values
                .contains(&(Field::BirthDate, Some("1990-02-01".into())))
        );
        assert!(
            row.values
                .contains(&(Field::HoursPerWeek, Some("36.5".into())))
        );

        let mut utf8 =
            b"\xEF\xBB\xBFhris_id,company_number,employee_number,last_name,birth_date\n".to_vec();
        utf8.extend_from_slice("E1,2,101,Ren\u{e9}e,1990-02-01\n".as_bytes());
        let p = parse(&utf8, &columns(), TODAY).expect("parse");
        assert_eq!((p.encoding, p.delimiter), (Encoding::Utf8Bom, ','));
        assert!(p.rows[0].row.is_ok(), "{:?}", p.rows);
    }

    #[test]
    fn rejections_name_line_and_header_as_written() {
        let csv = "HRIS_ID,company_number,employee_number,last_name,birth_date\n\
                   E1,2,101,Jansen,31-02-1990\n\
                   E2,2,102,,1990-01-01\n\
                   E1,2,103,Smit,1990-01-01\n\
                   E4,2,104\n";
        let p = parse(csv.as_bytes(), &columns(), TODAY).expect("parse");
        let lines: Vec<(u64, Vec<String>)> = p
            .rows
            .iter()
            .map(|r| {
                (
                    r.line,
                    r.row
                        .as_ref()
                        .err()
                        .map_or(vec![], |ps| ps.iter().map(|c| c.column.clone()).collect()),
                )
            })
            .collect();
        assert_eq!(
            lines,
            vec![
                (2, vec!["birth_date".into()]),
                (3, vec!["last_name".into()]),
                (4, vec![]),
                (5, vec!["(row)".into()]),
            ]
        );
        // E1 on line 4 repeats a key whose first row was rejected: still accepted once.
        let msg = &p.rows[0].row.as_ref().expect_err("bad date")[0].message;
        assert!(msg.contains("`31-02-1990`"), "{msg}");
    }

    #[test]
    fn unknown_and_missing_headers_refuse_the_file() {
        let e =
            parse(b"hris_id,company_number,shoe_size\n", &columns(), TODAY).expect_err("unknown");
        assert!(e.to_string().contains("`shoe_size` (column 3)"), "{e}");
        let e = parse(b"hris_id,last_name\n", &columns(), TODAY).expect_err("missing");
        assert!(e.to_string().contains("no `company_number` column"), "{e}");
        let e = parse(b"hris_id,company_number,hris_id\n", &columns(), TODAY).expect_err("twice");
        assert!(e.to_string().contains("twice"), "{e}");
    }
}
