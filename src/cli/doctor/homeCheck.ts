import { existsSync, readdirSync, statSync, type Stats } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { homePaths } from '../../shared/paths.js';
import { fail, ok, shellQuote, warn, type Check } from './checks.js';

/**
 * The home's doors, as the daemon makes them (src/daemon: daemon.ts, ipcServer.ts, credentials.ts,
 * pushTokens.ts, launcher.ts, http/dashboardFile.ts, the SQLite store): directories 0700, the socket and
 * every secret or record 0600, all owned by the user who runs the daemon. Anything wider lets another
 * local user read an app's credential or a push token, or drive the daemon.
 */
export interface HomeCheckOptions {
  readonly home: string;
  /** The SQLite store file when the store is one (its `-wal` and `-shm` are checked too); null for PostgreSQL. */
  readonly storeFile: string | null;
  /** The user the files must belong to. @default the current user */
  readonly uid?: number;
}

type Kind = 'dir' | 'file' | 'socket';

interface Finding {
  readonly path: string;
  readonly kind: Kind;
  readonly problem: 'mode' | 'owner' | 'type';
  readonly mode: number;
}

const WANTED: Record<Kind, number> = { dir: 0o700, file: 0o600, socket: 0o600 };

/** Only the owner may have access, and the owner needs all of it (the daemon writes everywhere). */
function judge(path: string, kind: Kind, stats: Stats, uid: number): Finding[] {
  const mode = stats.mode & 0o777;
  const found: Finding[] = [];
  const typeOk = kind === 'dir' ? stats.isDirectory() : kind === 'socket' ? stats.isSocket() : stats.isFile();
  if (!typeOk) return [{ path, kind, problem: 'type', mode }];
  if (mode !== WANTED[kind]) found.push({ path, kind, problem: 'mode', mode });
  if (stats.uid !== uid) found.push({ path, kind, problem: 'owner', mode });
  return found;
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}

/** One line for a group of paths: ok, or what is wrong with each and the exact commands that fix it. */
function line(id: string, what: string, checked: number, findings: readonly Finding[]): Check {
  if (findings.length === 0)
    return ok(
      id,
      'permissions',
      `${what}: ${checked === 1 ? 'mode and owner right' : `${checked} paths, modes and owner right`}`,
    );
  const detail = findings
    .map((finding) =>
      finding.problem === 'type'
        ? `${finding.path} is not a ${finding.kind === 'dir' ? 'directory' : finding.kind}`
        : finding.problem === 'owner'
          ? `${finding.path} belongs to another user`
          : `${finding.path} is ${octal(finding.mode)}, not ${octal(WANTED[finding.kind])}`,
    )
    .join('; ');
  const fixes: string[] = [];
  const owner = findings.filter((finding) => finding.problem === 'owner').map((finding) => shellQuote(finding.path));
  if (owner.length > 0) fixes.push(`chown ${shellQuote(currentUserName())} ${owner.join(' ')}`);
  for (const kind of ['dir', 'file', 'socket'] as const) {
    const paths = findings
      .filter((finding) => finding.problem === 'mode' && finding.kind === kind)
      .map((finding) => shellQuote(finding.path));
    if (paths.length > 0) fixes.push(`chmod ${WANTED[kind].toString(8)} ${paths.join(' ')}`);
  }
  const wrongType = findings.filter((finding) => finding.problem === 'type');
  if (wrongType.length > 0)
    fixes.push(
      `move away ${wrongType.map((finding) => shellQuote(finding.path)).join(' ')} ` + `(the daemon makes its own)`,
    );
  return fail(id, 'permissions', `${what}: ${detail}`, fixes.join(' && '));
}

function currentUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? '$(id -u)');
  }
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/** A directory and the files directly in it (leftover `*.tmp` files of an interrupted write included). */
function directoryWithFiles(id: string, what: string, dir: string, uid: number): Check | null {
  const stats = statOrNull(dir);
  if (!stats) return null;
  const findings = judge(dir, 'dir', stats, uid);
  let checked = 1;
  if (stats.isDirectory()) {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const entry = statOrNull(path);
      // The socket has a line of its own.
      if (!entry || entry.isSocket()) continue;
      checked += 1;
      findings.push(...judge(path, entry.isDirectory() ? 'dir' : 'file', entry, uid));
    }
  }
  return line(id, what, checked, findings);
}

function single(id: string, what: string, path: string, kind: Kind, uid: number): Check | null {
  const stats = statOrNull(path);
  return stats ? line(id, what, 1, judge(path, kind, stats, uid)) : null;
}

/**
 * The files right in the home (the store and its `-wal`/`-shm`, `node-id`, tokens): all 0600, whatever
 * a later version adds, since the daemon writes every one of them so.
 */
function filesInHome(home: string, uid: number): Check | null {
  const findings: Finding[] = [];
  let checked = 0;
  for (const name of readdirSync(home).sort()) {
    const path = join(home, name);
    const stats = statOrNull(path);
    if (!stats?.isFile()) continue;
    checked += 1;
    findings.push(...judge(path, 'file', stats, uid));
  }
  return checked === 0
    ? null
    : line('permissions.files', `files in ${home} (store, tokens, node id)`, checked, findings);
}

export function checkHome(options: HomeCheckOptions): { checks: Check[] } {
  const uid = options.uid ?? process.getuid?.() ?? 0;
  const paths = homePaths(options.home);
  const home = statOrNull(paths.home);
  if (!home) {
    return {
      checks: [
        warn(
          'permissions.home',
          'permissions',
          `${paths.home} does not exist yet`,
          'start the daemon once (bgtasks daemon): it creates the home with mode 0700',
        ),
      ],
    };
  }
  const checks: (Check | null)[] = [
    single('permissions.home', `home ${paths.home}`, paths.home, 'dir', uid),
    directoryWithFiles(
      'permissions.run',
      `run directory ${paths.runDir} (and the dashboard's token)`,
      paths.runDir,
      uid,
    ),
    single('permissions.socket', `socket ${paths.socket}`, paths.socket, 'socket', uid),
    directoryWithFiles('permissions.credentials', `credentials ${paths.credentialsDir}`, paths.credentialsDir, uid),
    directoryWithFiles(
      'permissions.pushTokens',
      `push tokens ${join(paths.home, 'push-tokens')}`,
      join(paths.home, 'push-tokens'),
      uid,
    ),
    directoryWithFiles('permissions.logs', `logs ${paths.logsDir}`, paths.logsDir, uid),
    filesInHome(paths.home, uid),
  ];
  // A store outside the home: its directory is not the daemon's, but its files are.
  if (options.storeFile !== null && dirname(options.storeFile) !== paths.home) {
    const files = [options.storeFile, `${options.storeFile}-wal`, `${options.storeFile}-shm`].filter((file) =>
      existsSync(file),
    );
    const findings = files.flatMap((file) => judge(file, 'file', statSync(file), uid));
    if (files.length > 0)
      checks.push(line('permissions.store', `store ${options.storeFile} (outside the home)`, files.length, findings));
  }
  return { checks: checks.filter((check): check is Check => check !== null) };
}
