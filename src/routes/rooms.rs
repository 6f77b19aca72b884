//! The consultation rooms over HTTP: `POST /api/v1/rooms/ticket` hands a citizen or a staff
//! member a single-use ticket for their appointment's room, and `GET /api/v1/rooms/ws?ticket=…`
//! redeems it and upgrades to the signalling WebSocket (`signalling::session`). The ticket is
//! checked before the upgrade, and the room is always the ticket's appointment.
//!
//! The ticket rides in the query string because browsers cannot set headers on a WebSocket;
//! request spans record only the path (`telemetry::LoketRootSpan`), and nothing here logs it.

use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, get, post, web};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::{Citizen, StaffSession};
use crate::db::{self, appointments::AppointmentView, tickets::Ticket};
use crate::domain::appointment::{BookingCode, Status};
use crate::domain::ids::{AgencyId, AppointmentId};
use crate::error::ApiError;
use crate::signalling::ice::{self, IceServer};
use crate::signalling::protocol::{ParticipantId, Role};
use crate::signalling::redeemer::RedeemError;
use crate::signalling::room::{Actor, Joiner};
use crate::signalling::session::{self, Arrival, Limits};
use crate::startup::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_ticket).service(ws);
}

#[derive(Deserialize, ToSchema, Default)]
pub struct TicketIn {
    /// The appointment's id or booking code. Staff must name one; a citizen's token already does.
    pub appointment: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TicketOut {
    /// Single use, valid until `expires_at` (at most 60 s).
    pub ticket: String,
    pub expires_at: DateTime<Utc>,
    /// The URL to open, ticket included.
    pub ws_url: String,
    #[schema(value_type = String)]
    pub participant: ParticipantId,
    pub role: Role,
    pub ice_servers: Vec<IceServer>,
}

/// Refusals of the room endpoints: the standard error body, plus `opens_at` when it is too early.
#[derive(Debug, thiserror::Error)]
pub enum RoomError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("the room is not open yet")]
    NotOpen { opens_at: DateTime<Utc> },
}

impl From<diesel::result::Error> for RoomError {
    fn from(e: diesel::result::Error) -> Self {
        RoomError::Api(e.into())
    }
}

impl From<db::PoolError> for RoomError {
    fn from(e: db::PoolError) -> Self {
        RoomError::Api(e.into())
    }
}

impl From<anyhow::Error> for RoomError {
    fn from(e: anyhow::Error) -> Self {
        RoomError::Api(ApiError::Internal(e))
    }
}

impl ResponseError for RoomError {
    fn status_code(&self) -> StatusCode {
        match self {
            RoomError::Api(e) => e.status_code(),
            RoomError::NotOpen { .. } => StatusCode::CONFLICT,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            RoomError::Api(e) => e.error_response(),
            RoomError::NotOpen { opens_at } => HttpResponse::Conflict().json(json!({
                "error": "room_not_open",
                "message": "The room opens shortly before the appointment starts.",
                "opens_at": opens_at,
            })),
        }
    }
}

type RoomResult<T> = Result<T, RoomError>;

fn closed(code: &'static str, message: &str) -> RoomError {
    ApiError::conflict(code, message).into()
}

/// May anyone still enter this appointment's room?
fn check_status(status: Status) -> RoomResult<()> {
    match status {
        Status::Booked | Status::Waiting | Status::InCall => Ok(()),
        Status::Cancelled => Err(closed(
            "appointment_cancelled",
            "This appointment was cancelled.",
        )),
        Status::Completed => Err(closed(
            "appointment_completed",
            "This consultation has been completed.",
        )),
        Status::NoShow => Err(closed(
            "appointment_closed",
            "This appointment was closed as a no-show.",
        )),
    }
}

