//! The outbox's rules, pure: which messages a change causes and when each is due, what a
//! reschedule moves and a cancel makes moot, quiet hours, retries with backoff and jitter, and
//! the delivery states, which only move forward. The shell (`db::outbox`, `notify/`) stores
//! and sends what these functions decide; nothing here reads a clock, a socket or a database.
//!
//! Rules:
//! - A message is one (subject, kind, channel, round). `round` tells apart the same kind sent
//!   again for a later change of the same subject (the second reschedule, the reminders of the
//!   new time); the database keeps that key unique, so planning the same thing twice stores it
//!   once and a retry or a second node never sends it twice.
//! - A change's own message is due now, on WhatsApp (to the phone) and by email when the
//!   citizen gave one. SMS is the fallback for WhatsApp, never planned first.
//! - Reminders: `reminder_day_before` at 18:00 site time the day before, `reminder_soon` 60
//!   minutes before, `room_open` when the room opens (`join_opens_minutes` before). A reminder
//!   already past, or due within [`MIN_REMINDER_GAP`] of the booking itself, is not planned:
//!   the confirmation just said the same.
//! - A reschedule cancels the reminders still pending and plans those of the new time under the
//!   change's round (a reminder already sent for the old time is not "moved": the new one is a
//!   new message). A cancel, a no-show, a completion or a needed new time cancel every reminder
//!   still pending; a cancel also makes a not-yet-sent confirmation moot.
//! - Quiet hours (default 21:00-06:00 site time) hold a message until they end unless it is
//!   urgent (an OTP, `reminder_soon`, `room_open`, the queue's calls) or the citizen's own
//!   action caused it at that moment (their booking's confirmation: they are awake).
//! - Retries: a timeout, a 5xx or a 429 is tried again after `base * 2^(n-1)` (capped), scaled
//!   by a jitter in [0.5, 1) so a crowd of failures does not retry in step; a permanent 4xx, or
//!   the last allowed attempt, fails. WhatsApp's "not on WhatsApp", a WhatsApp failure or a
//!   WhatsApp channel without settings falls back to SMS.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::appointment::Status;
use super::queue::TicketState;

/// What a message is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Booked,
    Rescheduled,
    Cancelled,
    Reassigned,
    NeedsNewTime,
    ReminderDayBefore,
    ReminderSoon,
    RoomOpen,
    Completed,
    Otp,
    QueueNear,
    QueueCalled,
}

impl Kind {
    pub const ALL: [Kind; 12] = [
        Kind::Booked,
        Kind::Rescheduled,
        Kind::Cancelled,
        Kind::Reassigned,
        Kind::NeedsNewTime,
        Kind::ReminderDayBefore,
        Kind::ReminderSoon,
        Kind::RoomOpen,
        Kind::Completed,
        Kind::Otp,
        Kind::QueueNear,
        Kind::QueueCalled,
    ];
    pub const REMINDERS: [Kind; 3] = [Kind::ReminderDayBefore, Kind::ReminderSoon, Kind::RoomOpen];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Booked => "booked",
            Kind::Rescheduled => "rescheduled",
            Kind::Cancelled => "cancelled",
            Kind::Reassigned => "reassigned",
            Kind::NeedsNewTime => "needs_new_time",
            Kind::ReminderDayBefore => "reminder_day_before",
            Kind::ReminderSoon => "reminder_soon",
            Kind::RoomOpen => "room_open",
            Kind::Completed => "completed",
            Kind::Otp => "otp",
            Kind::QueueNear => "queue_near",
            Kind::QueueCalled => "queue_called",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Sent even in quiet hours: it is useless later.
    pub fn urgent(self) -> bool {
        matches!(
            self,
            Kind::Otp | Kind::ReminderSoon | Kind::RoomOpen | Kind::QueueNear | Kind::QueueCalled
        )
    }

    pub fn is_reminder(self) -> bool {
        Kind::REMINDERS.contains(&self)
    }
}

/// How a message travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Whatsapp,
    Sms,
    Email,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Whatsapp, Channel::Sms, Channel::Email];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Whatsapp => "whatsapp",
            Channel::Sms => "sms",
            Channel::Email => "email",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Where a message goes when this channel cannot deliver it.
    pub fn fallback(self) -> Option<Channel> {
        match self {
            Channel::Whatsapp => Some(Channel::Sms),
            Channel::Sms | Channel::Email => None,
        }
    }
}

