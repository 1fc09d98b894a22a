import { allow, defer, type Policy } from '../policy.js';

/**
 * In Low Power Mode (the OS's power saver) background tasks wait, as on iOS, and running processing tasks
 * expire. Continued processing tasks do not: a person started them and watches them.
 */
export const lowPowerModePolicy: Policy = {
  name: 'lowPowerMode',
  scope: 'request',
  discretionary: true,
  enforcedWhileRunning: true,
  evaluate({ request, conditions, options }) {
    if (!conditions.lowPowerMode || !options.lowPowerModeDefers || request.kind === 'continued')
      return allow(this.name);
    return defer(this.name, {
      reason: 'lowPowerMode',
      message: 'the device is in Low Power Mode',
      waitsFor: 'conditions',
      unblockedBy: 'Low Power Mode is turned off',
    });
  },
};
