//! How a consultation ends, as its clerk (or a supervisor) records it: completed with notes,
//! or a no-show — only once the start plus the grace time has passed, and taken back within the
//! undo window (`domain::appointment::NoShowRule`, from the settings).

use chrono::Utc;

use crate::auth::StaffSession;
use crate::booking::{BookingError, manage};
use crate::context::Ctx;
use crate::db;
use crate::db::appointments::AppointmentView;
use crate::domain::appointment::Status;
use crate::domain::ids::AppointmentId;

/// What the clerk records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Completed,
    NoShow,
}

pub async fn record(
    ctx: &Ctx,
    me: &StaffSession,
    id: AppointmentId,
    outcome: Outcome,
    notes: Option<&str>,
) -> Result<AppointmentView, BookingError> {
    match outcome {
        Outcome::Completed => manage::change_status(ctx, me, id, Status::Completed, notes).await,
        Outcome::NoShow => {
            let rule = ctx.settings.no_show_rule();
            manage::change_status_if(ctx, me, id, Status::NoShow, notes, |view| {
                rule.may_record(view.appointment.starts_at(), Utc::now())
                    .map_err(|allowed_from| BookingError::TooEarly { allowed_from })
            })
            .await
        }
    }
}

/// Takes back a no-show recorded within the undo window: the appointment is `booked` again and
/// the citizen may come back into the room while it is open. Audited as `no_show_undone`.
pub async fn undo_no_show(
    ctx: &Ctx,
    me: &StaffSession,
    id: AppointmentId,
) -> Result<AppointmentView, BookingError> {
    let mut conn = ctx.conn().await?;
    manage::for_staff(&mut conn, me, id).await?;
    let rule = ctx.settings.no_show_rule();
    let row = db::appointments::undo_no_show(&mut conn, id, &me.id.actor(), |marked_at| {
        rule.may_undo(marked_at, Utc::now())
    })
    .await?;
    ctx.feed.publish_appointment(&row);
    manage::for_staff(&mut conn, me, id).await
}
