/**
 * Fleet mode: what a store shared by many machines adds to {@link Store}. Only the PostgreSQL store has
 * it; a SQLite store is one machine.
 *
 * Each daemon is a *node*. Its {@link Store} methods see only its own rows (apps, device requests, runs,
 * events), so the scheduler works as on one machine. Requests with placement `'any'` live in a shared
 * pool; a node *claims* the ones it can start now (`FOR UPDATE SKIP LOCKED`), holds them under its
 * lease, and dispatches them like its own. A node's lease covers every claim and every run it holds; its
 * heartbeat renews the lease. When a node stops heartbeating, the node that holds the maintenance lock
 * releases its claims and finishes its `'any'` runs as `interrupted` (reason `nodeLost`), putting their
 * requests back in the pool for another node.
 */
import type { TaskRequest, TaskRun } from '../engine/types.js';

/** The conditions a node reports with each heartbeat (null: its sensors cannot tell). */
export interface NodeConditions {
  readonly online: boolean | null;
  readonly unmetered: boolean | null;
  readonly externalPower: boolean | null;
  readonly lowPowerMode: boolean | null;
  readonly thermal: string | null;
}

/** An app installed on a node. */
export interface NodeApp {
  readonly appId: string;
  readonly enabled: boolean;
}

/** How much work a node takes, and how much it is doing. */
export interface NodeCapacity {
  readonly maxConcurrentTasks: number;
  readonly running: number;
  /** Pool requests the node claimed in the last minute (absent from nodes that do not report it). */
  readonly claimsPerMinute?: number;
  /** How long those had been due when claimed, on average, in ms; null when it claimed none. */
  readonly claimLagMs?: number | null;
}

/** What a node says about itself when it joins and with each heartbeat. */
export interface NodeReport {
  readonly conditions: NodeConditions;
  readonly apps: readonly NodeApp[];
  readonly capacity: NodeCapacity;
}

/** A node as the fleet sees it. */
export interface NodeInfo extends NodeReport {
  readonly nodeId: string;
  readonly hostname: string;
  /** Increases each time the node (re)joins; a heartbeat of an older epoch is refused. */
  readonly epoch: number;
  readonly version: string;
  readonly startedAt: number;
  readonly heartbeatAt: number;
  readonly leaseExpiresAt: number;
  /** Set when the node left cleanly. */
  readonly stoppedAt: number | null;
}

/** The answer to a heartbeat. */
export interface HeartbeatResult {
  /**
   * False when the node's lease had already expired (or another process joined with its id): its
   * claims and runs may have been taken over, and it must join again.
   */
  readonly renewed: boolean;
  /**
   * Why it was not renewed: `expired` (the lease ran out first), or `replaced` when another process
   * joined with this node id since (two daemons configured as one node), with that process's host.
   */
  readonly lost?: { readonly reason: 'expired' | 'replaced'; readonly hostname: string };
  /** Ids of the pool requests this node holds, for reconciling with what it has in memory. */
  readonly held: readonly string[];
}

/** What a maintenance round did; null from {@link FleetStore.maintain} when another node holds the lock. */
export interface MaintenanceReport {
  /** Nodes whose lease had expired and that still held claims or runs. */
  readonly lostNodes: readonly string[];
  /** Pool requests released from lost nodes. */
  readonly released: number;
  /** Runs of lost nodes finished as `interrupted` (reason `nodeLost`). */
  readonly interrupted: readonly TaskRun[];
  /** Requests put back in the pool for those runs. */
  readonly requeued: readonly TaskRequest[];
  /** Finished runs and events older than the retention that were deleted. */
  readonly prunedRuns: number;
  readonly prunedEvents: number;
}

/** A request anywhere in the fleet: a node's own (`nodeId`), or one in the pool (`nodeId` null). */
export interface FleetRequest {
  readonly request: TaskRequest;
  /** The node whose device request this is; null for a pool request. */
  readonly nodeId: string | null;
  /** For a pool request: the node that holds it, or null when no node does. */
  readonly heldBy: string | null;
}

