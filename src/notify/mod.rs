//! Reaching citizens outside the browser (DESIGN §9): the outbox's workers and channels, the
//! WhatsApp status webhook, link recovery by one-time code, and what staff and citizens see of
//! their messages. The rules (what is due when, retries, forward-only states) are
//! `domain::notify`; the words are `domain::messages`; the SQL is `db::outbox`.
//!
//! Messages are written by the change that causes them, in its transaction (`db::appointments`
//! for bookings and their changes). Another subject enqueues its own with [`enqueue`] inside its
//! own transaction, then calls `Ctx::wake_outbox`; a queue number's messages are planned by
//! `queue::notify` and written inside `db::queue`'s transactions (`db::outbox::Write`).

pub mod channels;
pub mod compose;
pub mod email;
pub mod otp;
pub mod recover;
pub mod sender;
pub mod sms;
pub mod whatsapp;
pub mod worker;

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use serde::Deserialize;
use serde_json::Value;

pub use channels::Channels;
pub use worker::Workers;

use crate::context::Ctx;
use crate::db::{self, outbox::Subject};
use crate::domain::notify::{self as rules, Channel, Delivery, Kind, Lang, Recipient};
use crate::fault::Fault;

/// Enqueues one message of `kind` about `subject` to each of the recipient's first channels
/// (WhatsApp to the phone, email when given; SMS follows WhatsApp if it fails), in the caller's
/// transaction. `params` are the template's values the subject's row cannot give (for a queue
/// ticket: `name`, `ticket`, `service`, `minutes`, `counter`, `status`); `round` tells apart the
/// same kind sent again about the same subject. Stored at most once per (subject, kind,
/// channel, round). Answers how many are due now; call `Ctx::wake_outbox` after the commit.
#[allow(clippy::too_many_arguments)]
pub async fn enqueue(
    conn: &mut AsyncPgConnection,
    ctx: &Ctx,
    subject: Subject,
    kind: Kind,
    to: &Recipient,
    lang: Lang,
    params: &Value,
    round: i32,
) -> Result<i32, diesel::result::Error> {
    let plan = rules::single(kind, to, round, &ctx.settings.notify_rules(), Utc::now());
    db::outbox::apply(conn, subject, lang, params, &plan).await
}

/// Why a webhook call was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("the signature does not match")]
    BadSignature,
    #[error("the webhook is not configured")]
    NotConfigured,
    #[error("the body is not a WhatsApp notification")]
    Malformed,
    #[error(transparent)]
    Fault(#[from] Fault),
}
crate::fault_from!(WebhookError);

/// The verify-token handshake: the challenge to echo, when mode and token are right.
pub fn whatsapp_handshake(
    ctx: &Ctx,
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&str>,
) -> Option<String> {
    let expected = ctx.settings.notify.whatsapp_verify_token.as_ref()?;
    let token = token?;
    let same = token.len() == expected.expose().len()
        && token
            .bytes()
            .zip(expected.expose().bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    (mode == Some("subscribe") && same).then(|| challenge.unwrap_or("").chars().take(200).collect())
}

#[derive(Deserialize)]
struct Notification {
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<ChangeIn>,
}

#[derive(Deserialize)]
struct ChangeIn {
    #[serde(default)]
    value: ValueIn,
}

#[derive(Deserialize, Default)]
struct ValueIn {
    #[serde(default)]
    statuses: Vec<StatusIn>,
}

#[derive(Deserialize)]
struct StatusIn {
    id: String,
    status: String,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    biz_opaque_callback_data: Option<String>,
    #[serde(default)]
    errors: Vec<ErrorIn>,
}

#[derive(Deserialize)]
struct ErrorIn {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    title: String,
}

/// At most this many statuses are applied from one body.
const MAX_STATUSES: usize = 1000;

/// Applies a signed WhatsApp status notification; answers how many messages moved. A status
/// that would move a message backwards (a late `sent` after `read`) changes nothing; a
/// `failed` sends the SMS.
pub async fn whatsapp_statuses(
    ctx: &Ctx,
    body: &[u8],
    signature: Option<&str>,
) -> Result<usize, WebhookError> {
    let secret = ctx
        .settings
        .notify
        .whatsapp_app_secret
        .as_ref()
        .ok_or(WebhookError::NotConfigured)?;
    if !whatsapp::signature_ok(secret.expose(), body, signature) {
        return Err(WebhookError::BadSignature);
    }
    let n: Notification = serde_json::from_slice(body).map_err(|_| WebhookError::Malformed)?;
    let statuses = n
        .entry
        .into_iter()
        .flat_map(|e| e.changes)
        .flat_map(|c| c.value.statuses)
        .take(MAX_STATUSES);
    let rules = ctx.settings.notify_rules();
    let mut conn = ctx.conn().await?;
    let mut moved = 0;
    let mut fallbacks = 0;
    for s in statuses {
        let to = match s.status.as_str() {
            "sent" => Delivery::Sent,
            "delivered" => Delivery::Delivered,
            "read" => Delivery::Read,
            "failed" => Delivery::Failed,
            _ => continue,
        };
        let at = s
            .timestamp
            .as_deref()
            .and_then(|t| t.parse::<i64>().ok())
            .and_then(|t| DateTime::<Utc>::from_timestamp(t, 0))
            .filter(|t| (*t - Utc::now()).num_minutes().abs() < 7 * 24 * 60)
            .unwrap_or_else(Utc::now);
        let ours = s
            .biz_opaque_callback_data
            .as_deref()
            .and_then(|d| uuid::Uuid::parse_str(d).ok());
        let error = s.errors.first().map(|e| format!("{}: {}", e.code, e.title));
        let moved_msg = db::outbox::report_status(
            &mut conn,
            Channel::Whatsapp,
            &s.id,
            ours,
            to,
            at,
            error.as_deref(),
        )
        .await?;
        if let Some(m) = moved_msg {
            moved += 1;
            ctx.metrics
                .outbox_message(to.as_str(), Channel::Whatsapp.as_str());
            if to == Delivery::Failed
                && let Some(kind) = m.kind()
            {
                let when = rules::fallback_due(kind, m.due_at, Utc::now(), &rules);
                fallbacks +=
                    db::outbox::add_fallback(&mut conn, &m, Channel::Sms, when, &m.params).await?;
            }
        }
    }
    if fallbacks > 0 {
        ctx.wake_outbox();
    }
    Ok(moved)
}

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("admins only")]
    InsufficientRole,
    #[error(transparent)]
    Fault(#[from] Fault),
}
crate::fault_from!(OutboxError);

/// The newest messages first (at most 500), as the admin's Outbox page lists them: what Loket
/// sent, or would have sent through a channel without settings.
pub async fn outbox_entries(
    ctx: &Ctx,
    me: &crate::auth::StaffSession,
    status: Option<Delivery>,
    limit: i64,
) -> Result<Vec<db::outbox::OutboxEntry>, OutboxError> {
    if !me.has_role(&[crate::domain::schedule::Role::Admin]) {
        return Err(OutboxError::InsufficientRole);
    }
    let mut conn = ctx.conn().await?;
    Ok(db::outbox::entries(&mut conn, status, limit.clamp(1, 500)).await?)
}

/// An address with most of it hidden: `+62812****7890`, `bu***@example.org`.
pub fn masked_address(a: &str) -> String {
    if let Some((local, domain)) = a.split_once('@') {
        let keep: String = local.chars().take(2).collect();
        return format!("{keep}***@{domain}");
    }
    let chars: Vec<char> = a.chars().collect();
    if chars.len() <= 8 {
        return "****".into();
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}
