//! One-time codes sent to a phone (and email): six digits, kept only as a keyed hash bound to
//! what they unlock, sent as an `otp` message through the outbox. Link recovery uses them; so
//! can anything else that must prove the citizen holds the phone (confirming a booking,
//! DESIGN §9).

use diesel_async::AsyncPgConnection;
use serde_json::json;

use crate::context::Ctx;
use crate::db::outbox::Subject;
use crate::domain::notify::{Kind, Lang, Recipient};

/// A fresh six-digit code.
pub fn generate() -> String {
    format!("{:06}", rand::random_range(0..1_000_000u32))
}

/// The code's keyed hash, bound to `purpose` and the subject it unlocks (a code for one booking
/// or one purpose never matches another).
pub fn hash(ctx: &Ctx, purpose: &str, subject: uuid::Uuid, code: &str) -> Vec<u8> {
    ctx.keys.mac(
        &ctx.keys.request_hash,
        format!("{purpose}:{subject}:{code}").as_bytes(),
    )
}

/// Whether `raw` looks like a code at all (six digits).
pub fn well_formed(raw: &str) -> bool {
    raw.len() == 6 && raw.bytes().all(|b| b.is_ascii_digit())
}

/// Sends `code` about `subject` to the recipient's channels, in the caller's transaction (the
/// `round`-th code for this subject). Call `Ctx::wake_outbox` after the commit.
pub async fn send(
    conn: &mut AsyncPgConnection,
    ctx: &Ctx,
    subject: Subject,
    to: &Recipient,
    lang: Lang,
    code: &str,
    round: i32,
) -> Result<i32, diesel::result::Error> {
    super::enqueue(
        conn,
        ctx,
        subject,
        Kind::Otp,
        to,
        lang,
        &json!({"otp": code}),
        round,
    )
    .await
}
