//! Request extractors. [`Citizen`] reads `Authorization: Bearer <citizen token>`, and
//! [`QueueHolder`] a queue number's token the same way; a [`StaffSession`] comes from the session
//! cookie or a Bearer staff token, checked against the account on every request
//! (`accounts::authenticate`).

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use crate::accounts::{self, AuthError};
use crate::auth::StaffSession;
use crate::domain::ids::{AppointmentId, TicketId};
use crate::error::ApiError;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "loket_session";

pub fn bearer(req: &HttpRequest) -> Option<&str> {
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

/// A citizen holding the token of exactly one queue number.
#[derive(Clone, Copy, Debug)]
pub struct QueueHolder {
    pub ticket: TicketId,
}

impl FromRequest for QueueHolder {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready((|| {
            let state = state(req)?;
            let token = bearer(req).ok_or(ApiError::Unauthorized {
                code: "missing_token",
            })?;
            let ticket = crate::auth::tokens::verify_queue(&state.keys, token).ok_or(
                ApiError::Unauthorized {
                    code: "invalid_token",
                },
            )?;
            Ok(QueueHolder { ticket })
        })())
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
            accounts::authenticate(&state.ctx, &token)
                .await
                .map_err(|e| match e {
                    AuthError::InvalidToken => ApiError::Unauthorized {
                        code: "invalid_token",
                    },
                    AuthError::SessionEnded => ApiError::Unauthorized {
                        code: "session_ended",
                    },
                    AuthError::Fault(f) => f.into(),
                })
        })
    }
}
