// The Floorwalker console: a board of the stores and the live alerts, from the console's own
// JSON API (docs/WEB.md). No framework and nothing loaded from elsewhere.
'use strict';

const ACKABLE = new Set(['cash_over_short', 'compensation_over_limit', 'count_variance',
  'shrink_high']);
const SEVERITY_RANK = { CRITICAL: 3, WARNING: 2, INFO: 1 };
const SILENT_MS = 10 * 60 * 1000; // store_silent's default

const state = {
  session: null,
  stores: new Map(),     // id -> {store_name, region, timezone, currency, currency_digits}
  sales: new Map(),      // id -> today's sales row
  heard: new Map(),      // id -> last event ms (stats terminals)
  floor: new Map(),      // id -> {onDuty, onBreak, onRota, open, overdue}
  active: new Map(),     // alert_id -> FIRING alert
  recent: [],            // alerts as last seen (FIRING and RESOLVED), newest last
  pubSeq: new Map(),     // seqKey(alert) -> last pub_seq
  stream: null,
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('data-') || k.startsWith('aria-') || k === 'role') e.setAttribute(k, v);
    else if (k === 'text') e.textContent = v;
    else e[k] = v;
  }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k);
  return e;
}

async function api(path, options) {
  const r = await fetch(path, options);
  const body = await r.json().catch(() => ({ error: r.statusText }));
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

function showError(msg, id) {
  const e = $(id || 'error');
  e.textContent = msg || '';
  e.hidden = !msg;
}

// ---- units as people read them --------------------------------------------------------------

function money(minor, storeId) {
  const s = state.stores.get(storeId) || { currency: '', currency_digits: 2 };
  const d = s.currency_digits;
  const v = Number(minor) / 10 ** d;
  const txt = v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
  return s.currency ? `${txt} ${s.currency}` : txt;
}

function pct(x) {
  return `${(x * 100).toLocaleString('en-US', { maximumFractionDigits: 1 })}%`;
}

// "2026-12-05 09:14 +08:00" in the store's zone.
function localTime(ms, storeId) {
  const s = state.stores.get(storeId);
  const tz = (s && s.timezone) || 'UTC';
  let parts;
  try {
    parts = new Intl.DateTimeFormat('en-CA', {
      timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit',
      minute: '2-digit', hourCycle: 'h23', timeZoneName: 'longOffset',
    }).formatToParts(new Date(Number(ms)));
  } catch (e) {
    return new Date(Number(ms)).toISOString();
  }
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  let off = (p.timeZoneName || '').replace('GMT', '');
  if (!off) off = '+00:00';
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute} ${off}`;
}

// A small rate (returns, shrink) as a percentage with two decimals: 0.04%, not 0%.
function rate(x) {
  const d = Math.abs(x) < 0.1 ? 2 : 1;
  return `${(x * 100).toLocaleString('en-US', { maximumFractionDigits: d })}%`;
}

// "13,244.125": thousandths as units.
function qty(milli) {
  return (Number(milli) / 1000).toLocaleString('en-US', { maximumFractionDigits: 3 });
}

// "2 h 05 min" from minutes.
function dur(min) {
  const m = Math.round(Number(min));
  if (Math.abs(m) < 60) return `${m} min`;
  return `${Math.trunc(m / 60)} h ${String(Math.abs(m % 60)).padStart(2, '0')} min`;
}

// The store's business day (YYYY-MM-DD) and hour at ms, in its zone.
function localDay(storeId, ms) {
  const s = state.stores.get(storeId);
  const p = Object.fromEntries(new Intl.DateTimeFormat('en-CA', {
    timeZone: (s && s.timezone) || 'UTC', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', hourCycle: 'h23',
  }).formatToParts(new Date(ms === undefined ? Date.now() : ms)).map((x) => [x.type, x.value]));
  return { day: `${p.year}-${p.month}-${p.day}`, hour: Number(p.hour) };
}

// YYYY-MM-DD plus n days (calendar arithmetic, no zone).
function addDays(day, n) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

// A table for people. cols: [{label, num}] (num: figures, right-aligned); rows: [{cells,
// attrs}], a cell being text or a node. empty: what to say when there are no rows. At phone
// width, a table of more than five columns shows each row as "label value" lines (pages.css).
function dataTable(cols, rows, empty) {
  if (!rows.length) return el('p', { class: 'hint', text: empty });
  const head = el('tr', {}, ...cols.map((c) => el('th', { scope: 'col',
    class: c.num ? 'num' : '', text: c.label })));
  const body = rows.map((r) => el('tr', r.attrs || {}, ...r.cells.map((v, i) => el('td', {
    class: cols[i].num ? 'num' : '', 'data-label': cols[i].label }, v))));
  const cls = cols.length > 5 ? 'grid stack' : 'grid';
  return el('div', { class: 'scroll' }, el('table', { class: cls },
    el('thead', {}, head), el('tbody', {}, ...body)));
}

function ago(ms) {
  const s = Math.max(0, (Date.now() - ms) / 1000);
  if (s < 90) return 'just now';
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 2 * 86400) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min ago`;
  return `${Math.round(s / 86400)} days ago`;
}

