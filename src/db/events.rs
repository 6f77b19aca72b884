//! The append-only audit trail: every state change of an appointment adds one row.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::schema::appointment_events;
use crate::domain::ids::AppointmentId;

/// Appends one event; `actor` is who did it: `citizen`, `staff:<uuid>` (`StaffId::actor`), `system`.
pub async fn append(
    conn: &mut AsyncPgConnection,
    appointment: AppointmentId,
    kind: &str,
    actor: &str,
    detail: Value,
) -> QueryResult<()> {
    diesel::insert_into(appointment_events::table)
        .values((
            appointment_events::appointment_id.eq(appointment.0),
            appointment_events::kind.eq(kind),
            appointment_events::actor.eq(actor),
            appointment_events::detail.eq(detail),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

#[derive(Debug, Queryable)]
pub struct Event {
    pub at: chrono::DateTime<chrono::Utc>,
    pub kind: String,
    pub actor: String,
    pub detail: Value,
}

pub async fn for_appointment(
    conn: &mut AsyncPgConnection,
    appointment: AppointmentId,
) -> QueryResult<Vec<Event>> {
    appointment_events::table
        .filter(appointment_events::appointment_id.eq(appointment.0))
        .order(appointment_events::id.asc())
        .select((
            appointment_events::at,
            appointment_events::kind,
            appointment_events::actor,
            appointment_events::detail,
        ))
        .limit(1000)
        .load(conn)
        .await
}

/// How many events each appointment has. Every change appends one and none is ever removed, so
/// the count only grows: minus the booking itself it is the calendar `SEQUENCE` (RFC 5545 wants
/// it to increase with every revision, even two within one second).
pub async fn counts(
    conn: &mut AsyncPgConnection,
    appointments: &[Uuid],
) -> QueryResult<HashMap<Uuid, i64>> {
    let rows: Vec<(Uuid, i64)> = appointment_events::table
        .filter(appointment_events::appointment_id.eq_any(appointments))
        .group_by(appointment_events::appointment_id)
        .select((
            appointment_events::appointment_id,
            diesel::dsl::count_star(),
        ))
        .load(conn)
        .await?;
    Ok(rows.into_iter().collect())
}

/// The calendar `SEQUENCE` of an appointment with `events` audit events.
pub fn sequence(events: Option<&i64>) -> i64 {
    events.map_or(0, |n| (n - 1).max(0))
}
