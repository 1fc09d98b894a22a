/**
 * The effective configuration: flags > environment > config file > defaults, option by option, with
 * where each value came from. `bgtasks daemon` starts with `options` and `logOptions`; `bgtasks config`
 * prints `values` and `sources`. Nothing here starts anything or writes anything.
 */
import { dirname, join, resolve } from 'node:path';
import { defaultSchedulingOptions, SCHEDULING_OPTION_NAMES, type SchedulingOptions } from '../engine/options.js';
import { compileDaemonOptions, type CompiledDaemonOptions, type DaemonOptions } from '../daemon/options.js';
import type { LogFormat } from '../daemon/logger.js';
import { defaultHome } from '../shared/paths.js';
import { ConfigError } from './configError.js';
import { CONFIG_OPTIONS, getPath } from './configOptions.js';
import type { ConfigInput, LOG_LEVELS } from './configSchema.js';
import { checkOptions, describeSource, readConfigFile, readEnvironment, type ConfigSource } from './configSources.js';
import { isPostgresLocation } from '../store/location.js';

export type LogLevel = (typeof LOG_LEVELS)[number];

/** What `createLogger` uses when nothing is set (see src/daemon/logger.ts). */
export const DEFAULT_LOG_OPTIONS: { readonly level: LogLevel; readonly format: LogFormat } = {
  level: 'info',
  format: 'auto',
};

/** The environment variable that names the config file, like `--config`. */
export const CONFIG_ENV = 'BGTASKS_CONFIG';

export interface ResolveConfigInput {
  /** `--home`: wins over `$BGTASKS_HOME` and the file's `home`. Relative to `cwd`. */
  readonly home?: string;
  /** `--config`: wins over `$BGTASKS_CONFIG`; else `<home>/config.json`. Relative to `cwd`. */
  readonly configPath?: string;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * The command's other flags, in the file's shape (`{ http: { port: 8080 } }`); they win over
   * everything. Checked against the schema like the file.
   */
  readonly flags?: Readonly<Record<string, unknown>>;
  /** @default process.cwd() */
  readonly cwd?: string;
}

export interface ResolvedConfig {
  /**
   * For `Daemon.start`: only what was set somewhere (the daemon fills in the defaults, and picks the profile when
   * unset).
   */
  readonly options: DaemonOptions;
  /** For `createLogger`. */
  readonly logOptions: { readonly level: LogLevel; readonly format: LogFormat };
  /** The options as the daemon compiles them (defaults filled in; the scheduling profile `device` when unset). */
  readonly compiled: CompiledDaemonOptions;
  /**
   * Option path (`http.port`) → its effective value; null where the daemon decides at start (`nodeId`, an unset
   * `scheduling.profile`).
   */
  readonly values: ReadonlyMap<string, unknown>;
  /** Option path → where its value came from. */
  readonly sources: ReadonlyMap<string, ConfigSource>;
  readonly file: { readonly path: string; readonly exists: boolean; readonly explicit: boolean };
  /** Things worth telling a person, none fatal: an ignored option, a `BGTASKS_*` variable that is no option. */
  readonly warnings: readonly string[];
}

interface Layer {
  readonly values: ConfigInput;
  readonly source: (path: string) => ConfigSource;
  /** Resolves a relative path given in this layer (`home`, a SQLite `store`). */
  readonly base: string;
}

/**
 * Resolves the configuration. @throws ConfigError naming the option's path (or the variable, or the
 * flag) at fault.
 */
