//! The deployment files in `deploy/` stay loadable and consistent with each other.
//!
//! Every `deploy/**/nmbrs-sync.toml` goes through the real loader (`Settings::load`, as `--config`
//! does), and the cross-file facts a deployment silently depends on are checked: the ConfigMap carries
//! the same TOML as the standalone file, the systemd unit passes all three secrets as credentials, the
//! paths mounted/declared in the unit, Dockerfile and CronJob are the ones the configs use, and stop
//! grace periods exceed the per-request timeout (a graceful stop waits for the call in flight).
//!
//! `Settings::load` also reads `NMBRS_SYNC__*` from the process environment; CI runs without them.

use nmbrs_sync::config::{LogFormat, Settings};
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn path(rel: &str) -> PathBuf {
    Path::new(ROOT).join(rel)
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

fn load(rel: &str) -> Settings {
    Settings::load(Some(&path(rel))).unwrap_or_else(|e| panic!("{rel} does not load: {e}"))
}

/// `sqlite:/a/b/c.db` → `/a/b`.
fn db_dir(url: &str) -> String {
    let file = url
        .strip_prefix("sqlite:")
        .unwrap_or_else(|| panic!("`{url}` is not a sqlite: URL"));
    let file = file.split('?').next().unwrap_or(file);
    Path::new(file)
        .parent()
        .unwrap_or_else(|| panic!("`{url}` has no directory"))
        .display()
        .to_string()
}

/// The value of `key=` lines in a unit file (all of them, in order).
fn unit_values<'a>(unit: &'a str, key: &str) -> Vec<&'a str> {
    let prefix = format!("{key}=");
    unit.lines()
        .filter_map(|l| l.trim().strip_prefix(prefix.as_str()))
        .collect()
}

/// The block scalar under `  <key>: |` in a YAML file, de-indented (enough YAML for our own file).
fn yaml_block_scalar(yaml: &str, key: &str) -> String {
    let header = format!("{key}: |");
    let mut lines = yaml.lines();
    let head = lines
        .by_ref()
        .find(|l| l.trim_end().ends_with(&header))
        .unwrap_or_else(|| panic!("no `{header}` in the YAML"));
    let key_indent = head.len() - head.trim_start().len();
    let mut body: Vec<&str> = Vec::new();
    let mut indent: Option<usize> = None;
    for line in lines {
        if line.trim().is_empty() {
            body.push("");
            continue;
        }
        let this = line.len() - line.trim_start().len();
        if this <= key_indent {
            break;
        }
        let block = *indent.get_or_insert(this);
        assert!(this >= block, "under-indented line in the block: {line:?}");
        body.push(&line[block..]);
    }
    while body.last() == Some(&"") {
        body.pop();
    }
    // `|` keeps exactly one final newline.
    format!("{}\n", body.join("\n"))
}

fn example_configs(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read deploy/") {
        let p = entry.expect("dir entry").path();
        if p.is_dir() {
            example_configs(&p, found);
        } else if p.file_name().is_some_and(|n| n == "nmbrs-sync.toml") {
            found.push(p);
        }
    }
}

fn timeout_secs_of(rel: &str) -> u64 {
    load(rel).nmbrs.timeout_secs
}

#[test]
fn every_example_config_loads() {
    let mut found = Vec::new();
    example_configs(&path("deploy"), &mut found);
    found.sort();
    let names: Vec<String> = found
        .iter()
        .map(|p| p.strip_prefix(ROOT).unwrap_or(p).display().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "deploy/docker/nmbrs-sync.toml",
            "deploy/kubernetes/nmbrs-sync.toml",
            "deploy/kubernetes-tenants/acme/nmbrs-sync.toml",
            "deploy/systemd/nmbrs-sync.toml",
        ],
        "an example config was added or removed: give it assertions below"
    );
    for p in &found {
        let s = Settings::load(Some(p))
            .unwrap_or_else(|e| panic!("{} does not load: {e}", p.display()));
        assert_eq!(
            db_dir(&s.state.database_url),
            "/var/lib/nmbrs-sync",
            "{}: the state database must live in the persistent state directory",
            p.display()
        );
        assert_eq!(s.sync.schedule, "0 */15 * * * *", "{}", p.display());
        assert_ne!(s.nmbrs.client_id, "", "{}: client_id is set", p.display());
        // No secret value is ever written into an example config.
        assert!(
            s.nmbrs.client_secret.is_none()
                && s.nmbrs.refresh_token.is_none()
                && s.nmbrs.subscription_key.is_none(),
            "{}: secrets belong in files, not in the config",
            p.display()
        );
    }
}

