import { allow, defer, isoTime, type Policy } from '../policy.js';

/**
 * An app that overran a deadline (expired at its time limit, or killed after the grace period) is
 * throttled for `throttleMs`, doubling with each offence within a day, as iOS does; then forgiven.
 * An app the user has in the foreground is not throttled.
 */
export const throttlePolicy: Policy = {
  name: 'throttle',
  scope: 'app',
  discretionary: true,
  evaluate({ app, now }) {
    if (app.inForeground || app.throttledUntil === null || app.throttledUntil <= now) return allow(this.name);
    return defer(this.name, {
      reason: 'throttled',
      message: `the app overran its deadlines and is throttled until ${isoTime(app.throttledUntil)}`,
      waitsFor: 'time',
      until: app.throttledUntil,
      unblockedBy: `the throttle ends at ${isoTime(app.throttledUntil)}`,
    });
  },
};
