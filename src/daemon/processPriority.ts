import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { getPriority } from 'node:os';
import { delimiter, join, resolve } from 'node:path';

/**
 * Background priority for launched apps, in the spirit of launchd's `ProcessType=Background`: work the
 * person did not ask for must never slow down what they are doing.
 *
 * The launcher wraps the app's argv with small tools that change their own priority and then `exec` the
 * next program, so the pid the daemon holds stays the app's pid (and the process group it leads):
 *
 *     [systemd-run --user --scope -p CPUWeight=20 --] nice -n 10 -- ionice -c 3 -t -- cmd args...   (Linux)
 *     nice -n 10 -- taskpolicy -b -- cmd args...                                                       (macOS)
 *
 * Why wrap instead of `os.setPriority(pid)` / `ionice -p pid` after spawn: on Linux nice and ioprio are
 * per thread, so setting them after spawn misses every thread the app has already started (Node starts
 * its thread pool at once) and races the app's first work. A priority set before exec is inherited by
 * every thread and child the app creates.
 *
 * Why the cgroup too: with autogroup or systemd's per-session cgroups, nice only competes within the same
 * task group, so a niced app still gets a full share against the person's desktop. A user scope with a
 * low `CPUWeight` is the lever that works across groups; it needs a reachable user systemd manager.
 *
 * Every tool is optional: a missing one is skipped and the reason recorded in `AppliedPriority.notes`.
 */

export type BackgroundIoPolicy = 'idle' | 'best-effort-low' | 'none';

export interface BackgroundPriorityOptions {
  /** Absolute nice value for background launches, 0 (normal) to 19 (lowest). @defaultValue 10 */
  readonly nice: number;
  /**
   * IO class: `idle` (only when the disk is otherwise idle), `best-effort-low` (class 2, level 7). @defaultValue 'idle'
   */
  readonly io: BackgroundIoPolicy;
  /**
   * cgroup v2 CPU weight of the app's user scope (1–10000, normal is 100); null never uses systemd-run. @defaultValue
   * 20
   */
  readonly cpuWeight: number | null;
}

/** Every default in one place. */
export const DEFAULT_BACKGROUND_PRIORITY = {
  nice: 10,
  io: 'idle',
  cpuWeight: 20,
} as const satisfies BackgroundPriorityOptions;

/** What was applied to one launch, for logs and `bgtasks doctor`. Null means "left as inherited". */
export interface AppliedPriority {
  /** The nice value the app starts at, when the launcher set it. */
  readonly nice: number | null;
  /** `idle`, `best-effort:7` or `darwin-background`, when the launcher set it. */
  readonly ioClass: string | null;
  /** The user scope unit and its weight, when the app runs in one. */
  readonly cgroup: string | null;
  /** Why something was not applied, in plain words. */
  readonly notes: readonly string[];
}

/** Absolute paths of the helper tools, or null when the system lacks one. */
export interface PriorityTools {
  readonly nice: string | null;
  readonly ionice: string | null;
  readonly systemdRun: string | null;
  readonly taskpolicy: string | null;
}

/** Whether a user systemd scope can be created, and why not. */
export type UserScopeSupport = { readonly usable: true } | { readonly usable: false; readonly reason: string };

/** What this system supports, resolved once per launcher. */
export interface PrioritySupport {
  readonly platform: NodeJS.Platform;
  readonly tools: PriorityTools;
  readonly userScope: UserScopeSupport;
}

export interface PriorityPlan {
  /** The argv to spawn: the app's own, possibly behind the wrappers. */
  readonly argv: readonly string[];
  readonly applied: AppliedPriority;
}

/** Used when PATH is unset, like execvp's fallback; also where system tools live under a minimal PATH. */
const SYSTEM_DIRS = ['/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin'];

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Where `command` would be found by spawn/execvp: relative to `cwd` when it contains a slash, else on
 * `pathVar`. Null when it does not exist or is not executable.
 */
export function findExecutable(
  command: string,
  pathVar: string | undefined,
  cwd: string = process.cwd(),
): string | null {
  if (command.includes('/')) {
    const path = resolve(cwd, command);
    return isExecutableFile(path) ? path : null;
  }
  const dirs = pathVar === undefined ? SYSTEM_DIRS : pathVar.split(delimiter).filter((dir) => dir !== '');
  for (const dir of dirs) {
    const path = resolve(cwd, dir, command);
    if (isExecutableFile(path)) return path;
  }
  return null;
}

