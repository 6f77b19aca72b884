//! Time nobody books: a clerk's personal leave (cuti) and the mall's holidays (libur nasional,
//! cuti bersama). Adding one is audited in the same transaction; leave answers which active
//! bookings it falls on, so they can be moved.

use chrono::{Duration, Utc};
use diesel_async::AsyncConnection;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::CalendarError;
use crate::auth::StaffSession;
use crate::context::Ctx;
use crate::db::{self, appointments::Scope, schedule::Closure};
use crate::domain::FieldErrors;
use crate::domain::ids::ClosureId;
use crate::domain::schedule::{Interval, Role};
use crate::fault::Fault;

/// A closure as submitted.
#[derive(Deserialize, ToSchema)]
#[schema(as = ClosureIn)]
pub struct ClosureForm {
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub reason: Option<String>,
}

/// Longest reason kept.
const MAX_REASON_CHARS: usize = 200;

impl ClosureForm {
    /// The closure's time (at most a year) and its reason, or every bad field.
    pub fn parse(&self) -> Result<(Interval, String), CalendarError> {
        let mut fields = FieldErrors::new();
        let t = |raw: Option<&str>, name: &str, fields: &mut FieldErrors| {
            let parsed = raw.and_then(|r| crate::domain::dates::parse_instant(r).ok());
            if parsed.is_none() {
                fields.insert(
                    name.into(),
                    if raw.is_none() { "required" } else { "invalid" }.into(),
                );
            }
            parsed
        };
        let start = t(self.starts_at.as_deref(), "starts_at", &mut fields);
        let end = t(self.ends_at.as_deref(), "ends_at", &mut fields);
        let reason = self.reason.as_deref().unwrap_or("").trim().to_string();
        if reason.is_empty() {
            fields.insert("reason".into(), "required".into());
        } else if reason.chars().count() > MAX_REASON_CHARS {
            fields.insert("reason".into(), "too_long".into());
        }
        let interval = match (start, end) {
            (Some(s), Some(e)) => {
                let i = Interval::new(s, e);
                if i.is_none() {
                    fields.insert("ends_at".into(), "before_starts_at".into());
                } else if e - s > Duration::days(366) {
                    fields.insert("ends_at".into(), "too_long".into());
                }
                i
            }
            _ => None,
        };
        match interval {
            Some(i) if fields.is_empty() => Ok((i, reason)),
            _ => Err(CalendarError::Invalid(fields)),
        }
    }
}

/// Leave as stored, with the codes of the active bookings it falls on.
pub struct LeaveAdded {
    pub id: ClosureId,
    pub interval: Interval,
    pub reason: String,
    pub affected_bookings: Vec<String>,
}

/// The caller's leave from 30 days ago on.
pub async fn leave(ctx: &Ctx, me: &StaffSession) -> Result<Vec<Closure>, Fault> {
    let mut conn = ctx.conn().await?;
    Ok(db::schedule::personal_closures(&mut conn, me.id, Utc::now() - Duration::days(30)).await?)
}

/// Adds personal leave. Bookings already in that time stay and are listed, so the clerk (or a
/// supervisor) can move them.
pub async fn add_leave(
    ctx: &Ctx,
    me: &StaffSession,
    form: &ClosureForm,
) -> Result<LeaveAdded, CalendarError> {
    let (interval, reason) = form.parse()?;
    let mut conn = ctx.conn().await?;
    let actor = me.id.actor();
    let id = conn
        .transaction::<_, diesel::result::Error, _>(async |c| {
            let id = db::schedule::insert_closure(c, Some(me.id), interval, &reason).await?;
            let detail =
                json!({"closure": id, "starts_at": interval.start, "ends_at": interval.end});
            db::audit::append(c, &actor, "leave_added", &actor, detail).await?;
            Ok(id)
        })
        .await?;
    let affected_bookings = db::appointments::list(&mut conn, Scope::Staff(me.id), interval)
        .await?
        .into_iter()
        .filter(|v| v.appointment.status().is_active())
        .map(|v| v.appointment.code)
        .collect();
    Ok(LeaveAdded {
        id,
        interval,
        reason,
        affected_bookings,
    })
}

/// Removes the caller's own leave.
pub async fn remove_leave(
    ctx: &Ctx,
    me: &StaffSession,
    id: ClosureId,
) -> Result<(), CalendarError> {
    let mut conn = ctx.conn().await?;
    let actor = me.id.actor();
    let n = conn
        .transaction::<_, diesel::result::Error, _>(async |c| {
            let n = db::schedule::delete_closure(c, id, Some(me.id)).await?;
            if n > 0 {
                db::audit::append(c, &actor, "leave_removed", &actor, json!({"closure": id.0}))
                    .await?;
            }
            Ok(n)
        })
        .await?;
    if n == 0 {
        return Err(CalendarError::ClosureNotFound);
    }
    Ok(())
}

/// The mall's closures from yesterday on.
pub async fn holidays(ctx: &Ctx) -> Result<Vec<Closure>, Fault> {
    let mut conn = ctx.conn().await?;
    Ok(db::schedule::holidays(&mut conn, Utc::now() - Duration::days(1)).await?)
}

/// An admin adds a mall-wide closure.
pub async fn add_holiday(
    ctx: &Ctx,
    me: &StaffSession,
    form: &ClosureForm,
) -> Result<(ClosureId, Interval, String), CalendarError> {
    if !me.has_role(&[Role::Admin]) {
        return Err(CalendarError::InsufficientRole);
    }
    let (interval, reason) = form.parse()?;
    let mut conn = ctx.conn().await?;
    let actor = me.id.actor();
    let id = conn
        .transaction::<_, diesel::result::Error, _>(async |c| {
            let id = db::schedule::insert_closure(c, None, interval, &reason).await?;
            let detail = json!({"closure": id, "starts_at": interval.start, "ends_at": interval.end, "reason": reason});
            db::audit::append(c, &actor, "holiday_added", "mall", detail).await?;
            Ok(id)
        })
        .await?;
    Ok((id, interval, reason))
}

/// An admin removes a mall-wide closure.
pub async fn remove_holiday(
    ctx: &Ctx,
    me: &StaffSession,
    id: ClosureId,
) -> Result<(), CalendarError> {
    if !me.has_role(&[Role::Admin]) {
        return Err(CalendarError::InsufficientRole);
    }
    let mut conn = ctx.conn().await?;
    let actor = me.id.actor();
    let n = conn
        .transaction::<_, diesel::result::Error, _>(async |c| {
            let n = db::schedule::delete_closure(c, id, None).await?;
            if n > 0 {
                db::audit::append(
                    c,
                    &actor,
                    "holiday_removed",
                    "mall",
                    json!({"closure": id.0}),
                )
                .await?;
            }
            Ok(n)
        })
        .await?;
    if n == 0 {
        return Err(CalendarError::HolidayNotFound);
    }
    Ok(())
}
