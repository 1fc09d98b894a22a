import { blockCapacity } from '../../engine/blocks.js';
import type { Clock } from '../../engine/clock.js';
import type { SchedulingOptions } from '../../engine/options.js';
import type { TaskLease, TaskRequest, TaskRun } from '../../engine/types.js';
import type { BlockTask } from '../../protocol/messages.js';
import type { RequestRef, StoreBatch } from '../../store/store.js';
import type { ActiveRun, ActiveRuns, HeldLease } from './activeRuns.js';
import { pickInstance, type AppState } from './appTable.js';
import type { AppInstance } from './ports.js';

export interface BlockLeasesDeps {
  readonly clock: Clock;
  readonly options: SchedulingOptions;
  readonly newId: () => string;
  readonly runs: ActiveRuns;
  /** Writes a batch; settles (never rejects) once it is committed or has failed. */
  readonly write: (batch: StoreBatch) => Promise<void>;
  /**
   * Starts the one task of a block of one as any single task starts (its run written at dispatch, then
   * delivered): a lone task gains nothing from a lease, and keeps every record a task has had.
   */
  readonly single: (active: ActiveRun, instance: AppInstance) => void;
}

interface Building {
  readonly instance: AppInstance;
  readonly lease: HeldLease;
  readonly appId: string;
  readonly at: number;
  readonly tasks: ActiveRun[];
}

/**
 * The blocks of tasks handed to connected apps (src/engine/blocks.ts, docs/architecture.md "Blocks").
 * The tasks dispatched to one process in one turn form a block: one lease row is written for it, and
 * once that row is committed the block goes to the process in one frame. No row is written per task
 * until the task finishes (RunDriver.finish writes its run once); a crash in between leaves the lease,
 * from which recovery records each of its tasks as `interrupted` (the request is still pending).
 *
 * Only plain one-off tasks go in blocks: refresh and processing requests of a connected process whose
 * SDK takes blocks, not periodic, continued, push, pool (`placement: 'any'`) or forced ones.
 */
export class BlockLeases {
  readonly #deps: BlockLeasesDeps;
  readonly #building = new Map<AppInstance, Building>();
  /**
   * Apps whose process exited with block tasks in hand: their tasks go one at a time (where the rule
   * that gives up a task after three processes died with it applies) until one of them succeeds.
   */
  readonly #paused = new Set<string>();

  constructor(deps: BlockLeasesDeps) {
    this.#deps = deps;
  }

