//! A supervisor moves a booked appointment to another clerk of the agency at the same time:
//! the clerk must serve the service, be at work and not on leave then (the slot computation's
//! own rule), and the database still decides about overlaps under the clerk's lock.

use super::BookingError;
use super::manage::for_staff;
use crate::auth::StaffSession;
use crate::context::Ctx;
use crate::db;
use crate::db::appointments::AppointmentView;
use crate::domain::ids::{AgencyId, AppointmentId, ServiceId, StaffId};
use crate::domain::schedule::Role;

pub async fn reassign(
    ctx: &Ctx,
    me: &StaffSession,
    id: AppointmentId,
    target: Option<StaffId>,
) -> Result<AppointmentView, BookingError> {
    if !me.has_role(&[Role::Supervisor, Role::Admin]) {
        return Err(BookingError::InsufficientRole);
    }
    let target = target.ok_or_else(|| BookingError::field("staff", "required"))?;
    let mut conn = ctx.conn().await?;
    let view = for_staff(&mut conn, me, id).await?;
    // Someone of another agency is as unknown to the caller as a made-up id: a different
    // answer would tell which ids are staff elsewhere.
    db::staff::by_id(&mut conn, target)
        .await?
        .filter(|s| s.active && me.may_act_for(target, s.agency_id.map(AgencyId)))
        .ok_or_else(|| BookingError::field("staff", "unknown"))?;
    let a = &view.appointment;
    if !db::staff::serves(&mut conn, target, ServiceId(a.service_id)).await? {
        return Err(BookingError::field("staff", "does_not_serve_service"));
    }
    let period = db::schedule::interval(&a.period).ok_or_else(|| anyhow::anyhow!("bad period"))?;
    let cal = crate::availability::load_around(
        &mut conn,
        &ctx.directory,
        ServiceId(a.service_id),
        period.start,
        Some(target),
    )
    .await?;
    let free = cal.clerks.iter().any(|c| {
        let mut c = c.clone();
        if c.staff_id == a.staff() {
            c.busy.retain(|b| *b != period);
        }
        c.staff_id == target
            && crate::domain::slots::clerk_can_take(
                ctx.settings.timezone,
                &c,
                &cal.closures,
                period,
            )
    });
    if !free {
        return Err(BookingError::SlotTaken);
    }
    let row = db::appointments::reschedule(
        &mut conn,
        a.id(),
        target,
        period,
        a.ends_at,
        &me.id.actor(),
        "reassigned",
    )
    .await?;
    ctx.feed.publish_appointment(&row);
    for_staff(&mut conn, me, id).await
}
