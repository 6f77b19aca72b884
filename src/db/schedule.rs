//! Weekly hours, closures (mall-wide and personal) and the busy periods the slot computation
//! needs, loaded for a set of clerks and a window in one query each.

use std::collections::Bound;
use std::collections::HashMap;

use chrono::{DateTime, NaiveTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{closures, weekly_hours};
use crate::domain::ids::{ClosureId, StaffId};
use crate::domain::schedule::{Interval, WorkInterval};

pub type Range = (Bound<DateTime<Utc>>, Bound<DateTime<Utc>>);

pub fn range(i: Interval) -> Range {
    (Bound::Included(i.start), Bound::Excluded(i.end))
}

/// A stored range back to a half-open interval (ranges are always finite and non-empty here).
pub fn interval(r: &Range) -> Option<Interval> {
    let start = match r.0 {
        Bound::Included(t) | Bound::Excluded(t) => t,
        Bound::Unbounded => return None,
    };
    let end = match r.1 {
        Bound::Included(t) | Bound::Excluded(t) => t,
        Bound::Unbounded => return None,
    };
    Interval::new(start, end)
}

pub async fn hours_for(
    conn: &mut AsyncPgConnection,
    staff: &[StaffId],
) -> QueryResult<HashMap<StaffId, Vec<WorkInterval>>> {
    let ids: Vec<Uuid> = staff.iter().map(|s| s.0).collect();
    let rows: Vec<(Uuid, i16, NaiveTime, NaiveTime)> = weekly_hours::table
        .filter(weekly_hours::staff_id.eq_any(ids))
        .select((
            weekly_hours::staff_id,
            weekly_hours::weekday,
            weekly_hours::starts,
            weekly_hours::ends,
        ))
        .load(conn)
        .await?;
    let mut map: HashMap<StaffId, Vec<WorkInterval>> = HashMap::new();
    for (id, weekday, starts, ends) in rows {
        map.entry(StaffId(id)).or_default().push(WorkInterval {
            weekday: weekday as u8,
            starts,
            ends,
        });
    }
    Ok(map)
}

/// Replaces a clerk's whole week at once (the caller validated it).
pub async fn replace_hours(
    conn: &mut AsyncPgConnection,
    staff: StaffId,
    intervals: &[WorkInterval],
) -> QueryResult<()> {
    let rows: Vec<_> = intervals
        .iter()
        .map(|w| {
            (
                weekly_hours::staff_id.eq(staff.0),
                weekly_hours::weekday.eq(w.weekday as i16),
                weekly_hours::starts.eq(w.starts),
                weekly_hours::ends.eq(w.ends),
            )
        })
        .collect();
    conn.transaction::<_, diesel::result::Error, _>(async |c| {
        diesel::delete(weekly_hours::table.filter(weekly_hours::staff_id.eq(staff.0)))
            .execute(c)
            .await?;
        if !rows.is_empty() {
            diesel::insert_into(weekly_hours::table)
                .values(rows)
                .execute(c)
                .await?;
        }
        Ok(())
    })
    .await
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = closures, check_for_backend(diesel::pg::Pg))]
pub struct Closure {
    pub id: Uuid,
    pub staff_id: Option<Uuid>,
    pub period: Range,
    pub reason: String,
}

/// A clerk's own closures from `from` on.
pub async fn personal_closures(
    conn: &mut AsyncPgConnection,
    staff: StaffId,
    from: DateTime<Utc>,
) -> QueryResult<Vec<Closure>> {
    closures::table
        .filter(closures::staff_id.eq(staff.0))
        .filter(closures::period.overlaps_with(range(Interval {
            start: from,
            end: from + chrono::Duration::days(3650),
        })))
        .select(Closure::as_select())
        .order(closures::period.asc())
        .limit(500)
        .load(conn)
        .await
}

/// Mall-wide closures from `from` on (holidays), for admins and the calendar.
pub async fn holidays(
    conn: &mut AsyncPgConnection,
    from: DateTime<Utc>,
) -> QueryResult<Vec<Closure>> {
    closures::table
        .filter(closures::staff_id.is_null())
        .filter(closures::period.overlaps_with(range(Interval {
            start: from,
            end: from + chrono::Duration::days(3650),
        })))
        .select(Closure::as_select())
        .order(closures::period.asc())
        .limit(1000)
        .load(conn)
        .await
}