  /** The connected process that would take this request in a block, or undefined. */
  instanceFor(app: AppState, request: TaskRequest): AppInstance | undefined {
    if (!isBlockable(request) || this.#paused.has(request.appId)) return undefined;
    const instance = pickInstance(app, request.identifier);
    return instance?.deliverBlock ? instance : undefined;
  }

  /** Whether handing the request over adds it to blocks that already fill the app's concurrency, with room left. */
  joinsBlock(app: AppState | undefined, request: TaskRequest): boolean {
    const concurrency = this.#deps.options.maxConcurrentTasksPerApp;
    const leased = this.#deps.runs.leasedForApp(request.appId);
    if (leased < concurrency || leased >= blockCapacity(concurrency)) return false;
    return app !== undefined && this.instanceFor(app, request) !== undefined;
  }

  /** Puts a run (already in `runs`, with `active.lease` unset) in this turn's block for the process. */
  hand(instance: AppInstance, active: ActiveRun): void {
    let building = this.#building.get(instance);
    if (!building) {
      const lease: HeldLease = { leaseId: this.#deps.newId(), remaining: 0 };
      building = { instance, lease, appId: instance.appId, at: this.#deps.clock.now(), tasks: [] };
      this.#building.set(instance, building);
      if (this.#building.size === 1) queueMicrotask(() => this.#flush());
    }
    building.lease.remaining++;
    active.lease = building.lease;
    building.tasks.push(active);
  }

  /**
   * A run of a block has ended (finished, or given back before it started): the store parts that end
   * its lease once no task of it is held any more.
   */
  release(active: ActiveRun): Pick<StoreBatch, 'deleteLeases'> {
    const lease = active.lease;
    if (!lease) return {};
    lease.remaining--;
    return lease.remaining === 0 ? { deleteLeases: [lease.leaseId] } : {};
  }

  /** A process exited with tasks of blocks in hand: the app's next tasks go one at a time. */
  pause(appId: string): void {
    this.#paused.add(appId);
  }

  /** A task of the app succeeded outside a block: blocks again. */
  resume(appId: string): void {
    this.#paused.delete(appId);
  }

  /** The time limit of a block task, from its handler's start. */
  timeLimitMs(active: ActiveRun): number {
    const { options } = this.#deps;
    return active.run.kind === 'refresh' ? options.refreshTimeLimitMs : options.processingMaxRunMs;
  }

  #flush(): void {
    const buildings = [...this.#building.values()];
    this.#building.clear();
    for (const building of buildings) {
      if (building.tasks.length === 1) {
        const [only] = building.tasks;
        if (this.#deps.runs.get(only!.run.taskId) === only) this.#deps.single(only!, building.instance);
        continue;
      }
      const lease: TaskLease = {
        leaseId: building.lease.leaseId,
        appId: building.appId,
        at: building.at,
        background: building.instance.launchReason === 'background',
        tasks: building.tasks.map(({ run }) => ({
          taskId: run.taskId,
          requestId: run.requestId,
          identifier: run.identifier,
          kind: run.kind,
          eligibleAt: run.eligibleAt,
        })),
      };
      void this.#deps.write({ putLeases: [lease] }).then(() => this.#deliver(building));
    }
  }

  /** After the lease is durable: the tasks still held (none was given back or cut off meanwhile) go in one frame. */
  #deliver({ instance, tasks }: Building): void {
    const held: BlockTask[] = [];
    for (const active of tasks) {
      const { run } = active;
      if (this.#deps.runs.get(run.taskId) !== active || active.instance !== instance || run.startedAt !== null)
        continue;
      const kind = run.kind as BlockTask['kind'];
      const { taskId, identifier } = run;
      const task: BlockTask = { taskId, identifier, kind, timeLimitMs: this.timeLimitMs(active) };
      // Only a task with a payload carries one: the common block stays as small as it was.
      held.push(run.data === undefined ? task : { ...task, data: run.data });
    }
    if (held.length === 0) return;
    instance.deliverBlock?.({ t: 'block', concurrency: this.#deps.options.maxConcurrentTasksPerApp, tasks: held });
  }
}

/**
 * The ends of block tasks in one turn, written together: one batch (and one waiter) for all of them
 * instead of one each. Only plain ends come here (no retry, event or push to write with them), so what is
 * written is the same as one batch each; each deletes its request by id, so a request that replaced it
 * in the meantime survives whatever the order.
 */
export class BlockEnds {
  readonly #write: (batch: StoreBatch) => Promise<void>;
  #runs: TaskRun[] = [];
  #requests: RequestRef[] = [];
  #leases: string[] = [];

  constructor(write: (batch: StoreBatch) => Promise<void>) {
    this.#write = write;
  }

  add(run: TaskRun, endedLeases: readonly string[] | undefined): void {
    if (this.#runs.length === 0) queueMicrotask(() => this.flush());
    this.#runs.push(run);
    this.#requests.push({ appId: run.appId, identifier: run.identifier, requestId: run.requestId });
    if (endedLeases) this.#leases.push(...endedLeases);
  }

  /**
   * Writes the ends gathered so far. Called at the end of the turn, and before any other write of the
   * scheduler's, so that writes keep their order (a request put back must follow its run's end).
   */
  flush(): void {
    if (this.#runs.length === 0) return;
    const ended = this.#leases.length > 0 ? { deleteLeases: this.#leases } : {};
    const batch: StoreBatch = { deleteRequests: this.#requests, insertRuns: this.#runs, ...ended };
    this.#runs = [];
    this.#requests = [];
    this.#leases = [];
    void this.#write(batch);
  }
}

/** Plain one-off work: what a block may hold. */
function isBlockable(request: TaskRequest): boolean {
  return (
    (request.kind === 'processing' || request.kind === 'refresh') &&
    request.recurrence === null &&
    request.placement !== 'any' &&
    !request.continued &&
    !request.push
  );
}
