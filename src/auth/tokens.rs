//! Signed tokens (HS256). A citizen token names exactly one appointment; a queue token names
//! exactly one queue number (its own key and audience: it opens no appointment); a staff token
//! names a staff member and the session epoch it was minted in (logout bumps the epoch).

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Keys;
use crate::domain::ids::{AppointmentId, StaffId, TicketId};

const CITIZEN_AUD: &str = "loket-citizen";
const STAFF_AUD: &str = "loket-staff";
const QUEUE_AUD: &str = "loket-queue";

/// How long a queue token lives: its day and the next (a number belongs to one day; the page
/// may still show how it ended the morning after).
pub const QUEUE_TOKEN_HOURS: i64 = 48;

/// How long a citizen token lives after the booking is made: past the longest horizon plus a
/// month to fill in the survey and download the calendar file.
pub const CITIZEN_TOKEN_DAYS: i64 = 400;
pub const STAFF_SESSION_HOURS: i64 = 12;

#[derive(Debug, Serialize, Deserialize)]
struct CitizenClaims {
    sub: Uuid,
    aud: String,
    iat: i64,
    exp: i64,
}

#[derive(Debug, Serialize, Deserialize)]
struct StaffClaims {
    sub: Uuid,
    aud: String,
    iat: i64,
    exp: i64,
    epoch: i32,
}

fn validation(aud: &str) -> Validation {
    let mut v = Validation::new(Algorithm::HS256);
    v.set_audience(&[aud]);
    v.set_required_spec_claims(&["exp", "aud", "sub", "iat"]);
    v.leeway = 30;
    v
}

/// The citizen token for an appointment. Deterministic in (appointment, issued_at), so a replayed
/// idempotent booking returns the very same token.
pub fn citizen_token(
    keys: &Keys,
    appointment: AppointmentId,
    issued_at: DateTime<Utc>,
) -> anyhow::Result<String> {
    let iat = issued_at.timestamp();
    let claims = CitizenClaims {
        sub: appointment.0,
        aud: CITIZEN_AUD.into(),
        iat,
        exp: iat + CITIZEN_TOKEN_DAYS * 86_400,
    };
    Ok(encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&keys.citizen_jwt),
    )?)
}

pub fn verify_citizen(keys: &Keys, token: &str) -> Option<AppointmentId> {
    if token.len() > 2048 {
        return None;
    }
    decode::<CitizenClaims>(
        token,
        &DecodingKey::from_secret(&keys.citizen_jwt),
        &validation(CITIZEN_AUD),
    )
    .ok()
    .map(|d| AppointmentId(d.claims.sub))
}

/// The token of a queue number. Deterministic in (ticket, taken_at), so it can be given again.
pub fn queue_token(
    keys: &Keys,
    ticket: TicketId,
    taken_at: DateTime<Utc>,
) -> anyhow::Result<String> {
    let iat = taken_at.timestamp();
    let claims = CitizenClaims {
        sub: ticket.0,
        aud: QUEUE_AUD.into(),
        iat,
        exp: iat + QUEUE_TOKEN_HOURS * 3600,
    };
    Ok(encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&keys.queue_jwt),
    )?)
}

pub fn verify_queue(keys: &Keys, token: &str) -> Option<TicketId> {
    if token.len() > 2048 {
        return None;
    }
    decode::<CitizenClaims>(
        token,
        &DecodingKey::from_secret(&keys.queue_jwt),
        &validation(QUEUE_AUD),
    )
    .ok()
    .map(|d| TicketId(d.claims.sub))
}

pub fn staff_token(keys: &Keys, staff: StaffId, epoch: i32) -> anyhow::Result<String> {
    let iat = Utc::now().timestamp();
    let claims = StaffClaims {
        sub: staff.0,
        aud: STAFF_AUD.into(),
        iat,
        exp: iat + STAFF_SESSION_HOURS * 3600,
        epoch,
    };
    Ok(encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&keys.staff_jwt),
    )?)
}

/// (staff id, epoch) when the signature, audience and expiry check out.
pub fn verify_staff(keys: &Keys, token: &str) -> Option<(StaffId, i32)> {
    if token.len() > 2048 {
        return None;
    }
    decode::<StaffClaims>(
        token,
        &DecodingKey::from_secret(&keys.staff_jwt),
        &validation(STAFF_AUD),
    )
    .ok()
    .map(|d| (StaffId(d.claims.sub), d.claims.epoch))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    #[test]
    fn tokens_are_bound_to_their_kind_and_key() {
        let keys = Keys::derive(&Secret::new("k".repeat(40)));
        let appt = AppointmentId::new();
        let t = citizen_token(&keys, appt, Utc::now()).unwrap();
        assert_eq!(verify_citizen(&keys, &t), Some(appt));
        assert_eq!(
            verify_staff(&keys, &t),
            None,
            "a citizen token is no staff token"
        );
        let other = Keys::derive(&Secret::new("j".repeat(40)));
        assert_eq!(verify_citizen(&other, &t), None, "forged/foreign key");
        let old = citizen_token(&keys, appt, Utc::now() - chrono::Duration::days(401)).unwrap();
        assert_eq!(verify_citizen(&keys, &old), None, "expired");
        let staff = StaffId::new();
        let s = staff_token(&keys, staff, 3).unwrap();
        assert_eq!(verify_staff(&keys, &s), Some((staff, 3)));
        assert_eq!(verify_citizen(&keys, &s), None);
        let same = citizen_token(
            &keys,
            appt,
            DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        );
        let again = citizen_token(
            &keys,
            appt,
            DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        );
        assert_eq!(same.unwrap(), again.unwrap());
    }

    #[test]
    fn a_queue_token_opens_only_its_number() {
        let keys = Keys::derive(&Secret::new("k".repeat(40)));
        let ticket = TicketId::new();
        let q = queue_token(&keys, ticket, Utc::now()).unwrap();
        assert_eq!(verify_queue(&keys, &q), Some(ticket));
        assert_eq!(verify_citizen(&keys, &q), None, "no appointment's token");
        assert_eq!(verify_staff(&keys, &q), None);
        let appt = citizen_token(&keys, AppointmentId(ticket.0), Utc::now()).unwrap();
        assert_eq!(
            verify_queue(&keys, &appt),
            None,
            "an appointment's token is no number's"
        );
        let old = queue_token(&keys, ticket, Utc::now() - chrono::Duration::hours(49)).unwrap();
        assert_eq!(verify_queue(&keys, &old), None, "expired after two days");
    }
}
