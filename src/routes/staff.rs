//! The staff side over HTTP: sign-in (`accounts`), their appointments and the agency's
//! (`calendar::day`), outcomes (`rooms::outcome`), cancel and reassignment (`booking`), weekly
//! hours, leave, the calendar feed and the admin's holidays (`calendar`), and accounts.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::body::{Json, OptionalJson};
use super::extract::SESSION_COOKIE;
use super::views::{self, StaffAppointmentOut};
use crate::accounts::{self, AccountError};
use crate::auth::{StaffSession, password, tokens};
use crate::booking::{self, BookingError};
use crate::calendar::{self, CalendarError, closures::ClosureForm, day::Whose};
use crate::db;
use crate::domain::appointment::Status;
use crate::domain::ids::{AppointmentId, ClosureId, StaffId};
use crate::domain::login_throttle::Verdict;
use crate::domain::schedule::{Role, WorkInterval};
use crate::error::{ApiError, ApiResult};
use crate::rooms::outcome::{self, Outcome};
use crate::state::AppState;

/// What a `slot_taken` conflict tells the caller here.
const SLOT_TAKEN: &str = "That clerk is not free at that time.";

fn refused(e: BookingError) -> ApiError {
    super::booking_error(e, SLOT_TAKEN)
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Invalid(fields) => ApiError::validation(fields),
            AccountError::InvalidCredentials => ApiError::Unauthorized {
                code: "invalid_credentials",
            },
            AccountError::SessionEnded => ApiError::Unauthorized {
                code: "session_ended",
            },
            AccountError::InsufficientRole => ApiError::Forbidden {
                code: "insufficient_role",
            },
            AccountError::NotYourAgency => ApiError::Forbidden {
                code: "not_your_agency",
            },
            AccountError::EmailTaken => {
                ApiError::conflict("email_taken", "A staff account with this email exists.")
            }
            AccountError::Fault(f) => f.into(),
        }
    }
}

impl From<CalendarError> for ApiError {
    fn from(e: CalendarError) -> Self {
        match e {
            CalendarError::Invalid(fields) => ApiError::validation(fields),
            CalendarError::InsufficientRole => ApiError::Forbidden {
                code: "insufficient_role",
            },
            CalendarError::NotSupervisor => ApiError::Forbidden {
                code: "not_supervisor",
            },
            CalendarError::UnknownStaff => ApiError::not_found("unknown_staff"),
            CalendarError::ClosureNotFound => ApiError::not_found("closure_not_found"),
            CalendarError::HolidayNotFound => ApiError::not_found("holiday_not_found"),
            CalendarError::UnknownCalendar => ApiError::not_found("unknown_calendar"),
            CalendarError::Fault(f) => f.into(),
        }
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(login)
        .service(logout)
        .service(get_me)
        .service(team)
        .service(list_appointments)
        .service(needing_new_time)
        .service(complete)
        .service(no_show)
        .service(undo_no_show)
        .service(cancel)
        .service(reassign)
        .service(get_hours)
        .service(put_hours)
        .service(list_closures)
        .service(add_closure)
        .service(remove_closure)
        .service(calendar_feed)
        .service(list_holidays)
        .service(add_holiday)
        .service(remove_holiday)
        .service(add_staff);
}

#[derive(Serialize, ToSchema)]
pub struct AgencyBrief {
    pub slug: String,
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct StaffOut {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub agency: Option<AgencyBrief>,
    /// A secret URL a phone calendar can subscribe to.
    pub calendar_url: String,
    /// The site's zone: the staff app shows every time and "today" in it.
    pub timezone: String,
    /// Minutes after an appointment's start before a no-show may be recorded.
    pub no_show_grace_minutes: i64,
    /// Minutes a recorded no-show can be taken back (`…/undo-no-show`).
    pub no_show_undo_minutes: i64,
}

fn staff_out(state: &AppState, p: &accounts::session::Profile) -> StaffOut {
    let row = &p.staff;
    StaffOut {
        id: row.id,
        name: row.name.clone(),
        email: row.email.clone(),
        role: Role::parse(&row.role).unwrap_or(Role::Clerk),
        agency: p.agency.as_ref().map(|a| AgencyBrief {
            slug: a.slug.clone(),
            name: a.name.clone(),
        }),
        calendar_url: format!(
            "{}/api/v1/staff/calendar.ics?key={}",
            state.settings.public_url, row.calendar_key
        ),
        timezone: state.settings.timezone.name().to_string(),
        no_show_grace_minutes: state.settings.no_show_grace_minutes,
        no_show_undo_minutes: state.settings.no_show_undo_minutes,
    }
}

#[derive(Deserialize, ToSchema)]
pub struct LoginIn {
    pub email: Option<String>,
    pub password: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LoginOut {
    pub token: String,
    pub staff: StaffOut,
}

fn session_cookie(state: &AppState, value: String, max_age: CookieDuration) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.settings.public_url.starts_with("https://"))
        .max_age(max_age)
        .finish()
}

/// Signs in; returns a Bearer token and sets the HttpOnly session cookie.
#[utoipa::path(post, path = "/api/v1/staff/session", tag = "staff", request_body = LoginIn,
    responses((status = 200, body = LoginOut), (status = 401, description = "invalid_credentials"),
        (status = 429, description = "rate_limited")))]