function storeLabel(id) {
  const s = state.stores.get(id);
  return s && s.store_name ? `${s.store_name} (${id})` : id;
}

// ---- the daemon's figures -------------------------------------------------------------------

// GET /api/query/KIND with the parameters that are set.
function queryRows(kind, params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== '') p.set(k, v);
  return api(`/api/query/${kind}?${p}`);
}

async function loadStores() {
  const rows = await api('/api/query/stores');
  for (const r of rows) state.stores.set(r.store, r);
}

async function loadSales() {
  await Promise.all([...state.stores.keys()].map(async (id) => {
    const rows = await api(`/api/query/sales?store=${encodeURIComponent(id)}&from=today`);
    state.sales.set(id, rows[0] || null);
  }));
}

// Who is on duty now and the open complaints, per store (asked every 10 s).
async function loadFloor() {
  await Promise.all([...state.stores.keys()].map(async (id) => {
    const [att, compl] = await Promise.all([
      queryRows('attendance', { store: id, from: 'today' }),
      queryRows('complaints', { store: id, from: 'today' })]);
    const on = att.filter((r) => r.table === 'on_shift');
    const rota = att.find((r) => r.table === 'rota_now');
    const open = compl.filter((r) => r.table === 'open');
    state.floor.set(id, {
      // On duty as understaffed counts it (clocked in, not on a break), against the shifts
      // of the rota running now.
      onDuty: rota ? rota.on_duty : on.filter((r) => !r.on_break).length,
      onBreak: on.filter((r) => r.on_break).length,
      onRota: rota ? rota.on_rota : 0,
      open: open.length,
      overdue: open.filter((r) => r.sla_state === 'overdue').length,
    });
  }));
}

async function loadHeard() {
  const rows = await api('/api/query/stats');
  for (const r of rows) {
    if (r.table !== 'terminals' || !r.store) continue;
    const prev = state.heard.get(r.store) || 0;
    if (r.updated_ms > prev) state.heard.set(r.store, r.updated_ms);
  }
}

// ---- the board ------------------------------------------------------------------------------

function alertCounts(storeId) {
  const c = { CRITICAL: 0, WARNING: 0, INFO: 0 };
  for (const a of state.active.values()) if (a.store_id === storeId) c[a.severity] += 1;
  return c;
}

