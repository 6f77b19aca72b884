//! Antrian over HTTP (DESIGN §10; use-cases in `queue`): taking a number (rate-limited per
//! address like bookings), the number now, leaving the line and following it live (the number's
//! token); the clerk's "Panggil berikutnya", call again, skip and serve; staff lists, moving a
//! number and marking the priority group; the board's JSON and its live stream (no login).
//!
//! Live streams are Server-Sent Events. The citizen's carries the number's token in the
//! `Authorization` header (the page reads it with `fetch`, since `EventSource` cannot send
//! headers and the token never goes into a URL); the board's and the staff list's need none
//! beyond the staff cookie.

use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::QueueHolder;
use super::views::{ClerkRef, ServiceRef};
use crate::auth::StaffSession;
use crate::db::queue::TicketView;
use crate::domain::citizen::Phone;
use crate::domain::ids::TicketId;
use crate::domain::queue::{ClosedReason, Mode, PriorityGroup, Refused, TicketState, number};
use crate::error::ApiError;
use crate::queue::board::BoardAgency;
use crate::queue::current::{Followed, TicketNow};
use crate::queue::manage::Overview;
use crate::queue::{self, Links, QueueError, call::Action};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(take)
        .service(current)
        .service(leave)
        .service(events)
        .service(next)
        .service(recall)
        .service(skip)
        .service(serve)
        .service(priority)
        .service(move_ticket)
        .service(staff_lines)
        .service(daily_cap)
        .service(staff_events)
        .service(board)
        .service(board_events);
}

// ---------------------------------------------------------------------------------------------
// Shapes

