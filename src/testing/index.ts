/**
 * `bgtasks/testing`: test background code in virtual time.
 *
 * This version exports the virtual clock that the project's own scheduling tests use; the full testing
 * kit (`createTestSystem`) builds on it.
 *
 * ```ts
 * import { VirtualClock } from 'bgtasks/testing';
 * const clock = new VirtualClock();
 * clock.setTimer(60_000, () => console.log('a minute later, in no time'));
 * await clock.advanceBy(60_000);
 * ```
 */
export { VirtualClock, VirtualClockOverrunError, flushMicrotasks, type VirtualClockOptions } from './virtualClock.js';
export type { Clock, Disposable } from '../engine/clock.js';
