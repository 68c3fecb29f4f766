// The store page (#/store/ID?day=YYYY-MM-DD): one store's day from the console's JSON API:
// hourly sales against the target curve and the same weekday last week (uPlot), bestsellers
// and slow movers, cashiers and open drawers, complaints, attendance, stock that is out or
// low, and a spot check. Uses app.js (el, queryRows, money, qty, pct, dur, localTime, ...).
'use strict';

const storePage = {
  id: null,
  day: null,          // the day asked for; null: the store's today
  shown: null,        // the day whose figures are on the page
  section: null,
  chart: null,        // the uPlot chart; chart.data = [hours 0..24, today, last week, target]
  seq: 0,             // drops answers to an earlier question
  timer: null,
};

function storeSection() {
  if (storePage.section) return storePage.section;
  const s = el('section', { id: 'store', hidden: true },
    el('p', { class: 'crumbs' }, el('a', { href: '#/', text: 'Stores' })),
    el('h1', { id: 'store-title', tabIndex: -1 }),
    el('p', { id: 'store-sub', class: 'hint' }),
    el('p', { id: 'store-error', class: 'error', role: 'alert', hidden: true }),
    el('form', { id: 'store-form', class: 'filters', onsubmit: (e) => e.preventDefault() },
      el('label', {}, 'Day ', el('input', { type: 'date', id: 'store-day', required: true,
        onchange: (e) => e.target.value && storeGo(e.target.value) })),
      el('button', { type: 'button', id: 'store-today', text: 'Today',
        onclick: () => storeGo(null) }),
      el('a', { id: 'store-alerts', text: 'Alerts of this store' })),
    el('div', { id: 'store-figures', class: 'figures' }),
    el('h2', { text: 'Hourly net sales' }),
    el('p', { class: 'hint', text: 'Cumulative net sales by store-local hour (each point is the '
      + 'total by that time) against the cumulative target curve: the day\'s target spread '
      + 'over the day in the shape of the same weekday last week (evenly over 24 hours when '
      + 'that day had no sales). Dashed: the same weekday last week.' }),
    el('div', { id: 'store-chart', class: 'chart', role: 'img' }),
    el('details', {}, el('summary', { text: 'Hourly figures as a table' }),
      el('div', { id: 'store-hours' })),
    el('div', { class: 'cols' },
      el('section', {}, el('h2', { text: 'Bestsellers' }), el('div', { id: 'store-top' })),
      el('section', {}, el('h2', { text: 'Slow movers' }), el('div', { id: 'store-bottom' }))),
    el('h2', { text: 'Cashiers' }), el('div', { id: 'store-cashiers' }),
    el('h3', { text: 'Open drawers (now)' }), el('div', { id: 'store-drawers' }),
    el('h2', { text: 'Complaints' }), el('p', { id: 'store-complaints-sum' }),
    el('h3', { text: 'Open complaints (now)' }), el('div', { id: 'store-complaints' }),
    el('h2', { text: 'Attendance' }), el('p', { id: 'store-attendance-sum' }),
    el('div', { id: 'store-employees' }),
    el('h2', { text: 'Stock: out and low' }), el('p', { id: 'store-stock-sum' }),
    el('div', { id: 'store-stock' }),
    el('h2', { text: 'Spot check' }),
    el('p', { class: 'hint', text: 'A random sample of who is clocked in now (all of fewer '
      + 'than 5, half of 5 to 20, 30% of more), drawn by the daemon each time.' }),
    el('button', { type: 'button', id: 'store-spot-go', text: 'Spot check',
      onclick: () => spotCheck() }),
    el('div', { id: 'store-spot', 'aria-live': 'polite' }));
  document.querySelector('main').append(s);
  storePage.section = s;
  return s;
}

// To another day (null: today) through the address, so the back button works.
function storeGo(day) {
  const id = encodeURIComponent(storePage.id);
  location.hash = day ? `#/store/${id}?day=${day}` : `#/store/${id}`;
}

