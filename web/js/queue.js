// The citizen's number (/queue#t=…): where it stands and when it will be called, live (a
// server-sent event stream read with fetch, so the number's token travels in a header and never
// in a URL), the near and called notices in the page, the room for a remote number once called,
// a device check while waiting, and leaving the line. Without a token, `/queue?service=slug`
// takes a remote number for that service first. Element ids: web/README.md.

import { initI18n, setI18n, setName, setDate, setSiteZone, t } from './i18n.js';
import { api, ApiError } from './api.js';
import { byId, show, focusHeading, showError, announce, setFieldError, problemKey } from './dom.js';
import { getMedia, micMeter, measureNetwork, stopStream } from './media.js';

await initI18n();

const TOKEN_KEY = 'loket.queueToken';
const NEAR = 3;

const state = {
  token: null,
  ticket: null,
  stream: null, // AbortController of the live stream
  retry: 0,
  media: null,
  stopMeter: null,
  notified: new Set(), // notices already given (near, called:<calls>)
};

// ---------------------------------------------------------------------------
// The token: from the link's fragment into this tab's storage, then out of the address bar.

function takeToken() {
  const m = /(?:^#|&)t=([^&]+)/.exec(location.hash);
  if (m) {
    const token = decodeURIComponent(m[1]);
    keepToken(token);
    history.replaceState(history.state, '', location.pathname + location.search);
    return token;
  }
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

function keepToken(token) {
  try {
    sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    /* only reload recovery is lost */
  }
}

function fatal(err, key) {
  show(byId('queue-loading'), false);
  const box = byId('queue-error');
  if (err) showError(box, err);
  else setI18n(box, key);
  show(box, true);
  box.focus();
}

// ---------------------------------------------------------------------------
// Taking a remote number

async function startTake(slug) {
  let svc;
  try {
    svc = await api(`/services/${encodeURIComponent(slug)}`);
  } catch (err) {
    fatal(err);
    return;
  }
  show(byId('queue-loading'), false);
  setName(byId('take-service'), svc);
  if (svc.agency) setName(byId('take-agency'), svc.agency);
  show(byId('take-section'), true);
  focusHeading(byId('take-section'));
  byId('take-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    submitTake(slug);
  });
}

async function submitTake(slug) {
  const inputs = { 'citizen.name': byId('take-name'), 'citizen.phone': byId('take-phone'), consent: byId('take-consent') };
  for (const input of Object.values(inputs)) setFieldError(input, null);
  show(byId('take-form-error'), false);
  const button = byId('take-submit');
  button.disabled = true;
  try {
    const res = await api('/queue', {
      method: 'POST',
      body: {
        service: slug,
        mode: 'remote',
        citizen: { name: byId('take-name').value.trim(), phone: byId('take-phone').value.trim() },
        consent: byId('take-consent').checked,
      },
    });
    state.token = res.token;
    keepToken(res.token);
    show(byId('take-section'), false);
    render(res.ticket);
    follow();
  } catch (err) {
    const box = byId('take-form-error');
    if (err.code === 'validation_failed') {
      let first = null;
      for (const [field, problem] of Object.entries(err.fields)) {
        const input = inputs[field];
        if (!input) continue;
        setFieldError(input, problemKey(field.replace('citizen.', ''), problem));
        first = first || input;
      }
      (first || box).focus();
    } else {
      showError(box, err);
      if (err.code === 'queue_closed' && err.body?.reason) setI18n(box, `queue.closed.${err.body.reason}`);
      box.focus();
    }
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------------------
// Showing the number

function render(ticket) {
  const before = state.ticket;
  state.ticket = ticket;
  if (ticket.timezone) setSiteZone(ticket.timezone);
  show(byId('queue-loading'), false);
  show(byId('wait-section'), true);
  byId('queue-number').textContent = ticket.number;
  setName(byId('queue-service'), ticket.service);
  const mode = byId('queue-mode');
  setI18n(mode, `queue.mode.${ticket.mode}`);
  mode.className = `badge badge-mode-${ticket.mode}`;
  const st = ticket.state;
  byId('wait-section').dataset.state = st;
  document.title = st === 'called' ? `${t('queue.title_called')} — ${ticket.number}` : t('queue.page_title');

  // Waiting: position and honest estimate.
  const waiting = st === 'waiting';
  show(byId('queue-place'), waiting);
  show(byId('queue-eta-note'), waiting);
  if (waiting) {
    byId('queue-position').textContent = String(ticket.position ?? '–');
    if (ticket.eta_minutes === null || ticket.eta_minutes === undefined) {
      setI18n(byId('queue-eta'), 'queue.eta_unknown');
      setI18n(byId('queue-expected'), 'queue.eta_unknown_hint');
    } else {
      setI18n(byId('queue-eta'), ticket.eta_minutes === 0 ? 'queue.eta_now' : 'queue.eta_minutes', { n: ticket.eta_minutes });
      setI18n(byId('queue-expected'), 'queue.expected_at', { at: { dt: ticket.expected_at, f: 'timez' } });
    }
  }
  const stateKey = waiting ? (ticket.position === 1 ? 'queue.state.next' : 'queue.state.waiting') : `queue.state.${st}`;
  if (byId('queue-state').dataset.i18n !== stateKey) announce(byId('queue-state'), stateKey);

  // Near: told once, in the page (and by the outbox when the number has a phone).
  const near = waiting && ticket.position && ticket.position <= NEAR;
  show(byId('queue-near'), !!near);
  if (near) {
    setI18n(byId('queue-near'), 'queue.near', { n: ticket.position });
    if (!state.notified.has('near')) {
      state.notified.add('near');
      buzz([200]);
    }
  }

  // Called: where to go (the counter) or the room to enter.
  const called = st === 'called' || st === 'serving';
  show(byId('queue-called'), called);
  const enter = byId('queue-enter-room');
  if (called) {
    if (ticket.mode === 'remote') {
      setI18n(byId('queue-called-text'), st === 'serving' ? 'queue.called_remote_serving' : 'queue.called_remote');
      if (ticket.room?.join) enter.href = ticket.room.join;
      show(enter, !!ticket.room?.join);
    } else {
      show(enter, false);
      if (ticket.counter) setI18n(byId('queue-called-text'), 'queue.called_counter', { counter: ticket.counter });
      else setI18n(byId('queue-called-text'), 'queue.called_clerk', { clerk: ticket.clerk?.name || '' });
    }
    const mark = `called:${ticket.calls}`;
    if (st === 'called' && !state.notified.has(mark)) {
      state.notified.add(mark);
      buzz([300, 150, 300]);
      if (before && before.state === 'waiting') focusHeading(byId('wait-section'));
    }
  }

  const finalState = ['done', 'skipped', 'cancelled'].includes(st);
  show(byId('queue-final'), finalState);
  if (finalState) setI18n(byId('queue-final'), `queue.final.${st}`);
  show(byId('leave-area'), waiting || st === 'called');
  show(byId('device-card'), ticket.mode === 'remote' && waiting);
  if (!waiting) stopDeviceCheck();
}

function buzz(pattern) {
  try {
    navigator.vibrate?.(pattern);
  } catch {
    /* not on this device */
  }
}

// ---------------------------------------------------------------------------
// Live: the event stream (fetch, so the token rides in the Authorization header)

async function follow() {
  state.stream?.abort();
  const ctrl = new AbortController();
  state.stream = ctrl;
  try {
    const res = await fetch('/api/v1/queue/current/events', {
      headers: { Authorization: `Bearer ${state.token}`, Accept: 'text/event-stream' },
      credentials: 'same-origin',
      cache: 'no-store',
      signal: ctrl.signal,
    });
    if (!res.ok) {
      let body = null;
      try {
        body = await res.json();
      } catch {
        body = null;
      }
      throw new ApiError(res.status, body, res.headers);
    }
    setI18n(byId('queue-live'), 'queue.live_on');
    state.retry = 0;
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        onEvent(block);
      }
    }
  } catch (err) {
    if (err?.name === 'AbortError') return;
    if ([401, 403, 404].includes(err?.status)) {
      fatal(null, 'queue.link_invalid');
      return;
    }
  }
  if (state.stream !== ctrl) return;
  // The stream ends for good once the number is finished; otherwise come back.
  if (state.ticket && ['done', 'skipped', 'cancelled'].includes(state.ticket.state)) {
    announce(byId('queue-live'), null);
    return;
  }
  setI18n(byId('queue-live'), 'queue.live_reconnecting');
  const wait = Math.min(10000, 500 * 2 ** state.retry++);
  setTimeout(() => {
    if (state.stream === ctrl) follow();
  }, wait);
}

function onEvent(block) {
  let name = 'message';
  let data = '';
  for (const line of block.split('\n')) {
    if (line.startsWith('event: ')) name = line.slice(7);
    else if (line.startsWith('data: ')) data += line.slice(6);
  }
  if (name !== 'ticket' || !data) return;
  try {
    render(JSON.parse(data));
  } catch {
    /* a broken event: the next one says it all again */
  }
}

window.addEventListener('online', () => {
  if (state.token && state.ticket && !['done', 'skipped', 'cancelled'].includes(state.ticket.state)) follow();
});

// ---------------------------------------------------------------------------
// Leaving the line

byId('queue-leave').addEventListener('click', () => {
  show(byId('leave-confirm-box'), true);
  byId('queue-leave-confirm').focus();
});
byId('queue-leave-abort').addEventListener('click', () => {
  show(byId('leave-confirm-box'), false);
  byId('queue-leave').focus();
});
byId('queue-leave-confirm').addEventListener('click', async () => {
  show(byId('leave-confirm-box'), false);
  try {
    render(await api('/queue/current', { method: 'DELETE', token: state.token }));
  } catch (err) {
    showError(byId('queue-error'), err);
  }
});

// ---------------------------------------------------------------------------
// Device check while waiting: camera preview, microphone level, the line to Loket

byId('device-check').addEventListener('click', async () => {
  stopDeviceCheck();
  show(byId('device-result'), true);
  const status = byId('device-status');
  setI18n(status, 'queue.device_starting');
  try {
    const media = await getMedia({});
    state.media = media.stream;
    const preview = byId('device-preview');
    preview.srcObject = media.stream;
    show(preview, media.hasVideo);
    state.stopMeter = micMeter(media.stream, (level) => {
      byId('device-mic').value = level;
    });
    const rtt = await measureNetwork();
    const key = !media.hasVideo ? 'queue.device_no_camera' : !media.hasAudio ? 'queue.device_no_mic' : 'queue.device_ok';
    setI18n(status, rtt === null ? 'queue.device_offline' : key, { ms: rtt ?? 0 });
  } catch (err) {
    setI18n(status, err?.name === 'NotAllowedError' ? 'queue.device_denied' : 'queue.device_failed');
  }
});
byId('device-stop').addEventListener('click', stopDeviceCheck);

function stopDeviceCheck() {
  state.stopMeter?.();
  state.stopMeter = null;
  stopStream(state.media);
  state.media = null;
  show(byId('device-result'), false);
}

// ---------------------------------------------------------------------------
// Start

async function main() {
  state.token = takeToken();
  const service = new URLSearchParams(location.search).get('service');
  if (!state.token) {
    if (service) startTake(service);
    else fatal(null, 'queue.link_missing');
    return;
  }
  try {
    const ticket = await api('/queue/current', { token: state.token });
    if (service && ['done', 'skipped', 'cancelled'].includes(ticket.state)) {
      // This tab's last number is over; the link asks for a new one.
      try {
        sessionStorage.removeItem(TOKEN_KEY);
      } catch {
        /* nothing to clear */
      }
      startTake(service);
      return;
    }
    render(ticket);
  } catch (err) {
    if ([401, 403, 404].includes(err.status)) {
      // A stale number in this tab: offer to take a new one when a service is named.
      try {
        sessionStorage.removeItem(TOKEN_KEY);
      } catch {
        /* nothing to clear */
      }
      if (service) startTake(service);
      else fatal(null, 'queue.link_invalid');
      return;
    }
    fatal(err);
    return;
  }
  follow();
}

main();
