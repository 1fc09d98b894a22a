/** `bgtasks uninstall APP`: the app, its pending requests and its credential go; its history stays. */
import type { Command } from 'commander';
import { appId } from '../arguments.js';
import { callAndPrint } from '../controlAction.js';
import { keyValueLines } from '../format.js';

export function addUninstallCommand(program: Command): void {
  program
    .command('uninstall')
    .argument('<app>', 'app id', appId)
    .description('remove an app, its pending requests and its credential (its history stays)')
    .option('--json', 'print JSON')
    .action((app: string, _options: unknown, command: Command) =>
      callAndPrint(command, 'uninstall', { appId: app }, keyValueLines),
    );
}
