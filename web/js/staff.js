// The clerk's app (/staff): login, today's timeline with live waiting-room updates
// (server-sent events), the room and call for one appointment, outcome notes, a week
// calendar, weekly hours, leave and the calendar feed link. Supervisors also pick which
// clerk's appointments to see and can reassign; admins load and save the catalogue as a CSV
// file (catalogue.js).
//
// Auth is the HttpOnly session cookie set at login; the JSON token in the login
// response is deliberately not stored anywhere script can read it back.

import { initI18n, setI18n, setName, setDate, setSiteZone, t, todayYmd, ymdOf, addDays, mondayOf, isoWeekday, zonedIso } from './i18n.js';
import { api } from './api.js';
import { byId, el, show, focusHeading, showError, announce, statusBadge, setFieldError, problemKey, copyText } from './dom.js';
import { CallSession } from './call.js';
import { bindCallUi } from './callui.js';
import { getMedia, stopStream } from './media.js';
import { noticeList, noticeBadge } from './notices.js';
import { initQueuePanel } from './staffqueue.js';
import { initCatalogue } from './catalogue.js';

await initI18n();

const ROOM_KEY = 'loket.staffRoom';
const ROOM_STATUSES = new Set(['booked', 'waiting', 'in_call']);

const state = {
  me: null,
  view: 'today',
  today: [],
  week: [],
  weekStart: firstWeekShown(todayYmd()),
  team: [],
  filter: 'all',
  selectedId: null,
  waitingNow: new Map(), // appointment id → citizen is in the waiting room (from the feed)
  lastStatus: new Map(), // to announce only changes
  feed: null,
  refreshTimer: null,
  call: null,
  ui: null,
  media: null,
  callApptId: null,
  autoAdmit: false,
  notesFor: null, // appointment whose notes are in the notes box
  closurePreview: null, // the leave (as sent) whose effect on bookings the clerk has seen
  queue: null, // the queue panel (staffqueue.js)
};

/**
 * The week the Week view opens on: this one, except on a Sunday, when this week is over (the
 * mall is closed on Sundays) and the coming one is what a clerk plans.
 */
function firstWeekShown(today) {
  return isoWeekday(today) === 7 ? addDays(today, 1) : mondayOf(today);
}

const isSupervisor = () => state.me?.role === 'supervisor' || state.me?.role === 'admin';
const idKey = (id) => String(id);

/** Staff API call; an expired session sends the clerk back to the login form. */
async function sapi(path, opts) {
  try {
    return await api(path, opts);
  } catch (err) {
    if (err.status === 401 && state.me) showLogin('staff.session_expired');
    throw err;
  }
}

// ---------------------------------------------------------------------------
// Session

async function boot() {
  try {
    const me = await api('/staff/me');
    startApp(me);
  } catch {
    showLogin();
  }
}

function showLogin(messageKey) {
  endCall();
  state.feed?.close();
  state.feed = null;
  state.queue?.stop();
  state.queue = null;
  state.me = null;
  show(byId('staff-loading'), false);
  show(byId('app-view'), false);
  show(byId('login-view'), true);
  const box = byId('login-error');
  show(box, !!messageKey);
  if (messageKey) setI18n(box, messageKey);
  byId('staff-email').focus();
}

byId('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const email = byId('staff-email');
  const password = byId('staff-password');
  const box = byId('login-error');
  setFieldError(email, null);
  setFieldError(password, null);
  show(box, false);
  if (!email.value.trim()) setFieldError(email, 'fields.required');
  if (!password.value) setFieldError(password, 'fields.required');
  if (!email.value.trim() || !password.value) {
    (email.value.trim() ? password : email).focus();
    return;
  }
  const btn = byId('staff-login-submit');
  btn.disabled = true;
  try {
    const res = await api('/staff/session', { method: 'POST', body: { email: email.value.trim(), password: password.value } });
    password.value = '';
    let me = res?.staff || {};
    try {
      me = await api('/staff/me'); // carries calendar_url, and proves the cookie works
    } catch {
      /* use the login response */
    }
    startApp(me);
  } catch (err) {
    if (err.status === 401 || err.code === 'invalid_credentials') setI18n(box, 'staff.login_failed');
    else showError(box, err);
    show(box, true);
    box.focus();
  } finally {
    btn.disabled = false;
  }
});

byId('staff-logout').addEventListener('click', async () => {
  try {
    await api('/staff/session', { method: 'DELETE' });
  } catch {
    /* the cookie may already be gone */
  }
  try {
    sessionStorage.removeItem(ROOM_KEY);
  } catch {
    /* nothing */
  }
  showLogin();
});

async function startApp(raw) {
  const me = raw?.staff ? { ...raw.staff, calendar_url: raw.calendar_url ?? raw.staff.calendar_url } : raw;
  state.me = me;
  // "Today" and every time shown are the site's, whatever the desk computer's zone.
  if (me.timezone) setSiteZone(me.timezone);
  show(byId('staff-loading'), false);
  show(byId('login-view'), false);
  show(byId('app-view'), true);
  byId('staff-name').textContent = me.name || me.email || '';
  const meta = byId('staff-meta');
  if (me.agency) setI18n(meta, 'staff.meta', { role: { k: `roles.${me.role}` }, agency: { l10n: me.agency } });
  else setI18n(meta, `roles.${me.role}`);
  renderCalendarLink();
  show(byId('nav-outbox-item'), me.role === 'admin');
  show(byId('nav-catalogue-item'), me.role === 'admin');
  if (isSupervisor()) await loadTeam();
  openFeed();
  showView('today', { focus: false });
  await loadToday();
  resumeRoom();
  state.queue?.stop();
  state.queue = initQueuePanel({
    sapi,
    supervisor: isSupervisor,
    changed: scheduleRefresh,
    // A called remote number's room: the walk-in is an appointment of today's list.
    openAppointment: async (id) => {
      await loadToday();
      const a = findAppt(id);
      if (a) openRoom(a, { autoAdmit: citizenWaiting(a) });
    },
  });
}

