//! The staff side: sign-in, their appointments and the agency's (supervisors), outcomes
//! (complete / no-show / cancel), reassignment, weekly hours, leave, the calendar feed, and the
//! admin's holidays and accounts. Every state change appends an audit event (in `db/`).

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::views::{self, StaffAppointmentOut};
use crate::auth::extractors::SESSION_COOKIE;
use crate::auth::{StaffSession, password, tokens};
use crate::db::{self, appointments::ChangeError, appointments::Scope};
use crate::domain::appointment::Status;
use crate::domain::ics;
use crate::domain::ids::{AgencyId, AppointmentId, ClosureId, ServiceId, StaffId};
use crate::domain::schedule::{Interval, Role, WeeklyHours, WorkInterval};
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;

/// What a `slot_taken` conflict tells the caller here.
const SLOT_TAKEN: &str = "That clerk is not free at that time.";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(login)
        .service(logout)
        .service(get_me)
        .service(team)
        .service(list_appointments)
        .service(complete)
        .service(no_show)
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
}

async fn staff_out(
    state: &AppState,
    conn: &mut diesel_async::AsyncPgConnection,
    row: &db::staff::Staff,
) -> ApiResult<StaffOut> {
    let agency = match row.agency_id {
        Some(id) => db::catalog::agencies(conn)
            .await?
            .into_iter()
            .find(|a| a.id == id)
            .map(|a| AgencyBrief {
                slug: a.slug,
                name: a.name,
            }),
        None => None,
    };
    Ok(StaffOut {
        id: row.id,
        name: row.name.clone(),
        email: row.email.clone(),
        role: Role::parse(&row.role).unwrap_or(Role::Clerk),
        agency,
        calendar_url: format!(
            "{}/api/v1/staff/calendar.ics?key={}",
            state.settings.public_url, row.calendar_key
        ),
    })
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
    body: web::Json<LoginIn>,
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
    if let Err(wait) = state
        .login_limiter
        .check(&ip)
        .and_then(|_| state.login_limiter.check(&format!("email:{email}")))
    {
        return Err(ApiError::TooManyRequests {
            retry_after_secs: wait,
        });
    }
    let mut conn = state.pool.get().await?;
    let row = db::staff::by_email(&mut conn, &email).await?;
    let stored = row
        .as_ref()
        .map(|r| r.password_hash.clone())
        .unwrap_or_else(|| password::dummy_hash().to_string());
    let pw_owned = pw.to_string();
    // argon2 is deliberately slow: keep it off the async workers.
    let ok = web::block(move || password::verify(&pw_owned, &stored))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("password check: {e}")))?;
    let Some(row) = row.filter(|r| ok && r.active) else {
        state
            .metrics
            .logins_failed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Err(ApiError::Unauthorized {
            code: "invalid_credentials",
        });
    };
    let token = tokens::staff_token(&state.keys, StaffId(row.id), row.session_epoch)?;
    let out = staff_out(&state, &mut conn, &row).await?;
    Ok(HttpResponse::Ok()
        .cookie(session_cookie(
            &state,
            token.clone(),
            CookieDuration::hours(tokens::STAFF_SESSION_HOURS),
        ))
        .json(LoginOut { token, staff: out }))
}

/// Signs out everywhere (every token of this account stops working) and clears the cookie.
#[utoipa::path(delete, path = "/api/v1/staff/session", tag = "staff", responses((status = 204)))]
#[delete("/staff/session")]
pub async fn logout(state: web::Data<AppState>, me: StaffSession) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let actor = db::events::staff_actor(me.id);
    conn.transaction::<_, diesel::result::Error, _>(async |c| {
        db::staff::bump_epoch(c, me.id).await?;
        db::audit::append(c, &actor, "sessions_ended", &actor, json!({})).await
    })
    .await?;
    let mut cookie = session_cookie(&state, String::new(), CookieDuration::ZERO);
    cookie.make_removal();
    Ok(HttpResponse::NoContent().cookie(cookie).finish())
}

