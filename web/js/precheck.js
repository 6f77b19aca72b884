// The pre-call check (docs/precheck.md): a WebRTC connection to Loket itself, which echoes our
// camera and microphone back and answers with a verdict — good, audio only, or will not
// connect — and the reasons. One HTTP round trip: the offer goes out with all its candidates.
//
// Used by the join page before the waiting room (join.js). Element ids: web/README.md.

import { api } from './api.js';
import { byId, el, show } from './dom.js';
import { setI18n } from './i18n.js';

const GATHER_MS = 5000;

function gathered(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState === 'complete') {
        pc.removeEventListener('icegatheringstatechange', done);
        resolve();
      }
    };
    pc.addEventListener('icegatheringstatechange', done);
    // Some networks never finish gathering (an unreachable STUN/TURN server): go with what we have.
    setTimeout(resolve, GATHER_MS);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/// Runs one check with the tracks of `stream` (may be null: then nothing is sent and the verdict
/// says so). `echo` is a <video> that shows what came back. Resolves with the result object, or
/// throws an ApiError (429 rate_limited, 503 precheck_busy, …).
export async function runPrecheck(token, stream, echo) {
  const config = await api('/precheck/config', { token });
  const pc = new RTCPeerConnection({ iceServers: config.ice_servers || [] });
  try {
    const tracks = stream ? stream.getTracks() : [];
    for (const track of tracks) pc.addTrack(track, stream);
    if (!tracks.some((tr) => tr.kind === 'audio')) pc.addTransceiver('audio', { direction: 'recvonly' });
    const channel = pc.createDataChannel(config.data_channel || 'precheck');
    const pushed = new Promise((resolve) => {
      channel.addEventListener('message', (e) => {
        try {
          resolve(JSON.parse(e.data));
        } catch {
          /* polling gets it instead */
        }
      });
    });
    const echoStream = new MediaStream();
    pc.addEventListener('track', (e) => {
      echoStream.addTrack(e.track);
      if (echo) {
        echo.srcObject = echoStream;
        show(echo, true);
      }
    });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const started = await api('/precheck/offer', {
      method: 'POST',
      token,
      body: { type: 'offer', sdp: pc.localDescription.sdp },
    });
    await pc.setRemoteDescription(started.answer);
    const deadline = Date.now() + ((started.max_seconds || 30) + 10) * 1000;
    const polled = (async () => {
      while (Date.now() < deadline) {
        await sleep(1000);
        const s = await api(`/precheck/${started.id}`, { token }).catch(() => null);
        if (s?.state === 'finished') return s;
      }
      return null;
    })();
    const result = await Promise.race([pushed, polled]);
    if (!result) throw new Error('precheck_timeout');
    return result;
  } finally {
    if (echo) {
      echo.srcObject = null;
      show(echo, false);
    }
    pc.close();
  }
}

// What to try, per reason (the keys are in i18n/*.json).
const ADVICE = {
  no_connection: ['precheck.advice.switch_network', 'precheck.advice.phone_callback'],
  no_media: ['precheck.advice.allow_camera', 'precheck.advice.switch_network'],
  no_audio: ['precheck.advice.allow_camera'],
  no_camera: ['precheck.advice.allow_camera'],
  no_video: ['precheck.advice.allow_camera', 'precheck.advice.close_apps'],
  high_loss: ['precheck.advice.switch_network', 'precheck.advice.close_apps'],
  severe_loss: ['precheck.advice.switch_network', 'precheck.advice.phone_callback'],
  high_rtt: ['precheck.advice.switch_network'],
  high_jitter: ['precheck.advice.switch_network', 'precheck.advice.close_apps'],
  low_bitrate: ['precheck.advice.switch_network', 'precheck.advice.close_apps'],
};

/// Shows a result in the check's box: the verdict, each reason, and what to try.
export function renderPrecheck(result) {
  const box = byId('precheck-verdict');
  box.dataset.verdict = result.verdict;
  box.className = `alert ${result.verdict === 'good' ? 'alert-info' : result.verdict === 'audio_only' ? 'alert-warning' : 'alert-error'}`;
  setI18n(byId('precheck-verdict-text'), `precheck.verdict.${result.verdict}`);
  const reasons = (result.reasons || []).map((r) => {
    const li = el('li');
    setI18n(li, r.i18n_key || `precheck.reason.${r.code}`);
    return li;
  });
  byId('precheck-reasons').replaceChildren(...reasons);
  const keys = new Set();
  for (const r of result.reasons || []) for (const k of ADVICE[r.code] || []) keys.add(k);
  if (result.verdict !== 'good') keys.add('precheck.advice.phone_callback');
  const advice = [...keys].map((k) => {
    const li = el('li');
    setI18n(li, k);
    return li;
  });
  byId('precheck-advice').replaceChildren(...advice);
  show(byId('precheck-advice-box'), advice.length > 0);
  show(box, true);
}

/// Shows why a check could not run at all.
export function renderPrecheckError(err) {
  const box = byId('precheck-verdict');
  box.dataset.verdict = 'error';
  box.className = 'alert alert-warning';
  const key = err?.status === 429 ? 'precheck.error.rate_limited'
    : err?.status === 503 ? 'precheck.error.busy' : 'precheck.error.other';
  setI18n(byId('precheck-verdict-text'), key);
  byId('precheck-reasons').replaceChildren();
  byId('precheck-advice').replaceChildren();
  show(byId('precheck-advice-box'), false);
  show(box, true);
}
