//! Link recovery (DESIGN §9): booking code + phone → a 6-digit code over the booking's own
//! channels → the booking's links again.
//!
//! No enumeration: [`request`] answers the same, at once, whatever it is given — the lookup,
//! the limits and the message happen after the answer, so neither the answer nor its timing
//! tells whether a booking exists. A code lives [`CODE_MINUTES`] minutes and allows
//! [`MAX_TRIES`] guesses; a booking gets at most [`CODES_PER_HOUR`] codes an hour (the HTTP
//! layer limits each client address besides). Codes are stored as keyed hashes, never as text.

use std::sync::Arc;

use chrono::{Duration, Utc};
use diesel_async::AsyncConnection;

use crate::booking::book::{Booked, booked};
use crate::context::Ctx;
use crate::db::{self, outbox::Subject, recovery::Check};
use crate::domain::appointment::BookingCode;
use crate::domain::citizen::Phone;
use crate::fault::Fault;

use super::otp;

pub const CODE_MINUTES: i64 = 10;
pub const MAX_TRIES: i32 = 5;
pub const CODES_PER_HOUR: i64 = 3;

#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    /// Wrong, expired or used code, or no such booking: one answer for all.
    #[error("the code does not match")]
    Invalid,
    #[error(transparent)]
    Fault(#[from] Fault),
}
crate::fault_from!(RecoverError);

fn code_hash(ctx: &Ctx, appointment: uuid::Uuid, code: &str) -> Vec<u8> {
    otp::hash(ctx, "recovery", appointment, code)
}

/// Starts a recovery and returns at once; see the module doc.
pub fn request(ctx: Arc<Ctx>, code: &str, phone: &str) {
    let (Some(code), Ok(phone)) = (BookingCode::parse(code), Phone::parse(phone)) else {
        return;
    };
    tokio::spawn(async move {
        match issue(&ctx, &code, &phone).await {
            Ok(true) => ctx.wake_outbox(),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "recovery: could not issue a code"),
        }
    });
}

/// Issues a code for the active booking with this code and phone, if there is one and it has
/// not had too many lately. Answers whether a code went out.
pub async fn issue(ctx: &Ctx, code: &BookingCode, phone: &Phone) -> Result<bool, Fault> {
    let mut conn = ctx.conn().await?;
    let issued = conn
        .transaction::<_, diesel::result::Error, _>(async |c| {
            let Some(row) =
                db::appointments::active_by_code_and_phone(c, code, phone.e164()).await?
            else {
                return Ok(false);
            };
            let recent =
                db::recovery::issued_since(c, row.id, Utc::now() - Duration::hours(1)).await?;
            if recent >= CODES_PER_HOUR {
                return Ok(false);
            }
            let code = otp::generate();
            let expires = Utc::now() + Duration::minutes(CODE_MINUTES);
            let round =
                db::recovery::insert(c, row.id, &code_hash(ctx, row.id, &code), expires).await?;
            let subject = Subject::appointment(row.id);
            let message = otp::Code {
                code: &code,
                round,
                minutes: CODE_MINUTES,
            };
            otp::send(c, ctx, subject, &row.recipient(), row.lang(), message).await?;
            Ok(true)
        })
        .await?;
    Ok(issued)
}

/// Checks a code; the booking's token and links when it matches.
pub async fn verify(ctx: &Ctx, code: &str, phone: &str, otp: &str) -> Result<Booked, RecoverError> {
    let otp = otp.trim();
    let (Some(code), Ok(phone)) = (BookingCode::parse(code), Phone::parse(phone)) else {
        return Err(RecoverError::Invalid);
    };
    if !otp::well_formed(otp) {
        return Err(RecoverError::Invalid);
    }
    let mut conn = ctx.conn().await?;
    let found = conn
        .transaction::<_, diesel::result::Error, _>(async |c| {
            let Some(row) =
                db::appointments::active_by_code_and_phone(c, &code, phone.e164()).await?
            else {
                return Ok(None);
            };
            let check =
                db::recovery::check(c, row.id, &code_hash(ctx, row.id, otp), MAX_TRIES).await?;
            Ok((check == Check::Matched).then_some(row.id()))
        })
        .await?;
    let id = found.ok_or(RecoverError::Invalid)?;
    let view = db::appointments::view(&mut conn, id)
        .await?
        .ok_or(RecoverError::Invalid)?;
    booked(ctx, view).map_err(|e| match e {
        crate::booking::BookingError::Fault(f) => RecoverError::Fault(f),
        _ => RecoverError::Invalid,
    })
}