#[utoipa::path(get, path = "/api/v1/staff/me", tag = "staff", responses((status = 200, body = StaffOut)))]
#[get("/staff/me")]
pub async fn get_me(state: web::Data<AppState>, me: StaffSession) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let row = db::staff::by_id(&mut conn, me.id)
        .await?
        .ok_or(ApiError::Unauthorized {
            code: "session_ended",
        })?;
    Ok(HttpResponse::Ok().json(staff_out(&state, &mut conn, &row).await?))
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
    me.require(&[Role::Supervisor, Role::Admin])?;
    let mut conn = state.pool.get().await?;
    let rows = match (me.role, me.agency) {
        (Role::Admin, _) => db::staff::all(&mut conn).await?,
        (_, Some(a)) => db::staff::in_agency(&mut conn, a).await?,
        _ => vec![],
    };
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut services = db::staff::service_slugs(&mut conn, &ids).await?;
    let out: Vec<TeamMember> = rows
        .into_iter()
        .map(|r| TeamMember {
            services: services.remove(&r.id).unwrap_or_default(),
            id: r.id,
            name: r.name,
            role: Role::parse(&r.role).unwrap_or(Role::Clerk),
            active: r.active,
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
        Some(r) => NaiveDate::parse_from_str(r, "%Y-%m-%d")
            .map_err(|_| ApiError::field(field, "invalid_date")),
    }
}

fn day_start(state: &AppState, d: NaiveDate) -> DateTime<Utc> {
    use chrono::TimeZone;
    state
        .settings
        .timezone
        .from_local_datetime(&d.and_time(NaiveTime::MIN))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(Utc::now)
}

const MAX_RANGE_DAYS: i64 = 62;

/// Appointments in a date range: one's own, or (supervisors) the agency's or a colleague's.
#[utoipa::path(get, path = "/api/v1/staff/appointments", tag = "staff", params(RangeQuery),
    responses((status = 200, body = [StaffAppointmentOut]), (status = 403, description = "not your agency")))]
#[get("/staff/appointments")]
pub async fn list_appointments(
    state: web::Data<AppState>,
    me: StaffSession,
    q: web::Query<RangeQuery>,
) -> ApiResult<HttpResponse> {
    let today = Utc::now()
        .with_timezone(&state.settings.timezone)
        .date_naive();
    let from = local_date(q.from.as_deref(), "from", today)?;
    let to = local_date(q.to.as_deref(), "to", from)?;
    if to < from {
        return Err(ApiError::field("to", "before_from"));
    }
    if (to - from).num_days() >= MAX_RANGE_DAYS {
        return Err(ApiError::field("to", "range_too_long"));
    }
    let window = Interval {
        start: day_start(&state, from),
        end: day_start(&state, to + Duration::days(1)),
    };
    let mut conn = state.pool.get().await?;
    let scope = match q.staff.as_deref() {
        None | Some("") => Scope::Staff(me.id),
        Some("all") => match (me.role, me.agency) {
            (Role::Admin, _) => Scope::All,
            (Role::Supervisor, Some(a)) => Scope::Agency(a),
            _ => {
                return Err(ApiError::Forbidden {
                    code: "not_supervisor",
                });
            }
        },
        Some(id) => {
            let id = Uuid::parse_str(id).map_err(|_| ApiError::field("staff", "invalid"))?;
            let other = db::staff::by_id(&mut conn, StaffId(id))
                .await?
                .ok_or(ApiError::not_found("unknown_staff"))?;
            if !me.may_act_for(StaffId(other.id), other.agency_id.map(AgencyId)) {
                return Err(ApiError::Forbidden {
                    code: "not_your_agency",
                });
            }
            Scope::Staff(StaffId(id))
        }
    };
    let rows = db::appointments::list(&mut conn, scope, window).await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.appointment.id).collect();
    let checks = db::prechecks::last_for(&mut conn, &ids).await?;
    let out: Vec<StaffAppointmentOut> = rows
        .iter()
        .map(|r| {
            let mut out = views::staff_appointment_out(r);
            out.precheck = checks
                .get(&r.appointment.id)
                .and_then(views::precheck_summary);
            out
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

/// Loads an appointment the caller may act on (their own; a supervisor's agency; any for admin).
async fn own_appointment(
    conn: &mut diesel_async::AsyncPgConnection,
    me: &StaffSession,
    id: Uuid,
) -> ApiResult<db::appointments::AppointmentView> {
    let view = db::appointments::view(conn, AppointmentId(id))
        .await?
        .ok_or(ApiError::not_found("appointment_not_found"))?;
    if !me.may_act_for(view.appointment.staff(), view.clerk_agency.map(AgencyId)) {
        // Do not reveal that it exists.
        return Err(ApiError::not_found("appointment_not_found"));
    }
    Ok(view)
}

#[derive(Deserialize, ToSchema, Default)]
pub struct OutcomeIn {
    pub notes: Option<String>,
}

pub const MAX_NOTES_CHARS: usize = 4000;

async fn set_status(
    state: &AppState,
    me: &StaffSession,
    id: Uuid,
    to: Status,
    notes: Option<&str>,
) -> ApiResult<HttpResponse> {
    let notes = notes.map(str::trim).filter(|n| !n.is_empty());
    if notes.is_some_and(|n| n.chars().count() > MAX_NOTES_CHARS) {
        return Err(ApiError::field("notes", "too_long"));
    }
    let mut conn = state.pool.get().await?;
    own_appointment(&mut conn, me, id).await?;
    let actor = db::events::staff_actor(me.id);
    let row = db::appointments::transition(&mut conn, AppointmentId(id), to, &actor, notes)
        .await
        .map_err(|e| super::change_error(e, SLOT_TAKEN))?;
    state.feed.publish_appointment(&row);
    let view = own_appointment(&mut conn, me, id).await?;
    Ok(HttpResponse::Ok().json(views::staff_appointment_out(&view)))
}

#[utoipa::path(post, path = "/api/v1/staff/appointments/{id}/complete", tag = "staff",
    request_body = OutcomeIn, responses((status = 200, body = StaffAppointmentOut), (status = 409, description = "invalid_state")))]
