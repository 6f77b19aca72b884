//! Who may try a staff password now. The old rule counted every wrong try against the email,
//! so 30 wrong tries from 30 addresses locked the real owner out (429) — the attacker decided
//! who could sign in. Now:
//! - per (email, address): five wrong tries are free; after that each further try must wait
//!   30 s after the last failure, doubling (1, 2, 4 … minutes) up to 15 minutes; a success clears
//!   it. One address guessing one account is slowed to a crawl.
//! - per email: once ten wrong tries (from any addresses) fell within 15 minutes, the account
//!   is guarded: every try, from anywhere, waits its turn — one every [`Rules::spacing`], the
//!   first after that spacing too — so a spray from many addresses gets through at most one
//!   guess per spacing. A try whose turn is further off than [`Rules::max_wait`] is refused with
//!   the time to come back. The owner from a new address is not refused: their correct password
//!   passes after a short wait (once the spray has stopped, at most `max_wait`).
//!
//! Pure: the caller passes the clock and performs the waits. Tables are bounded: when full,
//! entries with nothing left to remember are dropped first, and a new key is not kept at all
//! (it is then treated as fresh, which only errs towards letting a try through).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// The numbers; [`Rules::default`] is what Loket uses.
#[derive(Clone, Copy, Debug)]
pub struct Rules {
    pub free_failures_per_address: u32,
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    pub guard_after_failures: usize,
    pub window: Duration,
    pub spacing: Duration,
    pub max_wait: Duration,
    pub max_keys: usize,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            free_failures_per_address: 5,
            first_backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(15 * 60),
            guard_after_failures: 10,
            window: Duration::from_secs(15 * 60),
            spacing: Duration::from_secs(2),
            max_wait: Duration::from_secs(10),
            max_keys: 100_000,
        }
    }
}

/// What to do with a try.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Check the password now.
    Go,
    /// Wait this long, then check the password (the account is guarded).
    After(Duration),
    /// Do not check it; come back after this long.
    Refuse(Duration),
}

#[derive(Clone, Copy, Debug)]
struct PairFailures {
    count: u32,
    last: Instant,
}

#[derive(Debug, Default)]
struct EmailState {
    /// Recent failures, oldest first (at most `guard_after_failures` kept).
    failures: VecDeque<Instant>,
    /// When the next guarded try may go.
    next_turn: Option<Instant>,
}

#[derive(Debug, Default)]
pub struct LoginThrottle {
    rules: Rules,
    pairs: HashMap<(String, String), PairFailures>,
    emails: HashMap<String, EmailState>,
}

impl LoginThrottle {
    pub fn new(rules: Rules) -> LoginThrottle {
        LoginThrottle {
            rules,
            ..Default::default()
        }
    }

    fn backoff(&self, count: u32) -> Duration {
        let over = count.saturating_sub(self.rules.free_failures_per_address);
        let factor = 1u32.checked_shl(over.min(20)).unwrap_or(u32::MAX);
        self.rules
            .first_backoff
            .saturating_mul(factor)
            .min(self.rules.max_backoff)
    }

    fn guarded(&self, state: &EmailState, now: Instant) -> bool {
        state
            .failures
            .iter()
            .filter(|t| now.saturating_duration_since(**t) < self.rules.window)
            .count()
            >= self.rules.guard_after_failures
    }

    /// May `email` be tried from `address` now? A guarded account's turn is taken here.
    pub fn before(&mut self, email: &str, address: &str, now: Instant) -> Verdict {
        if let Some(p) = self.pairs.get(&(email.to_string(), address.to_string()))
            && p.count >= self.rules.free_failures_per_address
        {
            let until = p.last + self.backoff(p.count);
            if until > now {
                return Verdict::Refuse(until - now);
            }
        }
        let rules = self.rules;
        let Some(state) = self.emails.get(email) else {
            return Verdict::Go;
        };
        if !self.guarded(state, now) {
            return Verdict::Go;
        }
        let turn = state.next_turn.map_or(now, |t| t.max(now)) + rules.spacing;
        let wait = turn - now;
        if wait > rules.max_wait {
            return Verdict::Refuse(wait - rules.max_wait);
        }
        if let Some(state) = self.emails.get_mut(email) {
            state.next_turn = Some(turn);
        }
        Verdict::After(wait)
    }

