// Citizen booking (/): find a service → requirements and a free time → details and
// consent → booking code with join, manage and calendar links.

import { initI18n, setI18n, setName, setDate, getLang } from './i18n.js';
import { api, downloadWithToken, storeCitizenToken, uuid } from './api.js';
import { byId, el, show, focusHeading, setFieldError, problemKey, showError, copyText, announce } from './dom.js';
import { SlotPicker } from './slots.js';
import { confirmStep } from './confirm.js';

await initI18n();

const sections = {
  service: byId('step-service'),
  schedule: byId('step-schedule'),
  details: byId('step-details'),
  confirm: byId('step-confirm'),
  done: byId('step-done'),
};
const search = byId('service-search');
const agencySelect = byId('agency-filter');
const serviceList = byId('service-list');
const serviceStatus = byId('service-status');
const form = byId('booking-form');
const formError = byId('form-error');
const submitBtn = byId('book-submit');
const submitStatus = byId('submit-status');
const slotTakenBox = byId('slot-taken');

const FIELD_INPUTS = {
  name: byId('citizen-name'),
  phone: byId('citizen-phone'),
  email: byId('citizen-email'),
  nik: byId('citizen-nik'),
  consent: byId('consent'),
};

const state = {
  step: 'service',
  service: null,
  slot: null,
  // {key, body}: the Idempotency-Key is reused only for a retry of the very same body,
  // so a network retry can never book twice, and a corrected form gets a fresh key.
  attempt: null,
  booking: null,
  searchSeq: 0,
  lockedUntil: 0, // after a 429, until Retry-After has passed
};

const picker = new SlotPicker(byId('slot-picker'), { onPick: pickSlot });

// ---------------------------------------------------------------------------
// Steps and the back button (Android users press it a lot)

function goTo(step, { push = true, focus = true } = {}) {
  for (const [name, section] of Object.entries(sections)) show(section, name === step);
  state.step = step;
  if (push) history.pushState({ step }, '');
  if (focus) focusHeading(sections[step]);
}

window.addEventListener('popstate', (ev) => {
  if (state.booking) {
    // Never fall back into a form that has already been sent: keep the confirmation.
    history.pushState({ step: 'done' }, '');
    return;
  }
  let step = ev.state?.step || 'service';
  if (step === 'details' && !state.slot) step = 'schedule';
  if (step === 'schedule' && !state.service) step = 'service';
  goTo(step, { push: false });
});
history.replaceState({ step: 'service' }, '');

// ---------------------------------------------------------------------------
// Step 1: services by agency, with search

async function loadAgencies() {
  let agencies = [];
  try {
    agencies = await api('/agencies');
  } catch {
    return; // the list still works without the filter
  }
  for (const a of agencies || []) {
    const option = el('option', { value: a.slug });
    setName(option, a);
    agencySelect.append(option);
  }
}

async function loadServices() {
  const seq = ++state.searchSeq;
  const params = new URLSearchParams();
  const q = search.value.trim();
  if (q) params.set('q', q);
  if (agencySelect.value) params.set('agency', agencySelect.value);
  const query = params.toString();
  announce(serviceStatus, 'book.searching');
  let list;
  try {
    list = await api(`/services${query ? `?${query}` : ''}`);
  } catch (err) {
    if (seq === state.searchSeq) showError(serviceStatus, err);
    return;
  }
  if (seq !== state.searchSeq) return; // typed on; a newer search is under way
  renderServices(Array.isArray(list) ? list : []);
}

function renderServices(list) {
  const groups = new Map();
  for (const s of list) {
    const key = s.agency?.slug || '';
    if (!groups.has(key)) groups.set(key, { agency: s.agency, items: [] });
    groups.get(key).items.push(s);
  }
  serviceList.replaceChildren(
    ...[...groups.values()].map(({ agency, items }) => {
      const heading = el('h3');
      if (agency) setName(heading, agency);
      else setI18n(heading, 'book.other_services');
      return el('section', { class: 'service-group' }, [
        heading,
        el('ul', { class: 'service-items' }, items.map(serviceItem)),
      ]);
    }),
  );
  announce(serviceStatus, list.length ? 'book.services_found' : 'book.no_services', { n: list.length });
}

