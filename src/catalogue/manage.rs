//! Changing the catalogue: agencies (admins) and services (admins anywhere, supervisors in their
//! own agency). Every change and its audit event commit together; a slug taken meanwhile is the
//! database's unique constraint, answered as `*SlugTaken`.

use diesel_async::AsyncConnection;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::CatalogueError;
use crate::auth::StaffSession;
use crate::context::Ctx;
use crate::db::{self, catalog::Agency, catalog::Service};
use crate::domain::FieldErrors;
use crate::domain::catalogue::valid_slug;
use crate::domain::ids::{AgencyId, ServiceId};
use crate::domain::schedule::{AgencyKind, Role};

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

fn require(me: &StaffSession, roles: &[Role]) -> Result<(), CatalogueError> {
    if me.has_role(roles) {
        Ok(())
    } else {
        Err(CatalogueError::InsufficientRole)
    }
}

/// A new agency as submitted.
#[derive(Deserialize, ToSchema)]
#[schema(as = AgencyIn)]
pub struct AgencyForm {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub name_en: Option<String>,
    pub kind: Option<AgencyKind>,
}

/// Adds an agency (admins).
pub async fn add_agency(
    ctx: &Ctx,
    me: &StaffSession,
    form: &AgencyForm,
) -> Result<Agency, CatalogueError> {
    require(me, &[Role::Admin])?;
    let mut fields = FieldErrors::new();
    let slug = form.slug.as_deref().unwrap_or("").trim().to_string();
    if !valid_slug(&slug) {
        fields.insert("slug".into(), "invalid".into());
    }
    let name = text(&mut fields, "name", form.name.as_deref(), 200);
    let name_en = text(&mut fields, "name_en", form.name_en.as_deref(), 200);
    if form.kind.is_none() {
        fields.insert("kind".into(), "required".into());
    }
    let (Some(name), Some(name_en), Some(kind), true) =
        (name, name_en, form.kind, fields.is_empty())
    else {
        return Err(CatalogueError::Invalid(fields));
    };
    let agency = Agency {
        id: Uuid::new_v4(),
        slug,
        name,
        name_en,
        kind: kind.as_str().into(),
    };
    let mut conn = ctx.conn().await?;
    let actor = me.id.actor();
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
        Ok(()) => Ok(agency),
        Err(e) if db::violates(&e, "agencies_slug_key") => Err(CatalogueError::AgencySlugTaken),
        Err(e) => Err(e.into()),
    }
}

/// Which agency a request may look at: a supervisor only their own; an admin any (or all).
pub async fn scope_agency(
    conn: &mut diesel_async::AsyncPgConnection,
    me: &StaffSession,
    slug: Option<&str>,
) -> Result<Option<AgencyId>, CatalogueError> {
    let named = match slug.filter(|s| !s.is_empty()) {
        Some(slug) => Some(AgencyId(
            db::catalog::agency_by_slug(conn, slug)
                .await?
                .ok_or(CatalogueError::UnknownAgency)?
                .id,
        )),
        None => None,
    };
    me.agency_scope(named)
        .map_err(|_| CatalogueError::NotYourAgency)
}

/// Services including inactive ones (admins: all or one agency; supervisors: their agency).
pub async fn services(
    ctx: &Ctx,
    me: &StaffSession,
    agency: Option<&str>,
) -> Result<Vec<(Service, Agency)>, CatalogueError> {
    require(me, &[Role::Supervisor, Role::Admin])?;
    let mut conn = ctx.conn().await?;
    let agency = scope_agency(&mut conn, me, agency).await?;
    Ok(db::catalog::services_of(&mut conn, agency).await?)
}

