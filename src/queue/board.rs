//! The mall's display board: for each agency, the numbers just called to a counter in person
//! (with the counter or the clerk) and what the board says aloud. Nothing about the citizen but
//! the number. The board page reads this again whenever a number is called
//! (`QueueFeed::board`).

use chrono::{DateTime, Utc};

use super::{QueueError, live};
use crate::context::Ctx;
use crate::db::{self, queue::QueueAgency};
use crate::domain::queue::number;
use crate::domain::spoken::{Destination, announcement};

/// Numbers shown per agency.
pub const SHOWN_PER_AGENCY: i64 = 6;

pub struct BoardCall {
    /// Changes with every call of the number (`<ticket>:<calls>`): a board announces each new one.
    pub call_id: String,
    pub number: String,
    pub counter: Option<String>,
    pub clerk: String,
    pub service: String,
    pub called_at: DateTime<Utc>,
    /// What the board says (Bahasa Indonesia).
    pub announcement: String,
    /// The citizen reached the counter.
    pub serving: bool,
}

pub struct BoardAgency {
    pub agency: QueueAgency,
    pub calls: Vec<BoardCall>,
}

/// The board of one agency (by slug), or of every agency that called someone in person today.
pub async fn board(ctx: &Ctx, agency: Option<&str>) -> Result<Vec<BoardAgency>, QueueError> {
    let mut conn = ctx.conn().await?;
    let agencies = db::queue::agencies(&mut conn).await?;
    let named = match agency.map(str::trim).filter(|a| !a.is_empty()) {
        None => None,
        Some(slug) => Some(
            agencies
                .iter()
                .find(|a| a.slug == slug)
                .ok_or_else(|| QueueError::field("agency", "unknown"))?
                .clone(),
        ),
    };
    let (day, _) = live::today(ctx.settings.timezone, Utc::now());
    let rows = db::queue::board(
        &mut conn,
        day,
        named.as_ref().map(|a| a.id),
        SHOWN_PER_AGENCY,
    )
    .await?;
    let mut out: Vec<BoardAgency> = Vec::new();
    if let Some(a) = named {
        out.push(BoardAgency {
            agency: a,
            calls: vec![],
        });
    }
    for r in rows {
        let Some(agency) = agencies.iter().find(|a| a.id == r.agency_id) else {
            continue;
        };
        let seq = r.seq.max(0) as u32;
        let to = match r.counter.as_deref() {
            Some(c) => Destination::Counter(c),
            None => Destination::Clerk(&r.clerk_name),
        };
        let call = BoardCall {
            call_id: format!("{}:{}", r.id, r.calls),
            number: number(&agency.prefix, seq),
            announcement: announcement(&agency.prefix, seq, to),
            counter: r.counter.clone(),
            clerk: r.clerk_name.clone(),
            service: r.service_name.clone(),
            called_at: r.last_called_at,
            serving: r.state == "serving" || r.appointment_status == "in_call",
        };
        match out.iter_mut().find(|b| b.agency.id == agency.id) {
            Some(b) => b.calls.push(call),
            None => out.push(BoardAgency {
                agency: agency.clone(),
                calls: vec![call],
            }),
        }
    }
    out.sort_by(|a, b| a.agency.prefix.cmp(&b.agency.prefix));
    Ok(out)
}
