//! The connection test's verdict judged by the path, not by the scene (issue 12, item 15):
//! Chromium runs the join page's check on a perfect loopback path with a camera that shows a
//! still picture — a flat colour, as a camera facing a wall does, which VP8 sends at ~25 kbit/s —
//! and with its moving test pattern. Loket's probe measures the path both times; its padding
//! packets must not disturb the echo the citizen watches.

use std::path::{Path, PathBuf};
use std::time::Duration;

use loket::precheck::verdict::BANDWIDTH_MIN_KBPS;
use serde_json::{Value, json};

use crate::harness::{Browser, stored, wait_until};
use crate::helpers::{TestApp, next_working_day, spawn_app};
use crate::{book, free_slots};

/// A one-frame Y4M video of a flat mid-grey 640×480 picture. Chromium's file camera loops it,
/// so every frame is the same picture.
pub fn still_picture(dir: &Path) -> PathBuf {
    let (w, h) = (640usize, 480usize);
    let mut data = b"YUV4MPEG2 W640 H480 F30:1 Ip A1:1 C420jpeg\nFRAME\n".to_vec();
    data.extend(std::iter::repeat_n(128u8, w * h)); // Y
    data.extend(std::iter::repeat_n(128u8, w * h / 2)); // U and V, a quarter each
    let path = dir.join("still-grey.y4m");
    std::fs::write(&path, data).expect("write the still picture");
    path
}

/// Frames the page encoded of its camera and decoded of Loket's echo, from its own statistics.
const FRAMES: &str = "const pc = (window.__pcs || [])[0];\
  if (!pc) return null;\
  const out = { encoded: 0, decoded: 0 };\
  (await pc.getStats()).forEach((r) => {\
    if (r.type === 'outbound-rtp' && r.kind === 'video') out.encoded = r.framesEncoded || 0;\
    if (r.type === 'inbound-rtp' && r.kind === 'video') out.decoded = r.framesDecoded || 0;\
  });\
  return out;";

/// Runs the join page's check in `b` for a fresh booking. Returns the stored result and the
/// last frame counts the page had before the check closed its connection.
async fn run_check(app: &TestApp, b: &Browser, phone: &str) -> (Value, Value) {
    let day = next_working_day(2);
    let start = free_slots(app, "pbg", day, 1).await[0];
    let booking = book(app, "pbg", start, "Wulan Sari", phone).await;
    b.keep_connections(None).await;
    b.goto(&format!("{}&check=1", crate::absolute(app, &booking.join)))
        .await;
    let last = std::sync::Mutex::new(Value::Null);
    let verdict = wait_until(
        Duration::from_secs(45),
        "the connection test to finish with a verdict",
        || {
            let last = &last;
            async move {
                let frames = b.js_await(FRAMES, vec![]).await;
                if frames["encoded"].as_u64().unwrap_or(0) > 0
                    && let Ok(mut l) = last.lock()
                {
                    *l = frames;
                }
                b.attr("#precheck-verdict", "data-verdict")
                    .await
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| "no verdict yet".to_string())
            }
        },
    )
    .await;
    let sql = format!(
        "SELECT result::text FROM prechecks WHERE appointment_id = '{}'",
        booking.id
    );
    let saved = stored(app, "the result to be stored", &sql).await;
    let saved: Value = serde_json::from_str(&saved).expect("stored result");
    assert_eq!(
        saved["verdict"],
        verdict.as_str(),
        "the page shows what is stored"
    );
    let frames = last.lock().map(|l| l.clone()).unwrap_or_default();
    (saved, frames)
}

#[tokio::test]
async fn a_still_camera_picture_on_a_good_path_gets_a_good_verdict() {
    let app = &spawn_app().await;
    let dir = std::env::temp_dir().join(format!("loket-still-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let b = &Browser::phone_with_camera("citizen", &still_picture(&dir)).await;
    let (result, _) = run_check(app, b, "081234567031").await;
    b.quit().await;
    let _ = std::fs::remove_dir_all(&dir);
    let m = &result["measurements"];
    let video = m["video"]["bitrate_kbps"].as_f64().unwrap_or(f64::NAN);
    assert!(
        video < 150.0,
        "the still picture sends little video ({video} kbit/s): {m}"
    );
    let downlink = m["bandwidth"]["downlink_kbps"].as_f64().unwrap_or(0.0);
    // ~1250 kbit/s on an idle machine; a busy one may send the train slower.
    assert!(
        downlink >= BANDWIDTH_MIN_KBPS,
        "the probe finds loopback fast: {m}"
    );
    assert_eq!(result["verdict"], "good", "{result:#}");
    assert_eq!(result["reasons"], json!([]));
}

#[tokio::test]
async fn the_probe_leaves_the_echo_of_a_moving_picture_playing() {
    let app = &spawn_app().await;
    let b = &Browser::phone("citizen").await;
    let (result, frames) = run_check(app, b, "081234567032").await;
    b.quit().await;
    let m = &result["measurements"];
    assert!(
        m["bandwidth"]["downlink_kbps"].as_f64().unwrap_or(0.0) >= BANDWIDTH_MIN_KBPS,
        "the probe ran: {m}"
    );
    // Padding sent in the middle of a frame left Chromium's frame assembly incomplete: the echo
    // froze after ~1 s (33 of 236 frames decoded) and asked for keyframes in vain.
    let (encoded, decoded) = (
        frames["encoded"].as_f64().unwrap_or(0.0),
        frames["decoded"].as_f64().unwrap_or(0.0),
    );
    assert!(
        encoded >= 100.0 && decoded >= 0.6 * encoded,
        "the echo kept being decoded through the check: {frames}"
    );
    assert!(
        result["verdict"] == "good" || result["verdict"] == "audio_only",
        "{result:#}"
    );
}