/** Looks each tool up once: on the daemon's PATH, then in the system directories. */
export function resolvePriorityTools(pathVar: string | undefined, platform: NodeJS.Platform): PriorityTools {
  const find = (name: string): string | null =>
    findExecutable(name, [pathVar ?? '', ...SYSTEM_DIRS].filter((p) => p !== '').join(delimiter));
  return {
    nice: find('nice'),
    ionice: platform === 'linux' ? find('ionice') : null,
    systemdRun: platform === 'linux' ? find('systemd-run') : null,
    taskpolicy: platform === 'darwin' ? find('taskpolicy') : null,
  };
}

/**
 * Checks once whether `systemd-run --user --scope` works: the manager's socket must exist (a cheap test
 * that skips containers, sudo and non-systemd init), then one real throwaway scope must succeed, because
 * a failing systemd-run in front of an app would keep the app from starting at all.
 */
export function probeUserScope(systemdRun: string | null, env: NodeJS.ProcessEnv, cpuWeight: number): UserScopeSupport {
  if (!systemdRun) return { usable: false, reason: 'systemd-run not found' };
  const runtimeDir = env.XDG_RUNTIME_DIR;
  if (!runtimeDir) return { usable: false, reason: 'no user systemd manager (XDG_RUNTIME_DIR is not set)' };
  if (!existsSync(join(runtimeDir, 'systemd', 'private')) && !existsSync(join(runtimeDir, 'bus'))) {
    return { usable: false, reason: `no user systemd manager (no socket in ${runtimeDir})` };
  }
  const probe = spawnSync(
    systemdRun,
    ['--user', '--scope', '--quiet', '--collect', '-p', `CPUWeight=${cpuWeight}`, '--', 'true'],
    {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
      timeout: 3000,
    },
  );
  if (probe.status === 0) return { usable: true };
  const why = probe.error?.message ?? (probe.stderr.trim().split('\n')[0] || `exit ${probe.status ?? probe.signal}`);
  return { usable: false, reason: `systemd-run --user --scope failed: ${why}` };
}

/** A systemd unit name for the launch: only the characters unit names allow, bounded length. */
export function scopeUnitName(appId: string, launchId: string): string {
  const clean = (s: string): string => s.replace(/[^A-Za-z0-9:_.-]/g, '_');
  return `bgtasks-${clean(appId).slice(0, 120)}-${clean(launchId).slice(0, 64)}.scope`;
}

export interface PlanContext {
  readonly support: PrioritySupport;
  readonly options: BackgroundPriorityOptions;
  /** The daemon's own nice: `nice -n` is relative to it, and children inherit it. */
  readonly currentNice: number;
  readonly unitName: string;
}

/** Builds the wrapped argv for a background launch. Pure: everything it needs is in `ctx`. */
export function planBackgroundLaunch(argv: readonly string[], ctx: PlanContext): PriorityPlan {
  const { support, options, currentNice } = ctx;
  const { tools } = support;
  const notes: string[] = [];
  const prefix: string[] = [];
  let nice: number | null = null;
  let ioClass: string | null = null;
  let cgroup: string | null = null;

  if (support.platform === 'linux' && options.cpuWeight !== null) {
    if (support.userScope.usable && tools.systemdRun) {
      prefix.push(
        tools.systemdRun,
        '--user',
        '--scope',
        '--quiet',
        '--collect',
        `--unit=${ctx.unitName}`,
        '-p',
        `CPUWeight=${options.cpuWeight}`,
        '--',
      );
      cgroup = `${ctx.unitName} (CPUWeight=${options.cpuWeight})`;
    } else if (!support.userScope.usable) {
      notes.push(`cgroup: skipped, ${support.userScope.reason}`);
    }
  }

  const increment = options.nice - currentNice;
  if (increment <= 0) {
    // Lowering nice needs privileges; the app inherits the daemon's, which is already at least as low.
    nice = currentNice;
    notes.push(`nice: the daemon already runs at nice ${currentNice}, inherited`);
  } else if (tools.nice) {
    prefix.push(tools.nice, '-n', String(increment), '--');
    nice = options.nice;
  } else {
    notes.push('nice: the nice tool was not found, CPU priority unchanged');
  }

  if (options.io !== 'none') {
    if (support.platform === 'linux') {
      if (tools.ionice) {
        // -t: run the app even if the kernel refuses the class, rather than not run it at all.
        const cls = options.io === 'idle' ? ['-c', '3'] : ['-c', '2', '-n', '7'];
        prefix.push(tools.ionice, ...cls, '-t', '--');
        ioClass = options.io === 'idle' ? 'idle' : 'best-effort:7';
      } else {
        notes.push('io: ionice was not found, IO priority unchanged');
      }
    } else if (support.platform === 'darwin') {
      // taskpolicy -b: the Darwin background policy (CPU and IO throttling), what launchd's Background uses.
      if (tools.taskpolicy) {
        prefix.push(tools.taskpolicy, '-b', '--');
        ioClass = 'darwin-background';
      } else {
        notes.push('io: taskpolicy was not found, IO priority unchanged');
      }
    } else {
      notes.push(`io: no IO priority tool on ${support.platform}`);
    }
  }

  return { argv: [...prefix, ...argv], applied: { nice, ioClass, cgroup, notes } };
}

