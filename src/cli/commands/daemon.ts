/** `bgtasks daemon`: run the system (the daemon) in the foreground. */
import { InvalidArgumentError, type Command } from 'commander';
import { DEFAULT_FLEET_OPTIONS, type FleetOptions } from '../../daemon/fleet/fleetOptions.js';
import { parseSchedulingOption, type SchedulingOptions } from '../../engine/options.js';
import { globalOptions } from '../controlAction.js';
import { CliError } from '../controlClient.js';
import { runDaemon } from '../daemonCommands.js';

interface DaemonFlags {
  readonly store?: string;
  readonly synchronous?: 'full' | 'normal';
  readonly option: Partial<SchedulingOptions>;
  readonly nodeId?: string;
  readonly fleetOption: Partial<FleetOptions>;
  readonly httpPort?: number;
  readonly httpHost?: string;
  readonly http: boolean;
  readonly metrics: boolean;
  readonly logLevel?: string;
  readonly logFormat?: string;
}

function collectOption(value: string, previous: Partial<SchedulingOptions>): Partial<SchedulingOptions> {
  const match = /^([A-Za-z]+)=(.+)$/.exec(value);
  if (!match) {
    const example = 'e.g. refreshTimeLimitMs=1000 or profile=server';
    throw new InvalidArgumentError(`expected name=value, ${example}, got "${value}"`);
  }
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
  if (!Object.hasOwn(DEFAULT_FLEET_OPTIONS, key)) {
    const known = Object.keys(DEFAULT_FLEET_OPTIONS).join(', ');
    throw new InvalidArgumentError(`unknown fleet option "${key}"; the options are ${known}`);
  }
  return { ...previous, [key]: Number(match[2]) };
}

function synchronous(value: string): 'full' | 'normal' {
  if (value !== 'full' && value !== 'normal') throw new InvalidArgumentError('must be "full" or "normal"');
  return value;
}

function port(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || parsed > 65_535) {
    throw new InvalidArgumentError(`expected a port from 0 to 65535, got "${value}"`);
  }
  return parsed;
}

export function addDaemonCommand(program: Command): void {
  program
    .command('daemon')
    .description('run the system (the daemon) in the foreground')
    .option(
      '--store <path>',
      'the SQLite store file (default: <home>/store.sqlite), or a postgres://user@host/db?schema=NAME URL shared ' +
        'by a fleet of machines (docs/fleet.md)',
    )
    .option(
      '--node-id <id>',
      "with a postgres:// store: this machine's id in the fleet (default: kept in <home>/node-id, made from the " +
        'host name)',
    )
    .option(
      '--fleet-option <name=ms>',
      'with a postgres:// store: heartbeatMs, leaseMs, maintenanceMs or retentionMs (repeatable; docs/fleet.md)',
      collectFleetOption,
      {},
    )
    .option('--synchronous <mode>', 'SQLite synchronous: full (survives power loss) or normal', synchronous)
    .option(
      '--option <name=value>',
      'set a scheduling option, e.g. refreshTimeLimitMs=1000 (repeatable; see docs/scheduling.md)',
      collectOption,
      {},
    )
    .option('--http-port <port>', "the dashboard's port (default: 0, any free port)", port)
    .option(
      '--http-host <address>',
      'the address the dashboard and push endpoint listen on (default: 127.0.0.1; anything else is reachable from ' +
        'other machines, without TLS, and warns)',
    )
    .option('--no-http', 'serve no dashboard')
    .option('--no-metrics', 'serve no Prometheus /metrics (docs/metrics.md)')
    .option(
      '--log-level <level>',
      "the daemon's log level: trace, debug, info, warn, error, fatal or silent (default: info)",
    )
    .option(
      '--log-format <format>',
      'auto (readable on a terminal, JSON lines elsewhere), json or pretty (default: auto)',
    )
    .action((options: DaemonFlags, command: Command) => {
      const { home, config } = globalOptions(command);
      return runDaemon({
        ...(home !== undefined ? { home } : {}),
        ...(config !== undefined ? { configPath: config } : {}),
        flags: flags(options),
      });
    });
}

/**
 * The flags in the config file's shape: they win over the environment and the config file
 * (src/config/resolveConfig.ts), whose schema checks them.
 */
function flags(options: DaemonFlags): Record<string, unknown> {
  if (!options.http && (options.httpPort !== undefined || options.httpHost !== undefined)) {
    const field = options.httpPort !== undefined ? 'httpPort' : 'httpHost';
    throw new CliError('invalidArgument', 'give --http-port/--http-host or --no-http, not both', field);
  }
  const http = {
    ...(options.http ? {} : { enabled: false }),
    ...(options.httpPort !== undefined ? { port: options.httpPort } : {}),
    ...(options.httpHost !== undefined ? { host: options.httpHost } : {}),
  };
  const log = {
    ...(options.logLevel !== undefined ? { level: options.logLevel } : {}),
    ...(options.logFormat !== undefined ? { format: options.logFormat } : {}),
  };
  return {
    ...(options.store !== undefined ? { store: options.store } : {}),
    ...(options.nodeId !== undefined ? { nodeId: options.nodeId } : {}),
    ...(options.synchronous !== undefined ? { synchronous: options.synchronous } : {}),
    ...(Object.keys(options.option).length > 0 ? { scheduling: options.option } : {}),
    ...(Object.keys(options.fleetOption).length > 0 ? { fleet: options.fleetOption } : {}),
    ...(Object.keys(http).length > 0 ? { http } : {}),
    ...(Object.keys(log).length > 0 ? { log } : {}),
    ...(options.metrics ? {} : { metrics: { enabled: false } }),
  };
}