// ---------------------------------------------------------------------------
// Supervisor: team and filter

async function loadTeam() {
  try {
    const team = await sapi('/staff/team');
    state.team = (Array.isArray(team) ? team : team?.staff || []).filter((m) => m.active !== false);
  } catch {
    state.team = [];
  }
  const select = byId('team-filter');
  select.replaceChildren(
    el('option', { value: 'all', i18n: 'staff.filter_all' }),
    el('option', { value: 'me', i18n: 'staff.filter_me' }),
    ...state.team.filter((m) => idKey(m.id) !== idKey(state.me.id)).map((m) => el('option', { value: idKey(m.id), text: m.name })),
  );
  select.value = state.filter;
  show(byId('team-filter-field'), true);
}

byId('team-filter').addEventListener('change', (ev) => {
  state.filter = ev.target.value;
  refreshNow();
});

// ---------------------------------------------------------------------------
// Views

function showView(view, { focus = true } = {}) {
  state.view = view;
  for (const btn of document.querySelectorAll('.nav-button')) {
    if (btn.dataset.view === view) btn.setAttribute('aria-current', 'page');
    else btn.removeAttribute('aria-current');
  }
  for (const name of ['today', 'week', 'hours', 'leave', 'open', 'outbox', 'catalogue']) show(byId(`view-${name}`), name === view);
  renderPanel();
  if (focus) focusHeading(byId(`view-${view}`));
  if (view === 'week') loadWeek();
  if (view === 'hours') loadHours();
  if (view === 'leave') loadClosures();
  if (view === 'open') loadOpen();
  if (view === 'outbox') loadOutbox();
}

initCatalogue(sapi);

for (const btn of document.querySelectorAll('.nav-button')) {
  btn.addEventListener('click', () => showView(btn.dataset.view));
}

async function fetchAppointments(from, to) {
  const params = new URLSearchParams({ from, to });
  if (isSupervisor() && state.filter !== 'me') params.set('staff', state.filter);
  const res = await sapi(`/staff/appointments?${params}`);
  const list = Array.isArray(res) ? res : res?.appointments || [];
  return list.sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at));
}

function findAppt(id) {
  const key = idKey(id);
  return state.today.find((a) => idKey(a.id) === key) || state.week.find((a) => idKey(a.id) === key) || null;
}

const citizenWaiting = (a) => a.status === 'waiting' || state.waitingNow.get(idKey(a.id)) === true;

// ---------------------------------------------------------------------------
// Today

async function loadToday() {
  const today = todayYmd();
  setI18n(byId('today-heading'), 'staff.today_heading', { day: { dt: today, f: 'day' } });
  let list;
  try {
    // `to` is asked one day further and filtered here, so it does not matter whether
    // the server reads it as inclusive or exclusive.
    list = await fetchAppointments(today, addDays(today, 1));
  } catch (err) {
    if (err.status !== 401) showError(byId('panel-status'), err);
    return;
  }
  state.today = list.filter((a) => ymdOf(a.starts_at) === today);
  announceChanges(state.today);
  renderTimeline();
  renderPanel();
}

function announceChanges(list) {
  for (const a of list) {
    const prev = state.lastStatus.get(idKey(a.id));
    // Say who arrived (screen readers), not only how many are waiting.
    if (prev && prev !== a.status && a.status === 'waiting') {
      announce(byId('staff-live'), 'staff.new_waiting', { name: a.citizen?.name || a.code });
    }
    state.lastStatus.set(idKey(a.id), a.status);
  }
  const waiting = list.filter(citizenWaiting).length;
  const summary = byId('waiting-summary');
  const key = waiting ? 'staff.waiting_count' : 'staff.waiting_none';
  if (summary.dataset.i18n !== key || summary.dataset.i18nParams !== JSON.stringify({ n: waiting })) {
    announce(summary, key, { n: waiting });
  }
  summary.classList.toggle('has-waiting', waiting > 0);
}

function renderTimeline() {
  const ol = byId('timeline');
  // Live updates re-render the list: put keyboard focus back where it was.
  const active = document.activeElement;
  const focusRow = active?.closest?.('[data-appointment-id]')?.dataset.appointmentId;
  const focusRole = active?.dataset?.testid;
  if (!state.today.length) {
    ol.replaceChildren(el('li', { class: 'empty', i18n: 'staff.no_appointments_today' }));
    return;
  }
  ol.replaceChildren(...state.today.map(timelineRow));
  if (focusRow && focusRole && ol.contains(active) === false) {
    const again = ol.querySelector(`[data-appointment-id="${CSS.escape(focusRow)}"] [data-testid="${CSS.escape(focusRole)}"]`)
      || ol.querySelector(`[data-appointment-id="${CSS.escape(focusRow)}"] button`);
    again?.focus();
  }
}

