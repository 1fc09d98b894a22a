/** `bgtasks pending [APP]`: pending requests and what each waits for; with `--fleet`, every node's and the pool's. */
import type { Command } from 'commander';
import type { FleetRequestView, PendingRequest } from '../../protocol/control/index.js';
import { appId } from '../arguments.js';
import { callAndPrint } from '../controlAction.js';
import { shortJson, table, time } from '../format.js';

export function addPendingCommand(program: Command): void {
  program
    .command('pending')
    .argument('[app]', 'only this app', appId)
    .description("list pending requests and what each waits for (with --fleet: every node's, and the pool)")
    .option('--fleet', 'every pending request in the fleet, with the node that has it')
    .option('--json', 'print JSON')
    .action((app: string | undefined, options: { fleet?: boolean }, command: Command) => {
      const args = app ? { appId: app } : {};
      return options.fleet
        ? callAndPrint(command, 'fleet.pending', args, renderFleetPending)
        : callAndPrint(command, 'pending', args, renderPending);
    });
}

function renderPending(requests: readonly PendingRequest[]): string {
  return table(
    requests.map((request) => ({
      ...request,
      earliest: time(request.earliestBeginAt),
      submitted: time(request.submittedAt),
      waitsFor: request.eligible ? 'nothing (eligible)' : `${request.reasons.join(', ')}: ${String(request.message)}`,
      after: request.dependsOn ? request.dependsOn.join(', ') : null,
      data: shortJson(request.data),
      schedule: request.schedule ?? '-',
    })),
    ['appId', 'identifier', 'kind', 'earliest', 'submitted', 'schedule', 'after', 'data', 'waitsFor'],
  );
}

function renderFleetPending(requests: readonly FleetRequestView[]): string {
  return table(
    requests.map((request) => ({
      ...request,
      node: placeOf(request),
      earliest: time(request.earliestBeginAt),
      submitted: time(request.submittedAt),
    })),
    ['appId', 'identifier', 'kind', 'node', 'earliest', 'submitted'],
  );
}

/** Where a request is: its node (a device request), `pool`, or `pool → nodeB` once nodeB claimed it. */
function placeOf(request: FleetRequestView): string {
  if (request.nodeId !== null && request.nodeId !== undefined) return request.nodeId;
  return request.heldBy ? `pool → ${request.heldBy}` : 'pool';
}