#[post("/staff/session")]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<LoginIn>,
) -> ApiResult<HttpResponse> {
    let email = body.email.as_deref().unwrap_or("").trim().to_lowercase();
    let pw = body.password.as_deref().unwrap_or("");
    let mut fields = crate::error::FieldErrors::new();
    if email.is_empty() || email.len() > 254 {
        fields.insert("email".into(), "required".into());
    }
    if pw.is_empty() || pw.len() > password::MAX_PASSWORD_BYTES {
        fields.insert("password".into(), "required".into());
    }
    if !fields.is_empty() {
        return Err(ApiError::validation(fields));
    }
    let ip = super::client_ip(&req);
    if let Err(wait) = state.login_limiter.check(&ip) {
        return Err(ApiError::TooManyRequests {
            retry_after_secs: wait,
        });
    }
    // Per (email, address) with backoff, and a guard per email that slows a spray from many
    // addresses without locking the owner out (domain::login_throttle).
    let verdict = match state.login_throttle.lock() {
        Ok(mut t) => t.before(&email, &ip, std::time::Instant::now()),
        Err(_) => Verdict::Go,
    };
    match verdict {
        Verdict::Go => {}
        Verdict::After(wait) => tokio::time::sleep(wait).await,
        Verdict::Refuse(wait) => {
            state.metrics.logins_throttled.inc();
            return Err(ApiError::TooManyRequests {
                retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
            });
        }
    }
    let result = accounts::login(&state.ctx, &email, pw, &ip).await;
    let failed = matches!(result, Err(AccountError::InvalidCredentials));
    if let Ok(mut t) = state.login_throttle.lock() {
        t.after(&email, &ip, !failed, std::time::Instant::now());
    }
    let (token, profile) = result?;
    Ok(HttpResponse::Ok()
        .cookie(session_cookie(
            &state,
            token.clone(),
            CookieDuration::hours(tokens::STAFF_SESSION_HOURS),
        ))
        .json(LoginOut {
            token,
            staff: staff_out(&state, &profile),
        }))
}

/// Signs out everywhere (every token of this account stops working) and clears the cookie.
#[utoipa::path(delete, path = "/api/v1/staff/session", tag = "staff", responses((status = 204)))]
#[delete("/staff/session")]
pub async fn logout(state: web::Data<AppState>, me: StaffSession) -> ApiResult<HttpResponse> {
    accounts::logout(&state.ctx, &me).await?;
    let mut cookie = session_cookie(&state, String::new(), CookieDuration::ZERO);
    cookie.make_removal();
    Ok(HttpResponse::NoContent().cookie(cookie).finish())
}

#[utoipa::path(get, path = "/api/v1/staff/me", tag = "staff", responses((status = 200, body = StaffOut)))]
#[get("/staff/me")]
pub async fn get_me(state: web::Data<AppState>, me: StaffSession) -> ApiResult<HttpResponse> {
    let profile = accounts::profile(&state.ctx, &me).await?;
    Ok(HttpResponse::Ok().json(staff_out(&state, &profile)))
}

#[derive(Serialize, ToSchema)]
pub struct TeamMember {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    pub active: bool,
    /// Slugs of the services this person may serve (reassignment offers only those).
    pub services: Vec<String>,
}

