// The admin's catalogue view in the staff app: the whole catalogue as a CSV file
// (docs/catalogue.md). "Unduh CSV" is a plain link (the session cookie goes with it);
// "Periksa" sends the chosen file as a dry run and lists what an import would change;
// "Impor" does it. Problems come back by row and column and are listed the same way.

import { api } from './api.js';
import { byId, el, show, showError } from './dom.js';
import { setI18n } from './i18n.js';

const IMPORT = '/admin/catalogue/import';
const FILE_ERRORS = new Set(['body_too_large', 'unsupported_content_type']);
const LISTS = ['agencies_added', 'agencies_changed', 'services_added', 'services_changed', 'services_deactivated', 'services_deleted'];

/** Wires the view; `call` is the staff app's API call (it handles an expired session). */
export function initCatalogue(call = api) {
  byId('catalogue-check').addEventListener('click', () => send(call, true));
  byId('catalogue-import').addEventListener('click', () => send(call, false));
}

async function send(call, dryRun) {
  const input = byId('catalogue-file');
  const result = byId('catalogue-result');
  const file = input.files?.[0];
  result.replaceChildren();
  if (!file) {
    say(result, 'catalogue.choose_file');
    input.focus();
    return;
  }
  const buttons = [byId('catalogue-check'), byId('catalogue-import')];
  for (const b of buttons) b.disabled = true;
  say(result, 'catalogue.working');
  try {
    const report = await call(`${IMPORT}?dry_run=${dryRun}`, {
      method: 'POST',
      body: file,
      headers: { 'Content-Type': 'text/csv' },
    });
    showReport(result, report);
  } catch (err) {
    if (err.code === 'validation_failed') showProblems(result, err.fields);
    else if (err.status !== 401) {
      const box = el('p', { class: 'alert alert-error' });
      result.replaceChildren(box);
      // A file's words for the generic body errors (other pages send JSON, not files).
      if (FILE_ERRORS.has(err.code)) {
        setI18n(box, `catalogue.error.${err.code}`);
        show(box, true);
      }
      else showError(box, err);
    }
  } finally {
    for (const b of buttons) b.disabled = false;
  }
}

function showReport(node, r) {
  const items = [];
  for (const key of LISTS) {
    const list = r[key] || [];
    if (!list.length) continue;
    const names = list.map((x) => (typeof x === 'string' ? x : `${x.slug} (${x.columns.join(', ')})`));
    items.push(el('li', { i18n: `catalogue.${key}`, params: { n: list.length, items: names.join(', ') }, data: { change: key } }));
  }
  const changed = items.length > 0;
  items.push(el('li', { i18n: 'catalogue.services_unchanged', params: { n: r.services_unchanged ?? 0 } }));
  const title = !changed ? 'catalogue.nothing_to_change' : r.dry_run ? 'catalogue.dry_run_title' : 'catalogue.imported_title';
  node.replaceChildren(
    el('p', { class: 'alert alert-info', i18n: title, data: { testid: 'catalogue-summary' } }),
    el('ul', { class: 'catalogue-changes' }, items),
  );
}

/** fields: {"<row>.<column>": problem}, row 0 being the file as a whole. */
function showProblems(node, fields) {
  const rows = Object.entries(fields || {}).map(([where, problem]) => {
    const dot = where.indexOf('.');
    const row = Number(where.slice(0, dot));
    const column = where.slice(dot + 1);
    return { row, column, problem };
  });
  rows.sort((a, b) => a.row - b.row || a.column.localeCompare(b.column));
  node.replaceChildren(
    el('p', { class: 'alert alert-error', i18n: 'catalogue.problems_title' }),
    el('ul', { class: 'catalogue-problems', data: { testid: 'catalogue-problems' } }, rows.map((p) => {
      const problem = { k: `catalogue.problem.${p.problem}` };
      return p.row === 0
        ? el('li', { i18n: 'catalogue.problem_file', params: { problem } })
        : el('li', { i18n: 'catalogue.problem_at', params: { row: p.row, column: p.column, problem } });
    })),
  );
}

/** A message as the region's only child (the region itself keeps no key: a language switch
 * re-applies keys and would wipe its children). */
function say(node, key) {
  node.replaceChildren(el('p', { i18n: key }));
}
