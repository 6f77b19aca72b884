//! The outbox's SQL (DESIGN §9; the rules are `domain::notify`): add a change's messages in the
//! caller's transaction, claim due ones under a lease with SKIP LOCKED, record what each send
//! answered (many at once), apply providers' status reports, and read them back for the
//! appointment views, the admin's Outbox page and the report.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Integer, Jsonb, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};
use uuid::Uuid;

use super::schema::{agencies, appointments, outbox, queue_tickets};
use crate::domain::notify::{Channel, Delivery, Kind, Lang, Plan, Planned};

/// What a message is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubjectKind {
    Appointment,
    /// A same-day queue ticket (issue 11).
    QueueTicket,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Appointment => "appointment",
            SubjectKind::QueueTicket => "queue_ticket",
        }
    }
    pub fn parse(s: &str) -> Option<SubjectKind> {
        match s {
            "appointment" => Some(SubjectKind::Appointment),
            "queue_ticket" => Some(SubjectKind::QueueTicket),
            _ => None,
        }
    }
}

/// A subject of messages: its kind and id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subject {
    pub kind: SubjectKind,
    pub id: Uuid,
}

impl Subject {
    pub fn appointment(id: Uuid) -> Subject {
        Subject {
            kind: SubjectKind::Appointment,
            id,
        }
    }
    pub fn queue_ticket(id: Uuid) -> Subject {
        Subject {
            kind: SubjectKind::QueueTicket,
            id,
        }
    }
}

/// The planned messages as `loket_outbox_apply` reads them.
pub fn messages_json(add: &[Planned]) -> Value {
    Value::Array(
        add.iter()
            .map(|m| {
                json!({"kind": m.kind.as_str(), "channel": m.channel.as_str(), "round": m.round,
                       "address": m.address, "due_at": m.due_at})
            })
            .collect(),
    )
}

diesel::define_sql_function! {
    /// `loket_outbox_apply(subject_kind, subject, lang, params, cancel, messages)`: see the
    /// outbox migration.
    fn loket_outbox_apply(
        subject_kind: Text,
        subject: diesel::sql_types::Uuid,
        lang: Text,
        params: Jsonb,
        cancel: Array<Text>,
        messages: Jsonb,
    ) -> Integer;
}

/// Applies a plan to a subject's outbox in the caller's transaction: the pending messages of
/// the plan's `cancel` kinds become `cancelled`, its messages are added once each. `params`
/// holds values the worker cannot read from the subject's own row (an OTP, a queue number).
/// Answers how many added messages are due now.
pub async fn apply(
    conn: &mut AsyncPgConnection,
    subject: Subject,
    lang: Lang,
    params: &Value,
    plan: &Plan,
) -> QueryResult<i32> {
    if plan.cancel.is_empty() && plan.add.is_empty() {
        return Ok(0);
    }
    let cancel: Vec<&str> = plan.cancel.iter().map(|k| k.as_str()).collect();
    diesel::select(loket_outbox_apply(
        subject.kind.as_str(),
        subject.id,
        lang.as_str(),
        params,
        cancel,
        messages_json(&plan.add),
    ))
    .get_result(conn)
    .await
}

/// A subject's messages to add in the caller's transaction, planned before it ran (a write
/// whose subject is decided inside another module's transaction — a queue call — is handed in
/// as this and applied there).
#[derive(Clone, Debug)]
pub struct Write {
    pub subject: Subject,
    pub lang: Lang,
    pub params: Value,
    pub plan: Plan,
}

/// Applies a [`Write`]; answers how many added messages are due now.
pub async fn write(conn: &mut AsyncPgConnection, w: &Write) -> QueryResult<i32> {
    apply(conn, w.subject, w.lang, &w.params, &w.plan).await
}

/// A message as a worker sends it.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = outbox, check_for_backend(diesel::pg::Pg))]
pub struct Message {
    pub id: Uuid,
    pub subject_kind: String,
    pub subject_id: Uuid,
    pub kind: String,
    pub channel: String,
    pub round: i32,
    pub address: String,
    pub lang: String,
    pub params: Value,
    pub status: String,
    pub status_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub attempts: i32,
    pub provider_id: Option<String>,
}

impl Message {
    pub fn kind(&self) -> Option<Kind> {
        Kind::parse(&self.kind)
    }
    pub fn channel(&self) -> Option<Channel> {
        Channel::parse(&self.channel)
    }
    pub fn lang(&self) -> Lang {
        Lang::parse(&self.lang).unwrap_or_default()
    }
    pub fn subject(&self) -> Option<Subject> {
        SubjectKind::parse(&self.subject_kind).map(|kind| Subject {
            kind,
            id: self.subject_id,
        })
    }
}

