// Join a consultation (/join#t=…): device check → ticket and socket → waiting room →
// call → outcome and the IKM survey. A reload mid-call comes straight back into the
// room: the token and the last device choice live in sessionStorage for this tab.

import { initI18n, setI18n, setName, setDate, t, ymdOf, todayYmd } from './i18n.js';
import { api, downloadWithToken, takeCitizenToken } from './api.js';
import { byId, el, show, focusHeading, showError, announce } from './dom.js';
import { CallSession } from './call.js';
import { bindCallUi } from './callui.js';
import { getMedia, isDenied, listDevices, micMeter, measureNetwork, stopStream } from './media.js';
import { runPrecheck, renderPrecheck, renderPrecheckError } from './precheck.js';

await initI18n();

// `#t=…&check=1` (the booking confirmation's button): run the connection test straight away.
// Read before takeCitizenToken() clears the fragment.
const autoPrecheck = /(?:^#|&)check=1(?:&|$)/.test(location.hash);
const token = takeCitizenToken();
const RESUME_KEY = 'loket.joinResume';
const RESUME_MAX_MS = 3 * 60 * 60 * 1000;
const OPENS_BEFORE_MIN = 15; // LOKET_JOIN_OPENS_MINUTES default, used if the server gives no time

const steps = {
  check: byId('step-check'),
  wait: byId('step-wait'),
  call: byId('step-call'),
  ended: byId('step-ended'),
};
const preview = byId('preview-video');
const waitingMessage = byId('waiting-message');

const state = {
  appt: null,
  media: null,
  opts: {}, // {audioOnly, cameraId, micId}: what the citizen chose, reused on reconnect
  stopMeter: null,
  call: null,
  ui: null,
  retryTimer: null,
  surveyBuilt: false,
  notOpen: false, // the room is not open yet: no chat, no "keep this page open"
};

function showStep(name, { focus = true } = {}) {
  for (const [key, section] of Object.entries(steps)) show(section, key === name);
  show(byId('chat'), name === 'call' || (name === 'wait' && !state.notOpen));
  // On a phone the call needs the whole screen; the appointment facts can go.
  show(byId('appointment-info'), !!state.appt && name !== 'call');
  if (focus) focusHeading(steps[name]);
}

function fatal(key, err) {
  teardownCall();
  stopMedia();
  for (const section of Object.values(steps)) show(section, false);
  show(byId('chat'), false);
  const box = byId('join-error');
  if (err) showError(box, err);
  else setI18n(box, key);
  show(box, true);
  box.setAttribute('tabindex', '-1');
  box.focus();
}

// ---------------------------------------------------------------------------
// Resume after a reload

function readResume() {
  try {
    const r = JSON.parse(sessionStorage.getItem(RESUME_KEY) || 'null');
    return r && Date.now() - r.at < RESUME_MAX_MS ? r : null;
  } catch {
    return null;
  }
}
function saveResume() {
  try {
    sessionStorage.setItem(RESUME_KEY, JSON.stringify({ ...state.opts, at: Date.now() }));
  } catch {
    /* reload recovery is a convenience */
  }
}
function clearResume() {
  try {
    sessionStorage.removeItem(RESUME_KEY);
  } catch {
    /* nothing to clear */
  }
}

// ---------------------------------------------------------------------------
// Start

async function main() {
  if (!token) {
    fatal('errors.link_missing');
    return;
  }
  try {
    const res = await api('/appointments/current', { token });
    state.appt = res?.appointment || res;
    renderInfo();
  } catch (err) {
    if ([401, 403, 404].includes(err.status)) {
      fatal('errors.link_invalid');
      return;
    }
    // Otherwise carry on: the ticket request will say what is wrong.
  }
  switch (state.appt?.status) {
    case 'cancelled':
      fatal('join.cancelled');
      return;
    case 'no_show':
      fatal('join.no_show');
      return;
    case 'completed':
      finish('completed');
      return;
    default:
  }
  const resume = readResume();
  if (resume) {
    try {
      await acquire({ audioOnly: resume.audioOnly, cameraId: resume.cameraId, micId: resume.micId });
      enterRoom();
      return;
    } catch {
      // Permission gone or device unplugged: fall through to the check, which explains.
    }
  }
  startCheck();
}

function renderInfo() {
  const a = state.appt;
  if (!a) return;
  setName(byId('info-service'), a.service);
  setDate(byId('info-when'), a.starts_at);
  byId('info-clerk').textContent = a.clerk?.name || '';
  byId('info-code').textContent = a.code || '';
  show(byId('appointment-info'), true);
}

// ---------------------------------------------------------------------------
// 1. Device check

async function acquire(opts) {
  const m = await getMedia(opts);
  stopMedia();
  state.media = m.stream;
  state.opts = { ...opts, audioOnly: !m.hasVideo };
  return m;
}

function stopMedia() {
  state.stopMeter?.();
  state.stopMeter = null;
  stopStream(state.media);
  state.media = null;
  preview.srcObject = null;
}

async function startCheck() {
  showStep('check');
  checkNetwork();
  await runCheck({});
}

async function checkNetwork() {
  const li = byId('check-network');
  setI18n(li, 'check.network_checking');
  const ms = await measureNetwork();
  if (ms === null) setI18n(li, 'check.network_down');
  else setI18n(li, ms < 300 ? 'check.network_good' : 'check.network_slow', { ms });
}

async function runCheck(opts) {
  const help = byId('check-help');
  show(help, false);
  show(byId('check-help-steps'), false);
  show(byId('device-retry'), false);
  setI18n(byId('check-camera'), opts.audioOnly ? 'check.camera_skipped' : 'check.camera_checking');
  setI18n(byId('check-mic'), 'check.mic_checking');
  let m;
  try {
    m = await acquire(opts);
  } catch (err) {
    stopMedia();
    explainDeviceError(err);
    return;
  }
  preview.srcObject = m.hasVideo ? m.stream : null;
  show(preview, m.hasVideo);
  show(byId('preview-off'), !m.hasVideo);
  setI18n(byId('check-camera'), m.hasVideo ? 'check.camera_ok' : opts.audioOnly ? 'check.camera_skipped' : cameraProblemKey(m.videoError));
  setI18n(byId('check-mic'), m.hasAudio ? 'check.mic_ok' : 'check.mic_missing');
  if (m.videoError && !opts.audioOnly) showHelp(cameraProblemKey(m.videoError));
  else if (m.audioError) showHelp('check.help_no_mic');
  const meter = byId('mic-level');
  state.stopMeter = micMeter(m.stream, (level) => {
    meter.value = level;
  });
  show(byId('device-audio-only'), m.hasVideo);
  setI18n(byId('device-continue'), m.hasVideo ? 'check.continue' : 'check.continue_audio');
  fillDevicePickers(m.stream);
  if (autoPrecheck && !state.precheckRan) startPrecheck();
}

// The connection test against Loket's own peer (precheck.js): optional, before the waiting room.
async function startPrecheck() {
  state.precheckRan = true;
  const button = byId('precheck-start');
  const status = byId('precheck-status');
  button.disabled = true;
  show(byId('precheck-verdict'), false);
  setI18n(status, 'precheck.running');
  show(status, true);
  try {
    renderPrecheck(await runPrecheck(token, state.media, byId('precheck-echo')));
  } catch (err) {
    renderPrecheckError(err);
  } finally {
    show(status, false);
    button.disabled = false;
    setI18n(button, 'precheck.again');
  }
}

function cameraProblemKey(err) {
  if (err?.name === 'NotReadableError' || err?.name === 'TrackStartError') return 'check.camera_busy';
  return 'check.camera_missing';
}

function showHelp(key, withSteps = false) {
  setI18n(byId('check-help-text'), key);
  show(byId('check-help-steps'), withSteps);
  show(byId('check-help'), true);
}

function explainDeviceError(err) {
  show(preview, false);
  show(byId('preview-off'), true);
  show(byId('device-retry'), true);
  show(byId('device-audio-only'), false);
  setI18n(byId('device-continue'), 'check.continue_without');
  if (isDenied(err)) {
    setI18n(byId('check-camera'), 'check.camera_blocked');
    setI18n(byId('check-mic'), 'check.mic_blocked');
    showHelp('check.help_denied', true);
  } else if (err?.name === 'NotFoundError' || err?.name === 'DevicesNotFoundError') {
    setI18n(byId('check-camera'), 'check.camera_missing');
    setI18n(byId('check-mic'), 'check.mic_missing');
    showHelp('check.help_not_found');
  } else if (err?.name === 'InsecureContextError') {
    setI18n(byId('check-camera'), 'check.camera_missing');
    setI18n(byId('check-mic'), 'check.mic_missing');
    showHelp('check.help_insecure');
  } else if (err?.name === 'NotReadableError') {
    setI18n(byId('check-camera'), 'check.camera_busy');
    setI18n(byId('check-mic'), 'check.mic_missing');
    showHelp('check.help_busy');
  } else {
    setI18n(byId('check-camera'), 'check.camera_missing');
    setI18n(byId('check-mic'), 'check.mic_missing');
    showHelp('check.help_other');
  }
}

async function fillDevicePickers(stream) {
  const { cameras, mics } = await listDevices();
  const current = (kind) => stream.getTracks().find((tr) => tr.kind === kind)?.getSettings?.().deviceId;
  const fill = (select, devices, selected, labelKey) => {
    select.replaceChildren(...devices.map((d, i) => el('option', {
      value: d.deviceId, selected: d.deviceId === selected, text: d.label || t(labelKey, { n: i + 1 }),
    })));
  };
  fill(byId('camera-select'), cameras, current('video'), 'check.camera_n');
  fill(byId('mic-select'), mics, current('audio'), 'check.mic_n');
  // Only worth showing when there is a real choice (desk PCs with a webcam and a headset).
  show(byId('device-pickers'), cameras.length > 1 || mics.length > 1);
}

byId('camera-select').addEventListener('change', (ev) => runCheck({ ...state.opts, audioOnly: false, cameraId: ev.target.value }));
byId('mic-select').addEventListener('change', (ev) => runCheck({ ...state.opts, micId: ev.target.value }));
byId('device-retry').addEventListener('click', () => runCheck({}));
byId('precheck-start').addEventListener('click', () => startPrecheck());
byId('device-continue').addEventListener('click', () => enterRoom());
byId('device-audio-only').addEventListener('click', async () => {
  await runCheck({ ...state.opts, audioOnly: true, cameraId: '' });
  if (state.media) enterRoom();
});

// ---------------------------------------------------------------------------
// 2.–4. Ticket, socket, waiting room, call

function enterRoom() {
  state.stopMeter?.();
  state.stopMeter = null;
  preview.srcObject = null;
  clearTimeout(state.retryTimer);
  teardownCall();
  saveResume();
  setNotOpen(false);
  show(waitingMessage, true);
  setI18n(waitingMessage, 'wait.connecting');
  showStep('wait');

  const call = new CallSession({
    polite: true,
    localStream: state.media,
    fetchTicket: () => api('/rooms/ticket', { method: 'POST', token }),
  });
  state.call = call;
  window.loketCall = call; // test hook: pc, videoFramesDecoded()
  state.ui = bindCallUi(call, { peerLabel: (d) => d.name || t('roles.clerk') });
  call.addEventListener('stage', onStage);
  call.addEventListener('fatal', (ev) => onFatal(ev.detail.error));
  call.addEventListener('closed', (ev) => finish(ev.detail.reason));
  call.addEventListener('peer', onPeer);
  call.addEventListener('error', onCallError);
  call.start();
}

function teardownCall() {
  state.ui?.destroy();
  state.ui = null;
  if (state.call && state.call.stage !== 'ended') state.call.finish();
  state.call = null;
}

function onStage({ detail: { stage } }) {
  switch (stage) {
    case 'waiting':
      setI18n(waitingMessage, 'wait.message');
      if (!steps.wait.hidden) return;
      showStep('wait');
      return;
    case 'admitted':
      if (steps.call.hidden) showStep('call');
      return;
    case 'reconnecting':
      if (!steps.wait.hidden) setI18n(waitingMessage, 'wait.reconnecting');
      return;
    default:
  }
}

function onPeer({ detail }) {
  if (detail.peer?.role === 'citizen') return;
  if (detail.kind === 'left') state.ui?.setStatus(detail.deliberate ? 'call.clerk_left' : 'call.clerk_reconnecting');
  else if (detail.kind === 'joined' && detail.reconnect) state.ui?.setStatus('call.reconnecting');
}

function onCallError({ detail }) {
  // not_admitted is expected while the clerk has not let us in yet.
  if (detail.code === 'not_admitted') return;
  if (detail.code === 'rate_limited') {
    setI18n(byId('chat-error'), 'errors.rate_limited_short');
    show(byId('chat-error'), true);
  }
}

function onFatal(err) {
  switch (err?.code) {
    case 'room_not_open':
      roomNotOpen(err);
      return;
    case 'appointment_completed':
      finish('completed');
      return;
    case 'appointment_cancelled':
      fatal('join.cancelled');
      return;
    case 'room_closed':
      fatal('join.room_closed');
      return;
    default:
      if ([401, 403, 404].includes(err?.status)) fatal('errors.link_invalid');
      else fatal(null, err);
  }
}

/**
 * Too early: release the camera and say, in one message, when the consultation is and when the
 * room opens, with the calendar file and the device check at hand and no chat (there is nobody
 * to talk to yet). On the day itself the page tries again by itself once the room opens.
 */
function roomNotOpen(err) {
  teardownCall();
  const opts = state.opts;
  stopMedia();
  state.opts = opts;
  const start = state.appt?.starts_at;
  const opensAt = err.body?.opens_at || err.fields?.opens_at ||
    (start ? new Date(Date.parse(start) - OPENS_BEFORE_MIN * 60000).toISOString() : null);
  const today = !opensAt || ymdOf(opensAt) === todayYmd();
  const text = byId('room-not-open-text');
  if (opensAt && start) {
    setI18n(text, today ? 'wait.not_open_today' : 'wait.not_open_later', {
      start: { dt: start, f: today ? 'timez' : 'datetime' },
      opens: { dt: opensAt, f: 'timez' },
    });
  } else if (opensAt) {
    setI18n(text, 'wait.not_open', { time: { dt: opensAt, f: today ? 'timez' : 'datetime' } });
  } else {
    setI18n(text, 'wait.not_open_unknown');
  }
  setNotOpen(true);
  show(byId('room-retry'), today);
  showStep('wait');
  clearTimeout(state.retryTimer);
  if (!today) return; // days ahead: come back on the day, no camera every 30 s until then
  const untilOpen = opensAt ? Date.parse(opensAt) - Date.now() + 2000 : 30000;
  state.retryTimer = setTimeout(retryJoin, Math.min(Math.max(untilOpen, 5000), 30000));
}

/** The waiting room's two faces: waiting for the clerk, or not open yet. */
function setNotOpen(notOpen) {
  state.notOpen = notOpen;
  setI18n(byId('wait-heading'), notOpen ? 'wait.not_open_title' : 'wait.title');
  show(byId('waiting-box'), !notOpen);
  show(byId('wait-hints'), !notOpen);
  show(byId('room-not-open'), notOpen);
  if (!notOpen) announce(byId('room-ics-status'), null);
}

byId('room-ics').addEventListener('click', async () => {
  // The calendar file needs the Bearer token, which a plain link cannot send.
  try {
    await downloadWithToken('/appointments/current/ics', token, `loket-${state.appt?.code || 'konsultasi'}.ics`);
  } catch (err) {
    showError(byId('room-ics-status'), err);
  }
});

byId('room-check').addEventListener('click', () => {
  clearTimeout(state.retryTimer);
  setNotOpen(false);
  startCheck();
});

async function retryJoin() {
  try {
    await acquire(state.opts);
  } catch {
    startCheck();
    return;
  }
  enterRoom();
}
byId('room-retry').addEventListener('click', retryJoin);

byId('call-hangup').addEventListener('click', () => {
  state.call?.leave();
  finish('left');
});

// ---------------------------------------------------------------------------
// 5. After the call

function finish(reason) {
  clearTimeout(state.retryTimer);
  clearResume();
  teardownCall();
  stopMedia();
  const completed = reason === 'completed';
  const kind = completed ? 'completed' : reason === 'replaced' ? 'replaced' : 'left';
  setI18n(byId('ended-heading'), `ended.${kind}_title`);
  setI18n(byId('ended-message'), `ended.${kind}_text`);
  show(byId('rejoin'), kind !== 'completed');
  if (kind !== 'replaced') {
    buildSurvey();
    show(byId('survey-form'), !byId('survey-status').dataset.done);
  }
  showStep('ended');
}

byId('rejoin').addEventListener('click', () => {
  show(byId('survey-form'), false);
  startCheck();
});

const SCALES = ['sesuai', 'mudah', 'cepat', 'biaya', 'sesuai', 'baik', 'baik', 'baik', 'baik'];

function buildSurvey() {
  if (state.surveyBuilt) return;
  state.surveyBuilt = true;
  byId('survey-items').replaceChildren(...SCALES.map((scale, idx) => {
    const n = idx + 1;
    const id = `survey-q${n}`;
    return el('fieldset', { class: 'survey-item', id, attrs: { 'aria-describedby': `${id}-desc` } }, [
      el('legend', { i18n: 'survey.item_legend', params: { n, name: { k: `survey.q${n}.title` } } }),
      el('p', { class: 'hint', id: `${id}-desc`, i18n: `survey.q${n}.question` }),
      el('div', { class: 'scale' }, [1, 2, 3, 4].map((v) => el('label', { class: 'scale-option', htmlFor: `${id}-${v}` }, [
        el('input', { type: 'radio', name: `q${n}`, value: String(v), id: `${id}-${v}`, data: { testid: 'survey-radio' } }),
        el('span', { i18n: `survey.scale.${scale}.${v}` }),
      ]))),
      el('p', { class: 'field-error', id: `${id}-error`, hidden: true }),
    ]);
  }));
}

byId('survey-items').addEventListener('change', (ev) => {
  const fieldset = ev.target.closest('fieldset');
  if (!fieldset) return;
  show(byId(`${fieldset.id}-error`), false);
  fieldset.setAttribute('aria-describedby', `${fieldset.id}-desc`);
});

byId('survey-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const form = ev.currentTarget;
  const errorBox = byId('survey-error');
  show(errorBox, false);
  const answers = SCALES.map((_, idx) => Number(form.querySelector(`input[name="q${idx + 1}"]:checked`)?.value || 0));
  let firstMissing = null;
  answers.forEach((a, idx) => {
    const fieldset = byId(`survey-q${idx + 1}`);
    const msg = byId(`survey-q${idx + 1}-error`);
    if (a) {
      show(msg, false);
      fieldset.removeAttribute('aria-invalid');
      fieldset.setAttribute('aria-describedby', `survey-q${idx + 1}-desc`);
    } else {
      setI18n(msg, 'survey.answer_required');
      show(msg, true);
      fieldset.setAttribute('aria-describedby', `survey-q${idx + 1}-desc survey-q${idx + 1}-error`);
      firstMissing ||= fieldset.querySelector('input');
    }
  });
  if (firstMissing) {
    setI18n(errorBox, 'survey.incomplete');
    show(errorBox, true);
    firstMissing.focus();
    return;
  }
  const body = { answers };
  const comment = byId('survey-comment').value.trim();
  if (comment) body.comment = comment;
  const submit = byId('survey-submit');
  submit.disabled = true;
  try {
    await api('/appointments/current/survey', { method: 'POST', token, body });
    surveyDone('survey.thanks');
  } catch (err) {
    if (err.code === 'survey_exists') surveyDone('survey.already');
    else {
      showError(errorBox, err);
      errorBox.focus();
    }
  } finally {
    submit.disabled = false;
  }
});

function surveyDone(key) {
  const status = byId('survey-status');
  status.dataset.done = '1';
  show(byId('survey-form'), false);
  announce(status, key);
}

main();
