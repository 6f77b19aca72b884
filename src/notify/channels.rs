//! One trait for every way of reaching a citizen, and the adapters behind it: the WhatsApp
//! Business Cloud API, SMTP email and an HTTP SMS gateway. Each answers a
//! `domain::notify::SendResult`; what to do with it (retry, fail, fall back) is the domain's.

use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use crate::config::NotifySettings;
use crate::domain::messages::Rendered;
use crate::domain::notify::{Channel, Lang, SendResult};

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

/// The configured adapters; a channel without settings is `None` (its messages are `skipped`).
#[derive(Clone, Default)]
pub struct Channels {
    pub whatsapp: Option<Arc<dyn Sender>>,
    pub email: Option<Arc<dyn Sender>>,
    pub sms: Option<Arc<dyn Sender>>,
}

impl Channels {
    pub fn from_settings(s: &NotifySettings) -> anyhow::Result<Channels> {
        let timeout = Duration::from_millis(s.send_timeout_ms);
        let http = http_client(timeout)?;
        Ok(Channels {
            whatsapp: s.whatsapp.clone().map(|w| {
                Arc::new(super::whatsapp::WhatsApp::new(w, http.clone())) as Arc<dyn Sender>
            }),
            email: match &s.smtp {
                Some(m) => Some(Arc::new(super::email::Email::new(m, timeout)?) as Arc<dyn Sender>),
                None => None,
            },
            sms: s
                .sms
                .clone()
                .map(|c| Arc::new(super::sms::Sms::new(c, http.clone())) as Arc<dyn Sender>),
        })
    }

    pub fn get(&self, c: Channel) -> Option<&Arc<dyn Sender>> {
        match c {
            Channel::Whatsapp => self.whatsapp.as_ref(),
            Channel::Email => self.email.as_ref(),
            Channel::Sms => self.sms.as_ref(),
        }
    }
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