#[derive(Serialize, ToSchema)]
pub struct AgencyBrief {
    pub slug: String,
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct RoomOut {
    /// The walk-in appointment holding the clerk's time.
    pub appointment: Uuid,
    pub code: String,
    /// A citizen token for that appointment (the existing room endpoints take it).
    pub token: String,
    /// The join page with the token in its fragment.
    pub join: String,
}

#[derive(Serialize, ToSchema)]
pub struct CitizenBrief {
    pub name: String,
    pub phone: Option<String>,
    pub phone_display: Option<String>,
}

/// A queue number.
#[derive(Serialize, ToSchema)]
pub struct TicketOut {
    pub id: Uuid,
    /// "A-007": the agency's letter and the day's sequence.
    pub number: String,
    /// The site's zone (times are shown in it).
    pub timezone: String,
    pub service: ServiceRef,
    pub agency: AgencyBrief,
    pub mode: Mode,
    pub state: TicketState,
    /// While waiting: 1 = next in the service's line.
    pub position: Option<u32>,
    /// While waiting: minutes until the expected call, rounded up; null when no clerk can take
    /// it today as things stand.
    pub eta_minutes: Option<u32>,
    pub expected_at: Option<DateTime<Utc>>,
    pub priority: Option<PriorityGroup>,
    pub taken_at: DateTime<Utc>,
    pub called_at: Option<DateTime<Utc>>,
    /// Calls so far (1 = called once; recalls add one each).
    pub calls: u8,
    pub counter: Option<String>,
    pub clerk: Option<ClerkRef>,
    /// A called remote number's room (citizen views only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub room: Option<RoomOut>,
    /// Staff views only: the walk-in appointment and who the citizen is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appointment: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub citizen: Option<CitizenBrief>,
}

fn ticket_out(view: &TicketView, state: TicketState, tz: &str) -> TicketOut {
    let t = &view.ticket;
    TicketOut {
        id: t.id,
        number: number(&view.prefix, t.seq.max(0) as u32),
        timezone: tz.to_string(),
        service: ServiceRef {
            slug: view.service_slug.clone(),
            name: view.service_name.clone(),
            name_en: view.service_name_en.clone(),
        },
        agency: AgencyBrief {
            slug: view.agency_slug.clone(),
            name: view.agency_name.clone(),
        },
        mode: Mode::parse(&t.mode).unwrap_or(Mode::InPerson),
        state,
        position: None,
        eta_minutes: None,
        expected_at: None,
        priority: t.priority_group.as_deref().and_then(PriorityGroup::parse),
        taken_at: t.taken_at,
        called_at: t.called_at,
        calls: t.calls.clamp(0, u8::MAX as i16) as u8,
        counter: t.counter.clone(),
        clerk: view
            .clerk_name
            .as_ref()
            .map(|n| ClerkRef { name: n.clone() }),
        room: None,
        appointment: None,
        citizen: None,
    }
}

/// What the citizen sees.
fn citizen_out(now: &TicketNow, tz: &str) -> TicketOut {
    TicketOut {
        position: now.position,
        eta_minutes: now.eta_minutes,
        expected_at: now.expected_at,
        room: now.room.as_ref().map(|r| RoomOut {
            appointment: r.appointment,
            code: r.code.clone(),
            token: r.token.clone(),
            join: r.join.clone(),
        }),
        ..ticket_out(&now.view, now.state, tz)
    }
}

/// What staff see: the number, its appointment and the citizen.
fn staff_out(view: &TicketView, tz: &str) -> TicketOut {
    let t = &view.ticket;
    TicketOut {
        appointment: t.appointment_id,
        citizen: Some(CitizenBrief {
            name: t.citizen_name.clone(),
            phone: t.citizen_phone.clone(),
            phone_display: t
                .citizen_phone
                .as_deref()
                .and_then(Phone::from_e164)
                .map(|p| p.display()),
        }),
        ..ticket_out(view, queue::current::state_of(view), tz)
    }
}

/// 200 with the staff view of a number.
fn staff_ticket(state: &AppState, view: &TicketView) -> HttpResponse {
    HttpResponse::Ok().json(CalledOut {
        ticket: staff_out(view, state.settings.timezone.name()),
    })
}

#[derive(Serialize, ToSchema)]
pub struct TakenOut {
    pub ticket: TicketOut,
    /// The number's token: it opens this number only (`Authorization: Bearer`).
    pub token: String,
    pub links: Links,
}

#[derive(Serialize, ToSchema)]
pub struct CalledOut {
    pub ticket: TicketOut,
}

// ---------------------------------------------------------------------------------------------
// Refusals

/// A conflict with extra facts beside the standard body (`opens_at`, `next_starts_at`, …).
fn conflict(code: &'static str, message: &str, extra: serde_json::Value) -> actix_web::Error {
    let mut body = json!({"error": code, "message": message});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    actix_web::error::InternalError::from_response(code, HttpResponse::Conflict().json(body)).into()
}

fn refuse(e: QueueError) -> actix_web::Error {
    match e {
        QueueError::Invalid(fields) => ApiError::validation(fields).into(),
        QueueError::Closed(reason) => {
            let (why, opens_at) = match reason {
                ClosedReason::NoServiceToday => ("no_service_today", None),
                ClosedReason::NotYetOpen { opens_at } => ("not_yet_open", Some(opens_at)),
                ClosedReason::AfterHours => ("after_hours", None),
                ClosedReason::PastCutoff => ("past_cutoff", None),
            };
            conflict(
                "queue_closed",
                "This service takes no more numbers today.",
                json!({"reason": why, "opens_at": opens_at}),
            )
        }
        QueueError::Full => {
            ApiError::conflict("queue_full", "This service's numbers for today are gone.").into()
        }
        QueueError::TooManyActive { limit } => ApiError::conflict(
            "too_many_active_bookings",
            format!("This phone number already has {limit} open bookings and queue numbers."),
        )
        .into(),
        QueueError::NotFound => ApiError::not_found("ticket_not_found").into(),
        QueueError::NextAppointmentTooSoon { next_starts_at } => conflict(
            "next_appointment_too_soon",
            "A booked appointment starts before the next number would be served.",
            json!({"next_starts_at": next_starts_at}),
        ),
        QueueError::ClerkBusy { until } => conflict(
            "clerk_busy",
            "You are still serving someone; finish or skip that first.",
            json!({"until": until}),
        ),
        QueueError::OffDuty => ApiError::conflict(
            "off_duty",
            "You are not at work now, or your day ends before the next number would be served.",
        )
        .into(),
        QueueError::Refused(r) => match r {
            Refused::NotWaiting(s) | Refused::NotCalled(s) | Refused::TooLateToCancel(s) => {
                conflict(
                    "invalid_state",
                    "The number cannot change that way now.",
                    json!({"state": s}),
                )
            }
            Refused::RecallLimit => ApiError::conflict(
                "recall_limit",
                "This number was already called three times.",
            )
            .into(),
            Refused::GraceNotOver { until } => conflict(
                "grace_not_over",
                "Give the citizen a little more time before skipping.",
                json!({"skip_allowed_at": until}),
            ),
            Refused::ServedInRoom => ApiError::conflict(
                "served_in_room",
                "A remote number is served in its room: admit the citizen there.",
            )
            .into(),
        },
        QueueError::InsufficientRole => ApiError::Forbidden {
            code: "insufficient_role",
        }
        .into(),
        QueueError::NotYourAgency => ApiError::Forbidden {
            code: "not_your_agency",
        }
        .into(),
        QueueError::TooManyStreams => ApiError::Unavailable {
            code: "too_many_streams",
        }
        .into(),
        QueueError::Busy => ApiError::Unavailable { code: "busy" }.into(),
        QueueError::Fault(f) => ApiError::from(f).into(),
    }
}

// ---------------------------------------------------------------------------------------------
// The citizen

/// Takes a number for a service today (remote: by video, a phone is required; in person: the
/// kiosk, the phone is optional).
#[utoipa::path(post, path = "/api/v1/queue", tag = "queue", request_body = queue::take::TakeForm,
    responses((status = 201, body = TakenOut),
        (status = 409, description = "queue_closed (with `reason`: no_service_today, not_yet_open with `opens_at`, after_hours, past_cutoff), queue_full, too_many_active_bookings"),
        (status = 422, description = "validation_failed with fields"),
        (status = 429, description = "rate_limited, with Retry-After")))]
