-- nmbrs-sync state database: links + base snapshots, runs, append-only audit log, OAuth state.

-- One row per HRIS record the daemon has dealt with.
-- status: pending_create (create intent recorded, POST may or may not have landed),
--         linked, conflict (manual policy parked a field), failed, quarantined,
--         vanished_hris / vanished_nmbrs (one side disappeared; deletes are never propagated).
CREATE TABLE employee_links (
    hris_id          TEXT PRIMARY KEY NOT NULL,
    company_id       TEXT NOT NULL,
    employee_id      TEXT UNIQUE,
    personal_info_id TEXT,
    snapshot         TEXT,             -- base snapshot: JSON {field: value} agreed at the last successful sync
    snapshot_hash    TEXT,             -- digest of snapshot, to skip unchanged records without parsing it
    create_intent    TEXT,             -- JSON {field: value} posted, while status = pending_create
    intent_at        TEXT,             -- UTC time the create intent was recorded
    status           TEXT NOT NULL,
    failures         INTEGER NOT NULL DEFAULT 0,   -- consecutive failed cycles
    last_error       TEXT,
    quarantined_hash TEXT,             -- digest of the HRIS values when quarantined (a changed row is released)
    updated_at       TEXT NOT NULL
);
CREATE INDEX employee_links_company ON employee_links (company_id);

CREATE TABLE sync_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    trigger     TEXT NOT NULL,          -- once | schedule | demo
    dry_run     INTEGER NOT NULL DEFAULT 0,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    status      TEXT NOT NULL,          -- running | succeeded | partial | failed | interrupted
    counts      TEXT,                   -- JSON counters (created, updated, pulled, ...)
    api_calls   INTEGER,
    error       TEXT
);

CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id        INTEGER,
    at            TEXT NOT NULL,        -- UTC, RFC 3339
    hris_id       TEXT,
    employee_id   TEXT,
    company_id    TEXT,
    direction     TEXT,                 -- to_nmbrs | to_hris | none
    action        TEXT NOT NULL,        -- create_intent, create, link, update, pull, import, conflict, skip, error, read, ...
    fields        TEXT,                 -- JSON {field: [before, after]}
    http_method   TEXT,
    http_path     TEXT,
    http_status   INTEGER,
    attempts      INTEGER,
    duration_ms   INTEGER,
    dry_run       INTEGER NOT NULL DEFAULT 0,
    message       TEXT,                 -- error text or reason
    prev_hash     TEXT NOT NULL,        -- hash of the previous row ('' for the first)
    hash          TEXT NOT NULL         -- sha256(prev_hash || this row's content)
);
CREATE INDEX audit_log_run ON audit_log (run_id);
CREATE INDEX audit_log_hris ON audit_log (hris_id);
CREATE INDEX audit_log_employee ON audit_log (employee_id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END;

-- The newest refresh token (they rotate: each is good once). One row.
CREATE TABLE oauth_state (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    refresh_token     TEXT NOT NULL,
    seed_fingerprint  TEXT NOT NULL,    -- digest of the configured refresh token this chain started from
    access_expires_at TEXT,
    scopes            TEXT,
    updated_at        TEXT NOT NULL
);
