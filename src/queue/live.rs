//! An agency's queue as it stands, from Postgres: [`load`] reads everything the rules need (the
//! services and who serves them, each clerk's hours, bookings, leave and closures today, the
//! waiting numbers in fair order, today's calls, today's pace) into a [`Model`], and the model
//! answers where every number stands (`domain::queue::plan`). Taking a number and reading one
//! use a fresh model; the live streams use the snapshot each agency's rebuilding task keeps in
//! `queue_feed`.
//!
//! [`changed`] is the one publish point: every use-case that changes an agency's queue calls it
//! after its write committed. It marks the agency dirty; its task (started on first use) rebuilds
//! the snapshot once per burst of marks, and every 60 s while someone watches (estimates move with
//! the clock). A task relays the staff feed too: a booking, cancellation or outcome of one of the
//! agency's clerks (or of a walk-in) changes the plan without going through the queue. Every
//! change is also forwarded to the other nodes (`queue_feed`, `bus`), which rebuild their own.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use diesel_async::AsyncPgConnection;

use super::notify;
use crate::config::Settings;
use crate::context::Ctx;
use crate::db::{self, DbPool, queue::CalledRow, queue::QueueService};
use crate::domain::appointment::Status;
use crate::domain::ids::{AgencyId, ServiceId, StaffId, TicketId};
use crate::domain::notify::Kind;
use crate::domain::queue::{
    Pace, Place, QueueClerk, StoredState, Waiting, eta_minutes, fair_order, pace, plan,
    public_state,
};
use crate::domain::schedule::{Interval, WeeklyHours};
use crate::domain::slots::{ClerkCalendar, free_gaps};
use crate::fault::Fault;
use crate::feed::{FeedHub, FeedItem};
use crate::queue_feed::{AgencySnapshot, Channel, LivePlace, QueueFeed, QueueStats};

/// How often a watched snapshot is rebuilt with nothing marked (estimates move with the clock).
const TICK: StdDuration = StdDuration::from_secs(60);
/// Called numbers a snapshot follows (today's, the last called first).
const CALLED_FOLLOWED: i64 = 500;
/// Positions at or below this are told their turn is near (once).
pub const NEAR_POSITION: u32 = 3;

/// Today in the site's zone, and its UTC span.
pub fn today(tz: Tz, now: DateTime<Utc>) -> (NaiveDate, Interval) {
    let day = now.with_timezone(&tz).date_naive();
    let start_of = |d: NaiveDate| {
        tz.from_local_datetime(&d.and_time(NaiveTime::MIN))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    };
    let start = start_of(day).unwrap_or(now - Duration::hours(12));
    let end = start_of(day + Duration::days(1)).unwrap_or(start + Duration::days(1));
    (day, Interval { start, end })
}

/// Everything the rules need about one agency's queue now.
pub struct Model {
    pub now: DateTime<Utc>,
    pub tz: Tz,
    pub day: NaiveDate,
    pub services: Vec<QueueService>,
    /// Each clerk's calendar today: busy = appointments and leave.
    pub calendars: Vec<ClerkCalendar>,
    pub closures: Vec<Interval>,
    pub leave: HashMap<StaffId, Vec<Interval>>,
    pub serves: HashMap<StaffId, Vec<ServiceId>>,
    pub paces: Vec<Pace>,
    /// In fair order.
    pub waiting: Vec<Waiting>,
    pub called: Vec<CalledRow>,
    pub taken_today: HashMap<ServiceId, u32>,
}

impl Model {
    pub fn service(&self, id: ServiceId) -> Option<&QueueService> {
        self.services.iter().find(|s| s.id == id.0)
    }

    /// The clerks as the plan sees them: who serves what, and today's free stretches.
    pub fn queue_clerks(&self) -> Vec<QueueClerk> {
        self.calendars
            .iter()
            .map(|c| QueueClerk {
                id: c.staff_id,
                serves: self.serves.get(&c.staff_id).cloned().unwrap_or_default(),
                gaps: free_gaps(self.tz, c, &self.closures, self.day),
            })
            .collect()
    }

