/**
 * Helpers for {@link LoadLevel} readings. Pressure and temperature hover around any threshold, and each
 * change of level is a conditions event (the scheduler re-evaluates, the daemon logs it), so a reading
 * only drops back to a lower level once it is clearly below the bound it crossed: hysteresis.
 */
import { LOAD_LEVELS, type LoadLevel } from '../engine/conditions.js';

function rank(level: LoadLevel): number {
  return level === 'unknown' ? -1 : LOAD_LEVELS.indexOf(level);
}

/** The worse of two levels. */
export function worseLevel(a: LoadLevel, b: LoadLevel): LoadLevel {
  return rank(b) > rank(a) ? b : a;
}

/**
 * The level to report: `current`, except that a drop from `previous` is held off while `raised` (the
 * level of the reading made slightly worse by the hysteresis margin) still reaches `previous`.
 */
export function settleLevel(previous: LoadLevel | undefined, current: LoadLevel, raised: LoadLevel): LoadLevel {
  if (previous === undefined || rank(previous) <= rank(current)) return current;
  return rank(raised) >= rank(previous) ? previous : current;
}
