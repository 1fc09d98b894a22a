/* global window, EventSource */
// The page's side of the API. The session is the HttpOnly cookie the token link set, so requests carry
// no token themselves (same-origin fetch and EventSource send the cookie).

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

async function call(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'unreachable', 'The daemon is not answering.');
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = data.error ?? {};
    throw new ApiError(
      response.status,
      error.code ?? 'httpError',
      error.message ?? `HTTP ${response.status}`,
      error.field,
    );
  }
  return data;
}

export const api = {
  snapshot: () => call('GET', '/v1/snapshot'),
  cancelTask: (taskId) => call('POST', `/v1/tasks/${encodeURIComponent(taskId)}/cancel`),
  cancelQueued: (appId, identifier) =>
    call('POST', `/v1/apps/${encodeURIComponent(appId)}/queue/${encodeURIComponent(identifier)}/cancel`),
  setAppEnabled: (appId, enabled) =>
    call('POST', `/v1/apps/${encodeURIComponent(appId)}/${enabled ? 'enable' : 'disable'}`),
  setGlobalSwitch: (enabled) => call('POST', '/v1/switch', { enabled }),
  setNotifications: (appId, allowed) =>
    call('POST', `/v1/apps/${encodeURIComponent(appId)}/notifications`, { allowed }),
  chooseAction: (notificationId, actionId) =>
    call('POST', `/v1/notifications/${encodeURIComponent(notificationId)}/actions/${encodeURIComponent(actionId)}`),
};

/**
 * Follows `/v1/events`. `onState` hears 'live', 'reconnecting' or 'signedOut'. The browser retries a
 * dropped stream by itself; a refused one (401 after the daemon restarted with a new token) it does not,
 * so the snapshot endpoint tells which it was and the stream is reopened unless the key is stale.
 */
export function follow({ onSnapshot, onState }) {
  let source = null;
  let retry = null;
  const open = () => {
    source = new EventSource('/v1/events');
    source.addEventListener('open', () => onState('live'));
    source.addEventListener('snapshot', (event) => onSnapshot(JSON.parse(event.data)));
    source.addEventListener('error', () => {
      if (source.readyState !== EventSource.CLOSED) return onState('reconnecting');
      source.close();
      api.snapshot().then(
        (snapshot) => {
          onSnapshot(snapshot);
          schedule();
        },
        (error) => {
          if (error.status === 401) onState('signedOut');
          else {
            onState('reconnecting');
            schedule();
          }
        },
      );
    });
  };
  const schedule = () => {
    window.clearTimeout(retry);
    retry = window.setTimeout(open, 3000);
  };
  open();
}
