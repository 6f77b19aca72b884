//! The catalogue as a CSV file, in and out (`domain::catalogue` reads and writes the file and
//! plans the change). An import compares the file with the catalogue there is now and applies
//! the difference in one transaction, with one audit event: agencies and services added or
//! changed by slug, services missing from the file deleted, or deactivated when they were ever
//! booked. A dry run does the same and rolls it back, so it finds what the database would
//! refuse too. Admins over HTTP; `loket catalogue` and the demo data through [`import_as`].

use std::collections::{BTreeMap, HashSet};

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::CatalogueError;
use crate::auth::StaffSession;
use crate::context::Ctx;
use crate::db::{self, catalog::Agency};
use crate::domain::catalogue::{self, AgencyEntry, Catalogue, Plan, Problem, ServiceChange};
use crate::domain::ids::ServiceId;
use crate::domain::schedule::{AgencyKind, Role};

/// What an import changed (or, for a dry run, would change).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ImportReport {
    pub dry_run: bool,
    pub agencies_added: Vec<String>,
    pub agencies_changed: Vec<String>,
    pub services_added: Vec<String>,
    pub services_changed: Vec<ServiceChange>,
    /// Missing from the file but booked before: kept, no longer bookable.
    pub services_deactivated: Vec<String>,
    /// Missing from the file and never booked: removed.
    pub services_deleted: Vec<String>,
    pub services_unchanged: usize,
}

impl ImportReport {
    fn of(plan: &Plan, dry_run: bool) -> ImportReport {
        let slugs = |v: &[AgencyEntry]| v.iter().map(|a| a.slug.clone()).collect();
        ImportReport {
            dry_run,
            agencies_added: slugs(&plan.agencies_added),
            agencies_changed: slugs(&plan.agencies_changed),
            services_added: plan.services_added.iter().map(|s| s.slug.clone()).collect(),
            services_changed: plan
                .services_changed
                .iter()
                .map(|(s, columns)| ServiceChange {
                    slug: s.slug.clone(),
                    columns: columns.clone(),
                })
                .collect(),
            services_deactivated: plan.services_deactivated.clone(),
            services_deleted: plan.services_deleted.clone(),
            services_unchanged: plan.services_unchanged,
        }
    }

    /// The report for a person at a terminal, one line per kind of change.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![if self.dry_run {
            "dry run: nothing was changed; an import would do this:".to_string()
        } else {
            "catalogue imported:".to_string()
        }];
        let mut line = |what: &str, items: &[String]| {
            if !items.is_empty() {
                out.push(format!("  {what} ({}): {}", items.len(), items.join(", ")));
            }
        };
        line("agencies added", &self.agencies_added);
        line("agencies changed", &self.agencies_changed);
        line("services added", &self.services_added);
        let changed: Vec<String> = self
            .services_changed
            .iter()
            .map(|c| format!("{} [{}]", c.slug, c.columns.join(" ")))
            .collect();
        line("services changed", &changed);
        line(
            "services deactivated (booked before)",
            &self.services_deactivated,
        );
        line("services deleted", &self.services_deleted);
        out.push(format!("  services unchanged: {}", self.services_unchanged));
        out
    }
}

/// Why a transaction ended without committing.
enum Abort {
    DryRun(Box<ImportReport>),
    Problems(Vec<Problem>),
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for Abort {
    fn from(e: diesel::result::Error) -> Self {
        Abort::Db(e)
    }
}

/// An admin imports a catalogue file (or sees what it would change, with `dry_run`).
pub async fn import(
    ctx: &Ctx,
    me: &StaffSession,
    file: &[u8],
    dry_run: bool,
) -> Result<ImportReport, CatalogueError> {
    require_admin(me)?;
    let mut conn = ctx.conn().await?;
    import_as(&mut conn, &me.id.actor(), file, dry_run).await
}

/// An admin downloads the catalogue as a file an import reads back as it is.
pub async fn export(ctx: &Ctx, me: &StaffSession) -> Result<String, CatalogueError> {
    require_admin(me)?;
    let mut conn = ctx.conn().await?;
    export_from(&mut conn).await
}

fn require_admin(me: &StaffSession) -> Result<(), CatalogueError> {
    if me.role == Role::Admin {
        Ok(())
    } else {
        Err(CatalogueError::InsufficientRole)
    }
}

/// The catalogue as it is now, as a file.
pub async fn export_from(conn: &mut AsyncPgConnection) -> Result<String, CatalogueError> {
    let (current, _) = load(conn).await?;
    Ok(catalogue::write(&current))
}

/// Imports `file` on behalf of `actor` (`staff:<id>`, `cli`, `system`); see the module.
pub async fn import_as(
    conn: &mut AsyncPgConnection,
    actor: &str,
    file: &[u8],
    dry_run: bool,
) -> Result<ImportReport, CatalogueError> {
    let new = catalogue::parse(file).map_err(CatalogueError::Rows)?;
    let outcome = conn
        .transaction::<_, Abort, _>(async |c| {
            db::catalog::lock_for_import(c).await?;
            let (current, ids) = load(c).await?;
            let booked_ids = db::catalog::booked_service_ids(c).await?;
            let booked: HashSet<String> = ids
                .iter()
                .filter(|(_, id)| booked_ids.contains(id))
                .map(|(slug, _)| slug.clone())
                .collect();
            let plan = catalogue::plan(&current, &booked, &new).map_err(Abort::Problems)?;
            apply(c, &plan, &ids).await?;
            let report = ImportReport::of(&plan, dry_run);
            if dry_run {
                return Err(Abort::DryRun(Box::new(report)));
            }
            if !plan.is_empty() {
                let detail = serde_json::to_value(&report).unwrap_or_else(|_| json!({}));
                db::audit::append(c, actor, "catalogue_imported", "catalogue", detail).await?;
            }
            Ok(report)
        })
        .await;
    match outcome {
        Ok(report) => Ok(report),
        Err(Abort::DryRun(report)) => Ok(*report),
        Err(Abort::Problems(p)) => Err(CatalogueError::Rows(p)),
        // A booking of a service being deleted came in meanwhile: nothing was changed.
        Err(Abort::Db(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::ForeignKeyViolation,
            _,
        ))) => Err(CatalogueError::Busy),
        Err(Abort::Db(e)) => Err(e.into()),
    }
}

