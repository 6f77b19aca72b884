//! The MPP's administration: agencies and services (admins everywhere, supervisors for their own
//! agency's services) and reports — volume per status, no-show rate and the IKM per agency.
//! Every change appends to the audit trail in the same transaction.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, get, patch, post, web};
use chrono::{Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::views::{self, ServiceDetail};
use crate::auth::StaffSession;
use crate::db;
use crate::domain::ids::{AgencyId, ServiceId};
use crate::domain::schedule::{AgencyKind, Interval, Role};
use crate::domain::survey::{self, ELEMENTS, SurveyAnswers};
use crate::error::{ApiError, ApiResult, FieldErrors};
use crate::startup::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(add_agency)
        .service(list_services)
        .service(add_service)
        .service(edit_service)
        .service(reports);
}

fn valid_slug(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

fn text(fields: &mut FieldErrors, name: &str, v: Option<&str>, max: usize) -> Option<String> {
    let t = v.map(str::trim).unwrap_or("");
    if t.is_empty() {
        fields.insert(name.into(), "required".into());
        None
    } else if t.chars().count() > max {
        fields.insert(name.into(), "too_long".into());
        None
    } else {
        Some(t.to_string())
    }
}

#[derive(Deserialize, ToSchema)]
pub struct AgencyIn {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub name_en: Option<String>,
    pub kind: Option<AgencyKind>,
}

/// Adds an agency (admins).
#[utoipa::path(post, path = "/api/v1/admin/agencies", tag = "admin", request_body = AgencyIn,
    responses((status = 201, body = views::AgencyOut), (status = 409, description = "slug_taken"), (status = 422)))]
#[post("/admin/agencies")]
pub async fn add_agency(
    state: web::Data<AppState>,
    me: StaffSession,
    body: web::Json<AgencyIn>,
) -> ApiResult<HttpResponse> {
    me.require(&[Role::Admin])?;
    let mut fields = FieldErrors::new();
    let slug = body.slug.as_deref().unwrap_or("").trim().to_string();
    if !valid_slug(&slug) {
        fields.insert("slug".into(), "invalid".into());
    }
    let name = text(&mut fields, "name", body.name.as_deref(), 200);
    let name_en = text(&mut fields, "name_en", body.name_en.as_deref(), 200);
    if body.kind.is_none() {
        fields.insert("kind".into(), "required".into());
    }
    let (Some(name), Some(name_en), Some(kind), true) =
        (name, name_en, body.kind, fields.is_empty())
    else {
        return Err(ApiError::validation(fields));
    };
    let agency = db::catalog::Agency {
        id: Uuid::new_v4(),
        slug,
        name,
        name_en,
        kind: kind.as_str().into(),
    };
    let mut conn = state.pool.get().await?;
    let actor = db::events::staff_actor(me.id);
    let result = conn
        .transaction::<_, diesel::result::Error, _>(async |c| {
            db::catalog::insert_agency(c, &agency).await?;
            db::audit::append(
                c,
                &actor,
                "agency_added",
                &format!("agency:{}", agency.slug),
                json!({}),
            )
            .await
        })
        .await;
    match result {
        Ok(()) => Ok(HttpResponse::Created().json(views::AgencyOut::from(&agency))),
        Err(e) if db::violates(&e, "agencies_slug_key") => Err(ApiError::conflict(
            "slug_taken",
            "An agency with this slug exists.",
        )),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, IntoParams)]
pub struct AgencyQuery {
    agency: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AdminServiceOut {
    #[serde(flatten)]
    pub service: ServiceDetail,
    pub active: bool,
}

/// Services including inactive ones (admins: all or `agency=`; supervisors: their agency).
#[utoipa::path(get, path = "/api/v1/admin/services", tag = "admin", params(AgencyQuery),
    responses((status = 200, body = [AdminServiceOut])))]