function timelineRow(a) {
  const id = idKey(a.id);
  const waiting = citizenWaiting(a);
  const time = el('span', { class: 'appt-time' });
  setDate(time, [a.starts_at, a.ends_at], 'range');
  const service = el('span', { class: 'appt-service' });
  setName(service, a.service);
  const actions = el('div', { class: 'appt-actions' });
  if (waiting && ROOM_STATUSES.has(a.status)) {
    actions.append(el('button', {
      type: 'button', class: 'btn btn-primary', i18n: 'staff.admit',
      data: { testid: 'admit-button' }, on: { click: () => openRoom(a, { autoAdmit: true }) },
    }));
  } else if (ROOM_STATUSES.has(a.status) && idKey(state.callApptId) !== id) {
    actions.append(el('button', {
      type: 'button', class: 'btn btn-secondary', i18n: 'staff.open_room',
      data: { testid: 'open-room-button' }, on: { click: () => openRoom(a) },
    }));
  }
  return el('li', {
    class: `appt status-${a.status}${id === idKey(state.selectedId) ? ' selected' : ''}${waiting ? ' is-waiting' : ''}`,
    data: { testid: 'appointment-row', appointmentId: id, status: a.status },
  }, [
    time,
    el('div', { class: 'appt-body' }, [
      el('button', {
        type: 'button', class: 'appt-name link-button', text: a.citizen?.name || a.code,
        data: { testid: 'appointment-open' }, on: { click: () => select(a.id) },
      }),
      service,
      el('span', { class: 'appt-code', text: a.code }),
      isSupervisor() && a.clerk?.name ? el('span', { class: 'appt-clerk', text: a.clerk.name }) : null,
    ]),
    el('div', { class: 'appt-badges' }, [
      statusBadge(a.status),
      waiting && a.status !== 'waiting' ? el('span', { class: 'badge badge-live', i18n: 'staff.waiting_now' }) : null,
      // Before admitting: how the citizen's last connection test went.
      a.precheck?.verdict ? el('span', {
        class: `badge badge-precheck-${a.precheck.verdict}`,
        i18n: `staff.precheck.${a.precheck.verdict}`,
        data: { testid: 'appointment-precheck', verdict: a.precheck.verdict },
      }) : null,
      a.needs_new_time ? el('span', { class: 'badge badge-needs-new-time', i18n: 'staff.needs_new_time' }) : null,
      // Whether the citizen got Loket's messages (the latest one that went anywhere).
      noticeBadge(a.notifications),
    ]),
    actions,
  ]);
}

byId('today-refresh').addEventListener('click', () => refreshNow());

// ---------------------------------------------------------------------------
// Live feed (server-sent events; the browser reconnects it by itself)

function openFeed() {
  state.feed?.close();
  let es;
  try {
    es = new EventSource('/api/v1/staff/feed');
  } catch {
    return;
  }
  state.feed = es;
  es.onopen = () => show(byId('feed-status'), false);
  const onChange = (ev) => {
    let data;
    try {
      data = JSON.parse(ev.data);
    } catch {
      return;
    }
    if (data && data.appointment !== undefined && typeof data.citizen_waiting === 'boolean') {
      state.waitingNow.set(idKey(data.appointment), data.citizen_waiting);
    }
    scheduleRefresh();
  };
  // Loket names its events (`appointment`, and `resync` when we fell behind); plain
  // `message` events are handled the same way in case a server sends unnamed ones.
  es.addEventListener('appointment', onChange);
  es.addEventListener('message', onChange);
  es.addEventListener('resync', scheduleRefresh);
  es.onerror = () => {
    if (es.readyState !== EventSource.CLOSED) return; // reconnecting by itself
    // Closed for good (e.g. 401): check the session, then try again.
    setI18n(byId('feed-status'), 'staff.feed_lost');
    show(byId('feed-status'), true);
    setTimeout(async () => {
      if (state.feed !== es) return;
      try {
        await sapi('/staff/me');
        openFeed();
        refreshNow();
      } catch {
        /* showLogin already ran for a 401 */
      }
    }, 5000);
  };
}

/** Several events often arrive together (waiting → in_call): fetch once. */
function scheduleRefresh() {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(refreshNow, 250);
}

function refreshNow() {
  loadToday();
  if (state.view === 'week') loadWeek();
}

// ---------------------------------------------------------------------------
// Week

async function loadWeek() {
  const start = state.weekStart;
  setI18n(byId('week-range'), 'staff.week_range', { from: { dt: start, f: 'day' }, to: { dt: addDays(start, 6), f: 'day' } });
  let list;
  try {
    list = await fetchAppointments(start, addDays(start, 7));
  } catch (err) {
    if (err.status !== 401) showError(byId('panel-status'), err);
    return;
  }
  if (start !== state.weekStart) return;
  state.week = list;
  const today = todayYmd();
  const days = [...Array(7).keys()].map((i) => addDays(start, i));
  byId('week-grid').replaceChildren(...days.map((day) => {
    const items = list.filter((a) => ymdOf(a.starts_at) === day);
    const heading = el('h3', { class: 'week-day-title' });
    setDate(heading, day, 'day');
    return el('section', { class: `week-day${day === today ? ' is-today' : ''}`, data: { date: day } }, [
      heading,
      items.length
        ? el('ul', { class: 'week-items' }, items.map((a) => {
          const time = el('span', { class: 'week-time' });
          setDate(time, a.starts_at, 'time');
          return el('li', {}, el('button', {
            type: 'button', class: `week-item status-${a.status}`,
            data: { testid: 'week-item', appointmentId: idKey(a.id), status: a.status },
            on: { click: () => select(a.id) },
          }, [time, el('span', { class: 'week-name', text: a.citizen?.name || a.code }), statusBadge(a.status)]));
        }))
        : el('p', { class: 'muted', i18n: 'staff.day_empty' }),
    ]);
  }));
}

byId('week-prev').addEventListener('click', () => {
  state.weekStart = addDays(state.weekStart, -7);
  loadWeek();
});
byId('week-next').addEventListener('click', () => {
  state.weekStart = addDays(state.weekStart, 7);
  loadWeek();
});

function renderCalendarLink() {
  const url = state.me?.calendar_url;
  show(byId('calendar-card'), !!url);
  if (url) byId('calendar-url').value = new URL(url, location.href).href;
}