#[post("/staff/appointments/{id}/complete")]
pub async fn complete(
    state: web::Data<AppState>,
    me: StaffSession,
    id: web::Path<Uuid>,
    body: Option<web::Json<OutcomeIn>>,
) -> ApiResult<HttpResponse> {
    let notes = body.and_then(|b| b.into_inner().notes);
    set_status(&state, &me, *id, Status::Completed, notes.as_deref()).await
}

#[utoipa::path(post, path = "/api/v1/staff/appointments/{id}/no-show", tag = "staff",
    responses((status = 200, body = StaffAppointmentOut), (status = 409, description = "invalid_state")))]
#[post("/staff/appointments/{id}/no-show")]
pub async fn no_show(
    state: web::Data<AppState>,
    me: StaffSession,
    id: web::Path<Uuid>,
    body: Option<web::Json<OutcomeIn>>,
) -> ApiResult<HttpResponse> {
    let notes = body.and_then(|b| b.into_inner().notes);
    set_status(&state, &me, *id, Status::NoShow, notes.as_deref()).await
}

#[utoipa::path(post, path = "/api/v1/staff/appointments/{id}/cancel", tag = "staff",
    responses((status = 200, body = StaffAppointmentOut), (status = 409, description = "invalid_state")))]
#[post("/staff/appointments/{id}/cancel")]
pub async fn cancel(
    state: web::Data<AppState>,
    me: StaffSession,
    id: web::Path<Uuid>,
    body: Option<web::Json<OutcomeIn>>,
) -> ApiResult<HttpResponse> {
    let notes = body.and_then(|b| b.into_inner().notes);
    set_status(&state, &me, *id, Status::Cancelled, notes.as_deref()).await
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
    body: web::Json<ReassignIn>,
) -> ApiResult<HttpResponse> {
    me.require(&[Role::Supervisor, Role::Admin])?;
    let target = StaffId(
        body.staff
            .ok_or_else(|| ApiError::field("staff", "required"))?,
    );
    let mut conn = state.pool.get().await?;
    let view = own_appointment(&mut conn, &me, *id).await?;
    let other = db::staff::by_id(&mut conn, target)
        .await?
        .filter(|s| s.active)
        .ok_or_else(|| ApiError::field("staff", "unknown"))?;
    if !me.may_act_for(target, other.agency_id.map(AgencyId)) {
        return Err(ApiError::field("staff", "not_your_agency"));
    }
    let a = &view.appointment;
    if !db::staff::serves(&mut conn, target, ServiceId(a.service_id)).await? {
        return Err(ApiError::field("staff", "does_not_serve_service"));
    }
    let period = db::schedule::interval(&a.period)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("bad period")))?;
    // The new clerk must be at work and not on leave then; the database still decides about
    // overlapping appointments (below, under the clerk's lock).
    let window = Interval {
        start: period.start - Duration::days(1),
        end: period.end + Duration::days(1),
    };
    let staffing = state
        .directory
        .staffing(&mut conn, ServiceId(a.service_id))
        .await?;
    let cal = crate::availability::load(
        &mut conn,
        &staffing,
        ServiceId(a.service_id),
        window,
        Some(target),
    )
    .await?;
    let free = cal.clerks.iter().any(|c| {
        let mut c = c.clone();
        if c.staff_id == a.staff() {
            c.busy.retain(|b| *b != period);
        }
        c.staff_id == target
            && crate::domain::slots::clerk_can_take(
                state.settings.timezone,
                &c,
                &cal.closures,
                period,
            )
    });
    if !free {
        return Err(super::change_error(ChangeError::SlotTaken, SLOT_TAKEN));
    }
    let actor = db::events::staff_actor(me.id);
    let row = db::appointments::reschedule(
        &mut conn,
        a.id(),
        target,
        period,
        a.ends_at,
        &actor,
        "reassigned",
    )
    .await
    .map_err(|e| super::change_error(e, SLOT_TAKEN))?;
    state.feed.publish_appointment(&row);
    let view = own_appointment(&mut conn, &me, *id).await?;
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