#[post("/queue")]
#[tracing::instrument(name = "queue.take", skip_all)]
pub async fn take(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<queue::take::TakeForm>,
) -> Result<HttpResponse, actix_web::Error> {
    if let Err(wait) = state.booking_limiter.check(&super::client_ip(&req)) {
        return Err(ApiError::TooManyRequests {
            retry_after_secs: wait,
        }
        .into());
    }
    let taken = queue::take::take(&state.ctx, body.into_inner())
        .await
        .map_err(refuse)?;
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(TakenOut {
            ticket: citizen_out(&taken.now, state.settings.timezone.name()),
            token: taken.token,
            links: taken.links,
        }))
}

/// The number this token belongs to, now.
#[utoipa::path(get, path = "/api/v1/queue/current", tag = "queue",
    security(("queue_token" = [])),
    responses((status = 200, body = TicketOut), (status = 401, description = "missing or invalid token"),
        (status = 404, description = "ticket_not_found")))]
#[get("/queue/current")]
#[tracing::instrument(name = "queue.current", skip_all)]
pub async fn current(
    state: web::Data<AppState>,
    holder: QueueHolder,
) -> Result<HttpResponse, actix_web::Error> {
    let now = queue::current::current(&state.ctx, holder.ticket)
        .await
        .map_err(refuse)?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(citizen_out(&now, state.settings.timezone.name())))
}

/// Leaves the line (a called number gives its call back: the clerk's time is freed).
#[utoipa::path(delete, path = "/api/v1/queue/current", tag = "queue",
    security(("queue_token" = [])),
    responses((status = 200, body = TicketOut),
        (status = 409, description = "invalid_state: already served or finished")))]
