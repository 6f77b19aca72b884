//! The bandwidth probe (issue 12, item 15): how much the path from Loket to the citizen can carry,
//! measured rather than inferred from what the citizen's camera happens to send.
//!
//! The browser's video bitrate measures the scene, not the network: a camera facing a still wall
//! sends a few dozen kbit/s on a perfect path. So Loket sends a short train of its own packets —
//! padding-only RTP on the echoed video stream, which a receiver drops unseen — and reads where
//! each one arrived from the browser's transport-wide congestion control feedback (TWCC: Chromium
//! sends it, and so does webrtc-rs; a browser that does not gets no estimate, and the camera's
//! bitrate is judged as before). Packets leaving faster than the path can carry them arrive
//! spread out to the path's rate: the delivered rate of the train is the capacity, up to the rate
//! it was sent at.
//!
//! Three pieces plug into webrtc-rs's interceptor chain, whose send-side congestion-control slot
//! is public in 0.21.1 ([`configure`]):
//! - the TWCC sender numbers every outgoing packet (webrtc-rs's own);
//! - a recorder in the estimator slot of webrtc-rs's congestion-control interceptor, which joins
//!   the browser's feedback with what was sent; the packets that left during the train go into a
//!   [`FeedbackLog`] for [`summarize`];
//! - [`Stuffer`], which gives each padding packet its size. webrtc-rs writes at most 4 bytes of
//!   RTP padding (`rtp::Packet::marshal` pads to a 32-bit boundary only), so the bulk is RFC 8285
//!   header-extension padding (zero bytes, which every receiver skips), added below the sender's
//!   check that only negotiated extension ids leave. It also drops retransmissions of padding:
//!   a receiver asks again for every padding packet a slow path lost (it cannot know they were
//!   padding), and answering made a 1200 kbit/s train into 4 Mbit/s on a 200 kbit/s path.
//!
//! [`summarize`] is pure and unit-tested; the pacing of the train is in `peer`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::interceptor::{
    Attribute, BandwidthEstimator, CongestionControlBuilder, Interceptor, Packet, PacketReport,
    Registry, Slot, StreamInfo, TaggedPacket, TwccSenderBuilder,
};
use rtc::rtp;
use rtc::sansio::Protocol;
use rtc::shared::error::Error;
use rtc::shared::marshal::MarshalSize;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The rate the train is sent at by default (RTP bytes; `LOKET_PRECHECK_PROBE_KBPS`). The
/// estimate cannot exceed it: a path that delivers it all is "at least this fast".
pub const DEFAULT_PROBE_KBPS: u32 = 1200;
/// How long the train lasts: long enough for a bottleneck's queue to fill and show its rate.
pub const PROBE_DURATION: Duration = Duration::from_millis(1500);
/// Size of each padding packet on the wire (RTP), like a video packet's.
pub const PROBE_PACKET_BYTES: usize = 1000;
/// Fewer acknowledged packets than this measure nothing.
const MIN_REPORTS: usize = 10;
/// Reports kept per check: a train is ~225 packets, and the echo beside it 100-400 a second.
const MAX_REPORTS: usize = 4096;
/// Where the stuffer sits: wire-ward of the NACK responder, which therefore keeps padding packets
/// small and whose retransmissions of them the stuffer sees (and drops); application-ward of the
/// TWCC sender and the send history, so the size the history records is the size that left.
const STUFFER_SLOT: usize = 3_500;

/// One sent packet and what the browser said about it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sent {
    pub departure: Instant,
    /// On the browser's clock: only differences mean anything.
    pub arrival: Option<Duration>,
    pub bytes: usize,
}

/// What the probe found (RTP bytes, as `bitrate_kbps` counts them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BandwidthSummary {
    /// The rate the path delivered the train at: the estimated capacity towards the citizen,
    /// at most the rate it was sent at.
    pub downlink_kbps: f64,
    /// The rate the train (and the echo beside it) left Loket at.
    pub sent_kbps: f64,
    /// Packets of the train the browser reported lost.
    pub loss_pct: f64,
    /// Packets the browser reported on.
    pub packets: u64,
}

/// The browser's feedback on the packets that left during the train, shared between the
/// interceptor chain (which fills it) and the check (which opens and closes the window and
/// reads the result). Packets outside the window are not kept.
#[derive(Clone, Default)]
pub struct FeedbackLog(Arc<Mutex<Window>>);

