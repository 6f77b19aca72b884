//! Who may enter an appointment's room, and when: a citizen with the token of that booking, its
//! clerk, or a supervisor of the clerk's agency (an admin anywhere); only while the appointment
//! is still open and inside its window (from `join_opens_minutes` before the start to
//! `join_grace_minutes` after the end). The answer is a single-use ticket, the participant's
//! id and role, and the ICE servers with credentials minted for that participant.

use chrono::{DateTime, Duration, Utc};

use super::RoomError;
use super::ice::{self, IceServer};
use crate::auth::StaffSession;
use crate::context::Ctx;
use crate::db::{self, appointments::AppointmentView, tickets::Ticket};
use crate::domain::appointment::{BookingCode, Status};
use crate::domain::ids::{AgencyId, AppointmentId};
use crate::domain::participant::{ParticipantId, Role};

/// A ticket is handed out again only while it has this long left: enough to open the socket.
const REUSE_MIN_LEFT_SECS: i64 = 20;

/// Who asks for a ticket.
pub enum Requester<'a> {
    /// A citizen token's appointment, and the appointment the request named, if any.
    Citizen {
        appointment: AppointmentId,
        named: Option<&'a str>,
    },
    /// A staff member naming an appointment by id or booking code.
    Staff {
        me: &'a StaffSession,
        named: Option<&'a str>,
    },
}

pub struct Issued {
    pub ticket: Ticket,
    pub expires_at: DateTime<Utc>,
    pub participant: ParticipantId,
    pub role: Role,
    pub ice_servers: Vec<IceServer>,
    pub appointment: AppointmentId,
}

/// May anyone still enter a room in this state?
pub fn check_status(status: Status) -> Result<(), RoomError> {
    match status {
        Status::Booked | Status::Waiting | Status::InCall => Ok(()),
        Status::Cancelled => Err(RoomError::Cancelled),
        Status::Held => Err(RoomError::NotConfirmed),
        Status::Completed => Err(RoomError::Completed),
        Status::NoShow => Err(RoomError::ClosedNoShow),
    }
}

/// The room opens `join_opens_minutes` before the start and closes `join_grace_minutes` after
/// the end of the consultation.
fn check_window(view: &AppointmentView, ctx: &Ctx, now: DateTime<Utc>) -> Result<(), RoomError> {
    let a = &view.appointment;
    let opens_at = a.starts_at() - Duration::minutes(ctx.settings.join_opens_minutes);
    if now < opens_at {
        return Err(RoomError::NotOpen { opens_at });
    }
    if now > a.ends_at + Duration::minutes(ctx.settings.join_grace_minutes) {
        return Err(RoomError::Over);
    }
    Ok(())
}

async fn find_appointment(
    conn: &mut diesel_async::AsyncPgConnection,
    raw: &str,
) -> Result<Option<AppointmentView>, RoomError> {
    let raw = raw.trim();
    if let Ok(id) = uuid::Uuid::parse_str(raw) {
        return Ok(db::appointments::view(conn, AppointmentId(id)).await?);
    }
    match BookingCode::parse(raw) {
        Some(code) => Ok(db::appointments::view_by_code(conn, &code).await?),
        None => Ok(None),
    }
}

/// Whether `raw` (an id or a booking code) names this appointment.
fn names(view: &AppointmentView, raw: &str) -> bool {
    let raw = raw.trim();
    uuid::Uuid::parse_str(raw).is_ok_and(|id| id == view.appointment.id)
        || BookingCode::parse(raw).is_some_and(|c| c.as_str() == view.appointment.code)
}

/// A ticket for the requester's room, or why not.
pub async fn issue(ctx: &Ctx, who: Requester<'_>) -> Result<Issued, RoomError> {
    let mut conn = ctx.conn().await?;
    let (view, role, staff) = match who {
        Requester::Citizen { appointment, named } => {
            let view = db::appointments::view(&mut conn, appointment)
                .await?
                .ok_or(RoomError::NotFound)?;
            if named.is_some_and(|raw| !names(&view, raw)) {
                // A citizen token opens exactly its own booking's room.
                return Err(RoomError::NotYourAppointment);
            }
            (view, Role::Citizen, None)
        }
        Requester::Staff { me, named } => {
            let raw = named.ok_or(RoomError::AppointmentRequired)?;
            let view = find_appointment(&mut conn, raw)
                .await?
                .ok_or(RoomError::NotFound)?;
            let role = if me.id == view.appointment.staff() {
                Role::Clerk
            } else if me.is_supervisor_or_admin()
                && me.may_act_for(view.appointment.staff(), view.clerk_agency.map(AgencyId))
            {
                Role::Supervisor
            } else {
                // As elsewhere for staff: do not reveal that it exists.
                return Err(RoomError::NotFound);
            };
            (view, role, Some(me.id))
        }
    };
    check_status(view.appointment.status())?;
    let now = Utc::now();
    check_window(&view, ctx, now)?;
    let appointment = view.appointment.id();
    // A client asking again before using its ticket (a retry, a double click, a script) gets
    // the same one while it has time left, instead of another row.
    let reused =
        db::tickets::reusable(&mut conn, appointment, role, staff, REUSE_MIN_LEFT_SECS).await?;
    let (ticket, expires_at) = match reused {
        Some(t) => t,
        None => db::tickets::create(&mut conn, appointment, role, staff).await?,
    };
    let participant = match staff {
        Some(s) => ParticipantId::staff(role, s),
        None => ParticipantId::citizen(appointment),
    };
    let ice_servers = ice::servers(&ctx.settings, &participant, now.timestamp());
    Ok(Issued {
        ticket,
        expires_at,
        participant,
        role,
        ice_servers,
        appointment,
    })
}
