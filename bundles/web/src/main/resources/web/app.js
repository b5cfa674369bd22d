// Uplink status page: connections, live progress and activity over Server-Sent Events, no polling.
'use strict';
(function () {
  const rows = new Map();       // id -> { row, historyRow, data }
  const openHistory = new Set();
  let info = { mayFire: false };
  let outboxSize = null;
  const MAX_ACTIVITY = 200;

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.substring(2), v);
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children) {
      if (c !== null && c !== undefined) e.append(c);
    }
    return e;
  }

  async function api(path, options) {
    const res = await fetch('api/' + path, Object.assign({ credentials: 'same-origin' }, options || {}));
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    if (!res.ok) {
      throw new Error((body && body.error) || (res.status + ' ' + res.statusText));
    }
    return body;
  }

  function post(path) {
    // the JSON content type and the token header keep other sites from firing (CSRF)
    return api(path, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Uplink-Token': 'page' }, body: '{}' });
  }

  function notice(text) {
    const n = document.getElementById('notice');
    n.textContent = text || '';
    n.hidden = !text;
  }

  function time(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    const today = new Date();
    return d.toDateString() === today.toDateString() ? d.toLocaleTimeString() : d.toLocaleString();
  }

  function seconds(ms) {
    return (ms / 1000).toFixed(1) + ' s';
  }

  function resultCell(r) {
    if (!r) return el('span', { class: 'small', text: 'never' });
    return el('span', {},
      el('span', { class: 'result ' + r.outcome, text: r.outcome }), ' ',
      el('span', { class: 'small', text: time(r.ended) + ' · ' + seconds(r.durationMs) }),
      el('div', { class: 'small', text: r.summary || '' }));
  }

  function stateCell(c) {
    const cell = el('div', {}, el('span', { class: 'state ' + c.state, text: c.state }));
    if (c.firing && c.progress) {
      const p = c.progress;
      const bar = el('progress', { max: p.total > 0 ? p.total : null, value: p.total > 0 ? p.done : null,
        'aria-label': 'progress of ' + c.name });
      cell.append(bar, el('div', { class: 'progress-text', text: progressText(p) }));
    } else if (c.firing) {
      cell.append(el('progress', { 'aria-label': 'progress of ' + c.name }));
    }
    if (c.reason && !c.firing) cell.append(el('div', { class: 'small', text: c.reason }));
    for (const pr of c.problems || []) cell.append(el('div', { class: 'small', text: pr }));
    return cell;
  }

  function progressText(p) {
    let t = p.phase + (p.message ? ': ' + p.message : '');
    if (p.done >= 0 && p.total > 0 && !(p.message || '').includes(String(p.total))) t += ' (' + p.done + '/' + p.total + ')';
    return t;
  }

  function renderRow(c) {
    const cells = [
      el('td', { 'data-label': 'Connection' }, el('strong', { text: c.name }), ' ',
        el('span', { class: 'id', text: '(' + c.id + ')' + (c.default ? ' · default' : '') })),
      el('td', { 'data-label': 'Method', text: c.method }),
      el('td', { 'data-label': 'State', class: 'state-cell' }, stateCell(c)),
      el('td', { 'data-label': 'Last firing', class: 'last' }, resultCell(c.lastResult)),
      el('td', { 'data-label': 'Next firing', text: c.nextFiring ? time(c.nextFiring) : '—' }),
      el('td', { 'data-label': 'Outbox', text: outboxSize === null ? '—' : (c.sender ? String(outboxSize) : '—') }),
      el('td', { class: 'actions' },
        el('button', { type: 'button', class: 'fire', disabled: !info.mayFire || c.state === 'ERROR' || c.state === 'REJECTED',
          onclick: () => fire(c.id), 'aria-label': 'Connect ' + c.name + ' now', text: 'Connect now' }),
        c.firing ? el('button', { type: 'button', class: 'hangup', disabled: !info.mayFire,
          onclick: () => hangup(c.id), 'aria-label': 'Hang up ' + c.name, text: 'Hang up' }) : null,
        el('button', { type: 'button', class: 'history-toggle', 'aria-expanded': openHistory.has(c.id) ? 'true' : 'false',
          onclick: () => toggleHistory(c.id), 'aria-label': 'History of ' + c.name, text: 'History' }))
    ];
    const tr = el('tr', { id: 'conn-' + c.id, class: 'conn', 'data-state': c.state,
      'data-outcome': c.lastResult ? c.lastResult.outcome : '' }, ...cells);
    return tr;
  }

  function upsert(c) {
    const tbody = document.querySelector('#connections tbody');
    const fresh = renderRow(c);
    const known = rows.get(c.id);
    const focused = document.activeElement && known && known.row.contains(document.activeElement)
      ? document.activeElement.className : null;
    if (known) {
      known.row.replaceWith(fresh);
      known.row = fresh;
      known.data = c;
    } else {
      tbody.append(fresh);
      rows.set(c.id, { row: fresh, historyRow: null, data: c });
    }
    const entry = rows.get(c.id);
    if (entry.historyRow) fresh.after(entry.historyRow);
    if (focused) {
      const again = fresh.querySelector('button.' + focused.split(' ')[0]) || fresh.querySelector('button.fire');
      if (again) again.focus();
    }
    document.getElementById('empty').hidden = rows.size > 0;
  }

  function remove(id) {
    const known = rows.get(id);
    if (!known) return;
    known.row.remove();
    if (known.historyRow) known.historyRow.remove();
    rows.delete(id);
    document.getElementById('empty').hidden = rows.size > 0;
  }

  async function loadAll() {
    try {
      info = await api('');
      document.getElementById('user').textContent = info.user + (info.mayFire ? '' : ' (view only)');
      document.getElementById('fire-defaults').disabled = !info.mayFire;
      await loadOutbox();
      const list = await api('connections');
      const seen = new Set();
      for (const c of list) { upsert(c); seen.add(c.id); }
      for (const id of [...rows.keys()]) if (!seen.has(id)) remove(id);
      for (const id of openHistory) loadHistory(id);
      notice('');
      loadMailTasks();
    } catch (e) {
      notice('Cannot load the connections: ' + e.message);
    }
  }

  // Senders & Collectors: their state comes from the mail bundle; a bad file shows here before any firing
  async function loadMailTasks() {
    const section = document.getElementById('tasks-section');
    if (!info.mailTasks) { section.hidden = true; return; }
    let senders, collectors;
    try {
      [senders, collectors] = await Promise.all([api('senders'), api('collectors')]);
    } catch (e) {
      notice('Cannot load the senders and collectors: ' + e.message);
      return;
    }
    const tbody = document.querySelector('#mail-tasks tbody');
    tbody.replaceChildren(...senders.concat(collectors).map(t => {
      const state = el('div', {}, el('span', { class: 'state ' + t.state, text: t.state }));
      if (t.error) state.append(el('div', { class: 'small', text: t.error }));
      for (const w of t.warnings) state.append(el('div', { class: 'small', text: w }));
      const last = t.lastRun
        ? el('span', {}, el('span', { class: 'small', text: time(t.lastRun) + ' · ' + t.lastResult }),
          t.lastError ? el('div', { class: 'small', text: t.lastError }) : null)
        : el('span', { class: 'small', text: 'not run yet' });
      return el('tr', { id: t.kind + '-' + t.id, class: 'mail-task', 'data-state': t.state },
        el('td', { 'data-label': 'Sender / Collector' }, el('strong', { text: t.id }), ' ',
          el('span', { class: 'id', text: '(' + t.kind + ')' })),
        el('td', { 'data-label': 'State', class: 'state-cell' }, state),
        el('td', { 'data-label': 'Server', text: t.server || '—' }),
        el('td', { 'data-label': 'Connections', text: t.connections.join(', ') || '—' }),
        el('td', { 'data-label': 'Last run' }, last));
    }));
    section.hidden = false;
  }

  async function loadOutbox() {
    if (!info.outbox) { outboxSize = null; return; }
    try { outboxSize = (await api('outbox')).size; } catch (e) { outboxSize = null; }
  }

  async function refresh(id) {
    loadMailTasks();
    try {
      upsert(await api('connections/' + encodeURIComponent(id)));
      if (openHistory.has(id)) loadHistory(id);
    } catch (e) {
      remove(id);
    }
  }

  async function fire(id) {
    try { await post('connections/' + encodeURIComponent(id) + '/fire'); notice(''); }
    catch (e) { notice('Connect ' + id + ': ' + e.message); }
  }

  async function fireDefaults() {
    try {
      const r = await post('connections/defaults/fire');
      notice(r.firings.length ? '' : 'No connection is marked default.');
    } catch (e) { notice('Connect defaults: ' + e.message); }
  }

  async function hangup(id) {
    try { await post('connections/' + encodeURIComponent(id) + '/hangup'); notice(''); }
    catch (e) { notice('Hang up ' + id + ': ' + e.message); }
  }

  function toggleHistory(id) {
    const entry = rows.get(id);
    if (!entry) return;
    if (openHistory.has(id)) {
      openHistory.delete(id);
      if (entry.historyRow) entry.historyRow.remove();
      entry.historyRow = null;
      upsert(entry.data);
    } else {
      openHistory.add(id);
      upsert(entry.data);
      loadHistory(id);
    }
  }

  async function loadHistory(id) {
    const entry = rows.get(id);
    if (!entry) return;
    let history, log;
    try {
      [history, log] = await Promise.all([
        api('history?limit=20&connection=' + encodeURIComponent(id)),
        api('connections/' + encodeURIComponent(id) + '/log?limit=30')]);
    } catch (e) {
      notice('History of ' + id + ': ' + e.message);
      return;
    }
    const table = el('table', { class: 'history' },
      el('thead', {}, el('tr', {}, ...['Started', 'Cause', 'Result', 'Took', 'Phases', 'Errors']
        .map(h => el('th', { scope: 'col', text: h })))));
    const body = el('tbody');
    for (const r of history) {
      const phases = el('ul', { class: 'phases' }, ...r.phases.map(p =>
        el('li', { class: p.ok ? '' : 'bad', text: p.phase + ' ' + seconds(p.durationMs) + (p.message ? ' — ' + p.message : '') })));
      body.append(el('tr', {},
        el('td', { text: time(r.started) }), el('td', { text: r.cause }),
        el('td', {}, el('span', { class: 'result ' + r.outcome, text: r.outcome }), ' ', el('span', { class: 'small', text: r.summary })),
        el('td', { text: seconds(r.durationMs) }), el('td', {}, phases),
        el('td', { text: r.errors.join('; ') })));
    }
    table.append(body);
    const logList = el('ol', { class: 'activity' }, ...log.lines.slice().reverse().map(l => el('li', { text: l })));
    const cell = el('td', { colspan: 7 },
      el('h3', { class: 'small', text: 'History of ' + entry.data.name }),
      history.length ? table : el('p', { class: 'small', text: 'No firings yet.' }),
      el('h3', { class: 'small', text: 'Activity log' }), logList);
    const tr = el('tr', { class: 'history-row', id: 'history-' + id }, cell);
    if (entry.historyRow) entry.historyRow.replaceWith(tr); else entry.row.after(tr);
    entry.historyRow = tr;
  }

  function addActivity(e) {
    const list = document.getElementById('activity');
    const name = (e.properties && e.properties['connection.name']) || e.connection;
    const li = el('li', { class: e.type }, time(e.time) + ' ' + name + ' ' + e.type + ' ' + e.text);
    list.prepend(li);
    while (list.children.length > MAX_ACTIVITY) list.lastChild.remove();
  }

  function progress(e) {
    const entry = rows.get(e.connection);
    if (!entry) return;
    const p = e.properties;
    const c = Object.assign({}, entry.data, { firing: true,
      progress: { phase: p.phase, message: p.message, done: Number(p.done), total: Number(p.total) } });
    upsert(c);
  }

  function listen() {
    const live = document.getElementById('live');
    const source = new EventSource('api/events');
    source.onopen = () => {
      live.textContent = 'live';
      live.className = 'live on';
      loadAll();  // catch up on whatever happened while the stream was down
    };
    source.onerror = () => {
      live.textContent = 'reconnecting…';
      live.className = 'live off';
    };
    source.onmessage = (m) => {
      const e = JSON.parse(m.data);
      if (e.type === 'PROGRESS') {
        progress(e);
        return;
      }
      addActivity(e);
      if (e.type === 'STATE' && e.properties.state === 'REMOVED') {
        remove(e.connection);
        return;
      }
      if (e.type === 'DISCONNECTED') {
        loadOutbox().then(() => rows.forEach((v) => upsert(v.data))).then(() => refresh(e.connection));
        return;
      }
      refresh(e.connection);
    };
  }

  async function loadActivity() {
    try {
      const list = await api('activity?limit=100');
      for (const e of list) if (e.type !== 'PROGRESS') addActivity(e);
    } catch (e) { /* the stream still shows what happens next */ }
  }

  document.addEventListener('DOMContentLoaded', () => {
    document.getElementById('fire-defaults').addEventListener('click', fireDefaults);
    loadActivity().then(listen);
  });
})();
