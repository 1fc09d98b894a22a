import { allow, deny, isoTime, type Policy } from '../policy.js';

/**
 * iOS's rule: an app the user has not opened for a week gets no processing time. The window is
 * `recentUseWindowMs` (0 turns the rule off, as the server profile does). Installing counts as opening.
 */
export const recentUsePolicy: Policy = {
  name: 'recentUse',
  scope: 'request',
  discretionary: true,
  evaluate({ request, app, now, options }) {
    const window = options.recentUseWindowMs;
    if (request.kind !== 'processing' || window === 0 || app.connected || now - app.lastOpenedAt <= window)
      return allow(this.name);
    return deny(this.name, {
      reason: 'appNotRecentlyUsed',
      message:
        `the user has not opened the app since ${isoTime(app.lastOpenedAt)}, and ` +
        `processing time goes only to apps opened in the last ` +
        `${Math.round((window / 86_400_000) * 10) / 10} days`,
      unblockedBy: 'the user opens the app',
    });
  },
};
