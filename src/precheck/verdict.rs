//! The pre-call check's judgement, as pure functions: what was measured ([`Measurements`]), the
//! verdict it leads to ([`Verdict`]) and the reasons, each with a stable code, an i18n key for the
//! web pages and a sentence in Bahasa Indonesia and English for API clients and the clerk's view.
//!
//! The thresholds are for a consultation, not a broadcast: audio must survive, video is a bonus.
//! No address or other personal data is in a result: candidate types only.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use super::probe::BandwidthSummary;

/// Loss (percent) from which video is not worth it.
pub const LOSS_AUDIO_ONLY_PCT: f64 = 5.0;
/// Loss (percent) from which even audio breaks up.
pub const LOSS_FAIL_PCT: f64 = 25.0;
/// Round-trip time (ms) from which people talk over each other; audio copes better.
pub const RTT_AUDIO_ONLY_MS: f64 = 600.0;
/// Interarrival jitter (ms) from which video stutters.
pub const JITTER_AUDIO_ONLY_MS: f64 = 60.0;
/// Video bitrate (kbit/s) below which a face is not recognisable.
pub const VIDEO_MIN_KBPS: f64 = 150.0;
/// Estimated bandwidth towards the citizen (kbit/s) below which video is not worth it: the
/// clerk's video at a recognisable [`VIDEO_MIN_KBPS`], their voice, and room to spare.
pub const BANDWIDTH_MIN_KBPS: f64 = 300.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Video and audio will work.
    Good,
    /// Audio will work; recommend turning the camera off.
    AudioOnly,
    /// A call is not expected to work from here; the clerk can call back by phone.
    WillNotConnect,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Good => "good",
            Verdict::AudioOnly => "audio_only",
            Verdict::WillNotConnect => "will_not_connect",
        }
    }
    pub fn parse(s: &str) -> Option<Verdict> {
        match s {
            "good" => Some(Verdict::Good),
            "audio_only" => Some(Verdict::AudioOnly),
            "will_not_connect" => Some(Verdict::WillNotConnect),
            _ => None,
        }
    }
}

/// Why the verdict is not `good` (codes are stable; the web pages translate `precheck.reason.*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// No ICE candidate pair worked (UDP and TCP blocked, or no relay reachable).
    NoConnection,
    /// Connected, but no audio or video arrived.
    NoMedia,
    /// The browser sent no microphone audio.
    NoAudio,
    /// The browser offered no camera.
    NoCamera,
    /// The camera was offered but no video arrived.
    NoVideo,
    HighLoss,
    SevereLoss,
    HighRtt,
    HighJitter,
    LowBitrate,
}

impl Reason {
    pub fn code(self) -> &'static str {
        match self {
            Reason::NoConnection => "no_connection",
            Reason::NoMedia => "no_media",
            Reason::NoAudio => "no_audio",
            Reason::NoCamera => "no_camera",
            Reason::NoVideo => "no_video",
            Reason::HighLoss => "high_loss",
            Reason::SevereLoss => "severe_loss",
            Reason::HighRtt => "high_rtt",
            Reason::HighJitter => "high_jitter",
            Reason::LowBitrate => "low_bitrate",
        }
    }

    pub fn message_id(self) -> &'static str {
        match self {
            Reason::NoConnection => {
                "Perangkat Anda tidak dapat tersambung ke server video. Jaringan ini mungkin memblokir panggilan video."
            }
            Reason::NoMedia => "Tersambung, tetapi suara dan gambar tidak sampai.",
            Reason::NoAudio => "Suara dari mikrofon Anda tidak terdengar.",
            Reason::NoCamera => "Kamera tidak tersedia atau belum diizinkan.",
            Reason::NoVideo => "Gambar dari kamera Anda tidak sampai.",
            Reason::HighLoss => "Sebagian data hilang di jaringan; video akan tersendat.",
            Reason::SevereLoss => {
                "Terlalu banyak data hilang di jaringan; suara pun akan terputus-putus."
            }
            Reason::HighRtt => "Jeda jaringan tinggi; percakapan akan terasa lambat.",
            Reason::HighJitter => "Koneksi tidak stabil; video akan tersendat.",
            Reason::LowBitrate => "Kecepatan jaringan terlalu rendah untuk video.",
        }
    }

    pub fn message_en(self) -> &'static str {
        match self {
            Reason::NoConnection => {
                "Your device could not connect to the video server. This network may block video calls."
            }
            Reason::NoMedia => "Connected, but no sound or picture arrived.",
            Reason::NoAudio => "No sound arrived from your microphone.",
            Reason::NoCamera => "No camera is available or it was not allowed.",
            Reason::NoVideo => "No picture arrived from your camera.",
            Reason::HighLoss => "Some data is lost on the network; video will stutter.",
            Reason::SevereLoss => "Too much data is lost on the network; even sound will break up.",
            Reason::HighRtt => "The network delay is high; the conversation will feel slow.",
            Reason::HighJitter => "The connection is unsteady; video will stutter.",
            Reason::LowBitrate => "The network is too slow for video.",
        }
    }
}

