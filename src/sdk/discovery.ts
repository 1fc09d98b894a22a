import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isFamilyPattern, isPermitted as matchesAny } from '../protocol/vocabulary/identifierMatching.js';
import { BACKGROUND_MODES, type BackgroundMode } from '../protocol/vocabulary/kinds.js';
import { NAME_PATTERN } from '../protocol/identifiers.js';
import { ENV, defaultHome, homePaths } from '../shared/paths.js';
import { BGTaskSchedulerError } from './errors.js';

/**
 * Finds what the app needs to talk to the daemon, with nothing to configure:
 *
 * | what        | from                                                                                   |
 * |-------------|----------------------------------------------------------------------------------------|
 * | home        | `defaultHome(env)`: `$BGTASKS_HOME`, else `$XDG_STATE_HOME/bgtasks`, else `~/.local/state/bgtasks` |
 * | app id      | `$BGTASKS_APP_ID` (set by the daemon on the processes it launches), else `bgtasks.appId` in the
 * nearest package.json that has a `bgtasks` section, looking up from the script's directory
 * (`dirname(process.argv[1])`), then from the working directory |
 * | manifest    | `bgtasks.permittedIdentifiers` and `bgtasks.backgroundModes` of that package.json (when it is this
 * app's) |
 * | credential  | the file `credentials/<appId>` in the home, written by `bgtasks install`                |
 *
 * The manifest section looks like:
 * ```json
 * "bgtasks": {
 *   "appId": "com.example.feeds",
 *   "permittedIdentifiers": ["com.example.feeds.refresh", "com.example.feeds.export.*"],
 *   "backgroundModes": ["fetch", "processing"]
 * }
 * ```
 */

/** The `bgtasks` section of the app's package.json, as the SDK reads it. */
export interface Manifest {
  /** The package.json it came from. */
  readonly file: string;
  readonly appId: string | null;
  readonly permittedIdentifiers: readonly string[];
  readonly backgroundModes: readonly BackgroundMode[];
}

/** Everything the handshake needs. */
export interface AppContext {
  readonly home: string;
  readonly socketPath: string;
  readonly appId: string;
  readonly credential: string;
  readonly manifest: Manifest | null;
}

export interface Discovery {
  /** The socket to connect to; never throws. */
  socketPath(): string;
  /** This app's manifest, or null when none was found (or it names another app); never throws. */
  manifest(): Manifest | null;
  /**
   * The app id and credential, read now (so installing the app while it runs takes effect on the next
   * connection).
   * @throws BGTaskSchedulerError `unavailable` naming what is missing and how to fix it.
   */
  resolve(): AppContext;
}

export interface DiscoveryOptions {
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** The script being run. @default process.argv[1] */
  readonly argv1?: string | undefined;
  /** @default process.cwd() */
  readonly cwd?: string;
  /** Reads a UTF-8 file; null when it cannot be read. @default fs.readFileSync */
  readonly readFile?: (path: string) => string | null;
}

interface Found {
  readonly file: string;
  readonly section: Record<string, unknown>;
}

function readFileOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function stringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

const MANIFEST_EXAMPLE =
  '"bgtasks": { "appId": "com.example.app", "permittedIdentifiers": ' +
  '["com.example.app.refresh"], "backgroundModes": ["fetch"] }';

function unavailable(message: string): BGTaskSchedulerError {
  return new BGTaskSchedulerError('unavailable', message);
}

/** The default {@link Discovery}; every input can be replaced for tests. */
export function createDiscovery(options: DiscoveryOptions = {}): Discovery {
  const env = options.env ?? process.env;
  const argv1 = 'argv1' in options ? options.argv1 : process.argv[1];
  const cwd = options.cwd ?? process.cwd();
  const readFile = options.readFile ?? readFileOrNull;
  const paths = homePaths(defaultHome(env));
  const starts = [...(argv1 ? [dirname(resolve(cwd, argv1))] : []), resolve(cwd)];
  let found: Found | null | undefined;

  const find = (): Found | null => {
    if (found !== undefined) return found;
    found = null;
    const seen = new Set<string>();
    for (const start of starts) {
      for (let dir = start; !seen.has(dir); dir = dirname(dir)) {
        seen.add(dir);
        const file = join(dir, 'package.json');
        const text = readFile(file);
        if (text === null) continue;
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          continue;
        }
        const section =
          typeof json === 'object' && json !== null ? (json as Record<string, unknown>)['bgtasks'] : undefined;
        if (typeof section === 'object' && section !== null && !Array.isArray(section)) {
          found = { file, section: section as Record<string, unknown> };
          return found;
        }
      }
    }
    return found;
  };

  const envAppId = (): string | null => env[ENV.appId] || null;

  const manifest = (): Manifest | null => {
    const hit = find();
    if (!hit) return null;
    const appId = typeof hit.section['appId'] === 'string' ? hit.section['appId'] : null;
    const fromEnv = envAppId();
    if (fromEnv !== null && appId !== fromEnv) return null; // another app's package.json
    const modes = stringArray(hit.section['backgroundModes']);
    return {
      file: hit.file,
      appId,
      permittedIdentifiers: stringArray(hit.section['permittedIdentifiers']),
      backgroundModes: BACKGROUND_MODES.filter((mode) => modes.includes(mode)),
    };
  };

  const resolveContext = (): AppContext => {
    const found = manifest();
    let appId = envAppId();
    if (appId === null) {
      const hit = find();
      if (!hit) {
        throw unavailable(
          `no package.json with a "bgtasks" section was found in ${starts.join(' or ')} or any directory above: ` +
            `add one to the app's package.json, e.g. ${MANIFEST_EXAMPLE}, then run ` +
            `\`bgtasks install <dir>\` (or set ${ENV.appId})`,
        );
      }
      appId = found?.appId ?? null;
      if (appId === null)
        throw unavailable(
          `the "bgtasks" section of ${hit.file} has no "appId": add one, e.g. ` + `${MANIFEST_EXAMPLE}`,
        );
    }
    if (!NAME_PATTERN.test(appId)) {
      throw unavailable(
        `the app id ${JSON.stringify(appId)} is not a reverse-DNS name (letters, ` + `digits, ".", "_" or "-")`,
      );
    }
    const credentialFile = paths.credentialFile(appId);
    const text = readFile(credentialFile);
    const installDir = found ? dirname(found.file) : '<dir>';
    if (text === null) {
      throw unavailable(
        `app ${appId} is not installed: run \`bgtasks install ${installDir}\` (no ` +
          `credential file at ${credentialFile})`,
      );
    }
    const credential = text.trim();
    if (credential.length < 16 || credential.length > 256) {
      throw unavailable(
        `the credential file ${credentialFile} is malformed: run \`bgtasks install ` + `${installDir}\` again`,
      );
    }
    return { home: paths.home, socketPath: paths.socket, appId, credential, manifest: found };
  };

  return { socketPath: () => paths.socket, manifest, resolve: resolveContext };
}

/**
 * Whether the manifest permits a registration, by the daemon's rule: an identifier listed exactly or
 * covered by a listed family (`prefix.*` covers `prefix.<anything>`); a family only when it is listed.
 */
export function isPermitted(manifest: Manifest, identifier: string): boolean {
  return isFamilyPattern(identifier)
    ? manifest.permittedIdentifiers.includes(identifier)
    : matchesAny(manifest.permittedIdentifiers, identifier);
}