#[get("/admin/services")]
pub async fn list_services(
    state: web::Data<AppState>,
    me: StaffSession,
    q: web::Query<AgencyQuery>,
) -> ApiResult<HttpResponse> {
    me.require(&[Role::Supervisor, Role::Admin])?;
    let mut conn = state.pool.get().await?;
    let agency = scope_agency(&mut conn, &me, q.agency.as_deref()).await?;
    let rows = db::catalog::services_of(&mut conn, agency).await?;
    let out: Vec<AdminServiceOut> = rows
        .iter()
        .map(|(s, a)| AdminServiceOut {
            service: views::service_detail(s, a),
            active: s.active,
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

/// Which agency a request may look at: a supervisor only their own; an admin any (or all).
async fn scope_agency(
    conn: &mut diesel_async::AsyncPgConnection,
    me: &StaffSession,
    slug: Option<&str>,
) -> ApiResult<Option<AgencyId>> {
    let named = match slug.filter(|s| !s.is_empty()) {
        Some(slug) => Some(AgencyId(
            db::catalog::agency_by_slug(conn, slug)
                .await?
                .ok_or(ApiError::not_found("unknown_agency"))?
                .id,
        )),
        None => None,
    };
    match me.role {
        Role::Admin => Ok(named),
        _ => match (me.agency, named) {
            (Some(own), None) => Ok(Some(own)),
            (Some(own), Some(n)) if own == n => Ok(Some(own)),
            _ => Err(ApiError::Forbidden {
                code: "not_your_agency",
            }),
        },
    }
}

#[derive(Deserialize, ToSchema, Default)]
pub struct ServiceIn {
    /// Only when creating.
    pub slug: Option<String>,
    /// Agency slug; only when creating (supervisors: their own).
    pub agency: Option<String>,
    pub name: Option<String>,
    pub name_en: Option<String>,
    pub aliases: Option<Vec<String>>,
    pub duration_minutes: Option<i32>,
    pub buffer_minutes: Option<i32>,
    pub requirements: Option<Vec<String>>,
    /// English requirements (empty: none). Changing `requirements` without these clears them:
    /// they would no longer match.
    pub requirements_en: Option<Vec<String>>,
    /// Names the service had before (searchable; a result found through one says "dulu: …").
    pub former_names: Option<Vec<String>>,
    pub needs_nik: Option<bool>,
    pub active: Option<bool>,
}

fn check_lists(
    fields: &mut FieldErrors,
    name: &str,
    v: &Option<Vec<String>>,
) -> Option<Vec<String>> {
    let list = v.as_ref()?;
    if list.len() > 30
        || list
            .iter()
            .any(|x| x.trim().is_empty() || x.chars().count() > 500)
    {
        fields.insert(name.into(), "invalid".into());
        return None;
    }
    Some(list.iter().map(|x| x.trim().to_string()).collect())
}

fn check_numbers(fields: &mut FieldErrors, body: &ServiceIn) {
    if body
        .duration_minutes
        .is_some_and(|d| !(5..=240).contains(&d))
    {
        fields.insert("duration_minutes".into(), "out_of_range".into());
    }
    if body.buffer_minutes.is_some_and(|d| !(0..=120).contains(&d)) {
        fields.insert("buffer_minutes".into(), "out_of_range".into());
    }
}

/// Adds a service to an agency (admins; supervisors for their own agency).
#[utoipa::path(post, path = "/api/v1/admin/services", tag = "admin", request_body = ServiceIn,
    responses((status = 201, body = AdminServiceOut), (status = 409, description = "slug_taken"), (status = 422)))]
#[post("/admin/services")]
pub async fn add_service(
    state: web::Data<AppState>,
    me: StaffSession,
    body: web::Json<ServiceIn>,
) -> ApiResult<HttpResponse> {
    me.require(&[Role::Supervisor, Role::Admin])?;
    let mut conn = state.pool.get().await?;
    let mut fields = FieldErrors::new();
    let slug = body.slug.as_deref().unwrap_or("").trim().to_string();
    if !valid_slug(&slug) {
        fields.insert("slug".into(), "invalid".into());
    }
    let name = text(&mut fields, "name", body.name.as_deref(), 300);
    let name_en = text(&mut fields, "name_en", body.name_en.as_deref(), 300);
    check_numbers(&mut fields, &body);
    if body.duration_minutes.is_none() {
        fields.insert("duration_minutes".into(), "required".into());
    }
    let aliases = check_lists(&mut fields, "aliases", &body.aliases).unwrap_or_default();
    let requirements =
        check_lists(&mut fields, "requirements", &body.requirements).unwrap_or_default();
    let requirements_en =
        check_lists(&mut fields, "requirements_en", &body.requirements_en).unwrap_or_default();
    let former_names =
        check_lists(&mut fields, "former_names", &body.former_names).unwrap_or_default();
    let agency = match body.agency.as_deref() {
        None | Some("") => {
            fields.insert("agency".into(), "required".into());
            None
        }
        Some(slug) => scope_agency(&mut conn, &me, Some(slug)).await?,
    };
    let (Some(name), Some(name_en), Some(agency), true) =
        (name, name_en, agency, fields.is_empty())
    else {
        return Err(ApiError::validation(fields));
    };
    let actor = db::events::staff_actor(me.id);
    let new = db::catalog::NewService {
        id: Uuid::new_v4(),
        agency_id: agency.0,
        slug: &slug,
        name: &name,
        name_en: &name_en,
        aliases,
        duration_minutes: body.duration_minutes.unwrap_or(15),
        buffer_minutes: body.buffer_minutes.unwrap_or(5),
        requirements,
        requirements_en,
        former_names,
        needs_nik: body.needs_nik.unwrap_or(false),
    };
    let result = conn
        .transaction::<_, diesel::result::Error, _>(async |c| {
            db::catalog::insert_service(c, new).await?;
            db::audit::append(
                c,
                &actor,
                "service_added",
                &format!("service:{slug}"),
                json!({}),
            )
            .await
        })
        .await;
    match result {
        Ok(()) => {}
        Err(e) if db::violates(&e, "services_slug_key") => {
            return Err(ApiError::conflict(
                "slug_taken",
                "A service with this slug exists.",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    let (s, a) = db::catalog::service_by_slug(&mut conn, &slug)
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("service vanished")))?;
    Ok(HttpResponse::Created().json(AdminServiceOut {
        service: views::service_detail(&s, &a),
        active: s.active,
    }))
}

/// Changes a service: names, aliases, durations, requirements, NIK need, active.
#[utoipa::path(patch, path = "/api/v1/admin/services/{slug}", tag = "admin", request_body = ServiceIn,
    responses((status = 200, body = AdminServiceOut), (status = 404), (status = 422)))]
#[patch("/admin/services/{slug}")]
pub async fn edit_service(
    state: web::Data<AppState>,
    me: StaffSession,
    slug: web::Path<String>,
    body: web::Json<ServiceIn>,
) -> ApiResult<HttpResponse> {
    me.require(&[Role::Supervisor, Role::Admin])?;
    let mut conn = state.pool.get().await?;
    let (service, agency) = db::catalog::service_by_slug(&mut conn, &slug)
        .await?
        .ok_or(ApiError::not_found("unknown_service"))?;
    if me.role != Role::Admin && me.agency != Some(AgencyId(agency.id)) {
        return Err(ApiError::not_found("unknown_service"));
    }
    let mut fields = FieldErrors::new();
    if body.slug.is_some() || body.agency.is_some() {
        fields.insert("slug".into(), "immutable".into());
    }
    check_numbers(&mut fields, &body);
    let opt_text = |fields: &mut FieldErrors, n: &str, v: Option<&str>| match v {
        None => None,
        Some(_) => text(fields, n, v, 300),
    };
    let changes = db::catalog::ServiceChanges {
        name: opt_text(&mut fields, "name", body.name.as_deref()),
        name_en: opt_text(&mut fields, "name_en", body.name_en.as_deref()),
        aliases: check_lists(&mut fields, "aliases", &body.aliases),
        duration_minutes: body.duration_minutes,
        buffer_minutes: body.buffer_minutes,
        requirements: check_lists(&mut fields, "requirements", &body.requirements),
        requirements_en: check_lists(&mut fields, "requirements_en", &body.requirements_en)
            .or_else(|| body.requirements.as_ref().map(|_| Vec::new())),
        former_names: check_lists(&mut fields, "former_names", &body.former_names),
        needs_nik: body.needs_nik,
        active: body.active,
    };
    if !fields.is_empty() {
        return Err(ApiError::validation(fields));
    }
    let actor = db::events::staff_actor(me.id);
    let detail = json!({
        "duration_minutes": changes.duration_minutes, "buffer_minutes": changes.buffer_minutes,
        "needs_nik": changes.needs_nik, "active": changes.active,
        "names": changes.name.is_some() || changes.name_en.is_some(),
        "requirements": changes.requirements.is_some() || changes.requirements_en.is_some(),
        "aliases": changes.aliases.is_some() || changes.former_names.is_some(),
    });
    let nothing = changes.name.is_none()
        && changes.name_en.is_none()
        && changes.aliases.is_none()
        && changes.former_names.is_none()
        && changes.duration_minutes.is_none()
        && changes.buffer_minutes.is_none()
        && changes.requirements.is_none()
        && changes.requirements_en.is_none()
        && changes.needs_nik.is_none()
        && changes.active.is_none();
    if !nothing {
        conn.transaction::<_, diesel::result::Error, _>(async |c| {
            db::catalog::update_service(c, ServiceId(service.id), &changes).await?;
            db::audit::append(
                c,
                &actor,
                "service_changed",
                &format!("service:{}", service.slug),
                detail,
            )
            .await
        })
        .await?;
    }
    let (s, a) = db::catalog::service_by_slug(&mut conn, &slug)
        .await?
        .ok_or(ApiError::not_found("unknown_service"))?;
    Ok(HttpResponse::Ok().json(AdminServiceOut {
        service: views::service_detail(&s, &a),
        active: s.active,
    }))
}

#[derive(Deserialize, IntoParams)]
pub struct ReportQuery {
    /// First local date (default: 30 days ago).
    from: Option<String>,
    /// Last local date, inclusive (default: today).
    to: Option<String>,
    /// Admins: one agency's slug.
    agency: Option<String>,
}

#[derive(Serialize, ToSchema, Default)]
pub struct IkmOut {
    pub responses: usize,
    /// 25..100, absent without responses.
    pub score: Option<f64>,
    /// A (Sangat Baik) … D (Tidak Baik).
    pub grade: Option<String>,
    /// Mean answer (NRR, 1..4) per element, in the order of the nine IKM elements.
    pub per_element: Vec<f64>,
}

#[derive(Serialize, ToSchema, Default)]
pub struct ReportRow {
    pub agency: String,
    pub appointments: BTreeMap<String, i64>,
    pub total: i64,
    /// no_show / (completed + no_show); absent when neither happened.
    pub no_show_rate: Option<f64>,
    pub ikm: IkmOut,
}

#[derive(Serialize, ToSchema)]
pub struct ReportOut {
    pub from: String,
    pub to: String,
    pub elements: Vec<String>,
    pub agencies: Vec<ReportRow>,
    pub overall: ReportRow,
}

fn ikm_of(answers: &[SurveyAnswers]) -> IkmOut {
    let per_element = if answers.is_empty() {
        vec![]
    } else {
        (0..9)
            .map(|e| {
                answers.iter().map(|a| a.values()[e] as f64).sum::<f64>() / answers.len() as f64
            })
            .collect()
    };
    let ikm = survey::ikm(answers);
    IkmOut {
        responses: answers.len(),
        score: ikm.map(|i| (i.score * 100.0).round() / 100.0),
        grade: ikm.map(|i| i.grade.to_string()),
        per_element,
    }
}

fn finish(row: &mut ReportRow, answers: &[SurveyAnswers]) {
    row.total = row.appointments.values().sum();
    let done = row.appointments.get("completed").copied().unwrap_or(0);
    let no_show = row.appointments.get("no_show").copied().unwrap_or(0);
    row.no_show_rate = (done + no_show > 0).then(|| no_show as f64 / (done + no_show) as f64);
    row.ikm = ikm_of(answers);
}

/// Volume per status, no-show rate and IKM per agency for appointments in a date range.
#[utoipa::path(get, path = "/api/v1/admin/reports", tag = "admin", params(ReportQuery),
    responses((status = 200, body = ReportOut), (status = 403)))]
