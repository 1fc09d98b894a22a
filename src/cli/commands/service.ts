// Over 400 lines: `bgtasks service` and its subcommands' printing; the work is in src/service.
import { existsSync, realpathSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { z } from 'zod';
import { execFileRunner, shellLine } from '../../service/commandRunner.js';
import { ServiceError } from '../../service/serviceErrors.js';
import type { LifecycleAction } from '../../service/serviceController.js';
import {
  controlService,
  installService,
  previewService,
  serviceStatus,
  uninstallService,
  type InstallResult,
  type ServiceHost,
  type ServiceTarget,
  type StatusResult,
  type UninstallResult,
} from '../../service/serviceManager.js';
import { SYSTEM_HOME, servicePlatform, type ServiceScope } from '../../service/servicePaths.js';
import { USER_NAME_PATTERN } from '../../service/serviceSpec.js';
import { defaultHome, homePaths } from '../../shared/paths.js';
import { CliError, ControlClient } from '../controlClient.js';
import { resolveConfig } from '../../config/resolveConfig.js';

/**
 * `bgtasks service install | uninstall | status | start | stop | restart`: the daemon as a systemd user unit (Linux) or
 * a
 * launchd agent (macOS) that starts at login and restarts on failure; `--system` for a machine-wide
 * service started at boot. The work is in src/service; this file reads the command line and
 * prints. docs/service.md.
 *
 * Exit codes: 0 done (including `uninstall` with nothing installed, and `install --no-start` when the
 * manager cannot be reached: the file is written, the note says what to run); 2 a bad argument;
 * 1 otherwise, notably `serviceManagerUnavailable` when `install` wrote the file but could not start it.
 */

const scopeOptionsSchema = z.strictObject({
  system: z.boolean().optional(),
  json: z.boolean().optional(),
});

const installOptionsSchema = scopeOptionsSchema.extend({
  user: z
    .string()
    .regex(USER_NAME_PATTERN, 'must be a user name (letters, digits, "_", ".", "-"; at most 32)')
    .optional(),
  start: z.boolean(),
  print: z.boolean().optional(),
});

/** Checks a command's options against its schema; the first problem is a bad argument naming the option. */
function parseOptions<T extends z.ZodType>(schema: T, options: unknown): z.infer<T> {
  const parsed = schema.safeParse(options);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = String(issue.path[0] ?? (issue.code === 'unrecognized_keys' ? issue.keys[0] : 'options'));
  throw new CliError(
    'invalidArgument',
    `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ${issue.message}`,
    field,
  );
}

/** This bgtasks's own CLI, symlinks resolved: what the service runs. */
function cliPath(): string {
  const main = fileURLToPath(new URL('../main.js', import.meta.url));
  if (!existsSync(main))
    throw new CliError(
      'unsupportedPath',
      `bgtasks service must run from the built command (dist/cli/main.js); ${main} ` +
        `does not exist: run \`npm run build\``,
      'cli',
    );
  return realpathSync(main);
}

function currentHost(): ServiceHost {
  const cli = cliPath();
  const readme = join(dirname(dirname(dirname(cli))), 'README.md');
  return {
    platform: servicePlatform(process.platform),
    env: process.env,
    runner: execFileRunner,
    uid: process.getuid?.() ?? -1,
    userName: userInfo().username,
    nodePath: process.execPath,
    cliPath: cli,
    documentation: existsSync(readme) ? pathToFileURL(readme).href : null,
  };
}

interface GlobalOptions {
  home?: string;
  config?: string;
}

/**
 * The home the service's daemon gets: `--home`, else `$BGTASKS_HOME`, else the `home` of the config
 * file given with `--config`/`$BGTASKS_CONFIG` (as the daemon would read it), else the default (the
 * user's state directory; /var/lib/bgtasks for a system service). The unit always names it, so the
 * daemon and this command agree on it. At install the whole configuration is checked (`checkConfig`):
 * the service would fail at every start with a configuration the daemon refuses.
 */
function serviceHome(program: Command, scope: ServiceScope, checkConfig = false): string {
  const { home, config: configPath } = program.opts<GlobalOptions>();
  if (home) return resolve(home);
  if (process.env.BGTASKS_HOME) return resolve(process.env.BGTASKS_HOME);
  const named = configPath !== undefined || Boolean(process.env.BGTASKS_CONFIG);
  if (checkConfig || named) {
    try {
      // Without a named file, the default one is in the default home (of the scope), which it cannot move.
      const config = resolveConfig({
        ...(configPath !== undefined ? { configPath } : {}),
        ...(!named && scope === 'system' ? { home: SYSTEM_HOME } : {}),
        env: process.env,
      });
      if (config.sources.get('home')?.kind === 'file') return config.compiled.home;
    } catch (error) {
      if (checkConfig) throw error;
      // uninstall and status still work with a configuration the daemon would refuse
    }
  }
  return scope === 'system' ? SYSTEM_HOME : defaultHome();
}

/** `--config` or `$BGTASKS_CONFIG`, made absolute; it must exist now, or the service would fail at every start. */
function serviceConfig(program: Command): string | null {
  const given = program.opts<GlobalOptions>().config ?? process.env.BGTASKS_CONFIG;
  if (!given) return null;
  const file = resolve(given);
  let isFile = false;
  try {
    isFile = statSync(file).isFile();
  } catch {
    // reported below
  }
  if (!isFile)
    throw new CliError(
      'invalidArgument',
      `the config file ${file} does not exist: the service would fail at every start`,
      'config',
    );
  return file;
}

/** Runs a service action; a ServiceError becomes a CliError with its code and field (exit 2 for a bad argument). */
function serviceAction<A extends unknown[]>(work: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await work(...args);
    } catch (error) {
      if (error instanceof ServiceError) throw new CliError(error.code, error.message, error.field);
      throw error;
    }
  };
}

