//! Antrian — the same-day queue — as pure rules: who is next, where each waiting number stands
//! and when it will honestly be called, whether a new number may still be taken today, what a
//! clerk's "Panggil berikutnya" calls, and a ticket's life as a state machine
//! ([`Ticket::apply`] takes a [`Command`] and answers the [`Effect`]s to carry out, or why not).
//! No clock, socket or database here: `src/queue/` loads the facts, asks, and does what it is
//! told. Every rule is tested below.
//!
//! Rules (docs/queue.md):
//! - **Fair order** per service: numbers a clerk marked as the priority group (lansia,
//!   penyandang disabilitas, ibu hamil, ibu dengan anak — the public-service standards' priority
//!   service) first, each group first come, first served; ties by the number.
//! - **One line per clerk.** A clerk's next number is the first in fair order, over the services
//!   they serve, whose blocked time (duration + buffer) fits *now* into their calendar — the
//!   slot computation's own `clerk_can_take`, so a walk-in never overlaps a booking, a break,
//!   leave or a closure. When none fits because a booking starts before the service would end:
//!   `next_appointment_too_soon`.
//! - **Honest estimate.** [`plan`] plays the rule above forward: each clerk, as they come free
//!   in today's gaps between their bookings, breaks and leave, calls the first number that fits.
//!   A number's estimated call time is where that lands; a number that lands nowhere today has
//!   no estimate (never a made-up one). The pace is the service's duration and buffer, or what
//!   today's finished walk-ins of the service actually took once there are enough of them
//!   ([`pace`]).
//! - **Taking a number** is refused outside the service's hours today (no clerk of it works
//!   today, it is not open yet, or it has closed), after the cut-off (the new number would not
//!   be called before the service's clerks stop today), and when the day's cap or the line's
//!   bound is reached.
//! - **Recall and skip.** A called number may be called again twice; it may be skipped (the
//!   clerk's time is released as a no-show) once the grace time since its last call is over.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::appointment::Status;
use super::ids::{ServiceId, StaffId, TicketId};
use super::schedule::Interval;
use super::slots::{ClerkCalendar, clerk_can_take, subtract, working_on};

/// How the citizen is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// By video, from wherever they are: the called number's room opens at once.
    Remote,
    /// At a counter in the mall: the board shows the number and the counter.
    InPerson,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Remote => "remote",
            Mode::InPerson => "in_person",
        }
    }
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "remote" => Some(Mode::Remote),
            "in_person" => Some(Mode::InPerson),
            _ => None,
        }
    }
}

/// What the queue itself records about a number (`queue_tickets.state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StoredState {
    Waiting,
    Called,
    /// In person: the citizen reached the counter (remote: the room says so instead).
    Serving,
    Skipped,
    Cancelled,
}

impl StoredState {
    pub fn as_str(self) -> &'static str {
        match self {
            StoredState::Waiting => "waiting",
            StoredState::Called => "called",
            StoredState::Serving => "serving",
            StoredState::Skipped => "skipped",
            StoredState::Cancelled => "cancelled",
        }
    }
    pub fn parse(s: &str) -> Option<StoredState> {
        Some(match s {
            "waiting" => StoredState::Waiting,
            "called" => StoredState::Called,
            "serving" => StoredState::Serving,
            "skipped" => StoredState::Skipped,
            "cancelled" => StoredState::Cancelled,
            _ => return None,
        })
    }
}

/// A number's state as the citizen, the clerk and the API see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketState {
    Waiting,
    Called,
    Serving,
    Done,
    Skipped,
    Cancelled,
}

impl TicketState {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketState::Waiting => "waiting",
            TicketState::Called => "called",
            TicketState::Serving => "serving",
            TicketState::Done => "done",
            TicketState::Skipped => "skipped",
            TicketState::Cancelled => "cancelled",
        }
    }

    /// Nothing more will happen to this number.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TicketState::Done | TicketState::Skipped | TicketState::Cancelled
        )
    }
}

/// The public state: the queue's own record until the number is called, then the appointment
/// that holds the clerk's time decides — the room or the clerk moves it on (in the call →
/// serving, completed → done, no-show → skipped, cancelled → cancelled) without the queue
/// having to be told.
pub fn public_state(stored: StoredState, appointment: Option<Status>) -> TicketState {
    match (stored, appointment) {
        (StoredState::Waiting, _) => TicketState::Waiting,
        (StoredState::Skipped, _) => TicketState::Skipped,
        (StoredState::Cancelled, _) => TicketState::Cancelled,
        (_, Some(Status::Completed)) => TicketState::Done,
        (_, Some(Status::NoShow)) => TicketState::Skipped,
        (_, Some(Status::Cancelled)) => TicketState::Cancelled,
        (_, Some(Status::InCall)) => TicketState::Serving,
        (StoredState::Serving, _) => TicketState::Serving,
        // Booked (time held) or waiting in the room: called, not yet served.
        (StoredState::Called, _) => TicketState::Called,
    }
}

/// The priority group of Indonesian public-service standards, marked by a clerk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PriorityGroup {
    Lansia,
    Disabilitas,
    IbuHamil,
    IbuDenganAnak,
}

impl PriorityGroup {
    pub fn as_str(self) -> &'static str {
        match self {
            PriorityGroup::Lansia => "lansia",
            PriorityGroup::Disabilitas => "disabilitas",
            PriorityGroup::IbuHamil => "ibu_hamil",
            PriorityGroup::IbuDenganAnak => "ibu_dengan_anak",
        }
    }
    pub fn parse(s: &str) -> Option<PriorityGroup> {
        Some(match s {
            "lansia" => PriorityGroup::Lansia,
            "disabilitas" => PriorityGroup::Disabilitas,
            "ibu_hamil" => PriorityGroup::IbuHamil,
            "ibu_dengan_anak" => PriorityGroup::IbuDenganAnak,
            _ => return None,
        })
    }
}

/// A number as printed and shown: the agency's letter and the day's sequence, "A-007".
pub fn number(prefix: &str, seq: u32) -> String {
    format!("{prefix}-{seq:03}")
}

/// The number's own waiting page (its live place, leaving the line; for a remote number the
/// way into its room once called). The token travels in the fragment, never in a path or query,
/// so it stays out of every server's logs.
pub fn status_link(public_url: &str, token: &str) -> String {
    format!("{public_url}/queue#t={token}")
}

/// Highest sequence number of one agency in one day (`queue_tickets.seq`).
pub const MAX_SEQ: u32 = 9999;

/// The counter (loket) a clerk calls to, as they typed it: 1–16 letters, digits, spaces or
/// dashes ("3", "3A", "Loket 2").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counter(String);

