import { allow, deny, isoTime, type Policy } from '../policy.js';

/**
 * After the user force-quits an app (`bgtasks quit APP`, or killing a process they opened), it is not
 * launched in the background until the user opens it again, as on iOS. Work for a process that is still
 * connected is not affected.
 */
export const forceQuitPolicy: Policy = {
  name: 'forceQuit',
  scope: 'app',
  evaluate({ app }) {
    if (app.forceQuitAt === null || app.connected) return allow(this.name);
    return deny(this.name, {
      reason: 'forceQuit',
      message: `the user force-quit the app at ${isoTime(app.forceQuitAt)}`,
      unblockedBy: 'the user opens the app (`bgtasks open APP`, or starting it)',
    });
  },
};