/// The catalogue in the database, and each service's id by slug.
async fn load(
    conn: &mut AsyncPgConnection,
) -> Result<(Catalogue, BTreeMap<String, Uuid>), diesel::result::Error> {
    let agencies = db::catalog::agencies(conn).await?;
    let services = db::catalog::services_of(conn, None).await?;
    let mut current = Catalogue {
        agencies: agencies.iter().map(agency_entry).collect(),
        ..Catalogue::default()
    };
    let mut ids = BTreeMap::new();
    for (s, a) in services {
        ids.insert(s.slug.clone(), s.id);
        current.services.push(catalogue::ServiceEntry {
            agency: a.slug,
            slug: s.slug,
            name: s.name,
            name_en: s.name_en,
            aliases: s.aliases,
            former_names: s.former_names,
            requirements: s.requirements,
            requirements_en: s.requirements_en,
            duration_minutes: s.duration_minutes,
            buffer_minutes: s.buffer_minutes,
            needs_nik: s.needs_nik,
            active: s.active,
        });
    }
    Ok((current, ids))
}

fn agency_entry(a: &Agency) -> AgencyEntry {
    AgencyEntry {
        slug: a.slug.clone(),
        name: a.name.clone(),
        name_en: a.name_en.clone(),
        // The database's check allows only these four.
        kind: AgencyKind::parse(&a.kind).unwrap_or(AgencyKind::City),
    }
}

fn agency_row(a: &AgencyEntry) -> Agency {
    Agency {
        id: Uuid::new_v4(),
        slug: a.slug.clone(),
        name: a.name.clone(),
        name_en: a.name_en.clone(),
        kind: a.kind.as_str().to_string(),
    }
}

/// Writes the plan (inside the caller's transaction).
async fn apply(
    c: &mut AsyncPgConnection,
    plan: &Plan,
    ids: &BTreeMap<String, Uuid>,
) -> Result<(), diesel::result::Error> {
    for a in &plan.agencies_added {
        db::catalog::insert_agency(c, &agency_row(a)).await?;
    }
    for a in &plan.agencies_changed {
        db::catalog::update_agency(c, &agency_row(a)).await?;
    }
    let agency_ids: BTreeMap<String, Uuid> = db::catalog::agencies(c)
        .await?
        .into_iter()
        .map(|a| (a.slug, a.id))
        .collect();
    for s in &plan.services_added {
        let Some(&agency_id) = agency_ids.get(&s.agency) else {
            return Err(diesel::result::Error::NotFound);
        };
        db::catalog::insert_service(
            c,
            db::catalog::NewService {
                id: Uuid::new_v4(),
                agency_id,
                slug: &s.slug,
                name: &s.name,
                name_en: &s.name_en,
                aliases: s.aliases.clone(),
                duration_minutes: s.duration_minutes,
                buffer_minutes: s.buffer_minutes,
                requirements: s.requirements.clone(),
                requirements_en: s.requirements_en.clone(),
                former_names: s.former_names.clone(),
                needs_nik: s.needs_nik,
                active: s.active,
            },
        )
        .await?;
    }
    for (s, _) in &plan.services_changed {
        let id = ids.get(&s.slug).ok_or(diesel::result::Error::NotFound)?;
        let all = db::catalog::ServiceChanges {
            name: Some(s.name.clone()),
            name_en: Some(s.name_en.clone()),
            aliases: Some(s.aliases.clone()),
            duration_minutes: Some(s.duration_minutes),
            buffer_minutes: Some(s.buffer_minutes),
            requirements: Some(s.requirements.clone()),
            requirements_en: Some(s.requirements_en.clone()),
            former_names: Some(s.former_names.clone()),
            needs_nik: Some(s.needs_nik),
            active: Some(s.active),
        };
        db::catalog::update_service(c, ServiceId(*id), &all).await?;
    }
    let off = db::catalog::ServiceChanges {
        active: Some(false),
        ..Default::default()
    };
    for slug in &plan.services_deactivated {
        if let Some(id) = ids.get(slug) {
            db::catalog::update_service(c, ServiceId(*id), &off).await?;
        }
    }
    for slug in &plan.services_deleted {
        if let Some(id) = ids.get(slug) {
            db::catalog::delete_service(c, ServiceId(*id)).await?;
        }
    }
    Ok(())
}
