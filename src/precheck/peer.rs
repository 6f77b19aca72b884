//! Loket's side of one pre-call check: a webrtc-rs peer that answers the browser's offer
//! (non-trickle: the answer carries every candidate), echoes the audio and video it receives back
//! on the same connection, meters each incoming stream, sends the bandwidth probe's train between
//! the echoed video frames ([`super::probe`]), reads the selected candidate pair and its
//! round-trip time from the stats, and closes.
//!
//! Ownership: a [`LiveCheck`] owns the peer connection and every task it spawned; `finish` (or,
//! failing that, `Drop`) closes the connection, which stops its driver and frees its sockets, and
//! aborts the echo tasks. Nothing outlives it.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8};
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters,
    RTCRtpEncodingParameters, RtpCodecKind,
};
use rtc::shared::marshal::MarshalSize;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use webrtc::data_channel::DataChannel;
use webrtc::media_stream::Track;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfigurationBuilder, RTCIceCandidateInit, RTCIceCandidateType, RTCIceGatheringState,
    RTCPeerConnectionState, RTCSessionDescription, RTCStatsReportEntry, Registry,
    SettingEngineBuilder, StatsSelector, register_default_interceptors,
};

use rtc::statistics::stats::ice_candidate::RTCIceCandidateStats;

use super::meter::StreamMeter;
use super::probe::{self, FeedbackLog};
use super::verdict::{CandidateInfo, CandidateKind, Measurements, PathInfo, Transport};

/// The largest offer accepted (a browser's audio + video + data offer with candidates is ~8 KiB).
pub const MAX_SDP_BYTES: usize = 32 * 1024;
/// From the connection coming up to the probe's train: the echo is flowing by then.
const PROBE_DELAY: Duration = Duration::from_millis(300);
/// More media sections than this is not a pre-call check.
const MAX_MEDIA_SECTIONS: usize = 6;
/// Candidates taken from one offer; a browser sends a handful per interface.
const MAX_CANDIDATES: usize = 64;

/// Where and how Loket's peer listens.
#[derive(Clone, Debug)]
pub struct PeerConfig {
    /// The address its UDP (and TCP) sockets bind (port 0: a fresh port per check).
    pub ip: IpAddr,
    /// The public address written into its candidates instead (1:1 NAT), if any.
    pub public_ip: Option<IpAddr>,
    /// Also offer ICE-TCP (passive) candidates, for networks that block UDP.
    pub tcp: bool,
    /// How long to wait for candidate gathering before answering anyway.
    pub gather_timeout: Duration,
    /// The bandwidth probe's rate in kbit/s (0: no probe).
    pub probe_kbps: u32,
}

/// When a check moves on.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// From the answer until the connection must be up.
    pub connect: Duration,
    /// How long media is measured once connected.
    pub measure: Duration,
    /// No media for this long ends the measurement early.
    pub idle: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("the offer is not usable: {0}")]
    BadOffer(String),
    #[error("webrtc: {0}")]
    Webrtc(String),
}

fn webrtc_err(e: impl std::fmt::Display) -> PeerError {
    PeerError::Webrtc(e.to_string())
}

/// What the browser said it will send, read from its offer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Offered {
    pub audio: bool,
    pub video: bool,
}

