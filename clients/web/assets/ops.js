// The ops pages. #/ops?from=&to= compares the stores over a range, one row per store, sortable
// by any figure; #/report?store=ID|region=R&g=week|month&from=&to= lists a store's or a region's
// weeks or months. Each offers the daemon's sales rows as a CSV file, byte for byte what
// `floorwalker query sales ... --csv` prints for the same options. Uses app.js (el, api, money,
// pct, queryRows, localDay, addDays, dataTable, ...).
'use strict';

// The sales table's columns (docs/ROLLUPS.md), for the CSV header of an empty range.
const SALES_COLUMNS = ['period', 'scope', 'transactions', 'items_milli', 'gross', 'discounts',
  'returns', 'returns_cents', 'voids', 'voids_cents', 'net', 'cash', 'card', 'mobile',
  'voucher', 'other', 'avg_ticket', 'items_per_txn', 'return_rate', 'target', 'attainment'];
const RANGES = [['this-week', 'This week'], ['last-week', 'Last week'],
  ['this-month', 'This month'], ['last-month', 'Last month'], ['custom', 'Dates…']];
const DAY_RE = /^\d{4}-\d\d-\d\d$/;

// Each download link's Blob (the tests read it: a blob: URL cannot be fetched under the CSP).
const csvBlobs = new WeakMap();

// ---- CSV exactly as the CLI writes it ------------------------------------------------------

// The API's answer (an array of flat objects) with each value as the daemon wrote it:
// [[name, JSON text], ...] per row. JSON.parse would make 0.10000000000000001 0.1, and the CSV
// must have the CLI's digits.
function rawRows(text) {
  const tok = /\s*("(?:[^"\\]|\\.)*"|[^\s,:{}[\]]+|[,:{}[\]])/y;
  const rows = [];
  let row = null;
  let key = null;
  let m;
  while ((m = tok.exec(text)) !== null) {
    const t = m[1];
    if (t === '{') row = [];
    else if (t === '}') rows.push(row);
    else if ('[],:'.includes(t)) continue;
    else if (key === null) key = JSON.parse(t);
    else {
      row.push([key, t]);
      key = null;
    }
  }
  return rows;
}

// The exact decimal digits of a finite double x > 0, from its binary form (x = m * 2^e) in
// BigInt arithmetic: {digits, exp}, x = d.ddd... * 10^exp.
function exactDigits(x) {
  const v = new DataView(new ArrayBuffer(8));
  v.setFloat64(0, x);
  const hi = v.getUint32(0);
  const bexp = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(v.getUint32(4));
  let e = -1074;
  if (bexp) {
    m |= 1n << 52n;
    e = bexp - 1075;
  }
  const digits = e >= 0 ? (m << BigInt(e)).toString() : (m * 5n ** BigInt(-e)).toString();
  return { digits, exp: digits.length - 1 + Math.min(e, 0) };
}