function write(text: string): void {
  process.stdout.write(`${text}\n`);
}

function describeService(platform: 'linux' | 'darwin', scope: ServiceScope): string {
  if (platform === 'linux') return scope === 'user' ? 'systemd user unit' : 'systemd system unit';
  return scope === 'user' ? 'launchd agent' : 'launchd daemon';
}

function logsHint(result: { platform: 'linux' | 'darwin'; scope: ServiceScope; home: string }): string {
  if (result.platform === 'linux') return `logs: journalctl ${result.scope === 'user' ? '--user ' : ''}-u bgtasks`;
  return `logs: ${join(homePaths(result.home).logsDir, 'daemon.log')}`;
}

function printInstall(result: InstallResult): void {
  write(`${result.changed ? 'wrote' : 'unchanged:'} ${describeService(result.platform, result.scope)} ${result.file}`);
  write(`  runs: ${shellLine(result.programArguments)}`);
  if (result.runAs !== null) write(`  as:   ${result.runAs}`);
  if (result.enabled) {
    const when = result.scope === 'user' ? 'at login' : 'at boot';
    write(
      `  ${result.started ? `started, and starts ${when}` : `starts ${when} (not started now: --no-start)`}; ` +
        `restarts on failure`,
    );
    write(`  ${logsHint(result)}; \`bgtasks service status\` to check`);
  }
}

