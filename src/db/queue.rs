//! The same-day queue's rows (`queue_tickets`, `queue_counters`) and the walk-in appointments a
//! call writes. Every write that must be exact runs in one transaction under the lock that makes
//! it so: a number is taken under its phone's lock (the one bookings take) and its agency's
//! counter row for the day (which also makes the daily cap exact); a call under the clerk's
//! advisory lock (the one bookings and reschedules take), where the `appointments` exclusion
//! constraint has the last word; a ticket change under the ticket's row lock. Where the rule
//! between reading and writing is the queue's own, the caller passes it in as a pure function
//! (`decide`), so the decision sees exactly what the transaction read.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Date, Int4, Nullable, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use uuid::Uuid;

use super::schedule::range;
use super::schema::{agencies, appointments, queue_tickets, services, staff};
use super::{events, is_retryable, outbox, violates};
use crate::domain::appointment::{BookingCode, Status};
use crate::domain::ids::{AgencyId, AppointmentId, ServiceId, StaffId, TicketId};
use crate::domain::schedule::Interval;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = queue_tickets, check_for_backend(diesel::pg::Pg))]
pub struct TicketRow {
    pub id: Uuid,
    pub agency_id: Uuid,
    pub service_id: Uuid,
    pub day: NaiveDate,
    pub seq: i32,
    pub mode: String,
    pub state: String,
    pub priority_group: Option<String>,
    pub citizen_name: String,
    pub citizen_phone: Option<String>,
    pub appointment_id: Option<Uuid>,
    pub staff_id: Option<Uuid>,
    pub counter: Option<String>,
    pub calls: i16,
    pub taken_at: DateTime<Utc>,
    pub called_at: Option<DateTime<Utc>>,
    pub last_called_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl TicketRow {
    pub fn id(&self) -> TicketId {
        TicketId(self.id)
    }
}

/// A ticket with what people are shown about it.
#[derive(Clone, Debug)]
pub struct TicketView {
    pub ticket: TicketRow,
    pub prefix: String,
    pub agency_slug: String,
    pub agency_name: String,
    pub service_slug: String,
    pub service_name: String,
    pub service_name_en: String,
    /// The walk-in appointment, once called: its status, code and creation time (which the
    /// citizen token for its room is minted from).
    pub appointment: Option<(String, String, DateTime<Utc>)>,
    pub clerk_name: Option<String>,
}

type ViewRow = (
    TicketRow,
    (String, String, String),
    (String, String, String),
    Option<(String, String, DateTime<Utc>)>,
    Option<String>,
);

fn into_view(
    (ticket, (prefix, agency_slug, agency_name), svc, appointment, clerk): ViewRow,
) -> TicketView {
    TicketView {
        ticket,
        prefix,
        agency_slug,
        agency_name,
        service_slug: svc.0,
        service_name: svc.1,
        service_name_en: svc.2,
        appointment,
        clerk_name: clerk,
    }
}

macro_rules! view_query {
    () => {
        queue_tickets::table
            .inner_join(agencies::table.on(agencies::id.eq(queue_tickets::agency_id)))
            .inner_join(services::table.on(services::id.eq(queue_tickets::service_id)))
            .left_join(
                appointments::table.on(appointments::id
                    .nullable()
                    .eq(queue_tickets::appointment_id)),
            )
            .left_join(staff::table.on(staff::id.nullable().eq(queue_tickets::staff_id)))
            .select((
                TicketRow::as_select(),
                (agencies::queue_prefix, agencies::slug, agencies::name),
                (services::slug, services::name, services::name_en),
                (
                    appointments::status,
                    appointments::code,
                    appointments::created_at,
                )
                    .nullable(),
                staff::name.nullable(),
            ))
    };
}

pub async fn view(conn: &mut AsyncPgConnection, id: TicketId) -> QueryResult<Option<TicketView>> {
    view_query!()
        .filter(queue_tickets::id.eq(id.0))
        .first::<ViewRow>(conn)
        .await
        .optional()
        .map(|r| r.map(into_view))
}

/// Several tickets with what people are shown about them (any order; missing ones left out).
pub async fn views(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<TicketView>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    view_query!()
        .filter(queue_tickets::id.eq_any(ids))
        .load::<ViewRow>(conn)
        .await
        .map(|rows| rows.into_iter().map(into_view).collect())
}

/// The ticket whose call holds this appointment.
pub async fn by_appointment(
    conn: &mut AsyncPgConnection,
    appointment: AppointmentId,
) -> QueryResult<Option<TicketId>> {
    queue_tickets::table
        .filter(queue_tickets::appointment_id.eq(appointment.0))
        .select(queue_tickets::id)
        .first::<Uuid>(conn)
        .await
        .optional()
        .map(|r| r.map(TicketId))
}

/// A service as the queue needs it.
#[derive(Clone, Debug)]
pub struct QueueService {
    pub id: Uuid,
    pub agency_id: Uuid,
    pub slug: String,
    pub name: String,
    pub name_en: String,
    pub duration_minutes: i32,
    pub buffer_minutes: i32,
    pub daily_cap: Option<i32>,
    pub active: bool,
}

type ServiceRow = (
    Uuid,
    Uuid,
    String,
    String,
    String,
    i32,
    i32,
    Option<i32>,
    bool,
);

fn into_service(r: ServiceRow) -> QueueService {
    QueueService {
        id: r.0,
        agency_id: r.1,
        slug: r.2,
        name: r.3,
        name_en: r.4,
        duration_minutes: r.5,
        buffer_minutes: r.6,
        daily_cap: r.7,
        active: r.8,
    }
}

macro_rules! service_columns {
    () => {
        (
            services::id,
            services::agency_id,
            services::slug,
            services::name,
            services::name_en,
            services::duration_minutes,
            services::buffer_minutes,
            services::queue_daily_cap,
            services::active,
        )
    };
}

/// The agency's services (active or not), by name.
pub async fn agency_services(
    conn: &mut AsyncPgConnection,
    agency: AgencyId,
) -> QueryResult<Vec<QueueService>> {
    Ok(services::table
        .filter(services::agency_id.eq(agency.0))
        .select(service_columns!())
        .order(services::name.asc())
        .load::<ServiceRow>(conn)
        .await?
        .into_iter()
        .map(into_service)
        .collect())
}

pub async fn service_by_slug(
    conn: &mut AsyncPgConnection,
    slug: &str,
) -> QueryResult<Option<QueueService>> {
    Ok(services::table
        .filter(services::slug.eq(slug))
        .select(service_columns!())
        .first::<ServiceRow>(conn)
        .await
        .optional()?
        .map(into_service))
}

/// Sets (or clears) a service's daily cap of queue numbers, with its audit event.
pub async fn set_daily_cap(
    conn: &mut AsyncPgConnection,
    service: &QueueService,
    cap: Option<i32>,
    actor: &str,
) -> QueryResult<()> {
    conn.transaction::<_, diesel::result::Error, _>(async |c| {
        diesel::update(services::table.find(service.id))
            .set(services::queue_daily_cap.eq(cap))
            .execute(c)
            .await?;
        super::audit::append(
            c,
            actor,
            "queue_cap_changed",
            &format!("service:{}", service.slug),
            json!({"daily_cap": cap}),
        )
        .await
    })
    .await
}

/// The active services this person serves.
pub async fn served_by(
    conn: &mut AsyncPgConnection,
    clerk: StaffId,
) -> QueryResult<Vec<QueueService>> {
    use super::schema::staff_services;
    Ok(staff_services::table
        .inner_join(services::table)
        .filter(staff_services::staff_id.eq(clerk.0))
        .filter(services::active.eq(true))
        .select(service_columns!())
        .order(services::name.asc())
        .load::<ServiceRow>(conn)
        .await?
        .into_iter()
        .map(into_service)
        .collect())
}

/// An agency as the board and the queue's live state name it.
#[derive(Clone, Debug)]
pub struct QueueAgency {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub name_en: String,
    pub prefix: String,
}

pub async fn agencies(conn: &mut AsyncPgConnection) -> QueryResult<Vec<QueueAgency>> {
    let rows: Vec<(Uuid, String, String, String, String)> = agencies::table
        .select((
            agencies::id,
            agencies::slug,
            agencies::name,
            agencies::name_en,
            agencies::queue_prefix,
        ))
        .order(agencies::queue_prefix.asc())
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, slug, name, name_en, prefix)| QueueAgency {
            id,
            slug,
            name,
            name_en,
            prefix,
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Taking a number

#[derive(Debug)]
pub struct NewTicket {
    pub id: Uuid,
    pub agency_id: Uuid,
    pub service_id: Uuid,
    pub day: NaiveDate,
    pub mode: String,
    pub citizen_name: String,
    pub citizen_phone: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TakeError {
    #[error("the phone number holds the most open bookings and numbers it may")]
    TooManyActive,
    #[error("the service's numbers for today are gone or its line is full")]
    Full,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Limits checked inside the transaction, where they are exact.
#[derive(Clone, Copy, Debug)]
pub struct TakeLimits {
    /// Active bookings plus waiting numbers one phone may hold.
    pub max_active_per_phone: i64,
    /// Numbers the service gives out today, if it caps them.
    pub daily_cap: Option<i32>,
    /// Numbers that may wait in the service's line at once.
    pub max_waiting: i64,
}

diesel::define_sql_function! {
    /// `loket_lock(key)`: a transaction-scoped advisory lock (migration ..._booking_lock).
    fn loket_lock(key: Text) -> Bool;
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Seq {
    #[diesel(sql_type = Int4)]
    last_seq: i32,
}

#[derive(QueryableByName)]
struct Taken {
    #[diesel(sql_type = BigInt)]
    taken: i64,
    #[diesel(sql_type = BigInt)]
    waiting: i64,
}

/// Takes the next number of the agency today: the phone's lock and its open bookings and
/// numbers counted (fresh, under the lock) against the limit; the agency's counter row for the
/// day locked and advanced, and with it held the service's numbers of the day counted against
/// its cap and line bound; then the insert. All or nothing: a refused number uses no sequence.
pub async fn take(
    conn: &mut AsyncPgConnection,
    new: &NewTicket,
    limits: TakeLimits,
) -> Result<TicketRow, TakeError> {
    let mut tries = 0;
    loop {
        tries += 1;
        let result = conn
            .transaction::<_, TakeError, _>(async |c| {
                if let Some(phone) = &new.citizen_phone {
                    diesel::select(loket_lock(format!("phone:{phone}")))
                        .get_result::<bool>(c)
                        .await?;
                    let open: Count = diesel::sql_query(
                        "SELECT (SELECT count(*) FROM appointments
                                  WHERE citizen_phone = $1 AND active)
                              + (SELECT count(*) FROM queue_tickets
                                  WHERE citizen_phone = $1 AND state = 'waiting') AS n",
                    )
                    .bind::<Text, _>(phone)
                    .get_result(c)
                    .await?;
                    if open.n >= limits.max_active_per_phone {
                        return Err(TakeError::TooManyActive);
                    }
                }
                let seq: Seq = diesel::sql_query(
                    "INSERT INTO queue_counters (agency_id, day, last_seq) VALUES ($1, $2, 1)
                     ON CONFLICT (agency_id, day)
                     DO UPDATE SET last_seq = queue_counters.last_seq + 1
                     RETURNING last_seq",
                )
                .bind::<diesel::sql_types::Uuid, _>(new.agency_id)
                .bind::<Date, _>(new.day)
                .get_result(c)
                .await
                .map_err(|e| {
                    // The counter's check: past 9999 numbers in one day.
                    if violates(&e, "queue_counters_last_seq_check") {
                        TakeError::Full
                    } else {
                        TakeError::Db(e)
                    }
                })?;
                let taken: Taken = diesel::sql_query(
                    "SELECT count(*) AS taken, count(*) FILTER (WHERE state = 'waiting') AS waiting
                       FROM queue_tickets WHERE agency_id = $1 AND day = $2 AND service_id = $3",
                )
                .bind::<diesel::sql_types::Uuid, _>(new.agency_id)
                .bind::<Date, _>(new.day)
                .bind::<diesel::sql_types::Uuid, _>(new.service_id)
                .get_result(c)
                .await?;
                if limits
                    .daily_cap
                    .is_some_and(|cap| taken.taken >= cap as i64)
                    || taken.waiting >= limits.max_waiting
                {
                    return Err(TakeError::Full);
                }
                Ok(diesel::insert_into(queue_tickets::table)
                    .values((
                        queue_tickets::id.eq(new.id),
                        queue_tickets::agency_id.eq(new.agency_id),
                        queue_tickets::service_id.eq(new.service_id),
                        queue_tickets::day.eq(new.day),
                        queue_tickets::seq.eq(seq.last_seq),
                        queue_tickets::mode.eq(&new.mode),
                        queue_tickets::citizen_name.eq(&new.citizen_name),
                        queue_tickets::citizen_phone.eq(new.citizen_phone.as_deref()),
                    ))
                    .returning(TicketRow::as_returning())
                    .get_result(c)
                    .await?)
            })
            .await;
        match result {
            Err(TakeError::Db(e)) if is_retryable(&e) && tries < 3 => continue,
            other => return other,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The live state of an agency's queue

/// A waiting number as the plan needs it.
#[derive(Clone, Debug, QueryableByName)]
pub struct WaitingRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub service_id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    pub taken_at: DateTime<Utc>,
    #[diesel(sql_type = Int4)]
    pub seq: i32,
    #[diesel(sql_type = Bool)]
    pub priority: bool,
}

/// Today's waiting numbers of an agency (any order). Numbers left waiting on an earlier day are
/// cancelled first: a day's line never carries into the next.
pub async fn waiting(
    conn: &mut AsyncPgConnection,
    agency: AgencyId,
    day: NaiveDate,
) -> QueryResult<Vec<WaitingRow>> {
    diesel::sql_query(
        "UPDATE queue_tickets SET state = 'cancelled', finished_at = now(), updated_at = now()
          WHERE agency_id = $1 AND state = 'waiting' AND day < $2",
    )
    .bind::<diesel::sql_types::Uuid, _>(agency.0)
    .bind::<Date, _>(day)
    .execute(conn)
    .await?;
    diesel::sql_query(
        "SELECT id, service_id, taken_at, seq, priority_group IS NOT NULL AS priority
           FROM queue_tickets WHERE agency_id = $1 AND state = 'waiting' AND day = $2",
    )
    .bind::<diesel::sql_types::Uuid, _>(agency.0)
    .bind::<Date, _>(day)
    .load(conn)
    .await
}

/// A called number of today, for the live state: how far it has come (the queue's state and the
/// appointment's status), and for the board what was shown.
#[derive(Clone, Debug, QueryableByName)]
pub struct CalledRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub service_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub appointment_id: Uuid,
    #[diesel(sql_type = Text)]
    pub state: String,
    #[diesel(sql_type = Text)]
    pub appointment_status: String,
    #[diesel(sql_type = Text)]
    pub mode: String,
    #[diesel(sql_type = Int4)]
    pub seq: i32,
    #[diesel(sql_type = diesel::sql_types::SmallInt)]
    pub calls: i16,
    #[diesel(sql_type = Nullable<Text>)]
    pub counter: Option<String>,
    #[diesel(sql_type = Text)]
    pub clerk_name: String,
    #[diesel(sql_type = Timestamptz)]
    pub last_called_at: DateTime<Utc>,
}

/// Today's called numbers of an agency, the last called first (at most `limit`).
pub async fn called(
    conn: &mut AsyncPgConnection,
    agency: AgencyId,
    day: NaiveDate,
    limit: i64,
) -> QueryResult<Vec<CalledRow>> {
    diesel::sql_query(
        "SELECT t.id, t.service_id, t.appointment_id, t.state, a.status AS appointment_status,
                t.mode, t.seq, t.calls, t.counter, s.name AS clerk_name, t.last_called_at
           FROM queue_tickets t
           JOIN appointments a ON a.id = t.appointment_id
           JOIN staff s ON s.id = t.staff_id
          WHERE t.agency_id = $1 AND t.day = $2 AND t.appointment_id IS NOT NULL
          ORDER BY t.last_called_at DESC LIMIT $3",
    )
    .bind::<diesel::sql_types::Uuid, _>(agency.0)
    .bind::<Date, _>(day)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// A number the board shows: called today in person and not finished.
#[derive(Clone, Debug, QueryableByName)]
pub struct BoardRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub agency_id: Uuid,
    #[diesel(sql_type = Int4)]
    pub seq: i32,
    #[diesel(sql_type = diesel::sql_types::SmallInt)]
    pub calls: i16,
    #[diesel(sql_type = Nullable<Text>)]
    pub counter: Option<String>,
    #[diesel(sql_type = Text)]
    pub clerk_name: String,
    #[diesel(sql_type = Text)]
    pub service_name: String,
    #[diesel(sql_type = Text)]
    pub state: String,
    #[diesel(sql_type = Text)]
    pub appointment_status: String,
    #[diesel(sql_type = Timestamptz)]
    pub last_called_at: DateTime<Utc>,
}

/// Today's in-person numbers still called or at the counter (of one agency, or all), the last
/// called first, at most `per_agency` of each agency.
pub async fn board(
    conn: &mut AsyncPgConnection,
    day: NaiveDate,
    agency: Option<Uuid>,
    per_agency: i64,
) -> QueryResult<Vec<BoardRow>> {
    diesel::sql_query(
        "SELECT id, agency_id, seq, calls, counter, clerk_name, service_name, state,
                appointment_status, last_called_at FROM (
            SELECT t.id, t.agency_id, t.seq, t.calls, t.counter, st.name AS clerk_name,
                   s.name AS service_name, t.state, a.status AS appointment_status,
                   t.last_called_at,
                   row_number() OVER (PARTITION BY t.agency_id ORDER BY t.last_called_at DESC) AS n
              FROM queue_tickets t
              JOIN appointments a ON a.id = t.appointment_id
              JOIN staff st ON st.id = t.staff_id
              JOIN services s ON s.id = t.service_id
             WHERE t.day = $1 AND t.mode = 'in_person' AND t.state IN ('called', 'serving')
               AND a.active AND ($2::uuid IS NULL OR t.agency_id = $2)) recent
          WHERE n <= $3
          ORDER BY last_called_at DESC",
    )
    .bind::<Date, _>(day)
    .bind::<Nullable<diesel::sql_types::Uuid>, _>(agency)
    .bind::<BigInt, _>(per_agency)
    .load(conn)
    .await
}

/// Who serves the agency's services: (clerk, service) pairs of active staff.
pub async fn agency_staffing(
    conn: &mut AsyncPgConnection,
    agency: AgencyId,
) -> QueryResult<Vec<(StaffId, ServiceId)>> {
    use super::schema::staff_services;
    let rows: Vec<(Uuid, Uuid)> = staff_services::table
        .inner_join(staff::table)
        .inner_join(services::table)
        .filter(services::agency_id.eq(agency.0))
        .filter(services::active.eq(true))
        .filter(staff::active.eq(true))
        .select((staff_services::staff_id, staff_services::service_id))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(a, b)| (StaffId(a), ServiceId(b)))
        .collect())
}

/// What blocks these clerks in the window, kept apart because the queue treats them apart:
/// active appointments (busy), personal leave, and mall-wide closures.
#[derive(Debug, Default)]
pub struct Blocked {
    pub busy: HashMap<StaffId, Vec<Interval>>,
    pub leave: HashMap<StaffId, Vec<Interval>>,
    pub closures: Vec<Interval>,
}

#[derive(QueryableByName)]
struct BlockRow {
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    staff_id: Option<Uuid>,
    #[diesel(sql_type = Timestamptz)]
    starts: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    ends: DateTime<Utc>,
    #[diesel(sql_type = Bool)]
    appointment: bool,
}

pub async fn blocked(
    conn: &mut AsyncPgConnection,
    clerks: &[StaffId],
    window: Interval,
) -> QueryResult<Blocked> {
    let ids: Vec<Uuid> = clerks.iter().map(|c| c.0).collect();
    let rows: Vec<BlockRow> = diesel::sql_query(
        "SELECT staff_id, lower(period) AS starts, upper(period) AS ends, true AS appointment
           FROM appointments
          WHERE staff_id = ANY($1) AND active AND period && tstzrange($2, $3)
         UNION ALL
         SELECT staff_id, lower(period), upper(period), false
           FROM closures
          WHERE (staff_id IS NULL OR staff_id = ANY($1)) AND period && tstzrange($2, $3)",
    )
    .bind::<Array<diesel::sql_types::Uuid>, _>(ids)
    .bind::<Timestamptz, _>(window.start)
    .bind::<Timestamptz, _>(window.end)
    .load(conn)
    .await?;
    let mut out = Blocked::default();
    for r in rows {
        let Some(i) = Interval::new(r.starts, r.ends) else {
            continue;
        };
        match (r.staff_id, r.appointment) {
            (None, _) => out.closures.push(i),
            (Some(s), true) => out.busy.entry(StaffId(s)).or_default().push(i),
            (Some(s), false) => out.leave.entry(StaffId(s)).or_default().push(i),
        }
    }
    Ok(out)
}

#[derive(QueryableByName)]
struct PaceRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    service_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Double)]
    seconds: f64,
}

