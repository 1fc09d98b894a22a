import type { Policy } from '../policy.js';
import { appEnabledPolicy } from './appEnabled.js';
import { backgroundProcessesPolicy } from './backgroundProcesses.js';
import { batteryPolicy } from './battery.js';
import { budgetPolicy } from './budget.js';
import { appConcurrencyPolicy, systemConcurrencyPolicy } from './concurrency.js';
import { continuedQueuePolicy, requiredResourcesPolicy } from './continued.js';
import { dependenciesPolicy } from './dependencies.js';
import { deviceIdlePolicy } from './deviceIdle.js';
import { earliestBeginDatePolicy } from './earliestBeginDate.js';
import { externalPowerPolicy } from './externalPower.js';
import { fileTriggerPolicy } from './fileTrigger.js';
import { forceQuitPolicy } from './forceQuit.js';
import { identifierRunningPolicy } from './identifierRunning.js';
import { launchBackoffPolicy } from './launchBackoff.js';
import { lowPowerModePolicy } from './lowPowerMode.js';
import { networkConnectivityPolicy } from './networkConnectivity.js';
import { recentUsePolicy } from './recentUse.js';
import { systemPressurePolicy, thermalPolicy } from './systemLoad.js';
import { throttlePolicy } from './throttle.js';

export {
  appEnabledPolicy,
  continuedQueuePolicy,
  requiredResourcesPolicy,
  appConcurrencyPolicy,
  backgroundProcessesPolicy,
  batteryPolicy,
  budgetPolicy,
  dependenciesPolicy,
  deviceIdlePolicy,
  earliestBeginDatePolicy,
  externalPowerPolicy,
  fileTriggerPolicy,
  forceQuitPolicy,
  identifierRunningPolicy,
  launchBackoffPolicy,
  lowPowerModePolicy,
  networkConnectivityPolicy,
  recentUsePolicy,
  systemConcurrencyPolicy,
  systemPressurePolicy,
  thermalPolicy,
  throttlePolicy,
};

/**
 * The policies in the order they are asked: the user's intent first, then budgets, then the device's
 * conditions, then capacity. Every one is asked when explaining (`bgtasks why`), so a person sees all
 * the factors, not only the first; when scheduling, the first blocker decides.
 */
export const DEFAULT_POLICIES: readonly Policy[] = [
  earliestBeginDatePolicy,
  dependenciesPolicy,
  fileTriggerPolicy,
  appEnabledPolicy,
  forceQuitPolicy,
  requiredResourcesPolicy,
  recentUsePolicy,
  throttlePolicy,
  budgetPolicy,
  batteryPolicy,
  lowPowerModePolicy,
  externalPowerPolicy,
  networkConnectivityPolicy,
  deviceIdlePolicy,
  systemPressurePolicy,
  thermalPolicy,
  launchBackoffPolicy,
  backgroundProcessesPolicy,
  identifierRunningPolicy,
  continuedQueuePolicy,
  appConcurrencyPolicy,
  systemConcurrencyPolicy,
];