// C's printf("%.{p}g", x) for a finite double, rounded as glibc rounds: exactly, ties to even
// (toPrecision rounds ties up).
function cG(x, p) {
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const sign = x < 0 ? '-' : '';
  const ex = exactDigits(Math.abs(x));
  let exp = ex.exp;
  let head = ex.digits.slice(0, p).padEnd(p, '0');
  const rest = ex.digits.slice(p);
  if (rest[0] > '5' || (rest[0] === '5' && (/[1-9]/.test(rest.slice(1)) || head[p - 1] % 2))) {
    head = (BigInt(head) + 1n).toString();
    if (head.length > p) {
      head = head.slice(0, p);
      exp += 1;
    }
  }
  const frac = (s) => (/[1-9]/.test(s) ? `.${s.replace(/0+$/, '')}` : '');
  if (exp < -4 || exp >= p) {
    const e = `e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
    return `${sign}${head[0]}${frac(head.slice(1))}${e}`;
  }
  if (exp >= 0) return `${sign}${head.slice(0, exp + 1)}${frac(head.slice(exp + 1))}`;
  return `${sign}0${frac('0'.repeat(-exp - 1) + head)}`;
}

function csvField(s) {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

// One cell as clients/cli/query.c writes it (cell_str, csv_field): an integer as sent, a double
// as the shorter of %.15g and %.17g that reads back as the same number, null empty, text quoted
// when it holds a comma, a quote or a line break.
function csvCell(lexeme) {
  if (lexeme === 'null') return '';
  if (lexeme[0] === '"') return csvField(JSON.parse(lexeme));
  if (!/[.eE]/.test(lexeme)) return lexeme;
  const x = Number(lexeme);
  const s = cG(x, 15);
  return Number(s) === x ? s : cG(x, 17);
}

// The text of `floorwalker query sales ... --csv` from the API's answer to the same question.
function salesCsv(text) {
  const rows = rawRows(text);
  const cols = rows.length ? rows[0].map(([k]) => k) : SALES_COLUMNS;
  const lines = [cols.map(csvField).join(',')];
  for (const r of rows) lines.push(r.map(([, v]) => csvCell(v)).join(','));
  return `${lines.join('\n')}\n`;
}

// GET /api/query/sales as text (the rows for the page are parsed from it too).
async function salesText(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) p.set(k, v);
  const r = await fetch(`/api/query/sales?${p}`);
  const text = await r.text();
  if (!r.ok) {
    let msg = r.statusText;
    try { msg = JSON.parse(text).error || msg; } catch (e) { /* not JSON */ }
    throw new Error(msg);
  }
  return text;
}

// A download link for the CSV; urls collects the blob: URLs to release on the next render.
function csvLink(csv, file, label, attrs, urls) {
  const blob = new Blob([csv], { type: 'text/csv' });
  const url = URL.createObjectURL(blob);
  urls.push(url);
  const a = el('a', { href: url, download: file, class: 'csv', text: label, ...attrs });
  csvBlobs.set(a, blob);
  return a;
}

// The CLI command whose output a download equals.
function cliLine(params) {
  const parts = ['floorwalker query sales'];
  for (const [k, opt] of [['store', '--store'], ['region', '--region'], ['granularity', '-g'],
    ['from', '--from'], ['to', '--to']]) if (params[k]) parts.push(opt, params[k]);
  return `${parts.join(' ')} --csv`;
}

// ---- the comparison (#/ops) -----------------------------------------------------------------

const opsPage = {
  section: null,
  seq: 0,
  rows: [],
  sort: { key: 'name', dir: 1 },
  urls: [],
  range: { from: 'this-week', to: '' },
};

const OPS_COLS = [
  { key: 'name', label: 'Store' },
  { key: 'region', label: 'Region' },
  { key: 'net', label: 'Net sales', num: true, fmt: (r) => money(r.net, r.store) },
  { key: 'attainment', label: 'Attainment', num: true, fmt: (r) => pct(r.attainment) },
  { key: 'avg_ticket', label: 'Average ticket', num: true,
    fmt: (r) => money(r.avg_ticket, r.store) },
  { key: 'return_rate', label: 'Return rate', num: true, fmt: (r) => rate(r.return_rate) },
  { key: 'shrink_rate', label: 'Shrink rate', num: true, fmt: (r) => rate(r.shrink_rate) },
  { key: 'sla_share', label: 'Complaints in SLA', num: true, fmt: (r) => pct(r.sla_share) },
  { key: 'splh', label: 'Sales per labour hour', num: true,
    fmt: (r) => money(r.splh, r.store) },
];

function opsSection() {
  if (opsPage.section) return opsPage.section;
  const s = el('section', { id: 'ops', hidden: true },
    el('h1', { id: 'ops-title', tabIndex: -1, text: 'Stores compared' }),
    el('form', { id: 'ops-form', class: 'filters', onsubmit: opsSubmit },
      el('label', {}, 'Range ', el('select', { id: 'ops-range', onchange: opsRangeChanged },
        ...RANGES.map(([v, t]) => el('option', { value: v, text: t })))),
      el('label', {}, 'From ', el('input', { type: 'date', id: 'ops-from' })),
      el('label', {}, 'To ', el('input', { type: 'date', id: 'ops-to' })),
      el('button', { type: 'submit', text: 'Compare' })),
    el('p', { id: 'ops-what', class: 'hint' }),
    el('p', { id: 'ops-error', class: 'error', role: 'alert', hidden: true }),
    el('div', { id: 'ops-table' }),
    el('p', { class: 'hint', text: 'Net sales, average ticket (net per transaction) and return '
      + 'rate (returns over gross) are sums over the days of the range with sales; attainment '
      + 'is their net over the targets of those days. Shrink rate: damage and shrink at cost '
      + 'over net sales. Sales per labour hour: net over the hours worked. Money in each '
      + 'store\'s currency; – where there is nothing to divide by.' }),
    el('p', { id: 'ops-csv-what', class: 'hint' }),
    el('h2', { text: 'Reports by region' }),
    el('ul', { id: 'ops-regions', class: 'links' }));
  document.querySelector('main').append(s);
  opsPage.section = s;
  return s;
}

function opsRangeChanged() {
  const custom = $('ops-range').value === 'custom';
  $('ops-from').disabled = !custom;
  $('ops-to').disabled = !custom;
  if (custom && !$('ops-from').value) {
    const today = localDay([...state.stores.keys()][0]).day;
    $('ops-from').value = addDays(today, -6);
    $('ops-to').value = today;
  }
}

function opsSubmit(e) {
  e.preventDefault();
  const r = $('ops-range').value;
  if (r !== 'custom') {
    location.hash = `#/ops?from=${r}`;
    return;
  }
  const from = $('ops-from').value;
  const to = $('ops-to').value;
  if (!DAY_RE.test(from)) return;
  location.hash = DAY_RE.test(to) ? `#/ops?from=${from}&to=${to}` : `#/ops?from=${from}`;
}

