// The call screen shared by the join page and the clerk page: videos, mute, camera,
// screen share, chat, connection status and quality. Both pages use the same element
// ids (remote-video, local-video, call-*, chat-*), so one binding serves both.

import { setI18n, setDate } from './i18n.js';
import { byId, el, show } from './dom.js';

/**
 * Wires a CallSession to the call controls. `peerLabel(chatEvent)` names the sender of
 * a chat line. Returns {destroy}. Hanging up is left to the page: what follows the
 * call differs (survey for the citizen, notes for the clerk).
 */
export function bindCallUi(call, { peerLabel } = {}) {
  const remote = byId('remote-video');
  const local = byId('local-video');
  const mute = byId('call-mute');
  const camera = byId('call-camera');
  const share = byId('call-share');
  const status = byId('call-status');
  const quality = byId('call-quality');
  const playBtn = byId('play-media');
  const chatForm = byId('chat-form');
  const chatInput = byId('chat-input');
  const chatLog = byId('chat-log');
  const chatError = byId('chat-error');
  const off = [];
  const on = (target, type, fn) => {
    target.addEventListener(type, fn);
    off.push(() => target.removeEventListener(type, fn));
  };

  let muted = false;
  let cameraOff = false;
  let poorSamples = 0;

  function showLocal() {
    const track = call.screenTrack || call.localStream?.getVideoTracks()[0];
    local.srcObject = track ? new MediaStream([track]) : null;
    local.classList.toggle('mirrored', !call.screenTrack);
    show(local, !!track);
  }

  function renderButtons() {
    const hasAudio = !!call.localStream?.getAudioTracks().length;
    const hasVideo = !!call.localStream?.getVideoTracks().length;
    mute.disabled = !hasAudio;
    mute.setAttribute('aria-pressed', String(muted));
    setI18n(mute, muted ? 'call.unmute' : 'call.mute');
    camera.disabled = !hasVideo;
    camera.setAttribute('aria-pressed', String(cameraOff));
    setI18n(camera, cameraOff ? 'call.camera_on' : 'call.camera_off');
    // Hide what cannot work: screen sharing is for computers.
    show(share, canShareScreen());
    share.setAttribute('aria-pressed', String(!!call.screenTrack));
    setI18n(share, call.screenTrack ? 'call.share_stop' : 'call.share');
  }

  const setStatus = (key, params) => {
    if (status.dataset.i18n === key && !params) return; // avoid repeating announcements
    setI18n(status, key, params);
  };

  async function tryPlay() {
    if (!remote.srcObject) return;
    try {
      await remote.play();
      show(playBtn, false);
    } catch {
      // Autoplay with sound needs a tap after a reload; offer one.
      show(playBtn, true);
    }
  }

  on(mute, 'click', () => {
    muted = !muted;
    call.setAudioEnabled(!muted);
    renderButtons();
  });
  on(camera, 'click', () => {
    cameraOff = !cameraOff;
    call.setVideoEnabled(!cameraOff);
    renderButtons();
  });
  on(share, 'click', async () => {
    try {
      if (call.screenTrack) await call.stopScreenShare();
      else await call.startScreenShare();
    } catch {
      setStatus('call.share_failed');
    }
  });
  on(playBtn, 'click', tryPlay);

  on(chatForm, 'submit', (ev) => {
    ev.preventDefault();
    if (!chatInput.value.trim()) return;
    if (call.sendChat(chatInput.value)) {
      chatInput.value = '';
      show(chatError, false);
    } else {
      setI18n(chatError, 'chat.not_sent');
      show(chatError, true);
    }
  });

  on(call, 'chat', ({ detail }) => {
    const who = detail.mine ? el('span', { class: 'chat-who', i18n: 'chat.you' }) : el('span', { class: 'chat-who', text: peerLabel?.(detail) || detail.name || '' });
    const time = el('span', { class: 'chat-time' });
    setDate(time, detail.at, 'time');
    chatLog.append(el('li', { class: detail.mine ? 'chat-line mine' : 'chat-line', data: { testid: 'chat-message' } }, [
      who, ' ', time, el('span', { class: 'chat-text', text: detail.text }),
    ]));
    chatLog.scrollTop = chatLog.scrollHeight;
  });

  on(call, 'remote', ({ detail }) => {
    if (remote.srcObject !== detail.stream) remote.srcObject = detail.stream;
    tryPlay();
  });

  on(call, 'media', ({ detail }) => {
    if (call.stage !== 'admitted') return;
    if (detail.state === 'connected') setStatus('call.connected');
    else if (detail.state === 'new' || detail.state === 'connecting') setStatus('call.connecting');
    else if (detail.state === 'disconnected' || detail.state === 'failed') setStatus('call.reconnecting');
    if (detail.state !== 'connected') show(quality, false);
  });

  on(call, 'stage', ({ detail }) => {
    if (detail.stage === 'reconnecting') setStatus('call.reconnecting');
    if (detail.stage === 'admitted') {
      const media = call.pc?.connectionState;
      setStatus(media === 'connected' ? 'call.connected' : call.pc ? 'call.connecting' : 'call.waiting_peer');
    }
  });

  on(call, 'quality', ({ detail }) => {
    poorSamples = detail.level === 'poor' ? poorSamples + 1 : 0;
    // After ~10 s of a poor line, suggest dropping video: voice matters most.
    const key = poorSamples >= 3 && !cameraOff && call.localStream?.getVideoTracks().length ? 'call.quality_poor_tip' : `call.quality_${detail.level}`;
    setI18n(quality, key);
    quality.className = `quality quality-${detail.level}`;
    show(quality, true);
  });

  on(call, 'screen', () => {
    showLocal();
    renderButtons();
  });

  // A camera that dies mid-call (unplugged, taken by another app): carry on with voice.
  for (const track of call.localStream?.getVideoTracks() || []) {
    track.addEventListener('ended', () => {
      if (call.screenTrack) return;
      call.useVideoTrack(null);
      call.localStream.removeTrack(track);
      showLocal();
      renderButtons();
      setStatus('call.camera_lost');
    }, { once: true });
  }

  showLocal();
  renderButtons();
  return {
    setStatus,
    destroy() {
      for (const f of off) f();
      remote.srcObject = null;
      local.srcObject = null;
    },
  };
}

/**
 * Whether this browser can share a screen. Phone browsers either have no getDisplayMedia
 * (Safari on iOS, Chrome on Android) or one that cannot capture anything useful, so a
 * browser that says it is on a phone (client hints, else the user agent) is not offered it
 * either, even when the function exists.
 */
export function canShareScreen() {
  if (!navigator.mediaDevices?.getDisplayMedia) return false;
  if (navigator.userAgentData) return !navigator.userAgentData.mobile;
  return !/Android|iPhone|iPad|iPod|Mobile/i.test(navigator.userAgent);
}
