// Small DOM helpers shared by the pages: element building, showing/hiding, focus
// moves, translated error messages and inline field errors.

import { has, setI18n } from './i18n.js';

export const byId = (id) => document.getElementById(id);

/**
 * Builds an element. props: class, text, i18n (+ params), attrs, data, on, and any
 * DOM property (id, type, value, disabled, hidden …). children: nodes or strings.
 */
export function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  const { class: cls, text, i18n, params, attrs, data, on, ...rest } = props;
  if (cls) node.className = cls;
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const [k, v] of Object.entries(data || {})) node.dataset[k] = v;
  for (const [ev, fn] of Object.entries(on || {})) node.addEventListener(ev, fn);
  Object.assign(node, rest);
  if (i18n) setI18n(node, i18n, params);
  else if (text !== undefined) node.textContent = text;
  for (const c of [].concat(children)) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

export function show(node, visible = true) {
  if (node) node.hidden = !visible;
}

/** Moves focus to a section's heading so screen readers announce the new step. */
export function focusHeading(section) {
  const h = section.querySelector('h1, h2, h3');
  if (!h) return;
  if (!h.hasAttribute('tabindex')) h.setAttribute('tabindex', '-1');
  h.focus();
  h.scrollIntoView?.({ block: 'start' });
}

/** Shows an error (translated by code) in a live region. */
export function showError(node, err) {
  const code = err?.code;
  if (code && has(`errors.${code}`)) setI18n(node, `errors.${code}`, { seconds: err.retryAfter ?? 60 });
  else setI18n(node, err?.status >= 500 ? 'errors.server' : 'errors.generic');
  show(node, true);
}

/** Puts a status message in a live region (or clears it with no key). */
export function announce(node, key, params) {
  if (!key) {
    node.textContent = '';
    delete node.dataset.i18n;
    delete node.dataset.i18nParams;
    return;
  }
  const same = node.dataset.i18n === key && (node.dataset.i18nParams || '') === (params ? JSON.stringify(params) : '');
  if (!same) {
    setI18n(node, key, params);
    return;
  }
  // A live region only speaks when its text changes: blank it, then say it again.
  node.textContent = '';
  setTimeout(() => setI18n(node, key, params), 50);
}

/**
 * Marks one form field as invalid: message below it (id `${input.id}-error`),
 * aria-invalid and aria-describedby so assistive tech reads the problem.
 */
export function setFieldError(input, key) {
  const msgId = `${input.id}-error`;
  let msg = document.getElementById(msgId);
  if (!msg) {
    msg = el('p', { id: msgId, class: 'field-error' });
    (input.closest('.field') || input.parentElement).append(msg);
  }
  if (!key) {
    msg.textContent = '';
    delete msg.dataset.i18n;
    show(msg, false);
    input.removeAttribute('aria-invalid');
    return;
  }
  setI18n(msg, key);
  show(msg, true);
  input.setAttribute('aria-invalid', 'true');
  const described = new Set((input.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean));
  described.add(msgId);
  input.setAttribute('aria-describedby', [...described].join(' '));
}

/** Key for a field problem: fields.<field>.<problem>, else fields.<problem>, else generic. */
export function problemKey(field, problem) {
  if (has(`fields.${field}.${problem}`)) return `fields.${field}.${problem}`;
  if (has(`fields.${problem}`)) return `fields.${problem}`;
  return 'fields.invalid';
}

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Clipboard API needs a secure context; fall back to a hidden selection.
    const area = el('textarea', { value: text, class: 'visually-hidden', attrs: { readonly: true, 'aria-hidden': 'true' } });
    document.body.append(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
    area.remove();
    return ok;
  }
}

/** A status badge for an appointment status (booked, waiting, in_call …). */
export function statusBadge(status) {
  return el('span', { class: `badge badge-${status}`, i18n: `status.${status}`, data: { testid: 'status-badge' } });
}
