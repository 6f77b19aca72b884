//! The one trait every channel adapter implements (WhatsApp, email, SMS), the message on its
//! way out, and what the HTTP adapters share: the client (rustls with ring) and how an HTTP
//! answer becomes a `domain::notify::SendResult` (what to do with it — retry, fail, fall back —
//! is the domain's).

use std::time::Duration;

use uuid::Uuid;

use crate::domain::messages::Rendered;
use crate::domain::notify::{Lang, SendResult};

/// One message on its way out.
pub struct Outgoing<'a> {
    /// The outbox row's id: the idempotency key and reference every provider gets.
    pub id: Uuid,
    /// E.164 phone (`+62…`) or an email address.
    pub to: &'a str,
    pub lang: Lang,
    pub rendered: &'a Rendered,
    /// A calendar file to attach (email only).
    pub ics: Option<&'a str>,
}

#[async_trait::async_trait]
pub trait Sender: Send + Sync {
    async fn send(&self, m: &Outgoing<'_>) -> SendResult;
}

/// rustls with ring as the process's TLS provider (once; later calls find it installed).
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The HTTP client the HTTP providers share: rustls (ring), time limits, no redirects.
pub fn http_client(timeout: Duration) -> anyhow::Result<reqwest::Client> {
    install_tls_provider();
    Ok(reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("Loket")
        .build()?)
}

/// A provider's HTTP answer as a send result: 2xx accepted, 408/429/5xx worth retrying, any
/// other 4xx permanent. `detail` is the provider's error text, kept short.
pub fn http_result(
    status: reqwest::StatusCode,
    detail: String,
    provider_id: Option<String>,
) -> SendResult {
    let detail: String = detail.chars().take(300).collect();
    if status.is_success() {
        SendResult::Accepted { provider_id }
    } else if status.is_server_error()
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
        || status == reqwest::StatusCode::REQUEST_TIMEOUT
    {
        SendResult::Transient(format!("{status}: {detail}"))
    } else {
        SendResult::Permanent(format!("{status}: {detail}"))
    }
}

/// Sends a request: its status and body, or (no HTTP answer) the send result to record.
pub async fn answer(
    req: reqwest::RequestBuilder,
) -> Result<(reqwest::StatusCode, String), SendResult> {
    let res = req.send().await.map_err(|e| transport_error(&e))?;
    let status = res.status();
    Ok((status, res.text().await.unwrap_or_default()))
}

/// A request that got no HTTP answer: a timeout or a connection problem, worth retrying.
pub fn transport_error(e: &reqwest::Error) -> SendResult {
    let what = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    SendResult::Transient(what.to_string())
}
