// The day-and-time picker used for booking and for rescheduling.
//
// GET /services/{slug}/slots?from=YYYY-MM-DD&days=7 → {timezone, days: [{date, slots}]}.
// A week at a time keeps the payload small on a 4G phone; days without a free time stay
// visible but disabled, so the citizen sees the week is not empty by mistake. They say why:
// "Penuh" (every time taken), "Tutup" (closed: weekend, no hours, too late today) or "Libur"
// with the holiday's name under the days (the API's `closed` and `holiday`).

import { api } from './api.js';
import { addDays, dayParts, setDate, setI18n, setSiteZone, todayYmd } from './i18n.js';
import { el, show, showError } from './dom.js';

const DAYS = 7;

export class SlotPicker {
  /** root: an empty container; onPick(slot) fires when a time is chosen. */
  constructor(root, { onPick }) {
    this.root = root;
    this.onPick = onPick;
    this.slug = null;
    this.from = null;
    this.days = [];
    this.date = null;
    this.selected = null;
    this.seq = 0;
    this.build();
  }

  build() {
    this.prev = el('button', {
      type: 'button', id: 'slot-prev-week', class: 'btn btn-secondary', i18n: 'slots.prev_week',
      on: { click: () => this.load(this.slug, addDays(this.from, -DAYS)) },
    });
    this.next = el('button', {
      type: 'button', id: 'slot-next-week', class: 'btn btn-secondary', i18n: 'slots.next_week',
      on: { click: () => this.load(this.slug, addDays(this.from, DAYS)) },
    });
    this.dayHeading = el('h3', { id: 'slot-days-heading', i18n: 'slots.days_heading' });
    this.dayList = el('ul', { class: 'day-list', attrs: { 'aria-labelledby': 'slot-days-heading' } });
    this.holidayList = el('ul', { class: 'holiday-notes', id: 'slot-holidays' });
    this.timeHeading = el('h3', { id: 'slot-times-heading' });
    this.timeList = el('ul', { class: 'slot-list', attrs: { 'aria-labelledby': 'slot-times-heading' } });
    this.status = el('p', { id: 'slot-status', class: 'status', attrs: { role: 'status', 'aria-live': 'polite' } });
    this.root.append(
      el('div', { class: 'week-nav' }, [this.prev, this.next]),
      this.dayHeading,
      this.dayList,
      this.holidayList,
      this.timeHeading,
      this.timeList,
      this.status,
    );
  }

  /** Loads a week of free times starting at `from` (today if omitted). */
  async load(slug, from = todayYmd(), { keepDate = false } = {}) {
    const today = todayYmd();
    this.slug = slug;
    this.from = from < today ? today : from;
    const seq = ++this.seq;
    this.setStatus('slots.loading');
    this.prev.disabled = this.from <= today;
    let data;
    try {
      data = await api(`/services/${encodeURIComponent(slug)}/slots?from=${this.from}&days=${DAYS}`);
    } catch (err) {
      if (seq === this.seq) showError(this.status, err);
      return;
    }
    if (seq !== this.seq) return; // a newer request won
    setSiteZone(data.timezone);
    this.days = Array.isArray(data.days) ? data.days : [];
    // Past the booking horizon the server returns nothing: stop offering "next week".
    this.next.disabled = this.days.length === 0;
    const firstFree = this.days.find((d) => d.slots?.length);
    if (!(keepDate && this.days.some((d) => d.date === this.date && d.slots?.length))) {
      this.date = firstFree?.date ?? null;
    }
    this.render();
    this.setStatus(firstFree ? null : 'slots.none_this_week');
  }

  reload() {
    return this.slug ? this.load(this.slug, this.from, { keepDate: true }) : Promise.resolve();
  }

  setStatus(key) {
    if (key) {
      setI18n(this.status, key);
    } else {
      delete this.status.dataset.i18n;
      this.status.textContent = '';
    }
  }

