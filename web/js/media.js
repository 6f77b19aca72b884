// Camera and microphone: acquisition with fallbacks, device lists and a mic level meter.

const VIDEO = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 24, max: 30 } };

/**
 * Opens camera and microphone, degrading instead of failing: no camera (or a busy one)
 * gives audio only, no microphone gives video only. Permission refusal is not degraded:
 * it throws, so the page can explain how to allow access.
 * Resolves to {stream, hasAudio, hasVideo, videoError, audioError}.
 */
export async function getMedia({ audioOnly = false, cameraId = '', micId = '' } = {}) {
  const md = navigator.mediaDevices;
  if (!md?.getUserMedia) {
    const err = new Error('getUserMedia unavailable');
    err.name = 'InsecureContextError';
    throw err;
  }
  const audio = micId ? { deviceId: { exact: micId } } : true;
  const video = cameraId ? { ...VIDEO, deviceId: { exact: cameraId } } : { ...VIDEO, facingMode: 'user' };
  const result = (stream, extra = {}) => ({
    stream,
    hasAudio: stream.getAudioTracks().length > 0,
    hasVideo: stream.getVideoTracks().length > 0,
    videoError: null,
    audioError: null,
    ...extra,
  });

  if (audioOnly) return result(await md.getUserMedia({ audio }));
  try {
    return result(await md.getUserMedia({ audio, video }));
  } catch (err) {
    if (isDenied(err)) throw err;
    try {
      return result(await md.getUserMedia({ audio }), { videoError: err });
    } catch (audioErr) {
      if (isDenied(audioErr)) throw audioErr;
      try {
        return result(await md.getUserMedia({ video }), { audioError: audioErr });
      } catch {
        throw audioErr;
      }
    }
  }
}

export const isDenied = (err) => err?.name === 'NotAllowedError' || err?.name === 'SecurityError';

export function stopStream(stream) {
  for (const track of stream?.getTracks() || []) track.stop();
}

/** {cameras, mics}: labels are only filled once permission has been given. */
export async function listDevices() {
  try {
    const all = await navigator.mediaDevices.enumerateDevices();
    return {
      cameras: all.filter((d) => d.kind === 'videoinput'),
      mics: all.filter((d) => d.kind === 'audioinput'),
    };
  } catch {
    return { cameras: [], mics: [] };
  }
}

/**
 * Calls onLevel(0..1) about ten times a second with the microphone's loudness.
 * Returns a stop function. Ten updates a second is plenty for a meter and spares
 * the CPU of a cheap phone.
 */
export function micMeter(stream, onLevel) {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx || !stream?.getAudioTracks().length) return () => {};
  const ctx = new Ctx();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 512;
  ctx.createMediaStreamSource(stream).connect(analyser);
  const buf = new Uint8Array(analyser.fftSize);
  // An AudioContext made before any tap starts suspended; the first tap wakes it.
  const resume = () => ctx.resume().catch(() => {});
  resume();
  document.addEventListener('pointerdown', resume);
  document.addEventListener('keydown', resume);
  const timer = setInterval(() => {
    analyser.getByteTimeDomainData(buf);
    let sum = 0;
    for (const v of buf) {
      const x = (v - 128) / 128;
      sum += x * x;
    }
    onLevel(Math.min(1, Math.sqrt(sum / buf.length) * 4));
  }, 100);
  return () => {
    clearInterval(timer);
    document.removeEventListener('pointerdown', resume);
    document.removeEventListener('keydown', resume);
    ctx.close().catch(() => {});
  };
}

/** Round trip to the server's health endpoint, in ms (null when unreachable). */
export async function measureNetwork() {
  const started = performance.now();
  try {
    const res = await fetch('/healthz', { cache: 'no-store', credentials: 'same-origin' });
    if (!res.ok) return null;
    return Math.round(performance.now() - started);
  } catch {
    return null;
  }
}
