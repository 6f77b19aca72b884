//! [`Secret`]: a configured value (signing key, provider token, password) whose `Debug` never
//! shows it, so it cannot reach a log or an error message by accident.

use std::fmt;

/// A value that must never reach a log or an error message.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value looks random enough to sign tokens and derive keys: at least 32
    /// characters, at least 10 different ones, and no pattern zxcvbn finds (repeats,
    /// sequences, words) that brings the estimate under 10^18 guesses. 32 × 'a', or a phrase
    /// repeated to length, is refused; `openssl rand -hex 32` passes.
    pub fn is_strong(&self) -> bool {
        let value = &self.0;
        let distinct: std::collections::HashSet<char> = value.chars().collect();
        // zxcvbn's work grows quickly with length; its estimate saturates long before 128.
        let head: String = value.chars().take(128).collect();
        value.chars().count() >= 32
            && distinct.len() >= 10
            && zxcvbn::zxcvbn(&head, &[]).guesses_log10() >= 18.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_or_patterned_secrets_are_weak_random_ones_strong() {
        for weak in [
            "a".repeat(32),
            "abcdefghijklmnopqrstuvwxyz012345".into(),
            "test-secret-test-secret-test-secret-0123456789".into(),
            "passwordpasswordpasswordpassword".into(),
            "0f3a9c1e5b7d2468".into(),
        ] {
            assert!(!Secret::new(weak.clone()).is_strong(), "{weak}");
        }
        for strong in [
            "0f3a9c1e5b7d2468ace13579bdf02468",
            "Qx7pLm2vN9rT4wZk8cYb3hJd6fGs1aEu",
            "7f1e3d2c9b8a47566e5d4c3b2a190817a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1",
        ] {
            assert!(Secret::new(strong).is_strong(), "{strong}");
        }
    }
}
