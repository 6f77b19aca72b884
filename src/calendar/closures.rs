//! Time nobody books: a clerk's personal leave (cuti) and the mall's holidays (libur nasional,
//! cuti bersama). Adding one is audited in the same transaction, and so is what happens to the
//! bookings it falls on: each moves to another clerk who serves the service and is free at the
//! same time (`reassigned` message), or else is marked as needing a new time (the citizen is
//! sent a link offering the nearest free times). A dry run does all of it and rolls it back,
//! so the clerk sees "3 bookings fall in this leave" — and what will become of each — before
//! saving.

use chrono::{DateTime, Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::CalendarError;
use crate::auth::StaffSession;
use crate::context::Ctx;
use crate::db::appointments::{Appointment, ChangeError, Move, Scope};
use crate::db::{self, schedule::Closure};
use crate::domain::FieldErrors;
use crate::domain::appointment::Status;
use crate::domain::ids::{ClosureId, ServiceId};
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

/// What became (or, in a dry run, would become) of a booking a closure falls on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// Moved to another free clerk at the same time.
    Reassigned,
    /// Nobody is free then: the citizen is asked to pick a new time.
    NeedsNewTime,
    /// Already in the room or with the clerk: left for the clerk to handle.
    Left,
}

/// One booking a closure falls on.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Affected {
    pub code: String,
    pub starts_at: DateTime<Utc>,
    pub outcome: Placement,
    /// The new clerk's name, when reassigned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clerk: Option<String>,
}

/// A closure as stored (or as it would be, in a dry run), with the bookings it fell on.
pub struct ClosureAdded {
    pub id: ClosureId,
    pub interval: Interval,
    pub reason: String,
    pub affected: Vec<Affected>,
    pub dry_run: bool,
}

/// Leave as stored; `affected_bookings` are the codes of the active bookings it fell on.
pub type LeaveAdded = ClosureAdded;

impl ClosureAdded {
    pub fn affected_codes(&self) -> Vec<String> {
        self.affected.iter().map(|a| a.code.clone()).collect()
    }
}

