//! One-time codes: six random digits, kept only as a keyed hash bound to what they unlock (a
//! purpose and a subject), so a code for one booking or one purpose never matches another.
//! Link recovery (`notify::recover`) and booking confirmation (`booking::hold`) use them.

use super::Keys;

/// A fresh six-digit code.
pub fn generate() -> String {
    format!("{:06}", rand::random_range(0..1_000_000u32))
}

/// The code's keyed hash, bound to `purpose` and the subject it unlocks.
pub fn hash(keys: &Keys, purpose: &str, subject: uuid::Uuid, code: &str) -> Vec<u8> {
    keys.mac(
        &keys.request_hash,
        format!("{purpose}:{subject}:{code}").as_bytes(),
    )
}

/// Whether `raw` looks like a code at all (six digits).
pub fn well_formed(raw: &str) -> bool {
    raw.len() == 6 && raw.bytes().all(|b| b.is_ascii_digit())
}

/// Whether two hashes are equal, in time that does not depend on where they differ.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
