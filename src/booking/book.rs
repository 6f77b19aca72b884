//! Booking a consultation: validate every field at once, find the clerks free at exactly that
//! start (the same slot computation the slots endpoint shows), encrypt the NIK, and let the
//! database decide (`db::appointments::book`: per-clerk lock, exclusion constraint, per-phone
//! limit). With booking confirmation on, the booking is stored `held` with its first code
//! (`hold`). An `Idempotency-Key` replays the first answer; the same key with another body is
//! refused.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{BookingError, Links, links};
use crate::auth::{otp, tokens};
use crate::availability;
use crate::context::Ctx;
use crate::db::{self, appointments::AppointmentView, appointments::BookError};
use crate::domain::FieldErrors;
use crate::domain::appointment::BookingCode;
use crate::domain::citizen::{CitizenName, Email, Nik, Phone};
use crate::domain::hold;
use crate::domain::ids::ServiceId;
use crate::domain::notify::{self, Actor, Change, Kind, Lang, Recipient};
use crate::domain::schedule::Interval;

/// The citizen's details as submitted.
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
#[schema(as = CitizenIn)]
pub struct CitizenForm {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// Only for services with `needs_nik`; ignored (never stored) otherwise.
    pub nik: Option<String>,
}

/// A booking as submitted. Its serialised form (this field order) is what the idempotency
/// check compares, so a replay must send the same body.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[schema(as = BookingIn)]
pub struct BookingForm {
    /// Service slug.
    pub service: Option<String>,
    /// RFC 3339, one of the offered slot starts.
    pub starts_at: Option<String>,
    pub citizen: Option<CitizenForm>,
    /// Consent to the processing of personal data (UU PDP); must be true.
    pub consent: Option<bool>,
    /// The language of the citizen's messages: `id` (default) or `en`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// A stored booking: the appointment, the citizen token bound to it, and the links.
pub struct Booked {
    pub view: AppointmentView,
    pub token: String,
    pub links: Links,
}

/// A start time as sent (RFC 3339, within the years `domain::dates` accepts).
pub fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    crate::domain::dates::parse_instant(raw).ok()
}

/// The token and links of a stored appointment. The token is a function of the row, so a
/// replay answers byte for byte what the first request got.
pub fn booked(ctx: &Ctx, view: AppointmentView) -> Result<Booked, BookingError> {
    let token = tokens::citizen_token(
        &ctx.keys,
        view.appointment.id(),
        view.appointment.created_at,
    )?;
    Ok(Booked {
        links: links(&ctx.settings, &token),
        token,
        view,
    })
}

