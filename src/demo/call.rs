//! "Coba sekarang": a call reachable from the demo within a minute, whatever the day and hour.
//! On each start in demo mode (development with demo data; never in production) Loket books the
//! demo clerk (or, when the clerk is busy, the DPMPTSP supervisor) for a PBG consultation starting
//! in two minutes — outside the weekly hours and the closures if need be, which only the demo may
//! do — and prints its join link with that staff member's login, so a visitor opens the link,
//! signs in as the clerk in another window, and admits themselves. A restart while that booking's
//! room is still open prints the same booking again instead of piling up new ones.
//!
//! The citizen is fictitious: "Warga Demo" with a number in the unallocated +62 860 range, so no
//! message about it can reach a real subscriber.

use chrono::{DateTime, Duration, DurationRound, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

use crate::booking::BookingError;
use crate::booking::book::booked;
use crate::config::{Environment, Settings};
use crate::context::Ctx;
use crate::db::{self, appointments::AppointmentView};
use crate::domain::appointment::{BookingCode, Status};
use crate::domain::ids::{AgencyId, StaffId};
use crate::domain::schedule::Interval;
use crate::fault::Fault;

/// Who answers demo calls, in order (DPMPTSP: both serve PBG), and the service of the call.
pub const CLERK: &str = "clerk@loket.example";
pub const STAND_IN: &str = "supervisor@loket.example";
pub const SERVICE: &str = "pbg";
pub const CITIZEN_NAME: &str = "Warga Demo (coba sekarang)";
/// +62 860…: no Indonesian mobile operator has the 0860 prefix.
pub const CITIZEN_PHONE: &str = "+628600000000";
/// How soon the demo call starts.
const LEAD: Duration = Duration::minutes(2);
/// A booking whose room closes sooner than this is not offered again: a new one is made.
const STILL_OPEN_FOR: Duration = Duration::minutes(10);

/// A demo booking ready to join, and who answers it.
#[derive(Clone, Debug)]
pub struct DemoCall {
    pub code: String,
    pub starts_at: DateTime<Utc>,
    /// The citizen's join page (the token in the fragment).
    pub join: String,
    pub staff_page: String,
    /// The login of the staff member who answers it.
    pub clerk: String,
    /// An earlier start's booking, still open, offered again.
    pub reused: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoCallError {
    #[error("the demo data has no {CLERK} or service {SERVICE} (was the catalogue replaced?)")]
    Missing,
    #[error("{CLERK} and {STAND_IN} are both in demo calls; a restart after them makes another")]
    ClerkBusy,
    #[error(transparent)]
    Fault(#[from] Fault),
}
crate::fault_from!(DemoCallError);

impl From<BookingError> for DemoCallError {
    fn from(e: BookingError) -> Self {
        match e {
            BookingError::Fault(f) => DemoCallError::Fault(f),
            other => DemoCallError::Fault(Fault::from(anyhow::anyhow!("{other}"))),
        }
    }
}

/// Whether starts print a demo call: development with demo data only (and not switched off
/// with `LOKET_DEMO_CALL=false`, as tests that run whole nodes over the demo do).
pub fn enabled(settings: &Settings) -> bool {
    settings.env == Environment::Development && settings.demo_data && settings.demo_call
}

/// When a demo call made at `now` starts: two minutes on, at a whole minute — unless that is
/// already the next day in the site's zone, where the clerk's "today" would not show it; then
/// at the current minute (the room is open either way).
pub fn start_for(now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    let minute = now.duration_trunc(Duration::minutes(1)).unwrap_or(now);
    let later = minute + LEAD;
    if later.with_timezone(&tz).date_naive() == now.with_timezone(&tz).date_naive() {
        later
    } else {
        minute
    }
}

/// The demo call: the booking made at an earlier start if its room is still open for a while,
/// else a new one.
pub async fn ready(ctx: &Ctx, now: DateTime<Utc>) -> Result<DemoCall, DemoCallError> {
    let mut conn = ctx.conn().await?;
    let mut staff = Vec::new();
    for email in [CLERK, STAND_IN] {
        if let Some(s) = db::staff::by_email(&mut conn, email)
            .await?
            .filter(|s| s.active)
        {
            staff.push(s);
        }
    }
    let Some(agency) = staff.first().and_then(|s| s.agency_id) else {
        return Err(DemoCallError::Missing);
    };
    let candidates: Vec<StaffId> = staff.iter().map(|s| StaffId(s.id)).collect();
    let email_of = |id: StaffId| {
        staff
            .iter()
            .find(|s| s.id == id.0)
            .map(|s| s.email.clone())
            .unwrap_or_default()
    };
    let (service, _) = ctx
        .directory
        .service(&mut conn, SERVICE)
        .await?
        .filter(|(s, _)| s.active)
        .ok_or(DemoCallError::Missing)?;
    let settings = &ctx.settings;
    let opens = Duration::minutes(settings.join_opens_minutes);
    let grace = Duration::minutes(settings.join_grace_minutes);
    let around = Interval {
        start: now - Duration::hours(6),
        end: now + Duration::hours(6),
    };
    let theirs = db::appointments::list(
        &mut conn,
        db::appointments::Scope::Agency(AgencyId(agency)),
        around,
    )
    .await?;
    let open = theirs.into_iter().find(|v| {
        let a = &v.appointment;
        a.citizen_phone.as_deref() == Some(CITIZEN_PHONE)
            && candidates.contains(&a.staff())
            && matches!(a.status(), Status::Booked | Status::Waiting)
            && a.starts_at() - opens <= now
            && now + STILL_OPEN_FOR <= a.ends_at + grace
    });
    if let Some(view) = open {
        let clerk = email_of(view.appointment.staff());
        return call(ctx, view, clerk, true);
    }
    let duration = Duration::minutes(service.duration_minutes.into());
    let blocked = duration + Duration::minutes(service.buffer_minutes.into());
    // The clerk may have a (real or demo) booking right then: try the next few starts whose
    // room is still open at once.
    let mut start = start_for(now, settings.timezone);
    while start - opens <= now {
        let new = db::appointments::NewAppointment {
            id: Uuid::new_v4(),
            code: BookingCode::generate().as_str().to_string(),
            service_id: service.id,
            staff_id: candidates[0].0,
            period: db::schedule::range(Interval {
                start,
                end: start + blocked,
            }),
            ends_at: start + duration,
            citizen_name: CITIZEN_NAME.to_string(),
            citizen_phone: CITIZEN_PHONE.to_string(),
            citizen_email: None,
            nik_cipher: None,
            nik_last4: None,
            nik_masked: None,
            nik_hash: None,
            idempotency_key: None,
            request_hash: None,
            lang: Default::default(),
            // The demo's citizen has no phone to reach: no messages.
            messages: serde_json::json!([]),
            // Booked at once: the demo call is for trying a call, not the code step.
            hold: None,
        };
        // The demo's own bookings are not held to a citizen's limits.
        let limits = db::appointments::Limits {
            max_active: i64::MAX,
            max_active_nik: i64::MAX,
            max_per_service_day: i64::MAX,
            day: db::schedule::range(Interval {
                start: start - Duration::days(1),
                end: start + Duration::days(1),
            }),
        };
        match db::appointments::book(&mut conn, new, &candidates, &limits).await {
            Ok(row) => {
                ctx.feed.publish_appointment(&row);
                let view = db::appointments::view(&mut conn, row.id())
                    .await?
                    .ok_or(DemoCallError::Missing)?;
                return call(ctx, view, email_of(row.staff()), false);
            }
            Err(db::appointments::BookError::SlotTaken) => start += blocked,
            Err(e) => return Err(Fault::from(anyhow::anyhow!("demo call: {e}")).into()),
        }
    }
    Err(DemoCallError::ClerkBusy)
}

fn call(
    ctx: &Ctx,
    view: AppointmentView,
    clerk: String,
    reused: bool,
) -> Result<DemoCall, DemoCallError> {
    let starts_at = view.appointment.starts_at();
    let code = view.appointment.code.clone();
    let b = booked(ctx, view)?;
    Ok(DemoCall {
        code,
        starts_at,
        join: b.links.join,
        staff_page: format!("{}/staff", ctx.settings.public_url),
        clerk,
        reused,
    })
}

impl DemoCall {
    /// For the person who started Loket (stdout, not the log).
    pub fn print(&self, settings: &Settings) {
        let at = self.starts_at.with_timezone(&settings.timezone);
        println!(
            "\n  Coba sekarang / Try a call now: a demo PBG consultation at {} (code {}).",
            at.format("%H.%M %Z"),
            self.code
        );
        println!("    1. As the citizen, open: {}", self.join);
        println!(
            "    2. As the clerk, in another browser window: {} — sign in as {}",
            self.staff_page, self.clerk
        );
        if settings.demo_password.is_some() {
            println!("       (password: the value of LOKET_DEMO_PASSWORD),");
        } else {
            println!(
                "       (password in {}),",
                settings.data_dir.join("demo-logins.txt").display()
            );
        }
        println!("       open the booking on Hari ini / Today and admit the citizen.");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const WIB: Tz = chrono_tz::Asia::Jakarta;

    fn wib(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        WIB.with_ymd_and_hms(y, mo, d, h, mi, s)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_demo_call_starts_two_whole_minutes_on_at_any_hour() {
        // A Sunday night, a public holiday (1 January), a weekday noon.
        for now in [
            wib(2026, 12, 6, 21, 17, 42),
            wib(2027, 1, 1, 3, 0, 5),
            wib(2026, 12, 7, 12, 0, 0),
        ] {
            let start = start_for(now, WIB);
            assert_eq!(start.timestamp() % 60, 0);
            assert!(start > now && start - now <= LEAD, "{now} → {start}");
        }
    }

    #[test]
    fn just_before_midnight_it_starts_on_the_same_day() {
        let now = wib(2026, 12, 6, 23, 58, 30);
        let start = start_for(now, WIB);
        assert_eq!(start, wib(2026, 12, 6, 23, 58, 0));
        assert_eq!(
            start.with_timezone(&WIB).date_naive(),
            now.with_timezone(&WIB).date_naive()
        );
    }
}
