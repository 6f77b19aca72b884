// One consultation call: the signalling socket (DESIGN §6) and the RTCPeerConnection,
// shared by the citizen's join page and the clerk's page.
//
// - The socket needs a fresh single-use ticket for every (re)connect, so `fetchTicket`
//   is a callback; a dropped socket reconnects by itself with backoff.
// - Perfect negotiation: the clerk is impolite and makes the offer, the citizen is polite
//   and yields on glare. ICE candidates that arrive before the remote description are
//   buffered.
// - Reconnects: a peer that comes back (peer_joined of someone already connected) gets
//   an ICE restart. If the other side reloaded its page its RTCPeerConnection is new, and
//   an ICE restart cannot carry over the old DTLS session. To notice that, every payload
//   carries `pc`, a random id of the sender's RTCPeerConnection (the server relays payloads
//   opaque, so this stays within the protocol). A description from a different `pc` than
//   the one we negotiated with means "start over": both sides build fresh connections.
//
// Events (CustomEvent.detail): stage {stage}, peers {peers}, peer {kind, peer, reason},
// chat {fromId, name, role, text, at, mine}, remote {stream}, media {state},
// quality {level, rtt, loss}, screen {sharing}, closed {reason}, fatal {error}, error {code}.
// Stages: idle → connecting → waiting (citizen) → admitted → reconnecting → ended.

const PING_MS = 10_000;
const SILENCE_MS = 30_000; // no frame at all (not even pong) for this long: the socket is dead
const OPEN_TIMEOUT_MS = 10_000;
const DISCONNECTED_GRACE_MS = 4_000;
const WATCHDOG_MS = 15_000;
const QUALITY_MS = 3_000;

// peer_left reasons that mean "gone on purpose", so the media can be torn down at once.
// Any other reason (timeout, network) keeps the RTCPeerConnection: media often survives
// a signalling blip, and the peer's return triggers an ICE restart.
const DELIBERATE_LEAVE = new Set(['left', 'leave', 'hangup', 'hold', 'held', 'completed', 'cancelled', 'no_show']);
// closed reasons after which we must not reconnect.
const FINAL_CLOSE = new Set(['completed', 'cancelled', 'no_show', 'replaced']);

const idOf = (x) => (x && typeof x === 'object' ? x.id : x);
const randomId = () => [...crypto.getRandomValues(new Uint8Array(8))].map((b) => b.toString(16).padStart(2, '0')).join('');
const retryable = (err) => !err?.status || err.status >= 500 || err.status === 429 || err.status === 408;

function toWsUrl(url) {
  const u = new URL(url, location.href);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  return u.href;
}

export class CallSession extends EventTarget {
  /**
   * polite: true for the citizen. fetchTicket(): Promise<{ticket, ws_url, ice_servers}>.
   * localStream: the camera/mic stream (may be null, or audio only).
   */
  constructor({ polite, fetchTicket, localStream = null }) {
    super();
    this.polite = polite;
    this.fetchTicket = fetchTicket;
    this.localStream = localStream;
    this.screenTrack = null;
    this.iceServers = [];
    this.ws = null;
    this.me = null;
    this.peers = new Map();
    this.stage = 'idle';
    this.ended = false;
    this.welcomed = false; // true after the first welcome: later ones are reconnects
    this.retry = 0;
    this.connecting = false;
    this.timers = {};
    this.pendingCandidates = [];
    this.signalChain = Promise.resolve();
    this.resetPcState();
    this.onOnline = () => {
      if (this.stage === 'reconnecting') this.reconnectNow();
    };
    window.addEventListener('online', this.onOnline);
  }

  resetPcState() {
    this.pc = null;
    this.pcId = null;
    this.remotePcId = null;
    this.remoteId = null;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.settingAnswer = false;
    this.remoteStream = null;
  }

  emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  setStage(stage) {
    if (this.stage === stage) return;
    this.stage = stage;
    this.emit('stage', { stage });
  }

