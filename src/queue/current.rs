//! A number as its holder sees it (the citizen, with the number's token): where it stands and
//! when it will honestly be called, or how far it has come; for a called remote number its room
//! (a citizen token for the walk-in appointment, so the existing join page, waiting room and call
//! take over). Leaving the line. Following it live: [`follow`] yields the number again whenever
//! its place, estimate or state changes, read from the agency's shared snapshot.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use futures_util::Stream;
use tokio::sync::watch;

use super::{QueueError, live};
use crate::auth::tokens;
use crate::context::Ctx;
use crate::db::{self, queue::TicketView};
use crate::domain::appointment::Status;
use crate::domain::ids::{AgencyId, AppointmentId, TicketId};
use crate::domain::queue::{Command, Mode, StoredState, TicketState, eta_minutes, public_state};
use crate::queue_feed::{AgencySnapshot, StreamGuard};

/// How long a live stream stays silent before it sends a keep-alive.
pub const KEEPALIVE: StdDuration = StdDuration::from_secs(15);

/// A called remote number's room: the walk-in appointment and the citizen token that opens it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Room {
    pub appointment: uuid::Uuid,
    pub code: String,
    pub token: String,
    /// The join page with that token in its fragment.
    pub join: String,
}

/// A number now.
#[derive(Clone, Debug)]
pub struct TicketNow {
    pub view: TicketView,
    pub state: TicketState,
    pub mode: Mode,
    /// While waiting: 1 = next in its service's line.
    pub position: Option<u32>,
    /// While waiting: when the plan has it called, if today at all.
    pub expected_at: Option<DateTime<Utc>>,
    pub eta_minutes: Option<u32>,
    pub room: Option<Room>,
}

impl TicketNow {
    /// What a live stream compares to decide whether to send again.
    fn same_as(&self, other: &TicketNow) -> bool {
        self.state == other.state
            && self.position == other.position
            && self.eta_minutes == other.eta_minutes
            && self.view.ticket.service_id == other.view.ticket.service_id
            && self.view.ticket.calls == other.view.ticket.calls
            && self.view.ticket.priority_group == other.view.ticket.priority_group
    }
}

pub fn state_of(view: &TicketView) -> TicketState {
    public_state(
        StoredState::parse(&view.ticket.state).unwrap_or(StoredState::Cancelled),
        view.appointment
            .as_ref()
            .and_then(|(status, _, _)| Status::parse(status)),
    )
}

/// The room of a called remote number (none for in-person numbers or before the call).
pub fn room_of(
    ctx: &Ctx,
    view: &TicketView,
    state: TicketState,
) -> Result<Option<Room>, QueueError> {
    let (Some(id), Some((_, code, created_at))) = (view.ticket.appointment_id, &view.appointment)
    else {
        return Ok(None);
    };
    if Mode::parse(&view.ticket.mode) != Some(Mode::Remote)
        || !matches!(state, TicketState::Called | TicketState::Serving)
    {
        return Ok(None);
    }
    let token = tokens::citizen_token(&ctx.keys, AppointmentId(id), *created_at)?;
    Ok(Some(Room {
        appointment: id,
        code: code.clone(),
        join: format!("{}/join#t={token}", ctx.settings.public_url),
        token,
    }))
}

/// Builds the number now from its row and, while waiting, its planned call.
pub fn build(
    ctx: &Ctx,
    view: TicketView,
    place: Option<(u32, Option<DateTime<Utc>>)>,
    now: DateTime<Utc>,
) -> Result<TicketNow, QueueError> {
    let state = state_of(&view);
    let room = room_of(ctx, &view, state)?;
    let waiting = state == TicketState::Waiting;
    let (position, expected_at) = match place {
        Some((p, at)) if waiting => (Some(p), at),
        _ => (None, None),
    };
    Ok(TicketNow {
        mode: Mode::parse(&view.ticket.mode).unwrap_or(Mode::InPerson),
        state,
        position,
        expected_at,
        eta_minutes: expected_at.map(|at| eta_minutes(now, at)),
        room,
        view,
    })
}

async fn load_view(
    conn: &mut diesel_async::AsyncPgConnection,
    id: TicketId,
) -> Result<TicketView, QueueError> {
    db::queue::view(conn, id).await?.ok_or(QueueError::NotFound)
}

/// The number now, with its place read fresh.
pub async fn current(ctx: &Ctx, id: TicketId) -> Result<TicketNow, QueueError> {
    let mut conn = ctx.conn().await?;
    let view = load_view(&mut conn, id).await?;
    let now = chrono::Utc::now();
    let place = if state_of(&view) == TicketState::Waiting {
        let model = live::load(
            &mut conn,
            ctx.settings.timezone,
            AgencyId(view.ticket.agency_id),
            now,
        )
        .await?;
        live::place_in(&model, id).map(|p| (p.position, p.starts_at))
    } else {
        None
    };
    build(ctx, view, place, now)
}

