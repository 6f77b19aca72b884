//! The WhatsApp Business Cloud API (DESIGN §9): a template message to
//! `POST {api}/{phone_number_id}/messages`, and the status webhook's signature.
//!
//! The Cloud API has no idempotency key. Each message carries its outbox id as
//! `biz_opaque_callback_data`, which WhatsApp echoes in every status report, so a report still
//! finds its message when Loket died before it could store the `wamid` (see `worker` for how
//! that keeps a crash from sending twice).

use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;

use super::sender::{Outgoing, Sender, answer, http_result};
use crate::config::WhatsappSettings;
use crate::domain::notify::SendResult;

/// Cloud API error codes meaning "this number cannot get WhatsApp messages".
const NOT_ON_WHATSAPP: [i64; 2] = [131026, 131030];
/// Cloud API error codes meaning "too many, slow down" (sent with a 400 status).
const THROTTLED: [i64; 5] = [4, 80007, 130429, 131048, 131056];

pub struct WhatsApp {
    settings: WhatsappSettings,
    http: reqwest::Client,
}

impl WhatsApp {
    pub fn new(settings: WhatsappSettings, http: reqwest::Client) -> WhatsApp {
        WhatsApp { settings, http }
    }
}

#[derive(Deserialize)]
struct Accepted {
    messages: Vec<MessageId>,
}

#[derive(Deserialize)]
struct MessageId {
    id: String,
}

#[derive(Deserialize)]
struct GraphError {
    error: GraphErrorBody,
}

#[derive(Deserialize)]
struct GraphErrorBody {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    message: String,
}

/// The request body for a template message.
pub fn body(m: &Outgoing<'_>) -> serde_json::Value {
    let parameters: Vec<serde_json::Value> = m
        .rendered
        .params
        .iter()
        .map(|p| json!({"type": "text", "text": p}))
        .collect();
    json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": m.to.trim_start_matches('+'),
        "type": "template",
        "biz_opaque_callback_data": m.id.to_string(),
        "template": {
            "name": m.rendered.template,
            "language": {"code": m.lang.as_str()},
            "components": [{"type": "body", "parameters": parameters}],
        },
    })
}

#[async_trait::async_trait]
impl Sender for WhatsApp {
    async fn send(&self, m: &Outgoing<'_>) -> SendResult {
        let url = format!(
            "{}/{}/messages",
            self.settings.api_url, self.settings.phone_number_id
        );
        let req = self
            .http
            .post(url)
            .bearer_auth(self.settings.token.expose())
            .json(&body(m));
        let (status, text) = match answer(req).await {
            Ok(a) => a,
            Err(r) => return r,
        };
        if status.is_success() {
            let id = serde_json::from_str::<Accepted>(&text)
                .ok()
                .and_then(|a| a.messages.into_iter().next())
                .map(|m| m.id);
            return SendResult::Accepted { provider_id: id };
        }
        match serde_json::from_str::<GraphError>(&text) {
            Ok(e) if NOT_ON_WHATSAPP.contains(&e.error.code) => {
                SendResult::NotOnWhatsapp(format!("{}: {}", e.error.code, e.error.message))
            }
            Ok(e) if THROTTLED.contains(&e.error.code) => {
                SendResult::Transient(format!("{}: {}", e.error.code, e.error.message))
            }
            Ok(e) => http_result(
                status,
                format!("{}: {}", e.error.code, e.error.message),
                None,
            ),
            Err(_) => http_result(status, text, None),
        }
    }
}

/// Whether `header` (`sha256=<hex>`) is the HMAC-SHA256 of `body` under `app_secret`, compared
/// in constant time.
pub fn signature_ok(app_secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(hex) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Some(given) = decode_hex(hex) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// `sha256=<hex>` for a body: what WhatsApp sends (and the tests' stub signs with).
pub fn sign(app_secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_checked_exactly() {
        let body = br#"{"entry":[]}"#;
        let good = sign("app-secret", body);
        assert!(signature_ok("app-secret", body, Some(&good)));
        assert!(!signature_ok("other", body, Some(&good)));
        assert!(!signature_ok("app-secret", b"{}", Some(&good)));
        assert!(!signature_ok("app-secret", body, None));
        assert!(!signature_ok("app-secret", body, Some("sha256=zz")));
        assert!(!signature_ok(
            "app-secret",
            body,
            Some(good.trim_start_matches("sha256="))
        ));
    }
}