/// How long today's finished walk-ins of the agency took, per service: from the call to the
/// clerk closing the appointment as completed (the last 20 of each service).
pub async fn served_durations(
    conn: &mut AsyncPgConnection,
    agency: AgencyId,
    day: NaiveDate,
) -> QueryResult<HashMap<ServiceId, Vec<chrono::Duration>>> {
    let rows: Vec<PaceRow> = diesel::sql_query(
        "SELECT service_id, seconds FROM (
            SELECT t.service_id, extract(epoch FROM e.at - t.called_at)::float8 AS seconds,
                   row_number() OVER (PARTITION BY t.service_id ORDER BY e.at DESC) AS n
              FROM queue_tickets t
              JOIN appointment_events e ON e.appointment_id = t.appointment_id
                                       AND e.kind = 'completed'
             WHERE t.agency_id = $1 AND t.day = $2 AND t.called_at IS NOT NULL) recent
          WHERE n <= 20",
    )
    .bind::<diesel::sql_types::Uuid, _>(agency.0)
    .bind::<Date, _>(day)
    .load(conn)
    .await?;
    let mut out: HashMap<ServiceId, Vec<chrono::Duration>> = HashMap::new();
    for r in rows {
        out.entry(ServiceId(r.service_id))
            .or_default()
            .push(chrono::Duration::seconds(r.seconds.max(0.0) as i64));
    }
    Ok(out)
}

