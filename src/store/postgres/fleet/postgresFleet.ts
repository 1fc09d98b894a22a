import type pg from 'pg';
import type { TaskRequest } from '../../../engine/types.js';
import type {
  FleetRequest,
  FleetRun,
  FleetRunFilter,
  FleetStore,
  HeartbeatResult,
  MaintenanceReport,
  NodeInfo,
  NodeReport,
} from '../../fleet.js';
import type { PgContext } from '../sql/context.js';
import { candidates, claim, claimDue, nextDue, release } from './claims.js';
import { maintain } from './maintenance.js';
import { heartbeat, joinFleet, leaveFleet } from './membership.js';
import { listenForWork, notifySql } from './wakeups.js';
import { listFleetRequests, listFleetRuns, listNodes, pagePool } from './views.js';

/** What the fleet needs of the PostgreSQL store it belongs to. @internal */
export interface PgAccess {
  readonly nodeId: string;
  /** Runs `operation` with a context on the pool (one statement at a time); errors become StoreErrors. */
  read<T>(operation: (ctx: PgContext) => Promise<T>): Promise<T>;
  /** Runs `operation` in one transaction; errors roll it back and become StoreErrors. */
  transaction<T>(operation: (ctx: PgContext, client: pg.PoolClient) => Promise<T>): Promise<T>;
  /** How to open a connection of its own to the same database and schema (for LISTEN). */
  readonly clientConfig: pg.ClientConfig;
}

/**
 * The {@link FleetStore} of a PostgreSQL store: the node's membership, its claims on the shared pool,
 * the maintainer's round and the wake-ups. Every statement is in `./*.ts`, one file per concern.
 */
export class PostgresFleet implements FleetStore {
  readonly #db: PgAccess;

  constructor(db: PgAccess) {
    this.#db = db;
  }

  get nodeId(): string {
    return this.#db.nodeId;
  }

  join(
    report: NodeReport,
    meta: { readonly hostname: string; readonly version: string },
    at: number,
    leaseMs: number,
  ): Promise<number> {
    return this.#db.transaction((ctx) => joinFleet(ctx, report, meta, at, leaseMs));
  }

  heartbeat(epoch: number, report: NodeReport, at: number, leaseMs: number): Promise<HeartbeatResult> {
    return this.#db.read((ctx) => heartbeat(ctx, epoch, report, at, leaseMs));
  }

  leave(at: number): Promise<void> {
    return this.#db.transaction(async (ctx) => {
      await leaveFleet(ctx, at);
      await ctx.run(notifySql());
    });
  }

  candidates(appIds: readonly string[], at: number, limit: number): Promise<TaskRequest[]> {
    return this.#db.read((ctx) => candidates(ctx, appIds, at, limit));
  }

  // Each claim is one statement, so its own transaction: one round trip, no BEGIN and COMMIT around it.
  claimDue(appIds: readonly string[], at: number, limit: number, skip: readonly string[]): Promise<TaskRequest[]> {
    return this.#db.read((ctx) => claimDue(ctx, appIds, at, limit, skip));
  }

  claim(requestIds: readonly string[]): Promise<TaskRequest[]> {
    return this.#db.read((ctx) => claim(ctx, requestIds));
  }

  release(requestIds: readonly string[]): Promise<number> {
    return this.#db.read((ctx) => release(ctx, requestIds));
  }

  nextDue(appIds: readonly string[], at: number): Promise<number | null> {
    return this.#db.read((ctx) => nextDue(ctx, appIds, at));
  }

  maintain(at: number, retentionMs: number): Promise<MaintenanceReport | null> {
    return this.#db.transaction((ctx, client) => maintain(client, ctx, at, retentionMs));
  }

  async notify(): Promise<void> {
    await this.#db.read((ctx) => ctx.run(notifySql()));
  }

  listen(onWake: () => void, onError: (error: Error) => void): Promise<AsyncDisposable> {
    return listenForWork(this.#db.clientConfig, onWake, onError);
  }

  listNodes(): Promise<NodeInfo[]> {
    return this.#db.read((ctx) => listNodes(ctx));
  }

  listFleetRequests(appId?: string): Promise<FleetRequest[]> {
    return this.#db.read((ctx) => listFleetRequests(ctx, appId));
  }

  pagePool(limit: number): Promise<{ requests: FleetRequest[]; size: number }> {
    return this.#db.read((ctx) => pagePool(ctx, limit));
  }

  listFleetRuns(filter?: FleetRunFilter): Promise<FleetRun[]> {
    return this.#db.read((ctx) => listFleetRuns(ctx, filter));
  }
}
