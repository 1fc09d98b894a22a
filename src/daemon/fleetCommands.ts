/**
 * The control commands that show the fleet (`bgtasks nodes`, `pending --fleet`, `history --fleet`,
 * `why --fleet`). They read the shared store, so every node answers them the same; only `fleet.why` adds
 * what this node's own scheduler says when it holds the request. A daemon on SQLite has no fleet and
 * refuses them with `notFleet`.
 */
import { z } from 'zod';
import type { Clock } from '../engine/clock.js';
import { explainFleetRequest, nodeState, type FleetExplanation } from '../engine/fleetExplain.js';
import type { TaskRun } from '../engine/types.js';
import { appIdSchema, identifierSchema } from '../protocol/identifiers.js';
import { NODE_ID_PATTERN, NODE_ID_RULE, type FleetRequest, type FleetRun, type FleetStore, type NodeInfo } from '../store/fleet.js';
import type { ControlCommandEntry } from './control.js';
import { DaemonError } from './errors.js';

import type { Scheduler } from './scheduler/scheduler.js';

export interface FleetCommandDeps {
  /** The shared store; null when the daemon's store is one machine's (SQLite). */
  readonly fleet: FleetStore | null;
  readonly scheduler: Pick<Scheduler, 'why' | 'apps'>;
  readonly clock: Pick<Clock, 'now'>;
}

/** A node as `fleet.nodes` returns it: with its state now, the time since its last heartbeat, and whether it is this node. */
export type NodeView = NodeInfo & { readonly state: ReturnType<typeof nodeState>; readonly alive: boolean; readonly heartbeatAgeMs: number; readonly self: boolean };
/** A pending request with where it is: `nodeId` null for the pool, `heldBy` the node that claimed it. */
export type FleetRequestView = Omit<FleetRequest['request'], 'placement'> & { readonly placement: 'device' | 'any'; readonly nodeId: string | null; readonly heldBy: string | null };
/** A run with the node that ran it. */
export type FleetRunView = TaskRun & { readonly nodeId: string };

const nodeIdSchema = z.string().regex(NODE_ID_PATTERN, `must be a node id: ${NODE_ID_RULE}`);
/** Active runs are found among this many newest runs of the identifier. */
const WHY_RUNS = 20;

export function nodeView(node: NodeInfo, now: number, self: string): NodeView {
  const state = nodeState(node, now);
  return { ...node, state, alive: state === 'alive', heartbeatAgeMs: Math.max(0, now - node.heartbeatAt), self: node.nodeId === self };
}

export function fleetRequestView({ request, nodeId, heldBy }: FleetRequest): FleetRequestView {
  return { ...request, placement: request.placement === 'any' ? 'any' : 'device', nodeId, heldBy };
}

export function fleetRunView({ run, nodeId }: FleetRun): FleetRunView {
  return { ...run, nodeId };
}

/** The `fleet.*` entries of the control commands. */
export function fleetCommands(deps: FleetCommandDeps): Record<string, ControlCommandEntry> {
  const shared = (): FleetStore => {
    if (deps.fleet) return deps.fleet;
    throw new DaemonError('notFleet', 'this daemon\'s store is not shared by a fleet: start it with --store postgres://…');
  };
  return {
    'fleet.nodes': {
      schema: z.strictObject({}),
      run: async () => {
        const fleet = shared();
        const nodes = await fleet.listNodes();
        const now = deps.clock.now();
        return nodes.map((node) => nodeView(node, now, fleet.nodeId));
      },
    },
    'fleet.pending': {
      schema: z.strictObject({ appId: appIdSchema.optional() }),
      run: async ({ appId }: { appId?: string }) => {
        const requests = await shared().listFleetRequests(appId);
        return requests.map(fleetRequestView);
      },
    },
    'fleet.history': {
      schema: z.strictObject({
        appId: appIdSchema.optional(),
        identifier: identifierSchema.optional(),
        nodeId: nodeIdSchema.optional(),
        limit: z.number().int().min(1).max(10_000).default(50),
      }),
      run: async (args: { appId?: string; identifier?: string; nodeId?: string; limit: number }) => {
        const runs = await shared().listFleetRuns(args);
        return runs.map(fleetRunView);
      },
    },
    'fleet.why': {
      schema: z.strictObject({ appId: appIdSchema, identifier: identifierSchema }),
      run: ({ appId, identifier }: { appId: string; identifier: string }) => why(shared(), deps, appId, identifier),
    },
  };
}

/** `fleet.why`: each pending request of the identifier in the fleet, explained; and this node's view when it holds one. */
async function why(fleet: FleetStore, deps: FleetCommandDeps, appId: string, identifier: string): Promise<unknown> {
  const [nodes, requests, runs] = await Promise.all([fleet.listNodes(), fleet.listFleetRequests(appId), fleet.listFleetRuns({ appId, identifier, limit: WHY_RUNS })]);
  const at = deps.clock.now();
  const matching = requests.filter(({ request }) => request.identifier === identifier);
  const active = runs.filter(({ run }) => run.state !== 'finished');
  const explanations: FleetExplanation[] = matching.map((request) => explainFleetRequest(request, nodes, active, at));
  const self = fleet.nodeId;
  const holds = matching.some((request) => request.nodeId === self || request.heldBy === self) || active.some((run) => run.nodeId === self);
  const local = holds && deps.scheduler.apps.get(appId) ? await deps.scheduler.why(appId, identifier) : null;
  const lastRun = runs.find(({ run }) => run.state === 'finished') ?? null;
  let summary: string;
  if (explanations.length > 0) summary = explanations.map((explanation) => explanation.summary).join(' ');
  else if (active.length > 0) summary = `${identifier} has no pending request: it is running on ${active.map((run) => run.nodeId).join(', ')}.`;
  else summary = `${identifier} has no pending request in the fleet.${lastRun ? ` Its last run was on ${lastRun.nodeId} and ended with outcome ${lastRun.run.outcome ?? 'unknown'}.` : ' It was never submitted, or it was cancelled.'}`;
  return {
    appId,
    identifier,
    at,
    nodeId: self,
    summary,
    requests: explanations,
    running: active.map(fleetRunView),
    lastRun: lastRun && fleetRunView(lastRun),
    local,
  };
}