function opsShow(args, params) {
  const s = opsSection();
  const fresh = s.hidden;
  s.hidden = false;
  document.title = 'Stores compared · Floorwalker';
  const from = params.get('from') || 'this-week';
  const to = params.get('to') || '';
  opsPage.range = { from, to };
  const word = RANGES.some(([v]) => v === from && v !== 'custom');
  $('ops-range').value = word ? from : 'custom';
  $('ops-from').value = word ? '' : from;
  $('ops-to').value = word ? '' : to;
  opsRangeChanged();
  const name = word ? RANGES.find(([v]) => v === from)[1] : `${from} to ${to || from}`;
  $('ops-what').textContent = `${name}${word ? ', in each store\'s own calendar' : ''}. `
    + 'Click a column\'s title to sort by it.';
  $('ops-csv-what').replaceChildren('CSV: each store\'s sales by day over the range, exactly '
    + 'what ', el('code', { text: cliLine({ store: 'ID', from, to }) }), ' prints.');
  if (fresh) $('ops-title').focus();
  opsLoad();
}

function opsHide() {
  if (opsPage.section) opsPage.section.hidden = true;
}

function sumOf(rows, k) {
  return rows.reduce((a, r) => a + (r[k] || 0), 0);
}

async function opsStore(id, range) {
  const p = { store: id, from: range.from, to: range.to };
  const [text, stock, compl, att] = await Promise.all([salesText(p), queryRows('stock', p),
    queryRows('complaints', p), queryRows('attendance', p)]);
  const sales = JSON.parse(text);
  const net = sumOf(sales, 'net');
  const txns = sumOf(sales, 'transactions');
  const gross = sumOf(sales, 'gross');
  const withTarget = sales.filter((r) => r.target > 0);
  const target = sumOf(withTarget, 'target');
  const info = state.stores.get(id);
  const sum = stock.find((r) => r.table === 'summary');
  const c = compl.find((r) => r.table === 'complaints');
  const a = att.find((r) => r.table === 'attendance');
  return {
    store: id,
    name: info.store_name || id,
    region: info.region,
    net,
    attainment: target > 0 ? sumOf(withTarget, 'net') / target : null,
    avg_ticket: txns ? net / txns : null,
    return_rate: gross ? sumOf(sales, 'returns_cents') / gross : null,
    shrink_rate: sum ? sum.shrink_rate : null,
    sla_share: c ? c.within_sla_share : null,
    splh: a ? a.sales_per_labour_hour : null,
    csv: salesCsv(text),
  };
}

