//! SMS through a generic HTTP gateway: `POST {LOKET_SMS_URL}` with
//! `Authorization: Bearer {LOKET_SMS_TOKEN}`, `Idempotency-Key: <outbox id>` and JSON
//! `{"to": "+62…", "text": "…", "reference": "<outbox id>"}`; a 2xx accepts (an `id` in the
//! answer is kept as the provider's id). The gateway is expected to honour the idempotency key
//! (most do; docs/notifications.md says what happens when one does not).

use serde::Deserialize;
use serde_json::json;

use super::sender::{Outgoing, Sender, answer, http_result};
use crate::config::SmsSettings;
use crate::domain::notify::SendResult;

pub struct Sms {
    settings: SmsSettings,
    http: reqwest::Client,
}

impl Sms {
    pub fn new(settings: SmsSettings, http: reqwest::Client) -> Sms {
        Sms { settings, http }
    }
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    id: Option<serde_json::Value>,
}

#[async_trait::async_trait]
impl Sender for Sms {
    async fn send(&self, m: &Outgoing<'_>) -> SendResult {
        let req = self
            .http
            .post(&self.settings.url)
            .bearer_auth(self.settings.token.expose())
            .header("Idempotency-Key", m.id.to_string())
            .json(&json!({"to": m.to, "text": m.rendered.text, "reference": m.id}));
        let (status, text) = match answer(req).await {
            Ok(a) => a,
            Err(r) => return r,
        };
        let id = serde_json::from_str::<Answer>(&text)
            .ok()
            .and_then(|a| a.id)
            .map(|v| match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            });
        http_result(status, text, id)
    }
}
