import type { Policy } from '../policy.js';
import { appEnabledPolicy } from './appEnabled.js';
import { appConcurrencyPolicy, systemConcurrencyPolicy } from './concurrency.js';
import { earliestBeginDatePolicy } from './earliestBeginDate.js';
import { externalPowerPolicy } from './externalPower.js';
import { identifierRunningPolicy } from './identifierRunning.js';
import { launchBackoffPolicy } from './launchBackoff.js';
import { networkConnectivityPolicy } from './networkConnectivity.js';

export {
  appEnabledPolicy,
  appConcurrencyPolicy,
  systemConcurrencyPolicy,
  earliestBeginDatePolicy,
  externalPowerPolicy,
  identifierRunningPolicy,
  launchBackoffPolicy,
  networkConnectivityPolicy,
};

/**
 * The policies in the order they are asked. Every one is asked when explaining (`bgtasks why`), so a
 * person sees all the factors, not only the first; when scheduling, the first deferral decides.
 */
export const DEFAULT_POLICIES: readonly Policy[] = [
  earliestBeginDatePolicy,
  appEnabledPolicy,
  externalPowerPolicy,
  networkConnectivityPolicy,
  launchBackoffPolicy,
  identifierRunningPolicy,
  appConcurrencyPolicy,
  systemConcurrencyPolicy,
];
