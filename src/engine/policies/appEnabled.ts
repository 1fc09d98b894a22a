import { allow, deny, type Policy } from '../policy.js';

/**
 * Background App Refresh, per app and for all apps: a switched-off app's requests stay pending but never
 * run until it is switched on again (and new submissions get `unavailable`).
 */
export const appEnabledPolicy: Policy = {
  name: 'appEnabled',
  scope: 'app',
  evaluate({ app, backgroundAppRefresh }) {
    if (!backgroundAppRefresh) {
      return deny(this.name, {
        reason: 'backgroundAppRefreshOff',
        message: 'Background App Refresh is off for all apps',
        unblockedBy: 'the user runs `bgtasks apps enable --all`',
      });
    }
    if (app.enabled) return allow(this.name);
    return deny(this.name, {
      reason: 'appDisabled',
      message: 'Background App Refresh is off for the app',
      unblockedBy: 'the user runs `bgtasks apps enable APP`',
    });
  },
};
