// The code step of a held booking (DESIGN §9 "Confirming a booking"): the 6-digit code sent to
// the booking's phone, a new code on request, the time the hold ends, and what each refusal
// means. Used after booking (/) and on the manage page of a booking still held.

import { setI18n, setDate } from './i18n.js';
import { api } from './api.js';
import { el, show, showError, announce } from './dom.js';

/** Refusals after which the booking is gone: the citizen must book again. */
const RELEASED = new Set(['hold_expired', 'too_many_tries']);

/**
 * Renders the step into `root` for `appointment` (status `held`). `onConfirmed(appointment)`
 * gets the booking once `booked`; `onReleased(code)` when the hold is over.
 */
export function confirmStep(root, { token, appointment, onConfirmed, onReleased }) {
  const input = el('input', {
    id: 'hold-otp', type: 'text', inputMode: 'numeric', maxLength: 6,
    attrs: { autocomplete: 'one-time-code', pattern: '[0-9]{6}', 'aria-describedby': 'hold-otp-hint', required: true },
    data: { testid: 'hold-otp' },
  });
  const error = el('div', { id: 'hold-error', class: 'alert alert-error', attrs: { role: 'alert', tabindex: '-1' }, hidden: true, data: { testid: 'hold-error' } });
  const status = el('p', { class: 'status', attrs: { role: 'status', 'aria-live': 'polite' } });
  const until = el('strong', { data: { testid: 'hold-until' } });
  setDate(until, appointment.hold_expires_at, 'timez');
  const submit = el('button', { type: 'submit', class: 'btn btn-primary', i18n: 'hold.confirm', data: { testid: 'hold-confirm' } });
  const resend = el('button', { type: 'button', class: 'btn btn-link', i18n: 'hold.resend', data: { testid: 'hold-resend' } });
  const sentTo = el('span', { text: appointment.code_sent_to || '' });
  const form = el('form', { attrs: { novalidate: true } }, [
    error,
    el('div', { class: 'field' }, [
      el('label', { attrs: { for: 'hold-otp' }, i18n: 'hold.code_label' }),
      input,
      el('p', { id: 'hold-otp-hint', class: 'hint', i18n: 'hold.code_hint' }),
    ]),
    el('div', { class: 'actions' }, [submit, resend]),
    status,
  ]);
  root.replaceChildren(el('section', { class: 'card hold-card', attrs: { 'aria-labelledby': 'hold-heading' }, data: { testid: 'hold-step' } }, [
    el('h3', { id: 'hold-heading', i18n: 'hold.title' }),
    el('p', {}, [el('span', { i18n: 'hold.sent' }), ' ', sentTo]),
    el('p', {}, [el('span', { i18n: 'hold.until' }), ' ', until, el('span', { i18n: 'hold.until_after' })]),
    form,
  ]));
  show(root, true);

  let released = false;
  const fail = (err) => {
    showError(error, err);
    error.focus();
    if (RELEASED.has(err.code)) {
      released = true;
      submit.disabled = true;
      resend.disabled = true;
      input.disabled = true;
      onReleased?.(err.code);
    }
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (submit.disabled) return;
    show(error, false);
    const otp = input.value.replace(/\s/g, '');
    if (!/^[0-9]{6}$/.test(otp)) {
      setI18n(error, 'hold.six_digits');
      show(error, true);
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return;
    }
    input.removeAttribute('aria-invalid');
    submit.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      const a = await api('/appointments/current/confirm', { method: 'POST', token, body: { otp } });
      show(root, false);
      onConfirmed?.(a);
    } catch (err) {
      if (err.code === 'invalid_code') input.select();
      fail(err);
      // A typo is not a reason to ask for a new code: say how many tries are left.
      if (err.code === 'invalid_code' && Number.isInteger(err.body.tries_left)) {
        setI18n(error, 'hold.wrong_code', { n: err.body.tries_left });
      }
    } finally {
      if (!released) submit.disabled = false;
      form.removeAttribute('aria-busy');
    }
  });

  resend.addEventListener('click', async () => {
    resend.disabled = true;
    show(error, false);
    try {
      const r = await api('/appointments/current/confirm/resend', { method: 'POST', token, body: {} });
      input.value = '';
      input.focus();
      announce(status, r.resends_left > 0 ? 'hold.resent' : 'hold.resent_last');
      if (r.resends_left > 0) setTimeout(() => { resend.disabled = released; }, 60_000);
    } catch (err) {
      fail(err);
      if (err.code === 'rate_limited') setTimeout(() => { resend.disabled = released; }, (err.retryAfter ?? 60) * 1000);
    }
  });
}
