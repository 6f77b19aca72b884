//! Booking holds (DESIGN §9 "Confirming a booking"): a hold read under its appointment's row
//! lock, a wrong code counted, the confirmation (status, audit event and the booking's messages
//! in the caller's transaction), another code, and ending holds — some (`loket_release_holds`)
//! or all whose time is up (`loket_expire_holds`, which skips rows others hold, so every node's
//! reaper can run it at once without doing the same work twice).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use uuid::Uuid;

use super::appointments::Appointment;
use super::schema::{appointments, booking_holds};
use super::{events, outbox};
use crate::domain::hold::{Ended, Hold};
use crate::domain::ids::AppointmentId;
use crate::domain::notify::{self, Actor, Change, Kind, Rules};

/// An appointment and, if it was ever held, its hold and the current code's keyed hash.
pub struct Locked {
    pub appointment: Appointment,
    pub hold: Option<(Hold, Vec<u8>)>,
}

type HoldRow = (
    Vec<u8>,
    DateTime<Utc>,
    i32,
    i32,
    DateTime<Utc>,
    Option<String>,
);

/// Reads the appointment and its hold, locking both until the caller's transaction ends (two
/// confirmations at once each count their try).
pub async fn lock(conn: &mut AsyncPgConnection, id: AppointmentId) -> QueryResult<Option<Locked>> {
    let Some(appointment) = appointments::table
        .find(id.0)
        .select(Appointment::as_select())
        .for_update()
        .first::<Appointment>(conn)
        .await
        .optional()?
    else {
        return Ok(None);
    };
    let row: Option<HoldRow> = booking_holds::table
        .find(id.0)
        .select((
            booking_holds::code_hash,
            booking_holds::code_expires_at,
            booking_holds::tries,
            booking_holds::sends,
            booking_holds::last_sent_at,
            booking_holds::ended,
        ))
        .for_update()
        .first(conn)
        .await
        .optional()?;
    let hold = row.map(
        |(hash, code_expires_at, tries, sends, last_sent_at, ended)| {
            (
                Hold {
                    status: appointment.status(),
                    hold_expires_at: appointment.hold_expires_at,
                    code_expires_at,
                    tries,
                    sends,
                    last_sent_at,
                    ended: ended.as_deref().and_then(Ended::parse),
                },
                hash,
            )
        },
    );
    Ok(Some(Locked { appointment, hold }))
}

/// Counts a wrong code.
pub async fn count_wrong(conn: &mut AsyncPgConnection, id: AppointmentId) -> QueryResult<()> {
    diesel::update(booking_holds::table.find(id.0))
        .set(booking_holds::tries.eq(booking_holds::tries + 1))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Confirms a held appointment (locked by [`lock`]): `booked`, its `confirmed` event, its hold
/// ended, and only now the booking's own messages and reminders (the codes still pending are
/// moot). In the caller's transaction.
pub async fn confirm(
    conn: &mut AsyncPgConnection,
    held: &Appointment,
    rules: &Rules,
) -> QueryResult<Appointment> {
    let id = held.id();
    let row: Appointment = diesel::update(
        appointments::table
            .find(id.0)
            .filter(appointments::status.eq("held")),
    )
    .set((
        appointments::status.eq("booked"),
        appointments::hold_expires_at.eq(None::<DateTime<Utc>>),
        appointments::updated_at.eq(diesel::dsl::now),
    ))
    .returning(Appointment::as_returning())
    .get_result(conn)
    .await?;
    ended(conn, id, Ended::Confirmed).await?;
    events::append(
        conn,
        id,
        "confirmed",
        "citizen",
        json!({"from": "held", "to": "booked"}),
    )
    .await?;
    let mut plan = notify::plan(
        Change::Booked,
        Actor::Citizen,
        &row.recipient(),
        row.starts_at(),
        0,
        rules,
        Utc::now(),
    );
    plan.cancel.push(Kind::Otp);
    outbox::apply(
        conn,
        outbox::Subject::appointment(row.id),
        row.lang(),
        &json!({}),
        &plan,
    )
    .await?;
    Ok(row)
}

/// Marks how a hold ended (if it had not already).
pub async fn ended(conn: &mut AsyncPgConnection, id: AppointmentId, why: Ended) -> QueryResult<()> {
    diesel::update(
        booking_holds::table
            .find(id.0)
            .filter(booking_holds::ended.is_null()),
    )
    .set((
        booking_holds::ended.eq(why.as_str()),
        booking_holds::ended_at.eq(diesel::dsl::now),
    ))
    .execute(conn)
    .await
    .map(|_| ())
}

/// Stores a new code for a hold (the old one stops working); answers how many codes the hold
/// has had, this one included.
pub async fn new_code(
    conn: &mut AsyncPgConnection,
    id: AppointmentId,
    code_hash: &[u8],
    code_expires_at: DateTime<Utc>,
) -> QueryResult<i32> {
    diesel::update(booking_holds::table.find(id.0))
        .set((
            booking_holds::code_hash.eq(code_hash),
            booking_holds::code_expires_at.eq(code_expires_at),
            booking_holds::sends.eq(booking_holds::sends + 1),
            booking_holds::last_sent_at.eq(diesel::dsl::now),
        ))
        .returning(booking_holds::sends)
        .get_result(conn)
        .await
}

diesel::define_sql_function! {
    /// `loket_release_holds(ids, why, actor)` (migration 2026-12-07-hold-001): one row per hold
    /// it ended (appointment, clerk).
    #[sql_name = "loket_release_holds"]
    fn release_holds(
        ids: diesel::sql_types::Array<diesel::sql_types::Uuid>,
        why: diesel::sql_types::Text,
        actor: diesel::sql_types::Text,
    ) -> diesel::pg::sql_types::Record<(diesel::sql_types::Uuid, diesel::sql_types::Uuid)>;
}

/// An ended hold: the appointment and its clerk.
pub type Released = (Uuid, Uuid);

/// Ends these holds (those still `held`) as cancelled, for `why`, with their events; their
/// pending codes are cancelled. In the caller's transaction when it holds their locks.
pub async fn release(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    why: Ended,
    actor: &str,
) -> QueryResult<Vec<Released>> {
    diesel::select(release_holds(ids.to_vec(), why.as_str(), actor))
        .load(conn)
        .await
}

/// Ends up to `limit` holds whose time is up, oldest first, skipping rows another transaction
/// holds.
pub async fn expire_due(conn: &mut AsyncPgConnection, limit: i32) -> QueryResult<Vec<Released>> {
    diesel::select(super::schedule::expire_holds(
        None::<Uuid>,
        None::<super::schedule::Range>,
        limit,
    ))
    .load(conn)
    .await
}
