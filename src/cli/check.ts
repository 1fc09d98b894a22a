import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PUSH_IDENTIFIER } from '../engine/push.js';
import { z } from 'zod';
import {
  findHandlerKey,
  isFamilyPattern,
  isPermitted,
  matchesPattern,
} from '../protocol/vocabulary/identifierMatching.js';
import { MODE_FOR_KIND, TASK_KINDS, type TaskKind } from '../engine/types.js';
import { ManifestError, loadManifest, type LoadedManifest } from '../daemon/manifest.js';
import { ENV } from '../shared/paths.js';
import { CliError } from './controlClient.js';

/**
 * `bgtasks check DIR`: catches, before the app ships, what Apple's BGTaskScheduler only reports by
 * crashing at run time. The app is started once as a user launch in a dry run (BGTASKS_DRY_RUN, see
 * src/sdk/dryRun.ts: no daemon, a temporary home), its SDK reports what it registered and submitted,
 * and that is judged against the manifest:
 *
 * | code                    | what                                                                    |
 * |-------------------------|-------------------------------------------------------------------------|
 * | `unhandledIdentifier`   | a permitted identifier or family that no registered handler serves       |
 * | `handlerNotPermitted`   | a handler for an identifier the manifest does not permit                 |
 * | `registrationRefused`   | a registration the SDK refused: late (after an await), duplicate, malformed |
 * | `submitNotPermitted`    | a submitted identifier the manifest does not permit                     |
 * | `missingBackgroundMode` | a submitted kind whose background mode the manifest lacks               |
 * | `appCrashed`            | the app exited non-zero (or could not start) before its report           |
 * | `noReport`              | the app never reached BGTaskScheduler.shared (no SDK, or too late)        |
 * | `appTimedOut`           | the app reported its handlers but its start-up window never ended        |
 *
 * Background modes that no handler uses are not reported: which kinds an identifier gets is only known
 * when it is submitted.
 */

export type FindingCode =
  | 'unhandledIdentifier'
  | 'handlerNotPermitted'
  | 'registrationRefused'
  | 'submitNotPermitted'
  | 'missingBackgroundMode'
  | 'appCrashed'
  | 'noReport'
  | 'appTimedOut';

export interface Finding {
  readonly code: FindingCode;
  /** The identifier or family at fault; null for findings about the whole app. */
  readonly identifier: string | null;
  /** What is wrong and how to fix it. */
  readonly message: string;
}

export interface CheckResult {
  readonly appId: string;
  readonly registered: readonly string[];
  readonly submitted: readonly { readonly identifier: string; readonly kind: TaskKind }[];
  readonly findings: readonly Finding[];
}

export interface CheckOptions {
  /** How long to wait for the app's report before stopping it, in milliseconds. */
  readonly timeoutMs: number;
  readonly json: boolean;
}

// The SDK's DryRunReport, checked: it comes from the app's process.
const reportSchema = z.object({
  v: z.literal(1),
  phase: z.enum(['started', 'final']),
  registered: z.array(z.string()),
  refused: z.array(z.object({ identifier: z.string(), reason: z.string() })),
  submitted: z.array(z.object({ identifier: z.string(), kind: z.enum(TASK_KINDS) })),
});
type Report = z.infer<typeof reportSchema>;

/** What happened to the app's process. */
interface AppRun {
  /** null when it was stopped at the timeout. */
  readonly exit: { readonly code: number | null; readonly signal: string | null } | null;
  readonly spawnError: Error | null;
  readonly stderr: string;
  readonly report: Report | null;
}

const STDERR_KEEP = 8 * 1024;
const STDERR_LINES = 20;

/** Runs the check, prints it, and fails with `checkFailed` (exit 1) when it found problems. */
export async function runCheck(dir: string, options: CheckOptions): Promise<void> {
  const result = await checkApp(dir, options.timeoutMs);
  process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : `${render(result)}\n`);
  const count = result.findings.length;
  if (count > 0)
    throw new CliError('checkFailed', `${count} problem${count === 1 ? '' : 's'} found in ${result.appId}`);
}

