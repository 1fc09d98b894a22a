import { allow, defer, isoTime, type Policy } from '../policy.js';

/**
 * After a failed launch (the command exited, or never connected) the app is not launched again until a
 * backoff passes; the wait doubles with each failure. An app that is already connected is not affected.
 */
export const launchBackoffPolicy: Policy = {
  name: 'launchBackoff',
  scope: 'app',
  evaluate({ app, now }) {
    if (app.connected || app.launchBackoffUntil === null || app.launchBackoffUntil <= now) return allow(this.name);
    return defer(this.name, {
      reason: 'launchBackoff',
      message: `the app failed to launch; the next try is at ${isoTime(app.launchBackoffUntil)}`,
      waitsFor: 'time',
      until: app.launchBackoffUntil,
      unblockedBy: `the backoff ends at ${isoTime(app.launchBackoffUntil)}`,
    });
  },
};
