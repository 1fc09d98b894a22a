import { allow, defer, type Policy } from '../policy.js';

/**
 * On battery, a critically low charge stops every task and a low charge stops processing tasks. A
 * processing task that is running when the charge drops below the threshold is expired.
 */
export const batteryPolicy: Policy = {
  name: 'battery',
  scope: 'request',
  discretionary: true,
  enforcedWhileRunning: true,
  evaluate({ request, conditions, options }) {
    const level = conditions.batteryLevel;
    if (conditions.power !== 'battery' || level === null) return allow(this.name);
    if (level <= options.criticalBatteryLevel) {
      return defer(this.name, {
        reason: 'criticalBattery',
        message: `the battery is critically low (${level}%, criticalBatteryLevel is ${options.criticalBatteryLevel}%)`,
        waitsFor: 'conditions',
        unblockedBy: `the device connects to power or the battery charges above ${options.criticalBatteryLevel}%`,
      });
    }
    if (request.kind === 'processing' && level < options.lowBatteryLevel) {
      return defer(this.name, {
        reason: 'lowBattery',
        message: `the battery is low (${level}%, processing waits below lowBatteryLevel ${options.lowBatteryLevel}%)`,
        waitsFor: 'conditions',
        unblockedBy: `the device connects to power or the battery charges to ${options.lowBatteryLevel}%`,
      });
    }
    return allow(this.name);
  },
};
