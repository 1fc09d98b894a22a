import { prerequisiteState, type PrerequisiteRecord, type PrerequisiteStatus } from '../../engine/dependencies.js';
import { requestKey, type TaskOutcome, type TaskRequest, type TaskRun } from '../../engine/types.js';
import type { FleetStore } from '../../store/fleet.js';
import type { Store } from '../../store/store.js';

export interface PrerequisiteBookDeps {
  readonly store: Store;
  /**
   * In a fleet: the shared store, where a prerequisite another node holds or ran is seen (this node's own
   * store sees only its own runs). Null on a store of one machine.
   */
  readonly fleet: Pick<FleetStore, 'listFleetRequests' | 'listFleetRuns'> | null;
  /** Whether the app has a pending request for the identifier. */
  isPending(appId: string, identifier: string): boolean;
  isRunning(appId: string, identifier: string): boolean;
  /** The pending requests that name prerequisites: what the book must keep records for. */
  pendingDependents(): Iterable<TaskRequest>;
  /** Something became known: dependents may move (a scheduling pass). */
  changed(): void;
  log(message: string, fields: Record<string, unknown>): void;
}

/**
 * What the daemon knows of the prerequisites its pending dependents name (docs/workflows.md): for each
 * one watched, the outcome and result of its last finished run, or its cancellation. Only identifiers
 * some dependent named are kept, so a fleet of one-off identifiers costs nothing; the rest of the truth
 * is in the store's runs, read back when a dependent is submitted or the daemon starts.
 */
export class PrerequisiteBook {
  readonly #deps: PrerequisiteBookDeps;
  readonly #records = new Map<string, PrerequisiteRecord>();
  readonly #loading = new Set<string>();
  /**
   * The last runs that finished, watched or not, newest last: a run's row may reach the store a turn after
   * it ends (a block's ends are written together), and a dependent submitted meanwhile must find it.
   */
  readonly #recent = new Map<string, PrerequisiteRecord>();
  /** In a fleet: prerequisites last seen pending or running on another node (looked at again each pass). */
  readonly #elsewhere = new Set<string>();
  /** The size at which records no pending dependent names are dropped (see #sweep). */
  #sweepAt = SWEEP_MIN;

  constructor(deps: PrerequisiteBookDeps) {
    this.#deps = deps;
  }

  /** Whether any dependent was ever seen (so a cancellation may have dependents to take with it). */
  get watching(): boolean {
    return this.#records.size > 0;
  }

