// The clerk's queue panel in the day view (/staff): "Panggil berikutnya" with the counter the
// clerk sits at, the numbers they called and what to do with each (call again, skip, "Layani"
// at the counter, open the room of a remote number, finish), and each line they look after —
// waiting numbers with the priority mark, and for supervisors moving a number to another
// service. Live through EventSource /api/v1/staff/queue/events. Element ids: web/README.md.

import { setI18n, setName, t } from './i18n.js';
import { byId, el, showError, announce } from './dom.js';

const COUNTER_KEY = 'loket.counter';
const GROUPS = ['lansia', 'disabilitas', 'ibu_hamil', 'ibu_dengan_anak'];

/**
 * Starts the panel. `sapi` is the staff API call; `supervisor()` says whether moving is
 * offered; `openAppointment(id)` opens a walk-in's room in the appointment panel; `changed()`
 * tells the day view that appointments changed.
 */
export function initQueuePanel({ sapi, supervisor, openAppointment, changed }) {
  const state = { lines: [], calls: [], es: null, timer: null, shown: '' };
  const status = byId('queue-status');
  const counter = byId('queue-counter');
  try {
    counter.value = localStorage.getItem(COUNTER_KEY) || '';
  } catch {
    /* remembered per desk only when storage works */
  }
  // Property handlers, not listeners: a second sign-in replaces the first panel's.
  counter.onchange = () => {
    try {
      localStorage.setItem(COUNTER_KEY, counter.value.trim());
    } catch {
      /* not fatal */
    }
  };

  async function load() {
    let res;
    try {
      res = await sapi('/staff/queue');
    } catch (err) {
      if (err.status !== 401) showError(status, err);
      return;
    }
    // Redraw only what changed: a redraw under the clerk's pointer or focus loses their place.
    // (The estimates move with the clock; the panel does not show them.)
    const shown = JSON.stringify(res, (k, v) => (k === 'expected_at' ? undefined : v));
    if (shown === state.shown) return;
    state.shown = shown;
    state.lines = res.lines || [];
    state.calls = res.my_calls || [];
    const focused = document.activeElement;
    const again = focused?.dataset?.testid && byId('queue-panel').contains(focused)
      ? `[data-testid="${focused.dataset.testid}"]${focused.dataset.ticketId ? `[data-ticket-id="${focused.dataset.ticketId}"]` : ''}`
      : null;
    render();
    if (again) byId('queue-panel').querySelector(again)?.focus();
  }

  function render() {
    const select = byId('queue-service');
    const chosen = select.value;
    select.replaceChildren(
      el('option', { value: '', i18n: 'staffq.all_services' }),
      ...state.lines.map((l) => {
        const o = el('option', { value: l.service.slug });
        setI18n(o, 'staffq.service_option', { name: { l10n: l.service }, n: l.waiting });
        return o;
      }),
    );
    select.value = state.lines.some((l) => l.service.slug === chosen) ? chosen : '';
    byId('queue-calls').replaceChildren(...state.calls.map(callRow));
    // Lines that had no number today stay out of the way.
    const active = state.lines.filter((l) => l.waiting > 0 || l.taken_today > 0);
    byId('queue-lines').replaceChildren(
      ...(active.length ? active.map(lineBox) : [el('p', { class: 'hint', i18n: 'staffq.no_lines' })]),
    );
    const waiting = state.lines.reduce((n, l) => n + l.waiting, 0);
    byId('queue-panel').dataset.waiting = String(waiting);
  }

  function callRow(c) {
    const name = el('span', { class: 'q-name', text: c.citizen?.name || '' });
    const stateBadge = el('span', { class: `badge q-state-${c.state}`, i18n: `queue.state_short.${c.state}` });
    const mode = el('span', { class: 'badge', i18n: `queue.mode.${c.mode}` });
    const actions = el('div', { class: 'q-actions' });
    const act = (action, key) => el('button', {
      type: 'button', class: 'btn btn-secondary', i18n: key,
      data: { testid: `queue-${action}` },
      on: { click: () => post(`/staff/queue/${encodeURIComponent(c.id)}/${action}`, {}, `staffq.done_${action}`, c) },
    });
    if (c.state === 'called') actions.append(act('recall', 'staffq.recall'), act('skip', 'staffq.skip'));
    if (c.state === 'called' && c.mode === 'in_person') actions.append(act('serve', 'staffq.serve'));
    if (c.mode === 'remote' && c.appointment) {
      actions.append(el('button', {
        type: 'button', class: 'btn btn-primary', i18n: 'staff.open_room',
        data: { testid: 'queue-open-room' }, on: { click: () => openAppointment(c.appointment) },
      }));
    }
    if (c.appointment) {
      actions.append(el('button', {
        type: 'button', class: 'btn btn-secondary', i18n: 'staffq.finish',
        data: { testid: 'queue-finish' },
        on: { click: () => post(`/staff/appointments/${encodeURIComponent(c.appointment)}/complete`, {}, 'staffq.done_finish', c) },
      }));
    }
    const calls = c.calls > 1 ? el('span', { class: 'hint', i18n: 'staffq.calls', params: { n: c.calls } }) : null;
    return el('li', { class: 'q-call', data: { testid: 'queue-call', ticketId: c.id, state: c.state } }, [
      el('span', { class: 'q-number', text: c.number }),
      name, mode, stateBadge, calls, actions,
    ]);
  }

  function lineBox(l) {
    const title = el('h4', { class: 'q-line-title' });
    setI18n(title, 'staffq.line_title', { name: { l10n: l.service } });
    const facts = el('p', { class: 'hint' });
    setI18n(facts, 'staffq.line_facts', {
      waiting: l.waiting, longest: l.longest_wait_minutes, served: l.served_today, skipped: l.skipped_today,
    });
    const others = state.lines.filter((o) => o.agency_prefix === l.agency_prefix && o.service.slug !== l.service.slug);
    const rows = l.tickets.map((tk) => {
      const prio = el('select', {
        data: { testid: 'queue-priority', ticketId: tk.id },
        attrs: { 'aria-label': t('staffq.priority_for', { number: tk.number }) },
        on: { change: (ev) => post(`/staff/queue/${encodeURIComponent(tk.id)}/priority`, { group: ev.target.value || null }, 'staffq.done_priority', tk) },
      }, [el('option', { value: '', i18n: 'staffq.priority_none' }), ...GROUPS.map((g) => el('option', { value: g, i18n: `queue.group.${g}` }))]);
      prio.value = tk.priority || '';
      const cells = [
        el('td', { class: 'q-number', text: tk.number }),
        el('td', { text: tk.name }),
        el('td', { i18n: `queue.mode.${tk.mode}` }),
        el('td', { i18n: 'staffq.waited', params: { n: tk.waited_minutes } }),
        el('td', {}, [prio]),
      ];
      if (supervisor() && others.length) {
        const move = el('select', {
          data: { testid: 'queue-move', ticketId: tk.id },
          attrs: { 'aria-label': t('staffq.move_for', { number: tk.number }) },
          on: {
            change: (ev) => {
              if (ev.target.value) post(`/staff/queue/${encodeURIComponent(tk.id)}/move`, { service: ev.target.value }, 'staffq.done_move', tk);
            },
          },
        }, [el('option', { value: '', i18n: 'staffq.move' }), ...others.map((o) => {
          const opt = el('option', { value: o.service.slug });
          setName(opt, o.service);
          return opt;
        })]);
        cells.push(el('td', {}, [move]));
      }
      return el('tr', { data: { testid: 'queue-ticket', ticketId: tk.id, priority: tk.priority || '' } }, cells);
    });
    const table = rows.length
      ? el('table', { class: 'q-table' }, [el('tbody', {}, rows)])
      : el('p', { class: 'hint', i18n: 'staffq.nobody' });
    return el('section', { class: 'q-line', data: { testid: 'queue-line', service: l.service.slug } }, [title, facts, table]);
  }

  async function post(path, body, doneKey, ticket) {
    try {
      await sapi(path, { method: 'POST', body });
      announce(status, doneKey, { number: ticket?.number || '' });
      load();
      changed();
    } catch (err) {
      explain(err);
    }
  }

  function explain(err) {
    if (err.status === 401) return;
    const at = err.body?.next_starts_at || err.body?.skip_allowed_at || err.body?.until;
    const key = `staffq.error.${err.code}`;
    if (t(key) !== key) setI18n(status, key, at ? { at: { dt: at, f: 'timez' } } : undefined);
    else showError(status, err);
  }

  byId('queue-next').onclick = async () => {
    const service = byId('queue-service').value;
    const body = {};
    if (service) body.service = service;
    if (counter.value.trim()) body.counter = counter.value.trim();
    const button = byId('queue-next');
    button.disabled = true;
    try {
      const res = await sapi('/staff/queue/next', { method: 'POST', body });
      if (!res) {
        announce(status, 'staffq.nobody_waiting');
      } else {
        const tk = res.ticket;
        announce(status, tk.mode === 'remote' ? 'staffq.called_remote' : 'staffq.called_here', { number: tk.number, name: tk.citizen?.name || '' });
        changed();
      }
      load();
    } catch (err) {
      explain(err);
    } finally {
      button.disabled = false;
    }
  };

  function openStream() {
    state.es?.close();
    let es;
    try {
      es = new EventSource('/api/v1/staff/queue/events');
    } catch {
      return;
    }
    state.es = es;
    es.addEventListener('changed', () => {
      clearTimeout(state.timer);
      state.timer = setTimeout(load, 200);
    });
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED) setTimeout(() => state.es === es && openStream(), 5000);
    };
  }

  load();
  openStream();
  return {
    reload: load,
    stop: () => {
      state.es?.close();
      state.es = null;
    },
  };
}

