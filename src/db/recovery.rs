//! Link-recovery codes: stored hashed, counted per booking for the rate limit, and checked
//! under a row lock so two guesses at once each count.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::recovery_codes;

/// How many codes were issued for the appointment since `since`.
pub async fn issued_since(
    conn: &mut AsyncPgConnection,
    appointment: Uuid,
    since: DateTime<Utc>,
) -> QueryResult<i64> {
    recovery_codes::table
        .filter(recovery_codes::appointment_id.eq(appointment))
        .filter(recovery_codes::created_at.ge(since))
        .count()
        .get_result(conn)
        .await
}

/// Stores a new code; answers how many codes the appointment has had (the OTP message's round).
pub async fn insert(
    conn: &mut AsyncPgConnection,
    appointment: Uuid,
    code_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> QueryResult<i32> {
    diesel::insert_into(recovery_codes::table)
        .values((
            recovery_codes::id.eq(Uuid::new_v4()),
            recovery_codes::appointment_id.eq(appointment),
            recovery_codes::code_hash.eq(code_hash),
            recovery_codes::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await?;
    let n: i64 = recovery_codes::table
        .filter(recovery_codes::appointment_id.eq(appointment))
        .count()
        .get_result(conn)
        .await?;
    Ok(n as i32)
}

/// What checking a code came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Check {
    Matched,
    Wrong,
    /// No live code: none issued, expired, used, or out of tries.
    NoCode,
}

/// Checks `code_hash` against the appointment's newest live code, counting the try; a match
/// uses the code up. Call inside a transaction.
pub async fn check(
    conn: &mut AsyncPgConnection,
    appointment: Uuid,
    code_hash: &[u8],
    max_tries: i32,
) -> QueryResult<Check> {
    let live: Option<(Uuid, Vec<u8>, i32)> = recovery_codes::table
        .filter(recovery_codes::appointment_id.eq(appointment))
        .filter(recovery_codes::used_at.is_null())
        .filter(recovery_codes::expires_at.gt(diesel::dsl::now))
        .order(recovery_codes::created_at.desc())
        .select((
            recovery_codes::id,
            recovery_codes::code_hash,
            recovery_codes::tries,
        ))
        .for_update()
        .first(conn)
        .await
        .optional()?;
    let Some((id, stored, tries)) = live else {
        return Ok(Check::NoCode);
    };
    if tries >= max_tries {
        return Ok(Check::NoCode);
    }
    let matched = constant_time_eq(&stored, code_hash);
    diesel::update(recovery_codes::table.find(id))
        .set((
            recovery_codes::tries.eq(tries + 1),
            recovery_codes::used_at.eq(matched.then(Utc::now)),
        ))
        .execute(conn)
        .await?;
    Ok(if matched {
        Check::Matched
    } else {
        Check::Wrong
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
