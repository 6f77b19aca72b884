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
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}
