//! The web pages (static files under `web/`, no build step) and the security headers every
//! response carries: a strict Content-Security-Policy with no inline script or style, whose
//! `connect-src` allows only Loket's own origin and its signalling socket (`wss://` the same
//! host; `ws://` when it runs on plain http in development).

use actix_files::{Files, NamedFile};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpRequest, Result, web};

use crate::state::AppState;

/// The policy for a Loket reached at `public_url` (scheme, host and port, no path).
pub fn csp(public_url: &str) -> String {
    // Host and port only: a CSP source with a path matches that path alone.
    let host = |rest: &str| rest.split('/').next().unwrap_or("").to_string();
    let socket = match public_url.split_once("://") {
        Some(("https", rest)) => format!(" wss://{}", host(rest)),
        Some(("http", rest)) => format!(" ws://{}", host(rest)),
        _ => String::new(),
    };
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; \
         img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'{socket}; \
         font-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; \
         form-action 'self'"
    )
}

pub fn security_headers(public_url: &str) -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, csp(public_url)))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static(
                "camera=(self), microphone=(self), display-capture=(self), geolocation=()",
            ),
        ))
        .add((
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ))
}

async fn page(req: HttpRequest, state: web::Data<AppState>) -> Result<NamedFile> {
    let name = match req.path() {
        "/" => "index.html",
        "/manage" => "manage.html",
        "/join" => "join.html",
        _ => "staff.html",
    };
    let path = state.settings.web_dir.join(name);
    let file = web::block(move || NamedFile::open(path)).await??;
    Ok(file.use_last_modified(true))
}

pub fn configure(cfg: &mut web::ServiceConfig, dir: &std::path::Path) {
    cfg.route("/", web::get().to(page))
        .route("/manage", web::get().to(page))
        .route("/join", web::get().to(page))
        .route("/staff", web::get().to(page));
    for sub in ["css", "js", "i18n", "img"] {
        cfg.service(
            Files::new(&format!("/{sub}"), dir.join(sub))
                .use_last_modified(true)
                .default_handler(web::to(not_found)),
        );
    }
}

async fn not_found() -> actix_web::HttpResponse {
    actix_web::HttpResponse::NotFound()
        .content_type("text/plain")
        .body("not found")
}
