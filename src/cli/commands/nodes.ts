/** `bgtasks nodes`: the nodes of the fleet (daemons sharing one PostgreSQL store). */
import type { Command } from 'commander';
import type { NodeView } from '../../protocol/control/index.js';
import { callAndPrint } from '../controlAction.js';
import { table, time } from '../format.js';

/** What the table reads of a node (a node that does not report its claims shows "-"). */
export type NodeRow = Pick<NodeView, 'nodeId' | 'hostname' | 'self' | 'heartbeatAgeMs' | 'stoppedAt' | 'version'> & {
  readonly state: string;
  readonly apps: readonly { readonly appId: string; readonly enabled: boolean }[];
  readonly capacity: {
    readonly running: number;
    readonly maxConcurrentTasks: number;
    readonly claimsPerMinute?: number;
    readonly claimLagMs?: number | null;
  };
  readonly conditions: {
    readonly online: boolean | null;
    readonly unmetered: boolean | null;
    readonly externalPower: boolean | null;
  } | null;
};

const COLUMNS = ['node', 'host', 'state', 'heartbeat', 'apps', 'running', 'claims/min', 'lag', 'conditions', 'version'];

export function addNodesCommand(program: Command): void {
  program
    .command('nodes')
    .description(
      'list the nodes of the fleet (daemons sharing one PostgreSQL store): alive, lost or stopped, their apps, ' +
        'load and conditions',
    )
    .option('--json', 'print JSON')
    .action((_options: unknown, command: Command) => callAndPrint(command, 'fleet.nodes', {}, renderNodes));
}

export function renderNodes(nodes: readonly NodeRow[]): string {
  return table(
    nodes.map((node) => ({
      node: node.self ? `${node.nodeId} (this)` : node.nodeId,
      host: node.hostname,
      state: node.state,
      heartbeat: node.state === 'stopped' ? `left ${time(node.stoppedAt)}` : `${age(node.heartbeatAgeMs)} ago`,
      apps: node.apps.map((app) => (app.enabled ? app.appId : `${app.appId}(off)`)).join(', ') || '(none)',
      running: `${node.capacity.running}/${node.capacity.maxConcurrentTasks}`,
      'claims/min': node.capacity.claimsPerMinute ?? '-',
      lag: typeof node.capacity.claimLagMs === 'number' ? lagText(node.capacity.claimLagMs) : '-',
      conditions: conditionWords(node.conditions),
      version: node.version,
    })),
    COLUMNS,
  );
}

/** `online unmetered ac`, with `?` for what the node cannot tell. */
function conditionWords(conditions: NodeRow['conditions']): string {
  if (!conditions) return '?';
  const word = (value: boolean | null, yes: string, no: string, unknown: string): string =>
    value === null ? unknown : value ? yes : no;
  return [
    word(conditions.online, 'online', 'offline', 'network?'),
    word(conditions.unmetered, 'unmetered', 'metered', 'cost?'),
    word(conditions.externalPower, 'ac', 'battery', 'power?'),
  ].join(' ');
}

/** How long claimed requests had been due: ms below a second, where a busy fleet's lag lives. */
function lagText(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : age(ms);
}

/** `4s`, `12m`, `3h`, `2d`. */
function age(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86_400)}d`;
}