/// The agency's staff (supervisors and admins).
#[utoipa::path(get, path = "/api/v1/staff/team", tag = "staff", responses((status = 200, body = [TeamMember])))]
#[get("/staff/team")]
pub async fn team(state: web::Data<AppState>, me: StaffSession) -> ApiResult<HttpResponse> {
    let out: Vec<TeamMember> = accounts::team(&state.ctx, &me)
        .await?
        .into_iter()
        .map(|m| TeamMember {
            id: m.staff.id,
            role: Role::parse(&m.staff.role).unwrap_or(Role::Clerk),
            active: m.staff.active,
            name: m.staff.name,
            services: m.services,
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Deserialize, IntoParams)]
pub struct RangeQuery {
    /// First local date (default today).
    from: Option<String>,
    /// Last local date, inclusive (default = from).
    to: Option<String>,
    /// Supervisors and admins: a staff id, or `all` for the whole agency.
    staff: Option<String>,
}

fn local_date(raw: Option<&str>, field: &str, default: NaiveDate) -> ApiResult<NaiveDate> {
    match raw {
        None | Some("") => Ok(default),
        Some(r) => crate::domain::dates::parse_date(r).map_err(|p| ApiError::field(field, p)),
    }
}

/// Appointments in a date range: one's own, or (supervisors) the agency's or a colleague's.
#[utoipa::path(get, path = "/api/v1/staff/appointments", tag = "staff", params(RangeQuery),
    responses((status = 200, body = [StaffAppointmentOut]),
        (status = 404, description = "unknown_staff: no such staff member, or one of another agency")))]
#[get("/staff/appointments")]
pub async fn list_appointments(
    state: web::Data<AppState>,
    me: StaffSession,
    q: web::Query<RangeQuery>,
) -> ApiResult<HttpResponse> {
    let from = local_date(q.from.as_deref(), "from", calendar::day::today(&state.ctx))?;
    let to = local_date(q.to.as_deref(), "to", from)?;
    let whose = match q.staff.as_deref() {
        None | Some("") => Whose::Mine,
        Some("all") => Whose::All,
        Some(id) => Whose::Staff(StaffId(
            Uuid::parse_str(id).map_err(|_| ApiError::field("staff", "invalid"))?,
        )),
    };
    let rows = calendar::day::appointments(&state.ctx, &me, from, to, whose).await?;
    let out: Vec<StaffAppointmentOut> = rows
        .iter()
        .map(|e| {
            let mut out = views::staff_appointment_out(&e.view);
            out.precheck = e.precheck.as_ref().and_then(views::precheck_summary);
            out.notifications = Some(views::notices_out(&e.notices));
            out
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

/// Bookings that leave or a holiday took and whose citizen has not picked a new time yet (own;
/// a supervisor's agency; all for an admin), oldest first.
#[utoipa::path(get, path = "/api/v1/staff/appointments/needs-new-time", tag = "staff",
    responses((status = 200, body = [StaffAppointmentOut])))]
#[get("/staff/appointments/needs-new-time")]
pub async fn needing_new_time(
    state: web::Data<AppState>,
    me: StaffSession,
) -> ApiResult<HttpResponse> {
    let rows = calendar::closures::needing_new_time(&state.ctx, &me).await?;
    Ok(HttpResponse::Ok().json(
        rows.iter()
            .map(views::staff_appointment_out)
            .collect::<Vec<_>>(),
    ))
}

#[derive(Deserialize, ToSchema, Default)]
pub struct OutcomeIn {
    pub notes: Option<String>,
}

pub use booking::manage::MAX_NOTES_CHARS;

async fn outcome(
    state: &AppState,
    me: &StaffSession,
    id: Uuid,
    outcome: Outcome,
    body: OptionalJson<OutcomeIn>,
) -> ApiResult<HttpResponse> {
    let notes = body.into_inner().and_then(|b| b.notes);
    let view = outcome::record(&state.ctx, me, AppointmentId(id), outcome, notes.as_deref())
        .await
        .map_err(refused)?;
    Ok(HttpResponse::Ok().json(views::staff_appointment_out(&view)))
}

#[utoipa::path(post, path = "/api/v1/staff/appointments/{id}/complete", tag = "staff",
    request_body = OutcomeIn, responses((status = 200, body = StaffAppointmentOut), (status = 409, description = "invalid_state")))]
#[post("/staff/appointments/{id}/complete")]
pub async fn complete(
    state: web::Data<AppState>,
    me: StaffSession,
    id: web::Path<Uuid>,
    body: OptionalJson<OutcomeIn>,
) -> ApiResult<HttpResponse> {
    outcome(&state, &me, *id, Outcome::Completed, body).await
}