diesel::define_sql_function! {
    /// `loket_outbox_claim(limit, lease_ms)`: see the outbox migration.
    fn loket_outbox_claim(limit: Integer, lease_ms: Integer)
        -> diesel::pg::sql_types::Record<(diesel::sql_types::Uuid, diesel::sql_types::Bool)>;
}

/// A claimed message; `interrupted` when an earlier worker's lease on it ran out mid-send.
pub struct Claimed {
    pub message: Message,
    pub interrupted: bool,
}

/// Claims up to `limit` due messages for `lease_ms` (autocommit: the lease is visible to other
/// workers before anything is sent).
pub async fn claim(
    conn: &mut AsyncPgConnection,
    limit: i32,
    lease_ms: i32,
) -> QueryResult<Vec<Claimed>> {
    let ids: Vec<(Uuid, bool)> = diesel::select(loket_outbox_claim(limit, lease_ms))
        .load(conn)
        .await?;
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let only: Vec<Uuid> = ids.iter().map(|(id, _)| *id).collect();
    let rows: Vec<Message> = outbox::table
        .filter(outbox::id.eq_any(&only))
        .select(Message::as_select())
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|message| {
            let interrupted = ids.iter().any(|(id, i)| *id == message.id && *i);
            Claimed {
                message,
                interrupted,
            }
        })
        .collect())
}

/// What one send came to.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub id: Uuid,
    /// The message's new status (`Pending` to try again at `due_at`).
    pub status: Delivery,
    pub due_at: Option<DateTime<Utc>>,
    pub provider_id: Option<String>,
    pub preview: Option<String>,
    /// For the attempts table: accepted, transient, permanent, not_on_whatsapp,
    /// not_configured, interrupted, moot.
    pub attempt: &'static str,
    pub detail: Option<String>,
    pub took_ms: Option<i32>,
}

diesel::define_sql_function! {
    /// `loket_outbox_record(...)`: see the outbox migration.
    #[allow(clippy::too_many_arguments)]
    fn loket_outbox_record(
        ids: Array<diesel::sql_types::Uuid>,
        statuses: Array<Text>,
        due: Array<Nullable<Timestamptz>>,
        provider: Array<Nullable<Text>>,
        preview: Array<Nullable<Text>>,
        outcome: Array<Text>,
        detail: Array<Nullable<Text>>,
        took: Array<Nullable<Integer>>,
    ) -> Integer;
}

/// Records many outcomes in one statement.
pub async fn record(conn: &mut AsyncPgConnection, outcomes: &[Outcome]) -> QueryResult<i32> {
    if outcomes.is_empty() {
        return Ok(0);
    }
    diesel::select(loket_outbox_record(
        outcomes.iter().map(|o| o.id).collect::<Vec<_>>(),
        outcomes
            .iter()
            .map(|o| o.status.as_str())
            .collect::<Vec<_>>(),
        outcomes.iter().map(|o| o.due_at).collect::<Vec<_>>(),
        outcomes
            .iter()
            .map(|o| o.provider_id.clone())
            .collect::<Vec<_>>(),
        outcomes
            .iter()
            .map(|o| o.preview.clone())
            .collect::<Vec<_>>(),
        outcomes.iter().map(|o| o.attempt).collect::<Vec<_>>(),
        outcomes
            .iter()
            .map(|o| o.detail.clone())
            .collect::<Vec<_>>(),
        outcomes.iter().map(|o| o.took_ms).collect::<Vec<_>>(),
    ))
    .get_result(conn)
    .await
}

