//! Weekly hours, closures (mall-wide and personal) and the busy periods the slot computation
//! needs, loaded for a set of clerks and a window in one query each.

use std::collections::Bound;
use std::collections::HashMap;

use chrono::{DateTime, NaiveTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{appointments, closures, weekly_hours};
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

/// Mall-wide closures overlapping the window.
pub async fn global_closures(
    conn: &mut AsyncPgConnection,
    window: Interval,
) -> QueryResult<Vec<Interval>> {
    let rows: Vec<Range> = closures::table
        .filter(closures::staff_id.is_null())
        .filter(closures::period.overlaps_with(range(window)))
        .select(closures::period)
        .load(conn)
        .await?;
    Ok(rows.iter().filter_map(interval).collect())
}

/// Each clerk's busy time in the window: active appointments' blocked periods and personal
/// closures, plus the number of active appointments (the fairness load).
pub async fn busy_for(
    conn: &mut AsyncPgConnection,
    staff: &[StaffId],
    window: Interval,
) -> QueryResult<HashMap<StaffId, (Vec<Interval>, u32)>> {
    let ids: Vec<Uuid> = staff.iter().map(|s| s.0).collect();
    let appts: Vec<(Uuid, Range)> = appointments::table
        .filter(appointments::staff_id.eq_any(&ids))
        .filter(appointments::status.eq_any(["booked", "waiting", "in_call"]))
        .filter(appointments::period.overlaps_with(range(window)))
        .select((appointments::staff_id, appointments::period))
        .load(conn)
        .await?;
    let personal: Vec<(Option<Uuid>, Range)> = closures::table
        .filter(closures::staff_id.eq_any(&ids))
        .filter(closures::period.overlaps_with(range(window)))
        .select((closures::staff_id, closures::period))
        .load(conn)
        .await?;
    let mut map: HashMap<StaffId, (Vec<Interval>, u32)> = HashMap::new();
    for (id, r) in appts {
        if let Some(i) = interval(&r) {
            let e = map.entry(StaffId(id)).or_default();
            e.0.push(i);
            e.1 += 1;
        }
    }
    for (id, r) in personal {
        if let (Some(id), Some(i)) = (id, interval(&r)) {
            map.entry(StaffId(id)).or_default().0.push(i);
        }
    }
    Ok(map)
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
