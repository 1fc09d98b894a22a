#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { VERSION } from '../daemon/daemon.js';
import { CliError } from './controlClient.js';
import { addAppsCommand } from './commands/apps.js';
import { addCancelCommand } from './commands/cancel.js';
import { addCheckCommand } from './commands/check.js';
import { addConditionsCommand } from './commands/conditions.js';
import { addConfigCommand } from './commands/config.js';
import { addDaemonCommand } from './commands/daemon.js';
import { addDashboardCommand } from './commands/dashboard.js';
import { addDemoCommand } from './commands/demo.js';
import { addDoctorCommand } from './commands/doctor.js';
import { addExpireCommand } from './commands/expire.js';
import { addHistoryCommand } from './commands/history.js';
import { addInstallCommand } from './commands/install.js';
import { addNodesCommand } from './commands/nodes.js';
import { addNotificationsCommand } from './commands/notifications.js';
import { addOpenCommand } from './commands/open.js';
import { addPendingCommand } from './commands/pending.js';
import { addPushCommand } from './commands/push.js';
import { addPushesCommand } from './commands/pushes.js';
import { addQuitCommand } from './commands/quit.js';
import { addRunCommand } from './commands/run.js';
import { addServiceCommand } from './commands/service.js';
import { addStatusCommand } from './commands/status.js';
import { addStopCommand } from './commands/stop.js';
import { addTopCommand } from './commands/top.js';
import { addUninstallCommand } from './commands/uninstall.js';
import { addWhyCommand } from './commands/why.js';

/**
 * The `bgtasks` command: each subcommand is a module of ./commands (its options, its control call and
 * its printing); this file only assembles them, in the order `--help` lists them. Every command but
 * `daemon`, `demo`, `check`, `doctor`, `config`, `service` and `conditions record` talks to a running
 * daemon over its socket. Each takes `--json` for scripts and prints tables for people; on failure it
 * prints one line to stderr and exits non-zero: 2 for a bad argument, 3 when no daemon runs, 1 otherwise.
 */
export function buildProgram(): Command {
  const program = new Command('bgtasks')
    .description("Background Tasks for Node.js: run apps' work in the background at the right moment.")
    .version(VERSION)
    .option('--home <dir>', "the system's home directory (default: $BGTASKS_HOME or ~/.local/state/bgtasks)")
    .option(
      '--config <file>',
      'the config file (default: $BGTASKS_CONFIG, else <home>/config.json; docs/configuration.md)',
    )
    .showHelpAfterError()
    .exitOverride();
  addDaemonCommand(program);
  addDemoCommand(program);
  addStatusCommand(program);
  addTopCommand(program);
  addDashboardCommand(program);
  addInstallCommand(program);
  addCheckCommand(program);
  addUninstallCommand(program);
  addAppsCommand(program);
  addPushCommand(program);
  addPushesCommand(program);
  addNotificationsCommand(program);
  addQuitCommand(program);
  addOpenCommand(program);
  addPendingCommand(program);
  addHistoryCommand(program);
  addWhyCommand(program);
  addNodesCommand(program);
  addRunCommand(program);
  addExpireCommand(program);
  addConditionsCommand(program);
  addCancelCommand(program);
  addStopCommand(program);
  addServiceCommand(program);
  addDoctorCommand(program);
  addConfigCommand(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander has printed its message (and help) already
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof CliError) {
      const fieldText = error.field ? ` (field: ${error.field})` : '';
      process.stderr.write(`bgtasks: ${error.message}${fieldText} [${error.code}]\n`);
      return error.exitCode;
    }
    const { code, field } = (error ?? {}) as { code?: unknown; field?: unknown };
    const message = error instanceof Error ? error.message : String(error);
    const fieldText = typeof field === 'string' ? ` (field: ${field})` : '';
    process.stderr.write(`bgtasks: ${message}${fieldText}${typeof code === 'string' ? ` [${code}]` : ''}\n`);
    return 1;
  }
}

// Run when executed as the `bgtasks` binary (not when imported by tests).
function invokedDirectly(): boolean {
  try {
    return Boolean(process.argv[1]) && realpathSync(process.argv[1]!) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}
if (invokedDirectly()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`bgtasks: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
