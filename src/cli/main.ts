#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { parseSchedulingOption, type SchedulingOptions } from '../engine/options.js';
import { NAME_PATTERN } from '../protocol/identifiers.js';
import { homePaths } from '../shared/paths.js';
import { VERSION } from '../daemon/daemon.js';
import { runCheck } from './check.js';
import { runRecordCommand, type RecordCommandOptions } from './recordCommand.js';
import { CliError, ControlClient } from './controlClient.js';
import { printResult } from './print.js';
import { runDaemon, runDemo } from './daemonCommands.js';
import { runDashboard } from './dashboard.js';
import { parseInterval, runTop } from './top.js';
import { addMessagingCommands } from './messagingCommands.js';
import { DEFAULT_FLEET_OPTIONS, type FleetOptions } from '../daemon/fleet/fleetOptions.js';
import { addServiceCommand } from './serviceCommand.js';
import { addDoctorCommand } from './doctorCommand.js';
import { addConfigCommand } from './configCommand.js';
import { commandHome, type GlobalOptions } from './commandHome.js';
import { addStopCommand } from './stopCommand.js';
import { addCancelCommand } from './cancelCommand.js';

/**
 * The `bgtasks` command. Every command but `daemon` and `demo` talks to a running daemon over its
 * socket. Each takes `--json` for scripts and prints tables for people; on failure it prints one line
 * to stderr and exits non-zero: 2 for a bad argument, 3 when no daemon runs, 1 otherwise.
 */
function name(kind: string) {
  return (value: string): string => {
    if (!NAME_PATTERN.test(value)) throw new InvalidArgumentError(`${kind} must be a reverse-DNS name (letters, digits, ".", "_", "-"), got "${value}"`);
    return value;
  };
}

function positiveInt(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError(`expected a whole number >= 1, got "${value}"`);
  return parsed;
}

