-- Keys made once per state database. `bsn`: the HMAC key BSNs are hashed with in snapshots and write
-- intents (a BSN is never stored in clear; see src/fields.rs `bsn_hash`).
CREATE TABLE IF NOT EXISTS install_keys (
    name TEXT PRIMARY KEY,
    key BLOB NOT NULL
);
