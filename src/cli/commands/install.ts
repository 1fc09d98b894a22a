/** `bgtasks install DIR`: check an app's manifest, record it, and issue it a credential. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { InstallResult } from '../../protocol/control/index.js';
import { callAndPrint } from '../controlAction.js';

export function addInstallCommand(program: Command): void {
  program
    .command('install')
    .argument('<dir>', 'the app\'s directory (with a package.json that has a "bgtasks" section)')
    .description('install an app: check its manifest, record it, and issue it a credential')
    .option('--rotate-credential', 'issue a new credential even if the app has one')
    .option('--json', 'print JSON')
    .action((dir: string, options: { rotateCredential?: boolean }, command: Command) => {
      const args = { dir: resolve(dir), rotateCredential: Boolean(options.rotateCredential) };
      return callAndPrint(command, 'install', args, renderInstall);
    });
}

function renderInstall(app: InstallResult): string {
  const state = app.reinstalled ? 'reinstalled' : app.enabled === false ? 'disabled' : 'installed';
  return [
    `${app.appId}: ${state} from ${app.dir}`,
    `  launch: ${app.launch.join(' ')}`,
    `  permitted: ${app.permittedIdentifiers.join(', ')}`,
    `  modes: ${app.backgroundModes.join(', ') || '(none)'}`,
    `  enabled: ${String(app.enabled)}`,
  ].join('\n');
}