/// Why the closure's transaction ended without committing.
enum Stop {
    DryRun(ClosureId, Vec<Affected>),
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for Stop {
    fn from(e: diesel::result::Error) -> Self {
        Stop::Db(e)
    }
}

/// Moves or marks each active booking of `scope` in `interval` (the closure already inserted in
/// this transaction, so the free-time computation sees it). Answers what became of each and
/// the rows that changed.
async fn place_affected(
    c: &mut AsyncPgConnection,
    ctx: &Ctx,
    scope: Scope,
    interval: Interval,
    closure: ClosureId,
) -> Result<(Vec<Affected>, Vec<Appointment>), diesel::result::Error> {
    let rules = ctx.settings.notify_rules();
    let mut affected = Vec::new();
    let mut changed = Vec::new();
    let rows = db::appointments::list(c, scope, interval).await?;
    for v in rows
        .into_iter()
        .filter(|v| v.appointment.status().is_active())
    {
        let a = &v.appointment;
        let mut placed = Affected {
            code: a.code.clone(),
            starts_at: a.starts_at(),
            outcome: Placement::Left,
            clerk: None,
        };
        let period = db::schedule::interval(&a.period);
        if a.status() != Status::Booked || period.is_none() {
            affected.push(placed);
            continue;
        }
        let period = period.unwrap_or(interval);
        let cal = crate::availability::load_around(
            c,
            &ctx.directory,
            ServiceId(a.service_id),
            period.start,
            None,
        )
        .await?;
        let mut others: Vec<_> = cal
            .clerks
            .iter()
            .filter(|k| k.staff_id != a.staff())
            .filter(|k| {
                crate::domain::slots::clerk_can_take(
                    ctx.settings.timezone,
                    k,
                    &cal.closures,
                    period,
                )
            })
            .collect();
        // The least loaded first, as booking assigns.
        others.sort_by_key(|k| k.load);
        for k in others {
            match db::appointments::reschedule(
                c,
                a.id(),
                k.staff_id,
                period,
                a.ends_at,
                "system",
                Move::Reassigned,
                &rules,
            )
            .await
            {
                Ok(row) => {
                    placed.outcome = Placement::Reassigned;
                    placed.clerk = cal.names.get(&k.staff_id).cloned();
                    changed.push(row);
                    break;
                }
                Err(ChangeError::Db(e)) => return Err(e),
                Err(_) => continue,
            }
        }
        if placed.outcome == Placement::Left {
            let cause =
                json!({"closure": closure.0, "starts_at": interval.start, "ends_at": interval.end});
            if let Some(row) =
                db::appointments::mark_needs_new_time(c, a.id(), "system", cause, &rules).await?
            {
                changed.push(row);
            }
            placed.outcome = Placement::NeedsNewTime;
        }
        affected.push(placed);
    }
    Ok((affected, changed))
}

/// Inserts a closure (with its audit event) and places the bookings it falls on, in one
/// transaction — rolled back at the end for a dry run.
async fn close(
    ctx: &Ctx,
    staff: Option<crate::domain::ids::StaffId>,
    scope: Scope,
    (interval, reason): (Interval, String),
    audit: (&str, &str, &str),
    dry_run: bool,
) -> Result<ClosureAdded, CalendarError> {
    let reason = reason.as_str();
    let mut conn = ctx.conn().await?;
    let (actor, kind, subject) = audit;
    let result = conn
        .transaction::<_, Stop, _>(async |c| {
            let id = db::schedule::insert_closure(c, staff, interval, reason).await?;
            let detail = json!({"closure": id, "starts_at": interval.start, "ends_at": interval.end, "reason": reason});
            db::audit::append(c, actor, kind, subject, detail).await?;
            let (affected, changed) = place_affected(c, ctx, scope, interval, id).await?;
            if dry_run {
                return Err(Stop::DryRun(id, affected));
            }
            Ok((id, affected, changed))
        })
        .await;
    let (id, affected) = match result {
        Ok((id, affected, changed)) => {
            for row in &changed {
                ctx.feed.publish_appointment(row);
            }
            if !changed.is_empty() {
                ctx.wake_outbox();
            }
            (id, affected)
        }
        Err(Stop::DryRun(id, affected)) => (id, affected),
        Err(Stop::Db(e)) => return Err(CalendarError::Fault(e.into())),
    };
    Ok(ClosureAdded {
        id,
        interval,
        reason: reason.to_string(),
        affected,
        dry_run,
    })
}

/// The caller's leave from 30 days ago on.
pub async fn leave(ctx: &Ctx, me: &StaffSession) -> Result<Vec<Closure>, Fault> {
    let mut conn = ctx.conn().await?;
    Ok(db::schedule::personal_closures(&mut conn, me.id, Utc::now() - Duration::days(30)).await?)
}

/// Adds personal leave and moves (or marks) the bookings in it; `dry_run` answers the same
/// without keeping anything.
pub async fn add_leave(
    ctx: &Ctx,
    me: &StaffSession,
    form: &ClosureForm,
    dry_run: bool,
) -> Result<LeaveAdded, CalendarError> {
    let actor = me.id.actor();
    let audit = (actor.as_str(), "leave_added", actor.as_str());
    close(
        ctx,
        Some(me.id),
        Scope::Staff(me.id),
        form.parse()?,
        audit,
        dry_run,
    )
    .await
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

/// An admin adds a mall-wide closure; the bookings in it are marked as needing a new time
/// (nobody works then). `dry_run` answers the same without keeping anything.
pub async fn add_holiday(
    ctx: &Ctx,
    me: &StaffSession,
    form: &ClosureForm,
    dry_run: bool,
) -> Result<ClosureAdded, CalendarError> {
    if !me.has_role(&[Role::Admin]) {
        return Err(CalendarError::InsufficientRole);
    }
    let actor = me.id.actor();
    let audit = (actor.as_str(), "holiday_added", "mall");
    close(ctx, None, Scope::All, form.parse()?, audit, dry_run).await
}

/// Booked appointments still waiting for their citizen to pick a new time: a clerk's own, a
/// supervisor's agency, or all for an admin.
pub async fn needing_new_time(
    ctx: &Ctx,
    me: &StaffSession,
) -> Result<Vec<db::appointments::AppointmentView>, Fault> {
    let scope = match (me.role, me.agency) {
        (Role::Admin, _) => Scope::All,
        (Role::Supervisor, Some(a)) => Scope::Agency(a),
        _ => Scope::Staff(me.id),
    };
    let mut conn = ctx.conn().await?;
    Ok(db::appointments::needing_new_time(&mut conn, scope).await?)
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