/// Where a message is in its life. Forward only: `pending → sent → delivered → read`; `failed`
/// from pending or sent (a provider can report a failure after accepting); `skipped` (no
/// settings for the channel) and `cancelled` (made moot) only from pending.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    Pending,
    Sent,
    Delivered,
    Read,
    Failed,
    Skipped,
    Cancelled,
}

impl Delivery {
    pub const ALL: [Delivery; 7] = [
        Delivery::Pending,
        Delivery::Sent,
        Delivery::Delivered,
        Delivery::Read,
        Delivery::Failed,
        Delivery::Skipped,
        Delivery::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Pending => "pending",
            Delivery::Sent => "sent",
            Delivery::Delivered => "delivered",
            Delivery::Read => "read",
            Delivery::Failed => "failed",
            Delivery::Skipped => "skipped",
            Delivery::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Delivery> {
        Delivery::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// Whether `self → to` is a move forward (the outbox's trigger enforces the same table).
    pub fn can_become(self, to: Delivery) -> bool {
        use Delivery::*;
        matches!(
            (self, to),
            (
                Pending,
                Sent | Delivered | Read | Failed | Skipped | Cancelled
            ) | (Sent, Delivered | Read | Failed)
                | (Delivered, Read)
        )
    }

    /// Reached the citizen's device.
    pub fn arrived(self) -> bool {
        matches!(self, Delivery::Delivered | Delivery::Read)
    }
}

/// The language a citizen booked in.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    #[default]
    Id,
    En,
}

impl Lang {
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Id => "id",
            Lang::En => "en",
        }
    }

    /// `id`, `en`, or a tag such as `en-GB` / `id-ID`; anything else is refused.
    pub fn parse(raw: &str) -> Option<Lang> {
        let primary = raw.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "id" | "in" => Some(Lang::Id),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
}

/// Hours in which non-urgent messages wait, in site time; the window may span midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuietHours {
    pub from: NaiveTime,
    pub until: NaiveTime,
}

impl Default for QuietHours {
    fn default() -> Self {
        QuietHours {
            from: NaiveTime::from_hms_opt(21, 0, 0).unwrap_or_default(),
            until: NaiveTime::from_hms_opt(6, 0, 0).unwrap_or_default(),
        }
    }
}

impl QuietHours {
    /// `21:00-06:00`; `off` (or an empty window such as `00:00-00:00`) holds nothing.
    pub fn parse(raw: &str) -> Option<QuietHours> {
        let raw = raw.trim();
        if raw.eq_ignore_ascii_case("off") || raw.eq_ignore_ascii_case("none") {
            let midnight = NaiveTime::MIN;
            return Some(QuietHours {
                from: midnight,
                until: midnight,
            });
        }
        let (a, b) = raw.split_once('-')?;
        let t = |s: &str| NaiveTime::parse_from_str(s.trim(), "%H:%M").ok();
        Some(QuietHours {
            from: t(a)?,
            until: t(b)?,
        })
    }

    pub fn contains(&self, t: NaiveTime) -> bool {
        if self.from <= self.until {
            self.from <= t && t < self.until
        } else {
            t >= self.from || t < self.until
        }
    }

    /// `at`, or the end of the quiet window it falls in.
    pub fn release(&self, at: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        let local = at.with_timezone(&tz);
        if !self.contains(local.time()) {
            return at;
        }
        let mut day = local.date_naive();
        if local.time() >= self.until {
            day = day.succ_opt().unwrap_or(day);
        }
        local_time(tz, day, self.until).unwrap_or(at).max(at)
    }
}

/// A wall-clock time on a date in the site's zone (the earlier one in a repeated hour; a time
/// skipped by a clock change moves an hour on).
fn local_time(tz: Tz, day: chrono::NaiveDate, t: NaiveTime) -> Option<DateTime<Utc>> {
    let naive = day.and_time(t);
    tz.from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(naive + Duration::hours(1)))
                .earliest()
        })
        .map(|d| d.with_timezone(&Utc))
}

/// The deployment's settings the planning needs.
#[derive(Clone, Copy, Debug)]
pub struct Rules {
    pub tz: Tz,
    pub join_opens_minutes: i64,
    pub quiet: QuietHours,
    pub retry: RetryPolicy,
}

/// The day-before reminder's local time.
pub const DAY_BEFORE_AT: (u32, u32) = (18, 0);
/// `reminder_soon` goes this long before the start.
pub const SOON_MINUTES: i64 = 60;
/// A reminder due sooner than this after the change that planned it is left out.
pub const MIN_REMINDER_GAP: Duration = Duration::minutes(30);

/// Who caused a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    Citizen,
    Staff,
    System,
}

