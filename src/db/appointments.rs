//! Appointments: race-free booking (one `loket_book` call per attempt), state changes with
//! their audit events, reschedule and reassignment, and the lists clerks and supervisors read.
//!
//! Double booking is impossible because of the `appointments_no_double_booking` exclusion
//! constraint. On top of it each write that claims a clerk's time first holds a per-clerk
//! advisory lock, so only one insert at a time touches a clerk's gist entries (concurrent ones
//! produce deadlocks there, STACK.md): booking skips a clerk whose lock is held and comes back
//! to it last; reschedule and reassignment wait for it.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use uuid::Uuid;

use super::schedule::{Range, range};
use super::schema::{appointments, services, staff, surveys};
use super::{events, is_retryable, outbox, violates};
use crate::domain::appointment::{BookingCode, Status};
use crate::domain::ids::{AgencyId, AppointmentId, ServiceId, StaffId};
use crate::domain::notify::{self, Actor, Change as Cause, Lang, Recipient, Rules};
use crate::domain::schedule::Interval;

const ACTIVE: [&str; 4] = ["held", "booked", "waiting", "in_call"];

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = appointments, check_for_backend(diesel::pg::Pg))]
pub struct Appointment {
    pub id: Uuid,
    pub code: String,
    pub service_id: Uuid,
    pub staff_id: Uuid,
    pub period: Range,
    pub ends_at: DateTime<Utc>,
    pub status: String,
    pub citizen_name: String,
    /// Always present for a booking; a walk-in from the kiosk may have none.
    pub citizen_phone: Option<String>,
    pub citizen_email: Option<String>,
    pub nik_last4: Option<String>,
    pub nik_masked: Option<String>,
    pub notes: Option<String>,
    pub idempotency_key: Option<String>,
    pub request_hash: Option<Vec<u8>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the citizen's personal data was wiped (retention or request).
    pub erased_at: Option<DateTime<Utc>>,
    /// The language the citizen booked in (`id`, `en`): their messages' language.
    pub lang: String,
    /// Leave or a holiday took the clerk's time and no other clerk could take it.
    pub needs_new_time_since: Option<DateTime<Utc>>,
    /// While `held`: when the hold ends unless the citizen confirms it.
    pub hold_expires_at: Option<DateTime<Utc>>,
}

impl Appointment {
    pub fn starts_at(&self) -> DateTime<Utc> {
        super::schedule::interval(&self.period)
            .map(|i| i.start)
            .unwrap_or(self.ends_at)
    }
    pub fn status(&self) -> Status {
        Status::parse(&self.status).unwrap_or(Status::Cancelled)
    }
    pub fn id(&self) -> AppointmentId {
        AppointmentId(self.id)
    }
    pub fn staff(&self) -> StaffId {
        StaffId(self.staff_id)
    }
    pub fn lang(&self) -> Lang {
        Lang::parse(&self.lang).unwrap_or_default()
    }
    /// Where the citizen's messages go.
    pub fn recipient(&self) -> Recipient {
        Recipient {
            phone: self.citizen_phone.clone(),
            email: self.citizen_email.clone(),
        }
    }
}

/// Who an audit actor (`citizen`, `staff:<id>`, `system`) is, for the outbox's rules.
fn actor_of(actor: &str) -> Actor {
    if actor == "citizen" {
        Actor::Citizen
    } else if actor.starts_with("staff:") {
        Actor::Staff
    } else {
        Actor::System
    }
}

/// Writes the messages `change` causes into the outbox, in the caller's transaction. The round
/// is the appointment's number of audit events so far, so each change has its own.
async fn notify(
    conn: &mut AsyncPgConnection,
    row: &Appointment,
    change: Cause,
    actor: &str,
    rules: &Rules,
) -> QueryResult<()> {
    let round = events::counts(conn, &[row.id])
        .await?
        .get(&row.id)
        .copied()
        .unwrap_or(0) as i32;
    let plan = notify::plan(
        change,
        actor_of(actor),
        &row.recipient(),
        row.starts_at(),
        round,
        rules,
        Utc::now(),
    );
    outbox::apply(
        conn,
        outbox::Subject::appointment(row.id),
        row.lang(),
        &json!({}),
        &plan,
    )
    .await
    .map(|_| ())
}

