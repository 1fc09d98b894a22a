import { allow, defer, type Policy } from '../policy.js';

/**
 * After a failed launch (the command exited, or never connected) the app is not launched again until a
 * backoff passes; the wait doubles with each failure. An app that is already connected is not affected.
 */
export const launchBackoffPolicy: Policy = {
  name: 'launchBackoff',
  scope: 'app',
  evaluate({ app, now }) {
    if (app.connected || app.launchBackoffUntil === null || app.launchBackoffUntil <= now) return allow(this.name);
    return defer(
      this.name,
      'launchBackoff',
      `the app failed to launch; the next try is at ${new Date(app.launchBackoffUntil).toISOString()}`,
      'time',
      app.launchBackoffUntil,
    );
  },
};