    /// One place per waiting number, in fair order.
    pub fn places(&self) -> Vec<Place> {
        plan(self.now, &self.paces, &self.queue_clerks(), &self.waiting)
    }

    /// Where a number taken now for `service` would stand: its position, and when the plan
    /// would call it (the cut-off's question).
    pub fn place_of_new(&self, service: ServiceId) -> Place {
        let mut waiting = self.waiting.clone();
        let id = TicketId::new();
        waiting.push(Waiting {
            id,
            service,
            taken_at: self.now,
            seq: u32::MAX,
            priority: false,
        });
        let places = plan(self.now, &self.paces, &self.queue_clerks(), &waiting);
        places.last().copied().unwrap_or(Place {
            position: 1,
            starts_at: None,
            clerk: None,
        })
    }

    /// The calendars of the service's clerks.
    pub fn calendars_of(&self, service: ServiceId) -> Vec<ClerkCalendar> {
        self.calendars
            .iter()
            .filter(|c| {
                self.serves
                    .get(&c.staff_id)
                    .is_some_and(|s| s.contains(&service))
            })
            .cloned()
            .collect()
    }

    pub fn waiting_in(&self, service: ServiceId) -> u32 {
        self.waiting.iter().filter(|w| w.service == service).count() as u32
    }
}

/// Reads an agency's queue now (seven small queries).
pub async fn load(
    conn: &mut AsyncPgConnection,
    tz: Tz,
    agency: AgencyId,
    now: DateTime<Utc>,
) -> Result<Model, Fault> {
    let (day, window) = today(tz, now);
    let services: Vec<QueueService> = db::queue::agency_services(conn, agency)
        .await?
        .into_iter()
        .filter(|s| s.active)
        .collect();
    let staffing = db::queue::agency_staffing(conn, agency).await?;
    let mut serves: HashMap<StaffId, Vec<ServiceId>> = HashMap::new();
    for (clerk, service) in &staffing {
        serves.entry(*clerk).or_default().push(*service);
    }
    let clerks: Vec<StaffId> = serves.keys().copied().collect();
    let hours = db::schedule::hours_for(conn, &clerks).await?;
    let blocked = db::queue::blocked(conn, &clerks, window).await?;
    let calendars = clerks
        .iter()
        .filter_map(|id| {
            let hours = WeeklyHours::parse(hours.get(id).map(Vec::as_slice).unwrap_or(&[])).ok()?;
            let mut busy = blocked.busy.get(id).cloned().unwrap_or_default();
            busy.extend(blocked.leave.get(id).into_iter().flatten().copied());
            Some(ClerkCalendar {
                staff_id: *id,
                hours,
                busy,
                load: 0,
            })
        })
        .collect();
    let samples = db::queue::served_durations(conn, agency, day).await?;
    let paces = services
        .iter()
        .map(|s| Pace {
            service: ServiceId(s.id),
            block: pace(
                Duration::minutes(s.duration_minutes as i64),
                Duration::minutes(s.buffer_minutes as i64),
                samples
                    .get(&ServiceId(s.id))
                    .map(Vec::as_slice)
                    .unwrap_or(&[]),
            ),
        })
        .collect();
    let mut waiting: Vec<Waiting> = db::queue::waiting(conn, agency, day)
        .await?
        .into_iter()
        .map(|w| Waiting {
            id: TicketId(w.id),
            service: ServiceId(w.service_id),
            taken_at: w.taken_at,
            seq: w.seq.max(0) as u32,
            priority: w.priority,
        })
        .collect();
    fair_order(&mut waiting);
    let called = db::queue::called(conn, agency, day, CALLED_FOLLOWED).await?;
    let taken_today = db::queue::line_stats(conn, agency, day)
        .await?
        .into_iter()
        .map(|l| (ServiceId(l.service_id), l.taken.max(0) as u32))
        .collect();
    Ok(Model {
        now,
        tz,
        day,
        services,
        calendars,
        closures: blocked.closures,
        leave: blocked.leave,
        serves,
        paces,
        waiting,
        called,
        taken_today,
    })
}