function serviceItem(s) {
  const name = el('span', { class: 'service-name' });
  setName(name, s);
  return el('li', {}, el('button', {
    type: 'button',
    class: 'service-item',
    data: { testid: 'service-item', slug: s.slug },
    on: { click: () => openService(s.slug) },
  }, [
    name,
    matchedThrough(s),
    s.duration_minutes ? el('span', { class: 'service-meta', i18n: 'book.duration', params: { n: s.duration_minutes } }) : null,
  ]));
}

/**
 * Why a search found this service when its name does not say: "dulu: IMB" (a former name) or
 * "juga disebut: baliho" (another alias). The name itself is Indonesian: lang="id".
 */
function matchedThrough(s) {
  const [key, name] = s.formerly ? ['book.formerly', s.formerly] : s.matched_alias ? ['book.also_known_as', s.matched_alias] : [];
  if (!key) return null;
  return el('span', { class: 'service-meta service-through', data: { testid: 'service-through' } }, [
    el('span', { i18n: key }), ' ', el('span', { text: name, attrs: { lang: 'id' } }),
  ]);
}

let searchTimer;
search.addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(loadServices, 250); // debounce: one request per pause in typing
});
search.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter') {
    clearTimeout(searchTimer);
    loadServices();
  }
});
agencySelect.addEventListener('change', loadServices);

// ---------------------------------------------------------------------------
// Step 2: service detail and a time

async function openService(slug) {
  let svc;
  try {
    svc = await api(`/services/${encodeURIComponent(slug)}`);
  } catch (err) {
    showError(serviceStatus, err);
    return;
  }
  state.service = svc;
  state.slot = null;
  state.attempt = null;
  setName(byId('service-title'), svc);
  if (svc.agency) setName(byId('service-agency'), svc.agency);
  setI18n(byId('service-duration'), 'book.duration_long', { n: svc.duration_minutes });
  renderRequirements(svc);
  show(byId('nik-note'), !!svc.needs_nik);
  byId('queue-today-link').href = `/queue?service=${encodeURIComponent(svc.slug)}`;
  goTo('schedule');
  picker.load(svc.slug);
}

/**
 * Requirements in English where the catalogue has them (`requirements_en`) and the page is in
 * English; otherwise the Indonesian ones, marked lang="id" so a screen reader reads them as such.
 */
function renderRequirements(svc) {
  const english = getLang() === 'en' && svc.requirements_en?.length ? svc.requirements_en : null;
  const reqs = english || (Array.isArray(svc.requirements) ? svc.requirements : []);
  byId('requirements').replaceChildren(
    ...(reqs.length
      ? reqs.map((r) => el('li', { text: String(r), attrs: english ? {} : { lang: 'id' } }))
      : [el('li', { i18n: 'book.no_requirements' })]),
  );
}
document.addEventListener('langchange', () => {
  if (state.service) renderRequirements(state.service);
});

byId('back-to-services').addEventListener('click', () => goTo('service'));

function pickSlot(slot) {
  state.slot = slot;
  renderSummary();
  show(slotTakenBox, false);
  const needsNik = !!state.service?.needs_nik;
  show(byId('nik-field'), needsNik);
  FIELD_INPUTS.nik.required = needsNik;
  goTo('details');
}

function renderSummary() {
  setName(byId('summary-service'), state.service);
  const when = byId('summary-when');
  if (state.slot) setDate(when, state.slot.starts_at);
  else setI18n(when, 'book.no_time_chosen');
}

byId('change-time').addEventListener('click', () => goTo('schedule'));

// ---------------------------------------------------------------------------
// Step 3: details, consent and the booking request

function readForm() {
  const citizen = {
    name: FIELD_INPUTS.name.value.trim(),
    phone: FIELD_INPUTS.phone.value.trim(),
  };
  const email = FIELD_INPUTS.email.value.trim();
  if (email) citizen.email = email;
  if (state.service?.needs_nik) citizen.nik = FIELD_INPUTS.nik.value.replace(/[\s.]/g, '');
  return { citizen, consent: FIELD_INPUTS.consent.checked };
}