function storeShow(args, params) {
  const s = storeSection();
  const fresh = s.hidden || storePage.id !== args.id;
  storePage.id = args.id;
  storePage.day = /^\d{4}-\d\d-\d\d$/.test(params.get('day') || '') ? params.get('day') : null;
  s.hidden = false;
  const info = state.stores.get(args.id);
  $('store-title').textContent = info ? info.store_name || args.id : args.id;
  document.title = `${$('store-title').textContent} · Floorwalker`;
  $('store-sub').textContent = info ? `${args.id} · ${info.region} · ${info.timezone} · `
    + `money in ${info.currency}` : `${args.id}: not a store the daemon knows`;
  $('store-alerts').href = `#/alerts?store=${encodeURIComponent(args.id)}`;
  if (fresh) {
    if (storePage.chart) storePage.chart.destroy();
    storePage.chart = null;
    // Nothing of another store's (or of an earlier visit) while this one's figures come.
    for (const box of ['figures', 'chart', 'hours', 'top', 'bottom', 'cashiers', 'drawers',
      'complaints-sum', 'complaints', 'attendance-sum', 'employees', 'stock-sum', 'stock',
      'spot']) $(`store-${box}`).replaceChildren();
    storePage.shown = null;
    $('store-title').focus();
  }
  clearInterval(storePage.timer);
  // Today's figures move: asked again every 30 s (the spot check only on demand).
  storePage.timer = setInterval(() => { if (!storePage.day) storeLoad(); }, 30000);
  storeLoad();
}

function storeHide() {
  clearInterval(storePage.timer);
  storePage.timer = null;
  if (storePage.section) storePage.section.hidden = true;
}

async function storeLoad() {
  const id = storePage.id;
  const seq = ++storePage.seq;
  if (!state.stores.has(id)) {
    // A store that appeared since the list was read, or none: not nine refusals for it.
    await loadStores().catch(() => {});
    if (seq !== storePage.seq) return;
    if (!state.stores.has(id)) {
      showError(`The daemon knows no store "${id}".`, 'store-error');
      return;
    }
  }
  const now = localDay(id);
  const day = storePage.day || now.day;
  $('store-day').value = day;
  $('store-day').max = now.day;
  const p = { store: id, from: day };
  try {
    const [sale, hours, last, top, bottom, cash, compl, att, stock] = await Promise.all([
      queryRows('sales', p),
      queryRows('sales', { ...p, granularity: 'hour' }),
      queryRows('sales', { store: id, from: addDays(day, -7), granularity: 'hour' }),
      queryRows('top-skus', { ...p, limit: 5 }),
      queryRows('bottom-skus', { ...p, limit: 5 }),
      queryRows('cashiers', p),
      queryRows('complaints', p),
      queryRows('attendance', p),
      queryRows('stock', p),
    ]);
    if (seq !== storePage.seq) return;
    showError('', 'store-error');
    storeFigures(sale[0] || null, day, now.day);
    storeChart(hours, last, sale[0] ? sale[0].target : null, day === now.day ? now.hour : 23);
    $('store-top').replaceChildren(skuTable(top, 'No SKU sold on this day.'));
    $('store-bottom').replaceChildren(skuTable(bottom, 'No SKU sold or in stock.'));
    storeCashiers(cash);
    storeComplaints(compl);
    storeAttendance(att);
    storeStock(stock);
    storePage.shown = day;
  } catch (e) {
    if (seq !== storePage.seq) return;
    showError(`The store's figures are not available: ${e.message}`, 'store-error');
  }
}

function figure(label, value, sub) {
  return el('div', { class: 'figure' }, el('div', { class: 'label', text: label }),
    el('div', { class: 'value', text: value }),
    sub ? el('div', { class: 'sub', text: sub }) : null);
}

function storeFigures(r, day, today) {
  const id = storePage.id;
  const when = day === today ? 'today' : day;
  if (!r) {
    $('store-figures').replaceChildren(figure('Net sales', money(0, id), `no sales ${when}`));
    return;
  }
  $('store-figures').replaceChildren(
    figure('Net sales', money(r.net, id), r.attainment === null ? `no target ${when}`
      : `${pct(r.attainment)} of the target ${money(r.target, id)}`),
    figure('Transactions', r.transactions.toLocaleString('en-US'), r.avg_ticket === null
      ? null : `average ticket ${money(r.avg_ticket, id)}`),
    figure('Items (units)', qty(r.items_milli), r.items_per_txn === null ? null
      : `${r.items_per_txn.toLocaleString('en-US', { maximumFractionDigits: 2 })} `
        + 'per transaction'),
    figure('Returns', money(r.returns_cents, id), `${r.returns} ${r.returns === 1 ? 'return'
      : 'returns'}`
      + (r.return_rate === null ? '' : `, ${rate(r.return_rate)} of gross`)),
    figure('Post-voids', money(r.voids_cents, id), `${r.voids} post-void${r.voids === 1 ? ''
      : 's'}`),
    figure('Discounts', money(r.discounts, id), `on gross ${money(r.gross, id)}`));
}

