/**
 * `bgtasks cancel APP [IDENTIFIER|TASKID]`: the person's Cancel from the terminal (the dashboard's
 * button, `c` in `bgtasks top`). The daemon's side is src/daemon/commands/cancel.ts.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { CancelResult } from '../daemon/commands/cancel.js';
import { NAME_PATTERN } from '../protocol/identifiers.js';
import { homePaths } from '../shared/paths.js';
import { commandHome, type GlobalOptions } from './commandHome.js';
import { ControlClient } from './controlClient.js';

function appId(value: string): string {
  if (!NAME_PATTERN.test(value)) throw new InvalidArgumentError(`app id must be a reverse-DNS name (letters, digits, ".", "_", "-"), got "${value}"`);
  return value;
}

export function addCancelCommand(program: Command): void {
  program
    .command('cancel')
    .argument('<app>', 'app id', appId)
    .argument('[target]', 'a task identifier (its running task and its pending request) or a task id; none: every pending request of the app and its continued tasks')
    .description('cancel as the person would: a running task expires with reason userCancelled (the app\'s expiration handler runs), a pending request is removed')
    .option('--json', 'print JSON')
    .action(async (app: string, target: string | undefined, options: { json?: boolean }) => {
      const client = await ControlClient.connect(homePaths(commandHome(program.opts<GlobalOptions>())).socket);
      try {
        const result = await client.request<CancelResult>('cancel', { appId: app, ...(target !== undefined ? { target } : {}) });
        process.stdout.write(options.json ? `${JSON.stringify(result)}\n` : `${renderCancel(result)}\n`);
      } finally {
        client.close();
      }
    });
}

export function renderCancel(result: CancelResult): string {
  return result.cancelled
    .map((item) => (item.what === 'task'
      ? `${result.appId} ${item.identifier}: task ${item.taskId} cancelled (${item.kind}; the app's expiration handler runs)`
      : `${result.appId} ${item.identifier}: pending ${item.kind} request removed`))
    .join('\n');
}