#[utoipa::path(get, path = "/api/v1/staff/hours", tag = "staff", responses((status = 200, body = HoursBody)))]
#[get("/staff/hours")]
pub async fn get_hours(state: web::Data<AppState>, me: StaffSession) -> ApiResult<HttpResponse> {
    hours_response(&state, &me).await
}

async fn hours_response(state: &AppState, me: &StaffSession) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let mut map = db::schedule::hours_for(&mut conn, &[me.id]).await?;
    let mut list = map.remove(&me.id).unwrap_or_default();
    list.sort();
    let out = HoursBody {
        intervals: list
            .into_iter()
            .map(|w| HoursInterval {
                weekday: w.weekday,
                starts: w.starts.format("%H:%M").to_string(),
                ends: w.ends.format("%H:%M").to_string(),
            })
            .collect(),
    };
    Ok(HttpResponse::Ok().json(out))
}

/// Replaces the weekly hours. Existing bookings stay; the new hours apply to new bookings.
#[utoipa::path(put, path = "/api/v1/staff/hours", tag = "staff", request_body = HoursBody,
    responses((status = 200, body = HoursBody), (status = 422, description = "fields name the bad interval")))]
#[put("/staff/hours")]
pub async fn put_hours(
    state: web::Data<AppState>,
    me: StaffSession,
    body: web::Json<HoursBody>,
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
    WeeklyHours::parse(&parsed)
        .map_err(|(i, problem)| ApiError::field(&format!("intervals[{i}]"), problem))?;
    let mut conn = state.pool.get().await?;
    let actor = db::events::staff_actor(me.id);
    let detail = json!({"intervals": parsed.len()});
    conn.transaction::<_, diesel::result::Error, _>(async |c| {
        db::schedule::replace_hours(c, me.id, &parsed).await?;
        db::audit::append(c, &actor, "hours_replaced", &actor, detail).await
    })
    .await?;
    tracing::info!(staff = %me.id, intervals = parsed.len(), "weekly hours replaced");
    hours_response(&state, &me).await
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

#[derive(Deserialize, ToSchema)]
pub struct ClosureIn {
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub reason: Option<String>,
}

fn parse_closure(body: &ClosureIn) -> ApiResult<(Interval, String)> {
    let mut fields = crate::error::FieldErrors::new();
    let t = |raw: Option<&str>, name: &str, fields: &mut crate::error::FieldErrors| {
        let parsed = raw.and_then(|r| DateTime::parse_from_rfc3339(r.trim()).ok());
        if parsed.is_none() {
            fields.insert(
                name.into(),
                if raw.is_none() { "required" } else { "invalid" }.into(),
            );
        }
        parsed.map(|p| p.with_timezone(&Utc))
    };
    let start = t(body.starts_at.as_deref(), "starts_at", &mut fields);
    let end = t(body.ends_at.as_deref(), "ends_at", &mut fields);
    let reason = body.reason.as_deref().unwrap_or("").trim().to_string();
    if reason.is_empty() {
        fields.insert("reason".into(), "required".into());
    } else if reason.chars().count() > 200 {
        fields.insert("reason".into(), "too_long".into());
    }
    let interval = match (start, end) {
        (Some(s), Some(e)) => {
            let i = Interval::new(s, e);
            if i.is_none() {
                fields.insert("ends_at".into(), "before_starts_at".into());
            } else if e - s > Duration::days(366) {
                fields.insert("ends_at".into(), "too_long".into());
            }
            i
        }
        _ => None,
    };
    match interval {
        Some(i) if fields.is_empty() => Ok((i, reason)),
        _ => Err(ApiError::validation(fields)),
    }
}

#[utoipa::path(get, path = "/api/v1/staff/closures", tag = "staff", responses((status = 200, body = [ClosureOut])))]
#[get("/staff/closures")]
pub async fn list_closures(
    state: web::Data<AppState>,
    me: StaffSession,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let rows =
        db::schedule::personal_closures(&mut conn, me.id, Utc::now() - Duration::days(30)).await?;
    Ok(HttpResponse::Ok().json(rows.iter().filter_map(closure_out).collect::<Vec<_>>()))
}

/// Adds personal leave. Bookings already in that time stay and are listed in the response so
/// the clerk (or a supervisor) can reassign them.
#[utoipa::path(post, path = "/api/v1/staff/closures", tag = "staff", request_body = ClosureIn,
    responses((status = 201, body = ClosureOut), (status = 422, description = "bad times")))]
