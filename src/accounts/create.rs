//! Creating staff accounts, with the same checks wherever it happens: the `loket staff add`
//! command, the admin API and the demo data.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::AccountError;
use crate::auth::{StaffSession, password};
use crate::db;
use crate::domain::FieldErrors;
use crate::domain::citizen::Email;
use crate::domain::ids::{ServiceId, StaffId};
use crate::domain::schedule::Role;

pub struct StaffInput {
    pub email: String,
    pub name: String,
    pub role: Role,
    /// Agency slug; required unless the role is admin.
    pub agency: Option<String>,
    /// Service slugs; empty = every service of the agency.
    pub services: Vec<String>,
    pub password: String,
}

/// A random key for the calendar feed URL (32 characters, 160+ bits).
pub fn calendar_key() -> String {
    use rand::Rng;
    const A: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..32)
        .map(|_| A[rng.random_range(0..A.len())] as char)
        .collect()
}

/// Validates and creates the account; `by` (when given) must be allowed to create it.
pub async fn create_staff(
    conn: &mut AsyncPgConnection,
    input: &StaffInput,
    by: Option<&StaffSession>,
) -> Result<db::staff::Staff, AccountError> {
    let mut fields = FieldErrors::new();
    let email = Email::parse(&input.email)
        .map_err(|e| fields.insert("email".into(), e.into()))
        .ok();
    let name = match crate::domain::citizen::clean_name(&input.name) {
        Ok(n) if n.is_empty() || n.chars().count() > 200 => {
            fields.insert("name".into(), "required".into());
            n
        }
        Ok(n) => n,
        Err(problem) => {
            fields.insert("name".into(), problem.into());
            String::new()
        }
    };
    if let Some(problem) = password::weakness(&input.password, &[&input.email, &input.name]) {
        fields.insert("password".into(), problem.into());
    }
    let agency = match input.agency.as_deref().filter(|a| !a.is_empty()) {
        Some(slug) => {
            let found = db::catalog::agency_by_slug(conn, slug).await?;
            if found.is_none() {
                fields.insert("agency".into(), "unknown".into());
            }
            found
        }
        None => {
            if input.role != Role::Admin {
                fields.insert("agency".into(), "required".into());
            }
            None
        }
    };
    if let (Some(by), Some(a)) = (by, &agency)
        && by.role != Role::Admin
        && by.agency.map(|x| x.0) != Some(a.id)
    {
        return Err(AccountError::NotYourAgency);
    }
    let services = db::catalog::active_services(conn).await?;
    let mut service_ids = Vec::new();
    if let Some(a) = &agency {
        if input.services.is_empty() {
            service_ids = services
                .iter()
                .filter(|(_, ag)| ag.id == a.id)
                .map(|(s, _)| ServiceId(s.id))
                .collect();
        }
        for slug in &input.services {
            match services.iter().find(|(s, _)| &s.slug == slug) {
                Some((s, ag)) if ag.id == a.id => service_ids.push(ServiceId(s.id)),
                Some(_) => {
                    fields.insert("services".into(), "other_agency".into());
                }
                None => {
                    fields.insert("services".into(), "unknown".into());
                }
            }
        }
    }
    let (Some(email), true) = (email, fields.is_empty()) else {
        return Err(AccountError::Invalid(fields));
    };
    if db::staff::by_email(conn, email.as_str()).await?.is_some() {
        return Err(AccountError::EmailTaken);
    }
    let pw = input.password.clone();
    let hash = tokio::task::spawn_blocking(move || password::hash(&pw))
        .await
        .map_err(|e| anyhow::anyhow!("hashing task: {e}"))??;
    let id = StaffId(Uuid::new_v4());
    let key = calendar_key();
    db::staff::insert(
        conn,
        db::staff::NewStaff {
            id: id.0,
            agency_id: agency.as_ref().map(|a| a.id),
            email: email.as_str(),
            name: &name,
            password_hash: &hash,
            role: input.role.as_str(),
            calendar_key: &key,
        },
    )
    .await
    .map_err(|e| {
        // The look-up above can lose a race with a concurrent creation; the database decides.
        if db::violates(&e, "staff_email_key") {
            AccountError::EmailTaken
        } else {
            e.into()
        }
    })?;
    db::staff::add_services(conn, id, &service_ids).await?;
    db::staff::by_id(conn, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("staff vanished after insert").into())
}

/// An admin (any agency) or a supervisor (clerks of their own agency) creates an account; the
/// creation and its audit event commit together.
pub async fn add_by(
    ctx: &crate::context::Ctx,
    me: &StaffSession,
    input: &StaffInput,
) -> Result<db::staff::Staff, AccountError> {
    if !me.has_role(&[Role::Supervisor, Role::Admin])
        || (me.role == Role::Supervisor && input.role != Role::Clerk)
    {
        return Err(AccountError::InsufficientRole);
    }
    let mut conn = ctx.conn().await?;
    use diesel_async::AsyncConnection;
    conn.transaction::<_, AccountError, _>(async |c| {
        let created = create_staff(c, input, Some(me)).await?;
        db::audit::append(
            c,
            &me.id.actor(),
            "staff_created",
            &format!("staff:{}", created.id),
            serde_json::json!({"email": created.email, "role": created.role}),
        )
        .await?;
        Ok(created)
    })
    .await
}
