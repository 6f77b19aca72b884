//! Signing in (argon2id off the async threads), signing out everywhere, the per-request check of
//! a staff token against the account, and what the signed-in person sees of themselves and
//! their team.

use std::collections::HashSet;

use diesel_async::AsyncConnection;
use serde_json::json;
use uuid::Uuid;

use super::{AccountError, AuthError};
use crate::auth::{StaffSession, password, tokens};
use crate::context::Ctx;
use crate::db::{self, catalog::Agency, staff::Staff};
use crate::domain::ids::{AgencyId, StaffId};
use crate::domain::schedule::Role;
use crate::fault::Fault;

/// A verified token whose account is still active and whose epoch is current.
pub async fn authenticate(ctx: &Ctx, token: &str) -> Result<StaffSession, AuthError> {
    let (id, epoch) = tokens::verify_staff(&ctx.keys, token).ok_or(AuthError::InvalidToken)?;
    let mut conn = ctx.conn().await?;
    let row = db::staff::by_id(&mut conn, id)
        .await?
        .filter(|s| s.active && s.session_epoch == epoch)
        .ok_or(AuthError::SessionEnded)?;
    let role = Role::parse(&row.role).ok_or_else(|| anyhow::anyhow!("bad role in database"))?;
    Ok(StaffSession {
        id,
        role,
        agency: row.agency_id.map(AgencyId),
        name: row.name,
        email: row.email,
    })
}

/// A staff member as they see themselves: the account and its agency.
pub struct Profile {
    pub staff: Staff,
    pub agency: Option<Agency>,
}

async fn profile_of(
    conn: &mut diesel_async::AsyncPgConnection,
    staff: Staff,
) -> Result<Profile, Fault> {
    let agency = match staff.agency_id {
        Some(id) => db::catalog::agencies(conn)
            .await?
            .into_iter()
            .find(|a| a.id == id),
        None => None,
    };
    Ok(Profile { staff, agency })
}

/// The profile of an account just read or created.
pub async fn profile_of_staff(ctx: &Ctx, staff: Staff) -> Result<Profile, Fault> {
    let mut conn = ctx.conn().await?;
    profile_of(&mut conn, staff).await
}

/// Signs in with email and password: a fresh staff token and the profile. Unknown emails cost
/// the same argon2 work as wrong passwords, so timing does not tell which accounts exist. A
/// wrong password for an existing account is counted and leaves an audit event naming the
/// address it came `from` (`login_failed`).
pub async fn login(
    ctx: &Ctx,
    email: &str,
    pw: &str,
    from: &str,
) -> Result<(String, Profile), AccountError> {
    let mut conn = ctx.conn().await?;
    let row = db::staff::by_email(&mut conn, email).await?;
    let stored = row
        .as_ref()
        .map(|r| r.password_hash.clone())
        .unwrap_or_else(|| password::dummy_hash().to_string());
    let pw_owned = pw.to_string();
    // argon2 is deliberately slow: keep it off the async workers.
    let ok = tokio::task::spawn_blocking(move || password::verify(&pw_owned, &stored))
        .await
        .map_err(|e| anyhow::anyhow!("password check: {e}"))?;
    let known = row.as_ref().map(|r| r.id);
    let Some(row) = row.filter(|r| ok && r.active) else {
        ctx.metrics.logins_failed.inc();
        if let Some(id) = known {
            // Only for accounts that exist: what someone typed as an email is not kept.
            db::audit::append(
                &mut conn,
                &format!("address:{from}"),
                "login_failed",
                &format!("staff:{id}"),
                json!({"address": from}),
            )
            .await?;
        }
        return Err(AccountError::InvalidCredentials);
    };
    let token = tokens::staff_token(&ctx.keys, StaffId(row.id), row.session_epoch)?;
    Ok((token, profile_of(&mut conn, row).await?))
}

/// Ends every session of this account (every token stops working) and records it.
pub async fn logout(ctx: &Ctx, me: &StaffSession) -> Result<(), Fault> {
    let mut conn = ctx.conn().await?;
    let actor = me.id.actor();
    conn.transaction::<_, diesel::result::Error, _>(async |c| {
        db::staff::bump_epoch(c, me.id).await?;
        db::audit::append(c, &actor, "sessions_ended", &actor, json!({})).await
    })
    .await?;
    Ok(())
}

/// The signed-in person's own account, or `SessionEnded` if it is gone.
pub async fn profile(ctx: &Ctx, me: &StaffSession) -> Result<Profile, AccountError> {
    let mut conn = ctx.conn().await?;
    let row = db::staff::by_id(&mut conn, me.id)
        .await?
        .ok_or(AccountError::SessionEnded)?;
    Ok(profile_of(&mut conn, row).await?)
}

/// Someone on the caller's team, with the slugs of the services they may serve.
pub struct TeamMember {
    pub staff: Staff,
    pub services: Vec<String>,
}

/// The agency's staff (supervisors), or everyone (admins).
pub async fn team(ctx: &Ctx, me: &StaffSession) -> Result<Vec<TeamMember>, AccountError> {
    if !me.has_role(&[Role::Supervisor, Role::Admin]) {
        return Err(AccountError::InsufficientRole);
    }
    let mut conn = ctx.conn().await?;
    let rows = match (me.role, me.agency) {
        (Role::Admin, _) => db::staff::all(&mut conn).await?,
        (_, Some(a)) => db::staff::in_agency(&mut conn, a).await?,
        _ => vec![],
    };
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut services = db::staff::service_slugs(&mut conn, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|staff| TeamMember {
            services: services.remove(&staff.id).unwrap_or_default(),
            staff,
        })
        .collect())
}

/// Whose appointments this person may watch live: `None` = everyone (admins); a clerk only
/// their own; a supervisor their agency's staff and themselves.
pub async fn visible_staff(ctx: &Ctx, me: &StaffSession) -> Result<Option<HashSet<Uuid>>, Fault> {
    Ok(match me.role {
        Role::Admin => None,
        Role::Clerk => Some(HashSet::from([me.id.0])),
        Role::Supervisor => {
            let mut conn = ctx.conn().await?;
            let mut ids: HashSet<Uuid> = match me.agency {
                Some(a) => db::staff::in_agency(&mut conn, a)
                    .await?
                    .into_iter()
                    .map(|s| s.id)
                    .collect(),
                None => HashSet::new(),
            };
            ids.insert(me.id.0);
            Some(ids)
        }
    })
}
