//! Free times for a service: loads what the pure slot computation (`domain::slots`) needs —
//! eligible clerks, their hours, closures and busy periods — and runs it. The slots endpoint,
//! booking and rescheduling all go through here, so they agree on what is free.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use diesel_async::AsyncPgConnection;

use crate::config::Settings;
use crate::db;
use crate::db::catalog::Service;
use crate::domain::ids::{ServiceId, StaffId};
use crate::domain::schedule::{Interval, WeeklyHours};
use crate::domain::slots::{ClerkCalendar, DaySlots, Prepared, SlotRules};

pub fn rules(settings: &Settings, service: &Service, now: DateTime<Utc>) -> SlotRules {
    SlotRules {
        tz: settings.timezone,
        now,
        min_notice: Duration::minutes(settings.min_notice_minutes),
        horizon_days: settings.horizon_days,
        duration: Duration::minutes(service.duration_minutes as i64),
        buffer: Duration::minutes(service.buffer_minutes as i64),
    }
}

/// The UTC window covering local dates `from .. from + days`, a day wider on each side.
pub fn window(settings: &Settings, from: NaiveDate, days: u32) -> Interval {
    let tz = settings.timezone;
    let start = tz
        .from_local_datetime(&from.and_time(NaiveTime::MIN))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(Utc::now)
        - Duration::days(1);
    Interval {
        start,
        end: start + Duration::days(days as i64 + 2),
    }
}

/// Everything the computation needs for one service and window.
pub struct Calendars {
    pub clerks: Vec<ClerkCalendar>,
    pub closures: Vec<Interval>,
    /// The clerks' names, for answering a booking without reading it back.
    pub names: std::collections::HashMap<StaffId, String>,
}

pub async fn load(
    conn: &mut AsyncPgConnection,
    service: ServiceId,
    window: Interval,
    only: Option<StaffId>,
) -> Result<Calendars, diesel::result::Error> {
    // Two queries: who serves it (with their hours), and what blocks them in the window.
    let mut staff = db::schedule::eligible_with_hours(conn, service).await?;
    if let Some(only) = only {
        staff.retain(|(s, _, _)| *s == only);
    }
    let names = staff
        .iter()
        .map(|(id, name, _)| (*id, name.clone()))
        .collect();
    let (mut busy, closures) = db::schedule::blocked_for_service(conn, service, window).await?;
    let clerks = staff
        .into_iter()
        .filter_map(|(id, _, hours)| {
            // Stored hours passed the database's checks; a row that still fails is skipped.
            let hours = WeeklyHours::parse(&hours).ok()?;
            let (busy, load) = busy.remove(&id).unwrap_or_default();
            Some(ClerkCalendar {
                staff_id: id,
                hours,
                busy,
                load,
            })
        })
        .collect();
    Ok(Calendars {
        clerks,
        closures,
        names,
    })
}

pub fn slots(rules: SlotRules, cal: &Calendars, from: NaiveDate, days: u32) -> Vec<DaySlots> {
    Prepared::new(rules, &cal.clerks, &cal.closures).slots(from, days)
}

/// Clerks free at `start`, least loaded first; equal loads in random order so concurrent
/// bookings spread over clerks instead of queueing on the first.
pub fn free_clerks(rules: SlotRules, cal: &Calendars, start: DateTime<Utc>) -> Vec<StaffId> {
    use rand::seq::SliceRandom;
    let mut clerks = cal.clerks.clone();
    clerks.shuffle(&mut rand::rng());
    Prepared::new(rules, &clerks, &cal.closures).free_clerks_at(start)
}

/// A short-lived cache of the slots endpoint's answers. Booking never reads it (it always asks
/// the database), so a stale entry can only show a time that then answers 409 `slot_taken`.
/// Every successful write request bumps the generation, which empties it at once on this node;
/// the TTL bounds how stale another node's writes (or the moving notice boundary) can make it.
pub struct SlotCache {
    generation: std::sync::atomic::AtomicU64,
    entries: std::sync::Mutex<std::collections::HashMap<SlotKey, CachedSlots>>,
}

pub type SlotKey = (String, NaiveDate, u32);

struct CachedSlots {
    generation: u64,
    at: std::time::Instant,
    body: actix_web::web::Bytes,
}

/// How long an answer may be served without a write on this node.
pub const SLOT_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);
/// Entries kept at most (a whole catalogue × a month of start dates × a few ranges).
pub const SLOT_CACHE_MAX: usize = 4096;

impl Default for SlotCache {
    fn default() -> Self {
        SlotCache {
            generation: std::sync::atomic::AtomicU64::new(0),
            entries: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }
}

impl SlotCache {
    /// The current generation: read it before loading, store with it after.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Something that may change free times happened.
    pub fn invalidate(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    pub fn get(&self, key: &SlotKey) -> Option<actix_web::web::Bytes> {
        let current = self.generation();
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|e| e.generation == current && e.at.elapsed() < SLOT_CACHE_TTL)
            .map(|e| e.body.clone())
    }

    pub fn put(&self, key: SlotKey, generation: u64, body: actix_web::web::Bytes) {
        if generation != self.generation() {
            return; // a write happened while this answer was computed
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= SLOT_CACHE_MAX {
                let current = self.generation();
                entries.retain(|_, e| e.generation == current && e.at.elapsed() < SLOT_CACHE_TTL);
                if entries.len() >= SLOT_CACHE_MAX {
                    entries.clear();
                }
            }
            entries.insert(
                key,
                CachedSlots {
                    generation,
                    at: std::time::Instant::now(),
                    body,
                },
            );
        }
    }
}

#[cfg(test)]
mod cache_tests {
    use super::*;

    #[test]
    fn a_write_or_a_write_during_loading_empties_the_cache() {
        let c = SlotCache::default();
        let key: SlotKey = (
            "pbg".into(),
            NaiveDate::from_ymd_opt(2026, 3, 16).unwrap(),
            7,
        );
        let g = c.generation();
        c.put(key.clone(), g, "a".into());
        assert_eq!(c.get(&key).as_deref(), Some(&b"a"[..]));
        c.invalidate();
        assert!(c.get(&key).is_none());
        let g = c.generation();
        c.invalidate(); // a booking lands while the answer is computed
        c.put(key.clone(), g, "stale".into());
        assert!(c.get(&key).is_none());
    }
}