/// Marks the given waiting numbers as told that their turn is near and, in the same
/// transaction, writes each one's message (`notice`: none for a number without a phone);
/// answers those that had not been told yet (each is answered — and messaged — once, whichever
/// node asks first).
pub async fn mark_near(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    notice: impl Fn(&TicketRow) -> Option<outbox::Write> + Send + Sync,
) -> QueryResult<Vec<TicketRow>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    conn.transaction::<_, diesel::result::Error, _>(async |c| {
        let rows: Vec<TicketRow> = diesel::update(
            queue_tickets::table
                .filter(queue_tickets::id.eq_any(ids))
                .filter(queue_tickets::state.eq("waiting"))
                .filter(queue_tickets::near_notified_at.is_null()),
        )
        .set(queue_tickets::near_notified_at.eq(diesel::dsl::now))
        .returning(TicketRow::as_returning())
        .get_results(c)
        .await?;
        for row in &rows {
            if let Some(w) = notice(row) {
                outbox::write(c, &w).await?;
            }
        }
        Ok(rows)
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Calling

/// The first waiting number of one service's line, in fair order.
#[derive(Clone, Debug, QueryableByName)]
pub struct HeadRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub service_id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    pub taken_at: DateTime<Utc>,
    #[diesel(sql_type = Int4)]
    pub seq: i32,
    #[diesel(sql_type = Bool)]
    pub priority: bool,
}

/// What a call decided, from what the transaction read.
pub enum CallDecision<R> {
    /// Call this number, holding the clerk for `period` (the service and its buffer); the
    /// service itself ends at `ends_at`.
    Call {
        ticket: Uuid,
        period: Interval,
        ends_at: DateTime<Utc>,
    },
    /// Do not call; answer this.
    Refuse(R),
}

/// Who calls, for the walk-in appointment a call writes.
#[derive(Clone, Debug)]
pub struct WalkIn {
    pub staff: StaffId,
    pub counter: Option<String>,
    /// For the audit event (`staff:<id>`).
    pub actor: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CallError<R> {
    #[error("refused")]
    Refused(R),
    #[error("the clerk's time is taken")]
    Overlap,
    #[error("the database stayed busy")]
    Busy,
    /// Another clerk called the chosen number first (read again; never returned).
    #[error("raced")]
    Raced,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Calls a clerk's next number. Under the clerk's advisory lock (the one every booking,
/// reschedule and reassignment of theirs takes) it reads the clerk's blocked time in `window`
/// and the head of each of `services`' lines today, asks `decide`, and writes the call: the
/// ticket is locked if still waiting (another clerk may have called it meanwhile — then it
/// reads again), the walk-in appointment is inserted — where the exclusion constraint refuses
/// any overlap with a booking, whatever the decision thought — with its `called` audit event,
/// and the ticket moves from waiting to called; the citizen's message about the call
/// (`notice`, from the called row) is written in the same transaction.
#[allow(clippy::too_many_arguments)]
pub async fn call_next<R: Send>(
    conn: &mut AsyncPgConnection,
    clerk: &WalkIn,
    services: &[ServiceId],
    day: NaiveDate,
    window: Interval,
    decide: impl Fn(&Blocked, &[HeadRow]) -> CallDecision<R> + Send + Sync,
    notice: impl Fn(&TicketRow) -> Option<outbox::Write> + Send + Sync,
) -> Result<TicketRow, CallError<R>> {
    let ids: Vec<Uuid> = services.iter().map(|s| s.0).collect();
    let mut tries = 0;
    loop {
        tries += 1;
        let result = conn
            .transaction::<_, CallError<R>, _>(async |c| {
                diesel::select(loket_lock(format!("staff:{}", clerk.staff)))
                    .get_result::<bool>(c)
                    .await?;
                // A hold whose time is up must not keep the number from being called.
                super::schedule::end_expired_holds(c, clerk.staff, window).await?;
                let blocked = blocked(c, &[clerk.staff], window).await?;
                let heads: Vec<HeadRow> = diesel::sql_query(
                    "SELECT DISTINCT ON (service_id)
                            id, service_id, taken_at, seq, priority_group IS NOT NULL AS priority
                       FROM queue_tickets
                      WHERE service_id = ANY($1) AND state = 'waiting' AND day = $2
                      ORDER BY service_id, (priority_group IS NULL), taken_at, seq, id",
                )
                .bind::<Array<diesel::sql_types::Uuid>, _>(&ids)
                .bind::<Date, _>(day)
                .load(c)
                .await?;
                let (ticket, period, ends_at) = match decide(&blocked, &heads) {
                    CallDecision::Refuse(r) => return Err(CallError::Refused(r)),
                    CallDecision::Call {
                        ticket,
                        period,
                        ends_at,
                    } => (ticket, period, ends_at),
                };
                // Still waiting? (Another clerk may have called it since we read: then its row
                // lock makes us wait for their commit, and we read again.)
                let Some(waiting) = queue_tickets::table
                    .filter(queue_tickets::id.eq(ticket))
                    .filter(queue_tickets::state.eq("waiting"))
                    .select(TicketRow::as_select())
                    .for_update()
                    .first::<TicketRow>(c)
                    .await
                    .optional()?
                else {
                    return Err(CallError::Raced);
                };
                // The appointment first (the ticket names it): here the exclusion constraint
                // refuses any overlap with a booking of this clerk.
                let appointment = Uuid::new_v4();
                insert_walk_in(c, &waiting, appointment, clerk, period, ends_at).await?;
                let row: TicketRow = diesel::update(queue_tickets::table.find(ticket))
                    .set((
                        queue_tickets::state.eq("called"),
                        queue_tickets::appointment_id.eq(appointment),
                        queue_tickets::staff_id.eq(clerk.staff.0),
                        queue_tickets::counter.eq(clerk.counter.as_deref()),
                        queue_tickets::calls.eq(1),
                        queue_tickets::called_at.eq(diesel::dsl::now),
                        queue_tickets::last_called_at.eq(diesel::dsl::now),
                        queue_tickets::updated_at.eq(diesel::dsl::now),
                    ))
                    .returning(TicketRow::as_returning())
                    .get_result(c)
                    .await?;
                if let Some(w) = notice(&row) {
                    outbox::write(c, &w).await?;
                }
                Ok(row)
            })
            .await;
        match result {
            Err(CallError::Raced) if tries < 5 => continue,
            Err(CallError::Raced) => return Err(CallError::Busy),
            Err(CallError::Db(e)) if violates(&e, "appointments_no_double_booking") => {
                return Err(CallError::Overlap);
            }
            // A booking code drawn twice (40 random bits) or a deadlock: the whole call again.
            Err(CallError::Db(e))
                if (violates(&e, "appointments_code_key") || is_retryable(&e)) && tries < 5 =>
            {
                continue;
            }
            Err(CallError::Db(e)) if is_retryable(&e) => return Err(CallError::Busy),
            other => return other,
        }
    }
}

async fn insert_walk_in(
    c: &mut AsyncPgConnection,
    row: &TicketRow,
    appointment: Uuid,
    clerk: &WalkIn,
    period: Interval,
    ends_at: DateTime<Utc>,
) -> QueryResult<()> {
    // The `booked` insert trigger is a booking's; the walk-in's first event is this `called`.
    diesel::insert_into(appointments::table)
        .values((
            appointments::id.eq(appointment),
            appointments::code.eq(BookingCode::generate().as_str()),
            appointments::service_id.eq(row.service_id),
            appointments::staff_id.eq(clerk.staff.0),
            appointments::period.eq(range(period)),
            appointments::ends_at.eq(ends_at),
            appointments::citizen_name.eq(&row.citizen_name),
            appointments::citizen_phone.eq(row.citizen_phone.as_deref()),
            appointments::kind.eq("walk_in"),
        ))
        .execute(c)
        .await?;
    events::append(
        c,
        AppointmentId(appointment),
        "called",
        &clerk.actor,
        json!({"ticket": row.id, "staff": clerk.staff, "starts_at": period.start, "kind": "walk_in"}),
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Changing a ticket

/// A ticket with its appointment's status, as a change reads it under the row lock.
#[derive(Clone, Debug)]
pub struct Locked {
    pub ticket: TicketRow,
    pub appointment_status: Option<Status>,
}

/// What to write to a ticket (and its appointment).
#[derive(Clone, Debug, Default)]
pub struct TicketChange {
    pub state: Option<String>,
    pub count_call_at: Option<DateTime<Utc>>,
    /// Close the walk-in appointment with this status (it must still be open).
    pub release: Option<Status>,
    pub service: Option<Uuid>,
    /// `Some(None)` clears the mark.
    pub priority: Option<Option<String>>,
    /// Who, for the appointment's audit event.
    pub actor: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeError<R> {
    #[error("no such ticket")]
    NotFound,
    #[error("refused")]
    Refused(R),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Changes one ticket: locks it, reads it with its appointment's status, asks `decide`, writes
/// what it says (the ticket; the appointment's closing status with its audit event).
pub async fn change<R: Send>(
    conn: &mut AsyncPgConnection,
    id: TicketId,
    decide: impl FnOnce(&Locked) -> Result<TicketChange, R> + Send,
) -> Result<TicketRow, ChangeError<R>> {
    change_notifying(conn, id, decide, |_| None).await
}

/// [`change`], and the citizen's message about it (`notice`, from the changed row — a recall's
/// `queue_called`) written in the same transaction.
pub async fn change_notifying<R: Send>(
    conn: &mut AsyncPgConnection,
    id: TicketId,
    decide: impl FnOnce(&Locked) -> Result<TicketChange, R> + Send,
    notice: impl FnOnce(&TicketRow) -> Option<outbox::Write> + Send,
) -> Result<TicketRow, ChangeError<R>> {
    conn.transaction::<_, ChangeError<R>, _>(async |c| {
        let ticket: TicketRow = queue_tickets::table
            .find(id.0)
            .select(TicketRow::as_select())
            .for_update()
            .first(c)
            .await
            .optional()?
            .ok_or(ChangeError::NotFound)?;
        let appointment_status = match ticket.appointment_id {
            Some(a) => appointments::table
                .find(a)
                .select(appointments::status)
                .for_update()
                .first::<String>(c)
                .await
                .optional()?
                .and_then(|s| Status::parse(&s)),
            None => None,
        };
        let locked = Locked {
            ticket,
            appointment_status,
        };
        let plan = decide(&locked).map_err(ChangeError::Refused)?;
        let t = &locked.ticket;
        let finishing = matches!(plan.state.as_deref(), Some("skipped" | "cancelled"));
        let row: TicketRow = diesel::update(queue_tickets::table.find(t.id))
            .set((
                queue_tickets::state.eq(plan.state.clone().unwrap_or_else(|| t.state.clone())),
                queue_tickets::calls.eq(if plan.count_call_at.is_some() {
                    t.calls + 1
                } else {
                    t.calls
                }),
                queue_tickets::last_called_at.eq(plan.count_call_at.or(t.last_called_at)),
                queue_tickets::service_id.eq(plan.service.unwrap_or(t.service_id)),
                queue_tickets::priority_group.eq(match &plan.priority {
                    Some(p) => p.clone(),
                    None => t.priority_group.clone(),
                }),
                queue_tickets::finished_at.eq(if finishing {
                    Some(Utc::now())
                } else {
                    t.finished_at
                }),
                queue_tickets::updated_at.eq(diesel::dsl::now),
            ))
            .returning(TicketRow::as_returning())
            .get_result(c)
            .await?;
        if let (Some(to), Some(a), Some(from)) =
            (plan.release, t.appointment_id, locked.appointment_status)
            && from.can_become(to)
        {
            diesel::update(appointments::table.find(a))
                .set((
                    appointments::status.eq(to.as_str()),
                    appointments::updated_at.eq(diesel::dsl::now),
                ))
                .execute(c)
                .await?;
            events::append(
                c,
                AppointmentId(a),
                to.as_str(),
                &plan.actor,
                json!({"from": from.as_str(), "to": to.as_str(), "ticket": t.id}),
            )
            .await?;
        }
        if let Some(w) = notice(&row) {
            outbox::write(c, &w).await?;
        }
        Ok(row)
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Supervisors and reports

/// One service's line today, for supervisors.
#[derive(Clone, Debug, QueryableByName)]
pub struct LineStats {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub service_id: Uuid,
    #[diesel(sql_type = BigInt)]
    pub waiting: i64,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub oldest_waiting: Option<DateTime<Utc>>,
    #[diesel(sql_type = BigInt)]
    pub served: i64,
    #[diesel(sql_type = BigInt)]
    pub skipped: i64,
    #[diesel(sql_type = BigInt)]
    pub taken: i64,
}

/// Today's figures of each of the agency's services that gave out a number.
pub async fn line_stats(
    conn: &mut AsyncPgConnection,
    agency: AgencyId,
    day: NaiveDate,
) -> QueryResult<Vec<LineStats>> {
    diesel::sql_query(
        "SELECT t.service_id,
                count(*) FILTER (WHERE t.state = 'waiting') AS waiting,
                min(t.taken_at) FILTER (WHERE t.state = 'waiting') AS oldest_waiting,
                count(*) FILTER (WHERE a.status = 'completed') AS served,
                count(*) FILTER (WHERE t.state = 'skipped' OR a.status = 'no_show') AS skipped,
                count(*) AS taken
           FROM queue_tickets t
           LEFT JOIN appointments a ON a.id = t.appointment_id
          WHERE t.agency_id = $1 AND t.day = $2
          GROUP BY t.service_id",
    )
    .bind::<diesel::sql_types::Uuid, _>(agency.0)
    .bind::<Date, _>(day)
    .load(conn)
    .await
}

/// Queue figures per agency for local days `from..=to`: numbers served, skipped and cancelled,
/// and the mean wait from taking a number to its first call.
#[derive(Clone, Debug, QueryableByName)]
pub struct QueueFigures {
    #[diesel(sql_type = Text)]
    pub agency: String,
    #[diesel(sql_type = BigInt)]
    pub taken: i64,
    #[diesel(sql_type = BigInt)]
    pub served: i64,
    #[diesel(sql_type = BigInt)]
    pub skipped: i64,
    #[diesel(sql_type = BigInt)]
    pub cancelled: i64,
    #[diesel(sql_type = BigInt)]
    pub called: i64,
    #[diesel(sql_type = Nullable<diesel::sql_types::Double>)]
    pub mean_wait_seconds: Option<f64>,
}

pub async fn figures(
    conn: &mut AsyncPgConnection,
    from: NaiveDate,
    to: NaiveDate,
    agency: Option<Uuid>,
) -> QueryResult<Vec<QueueFigures>> {
    diesel::sql_query(
        "SELECT ag.slug AS agency,
                count(*) AS taken,
                count(*) FILTER (WHERE a.status = 'completed') AS served,
                count(*) FILTER (WHERE t.state = 'skipped' OR a.status = 'no_show') AS skipped,
                count(*) FILTER (WHERE t.state = 'cancelled' OR a.status = 'cancelled') AS cancelled,
                count(t.called_at) AS called,
                avg(extract(epoch FROM t.called_at - t.taken_at))::float8 AS mean_wait_seconds
           FROM queue_tickets t
           JOIN agencies ag ON ag.id = t.agency_id
           LEFT JOIN appointments a ON a.id = t.appointment_id
          WHERE t.day BETWEEN $1 AND $2 AND ($3::uuid IS NULL OR ag.id = $3)
          GROUP BY ag.slug",
    )
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .bind::<Nullable<diesel::sql_types::Uuid>, _>(agency)
    .load(conn)
    .await
}

/// Today's waiting numbers of these services, for the clerk's and supervisor's list (names
/// included: staff see who they call).
pub async fn waiting_list(
    conn: &mut AsyncPgConnection,
    services: &[Uuid],
    day: NaiveDate,
    limit: i64,
) -> QueryResult<Vec<TicketRow>> {
    queue_tickets::table
        .filter(queue_tickets::service_id.eq_any(services))
        .filter(queue_tickets::state.eq("waiting"))
        .filter(queue_tickets::day.eq(day))
        .order((
            queue_tickets::priority_group.is_null(),
            queue_tickets::taken_at.asc(),
            queue_tickets::seq.asc(),
        ))
        .limit(limit)
        .select(TicketRow::as_select())
        .load(conn)
        .await
}

/// A clerk's called numbers of today that are not finished (their appointment is still open).
pub async fn open_calls(
    conn: &mut AsyncPgConnection,
    clerk: StaffId,
    day: NaiveDate,
) -> QueryResult<Vec<TicketView>> {
    Ok(view_query!()
        .filter(queue_tickets::staff_id.eq(clerk.0))
        .filter(queue_tickets::day.eq(day))
        .filter(queue_tickets::state.eq_any(["called", "serving"]))
        .filter(appointments::active.nullable().eq(true))
        .order(queue_tickets::last_called_at.desc())
        .limit(20)
        .load::<ViewRow>(conn)
        .await?
        .into_iter()
        .map(into_view)
        .collect())
}