/// The room opens `join_opens_minutes` before the start and closes `join_grace_minutes` after
/// the end of the consultation.
fn check_window(view: &AppointmentView, state: &AppState, now: DateTime<Utc>) -> RoomResult<()> {
    let a = &view.appointment;
    let opens_at = a.starts_at() - Duration::minutes(state.settings.join_opens_minutes);
    if now < opens_at {
        return Err(RoomError::NotOpen { opens_at });
    }
    if now > a.ends_at + Duration::minutes(state.settings.join_grace_minutes) {
        return Err(closed(
            "room_closed",
            "The time for this consultation is over.",
        ));
    }
    Ok(())
}

async fn find_appointment(
    conn: &mut diesel_async::AsyncPgConnection,
    raw: &str,
) -> RoomResult<Option<AppointmentView>> {
    let raw = raw.trim();
    if let Ok(id) = uuid::Uuid::parse_str(raw) {
        return Ok(db::appointments::view(conn, AppointmentId(id)).await?);
    }
    match BookingCode::parse(raw) {
        Some(code) => Ok(db::appointments::view_by_code(conn, &code).await?),
        None => Ok(None),
    }
}

fn names(view: &AppointmentView, raw: &str) -> bool {
    let raw = raw.trim();
    uuid::Uuid::parse_str(raw).is_ok_and(|id| id == view.appointment.id)
        || BookingCode::parse(raw).is_some_and(|c| c.as_str() == view.appointment.code)
}

/// Issues a ticket for the caller's appointment room.
#[utoipa::path(post, path = "/api/v1/rooms/ticket", tag = "rooms", request_body = TicketIn,
    security(("citizen_token" = []), ("staff_session" = [])),
    responses((status = 200, body = TicketOut),
        (status = 401, description = "no or invalid token"),
        (status = 403, description = "not_your_appointment (a citizen naming another booking)"),
        (status = 404, description = "appointment_not_found (or not one this staff member may serve)"),
        (status = 409, description = "appointment_cancelled / appointment_completed / appointment_closed / room_closed; room_not_open with `opens_at`"),
        (status = 422, description = "staff without `appointment`")))]
#[post("/rooms/ticket")]
#[tracing::instrument(name = "rooms.ticket", skip_all)]
pub async fn create_ticket(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Option<web::Json<TicketIn>>,
) -> RoomResult<HttpResponse> {
    let named = body.and_then(|b| b.into_inner().appointment);
    let mut conn = state.pool.get().await?;
    let (view, role, staff) = match Citizen::extract(&req).await {
        Ok(citizen) => {
            let view = db::appointments::view(&mut conn, citizen.appointment)
                .await?
                .ok_or(ApiError::not_found("appointment_not_found"))?;
            if named.as_deref().is_some_and(|raw| !names(&view, raw)) {
                // A citizen token opens exactly its own booking's room.
                return Err(ApiError::Forbidden {
                    code: "not_your_appointment",
                }
                .into());
            }
            (view, Role::Citizen, None)
        }
        Err(_) => {
            let me = StaffSession::extract(&req).await?;
            let raw = named.ok_or_else(|| ApiError::field("appointment", "required"))?;
            let view = find_appointment(&mut conn, &raw)
                .await?
                .ok_or(ApiError::not_found("appointment_not_found"))?;
            let role = if me.id == view.appointment.staff() {
                Role::Clerk
            } else if me.is_supervisor_or_admin()
                && me.may_act_for(view.appointment.staff(), view.clerk_agency.map(AgencyId))
            {
                Role::Supervisor
            } else {
                // As elsewhere for staff: do not reveal that it exists.
                return Err(ApiError::not_found("appointment_not_found").into());
            };
            (view, role, Some(me.id))
        }
    };
    check_status(view.appointment.status())?;
    let now = Utc::now();
    check_window(&view, &state, now)?;
    let appointment = view.appointment.id();
    let (ticket, expires_at) = db::tickets::create(&mut conn, appointment, role, staff).await?;
    let participant = match staff {
        Some(s) => ParticipantId::staff(role, s),
        None => ParticipantId::citizen(appointment),
    };
    let ice_servers = ice::servers(&state.settings, &participant, now.timestamp());
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(TicketOut {
            ws_url: ws_url(&state.settings.public_url, &ticket),
            ticket: ticket.expose().to_string(),
            expires_at,
            participant,
            role,
            ice_servers,
        }))
}

