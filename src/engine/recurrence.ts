/**
 * Periodic refresh: the arithmetic of periods. Period `n` of a recurrence begins at
 * `anchorAt + n * intervalMs`. A run counts for the period in which it starts; the next request is for
 * the period after that, so a run that starts late never makes two runs in one period, and a wall-clock
 * jump back never makes a period run twice (periods only move forward).
 */
import type { Recurrence, TaskRequest } from './types.js';

export function periodStart(recurrence: Recurrence, period: number): number {
  return recurrence.anchorAt + period * recurrence.intervalMs;
}

/** The period that contains `now` (never before the request's own period). */
export function currentPeriod(recurrence: Recurrence, now: number): number {
  const elapsed = Math.floor((now - recurrence.anchorAt) / recurrence.intervalMs);
  return Math.max(recurrence.period, elapsed);
}

/** Periods from the request's own up to (not including) `upTo`: the ones that ended with no run. */
export function missedPeriods(recurrence: Recurrence, upTo: number): number[] {
  const missed: number[] = [];
  for (let period = recurrence.period; period < upTo; period++) missed.push(period);
  return missed;
}

/** The same request moved to a later period (same requestId: it is still the same wish). */
export function movedToPeriod(request: TaskRequest, period: number): TaskRequest {
  const recurrence = { ...request.recurrence!, period };
  return { ...request, recurrence, earliestBeginAt: periodStart(recurrence, period) };
}

/** The request for the period after `ranPeriod`, made when a run of the recurrence is dispatched. */
export function nextPeriodRequest(request: TaskRequest, ranPeriod: number, requestId: string, now: number): TaskRequest {
  const recurrence = { ...request.recurrence!, period: ranPeriod + 1 };
  return { ...request, requestId, recurrence, attempt: 1, earliestBeginAt: periodStart(recurrence, ranPeriod + 1), submittedAt: now };
}
