import { compileSchedulingOptions, type SchedulingOptions } from '../engine/options.js';
import { isIP } from 'node:net';
import { defaultHome, homePaths } from '../shared/paths.js';
import type { ConnectionLimits } from './ipcServer.js';
import type { HttpLimits } from './guards/httpConnectionGuard.js';
import type { HistoryOptions } from './history/historyPruner.js';
import { compileFleetOptions, type FleetOptions } from './fleet/fleetOptions.js';

export interface DaemonOptions {
  /**
   * The system's home directory. @default `$BGTASKS_HOME`, else `$XDG_STATE_HOME/bgtasks`, else
   * `~/.local/state/bgtasks`
   */
  readonly home?: string;
  /**
   * Where the store is: a SQLite file path, or a `postgres://` URL for a fleet of machines sharing one
   * database (see docs/fleet.md). @default `<home>/store.sqlite`
   */
  readonly store?: string;
  /** This machine's id in a fleet. @default kept in `<home>/node-id`, made from the host name at first start */
  readonly nodeId?: string;
  /**
   * How this machine takes part in a fleet (only with a `postgres://` store). @default {@link DEFAULT_FLEET_OPTIONS}
   */
  readonly fleet?: Partial<FleetOptions>;
  /** SQLite `synchronous`: `full` survives power loss, `normal` only process crashes. @default 'full' */
  readonly synchronous?: 'full' | 'normal';
  /** Longest IPC frame accepted, in bytes. @default 16 MiB */
  readonly maxFrameBytes?: number;
  /** How often the sensors are read, in ms. @default 5000 */
  readonly sensorPollIntervalMs?: number;
  /** A client must say hello within this time, in ms. @default 10_000 */
  readonly helloTimeoutMs?: number;
  /** The dashboard's HTTP port: 0 picks a free port, null serves no dashboard. @default 0 */
  readonly httpPort?: number | null;
  /**
   * The address the dashboard and the push endpoint listen on. Anything but a loopback address makes
   * them reachable from other machines, over plain HTTP: the daemon warns when it starts. @default '127.0.0.1'
   */
  readonly httpHost?: string;
  /**
   * What one client may make the daemon hold or do (see {@link ConnectionLimits}). @default {@link
   * DEFAULT_CONNECTION_LIMITS}
   */
  readonly connectionLimits?: Partial<ConnectionLimits>;
  /**
   * What HTTP clients (the dashboard, push senders, scrapers) may make the daemon hold. @default {@link
   * DEFAULT_HTTP_LIMITS}
   */
  readonly httpLimits?: Partial<HttpLimits>;
  /** How much history (finished runs, events) the store keeps. @default {@link DEFAULT_HISTORY_OPTIONS} */
  readonly history?: Partial<HistoryOptions>;
  readonly scheduling?: Partial<SchedulingOptions>;
  /**
   * The Prometheus endpoint `GET /metrics` on the dashboard's listener (see docs/metrics.md), behind the
   * token in `<home>/metrics-token`. @default { enabled: true }
   */
  readonly metrics?: { readonly enabled?: boolean };
}

/**
 * Far above what the SDK ever needs (it sends a few frames per turn of its event loop, each carrying
 * many items), low enough that one runaway client cannot starve the others.
 */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  maxConnections: 1024,
  maxUnauthenticated: 64,
  maxConnectionsPerApp: 32,
  maxControlConnections: 64,
  maxFramesPerSecond: 20_000,
  maxRequestsInFlight: 256,
};

/**
 * A dashboard tab holds a few connections and a push sender one: 256 is far above both, and far below
 * the descriptor limit (the daemon lowers it further when the limit is low: see fitToDescriptors).
 */
export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  maxConnections: 256,
  maxUnauthenticated: 64,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
};

/**
 * 30 days answers "why did this not run last month"; 100,000 runs per app bounds an app that runs a
 * task every few seconds (a run and its events take about 1 KB).
 */
export const DEFAULT_HISTORY_OPTIONS: HistoryOptions = {
  retentionMs: 30 * 24 * 60 * 60_000,
  maxRunsPerApp: 100_000,
  pruneIntervalMs: 10 * 60_000,
  pruneBatchRows: 1_000,
};

export interface CompiledDaemonOptions {
  readonly home: string;
  readonly store: string;
  /** As given; the daemon resolves the kept one at start (see `resolveNodeId`). */
  readonly nodeId: string | undefined;
  readonly fleet: FleetOptions;
  readonly synchronous: 'full' | 'normal';
  readonly maxFrameBytes: number;
  readonly sensorPollIntervalMs: number;
  readonly helloTimeoutMs: number;
  /** null: no dashboard. */
  readonly httpPort: number | null;
  readonly httpHost: string;
  readonly connectionLimits: ConnectionLimits;
  readonly httpLimits: HttpLimits;
  readonly history: HistoryOptions;
  /** Compiled with the given profile, or `device` until the daemon picks one (see `Daemon.start`). */
  readonly scheduling: SchedulingOptions;
  /** The scheduling options as given, to compile again once the profile is known. */
  readonly schedulingGiven: Partial<SchedulingOptions>;
  readonly metrics: { readonly enabled: boolean };
}