/// A service as submitted: everything when creating, only what changes when editing.
#[derive(Deserialize, ToSchema, Default)]
#[schema(as = ServiceIn)]
pub struct ServiceForm {
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

fn check_numbers(fields: &mut FieldErrors, form: &ServiceForm) {
    if form
        .duration_minutes
        .is_some_and(|d| !(5..=240).contains(&d))
    {
        fields.insert("duration_minutes".into(), "out_of_range".into());
    }
    if form.buffer_minutes.is_some_and(|d| !(0..=120).contains(&d)) {
        fields.insert("buffer_minutes".into(), "out_of_range".into());
    }
}

/// Adds a service to an agency (admins; supervisors for their own agency).
pub async fn add_service(
    ctx: &Ctx,
    me: &StaffSession,
    form: &ServiceForm,
) -> Result<(Service, Agency), CatalogueError> {
    require(me, &[Role::Supervisor, Role::Admin])?;
    let mut conn = ctx.conn().await?;
    let mut fields = FieldErrors::new();
    let slug = form.slug.as_deref().unwrap_or("").trim().to_string();
    if !valid_slug(&slug) {
        fields.insert("slug".into(), "invalid".into());
    }
    let name = text(&mut fields, "name", form.name.as_deref(), 300);
    let name_en = text(&mut fields, "name_en", form.name_en.as_deref(), 300);
    check_numbers(&mut fields, form);
    if form.duration_minutes.is_none() {
        fields.insert("duration_minutes".into(), "required".into());
    }
    let aliases = check_lists(&mut fields, "aliases", &form.aliases).unwrap_or_default();
    let requirements =
        check_lists(&mut fields, "requirements", &form.requirements).unwrap_or_default();
    let requirements_en =
        check_lists(&mut fields, "requirements_en", &form.requirements_en).unwrap_or_default();
    let former_names =
        check_lists(&mut fields, "former_names", &form.former_names).unwrap_or_default();
    let agency = match form.agency.as_deref() {
        None | Some("") => {
            fields.insert("agency".into(), "required".into());
            None
        }
        Some(slug) => scope_agency(&mut conn, me, Some(slug)).await?,
    };
    let (Some(name), Some(name_en), Some(agency), true) =
        (name, name_en, agency, fields.is_empty())
    else {
        return Err(CatalogueError::Invalid(fields));
    };
    let actor = me.id.actor();
    let new = db::catalog::NewService {
        id: Uuid::new_v4(),
        agency_id: agency.0,
        slug: &slug,
        name: &name,
        name_en: &name_en,
        aliases,
        duration_minutes: form.duration_minutes.unwrap_or(15),
        buffer_minutes: form.buffer_minutes.unwrap_or(5),
        requirements,
        requirements_en,
        former_names,
        needs_nik: form.needs_nik.unwrap_or(false),
        active: true,
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
            return Err(CatalogueError::ServiceSlugTaken);
        }
        Err(e) => return Err(e.into()),
    }
    db::catalog::service_by_slug(&mut conn, &slug)
        .await?
        .ok_or_else(|| anyhow::anyhow!("service vanished").into())
}

/// Changes a service: names, aliases and former names, durations, requirements (Indonesian and
/// English), NIK need, active.
pub async fn edit_service(
    ctx: &Ctx,
    me: &StaffSession,
    slug: &str,
    form: &ServiceForm,
) -> Result<(Service, Agency), CatalogueError> {
    require(me, &[Role::Supervisor, Role::Admin])?;
    let mut conn = ctx.conn().await?;
    let (service, agency) = db::catalog::service_by_slug(&mut conn, slug)
        .await?
        .ok_or(CatalogueError::UnknownService)?;
    if me.role != Role::Admin && me.agency != Some(AgencyId(agency.id)) {
        return Err(CatalogueError::UnknownService);
    }
    let mut fields = FieldErrors::new();
    if form.slug.is_some() || form.agency.is_some() {
        fields.insert("slug".into(), "immutable".into());
    }
    check_numbers(&mut fields, form);
    let opt_text = |fields: &mut FieldErrors, n: &str, v: Option<&str>| match v {
        None => None,
        Some(_) => text(fields, n, v, 300),
    };
    let changes = db::catalog::ServiceChanges {
        name: opt_text(&mut fields, "name", form.name.as_deref()),
        name_en: opt_text(&mut fields, "name_en", form.name_en.as_deref()),
        aliases: check_lists(&mut fields, "aliases", &form.aliases),
        duration_minutes: form.duration_minutes,
        buffer_minutes: form.buffer_minutes,
        requirements: check_lists(&mut fields, "requirements", &form.requirements),
        requirements_en: check_lists(&mut fields, "requirements_en", &form.requirements_en)
            .or_else(|| form.requirements.as_ref().map(|_| Vec::new())),
        former_names: check_lists(&mut fields, "former_names", &form.former_names),
        needs_nik: form.needs_nik,
        active: form.active,
    };
    if !fields.is_empty() {
        return Err(CatalogueError::Invalid(fields));
    }
    let actor = me.id.actor();
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
    db::catalog::service_by_slug(&mut conn, slug)
        .await?
        .ok_or(CatalogueError::UnknownService)
}
