//! The two moments the queue tells a citizen outside the page (DESIGN §9 kinds `queue_near` and
//! `queue_called`), through the notification outbox. The waiting page says both itself while it
//! is open; these reach a citizen who closed it, on their phone (WhatsApp, SMS as its fallback)
//! when the number has one — a kiosk number may have none, and then nothing is written.
//!
//! Each message is planned here from the row its moment wrote and handed to that write's own
//! transaction (`db::queue::call_next` for a call, `db::queue::change_notifying` for a recall,
//! `db::queue::mark_near` for "near"), so the message exists exactly when its moment committed:
//! `queue_near` once per number (`queue_tickets.near_notified_at`, whichever node sees it
//! first), `queue_called` once per call and recall (`round` = the call's count, so a recall is
//! a new message and a retry of the same call is not). The words are composed when the worker
//! sends (`notify::compose`): the number, service, counter or room and the links are read from
//! the ticket then, and a number whose moment has passed (already served, left the line) is not
//! told. Only the number's id is logged; never its name or phone (and a ticket has no NIK).

use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::config::Settings;
use crate::db::outbox::{Subject, Write};
use crate::db::queue::TicketRow;
use crate::domain::notify::{Kind, Lang, Recipient, single};
use crate::queue_feed::{QueueFeed, QueueStats};

/// The message about a number's latest call (its `calls`-th), if it has a phone.
pub fn called(settings: &Settings, row: &TicketRow) -> Option<Write> {
    plan(
        settings,
        row,
        Kind::QueueCalled,
        i32::from(row.calls.max(1)),
        json!({}),
    )
}

/// The message that a number's turn is near (about `minutes` from now, when the plan knows), if
/// it has a phone.
pub fn near(settings: &Settings, row: &TicketRow, minutes: Option<u32>) -> Option<Write> {
    let params = match minutes {
        Some(m) => json!({ "minutes": m }),
        None => json!({}),
    };
    plan(settings, row, Kind::QueueNear, 1, params)
}

fn plan(
    settings: &Settings,
    row: &TicketRow,
    kind: Kind,
    round: i32,
    params: Value,
) -> Option<Write> {
    let phone = row.citizen_phone.clone()?;
    let to = Recipient {
        phone: Some(phone),
        email: None,
    };
    Some(Write {
        subject: Subject::queue_ticket(row.id),
        // Numbers are taken without a language: the kiosk and the page speak Indonesian first.
        lang: Lang::Id,
        params,
        plan: single(
            kind,
            &to,
            round,
            &settings.notify_rules(),
            chrono::Utc::now(),
        ),
    })
}

/// After the moment committed: counts it (`/metrics`), logs it without personal data, and wakes
/// this node's outbox workers when a message was written.
pub fn told(feed: &QueueFeed, outbox: &Notify, kind: Kind, row: &TicketRow) {
    let counter = match kind {
        Kind::QueueNear => &feed.stats().near_notices,
        _ => &feed.stats().called_notices,
    };
    QueueStats::bump(counter);
    let message = row.citizen_phone.is_some();
    tracing::info!(ticket = %row.id, calls = row.calls, message, kind = kind.as_str(), "queue notice");
    if message {
        outbox.notify_one();
    }
}
