//! A corpus of HRIS rows built to hurt (docs/SPEC.md rule 6: bad input is rejected per record, naming the
//! row and the field; the rest of the cycle goes on; nothing is lost).
//!
//! Every row is inserted straight into the HRIS table, wrong storage classes and all, and the real
//! binary runs a cycle over them. Each row carries its expected outcome:
//! * `Good`: created in Nmbrs exactly once, its text values byte-identical to the HRIS (after the one
//!   documented normalisation: surrounding whitespace is dropped and an empty value is "no value");
//! * `Reject(fields)`: an audit row `reject` naming the row and exactly these fields;
//! * `Error(words)`: an audit row `error` (planning failure or API refusal) whose message names the
//!   field in one of these spellings.
//!
//! Decisions documented here (the validator's behaviour, `src/hris/validate.rs`):
//! * C0/C1 controls, U+2028/U+2029 (line/paragraph separators) and the explicit bidi formatting
//!   characters U+202A–U+202E, U+2066–U+2069 (RLO & co. can make text display as something else) are
//!   refused in every value. Bidi *marks* (LRM/RLM), ZWJ/ZWNJ and combining marks are part of real
//!   names and emoji and pass unchanged (no Unicode normalisation: NFD stays NFD).
//! * A value made only of invisible characters (zero-width space, BOM, Hangul filler…) is refused:
//!   it is not "empty" to the eye of a trim, but it is to a payroll clerk.
//! * `hris_id` is a key: used verbatim (" id " stays " id "), never trimmed.

use crate::common::{TestApp, pi_field};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};

#[derive(Clone, Debug)]
enum V {
    Null,
    Text(String),
    Int(i64),
    Real(f64),
    Blob(Vec<u8>),
    /// A raw SQL expression (e.g. text that is not valid UTF-8).
    Sql(&'static str),
}

#[derive(Clone, Debug)]
enum Expect {
    Good,
    Reject(&'static [&'static str]),
    Error(&'static [&'static str]),
}

#[derive(Clone, Debug)]
struct Case {
    category: &'static str,
    set: Vec<(&'static str, V)>,
    expect: Expect,
}

fn t(s: impl Into<String>) -> V {
    V::Text(s.into())
}

fn ln(v: V) -> Vec<(&'static str, V)> {
    vec![("last_name", v)]
}

fn fnm(v: V) -> Vec<(&'static str, V)> {
    vec![("first_name", v)]
}

fn case(category: &'static str, set: Vec<(&'static str, V)>, expect: Expect) -> Case {
    Case {
        category,
        set,
        expect,
    }
}

use Expect::{Error, Good, Reject};

const COLUMNS: [&str; 17] = [
    "hris_id",
    "company_number",
    "employee_number",
    "first_name",
    "first_name_in_full",
    "last_name",
    "employee_type",
    "birth_date",
    "birth_country_code_iso",
    "nationality_code_iso",
    "gender",
    "private_email",
    "business_email",
    "business_mobile_phone",
    "private_mobile_phone",
    "partner_name",
    "marital_status",
];

