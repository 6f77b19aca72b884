//! The proof that Loket's signalling is enough for a real call: two webrtc-rs peers — the clerk
//! (who makes the offer, as DESIGN §6 says) and the citizen — exchange SDP and trickled ICE
//! candidates ONLY through Loket's WebSocket, in the browser's JSON forms (`{description}`,
//! `{candidate}`), then open a data channel, exchange a message, and stream a VP8 track whose
//! frames arrive on the other side. Peers bind to 127.0.0.1 only.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use futures_util::StreamExt;
use rtc::media::Sample;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::MIME_TYPE_VP8;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    RtpCodecKind,
};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCIceCandidateInit, RTCPeerConnectionIceEvent, RTCPeerConnectionState, RTCSdpType,
    RTCSessionDescription,
};

use crate::ws::{Ws, in_call, open_app};

const TIMEOUT: Duration = Duration::from_secs(20);
const FRAMES: usize = 30;

/// Forwards a peer connection's events into channels the test reads.
struct Events {
    candidates: mpsc::Sender<RTCIceCandidateInit>,
    states: mpsc::Sender<RTCPeerConnectionState>,
    channels: mpsc::Sender<Arc<dyn DataChannel>>,
    tracks: mpsc::Sender<Arc<dyn TrackRemote>>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Events {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if let Ok(init) = event.candidate.to_json() {
            let _ = self.candidates.send(init).await;
        }
    }
    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.states.send(state).await;
    }
    async fn on_data_channel(&self, dc: Arc<dyn DataChannel>) {
        let _ = self.channels.send(dc).await;
    }
    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let _ = self.tracks.send(track).await;
    }
}

struct Peer {
    pc: Arc<dyn PeerConnection>,
    candidates: mpsc::Receiver<RTCIceCandidateInit>,
    states: mpsc::Receiver<RTCPeerConnectionState>,
    channels: mpsc::Receiver<Arc<dyn DataChannel>>,
    tracks: mpsc::Receiver<Arc<dyn TrackRemote>>,
}

fn vp8() -> RTCRtpCodecParameters {
    RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: MIME_TYPE_VP8.to_owned(),
            clock_rate: 90_000,
            channels: 0,
            sdp_fmtp_line: String::new(),
            rtcp_feedback: vec![],
        },
        payload_type: 96,
    }
}

async fn peer() -> anyhow::Result<Peer> {
    let (candidates_tx, candidates) = mpsc::channel(64);
    let (states_tx, states) = mpsc::channel(64);
    let (channels_tx, channels) = mpsc::channel(4);
    let (tracks_tx, tracks) = mpsc::channel(4);
    let mut media = MediaEngine::default();
    media.register_codec(vp8(), RtpCodecKind::Video)?;
    let pc = PeerConnectionBuilder::new()
        .with_media_engine(media)
        .with_handler(Arc::new(Events {
            candidates: candidates_tx,
            states: states_tx,
            channels: channels_tx,
            tracks: tracks_tx,
        }))
        .with_udp_addrs(vec!["127.0.0.1:0".to_string()])
        .build()
        .await?;
    Ok(Peer {
        pc: Arc::new(pc),
        candidates,
        states,
        channels,
        tracks,
    })
}