#[delete("/queue/current")]
#[tracing::instrument(name = "queue.leave", skip_all)]
pub async fn leave(
    state: web::Data<AppState>,
    holder: QueueHolder,
) -> Result<HttpResponse, actix_web::Error> {
    let now = queue::current::cancel(&state.ctx, holder.ticket)
        .await
        .map_err(refuse)?;
    Ok(HttpResponse::Ok().json(citizen_out(&now, state.settings.timezone.name())))
}

const SSE_HELLO: &[u8] = b"retry: 3000\n\n";

fn sse(stream: impl futures_util::Stream<Item = web::Bytes> + 'static) -> HttpResponse {
    let hello = futures_util::stream::once(async { web::Bytes::from_static(SSE_HELLO) });
    HttpResponse::Ok()
        .insert_header(("Content-Type", "text/event-stream"))
        .insert_header(("Cache-Control", "no-cache, no-store"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(hello.chain(stream).map(Ok::<_, actix_web::Error>))
}

fn event(name: &str, data: &impl Serialize) -> web::Bytes {
    let json = serde_json::to_string(data).unwrap_or_else(|_| "{}".into());
    web::Bytes::from(format!("event: {name}\ndata: {json}\n\n"))
}

/// The number live (Server-Sent Events): `event: ticket` with the number now, at once and
/// whenever its position, estimate or state changes; a comment line as keep-alive; the stream
/// ends after the number is finished (done, skipped, cancelled).
#[utoipa::path(get, path = "/api/v1/queue/current/events", tag = "queue",
    security(("queue_token" = [])),
    responses((status = 200, content_type = "text/event-stream", description = "`event: ticket` with a TicketOut per change"),
        (status = 401, description = "missing or invalid token"),
        (status = 503, description = "too_many_streams")))]
#[get("/queue/current/events")]
#[tracing::instrument(name = "queue.events", skip_all)]
pub async fn events(
    state: web::Data<AppState>,
    holder: QueueHolder,
) -> Result<HttpResponse, actix_web::Error> {
    let stream = queue::current::follow(state.ctx.clone(), holder.ticket)
        .await
        .map_err(refuse)?;
    let tz = state.settings.timezone.name();
    Ok(sse(stream.map(move |f| match f {
        Followed::Ticket(now) => event("ticket", &citizen_out(&now, tz)),
        Followed::KeepAlive => web::Bytes::from_static(b": keep-alive\n\n"),
    })))
}

// ---------------------------------------------------------------------------------------------
// Staff

#[derive(Deserialize, ToSchema, Default)]
pub struct NextIn {
    /// Only this service's line (a slug); any service the clerk serves when absent.
    pub service: Option<String>,
    /// The counter (loket) the clerk sits at: shown on the board and said aloud.
    pub counter: Option<String>,
}

/// "Panggil berikutnya": calls the clerk's next number that fits before their next booking. The
/// call holds the clerk's time as a walk-in appointment (the same table and exclusion
/// constraint as bookings); a remote number's room opens at once.
#[utoipa::path(post, path = "/api/v1/staff/queue/next", tag = "queue", request_body = NextIn,
    security(("staff_session" = [])),
    responses((status = 200, body = CalledOut), (status = 204, description = "nobody waits"),
        (status = 409, description = "next_appointment_too_soon (with `next_starts_at`), clerk_busy (with `until`), off_duty"),
        (status = 422, description = "service unknown / not_served; counter invalid")))]
#[post("/staff/queue/next")]
#[tracing::instrument(name = "queue.next", skip_all)]
pub async fn next(
    state: web::Data<AppState>,
    me: StaffSession,
    body: Option<web::Json<NextIn>>,
) -> Result<HttpResponse, actix_web::Error> {
    let body = body.map(|b| b.into_inner()).unwrap_or_default();
    let called = queue::call::next(
        &state.ctx,
        &me,
        body.service.as_deref(),
        body.counter.as_deref(),
    )
    .await
    .map_err(refuse)?;
    Ok(match called {
        None => HttpResponse::NoContent().finish(),
        Some(view) => staff_ticket(&state, &view),
    })
}

