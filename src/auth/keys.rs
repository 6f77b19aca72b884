//! Keys derived from the one `LOKET_SECRET`, each for one purpose (HMAC-SHA256 with a label), so
//! a token signed for citizens can never pass as a staff token and the NIK key is not a JWT key.
//! Also the NIK vault: AES-256-GCM at rest, a keyed hash for look-ups, a masked form for display.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::Secret;
use crate::domain::citizen::Nik;

type HmacSha256 = Hmac<Sha256>;

fn derive(secret: &Secret, label: &str) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret.expose().as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

#[derive(Clone)]
pub struct Keys {
    pub citizen_jwt: [u8; 32],
    pub staff_jwt: [u8; 32],
    nik_enc: [u8; 32],
    nik_hash: [u8; 32],
    pub request_hash: [u8; 32],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(***)")
    }
}

impl Keys {
    pub fn derive(secret: &Secret) -> Keys {
        Keys {
            citizen_jwt: derive(secret, "loket/jwt/citizen/v1"),
            staff_jwt: derive(secret, "loket/jwt/staff/v1"),
            nik_enc: derive(secret, "loket/nik/aes-gcm/v1"),
            nik_hash: derive(secret, "loket/nik/hmac/v1"),
            request_hash: derive(secret, "loket/idempotency/v1"),
        }
    }

    /// nonce (12 bytes) ‖ ciphertext with tag.
    pub fn encrypt_nik(&self, nik: &Nik) -> anyhow::Result<Vec<u8>> {
        let cipher = Aes256Gcm::new_from_slice(&self.nik_enc)
            .map_err(|_| anyhow::anyhow!("bad NIK key length"))?;
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let ct = cipher
            .encrypt(Nonce::from_slice(&nonce), nik.expose().as_bytes())
            .map_err(|_| anyhow::anyhow!("encrypting a NIK failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(out)
    }

    pub fn decrypt_nik(&self, blob: &[u8]) -> anyhow::Result<Nik> {
        anyhow::ensure!(blob.len() > 12, "NIK ciphertext too short");
        let cipher = Aes256Gcm::new_from_slice(&self.nik_enc)
            .map_err(|_| anyhow::anyhow!("bad NIK key length"))?;
        let pt = cipher
            .decrypt(Nonce::from_slice(&blob[..12]), &blob[12..])
            .map_err(|_| anyhow::anyhow!("a NIK failed to decrypt (wrong LOKET_SECRET?)"))?;
        let s = String::from_utf8(pt)?;
        Nik::parse(&s).map_err(|e| anyhow::anyhow!("stored NIK invalid: {e}"))
    }

    /// A keyed hash: equal NIKs give equal hashes, and without the secret it reveals nothing.
    pub fn hash_nik(&self, nik: &Nik) -> Vec<u8> {
        self.mac(&self.nik_hash, nik.expose().as_bytes())
    }

    pub fn mac(&self, key: &[u8; 32], data: &[u8]) -> Vec<u8> {
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length");
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nik_round_trips_and_is_not_stored_in_clear() {
        let keys = Keys::derive(&Secret::new("x".repeat(40)));
        let nik = Nik::parse("3271995205900001").unwrap();
        let blob = keys.encrypt_nik(&nik).unwrap();
        assert!(!blob.windows(4).any(|w| w == b"3271"));
        assert_eq!(keys.decrypt_nik(&blob).unwrap(), nik);
        assert_ne!(
            keys.encrypt_nik(&nik).unwrap(),
            blob,
            "fresh nonce each time"
        );
        assert_eq!(keys.hash_nik(&nik), keys.hash_nik(&nik));
        let other = Keys::derive(&Secret::new("y".repeat(40)));
        let wrong = other.decrypt_nik(&blob).expect_err("another secret's key");
        assert!(wrong.to_string().contains("failed to decrypt"), "{wrong}");
        let short = keys.decrypt_nik(&blob[..12]).expect_err("too short");
        assert!(short.to_string().contains("too short"), "{short}");
        assert_ne!(keys.citizen_jwt, keys.staff_jwt);
    }
}