byId('calendar-copy').addEventListener('click', async () => {
  const ok = await copyText(byId('calendar-url').value);
  announce(byId('calendar-status'), ok ? 'done.copied' : 'done.copy_failed');
});

// ---------------------------------------------------------------------------
// The selected appointment

function select(id) {
  state.selectedId = id;
  show(byId('cancel-appointment-box'), false);
  show(byId('no-show-box'), false);
  show(byId('panel-error'), false);
  announce(byId('panel-status'), null);
  renderPanel();
  renderTimeline();
  focusHeading(byId('appointment-panel'));
}

byId('panel-close').addEventListener('click', () => {
  const id = state.selectedId;
  state.selectedId = null;
  show(byId('appointment-panel'), false);
  renderTimeline();
  document.querySelector(`[data-appointment-id="${CSS.escape(idKey(id))}"] button`)?.focus();
});

function fact(labelKey, value) {
  if (value === undefined || value === null || value === '') return [];
  const dd = el('dd');
  if (value instanceof Node) dd.append(value);
  else dd.textContent = value;
  return [el('dt', { i18n: labelKey }), dd];
}

function renderPanel() {
  const panel = byId('appointment-panel');
  const a = state.selectedId !== null ? findAppt(state.selectedId) : null;
  const inCallHere = state.call && idKey(state.callApptId) === idKey(state.selectedId);
  const appointmentView = state.view === 'today' || state.view === 'week';
  if ((!a || !appointmentView) && !inCallHere) {
    show(panel, false);
    return;
  }
  show(panel, true);
  if (!a) return; // the call goes on even if the list no longer shows it (other day, filter)
  byId('panel-heading').textContent = a.citizen?.name || a.code;
  const when = el('span');
  setDate(when, a.starts_at);
  const service = el('span');
  setName(service, a.service);
  byId('panel-facts').replaceChildren(
    ...fact('common.status', statusBadge(a.status)),
    ...fact('common.when', when),
    ...fact('common.service', service),
    ...fact('common.code', a.code),
    ...fact('common.phone', a.citizen?.phone_display && el('span', { class: 'nowrap', text: a.citizen.phone_display })),
    ...fact('common.email', a.citizen?.email),
    ...fact('common.nik', a.citizen?.nik_masked),
    ...fact('common.clerk', isSupervisor() ? a.clerk?.name : null),
    ...fact('staff.precheck', precheckText(a.precheck)),
    ...fact('staff.needs_new_time', a.needs_new_time ? t('common.yes') : null),
    ...fact('staff.notifications', a.notifications ? noticeList(a.notifications) : null),
  );
  const st = a.status;
  show(byId('open-room'), ROOM_STATUSES.has(st) && !inCallHere);
  setI18n(byId('open-room'), citizenWaiting(a) ? 'staff.admit' : 'staff.open_room');
  show(byId('room'), !!inCallHere);
  show(byId('notes-field'), st === 'waiting' || st === 'in_call' || !!inCallHere);
  if (state.notesFor !== idKey(a.id)) {
    // Fill the notes once per selection, so a live refresh never overwrites typing.
    state.notesFor = idKey(a.id);
    byId('notes-input').value = a.notes || '';
  }
  show(byId('complete-button'), st === 'waiting' || st === 'in_call');
  renderNoShow(a);
  show(byId('cancel-appointment'), st === 'booked');
  show(byId('outcome'), ROOM_STATUSES.has(st));
  renderReassign(a);
}

// A no-show only after the start plus the grace time (the server refuses earlier with
// too_early), confirmed first, and undoable for a few minutes (the times come from /staff/me).
const MINUTE = 60_000;
let noShowTimer = null;

function renderNoShow(a) {
  const st = a.status;
  const grace = state.me?.no_show_grace_minutes ?? 10;
  const undo = state.me?.no_show_undo_minutes ?? 15;
  const from = new Date(a.starts_at).getTime() + grace * MINUTE;
  const now = Date.now();
  const possible = st === 'booked' || st === 'waiting';
  const early = possible && now < from;
  show(byId('no-show-button'), possible);
  byId('no-show-button').disabled = early;
  const hint = byId('no-show-hint');
  if (early) setI18n(hint, 'staff.no_show_from', { time: { dt: new Date(from).toISOString(), f: 'timez' }, n: grace });
  show(hint, early);
  if (!possible || early) show(byId('no-show-box'), false);
  const until = st === 'no_show' && a.updated_at ? new Date(a.updated_at).getTime() + undo * MINUTE : 0;
  const undoable = now < until;
  if (undoable) setI18n(byId('undo-no-show-text'), 'staff.undo_no_show_text', { time: { dt: new Date(until).toISOString(), f: 'timez' } });
  show(byId('undo-no-show-box'), undoable);
  // Look again when the button should come on or the undo go away.
  clearTimeout(noShowTimer);
  const next = early ? from : undoable ? until : 0;
  if (next) noShowTimer = setTimeout(() => { if (state.selectedId !== null) renderPanel(); }, Math.min(next - now + 500, 6 * 60 * MINUTE));
}

// The citizen's last pre-call check (docs/precheck.md): verdict, then the reasons.
function precheckText(p) {
  if (p === undefined || p === null) return null;
  if (typeof p !== 'object') return String(p);
  const parts = [t(`staff.precheck.${p.verdict}`)];
  for (const code of p.reasons || []) parts.push(t(`precheck.reason.${code}`));
  if (p.path?.remote?.type === 'relay') parts.push('TURN');
  return parts.join(' — ');
}

// The connection test's summary is built from several strings: build it again in the new
// language (everything else follows the switch by its data-i18n keys).
document.addEventListener('langchange', () => {
  if (state.selectedId !== null) renderPanel();
});