/// A mark of how far a called number has come: it changes when its state, its appointment's
/// status or its calls change.
fn progress_mark(c: &CalledRow) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    c.state.hash(&mut h);
    c.appointment_status.hash(&mut h);
    c.calls.hash(&mut h);
    h.finish()
}

fn snapshot(model: &Model, version: u64) -> AgencySnapshot {
    let places = model
        .waiting
        .iter()
        .zip(model.places())
        .map(|(w, p)| {
            (
                w.id,
                LivePlace {
                    service: w.service,
                    position: p.position,
                    starts_at: p.starts_at,
                },
            )
        })
        .collect();
    let open = |c: &&CalledRow| {
        Status::parse(&c.appointment_status).is_some_and(Status::is_active)
            && StoredState::parse(&c.state)
                .is_some_and(|s| matches!(s, StoredState::Called | StoredState::Serving))
    };
    AgencySnapshot {
        version,
        built_at: Some(model.now),
        places,
        called: model
            .called
            .iter()
            .map(|c| (TicketId(c.id), progress_mark(c)))
            .collect(),
        appointments: model
            .called
            .iter()
            .filter(open)
            .map(|c| c.appointment_id)
            .collect(),
        clerks: model.serves.keys().copied().collect(),
    }
}

/// A walk-in appointment was written or closed by the queue: the staff dashboards' feed hears
/// of it like any appointment change (the clerk's day shows the walk-in at once).
pub fn appointment_changed(ctx: &Ctx, row: &db::queue::TicketRow, status: Status) {
    if let (Some(appointment), Some(staff)) = (row.appointment_id, row.staff_id) {
        ctx.feed.publish(crate::feed::FeedEvent {
            appointment,
            staff,
            status: status.as_str().to_string(),
            citizen_waiting: false,
        });
    }
}

/// The one publish point: an agency's queue changed (after the write committed). Its snapshot is
/// rebuilt soon (once per burst), and with `board` the mall's boards read again.
pub fn changed(ctx: &Ctx, agency: AgencyId, board: bool) {
    let channel = ensure(ctx, agency);
    ctx.queue_feed.mark_dirty(&channel);
    if board {
        ctx.queue_feed.bump_board();
    }
    // And on every other node (`bus`).
    ctx.queue_feed.forward(agency, board);
}

/// The agency's channel, its rebuilding task started on first use (and the staff-feed relay,
/// once per process).
pub fn ensure(ctx: &Ctx, agency: AgencyId) -> std::sync::Arc<Channel> {
    let (channel, created) = ctx.queue_feed.channel(agency);
    if created {
        tokio::spawn(rebuild_loop(
            Rebuilder {
                pool: ctx.pool.clone(),
                settings: ctx.settings.clone(),
                feed: ctx.queue_feed.clone(),
                outbox: ctx.outbox_wake.clone(),
            },
            agency,
            channel.clone(),
        ));
        // The first snapshot is built at once.
        ctx.queue_feed.mark_dirty(&channel);
    }
    if ctx.queue_feed.start_bridge_once() {
        tokio::spawn(bridge(ctx.feed.clone(), ctx.queue_feed.clone()));
    }
    channel
}

/// What an agency's rebuilding task works with.
struct Rebuilder {
    pool: DbPool,
    settings: Settings,
    feed: QueueFeed,
    /// Wakes this node's outbox workers after a `queue_near` was written.
    outbox: std::sync::Arc<tokio::sync::Notify>,
}