/** Loads the manifest (as `bgtasks install` does), runs the app in a dry run and judges what it reported. */
export async function checkApp(dir: string, timeoutMs: number): Promise<CheckResult> {
  let loaded: LoadedManifest;
  try {
    loaded = loadManifest(dir);
  } catch (error) {
    if (error instanceof ManifestError) throw new CliError(error.code, error.message, error.field);
    throw error;
  }
  const temp = mkdtempSync(join(tmpdir(), 'bgtasks-check-'));
  try {
    const run = await dryRun(loaded, temp, timeoutMs);
    const { report } = run;
    return {
      appId: loaded.manifest.appId,
      registered: report?.registered ?? [],
      submitted: report?.submitted ?? [],
      findings: [...(report ? judge(loaded, report) : []), ...processFindings(loaded, run, timeoutMs)],
    };
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

/** Starts the launch command like the daemon's launcher (argv, from the app's directory, no shell). */
async function dryRun(loaded: LoadedManifest, temp: string, timeoutMs: number): Promise<AppRun> {
  const reportFile = join(temp, 'report.json');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    [ENV.home]: join(temp, 'home'), // never the real home, even if the SDK looked
    [ENV.dryRun]: reportFile,
    [ENV.launchReason]: 'user',
    [ENV.appId]: loaded.manifest.appId,
  };
  delete env[ENV.launchId];
  const [command, ...args] = loaded.launch as [string, ...string[]];
  // Its own process group, so stopping it stops whatever it started.
  const child = spawn(command, args, { cwd: loaded.dir, detached: true, stdio: ['ignore', 'ignore', 'pipe'], env });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-STDERR_KEEP);
  });
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const ended = await new Promise<{ exit: AppRun['exit']; spawnError: Error | null }>((resolve) => {
    const timer = setTimeout(() => resolve({ exit: null, spawnError: null }), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({ exit: { code: null, signal: null }, spawnError: error });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ exit: { code, signal }, spawnError: null });
    });
  });
  if (child.pid !== undefined) {
    try {
      process.kill(-child.pid, 'SIGKILL'); // the app timed out, or left children behind
    } catch {
      // the group is gone already
    }
  }
  // Its stderr is complete once the pipe closes; a grandchild outside the group could hold it open.
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
  return { ...ended, stderr, report: readReport(reportFile) };
}

