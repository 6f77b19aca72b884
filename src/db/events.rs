//! The append-only audit trail: every state change of an appointment adds one row.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;

use super::schema::appointment_events;
use crate::domain::ids::AppointmentId;

/// Who did it: `citizen`, `staff:<uuid>`, `system`.
pub fn staff_actor(id: crate::domain::ids::StaffId) -> String {
    format!("staff:{id}")
}

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