function tile(id) {
  const s = state.stores.get(id);
  const sale = state.sales.get(id);
  const heard = state.heard.get(id);
  const counts = alertCounts(id);
  const silentAlert = [...state.active.values()].some(
    (a) => a.store_id === id && a.rule === 'store_silent');
  const silent = silentAlert || (heard && Date.now() - heard > SILENT_MS);
  const net = sale ? sale.net : 0;
  const target = sale && sale.target > 0 ? sale.target : 0;
  const due = target ? sale.target_due || 0 : 0; // the daemon's: by the store's hourly profile
  const bar = targetBar(net, target, due);
  const badges = el('div', { class: 'badges' });
  let any = false;
  for (const sev of ['CRITICAL', 'WARNING', 'INFO']) {
    if (!counts[sev]) continue;
    any = true;
    badges.append(el('a', { class: `badge ${sev}`, href: `#/alerts?store=${id}&severity=${sev}`,
      text: `${counts[sev]} ${sev === 'WARNING' && counts[sev] > 1 ? 'warnings'
        : sev.toLowerCase()}` }));
  }
  if (!any) badges.append(el('span', { class: 'badge none', text: 'no alerts' }));
  return el('article', { class: `tile${silent ? ' silent' : ''}`, 'data-store': id },
    el('h2', {}, el('a', { href: `#/store/${encodeURIComponent(id)}`, text: s.store_name || id })),
    el('div', { class: 'sub', text: `${id} · ${s.region} · ${s.timezone}` }),
    el('div', { class: 'net', 'data-minor': String(net), text: money(net, id) }),
    el('div', { class: 'sub target', text: !target ? 'no target today'
      : (due > 0 ? `${pct(net / due)} of the ${money(due, id)} due by now`
        : 'nothing due yet') + ` · day's target ${money(target, id)}` }),
    bar, badges, floorLines(id),
    el('div', { class: 'heard', text: heard ? `last heard ${ago(heard)}`
      : 'not heard from since the daemon started' }));
}

// Net sales against the day's target, with a mark at the part due by now; green once the day's
// target is made, amber while behind what is due.
function targetBar(net, target, due) {
  const part = (x) => Math.max(0, Math.min(100, Math.round((x / target) * 1000) / 10));
  const cls = !target ? '' : net >= target ? ' done' : net < due ? ' behind' : '';
  const bar = el('div', { class: `bar${cls}` },
    el('span', { class: 'fill', style: `width:${target ? part(net) : 0}%` }));
  if (target) bar.append(el('span', { class: 'due', style: `left:${part(due)}%` }));
  bar.setAttribute('role', 'img');
  bar.setAttribute('aria-label', !target ? 'no target'
    : `${pct(net / target)} of the day's target; ${pct(due / target)} of it due by now`);
  return bar;
}

// Only the tiles whose content changed are replaced: keyboard focus and screen readers stay
// where they are while the figures refresh.
// Staff on duty against the shifts on the rota now (and, while understaffed fires, what it
// wants: the rota capped by min_staff, or min_staff) and the open complaints, with those past
// their SLA.
function floorLines(id) {
  const f = state.floor.get(id);
  if (!f) return null;
  const under = [...state.active.values()].find(
    (a) => a.store_id === id && a.rule === 'understaffed');
  const staff = `${f.onDuty} on duty`
    + (f.onRota ? ` of ${f.onRota} on the rota now` : ' · no shift on the rota now')
    + (f.onBreak ? `, ${f.onBreak} on break` : '')
    + (under ? ` · ${under.threshold} wanted` : '');
  return el('div', { class: 'floor' },
    el('div', { class: `staff${under ? ' short' : ''}`, text: staff }),
    el('div', { class: `complaints${f.overdue ? ' short' : ''}`,
      text: `${f.open} open complaint${f.open === 1 ? '' : 's'}`
        + (f.overdue ? `, ${f.overdue} overdue` : '') }));
}

function renderBoard() {
  const box = $('tiles');
  const ids = [...state.stores.keys()].sort();
  const old = new Map([...box.children].map((t) => [t.dataset.store, t]));
  ids.forEach((id, i) => {
    const fresh = tile(id);
    const cur = old.get(id);
    if (cur && cur.outerHTML === fresh.outerHTML && box.children[i] === cur) return;
    if (cur) cur.replaceWith(fresh);
    else box.insertBefore(fresh, box.children[i] || null);
  });
  for (const [id, t] of old) if (!state.stores.has(id)) t.remove();
  const n = state.active.size;
  $('alert-count').textContent = n ? String(n) : '';
}

