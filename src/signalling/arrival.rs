//! Who is arriving where: a socket's ticket, redeemed (in a batch with whatever other joins are
//! queued, `redeemer`), becomes a [`Joiner`] in the ticket's appointment room with its ICE
//! servers — or a refusal that the WebSocket handler answers before any upgrade.

use chrono::Utc;

use super::redeemer::{RedeemError, Redeemer};
use super::room::{Actor, Joiner};
use super::session::Arrival;
use crate::config::Settings;
use crate::db::tickets::Ticket;
use crate::domain::participant::{ParticipantId, Role};
use crate::rooms::{RoomError, ice, ticket::check_status};

/// Why a ticket opens no socket.
#[derive(Debug, thiserror::Error)]
pub enum ArrivalError {
    /// Unknown, used or expired.
    #[error("invalid ticket")]
    InvalidTicket,
    /// The redemption queues are full.
    #[error("too many joins at once")]
    TooManyJoins,
    #[error("the database is unavailable")]
    DatabaseUnavailable,
    /// The appointment was closed since the ticket was issued.
    #[error(transparent)]
    Closed(RoomError),
}

pub async fn arrive(
    redeemer: &Redeemer,
    settings: &Settings,
    ticket: &Ticket,
) -> Result<Arrival, ArrivalError> {
    let redeemed = match redeemer.redeem(ticket.clone()).await {
        Ok(Some(redeemed)) => redeemed,
        Ok(None) => return Err(ArrivalError::InvalidTicket),
        Err(RedeemError::Busy) => return Err(ArrivalError::TooManyJoins),
        Err(RedeemError::Failed) => return Err(ArrivalError::DatabaseUnavailable),
    };
    check_status(redeemed.status).map_err(ArrivalError::Closed)?;
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
        (_, None) => return Err(ArrivalError::InvalidTicket),
    };
    let ice_servers = ice::servers(settings, &who.id, Utc::now().timestamp());
    Ok(Arrival {
        room: redeemed.appointment,
        status: redeemed.status,
        who,
        ice_servers,
    })
}