#[post("/staff/closures")]
pub async fn add_closure(
    state: web::Data<AppState>,
    me: StaffSession,
    body: web::Json<ClosureIn>,
) -> ApiResult<HttpResponse> {
    let (interval, reason) = parse_closure(&body)?;
    let mut conn = state.pool.get().await?;
    let actor = db::events::staff_actor(me.id);
    let id = conn
        .transaction::<_, diesel::result::Error, _>(async |c| {
            let id = db::schedule::insert_closure(c, Some(me.id), interval, &reason).await?;
            let detail =
                json!({"closure": id, "starts_at": interval.start, "ends_at": interval.end});
            db::audit::append(c, &actor, "leave_added", &actor, detail).await?;
            Ok(id)
        })
        .await?;
    let affected = db::appointments::list(&mut conn, Scope::Staff(me.id), interval)
        .await?
        .into_iter()
        .filter(|v| v.appointment.status().is_active())
        .map(|v| v.appointment.code)
        .collect::<Vec<_>>();
    Ok(HttpResponse::Created().json(serde_json::json!({
        "id": id,
        "starts_at": interval.start,
        "ends_at": interval.end,
        "reason": reason,
        "affected_bookings": affected,
    })))
}

#[utoipa::path(delete, path = "/api/v1/staff/closures/{id}", tag = "staff",
    responses((status = 204), (status = 404, description = "not yours or unknown")))]
#[delete("/staff/closures/{id}")]
pub async fn remove_closure(
    state: web::Data<AppState>,
    me: StaffSession,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let actor = db::events::staff_actor(me.id);
    let n = conn
        .transaction::<_, diesel::result::Error, _>(async |c| {
            let n = db::schedule::delete_closure(c, ClosureId(*id), Some(me.id)).await?;
            if n > 0 {
                db::audit::append(c, &actor, "leave_removed", &actor, json!({"closure": *id}))
                    .await?;
            }
            Ok(n)
        })
        .await?;
    if n == 0 {
        return Err(ApiError::not_found("closure_not_found"));
    }
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
    let key = q.key.as_deref().unwrap_or("");
    if key.len() < 20 || key.len() > 100 {
        return Err(ApiError::not_found("unknown_calendar"));
    }
    let mut conn = state.pool.get().await?;
    let staff = db::staff::by_calendar_key(&mut conn, key)
        .await?
        .ok_or(ApiError::not_found("unknown_calendar"))?;
    let now = Utc::now();
    let window = Interval {
        start: now - Duration::days(14),
        end: now + Duration::days(state.settings.horizon_days + 2),
    };
    let rows = db::appointments::list(&mut conn, Scope::Staff(StaffId(staff.id)), window).await?;
    let ids: Vec<Uuid> = rows.iter().map(|v| v.appointment.id).collect();
    let events = db::events::counts(&mut conn, &ids).await?;
    let texts: Vec<(String, String)> = rows
        .iter()
        .map(|v| {
            let first = v
                .appointment
                .citizen_name
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_string();
            (
                format!("{} — {} ({})", v.service_name, first, v.appointment.code),
                format!(
                    "Kode booking: {}\nStatus: {}",
                    v.appointment.code, v.appointment.status
                ),
            )
        })
        .collect();
    let staff_url = format!("{}/staff", state.settings.public_url);
    let events: Vec<ics::IcsEvent<'_>> = rows
        .iter()
        .zip(texts.iter())
        .map(|(v, (summary, description))| ics::IcsEvent {
            uid: format!("{}@loket", v.appointment.id),
            starts_at: v.appointment.starts_at(),
            ends_at: v.appointment.ends_at,
            summary,
            description,
            url: Some(&staff_url),
            cancelled: !matches!(
                v.appointment.status(),
                Status::Booked | Status::Waiting | Status::InCall | Status::Completed
            ),
            sequence: db::events::sequence(events.get(&v.appointment.id)),
            stamp: v.appointment.updated_at,
        })
        .collect();
    let body = ics::calendar(&format!("Loket — {}", staff.name), &events);
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
    me: StaffSession,
) -> ApiResult<HttpResponse> {
    let _ = me;
    let mut conn = state.pool.get().await?;
    let rows = db::schedule::holidays(&mut conn, Utc::now() - Duration::days(1)).await?;
    Ok(HttpResponse::Ok().json(rows.iter().filter_map(closure_out).collect::<Vec<_>>()))
}