function collectOption(value: string, previous: Partial<SchedulingOptions>): Partial<SchedulingOptions> {
  const match = /^([A-Za-z]+)=(.+)$/.exec(value);
  if (!match) throw new InvalidArgumentError(`expected name=value, e.g. refreshTimeLimitMs=1000 or profile=server, got "${value}"`);
  try {
    return { ...previous, ...parseSchedulingOption(match[1]!, match[2]!) };
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
}

function collectFleetOption(value: string, previous: Partial<FleetOptions>): Partial<FleetOptions> {
  const match = /^([A-Za-z]+)=(\d+)$/.exec(value);
  if (!match) throw new InvalidArgumentError(`expected name=milliseconds, e.g. heartbeatMs=1000, got "${value}"`);
  const key = match[1]!;
  if (!Object.hasOwn(DEFAULT_FLEET_OPTIONS, key)) throw new InvalidArgumentError(`unknown fleet option "${key}"; the options are ${Object.keys(DEFAULT_FLEET_OPTIONS).join(', ')}`);
  return { ...previous, [key]: Number(match[2]) };
}

async function withClient<T>(program: Command, work: (client: ControlClient) => Promise<T>): Promise<T> {
  const client = await ControlClient.connect(homePaths(commandHome(program.opts<GlobalOptions>())).socket);
  try {
    return await work(client);
  } finally {
    client.close();
  }
}

function controlCommand(program: Command, command: string, args: (...values: never[]) => Record<string, unknown>, view: string) {
  return async (...values: unknown[]): Promise<void> => {
    // `--json` may be given to the command or to its parent (`conditions --json set ...`).
    const options = (values[values.length - 1] as Command).optsWithGlobals<{ json?: boolean }>();
    const data = await withClient(program, (client) => client.request(command, args(...(values as never[]))));
    printResult(view, data, Boolean(options.json));
  };
}

export function buildProgram(): Command {
  const program = new Command('bgtasks')
    .description('Background Tasks for Node.js: run apps\' work in the background at the right moment.')
    .version(VERSION)
    .option('--home <dir>', 'the system\'s home directory (default: $BGTASKS_HOME or ~/.local/state/bgtasks)')
    .option('--config <file>', 'the config file (default: $BGTASKS_CONFIG, else <home>/config.json; docs/configuration.md)')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('daemon')
    .description('run the system (the daemon) in the foreground')
    .option('--store <path>', 'the SQLite store file (default: <home>/store.sqlite), or a postgres://user@host/db?schema=NAME URL shared by a fleet of machines (docs/fleet.md)')
    .option('--node-id <id>', 'with a postgres:// store: this machine\'s id in the fleet (default: kept in <home>/node-id, made from the host name)')
    .option('--fleet-option <name=ms>', 'with a postgres:// store: heartbeatMs, leaseMs, maintenanceMs or retentionMs (repeatable; docs/fleet.md)', collectFleetOption, {})
    .option('--synchronous <mode>', 'SQLite synchronous: full (survives power loss) or normal', (value) => {
      if (value !== 'full' && value !== 'normal') throw new InvalidArgumentError('must be "full" or "normal"');
      return value;
    })
    .option('--option <name=value>', 'set a scheduling option, e.g. refreshTimeLimitMs=1000 (repeatable; see docs/scheduling.md)', collectOption, {})
    .option('--http-port <port>', 'the dashboard\'s port (default: 0, any free port)', (value) => {
      const port = Number(value);
      if (!/^\d+$/.test(value) || port > 65_535) throw new InvalidArgumentError(`expected a port from 0 to 65535, got "${value}"`);
      return port;
    })
    .option('--http-host <address>', 'the address the dashboard and push endpoint listen on (default: 127.0.0.1; anything else is reachable from other machines, without TLS, and warns)')
    .option('--no-http', 'serve no dashboard')
    .option('--no-metrics', 'serve no Prometheus /metrics (docs/metrics.md)')
    .option('--log-level <level>', 'the daemon\'s log level: trace, debug, info, warn, error, fatal or silent (default: info)')
    .option('--log-format <format>', 'auto (readable on a terminal, JSON lines elsewhere), json or pretty (default: auto)')
    .action((options: { store?: string; synchronous?: 'full' | 'normal'; option: Partial<SchedulingOptions>; nodeId?: string; fleetOption: Partial<FleetOptions>; httpPort?: number; httpHost?: string; http: boolean; metrics: boolean; logLevel?: string; logFormat?: string }) => {
      if (!options.http && (options.httpPort !== undefined || options.httpHost !== undefined)) throw new CliError('invalidArgument', 'give --http-port/--http-host or --no-http, not both', options.httpPort !== undefined ? 'httpPort' : 'httpHost');
      // The flags win over the environment and the config file (src/config/resolveConfig.ts); the schema checks them there.
      const http = { ...(options.http ? {} : { enabled: false }), ...(options.httpPort !== undefined ? { port: options.httpPort } : {}), ...(options.httpHost !== undefined ? { host: options.httpHost } : {}) };
      const log = { ...(options.logLevel !== undefined ? { level: options.logLevel } : {}), ...(options.logFormat !== undefined ? { format: options.logFormat } : {}) };
      const flags = {
        ...(options.store !== undefined ? { store: options.store } : {}),
        ...(options.nodeId !== undefined ? { nodeId: options.nodeId } : {}),
        ...(options.synchronous !== undefined ? { synchronous: options.synchronous } : {}),
        ...(Object.keys(options.option).length > 0 ? { scheduling: options.option } : {}),
        ...(Object.keys(options.fleetOption).length > 0 ? { fleet: options.fleetOption } : {}),
        ...(Object.keys(http).length > 0 ? { http } : {}),
        ...(Object.keys(log).length > 0 ? { log } : {}),
        ...(options.metrics ? {} : { metrics: { enabled: false } }),
      };
      const { home, config } = program.opts<GlobalOptions>();
      return runDaemon({ ...(home !== undefined ? { home } : {}), ...(config !== undefined ? { configPath: config } : {}), flags });
    });

  program
    .command('demo')
    .description('start the daemon with the example apps installed and show their tasks being scheduled and run')
    .option('--examples <dir>', 'the directory of example apps', resolve(new URL('../../examples', import.meta.url).pathname))
    .action((options: { examples: string }) => {
      const { home, config } = program.opts<GlobalOptions>();
      return runDemo({ ...(home !== undefined ? { home } : {}), ...(config !== undefined ? { configPath: config } : {}), examples: options.examples });
    });

  program
    .command('status')
    .description('show whether the daemon runs, and what it holds')
    .option('--json', 'print JSON')
    .action(controlCommand(program, 'status', () => ({}), 'status'));

  program
    .command('top')
    .description('a live view: running tasks with their progress, the queue, what holds pending requests, recent runs (q quits, c cancels the first continued task)')
    .option('--once', 'print one frame (with --json, one snapshot) and exit')
    .option('--interval <ms>', 'how often to refresh while tasks run', parseInterval, 1000)
    .option('--json', 'print snapshots as JSON (one line per refresh without --once)')
    .action((options: { once?: boolean; interval: number; json?: boolean }) => {
      return runTop({ socketPath: homePaths(commandHome(program.opts<GlobalOptions>())).socket, once: Boolean(options.once), json: Boolean(options.json), intervalMs: options.interval });
    });

  program
    .command('dashboard')
    .description('open the system\'s web dashboard (running tasks, queue, history, conditions, apps) and print its address with its token')
    .option('--no-open', 'only print the address')
    .option('--json', 'print JSON')
    .action((options: { open: boolean; json?: boolean }) => {
      return runDashboard({ home: commandHome(program.opts<GlobalOptions>()), open: options.open, json: Boolean(options.json) });
    });

  program
    .command('install')
    .argument('<dir>', 'the app\'s directory (with a package.json that has a "bgtasks" section)')
    .description('install an app: check its manifest, record it, and issue it a credential')
    .option('--rotate-credential', 'issue a new credential even if the app has one')
    .option('--json', 'print JSON')
    .action(controlCommand(program, 'install', (dir: string, options: { rotateCredential?: boolean }) => ({ dir: resolve(dir), rotateCredential: Boolean(options.rotateCredential) }), 'app'));

  program
    .command('check')
    .argument('<dir>', 'the app\'s directory (with a package.json that has a "bgtasks" section)')
    .description('run an app once in a dry run (no daemon) and report handlers and submissions its manifest does not match')
    .option('--timeout <ms>', 'how long to wait for the app\'s report', positiveInt, 10_000)
    .option('--json', 'print JSON')
    .action((dir: string, options: { timeout: number; json?: boolean }) => runCheck(resolve(dir), { timeoutMs: options.timeout, json: Boolean(options.json) }));

  program
    .command('uninstall')
    .argument('<app>', 'app id', name('app id'))
    .description('remove an app, its pending requests and its credential (its history stays)')
    .option('--json', 'print JSON')
    .action(controlCommand(program, 'uninstall', (appId: string) => ({ appId }), 'raw'));

  const apps = program.command('apps').description('list installed apps with their background budgets (and switch Background App Refresh)').option('--json', 'print JSON');
  apps.action(controlCommand(program, 'apps', () => ({}), 'apps'));
  for (const verb of ['enable', 'disable'] as const) {
    apps
      .command(verb)
      .argument('[app]', 'app id', name('app id'))
      .description(`switch Background App Refresh ${verb === 'enable' ? 'on' : 'off'} for an app, or with --all for every app`)
      .option('--all', 'the global switch')
      .option('--json', 'print JSON')
      .action(controlCommand(program, verb, (appId: string | undefined, options: { all?: boolean }) => (options.all ? { all: true } : { appId }), 'raw'));
  }

  addMessagingCommands(program, apps, (command, args, view) => controlCommand(program, command, args, view));

  program
    .command('quit')
    .argument('<app>', 'app id', name('app id'))
    .description('force-quit an app as the user would: no background launches until the user opens it again')
    .option('--json', 'print JSON')
    .action(controlCommand(program, 'quit', (appId: string) => ({ appId }), 'raw'));

  program
    .command('open')
    .argument('<app>', 'app id', name('app id'))
    .description('launch an app as the user would (its launchReason is "user")')
    .option('--json', 'print JSON')
    .action(controlCommand(program, 'open', (appId: string) => ({ appId }), 'raw'));

  program
    .command('pending')
    .argument('[app]', 'only this app', name('app id'))
    .description('list pending requests and what each waits for (with --fleet: every node\'s, and the pool)')
    .option('--fleet', 'every pending request in the fleet, with the node that has it')
    .option('--json', 'print JSON')
    .action((appId: string | undefined, options: { fleet?: boolean }, command: Command) =>
      options.fleet
        ? controlCommand(program, 'fleet.pending', () => (appId ? { appId } : {}), 'fleetPending')(command)
        : controlCommand(program, 'pending', () => (appId ? { appId } : {}), 'pending')(command));

  program
    .command('history')
    .argument('[app]', 'only this app', name('app id'))
    .argument('[identifier]', 'only this task identifier', name('identifier'))
    .description('show past and current runs (or, with --events, the event log)')
    .option('--limit <n>', 'how many, newest first', positiveInt, 50)
    .option('--events', 'show the event log instead of runs')
    .option('--fleet', 'runs on every node of the fleet, with the node that ran each')
    .option('--node <node>', 'with --fleet: only the runs of this node')
    .option('--json', 'print JSON')
    .action((appId: string | undefined, identifier: string | undefined, options: { limit: number; events?: boolean; fleet?: boolean; node?: string }, command: Command) => {
      const filter = { ...(appId ? { appId } : {}), ...(identifier ? { identifier } : {}), limit: options.limit };
      if (!options.fleet) {
        if (options.node !== undefined) throw new CliError('invalidArgument', '--node goes with --fleet', 'node');
        return controlCommand(program, 'history', () => ({ ...filter, events: Boolean(options.events) }), 'history')(command);
      }
      if (options.events) throw new CliError('invalidArgument', 'give --events or --fleet, not both: the fleet\'s history is its runs', 'events');
      return controlCommand(program, 'fleet.history', () => ({ ...filter, ...(options.node !== undefined ? { nodeId: options.node } : {}) }), 'fleetHistory')(command);
    });

  program
    .command('why')
    .argument('[app]', 'app id', name('app id'))
    .argument('[identifier]', 'task identifier', name('identifier'))
    .description('explain why a request has not run yet: every policy\'s verdict, the earliest start, the decision history')
    .option('--app <app>', 'summarise an app instead: switches, budgets, throttle, force-quit, what holds its requests', name('app id'))
    .option('--fleet', 'explain it across the fleet: what each node says about running it, and who holds it')
    .option('--json', 'print JSON')
    .action(async (appId: string | undefined, identifier: string | undefined, options: { app?: string; fleet?: boolean }, command: Command) => {
      if (options.app !== undefined) {
        if (options.fleet) throw new CliError('invalidArgument', 'give --app or --fleet, not both', 'fleet');
        return controlCommand(program, 'why.app', () => ({ appId: options.app }), 'whyApp')(command);
      }
      if (!appId || !identifier) throw new CliError('invalidArgument', 'name an app and an identifier (bgtasks why APP IDENTIFIER), or an app with --app APP', appId ? 'identifier' : 'app');
      return controlCommand(program, options.fleet ? 'fleet.why' : 'why', () => ({ appId, identifier }), options.fleet ? 'fleetWhy' : 'why')(command);
    });

  program
    .command('nodes')
    .description('list the nodes of the fleet (daemons sharing one PostgreSQL store): alive, lost or stopped, their apps, load and conditions')
    .option('--json', 'print JSON')
    .action(controlCommand(program, 'fleet.nodes', () => ({}), 'nodes'));

  program
    .command('run')
    .argument('<app>', 'app id', name('app id'))
    .argument('<identifier>', 'task identifier', name('identifier'))
    .description('start a task now, bypassing policy (like _simulateLaunchForTaskWithIdentifier): its pending request, else one of the kind it last ran as')
    .option('--kind <kind>', 'refresh or processing, when nothing is pending and the identifier never ran (it must agree with its pending request or its last run)', (value) => {
      if (value !== 'refresh' && value !== 'processing') throw new InvalidArgumentError('must be "refresh" or "processing"');
      return value;
    })
    .option('--json', 'print JSON')
    .action(controlCommand(program, 'run', (appId: string, identifier: string, options: { kind?: string }) => ({ appId, identifier, ...(options.kind ? { kind: options.kind } : {}) }), 'raw'));

  program
    .command('expire')
    .argument('<app>', 'app id', name('app id'))
    .argument('<identifier>', 'task identifier', name('identifier'))
    .description('expire a running task now (like _simulateExpirationForTaskWithIdentifier)')
    .option('--json', 'print JSON')
    .action(controlCommand(program, 'expire', (appId: string, identifier: string) => ({ appId, identifier }), 'raw'));

  const conditions = program.command('conditions').description('show the device conditions (and override them for testing)').option('--json', 'print JSON');
  conditions.action(controlCommand(program, 'conditions', () => ({}), 'conditions'));
  conditions
    .command('set')
    .argument('<assignment...>', 'e.g. power=battery network=offline batteryLevel=15')
    .description('override conditions until `conditions reset`')
    .option('--json', 'print JSON')
    .action(controlCommand(program, 'conditions.set', (assignments: string[]) => ({ assignments }), 'conditions'));
  conditions
    .command('reset')
    .description('remove every override: back to the real sensors')
    .option('--json', 'print JSON')
    .action(controlCommand(program, 'conditions.reset', () => ({}), 'conditions'));
  conditions
    .command('record')
    .description('record this machine\'s conditions (a sample at the start, one per change) into a trace for what-if runs in tests; no daemon needed (docs/traces.md)')
    .requiredOption('--out <file>', 'the trace file (rewritten atomically after each change)')
    .option('--duration <time>', 'stop after 24h, 90m, 3600s, 1500ms or a number of ms (default: until Ctrl-C)')
    .option('--interval <ms>', 'ms between sensor reads, at least 100 (default: 5000)')
    .option('--hostname', 'store this machine\'s hostname in the trace (left out by default)')
    .option('--json', 'print only the summary, as JSON')
    .action((_options: unknown, command: Command) => runRecordCommand(command.optsWithGlobals<RecordCommandOptions>()));

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
      process.stderr.write(`bgtasks: ${error.message}${error.field ? ` (field: ${error.field})` : ''} [${error.code}]\n`);
      return error.exitCode;
    }
    const { code, field } = (error ?? {}) as { code?: unknown; field?: unknown };
    process.stderr.write(`bgtasks: ${error instanceof Error ? error.message : String(error)}${typeof field === 'string' ? ` (field: ${field})` : ''}${typeof code === 'string' ? ` [${code}]` : ''}\n`);
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