/// Checks the offer's shape and finds which media the browser sends (a section it only receives
/// on, or that is disabled, does not count).
pub fn inspect_offer(sdp: &str) -> Result<Offered, PeerError> {
    if sdp.len() > MAX_SDP_BYTES {
        return Err(PeerError::BadOffer("too large".into()));
    }
    if !sdp.starts_with("v=0") {
        return Err(PeerError::BadOffer("not SDP".into()));
    }
    let mut offered = Offered::default();
    let mut sections = 0;
    let mut current: Option<(&str, bool)> = None;
    let close = |c: Option<(&str, bool)>, o: &mut Offered| {
        if let Some((kind, sends)) = c {
            match (kind, sends) {
                ("audio", true) => o.audio = true,
                ("video", true) => o.video = true,
                _ => {}
            }
        }
    };
    for line in sdp.lines() {
        let line = line.trim_end();
        if let Some(m) = line.strip_prefix("m=") {
            close(current.take(), &mut offered);
            sections += 1;
            if sections > MAX_MEDIA_SECTIONS {
                return Err(PeerError::BadOffer("too many media sections".into()));
            }
            let mut parts = m.split(' ');
            let kind = parts.next().unwrap_or("");
            let port_zero = parts.next() == Some("0");
            current = Some((kind, !port_zero));
        } else if let Some((_, sends)) = current.as_mut()
            && (line == "a=recvonly" || line == "a=inactive")
        {
            *sends = false;
        }
    }
    close(current.take(), &mut offered);
    if sections == 0 {
        return Err(PeerError::BadOffer("no media sections".into()));
    }
    Ok(offered)
}

/// Takes the candidates out of an SDP: (the SDP without them, the candidate attributes).
///
/// webrtc-rs 0.21 only keeps statistics for remote candidates that arrive through
/// `add_ice_candidate`, and the check reports the citizen's candidate type from those
/// statistics; so the offer's candidates are fed in that way after the description is set.
pub fn split_candidates(sdp: &str) -> (String, Vec<String>) {
    let mut bare = String::with_capacity(sdp.len());
    let mut found: Vec<String> = vec![];
    for line in sdp.split_inclusive('\n') {
        let text = line.trim_end();
        if let Some(c) = text.strip_prefix("a=") {
            if c.starts_with("candidate:") {
                if found.len() < MAX_CANDIDATES && !found.iter().any(|f| f == c) {
                    found.push(c.to_string());
                }
                continue;
            }
            if c == "end-of-candidates" {
                continue;
            }
        }
        bare.push_str(line);
    }
    (bare, found)
}

/// The one codec per kind Loket answers with: every browser has Opus and VP8, and with one
/// codec the echoed packets keep a payload type the browser expects.
pub fn codec_for(kind: RtpCodecKind) -> RTCRtpCodecParameters {
    match kind {
        RtpCodecKind::Video => RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec {
                mime_type: MIME_TYPE_VP8.to_owned(),
                clock_rate: 90_000,
                channels: 0,
                sdp_fmtp_line: String::new(),
                rtcp_feedback: vec![
                    RTCPFeedback {
                        typ: "nack".into(),
                        parameter: String::new(),
                    },
                    RTCPFeedback {
                        typ: "nack".into(),
                        parameter: "pli".into(),
                    },
                    RTCPFeedback {
                        typ: "ccm".into(),
                        parameter: "fir".into(),
                    },
                ],
            },
            payload_type: 96,
        },
        _ => RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec {
                mime_type: MIME_TYPE_OPUS.to_owned(),
                clock_rate: 48_000,
                channels: 2,
                sdp_fmtp_line: "minptime=10;useinbandfec=1".into(),
                rtcp_feedback: vec![],
            },
            payload_type: 111,
        },
    }
}

/// Per-kind meters and the echo outputs, shared by the event handler and the echo tasks.
struct Shared {
    started: Instant,
    outputs: Mutex<HashMap<RtpCodecKind, Arc<TrackLocalStaticRTP>>>,
    /// The first incoming track of a kind is echoed and measured; later ones are ignored.
    claimed: Mutex<HashMap<RtpCodecKind, bool>>,
    meters: Mutex<HashMap<RtpCodecKind, StreamMeter>>,
    /// Milliseconds after `started` of the last RTP packet (0 = none yet).
    last_packet_ms: AtomicU64,
    /// Sequence numbers and the last timestamp of each echoed stream. Loket numbers what it
    /// sends itself, so the probe's padding packets fit between the echoed ones.
    clocks: Mutex<HashMap<RtpCodecKind, OutClock>>,
    /// The browser's transport-wide feedback on what Loket sent during the probe's train.
    feedback: FeedbackLog,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    data_channel: Mutex<Option<Arc<dyn DataChannel>>>,
    state: watch::Sender<RTCPeerConnectionState>,
    gathered: watch::Sender<bool>,
}

