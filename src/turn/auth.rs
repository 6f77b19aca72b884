//! The relay's `AuthHandler`: accepts exactly the coturn REST credentials (see
//! [`credentials`](super::credentials)) and keeps the per-credential quotas.
//!
//! The `turn` crate asks for the key of a username before it checks the message's integrity, and
//! it never says which request it is handling, so the quota here counts client transport
//! addresses (one per allocation) seen per username. Closed allocations are forgotten through the
//! server's close notifications, and a periodic reconciliation against the server's real
//! allocations forgets addresses that never got one (e.g. a forged request with a known username)
//! and blocks credentials that relayed more bytes than allowed.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::credentials::{self, RestUsername};
use crate::secret::Secret;

/// At most this many usernames are tracked; past it new ones are refused rather than grow.
const MAX_TRACKED_USERNAMES: usize = 50_000;

#[derive(Default)]
struct Quota {
    /// username → client transport address → when it last authenticated.
    seen: HashMap<String, HashMap<SocketAddr, Instant>>,
    /// Usernames over a quota, refused until they expire (username → expiry).
    blocked: HashMap<String, i64>,
}

pub struct RestAuth {
    secret: Secret,
    max_allocations: usize,
    quota: Mutex<Quota>,
    /// Refusals so far, by reason (the client sees one STUN error for all of them; tests and
    /// operators tell them apart here).
    refused: [AtomicU64; 3],
}

impl RestAuth {
    pub fn new(secret: Secret, max_allocations: usize) -> RestAuth {
        RestAuth {
            secret,
            max_allocations: max_allocations.max(1),
            quota: Mutex::default(),
            refused: Default::default(),
        }
    }

    /// How many requests were refused for `reason` so far.
    pub fn refusals(&self, reason: Refusal) -> u64 {
        self.refused[reason as usize].load(Ordering::Relaxed)
    }

    /// Decides on one request; `Ok` carries the long-term key the server checks integrity with.
    pub fn check(
        &self,
        username: &str,
        realm: &str,
        src: SocketAddr,
        now_unix: i64,
    ) -> Result<Vec<u8>, Refusal> {
        let decided = self.decide(username, realm, src, now_unix);
        if let Err(reason) = decided {
            self.refused[reason as usize].fetch_add(1, Ordering::Relaxed);
        }
        decided
    }

    fn decide(
        &self,
        username: &str,
        realm: &str,
        src: SocketAddr,
        now_unix: i64,
    ) -> Result<Vec<u8>, Refusal> {
        RestUsername::parse(username, now_unix).map_err(|e| match e {
            credentials::CredentialError::Expired => Refusal::Expired,
            credentials::CredentialError::Malformed => Refusal::Malformed,
        })?;
        {
            let mut q = self.quota.lock().map_err(|_| Refusal::Quota)?;
            if q.blocked.contains_key(username) {
                return Err(Refusal::Quota);
            }
            if !q.seen.contains_key(username) && q.seen.len() >= MAX_TRACKED_USERNAMES {
                return Err(Refusal::Quota);
            }
            let addrs = q.seen.entry(username.to_string()).or_default();
            if !addrs.contains_key(&src) && addrs.len() >= self.max_allocations {
                return Err(Refusal::Quota);
            }
            addrs.insert(src, Instant::now());
        }
        let password = credentials::credential(self.secret.expose(), username);
        Ok(credentials::long_term_key(username, realm, &password))
    }

    /// An allocation closed: its address no longer counts against the username.
    pub fn released(&self, username: &str, src: SocketAddr) {
        if let Ok(mut q) = self.quota.lock()
            && let Some(addrs) = q.seen.get_mut(username)
        {
            addrs.remove(&src);
            if addrs.is_empty() {
                q.seen.remove(username);
            }
        }
    }

