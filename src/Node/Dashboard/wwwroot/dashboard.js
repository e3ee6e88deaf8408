// The live dashboard: polls the admin API for the cluster, the shards and every scope's active registrations,
// and follows each registration's event stream (fetch streaming, since EventSource cannot send the admin key).
// Every call on a registration goes through the admin API's /v1/admin/scopes/{scope}/registrations/{id}/...,
// which the admin key opens for every scope when API keys are configured.

const KEY_STORAGE = 'bgfetch.adminKey';
const POLL_MS = 2000;
const SETTLED_KEEP_MS = 5 * 60 * 1000;

const state = {
  key: localStorage.getItem(KEY_STORAGE) || '',
  needsKey: false,
  registrations: new Map(), // "scope\u0000id" -> { scope, view, settledAt, stream }
  selected: null,
};

const $ = (selector) => document.querySelector(selector);

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (name === 'className') node.className = value;
    else node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat()) node.append(child instanceof Node ? child : document.createTextNode(String(child ?? '')));
  return node;
}

function headers() {
  const result = {};
  if (state.key) result.Authorization = `Bearer ${state.key}`;
  return result;
}

/** The admin path of a registration of any scope, plus `suffix`. */
const registrationPath = (scope, id, suffix = '') =>
  `/v1/admin/scopes/${encodeURIComponent(scope)}/registrations/${encodeURIComponent(id)}${suffix}`;

class Unauthorized extends Error {}

async function api(path, { method = 'GET', signal } = {}) {
  const response = await fetch(path, { method, headers: headers(), signal });
  if (response.status === 401) throw new Unauthorized(path);
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try { detail = (await response.json()).detail || detail; } catch { /* not a problem body */ }
    throw new Error(`${method} ${path}: ${detail}`);
  }
  return response.status === 204 ? null : response.json();
}

function askForKey() {
  state.needsKey = true;
  $('#key-form').hidden = false;
  $('#status').textContent = 'admin key needed';
  $('#key-input').focus();
}

$('#key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  state.key = $('#key-input').value.trim();
  localStorage.setItem(KEY_STORAGE, state.key);
  state.needsKey = false;
  $('#key-form').hidden = true;
  refresh();
});
$('#change-key').addEventListener('click', askForKey);
$('#records-close').addEventListener('click', () => { state.selected = null; $('#records-section').hidden = true; renderRegistrations(); });