/// Calls a number again (twice at most).
#[utoipa::path(post, path = "/api/v1/staff/queue/{id}/recall", tag = "queue",
    security(("staff_session" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = CalledOut), (status = 404, description = "ticket_not_found"),
        (status = 409, description = "recall_limit; invalid_state (not called)")))]
#[post("/staff/queue/{id}/recall")]
pub async fn recall(
    state: web::Data<AppState>,
    me: StaffSession,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, actix_web::Error> {
    acted(&state, &me, path.into_inner(), Action::Recall).await
}

/// Skips a called number once the grace time since its last call is over; the clerk's time is
/// released as a no-show.
#[utoipa::path(post, path = "/api/v1/staff/queue/{id}/skip", tag = "queue",
    security(("staff_session" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = CalledOut), (status = 404, description = "ticket_not_found"),
        (status = 409, description = "grace_not_over (with `skip_allowed_at`); invalid_state")))]
#[post("/staff/queue/{id}/skip")]
pub async fn skip(
    state: web::Data<AppState>,
    me: StaffSession,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, actix_web::Error> {
    acted(&state, &me, path.into_inner(), Action::Skip).await
}

/// "Layani": the citizen of an in-person number reached the counter.
#[utoipa::path(post, path = "/api/v1/staff/queue/{id}/serve", tag = "queue",
    security(("staff_session" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = CalledOut), (status = 404, description = "ticket_not_found"),
        (status = 409, description = "served_in_room (remote numbers are admitted in their room); invalid_state")))]
#[post("/staff/queue/{id}/serve")]
pub async fn serve(
    state: web::Data<AppState>,
    me: StaffSession,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, actix_web::Error> {
    acted(&state, &me, path.into_inner(), Action::Serve).await
}

async fn acted(
    state: &AppState,
    me: &StaffSession,
    id: Uuid,
    action: Action,
) -> Result<HttpResponse, actix_web::Error> {
    let view = queue::call::act(&state.ctx, me, TicketId(id), action)
        .await
        .map_err(refuse)?;
    Ok(staff_ticket(state, &view))
}

#[derive(Deserialize, ToSchema)]
pub struct PriorityIn {
    /// `lansia`, `disabilitas`, `ibu_hamil`, `ibu_dengan_anak`, or null to unmark.
    pub group: Option<String>,
}

/// Marks a waiting number as the priority group (served first), or unmarks it.
#[utoipa::path(post, path = "/api/v1/staff/queue/{id}/priority", tag = "queue",
    security(("staff_session" = [])), params(("id" = Uuid, Path)), request_body = PriorityIn,
    responses((status = 200, body = CalledOut), (status = 404, description = "ticket_not_found"),
        (status = 409, description = "invalid_state (not waiting)"), (status = 422, description = "group invalid")))]
#[post("/staff/queue/{id}/priority")]
pub async fn priority(
    state: web::Data<AppState>,
    me: StaffSession,
    path: web::Path<Uuid>,
    body: web::Json<PriorityIn>,
) -> Result<HttpResponse, actix_web::Error> {
    let group = match body.group.as_deref() {
        None => None,
        Some(raw) => Some(
            PriorityGroup::parse(raw.trim()).ok_or_else(|| ApiError::field("group", "invalid"))?,
        ),
    };
    let view = queue::manage::mark_priority(&state.ctx, &me, TicketId(path.into_inner()), group)
        .await
        .map_err(refuse)?;
    Ok(staff_ticket(&state, &view))
}

#[derive(Deserialize, ToSchema)]
pub struct MoveIn {
    /// The slug of another service of the same agency.
    pub service: Option<String>,
}