#[utoipa::path(post, path = "/api/v1/admin/holidays", tag = "admin", request_body = ClosureIn,
    responses((status = 201, body = ClosureOut), (status = 403, description = "admins only")))]
#[post("/admin/holidays")]
pub async fn add_holiday(
    state: web::Data<AppState>,
    me: StaffSession,
    body: web::Json<ClosureIn>,
) -> ApiResult<HttpResponse> {
    me.require(&[Role::Admin])?;
    let (interval, reason) = parse_closure(&body)?;
    let mut conn = state.pool.get().await?;
    let actor = db::events::staff_actor(me.id);
    let id = conn
        .transaction::<_, diesel::result::Error, _>(async |c| {
            let id = db::schedule::insert_closure(c, None, interval, &reason).await?;
            let detail = json!({"closure": id, "starts_at": interval.start, "ends_at": interval.end, "reason": reason});
            db::audit::append(c, &actor, "holiday_added", "mall", detail).await?;
            Ok(id)
        })
        .await?;
    Ok(HttpResponse::Created().json(ClosureOut {
        id: id.0,
        starts_at: interval.start,
        ends_at: interval.end,
        reason,
    }))
}

#[utoipa::path(delete, path = "/api/v1/admin/holidays/{id}", tag = "admin", responses((status = 204), (status = 404)))]
#[delete("/admin/holidays/{id}")]
pub async fn remove_holiday(
    state: web::Data<AppState>,
    me: StaffSession,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    me.require(&[Role::Admin])?;
    let mut conn = state.pool.get().await?;
    let actor = db::events::staff_actor(me.id);
    let n = conn
        .transaction::<_, diesel::result::Error, _>(async |c| {
            let n = db::schedule::delete_closure(c, ClosureId(*id), None).await?;
            if n > 0 {
                db::audit::append(
                    c,
                    &actor,
                    "holiday_removed",
                    "mall",
                    json!({"closure": *id}),
                )
                .await?;
            }
            Ok(n)
        })
        .await?;
    if n == 0 {
        return Err(ApiError::not_found("holiday_not_found"));
    }
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
    body: web::Json<NewStaffIn>,
) -> ApiResult<HttpResponse> {
    me.require(&[Role::Supervisor, Role::Admin])?;
    let body = body.into_inner();
    let mut conn = state.pool.get().await?;
    let input = crate::accounts::StaffInput {
        email: body.email.unwrap_or_default(),
        name: body.name.unwrap_or_default(),
        role: body.role.unwrap_or(Role::Clerk),
        agency: body.agency,
        services: body.services.unwrap_or_default(),
        password: body.password.unwrap_or_default(),
    };
    if me.role == Role::Supervisor && input.role != Role::Clerk {
        return Err(ApiError::Forbidden {
            code: "insufficient_role",
        });
    }
    let created = conn
        .transaction::<_, ApiError, _>(async |c| {
            let created = crate::accounts::create_staff(c, &input, Some(&me)).await?;
            db::audit::append(
                c,
                &db::events::staff_actor(me.id),
                "staff_created",
                &format!("staff:{}", created.id),
                json!({"email": created.email, "role": created.role}),
            )
            .await?;
            Ok(created)
        })
        .await?;
    let out = staff_out(&state, &mut conn, &created).await?;
    Ok(HttpResponse::Created().json(out))
}
