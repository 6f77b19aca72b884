// Manage an appointment (/manage#t=…): see it and the messages Loket sent about it,
// reschedule to another free time (same clerk, the server decides; one tap on an offered
// time when leave or a holiday took the booking), cancel, or download the calendar file.
// Without a (valid) link: find the booking again with its code, phone and a one-time code.

import { initI18n, setI18n, setName, setDate } from './i18n.js';
import { api, downloadWithToken, takeCitizenToken, storeCitizenToken } from './api.js';
import { byId, el, show, focusHeading, showError, announce, statusBadge } from './dom.js';
import { SlotPicker } from './slots.js';
import { noticeList } from './notices.js';
import { confirmStep } from './confirm.js';

await initI18n();

let token = location.hash === '#cari' ? null : takeCitizenToken();
const state = { appt: null, slot: null };
const status = byId('manage-status');
const picker = new SlotPicker(byId('slot-picker'), { onPick: pickSlot });

function fatal(key) {
  show(byId('manage-loading'), false);
  show(byId('appointment'), false);
  const box = byId('manage-error');
  setI18n(box, key);
  show(box, true);
  // A bookmark without its token, or an old link: offer to find the booking again.
  showRecovery();
}

async function load() {
  if (!token) {
    if (location.hash === '#cari') {
      show(byId('manage-loading'), false);
      showRecovery();
      focusHeading(byId('recover'));
    } else {
      fatal('errors.link_missing');
    }
    return;
  }
  try {
    render(await api('/appointments/current', { token }));
  } catch (err) {
    if (err.status === 401 || err.status === 403 || err.status === 404) fatal('errors.link_invalid');
    else {
      show(byId('manage-loading'), false);
      showError(byId('manage-error'), err);
    }
  }
}

function render(raw) {
  const a = raw?.appointment || raw;
  state.appt = a;
  show(byId('manage-loading'), false);
  show(byId('appointment'), true);
  byId('appointment-code').textContent = a.code;
  byId('appointment-status').replaceChildren(statusBadge(a.status));
  setName(byId('appointment-service'), a.service);
  setDate(byId('appointment-when'), a.starts_at);
  byId('appointment-clerk').textContent = a.clerk?.name || '';
  show(byId('appointment-nik-label'), !!a.nik_masked);
  show(byId('appointment-nik'), !!a.nik_masked);
  byId('appointment-nik').textContent = a.nik_masked || '';
  const changeable = a.status === 'booked';
  const held = a.status === 'held';
  show(byId('reschedule-button'), changeable);
  // A hold may be let go at once, so the time goes back to others.
  show(byId('cancel-button'), changeable || held);
  show(byId('held-notice'), held);
  if (held) {
    confirmStep(byId('hold-box'), {
      token,
      appointment: a,
      onConfirmed: async () => {
        await load();
        announce(status, 'hold.confirmed');
      },
      // Keep the step's explanation on screen; the booking is cancelled now.
      onReleased: () => {
        byId('appointment-status').replaceChildren(statusBadge('cancelled'));
        show(byId('held-notice'), false);
        show(byId('cancel-button'), false);
      },
    });
  } else {
    show(byId('hold-box'), false);
  }
  show(byId('join-link'), ['booked', 'waiting', 'in_call'].includes(a.status));
  show(byId('ics-download'), ['booked', 'waiting'].includes(a.status));
  // A missed consultation: say what to do next, and open the same service to book again.
  show(byId('manage-no-show'), a.status === 'no_show');
  if (a.service?.slug) byId('book-again-link').href = `/?service=${encodeURIComponent(a.service.slug)}`;
  // The join page needs the token too; pass it the same way, in the fragment.
  byId('join-link').href = `/join#t=${encodeURIComponent(token)}`;
  if (raw?.notifications) {
    byId('notices').replaceChildren(noticeList(raw.notifications));
    show(byId('notices-section'), true);
  }
  show(byId('new-time'), !!a.needs_new_time && changeable);
  if (a.needs_new_time && changeable) loadOffers();
}

// ---------------------------------------------------------------------------
// A new time, when leave or a holiday took the booking: the nearest free times, one tap each

async function loadOffers() {
  const list = byId('offers');
  try {
    const res = await api('/appointments/current/offers', { token });
    const offers = res?.offers || [];
    if (!offers.length) {
      list.replaceChildren(el('li', { class: 'muted', i18n: 'manage.new_time_none' }));
      return;
    }
    list.replaceChildren(...offers.map((o) => el('li', {}, [el('button', {
      type: 'button', class: 'btn btn-primary',
      i18n: 'manage.take_offer', params: { when: { dt: o.starts_at, f: 'datetime' } },
      data: { testid: 'offer' },
      on: { click: (ev) => takeOffer(o, ev.currentTarget) },
    })])));
  } catch (err) {
    showError(byId('offers-error'), err);
  }
}