function pendingHint(commands: readonly string[]): string {
  return commands.length > 0
    ? `: once it can be reached, run ${commands.map((command) => `\`${command}\``).join(', then ')}`
    : '';
}

async function runInstall(program: Command, rawOptions: unknown): Promise<void> {
  const options = parseOptions(installOptionsSchema, rawOptions);
  const scope: ServiceScope = options.system ? 'system' : 'user';
  if (options.user !== undefined && !options.system)
    throw new CliError(
      'invalidArgument',
      '--user goes with --system: a user service runs as the user who installs it',
      'user',
    );
  const configFile = serviceConfig(program);
  const target: ServiceTarget = {
    scope,
    home: serviceHome(program, scope, true),
    configFile,
    user: options.user ?? null,
  };
  const host = currentHost();
  if (options.print) {
    const preview = previewService(host, target);
    if (options.json) write(JSON.stringify({ file: preview.file, content: preview.content }, null, 2));
    else process.stdout.write(preview.content);
    return;
  }
  const result = await installService(host, target, { start: options.start });
  if (options.json) write(JSON.stringify(result, null, 2));
  else printInstall(result);
  if (result.managerUnavailable === null) return;
  const manager = result.manager === 'systemd' ? 'systemd' : 'launchd';
  if (options.start) {
    throw new CliError(
      'serviceManagerUnavailable',
      `the service file is written but the daemon was not started: ` +
        `${result.managerUnavailable}${pendingHint(result.pendingCommands)}`,
      'manager',
    );
  }
  process.stderr.write(
    `bgtasks: note: ${manager} could not be told about the new service: ` +
      `${result.managerUnavailable}${pendingHint(result.pendingCommands)}\n`,
  );
}

function printUninstall(result: UninstallResult): void {
  if (!result.removed) {
    write(`no bgtasks ${describeService(result.platform, result.scope)} is installed (${result.file}): nothing to do`);
    return;
  }
  write(
    `removed ${describeService(result.platform, result.scope)} ` +
      `${result.file}${result.managerUnavailable === null ? ' (stopped and disabled first)' : ''}`,
  );
}

async function runUninstall(rawOptions: unknown): Promise<void> {
  const options = parseOptions(scopeOptionsSchema, rawOptions);
  const result = await uninstallService(currentHost(), options.system ? 'system' : 'user');
  if (options.json) write(JSON.stringify(result, null, 2));
  else printUninstall(result);
  if (result.managerUnavailable !== null) {
    process.stderr.write(
      `bgtasks: note: the service manager could not be reached to stop it: ` +
        `${result.managerUnavailable}${pendingHint(result.pendingCommands)}\n`,
    );
  }
}

/** Whether a daemon answers on the home's socket, and what it says; no daemon is an answer, not an error. */
interface DaemonProbe {
  readonly socket: string;
  readonly answering: boolean;
  readonly pid: number | null;
  readonly version: string | null;
  readonly startedAt: string | null;
  readonly detail: string | null;
}

/** A daemon that accepts but never answers must not hang `status`. */
const DAEMON_PROBE_MS = 3_000;

async function probeDaemon(home: string): Promise<DaemonProbe> {
  const socket = homePaths(home).socket;
  const none = { socket, answering: false, pid: null, version: null, startedAt: null };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${DAEMON_PROBE_MS} ms`)), DAEMON_PROBE_MS);
  });
  const connecting = ControlClient.connect(socket);
  try {
    const client = await Promise.race([connecting, timeout]);
    const status = await Promise.race([client.call('status', {}), timeout]);
    return {
      socket,
      answering: true,
      pid: typeof status.pid === 'number' ? status.pid : null,
      version: typeof status.version === 'string' ? status.version : null,
      startedAt:
        typeof status.startedAt === 'string' || typeof status.startedAt === 'number'
          ? new Date(status.startedAt).toISOString()
          : null,
      detail: null,
    };
  } catch (error) {
    return { ...none, detail: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
    // Closed whenever it connects, even after the timeout gave up on it.
    connecting.then(
      (client) => client.close(),
      () => undefined,
    );
  }
}

function printStatus(result: StatusResult & { daemon: DaemonProbe }): void {
  const kind = describeService(result.platform, result.scope);
  if (!result.installed) {
    write(
      `no bgtasks ${kind} is installed (it would be ${result.file}): \`bgtasks ` +
        `service install${result.scope === 'system' ? ' --system' : ''}\``,
    );
    if (result.otherScopeFile)
      write(
        `  a ${describeService(result.platform, result.scope === 'user' ? 'system' : 'user')} ` +
          `is installed: ${result.otherScopeFile} (\`bgtasks service ` +
          `status${result.scope === 'user' ? ' --system' : ''}\`)`,
      );
  } else {
    write(`${kind}: ${result.file}`);
    if (result.current) write('  file:    current');
    else
      write(
        `  file:    STALE: ${result.staleReasons.join('; ')}\n           run ` +
          `\`bgtasks service install${result.scope === 'system' ? ' --system' : ''}\` ` +
          `again`,
      );
    if (result.programArguments) write(`  runs:    ${shellLine(result.programArguments)}`);
    if (result.runAs !== null) write(`  as:      ${result.runAs}`);
    const manager = result.manager!;
    const name = result.platform === 'linux' ? 'systemd' : 'launchd';
    if (!manager.available)
      write(`  ${name}: ${' '.repeat(7 - name.length)}not reachable: ${manager.detail ?? 'unknown'}`);
    else {
      const parts = [
        manager.enabled ?? 'enabled: unknown',
        manager.active ?? 'state unknown',
        manager.mainPid !== null ? `pid ${manager.mainPid}` : null,
        manager.restarts !== null ? `${manager.restarts} restart(s)` : null,
        manager.activeSince ? `since ${manager.activeSince}` : null,
        manager.lastExit ? `last result: ${manager.lastExit}` : null,
      ];
      write(`  ${name}: ${' '.repeat(7 - name.length)}${parts.filter(Boolean).join(', ')}`);
    }
  }
  const daemon = result.daemon;
  const answering = `answering on ${daemon.socket} (pid ${daemon.pid ?? '?'}, version ${daemon.version ?? '?'})`;
  write(`  daemon:  ${daemon.answering ? answering : `not answering on ${daemon.socket}`}`);
}

