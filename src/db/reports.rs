//! Reading for reports: appointment counts per agency and status, and survey answers, for a
//! window of appointment start times.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schedule::range;
use super::schema::{agencies, appointments, services, surveys};
use crate::domain::schedule::Interval;

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    slug: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    status: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// (agency slug, status, count) for appointments starting in the window.
pub async fn status_counts(
    conn: &mut AsyncPgConnection,
    window: Interval,
    agency: Option<Uuid>,
) -> QueryResult<Vec<(String, String, i64)>> {
    use diesel::sql_types::{Nullable, Timestamptz};
    let rows: Vec<CountRow> = diesel::sql_query(
        "SELECT ag.slug, a.status, count(*) AS n
           FROM appointments a
           JOIN services s ON s.id = a.service_id
           JOIN agencies ag ON ag.id = s.agency_id
          WHERE lower(a.period) >= $1 AND lower(a.period) < $2
            AND ($3::uuid IS NULL OR ag.id = $3)
          GROUP BY ag.slug, a.status",
    )
    .bind::<Timestamptz, _>(window.start)
    .bind::<Timestamptz, _>(window.end)
    .bind::<Nullable<diesel::sql_types::Uuid>, _>(agency)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.slug, r.status, r.n)).collect())
}

/// (agency slug, answers) of surveys for appointments starting in the window.
pub async fn survey_answers(
    conn: &mut AsyncPgConnection,
    window: Interval,
    agency: Option<Uuid>,
) -> QueryResult<Vec<(String, Vec<i16>)>> {
    let mut q = surveys::table
        .inner_join(appointments::table.inner_join(services::table.inner_join(agencies::table)))
        .filter(appointments::period.overlaps_with(range(window)))
        .select((agencies::slug, surveys::answers))
        .limit(200_000)
        .into_boxed();
    if let Some(a) = agency {
        q = q.filter(agencies::id.eq(a));
    }
    q.load(conn).await
}
