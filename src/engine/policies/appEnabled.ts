import { allow, defer, type Policy } from '../policy.js';

/** A disabled app's requests stay pending but never run until it is enabled again. */
export const appEnabledPolicy: Policy = {
  name: 'appEnabled',
  scope: 'app',
  evaluate({ app }) {
    if (app.enabled) return allow(this.name);
    return defer(this.name, 'appDisabled', 'the app is disabled (`bgtasks apps enable APP` turns it back on)', 'conditions');
  },
};