/** Catches the obvious before a round trip; the server stays the judge of the rest. */
function localProblems({ citizen, consent }) {
  const problems = {};
  if (!citizen.name) problems.name = 'required';
  if (!citizen.phone) problems.phone = 'required';
  if (state.service?.needs_nik) {
    if (!citizen.nik) problems.nik = 'required';
    else if (!/^\d{16}$/.test(citizen.nik)) problems.nik = 'must_be_16_digits';
  }
  if (!consent) problems.consent = 'required';
  return problems;
}

function clearErrors() {
  for (const input of Object.values(FIELD_INPUTS)) setFieldError(input, null);
  show(formError, false);
  formError.textContent = '';
}

function showFieldErrors(fields) {
  let first = null;
  let slotProblem = false;
  for (const [rawKey, problem] of Object.entries(fields || {})) {
    const key = rawKey.replace(/^citizen\./, '');
    const input = FIELD_INPUTS[key];
    if (input) {
      setFieldError(input, problemKey(key, problem));
      first ||= input;
    } else if (key === 'starts_at') {
      slotProblem = true;
    }
  }
  if (slotProblem) slotTaken();
  setI18n(formError, 'book.check_fields');
  show(formError, true);
  (first || formError).focus();
}

async function submit(ev) {
  ev.preventDefault();
  if (submitBtn.disabled) return;
  clearErrors();
  if (!state.slot) {
    setI18n(formError, 'book.pick_time');
    show(formError, true);
    formError.focus();
    return;
  }
  const { citizen, consent } = readForm();
  const problems = localProblems({ citizen, consent });
  if (Object.keys(problems).length) {
    showFieldErrors(problems);
    return;
  }
  const body = { service: state.service.slug, starts_at: state.slot.starts_at, citizen, consent: true };
  await send(body, false);
}

async function send(body, isRetry) {
  const json = JSON.stringify(body);
  if (!state.attempt || state.attempt.body !== json) state.attempt = { key: uuid(), body: json };
  setBusy(true);
  try {
    const res = await api('/appointments', {
      method: 'POST',
      body,
      headers: { 'Idempotency-Key': state.attempt.key },
    });
    showDone(res);
  } catch (err) {
    if (err.code === 'idempotency_key_reused' && !isRetry) {
      state.attempt = null;
      setBusy(false);
      await send(body, true);
      return;
    }
    handleError(err);
  } finally {
    setBusy(false);
  }
}

function setBusy(busy) {
  submitBtn.disabled = busy || Date.now() < (state.lockedUntil || 0);
  form.setAttribute('aria-busy', String(busy));
  setI18n(submitBtn, busy ? 'book.submitting' : 'book.submit');
  announce(submitStatus, busy ? 'book.submitting' : null);
}

function handleError(err) {
  switch (err.code) {
    case 'validation_failed':
      showFieldErrors(err.fields);
      return;
    case 'slot_taken':
      slotTaken();
      return;
    case 'rate_limited': {
      showError(formError, err);
      formError.focus();
      // Wait out Retry-After instead of letting the button invite more refusals.
      const ms = (err.retryAfter ?? 60) * 1000;
      state.lockedUntil = Date.now() + ms;
      setTimeout(() => setBusy(false), ms + 50);
      return;
    }
    default:
      showError(formError, err);
      formError.focus();
  }
}

/** Someone took the time first: say so and offer the next free times. */
async function slotTaken() {
  const taken = state.slot;
  state.slot = null;
  renderSummary();
  setI18n(byId('slot-taken-text'), 'book.slot_taken');
  const list = byId('slot-suggestions');
  list.replaceChildren();
  show(slotTakenBox, true);
  await picker.reload();
  const next = taken ? picker.nextAfter(taken.starts_at, 3) : [];
  if (!next.length) {
    setI18n(byId('slot-taken-text'), 'book.slot_taken_none');
    list.replaceChildren(el('li', {}, el('button', {
      type: 'button', class: 'btn btn-secondary', i18n: 'book.change_time', on: { click: () => goTo('schedule') },
    })));
    return;
  }
  list.replaceChildren(...next.map((slot) => {
    const btn = el('button', {
      type: 'button', class: 'slot-button', data: { testid: 'suggested-slot', startsAt: slot.starts_at },
      on: {
        click: () => {
          state.slot = slot;
          renderSummary();
          show(slotTakenBox, false);
          submitBtn.focus();
        },
      },
    });
    setDate(btn, slot.starts_at);
    return el('li', {}, btn);
  }));
  list.querySelector('button')?.focus();
}

