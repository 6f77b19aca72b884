//! What a booking's holder can do with it — the citizen through their token: see it, move it,
//! cancel it, take it to their calendar, answer the survey; staff: cancel or close it with
//! notes (`change_status`, shared with `rooms::outcome`).

use chrono::{DateTime, Duration, Utc};

use super::BookingError;
use crate::auth::StaffSession;
use crate::availability;
use crate::context::Ctx;
use crate::db::{self, appointments::AppointmentView, appointments::ChangeError};
use crate::domain::appointment::Status;
use crate::domain::ics;
use crate::domain::ids::{AgencyId, AppointmentId, ServiceId};
use crate::domain::schedule::Interval;
use crate::domain::slots::{Slot, SlotRules};
use crate::domain::survey::{MAX_COMMENT_CHARS, SurveyAnswers};

/// Longest outcome note a clerk may keep.
pub const MAX_NOTES_CHARS: usize = 4000;

async fn load(
    conn: &mut diesel_async::AsyncPgConnection,
    id: AppointmentId,
) -> Result<AppointmentView, BookingError> {
    db::appointments::view(conn, id)
        .await?
        .ok_or(BookingError::NotFound)
}

/// The appointment a citizen token names.
pub async fn current(ctx: &Ctx, id: AppointmentId) -> Result<AppointmentView, BookingError> {
    let mut conn = ctx.conn().await?;
    load(&mut conn, id).await
}

/// An appointment the staff member may act on (their own; a supervisor's agency; any for an
/// admin). Someone else's answers `NotFound`, so its existence is not revealed.
pub async fn for_staff(
    conn: &mut diesel_async::AsyncPgConnection,
    me: &StaffSession,
    id: AppointmentId,
) -> Result<AppointmentView, BookingError> {
    let view = load(conn, id).await?;
    if !me.may_act_for(view.appointment.staff(), view.clerk_agency.map(AgencyId)) {
        return Err(BookingError::NotFound);
    }
    Ok(view)
}

/// A booking that may still move, its service, and the slot rules its moves run under (with
/// priority when leave or a holiday took its time).
async fn movable(
    ctx: &Ctx,
    conn: &mut diesel_async::AsyncPgConnection,
    id: AppointmentId,
) -> Result<(AppointmentView, db::catalog::Service, SlotRules), BookingError> {
    let view = load(conn, id).await?;
    let a = &view.appointment;
    if !a.status().can_reschedule() {
        return Err(BookingError::InvalidState(a.status()));
    }
    let (service, _) = db::catalog::service_by_id(conn, ServiceId(a.service_id)).await?;
    let mut rules = availability::rules(&ctx.settings, &service, Utc::now());
    if a.needs_new_time_since.is_some() {
        rules = rules.with_priority();
    }
    Ok((view, service, rules))
}

