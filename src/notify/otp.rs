//! One-time codes sent to a phone (and email): six digits, kept only as a keyed hash bound to
//! what they unlock (`auth::otp`), sent as an `otp` message through the outbox. Link recovery
//! uses them; confirming a booking (DESIGN §9, `booking::hold`) uses the same codes, written by
//! the booking's own statement.

use diesel_async::AsyncPgConnection;
use serde_json::json;

use crate::context::Ctx;
use crate::db::outbox::Subject;
use crate::domain::notify::{Kind, Lang, Recipient};

pub use crate::auth::otp::{generate, well_formed};

/// The code's keyed hash, bound to `purpose` and the subject it unlocks (`auth::otp::hash`).
pub fn hash(ctx: &Ctx, purpose: &str, subject: uuid::Uuid, code: &str) -> Vec<u8> {
    crate::auth::otp::hash(&ctx.keys, purpose, subject, code)
}

/// A code as its message tells it.
pub struct Code<'a> {
    pub code: &'a str,
    /// The `round`-th code for its subject (one message per round).
    pub round: i32,
    /// Whole minutes the message promises it works (`domain::hold::minutes_left`).
    pub minutes: i64,
}

/// Sends `code` about `subject` to the recipient's channels, in the caller's transaction. Call
/// `Ctx::wake_outbox` after the commit.
pub async fn send(
    conn: &mut AsyncPgConnection,
    ctx: &Ctx,
    subject: Subject,
    to: &Recipient,
    lang: Lang,
    code: Code<'_>,
) -> Result<i32, diesel::result::Error> {
    super::enqueue(
        conn,
        ctx,
        subject,
        Kind::Otp,
        to,
        lang,
        &json!({"otp": code.code, "minutes": code.minutes}),
        code.round,
    )
    .await
}