/// Books a consultation: assigns a free clerk fairly, or `SlotTaken`.
pub async fn book(
    ctx: &Ctx,
    form: BookingForm,
    idempotency_key: Option<String>,
) -> Result<Booked, BookingError> {
    let request_hash = {
        let canonical: Value = serde_json::to_value(&form).unwrap_or(Value::Null);
        let bytes = serde_json::to_vec(&canonical).unwrap_or_default();
        ctx.keys.mac(&ctx.keys.request_hash, &bytes)
    };
    let mut conn = ctx.conn().await?;
    if let Some(k) = &idempotency_key
        && let Some(existing) = db::appointments::by_idempotency_key(&mut conn, k).await?
    {
        return replay(ctx, &mut conn, existing, &request_hash).await;
    }

    // Validate everything and report every bad field at once.
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
            let found = ctx
                .directory
                .service(&mut conn, slug)
                .await?
                .filter(|(s, _)| s.active);
            if found.is_none() {
                bad("service", "unknown");
            }
            found
        }
    };
    let starts_at = match form.starts_at.as_deref() {
        None => {
            bad("starts_at", "required");
            None
        }
        Some(raw) => {
            let t = parse_time(raw);
            if t.is_none() {
                bad("starts_at", "invalid");
            }
            t
        }
    };
    let citizen = form.citizen.unwrap_or_default();
    let name = CitizenName::parse(citizen.name.as_deref().unwrap_or(""))
        .map_err(|e| bad("citizen.name", e))
        .ok();
    let phone = Phone::parse(citizen.phone.as_deref().unwrap_or(""))
        .map_err(|e| bad("citizen.phone", e))
        .ok();
    let email = match citizen.email.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Email::parse(raw).map_err(|e| bad("citizen.email", e)).ok(),
    };
    let needs_nik = service.as_ref().is_some_and(|(s, _)| s.needs_nik);
    let nik = if needs_nik {
        Nik::parse(citizen.nik.as_deref().unwrap_or(""))
            .map_err(|e| bad("citizen.nik", e))
            .ok()
    } else {
        None
    };
    if form.consent != Some(true) {
        bad("consent", "required");
    }
    let lang = match form.lang.as_deref().map(str::trim) {
        None | Some("") => Lang::Id,
        Some(raw) => Lang::parse(raw).unwrap_or_else(|| {
            bad("lang", "unsupported");
            Lang::Id
        }),
    };
    let (Some((service, _)), Some(starts_at), Some(name), Some(phone), true) =
        (service, starts_at, name, phone, fields.is_empty())
    else {
        return Err(BookingError::Invalid(fields));
    };

    // Which clerks are free at exactly that start?
    let rules = availability::rules(&ctx.settings, &service, Utc::now());
    let cal = availability::load_around(
        &mut conn,
        &ctx.directory,
        ServiceId(service.id),
        starts_at,
        None,
    )
    .await?;
    let candidates = availability::free_clerks(rules, &cal, starts_at);
    if candidates.is_empty() {
        // Either it was never a slot, or it has just been taken: both mean "pick another".
        return Err(BookingError::SlotTaken);
    }
    let duration = Duration::minutes(service.duration_minutes as i64);
    let blocked = duration + Duration::minutes(service.buffer_minutes as i64);
    let (nik_cipher, nik_hash, nik_last4, nik_masked) = match &nik {
        Some(n) => (
            Some(ctx.keys.encrypt_nik(n)?),
            Some(ctx.keys.hash_nik(n)),
            Some(n.last4().to_string()),
            Some(n.masked()),
        ),
        None => (None, None, None, None),
    };
    let recipient = Recipient {
        phone: Some(phone.e164().to_string()),
        email: email.as_ref().map(|e| e.as_str().to_string()),
    };
    let id = Uuid::new_v4();
    let now = Utc::now();
    let rules = ctx.settings.notify_rules();
    // Held (DESIGN §9): the first message is the code, and the booking's own message and
    // reminders wait for the confirmation (`hold::confirm`). Otherwise they go now.
    let (messages, hold) = if ctx.settings.holds_bookings() {
        let code = otp::generate();
        // To the microsecond, as stored: the answer and a replay of it agree.
        let until = (now + Duration::minutes(ctx.settings.hold_minutes)).trunc_subsecs(6);
        let plan = notify::single(Kind::Otp, &recipient, hold::otp_round(1), &rules, now);
        let new_hold = db::appointments::NewHold {
            until,
            code_hash: super::hold::code_hash(ctx, id, &code),
            code_expires_at: hold::code_expiry(now, until),
            params: serde_json::json!({
                "otp": code,
                "minutes": hold::minutes_left(now, hold::code_expiry(now, until)),
            }),
        };
        (plan, Some(new_hold))
    } else {
        let plan = notify::plan(
            Change::Booked,
            Actor::Citizen,
            &recipient,
            starts_at,
            0,
            &rules,
            now,
        );
        (plan, None)
    };
    let new = db::appointments::NewAppointment {
        id,
        code: BookingCode::generate().as_str().to_string(),
        service_id: service.id,
        staff_id: candidates[0].0,
        period: db::schedule::range(Interval {
            start: starts_at,
            end: starts_at + blocked,
        }),
        ends_at: starts_at + duration,
        citizen_name: name.as_str().to_string(),
        citizen_phone: phone.e164().to_string(),
        citizen_email: email.map(|e| e.as_str().to_string()),
        nik_cipher,
        nik_last4,
        nik_masked,
        nik_hash,
        idempotency_key,
        request_hash: Some(request_hash.clone()),
        lang,
        messages: db::outbox::messages_json(&messages.add),
        hold,
    };
    let limit = ctx.settings.max_active_bookings;
    let limits = db::appointments::Limits {
        max_active: limit,
        max_active_nik: ctx.settings.max_active_bookings_per_nik,
        max_per_service_day: ctx.settings.max_bookings_per_service_day,
        day: db::schedule::range(local_day(ctx, starts_at)),
    };
    match db::appointments::book(&mut conn, new, &candidates, &limits).await {
        Ok(row) => {
            ctx.metrics.bookings.inc();
            tracing::info!(appointment = %row.id, code = %row.code, status = %row.status, "booked");
            ctx.feed.publish_appointment(&row);
            ctx.wake_outbox();
            // Answer from what we already hold instead of reading the row back.
            let view = AppointmentView {
                clerk_name: cal.names.get(&row.staff()).cloned().unwrap_or_default(),
                clerk_agency: Some(service.agency_id),
                service_slug: service.slug.clone(),
                service_name: service.name.clone(),
                service_name_en: service.name_en.clone(),
                appointment: row,
            };
            booked(ctx, view)
        }
        Err(BookError::SlotTaken) => {
            ctx.metrics.slot_taken.inc();
            Err(BookingError::SlotTaken)
        }
        Err(BookError::TooManyActive) => Err(BookingError::TooManyActive { limit }),
        Err(BookError::TooManyActiveForNik) => Err(BookingError::TooManyActiveForNik {
            limit: limits.max_active_nik,
        }),
        Err(BookError::ServiceDayTaken) => Err(BookingError::ServiceDayTaken),
        Err(BookError::KeyUsed(id)) => {
            let existing = db::appointments::view(&mut conn, id)
                .await?
                .ok_or(BookingError::NotFound)?;
            replay(ctx, &mut conn, existing.appointment, &request_hash).await
        }
        Err(BookError::Busy) => Err(BookingError::Busy),
        Err(BookError::Db(e)) => Err(e.into()),
    }
}

/// The local day (in the site's zone) that `at` falls on, as UTC bounds.
fn local_day(ctx: &Ctx, at: DateTime<Utc>) -> Interval {
    use chrono::TimeZone;
    let tz = ctx.settings.timezone;
    let date = at.with_timezone(&tz).date_naive();
    let midnight = |d: chrono::NaiveDate| {
        tz.from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    };
    let start = midnight(date).unwrap_or(at - Duration::days(1));
    let end = midnight(date + Duration::days(1)).unwrap_or(at + Duration::days(1));
    Interval { start, end }
}

/// The first answer again, if this is the same request.
async fn replay(
    ctx: &Ctx,
    conn: &mut diesel_async::AsyncPgConnection,
    existing: db::appointments::Appointment,
    request_hash: &[u8],
) -> Result<Booked, BookingError> {
    if existing.request_hash.as_deref() != Some(request_hash) {
        return Err(BookingError::IdempotencyKeyReused);
    }
    let view = db::appointments::view(conn, existing.id())
        .await?
        .ok_or(BookingError::NotFound)?;
    booked(ctx, view)
}