  render() {
    this.dayList.replaceChildren(
      ...this.days.map((day) => {
        const p = dayParts(day.date);
        const free = day.slots?.length || 0;
        const state = dayState(day);
        const btn = el('button', {
          type: 'button',
          class: 'day-button',
          disabled: free === 0,
          data: { testid: 'day-button', date: day.date, state },
          attrs: { 'aria-pressed': String(day.date === this.date) },
          on: { click: () => this.pickDay(day.date) },
        }, [
          el('span', { class: 'day-weekday', text: p.weekday }),
          el('span', { class: 'day-number', text: p.day }),
          el('span', { class: 'day-month', text: p.month }),
          el('span', free
            ? { class: 'day-free', i18n: 'slots.free_count', params: { n: free } }
            : { class: 'day-free', i18n: STATE_KEYS[state] }),
        ]);
        // The visible text is abbreviated; give screen readers the full date.
        setAriaDay(btn, day, free, state);
        return el('li', {}, btn);
      }),
    );
    // Holidays by name under the days: too long for a day button.
    const holidays = this.days.filter((d) => dayState(d) === 'holiday' && d.holiday);
    this.holidayList.replaceChildren(...holidays.map((d) => el('li', { data: { testid: 'holiday-note', date: d.date } }, [
      el('span', { i18n: 'slots.holiday_note', params: { day: { dt: d.date, f: 'day' } } }),
      ' ',
      // Holiday names come from the calendar in Indonesian only.
      el('span', { text: d.holiday, attrs: { lang: 'id' } }),
    ])));
    show(this.holidayList, holidays.length > 0);
    this.renderTimes();
  }

  pickDay(date) {
    this.date = date;
    this.render();
    this.timeList.querySelector('button')?.focus();
  }

  renderTimes() {
    const day = this.days.find((d) => d.date === this.date);
    show(this.timeHeading, !!day);
    if (day) setDayHeading(this.timeHeading, day.date);
    this.timeList.replaceChildren(
      ...(day?.slots || []).map((slot) => {
        const btn = el('button', {
          type: 'button',
          class: 'slot-button',
          data: { testid: 'slot-button', startsAt: slot.starts_at },
          attrs: { 'aria-pressed': String(this.selected?.starts_at === slot.starts_at) },
          on: { click: () => this.pick(slot) },
        });
        setDate(btn, slot.starts_at, 'time');
        return el('li', {}, btn);
      }),
    );
  }

  pick(slot) {
    this.selected = slot;
    for (const b of this.timeList.querySelectorAll('button')) {
      b.setAttribute('aria-pressed', String(b.dataset.startsAt === slot.starts_at));
    }
    this.onPick(slot);
  }

  clearSelection() {
    this.selected = null;
    this.renderTimes();
  }

  /** Up to n free times after `iso` in the loaded week (offered when a slot was taken). */
  nextAfter(iso, n = 3) {
    const after = Date.parse(iso);
    return this.days
      .flatMap((d) => d.slots || [])
      .filter((s) => Date.parse(s.starts_at) > after)
      .slice(0, n);
  }
}

/** open | full | closed | holiday: what a day button says besides the date. */
function dayState(day) {
  if (day.slots?.length) return 'open';
  if (day.closed === 'holiday') return 'holiday';
  return day.closed ? 'closed' : 'full';
}

const STATE_KEYS = { full: 'slots.full', closed: 'slots.closed', holiday: 'slots.holiday' };
const LABEL_KEYS = {
  open: 'slots.day_label',
  full: 'slots.day_label_full',
  closed: 'slots.day_label_closed',
  holiday: 'slots.day_label_holiday',
};

// The full label lives in a visually hidden span (not aria-label) so it is an ordinary
// translated text node and follows language switches like everything else.
function setAriaDay(btn, day, free, state) {
  for (const child of btn.children) child.setAttribute('aria-hidden', 'true');
  const label = el('span', { class: 'visually-hidden' }, [
    el('span', { i18n: LABEL_KEYS[state], params: { day: { dt: day.date, f: 'day' }, n: free } }),
  ]);
  if (state === 'holiday' && day.holiday) label.append(' ', el('span', { text: day.holiday, attrs: { lang: 'id' } }));
  btn.append(label);
}

const setDayHeading = (node, date) => setI18n(node, 'slots.times_heading', { day: { dt: date, f: 'day' } });
