//! The pre-call check end to end: a webrtc-rs client stands in for the citizen's browser, Loket's
//! server-side peer echoes and measures, and the verdict lands on the appointment.

use std::time::Duration;

use loket::precheck::client::{Client, ClientOptions};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with};

/// Short checks for tests: connect within 5 s, measure 3 s.
/// Shorter checks than the default (10 s to connect, 12 s of measuring): the measuring is what
/// takes time; the connect window stays at 10 s, a bound it must meet at all, not a speed.
pub fn quick(s: &mut loket::config::Settings) {
    s.precheck.connect_secs = 10;
    s.precheck.measure_secs = 3;
    s.precheck.idle_secs = 2;
}

/// A booking's citizen token, its appointment id and its code.
pub async fn booking(app: &TestApp, phone: &str) -> (String, String, String) {
    let (slug, _) = app.single_clerk_service().await;
    let (token, body) = app.book_first(&slug, phone).await;
    (
        token,
        body["appointment"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        body["appointment"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

pub async fn start_check(app: &TestApp, token: &str, client: &Client) -> (Value, String) {
    let offer = client.offer().await.expect("offer");
    let r = app
        .post_bearer(
            "/api/v1/precheck/offer",
            token,
            &json!({"type": "offer", "sdp": offer}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let answer = r.body["answer"]["sdp"]
        .as_str()
        .expect("answer sdp")
        .to_string();
    assert_eq!(r.body["answer"]["type"], "answer");
    (r.body.clone(), answer)
}

/// Polls `GET /precheck/{id}` until the check has finished.
pub async fn wait_result(app: &TestApp, token: &str, id: &str) -> Value {
    for _ in 0..200 {
        let r = app
            .get_bearer(&format!("/api/v1/precheck/{id}"), token)
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        if r.body["state"] == "finished" {
            return r.body;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the check did not finish within 40 s");
}

/// Waits until no check holds sockets any more.
pub async fn wait_no_live_checks(app: &TestApp) {
    for _ in 0..100 {
        if app.state.precheck.live() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{} checks still live", app.state.precheck.live());
}

/// The UDP ports in an SDP's candidates.
fn candidate_ports(sdp: &str) -> Vec<u16> {
    sdp.lines()
        .filter(|l| l.starts_with("a=candidate:") && l.to_ascii_lowercase().contains(" udp "))
        .filter_map(|l| l.split(' ').nth(5)?.parse().ok())
        .collect()
}

#[tokio::test]
async fn a_check_echoes_media_measures_the_path_and_stores_a_good_verdict() {
    let app = spawn_app_with(quick).await;
    let (token, appointment, code) = booking(&app, "081234560001").await;
    let client = Client::new(ClientOptions::default()).await.expect("client");
    let (started, answer) = start_check(&app, &token, &client).await;
    let id = started["id"].as_str().expect("id").to_string();
    assert!(started["max_seconds"].as_u64().unwrap_or(99) <= 30);
    client.accept(&answer).await.expect("answer");
    assert!(
        client.wait_connected(Duration::from_secs(10)).await,
        "connected"
    );
    let sent = client.send_media(Duration::from_secs(4), 500).await;
    assert!(sent > 500, "sent {sent}");

    // The result comes on the data channel and from the API, and they agree.
    let pushed = client
        .next_message(Duration::from_secs(10))
        .await
        .expect("result on the data channel");
    let pushed: Value = serde_json::from_str(&pushed).expect("json");
    let body = wait_result(&app, &token, &id).await;
    assert_eq!(pushed["id"], body["id"]);
    assert_eq!(body["verdict"], "good", "{body:#}");
    assert_eq!(body["reasons"], json!([]));
    let m = &body["measurements"];
    assert_eq!(m["connected"], true);
    assert_eq!(m["path"]["local"]["type"], "host");
    assert_eq!(m["path"]["local"]["protocol"], "udp");
    assert_eq!(m["path"]["remote"]["type"], "host");
    assert!(m["rtt_ms"].as_f64().is_some_and(|r| r >= 0.0), "{m}");
    assert!(
        m["audio"]["packets_received"].as_u64().unwrap_or(0) > 50,
        "{m}"
    );
    assert!(
        m["video"]["packets_received"].as_u64().unwrap_or(0) > 50,
        "{m}"
    );
    let kbps = m["video"]["bitrate_kbps"].as_f64().unwrap_or(0.0);
    assert!((300.0..700.0).contains(&kbps), "video {kbps} kbit/s");
    assert!(
        m["video"]["loss_pct"].as_f64().unwrap_or(100.0) < 1.0,
        "{m}"
    );
    assert!(m["audio"]["jitter_ms"].as_f64().is_some(), "{m}");
    let (echo_a, echo_v) = client.echoed();
    assert!(echo_a > 50 && echo_v > 50, "echoed {echo_a}/{echo_v}");
    client.close().await;

    // Stored on the appointment; the clerk's timeline shows it.
    let stored = app
        .scalar(&format!(
            "SELECT verdict FROM prechecks WHERE appointment_id = '{appointment}'"
        ))
        .await;
    assert_eq!(stored.as_deref(), Some("good"));
    let clerk = app.login(&app.clerk_of(&code).await).await;
    let day = body_date(&app, &token).await;
    let list = app
        .get_bearer(
            &format!("/api/v1/staff/appointments?from={day}&to={day}"),
            &clerk,
        )
        .await;
    assert_eq!(list.status, 200, "{}", list.text);
    let row = list.body.as_array().and_then(|rows| {
        rows.iter()
            .find(|r| r["id"] == appointment.as_str())
            .cloned()
    });
    let row = row.expect("the appointment in the clerk's list");
    assert_eq!(row["precheck"]["verdict"], "good", "{row:#}");
    assert_eq!(row["precheck"]["path"]["remote"]["type"], "host");

    // After the end nothing is left: no live check, and the peer's UDP ports are free again.
    wait_no_live_checks(&app).await;
    for port in candidate_ports(&answer) {
        std::net::UdpSocket::bind(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("port {port} still taken after the check: {e}"));
    }
}

/// The appointment's local date (for the clerk's list query).
async fn body_date(app: &TestApp, token: &str) -> String {
    let r = app.get_bearer("/api/v1/appointments/current", token).await;
    let starts = r.body["starts_at"].as_str().unwrap_or_default().to_string();
    let t = chrono::DateTime::parse_from_rfc3339(&starts).expect("starts_at");
    t.with_timezone(&chrono_tz::Asia::Jakarta)
        .date_naive()
        .to_string()
}

#[tokio::test]
async fn a_check_that_never_connects_says_will_not_connect() {
    let app = spawn_app_with(|s| {
        quick(s);
        s.precheck.connect_secs = 2;
    })
    .await;
    let (token, _, _) = booking(&app, "081234560002").await;
    let client = Client::new(ClientOptions::default()).await.expect("client");
    // The answer is never applied: Loket's peer waits in vain and gives up.
    let (started, _answer) = start_check(&app, &token, &client).await;
    let body = wait_result(&app, &token, started["id"].as_str().expect("id")).await;
    assert_eq!(body["verdict"], "will_not_connect", "{body:#}");
    assert_eq!(body["reasons"][0]["code"], "no_connection");
    assert_eq!(
        body["reasons"][0]["i18n_key"],
        "precheck.reason.no_connection"
    );
    assert!(
        body["reasons"][0]["id"]
            .as_str()
            .is_some_and(|s| s.contains("tersambung"))
    );
    assert_eq!(body["measurements"]["connected"], false);
    client.close().await;
    wait_no_live_checks(&app).await;
}

#[tokio::test]
async fn audio_only_clients_are_told_to_keep_the_camera_off() {
    let app = spawn_app_with(quick).await;
    let no_camera = ClientOptions {
        video: false,
        ..Default::default()
    };
    let body = check_with(&app, "081234560003", no_camera, 0).await;
    assert_eq!(body["verdict"], "audio_only", "{body:#}");
    assert_eq!(body["reasons"][0]["code"], "no_camera");
}

#[tokio::test]
async fn the_offer_endpoint_wants_a_citizen_token_and_a_real_offer() {
    let app = spawn_app_with(quick).await;
    let (token, _, _) = booking(&app, "081234560004").await;
    let r = app
        .post(
            "/api/v1/precheck/offer",
            &json!({"type": "offer", "sdp": "v=0"}),
        )
        .await;
    assert_eq!(r.status, 401);
    let cases = [
        (
            json!({"type": "answer", "sdp": "v=0\r\nm=audio 9 RTP/AVP 0\r\n"}),
            422,
        ),
        (json!({"type": "offer", "sdp": "hello"}), 422),
        (json!({"type": "offer", "sdp": "v=0\r\n"}), 422),
        (json!({"type": "offer"}), 422),
        (json!({"type": "offer", "sdp": "x".repeat(40 * 1024)}), 400),
    ];
    for (body, status) in cases {
        let r = app
            .post_bearer("/api/v1/precheck/offer", &token, &body)
            .await;
        assert_eq!(r.status, status, "{}", r.text);
    }
    let r = app
        .get_bearer(
            &format!("/api/v1/precheck/{}", uuid::Uuid::new_v4()),
            &token,
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(app.state.precheck.live(), 0);
}

#[tokio::test]
async fn checks_are_capped_rate_limited_and_leave_nothing_behind() {
    let app = spawn_app_with(|s| {
        quick(s);
        s.precheck.max_concurrent = 1;
        s.precheck.per_appointment_per_minute = 2;
        s.precheck.connect_secs = 2;
    })
    .await;
    let (token, _, _) = booking(&app, "081234560005").await;
    let (other, _, _) = booking(&app, "081234560006").await;
    let a = Client::new(ClientOptions::default()).await.expect("client");
    let b = Client::new(ClientOptions::default()).await.expect("client");
    let (first, answer) = start_check(&app, &token, &a).await;
    assert_eq!(app.state.precheck.live(), 1);

    // The only slot is taken: another appointment gets 503, not a queue.
    let offer = b.offer().await.expect("offer");
    let r = app
        .post_bearer(
            "/api/v1/precheck/offer",
            &other,
            &json!({"type": "offer", "sdp": offer}),
        )
        .await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.body["error"], "precheck_busy");

    // The first ends by itself (never connected) and frees its slot and sockets.
    wait_result(&app, &token, first["id"].as_str().expect("id")).await;
    wait_no_live_checks(&app).await;
    for port in candidate_ports(&answer) {
        std::net::UdpSocket::bind(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("port {port} still taken: {e}"));
    }

    // Per appointment: the second start is allowed, the third within a minute is not.
    let (second, _) = start_check(&app, &token, &b).await;
    wait_result(&app, &token, second["id"].as_str().expect("id")).await;
    wait_no_live_checks(&app).await;
    let c = Client::new(ClientOptions::default()).await.expect("client");
    let offer = c.offer().await.expect("offer");
    let r = app
        .post_bearer(
            "/api/v1/precheck/offer",
            &token,
            &json!({"type": "offer", "sdp": offer}),
        )
        .await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert!(r.headers.get("retry-after").is_some());
    for client in [a, b, c] {
        client.close().await;
    }
    assert_eq!(app.state.precheck.live(), 0);
}

#[tokio::test]
async fn a_cancelled_appointment_gets_no_check() {
    let app = spawn_app_with(quick).await;
    let (token, _, _) = booking(&app, "081234560007").await;
    let r = app
        .post_bearer("/api/v1/appointments/current/cancel", &token, &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let client = Client::new(ClientOptions::default()).await.expect("client");
    let offer = client.offer().await.expect("offer");
    let r = app
        .post_bearer(
            "/api/v1/precheck/offer",
            &token,
            &json!({"type": "offer", "sdp": offer}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.body["error"], "appointment_not_active");
    client.close().await;
}

/// Runs one check with a client built with `opts` whose camera sends `video_kbps` for 4 s;
/// returns the result.
async fn check_with(app: &TestApp, phone: &str, opts: ClientOptions, video_kbps: u32) -> Value {
    let (token, _, _) = booking(app, phone).await;
    let client = Client::new(opts).await.expect("client");
    let (started, answer) = start_check(app, &token, &client).await;
    client.accept(&answer).await.expect("answer");
    assert!(client.wait_connected(Duration::from_secs(5)).await);
    client.send_media(Duration::from_secs(4), video_kbps).await;
    let body = wait_result(app, &token, started["id"].as_str().expect("id")).await;
    client.close().await;
    body
}

/// A camera facing a still wall sends a few dozen kbit/s (Chromium's VP8 of a flat picture: 23
/// kbit/s). The path is perfect, so the verdict is `good`: Loket's probe measured it.
#[tokio::test]
async fn a_still_picture_on_a_good_path_is_good_because_the_probe_measures_the_path() {
    let app = spawn_app_with(quick).await;
    let body = check_with(&app, "081234560008", ClientOptions::default(), 24).await;
    let m = &body["measurements"];
    let video = m["video"]["bitrate_kbps"].as_f64().unwrap_or(0.0);
    assert!(video < 150.0, "the scene sends little: {video} kbit/s");
    let downlink = m["bandwidth"]["downlink_kbps"].as_f64().unwrap_or(0.0);
    assert!(
        downlink >= 300.0,
        "the probe finds the loopback fast: {downlink} kbit/s ({m})"
    );
    assert!(
        m["bandwidth"]["loss_pct"].as_f64().unwrap_or(100.0) < 5.0,
        "{m}"
    );
    assert_eq!(body["verdict"], "good", "{body:#}");
    wait_no_live_checks(&app).await;
}

/// Without the probe (`LOKET_PRECHECK_PROBE_KBPS=0`) the camera's bitrate is all there is, and
/// the same still picture on the same path reads as a slow network.
#[tokio::test]
async fn without_the_probe_a_still_picture_is_judged_by_its_bitrate() {
    let app = spawn_app_with(|s| {
        quick(s);
        s.precheck.probe_kbps = 0;
    })
    .await;
    let body = check_with(&app, "081234560009", ClientOptions::default(), 24).await;
    assert!(body["measurements"].get("bandwidth").is_none(), "{body:#}");
    assert_eq!(body["verdict"], "audio_only", "{body:#}");
    assert_eq!(body["reasons"][0]["code"], "low_bitrate");
}
