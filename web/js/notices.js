// The messages Loket sent about a booking (WhatsApp, SMS, email) and where each is now —
// shown to the citizen on the manage page and to staff in the appointment panel.

import { el } from './dom.js';


/** One line per message: "Booking confirmation by WhatsApp: delivered · Mon 09.30". */
export function noticeList(notices, { hideCancelled = true } = {}) {
  const items = (notices || []).filter((n) => !(hideCancelled && n.status === 'cancelled'));
  if (!items.length) return el('p', { class: 'muted', i18n: 'notify.none' });
  return el('ul', { class: 'notices', data: { testid: 'notices' } }, items.map((n) => el('li', {
    class: `notice notice-${n.status}`,
    data: { testid: 'notice', kind: n.kind, channel: n.channel, status: n.status },
  }, [
    el('span', {
      i18n: 'notify.item',
      params: {
        kind: { k: `notify.kind.${n.kind}` },
        channel: { k: `notify.channel.${n.channel}` },
        status: { k: `notify.status.${n.status}` },
      },
    }),
    ' · ',
    el('time', { dateTime: n.at, i18n: 'common.raw', params: { v: { dt: n.at, f: 'datetime' } } }),
  ])));
}

/** The most telling status of the booking's first message (its confirmation), as a badge. */
export function noticeBadge(notices) {
  const mine = (notices || []).filter((n) => n.status !== 'cancelled' && n.status !== 'pending');
  if (!mine.length) return null;
  const latest = mine.reduce((a, b) => (Date.parse(b.at) > Date.parse(a.at) ? b : a));
  const bad = latest.status === 'failed';
  return el('span', {
    class: `badge badge-notice${bad ? ' badge-notice-failed' : ''}`,
    i18n: 'notify.badge',
    params: { channel: { k: `notify.channel.${latest.channel}` }, status: { k: `notify.status.${latest.status}` } },
    data: { testid: 'notice-badge', status: latest.status },
  });
}