// ---- the hourly chart -----------------------------------------------------------------------

// Net per store-local hour (0..23) from hourly sales rows ("2026-12-05 14:00").
function byHour(rows) {
  const v = new Array(24).fill(0);
  for (const r of rows) v[Number(r.period.slice(11, 13))] += r.net;
  return v;
}

// [0, v0, v0+v1, ...]: the total by each hour's start, 25 points.
function cumulative(v) {
  const c = [0];
  for (const x of v) c.push(c[c.length - 1] + x);
  return c;
}

// The day's target spread over the hours in the shape of last week's day (positive hours
// only), evenly when that day had no sales: the total by each hour's start.
function targetCurve(target, lastWeek) {
  if (!target) return new Array(25).fill(null);
  const w = lastWeek.map((x) => Math.max(0, x));
  let sum = w.reduce((a, b) => a + b, 0);
  if (sum <= 0) {
    w.fill(1);
    sum = 24;
  }
  return cumulative(w).map((x) => Math.round((target * x) / sum));
}

function storeChart(hours, last, target, lastHour) {
  const id = storePage.id;
  const info = state.stores.get(id) || { currency: '', currency_digits: 2 };
  const today = byHour(hours);
  const week = byHour(last);
  const x = Array.from({ length: 25 }, (_, i) => i);
  // Today stops at the end of the current hour: the hours to come have no sales yet.
  const cum = cumulative(today).map((v, i) => (i <= lastHour + 1 ? v : null));
  const data = [x, cum, cumulative(week), targetCurve(target, week)];
  storeHourTable(today, week, data);
  const box = $('store-chart');
  box.setAttribute('aria-label', `Cumulative net sales by hour: ${money(cum[lastHour + 1], id)} `
    + `by ${String(lastHour + 1).padStart(2, '0')}:00` + (target ? `, target ${money(target, id)}`
    : ', no target for this day'));
  if (storePage.chart) {
    storePage.chart.setData(data);
    storePage.chart.setLegend({ idx: null });
    return;
  }
  const hh = (h) => `${String(h).padStart(2, '0')}:00`;
  // The legend shows the point under the pointer, or else each line's latest point.
  const fmt = (u, v, sidx, idx) => {
    let x = v;
    if (idx === null || idx === undefined) {
      const d = u.data[sidx];
      let i = d.length - 1;
      while (i > 0 && d[i] === null) i -= 1;
      x = d[i];
    }
    return x === null || x === undefined ? '–' : money(x, id);
  };
  const major = (v) => (v / 10 ** info.currency_digits).toLocaleString('en-US',
    { maximumFractionDigits: 0 });
  const opts = {
    width: chartWidth(box),
    height: 260,
    scales: { x: { time: false } },
    axes: [
      { values: (u, vals) => vals.map(hh), space: 45 },
      { values: (u, vals) => vals.map(major), size: 70, label: info.currency },
    ],
    series: [
      { label: 'At', value: (u, v) => (v === null || v === undefined ? 'latest' : hh(v)) },
      { label: 'Net', stroke: '#2f6fde', width: 2.5, value: fmt },
      { label: 'Same weekday last week', stroke: '#5b6573', width: 1.5, dash: [6, 4],
        value: fmt },
      { label: 'Target curve', stroke: '#1a7f37', width: 1.5, dash: [2, 3], value: fmt },
    ],
  };
  opts.hooks = { setSeries: [(u) => legendPressed(u)] };
  box.replaceChildren();
  storePage.chart = new uPlot(opts, data, box);
  legendKeys(storePage.chart);
}

// uPlot's legend shows or hides a line on a click of its label; these make the labels
// buttons a keyboard reaches (Tab, then Enter or Space) and a screen reader names as such.
function legendKeys(u) {
  u.root.querySelectorAll('.u-legend .u-series').forEach((row, i) => {
    if (i === 0) return; // the x value ("At"), not a line
    const label = row.querySelector('th') || row;
    label.setAttribute('tabindex', '0');
    label.setAttribute('role', 'button');
    label.addEventListener('keydown', (e) => {
      if (e.key !== 'Enter' && e.key !== ' ') return;
      e.preventDefault();
      u.setSeries(i, { show: !u.series[i].show });
    });
  });
  legendPressed(u);
}

