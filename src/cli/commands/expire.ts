/** `bgtasks expire APP IDENTIFIER`: expire a running task now. */
import type { Command } from 'commander';
import { appId, identifier } from '../arguments.js';
import { callAndPrint } from '../controlAction.js';
import { keyValueLines } from '../format.js';

export function addExpireCommand(program: Command): void {
  program
    .command('expire')
    .argument('<app>', 'app id', appId)
    .argument('<identifier>', 'task identifier', identifier)
    .description('expire a running task now (like _simulateExpirationForTaskWithIdentifier)')
    .option('--json', 'print JSON')
    .action((app: string, task: string, _options: unknown, command: Command) =>
      callAndPrint(command, 'expire', { appId: app, identifier: task }, keyValueLines),
    );
}
