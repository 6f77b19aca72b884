//! The pre-call check's verdict judged by bandwidth, not by the scene (issue 12, item 15):
//! Chromium whose camera shows a still picture — a flat colour, as a camera facing a wall does —
//! runs the join page's check on a perfect loopback path, and Loket's probe finds the path fast.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::harness::{Browser, stored, wait_until};
use crate::helpers::{TestApp, next_working_day, spawn_app};
use crate::{book, free_slots};

/// A one-frame Y4M video of a flat mid-grey 640×480 picture: Chromium's file camera loops it,
/// so every frame is the same (VP8 then sends a few kbit/s).
pub fn still_picture(dir: &Path) -> PathBuf {
    let (w, h) = (640usize, 480usize);
    let mut data = b"YUV4MPEG2 W640 H480 F30:1 Ip A1:1 C420jpeg\nFRAME\n".to_vec();
    data.extend(std::iter::repeat_n(128u8, w * h)); // Y
    data.extend(std::iter::repeat_n(128u8, w * h / 2)); // U and V, quarter size each
    let path = dir.join("still-grey.y4m");
    std::fs::write(&path, data).expect("write the still picture");
    path
}

/// Keeps every RTCPeerConnection the page makes in `window.__pcs` (the page is unchanged).
const KEEP_PCS: &str = "(() => {\
  const Native = window.RTCPeerConnection;\
  window.__pcs = [];\
  const Wrapped = function (...args) {\
    const pc = new Native(...args);\
    window.__pcs.push(pc);\
    return pc;\
  };\
  Wrapped.prototype = Native.prototype;\
  Object.setPrototypeOf(Wrapped, Native);\
  window.RTCPeerConnection = Wrapped;\
})();";

/// The browser's view of its check connection: its own bandwidth estimate and what it sends.
const PAGE_STATS: &str = "const pc = (window.__pcs || [])[0];\
  if (!pc) return null;\
  const out = {};\
  const byId = new Map();\
  (await pc.getStats()).forEach((r) => byId.set(r.id, r));\
  byId.forEach((r) => {\
    if (r.type === 'transport' && r.selectedCandidatePairId) {\
      const p = byId.get(r.selectedCandidatePairId) || {};\
      out.availableOutgoingBitrate = p.availableOutgoingBitrate;\
      out.pairBytesSent = p.bytesSent; out.pairBytesReceived = p.bytesReceived;\
    }\
    if (r.type === 'outbound-rtp' && r.kind === 'video') {\
      out.videoBytesSent = r.bytesSent; out.videoHeaderBytesSent = r.headerBytesSent;\
      out.targetBitrate = r.targetBitrate; out.framesEncoded = r.framesEncoded;\
      out.retransmittedBytesSent = r.retransmittedBytesSent;\
    }\
    if (r.type === 'inbound-rtp' && r.kind === 'video') {\
      out.echoFramesDecoded = r.framesDecoded; out.echoBytes = r.bytesReceived;\
      out.echoPackets = r.packetsReceived; out.echoHeaderBytes = r.headerBytesReceived;\
      out.echoNacks = r.nackCount; out.echoPlis = r.pliCount; out.echoKeyframes = r.keyFramesDecoded;\
    }\
  });\
  return out;";

/// Runs the join page's check in `b` for a fresh booking; returns the stored result.
async fn run_check(app: &TestApp, b: &Browser, phone: &str) -> Value {
    let day = next_working_day(2);
    let start = free_slots(app, "pbg", day, 1).await[0];
    let booking = book(app, "pbg", start, "Wulan Sari", phone).await;
    b.driver()
        .cdp()
        .send_raw(
            "Page.addScriptToEvaluateOnNewDocument",
            serde_json::json!({ "source": KEEP_PCS }),
        )
        .await
        .expect("inject the connection keeper");
    b.goto(&format!("{}&check=1", crate::absolute(app, &booking.join)))
        .await;
    let samples = std::sync::Mutex::new(vec![]);
    let verdict = wait_until(
        Duration::from_secs(45),
        "the connection test to finish with a verdict",
        || {
            let samples = &samples;
            async move {
                let s = b.js_await(PAGE_STATS, vec![]).await;
                if !s.is_null() {
                    samples.lock().expect("samples").push(s);
                }
                b.attr("#precheck-verdict", "data-verdict")
                    .await
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| "no verdict yet".to_string())
            }
        },
    )
    .await;
    for s in samples.lock().expect("samples").iter() {
        eprintln!("page: {s}");
    }
    let sql = format!(
        "SELECT result::text FROM prechecks WHERE appointment_id = '{}'",
        booking.id
    );
    let saved: Value =
        serde_json::from_str(&stored(app, "the result to be stored", &sql).await).expect("json");
    assert_eq!(saved["verdict"], verdict.as_str());
    saved
}

#[tokio::test]
async fn experiment_still_and_moving_pictures_on_loopback() {
    let app = &spawn_app().await;
    let dir = std::env::temp_dir().join(format!("loket-still-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let still = still_picture(&dir);
    let b = &Browser::phone_with_camera("citizen", &still).await;
    let r = run_check(app, b, "081234567031").await;
    eprintln!("STILL: {r:#}");
    b.quit().await;
    let b = &Browser::phone("citizen").await;
    let r = run_check(app, b, "081234567032").await;
    eprintln!("MOVING: {r:#}");
    b.quit().await;
}