// ---- alerts ---------------------------------------------------------------------------------

function takeAlert(a) {
  if (a.state === 'FIRING') state.active.set(a.alert_id, a);
  else state.active.delete(a.alert_id);
  state.recent = state.recent.filter((x) => x.alert_id !== a.alert_id);
  state.recent.push(a);
  if (state.recent.length > 500) state.recent.shift();
}

function filtered() {
  const sev = $('f-severity').value;
  const rule = $('f-rule').value;
  const store = $('f-store').value;
  const resolved = $('f-resolved').checked;
  return state.recent.filter((a) => (!sev || a.severity === sev) && (!rule || a.rule === rule)
    && (!store || a.store_id === store) && (resolved || a.state === 'FIRING'))
    .sort((x, y) => y.updated_ms - x.updated_ms);
}

function fillSelect(sel, values, label) {
  const keep = sel.value;
  sel.replaceChildren(el('option', { value: '', text: 'any' }),
    ...values.map((v) => el('option', { value: v, text: label ? label(v) : v })));
  sel.value = values.includes(keep) ? keep : '';
}

function renderAlerts() {
  fillSelect($('f-rule'), [...new Set(state.recent.map((a) => a.rule))].sort());
  fillSelect($('f-store'), [...state.stores.keys()].sort(), storeLabel);
  const rows = filtered().map((a) => {
    const ack = a.state === 'FIRING' && ACKABLE.has(a.rule)
      ? el('button', { type: 'button', class: 'ack', text: 'Acknowledge',
        onclick: () => askAck(a) }) : null;
    const what = a.state === 'RESOLVED' && a.resolution
      ? `Resolved: ${a.resolution}` : a.message;
    const focus = a.alert_id === state.focus ? ' focus' : '';
    return el('tr', { class: a.state + focus, 'data-alert-id': a.alert_id },
      el('td', { text: localTime(a.updated_ms, a.store_id) }),
      el('td', { class: `sev ${a.severity}`, text: a.severity }),
      el('td', { text: a.state }),
      el('td', { text: a.rule }),
      el('td', { text: storeLabel(a.store_id) }),
      el('td', { text: a.subject }),
      el('td', { class: 'msg', text: what }),
      el('td', {}, ack));
  });
  $('alert-rows').replaceChildren(...rows);
  $('no-alerts').hidden = rows.length > 0;
  const f = document.querySelector('tr.focus');
  if (f && !state.scrolled) {
    f.scrollIntoView({ block: 'center' });
    state.scrolled = true;
  }
}

let acking = null;
function askAck(a) {
  acking = a;
  $('ack-what').textContent = `${a.rule} at ${storeLabel(a.store_id)}: ${a.message}`;
  $('ack-reason').value = '';
  $('ack-dialog').showModal();
}

async function doAck(reason) {
  const a = acking;
  acking = null;
  try {
    await api(`/api/alerts/${encodeURIComponent(a.alert_id)}/ack`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': state.session.csrf },
      body: JSON.stringify({ reason }),
    });
    showError('');
  } catch (e) {
    showError(`Could not acknowledge ${a.alert_id}: ${e.message}`);
  }
}

// A region's messages are numbered by the daemon that sends them: with several daemons (the
// console's --daemon), each alert names its daemon and the snapshot keys pub_seq by both.
function seqKey(a) {
  return a.daemon ? `${a.daemon} ${a.region}` : a.region;
}

// The stream: a snapshot, then every change; a jump in a region's pub_seq means messages were
// missed, so start again from a new snapshot.
function follow() {
  if (state.stream) state.stream.close();
  const es = new EventSource('/api/alerts/stream');
  state.stream = es;
  es.addEventListener('snapshot', (ev) => {
    const snap = JSON.parse(ev.data);
    state.active.clear();
    state.recent = state.recent.filter((a) => a.state === 'RESOLVED');
    for (const a of snap.alerts) takeAlert(a);
    state.pubSeq = new Map(Object.entries(snap.pub_seq));
    setLive(snap.connected);
    render();
  });
  es.addEventListener('alert', (ev) => {
    const a = JSON.parse(ev.data);
    const key = seqKey(a);
    const last = state.pubSeq.get(key);
    if (last !== undefined && a.pub_seq !== last + 1) {
      follow(); // missed messages: a new snapshot
      return;
    }
    state.pubSeq.set(key, a.pub_seq);
    if (!state.stores.has(a.store_id)) loadStores().then(render).catch(() => {});
    takeAlert(a);
    setLive(true);
    render();
    refreshStore(a.store_id);
  });
  es.onerror = () => setLive(false);
}

