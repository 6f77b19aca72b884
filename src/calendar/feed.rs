//! A clerk's appointments as a calendar a phone can subscribe to. The secret key in the URL is
//! the only credential; the feed holds the citizen's first name and booking code, never their
//! phone, email or NIK.

use chrono::{Duration, Utc};

use super::CalendarError;
use crate::context::Ctx;
use crate::db::{self, appointments::Scope};
use crate::domain::appointment::Status;
use crate::domain::ics;
use crate::domain::ids::StaffId;
use crate::domain::schedule::Interval;

/// The feed's text for the calendar `key`, from two weeks back to the booking horizon.
pub async fn calendar_feed(ctx: &Ctx, key: &str) -> Result<String, CalendarError> {
    if key.len() < 20 || key.len() > 100 {
        return Err(CalendarError::UnknownCalendar);
    }
    let mut conn = ctx.conn().await?;
    let staff = db::staff::by_calendar_key(&mut conn, key)
        .await?
        .ok_or(CalendarError::UnknownCalendar)?;
    let now = Utc::now();
    let window = Interval {
        start: now - Duration::days(14),
        end: now + Duration::days(ctx.settings.horizon_days + 2),
    };
    let rows = db::appointments::list(&mut conn, Scope::Staff(StaffId(staff.id)), window).await?;
    let ids: Vec<uuid::Uuid> = rows.iter().map(|v| v.appointment.id).collect();
    let events = db::events::counts(&mut conn, &ids).await?;
    let texts: Vec<(String, String)> = rows
        .iter()
        .map(|v| {
            let first = v
                .appointment
                .citizen_name
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_string();
            (
                format!("{} — {} ({})", v.service_name, first, v.appointment.code),
                format!(
                    "Kode booking: {}\nStatus: {}",
                    v.appointment.code, v.appointment.status
                ),
            )
        })
        .collect();
    let staff_url = format!("{}/staff", ctx.settings.public_url);
    let events: Vec<ics::IcsEvent<'_>> = rows
        .iter()
        .zip(texts.iter())
        .map(|(v, (summary, description))| ics::IcsEvent {
            uid: format!("{}@loket", v.appointment.id),
            starts_at: v.appointment.starts_at(),
            ends_at: v.appointment.ends_at,
            summary,
            description,
            url: Some(&staff_url),
            cancelled: !matches!(
                v.appointment.status(),
                Status::Booked | Status::Waiting | Status::InCall | Status::Completed
            ),
            sequence: db::events::sequence(events.get(&v.appointment.id)),
            stamp: v.appointment.updated_at,
        })
        .collect();
    Ok(ics::calendar(&format!("Loket — {}", staff.name), &events))
}
