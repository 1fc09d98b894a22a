/**
 * Capped exponential backoff, the one formula behind every "wait longer after each failure" in bgtasks:
 * retries of failed runs, push redeliveries, throttles after overruns, app launches that fail, store
 * writes while the disk refuses them, and the fleet's wake-up connection.
 *
 * @param initialMs the wait after the first failure (`step` 0)
 * @param maxMs no wait is longer than this
 * @param step failures before this one: 0 waits `initialMs`, 1 twice that, 2 four times, ...; the
 *   exponent stops at 40 so the product stays a finite number
 */
export function cappedBackoff(initialMs: number, maxMs: number, step: number): number {
  return Math.min(maxMs, initialMs * 2 ** Math.min(Math.max(0, step), 40));
}