  // -------------------------------------------------------------------------
  // Socket

  /** Gets a ticket and connects. Safe to call again after a `fatal` (e.g. room_not_open). */
  start() {
    this.ended = false;
    this.retry = 0;
    this.setStage(this.welcomed ? 'reconnecting' : 'connecting');
    return this.connect();
  }

  async connect() {
    clearTimeout(this.timers.retry);
    if (this.connecting || this.ws || this.ended) return;
    this.connecting = true;
    let ticket;
    try {
      ticket = await this.fetchTicket();
    } catch (err) {
      this.connecting = false;
      if (this.ended) return;
      if (retryable(err)) {
        this.scheduleReconnect();
      } else {
        this.setStage('idle');
        this.emit('fatal', { error: err });
      }
      return;
    }
    this.connecting = false;
    if (this.ended) return;
    if (Array.isArray(ticket.ice_servers)) this.iceServers = ticket.ice_servers;
    this.openSocket(ticket.ws_url);
  }

  openSocket(url) {
    let ws;
    try {
      ws = new WebSocket(toWsUrl(url));
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.timers.open = setTimeout(() => {
      if (ws === this.ws && ws.readyState !== WebSocket.OPEN) this.dropSocket();
    }, OPEN_TIMEOUT_MS);
    ws.onopen = () => {
      clearTimeout(this.timers.open);
      this.lastHeard = Date.now();
      this.startHeartbeat();
    };
    ws.onmessage = (ev) => {
      if (ws !== this.ws) return;
      this.lastHeard = Date.now();
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      this.handle(msg);
    };
    ws.onclose = () => {
      if (ws === this.ws) this.socketLost();
    };
  }

  socketOpen() {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  send(msg) {
    if (!this.socketOpen()) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  startHeartbeat() {
    clearInterval(this.timers.ping);
    this.timers.ping = setInterval(() => {
      // A socket can die without a close event (NAT rebinding on 4G); silence tells.
      if (Date.now() - this.lastHeard > SILENCE_MS) this.dropSocket();
      else this.send({ type: 'ping' });
    }, PING_MS);
  }

  /** Abandons the current socket without waiting for a close handshake, then reconnects. */
  dropSocket() {
    const ws = this.ws;
    if (!ws) return;
    ws.onclose = ws.onmessage = ws.onopen = null;
    try {
      ws.close();
    } catch {
      /* already closed */
    }
    this.socketLost();
  }

  socketLost() {
    clearInterval(this.timers.ping);
    clearTimeout(this.timers.open);
    this.ws = null;
    if (this.ended) return;
    this.setStage('reconnecting');
    this.scheduleReconnect();
  }

  scheduleReconnect() {
    const delay = Math.min(500 * 2 ** this.retry, 10_000);
    this.retry += 1;
    clearTimeout(this.timers.retry);
    this.timers.retry = setTimeout(() => this.connect(), delay);
  }

  reconnectNow() {
    this.retry = 0;
    if (this.ws) this.dropSocket();
    else this.connect();
  }

  // -------------------------------------------------------------------------
  // Protocol

  handle(msg) {
    switch (msg.type) {
      case 'welcome':
        return this.onWelcome(msg);
      case 'waiting':
        this.closePc();
        return this.setStage('waiting');
      case 'admitted':
        return this.setStage('admitted');
      case 'peer_waiting':
        return this.onPeerWaiting(msg.peer);
      case 'peer_joined':
        return this.onPeerJoined(msg.peer);
      case 'peer_left':
        return this.onPeerLeft(msg.peer, msg.reason);
      case 'signal':
        return this.queueSignal(idOf(msg.from), msg.payload);
      case 'chat':
        return this.onChat(msg);
      case 'error':
        return this.emit('error', { code: msg.code, message: msg.message });
      case 'closed':
        return this.onClosed(msg.reason);
      default:
        return undefined; // pong and anything newer than this client
    }
  }

  onWelcome(msg) {
    const reconnect = this.welcomed;
    this.welcomed = true;
    this.retry = 0;
    this.me = msg.you || null;
    if (Array.isArray(msg.ice_servers)) this.iceServers = msg.ice_servers;
    this.peers = new Map((msg.peers || []).filter((p) => p?.id).map((p) => [p.id, p]));
    this.emitPeers();
    if (this.polite) {
      if (this.me?.state === 'admitted') {
        this.setStage('admitted');
        // Our path may have changed (network switch): new candidates on both sides.
        if (reconnect && this.pc) this.restartIce();
      } else {
        this.closePc();
        this.setStage('waiting');
      }
      return;
    }
    this.setStage('admitted'); // staff are in the room as soon as they are welcomed
    const citizen = this.citizen();
    if (citizen?.state === 'admitted') {
      if (this.pc && this.remoteId === citizen.id) this.restartIce();
      else this.startPc(citizen.id);
    }
  }

  onPeerWaiting(peer) {
    if (!peer?.id) return;
    this.peers.set(peer.id, peer);
    if (this.remoteId === peer.id) this.closePc(); // held, or back in the waiting room
    this.emitPeers();
    this.emit('peer', { kind: 'waiting', peer });
  }

  onPeerJoined(peer) {
    if (!peer?.id) return;
    const reconnect = !!this.pc && this.remoteId === peer.id;
    this.peers.set(peer.id, peer);
    this.emitPeers();
    if (reconnect) {
      this.restartIce();
    } else if (!this.polite && peer.role === 'citizen' && peer.state !== 'waiting') {
      this.startPc(peer.id); // the clerk makes the offer once the citizen is admitted
    }
    this.emit('peer', { kind: 'joined', peer, reconnect });
  }

  onPeerLeft(peerOrId, reason) {
    const id = idOf(peerOrId);
    const peer = this.peers.get(id) || (typeof peerOrId === 'object' ? peerOrId : { id });
    this.peers.delete(id);
    const deliberate = DELIBERATE_LEAVE.has(reason);
    if (deliberate && this.remoteId === id) this.closePc();
    this.emitPeers();
    this.emit('peer', { kind: 'left', peer, reason, deliberate });
  }

  onChat(msg) {
    const fromId = idOf(msg.from);
    if (this.me && fromId === this.me.id) return; // our own echo, already shown when sent
    const peer = this.peers.get(fromId) || (typeof msg.from === 'object' ? msg.from : {});
    this.emit('chat', {
      fromId, name: peer.name, role: peer.role, text: String(msg.text ?? ''),
      at: msg.at || new Date().toISOString(), mine: false,
    });
  }

  onClosed(reason) {
    if (FINAL_CLOSE.has(reason)) {
      this.finish();
      this.emit('closed', { reason });
      return;
    }
    // Server restart or a room closed for now: come back at once. The next ticket
    // request says whether the room is really over (room_closed …).
    this.retry = 0;
    this.dropSocket();
  }

  emitPeers() {
    this.emit('peers', { peers: [...this.peers.values()] });
  }

  citizen() {
    return [...this.peers.values()].find((p) => p.role === 'citizen') || null;
  }

  // -------------------------------------------------------------------------
  // Commands for the pages

  admit(participantId) {
    return this.send({ type: 'admit', participant: participantId });
  }

  hold(participantId) {
    if (this.remoteId === participantId) this.closePc();
    return this.send({ type: 'hold', participant: participantId });
  }

  sendChat(text) {
    const clean = String(text).trim();
    if (!clean || !this.send({ type: 'chat', text: clean })) return false;
    this.emit('chat', {
      fromId: this.me?.id, name: this.me?.name, role: this.me?.role, text: clean,
      at: new Date().toISOString(), mine: true,
    });
    return true;
  }

  /** Hang up: tell the room, then drop media and socket. */
  leave() {
    this.send({ type: 'leave' });
    this.finish();
  }

  finish() {
    this.ended = true;
    for (const id of Object.values(this.timers)) {
      clearTimeout(id);
      clearInterval(id);
    }
    this.timers = {};
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = ws.onmessage = ws.onopen = null;
      try {
        ws.close(1000);
      } catch {
        /* already closed */
      }
    }
    this.closePc();
    if (this.screenTrack) {
      this.screenTrack.stop();
      this.screenTrack = null;
    }
    window.removeEventListener('online', this.onOnline);
    this.setStage('ended');
  }

  setAudioEnabled(on) {
    for (const t of this.localStream?.getAudioTracks() || []) t.enabled = on;
  }

  // Disabling the track (not removing it) sends black frames: no renegotiation needed.
  setVideoEnabled(on) {
    for (const t of this.localStream?.getVideoTracks() || []) t.enabled = on;
  }

  async startScreenShare() {
    const display = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    const track = display.getVideoTracks()[0];
    if (!track) return;
    this.screenTrack = track;
    track.addEventListener('ended', () => this.stopScreenShare());
    await this.useVideoTrack(track);
    this.emit('screen', { sharing: true, track });
  }

  async stopScreenShare() {
    const track = this.screenTrack;
    if (!track) return;
    this.screenTrack = null;
    track.stop();
    await this.useVideoTrack(this.localStream?.getVideoTracks()[0] || null);
    this.emit('screen', { sharing: false });
  }

  /** Swaps what we send as video (camera, screen, or nothing) without a new connection. */
  async useVideoTrack(track) {
    const pc = this.pc;
    if (!pc) return;
    const tr = pc.getTransceivers().find((t) => !t.stopped && (t.sender.track?.kind === 'video' || t.receiver.track?.kind === 'video'));
    if (tr) {
      await tr.sender.replaceTrack(track);
      // An audio-only start negotiated video as receive-only; widen it (renegotiates).
      if (track && (tr.direction === 'recvonly' || tr.direction === 'inactive')) tr.direction = 'sendrecv';
    } else if (track) {
      pc.addTrack(track, this.localStream || new MediaStream([track]));
    }
  }

  /** Sum of decoded inbound video frames (what the browser tests check). */
  async videoFramesDecoded() {
    if (!this.pc) return 0;
    let n = 0;
    (await this.pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') n += s.framesDecoded || 0;
    });
    return n;
  }

  // -------------------------------------------------------------------------
  // Peer connection

  /** Clerk side: a fresh connection to `remoteId`, tracks added, which triggers the offer. */
  startPc(remoteId) {
    this.closePc();
    this.createPc(remoteId, true);
    this.armWatchdog();
  }

  createPc(remoteId, withTracks) {
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    this.resetPcState();
    this.pc = pc;
    this.pcId = randomId();
    this.remoteId = remoteId;
    this.remoteStream = new MediaStream();
    this.emit('remote', { stream: this.remoteStream });
    pc.ontrack = ({ track }) => {
      if (pc !== this.pc) return;
      this.remoteStream.addTrack(track);
      this.emit('remote', { stream: this.remoteStream });
    };
    pc.onicecandidate = ({ candidate }) => {
      if (pc === this.pc && candidate) this.sendSignal({ candidate });
    };
    pc.onnegotiationneeded = () => this.makeOffer(pc);
    pc.onconnectionstatechange = () => this.onPcState(pc);
    if (withTracks) this.addLocalTracks(pc);
    return pc;
  }

  addLocalTracks(pc) {
    const stream = this.localStream || new MediaStream();
    const audio = this.localStream?.getAudioTracks()[0];
    const video = this.screenTrack || this.localStream?.getVideoTracks()[0];
    // The offerer asks to receive both kinds even when it has nothing to send, so an
    // audio-only clerk still sees the citizen (and the other way round).
    if (audio) pc.addTrack(audio, stream);
    else if (!this.polite) pc.addTransceiver('audio', { direction: 'recvonly' });
    if (video) pc.addTrack(video, stream);
    else if (!this.polite) pc.addTransceiver('video', { direction: 'recvonly' });
  }

  closePc() {
    const pc = this.pc;
    if (!pc) return;
    pc.ontrack = pc.onicecandidate = pc.onnegotiationneeded = pc.onconnectionstatechange = null;
    pc.close();
    clearTimeout(this.timers.disc);
    clearTimeout(this.timers.watch);
    clearInterval(this.timers.quality);
    this.timers.quality = null;
    this.timers.watch = null;
    this.resetPcState();
    this.emit('remote', { stream: null });
    this.emit('media', { state: 'closed' });
  }

  async makeOffer(pc) {
    if (pc !== this.pc || !this.remoteId) return;
    try {
      this.makingOffer = true;
      await pc.setLocalDescription();
      if (pc === this.pc) this.sendSignal({ description: pc.localDescription });
    } catch (err) {
      console.warn('loket: offer failed', err);
    } finally {
      this.makingOffer = false;
    }
  }

  sendSignal(payload) {
    const body = JSON.parse(JSON.stringify(payload)); // the browser's own JSON form
    body.pc = this.pcId;
    this.send({ type: 'signal', to: this.remoteId, payload: body });
  }

  queueSignal(from, payload) {
    // Handle signals strictly one after another: perfect negotiation assumes it.
    this.signalChain = this.signalChain
      .then(() => this.onSignal(from, payload))
      .catch((err) => console.warn('loket: signal failed', err));
  }

  async onSignal(from, payload) {
    if (!from || !payload || typeof payload !== 'object') return;
    const { description, candidate, pc: rid } = payload;

    if (candidate) {
      if (this.pc && this.remoteId === from && rid && this.remotePcId && rid !== this.remotePcId) return; // from a connection that is gone
      if (!this.pc || this.remoteId !== from || !this.pc.remoteDescription) {
        this.pendingCandidates.push({ from, rid, candidate });
        return;
      }
      try {
        await this.pc.addIceCandidate(candidate);
      } catch (err) {
        if (!this.ignoreOffer) console.warn('loket: candidate rejected', err);
      }
      return;
    }
    if (!description?.type) return;

    let addTracksAfter = false;
    if (!this.pc || this.remoteId !== from) {
      if (description.type !== 'offer') return; // an answer to an offer we no longer have
      if (this.polite) {
        // Create on demand and add our tracks after the offer is applied, so they reuse
        // the offered transceivers instead of provoking an offer of our own.
        this.closePc();
        this.createPc(from, false);
        addTracksAfter = true;
      } else {
        this.startPc(from);
      }
    } else if (rid && this.remotePcId && rid !== this.remotePcId) {
      // The other side has a brand-new RTCPeerConnection (page reload or rebuild).
      if (this.polite) {
        this.closePc();
        this.createPc(from, false);
        addTracksAfter = true;
      } else {
        this.startPc(from); // our fresh connection offers by itself
        if (description.type === 'answer') return;
      }
    }

    const pc = this.pc;
    const readyForOffer = !this.makingOffer && (pc.signalingState === 'stable' || this.settingAnswer);
    const collision = description.type === 'offer' && !readyForOffer;
    this.ignoreOffer = !this.polite && collision;
    if (this.ignoreOffer) return;
    if (rid) this.remotePcId = rid;

    this.settingAnswer = description.type === 'answer';
    try {
      await pc.setRemoteDescription(description); // rolls back our own offer on glare
    } finally {
      this.settingAnswer = false;
    }
    if (pc !== this.pc) return;
    if (addTracksAfter) this.addLocalTracks(pc);
    await this.flushCandidates(pc, from);
    if (description.type === 'offer') {
      await pc.setLocalDescription();
      if (pc === this.pc) this.sendSignal({ description: pc.localDescription });
    }
  }

  async flushCandidates(pc, from) {
    const queued = this.pendingCandidates;
    this.pendingCandidates = [];
    for (const c of queued) {
      if (c.from !== from || (c.rid && this.remotePcId && c.rid !== this.remotePcId)) continue;
      try {
        await pc.addIceCandidate(c.candidate);
      } catch {
        /* stale candidate from an earlier round */
      }
    }
  }

  async restartIce() {
    const pc = this.pc;
    if (!pc) return;
    try {
      // TURN credentials are short-lived; the new ticket brought fresh ones.
      pc.setConfiguration({ ...pc.getConfiguration(), iceServers: this.iceServers });
    } catch {
      /* keep the old configuration */
    }
    if (pc.signalingState === 'have-local-offer' && !this.makingOffer) {
      // Our last offer may never be answered (the peer reloaded or its socket was
      // replaced before it could). Take it back, or no new offer can be made.
      try {
        await pc.setLocalDescription({ type: 'rollback' });
      } catch {
        /* already answered meanwhile */
      }
      if (pc !== this.pc) return;
    }
    pc.restartIce(); // → negotiationneeded → an offer with new ICE credentials
    if (!this.timers.watch) this.armWatchdog();
  }

  onPcState(pc) {
    if (pc !== this.pc) return;
    const state = pc.connectionState;
    this.emit('media', { state });
    clearTimeout(this.timers.disc);
    if (state === 'connected') {
      clearTimeout(this.timers.watch);
      this.timers.watch = null;
      this.startQuality();
    } else if (state === 'failed') {
      if (this.socketOpen()) this.restartIce();
    } else if (state === 'disconnected') {
      // Often recovers by itself within a second or two; restart only if it does not.
      this.timers.disc = setTimeout(() => {
        if (this.pc === pc && pc.connectionState === 'disconnected' && this.socketOpen()) this.restartIce();
      }, DISCONNECTED_GRACE_MS);
    }
  }

  /** If a (re)negotiation does not connect in time, the clerk starts over with a fresh connection. */
  armWatchdog() {
    clearTimeout(this.timers.watch);
    this.timers.watch = setTimeout(() => {
      this.timers.watch = null;
      const pc = this.pc;
      if (!pc || pc.connectionState === 'connected' || !this.socketOpen()) return;
      if (!this.peers.has(this.remoteId)) return; // nobody to talk to yet
      if (this.polite) this.restartIce();
      else this.startPc(this.remoteId);
    }, WATCHDOG_MS);
  }

  startQuality() {
    if (this.timers.quality) return;
    this.prevStats = null;
    this.sampleQuality().catch(() => {}); // baseline, so the first hint comes one interval later
    this.timers.quality = setInterval(() => this.sampleQuality().catch(() => {}), QUALITY_MS);
  }

  async sampleQuality() {
    const pc = this.pc;
    if (!pc) return;
    let rtt = null;
    let lost = 0;
    let received = 0;
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded' && typeof s.currentRoundTripTime === 'number') {
        rtt = s.currentRoundTripTime;
      } else if (s.type === 'inbound-rtp') {
        lost += s.packetsLost || 0;
        received += s.packetsReceived || 0;
      }
    });
    const prev = this.prevStats;
    this.prevStats = { lost, received };
    if (!prev) return;
    const dLost = Math.max(0, lost - prev.lost);
    const dRecv = Math.max(0, received - prev.received);
    if (rtt === null && dRecv === 0) return; // nothing to judge by
    const loss = dLost + dRecv > 0 ? dLost / (dLost + dRecv) : 0;
    const r = rtt ?? 0;
    let level = 'good';
    if (r > 0.6 || loss > 0.08) level = 'poor';
    else if (r > 0.3 || loss > 0.02) level = 'fair';
    this.emit('quality', { level, rtt, loss });
  }
}
