//! Outside services for the notification tests, run by the tests themselves: an HTTP server
//! speaking the WhatsApp Business Cloud API (and sending signed status webhooks back, as Meta
//! does), an SMS gateway the same way, and a real SMTP server (mailin-embedded). Shared by the
//! API tests (tests/api/notify.rs) and the browser tests.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use loket::config::{Secret, Settings, SmsSettings, SmtpSettings, WhatsappSettings};
use loket::domain::notify::{QuietHours, RetryPolicy};
use serde_json::{Value, json};

pub const APP_SECRET: &str = "whatsapp-app-secret-for-tests";
pub const VERIFY_TOKEN: &str = "verify-token-for-tests";
pub const PHONE_ID: &str = "109876543210";

/// What the fake providers received and how they answer.
#[derive(Default)]
pub struct ProviderState {
    /// WhatsApp request bodies, in order.
    whatsapp: Vec<Value>,
    /// Authorization headers seen by the WhatsApp endpoint.
    pub auth: Vec<String>,
    /// SMS request bodies and their idempotency keys, after de-duplication by key.
    sms: Vec<Value>,
    sms_keys: HashSet<String>,
    /// SMS requests including repeats of a key.
    sms_requests: usize,
    /// The next WhatsApp answers (status, body); empty: 200 with a new wamid.
    replies: VecDeque<(u16, Value)>,
    /// How long the WhatsApp endpoint holds each request before answering.
    hold: Duration,
    /// Where to send status webhooks, and which statuses, after how long.
    webhook: Option<String>,
    statuses: Vec<&'static str>,
    webhook_delay: Duration,
    next_id: u64,
}

/// A fake WhatsApp Cloud API and SMS gateway on a local port.
#[derive(Clone)]
pub struct Provider {
    state: Arc<Mutex<ProviderState>>,
    pub base: String,
}

impl Provider {
    pub async fn start() -> Provider {
        let state: Arc<Mutex<ProviderState>> = Default::default();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind provider");
        let port = listener.local_addr().expect("addr").port();
        let provider = Provider {
            state,
            base: format!("http://127.0.0.1:{port}"),
        };
        let data = web::Data::new(provider.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/v21.0/{phone}/messages", web::post().to(whatsapp))
                .route("/sms", web::post().to(sms))
        })
        .workers(1)
        .listen(listener)
        .expect("listen")
        .run();
        tokio::spawn(server);
        provider
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut ProviderState) -> T) -> T {
        f(&mut self.state.lock().expect("provider state"))
    }

    pub fn whatsapp(&self) -> Vec<Value> {
        self.with(|s| s.whatsapp.clone())
    }

    pub fn sms(&self) -> Vec<Value> {
        self.with(|s| s.sms.clone())
    }

    pub fn reply_next(&self, status: u16, body: Value) {
        self.with(|s| s.replies.push_back((status, body)));
    }

    /// Sends these statuses for every accepted message to `loket` (retrying until it answers).
    pub fn report_to(&self, loket: &str, statuses: &[&'static str], delay: Duration) {
        self.with(|s| {
            s.webhook = Some(format!("{loket}/api/v1/webhooks/whatsapp"));
            s.statuses = statuses.to_vec();
            s.webhook_delay = delay;
        });
    }

    pub fn set_hold(&self, hold: Duration) {
        self.with(|s| s.hold = hold);
    }

    /// Waits until `pred` holds for what WhatsApp received (30 s at most).
    pub async fn until_whatsapp(&self, what: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        until(what, || {
            let got = self.whatsapp();
            pred(&got).then_some(got)
        })
        .await
    }

    pub async fn until_sms(&self, what: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        until(what, || {
            let got = self.sms();
            pred(&got).then_some(got)
        })
        .await
    }
}

/// Polls `f` every 50 ms until it answers, for at most 30 s.
pub async fn until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn whatsapp(
    req: HttpRequest,
    p: web::Data<Provider>,
    path: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    assert_eq!(path.as_str(), PHONE_ID);
    let auth = req
        .headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let (hold, reply, wamid, hook) = p.with(|s| {
        s.whatsapp.push(body.0.clone());
        s.auth.push(auth);
        s.next_id += 1;
        let reply = s.replies.pop_front();
        let hook = s
            .webhook
            .clone()
            .map(|url| (url, s.statuses.clone(), s.webhook_delay));
        (s.hold, reply, format!("wamid.TEST{}", s.next_id), hook)
    });
    if let Some((status, body)) = reply {
        tokio::time::sleep(hold).await;
        return HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
            .json(body);
    }
    // Accepted: the statuses follow by webhook, as WhatsApp sends them, whatever happens to
    // this answer (the kill -9 test kills Loket while it waits for it).
    if let Some((url, statuses, delay)) = hook {
        let opaque = body.0["biz_opaque_callback_data"]
            .as_str()
            .map(String::from);
        let to = body.0["to"].as_str().unwrap_or("").to_string();
        let id = wamid.clone();
        let p2 = p.get_ref().clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            for st in statuses {
                send_status(&p2, &url, &id, st, opaque.as_deref(), &to).await;
            }
        });
    }
    tokio::time::sleep(hold).await;
    HttpResponse::Ok().json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{"input": body.0["to"], "wa_id": body.0["to"]}],
        "messages": [{"id": wamid}],
    }))
}