/// A reason as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReasonOut {
    pub code: Reason,
    /// Key in web/i18n/*.json.
    pub i18n_key: String,
    /// Bahasa Indonesia.
    pub id: String,
    pub en: String,
}

impl From<Reason> for ReasonOut {
    fn from(r: Reason) -> Self {
        ReasonOut {
            code: r,
            i18n_key: format!("precheck.reason.{}", r.code()),
            id: r.message_id().into(),
            en: r.message_en().into(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CandidateKind {
    Host,
    Srflx,
    Prflx,
    Relay,
    Unknown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    Udp,
    Tcp,
    Unknown,
}

/// One end of the selected candidate pair: its type and transport, never its address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CandidateInfo {
    #[serde(rename = "type")]
    pub kind: CandidateKind,
    pub protocol: Transport,
}

/// The selected candidate pair. `remote` is the citizen's side: `relay` means their traffic
/// went through TURN, `srflx`/`prflx` through a NAT, `host` directly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PathInfo {
    pub local: CandidateInfo,
    pub remote: CandidateInfo,
}

/// What arrived on one kind of media, measured on Loket's side from the RTP the browser sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StreamSummary {
    pub packets_received: u64,
    pub packets_lost: u64,
    pub loss_pct: f64,
    pub jitter_ms: f64,
    pub bitrate_kbps: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Measurements {
    pub connected: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtt_ms: Option<f64>,
    pub offered_audio: bool,
    pub offered_video: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio: Option<StreamSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<StreamSummary>,
    /// Loket's bandwidth probe towards the citizen (absent without a video stream, or when the
    /// browser sent no transport-wide feedback).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bandwidth: Option<BandwidthSummary>,
    /// How long the check ran, from the offer to the end.
    pub duration_ms: u64,
}

fn received(s: &Option<StreamSummary>) -> bool {
    s.is_some_and(|s| s.packets_received > 0)
}

/// Whether the path is too slow for video. Judged by Loket's bandwidth probe when it ran: the
/// camera's bitrate measures the scene (a still wall sends a few dozen kbit/s on a perfect
/// path), not the network. A probe sent slower than the threshold proves nothing either way.
/// Without one (probe off, or a browser that sends no transport-wide feedback), the camera's
/// bitrate is all there is.
fn too_slow_for_video(m: &Measurements) -> bool {
    match m.bandwidth {
        Some(b) if b.sent_kbps >= BANDWIDTH_MIN_KBPS => b.downlink_kbps < BANDWIDTH_MIN_KBPS,
        _ => m.video.is_some_and(|v| v.bitrate_kbps < VIDEO_MIN_KBPS),
    }
}

/// The verdict and its reasons (worst first).
pub fn judge(m: &Measurements) -> (Verdict, Vec<Reason>) {
    if !m.connected {
        return (Verdict::WillNotConnect, vec![Reason::NoConnection]);
    }
    let got_audio = received(&m.audio);
    let got_video = received(&m.video);
    if !got_audio && !got_video {
        return (Verdict::WillNotConnect, vec![Reason::NoMedia]);
    }
    let mut fail = vec![];
    let mut degrade = vec![];
    if m.offered_audio && !got_audio {
        fail.push(Reason::NoAudio);
    }
    if !m.offered_video {
        degrade.push(Reason::NoCamera);
    } else if !got_video {
        degrade.push(Reason::NoVideo);
    }
    // Loss over everything that arrived: packets, not streams, so video weighs in by volume.
    let (lost, got) = [m.audio, m.video]
        .iter()
        .flatten()
        .fold((0u64, 0u64), |(l, g), s| {
            (l + s.packets_lost, g + s.packets_received)
        });
    let loss = if lost + got == 0 {
        0.0
    } else {
        100.0 * lost as f64 / (lost + got) as f64
    };
    if loss >= LOSS_FAIL_PCT {
        fail.push(Reason::SevereLoss);
    } else if loss >= LOSS_AUDIO_ONLY_PCT {
        degrade.push(Reason::HighLoss);
    }
    if m.rtt_ms.is_some_and(|r| r >= RTT_AUDIO_ONLY_MS) {
        degrade.push(Reason::HighRtt);
    }
    if m.audio.is_some_and(|a| a.jitter_ms >= JITTER_AUDIO_ONLY_MS)
        || m.video
            .is_some_and(|v| v.jitter_ms >= 2.0 * JITTER_AUDIO_ONLY_MS)
    {
        degrade.push(Reason::HighJitter);
    }
    if got_video && too_slow_for_video(m) {
        degrade.push(Reason::LowBitrate);
    }
    let verdict = if !fail.is_empty() {
        Verdict::WillNotConnect
    } else if !degrade.is_empty() {
        Verdict::AudioOnly
    } else {
        Verdict::Good
    };
    fail.extend(degrade);
    (verdict, fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(received: u64, lost: u64, jitter_ms: f64, kbps: f64) -> Option<StreamSummary> {
        Some(StreamSummary {
            packets_received: received,
            packets_lost: lost,
            loss_pct: 0.0,
            jitter_ms,
            bitrate_kbps: kbps,
        })
    }

    fn probed(sent_kbps: f64, downlink_kbps: f64) -> Option<BandwidthSummary> {
        Some(BandwidthSummary {
            downlink_kbps,
            sent_kbps,
            loss_pct: 0.0,
            packets: 200,
        })
    }

    fn healthy() -> Measurements {
        Measurements {
            connected: true,
            rtt_ms: Some(40.0),
            offered_audio: true,
            offered_video: true,
            audio: stream(500, 0, 5.0, 40.0),
            video: stream(1500, 3, 10.0, 600.0),
            ..Default::default()
        }
    }

    #[test]
    fn a_clean_path_is_good() {
        assert_eq!(judge(&healthy()), (Verdict::Good, vec![]));
    }

    #[test]
    fn table_of_problems() {
        type Case = (fn(&mut Measurements), Verdict, Vec<Reason>);
        let cases: Vec<Case> = vec![
            (
                |m| m.connected = false,
                Verdict::WillNotConnect,
                vec![Reason::NoConnection],
            ),
            (
                |m| {
                    m.audio = None;
                    m.video = stream(0, 0, 0.0, 0.0);
                },
                Verdict::WillNotConnect,
                vec![Reason::NoMedia],
            ),
            (
                |m| m.audio = stream(0, 0, 0.0, 0.0),
                Verdict::WillNotConnect,
                vec![Reason::NoAudio],
            ),
            (
                |m| {
                    m.offered_video = false;
                    m.video = None;
                },
                Verdict::AudioOnly,
                vec![Reason::NoCamera],
            ),
            (
                |m| m.video = None,
                Verdict::AudioOnly,
                vec![Reason::NoVideo],
            ),
            (
                |m| m.video = stream(1500, 150, 10.0, 600.0),
                Verdict::AudioOnly,
                vec![Reason::HighLoss],
            ),
            (
                |m| m.video = stream(1000, 1000, 10.0, 600.0),
                Verdict::WillNotConnect,
                vec![Reason::SevereLoss],
            ),
            (
                |m| m.rtt_ms = Some(900.0),
                Verdict::AudioOnly,
                vec![Reason::HighRtt],
            ),
            (
                |m| m.audio = stream(500, 0, 80.0, 40.0),
                Verdict::AudioOnly,
                vec![Reason::HighJitter],
            ),
            (
                |m| m.video = stream(1500, 0, 10.0, 90.0),
                Verdict::AudioOnly,
                vec![Reason::LowBitrate],
            ),
            // A still picture on a fast path: the probe says fast, the scene's bitrate is moot.
            (
                |m| {
                    m.video = stream(300, 0, 2.0, 23.0);
                    m.bandwidth = probed(1200.0, 1190.0);
                },
                Verdict::Good,
                vec![],
            ),
            // A slow path: the probe's train arrives at the link's rate, whatever the scene.
            (
                |m| m.bandwidth = probed(1250.0, 140.0),
                Verdict::AudioOnly,
                vec![Reason::LowBitrate],
            ),
            (
                |m| {
                    m.video = stream(300, 0, 2.0, 23.0);
                    m.bandwidth = probed(1250.0, 140.0);
                },
                Verdict::AudioOnly,
                vec![Reason::LowBitrate],
            ),
            // A train sent slower than the threshold proves nothing: the camera's bitrate counts.
            (
                |m| {
                    m.video = stream(300, 0, 2.0, 23.0);
                    m.bandwidth = probed(200.0, 200.0);
                },
                Verdict::AudioOnly,
                vec![Reason::LowBitrate],
            ),
        ];
        for (i, (change, verdict, reasons)) in cases.into_iter().enumerate() {
            let mut m = healthy();
            change(&mut m);
            assert_eq!(judge(&m), (verdict, reasons), "case {i}");
        }
    }

    #[test]
    fn reasons_carry_codes_keys_and_both_languages() {
        let r = ReasonOut::from(Reason::HighRtt);
        assert_eq!(r.i18n_key, "precheck.reason.high_rtt");
        assert!(!r.id.is_empty() && !r.en.is_empty() && r.id != r.en);
        assert_eq!(
            serde_json::to_value(Reason::NoConnection).unwrap(),
            "no_connection"
        );
        for v in [Verdict::Good, Verdict::AudioOnly, Verdict::WillNotConnect] {
            assert_eq!(Verdict::parse(v.as_str()), Some(v));
        }
    }
}
