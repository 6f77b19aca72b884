//! The pre-call check's use-cases as the citizen reaches them: start a check for their own
//! appointment (only while it is still active), and read a check's state — live while it runs,
//! from Postgres once this process has forgotten it.

use uuid::Uuid;

use super::{CheckState, PrecheckResult, Prechecks, Started};
use crate::db::{self, DbPool};
use crate::domain::appointment::Status;
use crate::domain::ids::AppointmentId;
use crate::fault::Fault;

/// Why a check does not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("no such appointment")]
    NotFound,
    #[error("the appointment is no longer active")]
    NotActive,
    /// The check itself refused (rates, slots, the offer).
    #[error(transparent)]
    Check(#[from] super::StartError),
    #[error(transparent)]
    Db(#[from] Fault),
}

/// Starts a check of `offer_sdp` for an appointment that is still booked or under way.
pub async fn for_appointment(
    prechecks: &Prechecks,
    pool: &DbPool,
    appointment: AppointmentId,
    client_ip: &str,
    offer_sdp: &str,
) -> Result<Started, StartError> {
    {
        let mut conn = pool.get().await.map_err(Fault::from)?;
        let view = db::appointments::view(&mut conn, appointment)
            .await
            .map_err(Fault::from)?
            .ok_or(StartError::NotFound)?;
        if !matches!(
            view.appointment.status(),
            Status::Booked | Status::Waiting | Status::InCall
        ) {
            return Err(StartError::NotActive);
        }
    }
    Ok(prechecks
        .start(appointment, client_ip, offer_sdp, pool.clone())
        .await?)
}

/// A check of this appointment: running, or its stored result; `None` if there is none.
pub async fn state(
    prechecks: &Prechecks,
    pool: &DbPool,
    appointment: AppointmentId,
    id: Uuid,
) -> Result<Option<CheckState>, Fault> {
    if let Some(s) = prechecks.state(id, appointment) {
        return Ok(Some(s));
    }
    let mut conn = pool.get().await?;
    let Some(stored) = db::prechecks::by_check(&mut conn, appointment, id).await? else {
        return Ok(None);
    };
    let result: PrecheckResult = serde_json::from_value(stored.result)
        .map_err(|e| anyhow::Error::new(e).context("stored precheck"))?;
    Ok(Some(CheckState::Finished(Box::new(result))))
}