#[derive(Default)]
struct Window {
    from: Option<Instant>,
    to: Option<Instant>,
    sent: Vec<Sent>,
}

impl FeedbackLog {
    /// Keeps what leaves from `at` on.
    pub fn open(&self, at: Instant) {
        if let Ok(mut w) = self.0.lock() {
            w.from = Some(at);
        }
    }

    /// Keeps nothing that leaves from `at` on (feedback on earlier packets still counts).
    pub fn close(&self, at: Instant) {
        if let Ok(mut w) = self.0.lock() {
            w.to = Some(at);
        }
    }

    /// What the feedback so far says (None: no window opened, or too little feedback).
    pub fn summary(&self) -> Option<BandwidthSummary> {
        summarize(&self.0.lock().ok()?.sent)
    }

    fn push(&self, reports: &[PacketReport]) {
        let Ok(mut w) = self.0.lock() else {
            return;
        };
        let Some(from) = w.from else {
            return;
        };
        let to = w.to;
        for r in reports {
            let inside = r.departure >= from && to.is_none_or(|to| r.departure < to);
            if inside && w.sent.len() < MAX_REPORTS {
                w.sent.push(Sent {
                    departure: r.departure,
                    arrival: if r.arrived { r.arrival } else { None },
                    bytes: r.size,
                });
            }
        }
    }
}

/// Not an estimator of its own: webrtc-rs's congestion-control interceptor joins feedback with
/// the send history and hands the result here; this keeps it. The target it returns drives
/// nothing (no pacer is installed).
struct Recorder(FeedbackLog);

impl BandwidthEstimator for Recorder {
    fn on_reports(&mut self, _now: Instant, reports: &[PacketReport]) {
        self.0.push(reports);
    }

    fn target_bitrate(&self) -> f64 {
        0.0
    }
}

/// Adds what the probe needs to a chain built by `register_default_interceptors` (which already
/// has the TWCC receiver and registered the transport-wide sequence number extension).
pub fn configure(registry: Registry, log: &FeedbackLog) -> Registry {
    registry
        .with(
            Slot::CongestionControl,
            CongestionControlBuilder::new(Recorder(log.clone())).build(),
        )
        .with(Slot::TwccSender, TwccSenderBuilder::new().build())
        .with(Slot::from(STUFFER_SLOT), Stuffer::default())
}

/// A padding-only packet for `ssrc`, to be stuffed to [`PROBE_PACKET_BYTES`] on its way out.
pub fn padding_packet(
    ssrc: u32,
    payload_type: u8,
    sequence_number: u16,
    timestamp: u32,
) -> rtp::Packet {
    rtp::Packet {
        header: rtp::header::Header {
            version: 2,
            padding: true,
            payload_type,
            sequence_number,
            timestamp,
            ssrc,
            ..Default::default()
        },
        payload: Bytes::new(),
    }
}

fn is_padding_only(p: &rtp::Packet) -> bool {
    p.header.padding && p.payload.is_empty()
}