export function resolveConfig(input: ResolveConfigInput = {}): ResolvedConfig {
  const env = input.env ?? process.env;
  const cwd = input.cwd ?? process.cwd();
  const environment = readEnvironment(env);
  const flags = checkOptions(
    { ...input.flags, ...(input.home !== undefined ? { home: input.home } : {}) },
    'given as a flag',
  );

  // The home before the file: the default file is found through it, so the default file cannot move it.
  const homeBeforeFile =
    flags.home !== undefined
      ? resolve(cwd, flags.home)
      : environment.values.home !== undefined
        ? resolve(cwd, environment.values.home)
        : undefined;
  const namedBy = input.configPath !== undefined ? 'config' : env[CONFIG_ENV] ? CONFIG_ENV : null;
  const filePath =
    namedBy === 'config'
      ? resolve(cwd, input.configPath!)
      : namedBy === CONFIG_ENV
        ? resolve(cwd, env[CONFIG_ENV]!)
        : join(homeBeforeFile ?? defaultHome(env), 'config.json');
  const file = readConfigFile(filePath, namedBy);
  if (file.values.home !== undefined && !file.explicit) {
    throw new ConfigError(
      'invalidOption',
      `\`home\` cannot be set in ${file.path}: that file is found through the ` +
        `home. Set the home with --home or $BGTASKS_HOME, or name a config file ` +
        `outside it with --config or $${CONFIG_ENV}`,
      'home',
    );
  }

  // Highest precedence first.
  const layers: Layer[] = [
    { values: flags, source: () => ({ kind: 'flag' }), base: cwd },
    {
      values: environment.values,
      source: (path) => ({ kind: 'env', variable: environment.variables.get(path)! }),
      base: cwd,
    },
    { values: file.values, source: () => ({ kind: 'file', path: file.path }), base: dirname(file.path) },
  ];
  const given = new Map<string, { value: unknown; source: ConfigSource }>();
  for (const option of CONFIG_OPTIONS) {
    for (const layer of layers) {
      let value = getPath(layer.values, option.segments);
      if (value === undefined) continue;
      if (
        (option.path === 'home' || option.path === 'store') &&
        typeof value === 'string' &&
        !isPostgresLocation(value)
      )
        value = resolve(layer.base, value);
      given.set(option.path, { value, source: layer.source(option.path) });
      break;
    }
  }

  const options = daemonOptions(given, env);
  const compiled = compileOrExplain(options, env, given);
  const { values, sources } = effective(given, compiled);
  return {
    options,
    logOptions: { level: values.get('log.level') as LogLevel, format: values.get('log.format') as LogFormat },
    compiled,
    values,
    sources,
    file: { path: file.path, exists: file.exists, explicit: file.explicit },
    warnings: [...environment.warnings, ...ignoredOptions(given)],
  };
}

function daemonOptions(given: ReadonlyMap<string, { value: unknown }>, env: NodeJS.ProcessEnv): DaemonOptions {
  const value = <T>(path: string): T | undefined => given.get(path)?.value as T | undefined;
  const section = <T>(prefix: string): Partial<T> | undefined => {
    const entries = [...given]
      .filter(([path]) => path.startsWith(`${prefix}.`))
      .map(([path, { value }]) => [path.slice(prefix.length + 1), value]);
    return entries.length > 0 ? (Object.fromEntries(entries) as Partial<T>) : undefined;
  };
  const httpEnabled = value<boolean>('http.enabled');
  const httpPort = value<number>('http.port');
  const metricsEnabled = value<boolean>('metrics.enabled');
  const options: Record<string, unknown> = {
    home: value<string>('home') ?? defaultHome(env),
    store: value<string>('store'),
    nodeId: value<string>('nodeId'),
    synchronous: value<'full' | 'normal'>('synchronous'),
    httpPort: httpEnabled === false ? null : httpPort,
    httpHost: value<string>('http.host'),
    scheduling: section<SchedulingOptions>('scheduling'),
    fleet: section('fleet'),
    sensorPollIntervalMs: value<number>('sensorPollIntervalMs'),
    helloTimeoutMs: value<number>('helloTimeoutMs'),
    maxFrameBytes: value<number>('maxFrameBytes'),
    connectionLimits: section('connectionLimits'),
    httpLimits: section('httpLimits'),
    history: section('history'),
    metrics: metricsEnabled === undefined ? undefined : { enabled: metricsEnabled },
  };
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as DaemonOptions;
}

/** The names `compileDaemonOptions` and the validators it calls use in their messages, as config paths. */
function configPathOf(name: string): string {
  if (name === 'httpPort') return 'http.port';
  if (name === 'httpHost') return 'http.host';
  if ((SCHEDULING_OPTION_NAMES as readonly string[]).includes(name)) return `scheduling.${name}`;
  return name;
}

/**
 * The daemon's own validators have the last word (cross-field rules such as the fleet's lease, an IP
 * address for `http.host`): their TypeError becomes a ConfigError naming the option and its source.
 */
