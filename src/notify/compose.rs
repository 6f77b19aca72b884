//! A message's words at the moment it is sent: the appointment (or queue number) as it is now
//! (its time, clerk, service and agency; a number's counter or room), the citizen's links and
//! the template of the kind in the booking's language. Composing late means a reminder never shows an old time; a message whose subject
//! has moved on (cancelled, already in the room) is found moot here and not sent.

use std::collections::HashMap;

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::auth::tokens;
use crate::booking::links;
use crate::booking::manage::calendar_text;
use crate::context::Ctx;
use crate::db::queue::TicketView;
use crate::db::{self, appointments::AppointmentView, outbox::Message, outbox::SubjectKind};
use crate::domain::appointment::Status;
use crate::domain::ids::{AppointmentId, ServiceId};
use crate::domain::messages::{self, Rendered, Vars};
use crate::domain::notify::{Kind, Lang, still_relevant, ticket_still_relevant};
use crate::domain::queue::{Mode, StoredState, number, public_state, status_link};

/// A message ready for its channel.
pub struct Composed {
    pub rendered: Rendered,
    /// The text with the links' tokens hidden (the admin's Outbox page).
    pub preview: String,
    /// The calendar file, for email.
    pub ics: Option<String>,
}

pub enum Compose {
    Ready(Composed),
    /// No longer worth sending (the reason goes to the attempts table).
    Moot(&'static str),
    /// Cannot be composed (a template value missing, a broken row): fails, never retried.
    Broken(String),
}

/// Values a message may bring in `params` (an OTP; the minutes of a queue number's `queue_near`).
const PARAM_KEYS: [&str; 12] = [
    "otp", "ticket", "minutes", "counter", "status", "name", "service", "agency", "time", "code",
    "join", "manage",
];

fn from_params(vars: &mut Vars, params: &serde_json::Value) {
    for key in PARAM_KEYS {
        match params.get(key) {
            Some(serde_json::Value::String(s)) => {
                vars.insert(key, s.clone());
            }
            Some(serde_json::Value::Number(n)) => {
                vars.insert(key, n.to_string());
            }
            _ => {}
        }
    }
}

/// The kinds whose email carries the calendar file.
fn with_calendar(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Booked
            | Kind::Rescheduled
            | Kind::Reassigned
            | Kind::Cancelled
            | Kind::ReminderDayBefore
    )
}

/// Composes a batch of claimed messages (their appointments and services read once each).
pub async fn batch(
    ctx: &Ctx,
    conn: &mut AsyncPgConnection,
    messages: &[&Message],
) -> Result<HashMap<Uuid, Compose>, diesel::result::Error> {
    let ids: Vec<Uuid> = messages
        .iter()
        .filter(|m| m.subject_kind == SubjectKind::Appointment.as_str())
        .map(|m| m.subject_id)
        .collect();
    let views: HashMap<Uuid, AppointmentView> = db::appointments::views(conn, &ids)
        .await?
        .into_iter()
        .map(|v| (v.appointment.id, v))
        .collect();
    let mut services = HashMap::new();
    for v in views.values() {
        let sid = v.appointment.service_id;
        if let std::collections::hash_map::Entry::Vacant(e) = services.entry(sid) {
            e.insert(db::catalog::service_by_id(conn, ServiceId(sid)).await?);
        }
    }
    let sequences = db::events::counts(conn, &ids).await?;
    let ticket_ids: Vec<Uuid> = messages
        .iter()
        .filter(|m| m.subject_kind == SubjectKind::QueueTicket.as_str())
        .map(|m| m.subject_id)
        .collect();
    let tickets: HashMap<Uuid, TicketView> = db::queue::views(conn, &ticket_ids)
        .await?
        .into_iter()
        .map(|v| (v.ticket.id, v))
        .collect();
    let now = Utc::now();
    let mut out = HashMap::new();
    for m in messages {
        let composed = match (m.kind(), SubjectKind::parse(&m.subject_kind)) {
            (None, _) | (_, None) => Compose::Broken(format!("unknown kind {}", m.kind)),
            (Some(kind), Some(SubjectKind::QueueTicket)) => match tickets.get(&m.subject_id) {
                None => Compose::Moot("number gone"),
                Some(v) => ticket_message(ctx, kind, m, v),
            },
            (Some(kind), Some(SubjectKind::Appointment)) => match views.get(&m.subject_id) {
                None => Compose::Moot("appointment gone"),
                Some(v) => {
                    let a = &v.appointment;
                    if !still_relevant(kind, a.status(), a.starts_at(), now) {
                        Compose::Moot("no longer relevant")
                    } else {
                        let (service, agency) = match services.get(&a.service_id) {
                            Some(x) => x,
                            None => {
                                out.insert(m.id, Compose::Broken("service missing".into()));
                                continue;
                            }
                        };
                        let lang = m.lang();
                        let token = match tokens::citizen_token(&ctx.keys, a.id(), a.created_at) {
                            Ok(t) => t,
                            Err(e) => {
                                out.insert(m.id, Compose::Broken(format!("token: {e}")));
                                continue;
                            }
                        };
                        let l = links(&ctx.settings, &token);
                        let mut vars = Vars::new();
                        let pick = |id: &str, en: &str| match lang {
                            Lang::Id => id.to_string(),
                            Lang::En => en.to_string(),
                        };
                        vars.insert("name", a.citizen_name.clone());
                        vars.insert("service", pick(&v.service_name, &v.service_name_en));
                        vars.insert("agency", pick(&agency.name, &agency.name_en));
                        vars.insert("clerk", v.clerk_name.clone());
                        vars.insert(
                            "time",
                            messages::when(a.starts_at(), ctx.settings.timezone, lang),
                        );
                        vars.insert("code", a.code.clone());
                        vars.insert("join", l.join.clone());
                        vars.insert("manage", l.manage.clone());
                        vars.insert("survey", l.manage.clone());
                        vars.insert("home", format!("{}/", ctx.settings.public_url));
                        vars.insert(
                            "requirements",
                            messages::requirements(&service.requirements, lang),
                        );
                        from_params(&mut vars, &m.params);
                        let ics = with_calendar(kind).then(|| {
                            calendar_text(v, &l.join, db::events::sequence(sequences.get(&a.id)))
                        });
                        ready(kind, lang, &vars, ics, &[&token])
                    }
                }
            },
        };
        out.insert(m.id, composed);
    }
    Ok(out)
}

