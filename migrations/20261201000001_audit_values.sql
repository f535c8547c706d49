-- Payroll-grade privacy (issue 15): the hash chain covers a digest of each audit row's personal
-- values, not the values; the values live beside the row, in `audit_values`, where retention
-- (`audit.retention_days`, `nmbrs-sync audit prune`) and erasure (`nmbrs-sync forget`) can erase
-- them while `audit --verify` still proves the chain (src/state/audit.rs).
--
-- `audit_log` becomes `audit_chain` (append-only, as before) plus a view `audit_log` that joins the
-- values back, so `SELECT ... fields, message FROM audit_log` keeps working. Rows written before
-- this migration keep chain_version 1 until the next open re-anchors them once (new salts and
-- digests, new hashes) and records that in the log (a `reanchor` row).
CREATE TABLE audit_values (
    audit_id    INTEGER PRIMARY KEY NOT NULL,  -- audit_chain.id
    salt        BLOB,     -- 16 random bytes, the HMAC key of audit_chain.values_digest; erased with the values
    fields      TEXT,     -- JSON {field: [before, after]}
    message     TEXT,     -- error text or reason
    redacted_at TEXT,     -- UTC time the values were erased
    redacted_by INTEGER   -- the `prune` or `forget` audit row that erased them
);
-- The values not erased yet, in row order: what retention looks at (a range up to the cut-off).
CREATE INDEX audit_values_kept ON audit_values (audit_id) WHERE salt IS NOT NULL;
INSERT INTO audit_values (audit_id, fields, message)
    SELECT id, fields, message FROM audit_log WHERE fields IS NOT NULL OR message IS NOT NULL;

DROP TRIGGER audit_log_no_update;
DROP TRIGGER audit_log_no_delete;
ALTER TABLE audit_log RENAME TO audit_chain;
ALTER TABLE audit_chain DROP COLUMN fields;
ALTER TABLE audit_chain DROP COLUMN message;
-- HMAC-SHA256(salt, [fields, message]) of the row's values; NULL when the row has none.
ALTER TABLE audit_chain ADD COLUMN values_digest TEXT;
-- 1: hash over the values themselves (before this migration); 2: hash over values_digest.
ALTER TABLE audit_chain ADD COLUMN chain_version INTEGER NOT NULL DEFAULT 1;
CREATE INDEX audit_chain_at ON audit_chain (at);

CREATE TRIGGER audit_chain_no_update BEFORE UPDATE ON audit_chain
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END;
CREATE TRIGGER audit_chain_no_delete BEFORE DELETE ON audit_chain
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END;

CREATE VIEW audit_log AS
    SELECT c.id, c.run_id, c.at, c.hris_id, c.employee_id, c.company_id, c.direction, c.action,
           v.fields, c.http_method, c.http_path, c.http_status, c.attempts, c.duration_ms, c.dry_run,
           v.message, c.prev_hash, c.hash, c.values_digest, v.redacted_at, v.redacted_by
    FROM audit_chain c LEFT JOIN audit_values v ON v.audit_id = c.id;
CREATE TRIGGER audit_log_no_update INSTEAD OF UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END;
CREATE TRIGGER audit_log_no_delete INSTEAD OF DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END;
CREATE TRIGGER audit_log_no_insert INSTEAD OF INSERT ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is written by nmbrs-sync only (audit_chain + audit_values)'); END;

-- Erasure (`nmbrs-sync forget`) leaves a tombstone link, status 'forgotten': the planner never
-- creates, links, matches, pulls or imports that person again until `nmbrs-sync release`.
-- A tombstone of a row that was never linked has company_id '' (it applies in every company).
