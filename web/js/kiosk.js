// The kiosk in the mall (/kiosk): big buttons — an agency, a service, a name (a phone only if
// the citizen wants to be told outside the mall), consent — and the number, shown large and
// printable on the kiosk's printer. It forgets each citizen at once: nothing stays in the page or
// its storage, and it goes back to the start by itself.

import { initI18n, setI18n, setName, setDate, setSiteZone } from './i18n.js';
import { api } from './api.js';
import { byId, el, show, focusHeading, showError, setFieldError, problemKey } from './dom.js';

await initI18n();

/** Back to the start this long after a number was shown (or a form left half-filled). */
const IDLE_MS = 60_000;

const state = { agencies: [], agency: null, service: null, idle: null };
const steps = ['kiosk-agencies', 'kiosk-services', 'kiosk-details', 'kiosk-done'];

function go(step) {
  for (const s of steps) show(byId(s), s === step);
  show(byId('kiosk-error'), false);
  focusHeading(byId(step));
  restartIdle();
}

function restartIdle() {
  clearTimeout(state.idle);
  state.idle = setTimeout(reset, IDLE_MS);
}
for (const ev of ['pointerdown', 'keydown']) document.addEventListener(ev, restartIdle);

function reset() {
  byId('kiosk-form').reset();
  for (const id of ['kiosk-name', 'kiosk-phone', 'kiosk-consent']) setFieldError(byId(id), null);
  byId('kiosk-number').textContent = '';
  state.agency = null;
  state.service = null;
  go('kiosk-agencies');
}

function failed(err) {
  const box = byId('kiosk-error');
  showError(box, err);
  if (err.code === 'queue_closed' && err.body?.reason) setI18n(box, `queue.closed.${err.body.reason}`);
  show(box, true);
  box.focus();
}

async function loadAgencies() {
  try {
    state.agencies = await api('/agencies');
  } catch (err) {
    failed(err);
    return;
  }
  byId('kiosk-agency-list').replaceChildren(
    ...state.agencies.map((a) => {
      const b = el('button', {
        type: 'button', class: 'kiosk-choice', data: { testid: 'kiosk-agency', slug: a.slug },
        on: { click: () => openAgency(a) },
      });
      setName(b, a);
      return b;
    }),
  );
}

async function openAgency(a) {
  state.agency = a;
  let services;
  try {
    services = await api(`/services?agency=${encodeURIComponent(a.slug)}`);
  } catch (err) {
    failed(err);
    return;
  }
  setName(byId('kiosk-services-heading'), a);
  byId('kiosk-service-list').replaceChildren(
    ...services.map((s) => {
      const b = el('button', {
        type: 'button', class: 'kiosk-choice', data: { testid: 'kiosk-service', slug: s.slug },
        on: { click: () => openService(s) },
      });
      setName(b, s);
      return b;
    }),
  );
  go('kiosk-services');
}

function openService(s) {
  state.service = s;
  setName(byId('kiosk-chosen'), s);
  go('kiosk-details');
  byId('kiosk-name').focus();
}

byId('kiosk-back-agencies').addEventListener('click', () => go('kiosk-agencies'));
byId('kiosk-back-services').addEventListener('click', () => go('kiosk-services'));

byId('kiosk-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const inputs = { 'citizen.name': byId('kiosk-name'), 'citizen.phone': byId('kiosk-phone'), consent: byId('kiosk-consent') };
  for (const input of Object.values(inputs)) setFieldError(input, null);
  const button = byId('kiosk-submit');
  button.disabled = true;
  try {
    const phone = byId('kiosk-phone').value.trim();
    const res = await api('/queue', {
      method: 'POST',
      body: {
        service: state.service.slug,
        mode: 'in_person',
        citizen: { name: byId('kiosk-name').value.trim(), ...(phone ? { phone } : {}) },
        consent: byId('kiosk-consent').checked,
      },
    });
    showNumber(res.ticket);
  } catch (err) {
    if (err.code === 'validation_failed') {
      let first = null;
      for (const [field, problem] of Object.entries(err.fields)) {
        const input = inputs[field];
        if (!input) continue;
        setFieldError(input, problemKey(field.replace('citizen.', ''), problem));
        first = first || input;
      }
      first?.focus();
    } else {
      failed(err);
    }
  } finally {
    button.disabled = false;
  }
});

function showNumber(ticket) {
  // The number stays; the citizen's details leave the page now.
  byId('kiosk-form').reset();
  if (ticket.timezone) setSiteZone(ticket.timezone);
  byId('kiosk-number').textContent = ticket.number;
  setName(byId('kiosk-service'), ticket.service);
  const place = byId('kiosk-place');
  if (ticket.eta_minutes === null || ticket.eta_minutes === undefined) {
    setI18n(place, 'kiosk.place_unknown', { n: ticket.position });
  } else if (ticket.eta_minutes === 0) {
    setI18n(place, 'kiosk.place_now', { n: ticket.position });
  } else {
    setI18n(place, 'kiosk.place', { n: ticket.position, m: ticket.eta_minutes });
  }
  setDate(byId('kiosk-taken-at'), ticket.taken_at, 'timez');
  go('kiosk-done');
}

byId('kiosk-print').addEventListener('click', () => window.print());
byId('kiosk-restart').addEventListener('click', reset);

loadAgencies();
restartIdle();
