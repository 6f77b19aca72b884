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
        staff.retain(|(s, _)| *s == only);
    }
    let (mut busy, closures) = db::schedule::blocked_for_service(conn, service, window).await?;
    let clerks = staff
        .into_iter()
        .filter_map(|(id, hours)| {
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
    Ok(Calendars { clerks, closures })
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