function setLive(on) {
  const l = $('live');
  l.textContent = on ? 'live' : 'daemon not reachable';
  l.className = `live ${on ? 'on' : 'off'}`;
}

async function refreshStore(id) {
  try {
    const rows = await api(`/api/query/sales?store=${encodeURIComponent(id)}&from=today`);
    state.sales.set(id, rows[0] || null);
    renderBoard();
  } catch (e) { /* the periodic refresh says so */ }
}

// ---- pages ----------------------------------------------------------------------------------

// The pages beyond the board and the alerts (store.js, ops.js) add themselves with addPage:
// {match(path) -> args or null, show(args, params), hide(), nav: id of their nav link}. One that
// arrives after the first route() (the scripts load side by side) is shown at once if the
// address is its own.
const PAGES = [];
function addPage(page) {
  PAGES.push(page);
  if (state.routed) route();
}

function route() {
  const [path, query] = (location.hash.slice(1) || '/').split('?');
  // /alerts/ID (a link from Alertmanager, floorwalker notify --console-url): that alert.
  const linked = location.pathname.startsWith('/alerts/') && !location.hash
    ? decodeURIComponent(location.pathname.slice(8)) : null;
  state.focus = linked;
  state.routed = true;
  let page = null;
  let args = null;
  for (const p of PAGES) {
    args = linked === null ? p.match(path) : null;
    if (args) {
      page = p;
      break;
    }
  }
  const alerts = !page && (path === '/alerts' || linked !== null);
  $('board').hidden = alerts || page !== null;
  $('alerts').hidden = !alerts;
  $('nav-board').toggleAttribute('aria-current', !alerts && !page);
  $('nav-alerts').toggleAttribute('aria-current', alerts);
  for (const p of PAGES) {
    if (p !== page) p.hide();
    const nav = p.nav && $(p.nav);
    if (nav) nav.toggleAttribute('aria-current', page !== null && page.nav === p.nav);
  }
  if (page) {
    page.show(args, new URLSearchParams(query || ''));
    return;
  }
  document.title = 'Floorwalker';
  if (alerts) {
    const p = new URLSearchParams(query || '');
    render();
    if (p.has('store')) $('f-store').value = p.get('store');
    if (p.has('severity')) $('f-severity').value = p.get('severity');
  }
  render();
}

function render() {
  renderBoard();
  if (!$('alerts').hidden) renderAlerts();
}

async function refresh(floor) {
  try {
    if (!state.stores.size) await loadStores();
    await Promise.all([loadSales(), loadHeard(), floor ? loadFloor() : null]);
    showError('');
  } catch (e) {
    showError(`The daemon's figures are not available: ${e.message}`);
  }
  renderBoard();
}

async function main() {
  state.session = await api('/api/session');
  $('banner').hidden = state.session.login;
  for (const id of ['f-severity', 'f-rule', 'f-store', 'f-resolved']) {
    $(id).addEventListener('change', renderAlerts);
  }
  $('ack-dialog').addEventListener('close', () => {
    if ($('ack-dialog').returnValue === 'ok' && acking) doAck($('ack-reason').value);
  });
  window.addEventListener('hashchange', route);
  follow();
  await refresh(true);
  route();
  let n = 0;
  setInterval(() => {
    n += 1;
    if (n % 30 === 0) loadStores().catch(() => {});
    refresh(n % 10 === 0);
  }, 1000);
}

main().catch((e) => showError(`The console could not start: ${e.message}`));