/// Mall-wide closures overlapping `window`, with their reasons (the holidays' names), for saying
/// why a day has no times.
pub async fn holidays_in(
    conn: &mut AsyncPgConnection,
    window: Interval,
) -> QueryResult<Vec<(Interval, String)>> {
    let rows: Vec<(Range, String)> = closures::table
        .filter(closures::staff_id.is_null())
        .filter(closures::period.overlaps_with(range(window)))
        .select((closures::period, closures::reason))
        .order(closures::period.asc())
        .limit(1000)
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(period, reason)| Some((interval(&period)?, reason)))
        .collect())
}

pub async fn insert_closure(
    conn: &mut AsyncPgConnection,
    staff: Option<StaffId>,
    period: Interval,
    reason: &str,
) -> QueryResult<ClosureId> {
    let id = ClosureId::new();
    diesel::insert_into(closures::table)
        .values((
            closures::id.eq(id.0),
            closures::staff_id.eq(staff.map(|s| s.0)),
            closures::period.eq(range(period)),
            closures::reason.eq(reason),
        ))
        .execute(conn)
        .await?;
    Ok(id)
}

/// Deletes a closure if it belongs to `staff` (None: a mall-wide one). Returns rows deleted.
pub async fn delete_closure(
    conn: &mut AsyncPgConnection,
    id: ClosureId,
    staff: Option<StaffId>,
) -> QueryResult<usize> {
    let q = closures::table.filter(closures::id.eq(id.0));
    match staff {
        Some(s) => {
            diesel::delete(q.filter(closures::staff_id.eq(s.0)))
                .execute(conn)
                .await
        }
        None => {
            diesel::delete(q.filter(closures::staff_id.is_null()))
                .execute(conn)
                .await
        }
    }
}

/// The eligible, active staff of a service with their weekly hours, in one query.
pub async fn eligible_with_hours(
    conn: &mut AsyncPgConnection,
    service: crate::domain::ids::ServiceId,
) -> QueryResult<Vec<(StaffId, String, Vec<WorkInterval>)>> {
    use super::schema::{staff, staff_services};
    // A clerk without hours still comes back once, with no intervals (the left join).
    type Row = (
        Uuid,
        String,
        Option<i16>,
        Option<NaiveTime>,
        Option<NaiveTime>,
    );
    let rows: Vec<Row> = staff_services::table
        .inner_join(staff::table)
        .left_join(weekly_hours::table.on(weekly_hours::staff_id.eq(staff_services::staff_id)))
        .filter(staff_services::service_id.eq(service.0))
        .filter(staff::active.eq(true))
        .select((
            staff_services::staff_id,
            staff::name,
            weekly_hours::weekday.nullable(),
            weekly_hours::starts.nullable(),
            weekly_hours::ends.nullable(),
        ))
        .order(staff_services::staff_id.asc())
        .load(conn)
        .await?;
    let mut out: Vec<(StaffId, String, Vec<WorkInterval>)> = Vec::new();
    for (id, name, weekday, starts, ends) in rows {
        let id = StaffId(id);
        if out.last().is_none_or(|(last, _, _)| *last != id) {
            out.push((id, name, Vec::new()));
        }
        if let (Some(weekday), Some(starts), Some(ends), Some((_, _, list))) =
            (weekday, starts, ends, out.last_mut())
        {
            list.push(WorkInterval {
                weekday: weekday as u8,
                starts,
                ends,
            });
        }
    }
    Ok(out)
}

diesel::define_sql_function! {
    /// Postgres's `array_agg`, for one column.
    #[aggregate]
    fn array_agg<T: diesel::sql_types::SingleValue>(expr: T) -> diesel::sql_types::Array<T>;
}

