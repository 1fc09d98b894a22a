/**
 * A daemon's part in a fleet: it keeps the node's lease, takes from the shared pool the `'any'`
 * requests it can start now, gives back the ones it cannot, and takes its turn at maintenance.
 *
 * The scheduler stays a one-machine scheduler: a claimed request is put in its queue like any other and
 * the usual policies decide; a pool request only ever sits in a node's queue long enough for one
 * scheduling pass. Whatever that pass leaves undispatched (not due, held by a policy, no free slot) is
 * released at once, so work never waits on a node that cannot do it while another could.
 *
 * Every store operation goes through one serial chain, so a heartbeat's view of what this node holds
 * never interleaves with a claim or a release. A failing operation is logged and retried on the next
 * heartbeat; it never stops the daemon (the lease only lapses if heartbeats fail for `leaseMs`).
 */
import type { Clock, Disposable } from '../../engine/clock.js';
import type { TaskRequest } from '../../engine/types.js';
import type { FleetStore, NodeApp, NodeConditions, NodeReport } from '../../store/fleet.js';
import type { SchedulerLog } from '../scheduler/ports.js';
import { ClaimStats } from './claimStats.js';
import type { FleetOptions } from './fleetOptions.js';

/** What the member needs of the scheduler (see `Scheduler.fleetPort`). */
export interface SchedulerFleetPort {
  /** The `'any'` requests in this node's queue. */
  held(): TaskRequest[];
  /** Null when the request would start on this node now; otherwise what holds it. */
  startsNow(request: TaskRequest): string | null;
  /** Puts claimed requests in the queue and asks for a pass. */
  adopt(requests: readonly TaskRequest[]): void;
  /** Takes requests out of the queue without a store write: the pool keeps them. */
  drop(requests: readonly TaskRequest[]): void;
  onDidPass(listener: () => void): Disposable;
  runningCount(): number;
  installed(): NodeApp[];
}

export interface FleetMemberDeps {
  readonly clock: Clock;
  readonly fleet: FleetStore;
  readonly scheduler: SchedulerFleetPort;
  readonly log: SchedulerLog;
  readonly options: FleetOptions;
  readonly conditions: () => NodeConditions;
  readonly maxConcurrentTasks: number;
  readonly hostname: string;
  readonly version: string;
  /** True while the store cannot be written: nothing is claimed then, as nothing would start. */
  readonly storeFaulted: () => boolean;
  /** Resolves once the daemon's writes queued so far are committed (the store writer's `drain`). */
  readonly flushed: () => Promise<void>;
}

export class FleetMember implements AsyncDisposable {
  readonly #deps: FleetMemberDeps;
  #epoch = 0;
  #chain: Promise<void> = Promise.resolve();
  #claimQueued = false;
  /** True while the claims' last look found every request it could take startable here: claim without looking. */
  #claimBlind = false;
  /** False once a claim found the pool empty for this node, until a wake-up says otherwise. */
  #poolMayHaveWork = true;
  #tickTimer: Disposable | null = null;
  #dueTimer: Disposable | null = null;
  #passListener: Disposable | null = null;
  #listener: AsyncDisposable | null = null;
  #lastMaintenance = -Infinity;
  /** Pool requests this node gave back, by id, with the monotonic time: not claimed again for a heartbeat. */
  readonly #released = new Map<string, number>();
  /** Held requests the store no longer had at the last heartbeat: dropped if still missing at the next. */
  #missing = new Set<string>();
  /** Requests the store said this node held but memory did not, at the last heartbeat: released if so again. */
  #strays = new Set<string>();
  #closed = false;
  /** What this node claimed lately: reported with each heartbeat (`bgtasks nodes`) and in the metrics. */
  readonly claims = new ClaimStats();
  /** Wall-clock ms of the first of the failures in a row, or null. */
  #failingSince: number | null = null;

  private constructor(deps: FleetMemberDeps) {
    this.#deps = deps;
  }

