/** `bgtasks open APP`: launch an app as the user would. */
import type { Command } from 'commander';
import { appId } from '../arguments.js';
import { callAndPrint } from '../controlAction.js';
import { keyValueLines } from '../format.js';

export function addOpenCommand(program: Command): void {
  program
    .command('open')
    .argument('<app>', 'app id', appId)
    .description('launch an app as the user would (its launchReason is "user")')
    .option('--json', 'print JSON')
    .action((app: string, _options: unknown, command: Command) =>
      callAndPrint(command, 'open', { appId: app }, keyValueLines),
    );
}
