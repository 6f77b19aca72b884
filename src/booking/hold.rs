//! Confirming a held booking (DESIGN §9 "Confirming a booking", issue 13 §3): the code sent to
//! the booking's phone turns `held` into `booked` — and only then are the booking's own message
//! and reminders written; another code on request, within limits; and the reaper that ends the
//! holds whose time is up. The rules (tries, codes, timings) are `domain::hold`; the SQL is
//! `db::holds`; `book` writes the hold and its first code in the booking's own statement.
//!
//! Why a reaper every `LOKET_HOLD_REAP_SECONDS` (15) is enough: nothing waits for it. The free times already
//! show an expired hold as free (`db::schedule`), the booking that takes that time ends the hold
//! in its way inside its own statement (`loket_book`), and the limits per phone and NIK ignore
//! expired holds. The reaper only makes the rest true in time — the clerk's list, the citizen's
//! page, the codes not yet sent — and with SKIP LOCKED every node can run it.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde_json::json;

use super::BookingError;
use crate::auth::otp;
use crate::context::Ctx;
use crate::db::{self, appointments::AppointmentView, holds::Released, outbox::Subject};
use crate::domain::hold::{self, Confirm, Ended, Resend, Wrong};
use crate::domain::ids::AppointmentId;
use crate::domain::notify::{self, Kind};
use crate::fault::Fault;
use crate::feed::FeedEvent;

/// What a booking confirmation code is bound to (besides the appointment).
const PURPOSE: &str = "confirm";
/// Holds ended per statement (a burst is done in several).
const REAP_BATCH: i32 = 500;

/// The keyed hash of a confirmation code for this appointment.
pub fn code_hash(ctx: &Ctx, id: uuid::Uuid, code: &str) -> Vec<u8> {
    otp::hash(&ctx.keys, PURPOSE, id, code)
}

/// What happened inside the transaction (the answer is given after it commits, so a wrong try
/// is counted even though the request fails).
enum Outcome {
    Confirmed,
    AlreadyConfirmed,
    Wrong { tries_left: i32 },
    UsedUp(Vec<Released>),
    Expired(Vec<Released>),
    Refused(BookingError),
}

/// Confirms the held booking `id` with `code`; answers the booking, now `booked`.
pub async fn confirm(
    ctx: &Ctx,
    id: AppointmentId,
    code: &str,
) -> Result<AppointmentView, BookingError> {
    let code = code.trim();
    if !otp::well_formed(code) {
        return Err(BookingError::field("otp", "must_be_6_digits"));
    }
    let given = code_hash(ctx, id.0, code);
    let rules = ctx.settings.notify_rules();
    let mut conn = ctx.conn().await?;
    let outcome = conn
        .transaction::<_, diesel::result::Error, _>(async |c| {
            let Some(locked) = db::holds::lock(c, id).await? else {
                return Ok(Outcome::Refused(BookingError::NotFound));
            };
            let status = locked.appointment.status();
            let Some((h, stored)) = locked.hold.as_ref() else {
                return Ok(Outcome::Refused(BookingError::NotHeld));
            };
            match hold::confirm(status, Some(h), Utc::now()) {
                Confirm::Check => {}
                Confirm::AlreadyConfirmed => return Ok(Outcome::AlreadyConfirmed),
                Confirm::Expired => {
                    let gone = db::holds::release(c, &[id.0], Ended::Expired, "system").await?;
                    return Ok(Outcome::Expired(gone));
                }
                Confirm::TooManyTries => return Ok(Outcome::Refused(BookingError::TooManyTries)),
                Confirm::CodeExpired => return Ok(Outcome::Refused(BookingError::CodeExpired)),
                Confirm::NotHeld => return Ok(Outcome::Refused(BookingError::NotHeld)),
            }
            if !otp::same(stored, &given) {
                db::holds::count_wrong(c, id).await?;
                return Ok(match hold::wrong(h.tries) {
                    Wrong::TryAgain { tries_left } => Outcome::Wrong { tries_left },
                    Wrong::UsedUp => Outcome::UsedUp(
                        db::holds::release(c, &[id.0], Ended::TooManyTries, "citizen").await?,
                    ),
                });
            }
            db::holds::confirm(c, &locked.appointment, &rules).await?;
            Ok(Outcome::Confirmed)
        })
        .await?;
    match outcome {
        Outcome::Confirmed | Outcome::AlreadyConfirmed => {
            let view = db::appointments::view(&mut conn, id)
                .await?
                .ok_or(BookingError::NotFound)?;
            if matches!(outcome, Outcome::Confirmed) {
                ctx.metrics.holds_confirmed.inc();
                tracing::info!(appointment = %id.0, "hold confirmed");
                ctx.feed.publish_appointment(&view.appointment);
                ctx.wake_outbox();
            }
            Ok(view)
        }
        Outcome::Wrong { tries_left } => Err(BookingError::InvalidCode { tries_left }),
        Outcome::UsedUp(gone) => {
            released(ctx, &gone);
            Err(BookingError::TooManyTries)
        }
        Outcome::Expired(gone) => {
            released(ctx, &gone);
            Err(BookingError::HoldExpired)
        }
        Outcome::Refused(e) => Err(e),
    }
}

