//! How a consultation ends, as its clerk (or a supervisor) records it: completed with notes,
//! or a no-show.

use crate::auth::StaffSession;
use crate::booking::{BookingError, manage};
use crate::context::Ctx;
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
    let to = match outcome {
        Outcome::Completed => Status::Completed,
        Outcome::NoShow => Status::NoShow,
    };
    manage::change_status(ctx, me, id, to, notes).await
}
