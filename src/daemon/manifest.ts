import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { appIdSchema, identifierPatternSchema } from '../protocol/identifiers.js';
import { describeIssue } from '../protocol/messages.js';
import { BACKGROUND_MODES, type BackgroundMode } from '../engine/types.js';
import { readUntrustedFile, UntrustedFileError } from '../shared/untrustedFile.js';

/**
 * The `bgtasks` section of an app's package.json: our Info.plist.
 *
 * ```json
 * "bgtasks": {
 *   "appId": "com.example.feeds",
 *   "launch": ["node", "main.mjs"],
 *   "permittedIdentifiers": ["com.example.feeds.refresh", "com.example.feeds.export.*"],
 *   "backgroundModes": ["fetch", "processing", "remote-notification"]
 * }
 * ```
 */
export const manifestSchema = z
  .strictObject({
    appId: appIdSchema,
    launch: z.array(z.string().min(1).max(4096)).min(1, 'must name a command, e.g. ["node", "main.mjs"]').max(256),
    permittedIdentifiers: z.array(identifierPatternSchema).max(1000),
    backgroundModes: z
      .array(z.enum(BACKGROUND_MODES))
      .max(8)
      .refine((modes) => new Set(modes).size === modes.length, 'lists a mode twice'),
  })
  // An app that only takes pushes needs no task identifier of its own.
  .refine(
    (manifest) => manifest.permittedIdentifiers.length > 0 || manifest.backgroundModes.includes('remote-notification'),
    {
      message: 'must list at least one task identifier',
      path: ['permittedIdentifiers'],
    },
  );
export type Manifest = z.infer<typeof manifestSchema>;

/**
 * A manifest problem, with the field at fault (`bgtasks.launch.0`):
 *
 * | code                   | when                                                          |
 * |------------------------|---------------------------------------------------------------|
 * | `manifestNotFound`     | the directory has no package.json                              |
 * | `invalidManifest`      | package.json is not JSON, has no `bgtasks` section, or a field is invalid |
 * | `launchCommandNotFound`| `launch[0]` is not an executable file, or a script it runs is missing |
 */
export class ManifestError extends Error {
  override readonly name = 'ManifestError';
  constructor(
    readonly code: 'manifestNotFound' | 'invalidManifest' | 'launchCommandNotFound',
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export interface LoadedManifest {
  readonly dir: string;
  readonly manifest: Manifest;
  /** `launch` with argv[0] resolved to an absolute path. */
  readonly launch: string[];
  readonly backgroundModes: BackgroundMode[];
}

const MAX_MANIFEST_BYTES = 1024 * 1024;

/** Reads and checks the manifest of the app in `dir`, and resolves its launch command. */
export function loadManifest(dir: string, env: NodeJS.ProcessEnv = process.env): LoadedManifest {
  const appDir = resolve(dir);
  const file = join(appDir, 'package.json');
  // A package.json is a few KB: a huge one is a mistake or an attack, and a FIFO or a device (a symlink
  // to /dev/zero) must neither block nor bloat the daemon (see readUntrustedFile).
  let text: string;
  try {
    text = readUntrustedFile(file, MAX_MANIFEST_BYTES);
  } catch (error) {
    if (!(error instanceof UntrustedFileError)) throw error;
    if (error.code === 'fileNotFound')
      throw new ManifestError('manifestNotFound', `${appDir} has no package.json`, 'package.json');
    throw new ManifestError('invalidManifest', error.message, 'package.json');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ManifestError(
      'invalidManifest',
      `${file} is not valid JSON: ${(error as Error).message}`,
      'package.json',
    );
  }
  const section = (json as { bgtasks?: unknown } | null)?.bgtasks;
  if (section === undefined) {
    throw new ManifestError(
      'invalidManifest',
      `${file} has no "bgtasks" section (appId, launch, permittedIdentifiers, ` + `backgroundModes)`,
      'bgtasks',
    );
  }
  const parsed = manifestSchema.safeParse(section);
  if (!parsed.success) {
    const { field, message } = describeIssue(parsed.error);
    throw new ManifestError('invalidManifest', `invalid manifest in ${file}: bgtasks.${message}`, `bgtasks.${field}`);
  }
  const manifest = parsed.data;
  const [command, ...args] = manifest.launch;
  const resolved = resolveCommand(command!, appDir, env);
  for (const [index, arg] of args.entries()) {
    // A script the command runs (`main.mjs`) must exist, or every background launch would fail.
    if (/\.(m|c)?(j|t)s$/.test(arg) && !arg.startsWith('-') && !existsSync(resolve(appDir, arg))) {
      throw new ManifestError(
        'launchCommandNotFound',
        `the launch command runs ${arg}, which does not exist in ${appDir}`,
        `bgtasks.launch.${index + 1}`,
      );
    }
  }
  return { dir: appDir, manifest, launch: [resolved, ...args], backgroundModes: [...manifest.backgroundModes] };
}

/** Resolves a command like a shell would (without running one): a path, or a name on PATH. */
export function resolveCommand(command: string, cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const candidates = command.includes('/')
    ? [isAbsolute(command) ? command : resolve(cwd, command)]
    : (env.PATH ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, command));
  // `node` should be the Node that runs bgtasks when PATH has none (a service's PATH is often minimal).
  if (command === 'node') candidates.push(process.execPath);
  for (const candidate of candidates) {
    try {
      if (statSync(candidate).isFile()) {
        accessSync(candidate, constants.X_OK);
        return candidate;
      }
    } catch {
      // try the next one
    }
  }
  throw new ManifestError(
    'launchCommandNotFound',
    `the launch command "${command}" was not ` + `found${command.includes('/') ? '' : ' on PATH'} or is not executable`,
    'bgtasks.launch.0',
  );
}