function renderReassign(a) {
  const field = byId('reassign-field');
  // Only colleagues who serve this service (the team list says which) and are active.
  const others = state.team.filter((m) => idKey(m.id) !== idKey(a.clerk?.id) && m.role !== 'admin'
    && m.active !== false && (!Array.isArray(m.services) || m.services.includes(a.service?.slug)));
  const visible = isSupervisor() && a.status === 'booked' && others.length > 0;
  show(field, visible);
  if (!visible) return;
  byId('reassign-select').replaceChildren(...others.map((m) => el('option', { value: idKey(m.id), text: m.name })));
}

byId('open-room').addEventListener('click', () => {
  const a = findAppt(state.selectedId);
  if (a) openRoom(a, { autoAdmit: citizenWaiting(a) });
});

async function postAction(path, body, doneKey) {
  const a = findAppt(state.selectedId);
  if (!a) return;
  show(byId('panel-error'), false);
  try {
    await sapi(`/staff/appointments/${encodeURIComponent(a.id)}/${path}`, { method: 'POST', body });
    if (idKey(state.callApptId) === idKey(a.id)) endCall();
    announce(byId('panel-status'), doneKey);
    refreshNow();
    return true;
  } catch (err) {
    const box = byId('panel-error');
    if (err.code === 'slot_taken' && path === 'reassign') {
      setI18n(box, 'staff.reassign_busy');
      show(box, true);
    } else if (err.status !== 401) {
      showError(box, err);
    }
    return false;
  }
}

byId('complete-button').addEventListener('click', async () => {
  const notes = byId('notes-input').value.trim();
  if (await postAction('complete', notes ? { notes } : {}, 'staff.completed')) byId('notes-input').value = '';
});
byId('no-show-button').addEventListener('click', () => {
  setI18n(byId('no-show-confirm-text'), 'staff.no_show_confirm_text', { n: state.me?.no_show_undo_minutes ?? 15 });
  show(byId('no-show-box'), true);
  byId('no-show-confirm').focus();
});
byId('no-show-abort').addEventListener('click', () => {
  show(byId('no-show-box'), false);
  byId('no-show-button').focus();
});
byId('no-show-confirm').addEventListener('click', async () => {
  show(byId('no-show-box'), false);
  if (await postAction('no-show', undefined, 'staff.marked_no_show')) byId('undo-no-show').focus();
});
byId('undo-no-show').addEventListener('click', () => postAction('undo-no-show', undefined, 'staff.no_show_undone'));
byId('cancel-appointment').addEventListener('click', () => {
  show(byId('cancel-appointment-box'), true);
  byId('cancel-appointment-confirm').focus();
});
byId('cancel-appointment-abort').addEventListener('click', () => {
  show(byId('cancel-appointment-box'), false);
  byId('cancel-appointment').focus();
});
byId('cancel-appointment-confirm').addEventListener('click', async () => {
  show(byId('cancel-appointment-box'), false);
  await postAction('cancel', undefined, 'staff.cancelled');
});
byId('reassign-button').addEventListener('click', () => {
  const staff = byId('reassign-select').value;
  const member = state.team.find((m) => idKey(m.id) === staff);
  postAction('reassign', { staff: member ? member.id : staff }, 'staff.reassigned');
});

// ---------------------------------------------------------------------------
// Room and call

async function openRoom(a, { autoAdmit = false } = {}) {
  if (state.call && idKey(state.callApptId) === idKey(a.id)) {
    if (autoAdmit) admitWaiting();
    select(a.id);
    return;
  }
  endCall();
  state.selectedId = a.id;
  state.callApptId = a.id;
  state.autoAdmit = autoAdmit;
  try {
    sessionStorage.setItem(ROOM_KEY, idKey(a.id));
  } catch {
    /* only reload recovery is lost */
  }
  renderPanel();
  renderTimeline();
  show(byId('room'), true);
  setI18n(byId('room-state'), 'staff.room_connecting');
  focusHeading(byId('room'));

  // A clerk without a working camera still runs the consultation (voice, or chat).
  let media = null;
  try {
    media = (await getMedia({})).stream;
  } catch {
    media = null;
  }
  if (idKey(state.callApptId) !== idKey(a.id)) {
    stopStream(media); // the clerk moved on while the camera was starting
    return;
  }
  state.media = media;

  const call = new CallSession({
    polite: false,
    localStream: media,
    fetchTicket: () => sapi('/rooms/ticket', { method: 'POST', body: { appointment: a.id } }),
  });
  state.call = call;
  window.loketCall = call; // test hook: pc, videoFramesDecoded()
  state.ui = bindCallUi(call, { peerLabel: (d) => d.name || t('roles.citizen') });
  if (!media) state.ui.setStatus('staff.no_devices');
  call.addEventListener('peers', () => {
    renderRoomPeers();
    if (state.autoAdmit) admitWaiting();
  });
  call.addEventListener('peer', ({ detail }) => {
    if (detail.peer?.role !== 'citizen') return;
    if (detail.kind === 'waiting') announce(byId('panel-status'), 'staff.room_citizen_waiting', { name: detail.peer.name || '' });
    if (detail.kind === 'left') state.ui?.setStatus(detail.deliberate ? 'call.citizen_left' : 'call.citizen_reconnecting');
    scheduleRefresh();
  });
  call.addEventListener('fatal', ({ detail }) => {
    const err = detail.error;
    endCall();
    const box = byId('panel-error');
    showError(box, err);
    show(box, true);
  });
  call.addEventListener('closed', () => {
    endCall();
    refreshNow();
  });
  call.start();
}

function admitWaiting() {
  const citizen = state.call?.citizen();
  if (citizen?.state === 'waiting' && state.call.admit(citizen.id)) state.autoAdmit = false;
}