/// A supervisor moves a waiting number to another service's line (it keeps its number and its
/// place in time).
#[utoipa::path(post, path = "/api/v1/staff/queue/{id}/move", tag = "queue",
    security(("staff_session" = [])), params(("id" = Uuid, Path)), request_body = MoveIn,
    responses((status = 200, body = CalledOut), (status = 403, description = "insufficient_role"),
        (status = 404, description = "ticket_not_found"), (status = 409, description = "invalid_state (not waiting)"),
        (status = 422, description = "service required / unknown / other_agency / same_service")))]
#[post("/staff/queue/{id}/move")]
pub async fn move_ticket(
    state: web::Data<AppState>,
    me: StaffSession,
    path: web::Path<Uuid>,
    body: web::Json<MoveIn>,
) -> Result<HttpResponse, actix_web::Error> {
    let view = queue::manage::move_ticket(
        &state.ctx,
        &me,
        TicketId(path.into_inner()),
        body.service.as_deref(),
    )
    .await
    .map_err(refuse)?;
    Ok(staff_ticket(&state, &view))
}

#[derive(Serialize, ToSchema)]
pub struct ListedOut {
    pub id: Uuid,
    pub number: String,
    pub mode: Mode,
    pub name: String,
    pub priority: Option<PriorityGroup>,
    pub position: u32,
    pub taken_at: DateTime<Utc>,
    pub waited_minutes: i64,
    pub expected_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct LineOut {
    pub service: ServiceRef,
    pub agency_prefix: String,
    pub waiting: u32,
    /// Minutes the longest-waiting number has waited (0 when nobody waits).
    pub longest_wait_minutes: i64,
    pub served_today: u32,
    pub skipped_today: u32,
    pub taken_today: u32,
    pub daily_cap: Option<i32>,
    /// The first waiting numbers in order (at most 100).
    pub tickets: Vec<ListedOut>,
}

#[derive(Serialize, ToSchema)]
pub struct LinesOut {
    pub lines: Vec<LineOut>,
    /// The caller's own calls that are not finished, the last first.
    pub my_calls: Vec<TicketOut>,
}

fn lines_out(o: &Overview, tz: &str) -> LinesOut {
    let now = Utc::now();
    LinesOut {
        lines: o
            .lines
            .iter()
            .map(|l| LineOut {
                service: ServiceRef {
                    slug: l.service.slug.clone(),
                    name: l.service.name.clone(),
                    name_en: l.service.name_en.clone(),
                },
                agency_prefix: l.prefix.clone(),
                waiting: l.waiting,
                longest_wait_minutes: l
                    .oldest_waiting
                    .map(|t| (now - t).num_minutes().max(0))
                    .unwrap_or(0),
                served_today: l.served,
                skipped_today: l.skipped,
                taken_today: l.taken,
                daily_cap: l.service.daily_cap,
                tickets: l
                    .tickets
                    .iter()
                    .map(|x| ListedOut {
                        id: x.ticket.id,
                        number: number(&l.prefix, x.ticket.seq.max(0) as u32),
                        mode: Mode::parse(&x.ticket.mode).unwrap_or(Mode::InPerson),
                        name: x.ticket.citizen_name.clone(),
                        priority: x
                            .ticket
                            .priority_group
                            .as_deref()
                            .and_then(PriorityGroup::parse),
                        position: x.position,
                        taken_at: x.ticket.taken_at,
                        waited_minutes: (now - x.ticket.taken_at).num_minutes().max(0),
                        expected_at: x.expected_at,
                    })
                    .collect(),
            })
            .collect(),
        my_calls: o.my_calls.iter().map(|v| staff_out(v, tz)).collect(),
    }
}

#[derive(Deserialize, IntoParams)]
pub struct AgencyQuery {
    /// An agency's slug (admins; a supervisor may name only their own).
    pub agency: Option<String>,
}

/// Each service's line today: a clerk's services, a supervisor's agency, an admin's named agency
/// (or all), with the caller's own open calls.
#[utoipa::path(get, path = "/api/v1/staff/queue", tag = "queue",
    security(("staff_session" = [])), params(AgencyQuery),
    responses((status = 200, body = LinesOut), (status = 403, description = "not_your_agency"),
        (status = 422, description = "agency unknown")))]
