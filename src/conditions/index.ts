/** Device conditions: platform sensors, overrides, and the merged {@link DeviceConditions} source. */
export {
  DeviceConditions,
  DEFAULT_EVENT_DEBOUNCE_MS,
  DEFAULT_POLL_INTERVAL_MS,
  MIN_POLL_INTERVAL_MS,
  type DeviceConditionsOptions,
} from './deviceConditions.js';
export {
  ConditionsInputError,
  conditionOverridesSchema,
  parseConditionAssignments,
  VALID_CONDITION_ASSIGNMENTS,
  type ConditionOverrides,
  type OverridableCondition,
} from './overrides.js';
export {
  createGenericSensors,
  createLinuxSensors,
  createSystemSensors,
  LINUX_MATCH_RULES,
  type LinuxSensorsOptions,
  type SensorRoots,
  type Sensors,
} from './sensors.js';
export { readLinuxPower, type LinuxPowerReading } from './linuxPower.js';
export { readLinuxNetwork } from './linuxNetwork.js';
export {
  PRESSURE_THRESHOLDS,
  readLinuxPressure,
  type PressureReading,
  type PressureThresholds,
} from './linuxPressure.js';
export {
  ABSOLUTE_THRESHOLDS_MC,
  CRITICAL_TRIP_MARGIN_MC,
  readLinuxThermal,
  THROTTLE_TRIP_MARGIN_MC,
} from './linuxThermal.js';
export { readLinuxLowPowerMode, readPlatformProfile, readPowerProfilesDaemon } from './linuxLowPower.js';
export { readNetworkCost } from './networkManager.js';
export { readSeats, readUserActivity, type UserActivityReading } from './linuxSession.js';
export {
  IP_MONITOR,
  startLineMonitor,
  UDEV_POWER_MONITOR,
  type LineMonitorSpec,
  type SpawnMonitor,
} from './eventMonitors.js';
export { SystemBus, type BusClient, type PropertyReader, type SystemBusOptions } from './systemBus.js';
export {
  activityFromIdleTime,
  createDarwinSensors,
  DARWIN_IDLE_AFTER_MS,
  parseHidIdleTime,
  parsePmsetBatt,
  parsePmsetLowPowerMode,
  parsePmsetTherm,
  PMSET_TIMEOUT_MS,
  readInterfacesNetwork,
  readNetworkFrom,
  runCommand,
  runPmsetBatt,
  type DarwinSensorsOptions,
  type InterfaceTable,
  type PmsetBattReading,
} from './darwinSensors.js';