#[utoipa::path(post, path = "/api/v1/staff/appointments/{id}/no-show", tag = "staff",
    responses((status = 200, body = StaffAppointmentOut),
        (status = 409, description = "invalid_state / too_early (before the start plus LOKET_NO_SHOW_GRACE_MINUTES)")))]
#[post("/staff/appointments/{id}/no-show")]
pub async fn no_show(
    state: web::Data<AppState>,
    me: StaffSession,
    id: web::Path<Uuid>,
    body: OptionalJson<OutcomeIn>,
) -> ApiResult<HttpResponse> {
    outcome(&state, &me, *id, Outcome::NoShow, body).await
}

/// Takes back a no-show recorded less than LOKET_NO_SHOW_UNDO_MINUTES ago: `booked` again.
#[utoipa::path(post, path = "/api/v1/staff/appointments/{id}/undo-no-show", tag = "staff",
    responses((status = 200, body = StaffAppointmentOut),
        (status = 409, description = "invalid_state (not a no-show) / undo_expired / slot_taken")))]
#[post("/staff/appointments/{id}/undo-no-show")]
pub async fn undo_no_show(
    state: web::Data<AppState>,
    me: StaffSession,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let view = outcome::undo_no_show(&state.ctx, &me, AppointmentId(*id))
        .await
        .map_err(refused)?;
    Ok(HttpResponse::Ok().json(views::staff_appointment_out(&view)))
}

#[utoipa::path(post, path = "/api/v1/staff/appointments/{id}/cancel", tag = "staff",
    responses((status = 200, body = StaffAppointmentOut), (status = 409, description = "invalid_state")))]
#[post("/staff/appointments/{id}/cancel")]
pub async fn cancel(
    state: web::Data<AppState>,
    me: StaffSession,
    id: web::Path<Uuid>,
    body: OptionalJson<OutcomeIn>,
) -> ApiResult<HttpResponse> {
    let notes = body.into_inner().and_then(|b| b.notes);
    let view = booking::manage::change_status(
        &state.ctx,
        &me,
        AppointmentId(*id),
        Status::Cancelled,
        notes.as_deref(),
    )
    .await
    .map_err(refused)?;
    Ok(HttpResponse::Ok().json(views::staff_appointment_out(&view)))
}

#[derive(Deserialize, ToSchema)]
pub struct ReassignIn {
    pub staff: Option<Uuid>,
}

/// A supervisor moves a booked appointment to another clerk of the agency, same time.
#[utoipa::path(post, path = "/api/v1/staff/appointments/{id}/reassign", tag = "staff",
    request_body = ReassignIn, responses((status = 200, body = StaffAppointmentOut),
        (status = 409, description = "slot_taken / invalid_state"), (status = 422, description = "clerk cannot serve it")))]
#[post("/staff/appointments/{id}/reassign")]
pub async fn reassign(
    state: web::Data<AppState>,
    me: StaffSession,
    id: web::Path<Uuid>,
    body: Json<ReassignIn>,
) -> ApiResult<HttpResponse> {
    let view =
        booking::reassign::reassign(&state.ctx, &me, AppointmentId(*id), body.staff.map(StaffId))
            .await
            .map_err(refused)?;
    Ok(HttpResponse::Ok().json(views::staff_appointment_out(&view)))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct HoursInterval {
    /// ISO weekday: 1 = Monday … 7 = Sunday.
    pub weekday: u8,
    /// "HH:MM", local time.
    pub starts: String,
    pub ends: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct HoursBody {
    pub intervals: Vec<HoursInterval>,
}

fn hours_body(list: Vec<WorkInterval>) -> HoursBody {
    HoursBody {
        intervals: list
            .into_iter()
            .map(|w| HoursInterval {
                weekday: w.weekday,
                starts: w.starts.format("%H:%M").to_string(),
                ends: w.ends.format("%H:%M").to_string(),
            })
            .collect(),
    }
}

#[utoipa::path(get, path = "/api/v1/staff/hours", tag = "staff", responses((status = 200, body = HoursBody)))]
#[get("/staff/hours")]
pub async fn get_hours(state: web::Data<AppState>, me: StaffSession) -> ApiResult<HttpResponse> {
    let list = calendar::hours::hours(&state.ctx, &me).await?;
    Ok(HttpResponse::Ok().json(hours_body(list)))
}

/// Replaces the weekly hours. Existing bookings stay; the new hours apply to new bookings.
#[utoipa::path(put, path = "/api/v1/staff/hours", tag = "staff", request_body = HoursBody,
    responses((status = 200, body = HoursBody), (status = 422, description = "fields name the bad interval")))]
