//! Sealing secrets the state database keeps (the newest refresh token) with a key from
//! `state.key_file` (e.g. a systemd `LoadCredential=` credential): ChaCha20-Poly1305 (the
//! RustCrypto `chacha20poly1305` crate) under a key derived from the file by HKDF-SHA256. A copy
//! of the database alone (a backup, a stolen disk) then holds no usable token.
//!
//! Stored form: `sealed:v1:` + base64(12-byte random nonce ‖ ciphertext ‖ tag). The column name is
//! bound as associated data, so a sealed value cannot be moved to another column unseen.

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use std::path::Path;

/// The prefix of a sealed value.
pub const SEALED_PREFIX: &str = "sealed:v1:";

/// The shortest key file accepted, bytes (after trimming whitespace at the ends).
pub const MIN_KEY_BYTES: usize = 32;

/// A key file that cannot be used. Messages name the file, never its content.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read state.key_file `{path}`: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "state.key_file `{path}` holds {len} bytes; it needs at least {MIN_KEY_BYTES} random bytes (e.g. `head -c 32 /dev/urandom | base64 > {path}`)"
    )]
    Short { path: String, len: usize },
}

/// The key secrets are sealed with. `Debug` shows nothing of it.
#[derive(Clone)]
pub struct SealKey {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey([REDACTED])")
    }
}

/// Why a sealed value could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum UnsealError {
    #[error(
        "it is sealed, but `state.key_file` is not set; set it to the key file it was sealed with"
    )]
    NoKey,
    #[error(
        "it does not open with the key of `state.key_file` (another key, or the value was changed)"
    )]
    WrongKey,
}

impl SealKey {
    /// Derives the key from the content of `path` (whitespace at the ends ignored).
    ///
    /// Errors: [`KeyFileError`] when the file cannot be read or is shorter than [`MIN_KEY_BYTES`].
    pub fn from_file(path: &Path) -> Result<SealKey, KeyFileError> {
        let raw = std::fs::read(path).map_err(|source| KeyFileError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let ikm = raw.trim_ascii();
        if ikm.len() < MIN_KEY_BYTES {
            return Err(KeyFileError::Short {
                path: path.display().to_string(),
                len: ikm.len(),
            });
        }
        Ok(SealKey::from_bytes(ikm))
    }

    /// Derives the key from key material (HKDF-SHA256, fixed salt and info of this use).
    pub fn from_bytes(ikm: &[u8]) -> SealKey {
        let hk = hkdf::Hkdf::<sha2::Sha256>::new(Some(b"nmbrs-sync state.key_file"), ikm);
        let mut okm = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's limit (255 × 32): never an error.
        let _ = hk.expand(b"state database secrets v1", &mut okm);
        SealKey {
            cipher: ChaCha20Poly1305::new(&Key::from(okm)),
        }
    }

    /// Seals `plain` for the column `column`.
    ///
    /// Errors: no randomness from the operating system for the nonce.
    pub fn seal(&self, plain: &str, column: &str) -> Result<String, String> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|e| format!("no randomness for a nonce: {e}"))?;
        let sealed = self
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: column.as_bytes(),
                },
            )
            .map_err(|_| "sealing failed".to_owned())?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(format!(
            "{SEALED_PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(out)
        ))
    }

    /// Opens a value [`SealKey::seal`] made for `column`.
    ///
    /// Errors: [`UnsealError::WrongKey`] for another key, a changed value or a malformed one.
    pub fn open(&self, stored: &str, column: &str) -> Result<String, UnsealError> {
        let body = stored
            .strip_prefix(SEALED_PREFIX)
            .ok_or(UnsealError::WrongKey)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|_| UnsealError::WrongKey)?;
        if bytes.len() < 12 {
            return Err(UnsealError::WrongKey);
        }
        let (nonce, sealed) = bytes.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| UnsealError::WrongKey)?;
        let plain = self
            .cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: column.as_bytes(),
                },
            )
            .map_err(|_| UnsealError::WrongKey)?;
        String::from_utf8(plain).map_err(|_| UnsealError::WrongKey)
    }
}

/// Whether a stored value is sealed.
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_only_with_the_same_key_and_column() {
        let key = SealKey::from_bytes(&[7u8; 32]);
        let sealed = key
            .seal("refresh-token-value", "oauth_state.refresh_token")
            .expect("seal");
        assert!(is_sealed(&sealed) && !sealed.contains("refresh-token-value"));
        assert_eq!(
            key.open(&sealed, "oauth_state.refresh_token")
                .expect("open"),
            "refresh-token-value"
        );
        assert!(key.open(&sealed, "another.column").is_err());
        assert!(
            SealKey::from_bytes(&[8u8; 32])
                .open(&sealed, "oauth_state.refresh_token")
                .is_err()
        );
        assert_ne!(
            sealed,
            key.seal("refresh-token-value", "oauth_state.refresh_token")
                .expect("seal"),
            "fresh nonce each time"
        );
        assert_eq!(format!("{key:?}"), "SealKey([REDACTED])");
    }

    #[test]
    fn a_short_or_missing_key_file_is_refused_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let short = dir.path().join("short");
        std::fs::write(&short, "too short\n").expect("write");
        let e = SealKey::from_file(&short).expect_err("short");
        assert!(
            e.to_string().contains("short") && e.to_string().contains("at least 32"),
            "{e}"
        );
        assert!(SealKey::from_file(&dir.path().join("missing")).is_err());
        let good = dir.path().join("good");
        std::fs::write(&good, "c2VjcmV0LWtleS1tYXRlcmlhbC1mb3ItdGhlLXRlc3Qh\n").expect("write");
        let a = SealKey::from_file(&good).expect("key");
        std::fs::write(&good, "c2VjcmV0LWtleS1tYXRlcmlhbC1mb3ItdGhlLXRlc3Qh").expect("write");
        let b = SealKey::from_file(&good).expect("key");
        let sealed = a.seal("x", "c").expect("seal");
        assert_eq!(
            b.open(&sealed, "c")
                .expect("a trailing newline is not part of the key"),
            "x"
        );
    }
}
