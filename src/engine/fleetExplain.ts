/**
 * "Why hasn't it run?" across a fleet (`bgtasks why --fleet`): for a pending request, what each node
 * would say about running it, and what that means for the request.
 *
 * The engine may not import the store, so the inputs are declared here by the fields they need; the
 * store's `FleetRequest`, `NodeInfo` and `FleetRun` fit them as they are.
 */
import { isoTime } from './policy.js';
import type { RunState, TaskRequest } from './types.js';

/** What one node says about running the request, in the order they are checked. */
export const NODE_REASONS = [
  /** It left the fleet cleanly. */
  'nodeStopped',
  /** Its lease expired: no heartbeat for too long. */
  'nodeLost',
  'appNotInstalled',
  'appDisabled',
  'requiresNetworkConnectivity',
  'requiresUnmeteredNetwork',
  'requiresExternalPower',
  /** It runs as many tasks as it takes. */
  'busy',
  'eligible',
] as const;
export type NodeReason = (typeof NODE_REASONS)[number];

/** Where the request stands in the fleet. */
export const FLEET_SUMMARIES = [
  /** A device request: only its own node runs it. */
  'deviceOnly',
  /** A node claimed it and starts it at its next scheduling pass. */
  'heldBy',
  /** Its `earliestBeginAt` is in the future. */
  'notDue',
  /** No live node can run it now. */
  'noEligibleNode',
  /** A node can run it: one claims it within a heartbeat. */
  'waitingForClaim',
] as const;
export type FleetSummaryCode = (typeof FLEET_SUMMARIES)[number];

/** The conditions a node reported (null: its sensors cannot tell). */
export interface ExplainNodeConditions {
  readonly online: boolean | null;
  readonly unmetered: boolean | null;
  readonly externalPower: boolean | null;
}

/** A node, by the fields this module reads (the store's `NodeInfo` fits). */
export interface ExplainNode {
  readonly nodeId: string;
  readonly hostname: string;
  readonly heartbeatAt: number;
  readonly leaseExpiresAt: number;
  readonly stoppedAt: number | null;
  readonly conditions: ExplainNodeConditions | null;
  readonly apps: readonly { readonly appId: string; readonly enabled: boolean }[];
  readonly capacity: { readonly maxConcurrentTasks: number; readonly running: number };
}

/** A pending request with where it lives (the store's `FleetRequest` fits). */
export interface ExplainFleetRequest {
  readonly request: TaskRequest;
  readonly nodeId: string | null;
  readonly heldBy: string | null;
}

/** A run with the node that runs it (the store's `FleetRun` fits). */
export interface ExplainRun {
  readonly run: {
    readonly taskId: string;
    readonly appId: string;
    readonly identifier: string;
    readonly state: RunState;
  };
  readonly nodeId: string;
}

export interface NodeVerdict {
  readonly nodeId: string;
  readonly hostname: string;
  readonly reason: NodeReason;
  readonly eligible: boolean;
  /** Conditions the request depends on that the node cannot tell (counted as met, as on one machine). */
  readonly unknown: readonly string[];
  /** For a person: `nodeB: it is offline`. */
  readonly message: string;
}

export interface FleetExplanation {
  readonly appId: string;
  readonly identifier: string;
  readonly requestId: string;
  readonly placement: 'device' | 'any';
  readonly code: FleetSummaryCode;
  /** The node the summary names: the request's own node (`deviceOnly`) or its holder (`heldBy`). */
  readonly nodeId: string | null;
  /** For `notDue`: when it becomes due. */
  readonly at: number | null;
  /** One paragraph for a person. */
  readonly summary: string;
  /** One verdict per node (for a device request, its own node only), the eligible ones first. */
  readonly nodes: readonly NodeVerdict[];
  /** Active runs of the same identifier anywhere in the fleet. */
  readonly runningOn: readonly { readonly nodeId: string; readonly taskId: string }[];
}

/** Whether a node counts as a member now: its lease holds and it has not left. */
export function isNodeLive(node: Pick<ExplainNode, 'leaseExpiresAt' | 'stoppedAt'>, now: number): boolean {
  return node.stoppedAt === null && node.leaseExpiresAt >= now;
}

/** A node's state for people: `alive`, `lost` (its lease expired) or `stopped` (it left cleanly). */
export type NodeState = 'alive' | 'lost' | 'stopped';

export function nodeState(node: Pick<ExplainNode, 'leaseExpiresAt' | 'stoppedAt'>, now: number): NodeState {
  return node.stoppedAt !== null ? 'stopped' : node.leaseExpiresAt >= now ? 'alive' : 'lost';
}

