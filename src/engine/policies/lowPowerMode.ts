import { allow, defer, type Policy } from '../policy.js';

/** In Low Power Mode (the OS's power saver) background tasks wait, as on iOS. Running processing tasks expire. */
export const lowPowerModePolicy: Policy = {
  name: 'lowPowerMode',
  scope: 'request',
  enforcedWhileRunning: true,
  evaluate({ conditions, options }) {
    if (!conditions.lowPowerMode || !options.lowPowerModeDefers) return allow(this.name);
    return defer(this.name, {
      reason: 'lowPowerMode',
      message: 'the device is in Low Power Mode',
      waitsFor: 'conditions',
      unblockedBy: 'Low Power Mode is turned off',
    });
  },
};