/// What blocks a service's clerks in the window: each clerk's active appointments, live holds
/// among them (with the count as the fairness load), and personal closures, and the mall-wide
/// closures — in one round trip (a UNION ALL). Each clerk's periods come back as one row of two arrays (starts, ends):
/// a 30-day window holds thousands of periods, and one row per period cost more to send and
/// decode than the query cost to run. Written with the query builder so each connection
/// prepares the statement once (raw SQL is re-planned on every call).
pub async fn blocked_for_service(
    conn: &mut AsyncPgConnection,
    service: crate::domain::ids::ServiceId,
    window: Interval,
) -> QueryResult<(HashMap<StaffId, (Vec<Interval>, u32)>, Vec<Interval>)> {
    use super::schema::{appointments, staff_services};
    use diesel::dsl::{lower, upper};
    use diesel::sql_types::Bool;
    let serving = staff_services::table
        .filter(staff_services::service_id.eq(service.0))
        .select(staff_services::staff_id);
    let appts = appointments::table
        .filter(appointments::staff_id.eq_any(serving))
        .filter(appointments::status.eq_any(["held", "booked", "waiting", "in_call"]))
        // A hold past its time is free already, before the reaper ends it: the booking that
        // takes the time ends it in its own statement (`loket_book`).
        .filter(
            appointments::hold_expires_at
                .is_null()
                .or(appointments::hold_expires_at.gt(diesel::dsl::now)),
        )
        .filter(appointments::period.overlaps_with(range(window)))
        .group_by(appointments::staff_id)
        .select((
            appointments::staff_id.nullable(),
            array_agg(lower(appointments::period)),
            array_agg(upper(appointments::period)),
            true.into_sql::<Bool>(),
        ));
    let closed = closures::table
        .filter(
            closures::staff_id
                .is_null()
                .or(closures::staff_id.eq_any(serving.nullable())),
        )
        .filter(closures::period.overlaps_with(range(window)))
        .group_by(closures::staff_id)
        .select((
            closures::staff_id,
            array_agg(lower(closures::period)),
            array_agg(upper(closures::period)),
            false.into_sql::<Bool>(),
        ));
    // (clerk or none for mall-wide, starts, ends, are appointments)
    type Row = (
        Option<Uuid>,
        Vec<Option<DateTime<Utc>>>,
        Vec<Option<DateTime<Utc>>>,
        bool,
    );
    let rows: Vec<Row> = appts.union_all(closed).load(conn).await?;
    let mut map: HashMap<StaffId, (Vec<Interval>, u32)> = HashMap::new();
    let mut global = Vec::new();
    for (staff_id, starts, ends, appointments) in rows {
        // Stored periods are bounded and non-empty (table checks): both ends are present.
        let periods = starts
            .into_iter()
            .zip(ends)
            .filter_map(|(s, e)| Interval::new(s?, e?));
        match staff_id {
            None => global.extend(periods),
            Some(id) => {
                let e = map.entry(StaffId(id)).or_default();
                let before = e.0.len();
                e.0.extend(periods);
                if appointments {
                    e.1 += (e.0.len() - before) as u32;
                }
            }
        }
    }
    Ok((map, global))
}

diesel::define_sql_function! {
    /// `loket_expire_holds(staff, period, limit)` (migration 2026-12-07-hold-001).
    #[sql_name = "loket_expire_holds"]
    fn expire_holds(
        staff: diesel::sql_types::Nullable<diesel::sql_types::Uuid>,
        period: diesel::sql_types::Nullable<
            diesel::sql_types::Range<diesel::sql_types::Timestamptz>,
        >,
        limit: diesel::sql_types::Integer,
    ) -> diesel::pg::sql_types::Record<(diesel::sql_types::Uuid, diesel::sql_types::Uuid)>;
}

/// Ends the holds of `clerk` whose time is up and that overlap `period` — what a change about to
/// take that time does first (`loket_book` does the same inside its statement): the free times
/// already show such a hold as free, and without this the exclusion constraint would refuse the
/// change until the reaper came by. Answers how many ended. In the caller's transaction.
pub async fn end_expired_holds(
    conn: &mut AsyncPgConnection,
    clerk: StaffId,
    period: Interval,
) -> QueryResult<usize> {
    let ended: Vec<(Uuid, Uuid)> =
        diesel::select(expire_holds(Some(clerk.0), Some(range(period)), 100))
            .load(conn)
            .await?;
    Ok(ended.len())
}