async function takeOffer(offer, btn) {
  btn.disabled = true;
  show(byId('offers-error'), false);
  try {
    await api('/appointments/current/reschedule', { method: 'POST', token, body: { starts_at: offer.starts_at } });
    await load();
    announce(status, 'manage.rescheduled');
  } catch (err) {
    showError(byId('offers-error'), err);
    if (err.code === 'slot_taken') loadOffers();
  } finally {
    btn.disabled = false;
  }
}

// ---------------------------------------------------------------------------
// Find my booking: code + phone -> a one-time code -> the booking again

function showRecovery() {
  show(byId('recover'), true);
  show(byId('otp-form'), false);
  show(byId('recover-form'), true);
}

const recoverInput = () => ({ code: byId('recover-code').value.trim(), phone: byId('recover-phone').value.trim() });

async function sendCode() {
  const btn = byId('recover-send');
  btn.disabled = true;
  show(byId('recover-error'), false);
  try {
    await api('/appointments/recover', { method: 'POST', body: recoverInput() });
    show(byId('otp-form'), true);
    announce(byId('recover-sent'), 'recover.sent');
    byId('recover-otp').focus();
  } catch (err) {
    showError(byId('recover-error'), err);
  } finally {
    btn.disabled = false;
  }
}

byId('recover-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  sendCode();
});
byId('recover-again').addEventListener('click', () => sendCode());

byId('otp-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const btn = byId('recover-verify');
  btn.disabled = true;
  show(byId('recover-error'), false);
  try {
    const res = await api('/appointments/recover/verify', {
      method: 'POST', body: { ...recoverInput(), otp: byId('recover-otp').value.trim() },
    });
    token = res.token;
    storeCitizenToken(token);
    history.replaceState(history.state, '', location.pathname);
    show(byId('recover'), false);
    show(byId('manage-error'), false);
    await load();
    focusHeading(byId('appointment'));
  } catch (err) {
    if (err.code === 'invalid_code') setI18n(byId('recover-error'), 'errors.invalid_code');
    else showError(byId('recover-error'), err);
    show(byId('recover-error'), true);
  } finally {
    btn.disabled = false;
  }
});

// ---------------------------------------------------------------------------
// Reschedule

byId('reschedule-button').addEventListener('click', () => {
  state.slot = null;
  show(byId('reschedule-choice'), false);
  show(byId('reschedule-error'), false);
  show(byId('cancel'), false);
  show(byId('reschedule'), true);
  focusHeading(byId('reschedule'));
  picker.load(state.appt.service.slug);
});

function pickSlot(slot) {
  state.slot = slot;
  setDate(byId('reschedule-when'), slot.starts_at);
  show(byId('reschedule-choice'), true);
  byId('reschedule-confirm').focus();
}

byId('reschedule-confirm').addEventListener('click', async () => {
  if (!state.slot) return;
  const btn = byId('reschedule-confirm');
  const errorBox = byId('reschedule-error');
  btn.disabled = true;
  show(errorBox, false);
  try {
    const res = await api('/appointments/current/reschedule', {
      method: 'POST', token, body: { starts_at: state.slot.starts_at },
    });
    if (res && (res.appointment || res.code)) render(res);
    else await load();
    closePanels();
    announce(status, 'manage.rescheduled');
  } catch (err) {
    if (err.code === 'slot_taken' || err.fields?.starts_at) {
      setI18n(errorBox, 'book.slot_taken_reschedule');
      show(errorBox, true);
      show(byId('reschedule-choice'), false);
      state.slot = null;
      picker.clearSelection();
      await picker.reload();
    } else {
      showError(errorBox, err);
    }
  } finally {
    btn.disabled = false;
  }
});

byId('reschedule-abort').addEventListener('click', () => {
  closePanels();
  byId('reschedule-button').focus();
});

// ---------------------------------------------------------------------------
// Cancel, with an explicit second step

byId('cancel-button').addEventListener('click', () => {
  show(byId('reschedule'), false);
  show(byId('cancel-error'), false);
  show(byId('cancel'), true);
  focusHeading(byId('cancel'));
});

byId('cancel-abort').addEventListener('click', () => {
  show(byId('cancel'), false);
  byId('cancel-button').focus();
});

byId('cancel-confirm').addEventListener('click', async () => {
  const btn = byId('cancel-confirm');
  btn.disabled = true;
  try {
    const res = await api('/appointments/current/cancel', { method: 'POST', token });
    if (res && (res.appointment || res.code)) render(res);
    else await load();
    closePanels();
    announce(status, 'manage.cancelled');
  } catch (err) {
    showError(byId('cancel-error'), err);
  } finally {
    btn.disabled = false;
  }
});

function closePanels() {
  show(byId('reschedule'), false);
  show(byId('cancel'), false);
}

byId('ics-download').addEventListener('click', async () => {
  try {
    await downloadWithToken('/appointments/current/ics', token, `loket-${state.appt?.code || 'janji'}.ics`);
  } catch (err) {
    showError(status, err);
  }
});

load();
