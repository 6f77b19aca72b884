//! Staff looking after the lines: each service's line today (waiting, the longest wait, served
//! and skipped, and the waiting numbers with their places — a clerk sees the services they
//! serve, a supervisor their agency's, an admin any agency's), their own open calls; moving a
//! waiting number to another service of the agency (supervisors), marking the priority group
//! (any staff member who serves the number's service, or its agency's supervisor), and a
//! service's daily cap of numbers (supervisors of its agency, admins).

use chrono::{DateTime, Utc};

use super::{QueueError, call, live};
use crate::auth::StaffSession;
use crate::context::Ctx;
use crate::db::{self, queue::QueueService, queue::TicketRow, queue::TicketView};
use crate::domain::ids::{AgencyId, ServiceId, TicketId};
use crate::domain::queue::{Command, PriorityGroup};
use crate::domain::schedule::Role;

/// Waiting numbers listed per line at most.
pub const LISTED_PER_LINE: i64 = 100;

/// One waiting number on a line, for staff.
pub struct Listed {
    pub ticket: TicketRow,
    pub position: u32,
    pub expected_at: Option<DateTime<Utc>>,
}

/// One service's line today.
pub struct Line {
    pub service: QueueService,
    pub prefix: String,
    pub waiting: u32,
    pub oldest_waiting: Option<DateTime<Utc>>,
    pub served: u32,
    pub skipped: u32,
    pub taken: u32,
    pub tickets: Vec<Listed>,
}

pub struct Overview {
    pub lines: Vec<Line>,
    /// The caller's own calls that are not finished, the last first.
    pub my_calls: Vec<TicketView>,
}

/// The lines this staff member looks after: a clerk's services; a supervisor's agency; an
/// admin's named agency (or every agency).
pub async fn overview(
    ctx: &Ctx,
    me: &StaffSession,
    agency: Option<&str>,
) -> Result<Overview, QueueError> {
    let mut conn = ctx.conn().await?;
    let agencies = db::queue::agencies(&mut conn).await?;
    let named = match agency.map(str::trim).filter(|a| !a.is_empty()) {
        None => None,
        Some(slug) => Some(
            agencies
                .iter()
                .find(|a| a.slug == slug)
                .ok_or_else(|| QueueError::field("agency", "unknown"))?,
        ),
    };
    // (agency, only these services)
    let scope: Vec<(AgencyId, Option<Vec<uuid::Uuid>>)> = match (me.role, named) {
        (Role::Admin, Some(a)) => vec![(AgencyId(a.id), None)],
        (Role::Admin, None) => agencies.iter().map(|a| (AgencyId(a.id), None)).collect(),
        (_, Some(a)) if me.agency != Some(AgencyId(a.id)) => {
            return Err(QueueError::NotYourAgency);
        }
        (Role::Supervisor, _) => me.agency.map(|a| (a, None)).into_iter().collect(),
        (Role::Clerk, _) => {
            let mine = db::queue::served_by(&mut conn, me.id).await?;
            let mut by_agency: Vec<(AgencyId, Option<Vec<uuid::Uuid>>)> = Vec::new();
            for s in mine {
                match by_agency.iter_mut().find(|(a, _)| a.0 == s.agency_id) {
                    Some((_, Some(list))) => list.push(s.id),
                    _ => by_agency.push((AgencyId(s.agency_id), Some(vec![s.id]))),
                }
            }
            by_agency
        }
    };
    let now = Utc::now();
    let mut lines = Vec::new();
    for (agency, only) in scope {
        let model = live::load(&mut conn, ctx.settings.timezone, agency, now).await?;
        let places = model.places();
        let stats = db::queue::line_stats(&mut conn, agency, model.day).await?;
        let prefix = agencies
            .iter()
            .find(|a| a.id == agency.0)
            .map(|a| a.prefix.clone())
            .unwrap_or_default();
        let services: Vec<&QueueService> = model
            .services
            .iter()
            .filter(|s| only.as_ref().is_none_or(|o| o.contains(&s.id)))
            .collect();
        let ids: Vec<uuid::Uuid> = services.iter().map(|s| s.id).collect();
        let listed = db::queue::waiting_list(&mut conn, &ids, model.day, LISTED_PER_LINE).await?;
        for s in services {
            let st = stats.iter().find(|l| l.service_id == s.id);
            let tickets = listed
                .iter()
                .filter(|t| t.service_id == s.id)
                .map(|t| {
                    let place = model
                        .waiting
                        .iter()
                        .position(|w| w.id.0 == t.id)
                        .and_then(|i| places.get(i));
                    Listed {
                        ticket: t.clone(),
                        position: place.map(|p| p.position).unwrap_or(0),
                        expected_at: place.and_then(|p| p.starts_at),
                    }
                })
                .collect();
            let count = |f: fn(&db::queue::LineStats) -> i64| {
                st.map(f).unwrap_or(0).clamp(0, u32::MAX as i64) as u32
            };
            lines.push(Line {
                service: s.clone(),
                prefix: prefix.clone(),
                waiting: model.waiting_in(ServiceId(s.id)),
                oldest_waiting: st.and_then(|l| l.oldest_waiting),
                served: count(|l| l.served),
                skipped: count(|l| l.skipped),
                taken: count(|l| l.taken),
                tickets,
            });
        }
    }
    let (day, _) = live::today(ctx.settings.timezone, now);
    let my_calls = db::queue::open_calls(&mut conn, me.id, day).await?;
    Ok(Overview { lines, my_calls })
}

