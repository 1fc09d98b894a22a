/**
 * `bgtasks apps`: installed apps with their budgets; `apps enable|disable` switch them, `apps token`
 * prints the push token.
 */
import type { Command } from 'commander';
import type { AppListing } from '../../protocol/control/index.js';
import { appId } from '../arguments.js';
import { callAndPrint } from '../controlAction.js';
import { keyValueLines, table } from '../format.js';
import { appState, budget, cpuBudget, ranOnceLines } from '../usageText.js';

const COLUMNS = [
  'appId',
  'enabled',
  'running',
  'processes',
  'pending',
  'activeTasks',
  'launches',
  'bgTime',
  'bgCpu',
  'state',
];

/** Adds `apps` and its subcommands; returns it. */
export function addAppsCommand(program: Command): Command {
  const apps = program
    .command('apps')
    .description('list installed apps with their background budgets (and switch Background App Refresh)')
    .option('--json', 'print JSON');
  apps.action((_options: unknown, command: Command) => callAndPrint(command, 'apps', {}, renderApps));
  for (const verb of ['enable', 'disable'] as const) {
    apps
      .command(verb)
      .argument('[app]', 'app id', appId)
      .description(
        `switch Background App Refresh ${verb === 'enable' ? 'on' : 'off'} for an app, or with --all for every app`,
      )
      .option('--all', 'the global switch')
      .option('--json', 'print JSON')
      .action((app: string | undefined, options: { all?: boolean }, command: Command) =>
        callAndPrint(command, verb, options.all ? { all: true } : { appId: app }, keyValueLines),
      );
  }
  apps
    .command('token')
    .argument('<app>', 'app id', appId)
    .option('--rotate', 'replace the token: the old one stops working at once')
    .description('print the push token senders present as "Authorization: Bearer TOKEN"')
    .option('--json', 'print JSON')
    .action((app: string, options: { rotate?: boolean }, command: Command) =>
      callAndPrint(command, 'apps.token', { appId: app, rotate: Boolean(options.rotate) }, (issued) => issued.token),
    );
  return apps;
}

function renderApps(apps: readonly AppListing[]): string {
  const rows = apps.map((app) => {
    const { usage } = app;
    return {
      ...app,
      processes: app.processes.map((process) => `${process.pid}(${process.launchReason})`),
      launches: usage ? budget(usage.launches) : '-',
      bgTime: usage ? budget(usage.backgroundSeconds, 's') : '-',
      bgCpu: usage ? cpuBudget(usage) : '-',
      state: usage ? appState(usage) : '-',
    };
  });
  return [table(rows, COLUMNS), ...apps.flatMap((app) => ranOnceLines(app.ranOnce ?? []))].join('\n');
}