    /// Brings the books in line with the server: `live` holds (username, client address,
    /// relayed bytes) of every allocation. Addresses without an allocation for longer than
    /// `grace` are forgotten; usernames over `max_bytes` are blocked and returned, so the caller
    /// can delete their allocations; expired entries go.
    pub fn reconcile(
        &self,
        live: &[(String, SocketAddr, usize)],
        max_bytes: u64,
        grace: Duration,
        now_unix: i64,
    ) -> Vec<String> {
        let Ok(mut q) = self.quota.lock() else {
            return vec![];
        };
        let now = Instant::now();
        let present: HashSet<(&str, SocketAddr)> =
            live.iter().map(|(u, a, _)| (u.as_str(), *a)).collect();
        for (user, addrs) in q.seen.iter_mut() {
            addrs.retain(|a, at| {
                present.contains(&(user.as_str(), *a)) || now.duration_since(*at) < grace
            });
        }
        q.seen
            .retain(|u, a| !a.is_empty() && RestUsername::parse(u, now_unix).is_ok());
        q.blocked.retain(|_, expiry| *expiry >= now_unix);
        let mut bytes: HashMap<&str, u64> = HashMap::new();
        for (u, _, b) in live {
            *bytes.entry(u.as_str()).or_default() += *b as u64;
        }
        let mut over = vec![];
        for (u, b) in bytes {
            if max_bytes > 0 && b > max_bytes && !q.blocked.contains_key(u) {
                let expiry = RestUsername::parse(u, now_unix)
                    .map(|r| r.expiry_unix)
                    .unwrap_or(now_unix);
                q.blocked.insert(u.to_string(), expiry);
                q.seen.remove(u);
                over.push(u.to_string());
            }
        }
        over
    }

    /// Usernames currently tracked (tests and metrics).
    pub fn tracked(&self) -> usize {
        self.quota.lock().map(|q| q.seen.len()).unwrap_or(0)
    }
}

/// Why a request was refused (logged; the client only sees a STUN error).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("malformed username")]
    Malformed = 0,
    #[error("expired credential")]
    Expired,
    #[error("credential over its quota")]
    Quota,
}

/// Adapter to the `turn` crate's trait.
pub struct Handler(pub std::sync::Arc<RestAuth>);

impl turn::auth::AuthHandler for Handler {
    fn auth_handle(
        &self,
        username: &str,
        realm: &str,
        src_addr: SocketAddr,
    ) -> Result<Vec<u8>, turn::Error> {
        self.0
            .check(username, realm, src_addr, credentials::now_unix())
            .map_err(|r| {
                // Neither the username nor the client address goes to the log.
                tracing::info!(reason = %r, "turn: refused");
                turn::Error::Other(r.to_string())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn accepts_rest_credentials_and_counts_allocations_per_username() {
        let auth = RestAuth::new(Secret::new("s"), 2);
        let (user, pass) = credentials::mint("s", "p1", 1_000, 60);
        let key = auth.check(&user, "loket", addr(1), 1_000).unwrap();
        assert_eq!(key, credentials::long_term_key(&user, "loket", &pass));
        assert!(
            auth.check(&user, "loket", addr(1), 1_000).is_ok(),
            "refresh"
        );
        assert!(auth.check(&user, "loket", addr(2), 1_000).is_ok());
        assert_eq!(
            auth.check(&user, "loket", addr(3), 1_000),
            Err(Refusal::Quota)
        );
        auth.released(&user, addr(1));
        assert!(auth.check(&user, "loket", addr(3), 1_000).is_ok());
        assert_eq!(
            auth.check(&user, "loket", addr(1), 2_000),
            Err(Refusal::Expired)
        );
        assert_eq!(
            auth.check("12345", "loket", addr(1), 0),
            Err(Refusal::Malformed)
        );
        // Each refusal is counted under its own reason, acceptances not at all.
        assert_eq!(
            [Refusal::Malformed, Refusal::Expired, Refusal::Quota].map(|r| auth.refusals(r)),
            [1, 1, 1]
        );
    }

    #[test]
    fn reconciliation_forgets_ghosts_and_blocks_heavy_users() {
        let auth = RestAuth::new(Secret::new("s"), 1);
        let (user, _) = credentials::mint("s", "p1", 1_000, 60);
        auth.check(&user, "r", addr(1), 1_000).unwrap();
        // No allocation exists and the grace is zero: the address is forgotten.
        assert!(auth.reconcile(&[], 0, Duration::ZERO, 1_000).is_empty());
        assert_eq!(auth.tracked(), 0);
        auth.check(&user, "r", addr(2), 1_000).unwrap();
        let over = auth.reconcile(
            &[(user.clone(), addr(2), 5000)],
            1000,
            Duration::ZERO,
            1_000,
        );
        assert_eq!(over, vec![user.clone()]);
        assert_eq!(auth.check(&user, "r", addr(2), 1_000), Err(Refusal::Quota));
    }
}