/// One side's signalling over Loket: sends `outgoing` payloads and the peer connection's own
/// candidates to `peer`, and applies what arrives — descriptions (answering an offer) and
/// candidates, holding early candidates until the remote description is set (STACK.md).
/// Runs until `stop` fires; returns how many signals came from the peer through Loket.
async fn signalling(
    mut ws: Ws,
    pc: Arc<dyn PeerConnection>,
    peer: Value,
    mut local: mpsc::Receiver<RTCIceCandidateInit>,
    mut outgoing: mpsc::Receiver<Value>,
    mut stop: oneshot::Receiver<()>,
) -> anyhow::Result<usize> {
    let mut remote_set = false;
    let mut early: Vec<RTCIceCandidateInit> = Vec::new();
    let mut relayed = 0;
    loop {
        tokio::select! {
            _ = &mut stop => return Ok(relayed),
            Some(c) = local.recv() => {
                ws.send(json!({"type": "signal", "to": peer, "payload": {"candidate": c}})).await;
            }
            Some(payload) = outgoing.recv() => {
                ws.send(json!({"type": "signal", "to": peer, "payload": payload})).await;
            }
            frame = ws.inner.next() => {
                let text = match frame {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) | None => return Ok(relayed),
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(e.into()),
                };
                let msg: Value = serde_json::from_str(text.as_str())?;
                if msg["type"] != "signal" {
                    continue;
                }
                relayed += 1;
                anyhow::ensure!(msg["from"] == peer, "a signal from {} only", peer);
                let payload = &msg["payload"];
                if let Some(d) = payload.get("description") {
                    let desc: RTCSessionDescription = serde_json::from_value(d.clone())?;
                    let offer = desc.sdp_type == RTCSdpType::Offer;
                    pc.set_remote_description(desc).await?;
                    remote_set = true;
                    for c in early.drain(..) {
                        pc.add_ice_candidate(c).await?;
                    }
                    if offer {
                        let answer = pc.create_answer(None).await?;
                        pc.set_local_description(answer.clone()).await?;
                        ws.send(json!({"type": "signal", "to": peer, "payload": {"description": answer}})).await;
                    }
                } else if let Some(c) = payload.get("candidate").filter(|c| !c.is_null()) {
                    let init: RTCIceCandidateInit = serde_json::from_value(c.clone())?;
                    if remote_set {
                        pc.add_ice_candidate(init).await?;
                    } else {
                        early.push(init);
                    }
                }
            }
        }
    }
}

async fn connected(states: &mut mpsc::Receiver<RTCPeerConnectionState>) -> anyhow::Result<()> {
    loop {
        match tokio::time::timeout(TIMEOUT, states.recv()).await? {
            Some(RTCPeerConnectionState::Connected) => return Ok(()),
            Some(RTCPeerConnectionState::Failed) => anyhow::bail!("connection failed"),
            Some(_) => continue,
            None => anyhow::bail!("state channel closed"),
        }
    }
}

/// Waits for the channel to open, then returns its next text message.
async fn next_text(dc: &Arc<dyn DataChannel>) -> anyhow::Result<String> {
    loop {
        match tokio::time::timeout(TIMEOUT, dc.poll()).await? {
            Some(DataChannelEvent::OnMessage(m)) => return Ok(String::from_utf8(m.data.to_vec())?),
            Some(DataChannelEvent::OnClose) | None => anyhow::bail!("channel closed"),
            Some(_) => continue,
        }
    }
}