/** What a launch at normal priority records. */
export function normalPriority(currentNice: number): AppliedPriority {
  return {
    nice: null,
    ioClass: null,
    cgroup: null,
    notes: currentNice === 0 ? [] : [`nice: inherits the daemon's nice ${currentNice}`],
  };
}

export interface BackgroundPriorityConfig {
  readonly options?: Partial<BackgroundPriorityOptions>;
  readonly platform?: NodeJS.Platform;
  /** Overrides tool lookup (tests; a null entry pretends the tool is missing). */
  readonly tools?: Partial<PriorityTools>;
}

/** Resolves tools and probes the user manager lazily, once, then plans each launch. */
export class BackgroundPriority {
  readonly options: BackgroundPriorityOptions;
  readonly #env: NodeJS.ProcessEnv;
  readonly #platform: NodeJS.Platform;
  readonly #toolOverrides: Partial<PriorityTools>;
  #support: PrioritySupport | null = null;

  constructor(env: NodeJS.ProcessEnv, config: BackgroundPriorityConfig = {}) {
    const options = { ...DEFAULT_BACKGROUND_PRIORITY, ...config.options };
    if (!Number.isInteger(options.nice) || options.nice < 0 || options.nice > 19) {
      throw new RangeError(`background nice must be an integer from 0 to 19, got ${options.nice}`);
    }
    if (
      options.cpuWeight !== null &&
      (!Number.isInteger(options.cpuWeight) || options.cpuWeight < 1 || options.cpuWeight > 10000)
    ) {
      throw new RangeError(`background cpuWeight must be an integer from 1 to 10000 or null, got ${options.cpuWeight}`);
    }
    this.options = options;
    this.#env = env;
    this.#platform = config.platform ?? process.platform;
    this.#toolOverrides = config.tools ?? {};
  }

  /** What this system supports (resolved on first use, then cached). */
  support(): PrioritySupport {
    if (this.#support) return this.#support;
    const tools = { ...resolvePriorityTools(this.#env.PATH, this.#platform), ...this.#toolOverrides };
    let userScope: UserScopeSupport;
    if (this.#platform !== 'linux') userScope = { usable: false, reason: `cgroups are Linux only (${this.#platform})` };
    else if (this.options.cpuWeight === null) userScope = { usable: false, reason: 'disabled (cpuWeight is null)' };
    else userScope = probeUserScope(tools.systemdRun, this.#env, this.options.cpuWeight);
    this.#support = { platform: this.#platform, tools, userScope };
    return this.#support;
  }

  /**
   * The argv to spawn for `argv` and what it applies. A command that cannot be found is not wrapped, so
   * spawn fails on it exactly as before (an `error` with ENOENT) instead of the wrapper exiting 127.
   */
  plan(
    argv: readonly string[],
    launch: { reason: 'user' | 'background'; cwd: string; pathVar: string | undefined; unitName: string },
  ): PriorityPlan {
    const currentNice = getPriority();
    if (launch.reason !== 'background') return { argv, applied: normalPriority(currentNice) };
    const [command] = argv;
    if (command === undefined || findExecutable(command, launch.pathVar, launch.cwd) === null) {
      return {
        argv,
        applied: {
          ...normalPriority(currentNice),
          notes: ['command not found: launched unwrapped so the spawn error is reported'],
        },
      };
    }
    return planBackgroundLaunch(argv, {
      support: this.support(),
      options: this.options,
      currentNice,
      unitName: launch.unitName,
    });
  }
}
