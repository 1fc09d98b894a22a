// Installed apps with their Background App Refresh switches, and the global switch above them (as in
// Settings › General › Background App Refresh).
import { api } from './api.js';
import { h, reconcile, setAttr, setText, switchButton, toast } from './dom.js';
import { when } from './format.js';
import { avatar } from './running.js';

const refs = new WeakMap();

export function renderApps(section, snapshot, refresh) {
  const global = section.querySelector('#global-switch');
  if (!global.dataset.wired) {
    global.dataset.wired = 'true';
    global.addEventListener('click', () =>
      toggle(
        global,
        global.getAttribute('aria-checked') !== 'true',
        (enabled) => api.setGlobalSwitch(enabled),
        refresh,
      ),
    );
  }
  syncSwitch(global, snapshot.backgroundAppRefresh);
  section.classList.toggle('refresh-off', !snapshot.backgroundAppRefresh);
  setText(
    section.querySelector('.global-note'),
    snapshot.backgroundAppRefresh
      ? 'Apps may run work in the background when the system allows.'
      : 'Off for every app: no background work runs, and new requests are refused.',
  );
  reconcile(
    section.querySelector('.app-list'),
    snapshot.apps,
    (app) => app.appId,
    (app) => createRow(app, refresh),
    (row, app) => updateRow(row, app, snapshot.backgroundAppRefresh),
  );
  setText(section.querySelector('.count'), snapshot.apps.length ? String(snapshot.apps.length) : '');
  section.classList.toggle('is-empty', snapshot.apps.length === 0);
}

function createRow(app, refresh) {
  const name = h('span', { class: 'app-name' });
  const detail = h('span', { class: 'app-detail' });
  const toggleButton = switchButton(`Background App Refresh for ${app.appId}`, (enabled, button) =>
    toggle(button, enabled, (on) => api.setAppEnabled(app.appId, on), refresh),
  );
  const warning = h('p', { class: 'app-warning', role: 'note', hidden: '' });
  const row = h(
    'li',
    { class: 'app' },
    avatar(app.appId),
    h('div', { class: 'app-body' }, name, detail, warning),
    toggleButton,
  );
  refs.set(row, { name, detail, warning, toggle: toggleButton });
  return row;
}

function updateRow(row, app, globalOn) {
  const r = refs.get(row);
  setText(r.name, app.appId);
  const launches = app.usage?.launches;
  const plural = (n) => `launch${n === 1 ? '' : 'es'}`;
  const budget = launches
    ? launches.limit === null
      ? `${launches.used} background ${plural(launches.used)} today`
      : `${launches.used} of ${Math.round(launches.limit)} background launches today`
    : null;
  const state = app.usage?.forceQuitAt
    ? 'force-quit'
    : app.usage?.throttledUntil
      ? 'throttled'
      : app.connected
        ? 'open'
        : 'not running';
  const pushes = app.pushes?.held
    ? `${app.pushes.held} push${app.pushes.held === 1 ? '' : 'es'} held until you ` + `open it`
    : app.pushes?.waiting
      ? `${app.pushes.waiting} push${app.pushes.waiting === 1 ? '' : 'es'} waiting`
      : null;
  const notices =
    app.notifications === 'granted' ? 'notifications on' : app.notifications === 'denied' ? 'notifications off' : null;
  setText(
    r.detail,
    [
      state,
      app.running ? `${app.running} running` : null,
      app.pending ? `${app.pending} pending` : null,
      pushes,
      budget,
      notices,
    ]
      .filter(Boolean)
      .join(' · '),
  );
  // A refresh that ran once and will not run again (src/engine/ranOnce.ts), with the fix.
  const ranOnce = app.ranOnce ?? [];
  r.warning.hidden = ranOnce.length === 0;
  setText(
    r.warning,
    ranOnce
      .map((warning) => `⚠ ${warning.message} (last run ${when(warning.lastRunAt)}). Fix: ` + `${warning.fix}.`)
      .join(' '),
  );
  syncSwitch(r.toggle, app.enabled);
  // The global switch overrides each app's: theirs are kept but cannot act while it is off.
  r.toggle.disabled = !globalOn || r.toggle.dataset.busy === 'true';
  setAttr(r.toggle, 'aria-describedby', globalOn ? null : 'global-note');
  row.classList.toggle('is-disabled', !app.enabled);
}

/** The snapshot is the truth, except while the person's own change is on its way. */
function syncSwitch(button, on) {
  if (button.dataset.busy === 'true') return;
  setAttr(button, 'aria-checked', on ? 'true' : 'false');
}

async function toggle(button, enabled, send, refresh) {
  button.dataset.busy = 'true';
  button.disabled = true;
  setAttr(button, 'aria-checked', enabled ? 'true' : 'false');
  try {
    await send(enabled);
  } catch (error) {
    setAttr(button, 'aria-checked', enabled ? 'false' : 'true');
    toast(`Could not switch Background App Refresh ${enabled ? 'on' : 'off'}: ${error.message}`);
  } finally {
    delete button.dataset.busy;
    button.disabled = false;
    refresh();
  }
}
