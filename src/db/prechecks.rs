//! The last pre-call check of each appointment: written when a check ends, read by the citizen
//! (by check id) and by the clerk's timeline (by appointment).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::schema::prechecks;
use crate::domain::ids::AppointmentId;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = prechecks, check_for_backend(diesel::pg::Pg))]
pub struct StoredPrecheck {
    pub appointment_id: Uuid,
    pub check_id: Uuid,
    pub verdict: String,
    pub result: Value,
    pub finished_at: DateTime<Utc>,
}

/// Stores `result` as the appointment's last check, replacing an earlier one.
pub async fn save(
    conn: &mut AsyncPgConnection,
    appointment: AppointmentId,
    check_id: Uuid,
    verdict: &str,
    result: Value,
    finished_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(prechecks::table)
        .values((
            prechecks::appointment_id.eq(appointment.0),
            prechecks::check_id.eq(check_id),
            prechecks::verdict.eq(verdict),
            prechecks::result.eq(&result),
            prechecks::finished_at.eq(finished_at),
        ))
        .on_conflict(prechecks::appointment_id)
        .do_update()
        .set((
            prechecks::check_id.eq(excluded(prechecks::check_id)),
            prechecks::verdict.eq(excluded(prechecks::verdict)),
            prechecks::result.eq(excluded(prechecks::result)),
            prechecks::finished_at.eq(excluded(prechecks::finished_at)),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// The stored check with this id, if it is still the appointment's last one.
pub async fn by_check(
    conn: &mut AsyncPgConnection,
    appointment: AppointmentId,
    check_id: Uuid,
) -> QueryResult<Option<StoredPrecheck>> {
    prechecks::table
        .filter(prechecks::appointment_id.eq(appointment.0))
        .filter(prechecks::check_id.eq(check_id))
        .select(StoredPrecheck::as_select())
        .first(conn)
        .await
        .optional()
}

/// The last check of each of these appointments (for the clerk's timeline).
pub async fn last_for(
    conn: &mut AsyncPgConnection,
    appointments: &[Uuid],
) -> QueryResult<HashMap<Uuid, StoredPrecheck>> {
    if appointments.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<StoredPrecheck> = prechecks::table
        .filter(prechecks::appointment_id.eq_any(appointments))
        .select(StoredPrecheck::as_select())
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|r| (r.appointment_id, r)).collect())
}