/// A supervisor (or admin) moves a waiting number to another active service of its agency; it
/// keeps its number and its place in time.
pub async fn move_ticket(
    ctx: &Ctx,
    me: &StaffSession,
    id: TicketId,
    service: Option<&str>,
) -> Result<TicketView, QueueError> {
    if !me.has_role(&[Role::Supervisor, Role::Admin]) {
        return Err(QueueError::InsufficientRole);
    }
    let slug = service
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| QueueError::field("service", "required"))?;
    let mut conn = ctx.conn().await?;
    let target = db::queue::service_by_slug(&mut conn, slug)
        .await?
        .filter(|s| s.active)
        .ok_or_else(|| QueueError::field("service", "unknown"))?;
    let rules = call::rules(ctx);
    let actor = me.id.actor();
    let row = db::queue::change(&mut conn, id, |locked| {
        let t = &locked.ticket;
        if !super::supervises(me, AgencyId(t.agency_id)) {
            return Err(QueueError::NotFound);
        }
        if target.agency_id != t.agency_id {
            return Err(QueueError::field("service", "other_agency"));
        }
        if target.id == t.service_id {
            return Err(QueueError::field("service", "same_service"));
        }
        let effects = call::machine(locked)
            .apply(Command::Move, &rules)
            .map_err(QueueError::Refused)?;
        let mut change = call::change_for(&effects, &actor);
        change.service = Some(target.id);
        Ok(change)
    })
    .await
    .map_err(call::change_error)?;
    live::changed(ctx, AgencyId(row.agency_id), false);
    db::queue::view(&mut conn, id)
        .await?
        .ok_or(QueueError::NotFound)
}

/// Marks (or unmarks, with `None`) a waiting number as the priority group: staff who serve its
/// service, or its agency's supervisor, or an admin.
pub async fn mark_priority(
    ctx: &Ctx,
    me: &StaffSession,
    id: TicketId,
    group: Option<PriorityGroup>,
) -> Result<TicketView, QueueError> {
    let mut conn = ctx.conn().await?;
    let view = db::queue::view(&mut conn, id)
        .await?
        .ok_or(QueueError::NotFound)?;
    let t = &view.ticket;
    let allowed = super::supervises(me, AgencyId(t.agency_id))
        || db::staff::serves(&mut conn, me.id, ServiceId(t.service_id)).await?;
    if !allowed {
        return Err(QueueError::NotFound);
    }
    let rules = call::rules(ctx);
    let actor = me.id.actor();
    let row = db::queue::change(&mut conn, id, |locked| {
        let effects = call::machine(locked)
            .apply(Command::MarkPriority, &rules)
            .map_err(QueueError::Refused)?;
        let mut change = call::change_for(&effects, &actor);
        change.priority = Some(group.map(|g| g.as_str().to_string()));
        Ok(change)
    })
    .await
    .map_err(call::change_error)?;
    live::changed(ctx, AgencyId(row.agency_id), false);
    db::queue::view(&mut conn, id)
        .await?
        .ok_or(QueueError::NotFound)
}

/// Most numbers a daily cap may allow (the table's check).
pub const MAX_DAILY_CAP: i32 = 10_000;

/// Sets (a number 1..=10,000) or clears (`None`) a service's daily cap of queue numbers.
pub async fn set_daily_cap(
    ctx: &Ctx,
    me: &StaffSession,
    slug: &str,
    cap: Option<i64>,
) -> Result<QueueService, QueueError> {
    if !me.has_role(&[Role::Supervisor, Role::Admin]) {
        return Err(QueueError::InsufficientRole);
    }
    let cap = match cap {
        None => None,
        Some(n) if (1..=MAX_DAILY_CAP as i64).contains(&n) => Some(n as i32),
        Some(_) => return Err(QueueError::field("daily_cap", "out_of_range")),
    };
    let mut conn = ctx.conn().await?;
    let service = db::queue::service_by_slug(&mut conn, slug)
        .await?
        .filter(|s| super::supervises(me, AgencyId(s.agency_id)))
        .ok_or_else(|| QueueError::field("service", "unknown"))?;
    db::queue::set_daily_cap(&mut conn, &service, cap, &me.id.actor()).await?;
    Ok(QueueService {
        daily_cap: cap,
        ..service
    })
}