async function opsLoad() {
  const seq = ++opsPage.seq;
  const range = { ...opsPage.range };
  $('ops-table').replaceChildren(el('p', { class: 'hint', text: 'Asking the daemon…' }));
  try {
    const ids = [...state.stores.keys()].sort();
    // A store the daemon will not answer for (another region's, for a supervisor) is left out
    // and named, not the whole comparison.
    const got = await Promise.allSettled(ids.map((id) => opsStore(id, range)));
    if (seq !== opsPage.seq) return;
    const failed = got.map((g, i) => (g.status === 'rejected' ? `${ids[i]} (${g.reason.message})`
      : null)).filter((x) => x);
    if (failed.length === ids.length && ids.length) throw got[0].reason;
    showError(failed.length ? `Not compared: ${failed.join(', ')}` : '', 'ops-error');
    opsPage.rows = got.filter((g) => g.status === 'fulfilled').map((g) => g.value);
    opsRender();
    opsRegions();
  } catch (e) {
    if (seq !== opsPage.seq) return;
    $('ops-table').replaceChildren();
    showError(`The comparison is not available: ${e.message}`, 'ops-error');
  }
}

function opsSorted() {
  const { key, dir } = opsPage.sort;
  return [...opsPage.rows].sort((x, y) => {
    const a = x[key];
    const b = y[key];
    if (a === null || b === null) { // none last, either way
      return (a === null) - (b === null) || x.store.localeCompare(y.store);
    }
    const c = typeof a === 'string' ? a.localeCompare(b) : a - b;
    return dir * c || x.store.localeCompare(y.store);
  });
}

function opsSortBy(key) {
  const s = opsPage.sort;
  const words = key === 'name' || key === 'region';
  opsPage.sort = { key, dir: s.key === key ? -s.dir : (words ? 1 : -1) };
  opsRender();
  const b = document.querySelector(`#ops-table th button[data-key="${key}"]`);
  if (b) b.focus();
}

function opsRender() {
  for (const u of opsPage.urls) URL.revokeObjectURL(u);
  opsPage.urls = [];
  const { key, dir } = opsPage.sort;
  const { from, to } = opsPage.range;
  const head = el('tr', {}, ...OPS_COLS.map((c) => {
    const on = c.key === key;
    return el('th', { scope: 'col', class: c.num ? 'num' : '',
      'aria-sort': on ? (dir > 0 ? 'ascending' : 'descending') : 'none' },
    el('button', { type: 'button', class: 'sort', 'data-key': c.key,
      onclick: () => opsSortBy(c.key) }, c.label,
    el('span', { class: 'arrow', 'aria-hidden': 'true',
      text: on ? (dir > 0 ? '\u00a0▲' : '\u00a0▼') : '' })));
  }), el('th', { scope: 'col', class: 'plain', text: 'Reports' }),
  el('th', { scope: 'col', class: 'plain', text: 'CSV' }));
  const body = opsSorted().map((r) => {
    const q = encodeURIComponent(r.store);
    const file = `sales-${r.store}-${from}${to ? `-${to}` : ''}.csv`;
    return el('tr', { 'data-store': r.store },
      ...OPS_COLS.map((c) => {
        if (c.key === 'name') {
          return el('th', { scope: 'row' }, el('a', { href: `#/store/${q}`, text: r.name }),
            el('span', { class: 'sub', text: ` ${r.store}` }));
        }
        const v = r[c.key];
        return el('td', { class: c.num ? 'num' : '', 'data-key': c.key, 'data-label': c.label,
          'data-value': v === null ? '' : String(v),
          text: c.fmt ? (v === null ? '–' : c.fmt(r)) : v });
      }),
      el('td', { 'data-label': 'Reports' }, el('span', {},
        el('a', { href: `#/report?store=${q}&g=week`, text: 'weeks' }), ' · ',
        el('a', { href: `#/report?store=${q}&g=month`, text: 'months' }))),
      el('td', { 'data-label': 'Sales by day' }, csvLink(r.csv, file, 'CSV', {
        'data-store': r.store, 'aria-label': `CSV of ${r.name}'s sales by day` },
      opsPage.urls)));
  });
  $('ops-table').replaceChildren(!body.length
    ? el('p', { class: 'hint', text: 'The daemon knows no stores yet.' })
    : el('div', { class: 'scroll' }, el('table', { class: 'grid stack compare' },
      el('thead', {}, head), el('tbody', {}, ...body))));
}

