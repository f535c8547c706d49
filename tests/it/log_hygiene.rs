//! Log hygiene (issue 15; README "Personal data"): every command at every log level over data with a
//! recognisable BSN, e-mail, phone and birth date.
//!
//! What may appear where:
//! * logs (stderr) at `error`, `warn` and `info`: none of them (ids and field names only);
//! * logs at `debug` and `trace`: e-mail, phone and birth date may (rejection details, failure
//!   text); the BSN never;
//! * standard output: the BSN never (audit output shows it masked); `audit` shows the other values,
//!   that is what it is for.

use crate::common::{TestApp, person};
use serde_json::json;

const BSN: &str = "123456782";
const EMAIL: &str = "lisa.hygiene@example.com";
/// The digits of the phone as every format of it contains them (`0698765432`, `+31698765432`).
const PHONE: &str = "98765432";
const BIRTH: &str = "1987-06-05";
/// An invalid e-mail of a rejected row: the rejection message quotes it.
const BAD_EMAIL: &str = "broken.hygiene@@example";
/// Values of the demo's own people.
const DEMO_VALUES: [&str; 3] = [
    "lisa.hanison@company2.example",
    "jan.devries@company2.example",
    "1984-07-12",
];

/// Runs every command at `level`; returns (command, stdout, stderr) of each.
async fn every_command(level: &str) -> Vec<(String, String, String)> {
    let app = TestApp::spawn().await;
    let mut lisa = person("h-1", "2", 98072, "Lisa", "Hanison");
    lisa.private_email = Some(EMAIL.into());
    lisa.birth_date = BIRTH.into();
    app.insert(&lisa).await;
    app.set(
        "h-1",
        &[
            ("bsn", Some(BSN)),
            ("private_mobile_phone", Some("0698765432")),
        ],
    )
    .await;
    let mut broken = person("h-3", "2", 503, "Broken", "Row");
    broken.private_email = Some(BAD_EMAIL.into());
    broken.birth_date = BIRTH.into();
    app.insert(&broken).await;

    let export = app.dir.path().join("export.json");
    let tmp = app.dir.path().to_str().expect("path").to_owned();
    let env = [
        ("NMBRS_SYNC__LOG__LEVEL", Some(level)),
        ("RUST_LOG", Some(level)),
        // The demo's throw-away databases go in the test's temp dir.
        ("TMPDIR", Some(tmp.as_str())),
    ];
    let mut outputs = Vec::new();
    let mut run = async |args: &[&str]| {
        let (_, out, err) = app.run(args, &env).await;
        outputs.push((args.join(" "), out, err));
    };
    run(&["sync", "--once"]).await;
    let id = app
        .hris_value("h-1", "nmbrs_employee_id")
        .await
        .expect("created");
    // A change on each side: an update (GET → PUT) and a pull.
    app.set("h-1", &[("last_name", Some("Petterson"))]).await;
    assert!(app.sandbox.edit_personal_info(
        &id,
        "contactInfo.businessEmail",
        json!("lisa.work.hygiene@example.com")
    ));
    run(&["sync", "--once", "--dry-run"]).await;
    run(&["sync", "--once"]).await;
    run(&["status"]).await;
    run(&["audit"]).await;
    run(&["audit", "--json"]).await;
    run(&["audit", "--verify"]).await;
    run(&["audit", "prune"]).await;
    run(&[
        "audit",
        "--subject",
        "h-1",
        "--export",
        export.to_str().expect("path"),
    ])
    .await;
    run(&["doctor"]).await;
    run(&["release", "h-3"]).await;
    run(&["forget", "h-1"]).await;
    run(&["sync", "--once"]).await;
    run(&["release", "h-1"]).await;
    run(&["sync", "--once"]).await;
    run(&["demo"]).await;
    outputs
}

async fn check_level(level: &str) {
    let outputs = every_command(level).await;
    let quiet = matches!(level, "error" | "warn" | "info");
    let mut leaks = Vec::new();
    let mut debug_shows_values = false;
    for (command, out, err) in &outputs {
        if out.contains(BSN) || err.contains(BSN) {
            leaks.push(format!("the BSN in the output of `{command}`"));
        }
        debug_shows_values |= err.contains(BAD_EMAIL);
        if quiet {
            let values = [EMAIL, "lisa.work.hygiene", PHONE, BIRTH, BAD_EMAIL];
            for v in values.iter().chain(DEMO_VALUES.iter()) {
                if err.contains(v) {
                    leaks.push(format!("{v} in the {level} log of `{command}`"));
                }
            }
        }
    }
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
    // The data reaches logging at all: at debug the rejection details name the bad e-mail (so a
    // leak at info would have been seen).
    assert_eq!(
        debug_shows_values, !quiet,
        "rejection details are logged at debug and below only"
    );
    // The commands did their work at this level too.
    let (_, out, _) = outputs
        .iter()
        .find(|(c, _, _)| c == "audit --verify")
        .expect("verify ran");
    assert!(out.contains("intact"), "{out}");
    assert!(
        outputs
            .iter()
            .any(|(c, out, _)| c == "sync --once" && out.contains("created 1"))
    );
    assert!(
        outputs
            .iter()
            .any(|(c, out, _)| c == "forget h-1" && out.contains("forgotten"))
    );
    assert!(
        outputs
            .iter()
            .any(|(c, out, _)| c == "demo" && out.contains("audit"))
    );
}

#[tokio::test]
async fn at_error_no_personal_value_is_logged() {
    check_level("error").await;
}

#[tokio::test]
async fn at_warn_no_personal_value_is_logged() {
    check_level("warn").await;
}

#[tokio::test]
async fn at_info_no_personal_value_is_logged() {
    check_level("info").await;
}

#[tokio::test]
async fn at_debug_values_may_be_logged_but_never_the_bsn() {
    check_level("debug").await;
}

#[tokio::test]
async fn at_trace_values_may_be_logged_but_never_the_bsn() {
    check_level("trace").await;
}