async fn opened(dc: &Arc<dyn DataChannel>) -> anyhow::Result<()> {
    loop {
        match tokio::time::timeout(TIMEOUT, dc.poll()).await? {
            Some(DataChannelEvent::OnOpen) => return Ok(()),
            Some(DataChannelEvent::OnClose) | None => anyhow::bail!("channel closed"),
            Some(_) => continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_webrtc_peers_connect_through_loket_signalling_alone() -> anyhow::Result<()> {
    let app = open_app().await;
    let call = in_call(&app, "081277700001").await;
    let (citizen_ws, clerk_ws) = (call.citizen, call.clerk);
    let (citizen_id, clerk_id) = (call.citizen_p["id"].clone(), call.clerk_p["id"].clone());

    let mut clerk = peer().await?;
    let mut citizen = peer().await?;

    // The clerk's side: a data channel and a camera track, then the offer.
    let dc = clerk.pc.create_data_channel("loket-chat", None).await?;
    let ssrc = 0x4c4f_4b45;
    let track = Arc::new(TrackLocalStaticSample::new(
        Instant::now(),
        MediaStreamTrack::new(
            "loket-clerk".to_string(),
            "camera".to_string(),
            "camera".to_string(),
            RtpCodecKind::Video,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(ssrc),
                    ..Default::default()
                },
                codec: vp8().rtp_codec,
                ..Default::default()
            }],
        ),
    )?);
    let sender = clerk
        .pc
        .add_track(Arc::clone(&track) as Arc<dyn TrackLocal>)
        .await?;

    let (clerk_out, clerk_out_rx) = mpsc::channel(4);
    let (_citizen_out, citizen_out_rx) = mpsc::channel::<Value>(4);
    let (stop_clerk, clerk_stop) = oneshot::channel();
    let (stop_citizen, citizen_stop) = oneshot::channel();
    let clerk_sig = tokio::spawn(signalling(
        clerk_ws,
        clerk.pc.clone(),
        citizen_id,
        std::mem::replace(&mut clerk.candidates, mpsc::channel(1).1),
        clerk_out_rx,
        clerk_stop,
    ));
    let citizen_sig = tokio::spawn(signalling(
        citizen_ws,
        citizen.pc.clone(),
        clerk_id,
        std::mem::replace(&mut citizen.candidates, mpsc::channel(1).1),
        citizen_out_rx,
        citizen_stop,
    ));
    let offer = clerk.pc.create_offer(None).await?;
    clerk.pc.set_local_description(offer.clone()).await?;
    clerk_out.send(json!({"description": offer})).await?;

    connected(&mut clerk.states).await?;
    connected(&mut citizen.states).await?;

    // The data channel: open on both sides, a message each way.
    opened(&dc).await?;
    let remote_dc = tokio::time::timeout(TIMEOUT, citizen.channels.recv())
        .await?
        .ok_or_else(|| anyhow::anyhow!("no data channel"))?;
    assert_eq!(remote_dc.label().await?, "loket-chat");
    dc.send_text("Selamat siang, Bapak").await?;
    assert_eq!(next_text(&remote_dc).await?, "Selamat siang, Bapak");
    remote_dc.send_text("Siang, Bu").await?;
    assert_eq!(next_text(&dc).await?, "Siang, Bu");

    // Video: FRAMES VP8 samples, each larger than one packet; count the frames that arrive.
    let payload_type = sender
        .get_parameters()
        .await?
        .rtp_parameters
        .codecs
        .first()
        .map(|c| c.payload_type)
        .ok_or_else(|| anyhow::anyhow!("no negotiated codec"))?;
    let (frames_tx, mut frames_rx) = mpsc::channel::<(u32, u8, bool)>(1024);
    let receiver = tokio::spawn(async move {
        let Some(remote) = citizen.tracks.recv().await else {
            return false;
        };
        while let Some(ev) = remote.poll().await {
            if let TrackRemoteEvent::OnRtpPacket(p) = ev {
                if frames_tx
                    .send((p.header.timestamp, p.header.payload_type, p.header.marker))
                    .await
                    .is_err()
                {
                    break;
                }
            }
        }
        true
    });
    let writer = tokio::spawn(async move {
        for i in 0..FRAMES {
            // A keyframe-shaped VP8 payload (bit 0 of the first byte clear), 2 kB.
            let mut frame = vec![0x10u8; 2000];
            frame[1] = i as u8;
            track
                .sample_writer(ssrc, payload_type)
                .write_sample(&Sample {
                    data: Bytes::from(frame),
                    duration: Duration::from_millis(33),
                    ..Sample::new(Instant::now())
                })
                .await?;
            tokio::time::sleep(Duration::from_millis(33)).await;
        }
        anyhow::Ok(())
    });
    let mut timestamps = BTreeSet::new();
    let mut ends = 0;
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while ends < FRAMES {
        let Ok(Some((ts, pt, marker))) = tokio::time::timeout_at(deadline, frames_rx.recv()).await
        else {
            break;
        };
        assert_eq!(pt, payload_type);
        timestamps.insert(ts);
        ends += usize::from(marker);
    }
    writer.await??;
    assert_eq!(
        timestamps.len(),
        FRAMES,
        "every frame arrived (distinct RTP timestamps)"
    );
    assert_eq!(ends, FRAMES, "every frame's last packet arrived");

    // The citizen's side got the clerk's track as a remote track; with the frames counted it
    // stops forwarding.
    drop(frames_rx);
    clerk.pc.close().await?;
    citizen.pc.close().await?;
    assert!(
        tokio::time::timeout(TIMEOUT, receiver).await??,
        "the citizen got the clerk's track"
    );
    // Both signalling loops ran without error until stopped, and each got the other's signals
    // through Loket: the clerk the answer (and candidates), the citizen the offer (and
    // candidates).
    let _ = (stop_clerk.send(()), stop_citizen.send(()));
    let from_citizen = tokio::time::timeout(TIMEOUT, clerk_sig).await???;
    let from_clerk = tokio::time::timeout(TIMEOUT, citizen_sig).await???;
    assert!(from_citizen >= 1, "the clerk got {from_citizen} signals");
    assert!(from_clerk >= 1, "the citizen got {from_clerk} signals");
    Ok(())
}