/// The next sequence number of one outgoing stream, the timestamp it last carried, and whether
/// a frame is half sent.
#[derive(Clone, Copy, Debug)]
struct OutClock {
    seq: u16,
    timestamp: u32,
    in_frame: bool,
}

impl Shared {
    /// Numbers one packet of `kind`. An echoed packet passes its timestamp and marker bit;
    /// padding (`None`) repeats the last timestamp and is refused (`None`) while a frame is half
    /// sent: a receiver assembles a frame from consecutive sequence numbers, and padding in the
    /// middle would leave it incomplete for good (Chromium then stops decoding and asks for a
    /// keyframe the echo cannot give).
    fn number(&self, kind: RtpCodecKind, media: Option<(u32, bool)>) -> Option<(u16, u32)> {
        let Ok(mut clocks) = self.clocks.lock() else {
            return None;
        };
        let clock = clocks.entry(kind).or_insert_with(|| OutClock {
            // Random start (RFC 3550 §5.1), below 2^15 so the first packets are far from a
            // rollover the receiver's SRTP index guess could get wrong.
            seq: rand::random::<u16>() & 0x7fff,
            timestamp: rand::random(),
            in_frame: false,
        });
        match media {
            Some((timestamp, marker)) => {
                clock.timestamp = timestamp;
                clock.in_frame = !marker;
            }
            None if clock.in_frame => return None,
            None => {}
        }
        let seq = clock.seq;
        clock.seq = clock.seq.wrapping_add(1);
        Some((seq, clock.timestamp))
    }

    fn spawn(&self, fut: impl std::future::Future<Output = ()> + Send + 'static) {
        if let Ok(mut t) = self.tasks.lock() {
            t.retain(|h| !h.is_finished());
            t.push(tokio::spawn(fut));
        }
    }
}

#[derive(Clone)]
struct Handler(Arc<Shared>);

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.0.gathered.send_replace(true);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        self.0.state.send_replace(state);
    }

    async fn on_data_channel(&self, dc: Arc<dyn DataChannel>) {
        let Ok(mut slot) = self.0.data_channel.lock() else {
            return;
        };
        if slot.is_some() {
            // One result channel is enough; others are closed at once.
            let extra = Arc::clone(&dc);
            self.0.spawn(async move {
                let _ = extra.close().await;
            });
            return;
        }
        *slot = Some(Arc::clone(&dc));
        drop(slot);
        // Drain its events so the driver never waits on us; the browser has nothing to say.
        self.0
            .spawn(async move { while dc.poll().await.is_some() {} });
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let kind = track.kind().await;
        let first = self
            .0
            .claimed
            .lock()
            .map(|mut c| !c.insert(kind, true).unwrap_or(false))
            .unwrap_or(false);
        let output = self
            .0
            .outputs
            .lock()
            .ok()
            .and_then(|o| o.get(&kind).cloned());
        let shared = Arc::clone(&self.0);
        let clock_rate = codec_for(kind).rtp_codec.clock_rate;
        self.0.spawn(async move {
            let out_ssrc = match &output {
                Some(o) => o.ssrcs().await.first().copied(),
                None => None,
            };
            while let Some(event) = track.poll().await {
                let TrackRemoteEvent::OnRtpPacket(mut packet) = event else {
                    continue;
                };
                if !first {
                    continue;
                }
                let now = Instant::now();
                let bytes = packet.header.marshal_size() + packet.payload.len();
                if let Ok(mut meters) = shared.meters.lock() {
                    meters
                        .entry(kind)
                        .or_insert_with(|| StreamMeter::new(clock_rate))
                        .on_packet(
                            packet.header.sequence_number,
                            packet.header.timestamp,
                            bytes,
                            now,
                        );
                }
                let ms = now.saturating_duration_since(shared.started).as_millis();
                shared.last_packet_ms.store(
                    u64::try_from(ms).unwrap_or(u64::MAX).max(1),
                    Ordering::Relaxed,
                );
                // Padding (the browser's own bandwidth probes) carries no media to echo.
                if packet.payload.is_empty() {
                    continue;
                }
                if let (Some(out), Some(ssrc)) = (&output, out_ssrc) {
                    packet.header.ssrc = ssrc;
                    let media = (packet.header.timestamp, packet.header.marker);
                    let Some((seq, _)) = shared.number(kind, Some(media)) else {
                        continue;
                    };
                    packet.header.sequence_number = seq;
                    // A write fails only while closing; the loop ends with the track.
                    let _ = out.write_rtp(packet).await;
                }
            }
        });
    }
}