/// A message about a queue number, from the number as it is now: its number, service, where
/// it is called to, its waiting page and (a called remote number) its room — the tokens minted
/// here, never stored in the outbox. Moot once its moment has passed.
fn ticket_message(ctx: &Ctx, kind: Kind, m: &Message, v: &TicketView) -> Compose {
    let t = &v.ticket;
    let state = public_state(
        StoredState::parse(&t.state).unwrap_or(StoredState::Cancelled),
        v.appointment
            .as_ref()
            .and_then(|(status, _, _)| Status::parse(status)),
    );
    if !ticket_still_relevant(kind, state) {
        return Compose::Moot("no longer relevant");
    }
    let lang = m.lang();
    let token = match tokens::queue_token(&ctx.keys, t.id(), t.taken_at) {
        Ok(token) => token,
        Err(e) => return Compose::Broken(format!("token: {e}")),
    };
    let remote = Mode::parse(&t.mode) == Some(Mode::Remote);
    // A called remote number's room: the walk-in appointment's citizen token.
    let room = match (remote, t.appointment_id, &v.appointment) {
        (true, Some(id), Some((_, _, created_at))) => {
            match tokens::citizen_token(&ctx.keys, AppointmentId(id), *created_at) {
                Ok(token) => Some(token),
                Err(e) => return Compose::Broken(format!("token: {e}")),
            }
        }
        _ => None,
    };
    let join = room.as_deref().map(|r| links(&ctx.settings, r).join);
    let mut vars = Vars::new();
    from_params(&mut vars, &m.params);
    vars.insert("name", t.citizen_name.clone());
    vars.insert("ticket", number(&v.prefix, t.seq.max(0) as u32));
    vars.insert(
        "service",
        match lang {
            Lang::Id => v.service_name.clone(),
            Lang::En => v.service_name_en.clone(),
        },
    );
    vars.insert(
        "counter",
        messages::queue_destination(t.counter.as_deref(), v.clerk_name.as_deref(), remote, lang),
    );
    vars.insert("status", status_link(&ctx.settings.public_url, &token));
    vars.insert("step", messages::queue_step(join.as_deref(), lang));
    let minutes = m
        .params
        .get("minutes")
        .and_then(serde_json::Value::as_u64)
        .map(|n| n.min(u32::MAX as u64) as u32);
    vars.insert("minutes", messages::queue_minutes(minutes, lang));
    let mut hide = vec![token.as_str()];
    hide.extend(room.as_deref());
    ready(kind, lang, &vars, None, &hide)
}

fn ready(kind: Kind, lang: Lang, vars: &Vars, ics: Option<String>, hide: &[&str]) -> Compose {
    match messages::render(kind, lang, vars) {
        Err(e) => Compose::Broken(e.to_string()),
        Ok(rendered) => {
            let mut preview = rendered.text.clone();
            for t in hide.iter().filter(|t| !t.is_empty()) {
                preview = preview.replace(t, "…");
            }
            if let Some(otp) = vars.get("otp").filter(|o| !o.is_empty()) {
                preview = preview.replace(otp.as_str(), "••••••");
            }
            Compose::Ready(Composed {
                rendered,
                preview,
                ics,
            })
        }
    }
}
