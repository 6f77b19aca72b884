//! Free times for a service: loads what the pure slot computation (`domain::slots`) needs —
//! eligible clerks, their hours, closures and busy periods — and runs it. The slots endpoint,
//! booking and rescheduling all go through here, so they agree on what is free.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use diesel_async::AsyncPgConnection;

use crate::config::Settings;
use crate::db;
use crate::db::catalog::Service;
use crate::directory::{Directory, Staffed};
use crate::domain::closed::Closed;
use crate::domain::ids::{ServiceId, StaffId};
use crate::domain::schedule::Interval;
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

/// Loads what blocks the given clerks (the service's staffing, from the `Directory`) in the
/// window: one round trip.
pub async fn load(
    conn: &mut AsyncPgConnection,
    staffing: &[Staffed],
    service: ServiceId,
    window: Interval,
    only: Option<StaffId>,
) -> Result<Calendars, diesel::result::Error> {
    let staffing = staffing
        .iter()
        .filter(|s| only.is_none_or(|only| s.id == only));
    let names = staffing.clone().map(|s| (s.id, s.name.clone())).collect();
    let (mut busy, closures) = db::schedule::blocked_for_service(conn, service, window).await?;
    let clerks = staffing
        .map(|s| {
            let (busy, load) = busy.remove(&s.id).unwrap_or_default();
            ClerkCalendar {
                staff_id: s.id,
                hours: s.hours.clone(),
                busy,
                load,
            }
        })
        .collect();
    Ok(Calendars {
        clerks,
        closures,
        names,
    })
}

/// What blocks the service's clerks (or only `only`) within a day either side of `at`: enough
/// to decide who is free at exactly that start (booking, reschedule, reassignment).
pub async fn load_around(
    conn: &mut AsyncPgConnection,
    directory: &Directory,
    service: ServiceId,
    at: DateTime<Utc>,
    only: Option<StaffId>,
) -> Result<Calendars, diesel::result::Error> {
    let window = Interval {
        start: at - Duration::days(1),
        end: at + Duration::days(1),
    };
    let staffing = directory.staffing(conn, service).await?;
    load(conn, &staffing, service, window, only).await
}

pub fn slots(rules: SlotRules, cal: &Calendars, from: NaiveDate, days: u32) -> Vec<DaySlots> {
    Prepared::new(rules, &cal.clerks, &cal.closures).slots(from, days)
}

/// Why a day without free times is closed (`None`: it is open and booked up). `holidays`:
/// `db::schedule::holidays_in` over the same window.
pub fn why_closed(
    rules: &SlotRules,
    cal: &Calendars,
    holidays: &[(Interval, String)],
    date: NaiveDate,
) -> Option<Closed> {
    crate::domain::closed::why_closed(rules, &cal.clerks, holidays, date)
}

/// Clerks free at `start`, least loaded first; among equal loads in an order that rotates with
/// every call, so concurrent bookings for one time each start with a different clerk instead of
/// colliding on the same one (a collision costs a failed insert and a retry).
pub fn free_clerks(rules: SlotRules, cal: &Calendars, start: DateTime<Utc>) -> Vec<StaffId> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    // Starts at a random place so that nodes started together do not rotate in step.
    static NEXT: std::sync::LazyLock<AtomicUsize> =
        std::sync::LazyLock::new(|| AtomicUsize::new(rand::random::<u16>() as usize));
    let mut clerks = cal.clerks.clone();
    if !clerks.is_empty() {
        let turn = NEXT.fetch_add(1, Ordering::Relaxed) % clerks.len();
        clerks.rotate_left(turn);
    }
    Prepared::new(rules, &clerks, &cal.closures).free_clerks_at(start)
}

/// A short-lived cache of the slots endpoint's answers. Booking never reads it (it always asks
/// the database), so a stale entry can only show a time that then answers 409 `slot_taken`.
/// Every successful write request bumps the generation, which empties it at once on this node;
/// the TTL bounds how stale another node's writes (or the moving notice boundary) can make it.
pub type SlotCache = crate::cache::Generational<SlotKey, bytes::Bytes>;

pub type SlotKey = (String, NaiveDate, u32);

/// How long an answer may be served without a write on this node.
pub const SLOT_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);
/// Entries kept at most (a whole catalogue × a month of start dates × a few ranges).
pub const SLOT_CACHE_MAX: usize = 4096;

pub fn slot_cache() -> SlotCache {
    SlotCache::new(SLOT_CACHE_TTL, SLOT_CACHE_MAX)
}