#[get("/staff/queue")]
pub async fn staff_lines(
    state: web::Data<AppState>,
    me: StaffSession,
    query: web::Query<AgencyQuery>,
) -> Result<HttpResponse, actix_web::Error> {
    let o = queue::manage::overview(&state.ctx, &me, query.agency.as_deref())
        .await
        .map_err(refuse)?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(lines_out(&o, state.settings.timezone.name())))
}

#[derive(Deserialize, ToSchema)]
pub struct DailyCapIn {
    /// Numbers the service gives out per day (1..=10,000), or null for no cap of its own.
    pub daily_cap: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct DailyCapOut {
    pub service: String,
    pub daily_cap: Option<i32>,
}

/// Sets or clears a service's daily cap of queue numbers (Kuota harian): supervisors of its
/// agency, admins.
#[utoipa::path(put, path = "/api/v1/admin/services/{slug}/queue", tag = "queue",
    security(("staff_session" = [])), params(("slug" = String, Path)), request_body = DailyCapIn,
    responses((status = 200, body = DailyCapOut), (status = 403, description = "insufficient_role"),
        (status = 422, description = "daily_cap out_of_range; service unknown (or another agency's)")))]
#[put("/admin/services/{slug}/queue")]
pub async fn daily_cap(
    state: web::Data<AppState>,
    me: StaffSession,
    path: web::Path<String>,
    body: web::Json<DailyCapIn>,
) -> Result<HttpResponse, actix_web::Error> {
    let slug = path.into_inner();
    let service = queue::manage::set_daily_cap(&state.ctx, &me, &slug, body.daily_cap)
        .await
        .map_err(refuse)?;
    Ok(HttpResponse::Ok().json(DailyCapOut {
        service: service.slug,
        daily_cap: service.daily_cap,
    }))
}

/// Least time between two `changed` events of a staff list (a burst is one refresh).
const STAFF_EVENT_GAP: Duration = Duration::from_millis(500);

/// `event: changed` whenever some queue changed (the page reads `GET /staff/queue` again).
#[utoipa::path(get, path = "/api/v1/staff/queue/events", tag = "queue",
    security(("staff_session" = [])),
    responses((status = 200, content_type = "text/event-stream"), (status = 503, description = "too_many_streams")))]
#[get("/staff/queue/events")]
pub async fn staff_events(
    state: web::Data<AppState>,
    _me: StaffSession,
) -> Result<HttpResponse, actix_web::Error> {
    let guard = state.queue_feed.try_watch().ok_or(ApiError::Unavailable {
        code: "too_many_streams",
    })?;
    let rx = state.queue_feed.any();
    Ok(sse(changes(rx, guard, STAFF_EVENT_GAP).map(|changed| {
        if changed {
            web::Bytes::from_static(b"event: changed\ndata: {}\n\n")
        } else {
            web::Bytes::from_static(b": keep-alive\n\n")
        }
    })))
}

/// `true` per change of `rx` (at most one per `gap`), `false` as a keep-alive after 15 s of quiet.
fn changes(
    rx: tokio::sync::watch::Receiver<u64>,
    guard: crate::queue_feed::WatchGuard,
    gap: Duration,
) -> impl futures_util::Stream<Item = bool> {
    futures_util::stream::unfold((rx, guard), move |(mut rx, guard)| async move {
        match tokio::time::timeout(queue::current::KEEPALIVE, rx.changed()).await {
            Err(_) => Some((false, (rx, guard))),
            Ok(Err(_)) => None,
            Ok(Ok(())) => {
                tokio::time::sleep(gap).await;
                rx.borrow_and_update();
                Some((true, (rx, guard)))
            }
        }
    })
}

// ---------------------------------------------------------------------------------------------
// The board