/// A provider's status report: moves the message it names (by the provider's id, or by our own
/// id echoed back) forward to `to`, if that is forward. Answers the message when it moved.
pub async fn report_status(
    conn: &mut AsyncPgConnection,
    channel: Channel,
    provider_id: &str,
    ours: Option<Uuid>,
    to: Delivery,
    at: DateTime<Utc>,
    error: Option<&str>,
) -> QueryResult<Option<Message>> {
    let froms: Vec<&str> = Delivery::ALL
        .iter()
        .filter(|d| d.can_become(to))
        .map(|d| d.as_str())
        .collect();
    let matches = outbox::provider_id
        .eq(provider_id)
        .or(outbox::id.eq(ours.unwrap_or(Uuid::nil())));
    diesel::update(
        outbox::table
            .filter(outbox::channel.eq(channel.as_str()))
            .filter(matches)
            .filter(outbox::status.eq_any(froms)),
    )
    .set((
        outbox::status.eq(to.as_str()),
        outbox::status_at.eq(at),
        outbox::provider_id.eq(diesel::dsl::sql::<Nullable<Text>>("coalesce(provider_id, ")
            .bind::<Text, _>(provider_id)
            .sql(")")),
        outbox::last_error.eq(error.map(|e| e.chars().take(500).collect::<String>())),
        // An SMS fallback may still need them while the message is only `sent`.
        outbox::params.eq(diesel::dsl::sql::<Jsonb>(if to == Delivery::Sent {
            "params"
        } else {
            "'{}'::jsonb"
        })),
    ))
    .returning(Message::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// How long the oldest message due for sending has waited, in seconds (0 when none is due).
/// Messages held by quiet hours or waiting for a retry are not due yet, so they do not count.
pub async fn oldest_due_seconds(conn: &mut AsyncPgConnection) -> QueryResult<f64> {
    let oldest: Option<DateTime<Utc>> = outbox::table
        .filter(outbox::status.eq(Delivery::Pending.as_str()))
        .filter(outbox::due_at.le(diesel::dsl::now))
        .select(diesel::dsl::min(outbox::due_at))
        .first(conn)
        .await?;
    Ok(oldest.map_or(0.0, |t| {
        ((Utc::now() - t).num_milliseconds().max(0) as f64) / 1000.0
    }))
}

/// WhatsApp messages sent longer than `after` ago that never reported `delivered`, with no SMS
/// sibling yet: the delivery-timeout fallback's candidates.
pub async fn undelivered(
    conn: &mut AsyncPgConnection,
    after: chrono::Duration,
    limit: i64,
) -> QueryResult<Vec<Message>> {
    let sms = diesel::alias!(outbox as sms);
    outbox::table
        .filter(outbox::channel.eq(Channel::Whatsapp.as_str()))
        .filter(outbox::status.eq(Delivery::Sent.as_str()))
        .filter(outbox::status_at.lt(Utc::now() - after))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            sms.filter(sms.field(outbox::subject_id).eq(outbox::subject_id))
                .filter(sms.field(outbox::kind).eq(outbox::kind))
                .filter(sms.field(outbox::round).eq(outbox::round))
                .filter(sms.field(outbox::channel).eq(Channel::Sms.as_str())),
        )))
        .order(outbox::status_at.asc())
        .limit(limit)
        .select(Message::as_select())
        .load(conn)
        .await
}

/// The fallback of a message on another channel, to the same address (a phone), due `at`.
pub async fn add_fallback(
    conn: &mut AsyncPgConnection,
    of: &Message,
    channel: Channel,
    at: DateTime<Utc>,
    params: &Value,
) -> QueryResult<i32> {
    let (Some(subject), Some(kind)) = (of.subject(), of.kind()) else {
        return Ok(0);
    };
    apply(
        conn,
        subject,
        of.lang(),
        params,
        &Plan {
            cancel: vec![],
            add: vec![Planned {
                kind,
                channel,
                address: of.address.clone(),
                due_at: at,
                round: of.round,
            }],
        },
    )
    .await
}

/// What the citizen and staff see of one message.
#[derive(Clone, Debug)]
pub struct Notice {
    pub subject_id: Uuid,
    pub kind: String,
    pub channel: String,
    pub status: String,
    /// When it will go (pending) or when it reached its status.
    pub at: DateTime<Utc>,
}

/// The messages of these subjects, oldest first (OTPs left out: they are about the person, not
/// the booking).
pub async fn notices(conn: &mut AsyncPgConnection, subjects: &[Uuid]) -> QueryResult<Vec<Notice>> {
    if subjects.is_empty() {
        return Ok(vec![]);
    }
    type Row = (Uuid, String, String, String, DateTime<Utc>, DateTime<Utc>);
    let rows: Vec<Row> = outbox::table
        .filter(outbox::subject_id.eq_any(subjects))
        .filter(outbox::kind.ne(Kind::Otp.as_str()))
        .order((outbox::subject_id, outbox::due_at.asc(), outbox::kind))
        .select((
            outbox::subject_id,
            outbox::kind,
            outbox::channel,
            outbox::status,
            outbox::status_at,
            outbox::due_at,
        ))
        .limit(2000)
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(subject_id, kind, channel, status, status_at, due_at)| Notice {
                subject_id,
                // A message still waiting shows when it will go; the others when they got there.
                at: if status == Delivery::Pending.as_str() {
                    due_at
                } else {
                    status_at
                },
                kind,
                channel,
                status,
            },
        )
        .collect())
}