  /** Joins the fleet (taking this node's lease), listens for wake-ups, and starts the heartbeat. */
  static async join(deps: FleetMemberDeps): Promise<FleetMember> {
    const member = new FleetMember(deps);
    const { fleet, clock, options } = deps;
    member.#epoch = await fleet.join(
      member.#report(),
      { hostname: deps.hostname, version: deps.version },
      clock.now(),
      options.leaseMs,
    );
    member.#listener = await fleet.listen(
      () => member.#claimSoon('wake'),
      (error) =>
        deps.log.warn(
          `fleet: the wake-up connection failed (${error.message}); polling every ` + `heartbeat until it is back`,
        ),
    );
    member.#passListener = deps.scheduler.onDidPass(() => member.#afterPass());
    deps.log.info(`fleet: joined as node ${fleet.nodeId} (epoch ${member.#epoch})`, { nodeId: fleet.nodeId });
    member.#armTick(0);
    return member;
  }

  get epoch(): number {
    return this.#epoch;
  }

  /** Resolves once the store operations queued so far are done: tests wait on this, not on time. */
  idle(): Promise<void> {
    return this.#chain;
  }

  #report(): NodeReport {
    const { scheduler } = this.#deps;
    return {
      conditions: this.#deps.conditions(),
      apps: scheduler.installed(),
      capacity: {
        maxConcurrentTasks: this.#deps.maxConcurrentTasks,
        running: scheduler.runningCount(),
        ...this.claims.lastMinute(this.#deps.clock.monotonic()),
      },
    };
  }

  /**
   * Runs store operations one at a time; a failure is logged, never thrown. While the store stays
   * unreachable only the first failure is logged, and the recovery: not one line per heartbeat.
   */
  #serially(what: string, operation: () => Promise<void>): Promise<void> {
    this.#chain = this.#chain.then(async () => {
      if (this.#closed) return;
      try {
        await operation();
        if (this.#failingSince !== null)
          this.#deps.log.info(
            `fleet: the store answers again (failing since ` + `${new Date(this.#failingSince).toISOString()})`,
          );
        this.#failingSince = null;
      } catch (error) {
        if (this.#failingSince !== null) return;
        this.#failingSince = this.#deps.clock.now();
        this.#deps.log.warn(
          `fleet: ${what} failed: ${error instanceof Error ? error.message : String(error)}; ` +
            `retrying every heartbeat`,
          { code: (error as { code?: unknown }).code },
        );
      }
    });
    return this.#chain;
  }

  #armTick(delayMs: number): void {
    this.#tickTimer?.dispose();
    this.#tickTimer = this.#deps.clock.setTimer(delayMs, () => {
      this.#tickTimer = null;
      void this.#serially('heartbeat', () => this.#heartbeat())
        .then(() => this.#maybeMaintain())
        .then(() => this.#claimSoon('wake'))
        .finally(() => {
          if (!this.#closed) this.#armTick(this.#deps.options.heartbeatMs);
        });
    });
  }

  async #heartbeat(): Promise<void> {
    const { fleet, clock, options, scheduler, log } = this.#deps;
    // The writes queued before this look at what the node holds are committed first: a request just
    // dispatched (its pool row deleted by that write) must not pass for one held and forgotten.
    const flushed = await this.#flushedWithin(options.heartbeatMs);
    const result = await fleet.heartbeat(this.#epoch, this.#report(), clock.now(), options.leaseMs);
    if (!result.renewed) {
      // Another node may already have taken over this node's work: start over with nothing held.
      const held = scheduler.held();
      scheduler.drop(held);
      if (result.lost?.reason === 'replaced') {
        // Two daemons as one node would take each other's lease in turn, each reading the other's rows.
        log.error(
          `fleet: another daemon (on ${result.lost.hostname}) joined as node ` +
            `${fleet.nodeId}; this one stops taking pool work. Give each daemon its own ` +
            `--node-id (or home).`,
          { nodeId: fleet.nodeId },
        );
        this.#closed = true;
        return;
      }
      log.warn(
        `fleet: node ${fleet.nodeId} lost its lease (heartbeats failed for longer ` +
          `than ${options.leaseMs} ms); rejoining`,
        { dropped: held.length },
      );
      this.#epoch = await fleet.join(
        this.#report(),
        { hostname: this.#deps.hostname, version: this.#deps.version },
        clock.now(),
        options.leaseMs,
      );
      return;
    }
    if (flushed && !this.#deps.storeFaulted()) this.#reconcile(new Set(result.held));
  }

  /** Waits for the daemon's queued writes, at most `ms`; false when they took longer (the store is slow or faulted). */
  async #flushedWithin(ms: number): Promise<boolean> {
    if (this.#deps.storeFaulted()) return false;
    let timer: Disposable | null = null;
    const late = new Promise<false>((resolve) => (timer = this.#deps.clock.setTimer(ms, () => resolve(false))));
    try {
      return await Promise.race([this.#deps.flushed().then(() => true as const), late]);
    } finally {
      (timer as Disposable | null)?.dispose();
    }
  }

  /**
   * Memory and store must agree on what this node holds. A held request the store no longer has was
   * cancelled, replaced or taken back; a request the store says this node holds but memory lacks (a
   * release that raced its own insert) is given back. Either only when seen twice in a row, with the
   * writes flushed before each look: a request submitted or dispatched between the flush and the look
   * is in one place and not yet in the other, and by the next look its write has committed.
   */
  #reconcile(inStore: ReadonlySet<string>): void {
    const { scheduler } = this.#deps;
    const held = scheduler.held();
    const missing = new Set<string>();
    const gone: TaskRequest[] = [];
    for (const request of held) {
      if (inStore.has(request.requestId)) continue;
      if (this.#missing.has(request.requestId)) gone.push(request);
      else missing.add(request.requestId);
    }
    this.#missing = missing;
    if (gone.length > 0) scheduler.drop(gone);
    const inMemory = new Set(held.map((request) => request.requestId));
    const strays = new Set([...inStore].filter((id) => !inMemory.has(id)));
    const confirmed = [...strays].filter((id) => this.#strays.has(id));
    this.#strays = strays;
    if (confirmed.length > 0) void this.#release(confirmed);
  }

  async #maybeMaintain(): Promise<void> {
    const { clock, options, fleet, log } = this.#deps;
    if (clock.monotonic() - this.#lastMaintenance < options.maintenanceMs) return;
    this.#lastMaintenance = clock.monotonic();
    await this.#serially('maintenance', async () => {
      const report = await fleet.maintain(clock.now(), options.retentionMs);
      if (!report) return;
      for (const run of report.interrupted) {
        log.warn(
          `fleet: ${run.identifier} of ${run.appId} was running on a lost node; ` + `interrupted and back in the pool`,
          { appId: run.appId, identifier: run.identifier, taskId: run.taskId },
        );
      }
      if (report.lostNodes.length > 0)
        log.warn(`fleet: took over from lost node(s) ${report.lostNodes.join(', ')}`, {
          released: report.released,
          interrupted: report.interrupted.length,
        });
      if (report.released > 0 || report.requeued.length > 0) await fleet.notify();
    });
  }

  /**
   * Claims work after the current turn; many wake-ups in one turn make one claim. After a pass (a slot
   * may have freed) it asks the store only while the pool may have work for this node.
   */
  #claimSoon(cause: 'wake' | 'pass'): void {
    if (cause === 'wake') this.#poolMayHaveWork = true;
    if (this.#claimQueued || this.#closed || !this.#poolMayHaveWork) return;
    this.#claimQueued = true;
    queueMicrotask(() => {
      this.#claimQueued = false;
      void this.#serially('claim', () => this.#claim());
    });
  }

  async #claim(): Promise<void> {
    const { fleet, clock, scheduler, options } = this.#deps;
    if (this.#deps.storeFaulted()) return;
    const held = scheduler.held();
    const free = this.#deps.maxConcurrentTasks - scheduler.runningCount() - held.length;
    const apps = scheduler
      .installed()
      .filter((app) => app.enabled)
      .map((app) => app.appId);
    // No free slot: the pass after a slot frees claims again (and looks at the next start date then).
    if (free <= 0 || apps.length === 0) return;
    const now = clock.now();
    const recent = clock.monotonic() - options.heartbeatMs;
    for (const [id, at] of this.#released) if (at < recent) this.#released.delete(id);
    if (this.#claimBlind) return this.#claimDue(apps, now, free);
    const candidates = await fleet.candidates(apps, now, free * 4);
    this.#poolMayHaveWork = candidates.length > 0;
    // A full page: due work is waiting, and a pass after these claims looks again. Only a short page
    // may leave the pool with nothing due for this node, and then its next start date is worth a look.
    if (candidates.length < free * 4) this.#armDueTimer(apps);
    const heldKeys = new Set(held.map((request) => `${request.appId}\0${request.identifier}`));
    const open = candidates.filter(
      (request) => !this.#released.has(request.requestId) && !heldKeys.has(`${request.appId}\0${request.identifier}`),
    );
    const startable = open.filter((request) => scheduler.startsNow(request) === null);
    // Everything looked at would start: the next claims skip the look (one round trip, not two).
    this.#claimBlind = open.length > 0 && startable.length === open.length;
    const wanted = startable.slice(0, free);
    if (wanted.length === 0) return;
    const claimed = await fleet.claim(wanted.map((request) => request.requestId));
    this.claims.record(claimed, clock.monotonic(), clock.now());
    if (claimed.length > 0) scheduler.adopt(claimed);
    // A full page may mean more is waiting: look again once these are dispatched.
    if (candidates.length === free * 4) this.#claimSoon('wake');
  }

  /**
   * The claim of a node whose policies started everything it looked at lately: the oldest due requests,
   * claimed in one statement, then checked; any it will not start go back at once, and the next claim
   * looks first again. So a node that can run the pool's work claims with one round trip, and one that
   * cannot (on battery, say) never churns the pool.
   */
  async #claimDue(apps: readonly string[], now: number, free: number): Promise<void> {
    const { fleet, scheduler } = this.#deps;
    const claimed = await fleet.claimDue(apps, now, free, [...this.#released.keys()]);
    this.#poolMayHaveWork = claimed.length > 0;
    const refused = claimed.filter((request) => scheduler.startsNow(request) !== null);
    const adopted = refused.length === 0 ? claimed : claimed.filter((request) => !refused.includes(request));
    this.claims.record(adopted, this.#deps.clock.monotonic(), this.#deps.clock.now());
    if (adopted.length > 0) scheduler.adopt(adopted);
    if (refused.length > 0) {
      this.#claimBlind = false;
      void this.#release(refused.map((request) => request.requestId));
    }
    if (claimed.length === free)
      this.#claimSoon('wake'); // a full claim: more may be due
    else this.#armDueTimer(apps);
  }

  /** Wakes at the next pool request's start date, so a delayed request is claimed on time, not a heartbeat late. */
  #armDueTimer(apps: readonly string[]): void {
    void this.#deps.fleet.nextDue(apps, this.#deps.clock.now()).then(
      (at) => {
        this.#dueTimer?.dispose();
        this.#dueTimer =
          at === null || this.#closed
            ? null
            : this.#deps.clock.setTimer(Math.max(0, at - this.#deps.clock.now()), () => this.#claimSoon('wake'));
      },
      () => undefined, // the heartbeat's claim covers it
    );
  }

  /** After a pass: every pool request still in the queue could not start here now, so it goes back. */
  #afterPass(): void {
    const { scheduler } = this.#deps;
    const leftovers = scheduler.held();
    if (leftovers.length === 0) {
      if (scheduler.runningCount() < this.#deps.maxConcurrentTasks) this.#claimSoon('pass');
      return;
    }
    scheduler.drop(leftovers);
    void this.#release(leftovers.map((request) => request.requestId));
  }

  #release(requestIds: readonly string[]): Promise<void> {
    const now = this.#deps.clock.monotonic();
    for (const id of requestIds) this.#released.set(id, now);
    // The store's release wakes the other nodes itself when something went back.
    return this.#serially('release', async () => {
      await this.#deps.fleet.release(requestIds);
    });
  }

  /**
   * Stops taking part without leaving: no more heartbeats, so the lease lapses by itself and other nodes
   * take over after `leaseMs`, as after a crash. Returns whether it was still taking part.
   */
  async halt(): Promise<boolean> {
    if (this.#closed) return false;
    this.#passListener?.dispose();
    this.#tickTimer?.dispose();
    this.#dueTimer?.dispose();
    await this.#chain;
    this.#closed = true;
    await this.#listener?.[Symbol.asyncDispose]();
    return true;
  }

  /** Leaves the fleet: the lease is given up, so other nodes take over this node's pool work at once. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      if (!(await this.halt())) return;
      await this.#deps.fleet.leave(this.#deps.clock.now());
    } catch (error) {
      this.#deps.log.warn(
        `fleet: leaving failed (${error instanceof Error ? error.message : String(error)}); ` +
          `the lease lapses by itself`,
      );
    }
  }
}