#[derive(Serialize, ToSchema)]
pub struct BoardCallOut {
    /// New for every call and recall of a number: announce each new one once.
    pub call_id: String,
    pub number: String,
    pub counter: Option<String>,
    pub clerk: String,
    pub service: String,
    pub called_at: DateTime<Utc>,
    /// What the board says aloud (Bahasa Indonesia).
    pub announcement: String,
    /// The citizen has reached the counter.
    pub serving: bool,
}

#[derive(Serialize, ToSchema)]
pub struct BoardAgencyOut {
    pub slug: String,
    pub name: String,
    pub name_en: String,
    pub prefix: String,
    /// The last called first.
    pub calls: Vec<BoardCallOut>,
}

#[derive(Serialize, ToSchema)]
pub struct BoardOut {
    pub agencies: Vec<BoardAgencyOut>,
    pub at: DateTime<Utc>,
    /// The site's zone (the board's clock shows it).
    pub timezone: String,
}

fn board_out(list: Vec<BoardAgency>, tz: &str) -> BoardOut {
    BoardOut {
        at: Utc::now(),
        timezone: tz.to_string(),
        agencies: list
            .into_iter()
            .map(|b| BoardAgencyOut {
                slug: b.agency.slug,
                name: b.agency.name,
                name_en: b.agency.name_en,
                prefix: b.agency.prefix,
                calls: b
                    .calls
                    .into_iter()
                    .map(|c| BoardCallOut {
                        call_id: c.call_id,
                        number: c.number,
                        counter: c.counter,
                        clerk: c.clerk,
                        service: c.service,
                        called_at: c.called_at,
                        announcement: c.announcement,
                        serving: c.serving,
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The board: numbers just called to a counter in person, per agency (no login; nothing about
/// the citizen but the number).
#[utoipa::path(get, path = "/api/v1/board", tag = "queue", params(AgencyQuery),
    responses((status = 200, body = BoardOut), (status = 422, description = "agency unknown")))]
#[get("/board")]
pub async fn board(
    state: web::Data<AppState>,
    query: web::Query<AgencyQuery>,
) -> Result<HttpResponse, actix_web::Error> {
    let list = queue::board::board(&state.ctx, query.agency.as_deref())
        .await
        .map_err(refuse)?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(board_out(list, state.settings.timezone.name())))
}

/// Least time between two board events (a burst of calls is one read).
const BOARD_EVENT_GAP: Duration = Duration::from_millis(200);

/// The board live: `event: board` with the board at once and after every call in person.
#[utoipa::path(get, path = "/api/v1/board/events", tag = "queue", params(AgencyQuery),
    responses((status = 200, content_type = "text/event-stream", description = "`event: board` with a BoardOut"),
        (status = 503, description = "too_many_streams")))]
#[get("/board/events")]
pub async fn board_events(
    state: web::Data<AppState>,
    query: web::Query<AgencyQuery>,
) -> Result<HttpResponse, actix_web::Error> {
    let guard = state.queue_feed.try_watch().ok_or(ApiError::Unavailable {
        code: "too_many_streams",
    })?;
    let agency = query.into_inner().agency;
    // An unknown agency is refused before the stream starts.
    let first = queue::board::board(&state.ctx, agency.as_deref())
        .await
        .map_err(refuse)?;
    let tz = state.settings.timezone.name();
    let first = futures_util::stream::once(async move { event("board", &board_out(first, tz)) });
    let ctx = state.ctx.clone();
    let rest = changes(state.queue_feed.board(), guard, BOARD_EVENT_GAP).then(move |changed| {
        let ctx = ctx.clone();
        let agency = agency.clone();
        async move {
            if !changed {
                return web::Bytes::from_static(b": keep-alive\n\n");
            }
            match queue::board::board(&ctx, agency.as_deref()).await {
                Ok(list) => event("board", &board_out(list, tz)),
                // The next change (or the page's own reconnect) tries again.
                Err(_) => web::Bytes::from_static(b": unavailable\n\n"),
            }
        }
    });
    Ok(sse(first.chain(rest)))
}
