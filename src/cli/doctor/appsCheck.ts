import { existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { ManifestError, loadManifest, resolveCommand, type LoadedManifest } from '../../daemon/manifest.js';
import { errorMessage, fail, ok, shellQuote, warn, type Check } from './checks.js';
import type { InstalledApp } from './daemonCheck.js';

/**
 * Each installed app against its directory as it is now: the manifest re-read with the daemon's own
 * parser (src/daemon/manifest.ts), compared with what was recorded at install (the daemon keeps using
 * the recorded one until `bgtasks install` runs again), and the recorded launch command resolved as
 * the launcher runs it (argv, from the app's directory, no shell). Nothing is run.
 */
export interface AppsCheckOptions {
  /** The installed apps, from the daemon or the store; null when they could not be listed. */
  readonly apps: readonly InstalledApp[] | null;
  /** Why they could not be listed. */
  readonly appsError?: string;
  /** Where the list came from, for the report. */
  readonly source: string;
  /** The environment the launch command is resolved in (its PATH). @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

export function checkApps(options: AppsCheckOptions): { checks: Check[] } {
  if (options.apps === null) {
    return {
      checks: [
        warn(
          'apps.list',
          'apps',
          `the installed apps could not be listed: ` + `${options.appsError ?? 'unknown reason'}`,
          'fix the daemon or store problem above, then run bgtasks doctor again',
        ),
      ],
    };
  }
  if (options.apps.length === 0) return { checks: [ok('apps.list', 'apps', `no apps installed (${options.source})`)] };
  const checks: Check[] = [
    ok(
      'apps.list',
      'apps',
      `${options.apps.length} app${options.apps.length === 1 ? '' : 's'} installed ` + `(${options.source})`,
    ),
  ];
  for (const app of options.apps) checks.push(...checkApp(app, options.env ?? process.env));
  return { checks };
}

export function checkApp(app: InstalledApp, env: NodeJS.ProcessEnv): Check[] {
  const id = `apps.${app.appId}`;
  const dir = shellQuote(app.dir);
  const reinstall = `bgtasks install ${dir}`;
  let isDir: boolean;
  try {
    isDir = statSync(app.dir).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) {
    return [
      fail(
        `${id}.dir`,
        'apps',
        `${app.appId}: its directory ${app.dir} is gone: every background launch ` + `fails`,
        `restore ${dir} and run ${reinstall} again, or bgtasks uninstall ` + `${app.appId}`,
      ),
    ];
  }
  const ranOnce = (app.ranOnce ?? []).map((warning) =>
    warn(
      `${id}.ranOnce.${warning.identifier}`,
      'apps',
      `${app.appId}: ${warning.message}`,
      `in ${app.appId}'s handler for ${warning.identifier}: ${warning.fix}`,
    ),
  );
  return [manifestLine(app, env, id, reinstall), launchLine(app, env, id, reinstall), ...ranOnce];
}

function manifestLine(app: InstalledApp, env: NodeJS.ProcessEnv, id: string, reinstall: string): Check {
  const lineId = `${id}.manifest`;
  const file = shellQuote(join(app.dir, 'package.json'));
  let loaded: LoadedManifest;
  try {
    loaded = loadManifest(app.dir, env);
  } catch (error) {
    if (!(error instanceof ManifestError)) throw error;
    if (error.code === 'manifestNotFound')
      return fail(
        lineId,
        'apps',
        `${app.appId}: ${app.dir} has no package.json any more`,
        `restore ${file} and run ${reinstall} again, or bgtasks uninstall ` + `${app.appId}`,
      );
    if (error.code === 'invalidManifest')
      return fail(
        lineId,
        'apps',
        `${app.appId}: its manifest no longer parses: ${error.message}`,
        `fix ${error.field ?? 'bgtasks'} in ${file}, then ${reinstall} again`,
      );
    return fail(
      lineId,
      'apps',
      `${app.appId}: its manifest's launch command no longer resolves: ` + `${error.message}`,
      `install the command or fix bgtasks.launch in ${file}, then ${reinstall} ` + `again`,
    );
  }
  const { manifest } = loaded;
  if (manifest.appId !== app.appId) {
    return fail(
      lineId,
      'apps',
      `${app.appId}: ${join(app.dir, 'package.json')} now declares appId ` + `${manifest.appId}`,
      `bgtasks uninstall ${app.appId} && ${reinstall}`,
    );
  }
  const changes = [
    difference('permitted identifiers', app.permittedIdentifiers, manifest.permittedIdentifiers),
    difference('background modes', app.backgroundModes, manifest.backgroundModes),
    sameLaunch(app.launch, manifest.launch, loaded.launch)
      ? null
      : `launch ${app.launch.join(' ')} → ${manifest.launch.join(' ')}`,
  ].filter((change): change is string => change !== null);
  if (changes.length > 0) {
    return warn(
      lineId,
      'apps',
      `${app.appId}: the manifest changed since install (the daemon still uses the ` +
        `recorded one): ${changes.join('; ')}`,
      `${reinstall} again`,
    );
  }
  return ok(lineId, 'apps', `${app.appId}: the manifest in ${app.dir} parses and matches what was installed`);
}

/**
 * The recorded launch command, as the launcher would spawn it: argv[0] on PATH or relative to the app's directory, and
 * executable.
 */
function launchLine(app: InstalledApp, env: NodeJS.ProcessEnv, id: string, reinstall: string): Check {
  const lineId = `${id}.launch`;
  const [command, ...args] = app.launch as [string, ...string[]];
  let resolved: string;
  try {
    resolved = resolveCommand(command, app.dir, env);
  } catch (error) {
    return fail(
      lineId,
      'apps',
      `${app.appId}: the launch command ${command} is not found or not executable: ` +
        `every background launch fails (${errorMessage(error)})`,
      `install ${shellQuote(command)} (or chmod +x it), or fix bgtasks.launch in ` +
        `its package.json, then ${reinstall} again`,
    );
  }
  // The same rule as at install: a script the command runs must exist.
  const missing = args.filter(
    (arg) => /\.(m|c)?(j|t)s$/.test(arg) && !arg.startsWith('-') && !existsSync(resolve(app.dir, arg)),
  );
  if (missing.length > 0) {
    return fail(
      lineId,
      'apps',
      `${app.appId}: the launch command runs ${missing.join(', ')}, which no ` + `longer exists in ${app.dir}`,
      `restore it, or fix bgtasks.launch in its package.json, then ${reinstall} ` + `again`,
    );
  }
  return ok(lineId, 'apps', `${app.appId}: launch ${[resolved, ...args].join(' ')} resolves and is executable`);
}

function difference(what: string, recorded: readonly string[], now: readonly string[]): string | null {
  const added = now.filter((item) => !recorded.includes(item));
  const removed = recorded.filter((item) => !now.includes(item));
  if (added.length === 0 && removed.length === 0) return null;
  const addedText = added.length > 0 ? ` added ${added.join(', ')}` : '';
  const removedText = removed.length > 0 ? ` removed ${removed.join(', ')}` : '';
  return `${what}${addedText}${addedText && removedText ? ',' : ''}${removedText}`;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, index) => item === b[index]);
}

/**
 * The recorded launch holds argv[0] as resolved at install, in the daemon's PATH; this command's PATH
 * may differ. So a bare name (`node`) matches a recorded path with that name; a path must resolve alike.
 */
function sameLaunch(recorded: readonly string[], written: readonly string[], resolvedHere: readonly string[]): boolean {
  if (!sameList(recorded.slice(1), written.slice(1))) return false;
  const [command] = written as [string];
  return command.includes('/')
    ? recorded[0] === resolvedHere[0]
    : basename(recorded[0]!) === command || recorded[0] === resolvedHere[0];
}
