import { allow, defer, type Policy } from '../policy.js';

/** A request with `requiresExternalPower` waits while the device runs on battery. Unknown counts as AC. */
export const externalPowerPolicy: Policy = {
  name: 'externalPower',
  scope: 'request',
  discretionary: true,
  enforcedWhileRunning: true,
  evaluate({ request, conditions }) {
    if (!request.requiresExternalPower || conditions.power !== 'battery') return allow(this.name);
    return defer(this.name, {
      reason: 'requiresExternalPower',
      message: 'it requires external power and the device is on battery',
      waitsFor: 'conditions',
      unblockedBy: 'the device connects to external power',
    });
  },
};
