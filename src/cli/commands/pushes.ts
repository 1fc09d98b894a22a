/** `bgtasks pushes [APP]`: background pushes and what became of each. */
import type { Command } from 'commander';
import type { PushesResult } from '../../protocol/control/index.js';
import type { PUSH_STATES } from '../../engine/push.js';
import { appId, whole } from '../arguments.js';
import { callAndPrint } from '../controlAction.js';
import { table, time } from '../format.js';

const COLUMNS = ['seq', 'appId', 'pushId', 'priority', 'collapseId', 'received', 'attempts', 'outcome', 'why'];

export function addPushesCommand(program: Command): void {
  program
    .command('pushes')
    .argument('[app]', 'only this app (and its counts)', appId)
    .option('--state <state>', 'pending, delivered, collapsed, expired or failed')
    .option('--limit <n>', 'how many, newest first', whole, 50)
    .description('list background pushes and what became of each')
    .option('--json', 'print JSON')
    .action((app: string | undefined, options: { state?: string; limit: number }, command: Command) => {
      // The daemon checks the state against its list and names the field when it is not one.
      const state = options.state as (typeof PUSH_STATES)[number] | undefined;
      const args = { ...(app ? { appId: app } : {}), ...(state ? { state } : {}), limit: options.limit };
      return callAndPrint(command, 'pushes', args, renderPushes);
    });
}

function renderPushes({ pushes, counts }: PushesResult): string {
  const rows = table(
    pushes.map((push) => ({
      ...push,
      received: time(push.receivedAt),
      outcome: push.state === 'delivered' ? `delivered: ${String(push.result)}` : push.state,
      why: push.reason ?? '',
    })),
    COLUMNS,
  );
  if (!counts) return rows;
  return `${rows}\n${Object.entries(counts)
    .map(([state, count]) => `${state} ${String(count)}`)
    .join(', ')}`;
}