function legendPressed(u) {
  u.root.querySelectorAll('.u-legend .u-series').forEach((row, i) => {
    const label = row.querySelector('th') || row;
    if (i > 0) label.setAttribute('aria-pressed', String(Boolean(u.series[i].show)));
  });
}

function chartWidth(box) {
  return Math.max(260, Math.floor(box.getBoundingClientRect().width || 320));
}

function storeHourTable(today, week, data) {
  const id = storePage.id;
  const hh = (h) => `${String(h).padStart(2, '0')}:00`;
  const rows = [];
  for (let h = 0; h < 24; h++) {
    if (!today[h] && !week[h]) continue;
    rows.push({ attrs: { 'data-hour': String(h), 'data-net': String(today[h]) },
      cells: [`${hh(h)}–${hh(h + 1)}`, money(today[h], id), money(week[h], id),
        data[1][h + 1] === null ? '–' : money(data[1][h + 1], id),
        data[3][h + 1] === null ? '–' : money(data[3][h + 1], id)] });
  }
  $('store-hours').replaceChildren(dataTable([{ label: 'Hour' }, { label: 'Net', num: true },
    { label: 'Last week', num: true }, { label: 'Total by its end', num: true },
    { label: 'Target curve', num: true }], rows, 'No sales on this day or last week\'s.'));
}

// ---- the tables -----------------------------------------------------------------------------

function skuTable(rows, empty) {
  const id = storePage.id;
  return dataTable([{ label: '#', num: true }, { label: 'SKU' }, { label: 'Category' },
    { label: 'Units', num: true }, { label: 'Net', num: true }],
  rows.map((r) => ({ attrs: { 'data-sku': r.sku }, cells: [String(r.rank), r.sku, r.category,
    qty(r.qty_milli), money(r.net, id)] })), empty);
}

function storeCashiers(rows) {
  const id = storePage.id;
  const cashiers = rows.filter((r) => r.table === 'cashiers');
  const drawers = rows.filter((r) => r.table === 'drawers');
  $('store-cashiers').replaceChildren(dataTable([{ label: 'Cashier' },
    { label: 'Transactions', num: true }, { label: 'Net', num: true },
    { label: 'Items (units)', num: true }, { label: 'Returns', num: true },
    { label: 'Post-voids', num: true }, { label: 'Over/short', num: true }],
  cashiers.map((r) => ({ attrs: { 'data-cashier': r.cashier, class: r.over_short ? 'flag' : '' },
    cells: [r.cashier, String(r.transactions), money(r.net, id), qty(r.items_milli),
      String(r.returns), String(r.voids), money(r.over_short, id)] })),
  'No cashier worked a till on this day.'));
  $('store-drawers').replaceChildren(dataTable([{ label: 'Drawer' }, { label: 'Cashier' },
    { label: 'Expected in it', num: true }],
  drawers.map((r) => ({ attrs: { 'data-drawer': r.drawer }, cells: [r.drawer, r.cashier,
    money(r.expected_cents, id)] })), 'No drawer is open.'));
}

function storeComplaints(rows) {
  const id = storePage.id;
  const c = rows.find((r) => r.table === 'complaints');
  const open = rows.filter((r) => r.table === 'open');
  const mins = (m) => (m === null ? '–' : dur(m));
  $('store-complaints-sum').textContent = !c ? '' : `Opened ${c.opened}, responded `
    + `${c.responded}, resolved ${c.resolved}, escalated ${c.escalated}, reopened ${c.reopened}. `
    + `First responses: ${c.first_responses}, mean ${mins(c.first_response_mean_min)}, 90th `
    + `percentile ${mins(c.first_response_p90_min)}; within the 48 h SLA: `
    + (c.within_sla_share === null ? '–' : `${pct(c.within_sla_share)} (${c.within_sla})`) + '.';
  $('store-complaints').replaceChildren(dataTable([{ label: 'Complaint' },
    { label: 'Opened (store time)' }, { label: 'Age', num: true }, { label: 'Severity' },
    { label: 'Channel' }, { label: 'Category' }, { label: 'Responded' }, { label: 'SLA' }],
  open.map((r) => ({ attrs: { 'data-complaint': r.complaint_id,
    class: r.sla_state === 'overdue' ? 'flag' : '' },
  cells: [r.complaint_id, localTime(r.opened_ms, id), dur(r.age_h * 60), r.severity, r.channel,
    r.category, r.responded ? 'yes' : 'no', r.sla_state] })), 'No complaint is open.'));
}