/// A running check: the peer connection and everything hanging off it.
pub struct LiveCheck {
    pc: Arc<dyn PeerConnection>,
    shared: Arc<Shared>,
    offered: Offered,
    state: watch::Receiver<RTCPeerConnectionState>,
    closed: AtomicBool,
    probe_kbps: u32,
}

/// Builds Loket's peer for `offer_sdp` and returns the complete answer SDP.
pub async fn answer(offer_sdp: &str, cfg: &PeerConfig) -> Result<(String, LiveCheck), PeerError> {
    let offered = inspect_offer(offer_sdp)?;
    let (bare_sdp, candidates) = split_candidates(offer_sdp);
    let offer =
        RTCSessionDescription::offer(bare_sdp).map_err(|e| PeerError::BadOffer(e.to_string()))?;

    let mut media = MediaEngine::default();
    for kind in [RtpCodecKind::Audio, RtpCodecKind::Video] {
        media
            .register_codec(codec_for(kind), kind)
            .map_err(webrtc_err)?;
    }
    let registry =
        register_default_interceptors(Registry::new(), &mut media).map_err(webrtc_err)?;
    let feedback = FeedbackLog::default();
    let registry = probe::configure(registry, &feedback);
    let mut settings = SettingEngineBuilder::new();
    if let Some(ip) = cfg.public_ip {
        settings = settings.with_nat_1to1_ips(vec![ip.to_string()], RTCIceCandidateType::Host);
    }
    let settings = settings.build();
    let (state_tx, state_rx) = watch::channel(RTCPeerConnectionState::New);
    let (gathered_tx, mut gathered_rx) = watch::channel(false);
    let shared = Arc::new(Shared {
        started: Instant::now(),
        outputs: Mutex::default(),
        claimed: Mutex::default(),
        meters: Mutex::default(),
        last_packet_ms: AtomicU64::new(0),
        clocks: Mutex::default(),
        feedback,
        tasks: Mutex::default(),
        data_channel: Mutex::default(),
        state: state_tx,
        gathered: gathered_tx,
    });
    let bind = SocketAddr::new(cfg.ip, 0);
    let tcp = if cfg.tcp { vec![bind] } else { vec![] };
    let pc = PeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_media_engine(media)
        .with_interceptor_registry(registry)
        .with_setting_engine(settings)
        .with_handler(Arc::new(Handler(Arc::clone(&shared))))
        .with_udp_addrs(vec![bind])
        .with_tcp_addrs(tcp)
        .build()
        .await
        .map_err(webrtc_err)?;
    let live = LiveCheck {
        pc: Arc::new(pc),
        shared: Arc::clone(&shared),
        offered,
        state: state_rx,
        closed: AtomicBool::new(false),
        probe_kbps: cfg.probe_kbps,
    };
    // From here on `live` closes the connection on every path, including errors.
    live.pc
        .set_remote_description(offer)
        .await
        .map_err(|e| PeerError::BadOffer(e.to_string()))?;
    for candidate in candidates {
        // A candidate Loket cannot parse (e.g. an mDNS name) is skipped, as a browser would.
        let _ = live
            .pc
            .add_ice_candidate(RTCIceCandidateInit {
                candidate,
                ..Default::default()
            })
            .await;
    }
    for (kind, wanted) in [
        (RtpCodecKind::Audio, offered.audio),
        (RtpCodecKind::Video, offered.video),
    ] {
        if !wanted {
            continue;
        }
        let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
            "loket-precheck".into(),
            format!("loket-echo-{kind}"),
            format!("loket-echo-{kind}"),
            kind,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(rand::random::<u32>()),
                    ..Default::default()
                },
                codec: codec_for(kind).rtp_codec,
                ..Default::default()
            }],
        )));
        live.pc
            .add_track(Arc::clone(&track) as Arc<dyn TrackLocal>)
            .await
            .map_err(webrtc_err)?;
        if let Ok(mut o) = shared.outputs.lock() {
            o.insert(kind, track);
        }
    }
    let answer = live.pc.create_answer(None).await.map_err(webrtc_err)?;
    live.pc
        .set_local_description(answer)
        .await
        .map_err(webrtc_err)?;
    // Non-trickle: wait until every candidate is in the local description.
    let _ = tokio::time::timeout(cfg.gather_timeout, gathered_rx.wait_for(|g| *g)).await;
    let sdp = live
        .pc
        .local_description()
        .await
        .map(|d| d.sdp)
        .ok_or_else(|| PeerError::Webrtc("no local description".into()))?;
    Ok((sdp, live))
}

