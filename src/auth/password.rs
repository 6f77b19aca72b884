//! Password hashing with argon2id (the crate's defaults: m=19 MiB, t=2, p=1, OWASP's minimum),
//! and the strength a new password must have: 10 characters and at least 10^9 guesses by
//! zxcvbn's estimate, counting the account's own email and name as known words —
//! `1234567890` is long enough and refused, and so is `rahmathidayat1` for Rahmat Hidayat
//! (10^8: zxcvbn's score 3 starts there, which let such a password through).

use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use argon2::{Algorithm, Argon2, Params, Version};

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_BYTES: usize = 256;

/// The fewest guesses (as a power of ten) zxcvbn may estimate for a new password.
pub const MIN_GUESSES_LOG10: f64 = 9.0;

/// Why a new password is refused (`too_short`, `too_long`, `too_weak`), or `None`. `known` are
/// words an attacker would try first: the account's email, its name.
pub fn weakness(password: &str, known: &[&str]) -> Option<&'static str> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Some("too_short");
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Some("too_long");
    }
    // Whole, and the parts of an email and a name one by one (`budi`, `santoso`, `loket`),
    // lower-cased as zxcvbn compares them.
    let mut words: Vec<String> = known.iter().map(|k| k.to_lowercase()).collect();
    for k in known {
        words.extend(
            k.to_lowercase()
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| w.len() >= 3)
                .map(String::from),
        );
    }
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let guesses = zxcvbn::zxcvbn(password, &words).guesses_log10();
    (guesses < MIN_GUESSES_LOG10).then_some("too_weak")
}

pub fn hash(password: &str) -> anyhow::Result<String> {
    let hash = argon2()
        .hash_password(password.as_bytes())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))?;
    Ok(hash.to_string())
}

/// Constant-time check; a malformed stored hash counts as a mismatch.
pub fn verify(password: &str, stored: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    match PasswordHash::new(stored) {
        Ok(parsed) => argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash to verify against when the account does not exist, so that the time taken does not
/// tell an attacker which emails are staff.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash("loket-dummy-password-never-matches").unwrap_or_default())
}

/// A random password for demo staff: 16 characters, no look-alikes.
pub fn generate() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..16)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("wrong horse battery", &h));
        assert!(!verify("x", "not a hash"));
        assert_ne!(h, hash("correct horse battery").unwrap(), "salted");
        assert_eq!(generate().len(), 16);
    }

    #[test]
    fn new_passwords_need_length_and_more_than_guessable_words() {
        assert_eq!(weakness("short", &[]), Some("too_short"));
        assert_eq!(weakness("1234567890", &[]), Some("too_weak"));
        assert_eq!(weakness("passwordpassword", &[]), Some("too_weak"));
        assert_eq!(
            weakness(
                "budisantoso2026",
                &["budi.santoso@loket.example", "Budi Santoso"]
            ),
            Some("too_weak"),
            "the account's own name is a known word"
        );
        assert_eq!(weakness(&"x".repeat(300), &[]), Some("too_long"));
        assert_eq!(weakness("kata-sandi-yang-panjang", &[]), None);
        assert_eq!(weakness(&generate(), &[]), None);
    }
}