    /// Records how a try that was let through went.
    pub fn after(&mut self, email: &str, address: &str, ok: bool, now: Instant) {
        let key = (email.to_string(), address.to_string());
        if ok {
            self.pairs.remove(&key);
            return;
        }
        self.make_room(now);
        let max = self.rules.max_keys;
        if self.pairs.len() < max || self.pairs.contains_key(&key) {
            let p = self.pairs.entry(key).or_insert(PairFailures {
                count: 0,
                last: now,
            });
            p.count += 1;
            p.last = now;
        }
        if self.emails.len() < max || self.emails.contains_key(email) {
            let keep = self.rules.guard_after_failures;
            let state = self.emails.entry(email.to_string()).or_default();
            state.failures.push_back(now);
            while state.failures.len() > keep {
                state.failures.pop_front();
            }
        }
    }

    /// Drops what no longer matters once a table is full.
    fn make_room(&mut self, now: Instant) {
        let rules = self.rules;
        if self.pairs.len() >= rules.max_keys {
            self.pairs.retain(|_, p| {
                now.saturating_duration_since(p.last) < rules.max_backoff.max(rules.window)
            });
        }
        if self.emails.len() >= rules.max_keys {
            self.emails.retain(|_, s| {
                s.failures
                    .back()
                    .is_some_and(|t| now.saturating_duration_since(*t) < rules.window)
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(t: &mut LoginThrottle, email: &str, addr: &str, now: Instant) {
        assert!(!matches!(t.before(email, addr, now), Verdict::Refuse(_)));
        t.after(email, addr, false, now);
    }

    #[test]
    fn one_address_gets_five_tries_then_a_doubling_pause() {
        let mut t = LoginThrottle::new(Rules::default());
        let t0 = Instant::now();
        for _ in 0..5 {
            fail(&mut t, "a@x", "1.1.1.1", t0);
        }
        assert_eq!(
            t.before("a@x", "1.1.1.1", t0),
            Verdict::Refuse(Duration::from_secs(30))
        );
        assert_eq!(
            t.before("a@x", "2.2.2.2", t0),
            Verdict::Go,
            "another address"
        );
        assert_eq!(
            t.before("b@x", "1.1.1.1", t0),
            Verdict::Go,
            "another account"
        );
        let t1 = t0 + Duration::from_secs(30);
        fail(&mut t, "a@x", "1.1.1.1", t1);
        assert_eq!(
            t.before("a@x", "1.1.1.1", t1),
            Verdict::Refuse(Duration::from_secs(60))
        );
        // A success clears the address's count.
        let t2 = t1 + Duration::from_secs(60);
        assert_eq!(t.before("a@x", "1.1.1.1", t2), Verdict::Go);
        t.after("a@x", "1.1.1.1", true, t2);
        assert_eq!(t.before("a@x", "1.1.1.1", t2), Verdict::Go);
    }

    #[test]
    fn a_spray_from_many_addresses_guards_the_account_without_locking_the_owner_out() {
        let mut t = LoginThrottle::new(Rules::default());
        let t0 = Instant::now();
        for i in 0..10 {
            fail(&mut t, "a@x", &format!("10.0.0.{i}"), t0);
        }
        // Guarded: each try waits its turn, two seconds apart.
        assert_eq!(
            t.before("a@x", "10.0.1.1", t0),
            Verdict::After(Duration::from_secs(2))
        );
        assert_eq!(
            t.before("a@x", "10.0.1.2", t0),
            Verdict::After(Duration::from_secs(4))
        );
        for _ in 0..3 {
            assert!(matches!(t.before("a@x", "10.0.1.3", t0), Verdict::After(_)));
        }
        // The queue is full (10 s ahead): refused, with when to come back.
        assert_eq!(
            t.before("a@x", "10.0.1.4", t0),
            Verdict::Refuse(Duration::from_secs(2))
        );
        // Once the spray stops, the owner from a new address waits at most a short while.
        let later = t0 + Duration::from_secs(10);
        assert_eq!(
            t.before("a@x", "192.168.1.9", later),
            Verdict::After(Duration::from_secs(2))
        );
        // And the guard lifts when the failures are older than the window.
        let much_later = t0 + Duration::from_secs(16 * 60);
        assert_eq!(t.before("a@x", "192.168.1.9", much_later), Verdict::Go);
    }

    #[test]
    fn tables_stay_bounded() {
        let mut t = LoginThrottle::new(Rules {
            max_keys: 3,
            ..Rules::default()
        });
        let t0 = Instant::now();
        for i in 0..10 {
            t.after(&format!("{i}@x"), "1.1.1.1", false, t0);
        }
        assert!(t.pairs.len() <= 3 && t.emails.len() <= 3);
    }
}
