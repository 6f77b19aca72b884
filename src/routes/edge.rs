//! What every request passes on its way in and every answer on its way out, before and after
//! the routes: a URL with a NUL (`%00`) is refused at once (no route could store or look one
//! up: Postgres refuses NUL in text, which used to surface as a 500), and every `/api` answer
//! that did not say otherwise is `Cache-Control: no-store` — most carry a token or personal
//! data (a booking, a session, the current appointment, its calendar file, a staff list), and
//! none is worth a shared cache keeping. In production every answer also carries HSTS.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;

use crate::config::Environment;
use crate::error::ApiError;
use crate::state::AppState;

/// One year, subdomains included: Loket's host serves nothing over plain HTTP in production.
pub const HSTS: &str = "max-age=31536000; includeSubDomains";

pub async fn edge(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if url_has_nul(req.uri()) {
        let refused = ApiError::bad_request(
            "invalid_characters",
            "The address contains a NUL character (%00), which is not accepted.",
        );
        return Ok(req.error_response(refused).map_into_right_body());
    }
    let api = req.path().starts_with("/api/");
    let production = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.settings.env == Environment::Production);
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    if api && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if production {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    Ok(res.map_into_left_body())
}

/// Whether the path or the query carries a NUL, percent-encoded or not.
pub fn url_has_nul(uri: &actix_web::http::Uri) -> bool {
    let has = |s: &str| s.contains('\0') || s.as_bytes().windows(3).any(|w| w == b"%00");
    has(uri.path()) || uri.query().is_some_and(has)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_anywhere_in_path_or_query_is_found() {
        let uri = |s: &str| s.parse::<actix_web::http::Uri>().unwrap();
        assert!(url_has_nul(&uri("/api/v1/services/x%00")));
        assert!(url_has_nul(&uri("/api/v1/services?q=a%00b")));
        assert!(!url_has_nul(&uri("/api/v1/services?q=100%25")));
        assert!(
            !url_has_nul(&uri("/api/v1/services/x%2500")),
            "an encoded percent, then 00"
        );
        assert!(!url_has_nul(&uri("/api/v1/services?days=100")));
    }
}
