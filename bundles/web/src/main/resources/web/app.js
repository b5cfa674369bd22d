// Uplink status page: connections, live progress and activity over Server-Sent Events (polling only while an
// OAuth2 code waits for a person).
'use strict';
(function () {
  const rows = new Map();       // id -> { row, historyRow, data }
  const openHistory = new Set();
  let info = { mayFire: false };
  let outboxSize = null;
  const MAX_ACTIVITY = 200;
  // Request URLs are built from the origin and path only: a page opened as http://user:pass@host/uplink/
  // resolves a relative URL to one with the credentials in it, which fetch refuses to request
  // ("Request cannot be constructed from a URL that includes credentials"). The browser sends the login
  // it already holds for this origin either way.
  const BASE = location.origin + location.pathname.replace(/[^/]*$/, '') + 'api/';
  let streamOpen = false;
  let loadFailed = false;
  let oauthPoll = null;

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
    const res = await fetch(BASE + path, Object.assign({ credentials: 'same-origin' }, options || {}));
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

  function del(path) {
    return api(path, { method: 'DELETE', headers: { 'X-Uplink-Token': 'page' } });
  }

  // The badge says "live" only when the event stream is open and the last full load worked.
  function badge() {
    const live = document.getElementById('live');
    if (loadFailed) {
      live.textContent = 'not loaded';
      live.className = 'live error';
    } else if (streamOpen) {
      live.textContent = 'live';
      live.className = 'live on';
    } else {
      live.textContent = 'reconnecting…';
      live.className = 'live off';
    }
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
      el('span', { class: 'small', text: time(r.ended) + ' · ' + seconds(r.durationMs) + (r.node ? ' · node ' + r.node : '') }),
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
    if (c.reason && (!c.firing || c.state === 'REMOTE')) cell.append(el('div', { class: 'small', text: c.reason }));
    // in a cluster: the node that runs the firing now, or ran the last one
    if (c.node) cell.append(el('div', { class: 'small node', text: 'node ' + c.node }));
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
      await loadSchedule();
      const list = await api('connections');
      const seen = new Set();
      for (const c of list) { upsert(c); seen.add(c.id); }
      for (const id of [...rows.keys()]) if (!seen.has(id)) remove(id);
      for (const id of openHistory) loadHistory(id);
      notice('');
      loadMailTasks();
      loadFailed = false;
    } catch (e) {
      notice('Cannot load the connections: ' + e.message);
      loadFailed = true;
    }
    badge();
    pollCluster();
  }

  // In a cluster the event stream carries this node's firings only (events are per node): while the
  // connections name nodes, ask again every 5 s so that firings on the other nodes show too.
  let clusterPoll = null;
  function pollCluster() {
    clearTimeout(clusterPoll);
    if ([...rows.values()].some(v => v.data.node)) clusterPoll = setTimeout(loadAll, 5000);
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
    const oauth = new Map();
    if (info.oauth2) {
      try {
        for (const o of await api('oauth2')) oauth.set(o.kind + '-' + o.id, o);
      } catch (e) {
        notice('Cannot load the OAuth2 authorizations: ' + e.message);
      }
    }
    const tbody = document.querySelector('#mail-tasks tbody');
    tbody.replaceChildren(...senders.concat(collectors).map(t => {
      const state = el('div', {}, el('span', { class: 'state ' + t.state, text: t.state }));
      if (t.error) state.append(el('div', { class: 'small', text: t.error }));
      for (const w of t.warnings) state.append(el('div', { class: 'small', text: w }));
      const o = oauth.get(t.kind + '-' + t.id);
      if (o) state.append(oauthState(o));
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
    // a code is waiting for a person: look again until the item is authorized (or the code is gone)
    clearTimeout(oauthPoll);
    if ([...oauth.values()].some(o => o.pending && !o.authorized)) oauthPoll = setTimeout(loadMailTasks, 2000);
  }

  // OAuth2 items: green when authorized; otherwise an Authorize button for those who may fire, and while a
  // device authorization waits, the page to open and the code to enter there
  function oauthState(o) {
    const box = el('div', { class: 'oauth2', 'data-authorized': o.authorized ? 'true' : 'false' },
      el('span', { class: 'oauth2-state ' + (o.authorized ? 'yes' : 'no'),
        text: o.authorized ? 'OAuth2: authorized' : 'OAuth2: not authorized' }),
      o.account ? el('span', { class: 'small', text: ' ' + o.account }) : null);
    if (o.authorized) return box;
    if (o.pending) {
      const p = o.pending;
      box.append(el('div', { class: 'device-code', role: 'status' }, 'Open ',
        el('a', { href: p.verificationUriComplete || p.verificationUri, target: '_blank', rel: 'noopener noreferrer',
          text: p.verificationUri }),
        ' and enter the code ', el('strong', { class: 'user-code', text: p.userCode }),
        el('span', { class: 'small', text: ' (valid until ' + time(p.expiresAt) + ')' })));
    } else if (info.mayFire) {
      box.append(' ', el('button', { type: 'button', class: 'authorize', onclick: () => authorize(o),
        'aria-label': 'Authorize ' + o.kind + ' ' + o.id, text: 'Authorize' }));
    }
    if (o.lastError && !o.pending) box.append(el('div', { class: 'small', text: o.lastError }));
    return box;
  }

  async function authorize(o) {
    try {
      await post('oauth2/' + enc(o.id) + '/authorize');
      notice('');
    } catch (e) {
      notice('Authorize ' + o.id + ': ' + e.message);
    }
    loadMailTasks();
  }

  async function loadOutbox() {
    const section = document.getElementById('outbox-section');
    if (!info.outbox) { outboxSize = null; section.hidden = true; return; }
    let box;
    try { box = await api('outbox'); } catch (e) { outboxSize = null; section.hidden = true; return; }
    outboxSize = box.size;
    section.hidden = false;
    const queued = document.querySelector('#queued tbody');
    queued.replaceChildren(...box.messages.map(m => el('tr', { id: 'queued-' + m.id },
      el('td', { 'data-label': 'Id', text: m.id + (m.priority ? ' (urgent)' : '') }),
      el('td', { 'data-label': 'From', text: m.from || '<>' }),
      el('td', { 'data-label': 'Recipients', text: m.pending.join(', ') }),
      el('td', { 'data-label': 'Size', text: size(m.size) }),
      el('td', { 'data-label': 'Attempts', text: String(m.attempts) }),
      el('td', { 'data-label': 'Next try', text: m.nextTry ? time(m.nextTry) : 'next firing' }),
      el('td', { 'data-label': 'Last error', text: m.lastError || '' }),
      el('td', { class: 'actions' },
        el('button', { type: 'button', class: 'retry', disabled: !info.mayFire, text: 'Retry',
          'aria-label': 'Retry message ' + m.id + ' at the next firing', onclick: () => act(() => post('outbox/' + enc(m.id) + '/retry')) }),
        el('button', { type: 'button', class: 'delete', disabled: !info.mayFire, text: 'Delete',
          'aria-label': 'Delete message ' + m.id + ' without sending it',
          onclick: () => confirm('Delete message ' + m.id + ' without sending it?') && act(() => del('outbox/' + enc(m.id))) })))));
    document.getElementById('queued-empty').hidden = box.messages.length > 0;
    const failed = document.querySelector('#failed tbody');
    failed.replaceChildren(...box.failed.map(m => el('tr', { id: 'failed-' + m.id },
      el('td', { 'data-label': 'Id', text: m.id }),
      el('td', { 'data-label': 'From', text: m.from || '<>' }),
      el('td', { 'data-label': 'Failed recipients' }, ...Object.entries(m.failed).map(([a, why]) =>
        el('div', {}, el('strong', { text: a }), ' ', el('span', { class: 'small', text: why })))),
      el('td', { 'data-label': 'Size', text: size(m.size) }),
      el('td', { 'data-label': 'Given up', text: time(m.failedAt) }),
      el('td', { class: 'actions' },
        el('button', { type: 'button', class: 'requeue', disabled: !info.mayFire, text: 'Requeue',
          'aria-label': 'Put message ' + m.id + ' back in the queue', onclick: () => act(() => post('outbox/failed/' + enc(m.id) + '/requeue')) }),
        el('button', { type: 'button', class: 'delete', disabled: !info.mayFire, text: 'Delete',
          'aria-label': 'Delete failed message ' + m.id,
          onclick: () => confirm('Delete failed message ' + m.id + ' for good?') && act(() => del('outbox/failed/' + enc(m.id))) })))));
    document.getElementById('failed-empty').hidden = box.failed.length > 0;
    const all = document.getElementById('requeue-all');
    all.hidden = box.failed.length === 0;
    all.disabled = !info.mayFire;
  }

  function enc(id) { return encodeURIComponent(id); }

  function size(bytes) {
    return bytes < 1024 ? bytes + ' B' : bytes < 1048576 ? (bytes / 1024).toFixed(1) + ' KiB' : (bytes / 1048576).toFixed(1) + ' MiB';
  }

  async function act(call) {
    try { await call(); notice(''); } catch (e) { notice(e.message); }
    await loadOutbox();
    rows.forEach((v) => upsert(v.data));
  }

  async function loadSchedule() {
    const state = document.getElementById('schedule-state');
    const toggle = document.getElementById('schedule-toggle');
    if (!info.schedule) { state.textContent = ''; toggle.hidden = true; return; }
    try {
      showSchedule((await api('schedule/next?count=1')).paused);
    } catch (e) { state.textContent = ''; toggle.hidden = true; }
  }

  function showSchedule(paused) {
    const state = document.getElementById('schedule-state');
    const toggle = document.getElementById('schedule-toggle');
    state.textContent = paused ? 'Schedule paused: no automatic firing' : '';
    state.className = paused ? 'paused' : 'small';
    toggle.hidden = false;
    toggle.disabled = !info.mayFire;
    toggle.textContent = paused ? 'Resume schedule' : 'Pause schedule';
    toggle.dataset.paused = paused ? 'true' : 'false';
  }

  async function toggleSchedule() {
    const toggle = document.getElementById('schedule-toggle');
    try {
      showSchedule((await post(toggle.dataset.paused === 'true' ? 'schedule/resume' : 'schedule/pause')).paused);
      notice('');
    } catch (e) { notice('Schedule: ' + e.message); }
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
    // in a cluster the firings name their node; a single node's table stays as it was
    const nodes = history.some(r => r.node);
    const table = el('table', { class: 'history' },
      el('thead', {}, el('tr', {}, ...['Started', ...(nodes ? ['Node'] : []), 'Cause', 'Result', 'Took', 'Phases', 'Errors']
        .map(h => el('th', { scope: 'col', text: h })))));
    const body = el('tbody');
    for (const r of history) {
      const phases = el('ul', { class: 'phases' }, ...r.phases.map(p =>
        el('li', { class: p.ok ? '' : 'bad', text: p.phase + ' ' + seconds(p.durationMs) + (p.message ? ' — ' + p.message : '') })));
      body.append(el('tr', {},
        el('td', { text: time(r.started) }), ...(nodes ? [el('td', { text: r.node || '' })] : []), el('td', { text: r.cause }),
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
    const source = new EventSource(BASE + 'events');
    source.onopen = () => {
      streamOpen = true;
      loadAll();  // catch up on whatever happened while the stream was down; sets the badge
    };
    source.onerror = () => {
      streamOpen = false;
      badge();
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
    document.getElementById('schedule-toggle').addEventListener('click', toggleSchedule);
    document.getElementById('requeue-all').addEventListener('click', () => act(() => post('outbox/failed/requeue')));
    loadActivity().then(listen);
  });
})();
