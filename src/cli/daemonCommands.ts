import type { SchedulingOptions } from '../engine/options.js';
import type { FleetOptions } from '../daemon/fleet/fleetOptions.js';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Daemon } from '../daemon/daemon.js';
import { createLogger } from '../daemon/logger.js';
import { CliError } from './controlClient.js';
import { time } from './format.js';

interface DaemonCommandOptions {
  readonly home?: string;
  readonly scheduling?: Partial<SchedulingOptions>;
  readonly store?: string;
  readonly synchronous?: 'full' | 'normal';
  readonly nodeId?: string;
  readonly fleet?: Partial<FleetOptions>;
  /** The dashboard's port; null for none (`--no-http`). */
  readonly httpPort?: number | null;
  readonly httpHost?: string;
}

/** `bgtasks daemon`: runs until SIGINT or SIGTERM, then stops cleanly. */
export async function runDaemon(options: DaemonCommandOptions): Promise<void> {
  const daemon = await startOrExplain({
    ...(options.home ? { home: resolve(options.home) } : {}),
    // A postgres:// URL is a location too, but not a path to resolve.
    ...(options.store ? { store: /^postgres(?:ql)?:\/\//i.test(options.store) ? options.store : resolve(options.store) } : {}),
    ...(options.nodeId ? { nodeId: options.nodeId } : {}),
    ...(options.fleet ? { fleet: options.fleet } : {}),
    ...(options.synchronous ? { synchronous: options.synchronous } : {}),
    ...(options.scheduling ? { scheduling: options.scheduling } : {}),
    ...(options.httpPort !== undefined ? { httpPort: options.httpPort } : {}),
    ...(options.httpHost !== undefined ? { httpHost: options.httpHost } : {}),
  });
  await untilSignal();
  await daemon.close();
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
export async function runDemo(options: DaemonCommandOptions & { readonly examples: string }): Promise<void> {
  // The demo narrates events itself; the daemon's own log shows only warnings and errors.
  const daemon = await startOrExplain({ ...(options.home ? { home: resolve(options.home) } : {}) }, { logger: createLogger({ level: 'warn' }) });
  const say = (line: string): void => {
    process.stdout.write(`${time(Date.now()).slice(11)}  ${line}\n`);
  };
  const identifiers = new Map<string, string>();
  daemon.control.watch((event) => {
    const record = event as Record<string, unknown>;
    if (record.what === 'run') identifiers.set(String(record.taskId), `${String(record.appId)} ${String(record.identifier)}`);
    const line = describe(record, identifiers);
    if (line) say(line);
  });
  const dirs = existsSync(options.examples)
    ? readdirSync(options.examples).map((name) => join(options.examples, name)).filter((dir) => existsSync(join(dir, 'package.json')))
    : [];
  if (dirs.length === 0) say(`no example apps found in ${options.examples}`);
  for (const dir of dirs) {
    try {
      const app = (await daemon.control.run('install', { dir })) as { appId: string };
      await daemon.control.run('open', { appId: app.appId });
    } catch (error) {
      say(`could not install ${dir}: ${(error as Error).message}`);
    }
  }
  const status = (await daemon.control.run('status', {})) as { profile: { name: string; reason: string }; dashboard: { url: string } | null };
  say(`policy profile: ${status.profile.name} (${status.profile.reason}); see docs/scheduling.md`);
  if (status.dashboard) say(`live view: \`npx bgtasks top\` here, or \`npx bgtasks dashboard\` for the web page (${status.dashboard.url})`);
  say(`the daemon is running (socket ${daemon.socketPath}); try \`npx bgtasks pending\`, \`npx bgtasks history\`, or Ctrl-C to stop`);
  await untilSignal();
  await daemon.close();
}

function describe(event: Record<string, unknown>, identifiers: ReadonlyMap<string, string>): string | null {
  const who = `${String(event.appId ?? '')}${event.identifier ? ` ${String(event.identifier)}` : ''}`;
  switch (event.what) {
    case 'request':
      return `submitted  ${who} (${String(event.kind)}${event.earliestBeginAt ? `, not before ${time(event.earliestBeginAt).slice(11)}` : ''})`;
    case 'runUpdate': {
      const task = identifiers.get(String(event.taskId)) ?? `task ${String(event.taskId).slice(0, 8)}`;
      if (event.state === 'running') return `started    ${task} (${event.launch === 'launched' ? 'app launched in the background' : 'app already running'})`;
      if (event.state === 'expired') return `expired    ${task} (${String(event.expirationReason)})`;
      if (event.state === 'finished') return `finished   ${task}: ${String(event.outcome)}${event.reason ? ` (${String(event.reason)})` : ''}${event.error ? `: ${String(event.error)}` : ''}`;
      return null;
    }
    case 'run':
      return `dispatched ${who}`;
    case 'event':
      if (event.type === 'submitted' || event.type === 'replaced') return null; // shown from the request itself
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