/// A new code went out.
#[derive(Clone, Copy, Debug)]
pub struct Resent {
    pub hold_expires_at: DateTime<Utc>,
    pub code_expires_at: DateTime<Utc>,
    /// Codes this hold may still be sent after this one.
    pub resends_left: i32,
}

/// What asking for a code came to inside the transaction.
enum Asked {
    Sent(Resent),
    Expired(Vec<Released>),
    Refused(BookingError),
}

/// Sends the held booking `id` a new code (the old one stops working).
pub async fn resend(ctx: &Ctx, id: AppointmentId) -> Result<Resent, BookingError> {
    let rules = ctx.settings.notify_rules();
    let mut conn = ctx.conn().await?;
    let outcome = conn
        .transaction::<_, diesel::result::Error, _>(async |c| {
            let Some(locked) = db::holds::lock(c, id).await? else {
                return Ok(Asked::Refused(BookingError::NotFound));
            };
            let a = &locked.appointment;
            let h = locked.hold.as_ref().map(|(h, _)| h);
            let now = Utc::now();
            let code_expires_at = match hold::resend(a.status(), h, now) {
                Resend::Send { code_expires_at } => code_expires_at,
                Resend::TooSoon { retry_after_secs } => {
                    return Ok(Asked::Refused(BookingError::ResendTooSoon {
                        retry_after_secs,
                    }));
                }
                Resend::TooMany => return Ok(Asked::Refused(BookingError::TooManyResends)),
                Resend::Expired => {
                    let gone = db::holds::release(c, &[id.0], Ended::Expired, "system").await?;
                    return Ok(Asked::Expired(gone));
                }
                Resend::NotHeld => return Ok(Asked::Refused(BookingError::NotHeld)),
            };
            let code = otp::generate();
            let sends =
                db::holds::new_code(c, id, &code_hash(ctx, id.0, &code), code_expires_at).await?;
            let plan = notify::single(
                Kind::Otp,
                &a.recipient(),
                hold::otp_round(sends),
                &rules,
                now,
            );
            db::outbox::apply(
                c,
                Subject::appointment(id.0),
                a.lang(),
                &json!({"otp": code, "minutes": hold::minutes_left(now, code_expires_at)}),
                &plan,
            )
            .await?;
            Ok(Asked::Sent(Resent {
                hold_expires_at: a.hold_expires_at.unwrap_or(code_expires_at),
                code_expires_at,
                resends_left: (hold::MAX_SENDS - sends).max(0),
            }))
        })
        .await?;
    match outcome {
        Asked::Sent(resent) => {
            ctx.wake_outbox();
            Ok(resent)
        }
        Asked::Expired(gone) => {
            released(ctx, &gone);
            Err(BookingError::HoldExpired)
        }
        Asked::Refused(e) => Err(e),
    }
}

/// Ends every hold whose time is up (in batches); answers how many.
pub async fn reap(ctx: &Ctx) -> Result<usize, Fault> {
    let mut conn = ctx.conn().await?;
    let mut total = 0;
    loop {
        let gone = db::holds::expire_due(&mut conn, REAP_BATCH).await?;
        released(ctx, &gone);
        total += gone.len();
        if gone.len() < REAP_BATCH as usize {
            return Ok(total);
        }
    }
}

/// Runs [`reap`] every `hold_reap_seconds` on this node (every node may: see the module doc).
pub fn spawn_reaper(ctx: Arc<Ctx>) -> tokio::task::JoinHandle<()> {
    let period = std::time::Duration::from_secs(ctx.settings.hold_reap_seconds.max(1));
    tokio::spawn(async move {
        let mut every = tokio::time::interval(period);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            match reap(&ctx).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(holds = n, "unconfirmed holds ended"),
                Err(e) => tracing::warn!(error = %e, "ending unconfirmed holds failed; retrying"),
            }
        }
    })
}

/// Tells the staff dashboards and this node's free times that holds ended.
fn released(ctx: &Ctx, gone: &[Released]) {
    if gone.is_empty() {
        return;
    }
    ctx.metrics.holds_released.inc_by(gone.len() as u64);
    for &(appointment, staff) in gone {
        ctx.feed.publish(FeedEvent {
            appointment,
            staff,
            status: "cancelled".into(),
            citizen_waiting: false,
        });
    }
    ctx.slot_cache.invalidate();
}
