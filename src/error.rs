//! The one error type every handler returns. Its body is always
//! `{"error": "snake_code", "message": "...", "fields": {...}}`; a 500 says nothing internal
//! and logs the cause instead.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

pub use crate::domain::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("invalid input")]
    Validation { fields: FieldErrors },
    #[error("{code}")]
    Unprocessable { code: &'static str, message: String },
    #[error("not authenticated")]
    Unauthorized { code: &'static str },
    #[error("forbidden")]
    Forbidden { code: &'static str },
    #[error("not found")]
    NotFound { code: &'static str },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// A wrong confirmation code, counted: 422 `invalid_code` with `tries_left`.
    #[error("wrong code")]
    WrongCode { tries_left: i32 },
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("service unavailable")]
    Unavailable { code: &'static str },
    /// The request body did not arrive in time (`LOKET_BODY_TIMEOUT_SECS`).
    #[error("the request body took too long")]
    BodyTimeout,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable snake_case code the client can translate.
    pub error: String,
    pub message: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: FieldErrors,
    /// With `invalid_code` for a held booking: wrong codes still allowed before it is released.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tries_left: Option<i32>,
}

impl ApiError {
    pub fn validation(fields: FieldErrors) -> Self {
        ApiError::Validation { fields }
    }
    pub fn field(name: &str, problem: &str) -> Self {
        let mut fields = FieldErrors::new();
        fields.insert(name.to_string(), problem.to_string());
        ApiError::Validation { fields }
    }
    pub fn not_found(code: &'static str) -> Self {
        ApiError::NotFound { code }
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Conflict {
            code,
            message: message.into(),
        }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Unprocessable {
            code,
            message: message.into(),
        }
    }

    /// The `error` code of the body.
    pub fn code(&self) -> &str {
        match self {
            ApiError::BadRequest { code, .. }
            | ApiError::Unprocessable { code, .. }
            | ApiError::Unauthorized { code }
            | ApiError::Forbidden { code }
            | ApiError::NotFound { code }
            | ApiError::Conflict { code, .. }
            | ApiError::Unavailable { code } => code,
            ApiError::Validation { .. } => "validation_failed",
            ApiError::WrongCode { .. } => "invalid_code",
            ApiError::TooManyRequests { .. } => "rate_limited",
            ApiError::BodyTimeout => "body_timeout",
            ApiError::Internal(_) => "internal",
        }
    }

    fn message(&self) -> String {
        match self {
            ApiError::BadRequest { message, .. }
            | ApiError::Unprocessable { message, .. }
            | ApiError::Conflict { message, .. } => message.clone(),
            ApiError::Validation { .. } => "Some fields are invalid.".into(),
            ApiError::WrongCode { tries_left } => {
                format!("That code does not match. {tries_left} tries left.")
            }
            ApiError::Unauthorized { .. } => "Authentication is required or has expired.".into(),
            ApiError::Forbidden { .. } => "You may not do this.".into(),
            ApiError::NotFound { .. } => "Not found.".into(),
            ApiError::TooManyRequests { .. } => "Too many requests; try again later.".into(),
            ApiError::Unavailable { .. } => "The service is busy; try again shortly.".into(),
            ApiError::BodyTimeout => "The request body took too long to arrive.".into(),
            ApiError::Internal(_) => "Something went wrong on our side.".into(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Validation { .. }
            | ApiError::Unprocessable { .. }
            | ApiError::WrongCode { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            // The chain goes to the log, never to the client.
            tracing::error!(error = ?cause, "internal error");
        }
        let body = ErrorBody {
            error: self.code().to_string(),
            message: self.message(),
            fields: match self {
                ApiError::Validation { fields } => fields.clone(),
                _ => FieldErrors::new(),
            },
            tries_left: match self {
                ApiError::WrongCode { tries_left } => Some(*tries_left),
                _ => None,
            },
        };
        let mut resp = HttpResponse::build(self.status_code());
        if let ApiError::BodyTimeout = self {
            // The rest of the body may still be trickling in: do not wait for it.
            resp.force_close();
        }
        if let ApiError::TooManyRequests { retry_after_secs } = self
            && let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            resp.insert_header((header::RETRY_AFTER, v));
        }
        resp.json(body)
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match &e {
            Error::NotFound => ApiError::not_found("not_found"),
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                ApiError::Unavailable { code: "busy" }
            }
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            ) => ApiError::Unavailable {
                code: "database_unavailable",
            },
            Error::DatabaseError(_, info) if crate::db::is_server_going_away(info.message()) => {
                tracing::warn!(error = %info.message(), "the database went away mid-request");
                ApiError::Unavailable {
                    code: "database_unavailable",
                }
            }
            _ => ApiError::Internal(anyhow::Error::new(e).context("database query")),
        }
    }
}

impl From<crate::fault::Fault> for ApiError {
    fn from(f: crate::fault::Fault) -> Self {
        use crate::fault::Fault;
        match f {
            Fault::Db(e) => e.into(),
            Fault::Pool(e) => e.into(),
            Fault::Internal(e) => ApiError::Internal(e),
        }
    }
}

impl From<crate::db::PoolError> for ApiError {
    fn from(e: crate::db::PoolError) -> Self {
        tracing::warn!(error = %e, "database pool unavailable");
        ApiError::Unavailable {
            code: "database_unavailable",
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