const formatBytes = (n) => {
  if (!n) return '0 B';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  const i = Math.min(units.length - 1, Math.floor(Math.log(n) / Math.log(1024)));
  return `${(n / 1024 ** i).toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
};

const pill = (text, kind = text) => el('span', { className: `pill ${kind}` }, text);

function renderCluster(cluster) {
  $('#node').textContent = `this node: ${cluster.self}`;
  $('#leader').textContent = cluster.leader ? `leader ${cluster.leader}` : 'no leader';
  $('#members tbody').replaceChildren(...cluster.members.map((m) => el('tr', { 'data-address': m.address },
    el('td', { className: 'address' }, m.address, m.address === cluster.self ? ' (this node)' : ''),
    el('td', {}, pill(m.status)),
    el('td', {}, pill(m.reachable ? 'yes' : 'no')),
    el('td', {}, m.upNumber || '–'),
    el('td', {}, (m.roles || []).join(', ')))));
}

function renderSharding(sharding) {
  const rows = [];
  for (const region of sharding.regions) {
    const perNode = new Map();
    for (const shard of region.shards) {
      const entry = perNode.get(shard.address) ?? { shards: [], entities: 0 };
      entry.shards.push(shard.shardId);
      entry.entities += shard.entities;
      perNode.set(shard.address, entry);
    }
    if (perNode.size === 0) rows.push(el('tr', {}, el('td', {}, region.typeName), el('td', { colspan: 4, className: 'muted' }, 'no shards allocated')));
    for (const [address, entry] of [...perNode].sort()) {
      const ids = entry.shards.sort((a, b) => Number(a) - Number(b) || a.localeCompare(b));
      rows.push(el('tr', { 'data-region': region.typeName, 'data-address': address },
        el('td', {}, region.typeName), el('td', { className: 'address' }, address),
        el('td', {}, ids.length), el('td', {}, entry.entities),
        el('td', { className: 'muted' }, ids.length > 12 ? `${ids.slice(0, 12).join(', ')} …` : ids.join(', '))));
    }
  }
  $('#sharding tbody').replaceChildren(...rows);
}

const keyOf = (scope, id) => `${scope}\u0000${id}`;

function mergeRegistrations(list) {
  const seen = new Set();
  for (const view of list) {
    const key = keyOf(view.scope, view.id);
    seen.add(key);
    const entry = state.registrations.get(key);
    if (!entry) {
      const created = { scope: view.scope, view, settledAt: null, stream: null, live: false };
      state.registrations.set(key, created);
      follow(created);
    } else if (!entry.live && !entry.settledAt) {
      entry.view = { ...entry.view, ...view };
    }
  }
  const now = Date.now();
  for (const [key, entry] of state.registrations) {
    // Gone from the active list: settled (the stream tells how) or released.
    if (!seen.has(key) && !entry.settledAt && !entry.live) entry.settledAt = now;
    if (entry.settledAt && now - entry.settledAt > SETTLED_KEEP_MS) forget(key);
  }
}

function forget(key) {
  state.registrations.get(key)?.stream?.abort();
  state.registrations.delete(key);
}

/**
 * Follows a registration's `/events?untilReleased=true` stream and updates its row on every progress and terminal
 * event, on `updateui` (a new title or icons) and on `recordsreleased` (its records are gone).
 */
async function follow(entry) {
  const controller = new AbortController();
  entry.stream = controller;
  try {
    const response = await fetch(`${registrationPath(entry.scope, entry.view.id, '/events')}?untilReleased=true`, {
      headers: { ...headers(), Accept: 'text/event-stream' },
      signal: controller.signal,
    });
    if (!response.ok) {
      // Gone already, or the key is not accepted: the row follows the admin polling.
      await response.body?.cancel();
      return;
    }
    entry.live = true;
    for await (const { event, data } of serverSentEvents(response.body)) {
      entry.view = { ...entry.view, ...JSON.parse(data) };
      if (event !== 'progress' && event !== 'updateui') entry.settledAt ??= Date.now();
      renderRegistrations();
    }
  } catch {
    // aborted, or the node went away: the next poll shows the state
  } finally {
    entry.live = false;
  }
}

async function* serverSentEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let event = '';
  let data = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let newline;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline).replace(/\r$/, '');
      buffer = buffer.slice(newline + 1);
      if (line === '') {
        if (data.length) yield { event: event || 'message', data: data.join('\n') };
        event = '';
        data = [];
      } else if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
  }
}

function progressCell(view) {
  const total = view.downloadTotal || 0;
  const bar = el('progress', { max: total || Math.max(view.downloaded, 1), value: view.downloaded });
  if (!total && !view.result) bar.removeAttribute('value'); // unknown total: indeterminate while active
  const text = total ? `${formatBytes(view.downloaded)} of ${formatBytes(total)} (${Math.floor((100 * view.downloaded) / total)}%)` : formatBytes(view.downloaded);
  return el('div', { className: 'bar' }, bar, el('span', { className: 'downloaded', 'data-bytes': view.downloaded }, text));
}

function renderRegistrations() {
  const rows = [...state.registrations.values()]
    .sort((a, b) => a.scope.localeCompare(b.scope) || (a.view.createdAt ?? '').localeCompare(b.view.createdAt ?? ''))
    .map((entry) => {
      const view = entry.view;
      const result = view.result || 'active';
      const released = view.recordsAvailable === false;
      const key = keyOf(entry.scope, view.id);
      return el('tr', {
        'data-scope': entry.scope, 'data-id': view.id,
        className: `${view.result ? 'settled' : ''} ${state.selected === key ? 'selected' : ''}`,
      },
      el('td', {}, entry.scope),
      el('td', {}, el('button', { type: 'button', className: 'link', title: 'show records', onclick: () => showRecords(entry) }, view.id)),
      el('td', {}, view.title || ''),
      el('td', {}, progressCell(view)),
      el('td', {}, view.uploadTotal ? `${formatBytes(view.uploaded)} of ${formatBytes(view.uploadTotal)}` : '–'),
      el('td', {}, pill(view.failureReason ? `${result}: ${view.failureReason}` : result, view.failureReason || result),
        released ? [' ', pill('records released', 'released')] : []),
      el('td', { className: 'actions' },
        el('button', { type: 'button', disabled: released, onclick: () => showRecords(entry) }, 'records'), ' ',
        el('button', { type: 'button', className: 'danger abort', disabled: Boolean(view.result), onclick: () => act(entry, 'abort') }, 'abort'), ' ',
        el('button', { type: 'button', className: 'danger release', disabled: released, onclick: () => act(entry, 'release') }, 'release')));
    });
  $('#registrations tbody').replaceChildren(...rows);
  $('#no-registrations').hidden = rows.length > 0;
  $('#registration-count').textContent = `${[...state.registrations.values()].filter((e) => !e.view.result).length} active`;
  if (state.selected) refreshRecords();
}

async function act(entry, action) {
  try {
    if (action === 'abort') {
      await api(registrationPath(entry.scope, entry.view.id, '/abort'), { method: 'POST' });
    } else if (confirm(`Release ${entry.scope}/${entry.view.id}? Its records are deleted.`)) {
      await api(registrationPath(entry.scope, entry.view.id), { method: 'DELETE' });
      forget(keyOf(entry.scope, entry.view.id));
      if (state.selected === keyOf(entry.scope, entry.view.id)) { state.selected = null; $('#records-section').hidden = true; }
    }
  } catch (error) {
    $('#status').textContent = error.message;
  }
  renderRegistrations();
}

function showRecords(entry) {
  state.selected = keyOf(entry.scope, entry.view.id);
  $('#records-title').textContent = `${entry.scope} / ${entry.view.id}`;
  $('#records-section').hidden = false;
  renderRegistrations();
}

let recordsBusy = false;
async function refreshRecords() {
  const entry = state.registrations.get(state.selected);
  if (!entry || recordsBusy) return;
  recordsBusy = true;
  try {
    const body = await api(registrationPath(entry.scope, entry.view.id, '/records'));
    $('#records tbody').replaceChildren(...body.records.map((r) => el('tr', { 'data-index': r.index },
      el('td', {}, r.index), el('td', {}, r.request.method), el('td', { className: 'url' }, r.request.url),
      el('td', {}, pill(r.state)), el('td', {}, r.response?.status ?? '–'), el('td', {}, r.response ? formatBytes(r.response.size) : '–'))));
  } catch (error) {
    $('#records tbody').replaceChildren(el('tr', {}, el('td', { colspan: 6, className: 'muted' }, error.message)));
  } finally {
    recordsBusy = false;
  }
}

async function refresh() {
  if (state.needsKey) return;
  try {
    const [cluster, sharding, registrations] = await Promise.all([
      api('/v1/admin/cluster'), api('/v1/admin/sharding'), api('/v1/admin/registrations'),
    ]);
    renderCluster(cluster);
    renderSharding(sharding);
    mergeRegistrations(registrations.registrations);
    renderRegistrations();
    $('#status').textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    if (error instanceof Unauthorized) askForKey();
    else $('#status').textContent = `error: ${error.message}`;
  }
}

refresh();
setInterval(refresh, POLL_MS);