/// One row of the admin's Outbox page.
#[derive(Clone, Debug, Queryable)]
pub struct OutboxEntry {
    pub id: Uuid,
    pub kind: String,
    pub channel: String,
    pub status: String,
    pub address: String,
    pub due_at: DateTime<Utc>,
    pub status_at: DateTime<Utc>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub preview: Option<String>,
    pub code: Option<String>,
    /// A queue number's agency letter and sequence, when the message is about one.
    pub ticket: Option<(String, i32)>,
}

/// The newest messages first, optionally of one status.
pub async fn entries(
    conn: &mut AsyncPgConnection,
    status: Option<Delivery>,
    limit: i64,
) -> QueryResult<Vec<OutboxEntry>> {
    let mut q = outbox::table
        .left_join(appointments::table.on(appointments::id.eq(outbox::subject_id)))
        .left_join(queue_tickets::table.on(queue_tickets::id.eq(outbox::subject_id)))
        .left_join(agencies::table.on(agencies::id.eq(queue_tickets::agency_id)))
        .order((outbox::created_at.desc(), outbox::id))
        .limit(limit)
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(outbox::status.eq(s.as_str()));
    }
    q.select((
        outbox::id,
        outbox::kind,
        outbox::channel,
        outbox::status,
        outbox::address,
        outbox::due_at,
        outbox::status_at,
        outbox::attempts,
        outbox::last_error,
        outbox::preview,
        appointments::code.nullable(),
        (agencies::queue_prefix, queue_tickets::seq).nullable(),
    ))
    .load(conn)
    .await
}

/// Delivery per channel for messages due in a window.
#[derive(Clone, Debug, Default)]
pub struct ChannelCounts {
    pub channel: String,
    pub total: i64,
    /// Accepted by the provider (including those since delivered or read).
    pub sent: i64,
    /// Reported delivered or read.
    pub delivered: i64,
    pub failed: i64,
    pub skipped: i64,
    pub pending: i64,
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = Text)]
    channel: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Missed {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Per channel: how many messages about appointments (of one agency, or all) were due in
/// `[from, to)` and where they are now; and how many reminders did not arrive — due over an
/// hour ago, not cancelled, and on no channel delivered (or, for email and SMS, which report no
/// delivery, accepted).
pub async fn delivery_counts(
    conn: &mut AsyncPgConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    agency: Option<Uuid>,
) -> QueryResult<(Vec<ChannelCounts>, i64)> {
    let scope = "FROM outbox o JOIN appointments a ON a.id = o.subject_id \
                 JOIN staff s ON s.id = a.staff_id \
                 WHERE o.subject_kind = 'appointment' AND o.due_at >= $1 AND o.due_at < $2 \
                   AND ($3::uuid IS NULL OR s.agency_id = $3)";
    let rows: Vec<CountRow> = diesel::sql_query(format!(
        "SELECT o.channel, o.status, count(*) AS n {scope} AND o.status <> 'cancelled' \
         GROUP BY o.channel, o.status"
    ))
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(to)
    .bind::<Nullable<diesel::sql_types::Uuid>, _>(agency)
    .load(conn)
    .await?;
    let mut out: Vec<ChannelCounts> = Channel::ALL
        .iter()
        .map(|c| ChannelCounts {
            channel: c.as_str().to_string(),
            ..Default::default()
        })
        .collect();
    for r in rows {
        let Some(c) = out.iter_mut().find(|c| c.channel == r.channel) else {
            continue;
        };
        c.total += r.n;
        match Delivery::parse(&r.status) {
            Some(Delivery::Sent) => c.sent += r.n,
            Some(Delivery::Delivered | Delivery::Read) => {
                c.sent += r.n;
                c.delivered += r.n;
            }
            Some(Delivery::Failed) => c.failed += r.n,
            Some(Delivery::Skipped) => c.skipped += r.n,
            Some(Delivery::Pending) => c.pending += r.n,
            Some(Delivery::Cancelled) | None => {}
        }
    }
    let missed: Missed = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM (SELECT 1 {scope} \
           AND o.kind IN ('reminder_day_before', 'reminder_soon', 'room_open') \
           AND o.due_at < now() - interval '1 hour' \
         GROUP BY o.subject_id, o.kind, o.round \
         HAVING bool_and(o.status <> 'cancelled') \
            AND NOT bool_or(o.status IN ('delivered', 'read') \
                            OR (o.status = 'sent' AND o.channel <> 'whatsapp'))) x"
    ))
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(to)
    .bind::<Nullable<diesel::sql_types::Uuid>, _>(agency)
    .get_result(conn)
    .await?;
    Ok((out, missed.n))
}
