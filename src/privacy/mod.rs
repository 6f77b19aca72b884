//! Personal data kept only as long as needed (UU PDP 27/2022, Arts. 42–44): a retention job wipes
//! the citizen's name, phone, email, NIK and the clerk's notes from appointments that ended more
//! than `LOKET_RETENTION_DAYS` ago, and an admin can export or erase one citizen's data on
//! request. What reports need stays: service, clerk, times, status and the anonymous survey.
//! Every export and erasure is an audit event; none of them records the phone or NIK it matched.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::StaffSession;
use crate::context::Ctx;
use crate::db;
use crate::domain::FieldErrors;
use crate::domain::appointment::{BookingCode, Status};
use crate::domain::citizen::{Nik, Phone};
use crate::domain::schedule::Role;
use crate::fault::Fault;

/// Why a privacy request was refused.
#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("admins only")]
    InsufficientRole,
    #[error("no appointment matches")]
    NotFound,
    #[error(transparent)]
    Fault(#[from] Fault),
}
crate::fault_from!(PrivacyError);

/// Who the request is about, as an admin typed it: at least one, and every one given must match.
#[derive(Deserialize, ToSchema, Default)]
pub struct CitizenForm {
    pub phone: Option<String>,
    /// Sent in the body, never in a URL; matched through its keyed hash.
    pub nik: Option<String>,
    /// A booking code.
    pub code: Option<String>,
}

/// One appointment as the citizen's data export shows it.
#[derive(Serialize, ToSchema)]
pub struct ExportedAppointment {
    pub code: String,
    pub status: Status,
    pub service: String,
    pub clerk: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub booked_at: DateTime<Utc>,
    pub name: String,
    /// None for a walk-in queue number taken without one.
    pub phone: Option<String>,
    pub email: Option<String>,
    pub nik_masked: Option<String>,
    pub notes: Option<String>,
    /// When its personal data was wiped, if it was.
    pub erased_at: Option<DateTime<Utc>>,
    /// What happened to it, in order: `{at, kind, actor}`.
    pub events: Vec<serde_json::Value>,
    /// Survey answers (1..4 per IKM element), if given.
    pub survey: Option<Vec<i16>>,
}

#[derive(Serialize, ToSchema)]
pub struct CitizenData {
    pub exported_at: DateTime<Utc>,
    pub appointments: Vec<ExportedAppointment>,
}

#[derive(Serialize, ToSchema)]
pub struct Erasure {
    /// Booking codes whose personal data was wiped now.
    pub erased: Vec<String>,
    /// Booking codes still active (booked, waiting, in a call): cancel them first.
    pub still_active: Vec<String>,
    /// Booking codes wiped before.
    pub already_erased: Vec<String>,
}

fn admin_only(me: &StaffSession) -> Result<(), PrivacyError> {
    if me.has_role(&[Role::Admin]) {
        Ok(())
    } else {
        Err(PrivacyError::InsufficientRole)
    }
}

/// The parsed form: normalised phone, the NIK's keyed hash, the code.
struct Parsed {
    phone: Option<String>,
    nik_hash: Option<Vec<u8>>,
    code: Option<String>,
}

fn parse(ctx: &Ctx, form: &CitizenForm) -> Result<Parsed, PrivacyError> {
    fn given(v: &Option<String>) -> Option<&str> {
        v.as_deref().map(str::trim).filter(|v| !v.is_empty())
    }
    let mut fields = FieldErrors::new();
    let phone = given(&form.phone).and_then(|raw| match Phone::parse(raw) {
        Ok(p) => Some(p.e164().to_string()),
        Err(e) => {
            fields.insert("phone".into(), e.into());
            None
        }
    });
    let nik_hash = given(&form.nik).and_then(|raw| match Nik::parse(raw) {
        Ok(n) => Some(ctx.keys.hash_nik(&n)),
        Err(e) => {
            fields.insert("nik".into(), e.into());
            None
        }
    });
    let code = given(&form.code).and_then(|raw| match BookingCode::parse(raw) {
        Some(c) => Some(c.as_str().to_string()),
        None => {
            fields.insert("code".into(), "invalid".into());
            None
        }
    });
    if fields.is_empty() && phone.is_none() && nik_hash.is_none() && code.is_none() {
        fields.insert("phone".into(), "one_of_phone_nik_code_required".into());
    }
    if !fields.is_empty() {
        return Err(PrivacyError::Invalid(fields));
    }
    Ok(Parsed {
        phone,
        nik_hash,
        code,
    })
}

async fn find(
    conn: &mut diesel_async::AsyncPgConnection,
    p: &Parsed,
) -> Result<Vec<db::appointments::AppointmentView>, PrivacyError> {
    let found = db::appointments::of_citizen(
        conn,
        &db::appointments::Who {
            phone: p.phone.as_deref(),
            nik_hash: p.nik_hash.as_deref(),
            code: p.code.as_deref(),
        },
    )
    .await?;
    if found.is_empty() {
        return Err(PrivacyError::NotFound);
    }
    Ok(found)
}

/// What the audit trail says about a request: which kinds of key matched, never their values.
fn matched_by(p: &Parsed) -> serde_json::Value {
    json!({"phone": p.phone.is_some(), "nik": p.nik_hash.is_some(), "code": p.code.is_some()})
}

