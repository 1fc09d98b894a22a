// Words and numbers for people: durations, times, reason codes and outcomes.

export function duration(ms) {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function remaining(ms) {
  if (ms === null || ms === undefined) return null;
  if (ms < 5000) return 'almost done';
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `about ${seconds} s left`;
  const minutes = Math.round(seconds / 60);
  return minutes < 60 ? `about ${minutes} min left` : `about ${Math.floor(minutes / 60)} h ${minutes % 60} min left`;
}

export function clock(at) {
  return new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export function clockSeconds(at) {
  return new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** Every time on the page is written this way: the clock for today, with the day in front for another day. */
export function when(at, now = Date.now()) {
  const date = new Date(at);
  if (date.toDateString() === new Date(now).toDateString()) return clock(at);
  return `${date.toLocaleDateString([], { weekday: 'short', day: 'numeric', month: 'short' })}, ${clock(at)}`;
}

const ISO_TIME = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?Z\b/g;

/** The daemon's messages carry ISO times (for logs and scripts); the page writes them as it writes every time. */
export function withPageTimes(text, now = Date.now()) {
  return String(text).replace(ISO_TIME, (iso) => when(Date.parse(iso), now));
}

export function relative(at, now) {
  const delta = at - now;
  if (Math.abs(delta) < 5000) return 'now';
  const text = duration(Math.abs(delta)).replace(/ \d+ s$/, '');
  return delta > 0 ? `in ${text}` : `${text} ago`;
}

/** What holds a request, in a few words; the daemon's message says the rest. */
const REASONS = {
  earliestBeginDate: 'Not due yet',
  appDisabled: 'Switched off for the app',
  backgroundAppRefreshOff: 'Background App Refresh off',
  forceQuit: 'App was force-quit',
  appNotRecentlyUsed: 'App not used lately',
  throttled: 'App throttled',
  launchBudgetExhausted: 'Launch budget used',
  backgroundTimeBudgetExhausted: 'Time budget used',
  cpuBudgetExhausted: 'CPU budget used',
  criticalBattery: 'Battery critical',
  lowBattery: 'Battery low',
  lowPowerMode: 'Low Power Mode',
  requiresExternalPower: 'Needs power',
  requiresNetworkConnectivity: 'Needs network',
  requiresUnmeteredNetwork: 'Needs unmetered network',
  userActive: 'You are using the machine',
  userRecentlyActive: 'You were just active',
  cpuPressure: 'CPU busy',
  memoryPressure: 'Memory pressure',
  ioPressure: 'Disk busy',
  thermalState: 'Too warm',
  launchBackoff: 'Last launch failed',
  backgroundProcessLimit: 'Too many apps in background',
  identifierRunning: 'Already running',
  appConcurrencyLimit: 'App at its task limit',
  systemConcurrencyLimit: 'System busy',
  continuedQueue: 'In line',
  resourceUnavailable: 'Hardware missing',
};

export function reasonLabel(code) {
  return REASONS[code] ?? code.replace(/([A-Z])/g, ' $1').replace(/^./, (c) => c.toUpperCase());
}

/** Timeline colours: what happened to a run, in five groups a person tells apart. */
/**
 * Stops for pressure (src/engine/policies/pressureStop.ts, PRESSURE_STOP_REASONS; this page is plain
 * JavaScript, so the words are repeated here): not "ran out of time".
 */
const PRESSURE_STOPS = {
  machineNeededCpu: 'stopped: the machine needed its CPU',
  machineNeededMemory: 'stopped: the machine needed its memory',
  machineNeededIo: 'stopped: the machine needed its disk',
  machineTooHot: 'stopped: the machine was too hot',
  systemPressure: 'stopped: the machine needed its memory',
};

export function outcomeGroup(run) {
  if (run.expirationReason === 'userCancelled') return 'cancelled';
  if (PRESSURE_STOPS[run.expirationReason] && run.outcome !== 'success') return 'pressure';
  switch (run.outcome) {
    case 'success':
      return 'success';
    case 'expired':
    case 'terminatedAfterExpiration':
      return 'expired';
    case 'interrupted':
    case 'appExited':
      return 'stopped';
    default:
      return 'failure';
  }
}

export const OUTCOME_GROUPS = [
  ['success', 'Completed'],
  ['failure', 'Failed'],
  ['expired', 'Ran out of time'],
  ['cancelled', 'Cancelled'],
  ['pressure', 'Stopped: the machine needed it'],
  ['stopped', 'Interrupted'],
  ['running', 'Running'],
];

export function outcomeLabel(run) {
  if (run.expirationReason === 'userCancelled') return 'cancelled by you';
  if (PRESSURE_STOPS[run.expirationReason] && run.outcome !== 'success') return PRESSURE_STOPS[run.expirationReason];
  const words = {
    success: 'completed',
    failure: 'failed',
    expired: `expired (${run.expirationReason ?? 'time limit'})`,
    terminatedAfterExpiration: 'stopped after expiring',
    noHandler: 'no handler',
    interrupted: 'interrupted',
    appExited: 'app exited',
    launchFailed: 'launch failed',
  };
  return words[run.outcome] ?? String(run.outcome);
}

export const KIND_LABELS = { continued: 'Continued', processing: 'Processing', refresh: 'Refresh' };

/** The app's short name: the last part of its reverse-DNS id. */
export function shortName(appId) {
  const last = appId.split('.').pop() || appId;
  return last.charAt(0).toUpperCase() + last.slice(1);
}

/** A stable hue per app, so an app has one colour in every section. */
export function appHue(appId) {
  let hash = 0;
  for (const char of appId) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return hash % 360;
}
