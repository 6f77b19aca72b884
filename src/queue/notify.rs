//! The two moments the queue tells a citizen outside the page (DESIGN §9 kinds `queue_near` and
//! `queue_called`). The waiting page says both itself while it is open; these reach a citizen
//! who closed it — through the notification outbox (issue 10), which is built in parallel.
//!
//! WIRING POINT FOR THE OUTBOX: each function below is the single place its message is caused.
//! Until the outbox is merged they only count the moment (`/metrics`) and log it without
//! personal data. To wire them: write the outbox row here with `conn` (`queue_near` is called once
//! per number — `db::queue::mark_near` guarantees it across nodes; `queue_called` once per call
//! and recall), for the number's phone when it has one (`TicketView::ticket.citizen_phone`; a
//! kiosk number may have none), with the links of `super::links` and, for a remote number, its
//! room (`super::current::room_of`). To have the row written in the same transaction as the call,
//! move the `queue_called` call into `db::queue::call_next`'s transaction.

use diesel_async::AsyncPgConnection;

use crate::config::Settings;
use crate::db;
use crate::domain::ids::TicketId;
use crate::fault::Fault;
use crate::queue_feed::{QueueFeed, QueueStats};

/// A waiting number reached position ≤ 3 (`live::NEAR_POSITION`) for the first time.
pub async fn queue_near(
    conn: &mut AsyncPgConnection,
    settings: &Settings,
    stats: &QueueFeed,
    ticket: TicketId,
) -> Result<(), Fault> {
    let _ = settings;
    QueueStats::bump(&stats.stats().near_notices);
    let Some(view) = db::queue::view(conn, ticket).await? else {
        return Ok(());
    };
    tracing::info!(ticket = %ticket, phone = view.ticket.citizen_phone.is_some(), "queue_near");
    Ok(())
}

/// A number was called (or called again).
pub async fn queue_called(
    conn: &mut AsyncPgConnection,
    settings: &Settings,
    stats: &QueueFeed,
    ticket: TicketId,
) -> Result<(), Fault> {
    let _ = settings;
    QueueStats::bump(&stats.stats().called_notices);
    let Some(view) = db::queue::view(conn, ticket).await? else {
        return Ok(());
    };
    tracing::info!(ticket = %ticket, phone = view.ticket.citizen_phone.is_some(), "queue_called");
    Ok(())
}
