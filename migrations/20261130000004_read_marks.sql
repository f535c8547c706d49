-- Incremental reads (issue 13): per company and resource, the newest entry stamp a complete read saw
-- (`createdAt`, or an employment's `changedDate`, as Nmbrs wrote it: Dutch wall-clock time) and
-- when that read finished; and the time of the last full reconcile (every company read whole).
CREATE TABLE IF NOT EXISTS read_marks (
    company_id TEXT NOT NULL,
    resource TEXT NOT NULL,
    watermark TEXT,
    read_at TEXT NOT NULL,
    -- JSON array of short hashes of the entries stamped within the overlap window before the
    -- watermark: an incremental read that sees them again knows they are not new.
    recent TEXT,
    PRIMARY KEY (company_id, resource)
);
CREATE TABLE IF NOT EXISTS sync_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
