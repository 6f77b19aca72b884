//! A webrtc-rs stand-in for a citizen's browser: sends synthetic Opus and VP8 RTP at a chosen
//! bitrate, counts what comes back, and can receive the check's result on the `precheck` data
//! channel. The integration tests, the network-namespace tests and the benchmark drive checks
//! (and plain peer-to-peer calls through TURN) with it. It never decodes media: the server only
//! echoes and meters packets, so random payloads are enough.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::RTCOfferOptions;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfigurationBuilder, RTCIceCandidateType, RTCIceGatheringState, RTCIceServer,
    RTCIceTransportPolicy, RTCPeerConnectionState, RTCSessionDescription, RTCStatsReportEntry,
    Registry, SettingEngineBuilder, StatsSelector, register_default_interceptors,
};

/// How a client is built.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    pub ice_servers: Vec<RTCIceServer>,
    /// Only relayed candidates (the browser's `iceTransportPolicy: "relay"`).
    pub relay_only: bool,
    /// Local UDP sockets to bind: a concrete address, or `0.0.0.0:0` for every interface (which
    /// an ICE restart re-reads, so a changed address is picked up).
    pub udp_addrs: Vec<SocketAddr>,
    pub audio: bool,
    pub video: bool,
    /// Open the `precheck` data channel to receive the result.
    pub data_channel: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            ice_servers: vec![],
            relay_only: false,
            udp_addrs: vec![SocketAddr::from(([127, 0, 0, 1], 0))],
            audio: true,
            video: true,
            data_channel: true,
        }
    }
}

pub type ClientResult<T> = Result<T, String>;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

struct Shared {
    state: watch::Sender<RTCPeerConnectionState>,
    gathered: watch::Sender<u64>,
    echoed_audio: AtomicU64,
    echoed_video: AtomicU64,
    messages: mpsc::Sender<String>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Shared {
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
            self.0.gathered.send_modify(|g| *g += 1);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        self.0.state.send_replace(state);
    }

