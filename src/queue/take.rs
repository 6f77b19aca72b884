//! Taking a number for a service today, remote (by video; a phone is required) or in person
//! (the kiosk; the phone is optional): every field checked at once, then the queue's admission
//! (the service's hours today, the cut-off, the day's cap and the line's bound — decided on a
//! fresh model, exact again under the locks in `db::queue::take`), the phone's limit shared with
//! bookings, and the number ("A-007") from the agency's counter for the day.

use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::current::{TicketNow, build};
use super::{Links, QueueError, links, live};
use crate::auth::tokens;
use crate::context::Ctx;
use crate::db::{self, queue::TakeError, queue::TakeLimits};
use crate::domain::FieldErrors;
use crate::domain::citizen::{CitizenName, Phone};
use crate::domain::ids::{AgencyId, ServiceId};
use crate::domain::queue::{Admission, Mode, Refusal, admit};
use crate::queue_feed::QueueStats;

/// The citizen as they fill in the kiosk or the page.
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
#[schema(as = QueueCitizenIn)]
pub struct QueueCitizen {
    pub name: Option<String>,
    /// Required for remote numbers; optional at the kiosk.
    pub phone: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[schema(as = QueueIn)]
pub struct TakeForm {
    /// Service slug.
    pub service: Option<String>,
    /// `remote` or `in_person`.
    pub mode: Option<String>,
    pub citizen: Option<QueueCitizen>,
    /// Consent to the processing of personal data (UU PDP); must be true.
    pub consent: Option<bool>,
}

pub struct Taken {
    pub now: TicketNow,
    pub token: String,
    pub links: Links,
}

pub async fn take(ctx: &Ctx, form: TakeForm) -> Result<Taken, QueueError> {
    let mut conn = ctx.conn().await?;
    let mut fields = FieldErrors::new();
    let mut bad = |f: &str, p: &str| {
        fields.insert(f.to_string(), p.to_string());
    };
    let service = match form.service.as_deref().map(str::trim) {
        None | Some("") => {
            bad("service", "required");
            None
        }
        Some(slug) => {
            let found = db::queue::service_by_slug(&mut conn, slug)
                .await?
                .filter(|s| s.active);
            if found.is_none() {
                bad("service", "unknown");
            }
            found
        }
    };
    let mode = match form.mode.as_deref().map(str::trim) {
        None | Some("") => {
            bad("mode", "required");
            None
        }
        Some(raw) => {
            let m = Mode::parse(raw);
            if m.is_none() {
                bad("mode", "invalid");
            }
            m
        }
    };
    let citizen = form.citizen.unwrap_or_default();
    let name = CitizenName::parse(citizen.name.as_deref().unwrap_or(""))
        .map_err(|e| bad("citizen.name", e))
        .ok();
    let phone = match citizen.phone.as_deref().map(str::trim) {
        None | Some("") => {
            if mode == Some(Mode::Remote) {
                bad("citizen.phone", "required");
            }
            None
        }
        Some(raw) => Phone::parse(raw).map_err(|e| bad("citizen.phone", e)).ok(),
    };
    if form.consent != Some(true) {
        bad("consent", "required");
    }
    let (Some(service), Some(mode), Some(name), true) = (service, mode, name, fields.is_empty())
    else {
        return Err(QueueError::Invalid(fields));
    };

    let agency = AgencyId(service.agency_id);
    let sid = ServiceId(service.id);
    let now = Utc::now();
    let model = live::load(&mut conn, ctx.settings.timezone, agency, now).await?;
    let place = model.place_of_new(sid);
    let day = crate::domain::queue::service_day(
        model.tz,
        model.day,
        &model.calendars_of(sid),
        &model.closures,
        &model.leave,
    );
    admit(&Admission {
        now,
        day,
        planned_start: place.starts_at,
        taken_today: model.taken_today.get(&sid).copied().unwrap_or(0),
        daily_cap: service.daily_cap.map(|c| c.max(0) as u32),
        waiting: model.waiting_in(sid),
        max_waiting: ctx.settings.queue_max_waiting.clamp(1, u32::MAX as i64) as u32,
    })
    .map_err(|r| match r {
        Refusal::Closed(reason) => QueueError::Closed(reason),
        Refusal::Full => QueueError::Full,
    })?;
    let limit = ctx.settings.max_active_bookings;
    let new = db::queue::NewTicket {
        id: Uuid::new_v4(),
        agency_id: service.agency_id,
        service_id: service.id,
        day: model.day,
        mode: mode.as_str().to_string(),
        citizen_name: name.as_str().to_string(),
        citizen_phone: phone.map(|p| p.e164().to_string()),
    };
    let row = db::queue::take(
        &mut conn,
        &new,
        TakeLimits {
            max_active_per_phone: limit,
            daily_cap: service.daily_cap,
            max_waiting: ctx.settings.queue_max_waiting,
        },
    )
    .await
    .map_err(|e| match e {
        TakeError::TooManyActive => QueueError::TooManyActive { limit },
        TakeError::Full => QueueError::Full,
        TakeError::Db(e) => e.into(),
    })?;
    QueueStats::bump(&ctx.queue_feed.stats().taken);
    tracing::info!(ticket = %row.id, seq = row.seq, mode = %row.mode, "queue number taken");
    live::changed(ctx, agency, false);
    let token = tokens::queue_token(&ctx.keys, row.id(), row.taken_at)?;
    let view = db::queue::view(&mut conn, row.id())
        .await?
        .ok_or(QueueError::NotFound)?;
    Ok(Taken {
        links: links(&ctx.settings, &token, mode == Mode::Remote),
        now: build(ctx, view, Some((place.position, place.starts_at)), now)?,
        token,
    })
}