/// An appointment with the names people need to see.
#[derive(Clone, Debug)]
pub struct AppointmentView {
    pub appointment: Appointment,
    pub service_slug: String,
    pub service_name: String,
    pub service_name_en: String,
    pub clerk_name: String,
    pub clerk_agency: Option<Uuid>,
}

type ViewRow = (
    Appointment,
    (String, String, String),
    (String, Option<Uuid>),
);

fn into_view((appointment, (slug, name, name_en), (clerk, agency)): ViewRow) -> AppointmentView {
    AppointmentView {
        appointment,
        service_slug: slug,
        service_name: name,
        service_name_en: name_en,
        clerk_name: clerk,
        clerk_agency: agency,
    }
}

macro_rules! view_query {
    () => {
        appointments::table
            .inner_join(services::table)
            .inner_join(staff::table)
            .select((
                Appointment::as_select(),
                (services::slug, services::name, services::name_en),
                (staff::name, staff::agency_id),
            ))
    };
}

pub async fn view(
    conn: &mut AsyncPgConnection,
    id: AppointmentId,
) -> QueryResult<Option<AppointmentView>> {
    view_query!()
        .filter(appointments::id.eq(id.0))
        .first::<ViewRow>(conn)
        .await
        .optional()
        .map(|r| r.map(into_view))
}

/// Several appointments by id (those that exist).
pub async fn views(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<Vec<AppointmentView>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    Ok(view_query!()
        .filter(appointments::id.eq_any(ids))
        .load::<ViewRow>(conn)
        .await?
        .into_iter()
        .map(into_view)
        .collect())
}

pub async fn view_by_code(
    conn: &mut AsyncPgConnection,
    code: &BookingCode,
) -> QueryResult<Option<AppointmentView>> {
    view_query!()
        .filter(appointments::code.eq(code.as_str()))
        .first::<ViewRow>(conn)
        .await
        .optional()
        .map(|r| r.map(into_view))
}

/// Narrows a boxed `view_query!` to a scope and loads it as views.
macro_rules! load_in_scope {
    ($q:expr, $scope:expr, $conn:expr) => {{
        let q = match $scope {
            Scope::Staff(s) => $q.filter(appointments::staff_id.eq(s.0)),
            Scope::Agency(a) => $q.filter(staff::agency_id.eq(a.0)),
            Scope::All => $q,
        };
        Ok(q.load::<ViewRow>($conn)
            .await?
            .into_iter()
            .map(into_view)
            .collect())
    }};
}

/// Whose appointments a list shows.
pub enum Scope {
    Staff(StaffId),
    Agency(AgencyId),
    All,
}

/// Appointments starting within the window, in time order (capped).
pub async fn list(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    window: Interval,
) -> QueryResult<Vec<AppointmentView>> {
    let q = view_query!()
        .filter(appointments::period.overlaps_with(range(window)))
        .order(appointments::period.asc())
        .limit(2000)
        .into_boxed();
    load_in_scope!(q, scope, conn)
}

/// What names a citizen: any of these that is given must match.
pub struct Who<'a> {
    pub phone: Option<&'a str>,
    pub nik_hash: Option<&'a [u8]>,
    pub code: Option<&'a str>,
}

/// Every appointment of the citizen (at most 500, newest first).
pub async fn of_citizen(
    conn: &mut AsyncPgConnection,
    who: &Who<'_>,
) -> QueryResult<Vec<AppointmentView>> {
    let mut q = view_query!()
        .order(appointments::created_at.desc())
        .limit(500)
        .into_boxed();
    if let Some(p) = who.phone {
        q = q.filter(appointments::citizen_phone.eq(p));
    }
    if let Some(h) = who.nik_hash {
        q = q.filter(appointments::nik_hash.eq(h));
    }
    if let Some(c) = who.code {
        q = q.filter(appointments::code.eq(c));
    }
    Ok(q.load::<ViewRow>(conn)
        .await?
        .into_iter()
        .map(into_view)
        .collect())
}