fn ws_url(public_url: &str, ticket: &Ticket) -> String {
    let base = public_url.trim_end_matches('/');
    let base = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_string()
    };
    format!("{base}/api/v1/rooms/ws?ticket={}", ticket.expose())
}

#[derive(Deserialize)]
struct WsQuery {
    ticket: Option<String>,
}

fn invalid_ticket() -> RoomError {
    ApiError::Unauthorized {
        code: "invalid_ticket",
    }
    .into()
}

/// The signalling WebSocket (protocol: docs/protocol.md). A missing, unknown, used or expired
/// ticket gets 401 and no socket.
#[utoipa::path(get, path = "/api/v1/rooms/ws", tag = "rooms",
    params(("ticket" = String, Query, description = "A ticket from POST /api/v1/rooms/ticket")),
    responses((status = 101, description = "Switching to the signalling WebSocket"),
        (status = 400, description = "not a WebSocket handshake"),
        (status = 401, description = "invalid_ticket: missing, unknown, used or expired"),
        (status = 409, description = "the appointment was closed since the ticket was issued"),
        (status = 503, description = "too_many_joins: the ticket queues are full; database_unavailable")))]
#[get("/rooms/ws")]
#[tracing::instrument(name = "rooms.ws", skip_all)]
pub async fn ws(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    let ticket = web::Query::<WsQuery>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.into_inner().ticket)
        .and_then(|raw| Ticket::parse(&raw))
        .ok_or_else(invalid_ticket)?;
    // The handshake is checked first so a plain GET cannot burn a ticket; nothing is sent to
    // the client until the response is returned.
    let (response, ws_session, stream) = actix_ws::handle(&req, body)?;
    let arrival = arrive(&state, &ticket).await?;
    let limits = Limits::from_settings(&state.settings);
    let (ready, joined) = tokio::sync::oneshot::channel();
    actix_web::rt::spawn(session::run(
        ws_session,
        stream,
        state.rooms.clone(),
        arrival,
        limits,
        ready,
    ));
    // The 101 goes out with the `welcome` already behind it (see `session::run`). If the task
    // ends without saying so, the 101 goes out alone.
    let _ = joined.await;
    Ok(response)
}

/// Redeems the ticket (in a batch with whatever other joins are queued, `signalling::redeemer`)
/// and works out who is arriving where.
async fn arrive(state: &AppState, ticket: &Ticket) -> RoomResult<Arrival> {
    let redeemed = match state.redeemer.redeem(ticket.clone()).await {
        Ok(Some(redeemed)) => redeemed,
        Ok(None) => return Err(invalid_ticket()),
        Err(RedeemError::Busy) => {
            return Err(ApiError::Unavailable {
                code: "too_many_joins",
            }
            .into());
        }
        Err(RedeemError::Failed) => {
            return Err(ApiError::Unavailable {
                code: "database_unavailable",
            }
            .into());
        }
    };
    check_status(redeemed.status)?;
    let who = match (redeemed.role, redeemed.staff) {
        (Role::Citizen, _) => Joiner {
            id: ParticipantId::citizen(redeemed.appointment),
            role: Role::Citizen,
            name: redeemed.citizen_name,
            actor: Actor::Citizen,
        },
        (role, Some(staff)) => Joiner {
            id: ParticipantId::staff(role, staff),
            role,
            name: redeemed.staff_name.unwrap_or_default(),
            actor: Actor::Staff(staff),
        },
        (_, None) => return Err(invalid_ticket()),
    };
    let ice_servers = ice::servers(&state.settings, &who.id, Utc::now().timestamp());
    Ok(Arrival {
        room: redeemed.appointment,
        status: redeemed.status,
        who,
        ice_servers,
    })
}
