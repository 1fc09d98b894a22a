/** `bgtasks dashboard`: open the web dashboard, and print its address with its token. */
import type { Command } from 'commander';
import { commandHome } from '../commandHome.js';
import { globalOptions } from '../controlAction.js';
import { runDashboard } from '../dashboard.js';

export function addDashboardCommand(program: Command): void {
  program
    .command('dashboard')
    .description(
      "open the system's web dashboard (running tasks, queue, history, conditions, apps) and print its address " +
        'with its token',
    )
    .option('--no-open', 'only print the address')
    .option('--json', 'print JSON')
    .action((options: { open: boolean; json?: boolean }, command: Command) =>
      runDashboard({ home: commandHome(globalOptions(command)), open: options.open, json: Boolean(options.json) }),
    );
}