function storeAttendance(rows) {
  const id = storePage.id;
  const a = rows.find((r) => r.table === 'attendance');
  const emps = rows.filter((r) => r.table === 'employees');
  $('store-attendance-sum').textContent = !a ? 'Nobody was scheduled or clocked in.'
    : `Scheduled ${dur(a.scheduled_min)}, worked ${dur(a.worked_min)}; late ${a.late}, left `
      + `early ${a.early_leave}, no-show ${a.no_show}. Sales per labour hour: `
      + (a.sales_per_labour_hour === null ? '–' : money(a.sales_per_labour_hour, id)) + '.';
  $('store-employees').replaceChildren(dataTable([{ label: 'Employee' },
    { label: 'Scheduled', num: true }, { label: 'Worked', num: true },
    { label: 'Late', num: true }, { label: 'Left early', num: true },
    { label: 'No-show', num: true }],
  emps.map((r) => ({ attrs: { 'data-employee': r.employee,
    class: r.no_show || r.late ? 'flag' : '' },
  cells: [r.employee, dur(r.scheduled_min), dur(r.worked_min), String(r.late),
    String(r.early_leave), String(r.no_show)] })), 'No shifts or clock-ins on this day.'));
}

function storeStock(rows) {
  const id = storePage.id;
  const all = rows.filter((r) => r.table === 'on_hand');
  const bad = all.filter((r) => r.status !== 'ok').sort((x, y) => (x.status === y.status
    ? (x.days_of_cover ?? -1) - (y.days_of_cover ?? -1) || (x.sku < y.sku ? -1 : 1)
    : (x.status === 'out' ? -1 : 1)));
  const sum = rows.find((r) => r.table === 'summary');
  const n = (st) => all.filter((r) => r.status === st).length;
  let text = `${n('out')} SKUs out of stock, ${n('low')} low (under 3 days of cover), `
    + `${n('ok')} fine.`;
  if (sum) {
    text += ` Shrink (damage and shrink moves) ${money(sum.shrink_value, id)}`
      + (sum.shrink_rate === null ? '' : `, ${rate(sum.shrink_rate)} of net sales`)
      + `; count variance ${qty(sum.count_variance_milli)} units `
      + `(${money(sum.count_variance_value, id)}), gross `
      + `${qty(sum.count_variance_gross_milli)} units.`;
  }
  $('store-stock-sum').textContent = text;
  const cover = (d) => (d === null ? '–'
    : d.toLocaleString('en-US', { maximumFractionDigits: 1 }));
  $('store-stock').replaceChildren(dataTable([{ label: 'SKU' }, { label: 'On hand (units)',
    num: true }, { label: 'Sold in 28 days', num: true }, { label: 'Days of cover', num: true },
  { label: 'Status' }],
  bad.map((r) => ({ attrs: { 'data-sku': r.sku, class: r.status === 'out' ? 'flag' : '' },
    cells: [r.sku, qty(r.on_hand_milli), qty(r.sold_28d_milli), cover(r.days_of_cover),
      r.status] })), 'No SKU is out or low.'));
}

async function spotCheck() {
  const id = storePage.id;
  const box = $('store-spot');
  box.replaceChildren(el('p', { class: 'hint', text: 'Drawing…' }));
  try {
    const rows = await queryRows('spotcheck', { store: id });
    if (id !== storePage.id) return;
    const when = localTime(Date.now(), id);
    box.replaceChildren(
      el('p', { text: rows.length ? `Check these ${rows.length} of the ${rows[0].on_duty} `
        + `on duty (drawn ${when}):` : `Nobody is clocked in (${when}).` }),
      el('ul', { class: 'spot' }, ...rows.map((r) => el('li', { 'data-employee': r.employee },
        el('strong', { text: r.employee }), ` clocked in ${localTime(r.clocked_in_ms, id)}`))));
  } catch (e) {
    box.replaceChildren(el('p', { class: 'error', text: `No spot check: ${e.message}` }));
  }
}

window.addEventListener('resize', () => {
  const c = storePage.chart;
  if (c && !storePage.section.hidden) {
    c.setSize({ width: chartWidth($('store-chart')), height: 260 });
  }
});

addPage({
  nav: null,
  match: (path) => {
    const m = /^\/store\/([^/]+)$/.exec(path);
    return m ? { id: decodeURIComponent(m[1]) } : null;
  },
  show: storeShow,
  hide: storeHide,
});
