//! The clerk's side of the line: "Panggil berikutnya" (call the next number of a service they
//! serve — only when it fits now, before their next booking; the call holds their time as a
//! walk-in appointment), call again (twice), skip once the grace time is over (the time is
//! released as a no-show), and "Layani" for a number served in person (the citizen reached the
//! counter). Each asks `domain::queue` and lets `db::queue` write under the right lock.

use chrono::{Duration, Utc};

use super::{QueueError, live, notify};
use crate::auth::StaffSession;
use crate::context::Ctx;
use crate::db::{
    self,
    queue::{CallDecision, CallError, ChangeError, Locked, TicketChange, TicketView, WalkIn},
};
use crate::domain::appointment::Status;
use crate::domain::ids::{AgencyId, ServiceId, StaffId, TicketId};
use crate::domain::notify::Kind;
use crate::domain::queue::{
    CallRules, Command, Counter, Effect, Head, Mode, NextCall, StoredState, Ticket, Waiting,
    next_for_clerk, public_state,
};
use crate::domain::schedule::WeeklyHours;
use crate::domain::slots::ClerkCalendar;
use crate::queue_feed::QueueStats;

/// The deployment's rules for called numbers.
pub fn rules(ctx: &Ctx) -> CallRules {
    CallRules {
        grace: Duration::minutes(ctx.settings.queue_grace_minutes),
        ..CallRules::default()
    }
}

/// A locked ticket as the state machine sees it.
pub fn machine(locked: &Locked) -> Ticket {
    let t = &locked.ticket;
    Ticket {
        state: public_state(
            StoredState::parse(&t.state).unwrap_or(StoredState::Cancelled),
            locked.appointment_status,
        ),
        mode: Mode::parse(&t.mode).unwrap_or(Mode::InPerson),
        calls: t.calls.clamp(0, u8::MAX as i16) as u8,
        last_called_at: t.last_called_at,
    }
}

/// The row changes the machine's effects ask for (the shell's side of `Effect`).
pub fn change_for(effects: &[Effect], actor: &str) -> TicketChange {
    let mut change = TicketChange {
        actor: actor.to_string(),
        ..Default::default()
    };
    for e in effects {
        match *e {
            Effect::SetState(s) => change.state = Some(s.as_str().to_string()),
            Effect::CountCall { at } => change.count_call_at = Some(at),
            Effect::ReleaseClerkTime(status) => change.release = Some(status),
            // Done elsewhere: the call's own transaction holds the time; the board, the room
            // and the notice follow the commit; service and mark are the caller's values.
            Effect::HoldClerkTime
            | Effect::Announce
            | Effect::OpenRoom
            | Effect::NotifyCalled
            | Effect::ChangeService
            | Effect::SetPriority => {}
        }
    }
    change
}

pub fn change_error(e: ChangeError<QueueError>) -> QueueError {
    match e {
        ChangeError::NotFound => QueueError::NotFound,
        ChangeError::Refused(r) => r,
        ChangeError::Db(e) => e.into(),
    }
}

