import { allow, defer, isoTime, type Policy } from '../policy.js';

/**
 * Processing tasks wait for an idle device: no user input for `deviceIdleRequiredMs`. A machine with no
 * seat (a headless box) is idle; `unknown` counts as idle, since waiting for a signal that never comes
 * would starve the work. A running processing task is expired when the user becomes active.
 */
export const deviceIdlePolicy: Policy = {
  name: 'deviceIdle',
  scope: 'request',
  discretionary: true,
  enforcedWhileRunning: true,
  evaluate({ request, conditions, now, options }) {
    const required = options.deviceIdleRequiredMs;
    if (request.kind !== 'processing' || required === 0) return allow(this.name);
    if (conditions.userActivity === 'active') {
      return defer(this.name, {
        reason: 'userActive',
        message: 'processing tasks wait for an idle device and the user is active',
        waitsFor: 'conditions',
        unblockedBy: `the user has been away for ${Math.round(required / 1000)} s`,
      });
    }
    const since = conditions.userActivity === 'idle' ? conditions.idleSince : null;
    if (since !== null && since + required > now) {
      return defer(this.name, {
        reason: 'userRecentlyActive',
        message:
          `the user was active until ${isoTime(since)}; processing waits for ` +
          `${Math.round(required / 1000)} s of idleness`,
        waitsFor: 'time',
        until: since + required,
        unblockedBy: `the user stays away until ${isoTime(since + required)}`,
      });
    }
    return allow(this.name);
  },
};