function renderRoomPeers() {
  const call = state.call;
  if (!call) return;
  const citizen = call.citizen();
  const roomState = byId('room-state');
  if (!citizen) setI18n(roomState, 'staff.room_empty');
  else if (citizen.state === 'waiting') setI18n(roomState, 'staff.room_citizen_waiting', { name: citizen.name || '' });
  else setI18n(roomState, 'staff.room_citizen_in', { name: citizen.name || '' });
  show(byId('call-admit'), citizen?.state === 'waiting');
  show(byId('call-hold'), !!citizen && citizen.state !== 'waiting');
}

byId('call-admit').addEventListener('click', () => {
  const citizen = state.call?.citizen();
  if (citizen) state.call.admit(citizen.id);
});
byId('call-hold').addEventListener('click', () => {
  const citizen = state.call?.citizen();
  if (citizen) state.call.hold(citizen.id);
});
byId('call-hangup').addEventListener('click', () => {
  endCall();
  byId('open-room').focus();
  scheduleRefresh();
});

function endCall() {
  state.ui?.destroy();
  state.ui = null;
  if (state.call && state.call.stage !== 'ended') state.call.leave();
  state.call = null;
  stopStream(state.media);
  state.media = null;
  state.callApptId = null;
  state.autoAdmit = false;
  if (window.loketCall) window.loketCall = null;
  try {
    sessionStorage.removeItem(ROOM_KEY);
  } catch {
    /* nothing */
  }
  show(byId('room'), false);
  show(byId('call-admit'), false);
  show(byId('call-hold'), false);
  byId('chat-log').replaceChildren();
  if (state.me) renderPanel();
}

/** After a reload mid-call, go straight back into the room. */
function resumeRoom() {
  let id = null;
  try {
    id = sessionStorage.getItem(ROOM_KEY);
  } catch {
    id = null;
  }
  const a = id && findAppt(id);
  if (a && (a.status === 'waiting' || a.status === 'in_call')) openRoom(a);
}

// ---------------------------------------------------------------------------
// Weekly hours

async function loadHours() {
  show(byId('hours-error'), false);
  announce(byId('hours-status'), 'common.loading');
  try {
    const res = await sapi('/staff/hours');
    renderHours(Array.isArray(res) ? res : res?.intervals || []);
    announce(byId('hours-status'), null);
  } catch (err) {
    if (err.status !== 401) showError(byId('hours-status'), err);
  }
}

function renderHours(intervals) {
  const container = byId('hours-days');
  container.replaceChildren(...[1, 2, 3, 4, 5, 6, 7].map((wd) => {
    const legend = el('legend');
    setDate(legend, addDays('2024-01-01', wd - 1), 'weekday'); // 2024-01-01 was a Monday
    const rows = el('div', { class: 'hours-rows', data: { weekday: String(wd) } });
    for (const iv of intervals.filter((i) => Number(i.weekday) === wd)) rows.append(hoursRow(wd, iv.starts, iv.ends));
    const fieldset = el('fieldset', { class: 'hours-day' }, [
      legend,
      rows,
      el('p', { class: 'hint hours-closed', i18n: 'staff.hours_closed', hidden: rows.children.length > 0 }),
      el('button', {
        type: 'button', class: 'btn btn-link', i18n: 'staff.hours_add',
        data: { testid: 'hours-add', weekday: String(wd) },
        on: { click: () => addHoursRow(rows, wd) },
      }),
    ]);
    return fieldset;
  }));
}

let rowSeq = 0;
function hoursRow(wd, starts = '08:00', ends = '12:00') {
  rowSeq += 1;
  const base = `hours-${wd}-${rowSeq}`;
  const row = el('div', { class: 'hours-row', data: { testid: 'hours-row', weekday: String(wd) } });
  const start = timeInput(`${base}-start`, starts, 'hours-start');
  const end = timeInput(`${base}-end`, ends, 'hours-end');
  row.append(
    el('div', { class: 'field field-inline' }, [el('label', { htmlFor: start.id, i18n: 'staff.hours_from' }), start]),
    el('div', { class: 'field field-inline' }, [el('label', { htmlFor: end.id, i18n: 'staff.hours_to' }), end]),
    el('button', {
      type: 'button', class: 'btn btn-link', i18n: 'staff.hours_remove',
      data: { testid: 'hours-remove' },
      on: {
        click: () => {
          const rows = row.parentElement;
          row.remove();
          syncClosed(rows);
          rows.closest('fieldset').querySelector('[data-testid="hours-add"]').focus();
        },
      },
    }),
    el('p', { class: 'field-error', id: `${base}-error`, hidden: true }),
  );
  return row;
}

/**
 * A time on the 24-hour clock as typed text ("08.00"; "8.00", "08:00" and "0800" are read too),
 * the same in both languages; type=time showed AM/PM in an English browser.
 */
function timeInput(id, hm, testid) {
  return el('input', {
    type: 'text', id, class: 'time-input', value: showHm(hm), inputMode: 'numeric', maxLength: 5,
    autocomplete: 'off', required: true, placeholder: '08.00',
    attrs: { 'aria-describedby': 'hours-time-hint' }, data: { testid },
  });
}

/** "8.00", "08:00", "0800" → "08:00" (what the API takes), or null when it is not a time. */
function parseHm(text) {
  const m = /^\s*(\d{1,2})[.:]?(\d{2})\s*$/.exec(text || '');
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) return null;
  return `${m[1].padStart(2, '0')}:${m[2]}`;
}

/** "08:00" (or "08:00:00") → "08.00", as the pages write times. */
const showHm = (hm) => String(hm || '').slice(0, 5).replace(':', '.');