function opsRegions() {
  const regions = [...new Set([...state.stores.values()].map((s) => s.region))].sort();
  $('ops-regions').replaceChildren(...regions.map((g) => {
    const q = encodeURIComponent(g);
    return el('li', {}, `${g}: `, el('a', { href: `#/report?region=${q}&g=week`, text: 'weeks' }),
      ' · ', el('a', { href: `#/report?region=${q}&g=month`, text: 'months' }));
  }));
}

// ---- week and month reports (#/report) ------------------------------------------------------

const reportPage = { section: null, seq: 0, urls: [], params: null };

function reportSection() {
  if (reportPage.section) return reportPage.section;
  const s = el('section', { id: 'report', hidden: true },
    el('p', { class: 'crumbs' }, el('a', { href: '#/ops', text: 'Stores compared' })),
    el('h1', { id: 'report-title', tabIndex: -1 }),
    el('form', { id: 'report-form', class: 'filters', onsubmit: reportSubmit },
      el('label', {}, 'By ', el('select', { id: 'report-g' },
        el('option', { value: 'week', text: 'week' }),
        el('option', { value: 'month', text: 'month' }))),
      el('label', {}, 'From ', el('input', { type: 'date', id: 'report-from', required: true })),
      el('label', {}, 'To ', el('input', { type: 'date', id: 'report-to', required: true })),
      el('button', { type: 'submit', text: 'Show' })),
    el('p', { id: 'report-what', class: 'hint' }),
    el('p', { id: 'report-error', class: 'error', role: 'alert', hidden: true }),
    el('div', { id: 'report-table' }),
    el('p', { id: 'report-csv' }));
  document.querySelector('main').append(s);
  reportPage.section = s;
  return s;
}

function reportSubmit(e) {
  e.preventDefault();
  const p = new URLSearchParams();
  const cur = reportPage.params;
  if (cur.store) p.set('store', cur.store);
  else p.set('region', cur.region);
  p.set('g', $('report-g').value);
  p.set('from', $('report-from').value);
  p.set('to', $('report-to').value);
  location.hash = `#/report?${p}`;
}

function storesOf(region) {
  return [...state.stores.keys()].filter((id) => state.stores.get(id).region === region);
}

// The store whose currency the figures are in: the store's own, or the one every store of the
// region shares (null when they differ: then the figures are shown as plain numbers).
function reportMoneyStore(params) {
  if (params.store) return params.store;
  const ids = storesOf(params.region);
  const cur = new Set(ids.map((id) => state.stores.get(id).currency));
  return ids.length && cur.size === 1 ? ids[0] : null;
}