/// One signed status notification, as WhatsApp sends it, retried until Loket takes it (the
/// address is read again on each try: a restarted Loket listens elsewhere).
async fn send_status(
    p: &Provider,
    first_url: &str,
    wamid: &str,
    status: &str,
    opaque: Option<&str>,
    to: &str,
) {
    let body = status_body(wamid, status, opaque, to);
    let bytes = serde_json::to_vec(&body).unwrap();
    let sig = loket::notify::whatsapp::sign(APP_SECRET, &bytes);
    let client = reqwest::Client::new();
    for _ in 0..240 {
        let url = p
            .with(|s| s.webhook.clone())
            .unwrap_or(first_url.to_string());
        let r = client
            .post(&url)
            .header("X-Hub-Signature-256", &sig)
            .header("Content-Type", "application/json")
            .body(bytes.clone())
            .send()
            .await;
        if r.is_ok_and(|r| r.status() == 200) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

pub fn status_body(wamid: &str, status: &str, opaque: Option<&str>, to: &str) -> Value {
    let mut st = json!({
        "id": wamid,
        "status": status,
        "timestamp": chrono::Utc::now().timestamp().to_string(),
        "recipient_id": to,
    });
    if let Some(o) = opaque {
        st["biz_opaque_callback_data"] = json!(o);
    }
    if status == "failed" {
        st["errors"] = json!([{"code": 131047, "title": "Re-engagement message"}]);
    }
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA-ID", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "6281100000000", "phone_number_id": PHONE_ID},
            "statuses": [st],
        }}]}],
    })
}

async fn sms(req: HttpRequest, p: web::Data<Provider>, body: web::Json<Value>) -> HttpResponse {
    let key = req
        .headers()
        .get("Idempotency-Key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let auth_ok = req
        .headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        == Some("Bearer sms-token");
    if !auth_ok {
        return HttpResponse::Unauthorized().finish();
    }
    let id = p.with(|s| {
        s.sms_requests += 1;
        if s.sms_keys.insert(key.clone()) {
            s.sms.push(body.0.clone());
        }
        s.sms_keys.len()
    });
    HttpResponse::Accepted().json(json!({"id": format!("sms-{id}")}))
}

/// A real SMTP server in this process: every message it accepts, as raw text.
#[derive(Clone, Default)]
pub struct Mailbox {
    mails: Arc<Mutex<Vec<String>>>,
    current: Vec<u8>,
}

impl mailin_embedded::Handler for Mailbox {
    fn data_start(&mut self, _: &str, _: &str, _: bool, _: &[String]) -> mailin_embedded::Response {
        self.current.clear();
        mailin_embedded::response::OK
    }
    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.extend_from_slice(buf);
        Ok(())
    }
    fn data_end(&mut self) -> mailin_embedded::Response {
        let text = String::from_utf8_lossy(&self.current).into_owned();
        self.mails.lock().expect("mails").push(text);
        mailin_embedded::response::OK
    }
}

impl Mailbox {
    /// Starts the server; answers the mailbox and its `smtp://` URL.
    pub fn start() -> (Mailbox, String) {
        let mailbox = Mailbox::default();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind smtp");
        let port = listener.local_addr().expect("addr").port();
        let mut server = mailin_embedded::Server::new(mailbox.clone());
        server
            .with_name("smtp.test")
            .with_num_threads(2)
            .with_tcp_listener(listener);
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        (mailbox, format!("smtp://127.0.0.1:{port}"))
    }

    pub fn mails(&self) -> Vec<String> {
        self.mails.lock().expect("mails").clone()
    }
}

/// A mail's text with its base64 and quoted-printable parts decoded, for searching.
pub fn readable(mail: &str) -> String {
    use base64::Engine;
    let mut out = String::new();
    let mut block = String::new();
    let flush = |block: &mut String, out: &mut String| {
        if block.len() >= 16
            && let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(block.as_bytes())
        {
            out.push_str(&String::from_utf8_lossy(&bytes));
            out.push('\n');
        }
        block.clear();
    };
    for line in mail.lines() {
        let l = line.trim_end();
        if !l.is_empty()
            && l.len() % 4 == 0
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
        {
            block.push_str(l);
        } else {
            flush(&mut block, &mut out);
        }
    }
    flush(&mut block, &mut out);
    let qp = mail
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    format!("{qp}\n{out}")
}

/// Test settings for the outbox: providers at `p`, quick polls and retries, no quiet hours (the
/// tests run at any hour of the WIB day).
pub fn with_providers(s: &mut Settings, p: &Provider, smtp: Option<&str>) {
    s.notify.whatsapp = Some(WhatsappSettings {
        api_url: format!("{}/v21.0", p.base),
        phone_number_id: PHONE_ID.into(),
        token: Secret::new("wa-token"),
    });
    s.notify.whatsapp_app_secret = Some(Secret::new(APP_SECRET));
    s.notify.whatsapp_verify_token = Some(Secret::new(VERIFY_TOKEN));
    s.notify.sms = Some(SmsSettings {
        url: format!("{}/sms", p.base),
        token: Secret::new("sms-token"),
    });
    s.notify.smtp = smtp.map(|url| SmtpSettings {
        url: Secret::new(url),
        from: "Loket <loket@mpp.test>".into(),
    });
    quick(s);
}

pub fn quick(s: &mut Settings) {
    s.notify.quiet_hours = QuietHours::parse("off").unwrap();
    s.notify.poll_ms = 100;
    s.notify.send_timeout_ms = 5_000;
    s.notify.lease_ms = 10_000;
    s.notify.retry = RetryPolicy {
        base: chrono::Duration::milliseconds(200),
        cap: chrono::Duration::seconds(1),
        max_attempts: 4,
    };
}