/// A change to an appointment that may cause messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Booked,
    Rescheduled,
    Reassigned,
    Cancelled,
    Completed,
    NoShow,
    NeedsNewTime,
    /// booked ↔ waiting ↔ in_call: the room's comings and goings.
    InRoom,
    /// A hold ended unconfirmed (DESIGN §9): the citizen was never told of a booking, so
    /// nothing is said; its codes still pending are moot.
    HoldReleased,
}

impl Change {
    /// The change a status move is.
    pub fn of_status(to: Status) -> Change {
        match to {
            Status::Cancelled => Change::Cancelled,
            Status::Completed => Change::Completed,
            Status::NoShow => Change::NoShow,
            Status::Held | Status::Booked | Status::Waiting | Status::InCall => Change::InRoom,
        }
    }
}

/// Where a citizen can be reached.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recipient {
    /// E.164 with the plus (`+62812…`).
    pub phone: Option<String>,
    pub email: Option<String>,
}

impl Recipient {
    /// The first channels for a message: WhatsApp to the phone, email when given.
    pub fn channels(&self) -> Vec<(Channel, String)> {
        let mut out = Vec::new();
        if let Some(p) = &self.phone {
            out.push((Channel::Whatsapp, p.clone()));
        }
        if let Some(e) = &self.email {
            out.push((Channel::Email, e.clone()));
        }
        out
    }
}

/// One message to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    pub kind: Kind,
    pub channel: Channel,
    pub address: String,
    pub due_at: DateTime<Utc>,
    pub round: i32,
}

/// What a change does to a subject's outbox: the still-pending messages of these kinds become
/// `cancelled`, then these messages are added (a message already stored is left as it is).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub cancel: Vec<Kind>,
    pub add: Vec<Planned>,
}

/// The reminders of an appointment starting at `starts_at`, planned at `now`.
pub fn reminders(
    starts_at: DateTime<Utc>,
    now: DateTime<Utc>,
    rules: &Rules,
) -> Vec<(Kind, DateTime<Utc>)> {
    let mut out = Vec::new();
    let local = starts_at.with_timezone(&rules.tz);
    let day_before_at = NaiveTime::from_hms_opt(DAY_BEFORE_AT.0, DAY_BEFORE_AT.1, 0);
    if let (Some(day), Some(at)) = (local.date_naive().pred_opt(), day_before_at)
        && let Some(due) = local_time(rules.tz, day, at)
        && due >= now + MIN_REMINDER_GAP
    {
        out.push((Kind::ReminderDayBefore, due));
    }
    let soon = starts_at - Duration::minutes(SOON_MINUTES);
    if soon >= now + MIN_REMINDER_GAP {
        out.push((Kind::ReminderSoon, soon));
    }
    let open = starts_at - Duration::minutes(rules.join_opens_minutes);
    if open > now {
        out.push((Kind::RoomOpen, open));
    }
    out
}

/// When a message planned at `now` is due: now, or after the quiet hours.
pub fn due(kind: Kind, by: Actor, at: DateTime<Utc>, rules: &Rules) -> DateTime<Utc> {
    let answers_the_citizen =
        by == Actor::Citizen && matches!(kind, Kind::Booked | Kind::Rescheduled | Kind::Cancelled);
    if kind.urgent() || answers_the_citizen {
        at
    } else {
        rules.quiet.release(at, rules.tz)
    }
}

/// What `change` (caused by `by`, the subject's `round`-th change) does to an appointment's
/// outbox. `starts_at` is the appointment's start after the change.
pub fn plan(
    change: Change,
    by: Actor,
    to: &Recipient,
    starts_at: DateTime<Utc>,
    round: i32,
    rules: &Rules,
    now: DateTime<Utc>,
) -> Plan {
    let own = |kind: Kind, round: i32| -> Vec<Planned> {
        to.channels()
            .into_iter()
            .map(|(channel, address)| Planned {
                kind,
                channel,
                address,
                due_at: due(kind, by, now, rules),
                round,
            })
            .collect()
    };
    let with_reminders = |mut add: Vec<Planned>, round: i32| {
        for (kind, at) in reminders(starts_at, now, rules) {
            for (channel, address) in to.channels() {
                add.push(Planned {
                    kind,
                    channel,
                    address,
                    due_at: due(kind, Actor::System, at, rules),
                    round,
                });
            }
        }
        add
    };
    let reminders_moot = Kind::REMINDERS.to_vec();
    match change {
        Change::Booked => Plan {
            cancel: vec![],
            add: with_reminders(own(Kind::Booked, 0), 0),
        },
        Change::Rescheduled => Plan {
            cancel: [reminders_moot, vec![Kind::NeedsNewTime]].concat(),
            add: with_reminders(own(Kind::Rescheduled, round), round),
        },
        Change::Reassigned => Plan {
            cancel: vec![],
            add: own(Kind::Reassigned, round),
        },
        Change::Cancelled => Plan {
            cancel: [
                reminders_moot,
                vec![
                    Kind::Booked,
                    Kind::Rescheduled,
                    Kind::Reassigned,
                    Kind::NeedsNewTime,
                ],
            ]
            .concat(),
            add: own(Kind::Cancelled, round),
        },
        Change::Completed => Plan {
            cancel: reminders_moot,
            add: own(Kind::Completed, round),
        },
        Change::NoShow => Plan {
            cancel: reminders_moot,
            add: vec![],
        },
        Change::NeedsNewTime => Plan {
            cancel: reminders_moot,
            add: own(Kind::NeedsNewTime, round),
        },
        Change::InRoom => Plan::default(),
        Change::HoldReleased => Plan {
            cancel: vec![Kind::Otp],
            add: vec![],
        },
    }
}

