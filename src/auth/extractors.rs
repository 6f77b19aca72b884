//! Request extractors. [`Citizen`] reads `Authorization: Bearer <citizen token>`; [`StaffSession`]
//! reads the session cookie or a Bearer staff token and then checks the account is still active
//! and the token's epoch current (so logout and deactivation take effect at once).

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use crate::db;
use crate::domain::ids::{AgencyId, AppointmentId, StaffId};
use crate::domain::schedule::Role;
use crate::error::ApiError;
use crate::startup::AppState;

pub const SESSION_COOKIE: &str = "loket_session";

fn bearer(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("app state missing")))
}

/// A citizen holding the token of exactly one appointment.
#[derive(Clone, Copy, Debug)]
pub struct Citizen {
    pub appointment: AppointmentId,
}

impl FromRequest for Citizen {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready((|| {
            let state = state(req)?;
            let token = bearer(req).ok_or(ApiError::Unauthorized {
                code: "missing_token",
            })?;
            let appointment = crate::auth::tokens::verify_citizen(&state.keys, token).ok_or(
                ApiError::Unauthorized {
                    code: "invalid_token",
                },
            )?;
            Ok(Citizen { appointment })
        })())
    }
}

/// A signed-in staff member, checked against the database on every request.
#[derive(Clone, Debug)]
pub struct StaffSession {
    pub id: StaffId,
    pub role: Role,
    pub agency: Option<AgencyId>,
    pub name: String,
    pub email: String,
}

impl StaffSession {
    pub fn is_supervisor_or_admin(&self) -> bool {
        matches!(self.role, Role::Supervisor | Role::Admin)
    }

    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden {
                code: "insufficient_role",
            })
        }
    }

    /// May this person act on work belonging to `staff` of `agency`?
    pub fn may_act_for(&self, staff: StaffId, agency: Option<AgencyId>) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Supervisor => self.id == staff || (agency.is_some() && agency == self.agency),
            Role::Clerk => self.id == staff,
        }
    }
}

impl FromRequest for StaffSession {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req)
            .map(String::from)
            .or_else(|| req.cookie(SESSION_COOKIE).map(|c| c.value().to_string()));
        let state = state(req);
        Box::pin(async move {
            let state = state?;
            let token = token.ok_or(ApiError::Unauthorized {
                code: "missing_token",
            })?;
            let (id, epoch) = crate::auth::tokens::verify_staff(&state.keys, &token).ok_or(
                ApiError::Unauthorized {
                    code: "invalid_token",
                },
            )?;
            let mut conn = state.pool.get().await?;
            let row = db::staff::by_id(&mut conn, id)
                .await?
                .filter(|s| s.active && s.session_epoch == epoch)
                .ok_or(ApiError::Unauthorized {
                    code: "session_ended",
                })?;
            let role = Role::parse(&row.role)
                .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("bad role in database")))?;
            Ok(StaffSession {
                id,
                role,
                agency: row.agency_id.map(AgencyId),
                name: row.name,
                email: row.email,
            })
        })
    }
}