fn corpus() -> Vec<Case> {
    let today = time::OffsetDateTime::now_utc().date();
    let tomorrow = today.next_day().expect("tomorrow");
    let ymd = |d: time::Date| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
    let bd = |v: V| vec![("birth_date", v)];
    let pe = |v: V| vec![("private_email", v)];
    let be = |v: V| vec![("business_email", v)];
    let co = |v: V| vec![("company_number", v)];
    let en = |v: V| vec![("employee_number", v)];
    let id = |v: V| vec![("hris_id", v)];
    const BD: &[&str] = &["birth_date"];
    const LN: &[&str] = &["last_name"];
    const FN: &[&str] = &["first_name"];
    const PE: &[&str] = &["private_email"];
    const BE: &[&str] = &["business_email"];
    const CO: &[&str] = &["company_number"];
    const EN: &[&str] = &["employee_number"];
    const ID: &[&str] = &["hris_id"];
    const DUP: &[&str] = &["employee number", "employee_number"];
    let mut c = vec![
        // ---------------------------------------------------------------- dates
        case("date", bd(t("2023-02-29")), Reject(BD)),
        case("date", bd(t("1990-13-01")), Reject(BD)),
        case("date", bd(t("0000-00-00")), Reject(BD)),
        case("date", bd(t("1899-12-31")), Reject(BD)),
        case("date", bd(t(ymd(tomorrow))), Reject(BD)),
        case("date", bd(t("2999-01-01")), Reject(BD)),
        case("date", bd(t("1990/01/01")), Reject(BD)),
        case("date", bd(t("")), Reject(BD)),
        case("date", bd(t(" ")), Reject(BD)),
        case("date", bd(V::Int(19900101)), Reject(BD)),
        case("date", bd(V::Real(1990.0101)), Reject(BD)),
        case("date", bd(V::Blob(vec![0x00, 0xff])), Reject(BD)),
        case("date", bd(V::Null), Reject(BD)),
        case("date", bd(t("1990-1-1")), Reject(BD)),
        case("date", bd(t("01-02-1990")), Reject(BD)),
        case("date", bd(t("1990-02-01T00:00:00")), Reject(BD)),
        case("date", bd(t("١٩٩٠-٠١-٠١")), Reject(BD)),
        case("date", bd(t("1990-02-01\0")), Reject(BD)),
        case("date", bd(t("+1990-02-01")), Reject(BD)),
        case("date", bd(t("1990-02-31")), Reject(BD)),
        case("date", bd(t("2024-02-29")), Good),
        case("date", bd(t("1900-01-01")), Good),
        case("date", bd(t(ymd(today))), Good),
        case("date", bd(t(" 1985-06-15 ")), Good),
        // ---------------------------------------------------------------- empty / blank names
        case("blank", ln(t("")), Reject(LN)),
        case("blank", ln(t("   ")), Reject(LN)),
        case("blank", ln(t("\u{00A0}")), Reject(LN)),
        case("blank", ln(t("\t\t")), Reject(LN)),
        case("blank", ln(V::Null), Reject(LN)),
        case("blank", ln(t("\u{2003}\u{3000}")), Reject(LN)),
        case("blank", ln(t("\u{200B}")), Reject(LN)),
        case("blank", ln(t("\u{3164}")), Reject(LN)),
        case("blank", ln(t("\u{FEFF}")), Reject(LN)),
        case("blank", fnm(t("\u{200B}\u{200D}")), Reject(FN)),
        // An optional name that is only whitespace is "no value", not an error.
        case("blank", fnm(t("   ")), Good),
        case("blank", fnm(t("\u{00A0}\t")), Good),
        // ---------------------------------------------------------------- long strings
        case("long", ln(t("x".repeat(10_000))), Reject(LN)),
        case("long", fnm(t("é".repeat(5_000))), Reject(FN)),
        case(
            "long",
            pe(t(format!("{}@example.com", "a".repeat(10_000)))),
            Reject(PE),
        ),
        case(
            "long",
            vec![("partner_name", t("👨‍👩‍👧".repeat(2_000)))],
            Reject(&["partner_name"]),
        ),
        case("long", id(t("k".repeat(10_000))), Reject(ID)),
        case(
            "long",
            vec![("gender", t("g".repeat(10_000)))],
            Reject(&["gender"]),
        ),
        case("long", ln(t("L".repeat(256))), Reject(LN)),
        case("long", ln(t("L".repeat(255))), Good),
        case("long", fnm(t("😀".repeat(255))), Good),
        // ---------------------------------------------------------------- control characters
        case("control", ln(t("Han\0ison")), Reject(LN)),
        case("control", ln(t("Han\nison")), Reject(LN)),
        case("control", fnm(t("Li\rsa")), Reject(FN)),
        case("control", ln(t("\x1b[31mRed\x1b[0m")), Reject(LN)),
        case("control", fnm(t("Lisa\u{2028}Hanison")), Reject(FN)),
        case(
            "control",
            vec![("partner_name", t("Rick\u{2029}Petterson"))],
            Reject(&["partner_name"]),
        ),
        case("control", ln(t("Tab\there")), Reject(LN)),
        case("control", fnm(t("Bell\x07")), Reject(FN)),
        case("control", ln(t("Del\x7f")), Reject(LN)),
        case("control", ln(t("Nel\u{0085}x")), Reject(LN)),
        case("control", id(t("hx\n[ERROR] forged")), Reject(ID)),
        case(
            "control",
            vec![("employee_type", t("applicant\n[ERROR] forged"))],
            Reject(&["employee_type"]),
        ),
        // ---------------------------------------------------------------- SQL meta characters: valid text
        case("sql", ln(t("'; DROP TABLE hris_employees; --")), Good),
        case("sql", fnm(t("\" OR 1=1 --")), Good),
        case("sql", ln(t("O'Brien")), Good),
        case("sql", ln(t("Back\\slash\\\\")), Good),
        case(
            "sql",
            vec![("partner_name", t("Robert'); DELETE FROM audit_log; --"))],
            Good,
        ),
        case("sql", id(t("'; DROP TABLE hris_employees; --")), Good),
        case("sql", id(t("x' OR '1'='1")), Good),
        case("sql", fnm(t("%_*?[]")), Good),
        case("sql", pe(t("o'brien@example.com")), Good),
        case(
            "sql",
            ln(t("Robert\"; SELECT * FROM employee_links; --")),
            Good,
        ),
        // ---------------------------------------------------------------- emoji, RTL, bidi
        case("unicode", fnm(t("Zoë 🎉")), Good),
        case("unicode", ln(t("👩‍💻 Dev")), Good),
        case("unicode", ln(t("العمراني")), Good),
        case("unicode", fnm(t("עִבְרִית")), Good),
        case("unicode", ln(t("王小明")), Good),
        case("unicode", vec![("partner_name", t("मनोज कुमार"))], Good),
        case("unicode", fnm(t("فاطمه\u{200C}زهرا")), Good),
        case("unicode", ln(t("𝕳𝖆𝖓𝖎𝖘𝖔𝖓")), Good),
        case("unicode", fnm(t("🏳️‍🌈")), Good),
        case("unicode", ln(t("Ali\u{200F}")), Good),
        case("unicode", ln(t("Hanison\u{202E}nosirap")), Reject(LN)),
        case("unicode", fnm(t("\u{202B}عربي\u{202C}")), Reject(FN)),
        case("unicode", ln(t("\u{2067}isolate\u{2069}")), Reject(LN)),
        // ---------------------------------------------------------------- combining characters
        case("combining", fnm(t("e\u{0301}lodie")), Good),
        case(
            "combining",
            ln(t("Zalgo\u{0335}\u{0322}\u{0320}\u{0313}")),
            Good,
        ),
        case("combining", fnm(t("\u{0301}\u{0301}")), Good),
        case("combining", ln(t("A\u{034F}B")), Good),
        // ---------------------------------------------------------------- company numbers
        case("company", co(t("99")), Reject(CO)),
        case("company", co(V::Null), Reject(CO)),
        case("company", co(t("")), Reject(CO)),
        case("company", co(t("   ")), Reject(CO)),
        case("company", co(V::Blob(vec![0x32])), Reject(CO)),
        case("company", co(V::Real(2.5)), Reject(CO)),
        case(
            "company",
            co(t("'; DROP TABLE hris_employees; --")),
            Reject(CO),
        ),
        case("company", co(t("2' OR '1'='1")), Reject(CO)),
        case("company", co(t("\u{00A0}2")), Reject(CO)),
        case("company", co(t("٢")), Reject(CO)),
        case("company", co(t("02")), Reject(CO)),
        case("company", co(t("2\n")), Reject(CO)),
        case("company", co(t(" 2 ")), Good),
        case("company", co(V::Int(1)), Good),
        // ---------------------------------------------------------------- duplicate employee numbers
        case(
            "duplicate",
            vec![("employee_number", V::Int(777_001))],
            Error(DUP),
        ),
        case(
            "duplicate",
            vec![("employee_number", V::Int(777_001))],
            Error(DUP),
        ),
        case(
            "duplicate",
            vec![
                ("company_number", t("1")),
                ("employee_number", V::Int(777_002)),
            ],
            Error(DUP),
        ),
        case(
            "duplicate",
            vec![
                ("company_number", t("1")),
                ("employee_number", V::Int(777_002)),
            ],
            Error(DUP),
        ),
        case(
            "duplicate",
            vec![
                ("company_number", t("1")),
                ("employee_number", V::Int(777_002)),
            ],
            Error(DUP),
        ),
        // The same number in two companies is fine.
        case(
            "duplicate",
            vec![
                ("company_number", t("1")),
                ("employee_number", V::Int(777_003)),
            ],
            Good,
        ),
        case(
            "duplicate",
            vec![
                ("company_number", t("2")),
                ("employee_number", V::Int(777_003)),
            ],
            Good,
        ),
        // One valid and one invalid row with one number: the valid one is created.
        case(
            "duplicate",
            vec![("employee_number", V::Int(777_004))],
            Good,
        ),
        case(
            "duplicate",
            vec![
                ("employee_number", V::Int(777_004)),
                ("birth_date", t("1990-02-30")),
            ],
            Reject(BD),
        ),
        // ---------------------------------------------------------------- hris_id
        case("hris_id", id(V::Null), Reject(ID)),
        case("hris_id", id(t("")), Reject(ID)),
        case("hris_id", id(t(" \u{00A0} ")), Reject(ID)),
        case("hris_id", id(V::Blob(vec![0x00, 0xff])), Reject(ID)),
        case("hris_id", id(V::Sql("CAST(x'ff41' AS TEXT)")), Reject(ID)),
        case("hris_id", id(V::Int(4242)), Good),
        case("hris_id", id(t(" padded-id ")), Good),
        case(
            "hris_id",
            vec![("hris_id", V::Null), ("last_name", V::Null)],
            Reject(&["hris_id", "last_name"]),
        ),
        // ---------------------------------------------------------------- wrong storage classes
        case("type", fnm(V::Blob(vec![0x00, 0xff])), Reject(FN)),
        case("type", ln(V::Blob(b"Hanison".to_vec())), Reject(LN)),
        case("type", fnm(V::Sql("CAST(x'c328' AS TEXT)")), Reject(FN)),
        case("type", ln(V::Sql("CAST(x'48616eff' AS TEXT)")), Reject(LN)),
        case("type", en(t("abc")), Reject(EN)),
        case("type", en(V::Real(12.5)), Reject(EN)),
        case("type", en(V::Null), Reject(EN)),
        case("type", en(V::Blob(vec![0x01])), Reject(EN)),
        case("type", en(t("")), Reject(EN)),
        case("type", en(t("0x1F")), Reject(EN)),
        case("type", en(t("١٢")), Reject(EN)),
        case("number", en(V::Int(0)), Reject(EN)),
        case("number", en(V::Int(-5)), Reject(EN)),
        case("number", en(V::Int(i64::MAX)), Reject(EN)),
        case("number", en(V::Int(i64::MIN)), Reject(EN)),
        case("number", en(V::Int(i64::from(i32::MAX) + 1)), Reject(EN)),
        case("number", en(t("99999999999999999999")), Reject(EN)),
        case("number", en(V::Real(1e300)), Reject(EN)),
        case("number", en(V::Int(i64::from(i32::MAX))), Good),
        case(
            "type",
            vec![("birth_country_code_iso", t("nl"))],
            Reject(&["birth_country_code_iso"]),
        ),
        case("type", vec![("nationality_code_iso", t("NLD"))], Good),
        // ---------------------------------------------------------------- e-mail addresses
        case("email", pe(t("not-an-email")), Reject(PE)),
        case("email", pe(t("@example.com")), Reject(PE)),
        case("email", pe(t("user@")), Reject(PE)),
        case("email", pe(t("user@localhost")), Reject(PE)),
        case("email", pe(t("user@@example.com")), Reject(PE)),
        case("email", pe(t("a@b@example.com")), Reject(PE)),
        case("email", pe(t("user@.example.com")), Reject(PE)),
        case("email", pe(t("user@example..com")), Reject(PE)),
        case("email", pe(t("user@example.com.")), Reject(PE)),
        case("email", pe(t("user name@example.com")), Reject(PE)),
        case("email", pe(t("\"q\"@example.com")), Reject(PE)),
        case("email", pe(t("<a@example.com>")), Reject(PE)),
        case("email", pe(t("a@example.com, b@example.com")), Reject(PE)),
        case("email", pe(t("user@-example.com")), Reject(PE)),
        case("email", be(t(".user@example.com")), Reject(BE)),
        case("email", be(t("us..er@example.com")), Reject(BE)),
        case("email", pe(t("user.@example.com")), Reject(PE)),
        case("email", pe(t("user@exa_mple.com")), Reject(PE)),
        case("email", pe(t("user@exa!mple.com")), Reject(PE)),
        case(
            "email",
            pe(t(format!("{}@example.com", "a".repeat(65)))),
            Reject(PE),
        ),
        case("email", pe(t("user\u{202E}@example.com")), Reject(PE)),
        case("email", pe(t("user@exam\u{2028}ple.com")), Reject(PE)),
        // Well-formed for the HRIS; the API's stricter rule (alphabetic TLD) answers 400.
        case(
            "email",
            pe(t("user@example.c0m")),
            Error(&["privateEmail", "private_email"]),
        ),
        case("email", be(t("First.Last+tag@sub.example.co.uk")), Good),
        case("email", pe(t("üser@exämple.de")), Good),
        case("email", pe(t(" spaced@example.com ")), Good),
        // ---------------------------------------------------------------- phone numbers
        case(
            "phone",
            vec![("business_mobile_phone", t("06-CALL-ME"))],
            Reject(&["business_mobile_phone"]),
        ),
        case(
            "phone",
            vec![("private_mobile_phone", t("+"))],
            Reject(&["private_mobile_phone"]),
        ),
        case(
            "phone",
            vec![("business_mobile_phone", t("١٢٣٤٥٦"))],
            Reject(&["business_mobile_phone"]),
        ),
        case(
            "phone",
            vec![("business_mobile_phone", t("0612345678 ext 5"))],
            Reject(&["business_mobile_phone"]),
        ),
        case(
            "phone",
            vec![("private_mobile_phone", t("+31 6 1234 5678"))],
            Good,
        ),
        case(
            "phone",
            vec![("private_mobile_phone", t("+31 (0)6-1234.5678"))],
            Good,
        ),
        // ---------------------------------------------------------------- several problems at once
        case(
            "multi",
            vec![
                ("company_number", t("99")),
                ("birth_date", t("yesterday")),
                ("private_email", t("nope")),
            ],
            Reject(&["company_number", "birth_date", "private_email"]),
        ),
        case(
            "multi",
            vec![
                ("first_name", t("Li\0sa")),
                ("last_name", t("  ")),
                ("employee_number", t("x")),
            ],
            Reject(&["first_name", "last_name", "employee_number"]),
        ),
    ];
    // A handful of plain rows, so "the rest of the cycle goes on" is visible among the hostile ones.
    for _ in 0..4 {
        c.push(case("plain", vec![], Good));
    }
    c
}