impl LiveCheck {
    /// Waits for the connection, measures, and returns what was seen. Ends early when the
    /// connection fails or media stops; never takes longer than `connect + measure`.
    pub async fn measure(&mut self, timing: Timing) -> Measurements {
        let started = self.shared.started;
        let connected = tokio::time::timeout(
            timing.connect,
            self.state.wait_for(|s| {
                matches!(
                    s,
                    RTCPeerConnectionState::Connected
                        | RTCPeerConnectionState::Failed
                        | RTCPeerConnectionState::Closed
                )
            }),
        )
        .await
        .ok()
        .and_then(|r| r.ok().map(|s| *s == RTCPeerConnectionState::Connected))
        .unwrap_or(false);
        let connected_at = Instant::now();
        let mut m = Measurements {
            connected,
            connect_ms: connected.then(|| millis(connected_at.duration_since(started))),
            offered_audio: self.offered.audio,
            offered_video: self.offered.video,
            ..Default::default()
        };
        if connected {
            self.start_probe();
            let mut tick = tokio::time::interval(Duration::from_millis(200));
            loop {
                tick.tick().await;
                let now = Instant::now();
                if now.duration_since(connected_at) >= timing.measure {
                    break;
                }
                if matches!(
                    *self.state.borrow(),
                    RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed
                ) {
                    break;
                }
                let last = self.shared.last_packet_ms.load(Ordering::Relaxed);
                let quiet_since = if last == 0 {
                    connected_at
                } else {
                    started + Duration::from_millis(last)
                };
                if now.saturating_duration_since(quiet_since) >= timing.idle {
                    break;
                }
            }
            let (path, rtt) = self.path_and_rtt().await;
            m.path = path;
            m.rtt_ms = rtt;
            m.bandwidth = self.shared.feedback.summary();
        }
        if let Ok(meters) = self.shared.meters.lock() {
            m.audio = meters.get(&RtpCodecKind::Audio).map(StreamMeter::summary);
            m.video = meters.get(&RtpCodecKind::Video).map(StreamMeter::summary);
        }
        m.duration_ms = millis(started.elapsed());
        m
    }

