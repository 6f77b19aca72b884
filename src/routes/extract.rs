//! Request extractors. [`Citizen`] reads `Authorization: Bearer <citizen token>`; a
//! [`StaffSession`] comes from the session cookie or a Bearer staff token, checked against the
//! account on every request (`accounts::authenticate`). A state change signed in by the cookie
//! alone must also come from Loket's own pages (`Origin`): SameSite=Strict is not the only
//! barrier against a forged cross-site request. [`OpsAccess`] guards the operator's endpoints.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use crate::accounts::{self, AuthError};
use crate::auth::StaffSession;
use crate::domain::ids::AppointmentId;
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

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> &str {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority = rest.split('/').next().unwrap_or("");
            &url[..scheme.len() + 3 + authority.len()]
        }
        None => url,
    }
}

/// Whether the request's `Origin` is Loket's own: the configured public address, or the
/// address the browser used to reach this server (its `Host`). A missing `Origin` is not:
/// browsers send it with every POST, PUT and DELETE.
pub fn same_origin(req: &HttpRequest, public_url: &str) -> bool {
    let Some(origin) = req
        .headers()
        .get(actix_web::http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(|o| o.trim().trim_end_matches('/'))
    else {
        return false;
    };
    if !public_url.is_empty() && origin.eq_ignore_ascii_case(origin_of(public_url)) {
        return true;
    }
    let host = req
        .headers()
        .get(actix_web::http::header::HOST)
        .and_then(|v| v.to_str().ok());
    match (origin.split_once("://"), host) {
        (Some((_, authority)), Some(host)) => authority.eq_ignore_ascii_case(host),
        _ => false,
    }
}

impl FromRequest for StaffSession {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let from_bearer = bearer(req).map(String::from);
        let by_cookie = from_bearer.is_none();
        let token =
            from_bearer.or_else(|| req.cookie(SESSION_COOKIE).map(|c| c.value().to_string()));
        let state = state(req);
        let cross_site = by_cookie
            && token.is_some()
            && !req.method().is_safe()
            && !state
                .as_ref()
                .is_ok_and(|s| same_origin(req, &s.settings.public_url));
        Box::pin(async move {
            let state = state?;
            if cross_site {
                return Err(ApiError::Forbidden { code: "bad_origin" });
            }
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

/// Access to the operator's endpoints (`/metrics`, `/api/v1/openapi.json`): open in
/// development; in production only with `Authorization: Bearer <LOKET_METRICS_TOKEN>`. Without
/// it (or with no token configured) they answer 404, as if they were not there.
pub struct OpsAccess;

impl FromRequest for OpsAccess {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready((|| {
            let state = state(req)?;
            if state.settings.env != crate::config::Environment::Production {
                return Ok(OpsAccess);
            }
            let given = bearer(req).unwrap_or("").as_bytes();
            let allowed = state
                .settings
                .metrics_token
                .as_ref()
                .is_some_and(|t| constant_time_eq(t.expose().as_bytes(), given));
            if allowed {
                Ok(OpsAccess)
            } else {
                Err(ApiError::not_found("not_found"))
            }
        })())
    }
}

/// Compares without stopping at the first difference, so the time taken does not tell how
/// much of a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