#[put("/staff/hours")]
pub async fn put_hours(
    state: web::Data<AppState>,
    me: StaffSession,
    body: Json<HoursBody>,
) -> ApiResult<HttpResponse> {
    if body.intervals.len() > 7 * crate::domain::schedule::MAX_INTERVALS_PER_DAY {
        return Err(ApiError::field("intervals", "too_many"));
    }
    let parse = |s: &str| NaiveTime::parse_from_str(s, "%H:%M").ok();
    let mut parsed = Vec::with_capacity(body.intervals.len());
    for (i, h) in body.intervals.iter().enumerate() {
        let (Some(starts), Some(ends)) = (parse(&h.starts), parse(&h.ends)) else {
            return Err(ApiError::field(&format!("intervals[{i}]"), "invalid_time"));
        };
        parsed.push(WorkInterval {
            weekday: h.weekday,
            starts,
            ends,
        });
    }
    let list = calendar::hours::replace(&state.ctx, &me, &parsed).await?;
    Ok(HttpResponse::Ok().json(hours_body(list)))
}

#[derive(Serialize, ToSchema)]
pub struct ClosureOut {
    pub id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: String,
}

fn closure_out(c: &db::schedule::Closure) -> Option<ClosureOut> {
    let i = db::schedule::interval(&c.period)?;
    Some(ClosureOut {
        id: c.id,
        starts_at: i.start,
        ends_at: i.end,
        reason: c.reason.clone(),
    })
}

#[utoipa::path(get, path = "/api/v1/staff/closures", tag = "staff", responses((status = 200, body = [ClosureOut])))]
#[get("/staff/closures")]
pub async fn list_closures(
    state: web::Data<AppState>,
    me: StaffSession,
) -> ApiResult<HttpResponse> {
    let rows = calendar::closures::leave(&state.ctx, &me).await?;
    Ok(HttpResponse::Ok().json(rows.iter().filter_map(closure_out).collect::<Vec<_>>()))
}

#[derive(Deserialize, IntoParams)]
pub struct DryRunQuery {
    /// `true`: answer what would happen (the bookings it falls on and what becomes of each)
    /// without keeping anything.
    dry_run: Option<bool>,
}

/// A closure as stored (201) or as it would be (200, dry run), with the bookings it falls on.
#[derive(Serialize, ToSchema)]
pub struct ClosureAddedOut {
    pub id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: String,
    pub dry_run: bool,
    /// The codes of the active bookings it falls on.
    pub affected_bookings: Vec<String>,
    /// What became (or would become) of each: moved to another clerk, or waiting for the
    /// citizen to pick a new time.
    pub affected: Vec<calendar::closures::Affected>,
}

fn closure_added(added: calendar::closures::ClosureAdded) -> HttpResponse {
    let body = ClosureAddedOut {
        id: added.id.0,
        starts_at: added.interval.start,
        ends_at: added.interval.end,
        affected_bookings: added.affected_codes(),
        reason: added.reason,
        dry_run: added.dry_run,
        affected: added.affected,
    };
    if body.dry_run {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::Created().json(body)
    }
}

/// Adds personal leave. Each booking in that time moves to another free clerk of the service at
/// the same time, or else its citizen is asked to pick a new time; `?dry_run=true` shows this
/// before saving.
#[utoipa::path(post, path = "/api/v1/staff/closures", tag = "staff", request_body = ClosureForm, params(DryRunQuery),
    responses((status = 201, body = ClosureAddedOut), (status = 200, description = "dry run", body = ClosureAddedOut),
        (status = 422, description = "bad times")))]
#[post("/staff/closures")]
pub async fn add_closure(
    state: web::Data<AppState>,
    me: StaffSession,
    q: web::Query<DryRunQuery>,
    body: Json<ClosureForm>,
) -> ApiResult<HttpResponse> {
    let dry_run = q.dry_run.unwrap_or(false);
    let added = calendar::closures::add_leave(&state.ctx, &me, &body, dry_run).await?;
    Ok(closure_added(added))
}