function readReport(file: string): Report | null {
  if (!existsSync(file)) return null;
  try {
    const parsed = reportSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/**
 * A handler is permitted by the daemon's rule: an identifier listed or under a listed family; a family only when
 * listed.
 */
function handlerPermitted(permitted: readonly string[], pattern: string): boolean {
  return isFamilyPattern(pattern) ? permitted.includes(pattern) : isPermitted(permitted, pattern);
}

/**
 * Whether a handler serves a manifest entry: an identifier by the delivery rule; a family only by a family handler
 * covering all of it.
 */
function served(entry: string, handlers: readonly string[]): boolean {
  if (!isFamilyPattern(entry)) return findHandlerKey(handlers, entry) !== undefined;
  return handlers.some((handler) => isFamilyPattern(handler) && (handler === entry || matchesPattern(handler, entry)));
}

/** The manifest against what the app registered and submitted. */
export function judge(loaded: LoadedManifest, report: Report): Finding[] {
  const { permittedIdentifiers: permitted } = loaded.manifest;
  const file = join(loaded.dir, 'package.json');
  const reinstall = `in ${file} (then \`bgtasks install ${loaded.dir}\` again)`;
  const findings: Finding[] = [];
  const add = (code: FindingCode, identifier: string, message: string): void => {
    if (!findings.some((finding) => finding.code === code && finding.identifier === identifier))
      findings.push({ code, identifier, message });
  };
  // The daemon refuses handlers the manifest does not permit, so those serve nothing.
  const accepted = report.registered.filter((pattern) => handlerPermitted(permitted, pattern));
  for (const entry of permitted) {
    if (served(entry, accepted)) continue;
    const what = isFamilyPattern(entry)
      ? `the family ${entry} is in permittedIdentifiers, but no handler is ` +
        `registered for it (a family needs a family handler)`
      : `${entry} is in permittedIdentifiers, but no handler is registered for it`;
    add(
      'unhandledIdentifier',
      entry,
      `${what}: its tasks would fail with noHandler. Fix: register one at ` +
        `start-up, before the first await ` +
        `(BGTaskScheduler.shared.register('${entry}', handler)), or remove it from ` +
        `permittedIdentifiers ${reinstall}.`,
    );
  }
  // The push handler is permitted by the background mode (the SDK refuses it without), not by an identifier.
  const pushMode = loaded.backgroundModes.includes('remote-notification');
  if (pushMode && !report.registered.includes(PUSH_IDENTIFIER)) {
    add(
      'unhandledIdentifier',
      PUSH_IDENTIFIER,
      `backgroundModes has "remote-notification", but no onRemoteNotification ` +
        `handler is registered: every push would fail with noHandler. Fix: call ` +
        `BGTaskScheduler.shared.onRemoteNotification(handler) at start-up, before ` +
        `the first await, or remove the mode ${reinstall}.`,
    );
  }
  if (!pushMode && report.registered.includes(PUSH_IDENTIFIER)) {
    add(
      'missingBackgroundMode',
      PUSH_IDENTIFIER,
      `the app registers onRemoteNotification, but backgroundModes lacks ` +
        `"remote-notification": a real launch refuses the handler and no push is ` +
        `accepted for the app. Fix: add "remote-notification" to backgroundModes ` +
        `${reinstall}.`,
    );
  }
  for (const pattern of report.registered) {
    if (pattern === PUSH_IDENTIFIER || handlerPermitted(permitted, pattern)) continue;
    const rule = isFamilyPattern(pattern) ? ' (a family handler needs that family listed)' : '';
    add(
      'handlerNotPermitted',
      pattern,
      `the app registers a handler for ${pattern}, which permittedIdentifiers does ` +
        `not permit${rule}: a real launch refuses it (Apple's BGTaskScheduler ` +
        `crashes). Fix: add "${pattern}" to permittedIdentifiers ${reinstall}, or ` +
        `remove the registration.`,
    );
  }
  for (const { identifier, reason } of report.refused) {
    add(
      'registrationRefused',
      identifier,
      `register('${identifier}') was refused: ${reason}. Fix: register every ` +
        `handler at start-up, once, at the top level of the entry module, before the ` +
        `first await.`,
    );
  }
  for (const { identifier, kind } of report.submitted) {
    if (!isPermitted(permitted, identifier)) {
      add(
        'submitNotPermitted',
        identifier,
        `the app submits a ${kind} request for ${identifier}, which ` +
          `permittedIdentifiers does not permit: submit() rejects with notPermitted. ` +
          `Fix: add it (or a family covering it) to permittedIdentifiers ${reinstall}, ` +
          `or submit a permitted identifier.`,
      );
    }
    const mode = MODE_FOR_KIND[kind];
    if (!loaded.backgroundModes.includes(mode)) {
      add(
        'missingBackgroundMode',
        identifier,
        `the app submits a ${kind} request for ${identifier}, but ${kind} tasks need ` +
          `the "${mode}" background mode, which backgroundModes lacks: submit() ` +
          `rejects with notPermitted. Fix: add "${mode}" to backgroundModes ` +
          `${reinstall}, or submit another kind of request.`,
      );
    }
  }
  return findings;
}

/** What the app's process did wrong: crashed, never reported, or never finished its window. */
function processFindings(loaded: LoadedManifest, run: AppRun, timeoutMs: number): Finding[] {
  const command = loaded.manifest.launch.join(' ');
  if (run.spawnError)
    return [
      {
        code: 'appCrashed',
        identifier: null,
        message: `the launch command (${command}) could not be started: ` + `${run.spawnError.message}`,
      },
    ];
  if (run.exit === null) {
    if (run.report === null) {
      return [
        {
          code: 'noReport',
          identifier: null,
          message:
            `the app did not use BGTaskScheduler.shared within ${timeoutMs} ms and was ` +
            `stopped. Fix: access it and register the handlers at start-up, before any ` +
            `await that may take long (or raise --timeout).${tail(run.stderr)}`,
        },
      ];
    }
    return [
      {
        code: 'appTimedOut',
        identifier: null,
        message:
          `the app registered its handlers but did not finish its start-up within ` +
          `${timeoutMs} ms (a blocked event loop?) and was stopped; the findings above ` +
          `use what it did until then.${tail(run.stderr)}`,
      },
    ];
  }
  const { code, signal } = run.exit;
  if (code !== 0) {
    const how = signal ? `was killed by ${signal}` : `exited with code ${String(code)}`;
    return [
      {
        code: 'appCrashed',
        identifier: null,
        message:
          `the app (${command}) ${how} during its start-up as a user ` +
          `launch${run.report ? ' (after registering its handlers)' : ''}. Fix the ` +
          `error and check again.${tail(run.stderr)}`,
      },
    ];
  }
  if (run.report === null) {
    return [
      {
        code: 'noReport',
        identifier: null,
        message:
          `the app exited without using BGTaskScheduler.shared, so nothing was ` +
          `registered. Fix: import { BGTaskScheduler } from 'bgtasks' in the entry ` +
          `module that ${command} runs, and register the handlers at start-up, before ` +
          `the first await.${tail(run.stderr)}`,
      },
    ];
  }
  return [];
}

/** The last lines of the app's stderr, for a message. */
function tail(stderr: string): string {
  const lines = stderr.trimEnd().split('\n').slice(-STDERR_LINES);
  return lines.length === 1 && lines[0] === ''
    ? ''
    : `\nIts stderr ends with:\n${lines.map((line) => `  | ${line}`).join('\n')}`;
}

function render(result: CheckResult): string {
  const handlers = result.registered.length > 0 ? result.registered.join(', ') : '(none)';
  const submitted =
    result.submitted.length > 0
      ? result.submitted.map((request) => `${request.identifier} (${request.kind})`).join(', ')
      : '(none)';
  const count = result.findings.length;
  const lines = [
    `${result.appId}: ${count === 0 ? 'no problems found' : `${count} problem${count === 1 ? '' : 's'}`}`,
    `  handlers: ${handlers}`,
    `  submitted at start-up: ${submitted}`,
  ];
  for (const finding of result.findings) {
    lines.push('', `  ${finding.code}${finding.identifier ? `  ${finding.identifier}` : ''}`);
    lines.push(...finding.message.split('\n').map((line) => `    ${line}`));
  }
  return lines.join('\n');
}