function addHoursRow(rows, wd) {
  const last = rows.lastElementChild;
  // Suggest the afternoon after a morning block: the common shape around a lunch break.
  const row = last ? hoursRow(wd, last.querySelector('[data-testid="hours-end"]').value || '13:00', '15:00') : hoursRow(wd);
  rows.append(row);
  syncClosed(rows);
  row.querySelector('input').focus();
}

function syncClosed(rows) {
  show(rows.parentElement.querySelector('.hours-closed'), rows.children.length === 0);
}

function setRowError(row, key) {
  const msg = row.querySelector('.field-error');
  const inputs = row.querySelectorAll('input');
  if (!key) {
    show(msg, false);
    for (const i of inputs) {
      i.removeAttribute('aria-invalid');
      i.setAttribute('aria-describedby', 'hours-time-hint');
    }
    return;
  }
  setI18n(msg, key);
  show(msg, true);
  for (const i of inputs) {
    i.setAttribute('aria-invalid', 'true');
    i.setAttribute('aria-describedby', `${msg.id} hours-time-hint`);
  }
}

byId('hours-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const rows = [...byId('hours-days').querySelectorAll('.hours-row')];
  const errorBox = byId('hours-error');
  show(errorBox, false);
  let bad = null;
  // The order sent is the order on screen, so "intervals[i]" in an error maps back to rows[i].
  const intervals = rows.map((row) => {
    const starts = parseHm(row.querySelector('[data-testid="hours-start"]').value);
    const ends = parseHm(row.querySelector('[data-testid="hours-end"]').value);
    const problem = !starts || !ends ? 'staff.time_invalid' : starts < ends ? null : 'staff.hours_invalid_range';
    setRowError(row, problem);
    if (problem) bad ||= row;
    return { weekday: Number(row.dataset.weekday), starts, ends };
  });
  if (bad) {
    bad.querySelector('input').focus();
    return;
  }
  const btn = byId('hours-save');
  btn.disabled = true;
  try {
    const res = await sapi('/staff/hours', { method: 'PUT', body: { intervals } });
    if (res && (Array.isArray(res) || res.intervals)) renderHours(Array.isArray(res) ? res : res.intervals);
    announce(byId('hours-status'), 'staff.hours_saved');
  } catch (err) {
    if (err.code === 'validation_failed' && err.fields) {
      let first = null;
      for (const [key, problem] of Object.entries(err.fields)) {
        const m = /intervals\[(\d+)\]/.exec(key);
        const row = m && rows[Number(m[1])];
        if (row) {
          setRowError(row, problemKey('interval', problem));
          first ||= row;
        }
      }
      setI18n(errorBox, 'staff.hours_fix');
      show(errorBox, true);
      (first?.querySelector('input') || errorBox).focus();
    } else if (err.status !== 401) {
      showError(errorBox, err);
      errorBox.focus();
    }
  } finally {
    btn.disabled = false;
  }
});

// ---------------------------------------------------------------------------
// Leave (closures)

async function loadClosures() {
  const list = byId('closure-list');
  try {
    const res = await sapi('/staff/closures');
    const items = (Array.isArray(res) ? res : res?.closures || []).sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at));
    if (!items.length) {
      list.replaceChildren(el('li', { class: 'muted', i18n: 'staff.leave_none' }));
      return;
    }
    list.replaceChildren(...items.map((c) => el('li', { class: 'closure', data: { testid: 'closure-row', closureId: idKey(c.id) } }, [
      el('span', { class: 'closure-when', i18n: 'staff.leave_range', params: { from: { dt: c.starts_at }, to: { dt: c.ends_at } } }),
      c.reason ? el('span', { class: 'closure-reason', text: c.reason }) : null,
      el('button', {
        type: 'button', class: 'btn btn-link', i18n: 'staff.leave_delete',
        data: { testid: 'closure-delete' }, on: { click: () => deleteClosure(c) },
      }),
    ])));
  } catch (err) {
    if (err.status !== 401) showError(byId('closure-status'), err);
  }
}

async function deleteClosure(c) {
  try {
    await sapi(`/staff/closures/${encodeURIComponent(c.id)}`, { method: 'DELETE' });
    announce(byId('closure-status'), 'staff.leave_deleted');
    await loadClosures();
    focusHeading(byId('view-leave')); // the pressed button is gone; keep focus in the view
  } catch (err) {
    if (err.status !== 401) showError(byId('closure-status'), err);
  }
}

const closureInputs = {
  starts_at: byId('closure-starts'),
  starts_time: byId('closure-starts-time'),
  ends_at: byId('closure-ends'),
  ends_time: byId('closure-ends-time'),
  reason: byId('closure-reason'),
};

/** A date and a 24-hour time ("YYYY-MM-DDTHH:MM"), or '' with the field marked. */
function readDateTime(dateInput, timeInput) {
  const time = parseHm(timeInput.value);
  if (!dateInput.value) setFieldError(dateInput, 'fields.required');
  if (!time) setFieldError(timeInput, 'staff.time_invalid');
  return dateInput.value && time ? `${dateInput.value}T${time}` : '';
}

/** Wall-clock "YYYY-MM-DDTHH:MM", read in the site's zone, not the PC's. */
function localInputToIso(value) {
  const [day, time] = value.split('T');
  return zonedIso(day, time);
}