/// The citizen leaves the line (or gives back a call they will not take: the clerk's time is
/// freed at once).
pub async fn cancel(ctx: &Ctx, id: TicketId) -> Result<TicketNow, QueueError> {
    let mut conn = ctx.conn().await?;
    let rules = super::call::rules(ctx);
    let row = db::queue::change(&mut conn, id, |locked| {
        let ticket = super::call::machine(locked);
        let effects = ticket
            .apply(Command::Cancel, &rules)
            .map_err(QueueError::Refused)?;
        Ok(super::call::change_for(&effects, "citizen"))
    })
    .await
    .map_err(super::call::change_error)?;
    let in_person = Mode::parse(&row.mode) == Some(Mode::InPerson) && row.called_at.is_some();
    live::changed(ctx, AgencyId(row.agency_id), in_person);
    live::appointment_changed(ctx, &row, Status::Cancelled);
    let view = load_view(&mut conn, id).await?;
    build(ctx, view, None, Utc::now())
}

/// What a live stream yields.
pub enum Followed {
    Ticket(Box<TicketNow>),
    KeepAlive,
}

struct Follow {
    ctx: Arc<Ctx>,
    id: TicketId,
    rx: watch::Receiver<Arc<AgencySnapshot>>,
    last: Option<TicketNow>,
    last_mark: Option<u64>,
    done: bool,
    _guard: StreamGuard,
}

/// Follows a number live: the number now, then again whenever its place, estimate or state
/// changes (read from the agency's snapshot; the row is read again only when the number's own
/// state moved), a keep-alive after [`KEEPALIVE`] of silence; the stream ends once the number
/// is finished. Refused when the process or the number has as many streams as it may.
pub async fn follow(
    ctx: Arc<Ctx>,
    id: TicketId,
) -> Result<impl Stream<Item = Followed>, QueueError> {
    let guard = ctx
        .queue_feed
        .try_stream(id)
        .ok_or(QueueError::TooManyStreams)?;
    let first = current(&ctx, id).await?;
    let channel = live::ensure(&ctx, AgencyId(first.view.ticket.agency_id));
    let rx = ctx.queue_feed.subscribe(&channel);
    let state = Follow {
        ctx,
        id,
        rx,
        last: None,
        last_mark: None,
        done: false,
        _guard: guard,
    };
    let first = Some(first);
    Ok(futures_util::stream::unfold(
        (state, first),
        |(mut s, first)| async move {
            if let Some(now) = first {
                s.done = now.state.is_final();
                s.last = Some(now.clone());
                return Some((Followed::Ticket(Box::new(now)), (s, None)));
            }
            if s.done {
                return None;
            }
            loop {
                match tokio::time::timeout(KEEPALIVE, s.rx.changed()).await {
                    Err(_) => return Some((Followed::KeepAlive, (s, None))),
                    Ok(Err(_)) => return None,
                    Ok(Ok(())) => {}
                }
                let snap = s.rx.borrow_and_update().clone();
                if let Some(next) = s.next(&snap).await {
                    s.done = next.state.is_final();
                    s.last = Some(next.clone());
                    return Some((Followed::Ticket(Box::new(next)), (s, None)));
                }
            }
        },
    ))
}

impl Follow {
    /// The number again if the snapshot changed anything about it.
    async fn next(&mut self, snap: &AgencySnapshot) -> Option<TicketNow> {
        let last = self.last.as_ref()?;
        let now = Utc::now();
        if last.state == TicketState::Waiting
            && let Some(p) = snap.places.get(&self.id)
            && p.service.0 == last.view.ticket.service_id
        {
            let next = build(
                &self.ctx,
                last.view.clone(),
                Some((p.position, p.starts_at)),
                now,
            )
            .ok()?;
            return (!next.same_as(last)).then_some(next);
        }
        let mark = snap.called.get(&self.id).copied();
        if last.state != TicketState::Waiting && mark.is_some() && mark == self.last_mark {
            return None;
        }
        // Its own state moved (or it moved line): read the row.
        let mut conn = self.ctx.conn().await.ok()?;
        let view = db::queue::view(&mut conn, self.id).await.ok()??;
        self.last_mark = mark;
        let place = snap.places.get(&self.id).map(|p| (p.position, p.starts_at));
        if state_of(&view) == TicketState::Waiting && place.is_none() {
            // Taken after this snapshot was built: the next one has it.
            return None;
        }
        let next = build(&self.ctx, view, place, now).ok()?;
        (!next.same_as(last)).then_some(next)
    }
}
