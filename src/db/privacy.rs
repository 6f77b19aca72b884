//! Finding one citizen's appointments (by phone, NIK hash or booking code) and wiping personal
//! data: on request, or by the retention job in small batches that several nodes can run at
//! once (`FOR UPDATE SKIP LOCKED`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// The placeholders left where personal data was: the table's checks still hold (a name of at
/// least one character, a phone of the +62 form), and no real number starts with +620.
pub const ERASED_NAME: &str = "(dihapus)";
pub const ERASED_PHONE: &str = "+6200000000";

#[derive(QueryableByName)]
struct Erased {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// Wipes the personal data of these appointments (and of their messages in the outbox) unless
/// they are still active or already wiped, and appends a `personal_data_erased` event to each; answers the ids wiped.
pub async fn erase(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    reason: &str,
    actor: &str,
) -> QueryResult<Vec<Uuid>> {
    let rows: Vec<Erased> = diesel::sql_query(
        "WITH wiped AS (
             UPDATE appointments
                SET citizen_name = $2, citizen_phone = $3, citizen_email = NULL,
                    nik_cipher = NULL, nik_last4 = NULL, nik_masked = NULL, nik_hash = NULL,
                    notes = NULL, idempotency_key = NULL, request_hash = NULL,
                    erased_at = now(), updated_at = now()
              WHERE id = ANY($1) AND NOT active AND erased_at IS NULL
             RETURNING id)
         , messages AS (
             -- The messages keep their kind, channel and status (the delivery figures), not
             -- where they went or what they said.
             UPDATE outbox
                SET address = $2, preview = NULL, params = '{}'::jsonb, last_error = NULL
              WHERE subject_kind = 'appointment' AND subject_id IN (SELECT id FROM wiped))
         , codes AS (
             DELETE FROM recovery_codes WHERE appointment_id IN (SELECT id FROM wiped))
         , logged AS (
             INSERT INTO appointment_events (appointment_id, kind, actor, detail)
             SELECT id, 'personal_data_erased', $5, jsonb_build_object('reason', $4::text)
               FROM wiped)
         SELECT id FROM wiped",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Text, _>(ERASED_NAME)
    .bind::<Text, _>(ERASED_PHONE)
    .bind::<Text, _>(reason)
    .bind::<Text, _>(actor)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Up to `limit` finished, unwiped appointments that ended before `before`, locked for this
/// transaction and skipped by any other node doing the same.
pub async fn claim_expired(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<Uuid>> {
    let rows: Vec<Erased> = diesel::sql_query(
        "SELECT id FROM appointments
          WHERE erased_at IS NULL AND NOT active AND ends_at < $1
          ORDER BY ends_at
          LIMIT $2
          FOR UPDATE SKIP LOCKED",
    )
    .bind::<Timestamptz, _>(before)
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Wipes the name and phone of queue numbers taken before `before` (and of their messages):
/// a number is over by the end of its day, so its day alone decides. Answers how many.
pub async fn erase_queue_tickets(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::sql_query(
        "WITH wiped AS (
             UPDATE queue_tickets
                SET citizen_name = $2,
                    -- A remote number must keep a phone (its check): the placeholder.
                    citizen_phone = CASE WHEN citizen_phone IS NULL THEN NULL ELSE $3 END,
                    updated_at = now()
              WHERE taken_at < $1 AND citizen_name <> $2
             RETURNING id)
         , messages AS (
             UPDATE outbox
                SET address = $2, preview = NULL, params = '{}'::jsonb, last_error = NULL
              WHERE subject_kind = 'queue_ticket' AND subject_id IN (SELECT id FROM wiped))
         SELECT id FROM wiped",
    )
    .bind::<Timestamptz, _>(before)
    .bind::<Text, _>(ERASED_NAME)
    .bind::<Text, _>(ERASED_PHONE)
    .load::<Erased>(conn)
    .await
    .map(|rows| rows.len())
}
