//! TURN credentials in coturn's REST-API form (`use-auth-secret`): username =
//! `<unix expiry>:<participant id>`, credential = base64(HMAC-SHA1(secret, username)).
//!
//! The built-in relay checks them here; signalling mints them in `signalling/ice.rs`. Both must
//! compute the same thing, and the shared test vector below pins it (it is the one
//! `signalling/ice.rs` uses), so a credential minted for a stock coturn works here and back.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// The longest username accepted: an expiry, a colon and a participant id. Anything longer is
/// not one of ours and is refused before any hashing.
pub const MAX_USERNAME_BYTES: usize = 128;

/// Why a TURN username is refused. No variant carries the secret or the credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error("username is not `<unix expiry>:<participant>`")]
    Malformed,
    #[error("credential expired")]
    Expired,
}

/// A username that has the REST form and has not expired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestUsername {
    pub expiry_unix: i64,
    pub participant: String,
}

impl RestUsername {
    /// Parses `<expiry>:<participant>` and checks the expiry against `now_unix`.
    pub fn parse(username: &str, now_unix: i64) -> Result<RestUsername, CredentialError> {
        if username.len() > MAX_USERNAME_BYTES {
            return Err(CredentialError::Malformed);
        }
        let (expiry, participant) = username.split_once(':').ok_or(CredentialError::Malformed)?;
        if expiry.is_empty() || !expiry.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CredentialError::Malformed);
        }
        let expiry_unix: i64 = expiry.parse().map_err(|_| CredentialError::Malformed)?;
        if participant.is_empty() || participant.chars().any(|c| c.is_control()) {
            return Err(CredentialError::Malformed);
        }
        // coturn accepts a username until its timestamp has passed; so do we.
        if expiry_unix < now_unix {
            return Err(CredentialError::Expired);
        }
        Ok(RestUsername {
            expiry_unix,
            participant: participant.to_string(),
        })
    }
}

/// base64(HMAC-SHA1(secret, username)): the TURN password coturn derives for `use-auth-secret`.
pub fn credential(secret: &str, username: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail; the empty string never matches a
    // real credential.
    let Ok(mut mac) = <Hmac<Sha1> as Mac>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// A username and credential for `participant`, valid for `ttl_secs` from `now_unix`: what
/// signalling hands out (`signalling/ice.rs`) and the built-in relay verifies.
pub fn mint(secret: &str, participant: &str, now_unix: i64, ttl_secs: i64) -> (String, String) {
    let username = format!("{}:{participant}", now_unix.saturating_add(ttl_secs.max(1)));
    let password = credential(secret, &username);
    (username, password)
}

/// The long-term-credential key TURN uses for MESSAGE-INTEGRITY (RFC 5389 §15.4):
/// MD5(username ":" realm ":" password).
pub fn long_term_key(username: &str, realm: &str, password: &str) -> Vec<u8> {
    turn::auth::generate_auth_key(username, realm, password)
}

/// Seconds since the Unix epoch (0 if the clock is before it, which only refuses credentials).
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_matches_the_vector_signalling_uses() {
        // Same vector as signalling/ice.rs: `echo -n "1700000000:citizen-0123456789ab" |
        // openssl dgst -sha1 -hmac "loket-turn-secret" -binary | base64`.
        assert_eq!(
            credential("loket-turn-secret", "1700000000:citizen-0123456789ab"),
            "Fnaqw+uvTuASYVWFgx564Le0od4="
        );
    }

    #[test]
    fn usernames_must_have_the_rest_form_and_be_unexpired() {
        let ok = RestUsername::parse("1700000100:citizen-1", 1_700_000_000).unwrap();
        assert_eq!(ok.expiry_unix, 1_700_000_100);
        assert_eq!(ok.participant, "citizen-1");
        for bad in [
            "",
            "citizen-1",
            ":citizen-1",
            "17000x0100:citizen-1",
            "-1:citizen-1",
            "1700000100:",
            "1700000100:a\nb",
            "99999999999999999999999:x",
        ] {
            assert_eq!(
                RestUsername::parse(bad, 1_700_000_000),
                Err(CredentialError::Malformed),
                "{bad:?}"
            );
        }
        assert_eq!(
            RestUsername::parse("1699999999:citizen-1", 1_700_000_000),
            Err(CredentialError::Expired)
        );
        let long = format!("1700000100:{}", "x".repeat(200));
        assert_eq!(
            RestUsername::parse(&long, 0),
            Err(CredentialError::Malformed)
        );
    }

    #[test]
    fn minted_credentials_verify() {
        let (user, pass) = mint("s3cret", "precheck-abc", 1_000, 60);
        assert_eq!(user, "1060:precheck-abc");
        assert_eq!(pass, credential("s3cret", &user));
        assert_ne!(pass, credential("other", &user));
    }
}