#[get("/admin/reports")]
pub async fn reports(
    state: web::Data<AppState>,
    me: StaffSession,
    q: web::Query<ReportQuery>,
) -> ApiResult<HttpResponse> {
    me.require(&[Role::Supervisor, Role::Admin])?;
    let tz = state.settings.timezone;
    let today = Utc::now().with_timezone(&tz).date_naive();
    let date = |raw: Option<&str>, name: &str, default: NaiveDate| match raw {
        None | Some("") => Ok(default),
        Some(r) => NaiveDate::parse_from_str(r, "%Y-%m-%d")
            .map_err(|_| ApiError::field(name, "invalid_date")),
    };
    let from = date(q.from.as_deref(), "from", today - Duration::days(30))?;
    let to = date(q.to.as_deref(), "to", today)?;
    if to < from {
        return Err(ApiError::field("to", "before_from"));
    }
    if (to - from).num_days() > 366 {
        return Err(ApiError::field("to", "range_too_long"));
    }
    let start_of = |d: NaiveDate| {
        tz.from_local_datetime(&d.and_time(NaiveTime::MIN))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| ApiError::field("from", "invalid_date"))
    };
    let window = Interval {
        start: start_of(from)?,
        end: start_of(to + Duration::days(1))?,
    };
    let mut conn = state.pool.get().await?;
    let agency = scope_agency(&mut conn, &me, q.agency.as_deref()).await?;
    let counts = db::reports::status_counts(&mut conn, window, agency.map(|a| a.0)).await?;
    let surveys = db::reports::survey_answers(&mut conn, window, agency.map(|a| a.0)).await?;
    let mut rows: BTreeMap<String, (ReportRow, Vec<SurveyAnswers>)> = BTreeMap::new();
    let mut overall = (
        ReportRow {
            agency: "all".into(),
            ..Default::default()
        },
        vec![],
    );
    for (slug, status, n) in counts {
        let e = rows.entry(slug.clone()).or_insert_with(|| {
            (
                ReportRow {
                    agency: slug.clone(),
                    ..Default::default()
                },
                vec![],
            )
        });
        *e.0.appointments.entry(status.clone()).or_default() += n;
        *overall.0.appointments.entry(status).or_default() += n;
    }
    for (slug, answers) in surveys {
        let raw: Vec<i64> = answers.iter().map(|&a| a as i64).collect();
        let Ok(parsed) = SurveyAnswers::parse(&raw) else {
            continue;
        };
        rows.entry(slug.clone())
            .or_insert_with(|| {
                (
                    ReportRow {
                        agency: slug.clone(),
                        ..Default::default()
                    },
                    vec![],
                )
            })
            .1
            .push(parsed.clone());
        overall.1.push(parsed);
    }
    let agencies = rows
        .into_values()
        .map(|(mut row, answers)| {
            finish(&mut row, &answers);
            row
        })
        .collect();
    finish(&mut overall.0, &overall.1);
    Ok(HttpResponse::Ok().json(ReportOut {
        from: from.to_string(),
        to: to.to_string(),
        elements: ELEMENTS.iter().map(|(id, _)| id.to_string()).collect(),
        agencies,
        overall: overall.0,
    }))
}