impl Counter {
    pub fn parse(raw: &str) -> Result<Counter, &'static str> {
        let c = raw.trim();
        if c.is_empty() {
            return Err("required");
        }
        if c.chars().count() > 16 {
            return Err("too_long");
        }
        if !c
            .chars()
            .all(|ch| ch.is_alphanumeric() || ch == ' ' || ch == '-')
        {
            return Err("invalid");
        }
        Ok(Counter(c.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// ---------------------------------------------------------------------------------------------
// Fair order, positions and the plan

/// A waiting number as the fair order sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiting {
    pub id: TicketId,
    pub service: ServiceId,
    pub taken_at: DateTime<Utc>,
    pub seq: u32,
    pub priority: bool,
}

impl Waiting {
    /// Smaller goes first: the priority group, then first come, then the lower number.
    fn key(&self) -> (bool, DateTime<Utc>, u32, TicketId) {
        (!self.priority, self.taken_at, self.seq, self.id)
    }
}

/// Sorts numbers into the order they are served in.
pub fn fair_order(waiting: &mut [Waiting]) {
    waiting.sort_by_key(Waiting::key);
}

/// How long one number of a service holds a clerk: its duration plus its buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pace {
    pub service: ServiceId,
    pub block: Duration,
}

/// Finished walk-ins of a service today before their measured length replaces the nominal one.
pub const PACE_MIN_SAMPLES: usize = 3;

/// The time one number of a service takes a clerk, for estimates: the nominal duration until
/// [`PACE_MIN_SAMPLES`] of today's walk-ins of the service finished, then their mean, kept
/// within half and twice the nominal duration (one forgotten "Selesai" must not make the whole
/// line's estimate absurd); plus the buffer either way.
pub fn pace(nominal: Duration, buffer: Duration, today: &[Duration]) -> Duration {
    if today.len() < PACE_MIN_SAMPLES {
        return nominal + buffer;
    }
    let total: i64 = today.iter().map(|d| d.num_seconds().max(0)).sum();
    let mean = Duration::seconds(total / today.len() as i64);
    mean.clamp(nominal / 2, nominal * 2) + buffer
}

/// What one clerk can give the queue today.
#[derive(Clone, Debug)]
pub struct QueueClerk {
    pub id: StaffId,
    pub serves: Vec<ServiceId>,
    /// Today's free stretches (`slots::free_gaps`), in order.
    pub gaps: Vec<Interval>,
}

/// Where one waiting number stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Place {
    /// 1 = next in its service's line.
    pub position: u32,
    /// When it is expected to be called; `None` when no clerk can take it today.
    pub starts_at: Option<DateTime<Utc>>,
    /// Who the plan has calling it.
    pub clerk: Option<StaffId>,
}

/// Plays today forward: each clerk, whenever they are free inside one of their gaps, calls the
/// first number in fair order (over the services they serve) that fits in what is left of the
/// gap — exactly what "Panggil berikutnya" does — and is busy for that service's pace. `waiting`
/// must be in fair order ([`fair_order`]); the answer is one [`Place`] per number, in the same
/// order. Costs O(numbers × clerks × services per clerk).
pub fn plan(
    now: DateTime<Utc>,
    paces: &[Pace],
    clerks: &[QueueClerk],
    waiting: &[Waiting],
) -> Vec<Place> {
    let pace_of: HashMap<ServiceId, Duration> = paces
        .iter()
        .filter(|p| p.block > Duration::zero())
        .map(|p| (p.service, p.block))
        .collect();
    let mut lines: HashMap<ServiceId, VecDeque<usize>> = HashMap::new();
    let mut places: Vec<Place> = Vec::with_capacity(waiting.len());
    for (i, w) in waiting.iter().enumerate() {
        let line = lines.entry(w.service).or_default();
        line.push_back(i);
        places.push(Place {
            position: line.len() as u32,
            starts_at: None,
            clerk: None,
        });
    }
    // Each clerk's cursor: the time they are next free and the gap it lies in.
    struct Cursor {
        t: DateTime<Utc>,
        gap: usize,
        done: bool,
    }
    let mut cursors: Vec<Cursor> = clerks
        .iter()
        .map(|_| Cursor {
            t: now,
            gap: 0,
            done: false,
        })
        .collect();
    loop {
        // The clerk who is free soonest (ties: the first listed).
        let mut next: Option<(DateTime<Utc>, usize)> = None;
        for (ci, clerk) in clerks.iter().enumerate() {
            let cur = &mut cursors[ci];
            if cur.done {
                continue;
            }
            while cur.gap < clerk.gaps.len() && clerk.gaps[cur.gap].end <= cur.t {
                cur.gap += 1;
            }
            let has_work = clerk
                .serves
                .iter()
                .any(|s| pace_of.contains_key(s) && lines.get(s).is_some_and(|l| !l.is_empty()));
            if cur.gap >= clerk.gaps.len() || !has_work {
                cur.done = true;
                continue;
            }
            let at = cur.t.max(clerk.gaps[cur.gap].start);
            if next.is_none_or(|(t, _)| at < t) {
                next = Some((at, ci));
            }
        }
        let Some((at, ci)) = next else {
            break;
        };
        let clerk = &clerks[ci];
        let gap_end = clerk.gaps[cursors[ci].gap].end;
        // The first number in fair order among the heads of this clerk's lines that fits.
        let mut best: Option<(ServiceId, usize)> = None;
        for s in &clerk.serves {
            let (Some(block), Some(&head)) = (pace_of.get(s), lines.get(s).and_then(|l| l.front()))
            else {
                continue;
            };
            if at + *block > gap_end {
                continue;
            }
            if best.is_none_or(|(_, b)| waiting[head].key() < waiting[b].key()) {
                best = Some((*s, head));
            }
        }
        match best {
            Some((service, head)) => {
                places[head].starts_at = Some(at);
                places[head].clerk = Some(clerk.id);
                if let Some(line) = lines.get_mut(&service) {
                    line.pop_front();
                }
                cursors[ci].t = at + pace_of[&service];
            }
            // Nothing fits in what is left of this gap: on to the next one.
            None => {
                cursors[ci].t = gap_end;
                cursors[ci].gap += 1;
            }
        }
    }
    places
}

/// Minutes until `starts_at`, rounded up, never negative.
pub fn eta_minutes(now: DateTime<Utc>, starts_at: DateTime<Utc>) -> u32 {
    let secs = (starts_at - now).num_seconds().max(0) as u64;
    secs.div_ceil(60).min(u32::MAX as u64) as u32
}

