/** Retry with backoff for runs that end unsuccessfully. */
import type { RetryPolicy, TaskOutcome } from './types.js';
import { cappedBackoff } from './backoff.js';

/** Outcomes that count as unsuccessful: the task ran (or should have) and did not finish its work. */
export const RETRYABLE_OUTCOMES: ReadonlySet<TaskOutcome> = new Set([
  'failure',
  'expired',
  'terminatedAfterExpiration',
  'appExited',
]);

/**
 * The delay before attempt `attempt + 1`, after `attempt` failed: exponential (initial, 2x, 4x, ...) or
 * linear (initial, 2x, 3x, ...), capped at `maxDelay`, with "equal jitter": half fixed, half random, so
 * many apps failing together do not retry together.
 *
 * @param random a number in [0, 1); injected so tests are deterministic.
 */
export function retryDelay(policy: RetryPolicy, attempt: number, random: number): number {
  const steps = Math.max(0, attempt - 1);
  const capped =
    policy.backoff === 'exponential'
      ? cappedBackoff(policy.initialDelay, policy.maxDelay, steps)
      : Math.min(policy.maxDelay, policy.initialDelay * (steps + 1));
  return Math.round(capped / 2 + (capped / 2) * random);
}
