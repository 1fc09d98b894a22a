import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Daemon } from '../daemon/daemon.js';
import { createLogger } from '../daemon/logger.js';
import { describeSource } from '../config/configSources.js';
import { resolveConfig } from '../config/resolveConfig.js';
import { CliError } from './controlClient.js';
import { time } from './format.js';

export interface DaemonRunOptions {
  /** `--home`. */
  readonly home?: string;
  /** `--config`. */
  readonly configPath?: string;
  /** The `daemon` command's flags in the config file's shape; they win over the environment and the file. */
  readonly flags?: Readonly<Record<string, unknown>>;
}

/**
 * `bgtasks daemon`: the options from the flags, the environment, the config file and the defaults
 * (src/config/resolveConfig.ts); runs until SIGINT, SIGTERM or `bgtasks stop`, then stops cleanly. A bad option stops
 * it before it touches the home or the store.
 */
export async function runDaemon(options: DaemonRunOptions): Promise<void> {
  const config = resolveConfig({
    ...(options.home !== undefined ? { home: options.home } : {}),
    ...(options.configPath !== undefined ? { configPath: options.configPath } : {}),
    env: process.env,
    ...(options.flags ? { flags: options.flags } : {}),
  });
  const logger = createLogger(config.logOptions);
  const set = Object.fromEntries(
    [...config.sources]
      .filter(([, source]) => source.kind !== 'default')
      .map(([path, source]) => [path, describeSource(source)]),
  );
  const { path, exists } = config.file;
  logger.info(
    { configFile: path, set },
    exists
      ? `configuration: ${path}, with ${Object.keys(set).length} option(s) set ` + `(\`bgtasks config\` shows them all)`
      : `configuration: no file at ${path}; ${Object.keys(set).length} option(s) set ` + `by flags or environment`,
  );
  for (const warning of config.warnings) logger.warn(`configuration: ${warning}`);
  const stop = stopRequest();
  const daemon = await startOrExplain(config.options, { logger, requestStop: stop.request });
  await Promise.race([untilSignal(), stop.requested]);
  await daemon.close();
}

/** `bgtasks stop` reaches the daemon through its socket; this is how it asks its owner to stop it. */
function stopRequest(): { request: () => void; requested: Promise<void> } {
  let request!: () => void;
  const requested = new Promise<void>((resolve) => (request = resolve));
  return { request, requested };
}

/** Starts the daemon; an invalid option is a bad argument (exit 2), not a crash. */
async function startOrExplain(...args: Parameters<typeof Daemon.start>): Promise<Daemon> {
  try {
    return await Daemon.start(...args);
  } catch (error) {
    if (error instanceof TypeError) throw new CliError('invalidArgument', error.message);
    throw error;
  }
}

/**
 * `bgtasks demo` (what `npm start` runs): the daemon in the foreground with the example apps installed
 * and opened once (as a user would), then a line for everything that happens to their tasks.
 */
export async function runDemo(options: DaemonRunOptions & { readonly examples: string }): Promise<void> {
  const config = resolveConfig({
    ...(options.home !== undefined ? { home: options.home } : {}),
    ...(options.configPath !== undefined ? { configPath: options.configPath } : {}),
    env: process.env,
  });
  // The demo narrates events itself; the daemon's own log shows only warnings and errors.
  const stop = stopRequest();
  const daemon = await startOrExplain(config.options, {
    logger: createLogger({ ...config.logOptions, level: 'warn' }),
    requestStop: stop.request,
  });
  const say = (line: string): void => {
    process.stdout.write(`${time(Date.now()).slice(11)}  ${line}\n`);
  };
  const identifiers = new Map<string, string>();
  daemon.control.watch((event) => {
    const record = event as Record<string, unknown>;
    if (record.what === 'run')
      identifiers.set(String(record.taskId), `${String(record.appId)} ${String(record.identifier)}`);
    const line = describe(record, identifiers);
    if (line) say(line);
  });
  const dirs = existsSync(options.examples)
    ? readdirSync(options.examples)
        .map((name) => join(options.examples, name))
        .filter((dir) => existsSync(join(dir, 'package.json')))
    : [];
  if (dirs.length === 0) say(`no example apps found in ${options.examples}`);
  for (const dir of dirs) {
    try {
      const app = await daemon.control.call('install', { dir });
      await daemon.control.call('open', { appId: app.appId });
    } catch (error) {
      say(`could not install ${dir}: ${(error as Error).message}`);
    }
  }
  const status = await daemon.control.call('status', {});
  say(`policy profile: ${status.profile.name} (${status.profile.reason}); see docs/scheduling.md`);
  if (status.dashboard)
    say(
      `live view: \`npx bgtasks top\` here, or \`npx bgtasks dashboard\` for the ` +
        `web page (${status.dashboard.url})`,
    );
  say(
    `the daemon is running (socket ${daemon.socketPath}); try \`npx bgtasks ` +
      `pending\`, \`npx bgtasks history\`, or Ctrl-C (or \`npx bgtasks stop\`) to ` +
      `stop`,
  );
  await Promise.race([untilSignal(), stop.requested]);
  await daemon.close();
}

function describe(event: Record<string, unknown>, identifiers: ReadonlyMap<string, string>): string | null {
  const who = `${String(event.appId ?? '')}${event.identifier ? ` ${String(event.identifier)}` : ''}`;
  switch (event.what) {
    case 'request': {
      const notBefore = event.earliestBeginAt ? `, not before ${time(event.earliestBeginAt).slice(11)}` : '';
      return `submitted  ${who} (${String(event.kind)}${notBefore})`;
    }
    case 'runUpdate': {
      const task = identifiers.get(String(event.taskId)) ?? `task ${String(event.taskId).slice(0, 8)}`;
      if (event.state === 'running') {
        const how = event.launch === 'launched' ? 'app launched in the background' : 'app already running';
        return `started    ${task} (${how})`;
      }
      if (event.state === 'expired') return `expired    ${task} (${String(event.expirationReason)})`;
      if (event.state === 'finished') {
        const reason = event.reason ? ` (${String(event.reason)})` : '';
        const error = event.error ? `: ${String(event.error)}` : '';
        return `finished   ${task}: ${String(event.outcome)}${reason}${error}`;
      }
      return null;
    }
    case 'run':
      return `dispatched ${who}`;
    case 'event':
      // Shown from the request itself; a submission taken as already done has no request, so it shows.
      if ((event.type === 'submitted' || event.type === 'replaced') && event.reason === null) return null;
      if (event.type === 'deferred') {
        const detail = (event.detail ?? {}) as { message?: unknown };
        return `waits      ${who}: ${String(detail.message ?? '')} [${String(event.reason)}]`;
      }
      return `${String(event.type).padEnd(10)} ${who}${event.reason ? ` (${String(event.reason)})` : ''}`;
    default:
      return null;
  }
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