/// Grows padding-only packets to [`PROBE_PACKET_BYTES`] with RFC 8285 padding bytes in a one-byte
/// header extension block, and drops their retransmissions (the NACK responder's, marked
/// `Attribute::Retransmission`). An element with id 0 and one byte of data is written as two
/// zero bytes, and zero bytes are padding to every parser (Chromium's `RtpPacket::ParseBuffer`,
/// webrtc-rs's `Header::unmarshal`).
#[derive(Default)]
pub struct Stuffer {
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

const ZERO: Bytes = Bytes::from_static(&[0]);
/// Room left for the transport-wide sequence number the TWCC sender adds after the stuffer.
const TWCC_ELEMENT_BYTES: usize = 4;

fn stuff(p: &mut rtp::Packet) {
    if !p.header.extension {
        p.header.extension = true;
        p.header.extension_profile = rtp::header::EXTENSION_PROFILE_ONE_BYTE;
    }
    if p.header.extension_profile != rtp::header::EXTENSION_PROFILE_ONE_BYTE {
        return;
    }
    let size = p.marshal_size() + TWCC_ELEMENT_BYTES;
    let pairs = PROBE_PACKET_BYTES.saturating_sub(size) / 2;
    p.header.extensions.extend(
        std::iter::repeat_n(ZERO, pairs).map(|payload| rtp::header::Extension { id: 0, payload }),
    );
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for Stuffer {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = Error;
    type Time = Instant;

    fn handle_read(&mut self, msg: TaggedPacket) -> Result<(), Error> {
        self.read.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, mut msg: TaggedPacket) -> Result<(), Error> {
        let retransmission = msg.message.has(&Attribute::Retransmission);
        if let Packet::Rtp(ref mut p) = msg.message.packet
            && is_padding_only(p)
        {
            if retransmission {
                return Ok(());
            }
            stuff(p);
        }
        self.write.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.write.pop_front()
    }
}

impl Interceptor for Stuffer {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The delivered rate of a train: the bytes that arrived after the first one, over the time
/// between the first and the last arrival (the receiver's clock; only its differences count).
/// `None` when too little came back to say anything.
pub fn summarize(train: &[Sent]) -> Option<BandwidthSummary> {
    if train.len() < MIN_REPORTS {
        return None;
    }
    let first_departure = train.iter().map(|s| s.departure).min()?;
    let last_departure = train.iter().map(|s| s.departure).max()?;
    let sent_span = last_departure.duration_since(first_departure).as_secs_f64();
    let sent_bytes: usize = train.iter().map(|s| s.bytes).sum();
    let mut arrived: Vec<(Duration, usize)> = train
        .iter()
        .filter_map(|s| s.arrival.map(|a| (a, s.bytes)))
        .collect();
    arrived.sort_by_key(|(a, _)| *a);
    let lost = train.len() - arrived.len();
    let loss_pct = round2(100.0 * lost as f64 / train.len() as f64);
    let sent_kbps = if sent_span > 0.0 {
        8.0 * sent_bytes as f64 / sent_span / 1000.0
    } else {
        0.0
    };
    let downlink_kbps = match (arrived.first(), arrived.last()) {
        (Some((first, first_bytes)), Some((last, _))) if arrived.len() >= 2 => {
            let span = last.saturating_sub(*first).as_secs_f64();
            let bytes: usize = arrived.iter().map(|(_, b)| b).sum::<usize>() - first_bytes;
            if span > 0.0 {
                8.0 * bytes as f64 / span / 1000.0
            } else {
                // Everything arrived at once: as fast as it could be measured.
                sent_kbps
            }
        }
        _ => 0.0,
    };
    Some(BandwidthSummary {
        // Arrival bursts can look faster than the sender; the train never is.
        downlink_kbps: round2(downlink_kbps.min(sent_kbps)),
        sent_kbps: round2(sent_kbps),
        loss_pct,
        packets: train.len() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::shared::marshal::{Marshal, Unmarshal};

    /// `n` packets of `bytes` sent every `gap`, arriving every `arrival_gap` (None = lost).
    fn train(
        n: usize,
        bytes: usize,
        gap: Duration,
        arrival_gap: Duration,
        lost_every: usize,
    ) -> Vec<Sent> {
        let t0 = Instant::now();
        (0..n)
            .map(|i| Sent {
                departure: t0 + gap * i as u32,
                arrival: (lost_every == 0 || i % lost_every != 0)
                    .then(|| Duration::from_secs(5) + arrival_gap * i as u32),
                bytes,
            })
            .collect()
    }

    #[test]
    fn a_fast_path_delivers_the_train_at_the_rate_it_was_sent() {
        // 1000 bytes every 8 ms = 1000 kbit/s, arriving as sent.
        let ms8 = Duration::from_millis(8);
        let s = summarize(&train(150, 1000, ms8, ms8, 0)).expect("summary");
        assert!((s.sent_kbps - 1000.0).abs() < 10.0, "{s:?}");
        assert!((s.downlink_kbps - 1000.0).abs() < 10.0, "{s:?}");
        assert_eq!(s.loss_pct, 0.0);
        assert_eq!(s.packets, 150);
    }

    #[test]
    fn a_bottleneck_spreads_the_train_to_its_own_rate_and_drops_the_rest() {
        // Sent at 1000 kbit/s; a 100 kbit/s link lets one packet through every 80 ms and its
        // queue drops most of the others.
        let s = summarize(&train(
            150,
            1000,
            Duration::from_millis(8),
            Duration::from_millis(80),
            0,
        ))
        .expect("summary");
        assert!((s.downlink_kbps - 100.0).abs() < 2.0, "{s:?}");
        let lossy = summarize(&train(
            150,
            1000,
            Duration::from_millis(8),
            Duration::from_millis(40),
            2,
        ))
        .expect("summary");
        assert!(lossy.loss_pct > 45.0 && lossy.loss_pct < 55.0, "{lossy:?}");
        assert!(lossy.downlink_kbps < 150.0, "{lossy:?}");
    }

    #[test]
    fn the_log_keeps_only_what_left_during_the_train() {
        let t0 = Instant::now();
        let report = |ms: u64| PacketReport {
            ssrc: 1,
            id: ms,
            rtp_sequence_number: ms as u16,
            is_twcc: true,
            twcc_sequence_number: ms as u16,
            size: 1000,
            arrived: true,
            departure: t0 + Duration::from_millis(ms),
            arrival: Some(Duration::from_millis(ms)),
            ecn: rtc::rtcp::transport_feedbacks::cc_feedback_report::Ecn::NotEct,
        };
        let log = FeedbackLog::default();
        log.push(&[report(0)]);
        assert_eq!(log.0.lock().expect("log").sent.len(), 0, "no window yet");
        log.open(t0 + Duration::from_millis(10));
        log.push(&(0..25).map(|i| report(i * 8)).collect::<Vec<_>>());
        log.close(t0 + Duration::from_millis(200));
        // Feedback on a packet sent inside the window counts even when it comes late.
        log.push(&(25..40).map(|i| report(i * 8)).collect::<Vec<_>>());
        log.push(&[report(199)]);
        let kept: Vec<u128> = log
            .0
            .lock()
            .expect("log")
            .sent
            .iter()
            .map(|s| s.departure.duration_since(t0).as_millis())
            .collect();
        assert_eq!(kept.first(), Some(&16));
        assert_eq!(kept.last(), Some(&199));
        assert!(kept.iter().all(|ms| (10..200).contains(ms)), "{kept:?}");
        let s = log.summary().expect("summary");
        assert!((s.downlink_kbps - 1000.0).abs() < 50.0, "{s:?}");
    }

    #[test]
    fn too_little_feedback_measures_nothing() {
        let ms8 = Duration::from_millis(8);
        assert_eq!(summarize(&train(5, 1000, ms8, ms8, 0)), None);
        let all_lost = summarize(&train(50, 1000, ms8, ms8, 1)).expect("summary");
        assert_eq!(all_lost.downlink_kbps, 0.0);
        assert_eq!(all_lost.loss_pct, 100.0);
    }

    #[test]
    fn stuffed_padding_is_the_probe_size_and_still_padding_only_when_parsed() {
        let mut p = padding_packet(7, 96, 1, 2);
        stuff(&mut p);
        // The TWCC sender adds its element afterwards, as it does on the wire.
        p.header
            .set_extension(3, Bytes::from_static(&[0, 9]))
            .expect("twcc element");
        let size = p.marshal_size();
        assert!(
            (PROBE_PACKET_BYTES - 8..=PROBE_PACKET_BYTES + 4).contains(&size),
            "{size}"
        );
        let wire = p.marshal().expect("marshal");
        assert_eq!(wire.len(), size);
        let back = rtp::Packet::unmarshal(&mut wire.clone()).expect("parse");
        assert!(back.payload.is_empty(), "padding only");
        assert_eq!(
            back.header.get_extension(3),
            Some(Bytes::from_static(&[0, 9]))
        );
        // Only padding packets are touched.
        let mut media = padding_packet(7, 96, 1, 2);
        media.header.padding = false;
        media.payload = Bytes::from_static(&[1, 2, 3]);
        let before = media.marshal_size();
        let msg = TaggedPacket {
            now: Instant::now(),
            transport: Default::default(),
            message: Packet::Rtp(media).into(),
        };
        let mut s = Stuffer::default();
        s.handle_write(msg).expect("write");
        let msg = s.poll_write().expect("passed on");
        match msg.message.packet {
            Packet::Rtp(p) => assert_eq!(p.marshal_size(), before),
            _ => panic!("not rtp"),
        }
        // A retransmitted padding packet goes nowhere.
        let again = TaggedPacket {
            now: Instant::now(),
            transport: Default::default(),
            message: rtc::interceptor::AttributedPacket::new(Packet::Rtp(padding_packet(
                7, 96, 1, 2,
            )))
            .with(Attribute::Retransmission),
        };
        s.handle_write(again).expect("write");
        assert!(s.poll_write().is_none(), "dropped");
    }
}