/// A booking about to be inserted (through `loket_book`).
#[derive(Debug)]
pub struct NewAppointment {
    pub id: Uuid,
    pub code: String,
    pub service_id: Uuid,
    pub staff_id: Uuid,
    pub period: Range,
    pub ends_at: DateTime<Utc>,
    pub citizen_name: String,
    pub citizen_phone: String,
    pub citizen_email: Option<String>,
    pub nik_cipher: Option<Vec<u8>>,
    pub nik_last4: Option<String>,
    pub nik_masked: Option<String>,
    pub nik_hash: Option<Vec<u8>>,
    pub idempotency_key: Option<String>,
    pub request_hash: Option<Vec<u8>>,
    pub lang: Lang,
    /// The booking's messages (`db::outbox::messages_json` of `domain::notify::plan`), stored
    /// by the same statement.
    pub messages: serde_json::Value,
    /// Held until confirmed (DESIGN §9): then `messages` are the code's and carry it.
    pub hold: Option<NewHold>,
}

/// A booking's hold as first stored: until when, its code's keyed hash and expiry, and the code
/// itself for the `otp` message (kept in the outbox row's params only until it is sent).
#[derive(Debug)]
pub struct NewHold {
    pub until: DateTime<Utc>,
    pub code_hash: Vec<u8>,
    pub code_expires_at: DateTime<Utc>,
    pub params: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum BookError {
    #[error("no candidate clerk is free at that time")]
    SlotTaken,
    #[error("this phone number already holds the maximum of active bookings")]
    TooManyActive,
    #[error("this NIK already holds the maximum of active bookings")]
    TooManyActiveForNik,
    #[error("this phone number or NIK already has this service booked that day")]
    ServiceDayTaken,
    #[error("the idempotency key was used before")]
    KeyUsed(AppointmentId),
    #[error("the database stayed busy")]
    Busy,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

diesel::define_sql_function! {
    /// `loket_lock(key)`: a transaction-scoped advisory lock (see the booking_lock migration).
    fn loket_lock(key: Text) -> diesel::sql_types::Bool;
}

/// Takes a transaction-scoped advisory lock on a text key.
async fn lock(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<()> {
    diesel::select(loket_lock(key))
        .get_result::<bool>(conn)
        .await
        .map(|_| ())
}

/// Is the clerk's time free of active appointments (other than `except`)?
async fn clerk_free(
    conn: &mut AsyncPgConnection,
    clerk: StaffId,
    period: Interval,
    except: Option<AppointmentId>,
) -> QueryResult<bool> {
    let mut q = appointments::table
        .filter(appointments::staff_id.eq(clerk.0))
        .filter(appointments::status.eq_any(ACTIVE))
        .filter(appointments::period.overlaps_with(range(period)))
        .into_boxed();
    if let Some(e) = except {
        q = q.filter(appointments::id.ne(e.0));
    }
    let n: i64 = q.count().get_result(conn).await?;
    Ok(n == 0)
}

/// Books the first free clerk among `candidates` (in the caller's order of preference).
///
/// Each attempt is one call of `loket_book` (see its migration): the phone's lock and the
/// per-phone limit, the clerk's lock, the INSERT (whose exclusion constraint refuses an
/// overlap) and, by trigger, the `booked` audit event, in one statement. A clerk whose lock
/// another booking holds is skipped at first and waited for only when every other candidate is
/// taken: concurrent requests for a popular time spread over its clerks instead of queueing
/// behind each other's commits, and none answers `slot_taken` while a clerk could be free.
/// The limits one citizen's bookings are held to (`loket_book`, migration
/// 2026-12-06-harden-001): active bookings per phone and per NIK, and bookings of one service
/// on one local day per phone or NIK.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_active: i64,
    pub max_active_nik: i64,
    pub max_per_service_day: i64,
    /// The local day the booking starts on, as UTC bounds.
    pub day: Range,
}

pub async fn book(
    conn: &mut AsyncPgConnection,
    mut new: NewAppointment,
    candidates: &[StaffId],
    limits: &Limits,
) -> Result<Appointment, BookError> {
    if super::schedule::interval(&new.period).is_none() {
        return Err(BookError::SlotTaken);
    }
    let mut contended = Vec::new();
    for &clerk in candidates {
        match attempt(conn, &mut new, clerk, limits, false).await? {
            Attempt::Booked(row) => return Ok(*row),
            Attempt::Taken => {}
            Attempt::Contended => contended.push(clerk),
        }
    }
    for clerk in contended {
        match attempt(conn, &mut new, clerk, limits, true).await? {
            Attempt::Booked(row) => return Ok(*row),
            Attempt::Taken | Attempt::Contended => {}
        }
    }
    Err(BookError::SlotTaken)
}

enum Attempt {
    Booked(Box<Appointment>),
    /// The clerk already has an overlapping booking.
    Taken,
    /// Another booking holds the clerk's lock (only when not waiting).
    Contended,
}

/// One clerk (retrying a booking-code collision or a serialization failure).
async fn attempt(
    conn: &mut AsyncPgConnection,
    new: &mut NewAppointment,
    clerk: StaffId,
    limits: &Limits,
    wait: bool,
) -> Result<Attempt, BookError> {
    new.staff_id = clerk.0;
    let mut tries = 0;
    loop {
        tries += 1;
        match insert(conn, new, limits, wait).await {
            Ok(row) => return Ok(Attempt::Booked(Box::new(row))),
            Err(e) if violates(&e, "appointments_no_double_booking") => return Ok(Attempt::Taken),
            Err(e) if violates(&e, "appointments_clerk_busy") => return Ok(Attempt::Contended),
            Err(e) if violates(&e, "appointments_active_per_phone") => {
                return Err(BookError::TooManyActive);
            }
            Err(e) if violates(&e, "appointments_active_per_nik") => {
                return Err(BookError::TooManyActiveForNik);
            }
            Err(e) if violates(&e, "appointments_per_service_day") => {
                return Err(BookError::ServiceDayTaken);
            }
            Err(e) if violates(&e, "appointments_code_key") && tries < 5 => {
                new.code = BookingCode::generate().as_str().to_string();
            }
            Err(e) if violates(&e, "appointments_idempotency_key_key") => {
                let key = new.idempotency_key.clone().unwrap_or_default();
                let id: Uuid = appointments::table
                    .filter(appointments::idempotency_key.eq(key))
                    .select(appointments::id)
                    .first(conn)
                    .await?;
                return Err(BookError::KeyUsed(AppointmentId(id)));
            }
            Err(e) if is_retryable(&e) && tries < 5 => {}
            Err(e) if is_retryable(&e) => return Err(BookError::Busy),
            Err(e) => return Err(BookError::Db(e)),
        }
    }
}

diesel::define_sql_function! {
    /// `loket_book(...)`: the booking INSERT (migrations 2026-11-28-000003,
    /// 2026-12-06-harden-001 and 2026-12-07-hold-001), returning created_at.
    #[allow(clippy::too_many_arguments)]
    fn loket_book(
        max_active: diesel::sql_types::BigInt,
        max_active_nik: diesel::sql_types::BigInt,
        max_per_service_day: diesel::sql_types::BigInt,
        day: diesel::sql_types::Range<diesel::sql_types::Timestamptz>,
        wait_for_clerk: diesel::sql_types::Bool,
        id: diesel::sql_types::Uuid,
        code: Text,
        service: diesel::sql_types::Uuid,
        staff: diesel::sql_types::Uuid,
        period: diesel::sql_types::Range<diesel::sql_types::Timestamptz>,
        ends_at: diesel::sql_types::Timestamptz,
        name: Text,
        phone: Text,
        email: diesel::sql_types::Nullable<Text>,
        nik_cipher: diesel::sql_types::Nullable<diesel::sql_types::Binary>,
        nik_last4: diesel::sql_types::Nullable<Text>,
        nik_masked: diesel::sql_types::Nullable<Text>,
        nik_hash: diesel::sql_types::Nullable<diesel::sql_types::Binary>,
        idempotency_key: diesel::sql_types::Nullable<Text>,
        request_hash: diesel::sql_types::Nullable<diesel::sql_types::Binary>,
        lang: Text,
        messages: diesel::sql_types::Jsonb,
        hold_until: diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
        code_hash: diesel::sql_types::Nullable<diesel::sql_types::Binary>,
        code_expires: diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
        params: diesel::sql_types::Nullable<diesel::sql_types::Jsonb>,
    ) -> diesel::sql_types::Timestamptz;
}

/// Books through `loket_book`, a call the connection prepares once (see the migration for why
/// not `insert_into`), and builds the row from what we sent.
async fn insert(
    conn: &mut AsyncPgConnection,
    new: &NewAppointment,
    limits: &Limits,
    wait_for_clerk: bool,
) -> QueryResult<Appointment> {
    let created_at: DateTime<Utc> = diesel::select(loket_book(
        limits.max_active,
        limits.max_active_nik,
        limits.max_per_service_day,
        &limits.day,
        wait_for_clerk,
        new.id,
        &new.code,
        new.service_id,
        new.staff_id,
        &new.period,
        new.ends_at,
        &new.citizen_name,
        &new.citizen_phone,
        new.citizen_email.as_deref(),
        new.nik_cipher.as_deref(),
        new.nik_last4.as_deref(),
        new.nik_masked.as_deref(),
        new.nik_hash.as_deref(),
        new.idempotency_key.as_deref(),
        new.request_hash.as_deref(),
        new.lang.as_str(),
        &new.messages,
        new.hold.as_ref().map(|h| h.until),
        new.hold.as_ref().map(|h| h.code_hash.as_slice()),
        new.hold.as_ref().map(|h| h.code_expires_at),
        new.hold.as_ref().map(|h| &h.params),
    ))
    .get_result(conn)
    .await?;
    let status = match new.hold {
        Some(_) => Status::Held,
        None => Status::Booked,
    };
    Ok(Appointment {
        id: new.id,
        code: new.code.clone(),
        service_id: new.service_id,
        staff_id: new.staff_id,
        period: new.period,
        ends_at: new.ends_at,
        status: status.as_str().to_string(),
        citizen_name: new.citizen_name.clone(),
        citizen_phone: Some(new.citizen_phone.clone()),
        citizen_email: new.citizen_email.clone(),
        nik_last4: new.nik_last4.clone(),
        nik_masked: new.nik_masked.clone(),
        notes: None,
        idempotency_key: new.idempotency_key.clone(),
        request_hash: new.request_hash.clone(),
        created_at,
        updated_at: created_at,
        erased_at: None,
        lang: new.lang.as_str().to_string(),
        needs_new_time_since: None,
        hold_expires_at: new.hold.as_ref().map(|h| h.until),
    })
}

pub async fn by_idempotency_key(
    conn: &mut AsyncPgConnection,
    key: &str,
) -> QueryResult<Option<Appointment>> {
    appointments::table
        .filter(appointments::idempotency_key.eq(key))
        .select(Appointment::as_select())
        .first(conn)
        .await
        .optional()
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("not found")]
    NotFound,
    #[error("the appointment is {0:?}")]
    InvalidState(Status),
    #[error("the clerk is busy then")]
    SlotTaken,
    #[error("too late to take back")]
    Expired,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// The appointment, locked for the rest of the transaction.
async fn locked(c: &mut AsyncPgConnection, id: AppointmentId) -> Result<Appointment, ChangeError> {
    appointments::table
        .find(id.0)
        .select(Appointment::as_select())
        .for_update()
        .first(c)
        .await
        .optional()?
        .ok_or(ChangeError::NotFound)
}

/// A write that claimed a clerk's time already taken: the exclusion constraint's refusal.
fn slot_taken_if_overlapping(
    result: Result<Appointment, ChangeError>,
) -> Result<Appointment, ChangeError> {
    match result {
        Err(ChangeError::Db(e)) if violates(&e, "appointments_no_double_booking") => {
            Err(ChangeError::SlotTaken)
        }
        other => other,
    }
}

/// Moves an appointment to `to` if its current status allows it, recording the event and the
/// messages it causes (`rules`; `None` only for the room's comings and goings, which cause none).
pub async fn transition(
    conn: &mut AsyncPgConnection,
    id: AppointmentId,
    to: Status,
    actor: &str,
    notes: Option<&str>,
    rules: Option<&Rules>,
) -> Result<Appointment, ChangeError> {
    conn.transaction::<_, ChangeError, _>(async |c| {
        let current = locked(c, id).await?;
        let from = current.status();
        if !from.can_become(to) {
            return Err(ChangeError::InvalidState(from));
        }
        let notes = notes.map(String::from).or(current.notes);
        let row = set_status(c, id, (from, to), notes, to.as_str(), actor).await?;
        // A hold that ends was never confirmed: no `cancelled` message for a booking the
        // citizen was never told about, only its pending codes cancelled. (Its hold record
        // keeps `ended` empty: a later confirmation answers `not_held`.)
        let change = if from == Status::Held {
            Cause::HoldReleased
        } else {
            Cause::of_status(to)
        };
        match rules {
            Some(rules) => notify(c, &row, change, actor, rules).await?,
            None => debug_assert_eq!(change, Cause::InRoom, "a change that causes messages"),
        }
        Ok(row)
    })
    .await
}

/// Writes a status change and its audit event `kind` (inside the caller's transaction).
async fn set_status(
    c: &mut AsyncPgConnection,
    id: AppointmentId,
    (from, to): (Status, Status),
    notes: Option<String>,
    kind: &str,
    actor: &str,
) -> Result<Appointment, ChangeError> {
    let row: Appointment = diesel::update(appointments::table.find(id.0))
        .set((
            appointments::status.eq(to.as_str()),
            appointments::notes.eq(notes),
            appointments::updated_at.eq(diesel::dsl::now),
            // Set only while held (a table check), and nothing moves to `held`.
            appointments::hold_expires_at.eq(None::<DateTime<Utc>>),
        ))
        .returning(Appointment::as_returning())
        .get_result(c)
        .await?;
    let detail = json!({"from": from.as_str(), "to": to.as_str()});
    events::append(c, id, kind, actor, detail).await?;
    Ok(row)
}

/// Takes back a no-show if `still_undoable` says yes to the time it was recorded: the
/// appointment is `booked` again, with a `no_show_undone` event. The time of the no-show is its
/// audit event's. The clerk's time is claimed again, under the same per-clerk lock as a
/// reschedule, so the exclusion constraint is the judge if it was given away meanwhile.
pub async fn undo_no_show(
    conn: &mut AsyncPgConnection,
    id: AppointmentId,
    actor: &str,
    still_undoable: impl Fn(DateTime<Utc>) -> bool + Send + Sync,
) -> Result<Appointment, ChangeError> {
    use super::schema::appointment_events as ev;
    let clerk: Uuid = appointments::table
        .find(id.0)
        .select(appointments::staff_id)
        .first(conn)
        .await
        .optional()?
        .ok_or(ChangeError::NotFound)?;
    let result = conn
        .transaction::<_, ChangeError, _>(async |c| {
            lock(c, &format!("staff:{clerk}")).await?;
            let current = locked(c, id).await?;
            if current.status() != Status::NoShow {
                return Err(ChangeError::InvalidState(current.status()));
            }
            let marked: Option<DateTime<Utc>> = ev::table
                .filter(ev::appointment_id.eq(id.0))
                .filter(ev::kind.eq(Status::NoShow.as_str()))
                .select(diesel::dsl::max(ev::at))
                .first(c)
                .await?;
            if !marked.is_some_and(&still_undoable) {
                return Err(ChangeError::Expired);
            }
            // Its time back: a hold whose time is up must not stand in the way.
            if let Some(period) = super::schedule::interval(&current.period) {
                super::schedule::end_expired_holds(c, StaffId(clerk), period).await?;
            }
            let moved = (Status::NoShow, Status::Booked);
            set_status(c, id, moved, current.notes, "no_show_undone", actor).await
        })
        .await;
    slot_taken_if_overlapping(result)
}

/// One status change for [`transition_many`].
#[derive(Clone, Debug)]
pub struct Change {
    pub id: AppointmentId,
    pub to: Status,
    /// For the audit event (`appointment_events.actor`).
    pub actor: String,
}

/// An appointment that [`transition_many`] moved.
#[derive(Debug)]
pub struct Moved {
    pub id: Uuid,
    pub staff_id: Uuid,
    pub status: String,
}

diesel::define_sql_function! {
    /// `loket_transition_many(ids, tos, actors, froms)` (migration 2026-11-28-000005): one row
    /// per appointment it moved.
    #[sql_name = "loket_transition_many"]
    fn transition_many_call(
        ids: diesel::sql_types::Array<diesel::sql_types::Uuid>,
        tos: diesel::sql_types::Array<Text>,
        actors: diesel::sql_types::Array<Text>,
        froms: diesel::sql_types::Array<Text>,
    ) -> diesel::pg::sql_types::Record<(diesel::sql_types::Uuid, diesel::sql_types::Uuid, Text)>;
}

/// [`transition`] for many appointments in one statement (one round trip instead of five per
/// change): each row is locked, moved only if its current status may become the new one, and
/// gets its audit event, as `transition` does. Changes that are not allowed (or whose appointment
/// is gone) are left out of the answer. Each appointment may appear at most once: the caller
/// splits its changes so (Postgres would apply only one of two updates to the same row). The
/// statement lives in `loket_transition_many`, prepared once per connection and planned once
/// per session (as a `sql_query` it was parsed and planned on every call).
pub async fn transition_many(
    conn: &mut AsyncPgConnection,
    changes: &[Change],
) -> QueryResult<Vec<Moved>> {
    let ids: Vec<Uuid> = changes.iter().map(|c| c.id.0).collect();
    let tos: Vec<&str> = changes.iter().map(|c| c.to.as_str()).collect();
    let actors: Vec<&str> = changes.iter().map(|c| c.actor.as_str()).collect();
    // The statuses each change may start from, as `can_become` says (comma-separated: a text
    // array per row does not unnest).
    let froms: Vec<String> = changes
        .iter()
        .map(|c| {
            // A hold is confirmed only with its code (`holds::confirm`), never by the room.
            Status::ALL
                .iter()
                .filter(|s| **s != Status::Held && s.can_become(c.to))
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    let rows: Vec<(Uuid, Uuid, String)> =
        diesel::select(transition_many_call(ids, tos, actors, froms))
            .load(conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(id, staff_id, status)| Moved {
            id,
            staff_id,
            status,
        })
        .collect())
}

/// How a booking moves: to another time (the citizen), or to another clerk at the same time
/// (a supervisor, or Loket when leave takes the clerk's time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Move {
    Rescheduled,
    Reassigned,
}

/// Moves a booked appointment to a new period, on `clerk` (the same one, or another free one),
/// with its audit event and messages; either clears `needs_new_time_since`.
#[allow(clippy::too_many_arguments)]
pub async fn reschedule(
    conn: &mut AsyncPgConnection,
    id: AppointmentId,
    clerk: StaffId,
    period: Interval,
    ends_at: DateTime<Utc>,
    actor: &str,
    how: Move,
    rules: &Rules,
) -> Result<Appointment, ChangeError> {
    let kind = match how {
        Move::Rescheduled => "rescheduled",
        Move::Reassigned => "reassigned",
    };
    let result = conn
        .transaction::<_, ChangeError, _>(async |c| {
            lock(c, &format!("staff:{clerk}")).await?;
            let current = locked(c, id).await?;
            if !current.status().can_reschedule() {
                return Err(ChangeError::InvalidState(current.status()));
            }
            super::schedule::end_expired_holds(c, clerk, period).await?;
            if !clerk_free(c, clerk, period, Some(id)).await? {
                return Err(ChangeError::SlotTaken);
            }
            let row: Appointment = diesel::update(appointments::table.find(id.0))
                .set((
                    appointments::staff_id.eq(clerk.0),
                    appointments::period.eq(range(period)),
                    appointments::ends_at.eq(ends_at),
                    appointments::updated_at.eq(diesel::dsl::now),
                    // Either way the booking has a clerk at a time again.
                    appointments::needs_new_time_since.eq(None::<DateTime<Utc>>),
                ))
                .returning(Appointment::as_returning())
                .get_result(c)
                .await?;
            events::append(
                c,
                id,
                kind,
                actor,
                json!({
                    "from": {"staff": current.staff_id, "starts_at": current.starts_at()},
                    "to": {"staff": clerk, "starts_at": period.start},
                }),
            )
            .await?;
            let change = match how {
                Move::Rescheduled => Cause::Rescheduled,
                Move::Reassigned => Cause::Reassigned,
            };
            notify(c, &row, change, actor, rules).await?;
            Ok(row)
        })
        .await;
    slot_taken_if_overlapping(result)
}

/// Marks a booked appointment as needing a new time (its clerk's time was taken by leave or a
/// holiday and nobody else is free), with its audit event and the message offering new times.
/// Answers `None` when it was not booked (or already marked).
pub async fn mark_needs_new_time(
    conn: &mut AsyncPgConnection,
    id: AppointmentId,
    actor: &str,
    cause: serde_json::Value,
    rules: &Rules,
) -> QueryResult<Option<Appointment>> {
    conn.transaction::<_, diesel::result::Error, _>(async |c| {
        let row: Option<Appointment> = diesel::update(
            appointments::table
                .find(id.0)
                .filter(appointments::status.eq(Status::Booked.as_str()))
                .filter(appointments::needs_new_time_since.is_null()),
        )
        .set((
            appointments::needs_new_time_since.eq(diesel::dsl::now),
            appointments::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Appointment::as_returning())
        .get_result(c)
        .await
        .optional()?;
        let Some(row) = row else { return Ok(None) };
        events::append(c, id, "needs_new_time", actor, cause).await?;
        notify(c, &row, Cause::NeedsNewTime, actor, rules).await?;
        Ok(Some(row))
    })
    .await
}

/// Booked appointments still waiting for a new time (oldest first), within a scope.
pub async fn needing_new_time(
    conn: &mut AsyncPgConnection,
    scope: Scope,
) -> QueryResult<Vec<AppointmentView>> {
    let q = view_query!()
        .filter(appointments::needs_new_time_since.is_not_null())
        .filter(appointments::status.eq(Status::Booked.as_str()))
        .order(appointments::needs_new_time_since.asc())
        .limit(500)
        .into_boxed();
    load_in_scope!(q, scope, conn)
}

/// The active appointment with this code and phone, if any (link recovery).
pub async fn active_by_code_and_phone(
    conn: &mut AsyncPgConnection,
    code: &BookingCode,
    phone: &str,
) -> QueryResult<Option<Appointment>> {
    appointments::table
        .filter(appointments::code.eq(code.as_str()))
        .filter(appointments::citizen_phone.eq(phone))
        .filter(appointments::active.eq(true))
        .select(Appointment::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn insert_survey(
    conn: &mut AsyncPgConnection,
    id: AppointmentId,
    answers: &[u8; 9],
    comment: Option<&str>,
) -> QueryResult<bool> {
    let values: Vec<i16> = answers.iter().map(|&a| a as i16).collect();
    let n = conn
        .transaction::<_, diesel::result::Error, _>(async |c| {
            let n = diesel::insert_into(surveys::table)
                .values((
                    surveys::appointment_id.eq(id.0),
                    surveys::answers.eq(values),
                    surveys::comment.eq(comment),
                ))
                .on_conflict_do_nothing()
                .execute(c)
                .await?;
            if n == 1 {
                events::append(c, id, "survey", "citizen", json!({})).await?;
            }
            Ok(n)
        })
        .await?;
    Ok(n == 1)
}

pub async fn survey_answers(
    conn: &mut AsyncPgConnection,
    id: AppointmentId,
) -> QueryResult<Option<Vec<i16>>> {
    surveys::table
        .find(id.0)
        .select(surveys::answers)
        .first(conn)
        .await
        .optional()
}

pub fn service_id(a: &Appointment) -> ServiceId {
    ServiceId(a.service_id)
}