#[test]
fn systemd_config_values() {
    let s = load("deploy/systemd/nmbrs-sync.toml");
    assert_eq!(s.state.database_url, "sqlite:/var/lib/nmbrs-sync/state.db");
    assert_eq!(s.hris.database_url, "sqlite:/var/lib/hris/hris.db");
    assert_eq!(s.metrics.listen.as_deref(), Some("127.0.0.1:9464"));
    assert_eq!(s.log.format, LogFormat::Text);
    // The secret paths come from the unit's Environment= lines, not from the file.
    assert!(s.nmbrs.client_secret_file.is_none());
}

#[test]
fn docker_config_values() {
    let s = load("deploy/docker/nmbrs-sync.toml");
    assert_eq!(s.state.database_url, "sqlite:/var/lib/nmbrs-sync/state.db");
    assert_eq!(s.metrics.listen.as_deref(), Some("0.0.0.0:9464"));
    assert_eq!(s.log.format, LogFormat::Json);
    assert_eq!(
        s.nmbrs.client_secret_file.as_deref(),
        Some(Path::new("/run/secrets/client_secret"))
    );
}

#[test]
fn kubernetes_config_values_and_secret_files_are_used() {
    let s = load("deploy/kubernetes/nmbrs-sync.toml");
    assert_eq!(s.state.database_url, "sqlite:/var/lib/nmbrs-sync/state.db");
    assert_eq!(s.metrics.listen, None, "a one-shot job serves no metrics");
    assert_eq!(s.log.format, LogFormat::Json);
    for (file, name) in [
        (&s.nmbrs.client_secret_file, "client_secret"),
        (&s.nmbrs.refresh_token_file, "refresh_token"),
        (&s.nmbrs.subscription_key_file, "subscription_key"),
    ] {
        assert_eq!(
            file.as_deref(),
            Some(Path::new(&format!("/run/secrets/nmbrs-sync/{name}"))),
            "nmbrs.{name}_file"
        );
    }
    // The *_file keys are what secrets() reads (here the mounted files are absent).
    let err = s.secrets().expect_err("no /run/secrets/nmbrs-sync here");
    assert!(
        err.to_string()
            .contains("/run/secrets/nmbrs-sync/client_secret"),
        "{err}"
    );
}