/** Every daemon default, in one place. */
export function compileDaemonOptions(
  options: DaemonOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): CompiledDaemonOptions {
  const home = options.home ?? defaultHome(env);
  const compiled: CompiledDaemonOptions = {
    home,
    store: options.store ?? homePaths(home).storeFile,
    nodeId: options.nodeId,
    fleet: compileFleetOptions(options.fleet),
    synchronous: options.synchronous ?? 'full',
    maxFrameBytes: options.maxFrameBytes ?? 16 * 1024 * 1024,
    sensorPollIntervalMs: options.sensorPollIntervalMs ?? 5_000,
    helloTimeoutMs: options.helloTimeoutMs ?? 10_000,
    httpPort: options.httpPort === undefined ? 0 : options.httpPort,
    httpHost: options.httpHost ?? '127.0.0.1',
    connectionLimits: { ...DEFAULT_CONNECTION_LIMITS, ...options.connectionLimits },
    httpLimits: { ...DEFAULT_HTTP_LIMITS, ...options.httpLimits },
    history: { ...DEFAULT_HISTORY_OPTIONS, ...options.history },
    scheduling: compileSchedulingOptions(options.scheduling),
    schedulingGiven: { ...options.scheduling },
    metrics: compileMetricsOptions(options.metrics),
  };
  if (compiled.synchronous !== 'full' && compiled.synchronous !== 'normal') {
    throw new TypeError(`Expected \`synchronous\` to be 'full' or 'normal', got \`${String(compiled.synchronous)}\``);
  }
  for (const name of ['maxFrameBytes', 'sensorPollIntervalMs', 'helloTimeoutMs'] as const) {
    const value = compiled[name];
    if (!Number.isInteger(value) || value < 1)
      throw new TypeError(
        `Expected \`${name}\` to be an integer >= 1, got \`${String(value)}\` ` + `(${typeof value})`,
      );
  }
  for (const [name, value] of Object.entries(compiled.connectionLimits)) {
    if (!Number.isInteger(value) || value < 1)
      throw new TypeError(
        `Expected \`connectionLimits.${name}\` to be an integer >= 1, got ` + `\`${String(value)}\` (${typeof value})`,
      );
  }
  for (const [section, values] of [
    ['httpLimits', compiled.httpLimits],
    ['history', compiled.history],
  ] as const) {
    for (const [name, value] of Object.entries(values)) {
      if (!Number.isInteger(value) || value < 1)
        throw new TypeError(
          `Expected \`${section}.${name}\` to be an integer >= 1, got ` + `\`${String(value)}\` (${typeof value})`,
        );
    }
  }
  if (typeof compiled.httpHost !== 'string' || (isIP(compiled.httpHost) === 0 && compiled.httpHost !== 'localhost')) {
    throw new TypeError(
      `Expected \`httpHost\` to be an IP address (127.0.0.1, ::1, 0.0.0.0, ` +
        `192.168.1.5, ...) or localhost, got \`${String(compiled.httpHost)}\``,
    );
  }
  const { httpPort } = compiled;
  if (httpPort !== null && (!Number.isInteger(httpPort) || httpPort < 0 || httpPort > 65_535)) {
    throw new TypeError(
      `Expected \`httpPort\` to be an integer from 0 to 65535 (0: any free port), ` +
        `or null for no dashboard, got \`${String(httpPort)}\` (${typeof httpPort})`,
    );
  }
  return compiled;
}

const METRICS_OPTION_NAMES: readonly string[] = ['enabled'];

/** `metrics`: an object of known options, each of its type. @throws TypeError naming the option */
function compileMetricsOptions(given: DaemonOptions['metrics']): CompiledDaemonOptions['metrics'] {
  if (given === undefined) return { enabled: true };
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    throw new TypeError(
      `Expected \`metrics\` to be an object such as { enabled: false }, got ` +
        `\`${String(given)}\` (${given === null ? 'null' : typeof given})`,
    );
  }
  for (const name of Object.keys(given)) {
    if (!METRICS_OPTION_NAMES.includes(name))
      throw new TypeError(
        `Unknown metrics option \`metrics.${name}\`; the options are ` + `${METRICS_OPTION_NAMES.join(', ')}`,
      );
  }
  const enabled = given.enabled ?? true;
  if (typeof enabled !== 'boolean')
    throw new TypeError(
      `Expected \`metrics.enabled\` to be true or false, got \`${String(enabled)}\` ` + `(${typeof enabled})`,
    );
  return { enabled };
}
