/**
 * How `bgtasks nodes`, `pending --fleet` and `why --fleet` print for people. `--json` prints the
 * commands' data instead (see src/daemon/fleetCommands.ts for its shape).
 */
import { table, time } from './format.js';

type Row = Record<string, unknown>;

interface NodeRow {
  readonly nodeId: string;
  readonly hostname: string;
  readonly state: string;
  readonly self: boolean;
  readonly heartbeatAgeMs: number;
  readonly stoppedAt: number | null;
  readonly version: string;
  readonly apps: readonly { readonly appId: string; readonly enabled: boolean }[];
  readonly capacity: { readonly running: number; readonly maxConcurrentTasks: number; readonly claimsPerMinute?: number; readonly claimLagMs?: number | null };
  readonly conditions: { readonly online: boolean | null; readonly unmetered: boolean | null; readonly externalPower: boolean | null } | null;
}

/** The text for a fleet view, or undefined when `view` is not one. */
export function renderFleet(view: string, data: unknown): string | undefined {
  switch (view) {
    case 'nodes': {
      return table((data as NodeRow[]).map((node) => ({
        node: node.self ? `${node.nodeId} (this)` : node.nodeId,
        host: node.hostname,
        state: node.state,
        heartbeat: node.state === 'stopped' ? `left ${time(node.stoppedAt)}` : `${age(node.heartbeatAgeMs)} ago`,
        apps: node.apps.map((app) => (app.enabled ? app.appId : `${app.appId}(off)`)).join(', ') || '(none)',
        running: `${node.capacity.running}/${node.capacity.maxConcurrentTasks}`,
        'claims/min': node.capacity.claimsPerMinute ?? '-',
        lag: node.capacity.claimLagMs === undefined || node.capacity.claimLagMs === null ? '-' : lagText(node.capacity.claimLagMs),
        conditions: conditionWords(node.conditions),
        version: node.version,
      })), ['node', 'host', 'state', 'heartbeat', 'apps', 'running', 'claims/min', 'lag', 'conditions', 'version']);
    }
    case 'fleetPending':
      return table((data as Row[]).map((request) => ({
        ...request,
        node: placeOf(request),
        earliest: time(request.earliestBeginAt),
        submitted: time(request.submittedAt),
      })), ['appId', 'identifier', 'kind', 'node', 'earliest', 'submitted']);
    case 'fleetWhy':
      return renderFleetWhy(data as FleetWhy);
    default:
      return undefined;
  }
}

/** Where a request is: its node (a device request), `pool`, or `pool → nodeB` once nodeB claimed it. */
export function placeOf(request: Row): string {
  if (request.nodeId !== null && request.nodeId !== undefined) return String(request.nodeId);
  return request.heldBy ? `pool → ${String(request.heldBy)}` : 'pool';
}

interface FleetWhy {
  readonly summary: string;
  readonly nodeId: string;
  readonly requests: readonly {
    readonly requestId: string;
    readonly placement: string;
    readonly code: string;
    readonly nodeId: string | null;
    readonly nodes: readonly { readonly reason: string; readonly eligible: boolean; readonly message: string }[];
  }[];
  readonly running: readonly Row[];
  readonly lastRun: Row | null;
}

/** The fleet's part of `why --fleet`; the caller adds this node's own explanation after it. */
function renderFleetWhy(why: FleetWhy): string {
  const lines = [why.summary];
  for (const request of why.requests) {
    const where = request.placement === 'any' ? 'pool request' : `device request of ${request.nodeId ?? '?'}`;
    lines.push(`  ${where} ${request.requestId} [${request.code}]; nodes (eligible first):`);
    for (const verdict of request.nodes) lines.push(`    ${verdict.eligible ? 'ok  ' : 'NO  '} ${verdict.reason.padEnd(28)} ${verdict.message}`);
    if (request.nodes.length === 0) lines.push('    (no node has joined the fleet)');
  }
  for (const run of why.running) lines.push(`  running on ${String(run.nodeId)}: task ${String(run.taskId)} (${String(run.state)} since ${time(run.startedAt ?? run.launchedAt)})`);
  if (why.lastRun) lines.push(`  last run: on ${String(why.lastRun.nodeId)}, ended ${time(why.lastRun.completedAt)} with ${String(why.lastRun.outcome ?? why.lastRun.state)}`);
  return lines.join('\n');
}

/** `online unmetered ac`, with `?` for what the node cannot tell. */
function conditionWords(conditions: NodeRow['conditions']): string {
  if (!conditions) return '?';
  const word = (value: boolean | null, yes: string, no: string, unknown: string): string => (value === null ? unknown : value ? yes : no);
  return [
    word(conditions.online, 'online', 'offline', 'network?'),
    word(conditions.unmetered, 'unmetered', 'metered', 'cost?'),
    word(conditions.externalPower, 'ac', 'battery', 'power?'),
  ].join(' ');
}

/** `4s`, `12m`, `3h`, `2d`. */
/** How long claimed requests had been due: ms below a second, where a busy fleet's lag lives. */
function lagText(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : age(ms);
}

function age(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86_400)}d`;
}