/// One message of `kind` on each of the recipient's first channels, planned by the system at
/// `now` (an OTP, a queue call): no reminders, nothing cancelled.
pub fn single(kind: Kind, to: &Recipient, round: i32, rules: &Rules, now: DateTime<Utc>) -> Plan {
    Plan {
        cancel: vec![],
        add: to
            .channels()
            .into_iter()
            .map(|(channel, address)| Planned {
                kind,
                channel,
                address,
                due_at: due(kind, Actor::System, now, rules),
                round,
            })
            .collect(),
    }
}

/// Whether a message about an appointment is still worth sending at `now` (checked just
/// before sending, so what a change forgot to cancel is still not sent).
pub fn still_relevant(
    kind: Kind,
    status: Status,
    starts_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> bool {
    match kind {
        Kind::ReminderDayBefore | Kind::ReminderSoon => status == Status::Booked && now < starts_at,
        Kind::RoomOpen => {
            status == Status::Booked && now < starts_at + Duration::minutes(SOON_MINUTES)
        }
        // Nothing about a booking is said while it is only held (DESIGN §9).
        Kind::Booked | Kind::Rescheduled | Kind::Reassigned | Kind::NeedsNewTime => {
            status.is_active() && status != Status::Held
        }
        Kind::Cancelled => status == Status::Cancelled,
        Kind::Completed => status == Status::Completed,
        Kind::Otp | Kind::QueueNear | Kind::QueueCalled => true,
    }
}

/// Whether a message about a queue number is still worth sending, given the number's state
/// now: "your turn is near" only while it waits, "you are called" only while the call stands
/// (a citizen already at the counter or in the call, or a number finished, is not told).
/// Other kinds are not about a number: always.
pub fn ticket_still_relevant(kind: Kind, state: TicketState) -> bool {
    match kind {
        Kind::QueueNear => state == TicketState::Waiting,
        Kind::QueueCalled => state == TicketState::Called,
        _ => true,
    }
}

/// When the fallback of a message (first due at `first_due`) goes out: at once while the
/// message is fresh, otherwise (a WhatsApp message that never arrived) after the quiet hours
/// unless it is urgent.
pub fn fallback_due(
    kind: Kind,
    first_due: DateTime<Utc>,
    now: DateTime<Utc>,
    rules: &Rules,
) -> DateTime<Utc> {
    if now - first_due < Duration::minutes(15) {
        now
    } else {
        due(kind, Actor::System, now, rules)
    }
}

/// How long a WhatsApp message may stay without `delivered` before its SMS goes too: the
/// configured wait, and at most a minute for what is useless later (an OTP, the room opening).
pub fn delivery_timeout(kind: Kind, configured: Duration) -> Duration {
    if kind.urgent() {
        configured.min(Duration::minutes(1))
    } else {
        configured
    }
}

/// What a provider answered to one send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendResult {
    /// Accepted; the provider's id for later status reports, when it has one.
    Accepted { provider_id: Option<String> },
    /// Worth trying again: timeout, connection refused, 5xx, 429.
    Transient(String),
    /// Will never work as sent: a 4xx other than 429.
    Permanent(String),
    /// WhatsApp: the number has no WhatsApp account.
    NotOnWhatsapp(String),
    /// The channel has no settings here.
    NotConfigured,
}

/// How often and how patiently to retry.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub base: Duration,
    pub cap: Duration,
    pub max_attempts: i32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::seconds(30),
            cap: Duration::hours(1),
            max_attempts: 8,
        }
    }
}