    /// Sends the probe's train on the echoed video stream, from [`PROBE_DELAY`] after the
    /// connection is up (the echo has started by then) for [`probe::PROBE_DURATION`]. Without
    /// a video stream there is nothing to measure for.
    fn start_probe(&self) {
        let output = self
            .shared
            .outputs
            .lock()
            .ok()
            .and_then(|o| o.get(&RtpCodecKind::Video).cloned());
        let (Some(output), true) = (output, self.probe_kbps > 0) else {
            return;
        };
        let rate = f64::from(self.probe_kbps) * 1000.0;
        let shared = Arc::clone(&self.shared);
        self.shared.spawn(async move {
            tokio::time::sleep(PROBE_DELAY).await;
            let Some(ssrc) = output.ssrcs().await.first().copied() else {
                return;
            };
            let payload_type = codec_for(RtpCodecKind::Video).payload_type;
            let start = Instant::now();
            shared.feedback.open(start);
            let per_packet = (probe::PROBE_PACKET_BYTES * 8) as f64;
            let train = (rate * probe::PROBE_DURATION.as_secs_f64() / per_packet).ceil() as u64;
            let mut sent = 0u64;
            let mut tick = tokio::time::interval(Duration::from_millis(5));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            // The whole train goes out even when this machine is too busy to keep its pace (the
            // estimate is then capped by the slower rate it left at), within a bound.
            while sent < train && start.elapsed() < 3 * probe::PROBE_DURATION {
                tick.tick().await;
                // Packets owed by the clock: a late wake-up or a frame in the way catches up.
                let due =
                    ((start.elapsed().as_secs_f64() * rate / per_packet) as u64 + 1).min(train);
                while sent < due {
                    // Between frames only; what is owed goes out once the frame is complete.
                    let Some((seq, ts)) = shared.number(RtpCodecKind::Video, None) else {
                        break;
                    };
                    let packet = probe::padding_packet(ssrc, payload_type, seq, ts);
                    if output.write_rtp(packet).await.is_err() {
                        return;
                    }
                    sent += 1;
                }
            }
            shared.feedback.close(Instant::now());
        });
    }

    async fn path_and_rtt(&self) -> (Option<PathInfo>, Option<f64>) {
        let report = self.pc.get_stats(Instant::now(), StatsSelector::None).await;
        let selected = report
            .transport()
            .map(|t| t.selected_candidate_pair_id.clone())
            .filter(|id| !id.is_empty());
        let pair = report.candidate_pairs().find(|p| match &selected {
            Some(id) => &p.stats.id == id,
            None => p.nominated,
        });
        let Some(pair) = pair else {
            return (None, None);
        };
        let info = |c: &RTCIceCandidateStats| CandidateInfo {
            kind: match c.candidate_type {
                RTCIceCandidateType::Host => CandidateKind::Host,
                RTCIceCandidateType::Srflx => CandidateKind::Srflx,
                RTCIceCandidateType::Prflx => CandidateKind::Prflx,
                RTCIceCandidateType::Relay => CandidateKind::Relay,
                _ => CandidateKind::Unknown,
            },
            protocol: match c.protocol.to_ascii_lowercase().as_str() {
                "udp" => Transport::Udp,
                "tcp" => Transport::Tcp,
                _ => Transport::Unknown,
            },
        };
        // Stats entries are keyed `RTCLocalIceCandidate_<id>` / `RTCRemoteIceCandidate_<id>`.
        let local = match report.get(&format!("RTCLocalIceCandidate_{}", pair.local_candidate_id)) {
            Some(RTCStatsReportEntry::LocalCandidate(c)) => info(c),
            _ => CandidateInfo {
                kind: CandidateKind::Unknown,
                protocol: Transport::Unknown,
            },
        };
        let remote = match report.get(&format!(
            "RTCRemoteIceCandidate_{}",
            pair.remote_candidate_id
        )) {
            Some(RTCStatsReportEntry::RemoteCandidate(c)) => info(c),
            // webrtc-rs keeps no statistics for a candidate learned from a connectivity
            // check, and registers every other one (see `split_candidates`): so this one is
            // peer-reflexive, over the local candidate's transport.
            _ => CandidateInfo {
                kind: CandidateKind::Prflx,
                protocol: local.protocol,
            },
        };
        let path = PathInfo { local, remote };
        let rtt = if pair.current_round_trip_time > 0.0 {
            Some(pair.current_round_trip_time)
        } else if pair.responses_received > 0 {
            Some(pair.total_round_trip_time / pair.responses_received as f64)
        } else {
            None
        };
        (Some(path), rtt.map(|s| (s * 100_000.0).round() / 100.0))
    }

