/* global document, window, ResizeObserver */
// The dashboard: every snapshot the daemon streams is drawn into the sections below. Sections update in
// place (keyed), so nothing jumps and focus stays where the person left it.
import { api, follow } from './api.js';
import { renderApps } from './apps.js';
import { renderChains } from './chains.js';
import { renderConditions } from './conditions.js';
import { renderFleet } from './fleet.js';
import { renderNotifications } from './notifications.js';
import { setText } from './dom.js';
import { clockSeconds } from './format.js';
import { renderPending, renderQueue } from './requests.js';
import { renderRunning } from './running.js';
import { renderTimeline } from './timeline.js';

const $ = (id) => document.getElementById(id);
let latest = null;

function render(snapshot) {
  latest = snapshot;
  document.body.dataset.state = 'ready';
  setText(
    $('daemon-info'),
    `Daemon ${snapshot.daemonVersion} · ${snapshot.profile} profile · updated ` + `${clockSeconds(snapshot.at)}`,
  );
  renderConditions($('conditions'), snapshot);
  renderRunning($('running'), snapshot);
  renderNotifications($('notifications'), snapshot, refresh);
  renderQueue($('queue'), snapshot);
  renderPending($('pending'), snapshot);
  renderChains($('chains'), snapshot);
  renderTimeline($('history'), snapshot);
  renderFleet($('fleet'), snapshot);
  renderApps($('apps'), snapshot, refresh);
  const running = snapshot.running.length;
  document.title = running ? `(${running}) Background Tasks` : 'Background Tasks';
}

/** After the person changes something: draw the result now rather than at the next streamed picture. */
function refresh() {
  api.snapshot().then(render, () => undefined);
}

const LIVE_WORDS = { live: 'Live', reconnecting: 'Reconnecting…', signedOut: 'Signed out' };

function setLive(state) {
  $('live').dataset.state = state;
  setText($('live-text'), LIVE_WORDS[state] ?? state);
  const banner = $('banner');
  banner.hidden = state === 'live';
  if (state === 'signedOut')
    setText(
      banner,
      'This page’s key is no longer valid: the daemon restarted. Run `bgtasks ' + 'dashboard` to open it again.',
    );
  else if (state === 'reconnecting') setText(banner, 'The daemon is not answering. Trying again…');
}

follow({ onSnapshot: render, onState: setLive });

// The chart is drawn at the plot's pixel width: draw again when it changes.
let resizeFrame = 0;
new ResizeObserver(() => {
  window.cancelAnimationFrame(resizeFrame);
  resizeFrame = window.requestAnimationFrame(() => latest && renderTimeline($('history'), latest));
}).observe(document.querySelector('#history .timeline-plot'));
