//! [`AppState`]: what every HTTP handler can reach — the use-cases' [`Ctx`] plus what only the
//! server needs: the per-address rate limiters, the consultation rooms and their ticket
//! redeemers, the pre-call checks and the built-in TURN relay. Built by `startup`.

use std::sync::Arc;

use crate::context::Ctx;
use crate::limits::RateLimiter;

pub struct AppState {
    /// The use-cases' context; `AppState` derefs to it (`state.pool`, `state.settings`).
    pub ctx: Arc<Ctx>,
    pub booking_limiter: RateLimiter,
    pub login_limiter: RateLimiter,
    /// Staff sign-in tries per (email, address) and per email (`domain::login_throttle`).
    pub login_throttle: std::sync::Mutex<crate::domain::login_throttle::LoginThrottle>,
    /// Room tickets per citizen token or staff member.
    pub ticket_limiter: RateLimiter,
    /// The consultation rooms (one task owns them all; this is its handle).
    pub rooms: crate::signalling::Rooms,
    /// Redeems the signalling sockets' tickets in batches (`signalling::redeemer`).
    pub redeemer: crate::signalling::redeemer::Redeemer,
    /// Pre-call checks (src/precheck).
    pub precheck: crate::precheck::Prechecks,
    /// The built-in TURN relay, when `LOKET_TURN_LISTEN` is set (src/turn).
    pub turn: Option<Arc<crate::turn::TurnRelay>>,
    /// Set once the node is shutting down: `/readyz` then says so, so a balancer moves on.
    pub draining: std::sync::atomic::AtomicBool,
}

impl AppState {
    pub fn start_draining(&self) {
        self.draining
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl std::ops::Deref for AppState {
    type Target = Ctx;

    fn deref(&self) -> &Ctx {
        &self.ctx
    }
}