// ---------------------------------------------------------------------------------------------
// Taking a number

/// When a service takes numbers on one local date: from the earliest start to the latest end of
/// its clerks' working intervals that day, leaving out time they are on leave and mall-wide
/// closures (a holiday closes the queue). Bookings do not close it: the cut-off counts them.
pub fn service_day(
    tz: Tz,
    date: NaiveDate,
    clerks: &[ClerkCalendar],
    closures: &[Interval],
    leave: &HashMap<StaffId, Vec<Interval>>,
) -> Option<Interval> {
    let mut open: Option<Interval> = None;
    for c in clerks {
        let mut blocked: Vec<Interval> = closures.to_vec();
        blocked.extend(leave.get(&c.staff_id).into_iter().flatten().copied());
        for w in subtract(&working_on(tz, &c.hours, date), &blocked) {
            open = Some(match open {
                None => w,
                Some(o) => Interval {
                    start: o.start.min(w.start),
                    end: o.end.max(w.end),
                },
            });
        }
    }
    open
}

/// Why the queue is closed to new numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum ClosedReason {
    /// Nobody serves this service today (a weekend, a holiday, everyone on leave).
    NoServiceToday,
    /// Not open yet today.
    NotYetOpen { opens_at: DateTime<Utc> },
    /// Closed for today.
    AfterHours,
    /// A new number would not be called before the service's clerks stop today.
    PastCutoff,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    Closed(ClosedReason),
    /// The service's numbers for today are gone, or its line is as long as it may be.
    Full,
}

/// The facts a new number is admitted on.
#[derive(Clone, Copy, Debug)]
pub struct Admission {
    pub now: DateTime<Utc>,
    /// [`service_day`] for today.
    pub day: Option<Interval>,
    /// When [`plan`] would call one more number, appended at the end of the line.
    pub planned_start: Option<DateTime<Utc>>,
    pub taken_today: u32,
    pub daily_cap: Option<u32>,
    pub waiting: u32,
    pub max_waiting: u32,
}

pub fn admit(a: &Admission) -> Result<(), Refusal> {
    let day = a.day.ok_or(Refusal::Closed(ClosedReason::NoServiceToday))?;
    if a.now < day.start {
        return Err(Refusal::Closed(ClosedReason::NotYetOpen {
            opens_at: day.start,
        }));
    }
    if a.now >= day.end {
        return Err(Refusal::Closed(ClosedReason::AfterHours));
    }
    if a.daily_cap.is_some_and(|cap| a.taken_today >= cap) || a.waiting >= a.max_waiting {
        return Err(Refusal::Full);
    }
    if a.planned_start.is_none() {
        return Err(Refusal::Closed(ClosedReason::PastCutoff));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// "Panggil berikutnya"

/// The first number of one service's line, as a clerk's call sees it.
#[derive(Clone, Debug)]
pub struct Head {
    pub ticket: Waiting,
    /// The clerk's time the call holds: the service's duration plus buffer.
    pub block: Duration,
}

/// What "Panggil berikutnya" does for one clerk now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NextCall {
    /// Call this number, holding `[now, now + block)`.
    Call { ticket: TicketId, period: Interval },
    /// Nobody is waiting in the clerk's lines.
    Nobody,
    /// The clerk is busy right now (an appointment or a called number holds this moment).
    ClerkBusy { until: DateTime<Utc> },
    /// A booked appointment starts before any waiting number would be finished.
    TooSoon { next_starts_at: DateTime<Utc> },
    /// The clerk is not at work now (outside their hours, a break, leave, a closure), or their
    /// day ends before any waiting number would be finished.
    OffDuty,
}

/// The clerk's next number: the first head in fair order whose blocked time, starting now, the
/// clerk can take (`slots::clerk_can_take`: working, free of appointments, leave and closures).
/// The clerk's `busy` holds their appointments; their leave goes with `closures` (leave makes a
/// clerk off duty, not busy).
/// `heads` holds at most one number per service (the first of its line): a later number of the
/// same service is no shorter, so if the head does not fit, neither does it.
pub fn next_for_clerk(
    tz: Tz,
    now: DateTime<Utc>,
    clerk: &ClerkCalendar,
    closures: &[Interval],
    heads: &[Head],
) -> NextCall {
    let mut order: Vec<&Head> = heads
        .iter()
        .filter(|h| h.block > Duration::zero())
        .collect();
    if order.is_empty() {
        return NextCall::Nobody;
    }
    order.sort_by_key(|h| h.ticket.key());
    for h in &order {
        let period = Interval {
            start: now,
            end: now + h.block,
        };
        if clerk_can_take(tz, clerk, closures, period) {
            return NextCall::Call {
                ticket: h.ticket.id,
                period,
            };
        }
    }
    // Why not, for the shortest wait: busy now, a booking coming, or off duty.
    if let Some(b) = clerk
        .busy
        .iter()
        .filter(|b| b.start <= now && now < b.end)
        .max_by_key(|b| b.end)
    {
        return NextCall::ClerkBusy { until: b.end };
    }
    let shortest = order.iter().map(|h| h.block).min().unwrap_or_default();
    let period = Interval {
        start: now,
        end: now + shortest,
    };
    let at_work_now = {
        let this_second = Interval {
            start: now,
            end: now + Duration::seconds(1),
        };
        let hours_only = ClerkCalendar {
            busy: vec![],
            ..clerk.clone()
        };
        clerk_can_take(tz, &hours_only, closures, this_second)
    };
    match clerk
        .busy
        .iter()
        .filter(|b| b.overlaps(&period) && b.start > now)
        .map(|b| b.start)
        .min()
    {
        Some(next_starts_at) if at_work_now => NextCall::TooSoon { next_starts_at },
        _ => NextCall::OffDuty,
    }
}

// ---------------------------------------------------------------------------------------------
// A ticket's life

/// The deployment's rules for called numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallRules {
    /// How long after its (last) call a number may be skipped (`LOKET_QUEUE_GRACE_MINUTES`).
    pub grace: Duration,
    /// Calls a number gets in all: the first and the recalls (3 = recalled twice).
    pub max_calls: u8,
}

impl Default for CallRules {
    fn default() -> Self {
        CallRules {
            grace: Duration::minutes(3),
            max_calls: 3,
        }
    }
}