/// A row as inserted: every column's value.
#[derive(Clone, Debug)]
struct Inserted {
    rowid: i64,
    case: Case,
    values: HashMap<&'static str, V>,
}

impl Inserted {
    fn get(&self, col: &str) -> &V {
        self.values.get(col).unwrap_or(&V::Null)
    }

    /// The `hris_id` an audit row carries for this row.
    fn audit_id(&self) -> String {
        match self.get("hris_id") {
            V::Text(s) if !s.trim().is_empty() => s.clone(),
            V::Int(n) => n.to_string(),
            _ => format!("rowid:{}", self.rowid),
        }
    }

    /// Text of a column after the documented normalisation (trim; empty = none).
    fn normalised(&self, col: &str) -> Option<String> {
        match self.get(col) {
            V::Text(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
            V::Int(n) => Some(n.to_string()),
            _ => None,
        }
    }
}

async fn insert_corpus(app: &TestApp, cases: Vec<Case>) -> Vec<Inserted> {
    let mut out = Vec::new();
    for (i, case) in cases.into_iter().enumerate() {
        let mut values: HashMap<&'static str, V> = HashMap::new();
        values.insert("hris_id", t(format!("hx-{i:03}")));
        values.insert("company_number", t("2"));
        values.insert("employee_number", V::Int(20_000 + i as i64));
        values.insert("first_name", t("Test"));
        values.insert("last_name", t(format!("Corpus{i}")));
        values.insert("birth_date", t("1985-06-15"));
        values.insert("employee_type", t("payroll"));
        for (k, v) in &case.set {
            values.insert(k, v.clone());
        }
        let marks: Vec<String> = COLUMNS
            .iter()
            .map(|c| match values.get(c) {
                Some(V::Sql(expr)) => (*expr).to_owned(),
                _ => "?".into(),
            })
            .collect();
        let sql = format!(
            "INSERT INTO hris_employees ({}, updated_at) VALUES ({}, datetime('now'))",
            COLUMNS.join(", "),
            marks.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for c in COLUMNS {
            q = match values.get(c).cloned().unwrap_or(V::Null) {
                V::Null => q.bind(None::<String>),
                V::Text(s) => q.bind(s),
                V::Int(n) => q.bind(n),
                V::Real(f) => q.bind(f),
                V::Blob(b) => q.bind(b),
                V::Sql(_) => q,
            };
        }
        let rowid = q
            .execute(&app.hris)
            .await
            .unwrap_or_else(|e| panic!("insert case {i} {case:?}: {e}"))
            .last_insert_rowid();
        out.push(Inserted {
            rowid,
            case,
            values,
        });
    }
    out
}

/// Every row's every column except the two the daemon writes, exactly (storage class + bytes).
async fn hris_fingerprint(app: &TestApp) -> Vec<String> {
    let cols: Vec<String> = COLUMNS
        .iter()
        .map(|c| format!("typeof({c}) || ':' || hex({c})"))
        .collect();
    let sql = format!(
        "SELECT rowid || '|' || {} FROM hris_employees ORDER BY rowid",
        cols.join(" || '|' || ")
    );
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_all(&app.hris)
        .await
        .expect("fingerprint")
}

/// (action, hris_id, fields, message) of every audit row.
async fn audit(app: &TestApp) -> Vec<(String, Option<String>, Option<String>, Option<String>)> {
    let state = app.state().await;
    sqlx::query_as("SELECT action, hris_id, fields, message FROM audit_log ORDER BY id")
        .fetch_all(&state)
        .await
        .expect("audit")
}

#[tokio::test]
async fn hostile_corpus_rejects_each_bad_row_by_name_and_syncs_the_rest_unchanged() {
    let started = std::time::Instant::now();
    let app = TestApp::spawn().await;
    let rows = insert_corpus(&app, corpus()).await;
    let mut per_category: std::collections::BTreeMap<&str, usize> = Default::default();
    for r in &rows {
        *per_category.entry(r.case.category).or_default() += 1;
    }
    let good: Vec<&Inserted> = rows
        .iter()
        .filter(|r| matches!(r.case.expect, Good))
        .collect();
    eprintln!(
        "corpus: {} rows ({} good) by category {per_category:?}",
        rows.len(),
        good.len()
    );
    assert!(rows.len() >= 100);
    let before = hris_fingerprint(&app).await;

    let fast = [("NMBRS_SYNC__NMBRS__MAX_REQUESTS_PER_SEC", Some("500"))];
    let (code, stdout, stderr) = app.run(&["sync", "--once"], &fast).await;
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        code, 1,
        "some rows fail, the cycle finishes: {stdout}\n{stderr}"
    );

    // The table is still there, with every row, byte for byte (SQL in values did nothing).
    let after = hris_fingerprint(&app).await;
    assert_eq!(after.len(), rows.len(), "no HRIS row lost or added");
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b, a, "an HRIS row was altered");
    }
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(&app.hris)
            .await
            .expect("tables");
    assert_eq!(tables, ["hris_employees"]);

    // Good rows: in Nmbrs exactly once, values unchanged.
    let mut problems = Vec::new();
    let companies = [("1", app.company1.clone()), ("2", app.company2.clone())];
    let mut nmbrs: Vec<(String, Value)> = Vec::new();
    for (number, id) in &companies {
        for e in app.employees(id) {
            nmbrs.push((number.to_string(), e));
        }
    }
    for r in &good {
        let company = r.normalised("company_number").unwrap_or_default();
        let number: i64 = r
            .normalised("employee_number")
            .and_then(|n| n.parse().ok())
            .expect("good rows have a number");
        let found: Vec<&Value> = nmbrs
            .iter()
            .filter(|(c, e)| *c == company && pi_field(e, "basicInfo", "employeeNumber") == number)
            .map(|(_, e)| e)
            .collect();
        let [e] = found.as_slice() else {
            problems.push(format!(
                "good row {:?} ({:?}): {} employees in Nmbrs",
                r.audit_id(),
                r.case.set,
                found.len()
            ));
            continue;
        };
        for col in COLUMNS.iter().skip(3) {
            let field = nmbrs_sync::fields::Field::from_name(col).expect("field");
            let got = nmbrs_sync::nmbrs::model::read_values(&e["personalInfo"], &[field])
                .expect("readable")
                .get(field)
                .map(str::to_owned);
            let want = r.normalised(col);
            if got != want {
                problems.push(format!(
                    "good row {:?}: {col} is {got:?} in Nmbrs, {want:?} in the HRIS",
                    r.audit_id()
                ));
            }
        }
        let written: Option<String> =
            sqlx::query_scalar("SELECT nmbrs_employee_id FROM hris_employees WHERE rowid = ?")
                .bind(r.rowid)
                .fetch_one(&app.hris)
                .await
                .expect("row");
        if written.as_deref() != e["employeeId"].as_str() {
            problems.push(format!(
                "good row {:?}: nmbrs_employee_id {written:?} not written back",
                r.audit_id()
            ));
        }
    }
    if nmbrs.len() != good.len() {
        problems.push(format!(
            "{} employees in Nmbrs for {} good rows",
            nmbrs.len(),
            good.len()
        ));
    }

    // Bad rows: an audit row naming the row and the field; nothing in Nmbrs, nothing written back.
    let log = audit(&app).await;
    for r in rows.iter().filter(|r| !matches!(r.case.expect, Good)) {
        let who = r.audit_id();
        let mine: Vec<_> = log
            .iter()
            .filter(|(_, h, _, _)| h.as_deref() == Some(who.as_str()))
            .collect();
        // A row the HRIS check refuses never gets as far as a create intent; a row only the API
        // refuses (Error) has an intent but no `create`.
        let created = mine.iter().any(|(a, ..)| match r.case.expect {
            Reject(_) => a.starts_with("create"),
            _ => a == "create",
        });
        if created {
            problems.push(format!("bad row {who:?}: a create was attempted: {mine:?}"));
        }
        match r.case.expect {
            Reject(fields) => {
                let Some((_, _, f, m)) = mine.iter().find(|(a, ..)| a == "reject") else {
                    problems.push(format!(
                        "bad row {who:?} ({:?}): no reject audit row; got {mine:?}",
                        r.case.set
                    ));
                    continue;
                };
                let named: BTreeSet<String> =
                    serde_json::from_str::<serde_json::Map<String, Value>>(
                        f.as_deref().unwrap_or("{}"),
                    )
                    .expect("fields json")
                    .keys()
                    .cloned()
                    .collect();
                let want: BTreeSet<String> = fields.iter().map(|s| s.to_string()).collect();
                let m = m.clone().unwrap_or_default();
                if named != want || !fields.iter().all(|f| m.contains(f)) {
                    problems.push(format!(
                        "bad row {who:?} ({:?}): rejected for {named:?}, expected {want:?}: {m}",
                        r.case.set
                    ));
                }
                let names_row = m.contains(&format!("rowid {}", r.rowid));
                if !names_row {
                    problems.push(format!(
                        "reject message does not name rowid {}: {m}",
                        r.rowid
                    ));
                }
            }
            Error(words) => {
                let ok = mine.iter().any(|(a, _, _, m)| {
                    a == "error" && words.iter().any(|w| m.as_deref().unwrap_or("").contains(w))
                });
                if !ok {
                    problems.push(format!(
                        "bad row {who:?} ({:?}): no error audit row naming {words:?}: {mine:?}",
                        r.case.set
                    ));
                }
            }
            Good => unreachable!(),
        }
        let written: Option<String> =
            sqlx::query_scalar("SELECT nmbrs_employee_id FROM hris_employees WHERE rowid = ?")
                .bind(r.rowid)
                .fetch_one(&app.hris)
                .await
                .expect("row");
        if written.is_some() {
            problems.push(format!("bad row {who:?} got an employee id {written:?}"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );

    // A second cycle: nothing new in Nmbrs, no new create, the HRIS still byte-identical.
    let creates = log.iter().filter(|(a, ..)| a == "create").count();
    assert_eq!(creates, good.len());
    let (code, stdout, stderr) = app.run(&["sync", "--once"], &fast).await;
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.contains("created 0"), "{stdout}");
    assert_eq!(app.sandbox.employee_count(), good.len());
    let log2 = audit(&app).await;
    assert_eq!(
        log2.iter().filter(|(a, ..)| a == "create").count(),
        creates,
        "no second create"
    );
    assert_eq!(hris_fingerprint(&app).await, before);
    eprintln!("hostile corpus took {:?}", started.elapsed());
}

/// An HRIS table whose columns have no declared type (SQLite keeps whatever storage class is
/// inserted, so integers stay integers in name columns) — a table we did not create.
#[tokio::test]
async fn untyped_table_wrong_storage_classes_are_rejected_and_integer_keys_work() {
    let app = TestApp::spawn().await;
    app.exec("DROP TABLE hris_employees").await;
    app.exec(
        "CREATE TABLE hris_employees (hris_id PRIMARY KEY, company_number, employee_number,
         first_name, first_name_in_full, last_name, employee_type, birth_date, birth_country_code_iso,
         nationality_code_iso, gender, private_email, business_email, business_mobile_phone,
         private_mobile_phone, partner_name, marital_status, updated_at, nmbrs_employee_id)",
    )
    .await;
    let cases = vec![
        case("type", ln(V::Int(42)), Reject(LN_)),
        case("type", ln(V::Real(2.5)), Reject(LN_)),
        case("type", fnm(V::Int(7)), Reject(&["first_name"])),
        case(
            "type",
            vec![("birth_date", V::Int(19900101))],
            Reject(&["birth_date"]),
        ),
        case(
            "type",
            vec![("birth_date", V::Real(1990.5))],
            Reject(&["birth_date"]),
        ),
        case(
            "type",
            vec![("private_mobile_phone", V::Int(612_345_678))],
            Reject(&["private_mobile_phone"]),
        ),
        case(
            "type",
            vec![("private_email", V::Int(5))],
            Reject(&["private_email"]),
        ),
        case("type", vec![("employee_number", t("12"))], Good),
        case(
            "type",
            vec![("employee_number", V::Real(12.0))],
            Reject(&["employee_number"]),
        ),
        case("type", vec![("company_number", V::Int(2))], Good),
        // An integer key: the write-back must find the row.
        case("type", vec![("hris_id", V::Int(31337))], Good),
        case("type", vec![], Good),
    ];
    let rows = insert_corpus(&app, cases).await;
    let r = app.cycle().await;
    let log = audit(&app).await;
    let mut problems = Vec::new();
    for row in &rows {
        let who = row.audit_id();
        let written: Option<String> =
            sqlx::query_scalar("SELECT nmbrs_employee_id FROM hris_employees WHERE rowid = ?")
                .bind(row.rowid)
                .fetch_one(&app.hris)
                .await
                .expect("row");
        match row.case.expect {
            Good => {
                if written.is_none() {
                    problems.push(format!("good row {who:?}: no employee id written back"));
                }
            }
            Reject(fields) => {
                let ok = log.iter().any(|(a, h, _, m)| {
                    a == "reject"
                        && h.as_deref() == Some(who.as_str())
                        && fields
                            .iter()
                            .all(|f| m.as_deref().unwrap_or("").contains(f))
                });
                if !ok || written.is_some() {
                    problems.push(format!("bad row {who:?} ({:?}) not rejected", row.case.set));
                }
            }
            Error(_) => unreachable!(),
        }
    }
    assert!(
        problems.is_empty(),
        "{}\n{}",
        r.summary(),
        problems.join("\n")
    );
    // Second cycle: the integer-keyed row is settled (written back), nothing to do.
    let r2 = app.cycle().await;
    assert_eq!(r2.counts.created, 0, "{}", r2.summary());
    assert_eq!(r2.counts.updated + r2.counts.pulled, 0, "{}", r2.summary());
    assert_eq!(
        app.sandbox.employee_count(),
        rows.iter()
            .filter(|r| matches!(r.case.expect, Good))
            .count()
    );
}

const LN_: &[&str] = &["last_name"];