byId('closure-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  for (const input of Object.values(closureInputs)) setFieldError(input, null);
  const starts = readDateTime(closureInputs.starts_at, closureInputs.starts_time);
  const ends = readDateTime(closureInputs.ends_at, closureInputs.ends_time);
  if (starts && ends && ends <= starts) setFieldError(closureInputs.ends_at, 'staff.leave_end_before_start');
  const invalid = Object.values(closureInputs).find((i) => i.getAttribute('aria-invalid') === 'true');
  if (invalid) {
    invalid.focus();
    return;
  }
  const body = { starts_at: localInputToIso(starts), ends_at: localInputToIso(ends), reason: closureInputs.reason.value.trim() };
  const btn = byId('closure-submit');
  btn.disabled = true;
  try {
    // First what it would do to the bookings in that time; saving is a second press.
    const key = JSON.stringify(body);
    if (state.closurePreview !== key) {
      const preview = await sapi('/staff/closures?dry_run=true', { method: 'POST', body });
      if (preview?.affected?.length) {
        state.closurePreview = key;
        renderClosurePreview(preview.affected);
        setI18n(btn, 'staff.leave_confirm');
        return;
      }
    }
    const saved = await sapi('/staff/closures', { method: 'POST', body });
    state.closurePreview = null;
    show(byId('closure-preview'), false);
    setI18n(btn, 'staff.leave_submit');
    ev.target.reset();
    const moved = saved?.affected?.length || 0;
    if (moved) announce(byId('closure-status'), 'staff.leave_added_moved', { n: moved });
    else announce(byId('closure-status'), 'staff.leave_added');
    await loadClosures();
  } catch (err) {
    if (err.code === 'validation_failed') {
      let first = null;
      for (const [field, problem] of Object.entries(err.fields)) {
        const input = closureInputs[field];
        if (input) {
          setFieldError(input, problemKey(field, problem));
          first ||= input;
        }
      }
      first?.focus();
      if (!first) showError(byId('closure-status'), err);
    } else if (err.status !== 401) {
      showError(byId('closure-status'), err);
    }
  } finally {
    btn.disabled = false;
  }
});

/** "3 bookings fall in this leave", and what becomes of each, before the clerk saves. */
function renderClosurePreview(affected) {
  setI18n(byId('closure-preview-title'), 'staff.leave_preview_title', { n: affected.length });
  byId('closure-preview-list').replaceChildren(...affected.map((a) => el('li', {
    i18n: `staff.leave_preview_${a.outcome}`,
    params: { code: a.code, when: { dt: a.starts_at, f: 'datetime' }, clerk: a.clerk || '' },
    data: { testid: 'closure-preview-row', outcome: a.outcome },
  })));
  show(byId('closure-preview'), true);
}

// Editing the leave after a preview asks for a new preview.
for (const input of Object.values(closureInputs)) {
  input.addEventListener('input', () => {
    if (!state.closurePreview) return;
    state.closurePreview = null;
    show(byId('closure-preview'), false);
    setI18n(byId('closure-submit'), 'staff.leave_submit');
  });
}

// ---------------------------------------------------------------------------
// Bookings waiting for a new time (leave or a holiday took them; nobody else was free)

async function loadOpen() {
  const list = byId('open-list');
  try {
    const rows = await sapi('/staff/appointments/needs-new-time');
    if (!rows?.length) {
      list.replaceChildren(el('li', { class: 'muted', i18n: 'staff.open_none' }));
      return;
    }
    list.replaceChildren(...rows.map((a) => {
      const when = el('span', { class: 'closure-when' });
      setDate(when, a.starts_at);
      const service = el('span');
      setName(service, a.service);
      return el('li', { class: 'closure', data: { testid: 'open-row' } }, [
        when, ' · ', el('span', { text: a.code }), ' · ', service, ' · ',
        el('span', { text: a.citizen?.name || '' }),
        isSupervisor() && a.clerk?.name ? el('span', { class: 'appt-clerk', text: ` (${a.clerk.name})` }) : null,
      ]);
    }));
  } catch (err) {
    if (err.status !== 401) showError(byId('open-status'), err);
  }
}

// ---------------------------------------------------------------------------
// Admin: the Outbox — every message Loket sent, or would send once its channel is set up

async function loadOutbox() {
  try {
    const [rows, report] = await Promise.all([
      sapi('/admin/outbox?limit=200'),
      sapi('/admin/reports').catch(() => null),
    ]);
    const summary = (report?.deliveries?.channels || []).map((c) => el('li', {
      i18n: 'staff.outbox_summary',
      params: { channel: { k: `notify.channel.${c.channel}` }, sent: c.sent, delivered: c.delivered, failed: c.failed, skipped: c.skipped },
    }));
    if (report?.deliveries) summary.push(el('li', { i18n: 'staff.outbox_missed', params: { n: report.deliveries.reminders_not_arrived } }));
    byId('outbox-summary').replaceChildren(...summary);
    const body = byId('outbox-rows');
    if (!rows?.length) {
      body.replaceChildren(el('tr', {}, [el('td', { colSpan: 5, class: 'muted', i18n: 'staff.outbox_none' })]));
      return;
    }
    body.replaceChildren(...rows.map((m) => {
      const when = el('td');
      setDate(when, m.due_at);
      return el('tr', { data: { testid: 'outbox-row', kind: m.kind, channel: m.channel, status: m.status } }, [
        when,
        el('td', { text: m.code || m.ticket || '' }),
        el('td', {}, [
          el('strong', { i18n: 'notify.item', params: { kind: { k: `notify.kind.${m.kind}` }, channel: { k: `notify.channel.${m.channel}` }, status: { k: `notify.status.${m.status}` } } }),
          m.text ? el('pre', { class: 'outbox-text', text: m.text }) : null,
          m.last_error ? el('p', { class: 'muted', text: m.last_error }) : null,
        ]),
        el('td', { i18n: `notify.status.${m.status}` }),
        el('td', { text: m.to }),
      ]);
    }));
  } catch (err) {
    if (err.status !== 401) showError(byId('outbox-status'), err);
  }
}

// A date changed on another day (the tab left open overnight) must show the new day.
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && state.me) refreshNow();
});

boot();
