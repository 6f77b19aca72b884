// Strings, language switch and date/time formatting for every page.
//
// All visible text comes from ../i18n/{id,en}.json. Elements carry their key in
// `data-i18n` (and `data-i18n-params`), so switching language re-applies the whole
// document without each page re-rendering itself. Dates are shown in the site's zone
// (Asia/Jakarta unless the API says otherwise), never in the device's zone: a citizen
// whose phone is set to another zone must still see the counter's wall-clock time.

const STORAGE_KEY = 'loket.lang';
export const LANGS = ['id', 'en'];
const LOCALES = { id: 'id-ID', en: 'en-GB' };
const ZONE_ABBR = {
  'Asia/Jakarta': 'WIB',
  'Asia/Pontianak': 'WIB',
  'Asia/Makassar': 'WITA',
  'Asia/Jayapura': 'WIT',
};

let lang = initialLang();
let dict = {};
let siteZone = 'Asia/Jakarta';
const formatters = new Map();

function initialLang() {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (LANGS.includes(saved)) return saved;
  } catch {
    // Storage can be disabled (private mode); Bahasa Indonesia is the default anyway.
  }
  return 'id';
}

async function loadDict(code) {
  const res = await fetch(new URL(`../i18n/${code}.json`, import.meta.url), {
    credentials: 'same-origin',
  });
  if (!res.ok) throw new Error(`i18n ${code}: ${res.status}`);
  return res.json();
}

/** Loads the chosen language, fills the static page and wires the ID | EN switch. */
export async function initI18n() {
  try {
    dict = await loadDict(lang);
  } catch {
    dict = {};
  }
  document.documentElement.lang = lang;
  applyI18n();
  for (const btn of document.querySelectorAll('[data-lang]')) {
    btn.addEventListener('click', () => setLang(btn.dataset.lang));
  }
  markLangButtons();
}

export async function setLang(code) {
  if (!LANGS.includes(code) || code === lang) return;
  try {
    dict = await loadDict(code);
  } catch {
    return; // keep the current language rather than showing raw keys
  }
  lang = code;
  try {
    localStorage.setItem(STORAGE_KEY, code);
  } catch {
    /* not fatal */
  }
  document.documentElement.lang = code;
  formatters.clear();
  applyI18n();
  markLangButtons();
  document.dispatchEvent(new CustomEvent('langchange', { detail: { lang: code } }));
}

function markLangButtons() {
  for (const btn of document.querySelectorAll('[data-lang]')) {
    btn.setAttribute('aria-pressed', String(btn.dataset.lang === lang));
  }
}

export const getLang = () => lang;
export const has = (key) => Object.prototype.hasOwnProperty.call(dict, key);

/** Translates `key`, filling `{name}` placeholders from params. Unknown keys show as-is. */
export function t(key, params) {
  const text = has(key) ? dict[key] : key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) =>
    name in params ? resolveParam(params[name]) : whole,
  );
}

// A parameter can be a plain value, a date to format in the current language
// ({dt, f}) or a server object with name/name_en ({l10n}); resolving at apply
// time is what lets a language switch re-render dates and service names too.
function resolveParam(v) {
  if (v && typeof v === 'object') {
    if ('dt' in v) return formatAs(v.f, v.dt);
    if ('l10n' in v) return localName(v.l10n);
    if ('k' in v) return t(v.k);
  }
  return v == null ? '' : String(v);
}

/** Sets an element's text from a key (and remembers it for language switches). */
export function setI18n(node, key, params) {
  node.dataset.i18n = key;
  if (params) node.dataset.i18nParams = JSON.stringify(params);
  else delete node.dataset.i18nParams;
  node.textContent = t(key, params);
  return node;
}

/** Shows a server-provided name in the current language (name / name_en). */
export const setName = (node, obj) => setI18n(node, 'common.raw', { v: { l10n: obj } });
/** Shows a date in the current language; f: datetime | date | time | timez | day | weekday | range. */
export const setDate = (node, dt, f = 'datetime') => setI18n(node, 'common.raw', { v: { dt, f } });

/** Re-applies every translated text and attribute under root. */
export function applyI18n(root = document) {
  for (const node of root.querySelectorAll('[data-i18n]')) {
    let params;
    if (node.dataset.i18nParams) {
      try {
        params = JSON.parse(node.dataset.i18nParams);
      } catch {
        params = undefined;
      }
    }
    node.textContent = t(node.dataset.i18n, params);
  }
  // data-i18n-attr="aria-label:key|placeholder:key"
  for (const node of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of node.dataset.i18nAttr.split('|')) {
      const [attr, key] = pair.split(':');
      if (attr && key) node.setAttribute(attr.trim(), t(key.trim()));
    }
  }
}

export function localName(obj) {
  if (!obj) return '';
  if (typeof obj === 'string') return obj;
  return (lang === 'en' && obj.name_en) || obj.name || '';
}

