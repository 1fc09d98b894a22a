/**
 * The control commands that show the fleet (`bgtasks nodes`, `pending --fleet`, `history --fleet`,
 * `why --fleet`). They read the shared store, so every node answers them the same; only `fleet.why` adds
 * what this node's own scheduler says when it holds the request. A daemon on SQLite has no fleet and
 * refuses them with `notFleet`.
 */
import type { Clock } from '../../engine/clock.js';
import { explainFleetRequest, nodeState, type FleetExplanation } from '../../engine/fleetExplain.js';
import type { FleetRequestView, FleetRunView, FleetWhyResult, NodeView } from '../../protocol/control/index.js';
import type { FleetRequest, FleetRun, FleetStore, NodeInfo } from '../../store/fleet.js';
import { DaemonError } from '../errors.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { ControlHandlers } from './handlers.js';

export interface FleetCommandDeps {
  /** The shared store; null when the daemon's store is one machine's (SQLite). */
  readonly fleet: FleetStore | null;
  readonly scheduler: Pick<Scheduler, 'why' | 'apps'>;
  readonly clock: Pick<Clock, 'now'>;
}

/** Active runs are found among this many newest runs of the identifier. */
const WHY_RUNS = 20;

export function nodeView(node: NodeInfo, now: number, self: string): NodeView {
  const state = nodeState(node, now);
  const heartbeatAgeMs = Math.max(0, now - node.heartbeatAt);
  return { ...node, state, alive: state === 'alive', heartbeatAgeMs, self: node.nodeId === self };
}

export function fleetRequestView({ request, nodeId, heldBy }: FleetRequest): FleetRequestView {
  return { ...request, placement: request.placement === 'any' ? 'any' : 'device', nodeId, heldBy };
}

export function fleetRunView({ run, nodeId }: FleetRun): FleetRunView {
  return { ...run, nodeId };
}

type FleetCommand = 'fleet.nodes' | 'fleet.pending' | 'fleet.history' | 'fleet.why';

/** The `fleet.*` entries of the control commands. */
export function fleetCommands(deps: FleetCommandDeps): ControlHandlers<FleetCommand> {
  const shared = (): FleetStore => {
    if (deps.fleet) return deps.fleet;
    const message = "this daemon's store is not shared by a fleet: start it with --store postgres://…";
    throw new DaemonError('notFleet', message);
  };
  return {
    'fleet.nodes': async () => {
      const fleet = shared();
      const nodes = await fleet.listNodes();
      const now = deps.clock.now();
      return nodes.map((node) => nodeView(node, now, fleet.nodeId));
    },
    'fleet.pending': async ({ appId }) => {
      const requests = await shared().listFleetRequests(appId);
      return requests.map(fleetRequestView);
    },
    'fleet.history': async (args) => {
      const runs = await shared().listFleetRuns(args);
      return runs.map(fleetRunView);
    },
    'fleet.why': ({ appId, identifier }) => why(shared(), deps, appId, identifier),
  };
}

/** `fleet.why`: each pending request of the identifier in the fleet, explained; this node's view when it holds one. */
async function why(
  fleet: FleetStore,
  deps: FleetCommandDeps,
  appId: string,
  identifier: string,
): Promise<FleetWhyResult> {
  const [nodes, requests, runs] = await Promise.all([
    fleet.listNodes(),
    fleet.listFleetRequests(appId),
    fleet.listFleetRuns({ appId, identifier, limit: WHY_RUNS }),
  ]);
  const at = deps.clock.now();
  const matching = requests.filter(({ request }) => request.identifier === identifier);
  const active = runs.filter(({ run }) => run.state !== 'finished');
  const explanations: FleetExplanation[] = matching.map((request) => explainFleetRequest(request, nodes, active, at));
  const self = fleet.nodeId;
  const holds =
    matching.some((request) => request.nodeId === self || request.heldBy === self) ||
    active.some((run) => run.nodeId === self);
  const local = holds && deps.scheduler.apps.get(appId) ? await deps.scheduler.why(appId, identifier) : null;
  const lastRun = runs.find(({ run }) => run.state === 'finished') ?? null;
  return {
    appId,
    identifier,
    at,
    nodeId: self,
    summary: whySummary(identifier, explanations, active, lastRun),
    requests: explanations,
    running: active.map(fleetRunView),
    lastRun: lastRun && fleetRunView(lastRun),
    local,
  };
}

function whySummary(
  identifier: string,
  explanations: readonly FleetExplanation[],
  active: readonly FleetRun[],
  lastRun: FleetRun | null,
): string {
  if (explanations.length > 0) return explanations.map((explanation) => explanation.summary).join(' ');
  if (active.length > 0) {
    return `${identifier} has no pending request: it is running on ${active.map((run) => run.nodeId).join(', ')}.`;
  }
  const last = lastRun
    ? ` Its last run was on ${lastRun.nodeId} and ended with outcome ${lastRun.run.outcome ?? 'unknown'}.`
    : ' It was never submitted, or it was cancelled.';
  return `${identifier} has no pending request in the fleet.${last}`;
}
