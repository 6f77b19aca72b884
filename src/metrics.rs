//! Counters the use-cases bump and `/metrics` reports.

use std::sync::atomic::AtomicU64;

#[derive(Default)]
pub struct Metrics {
    pub bookings: AtomicU64,
    pub slot_taken: AtomicU64,
    pub logins_failed: AtomicU64,
    /// Messages a provider accepted (src/notify).
    pub notifications_sent: AtomicU64,
}
