//! The consultation rooms over HTTP: `POST /api/v1/rooms/ticket` hands a citizen or a staff
//! member a single-use ticket for their appointment's room (`rooms::ticket`), and
//! `GET /api/v1/rooms/ws?ticket=…` redeems it (`signalling::arrival`) and upgrades to the
//! signalling WebSocket (`signalling::session`). The ticket is checked before the upgrade, and
//! the room is always the ticket's appointment.
//!
//! The ticket rides in the query string because browsers cannot set headers on a WebSocket;
//! request spans record only the path (`telemetry::LoketRootSpan`), and nothing here logs it.

use actix_web::{FromRequest, HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::body::OptionalJson;
use super::extract::Citizen;
use crate::auth::StaffSession;
use crate::db::tickets::Ticket;
use crate::domain::ids::AppointmentId;
use crate::domain::participant::{ParticipantId, Role};
use crate::error::ApiError;
use crate::rooms::ice::IceServer;
use crate::rooms::{RoomError, ticket};
use crate::signalling::arrival::{ArrivalError, arrive};
use crate::signalling::session::{self, Limits};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_ticket).service(ws).service(ws_in_room);
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

impl From<RoomError> for ApiError {
    fn from(e: RoomError) -> Self {
        let closed = |code, message: &str| ApiError::conflict(code, message);
        match e {
            RoomError::NotFound => ApiError::not_found("appointment_not_found"),
            RoomError::NotYourAppointment => ApiError::Forbidden {
                code: "not_your_appointment",
            },
            RoomError::AppointmentRequired => ApiError::field("appointment", "required"),
            RoomError::Cancelled => {
                closed("appointment_cancelled", "This appointment was cancelled.")
            }
            RoomError::NotConfirmed => closed(
                "not_confirmed",
                "This booking is not confirmed yet: enter the code sent to your phone.",
            ),
            RoomError::Completed => closed(
                "appointment_completed",
                "This consultation has been completed.",
            ),
            RoomError::ClosedNoShow => closed(
                "appointment_closed",
                "This appointment was closed as a no-show.",
            ),
            RoomError::Over => closed("room_closed", "The time for this consultation is over."),
            RoomError::NotOpen { .. } => closed(
                "room_not_open",
                "The room opens shortly before the appointment starts.",
            ),
            RoomError::Fault(f) => f.into(),
        }
    }
}

/// A room refusal as the API answers it: the standard error body, plus `opens_at` when it is
/// too early.
fn refuse(e: RoomError) -> actix_web::Error {
    match e {
        RoomError::NotOpen { opens_at } => actix_web::error::InternalError::from_response(
            "room_not_open",
            HttpResponse::Conflict().json(json!({
                "error": "room_not_open",
                "message": "The room opens shortly before the appointment starts.",
                "opens_at": opens_at,
            })),
        )
        .into(),
        other => ApiError::from(other).into(),
    }
}

/// Issues a ticket for the caller's appointment room.
#[utoipa::path(post, path = "/api/v1/rooms/ticket", tag = "rooms", request_body = TicketIn,
    security(("citizen_token" = []), ("staff_session" = [])),
    responses((status = 200, body = TicketOut),
        (status = 401, description = "no or invalid token"),
        (status = 403, description = "not_your_appointment (a citizen naming another booking)"),
        (status = 404, description = "appointment_not_found (or not one this staff member may serve)"),
        (status = 409, description = "appointment_cancelled / appointment_completed / appointment_closed / room_closed; room_not_open with `opens_at`"),
        (status = 422, description = "staff without `appointment`"),
        (status = 429, description = "rate_limited: too many tickets for this token or staff member")))]
#[post("/rooms/ticket")]
#[tracing::instrument(name = "rooms.ticket", skip_all)]
pub async fn create_ticket(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: OptionalJson<TicketIn>,
) -> Result<HttpResponse, actix_web::Error> {
    let named = body.into_inner().and_then(|b| b.appointment);
    let staff;
    let who = match Citizen::extract(&req).await {
        Ok(citizen) => ticket::Requester::Citizen {
            appointment: citizen.appointment,
            named: named.as_deref(),
        },
        Err(_) => {
            staff = StaffSession::extract(&req).await?;
            ticket::Requester::Staff {
                me: &staff,
                named: named.as_deref(),
            }
        }
    };
    // Per citizen token or staff member: with reuse, only redeemed tickets cost a new one.
    let key = match &who {
        ticket::Requester::Citizen { appointment, .. } => format!("c:{}", appointment.0),
        ticket::Requester::Staff { me, .. } => format!("s:{}", me.id.0),
    };
    if let Err(wait) = state.ticket_limiter.check(&key) {
        return Err(ApiError::TooManyRequests {
            retry_after_secs: wait,
        }
        .into());
    }
    let issued = ticket::issue(&state.ctx, who).await.map_err(refuse)?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(TicketOut {
            ws_url: ws_url(
                &state.settings.public_url,
                issued.appointment,
                &issued.ticket,
            ),
            ticket: issued.ticket.expose().to_string(),
            expires_at: issued.expires_at,
            participant: issued.participant,
            role: issued.role,
            ice_servers: issued.ice_servers,
        }))
}

