/** Device conditions: platform sensors, overrides, and the merged {@link DeviceConditions} source. */
export {
  DeviceConditions,
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
  type SensorRoots,
  type Sensors,
} from './sensors.js';
export { readLinuxPower, type LinuxPowerReading } from './linuxPower.js';
export { readLinuxNetwork } from './linuxNetwork.js';
export {
  createDarwinSensors,
  parsePmsetBatt,
  PMSET_TIMEOUT_MS,
  readInterfacesNetwork,
  readNetworkFrom,
  runPmsetBatt,
  type DarwinSensorsOptions,
  type InterfaceTable,
  type PmsetBattReading,
} from './darwinSensors.js';
