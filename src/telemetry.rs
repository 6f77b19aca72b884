//! Structured logging. Request lines come from tracing-actix-web with a request id; the query
//! string of the signalling path is cut so tickets never reach a log.
//!
//! Levels: WARN and ERROR are for what an operator must look at (a 5xx, a database that went
//! away); a refused request (401 before sign-in, an invalid NIK, any 4xx) is routine and logged
//! at INFO with its status and error code, never its input. Colours only on a terminal.

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder};
use tracing_subscriber::EnvFilter;

/// Installs a JSON (or human, with `LOKET_LOG_FORMAT=pretty`) subscriber once per process.
pub fn init() {
    let filter = EnvFilter::try_from_env("LOKET_LOG")
        .unwrap_or_else(|_| EnvFilter::new(
            // webrtc-rs logs candidate addresses (citizens' IPs) at info: keep it to warnings.
            "info,actix_server=warn,tokio_postgres=warn,rtc=warn,webrtc=warn,turn=warn,webrtc_util=warn",
        ));
    let pretty = std::env::var("LOKET_LOG_FORMAT").as_deref() == Ok("pretty");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour())
        .with_writer(std::io::stderr);
    let _ = if pretty {
        builder.try_init()
    } else {
        builder.json().flatten_event(true).try_init()
    };
}

/// Colour codes only for a person at a terminal: a file, a pipe or a journal gets plain text.
fn colour() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Builds request spans that carry the method, the path without its query string, and a
/// request id — never query strings (tickets), headers (tokens) or bodies (personal data).
pub struct LoketRootSpan;

impl RootSpanBuilder for LoketRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = uuid::Uuid::new_v4();
        tracing::info_span!(
            "http",
            method = %request.method(),
            path = %request.path(),
            request_id = %request_id,
            status = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        if let Ok(resp) = outcome {
            span.record("status", resp.status().as_u16());
            let status = resp.status();
            if status.is_server_error() {
                tracing::warn!(parent: &span, status = status.as_u16(), "request failed");
            } else if status.is_client_error() {
                let code = resp
                    .response()
                    .error()
                    .and_then(|e| e.as_error::<crate::error::ApiError>())
                    .map_or("-", |e| e.code());
                tracing::info!(parent: &span, status = status.as_u16(), error = code, "request refused");
            }
        }
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}