/// The socket's URL names its room, so a load balancer can send every socket of one room to the
/// same node (hashing the path; docs/operations.md, "More than one node").
fn ws_url(public_url: &str, room: AppointmentId, ticket: &Ticket) -> String {
    let base = public_url.trim_end_matches('/');
    let base = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_string()
    };
    format!("{base}/api/v1/rooms/{room}/ws?ticket={}", ticket.expose())
}

#[derive(Deserialize)]
struct WsQuery {
    ticket: Option<String>,
}

fn invalid_ticket() -> ApiError {
    ApiError::Unauthorized {
        code: "invalid_ticket",
    }
}

/// The signalling WebSocket (protocol: docs/protocol.md) of the room named in the path — the
/// form `POST /rooms/ticket` hands out. A missing, unknown, used or expired ticket gets 401 and
/// no socket; a ticket for another room, 409 `wrong_room`.
#[utoipa::path(get, path = "/api/v1/rooms/{room}/ws", tag = "rooms",
    params(("room" = String, Path, description = "The appointment's id, as in the ticket's ws_url"),
        ("ticket" = String, Query, description = "A ticket from POST /api/v1/rooms/ticket")),
    responses((status = 101, description = "Switching to the signalling WebSocket"),
        (status = 400, description = "not a WebSocket handshake"),
        (status = 401, description = "invalid_ticket: missing, unknown, used or expired"),
        (status = 409, description = "wrong_room: the ticket is for another room; or the appointment was closed since the ticket was issued"),
        (status = 503, description = "too_many_joins: the ticket queues are full; database_unavailable")))]
#[get("/rooms/{room}/ws")]
#[tracing::instrument(name = "rooms.ws", skip_all)]
pub async fn ws_in_room(
    req: HttpRequest,
    room: web::Path<uuid::Uuid>,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    upgrade(req, body, state, Some(AppointmentId(*room))).await
}

/// The same socket under its first path, without the room (still served for older clients).
#[utoipa::path(get, path = "/api/v1/rooms/ws", tag = "rooms",
    params(("ticket" = String, Query, description = "A ticket from POST /api/v1/rooms/ticket")),
    responses((status = 101, description = "Switching to the signalling WebSocket"),
        (status = 400, description = "not_websocket: not a WebSocket handshake"),
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
    upgrade(req, body, state, None).await
}

async fn upgrade(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    room: Option<AppointmentId>,
) -> Result<HttpResponse, actix_web::Error> {
    let ticket = web::Query::<WsQuery>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.into_inner().ticket)
        .and_then(|raw| Ticket::parse(&raw))
        .ok_or_else(invalid_ticket)?;
    // The handshake is checked first so a plain GET cannot burn a ticket; nothing is sent to
    // the client until the response is returned.
    let (response, ws_session, stream) = actix_ws::handle(&req, body).map_err(|_| {
        ApiError::bad_request(
            "not_websocket",
            "This address speaks WebSocket only: open it with a WebSocket handshake.",
        )
    })?;
    let arrival = arrive(&state.redeemer, &state.settings, &ticket)
        .await
        .map_err(|e| match e {
            ArrivalError::InvalidTicket => invalid_ticket().into(),
            ArrivalError::TooManyJoins => ApiError::Unavailable {
                code: "too_many_joins",
            }
            .into(),
            ArrivalError::DatabaseUnavailable => ApiError::Unavailable {
                code: "database_unavailable",
            }
            .into(),
            ArrivalError::Closed(e) => refuse(e),
        })?;
    if room.is_some_and(|r| r != arrival.room) {
        // Another room's ticket under this path could put one room's sockets on two nodes.
        return Err(ApiError::conflict(
            "wrong_room",
            "This ticket is for another room; open the ws_url it came with.",
        )
        .into());
    }
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
