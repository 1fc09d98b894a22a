import { lstatSync } from 'node:fs';
import { z } from 'zod';
import { CliError, ControlClient } from '../controlClient.js';
import { homePaths } from '../../shared/paths.js';
import { errorMessage, fail, ok, shellQuote, warn, withTimeout, type Check } from './checks.js';

/** What the running daemon says about itself; each reply is checked, since it crosses a process boundary. */
const statusSchema = z.object({
  version: z.string(),
  pid: z.number().int(),
  home: z.string(),
  store: z.object({
    kind: z.enum(['sqlite', 'postgres']),
    location: z.string(),
    fault: z.object({ code: z.string(), since: z.number() }).loose().nullable().optional(),
  }),
  node: z.string().nullable().optional(),
  history: z
    .object({
      runs: z.number(),
      events: z.number(),
      bytes: z.number().nullable(),
      retentionMs: z.number(),
      maxRunsPerApp: z.number(),
      lastPrunedAt: z.number().nullable(),
      lastPruned: z.object({ runs: z.number(), events: z.number() }).nullable(),
    })
    .nullable()
    .optional(),
});
export type DaemonStatus = z.infer<typeof statusSchema>;

export const installedAppSchema = z.object({
  appId: z.string(),
  dir: z.string(),
  launch: z.array(z.string()).min(1),
  permittedIdentifiers: z.array(z.string()),
  backgroundModes: z.array(z.string()),
  /**
   * Refreshes that ran once and will not run again (src/engine/ranOnce.ts); absent from a store read without the
   * daemon.
   */
  ranOnce: z.array(z.object({ identifier: z.string(), message: z.string(), fix: z.string() })).optional(),
});
/** An installed app as recorded by the daemon (the manifest as it was at install, launch[0] resolved). */
export type InstalledApp = z.infer<typeof installedAppSchema>;

const conditionsSchema = z.object({
  conditions: z.record(z.string(), z.unknown()),
  origins: z.record(z.string(), z.enum(['sensor', 'override', 'default'])),
  overrides: z.record(z.string(), z.unknown()),
});
export type DaemonConditions = z.infer<typeof conditionsSchema>;

/** What the other checks learn from a running daemon; all absent when none answers. */
export interface DaemonFacts {
  readonly status?: DaemonStatus;
  readonly apps?: readonly InstalledApp[];
  readonly conditions?: DaemonConditions;
}

export interface DaemonCheckOptions {
  readonly home: string;
  /** This command's version (`VERSION`), to compare with the daemon's. */
  readonly cliVersion: string;
  readonly timeoutMs: number;
}

const START = 'start it: bgtasks daemon, or bgtasks service install';

/**
 * Is a daemon answering on `<home>/run/daemon.sock`, and of which version? Distinguishes no socket, a
 * stale socket file nothing listens on, a socket this user may not open, and a daemon that speaks
 * another protocol. When one answers, its status, apps and conditions are read for the other checks.
 */
export async function checkDaemon(options: DaemonCheckOptions): Promise<{ checks: Check[]; facts: DaemonFacts }> {
  const { socket } = homePaths(options.home);
  const id = 'daemon.running';
  let kind: 'missing' | 'socket' | 'other';
  try {
    kind = lstatSync(socket).isSocket() ? 'socket' : 'other';
  } catch {
    kind = 'missing';
  }
  if (kind === 'missing')
    return { checks: [fail(id, 'daemon', `no daemon is running: ${socket} does not exist`, START)], facts: {} };
  if (kind === 'other') {
    return {
      checks: [
        fail(
          id,
          'daemon',
          `${socket} is not a socket: no daemon can listen there`,
          `move it away (mv ${shellQuote(socket)} ${shellQuote(`${socket}.bak`)}), ` + `then ${START}`,
        ),
      ],
      facts: {},
    };
  }
  let client: ControlClient;
  try {
    client = await withTimeout(
      ControlClient.connect(socket),
      options.timeoutMs,
      `the daemon at ${socket} did not answer within ${options.timeoutMs} ms`,
    );
  } catch (error) {
    return { checks: [connectFailure(id, socket, error)], facts: {} };
  }
  try {
    const ask = async <T>(command: string, schema: z.ZodType<T>): Promise<T> =>
      schema.parse(
        await withTimeout(
          client.request(command),
          options.timeoutMs,
          `the daemon did not answer \`${command}\` within ${options.timeoutMs} ms`,
        ),
      );
    const status = await ask('status', statusSchema);
    const checks: Check[] = [
      ok(id, 'daemon', `bgtasks daemon ${status.version} (pid ${status.pid}) answers on ${socket}`),
    ];
    checks.push(
      status.version === options.cliVersion
        ? ok('daemon.version', 'daemon', `the daemon and this command are both ${status.version}`)
        : warn(
            'daemon.version',
            'daemon',
            `the daemon runs bgtasks ${status.version}, this command is ` + `${options.cliVersion}`,
            `restart the daemon with this version: stop pid ${status.pid}, then bgtasks ` +
              `daemon (or bgtasks service install)`,
          ),
    );
    const apps = await ask('apps', z.array(installedAppSchema));
    const conditions = await ask('conditions', conditionsSchema);
    return { checks, facts: { status, apps, conditions } };
  } finally {
    client.close();
  }
}

function connectFailure(id: string, socket: string, error: unknown): Check {
  const code = error instanceof CliError ? error.code : undefined;
  if (code === 'daemonNotRunning') {
    return fail(
      id,
      'daemon',
      `stale socket: ${socket} exists but nothing listens on it (a daemon that ` + `stopped without cleaning up)`,
      `${START} (a new daemon replaces the stale socket)`,
    );
  }
  if (code === 'unsupportedProtocolVersion') {
    return fail(
      id,
      'daemon',
      `a daemon of another version answers on ${socket}: ${errorMessage(error)}`,
      'run the bgtasks command of the same version as the daemon, or restart the ' +
        'daemon with this version (bgtasks daemon)',
    );
  }
  const denied = (error as { message?: string }).message?.includes('EACCES') ?? false;
  if (denied) {
    return fail(
      id,
      'daemon',
      `this user may not open ${socket}: ${errorMessage(error)}`,
      'run bgtasks as the user who runs the daemon (the socket is 0600 on purpose)',
    );
  }
  return fail(
    id,
    'daemon',
    `cannot talk to the daemon at ${socket}: ${errorMessage(error)}`,
    `restart it: stop the daemon, then ${START}`,
  );
}
