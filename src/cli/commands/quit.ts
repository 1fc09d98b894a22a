/** `bgtasks quit APP`: force-quit an app as the user would. */
import type { Command } from 'commander';
import { appId } from '../arguments.js';
import { callAndPrint } from '../controlAction.js';
import { keyValueLines } from '../format.js';

export function addQuitCommand(program: Command): void {
  program
    .command('quit')
    .argument('<app>', 'app id', appId)
    .description('force-quit an app as the user would: no background launches until the user opens it again')
    .option('--json', 'print JSON')
    .action((app: string, _options: unknown, command: Command) =>
      callAndPrint(command, 'quit', { appId: app }, keyValueLines),
    );
}