/** A run anywhere in the fleet, with the node that ran it. */
export interface FleetRun {
  readonly run: TaskRun;
  readonly nodeId: string;
}

export interface FleetRunFilter {
  readonly appId?: string;
  readonly identifier?: string;
  readonly nodeId?: string;
  /** Newest first; at most this many. */
  readonly limit?: number;
}

// A node id's rule lives with the wire's other names (the control commands take node ids).
export { NODE_ID_PATTERN, NODE_ID_RULE } from '../protocol/identifiers.js';

/** The channel of LISTEN/NOTIFY wake-ups. */
export const FLEET_CHANNEL = 'bgtasks_fleet';

export interface FleetStore {
  readonly nodeId: string;

  /** Registers (or re-registers) this node and takes its lease until `at + leaseMs`; returns its new epoch. */
  join(
    report: NodeReport,
    meta: { readonly hostname: string; readonly version: string },
    at: number,
    leaseMs: number,
  ): Promise<number>;
  /** Renews the lease of this node at `epoch` until `at + leaseMs`, with its latest report. */
  heartbeat(epoch: number, report: NodeReport, at: number, leaseMs: number): Promise<HeartbeatResult>;
  /** Leaves cleanly: gives up the lease (so its `'any'` runs are taken over at once) and releases its claims. */
  leave(at: number): Promise<void>;

  /** Pool requests no node holds, due at `at`, for these apps; oldest first, at most `limit`. No locks taken. */
  candidates(appIds: readonly string[], at: number, limit: number): Promise<TaskRequest[]>;
  /**
   * Claims, in one statement, the oldest due pool requests of these apps that no node holds, at most
   * `limit`, leaving out `skip` (requests this node gave back a moment ago): a node whose policies
   * started everything it looked at lately claims without looking first, then gives back what it will
   * not start. Rows another node is claiming at the same instant are skipped, never waited for.
   */
  claimDue(appIds: readonly string[], at: number, limit: number, skip: readonly string[]): Promise<TaskRequest[]>;
  /** Claims these pool requests for this node (those still unheld; others skipped, never waited for). */
  claim(requestIds: readonly string[]): Promise<TaskRequest[]>;
  /**
   * Gives pool requests this node holds back to the pool, waking the listening nodes when any went back; returns how
   * many.
   */
  release(requestIds: readonly string[]): Promise<number>;
  /** The earliest `earliestBeginAt` after `at` among unheld pool requests of these apps, or null. */
  nextDue(appIds: readonly string[], at: number): Promise<number | null>;

  /**
   * One round of fleet maintenance, on one node at a time (a PostgreSQL advisory lock): takes over the
   * work of nodes whose lease expired before `at`, and prunes history older than `retentionMs`.
   */
  maintain(at: number, retentionMs: number): Promise<MaintenanceReport | null>;

  /** Wakes every listening node (after new or released work). */
  notify(): Promise<void>;
  /** Calls `onWake` on each notification, on a connection of its own; dispose to stop. */
  listen(onWake: () => void, onError: (error: Error) => void): Promise<AsyncDisposable>;

  listNodes(): Promise<NodeInfo[]>;
  /** Every pending request in the fleet (of one app, or all), oldest submission first. */
  listFleetRequests(appId?: string): Promise<FleetRequest[]>;
  /**
   * The pool's oldest requests (at most `limit`), and how many the pool holds in all: for a picture that must stay
   * small.
   */
  pagePool(limit: number): Promise<{ readonly requests: FleetRequest[]; readonly size: number }>;
  /** Runs anywhere in the fleet, newest first. */
  listFleetRuns(filter?: FleetRunFilter): Promise<FleetRun[]>;
}

/** The fleet side of a store shared by many machines (its `fleet`); null for a store of one machine. */
export function fleetOf(store: object): FleetStore | null {
  return (store as { readonly fleet?: FleetStore }).fleet ?? null;
}