/// Everything Loket holds about one citizen (admins, on the citizen's request).
pub async fn export(
    ctx: &Ctx,
    me: &StaffSession,
    form: &CitizenForm,
) -> Result<CitizenData, PrivacyError> {
    admin_only(me)?;
    let parsed = parse(ctx, form)?;
    let mut conn = ctx.conn().await?;
    let found = find(&mut conn, &parsed).await?;
    let mut appointments = Vec::with_capacity(found.len());
    for v in &found {
        let a = &v.appointment;
        let events = db::events::for_appointment(&mut conn, a.id())
            .await?
            .into_iter()
            .map(|e| json!({"at": e.at, "kind": e.kind, "actor": e.actor}))
            .collect();
        appointments.push(ExportedAppointment {
            code: a.code.clone(),
            status: a.status(),
            service: v.service_name.clone(),
            clerk: v.clerk_name.clone(),
            starts_at: a.starts_at(),
            ends_at: a.ends_at,
            booked_at: a.created_at,
            name: a.citizen_name.clone(),
            phone: a.citizen_phone.clone(),
            email: a.citizen_email.clone(),
            nik_masked: a.nik_masked.clone(),
            notes: a.notes.clone(),
            erased_at: a.erased_at,
            events,
            survey: db::appointments::survey_answers(&mut conn, a.id()).await?,
        });
    }
    let codes: Vec<&str> = found.iter().map(|v| v.appointment.code.as_str()).collect();
    db::audit::append(
        &mut conn,
        &me.id.actor(),
        "citizen_data_exported",
        "citizen",
        json!({"appointments": codes, "matched_by": matched_by(&parsed)}),
    )
    .await?;
    tracing::info!(appointments = codes.len(), "citizen data exported");
    Ok(CitizenData {
        exported_at: Utc::now(),
        appointments,
    })
}

/// Wipes one citizen's personal data from every finished appointment (admins, on request).
/// Active bookings are left and listed: cancelling one is the citizen's or the clerk's call.
pub async fn erase(
    ctx: &Ctx,
    me: &StaffSession,
    form: &CitizenForm,
) -> Result<Erasure, PrivacyError> {
    admin_only(me)?;
    let parsed = parse(ctx, form)?;
    let mut conn = ctx.conn().await?;
    let found = find(&mut conn, &parsed).await?;
    let mut out = Erasure {
        erased: vec![],
        still_active: vec![],
        already_erased: vec![],
    };
    let mut ids = vec![];
    for v in &found {
        let a = &v.appointment;
        if a.erased_at.is_some() {
            out.already_erased.push(a.code.clone());
        } else if a.status().is_active() {
            out.still_active.push(a.code.clone());
        } else {
            ids.push(a.id);
        }
    }
    let actor = me.id.actor();
    let detail = matched_by(&parsed);
    let wiped = conn
        .transaction::<_, diesel::result::Error, _>(async |c| {
            let wiped = db::privacy::erase(c, &ids, "request", &actor).await?;
            let codes: Vec<&str> = found
                .iter()
                .filter(|v| wiped.contains(&v.appointment.id))
                .map(|v| v.appointment.code.as_str())
                .collect();
            db::audit::append(
                c,
                &actor,
                "citizen_data_erased",
                "citizen",
                json!({"appointments": codes, "matched_by": detail}),
            )
            .await?;
            Ok(wiped)
        })
        .await?;
    // A booking that became active between the read and the wipe stays, and is listed.
    for v in &found {
        let a = &v.appointment;
        if wiped.contains(&a.id) {
            out.erased.push(a.code.clone());
        } else if ids.contains(&a.id) {
            out.still_active.push(a.code.clone());
        }
    }
    tracing::info!(erased = out.erased.len(), "citizen data erased on request");
    Ok(out)
}

/// Most appointments wiped per transaction, so the job never holds many row locks at once.
const RETENTION_BATCH: i64 = 200;

/// Wipes every appointment that ended more than `days` before `now`; answers how many.
pub async fn erase_expired(ctx: &Ctx, days: u32, now: DateTime<Utc>) -> Result<usize, Fault> {
    let before = now - chrono::Duration::days(i64::from(days));
    let mut conn = ctx.conn().await?;
    let mut total = 0;
    loop {
        let n = conn
            .transaction::<_, diesel::result::Error, _>(async |c| {
                let ids = db::privacy::claim_expired(c, before, RETENTION_BATCH).await?;
                let wiped = db::privacy::erase(c, &ids, "retention", "system").await?;
                if !wiped.is_empty() {
                    db::audit::append(
                        c,
                        "system",
                        "retention_erased",
                        "appointments",
                        json!({"count": wiped.len(), "ended_before": before}),
                    )
                    .await?;
                }
                Ok(wiped.len())
            })
            .await?;
        total += n;
        if n < RETENTION_BATCH as usize {
            break;
        }
    }
    // Queue numbers: few per day and never touched again once their day is over, so one
    // statement rather than batches.
    let tickets = db::privacy::erase_queue_tickets(&mut conn, before).await?;
    if tickets > 0 {
        db::audit::append(
            &mut conn,
            "system",
            "retention_erased",
            "queue_tickets",
            json!({"count": tickets, "taken_before": before}),
        )
        .await?;
    }
    Ok(total)
}

/// How often the retention job looks for expired appointments.
const RETENTION_EVERY: Duration = Duration::from_secs(3600);

/// Runs the retention job now and then every hour, on every node (the batches skip each other's
/// rows). Off when `LOKET_RETENTION_DAYS` is 0.
pub fn spawn_retention(ctx: Arc<Ctx>) -> Option<tokio::task::JoinHandle<()>> {
    let days = ctx.settings.retention_days;
    if days == 0 {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut every = tokio::time::interval(RETENTION_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            match erase_expired(&ctx, days, Utc::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(appointments = n, days, "retention: personal data erased"),
                Err(e) => tracing::warn!(error = %e, "retention job failed; retrying in an hour"),
            }
        }
    }))
}
