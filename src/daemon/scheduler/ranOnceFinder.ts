import { newestRefreshRuns, ranOnceWarning, type RanOnceWarning } from '../../engine/ranOnce.js';
import type { Store } from '../../store/store.js';

/** How many of an app's newest runs are looked at: the identifiers that ran lately. */
const RECENT_RUNS = 100;
/** An identifier's history events looked at for a resubmission during its last run. */
const RECENT_EVENTS = 50;

/**
 * The store's side of {@link ranOnceWarning}: an app's recent runs and, for each refresh that ran last
 * and is not active now, its recent events.
 */
export async function findRanOnce(
  store: Pick<Store, 'listRuns' | 'listEvents'>,
  appId: string,
  isActive: (identifier: string) => boolean,
): Promise<RanOnceWarning[]> {
  const warnings: RanOnceWarning[] = [];
  for (const run of newestRefreshRuns(await store.listRuns({ appId, limit: RECENT_RUNS }))) {
    if (isActive(run.identifier)) continue;
    const events = await store.listEvents({ appId, identifier: run.identifier, limit: RECENT_EVENTS });
    const warning = ranOnceWarning(run, false, events);
    if (warning) warnings.push(warning);
  }
  return warnings;
}