#[test]
fn configmap_carries_the_standalone_kubernetes_config() {
    let yaml = read("deploy/kubernetes/cronjob.yaml");
    let embedded = yaml_block_scalar(&yaml, "nmbrs-sync.toml");
    let standalone = read("deploy/kubernetes/nmbrs-sync.toml");
    if embedded != standalone {
        let first = embedded
            .lines()
            .zip(standalone.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .map(|(i, pair)| (i + 1, pair));
        panic!(
            "the ConfigMap in cronjob.yaml and deploy/kubernetes/nmbrs-sync.toml differ (copy one to \
             the other); first difference (line, configmap, file): {first:?}; lines: {} vs {}",
            embedded.lines().count(),
            standalone.lines().count()
        );
    }
}

#[test]
fn cronjob_shape() {
    let yaml = read("deploy/kubernetes/cronjob.yaml");
    let has = |needle: &str| {
        assert!(
            yaml.lines().any(|l| l.trim() == needle),
            "cronjob.yaml lacks the line `{needle}`"
        )
    };
    has("concurrencyPolicy: Forbid");
    has("schedule: \"*/15 * * * *\"");
    has("backoffLimit: 0");
    has("runAsNonRoot: true");
    has("readOnlyRootFilesystem: true");
    has("allowPrivilegeEscalation: false");
    has("drop: [\"ALL\"]");
    has("type: RuntimeDefault");
    has(
        "accessModes: [\"ReadWriteOnce\"]   # SQLite: one writer, one node; concurrencyPolicy Forbid keeps it so",
    );
    has("args: [\"sync\", \"--once\", \"--config\", \"/etc/nmbrs-sync/nmbrs-sync.toml\"]");
    // The mounts are where the config expects its files.
    let s = load("deploy/kubernetes/nmbrs-sync.toml");
    for dir in [
        "/etc/nmbrs-sync".to_owned(),
        "/run/secrets/nmbrs-sync".to_owned(),
        db_dir(&s.state.database_url),
        db_dir(&s.hris.database_url),
    ] {
        has(&format!("mountPath: {dir}"));
    }
    let grace: u64 = yaml
        .lines()
        .find_map(|l| l.trim().strip_prefix("terminationGracePeriodSeconds: "))
        .expect("terminationGracePeriodSeconds")
        .parse()
        .expect("a number");
    assert!(
        grace > s.nmbrs.timeout_secs,
        "terminationGracePeriodSeconds {grace} must exceed nmbrs.timeout_secs {}",
        s.nmbrs.timeout_secs
    );
}

#[test]
fn systemd_unit_passes_secrets_as_credentials() {
    let unit = read("deploy/systemd/nmbrs-sync.service");
    let creds = unit_values(&unit, "LoadCredential");
    let env = unit_values(&unit, "Environment");
    for name in ["client_secret", "refresh_token", "subscription_key"] {
        assert!(
            creds.contains(&format!("{name}:/etc/nmbrs-sync/credentials/{name}").as_str()),
            "no LoadCredential={name}:/etc/nmbrs-sync/credentials/{name} in {creds:?}"
        );
        let var = format!("NMBRS_SYNC__NMBRS__{}_FILE=%d/{name}", name.to_uppercase());
        assert!(
            env.contains(&var.as_str()),
            "no Environment={var} in {env:?}"
        );
    }
    assert_eq!(
        unit_values(&unit, "ExecStart"),
        ["/usr/local/bin/nmbrs-sync run --config /etc/nmbrs-sync/nmbrs-sync.toml"]
    );
}

#[test]
fn systemd_unit_matches_its_config() {
    let unit = read("deploy/systemd/nmbrs-sync.service");
    let s = load("deploy/systemd/nmbrs-sync.toml");
    let one = |key: &str| -> String {
        let v = unit_values(&unit, key);
        assert_eq!(v.len(), 1, "exactly one {key}= expected, got {v:?}");
        v[0].to_owned()
    };
    assert_eq!(
        format!("/var/lib/{}", one("StateDirectory")),
        db_dir(&s.state.database_url)
    );
    let hris_dir = db_dir(&s.hris.database_url);
    assert!(
        one("ReadWritePaths")
            .split_whitespace()
            .any(|p| p.trim_start_matches(['-', '+']) == hris_dir),
        "ReadWritePaths= must cover the HRIS directory {hris_dir}: the daemon writes back to it"
    );
    for (key, want) in [
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("NoNewPrivileges", "yes"),
        ("CapabilityBoundingSet", ""),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("UMask", "0077"),
        ("KillSignal", "SIGTERM"),
        ("Restart", "on-failure"),
    ] {
        assert_eq!(one(key), want, "{key}=");
    }
    let stop = one("TimeoutStopSec");
    let stop: u64 = stop
        .trim_end_matches('s')
        .parse()
        .unwrap_or_else(|_| panic!("TimeoutStopSec={stop}: write it in seconds"));
    assert!(
        stop > timeout_secs_of("deploy/systemd/nmbrs-sync.toml"),
        "TimeoutStopSec={stop}s must exceed nmbrs.timeout_secs: a graceful stop waits for the call in flight"
    );
}

#[test]
fn dockerfile_matches_its_config() {
    let docker = read("deploy/docker/Dockerfile");
    let s = load("deploy/docker/nmbrs-sync.toml");
    let line = |prefix: &str| -> String {
        docker
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` line in the Dockerfile"))
            .trim()
            .to_owned()
    };
    assert_eq!(line("VOLUME "), db_dir(&s.state.database_url));
    assert_eq!(line("ENTRYPOINT "), r#"["nmbrs-sync"]"#);
    assert_eq!(
        line("COPY deploy/docker/nmbrs-sync.toml "),
        "/etc/nmbrs-sync/nmbrs-sync.toml"
    );
    assert!(line("CMD ").contains(r#""--config", "/etc/nmbrs-sync/nmbrs-sync.toml""#));
    let user = line("USER ");
    assert!(
        user.split(':')
            .all(|id| id.parse::<u32>().is_ok_and(|n| n > 0)),
        "USER {user}: a numeric non-root UID:GID, so runAsNonRoot can check it"
    );
    let dockerignore = read(".dockerignore");
    for pattern in ["target/", ".git"] {
        assert!(
            dockerignore.lines().any(|l| l.trim() == pattern),
            ".dockerignore lacks {pattern}"
        );
    }
}

/// The template unit keeps each instance (tenant) apart: its own config, credentials, state
/// directory (state database and lock beside it) and HRIS directory, all named by `%i`; and it keeps
/// the single unit's hardening, line for line.
#[test]
fn systemd_template_unit_separates_instances() {
    let unit = read("deploy/systemd/nmbrs-sync@.service");
    assert_eq!(
        unit_values(&unit, "ExecStart"),
        ["/usr/local/bin/nmbrs-sync run --config /etc/nmbrs-sync/%i/nmbrs-sync.toml"]
    );
    assert_eq!(unit_values(&unit, "StateDirectory"), ["nmbrs-sync/%i"]);
    assert_eq!(
        unit_values(&unit, "WorkingDirectory"),
        ["/var/lib/nmbrs-sync/%i"]
    );
    assert_eq!(unit_values(&unit, "ReadWritePaths"), ["/var/lib/hris/%i"]);
    let env = unit_values(&unit, "Environment");
    assert!(
        env.contains(&"NMBRS_SYNC__STATE__DATABASE_URL=sqlite:/var/lib/nmbrs-sync/%i/state.db"),
        "{env:?}"
    );
    for name in ["client_secret", "refresh_token", "subscription_key"] {
        let cred = format!("{name}:/etc/nmbrs-sync/%i/credentials/{name}");
        assert!(unit_values(&unit, "LoadCredential").contains(&cred.as_str()));
    }
    // Same hardening as the single-tenant unit.
    let single = read("deploy/systemd/nmbrs-sync.service");
    for key in [
        "DynamicUser",
        "NoNewPrivileges",
        "ProtectSystem",
        "ProtectHome",
        "PrivateTmp",
        "SystemCallFilter",
        "RestrictAddressFamilies",
        "MemoryDenyWriteExecute",
        "CapabilityBoundingSet",
        "TimeoutStopSec",
        "KillMode",
        "UMask",
        "StateDirectoryMode",
    ] {
        assert_eq!(unit_values(&unit, key), unit_values(&single, key), "{key}");
    }
}

/// One CronJob per tenant from the same manifest: the overlay suffixes every name, and the Secret
/// and HRIS claim (not made by the manifest) are renamed by a patch guarded by `test` ops. Rendered
/// with `kubectl kustomize` where kubectl is installed.
#[test]
fn kubernetes_tenant_overlay_suffixes_every_name() {
    let k = read("deploy/kubernetes-tenants/acme/kustomization.yaml");
    assert!(k.contains("nameSuffix: -acme"), "{k}");
    assert!(k.contains("  - ../../kubernetes"), "{k}");
    load("deploy/kubernetes-tenants/acme/nmbrs-sync.toml");
    let kubectl = std::process::Command::new("kubectl")
        .args(["kustomize", "deploy/kubernetes-tenants/acme"])
        .current_dir(ROOT)
        .output();
    // Debian's kubernetes-client (1.20) predates this kustomize syntax, so CI does not install it;
    // machines with a current kubectl render the overlay.
    let out = match kubectl {
        Ok(o) => o,
        Err(e) => {
            println!("SKIPPED rendering the overlay: kubectl not runnable ({e})");
            return;
        }
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for name in [
        "name: nmbrs-sync-acme",
        "name: nmbrs-sync-config-acme",
        "name: nmbrs-sync-state-acme",
        "claimName: nmbrs-sync-state-acme",
        "secretName: nmbrs-sync-credentials-acme",
        "claimName: hris-data-acme",
        "client_id = \"acme-client-id\"",
    ] {
        assert!(text.contains(name), "no `{name}` in\n{text}");
    }
}