    /// Sends `message` (the result) on the browser's data channel, if it opened one, then
    /// closes everything.
    pub async fn finish(self, message: Option<String>) {
        let dc = self.shared.data_channel.lock().ok().and_then(|d| d.clone());
        if let (Some(dc), Some(text)) = (dc, message) {
            let _ = tokio::time::timeout(Duration::from_secs(1), dc.send_text(&text)).await;
            // Give SCTP a moment to put it on the wire before the transport goes away.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.close().await;
    }

    async fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), self.pc.close()).await;
        self.shared.abort_tasks();
    }
}

impl Shared {
    fn abort_tasks(&self) {
        if let Ok(mut t) = self.tasks.lock() {
            for h in t.drain(..) {
                h.abort();
            }
        }
        if let Ok(mut d) = self.data_channel.lock() {
            d.take();
        }
        if let Ok(mut o) = self.outputs.lock() {
            o.clear();
        }
    }
}

impl Drop for LiveCheck {
    fn drop(&mut self) {
        // A check dropped without `finish` (its task was cancelled) still closes its peer.
        if !self.closed.swap(true, Ordering::AcqRel) {
            let pc = Arc::clone(&self.pc);
            let shared = Arc::clone(&self.shared);
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    let _ = tokio::time::timeout(Duration::from_secs(5), pc.close()).await;
                    shared.abort_tasks();
                });
            } else {
                shared.abort_tasks();
            }
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_are_read_for_what_the_browser_sends() {
        let sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
                   m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendrecv\r\n\
                   m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\n\
                   m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n";
        assert_eq!(
            inspect_offer(sdp).unwrap(),
            Offered {
                audio: true,
                video: false
            }
        );
        let both = sdp.replace("a=recvonly", "a=sendrecv");
        assert_eq!(
            inspect_offer(&both).unwrap(),
            Offered {
                audio: true,
                video: true
            }
        );
        let refused = |sdp: &str| match inspect_offer(sdp) {
            Err(PeerError::BadOffer(why)) => why,
            other => panic!("{other:?}"),
        };
        assert_eq!(refused("hello"), "not SDP");
        assert_eq!(refused(&"v=0\r\n".repeat(10_000)), "too large");
        let many = format!("v=0\r\n{}", "m=audio 9 RTP/AVP 0\r\n".repeat(7));
        assert_eq!(refused(&many), "too many media sections");
        let most = format!("v=0\r\n{}", "m=audio 9 RTP/AVP 0\r\n".repeat(6));
        assert!(inspect_offer(&most).is_ok(), "six sections are allowed");
        assert_eq!(refused("v=0\r\n"), "no media sections");
    }

    #[test]
    fn candidates_are_taken_out_of_the_offer_once_each() {
        let c = "a=candidate:1 1 udp 2130706431 10.0.0.1 5000 typ host\r\n";
        let sdp = format!(
            "v=0\r\nm=audio 9 RTP/AVP 0\r\n{c}a=end-of-candidates\r\nm=video 9 RTP/AVP 96\r\n{c}"
        );
        let (bare, found) = split_candidates(&sdp);
        assert_eq!(
            bare,
            "v=0\r\nm=audio 9 RTP/AVP 0\r\nm=video 9 RTP/AVP 96\r\n"
        );
        assert_eq!(
            found,
            vec!["candidate:1 1 udp 2130706431 10.0.0.1 5000 typ host"]
        );
    }
}