/// Moves the appointment to another free time, keeping the same clerk when they are free.
pub async fn reschedule(
    ctx: &Ctx,
    id: AppointmentId,
    starts_at: DateTime<Utc>,
) -> Result<AppointmentView, BookingError> {
    let mut conn = ctx.conn().await?;
    let (view, service, rules) = movable(ctx, &mut conn, id).await?;
    let a = &view.appointment;
    let mut cal = availability::load_around(
        &mut conn,
        &ctx.directory,
        ServiceId(service.id),
        starts_at,
        None,
    )
    .await?;
    // The appointment's own time does not block its move.
    let own = db::schedule::interval(&a.period);
    for c in cal.clerks.iter_mut().filter(|c| c.staff_id == a.staff()) {
        c.busy.retain(|b| Some(*b) != own);
    }
    let mut candidates = availability::free_clerks(rules, &cal, starts_at);
    if let Some(pos) = candidates.iter().position(|s| *s == a.staff()) {
        let same = candidates.remove(pos);
        candidates.insert(0, same);
    }
    let duration = Duration::minutes(service.duration_minutes as i64);
    let period = Interval {
        start: starts_at,
        end: starts_at + duration + Duration::minutes(service.buffer_minutes as i64),
    };
    for clerk in candidates {
        match db::appointments::reschedule(
            &mut conn,
            a.id(),
            clerk,
            period,
            starts_at + duration,
            "citizen",
            db::appointments::Move::Rescheduled,
            &ctx.settings.notify_rules(),
        )
        .await
        {
            Ok(row) => {
                ctx.feed.publish_appointment(&row);
                ctx.wake_outbox();
                return load(&mut conn, id).await;
            }
            Err(ChangeError::SlotTaken) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(BookingError::SlotTaken)
}

/// How many times [`offers`] proposes, and how far ahead it looks.
pub const OFFERS: usize = 6;
const OFFER_DAYS: u32 = 14;

/// The nearest free times of the booking's own service, soonest first — what a citizen whose
/// booking leave or a holiday took is offered (with priority: see `SlotRules::with_priority`),
/// and what anyone moving a booking may pick from.
pub async fn offers(ctx: &Ctx, id: AppointmentId) -> Result<Vec<Slot>, BookingError> {
    let mut conn = ctx.conn().await?;
    let (view, service, rules) = movable(ctx, &mut conn, id).await?;
    let a = &view.appointment;
    let from = Utc::now()
        .with_timezone(&ctx.settings.timezone)
        .date_naive();
    let days = OFFER_DAYS.min(ctx.settings.horizon_days as u32 + 1);
    let window = availability::window(&ctx.settings, from, days);
    let staffing = ctx
        .directory
        .staffing(&mut conn, ServiceId(service.id))
        .await?;
    let mut cal =
        availability::load(&mut conn, &staffing, ServiceId(service.id), window, None).await?;
    let own = db::schedule::interval(&a.period);
    for c in cal.clerks.iter_mut().filter(|c| c.staff_id == a.staff()) {
        c.busy.retain(|b| Some(*b) != own);
    }
    Ok(availability::slots(rules, &cal, from, days)
        .into_iter()
        .flat_map(|d| d.slots)
        .filter(|s| Some(s.starts_at) != own.map(|o| o.start))
        .take(OFFERS)
        .collect())
}

/// The appointment a citizen token names, with the messages about it.
pub async fn current_with_notices(
    ctx: &Ctx,
    id: AppointmentId,
) -> Result<(AppointmentView, Vec<db::outbox::Notice>), BookingError> {
    let mut conn = ctx.conn().await?;
    let view = load(&mut conn, id).await?;
    let notices = db::outbox::notices(&mut conn, &[view.appointment.id]).await?;
    Ok((view, notices))
}

/// The citizen cancels (only before the call starts).
pub async fn cancel(ctx: &Ctx, id: AppointmentId) -> Result<AppointmentView, BookingError> {
    let mut conn = ctx.conn().await?;
    let rules = ctx.settings.notify_rules();
    let row = db::appointments::transition(
        &mut conn,
        id,
        Status::Cancelled,
        "citizen",
        None,
        Some(&rules),
    )
    .await?;
    ctx.feed.publish_appointment(&row);
    ctx.wake_outbox();
    load(&mut conn, id).await
}

/// A staff member moves an appointment they may act on to `to`, with optional notes.
pub async fn change_status(
    ctx: &Ctx,
    me: &StaffSession,
    id: AppointmentId,
    to: Status,
    notes: Option<&str>,
) -> Result<AppointmentView, BookingError> {
    change_status_if(ctx, me, id, to, notes, |_| Ok(())).await
}

/// [`change_status`] when `allowed` accepts the appointment as it is (e.g. it started long
/// enough ago for a no-show).
pub async fn change_status_if(
    ctx: &Ctx,
    me: &StaffSession,
    id: AppointmentId,
    to: Status,
    notes: Option<&str>,
    allowed: impl FnOnce(&AppointmentView) -> Result<(), BookingError>,
) -> Result<AppointmentView, BookingError> {
    let notes = notes.map(str::trim).filter(|n| !n.is_empty());
    if notes.is_some_and(|n| n.chars().count() > MAX_NOTES_CHARS) {
        return Err(BookingError::field("notes", "too_long"));
    }
    let mut conn = ctx.conn().await?;
    let view = for_staff(&mut conn, me, id).await?;
    // The state machine's refusal comes first: a completed appointment is `invalid_state`,
    // whatever its time.
    if view.appointment.status().can_become(to) {
        allowed(&view)?;
    }
    let rules = ctx.settings.notify_rules();
    let row = db::appointments::transition(&mut conn, id, to, &me.id.actor(), notes, Some(&rules))
        .await?;
    ctx.feed.publish_appointment(&row);
    ctx.wake_outbox();
    for_staff(&mut conn, me, id).await
}

/// A calendar file: its name and its text.
pub struct CalendarFile {
    pub filename: String,
    pub body: String,
}

/// The appointment as an iCalendar file (RFC 5545) whose join link carries `token` (the
/// citizen's own, as they sent it). Never the NIK, phone or email.
pub async fn calendar_file(
    ctx: &Ctx,
    id: AppointmentId,
    token: &str,
) -> Result<CalendarFile, BookingError> {
    let mut conn = ctx.conn().await?;
    let view = load(&mut conn, id).await?;
    let a = &view.appointment;
    let events = db::events::counts(&mut conn, &[a.id]).await?;
    let join = format!("{}/join#t={}", ctx.settings.public_url, token.trim());
    let body = calendar_text(&view, &join, db::events::sequence(events.get(&a.id)));
    Ok(CalendarFile {
        filename: format!("loket-{}.ics", a.code),
        body,
    })
}

/// The appointment as an iCalendar file whose join link is `join` (the citizen's, with their
/// token). `sequence` grows with every change (`db::events::sequence`).
pub fn calendar_text(view: &AppointmentView, join: &str, sequence: i64) -> String {
    let a = &view.appointment;
    let summary = format!("Konsultasi Loket: {}", view.service_name);
    let description = format!(
        "Kode booking / booking code: {}\nPetugas / clerk: {}\nGabung / join: {}",
        a.code, view.clerk_name, join
    );
    ics::calendar(
        "Loket",
        &[ics::IcsEvent {
            uid: format!("{}@loket", a.id),
            starts_at: a.starts_at(),
            ends_at: a.ends_at,
            summary: &summary,
            description: &description,
            url: Some(join),
            cancelled: a.status() == Status::Cancelled,
            sequence,
            stamp: a.updated_at,
        }],
    )
}

/// Stores the satisfaction survey (IKM) once the consultation has taken place; once only.
pub async fn survey(
    ctx: &Ctx,
    id: AppointmentId,
    answers: &SurveyAnswers,
    comment: Option<&str>,
) -> Result<(), BookingError> {
    let comment = comment.map(str::trim).filter(|c| !c.is_empty());
    if comment.is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS) {
        return Err(BookingError::field("comment", "too_long"));
    }
    let mut conn = ctx.conn().await?;
    let view = load(&mut conn, id).await?;
    if !matches!(
        view.appointment.status(),
        Status::Completed | Status::InCall
    ) {
        return Err(BookingError::NotFinished);
    }
    if !db::appointments::insert_survey(&mut conn, id, &answers.values(), comment).await? {
        return Err(BookingError::SurveyExists);
    }
    Ok(())
}