/// One number as the state machine sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket {
    pub state: TicketState,
    pub mode: Mode,
    /// 0 while waiting; 1 once called; +1 per recall.
    pub calls: u8,
    pub last_called_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// A clerk calls the number (after [`next_for_clerk`] chose it).
    Call { at: DateTime<Utc> },
    /// The clerk calls it again.
    Recall { at: DateTime<Utc> },
    /// The clerk gives up on it.
    Skip { at: DateTime<Utc> },
    /// In person: the citizen reached the counter.
    Serve,
    /// The citizen leaves the queue.
    Cancel,
    /// A supervisor moves it to another service's line.
    Move,
    /// A clerk marks it as the priority group (or unmarks it).
    MarkPriority,
}

/// What the shell does, in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Hold the clerk's time: insert the walk-in appointment (the exclusion constraint decides).
    HoldClerkTime,
    /// Record the queue's own state.
    SetState(StoredState),
    /// Count a call at this time (`calls + 1`, `last_called_at`).
    CountCall { at: DateTime<Utc> },
    /// In person: the board shows the number with its counter and says it aloud.
    Announce,
    /// Remote: the room is open; the citizen's page offers to enter it.
    OpenRoom,
    /// Tell the citizen outside the page too (`queue::notify::queue_called`).
    NotifyCalled,
    /// Free the clerk's time, closing the walk-in appointment with this status.
    ReleaseClerkTime(Status),
    /// Put the number in another service's line (keeping its place in time).
    ChangeService,
    /// Mark or unmark the priority group.
    SetPriority,
}

/// Why a command does not apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// Only a waiting number can be called, moved or marked.
    NotWaiting(TicketState),
    /// Only a called number can be recalled, skipped or served.
    NotCalled(TicketState),
    /// Called as often as it may be.
    RecallLimit,
    /// The grace time since the last call is not over.
    GraceNotOver { until: DateTime<Utc> },
    /// A remote number is served in its room (admitting it there), not from the queue.
    ServedInRoom,
    /// It is being served or finished: the citizen cannot leave the queue any more.
    TooLateToCancel(TicketState),
}