async function runLifecycle(program: Command, action: LifecycleAction, rawOptions: unknown): Promise<void> {
  const options = parseOptions(scopeOptionsSchema, rawOptions);
  const scope: ServiceScope = options.system ? 'system' : 'user';
  const result = await controlService(currentHost(), scope, action);
  const daemon = await probeDaemon(serviceHome(program, scope));
  if (options.json) return write(JSON.stringify({ ...result, daemon }, null, 2));
  const done = { start: 'started', stop: 'stopped', restart: 'restarted' }[action];
  const how = result.commands.length > 0 ? ` (${result.commands.join('; ')})` : ' (it was not loaded)';
  write(`${done} the bgtasks ${describeService(result.platform, result.scope)}${how}`);
  if (action !== 'stop') write('  `bgtasks service status` shows when the daemon answers');
}

async function runStatus(program: Command, rawOptions: unknown): Promise<void> {
  const options = parseOptions(scopeOptionsSchema, rawOptions);
  const scope: ServiceScope = options.system ? 'system' : 'user';
  const target: ServiceTarget = { scope, home: serviceHome(program, scope), configFile: null, user: null };
  const status = await serviceStatus(currentHost(), target);
  const result = { ...status, daemon: await probeDaemon(status.home) };
  if (options.json) write(JSON.stringify(result, null, 2));
  else printStatus(result);
}

export function addServiceCommand(program: Command): void {
  const service = program
    .command('service')
    .description(
      'run the daemon as a service that starts at login and restarts on failure: a ' +
        'systemd user unit (Linux) or a launchd agent (macOS); docs/service.md',
    );
  service
    .command('install')
    .description(
      'write the service file and start the daemon under the service manager (run ' +
        'it again after upgrading Node.js or bgtasks)',
    )
    .option('--system', 'a machine-wide service started at boot (needs root), instead of one for you started at login')
    .option(
      '--user <name>',
      'with --system: the user the daemon runs as (default: $SUDO_USER, else you; root only when named)',
    )
    .option('--no-start', 'write and enable the service, but do not start it now')
    .option('--print', 'print the service file; write and run nothing')
    .option('--json', 'print JSON')
    .action(serviceAction((options: unknown) => runInstall(program, options)));
  service
    .command('uninstall')
    .description('stop and disable the service, and remove its file (nothing installed is not an error)')
    .option('--system', 'the machine-wide service')
    .option('--json', 'print JSON')
    .action(serviceAction((options: unknown) => runUninstall(options)));
  service
    .command('status')
    .description(
      'where the service file is, whether it is current, what the service manager says, and whether the daemon answers',
    )
    .option('--system', 'the machine-wide service')
    .option('--json', 'print JSON')
    .action(serviceAction((options: unknown) => runStatus(program, options)));
  const lifecycle: Record<LifecycleAction, string> = {
    start: 'start the installed service now (it also starts at login, or at boot with --system)',
    stop:
      "stop the service's daemon cleanly until the next start, login or boot (a " +
      'daemon started by hand: `bgtasks stop`)',
    restart: "stop the service's daemon cleanly and start it again",
  };
  for (const [action, description] of Object.entries(lifecycle) as [LifecycleAction, string][]) {
    service
      .command(action)
      .description(description)
      .option('--system', 'the machine-wide service')
      .option('--json', 'print JSON')
      .action(serviceAction((options: unknown) => runLifecycle(program, action, options)));
  }
}