form.addEventListener('submit', submit);
// A corrected field loses its error mark at once.
for (const input of Object.values(FIELD_INPUTS)) {
  input.addEventListener('change', () => setFieldError(input, null));
}

// ---------------------------------------------------------------------------
// Step 4: confirmation

function showDone(res) {
  const { appointment: a, token, links = {} } = res;
  state.booking = res;
  storeCitizenToken(token);
  if (a.status === 'held') {
    showHeld(res);
    return;
  }
  byId('booking-code').textContent = a.code;
  setName(byId('done-service'), a.service || state.service);
  setDate(byId('done-when'), a.starts_at);
  byId('done-clerk').textContent = a.clerk?.name || '';
  show(byId('done-nik-label'), !!a.nik_masked);
  show(byId('done-nik'), !!a.nik_masked);
  byId('done-nik').textContent = a.nik_masked || '';
  const join = links.join || `/join#t=${encodeURIComponent(token)}`;
  const manage = links.manage || `/manage#t=${encodeURIComponent(token)}`;
  byId('join-link').href = join;
  // `check=1`: the join page runs the connection test at once (docs/precheck.md).
  byId('device-check-link').href = `${join}&check=1`;
  byId('manage-link').href = manage;
  if (links.ics) byId('ics-link').href = links.ics;
  history.replaceState({ step: 'done' }, '');
  goTo('done', { push: false });
}

/** Held until the code sent to the phone confirms it (DESIGN §9): the code step first. */
function showHeld(res) {
  const { appointment: a, token } = res;
  byId('held-code').textContent = a.code;
  setName(byId('held-service'), a.service || state.service);
  setDate(byId('held-when'), a.starts_at);
  show(byId('hold-released'), false);
  confirmStep(byId('hold-box'), {
    token,
    appointment: a,
    onConfirmed: (confirmed) => showDone({ ...res, appointment: confirmed }),
    onReleased: () => {
      // The time went back to everyone: start again from the times, nothing kept.
      state.booking = null;
      state.attempt = null;
      show(byId('hold-released'), true);
    },
  });
  history.replaceState({ step: 'confirm' }, '');
  goTo('confirm', { push: false });
}

byId('book-again').addEventListener('click', async () => {
  state.slot = null;
  renderSummary();
  goTo('schedule');
  await picker.reload();
});

byId('ics-link').addEventListener('click', async (ev) => {
  const booking = state.booking;
  if (!booking) return;
  // The calendar file needs the Bearer token, which a plain link cannot send.
  ev.preventDefault();
  try {
    await downloadWithToken('/appointments/current/ics', booking.token, `loket-${booking.appointment.code}.ics`);
  } catch (err) {
    showError(byId('done-status'), err);
  }
});

async function copyLink(id) {
  const ok = await copyText(byId(id).href);
  announce(byId('done-status'), ok ? 'done.copied' : 'done.copy_failed');
}
byId('copy-join').addEventListener('click', () => copyLink('join-link'));
byId('copy-manage').addEventListener('click', () => copyLink('manage-link'));

byId('book-another').addEventListener('click', () => {
  state.booking = null;
  state.service = null;
  state.slot = null;
  state.attempt = null;
  form.reset();
  clearErrors();
  goTo('service');
});

// ---------------------------------------------------------------------------

loadAgencies();
loadServices();
// `/?service=<slug>` opens that service at once (the manage page links here to book again).
const wanted = new URLSearchParams(location.search).get('service');
if (wanted && /^[a-z0-9][a-z0-9-]{0,62}$/.test(wanted)) openService(wanted);
