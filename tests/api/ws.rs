//! A signalling client for the tests: tickets over HTTP, a real WebSocket (tokio-tungstenite),
//! JSON messages in and out, helpers to wait for a given message type or the close frame, and
//! the shared set-up of a consultation (booked, joined, admitted).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

use crate::helpers::{Resp, TestApp, spawn_app_with};

/// How long a test waits for one expected message.
pub const WAIT: Duration = Duration::from_secs(10);

pub struct Ws {
    pub inner: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// What the server did with the connection attempt.
pub enum Connect {
    Open(Box<Ws>),
    Refused(u16),
}

impl TestApp {
    /// `POST /api/v1/rooms/ticket` with a citizen or staff Bearer token.
    pub async fn ticket(&self, token: &str, appointment: Option<&str>) -> Resp {
        let body = match appointment {
            Some(a) => json!({"appointment": a}),
            None => json!({}),
        };
        self.post_bearer("/api/v1/rooms/ticket", token, &body).await
    }

    /// A ticket's ws_url, asserting the ticket was granted.
    pub async fn ws_url(&self, token: &str, appointment: Option<&str>) -> String {
        let r = self.ticket(token, appointment).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["ws_url"].as_str().expect("ws_url").to_string()
    }

    pub fn ws_base(&self) -> String {
        format!("ws://127.0.0.1:{}/api/v1/rooms/ws", self.port)
    }

    /// Opens a socket with a fresh ticket.
    pub async fn join(&self, token: &str, appointment: Option<&str>) -> Ws {
        Ws::open(&self.ws_url(token, appointment).await).await
    }

    /// The appointment's status, waiting up to [`WAIT`] for it to become `want` (the room
    /// writes statuses in the background).
    pub async fn wait_status(&self, id: &str, want: &str) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let status = self
                .scalar(&format!(
                    "SELECT status FROM appointments WHERE id = '{id}'"
                ))
                .await;
            if status.as_deref() == Some(want) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "status stayed {status:?}, wanted {want}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The email of the clerk an appointment was booked with.
    pub async fn clerk_email(&self, appointment: &str) -> String {
        self.scalar(&format!(
            "SELECT s.email FROM staff s JOIN appointments a ON a.staff_id = s.id WHERE a.id = '{appointment}'"
        ))
        .await
        .expect("clerk email")
    }
}

impl Ws {
    pub async fn connect(url: &str) -> Connect {
        match connect_async(url).await {
            Ok((inner, _)) => Connect::Open(Box::new(Ws { inner })),
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
                Connect::Refused(resp.status().as_u16())
            }
            Err(e) => panic!("connecting {url}: {e}"),
        }
    }

    pub async fn open(url: &str) -> Ws {
        match Ws::connect(url).await {
            Connect::Open(ws) => *ws,
            Connect::Refused(s) => panic!("socket refused with {s}"),
        }
    }

    pub async fn send(&mut self, v: Value) {
        self.inner
            .send(Message::text(v.to_string()))
            .await
            .expect("send");
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.inner
            .send(Message::text(text.to_string()))
            .await
            .expect("send");
    }

    /// The next JSON message (pings are answered by tungstenite while reading).
    pub async fn recv(&mut self) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let next = tokio::time::timeout_at(deadline, self.inner.next())
                .await
                .expect("timed out waiting for a message");
            match next {
                Some(Ok(Message::Text(t))) => {
                    return serde_json::from_str(t.as_str()).expect("JSON from the server");
                }
                Some(Ok(Message::Close(frame))) => panic!("socket closed: {frame:?}"),
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("socket error: {e}"),
                None => panic!("socket ended"),
            }
        }
    }

    /// The next message, asserting its type.
    pub async fn expect(&mut self, kind: &str) -> Value {
        let m = self.recv().await;
        assert_eq!(m["type"], kind, "expected {kind}, got {m}");
        m
    }

    /// Skips messages until one of `kind` arrives.
    pub async fn until(&mut self, kind: &str) -> Value {
        loop {
            let m = self.recv().await;
            if m["type"] == kind {
                return m;
            }
        }
    }

    /// Reads until the server's close frame; returns (code, the `closed` reason seen before it).
    pub async fn closed(&mut self) -> (u16, Option<String>) {
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut reason = None;
        loop {
            let next = tokio::time::timeout_at(deadline, self.inner.next())
                .await
                .expect("timed out waiting for the close");
            match next {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(t.as_str()).expect("JSON");
                    if v["type"] == "closed" {
                        reason = v["reason"].as_str().map(String::from);
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    return (frame.map(|f| u16::from(f.code)).unwrap_or(1005), reason);
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return (1006, reason),
            }
        }
    }
}

/// The harness books at least three days ahead (120 min notice, the next working day), while a
/// room opens 15 minutes before its start. Opening rooms a month early makes any booked slot
/// joinable now without touching the clock.
pub const A_MONTH_EARLY: i64 = 60 * 24 * 31;

pub async fn open_app() -> TestApp {
    spawn_app_with(|s| s.join_opens_minutes = A_MONTH_EARLY).await
}

/// A booked `pbg` appointment: (citizen token, appointment id, clerk's staff token).
pub async fn booking(app: &TestApp, phone: &str) -> (String, String, String) {
    let (token, body) = app.book_first("pbg", phone).await;
    let id = body["appointment"]["id"].as_str().expect("id").to_string();
    let clerk = app.login(&app.clerk_email(&id).await).await;
    (token, id, clerk)
}

/// A consultation in progress: the citizen waited, the clerk joined and admitted them.
pub struct Call {
    pub citizen: Ws,
    pub clerk: Ws,
    pub id: String,
    pub token: String,
    pub citizen_p: Value,
    pub clerk_p: Value,
}

pub async fn in_call(app: &TestApp, phone: &str) -> Call {
    let (token, id, clerk_token) = booking(app, phone).await;
    let mut citizen = app.join(&token, None).await;
    let welcome = citizen.expect("welcome").await;
    citizen.expect("waiting").await;
    let mut clerk = app.join(&clerk_token, Some(&id)).await;
    let clerk_welcome = clerk.expect("welcome").await;
    clerk
        .send(json!({"type": "admit", "participant": welcome["you"]["id"]}))
        .await;
    citizen.expect("admitted").await;
    citizen.expect("peer_joined").await;
    clerk.expect("peer_joined").await;
    Call {
        citizen,
        clerk,
        id,
        token,
        citizen_p: welcome["you"].clone(),
        clerk_p: clerk_welcome["you"].clone(),
    }
}