// ---------------------------------------------------------------------------
// Dates and times

/** Accepts the zone the API reports (slots carry `timezone`). */
export function setSiteZone(zone) {
  if (!zone || zone === siteZone) return;
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    siteZone = zone;
    formatters.clear();
  } catch {
    /* unknown zone: keep the default */
  }
}

function parts(date, opts, zone = siteZone, locale = LOCALES[lang]) {
  const key = `${locale}|${zone}|${JSON.stringify(opts)}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, { timeZone: zone, ...opts });
    formatters.set(key, f);
  }
  const out = {};
  for (const p of f.formatToParts(date)) out[p.type] = p.value;
  return out;
}

const DATE_LONG = { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' };
const TIME_24 = { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
const toDate = (v) => (v instanceof Date ? v : new Date(v));

export function zoneAbbr() {
  if (ZONE_ABBR[siteZone]) return ZONE_ABBR[siteZone];
  return parts(new Date(), { timeZoneName: 'short' }).timeZoneName || siteZone;
}

/** "09.30" — PUEBI writes the time with a period, in both languages here. */
export function formatTime(v) {
  const p = parts(toDate(v), TIME_24);
  return `${p.hour}.${p.minute}`;
}
/** "Senin, 16 Maret 2026" */
export function formatDate(v) {
  const p = parts(toDate(v), DATE_LONG);
  return `${p.weekday}, ${p.day} ${p.month} ${p.year}`;
}
/** "Senin, 16 Maret 2026, 09.30 WIB" */
export const formatDateTime = (v) => `${formatDate(v)}, ${formatTime(v)} ${zoneAbbr()}`;
/** "09.30 WIB" */
export const formatTimeZ = (v) => `${formatTime(v)} ${zoneAbbr()}`;
/** "09.30–10.00 WIB" */
export const formatRange = (a, b) => `${formatTime(a)}–${formatTime(b)} ${zoneAbbr()}`;

// Calendar days (YYYY-MM-DD) are already in the site's zone: format them at noon
// UTC so no zone arithmetic can move them to the neighbouring day.
const ymdDate = (ymd) => {
  const [y, m, d] = ymd.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d, 12));
};
/** "Senin, 16 Maret 2026" for a YYYY-MM-DD day. */
export function formatDay(ymd) {
  const p = parts(ymdDate(ymd), DATE_LONG, 'UTC');
  return `${p.weekday}, ${p.day} ${p.month} ${p.year}`;
}
/** {weekday: "Sen", day: "16", month: "Mar"} for compact day buttons. */
export function dayParts(ymd) {
  const p = parts(ymdDate(ymd), { weekday: 'short', day: 'numeric', month: 'short' }, 'UTC');
  return { weekday: p.weekday, day: p.day, month: p.month };
}

function formatAs(f, v) {
  switch (f) {
    case 'date':
      return formatDate(v);
    case 'time':
      return formatTime(v);
    case 'timez':
      return formatTimeZ(v);
    case 'day':
      return formatDay(v);
    case 'weekday':
      return parts(ymdDate(v), { weekday: 'long' }, 'UTC').weekday;
    case 'range':
      return formatRange(v[0], v[1]);
    default:
      return formatDateTime(v);
  }
}

/** The site-zone calendar day of an instant, as YYYY-MM-DD. */
export function ymdOf(v = new Date()) {
  const p = parts(toDate(v), { year: 'numeric', month: '2-digit', day: '2-digit' }, siteZone, 'en-CA');
  return `${p.year}-${p.month}-${p.day}`;
}
export const todayYmd = () => ymdOf(new Date());

export function addDays(ymd, n) {
  const d = ymdDate(ymd);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}
/** ISO weekday, 1 = Monday … 7 = Sunday. */
export const isoWeekday = (ymd) => ((ymdDate(ymd).getUTCDay() + 6) % 7) + 1;
export const mondayOf = (ymd) => addDays(ymd, 1 - isoWeekday(ymd));

function offsetMinutes(date, zone) {
  const p = parts(date, { ...TIME_24, second: '2-digit', year: 'numeric', month: '2-digit', day: '2-digit' }, zone, 'en-CA');
  const asUtc = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour % 24, +p.minute, +p.second);
  return Math.round((asUtc - date.getTime()) / 60000);
}

/** Wall-clock day + "HH:MM" in the site's zone → RFC 3339 with the zone's offset. */
export function zonedIso(ymd, hm) {
  const [y, m, d] = ymd.split('-').map(Number);
  const [hh, mm] = hm.split(':').map(Number);
  const guess = Date.UTC(y, m - 1, d, hh, mm);
  const off = offsetMinutes(new Date(guess), siteZone);
  const sign = off < 0 ? '-' : '+';
  const abs = Math.abs(off);
  const pad = (n) => String(n).padStart(2, '0');
  return `${ymd}T${pad(hh)}:${pad(mm)}:00${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}