impl Ticket {
    pub fn apply(&self, command: Command, rules: &CallRules) -> Result<Vec<Effect>, Refused> {
        use Effect::*;
        let waiting = |effects: Vec<Effect>| match self.state {
            TicketState::Waiting => Ok(effects),
            other => Err(Refused::NotWaiting(other)),
        };
        let called = || match self.state {
            TicketState::Called => Ok(()),
            other => Err(Refused::NotCalled(other)),
        };
        let announce = match self.mode {
            Mode::InPerson => Announce,
            Mode::Remote => OpenRoom,
        };
        match command {
            Command::Call { at } => waiting(vec![
                HoldClerkTime,
                SetState(StoredState::Called),
                CountCall { at },
                announce,
                NotifyCalled,
            ]),
            Command::Recall { at } => {
                called()?;
                if self.calls >= rules.max_calls {
                    return Err(Refused::RecallLimit);
                }
                Ok(vec![CountCall { at }, announce, NotifyCalled])
            }
            Command::Skip { at } => {
                called()?;
                let last = self.last_called_at.unwrap_or(at);
                let until = last + rules.grace;
                if at < until {
                    return Err(Refused::GraceNotOver { until });
                }
                Ok(vec![
                    SetState(StoredState::Skipped),
                    ReleaseClerkTime(Status::NoShow),
                ])
            }
            Command::Serve => {
                called()?;
                if self.mode == Mode::Remote {
                    return Err(Refused::ServedInRoom);
                }
                Ok(vec![SetState(StoredState::Serving)])
            }
            Command::Cancel => match self.state {
                TicketState::Waiting => Ok(vec![SetState(StoredState::Cancelled)]),
                TicketState::Called => Ok(vec![
                    SetState(StoredState::Cancelled),
                    ReleaseClerkTime(Status::Cancelled),
                ]),
                other => Err(Refused::TooLateToCancel(other)),
            },
            Command::Move => waiting(vec![ChangeService]),
            Command::MarkPriority => waiting(vec![SetPriority]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::schedule::{WeeklyHours, WorkInterval};
    use chrono::{NaiveTime, TimeZone};
    use chrono_tz::Asia::Jakarta;
    use proptest::prelude::*;
    use uuid::Uuid;

    fn day() -> NaiveDate {
        // Monday 16 March 2026.
        NaiveDate::from_ymd_opt(2026, 3, 16).unwrap()
    }
    fn wib(h: u32, m: u32) -> DateTime<Utc> {
        Jakarta
            .from_local_datetime(&day().and_hms_opt(h, m, 0).unwrap())
            .unwrap()
            .with_timezone(&Utc)
    }
    fn iv(h: u32, m: u32, minutes: i64) -> Interval {
        Interval {
            start: wib(h, m),
            end: wib(h, m) + Duration::minutes(minutes),
        }
    }
    fn sid(n: u128) -> ServiceId {
        ServiceId(Uuid::from_u128(n))
    }
    fn tid(n: u128) -> TicketId {
        TicketId(Uuid::from_u128(n))
    }
    fn w(n: u32, service: u128, minute: u32, priority: bool) -> Waiting {
        Waiting {
            id: tid(n as u128),
            service: sid(service),
            taken_at: wib(8, 0) + Duration::minutes(minute as i64),
            seq: n,
            priority,
        }
    }
    fn office() -> WeeklyHours {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        WeeklyHours::parse(&[
            WorkInterval {
                weekday: 1,
                starts: t(8, 0),
                ends: t(12, 0),
            },
            WorkInterval {
                weekday: 1,
                starts: t(13, 0),
                ends: t(15, 0),
            },
        ])
        .unwrap()
    }
    fn calendar(busy: Vec<Interval>) -> ClerkCalendar {
        ClerkCalendar {
            staff_id: StaffId::new(),
            hours: office(),
            busy,
            load: 0,
        }
    }
    fn pace20(s: u128) -> Pace {
        Pace {
            service: sid(s),
            block: Duration::minutes(20),
        }
    }

    #[test]
    fn the_priority_group_goes_first_then_first_come() {
        let mut v = vec![
            w(1, 1, 0, false),
            w(2, 1, 5, true),
            w(3, 1, 1, false),
            w(4, 1, 9, true),
        ];
        fair_order(&mut v);
        let order: Vec<u32> = v.iter().map(|x| x.seq).collect();
        assert_eq!(order, vec![2, 4, 1, 3]);
        // Same second: the lower number first.
        let mut v = vec![w(8, 1, 0, false), w(7, 1, 0, false)];
        fair_order(&mut v);
        assert_eq!(v[0].seq, 7);
    }

    #[test]
    fn one_clerk_calls_one_after_another_and_skips_the_break() {
        let clerk = QueueClerk {
            id: StaffId::new(),
            serves: vec![sid(1)],
            gaps: vec![iv(10, 0, 60), iv(13, 0, 120)],
        };
        let waiting: Vec<Waiting> = (1..=5).map(|n| w(n, 1, n, false)).collect();
        let places = plan(wib(10, 0), &[pace20(1)], &[clerk], &waiting);
        let starts: Vec<Option<DateTime<Utc>>> = places.iter().map(|p| p.starts_at).collect();
        assert_eq!(
            starts,
            vec![
                Some(wib(10, 0)),
                Some(wib(10, 20)),
                Some(wib(10, 40)),
                // 11.00 is the end of the gap: the next one waits for 13.00.
                Some(wib(13, 0)),
                Some(wib(13, 20)),
            ]
        );
        assert_eq!(
            places.iter().map(|p| p.position).collect::<Vec<_>>(),
            vec![1, 2, 3, 4, 5]
        );
    }

    #[test]
    fn bookings_shape_the_estimate_and_two_clerks_share_the_line() {
        // Clerk a is free 10.00-10.30 then booked until 11.00; clerk b is free from 10.10.
        let a = QueueClerk {
            id: StaffId::new(),
            serves: vec![sid(1)],
            gaps: vec![iv(10, 0, 30), iv(11, 0, 60)],
        };
        let b = QueueClerk {
            id: StaffId::new(),
            serves: vec![sid(1)],
            gaps: vec![iv(10, 10, 50)],
        };
        let waiting: Vec<Waiting> = (1..=4).map(|n| w(n, 1, n, false)).collect();
        let places = plan(wib(10, 0), &[pace20(1)], &[a, b], &waiting);
        let starts: Vec<_> = places.iter().map(|p| p.starts_at).collect();
        // 1 → a at 10.00; 2 → b at 10.10; a's 10.20 start would run past 10.30, so 3 → b at
        // 10.30; 4 → a at 11.00 (b's 10.50 would run past 11.00).
        assert_eq!(
            starts,
            vec![
                Some(wib(10, 0)),
                Some(wib(10, 10)),
                Some(wib(10, 30)),
                Some(wib(11, 0))
            ]
        );
    }

    #[test]
    fn a_number_that_fits_nowhere_today_has_no_estimate() {
        let clerk = QueueClerk {
            id: StaffId::new(),
            serves: vec![sid(1)],
            gaps: vec![iv(14, 0, 45)],
        };
        let waiting: Vec<Waiting> = (1..=3).map(|n| w(n, 1, n, false)).collect();
        let places = plan(wib(14, 0), &[pace20(1)], &[clerk], &waiting);
        assert_eq!(places[1].starts_at, Some(wib(14, 20)));
        assert_eq!(places[2].starts_at, None, "14.40 + 20 min runs past 14.45");
        // Nobody serving the service: no estimate at all.
        let places = plan(wib(14, 0), &[pace20(1)], &[], &waiting);
        assert!(places.iter().all(|p| p.starts_at.is_none()));
        assert_eq!(places[2].position, 3);
    }

    #[test]
    fn a_clerk_with_two_services_takes_the_older_number_that_fits() {
        let clerk = QueueClerk {
            id: StaffId::new(),
            serves: vec![sid(1), sid(2)],
            gaps: vec![iv(10, 0, 30)],
        };
        let long = Pace {
            service: sid(2),
            block: Duration::minutes(40),
        };
        let short = Pace {
            service: sid(1),
            block: Duration::minutes(10),
        };
        // The long service's number is older but does not fit in 30 minutes.
        let mut waiting = vec![w(1, 2, 0, false), w(2, 1, 1, false), w(3, 1, 2, false)];
        fair_order(&mut waiting);
        let places = plan(wib(10, 0), &[long, short], &[clerk], &waiting);
        assert_eq!(places[0].starts_at, None);
        assert_eq!(places[1].starts_at, Some(wib(10, 0)));
        assert_eq!(places[2].starts_at, Some(wib(10, 10)));
        assert_eq!(places[0].position, 1, "positions count within the service");
        assert_eq!(places[2].position, 2);
    }

    #[test]
    fn the_pace_learns_from_today_within_bounds() {
        let nominal = Duration::minutes(20);
        let buffer = Duration::minutes(5);
        let m = Duration::minutes;
        assert_eq!(pace(nominal, buffer, &[]), m(25));
        assert_eq!(pace(nominal, buffer, &[m(30), m(30)]), m(25), "too few");
        assert_eq!(pace(nominal, buffer, &[m(30), m(30), m(33)]), m(36));
        assert_eq!(
            pace(nominal, buffer, &[m(1), m(1), m(1)]),
            m(15),
            "at least half"
        );
        assert_eq!(
            pace(nominal, buffer, &[m(200), m(1), m(1)]),
            m(45),
            "at most twice"
        );
    }

    #[test]
    fn eta_rounds_up_and_never_goes_negative() {
        let now = wib(10, 0);
        assert_eq!(eta_minutes(now, now), 0);
        assert_eq!(eta_minutes(now, now + Duration::seconds(1)), 1);
        assert_eq!(eta_minutes(now, now + Duration::seconds(60)), 1);
        assert_eq!(eta_minutes(now, now + Duration::seconds(61)), 2);
        assert_eq!(eta_minutes(now, now - Duration::minutes(5)), 0);
    }

    #[test]
    fn taking_a_number_is_refused_outside_hours_past_the_cutoff_and_when_full() {
        let day_iv = Interval {
            start: wib(8, 0),
            end: wib(15, 0),
        };
        let ok = Admission {
            now: wib(10, 0),
            day: Some(day_iv),
            planned_start: Some(wib(10, 30)),
            taken_today: 10,
            daily_cap: Some(50),
            waiting: 3,
            max_waiting: 100,
        };
        assert_eq!(admit(&ok), Ok(()));
        assert_eq!(
            admit(&Admission { day: None, ..ok }),
            Err(Refusal::Closed(ClosedReason::NoServiceToday))
        );
        assert_eq!(
            admit(&Admission {
                now: wib(7, 59),
                ..ok
            }),
            Err(Refusal::Closed(ClosedReason::NotYetOpen {
                opens_at: wib(8, 0)
            }))
        );
        assert_eq!(
            admit(&Admission {
                now: wib(15, 0),
                ..ok
            }),
            Err(Refusal::Closed(ClosedReason::AfterHours))
        );
        assert_eq!(
            admit(&Admission {
                planned_start: None,
                ..ok
            }),
            Err(Refusal::Closed(ClosedReason::PastCutoff))
        );
        assert_eq!(
            admit(&Admission {
                taken_today: 50,
                ..ok
            }),
            Err(Refusal::Full)
        );
        assert_eq!(
            admit(&Admission {
                daily_cap: None,
                taken_today: 5000,
                ..ok
            }),
            Ok(())
        );
        assert_eq!(admit(&Admission { waiting: 100, ..ok }), Err(Refusal::Full));
    }

    #[test]
    fn the_service_day_spans_its_clerks_hours_less_leave_and_closures() {
        let a = calendar(vec![]);
        let mut b = calendar(vec![]);
        b.hours = WeeklyHours::parse(&[WorkInterval {
            weekday: 1,
            starts: NaiveTime::from_hms_opt(7, 30, 0).unwrap(),
            ends: NaiveTime::from_hms_opt(11, 0, 0).unwrap(),
        }])
        .unwrap();
        let none = HashMap::new();
        assert_eq!(
            service_day(Jakarta, day(), &[a.clone(), b.clone()], &[], &none),
            Some(Interval {
                start: wib(7, 30),
                end: wib(15, 0)
            })
        );
        // b on leave all morning: a's hours alone.
        let leave = HashMap::from([(b.staff_id, vec![iv(7, 0, 300)])]);
        assert_eq!(
            service_day(Jakarta, day(), &[a.clone(), b.clone()], &[], &leave),
            Some(Interval {
                start: wib(8, 0),
                end: wib(15, 0)
            })
        );
        // A holiday: closed.
        let holiday = Interval {
            start: wib(0, 0),
            end: wib(0, 0) + Duration::days(1),
        };
        assert_eq!(
            service_day(Jakarta, day(), &[a, b], &[holiday], &none),
            None
        );
        // Sunday: nobody works.
        let sunday = day() + Duration::days(6);
        assert_eq!(
            service_day(Jakarta, sunday, &[calendar(vec![])], &[], &none),
            None
        );
    }

    fn head(n: u32, service: u128, minute: u32, minutes: i64) -> Head {
        Head {
            ticket: w(n, service, minute, false),
            block: Duration::minutes(minutes),
        }
    }

    #[test]
    fn the_next_call_fits_before_the_next_booking() {
        // A booking at 10.30.
        let c = calendar(vec![iv(10, 30, 30)]);
        let heads = [head(1, 1, 0, 40), head(2, 2, 5, 20)];
        // At 10.00 the older 40-minute number does not fit; the 20-minute one does.
        assert_eq!(
            next_for_clerk(Jakarta, wib(10, 0), &c, &[], &heads),
            NextCall::Call {
                ticket: tid(2),
                period: iv(10, 0, 20)
            }
        );
        // At 10.15 neither fits: the booking is too soon.
        assert_eq!(
            next_for_clerk(Jakarta, wib(10, 15), &c, &[], &heads),
            NextCall::TooSoon {
                next_starts_at: wib(10, 30)
            }
        );
        // During the booking: busy until it ends.
        assert_eq!(
            next_for_clerk(Jakarta, wib(10, 40), &c, &[], &heads),
            NextCall::ClerkBusy { until: wib(11, 0) }
        );
        // Nobody waiting.
        assert_eq!(
            next_for_clerk(Jakarta, wib(10, 0), &c, &[], &[]),
            NextCall::Nobody
        );
        // In the break, and just before the break with no time for anyone.
        assert_eq!(
            next_for_clerk(Jakarta, wib(12, 10), &c, &[], &heads),
            NextCall::OffDuty
        );
        assert_eq!(
            next_for_clerk(Jakarta, wib(11, 50), &c, &[], &heads),
            NextCall::OffDuty
        );
        // Older first when both fit.
        let both = [head(1, 1, 0, 20), head(2, 2, 5, 20)];
        assert_eq!(
            next_for_clerk(Jakarta, wib(9, 0), &c, &[], &both),
            NextCall::Call {
                ticket: tid(1),
                period: iv(9, 0, 20)
            }
        );
        // A mall-wide closure (or leave) ahead counts as the day ending; during one, off duty.
        assert_eq!(
            next_for_clerk(Jakarta, wib(9, 0), &c, &[iv(9, 10, 5)], &both),
            NextCall::OffDuty
        );
        assert_eq!(
            next_for_clerk(Jakarta, wib(9, 0), &c, &[iv(8, 30, 60)], &both),
            NextCall::OffDuty
        );
        // A booking that starts a moment from now is too soon, not off duty.
        let soon = calendar(vec![Interval {
            start: wib(9, 0) + Duration::milliseconds(1),
            end: wib(9, 20),
        }]);
        assert_eq!(
            next_for_clerk(Jakarta, wib(9, 0), &soon, &[], &both),
            NextCall::TooSoon {
                next_starts_at: wib(9, 0) + Duration::milliseconds(1)
            }
        );
    }

    fn ticket(state: TicketState, mode: Mode, calls: u8, last: Option<DateTime<Utc>>) -> Ticket {
        Ticket {
            state,
            mode,
            calls,
            last_called_at: last,
        }
    }

    #[test]
    fn calling_holds_time_and_tells_the_board_or_opens_the_room() {
        let rules = CallRules::default();
        let at = wib(10, 0);
        let in_person = ticket(TicketState::Waiting, Mode::InPerson, 0, None);
        assert_eq!(
            in_person.apply(Command::Call { at }, &rules),
            Ok(vec![
                Effect::HoldClerkTime,
                Effect::SetState(StoredState::Called),
                Effect::CountCall { at },
                Effect::Announce,
                Effect::NotifyCalled
            ])
        );
        let remote = ticket(TicketState::Waiting, Mode::Remote, 0, None);
        assert!(
            remote
                .apply(Command::Call { at }, &rules)
                .is_ok_and(|e| e.contains(&Effect::OpenRoom) && !e.contains(&Effect::Announce))
        );
        let called = ticket(TicketState::Called, Mode::InPerson, 1, Some(at));
        assert_eq!(
            called.apply(Command::Call { at }, &rules),
            Err(Refused::NotWaiting(TicketState::Called))
        );
    }

    #[test]
    fn a_number_is_recalled_twice_at_most() {
        let rules = CallRules::default();
        let at = wib(10, 0);
        for calls in 1..=2 {
            let t = ticket(TicketState::Called, Mode::InPerson, calls, Some(at));
            assert_eq!(
                t.apply(Command::Recall { at }, &rules),
                Ok(vec![
                    Effect::CountCall { at },
                    Effect::Announce,
                    Effect::NotifyCalled
                ])
            );
        }
        let third = ticket(TicketState::Called, Mode::InPerson, 3, Some(at));
        assert_eq!(
            third.apply(Command::Recall { at }, &rules),
            Err(Refused::RecallLimit)
        );
        let waiting = ticket(TicketState::Waiting, Mode::InPerson, 0, None);
        assert_eq!(
            waiting.apply(Command::Recall { at }, &rules),
            Err(Refused::NotCalled(TicketState::Waiting))
        );
        let serving = ticket(TicketState::Serving, Mode::InPerson, 1, Some(at));
        assert_eq!(
            serving.apply(Command::Recall { at }, &rules),
            Err(Refused::NotCalled(TicketState::Serving))
        );
    }

    #[test]
    fn a_number_is_skipped_only_after_the_grace_since_its_last_call() {
        let rules = CallRules {
            grace: Duration::minutes(3),
            max_calls: 3,
        };
        let last = wib(10, 0);
        let t = ticket(TicketState::Called, Mode::Remote, 2, Some(last));
        assert_eq!(
            t.apply(
                Command::Skip {
                    at: last + Duration::seconds(179)
                },
                &rules
            ),
            Err(Refused::GraceNotOver {
                until: last + Duration::minutes(3)
            })
        );
        assert_eq!(
            t.apply(
                Command::Skip {
                    at: last + Duration::minutes(3)
                },
                &rules
            ),
            Ok(vec![
                Effect::SetState(StoredState::Skipped),
                Effect::ReleaseClerkTime(Status::NoShow)
            ])
        );
        let done = ticket(TicketState::Done, Mode::Remote, 1, Some(last));
        assert_eq!(
            done.apply(
                Command::Skip {
                    at: last + Duration::hours(1)
                },
                &rules
            ),
            Err(Refused::NotCalled(TicketState::Done))
        );
    }

    #[test]
    fn serving_cancelling_moving_and_marking_follow_the_state() {
        let rules = CallRules::default();
        let at = wib(10, 0);
        let called_here = ticket(TicketState::Called, Mode::InPerson, 1, Some(at));
        assert_eq!(
            called_here.apply(Command::Serve, &rules),
            Ok(vec![Effect::SetState(StoredState::Serving)])
        );
        let called_remote = ticket(TicketState::Called, Mode::Remote, 1, Some(at));
        assert_eq!(
            called_remote.apply(Command::Serve, &rules),
            Err(Refused::ServedInRoom)
        );
        let waiting = ticket(TicketState::Waiting, Mode::Remote, 0, None);
        assert_eq!(
            waiting.apply(Command::Cancel, &rules),
            Ok(vec![Effect::SetState(StoredState::Cancelled)])
        );
        assert_eq!(
            called_remote.apply(Command::Cancel, &rules),
            Ok(vec![
                Effect::SetState(StoredState::Cancelled),
                Effect::ReleaseClerkTime(Status::Cancelled)
            ])
        );
        for late in [
            TicketState::Serving,
            TicketState::Done,
            TicketState::Skipped,
        ] {
            let t = ticket(late, Mode::Remote, 1, Some(at));
            assert_eq!(
                t.apply(Command::Cancel, &rules),
                Err(Refused::TooLateToCancel(late))
            );
        }
        assert_eq!(
            waiting.apply(Command::Move, &rules),
            Ok(vec![Effect::ChangeService])
        );
        assert_eq!(
            waiting.apply(Command::MarkPriority, &rules),
            Ok(vec![Effect::SetPriority])
        );
        assert_eq!(
            called_here.apply(Command::Move, &rules),
            Err(Refused::NotWaiting(TicketState::Called))
        );
        assert_eq!(
            called_here.apply(Command::MarkPriority, &rules),
            Err(Refused::NotWaiting(TicketState::Called))
        );
    }

    #[test]
    fn the_public_state_follows_the_appointment_once_called() {
        use StoredState as S;
        use TicketState as T;
        let cases = [
            (S::Waiting, None, T::Waiting),
            (S::Cancelled, None, T::Cancelled),
            (S::Cancelled, Some(Status::Cancelled), T::Cancelled),
            (S::Skipped, Some(Status::NoShow), T::Skipped),
            (S::Called, Some(Status::Booked), T::Called),
            (S::Called, Some(Status::Waiting), T::Called),
            (S::Called, Some(Status::InCall), T::Serving),
            (S::Called, Some(Status::Completed), T::Done),
            (S::Called, Some(Status::NoShow), T::Skipped),
            (S::Called, Some(Status::Cancelled), T::Cancelled),
            (S::Serving, Some(Status::Booked), T::Serving),
            (S::Serving, Some(Status::Completed), T::Done),
        ];
        for (stored, appt, want) in cases {
            assert_eq!(public_state(stored, appt), want, "{stored:?} + {appt:?}");
        }
        for s in [S::Waiting, S::Called, S::Serving, S::Skipped, S::Cancelled] {
            assert_eq!(StoredState::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn numbers_counters_modes_and_groups_read_back() {
        assert_eq!(number("A", 7), "A-007");
        assert_eq!(number("AB", 1234), "AB-1234");
        assert_eq!(
            Counter::parse(" 3A ").map(|c| c.as_str().to_string()),
            Ok("3A".into())
        );
        assert_eq!(Counter::parse("Loket 2").map(|c| c.0), Ok("Loket 2".into()));
        assert_eq!(Counter::parse(" "), Err("required"));
        assert_eq!(Counter::parse(&"9".repeat(17)), Err("too_long"));
        assert_eq!(Counter::parse("3<b>"), Err("invalid"));
        for m in [Mode::Remote, Mode::InPerson] {
            assert_eq!(Mode::parse(m.as_str()), Some(m));
        }
        for g in [
            PriorityGroup::Lansia,
            PriorityGroup::Disabilitas,
            PriorityGroup::IbuHamil,
            PriorityGroup::IbuDenganAnak,
        ] {
            assert_eq!(PriorityGroup::parse(g.as_str()), Some(g));
        }
        assert_eq!(PriorityGroup::parse("vip"), None);
    }

    fn arb_waiting() -> impl Strategy<Value = Vec<Waiting>> {
        prop::collection::vec((1u128..4, 0u32..240, any::<bool>()), 0..60).prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(|(i, (service, minute, priority))| w(i as u32 + 1, service, minute, priority))
                .collect()
        })
    }

    fn arb_clerks() -> impl Strategy<Value = Vec<QueueClerk>> {
        let clerk = (
            prop::collection::vec(1u128..4, 1..3),
            prop::collection::vec((0i64..48, 1i64..24), 0..4),
        )
            .prop_map(|(serves, gaps)| {
                // Gaps on a 5-minute grid from 08.00, sorted and made disjoint.
                let mut gaps: Vec<Interval> = gaps
                    .into_iter()
                    .map(|(s, len)| Interval {
                        start: wib(8, 0) + Duration::minutes(s * 10),
                        end: wib(8, 0) + Duration::minutes(s * 10 + len * 5),
                    })
                    .collect();
                gaps.sort();
                let mut disjoint: Vec<Interval> = Vec::new();
                for g in gaps {
                    match disjoint.last_mut() {
                        Some(last) if g.start <= last.end => last.end = last.end.max(g.end),
                        _ => disjoint.push(g),
                    }
                }
                QueueClerk {
                    id: StaffId::new(),
                    serves: serves.into_iter().map(sid).collect(),
                    gaps: disjoint,
                }
            });
        prop::collection::vec(clerk, 0..4)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Positions are 1..n in each service's line in fair order; the priority group stands
        /// before everyone else of its service; within a group, first come first served.
        #[test]
        fn positions_follow_the_fair_order(mut waiting in arb_waiting()) {
            fair_order(&mut waiting);
            let places = plan(wib(8, 0), &[], &[], &waiting);
            let mut seen: HashMap<ServiceId, Vec<(u32, &Waiting)>> = HashMap::new();
            for (p, w) in places.iter().zip(&waiting) {
                seen.entry(w.service).or_default().push((p.position, w));
            }
            for line in seen.values() {
                for (i, (pos, _)) in line.iter().enumerate() {
                    prop_assert_eq!(*pos, i as u32 + 1);
                }
                for pair in line.windows(2) {
                    let (a, b) = (pair[0].1, pair[1].1);
                    prop_assert!(a.priority || !b.priority, "a priority number stands behind a plain one");
                    if a.priority == b.priority {
                        prop_assert!(a.taken_at <= b.taken_at);
                    }
                }
            }
        }

        /// The plan never has a clerk in two places: each estimated call lies inside a gap of a
        /// clerk who serves the service, runs its whole pace inside that gap, and no two calls
        /// given to one clerk overlap; within a service, numbers are called in fair order.
        #[test]
        fn the_plan_keeps_every_clerk_in_one_place(
            mut waiting in arb_waiting(),
            clerks in arb_clerks(),
            minutes in prop::collection::vec(5i64..40, 3),
        ) {
            fair_order(&mut waiting);
            let paces: Vec<Pace> = (1u128..4).zip(&minutes).map(|(s, m)| Pace {
                service: sid(s),
                block: Duration::minutes(*m),
            }).collect();
            let now = wib(8, 0);
            let places = plan(now, &paces, &clerks, &waiting);
            prop_assert_eq!(places.len(), waiting.len());
            let mut used: HashMap<StaffId, Vec<Interval>> = HashMap::new();
            let mut last_in_service: HashMap<ServiceId, DateTime<Utc>> = HashMap::new();
            for (p, w) in places.iter().zip(&waiting) {
                let Some(start) = p.starts_at else {
                    continue;
                };
                prop_assert!(start >= now);
                let block = paces.iter().find(|x| x.service == w.service).unwrap().block;
                let call = Interval { start, end: start + block };
                let clerk = clerks.iter().find(|c| Some(c.id) == p.clerk);
                prop_assert!(clerk.is_some(), "an estimate without a clerk");
                if let Some(c) = clerk {
                    prop_assert!(c.serves.contains(&w.service));
                    prop_assert!(c.gaps.iter().any(|g| g.contains(&call)), "outside the clerk's gaps");
                    let mine = used.entry(c.id).or_default();
                    prop_assert!(mine.iter().all(|u| !u.overlaps(&call)), "the clerk is in two places");
                    mine.push(call);
                }
                if let Some(prev) = last_in_service.insert(w.service, start) {
                    prop_assert!(prev <= start, "a later number of the line is called earlier");
                }
            }
            // A number without an estimate is never followed by one of its line with one.
            let mut stopped: HashMap<ServiceId, bool> = HashMap::new();
            for (p, w) in places.iter().zip(&waiting) {
                if p.starts_at.is_none() {
                    stopped.insert(w.service, true);
                } else {
                    prop_assert!(!stopped.get(&w.service).copied().unwrap_or(false));
                }
            }
        }

        /// A call "Panggil berikutnya" makes never overlaps the clerk's busy time, leaves their
        /// hours or takes a number out of fair order among those that fit.
        #[test]
        fn the_next_call_never_overlaps_and_takes_the_first_that_fits(
            busy in prop::collection::vec((0i64..80, 1i64..12), 0..6),
            heads in prop::collection::vec((1u128..6, 0u32..100, 1i64..9, any::<bool>()), 0..5),
            at in 0i64..100,
        ) {
            let busy: Vec<Interval> = busy.into_iter().map(|(s, len)| Interval {
                start: wib(8, 0) + Duration::minutes(s * 5),
                end: wib(8, 0) + Duration::minutes(s * 5 + len * 5),
            }).collect();
            let c = calendar(busy.clone());
            let heads: Vec<Head> = heads.into_iter().enumerate().map(|(i, (s, minute, len, prio))| Head {
                ticket: w(i as u32 + 1, s, minute, prio),
                block: Duration::minutes(len * 5),
            }).collect();
            let now = wib(8, 0) + Duration::minutes(at * 5);
            match next_for_clerk(Jakarta, now, &c, &[], &heads) {
                NextCall::Call { ticket, period } => {
                    prop_assert_eq!(period.start, now);
                    prop_assert!(busy.iter().all(|b| !b.overlaps(&period)));
                    prop_assert!(clerk_can_take(Jakarta, &c, &[], period));
                    let chosen = heads.iter().find(|h| h.ticket.id == ticket).unwrap();
                    for h in &heads {
                        let p = Interval { start: now, end: now + h.block };
                        if h.ticket.key() < chosen.ticket.key() {
                            prop_assert!(!clerk_can_take(Jakarta, &c, &[], p), "skipped a number that fits");
                        }
                    }
                }
                NextCall::Nobody => prop_assert!(heads.is_empty()),
                NextCall::ClerkBusy { until } => {
                    prop_assert!(busy.iter().any(|b| b.start <= now && now < b.end && b.end == until));
                }
                NextCall::TooSoon { next_starts_at } => {
                    prop_assert!(next_starts_at > now);
                    prop_assert!(busy.iter().any(|b| b.start == next_starts_at));
                }
                NextCall::OffDuty => {
                    for h in &heads {
                        let p = Interval { start: now, end: now + h.block };
                        prop_assert!(!clerk_can_take(Jakarta, &c, &[], p));
                    }
                }
            }
        }
    }
}