/// The wait before attempt `attempt + 1` after `attempt` failed: exponential, capped, scaled
/// by `0.5 + jitter / 2` (`jitter` in [0, 1)), so it stays within [half, all] of the step.
pub fn backoff(attempt: i32, policy: &RetryPolicy, jitter: f64) -> Duration {
    let exp = (attempt.max(1) - 1).min(30) as u32;
    let step_ms = policy
        .base
        .num_milliseconds()
        .saturating_mul(1i64.checked_shl(exp).unwrap_or(i64::MAX))
        .min(policy.cap.num_milliseconds());
    let scale = 0.5 + jitter.clamp(0.0, 0.999_999) / 2.0;
    Duration::milliseconds(((step_ms as f64) * scale) as i64)
}

/// What to do with a message after attempt number `attempt` (1-based) answered `result`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    Sent {
        provider_id: Option<String>,
    },
    Retry {
        at: DateTime<Utc>,
        reason: String,
    },
    Failed {
        reason: String,
        fallback: Option<Channel>,
    },
    Skipped {
        fallback: Option<Channel>,
    },
}

pub fn next(
    channel: Channel,
    kind: Kind,
    result: SendResult,
    attempt: i32,
    rules: &Rules,
    jitter: f64,
    now: DateTime<Utc>,
) -> Next {
    let policy = &rules.retry;
    match result {
        SendResult::Accepted { provider_id } => Next::Sent { provider_id },
        SendResult::Transient(reason) if attempt < policy.max_attempts => {
            let at = now + backoff(attempt, policy, jitter);
            let at = if kind.urgent() {
                at
            } else {
                rules.quiet.release(at, rules.tz)
            };
            Next::Retry { at, reason }
        }
        SendResult::Transient(reason)
        | SendResult::Permanent(reason)
        | SendResult::NotOnWhatsapp(reason) => Next::Failed {
            reason,
            fallback: channel.fallback(),
        },
        SendResult::NotConfigured => Next::Skipped {
            fallback: channel.fallback(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rules() -> Rules {
        Rules {
            tz: chrono_tz::Asia::Jakarta,
            join_opens_minutes: 15,
            quiet: QuietHours::default(),
            retry: RetryPolicy::default(),
        }
    }

    /// A WIB wall-clock time.
    fn wib(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        chrono_tz::Asia::Jakarta
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn citizen() -> Recipient {
        Recipient {
            phone: Some("+6281234567890".into()),
            email: Some("budi@example.org".into()),
        }
    }

    fn kinds(p: &[Planned]) -> Vec<(Kind, Channel)> {
        p.iter().map(|m| (m.kind, m.channel)).collect()
    }

    #[test]
    fn a_booking_plans_its_confirmation_and_three_reminders_on_each_channel() {
        let now = wib(2026, 12, 7, 10, 0);
        let starts = wib(2026, 12, 10, 9, 0);
        let p = plan(
            Change::Booked,
            Actor::Citizen,
            &citizen(),
            starts,
            0,
            &rules(),
            now,
        );
        assert!(p.cancel.is_empty());
        assert_eq!(p.add.len(), 8);
        let due = |k: Kind| p.add.iter().find(|m| m.kind == k).unwrap().due_at;
        assert_eq!(due(Kind::Booked), now);
        assert_eq!(due(Kind::ReminderDayBefore), wib(2026, 12, 9, 18, 0));
        assert_eq!(due(Kind::ReminderSoon), wib(2026, 12, 10, 8, 0));
        assert_eq!(due(Kind::RoomOpen), wib(2026, 12, 10, 8, 45));
        assert!(p.add.iter().all(|m| m.round == 0));
        assert!(kinds(&p.add).contains(&(Kind::Booked, Channel::Email)));
        assert!(!kinds(&p.add).iter().any(|(_, c)| *c == Channel::Sms));
    }

    #[test]
    fn no_email_means_whatsapp_only() {
        let to = Recipient {
            phone: Some("+6281234567890".into()),
            email: None,
        };
        let now = wib(2026, 12, 7, 10, 0);
        let p = plan(
            Change::Booked,
            Actor::Citizen,
            &to,
            wib(2026, 12, 10, 9, 0),
            0,
            &rules(),
            now,
        );
        assert!(p.add.iter().all(|m| m.channel == Channel::Whatsapp));
        assert_eq!(p.add.len(), 4);
    }

    #[test]
    fn reminders_already_past_or_right_after_the_booking_are_left_out() {
        // Booked at 19:00 for tomorrow 09:00: 18:00 today is gone.
        let r = reminders(wib(2026, 12, 10, 9, 0), wib(2026, 12, 9, 19, 0), &rules());
        assert_eq!(
            r.iter().map(|x| x.0).collect::<Vec<_>>(),
            [Kind::ReminderSoon, Kind::RoomOpen]
        );
        // Booked 80 minutes ahead: "in 60 minutes" would come 20 minutes after the booking.
        let r = reminders(wib(2026, 12, 10, 9, 0), wib(2026, 12, 10, 7, 40), &rules());
        assert_eq!(r.iter().map(|x| x.0).collect::<Vec<_>>(), [Kind::RoomOpen]);
        // Booked at 17:45 for tomorrow: the 18:00 reminder would follow 15 minutes later.
        let r = reminders(wib(2026, 12, 10, 9, 0), wib(2026, 12, 9, 17, 45), &rules());
        assert!(!r.iter().any(|x| x.0 == Kind::ReminderDayBefore));
    }

    #[test]
    fn a_reschedule_cancels_pending_reminders_and_plans_the_new_ones_under_its_round() {
        let now = wib(2026, 12, 7, 10, 0);
        let p = plan(
            Change::Rescheduled,
            Actor::Citizen,
            &citizen(),
            wib(2026, 12, 14, 13, 0),
            3,
            &rules(),
            now,
        );
        for k in Kind::REMINDERS {
            assert!(p.cancel.contains(&k));
        }
        assert!(p.add.iter().all(|m| m.round == 3));
        assert!(p.add.iter().any(|m| m.kind == Kind::Rescheduled));
        assert_eq!(
            p.add
                .iter()
                .find(|m| m.kind == Kind::ReminderDayBefore)
                .unwrap()
                .due_at,
            wib(2026, 12, 13, 18, 0)
        );
    }

    #[test]
    fn a_cancel_makes_every_pending_message_moot_and_says_so() {
        let now = wib(2026, 12, 7, 10, 0);
        let p = plan(
            Change::Cancelled,
            Actor::Citizen,
            &citizen(),
            wib(2026, 12, 10, 9, 0),
            2,
            &rules(),
            now,
        );
        for k in [
            Kind::Booked,
            Kind::ReminderDayBefore,
            Kind::ReminderSoon,
            Kind::RoomOpen,
        ] {
            assert!(p.cancel.contains(&k), "{k:?}");
        }
        assert_eq!(
            kinds(&p.add),
            [
                (Kind::Cancelled, Channel::Whatsapp),
                (Kind::Cancelled, Channel::Email)
            ]
        );
    }

    #[test]
    fn room_comings_and_goings_cause_nothing_and_a_no_show_only_cancels() {
        let now = wib(2026, 12, 7, 10, 0);
        let s = wib(2026, 12, 10, 9, 0);
        assert_eq!(
            plan(
                Change::InRoom,
                Actor::System,
                &citizen(),
                s,
                1,
                &rules(),
                now
            ),
            Plan::default()
        );
        let p = plan(
            Change::NoShow,
            Actor::Staff,
            &citizen(),
            s,
            1,
            &rules(),
            now,
        );
        assert!(p.add.is_empty());
        assert_eq!(p.cancel, Kind::REMINDERS.to_vec());
    }

    #[test]
    fn quiet_hours_hold_what_the_citizen_did_not_just_ask_for() {
        let late = wib(2026, 12, 7, 22, 30);
        let s = wib(2026, 12, 10, 9, 0);
        // The citizen's own booking at 22:30 is answered at once.
        let p = plan(
            Change::Booked,
            Actor::Citizen,
            &citizen(),
            s,
            0,
            &rules(),
            late,
        );
        assert_eq!(p.add[0].due_at, late);
        // A clerk's cancel at 22:30 waits for 06:00.
        let p = plan(
            Change::Cancelled,
            Actor::Staff,
            &citizen(),
            s,
            1,
            &rules(),
            late,
        );
        assert_eq!(p.add[0].due_at, wib(2026, 12, 8, 6, 0));
        // Just after midnight it is the same morning.
        assert_eq!(
            QuietHours::default().release(wib(2026, 12, 8, 0, 10), rules().tz),
            wib(2026, 12, 8, 6, 0)
        );
        // An OTP is never held.
        assert_eq!(due(Kind::Otp, Actor::System, late, &rules()), late);
        // Outside the window nothing moves.
        let noon = wib(2026, 12, 8, 12, 0);
        assert_eq!(QuietHours::default().release(noon, rules().tz), noon);
    }

    #[test]
    fn quiet_hours_parse_and_can_be_switched_off() {
        let q = QuietHours::parse("22:30-05:15").unwrap();
        assert!(q.contains(NaiveTime::from_hms_opt(23, 0, 0).unwrap()));
        assert!(q.contains(NaiveTime::from_hms_opt(5, 0, 0).unwrap()));
        assert!(!q.contains(NaiveTime::from_hms_opt(5, 15, 0).unwrap()));
        let off = QuietHours::parse("off").unwrap();
        assert!(!off.contains(NaiveTime::from_hms_opt(23, 0, 0).unwrap()));
        let day = QuietHours::parse("12:00-13:00").unwrap();
        assert!(day.contains(NaiveTime::from_hms_opt(12, 30, 0).unwrap()));
        assert!(!day.contains(NaiveTime::from_hms_opt(13, 30, 0).unwrap()));
        for bad in ["", "21:00", "25:00-06:00", "nine-six"] {
            assert_eq!(QuietHours::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn statuses_only_move_forward() {
        use Delivery::*;
        assert!(Pending.can_become(Sent));
        assert!(Sent.can_become(Delivered));
        assert!(Delivered.can_become(Read));
        assert!(Sent.can_become(Failed));
        assert!(!Delivered.can_become(Sent));
        assert!(!Read.can_become(Delivered));
        assert!(!Failed.can_become(Sent));
        assert!(!Skipped.can_become(Sent));
        assert!(!Cancelled.can_become(Pending));
        assert!(!Sent.can_become(Cancelled));
        for d in Delivery::ALL {
            assert!(!d.can_become(d));
            assert_eq!(Delivery::parse(d.as_str()), Some(d));
        }
    }

    #[test]
    fn retries_back_off_then_fail_and_whatsapp_falls_back_to_sms() {
        let r = Rules {
            retry: RetryPolicy {
                base: Duration::seconds(10),
                cap: Duration::seconds(300),
                max_attempts: 4,
            },
            ..rules()
        };
        let now = wib(2026, 12, 8, 12, 0);
        let t = |n| {
            next(
                Channel::Whatsapp,
                Kind::Booked,
                SendResult::Transient("503".into()),
                n,
                &r,
                0.0,
                now,
            )
        };
        assert_eq!(
            t(1),
            Next::Retry {
                at: now + Duration::seconds(5),
                reason: "503".into()
            }
        );
        assert_eq!(
            t(2),
            Next::Retry {
                at: now + Duration::seconds(10),
                reason: "503".into()
            }
        );
        assert_eq!(
            t(4),
            Next::Failed {
                reason: "503".into(),
                fallback: Some(Channel::Sms)
            }
        );
        let perm = next(
            Channel::Email,
            Kind::Booked,
            SendResult::Permanent("550".into()),
            1,
            &r,
            0.5,
            now,
        );
        assert_eq!(
            perm,
            Next::Failed {
                reason: "550".into(),
                fallback: None
            }
        );
        let none = next(
            Channel::Whatsapp,
            Kind::Otp,
            SendResult::NotConfigured,
            1,
            &r,
            0.5,
            now,
        );
        assert_eq!(
            none,
            Next::Skipped {
                fallback: Some(Channel::Sms)
            }
        );
        let nowa = next(
            Channel::Whatsapp,
            Kind::Otp,
            SendResult::NotOnWhatsapp("131026".into()),
            1,
            &r,
            0.5,
            now,
        );
        assert!(matches!(
            nowa,
            Next::Failed {
                fallback: Some(Channel::Sms),
                ..
            }
        ));
    }

    #[test]
    fn a_retry_of_a_non_urgent_message_waits_out_the_quiet_hours() {
        let late = wib(2026, 12, 8, 20, 59) + Duration::seconds(50);
        let n = next(
            Channel::Email,
            Kind::Completed,
            SendResult::Transient("timeout".into()),
            1,
            &rules(),
            0.9,
            late,
        );
        assert_eq!(
            n,
            Next::Retry {
                at: wib(2026, 12, 9, 6, 0),
                reason: "timeout".into()
            }
        );
    }

    #[test]
    fn reminders_stop_once_they_no_longer_help() {
        let s = wib(2026, 12, 10, 9, 0);
        assert!(still_relevant(
            Kind::ReminderSoon,
            Status::Booked,
            s,
            s - Duration::minutes(60)
        ));
        assert!(!still_relevant(
            Kind::ReminderSoon,
            Status::Waiting,
            s,
            s - Duration::minutes(60)
        ));
        assert!(!still_relevant(
            Kind::ReminderSoon,
            Status::Cancelled,
            s,
            s - Duration::minutes(60)
        ));
        assert!(!still_relevant(
            Kind::ReminderDayBefore,
            Status::Booked,
            s,
            s + Duration::minutes(1)
        ));
        assert!(!still_relevant(Kind::Booked, Status::Cancelled, s, s));
        assert!(!still_relevant(Kind::Booked, Status::Held, s, s));
        assert!(still_relevant(Kind::Otp, Status::Held, s, s));
        assert!(still_relevant(Kind::Cancelled, Status::Cancelled, s, s));
    }

    #[test]
    fn a_fallback_of_a_fresh_message_goes_at_once_and_of_a_stale_one_after_the_quiet_hours() {
        let late = wib(2026, 12, 8, 23, 0);
        assert_eq!(
            fallback_due(Kind::Booked, late - Duration::minutes(1), late, &rules()),
            late
        );
        assert_eq!(
            fallback_due(Kind::Booked, late - Duration::minutes(30), late, &rules()),
            wib(2026, 12, 9, 6, 0)
        );
        assert_eq!(
            fallback_due(Kind::Otp, late - Duration::minutes(30), late, &rules()),
            late
        );
        assert_eq!(
            delivery_timeout(Kind::Otp, Duration::minutes(5)),
            Duration::minutes(1)
        );
        assert_eq!(
            delivery_timeout(Kind::Booked, Duration::minutes(5)),
            Duration::minutes(5)
        );
    }

    #[test]
    fn languages_read_from_tags() {
        assert_eq!(Lang::parse("en-GB"), Some(Lang::En));
        assert_eq!(Lang::parse("id_ID"), Some(Lang::Id));
        assert_eq!(Lang::parse("ID"), Some(Lang::Id));
        assert_eq!(Lang::parse("fr"), None);
        assert_eq!(Lang::parse(""), None);
    }

    proptest! {
        #[test]
        fn backoff_stays_between_half_and_all_of_its_capped_step(attempt in 1i32..40, jitter in 0.0f64..1.0) {
            let p = RetryPolicy::default();
            let d = backoff(attempt, &p, jitter);
            let step = (p.base.num_milliseconds() as f64 * 2f64.powi(attempt - 1)).min(p.cap.num_milliseconds() as f64);
            prop_assert!(d.num_milliseconds() as f64 >= step / 2.0 - 1.0);
            prop_assert!(d.num_milliseconds() as f64 <= step);
            prop_assert!(d <= p.cap);
        }

        #[test]
        fn every_planned_message_is_due_before_the_start_or_at_the_change(
            mins_ahead in 0i64..(40 * 24 * 60), hour in 0u32..24, minute in 0u32..60,
        ) {
            let now = wib(2026, 12, 7, hour, minute);
            let starts = now + Duration::minutes(mins_ahead);
            let p = plan(Change::Booked, Actor::Citizen, &citizen(), starts, 0, &rules(), now);
            for m in &p.add {
                prop_assert!(m.due_at >= now);
                if m.kind.is_reminder() {
                    prop_assert!(m.due_at < starts, "{:?} due {} start {}", m.kind, m.due_at, starts);
                    // Reminders never land in the quiet hours unless urgent.
                    let local = m.due_at.with_timezone(&rules().tz).time();
                    prop_assert!(m.kind.urgent() || !rules().quiet.contains(local));
                }
            }
            // One message per (kind, channel, round).
            let mut keys: Vec<_> = p.add.iter().map(|m| (m.kind, m.channel, m.round)).collect();
            keys.sort_by_key(|k| (k.0.as_str(), k.1.as_str(), k.2));
            let n = keys.len();
            keys.dedup();
            prop_assert_eq!(keys.len(), n);
        }

        #[test]
        fn forward_moves_never_come_back(a in 0usize..7, b in 0usize..7) {
            let (x, y) = (Delivery::ALL[a], Delivery::ALL[b]);
            prop_assert!(!(x.can_become(y) && y.can_become(x)));
        }
    }

    #[test]
    fn a_queue_message_is_sent_only_while_its_moment_stands() {
        use TicketState as T;
        let all = [
            T::Waiting,
            T::Called,
            T::Serving,
            T::Done,
            T::Skipped,
            T::Cancelled,
        ];
        for state in all {
            assert_eq!(
                ticket_still_relevant(Kind::QueueNear, state),
                state == T::Waiting,
                "{state:?}"
            );
            assert_eq!(
                ticket_still_relevant(Kind::QueueCalled, state),
                state == T::Called,
                "{state:?}"
            );
        }
    }
}