/// Calls the clerk's next number (of `service`, or of any service they serve) to `counter`;
/// answers it as the clerk sees it (its walk-in appointment holds the room of a remote number).
/// `Ok(None)`: nobody waits.
pub async fn next(
    ctx: &Ctx,
    me: &StaffSession,
    service: Option<&str>,
    counter: Option<&str>,
) -> Result<Option<TicketView>, QueueError> {
    let counter = match counter.map(str::trim).filter(|c| !c.is_empty()) {
        None => None,
        Some(raw) => Some(Counter::parse(raw).map_err(|e| QueueError::field("counter", e))?),
    };
    let mut conn = ctx.conn().await?;
    let mine = db::queue::served_by(&mut conn, me.id).await?;
    let services = match service.map(str::trim).filter(|s| !s.is_empty()) {
        None => mine,
        Some(slug) => match mine.into_iter().find(|s| s.slug == slug) {
            Some(s) => vec![s],
            None => {
                let exists = db::queue::service_by_slug(&mut conn, slug).await?.is_some();
                let problem = if exists { "not_served" } else { "unknown" };
                return Err(QueueError::field("service", problem));
            }
        },
    };
    if services.is_empty() {
        return Ok(None);
    }
    let hours = db::schedule::hours_for(&mut conn, &[me.id]).await?;
    let hours = WeeklyHours::parse(hours.get(&me.id).map(Vec::as_slice).unwrap_or(&[]))
        .map_err(|_| anyhow::anyhow!("stored hours do not parse"))?;
    let tz = ctx.settings.timezone;
    let (day, window) = live::today(tz, Utc::now());
    let ids: Vec<ServiceId> = services.iter().map(|s| ServiceId(s.id)).collect();
    let clerk = WalkIn {
        staff: me.id,
        counter: counter.map(|c| c.as_str().to_string()),
        actor: me.id.actor(),
    };
    let decide = |blocked: &db::queue::Blocked, heads: &[db::queue::HeadRow]| {
        // The clock is read here, under the clerk's lock: a call that took the lock first has
        // committed its time by now, and it started before this moment.
        let now = Utc::now();
        // Appointments are busy time; leave counts like a closure (off duty, not busy).
        let mut closures = blocked.closures.clone();
        closures.extend(blocked.leave.get(&me.id).into_iter().flatten().copied());
        let calendar = ClerkCalendar {
            staff_id: me.id,
            hours: hours.clone(),
            busy: blocked.busy.get(&me.id).cloned().unwrap_or_default(),
            load: 0,
        };
        let heads: Vec<Head> = heads
            .iter()
            .filter_map(|h| {
                let s = services.iter().find(|s| s.id == h.service_id)?;
                Some(Head {
                    ticket: Waiting {
                        id: TicketId(h.id),
                        service: ServiceId(h.service_id),
                        taken_at: h.taken_at,
                        seq: h.seq.max(0) as u32,
                        priority: h.priority,
                    },
                    block: Duration::minutes((s.duration_minutes + s.buffer_minutes) as i64),
                })
            })
            .collect();
        match next_for_clerk(tz, now, &calendar, &closures, &heads) {
            NextCall::Call { ticket, period } => {
                // The service itself ends before its buffer.
                let buffer = heads
                    .iter()
                    .find(|h| h.ticket.id == ticket)
                    .and_then(|h| services.iter().find(|s| s.id == h.ticket.service.0))
                    .map(|s| Duration::minutes(s.buffer_minutes as i64))
                    .unwrap_or_default();
                CallDecision::Call {
                    ticket: ticket.0,
                    period,
                    ends_at: period.end - buffer,
                }
            }
            NextCall::Nobody => CallDecision::Refuse(None),
            NextCall::ClerkBusy { until } => {
                CallDecision::Refuse(Some(QueueError::ClerkBusy { until }))
            }
            NextCall::TooSoon { next_starts_at } => {
                CallDecision::Refuse(Some(QueueError::NextAppointmentTooSoon { next_starts_at }))
            }
            NextCall::OffDuty => CallDecision::Refuse(Some(QueueError::OffDuty)),
        }
    };
    let settings = &ctx.settings;
    let notice = |row: &db::queue::TicketRow| notify::called(settings, row);
    let row = match db::queue::call_next(&mut conn, &clerk, &ids, day, window, decide, notice).await
    {
        Ok(row) => row,
        Err(CallError::Refused(None)) => return Ok(None),
        Err(CallError::Refused(Some(e))) => return Err(e),
        // The exclusion constraint: a booking took the time between our read and our insert —
        // impossible under the clerk's lock, kept as the database's guarantee.
        Err(CallError::Overlap) => {
            return Err(QueueError::ClerkBusy {
                until: Utc::now() + Duration::minutes(1),
            });
        }
        Err(CallError::Busy | CallError::Raced) => return Err(QueueError::Busy),
        Err(CallError::Db(e)) => return Err(e.into()),
    };
    QueueStats::bump(&ctx.queue_feed.stats().called);
    let id = row.id();
    tracing::info!(ticket = %id, clerk = %me.id, "queue number called");
    let in_person = Mode::parse(&row.mode) == Some(Mode::InPerson);
    live::changed(ctx, AgencyId(row.agency_id), in_person);
    live::appointment_changed(ctx, &row, Status::Booked);
    notify::told(&ctx.queue_feed, &ctx.outbox_wake, Kind::QueueCalled, &row);
    let view = db::queue::view(&mut conn, id)
        .await?
        .ok_or(QueueError::NotFound)?;
    Ok(Some(view))
}

/// May this staff member act on this number's call? Its clerk; a supervisor of its agency; an
/// admin. Others are told it does not exist.
fn may_act(me: &StaffSession, t: &db::queue::TicketRow) -> bool {
    match t.staff_id {
        Some(clerk) => me.may_act_for(StaffId(clerk), Some(AgencyId(t.agency_id))),
        None => super::supervises(me, AgencyId(t.agency_id)),
    }
}

/// What a clerk does with a called number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Recall,
    Skip,
    Serve,
}

/// Calls a number again, skips it, or marks it served in person.
pub async fn act(
    ctx: &Ctx,
    me: &StaffSession,
    id: TicketId,
    action: Action,
) -> Result<TicketView, QueueError> {
    let mut conn = ctx.conn().await?;
    let rules = rules(ctx);
    let now = Utc::now();
    let actor = me.id.actor();
    let settings = &ctx.settings;
    let notice = |row: &db::queue::TicketRow| match action {
        Action::Recall => notify::called(settings, row),
        Action::Skip | Action::Serve => None,
    };
    let row = db::queue::change_notifying(
        &mut conn,
        id,
        |locked| {
            if !may_act(me, &locked.ticket) {
                return Err(QueueError::NotFound);
            }
            let command = match action {
                Action::Recall => Command::Recall { at: now },
                Action::Skip => Command::Skip { at: now },
                Action::Serve => Command::Serve,
            };
            let effects = machine(locked)
                .apply(command, &rules)
                .map_err(QueueError::Refused)?;
            Ok(change_for(&effects, &actor))
        },
        notice,
    )
    .await
    .map_err(change_error)?;
    let in_person = Mode::parse(&row.mode) == Some(Mode::InPerson);
    live::changed(ctx, AgencyId(row.agency_id), in_person);
    if action == Action::Skip {
        live::appointment_changed(ctx, &row, Status::NoShow);
    }
    if action == Action::Recall {
        notify::told(&ctx.queue_feed, &ctx.outbox_wake, Kind::QueueCalled, &row);
    }
    db::queue::view(&mut conn, id)
        .await?
        .ok_or(QueueError::NotFound)
}