#[utoipa::path(delete, path = "/api/v1/staff/closures/{id}", tag = "staff",
    responses((status = 204), (status = 404, description = "not yours or unknown")))]
#[delete("/staff/closures/{id}")]
pub async fn remove_closure(
    state: web::Data<AppState>,
    me: StaffSession,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    calendar::closures::remove_leave(&state.ctx, &me, ClosureId(*id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, IntoParams)]
pub struct CalendarQuery {
    key: Option<String>,
}

/// A clerk's appointments as a subscribable calendar (secret key in the URL; no citizen phone,
/// email or NIK in it — only the first name and the booking code).
#[utoipa::path(get, path = "/api/v1/staff/calendar.ics", tag = "staff", params(CalendarQuery),
    responses((status = 200, content_type = "text/calendar", body = String), (status = 404)))]
#[get("/staff/calendar.ics")]
pub async fn calendar_feed(
    state: web::Data<AppState>,
    q: web::Query<CalendarQuery>,
) -> ApiResult<HttpResponse> {
    let body = calendar::feed::calendar_feed(&state.ctx, q.key.as_deref().unwrap_or("")).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/calendar; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "private, max-age=300"))
        .body(body))
}

/// Mall-wide closures (national holidays, cuti bersama) from today on.
#[utoipa::path(get, path = "/api/v1/admin/holidays", tag = "admin", responses((status = 200, body = [ClosureOut])))]
#[get("/admin/holidays")]
pub async fn list_holidays(
    state: web::Data<AppState>,
    _me: StaffSession,
) -> ApiResult<HttpResponse> {
    let rows = calendar::closures::holidays(&state.ctx).await?;
    Ok(HttpResponse::Ok().json(rows.iter().filter_map(closure_out).collect::<Vec<_>>()))
}

/// Adds a mall-wide closure; the bookings in it are marked as needing a new time and their
/// citizens asked to pick one. `?dry_run=true` shows them before saving.
#[utoipa::path(post, path = "/api/v1/admin/holidays", tag = "admin", request_body = ClosureForm, params(DryRunQuery),
    responses((status = 201, body = ClosureAddedOut), (status = 200, description = "dry run", body = ClosureAddedOut),
        (status = 403, description = "admins only")))]
#[post("/admin/holidays")]
pub async fn add_holiday(
    state: web::Data<AppState>,
    me: StaffSession,
    q: web::Query<DryRunQuery>,
    body: Json<ClosureForm>,
) -> ApiResult<HttpResponse> {
    let dry_run = q.dry_run.unwrap_or(false);
    let added = calendar::closures::add_holiday(&state.ctx, &me, &body, dry_run).await?;
    Ok(closure_added(added))
}

#[utoipa::path(delete, path = "/api/v1/admin/holidays/{id}", tag = "admin", responses((status = 204), (status = 404)))]
#[delete("/admin/holidays/{id}")]
pub async fn remove_holiday(
    state: web::Data<AppState>,
    me: StaffSession,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    calendar::closures::remove_holiday(&state.ctx, &me, ClosureId(*id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, ToSchema)]
pub struct NewStaffIn {
    pub email: Option<String>,
    pub name: Option<String>,
    pub role: Option<Role>,
    /// Agency slug (required for clerks and supervisors).
    pub agency: Option<String>,
    /// Service slugs this person serves.
    pub services: Option<Vec<String>>,
    pub password: Option<String>,
}

/// Creates a staff account (admins: any agency; supervisors: clerks of their own agency).
#[utoipa::path(post, path = "/api/v1/admin/staff", tag = "admin", request_body = NewStaffIn,
    responses((status = 201, body = StaffOut), (status = 409, description = "email_taken"), (status = 422)))]
#[post("/admin/staff")]
pub async fn add_staff(
    state: web::Data<AppState>,
    me: StaffSession,
    body: Json<NewStaffIn>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let input = accounts::StaffInput {
        email: body.email.unwrap_or_default(),
        name: body.name.unwrap_or_default(),
        role: body.role.unwrap_or(Role::Clerk),
        agency: body.agency,
        services: body.services.unwrap_or_default(),
        password: body.password.unwrap_or_default(),
    };
    let created = accounts::create::add_by(&state.ctx, &me, &input).await?;
    let profile = accounts::session::profile_of_staff(&state.ctx, created).await?;
    Ok(HttpResponse::Created().json(staff_out(&state, &profile)))
}