  /** Where each prerequisite of the request stands (a request with `existing: 'append'` names its own identifier). */
  statuses(request: TaskRequest): PrerequisiteStatus[] {
    const { appId } = request;
    return (request.dependsOn ?? []).map((identifier) => {
      // A request is pending for its own identifier: for 'append' only the running task counts.
      const pending = identifier !== request.identifier && this.#deps.isPending(appId, identifier);
      const running = this.#deps.isRunning(appId, identifier);
      const key = requestKey(appId, identifier);
      const record = this.#records.get(key);
      let state = prerequisiteState(pending, running, record);
      if (state === 'unknown' && this.#elsewhere.has(key)) state = 'pending';
      // Read again each pass while not known here: in a fleet, until the node that has it has run it.
      if (state === 'unknown' || (state === 'pending' && !pending)) void this.load(appId, [identifier]);
      return { identifier, state, outcome: record?.outcome === 'cancelled' ? null : (record?.outcome ?? null) };
    });
  }

  /** Whether the identifier can be a prerequisite now: pending, running, or with a known last run. */
  known(appId: string, identifier: string): boolean {
    const key = requestKey(appId, identifier);
    const record = this.#records.get(key) ?? this.#recent.get(key);
    const here = this.#deps.isPending(appId, identifier) || this.#deps.isRunning(appId, identifier);
    if (here || this.#elsewhere.has(key)) return true;
    return record !== undefined && record.outcome !== null;
  }

  /** Starts keeping the identifier's outcomes (a dependent named it). */
  watch(appId: string, identifier: string): void {
    const key = requestKey(appId, identifier);
    if (!this.#records.has(key)) this.#records.set(key, this.#recent.get(key) ?? { outcome: null, taskId: null });
    if (this.#records.size >= this.#sweepAt) this.#sweep();
  }

  /**
   * Drops the records of prerequisites no pending dependent names any more (a dispatched dependent took its
   * prerequisites' results with it), so the book does not grow with every identifier ever named. Run when
   * the book has doubled since the last sweep: its cost, one look at the pending dependents, is amortized.
   */
  #sweep(): void {
    const named = new Set<string>();
    for (const request of this.#deps.pendingDependents()) {
      for (const identifier of request.dependsOn ?? []) named.add(requestKey(request.appId, identifier));
    }
    for (const key of this.#records.keys()) {
      if (!named.has(key)) this.#records.delete(key);
    }
    for (const key of this.#elsewhere) {
      if (!named.has(key)) this.#elsewhere.delete(key);
    }
    this.#sweepAt = Math.max(SWEEP_MIN, 2 * this.#records.size);
  }

  /**
   * Reads the last run of each identifier not known yet from the store, and watches it. One that never
   * ran and is neither pending nor running stays unknown (a submission naming it is refused); at start,
   * a dependent's prerequisite in that state is gone and counts as cancelled (see {@link restore}).
   */
  async load(
    appId: string,
    identifiers: readonly string[],
    missingMeans: 'unknown' | 'cancelled' = 'cancelled',
  ): Promise<void> {
    const wanted = identifiers.filter((identifier) => {
      const key = requestKey(appId, identifier);
      return !this.#loading.has(key) && !(this.#records.get(key)?.outcome ?? null);
    });
    if (wanted.length === 0) return;
    for (const identifier of wanted) this.#loading.add(requestKey(appId, identifier));
    let learned = false;
    try {
      for (const identifier of wanted) {
        const key = requestKey(appId, identifier);
        const recent = this.#recent.get(key);
        if (recent) {
          this.#records.set(key, recent);
          learned = true;
          continue;
        }
        if (this.#deps.fleet && (await this.#heldElsewhere(this.#deps.fleet, appId, identifier))) {
          this.#elsewhere.add(key);
          continue;
        }
        const [last] = this.#deps.fleet
          ? (await this.#deps.fleet.listFleetRuns({ appId, identifier, limit: 1 })).map((each) => each.run)
          : await this.#deps.store.listRuns({ appId, identifier, limit: 1 });
        // A run that finished meanwhile was recorded as it happened, and is newer than what was read.
        if (this.#records.get(key)?.outcome) continue;
        if (last && last.state !== 'finished') {
          this.#elsewhere.add(key); // running on another node
          continue;
        }
        if (this.#elsewhere.delete(key)) learned = true;
        if (last && last.state === 'finished' && last.outcome) {
          this.#records.set(key, recordOf(last.outcome, last));
          learned = true;
        } else if (!last && missingMeans === 'cancelled' && !this.known(appId, identifier)) {
          this.#records.set(key, { outcome: 'cancelled', taskId: null });
          learned = true;
        } else if (!this.#records.has(key)) {
          this.#records.set(key, { outcome: null, taskId: null });
        }
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.#deps.log("could not read a prerequisite's last run", { appId, error: message });
    } finally {
      for (const identifier of wanted) this.#loading.delete(requestKey(appId, identifier));
    }
    if (learned) this.#deps.changed();
  }

  /** Whether another node of the fleet has a pending request for the identifier (this node's are in its queue). */
  async #heldElsewhere(
    fleet: NonNullable<PrerequisiteBookDeps['fleet']>,
    appId: string,
    identifier: string,
  ): Promise<boolean> {
    if (this.#deps.isPending(appId, identifier)) return false;
    return (await fleet.listFleetRequests(appId)).some(({ request }) => request.identifier === identifier);
  }

  /** Watches the prerequisites of pending dependents (at start), reading what the store knows of each. */
  async restore(requests: Iterable<TaskRequest>): Promise<void> {
    const byApp = new Map<string, Set<string>>();
    for (const request of requests) {
      for (const identifier of request.dependsOn ?? []) {
        let set = byApp.get(request.appId);
        if (!set) byApp.set(request.appId, (set = new Set()));
        set.add(identifier);
        this.watch(request.appId, identifier);
      }
    }
    for (const [appId, identifiers] of byApp) await this.load(appId, [...identifiers]);
  }

  /** A run ended: kept if a dependent watches its identifier. */
  runFinished(run: TaskRun): void {
    if (!run.outcome) return;
    const key = requestKey(run.appId, run.identifier);
    const record = recordOf(run.outcome, run);
    if (this.#records.has(key)) this.#records.set(key, record);
    this.#recent.delete(key);
    this.#recent.set(key, record);
    if (this.#recent.size > RECENT_RUNS) this.#recent.delete(this.#recent.keys().next().value!);
  }

  /** Requests were cancelled: a dependent of one of them is cancelled too. */
  cancelled(requests: Iterable<TaskRequest>): void {
    for (const request of requests) {
      const key = requestKey(request.appId, request.identifier);
      if (this.#records.has(key)) this.#records.set(key, { outcome: 'cancelled', taskId: null });
    }
  }

  /** Each prerequisite's result (null for none), by identifier, for the dependent's delivery. */
  results(request: TaskRequest): Record<string, unknown> | undefined {
    if (!request.dependsOn) return undefined;
    const results: Record<string, unknown> = {};
    for (const identifier of request.dependsOn) {
      results[identifier] = this.#records.get(requestKey(request.appId, identifier))?.result ?? null;
    }
    return results;
  }

  /** What is kept of a prerequisite, for the kit and `why`. */
  record(appId: string, identifier: string): PrerequisiteRecord | undefined {
    return this.#records.get(requestKey(appId, identifier));
  }
}

/** How many finished runs {@link PrerequisiteBook} remembers beyond the watched ones: far more than one turn ends. */
const RECENT_RUNS = 4096;
/** The fewest records at which the book sweeps (below it, keeping them all costs little). */
const SWEEP_MIN = 1024;

function recordOf(outcome: TaskOutcome, run: TaskRun): PrerequisiteRecord {
  const { taskId, result } = run;
  return result === undefined ? { outcome, taskId } : { outcome, taskId, result };
}
