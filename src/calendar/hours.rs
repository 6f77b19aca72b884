//! A clerk's weekly hours: read them, replace them (checked by `WeeklyHours::parse`). Existing
//! bookings stay; new hours apply to new bookings.

use diesel_async::AsyncConnection;
use serde_json::json;

use super::CalendarError;
use crate::auth::StaffSession;
use crate::context::Ctx;
use crate::db;
use crate::domain::schedule::{WeeklyHours, WorkInterval};
use crate::fault::Fault;

/// The caller's hours, ordered by weekday and start.
pub async fn hours(ctx: &Ctx, me: &StaffSession) -> Result<Vec<WorkInterval>, Fault> {
    let mut conn = ctx.conn().await?;
    let mut map = db::schedule::hours_for(&mut conn, &[me.id]).await?;
    let mut list = map.remove(&me.id).unwrap_or_default();
    list.sort();
    Ok(list)
}

/// Replaces the caller's hours; a bad interval is named by its index (`intervals[3]`).
pub async fn replace(
    ctx: &Ctx,
    me: &StaffSession,
    intervals: &[WorkInterval],
) -> Result<Vec<WorkInterval>, CalendarError> {
    WeeklyHours::parse(intervals)
        .map_err(|(i, problem)| CalendarError::field(&format!("intervals[{i}]"), problem))?;
    let mut conn = ctx.conn().await?;
    let actor = me.id.actor();
    let detail = json!({"intervals": intervals.len()});
    conn.transaction::<_, diesel::result::Error, _>(async |c| {
        db::schedule::replace_hours(c, me.id, intervals).await?;
        db::audit::append(c, &actor, "hours_replaced", &actor, detail).await
    })
    .await?;
    tracing::info!(staff = %me.id, intervals = intervals.len(), "weekly hours replaced");
    Ok(hours(ctx, me).await?)
}
