//! The appointments in a range of local dates: one's own, a colleague's or the whole agency's
//! (supervisors), everyone's (admins), each with the citizen's last pre-call check.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

use super::CalendarError;
use crate::auth::StaffSession;
use crate::context::Ctx;
use crate::db::prechecks::StoredPrecheck;
use crate::db::{self, appointments::AppointmentView, appointments::Scope};
use crate::domain::ids::{AgencyId, StaffId};
use crate::domain::schedule::{Interval, Role};

/// Longest range one request may ask for.
pub const MAX_RANGE_DAYS: i64 = 62;

/// Whose appointments.
pub enum Whose {
    Mine,
    /// Supervisors: their agency; admins: everyone.
    All,
    Staff(StaffId),
}

/// The first instant of local date `d` in the site's zone.
pub fn day_start(ctx: &Ctx, d: NaiveDate) -> DateTime<Utc> {
    use chrono::TimeZone;
    ctx.settings
        .timezone
        .from_local_datetime(&d.and_time(NaiveTime::MIN))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(Utc::now)
}

/// Today in the site's zone.
pub fn today(ctx: &Ctx) -> NaiveDate {
    Utc::now()
        .with_timezone(&ctx.settings.timezone)
        .date_naive()
}

pub async fn appointments(
    ctx: &Ctx,
    me: &StaffSession,
    from: NaiveDate,
    to: NaiveDate,
    whose: Whose,
) -> Result<Vec<(AppointmentView, Option<StoredPrecheck>)>, CalendarError> {
    if to < from {
        return Err(CalendarError::field("to", "before_from"));
    }
    if (to - from).num_days() >= MAX_RANGE_DAYS {
        return Err(CalendarError::field("to", "range_too_long"));
    }
    let window = Interval {
        start: day_start(ctx, from),
        end: day_start(ctx, to + Duration::days(1)),
    };
    let mut conn = ctx.conn().await?;
    let scope = match whose {
        Whose::Mine => Scope::Staff(me.id),
        Whose::All => match (me.role, me.agency) {
            (Role::Admin, _) => Scope::All,
            (Role::Supervisor, Some(a)) => Scope::Agency(a),
            _ => return Err(CalendarError::NotSupervisor),
        },
        Whose::Staff(id) => {
            // A clerk sees only their own list, whoever the id names (an answer that does not
            // depend on the id tells nothing about it).
            if id != me.id && !me.is_supervisor_or_admin() {
                return Err(CalendarError::NotSupervisor);
            }
            // A colleague of another agency gets the same answer as a made-up id, so the
            // answer does not tell which ids are staff elsewhere.
            db::staff::by_id(&mut conn, id)
                .await?
                .filter(|o| me.may_act_for(StaffId(o.id), o.agency_id.map(AgencyId)))
                .ok_or(CalendarError::UnknownStaff)?;
            Scope::Staff(id)
        }
    };
    let rows = db::appointments::list(&mut conn, scope, window).await?;
    let ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.appointment.id).collect();
    let mut checks = db::prechecks::last_for(&mut conn, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let check = checks.remove(&r.appointment.id);
            (r, check)
        })
        .collect())
}