async fn rebuild_loop(r: Rebuilder, agency: AgencyId, channel: std::sync::Arc<Channel>) {
    let feed = &r.feed;
    let mut version = 0u64;
    // Numbers already told their turn is near (the database remembers it too; this only saves
    // asking again on every rebuild).
    let mut told_near: HashSet<TicketId> = HashSet::new();
    loop {
        let marked = channel.wait_dirty(TICK).await;
        // Unmarked, a rebuild only moves the estimates on: worth it while someone waits and
        // watches.
        let waiting_watched = channel.watched() && !channel.current().places.is_empty();
        if !marked && !waiting_watched {
            continue;
        }
        match rebuild(&r, agency, version + 1, &mut told_near).await {
            Ok(snap) => {
                version = snap.version;
                channel.publish(snap);
                QueueStats::bump(&feed.stats().rebuilds);
                feed.bump_any();
            }
            Err(e) => {
                tracing::warn!(error = %e, %agency, "rebuilding the queue's live state");
                // Try again while someone watches; otherwise the next change marks it anyway.
                if channel.watched() {
                    tokio::time::sleep(StdDuration::from_secs(1)).await;
                    feed.mark_dirty(&channel);
                }
            }
        }
    }
}

async fn rebuild(
    r: &Rebuilder,
    agency: AgencyId,
    version: u64,
    told_near: &mut HashSet<TicketId>,
) -> Result<AgencySnapshot, Fault> {
    let mut conn = r.pool.get().await?;
    let model = load(&mut conn, r.settings.timezone, agency, Utc::now()).await?;
    let snap = snapshot(&model, version);
    let near: Vec<uuid::Uuid> = snap
        .places
        .iter()
        .filter(|(id, p)| p.position <= NEAR_POSITION && !told_near.contains(id))
        .map(|(id, _)| id.0)
        .collect();
    if !near.is_empty() {
        let minutes = |row: &db::queue::TicketRow| {
            let at = snap.places.get(&row.id()).and_then(|p| p.starts_at)?;
            Some(eta_minutes(model.now, at))
        };
        let notice = |row: &db::queue::TicketRow| notify::near(&r.settings, row, minutes(row));
        for row in db::queue::mark_near(&mut conn, &near, notice).await? {
            notify::told(&r.feed, &r.outbox, Kind::QueueNear, &row);
        }
        told_near.extend(near.into_iter().map(TicketId));
    }
    told_near.retain(|id| snap.places.contains_key(id));
    Ok(snap)
}

/// Relays the staff feed into the queue: a change of an open walk-in, or any appointment of one
/// of an agency's clerks, marks that agency dirty.
async fn bridge(feed: FeedHub, queue: QueueFeed) {
    let mut rx = feed.subscribe();
    loop {
        match rx.recv().await {
            Ok(FeedItem::Changed(ev)) => {
                let mut board = false;
                for (_, channel) in queue.channels() {
                    let snap = channel.current();
                    if snap.concerns(ev.appointment, ev.staff) {
                        queue.mark_dirty(&channel);
                    }
                    // A called number's walk-in moved on (the clerk finished it, the citizen
                    // came into the call): the boards show it differently.
                    board |= snap.appointments.contains(&ev.appointment);
                }
                if board {
                    queue.bump_board();
                }
            }
            // Missed events (this node lagged, or another node could not be heard): rebuild all.
            Ok(FeedItem::Resync) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                for (_, channel) in queue.channels() {
                    queue.mark_dirty(&channel);
                }
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Where one waiting number stands in a model (fresh), if it is waiting.
pub fn place_in(model: &Model, ticket: TicketId) -> Option<Place> {
    let i = model.waiting.iter().position(|w| w.id == ticket)?;
    model.places().get(i).copied()
}

/// A called number's public state from a followed row (for the board).
pub fn called_state(c: &CalledRow) -> crate::domain::queue::TicketState {
    public_state(
        StoredState::parse(&c.state).unwrap_or(StoredState::Called),
        Status::parse(&c.appointment_status),
    )
}