/** What `node` says about running `request` at `now`. */
export function judgeNode(request: TaskRequest, node: ExplainNode, now: number): NodeVerdict {
  const verdict = (reason: NodeReason, text: string, unknown: readonly string[] = []): NodeVerdict => ({
    nodeId: node.nodeId,
    hostname: node.hostname,
    reason,
    eligible: reason === 'eligible',
    unknown,
    message: `${node.nodeId}: ${text}`,
  });
  if (node.stoppedAt !== null) return verdict('nodeStopped', `it left the fleet at ${isoTime(node.stoppedAt)}`);
  if (node.leaseExpiresAt < now)
    return verdict(
      'nodeLost',
      `it is lost: no heartbeat for ${age(now - node.heartbeatAt)} (its lease ` +
        `expired at ${isoTime(node.leaseExpiresAt)})`,
    );
  const app = node.apps.find((candidate) => candidate.appId === request.appId);
  if (!app) return verdict('appNotInstalled', `${request.appId} is not installed there`);
  if (!app.enabled) return verdict('appDisabled', `${request.appId} is disabled there`);
  const conditions = node.conditions ?? { online: null, unmetered: null, externalPower: null };
  const unknown: string[] = [];
  const needsNetwork = request.requiresNetworkConnectivity || request.requiresUnmeteredNetwork;
  if (needsNetwork && conditions.online === false)
    return verdict('requiresNetworkConnectivity', 'it requires network connectivity and the node is offline');
  if (needsNetwork && conditions.online === null) unknown.push('network');
  if (request.requiresUnmeteredNetwork && conditions.unmetered === false)
    return verdict('requiresUnmeteredNetwork', 'it requires an unmetered network and the node’s network is metered');
  if (request.requiresUnmeteredNetwork && conditions.unmetered === null) unknown.push('network cost');
  if (request.requiresExternalPower && conditions.externalPower === false)
    return verdict('requiresExternalPower', 'it requires external power and the node is on battery');
  if (request.requiresExternalPower && conditions.externalPower === null) unknown.push('power source');
  const { running, maxConcurrentTasks } = node.capacity;
  if (running >= maxConcurrentTasks)
    return verdict('busy', `it is busy: ${running} of ${maxConcurrentTasks} tasks running`, unknown);
  const caveat =
    unknown.length > 0
      ? ` (its ${unknown.join(' and ')} ${unknown.length > 1 ? 'are' : 'is'} ` + `unknown, counted as met)`
      : '';
  return verdict('eligible', `it can run it${caveat}`, unknown);
}

/** Explains why the pending `fleetRequest` has not run, from the nodes and the active runs at `now`. */
export function explainFleetRequest(
  fleetRequest: ExplainFleetRequest,
  nodes: readonly ExplainNode[],
  activeRuns: readonly ExplainRun[],
  now: number,
): FleetExplanation {
  const { request } = fleetRequest;
  const { appId, identifier, requestId } = request;
  const placement = request.placement === 'any' ? 'any' : 'device';
  const runningOn = activeRuns
    .filter(({ run }) => run.appId === appId && run.identifier === identifier && run.state !== 'finished')
    .map(({ run, nodeId }) => ({ nodeId, taskId: run.taskId }));
  const running =
    runningOn.length > 0 ? ` A run of it is active on ${runningOn.map((entry) => entry.nodeId).join(', ')}.` : '';
  const base = { appId, identifier, requestId, placement, runningOn } as const;

  if (placement === 'device') {
    const own = nodes.find((node) => node.nodeId === fleetRequest.nodeId);
    const verdicts = own ? [judgeNode(request, own, now)] : [];
    const name = fleetRequest.nodeId ?? 'an unknown node';
    const state = !own
      ? ` ${name} is not in the fleet's list of nodes.`
      : !isNodeLive(own, now)
        ? ` ${verdicts[0]!.message}.`
        : '';
    return {
      ...base,
      code: 'deviceOnly',
      nodeId: fleetRequest.nodeId,
      at: null,
      nodes: verdicts,
      summary:
        `${identifier} is a device request of ${name}: only ${name} runs it ` +
        `(\`bgtasks why ${appId} ${identifier}\` there says what holds ` +
        `it).${state}${running}`,
    };
  }

  const verdicts = nodes.map((node) => judgeNode(request, node, now)).sort(byVerdict);
  const eligible = verdicts.filter((verdict) => verdict.eligible).map((verdict) => verdict.nodeId);

  if (fleetRequest.heldBy !== null) {
    const holder = nodes.find((node) => node.nodeId === fleetRequest.heldBy);
    const gone = holder === undefined || !isNodeLive(holder, now);
    const summary = gone
      ? `${identifier} is held by ${fleetRequest.heldBy}, which is no longer live: ` +
        `the next maintenance round gives it back to the pool.`
      : `${identifier} is claimed by ${fleetRequest.heldBy} and starts there at its next scheduling pass.`;
    return {
      ...base,
      code: 'heldBy',
      nodeId: fleetRequest.heldBy,
      at: null,
      nodes: verdicts,
      summary: summary + running,
    };
  }

  if (request.earliestBeginAt !== null && request.earliestBeginAt > now) {
    const then = eligible.length > 0 ? `then ${listNodes(eligible)} could claim it` : 'no node could run it now';
    return {
      ...base,
      code: 'notDue',
      nodeId: null,
      at: request.earliestBeginAt,
      nodes: verdicts,
      summary:
        `${identifier} is not due until ${isoTime(request.earliestBeginAt)} (in ` +
        `${age(request.earliestBeginAt - now)}); ${then}.${running}`,
    };
  }

  if (eligible.length === 0) {
    const why =
      verdicts.length === 0 ? 'no node has joined the fleet' : verdicts.map((verdict) => verdict.message).join('; ');
    return {
      ...base,
      code: 'noEligibleNode',
      nodeId: null,
      at: null,
      nodes: verdicts,
      summary: `No node can run ${identifier} now (${why}). It waits in the pool until one can.${running}`,
    };
  }
  return {
    ...base,
    code: 'waitingForClaim',
    nodeId: null,
    at: null,
    nodes: verdicts,
    summary:
      `${identifier} waits in the pool: ${listNodes(eligible)} can run it, and one ` +
      `claims it within a heartbeat.${running}`,
  };
}

/** Eligible nodes first, then the nearest to eligible (busy before lost), then by id. */
function byVerdict(a: NodeVerdict, b: NodeVerdict): number {
  return NODE_REASONS.indexOf(b.reason) - NODE_REASONS.indexOf(a.reason) || a.nodeId.localeCompare(b.nodeId);
}

function listNodes(ids: readonly string[]): string {
  return ids.length === 1 ? ids[0]! : `${ids.slice(0, -1).join(', ')} or ${ids.at(-1)!}`;
}

/** A duration for a person: `45 s`, `12 min`, `3 h`, `2 d`. */
function age(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} d`;
}
