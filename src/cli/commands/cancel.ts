/**
 * `bgtasks cancel APP [IDENTIFIER|TASKID]`: the person's Cancel from the terminal (the dashboard's
 * button, `c` in `bgtasks top`). The daemon's side is src/daemon/commands/cancel.ts.
 */
import type { Command } from 'commander';
import type { CancelResult } from '../../protocol/control/index.js';
import { appId } from '../arguments.js';
import { withClient } from '../controlAction.js';

export function addCancelCommand(program: Command): void {
  program
    .command('cancel')
    .argument('<app>', 'app id', appId)
    .argument(
      '[target]',
      'a task identifier (its running task and its pending request) or a task id; none: every pending request of ' +
        'the app and its continued tasks',
    )
    .description(
      "cancel as the person would: a running task expires with reason userCancelled (the app's expiration handler " +
        'runs), a pending request is removed',
    )
    .option('--json', 'print JSON')
    .action(async (app: string, target: string | undefined, options: { json?: boolean }, command: Command) => {
      const args = { appId: app, ...(target !== undefined ? { target } : {}) };
      const result = await withClient(command, (client) => client.call('cancel', args));
      // One line of JSON, unlike the other commands' indented JSON: scripts already read it so.
      process.stdout.write(options.json ? `${JSON.stringify(result)}\n` : `${renderCancel(result)}\n`);
    });
}

function renderCancel(result: CancelResult): string {
  return result.cancelled
    .map((item) =>
      item.what === 'task'
        ? `${result.appId} ${item.identifier}: task ${item.taskId} cancelled (${item.kind}; ` +
          "the app's expiration handler runs)"
        : `${result.appId} ${item.identifier}: pending ${item.kind} request removed`,
    )
    .join('\n');
}