function reportShow(args, params) {
  const s = reportSection();
  const fresh = s.hidden;
  s.hidden = false;
  const store = params.get('store');
  const region = store ? null : params.get('region');
  const g = params.get('g') === 'month' ? 'month' : 'week';
  const zoneOf = store || storesOf(region)[0];
  const today = localDay(zoneOf).day;
  let from = params.get('from');
  if (!DAY_RE.test(from || '')) {
    // The last 12 weeks (from a Monday) or months (from a 1st).
    if (g === 'week') {
      const dow = (new Date(`${today}T00:00:00Z`).getUTCDay() + 6) % 7;
      from = addDays(today, -dow - 77);
    } else {
      const d = new Date(`${today.slice(0, 7)}-01T00:00:00Z`);
      d.setUTCMonth(d.getUTCMonth() - 11);
      from = d.toISOString().slice(0, 10);
    }
  }
  const to = DAY_RE.test(params.get('to') || '') ? params.get('to') : today;
  reportPage.params = { store, region, granularity: g, from, to };
  const info = store && state.stores.get(store);
  let who = `Region ${region}`;
  if (store) who = info ? `${info.store_name || store} (${store})` : store;
  $('report-title').textContent = `${who}: sales by ${g}`;
  document.title = `${$('report-title').textContent} · Floorwalker`;
  $('report-g').value = g;
  $('report-from').value = from;
  $('report-to').value = to;
  $('report-what').textContent = `${from} to ${to}, ${g === 'week' ? 'weeks from Monday to Sunday'
    + ' labelled by their Monday' : 'calendar months'}; a period with no sales has no row.`;
  if (fresh) $('report-title').focus();
  reportLoad();
}

function reportHide() {
  if (reportPage.section) reportPage.section.hidden = true;
}

async function reportLoad() {
  const seq = ++reportPage.seq;
  const p = reportPage.params;
  const ask = { store: p.store, region: p.region, granularity: p.granularity, from: p.from,
    to: p.to };
  try {
    const text = await salesText(ask);
    if (seq !== reportPage.seq) return;
    showError('', 'report-error');
    const rows = JSON.parse(text);
    const sid = reportMoneyStore(p);
    const m = (v) => (v === null ? '–' : money(v, sid));
    const ratio = (v) => (v === null ? '–' : pct(v));
    $('report-table').replaceChildren(dataTable([{ label: p.granularity === 'week' ? 'Week of'
      : 'Month' }, { label: 'Transactions', num: true }, { label: 'Net sales', num: true },
    { label: 'Target', num: true }, { label: 'Attainment', num: true },
    { label: 'Average ticket', num: true }, { label: 'Items per transaction', num: true },
    { label: 'Return rate', num: true }, { label: 'Returns', num: true },
    { label: 'Post-voids', num: true }],
    rows.map((r) => ({ attrs: { 'data-period': r.period }, cells: [r.period,
      r.transactions.toLocaleString('en-US'), m(r.net), m(r.target), ratio(r.attainment),
      m(r.avg_ticket), r.items_per_txn === null ? '–'
        : r.items_per_txn.toLocaleString('en-US', { maximumFractionDigits: 2 }),
      r.return_rate === null ? '–' : rate(r.return_rate), m(r.returns_cents),
      m(r.voids_cents)] })),
    'No sales in this range.'));
    for (const u of reportPage.urls) URL.revokeObjectURL(u);
    reportPage.urls = [];
    const file = `sales-${p.store || p.region}-${p.granularity}-${p.from}-${p.to}.csv`;
    $('report-csv').replaceChildren(csvLink(salesCsv(text), file, 'Download CSV',
      { id: 'report-csv-link' }, reportPage.urls), el('span', { class: 'hint' },
      ': exactly what ', el('code', { text: cliLine(ask) }), ' prints.'),
    sid ? '' : el('span', { class: 'hint', text: ' The stores of this region use different '
      + 'currencies: the sums are shown without one.' }));
  } catch (e) {
    if (seq !== reportPage.seq) return;
    $('report-table').replaceChildren();
    $('report-csv').replaceChildren();
    showError(`The report is not available: ${e.message}`, 'report-error');
  }
}

addPage({
  nav: 'nav-ops',
  match: (path) => (path === '/ops' ? {} : null),
  show: opsShow,
  hide: opsHide,
});
addPage({
  nav: 'nav-ops',
  match: (path) => (path === '/report' ? {} : null),
  show: reportShow,
  hide: reportHide,
});