    async fn on_data_channel(&self, dc: Arc<dyn DataChannel>) {
        let tx = self.0.messages.clone();
        self.0.spawn(drain(dc, tx));
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let shared = Arc::clone(&self.0);
        let kind = track.kind().await;
        self.0.spawn(async move {
            while let Some(ev) = track.poll().await {
                // Padding (the check's bandwidth probe) is not an echo.
                if let TrackRemoteEvent::OnRtpPacket(p) = ev
                    && !p.payload.is_empty()
                {
                    let c = if kind == RtpCodecKind::Audio {
                        &shared.echoed_audio
                    } else {
                        &shared.echoed_video
                    };
                    c.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
}

async fn drain(dc: Arc<dyn DataChannel>, tx: mpsc::Sender<String>) {
    while let Some(ev) = dc.poll().await {
        if let DataChannelEvent::OnMessage(m) = ev {
            let _ = tx.try_send(String::from_utf8_lossy(&m.data).into_owned());
        }
    }
}

/// One synthetic browser.
pub struct Client {
    pc: Arc<dyn PeerConnection>,
    shared: Arc<Shared>,
    state: watch::Receiver<RTCPeerConnectionState>,
    gathered: watch::Receiver<u64>,
    messages: tokio::sync::Mutex<mpsc::Receiver<String>>,
    tracks: Vec<(RtpCodecKind, Arc<TrackLocalStaticRTP>, u32)>,
    /// Next RTP sequence number and timestamp per stream (audio, video), carried from one
    /// `send_media` call to the next. A real sender never jumps its sequence numbers mid-stream:
    /// SRTP derives the packet index (rollover counter) from them (RFC 3711 §3.3.1), and a random
    /// jump of more than 2^15 makes the receiver guess a different rollover counter than the
    /// sender used, so every later packet of that stream fails authentication and is dropped.
    rtp_clock: Mutex<([u16; 2], [u32; 2])>,
}

impl Client {
    pub async fn new(opts: ClientOptions) -> ClientResult<Client> {
        let mut media = MediaEngine::default();
        for kind in [RtpCodecKind::Audio, RtpCodecKind::Video] {
            media
                .register_codec(super::peer::codec_for(kind), kind)
                .map_err(err)?;
        }
        let registry = register_default_interceptors(Registry::new(), &mut media).map_err(err)?;
        let config = RTCConfigurationBuilder::new()
            .with_ice_servers(opts.ice_servers.clone())
            .with_ice_transport_policy(if opts.relay_only {
                RTCIceTransportPolicy::Relay
            } else {
                RTCIceTransportPolicy::All
            })
            .build();
        let (state_tx, state_rx) = watch::channel(RTCPeerConnectionState::New);
        let (gathered_tx, gathered_rx) = watch::channel(0u64);
        let (msg_tx, msg_rx) = mpsc::channel(16);
        let shared = Arc::new(Shared {
            state: state_tx,
            gathered: gathered_tx,
            echoed_audio: AtomicU64::new(0),
            echoed_video: AtomicU64::new(0),
            messages: msg_tx,
            tasks: Mutex::default(),
        });
        let pc = PeerConnectionBuilder::new()
            .with_configuration(config)
            .with_media_engine(media)
            .with_interceptor_registry(registry)
            .with_setting_engine(
                SettingEngineBuilder::new()
                    .with_discard_local_candidates_during_ice_restart(true)
                    .build(),
            )
            .with_handler(Arc::new(Handler(Arc::clone(&shared))))
            .with_udp_addrs(opts.udp_addrs.clone())
            .build()
            .await
            .map_err(err)?;
        let pc: Arc<dyn PeerConnection> = Arc::new(pc);
        let mut tracks = vec![];
        for (kind, on) in [
            (RtpCodecKind::Audio, opts.audio),
            (RtpCodecKind::Video, opts.video),
        ] {
            if !on {
                continue;
            }
            let ssrc = rand::random::<u32>();
            let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
                "probe".into(),
                format!("probe-{kind}"),
                format!("probe-{kind}"),
                kind,
                vec![RTCRtpEncodingParameters {
                    rtp_coding_parameters: RTCRtpCodingParameters {
                        ssrc: Some(ssrc),
                        ..Default::default()
                    },
                    codec: super::peer::codec_for(kind).rtp_codec,
                    ..Default::default()
                }],
            )));
            pc.add_track(Arc::clone(&track) as Arc<dyn TrackLocal>)
                .await
                .map_err(err)?;
            tracks.push((kind, track, ssrc));
        }
        if opts.data_channel {
            let dc = pc
                .create_data_channel("precheck", None)
                .await
                .map_err(err)?;
            shared.spawn(drain(dc, shared.messages.clone()));
        }
        Ok(Client {
            pc,
            shared,
            state: state_rx,
            gathered: gathered_rx,
            messages: tokio::sync::Mutex::new(msg_rx),
            tracks,
            rtp_clock: Mutex::new((
                [rand::random(), rand::random()],
                [rand::random(), rand::random()],
            )),
        })
    }

    async fn wait_gathered(&self, before: u64) {
        let mut g = self.gathered.clone();
        let _ = tokio::time::timeout(Duration::from_secs(10), g.wait_for(|n| *n > before)).await;
    }

    async fn local_sdp(&self) -> ClientResult<String> {
        self.pc
            .local_description()
            .await
            .map(|d| d.sdp)
            .ok_or_else(|| "no local description".to_string())
    }

    /// Creates an offer and returns it once every candidate is in it (non-trickle).
    pub async fn offer(&self) -> ClientResult<String> {
        self.offer_with(None).await
    }

    /// An offer with fresh ICE credentials (after a network change).
    pub async fn restart_offer(&self) -> ClientResult<String> {
        self.offer_with(Some(RTCOfferOptions { ice_restart: true }))
            .await
    }

    async fn offer_with(&self, options: Option<RTCOfferOptions>) -> ClientResult<String> {
        let before = *self.gathered.borrow();
        let offer = self.pc.create_offer(options).await.map_err(err)?;
        self.pc.set_local_description(offer).await.map_err(err)?;
        self.wait_gathered(before).await;
        self.local_sdp().await
    }

    /// Answers a remote offer (for peer-to-peer tests); returns the complete answer.
    pub async fn answer(&self, offer_sdp: &str) -> ClientResult<String> {
        let before = *self.gathered.borrow();
        let offer = RTCSessionDescription::offer(offer_sdp.to_string()).map_err(err)?;
        self.pc.set_remote_description(offer).await.map_err(err)?;
        let answer = self.pc.create_answer(None).await.map_err(err)?;
        self.pc.set_local_description(answer).await.map_err(err)?;
        self.wait_gathered(before).await;
        self.local_sdp().await
    }

    pub async fn accept(&self, answer_sdp: &str) -> ClientResult<()> {
        let answer = RTCSessionDescription::answer(answer_sdp.to_string()).map_err(err)?;
        self.pc.set_remote_description(answer).await.map_err(err)
    }

    pub fn state(&self) -> RTCPeerConnectionState {
        *self.state.borrow()
    }

    /// Waits until the connection is up (`true`) or failed / timed out (`false`).
    pub async fn wait_connected(&self, within: Duration) -> bool {
        let mut s = self.state.clone();
        matches!(
            tokio::time::timeout(
                within,
                s.wait_for(|s| matches!(
                    s,
                    RTCPeerConnectionState::Connected
                        | RTCPeerConnectionState::Failed
                        | RTCPeerConnectionState::Closed
                ))
            )
            .await,
            Ok(Ok(s)) if *s == RTCPeerConnectionState::Connected
        )
    }

    /// Waits until the state leaves `Connected` (a lost path), up to `within`.
    pub async fn wait_disconnected(&self, within: Duration) -> bool {
        let mut s = self.state.clone();
        tokio::time::timeout(
            within,
            s.wait_for(|s| *s != RTCPeerConnectionState::Connected),
        )
        .await
        .is_ok()
    }

    /// Sends audio (50 packets/s) and video at `video_kbps` for `duration`, paced every 20 ms.
    /// Returns how many packets were handed to the connection.
    pub async fn send_media(&self, duration: Duration, video_kbps: u32) -> u64 {
        let start = Instant::now();
        let end = start + duration;
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let (mut seq, mut ts) = *self.rtp_clock.lock().unwrap_or_else(|e| e.into_inner());
        // Video bytes per 20 ms frame, cut into packets of at most 1100 bytes.
        let video_bytes = (video_kbps as usize * 1000 / 8) / 50;
        let mut sent = 0u64;
        let mut frames = 0u64;
        let payload = vec![0x5au8; 1100];
        while Instant::now() < end {
            tick.tick().await;
            // Frames owed by the clock, so a late wake-up catches up instead of sending less
            // (bounded, so a long stall does not turn into a burst).
            let due = (start.elapsed().as_millis() / 20) as u64 + 1;
            let owed = due.saturating_sub(frames).min(10);
            for _ in 0..owed {
                frames += 1;
                for (kind, track, ssrc) in &self.tracks {
                    let (i, chunks): (usize, Vec<usize>) = if *kind == RtpCodecKind::Audio {
                        (0, vec![80])
                    } else {
                        let mut left = video_bytes;
                        let mut v = vec![];
                        while left > 0 {
                            let n = left.min(1100);
                            v.push(n);
                            left -= n;
                        }
                        (1, v)
                    };
                    let n_chunks = chunks.len();
                    for (k, len) in chunks.into_iter().enumerate() {
                        let packet = rtp::Packet {
                            header: rtp::header::Header {
                                version: 2,
                                marker: k + 1 == n_chunks,
                                payload_type: super::peer::codec_for(*kind).payload_type,
                                sequence_number: seq[i],
                                timestamp: ts[i],
                                ssrc: *ssrc,
                                ..Default::default()
                            },
                            payload: bytes::Bytes::copy_from_slice(&payload[..len]),
                        };
                        seq[i] = seq[i].wrapping_add(1);
                        if track.write_rtp(packet).await.is_ok() {
                            sent += 1;
                        }
                    }
                    ts[i] = ts[i].wrapping_add(if i == 0 { 960 } else { 1800 });
                }
            }
        }
        *self.rtp_clock.lock().unwrap_or_else(|e| e.into_inner()) = (seq, ts);
        sent
    }

    /// Packets echoed back so far: (audio, video).
    pub fn echoed(&self) -> (u64, u64) {
        (
            self.shared.echoed_audio.load(Ordering::Relaxed),
            self.shared.echoed_video.load(Ordering::Relaxed),
        )
    }

    /// The next data-channel message (the check's result), within `within`.
    pub async fn next_message(&self, within: Duration) -> Option<String> {
        let mut rx = self.messages.lock().await;
        tokio::time::timeout(within, rx.recv()).await.ok().flatten()
    }

    /// The selected pair's (local, remote) candidate types, e.g. `("relay", "host")`.
    pub async fn selected_types(&self) -> Option<(String, String)> {
        let report = self.pc.get_stats(Instant::now(), StatsSelector::None).await;
        let id = report
            .transport()
            .map(|t| t.selected_candidate_pair_id.clone())?;
        let pair = report.candidate_pairs().find(|p| p.stats.id == id)?;
        let kind = |key: String| match report.get(&key) {
            Some(RTCStatsReportEntry::LocalCandidate(c))
            | Some(RTCStatsReportEntry::RemoteCandidate(c)) => match c.candidate_type {
                RTCIceCandidateType::Host => "host",
                RTCIceCandidateType::Srflx => "srflx",
                RTCIceCandidateType::Prflx => "prflx",
                RTCIceCandidateType::Relay => "relay",
                _ => "unknown",
            },
            // No stats for candidates learned from checks (see `peer::split_candidates`).
            _ => "prflx",
        };
        Some((
            kind(format!("RTCLocalIceCandidate_{}", pair.local_candidate_id)).to_string(),
            kind(format!(
                "RTCRemoteIceCandidate_{}",
                pair.remote_candidate_id
            ))
            .to_string(),
        ))
    }

    pub async fn close(&self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.pc.close()).await;
        if let Ok(mut t) = self.shared.tasks.lock() {
            for h in t.drain(..) {
                h.abort();
            }
        }
    }
}