function compileOrExplain(
  options: DaemonOptions,
  env: NodeJS.ProcessEnv,
  given: ReadonlyMap<string, { source: ConfigSource }>,
): CompiledDaemonOptions {
  try {
    return compileDaemonOptions(options, env);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    const name = /`([^`]+)`/.exec(error.message)?.[1];
    const path = name === undefined ? undefined : configPathOf(name);
    const source = path === undefined ? undefined : given.get(path)?.source;
    const field = source?.kind === 'env' ? source.variable : path;
    throw new ConfigError(
      'invalidOption',
      `${path ? `\`${path}\`${source ? ` (from ${describeSource(source)})` : ''}: ` : ''}${error.message}`,
      field,
    );
  }
}

function effective(
  given: ReadonlyMap<string, { value: unknown; source: ConfigSource }>,
  compiled: CompiledDaemonOptions,
): { values: Map<string, unknown>; sources: Map<string, ConfigSource> } {
  const profile = given.get('scheduling.profile')?.value as SchedulingOptions['profile'] | undefined;
  const server = defaultSchedulingOptions('server');
  const defaults: Record<string, { value: unknown; note?: string }> = {
    home: { value: compiled.home },
    store: { value: compiled.store },
    nodeId: {
      value: null,
      note:
        `kept in ${join(compiled.home, 'node-id')}, made from the host name at first ` +
        `start; used only with a postgres:// store`,
    },
    synchronous: { value: compiled.synchronous },
    'http.enabled': { value: true },
    'http.port': { value: 0, note: 'any free port' },
    'http.host': { value: compiled.httpHost },
    'log.level': { value: DEFAULT_LOG_OPTIONS.level },
    'log.format': { value: DEFAULT_LOG_OPTIONS.format },
    sensorPollIntervalMs: { value: compiled.sensorPollIntervalMs },
    helloTimeoutMs: { value: compiled.helloTimeoutMs },
    maxFrameBytes: { value: compiled.maxFrameBytes },
    'metrics.enabled': { value: compiled.metrics.enabled },
  };
  for (const [name, value] of Object.entries(compiled.fleet)) defaults[`fleet.${name}`] = { value };
  for (const [name, value] of Object.entries(compiled.connectionLimits))
    defaults[`connectionLimits.${name}`] = { value };
  for (const [name, value] of Object.entries(compiled.httpLimits)) defaults[`httpLimits.${name}`] = { value };
  for (const [name, value] of Object.entries(compiled.history)) defaults[`history.${name}`] = { value };
  for (const name of SCHEDULING_OPTION_NAMES) {
    if (name === 'profile') {
      defaults['scheduling.profile'] = {
        value: null,
        note: "picked at first start and kept: device with a battery or a user's seat, " + 'else server',
      };
      continue;
    }
    const value = compiled.scheduling[name];
    // Unset, the profile is picked at first start: show the device value, and the server one where it differs.
    const note =
      profile !== undefined
        ? `profile ${profile}`
        : server[name] === value
          ? undefined
          : `profile device; server: ${String(server[name])}`;
    defaults[`scheduling.${name}`] = note === undefined ? { value } : { value, note };
  }

  const values = new Map<string, unknown>();
  const sources = new Map<string, ConfigSource>();
  for (const option of CONFIG_OPTIONS) {
    const set = given.get(option.path);
    if (set) {
      values.set(option.path, set.value);
      sources.set(option.path, set.source);
      continue;
    }
    const fallback = defaults[option.path];
    if (!fallback)
      throw new Error(`no default for the option ${option.path}: add it to effective() in ` + `resolveConfig.ts`);
    values.set(option.path, fallback.value);
    sources.set(option.path, fallback.note ? { kind: 'default', note: fallback.note } : { kind: 'default' });
  }
  return { values, sources };
}

/** Options that are set but have no effect, which a person would otherwise wonder about. */
function ignoredOptions(given: ReadonlyMap<string, { value: unknown; source: ConfigSource }>): string[] {
  const warnings: string[] = [];
  const where = (path: string): string => describeSource(given.get(path)!.source);
  if (given.get('http.enabled')?.value === false) {
    for (const path of ['http.port', 'http.host']) {
      if (given.has(path))
        warnings.push(`${path} (${where(path)}) is ignored: http.enabled is false ` + `(${where('http.enabled')})`);
    }
  }
  const store = given.get('store')?.value;
  if (typeof store !== 'string' || !isPostgresLocation(store)) {
    for (const path of [...given.keys()].filter((path) => path === 'nodeId' || path.startsWith('fleet.'))) {
      warnings.push(`${path} (${where(path)}) is ignored: it applies only with a postgres:// store`);
    }
  } else if (given.has('synchronous')) {
    warnings.push(`synchronous (${where('synchronous')}) is ignored: it applies only to a SQLite store`);
  }
  return warnings;
}
