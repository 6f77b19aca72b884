// Manage an appointment (/manage#t=…): see it, reschedule to another free time (same
// clerk, the server decides), cancel, or download the calendar file.

import { initI18n, setI18n, setName, setDate } from './i18n.js';
import { api, downloadWithToken, takeCitizenToken } from './api.js';
import { byId, show, focusHeading, showError, announce, statusBadge } from './dom.js';
import { SlotPicker } from './slots.js';

await initI18n();

const token = takeCitizenToken();
const state = { appt: null, slot: null };
const status = byId('manage-status');
const picker = new SlotPicker(byId('slot-picker'), { onPick: pickSlot });

function fatal(key) {
  show(byId('manage-loading'), false);
  show(byId('appointment'), false);
  const box = byId('manage-error');
  setI18n(box, key);
  show(box, true);
}

async function load() {
  if (!token) {
    fatal('errors.link_missing');
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
  show(byId('reschedule-button'), changeable);
  show(byId('cancel-button'), changeable);
  show(byId('join-link'), ['booked', 'waiting', 'in_call'].includes(a.status));
  show(byId('ics-download'), ['booked', 'waiting'].includes(a.status));
  // A missed consultation: say what to do next, and open the same service to book again.
  show(byId('manage-no-show'), a.status === 'no_show');
  if (a.service?.slug) byId('book-again-link').href = `/?service=${encodeURIComponent(a.service.slug)}`;
  // The join page needs the token too; pass it the same way, in the fragment.
  byId('join-link').href = `/join#t=${encodeURIComponent(token)}`;
}

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
