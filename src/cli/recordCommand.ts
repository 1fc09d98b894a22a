/**
 * `bgtasks conditions record --out FILE [--duration 24h] [--interval MS] [--hostname] [--json]`:
 * records this machine's conditions into a trace for what-if runs in tests (docs/traces.md). Reads the
 * sensors itself, as the daemon does; no daemon is needed, and overrides play no part.
 */
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { CONDITION_NAMES, type ConditionName, type Conditions } from '../engine/conditions.js';
import { DEFAULT_POLL_INTERVAL_MS, MIN_POLL_INTERVAL_MS } from '../conditions/deviceConditions.js';
import { recordConditions, type ConditionsTrace, type TraceSample } from '../conditions/trace.js';
import type { Sensors } from '../conditions/sensors.js';
import type { Clock } from '../engine/clock.js';
import { CliError } from './controlClient.js';
import { time } from './format.js';

export interface RecordCommandOptions {
  /** The trace file. */
  readonly out?: string;
  /** `24h`, `90m`, `3600s`, `1500ms`, `2d`, or a number of ms. @default until Ctrl-C */
  readonly duration?: string;
  /** ms between sensor reads. @default 5000 */
  readonly interval?: string;
  /** Store the hostname in the trace. */
  readonly hostname?: boolean;
  /** Print only the summary, as JSON. */
  readonly json?: boolean;
}

/** Seams for tests; the command uses the process's own. */
export interface RecordCommandIo {
  readonly stdout?: { write(text: string): unknown };
  readonly stderr?: { write(text: string): unknown };
  /** Where SIGINT and SIGTERM come from. @default process */
  readonly signals?: Pick<NodeJS.Process, 'on' | 'off'>;
  readonly sensors?: Sensors;
  readonly clock?: Clock;
}

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a duration: a number with a unit (`ms`, `s`, `m`, `h`, `d`; `1.5h` is fine) or a bare number
 * of milliseconds.
 * @throws {CliError} `invalidArgument` (exit 2) with field `duration`, for anything else or for zero.
 */
export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  const ms = match ? Math.round(Number(match[1]) * UNITS[match[2] ?? 'ms']!) : Number.NaN;
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new CliError(
      'invalidArgument',
      `invalid duration "${text}": expected a positive number with a unit, e.g. ` +
        `24h, 90m, 3600s, 1500ms, or a number of ms`,
      'duration',
    );
  }
  return ms;
}

/**
 * Parses the poll interval: whole milliseconds, at least 100. @throws {CliError} `invalidArgument`, field `interval`.
 */
export function parseInterval(text: string): number {
  const ms = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(ms) || ms < MIN_POLL_INTERVAL_MS) {
    throw new CliError(
      'invalidArgument',
      `invalid interval "${text}": expected a whole number of ms, at least ` + `${MIN_POLL_INTERVAL_MS}`,
      'interval',
    );
  }
  return ms;
}

/** `bgtasks conditions record`. Resolves once the recording has stopped and the summary is printed. */
export async function runRecordCommand(options: RecordCommandOptions, io: RecordCommandIo = {}): Promise<void> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const signals = io.signals ?? process;
  if (!options.out) throw new CliError('invalidArgument', 'name the trace file to write with --out FILE', 'out');
  const out = resolve(options.out);
  const durationMs = options.duration === undefined ? undefined : parseDuration(options.duration);
  const pollIntervalMs = options.interval === undefined ? DEFAULT_POLL_INTERVAL_MS : parseInterval(options.interval);
  let outDir: ReturnType<typeof statSync> | undefined;
  try {
    outDir = statSync(dirname(out));
  } catch {
    outDir = undefined;
  }
  if (!outDir?.isDirectory())
    throw new CliError('invalidArgument', `cannot write ${out}: ${dirname(out)} is not a directory`, 'out');

  const json = Boolean(options.json);
  const say = (line: string): void => {
    if (!json) stdout.write(`${line}\n`);
  };
  const notes = new Set<string>();
  const changes = new Map<ConditionName, number>();

  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (): void => {
    // The first Ctrl-C stops cleanly; the file is valid either way, so a second one need not wait.
    if (++interrupts > 1 && signals === process) process.exit(130);
    controller.abort();
  };
  signals.on('SIGINT', onSignal);
  signals.on('SIGTERM', onSignal);

  const until =
    durationMs === undefined
      ? 'until Ctrl-C'
      : `for ${describeDuration(durationMs)} (Ctrl-C stops early and keeps the file)`;
  say(`recording to ${out}: sensors read every ${pollIntervalMs} ms and on change events, ${until}`);
  let trace: ConditionsTrace;
  try {
    trace = await recordConditions({
      out,
      pollIntervalMs,
      signal: controller.signal,
      ...(durationMs === undefined ? {} : { durationMs }),
      ...(io.sensors ? { sensors: io.sensors } : {}),
      ...(io.clock ? { clock: io.clock } : {}),
      ...(options.hostname ? { hostname: true } : {}),
      onSensorError: (error) => {
        const message = error instanceof Error ? error.message : String(error);
        if (notes.has(message)) return;
        notes.add(message);
        stderr.write(`bgtasks: note: ${message}\n`);
      },
      onSample: (sample, { index, changed }) => {
        for (const name of changed) changes.set(name, (changes.get(name) ?? 0) + 1);
        if (index === 0) say(`${clockTime(sample.at)}  start   ${describeSample(sample)}`);
        else
          say(
            `${clockTime(sample.at)}  change  ` +
              `${changed.map((name) => assignment(name, sample.conditions)).join(' ')}`,
          );
      },
    });
  } catch (error) {
    if (error instanceof TypeError) throw new CliError('invalidArgument', error.message);
    throw error;
  } finally {
    signals.off('SIGINT', onSignal);
    signals.off('SIGTERM', onSignal);
  }

  const endedAt = trace.endedAt ?? trace.samples[trace.samples.length - 1]!.at;
  const summary = {
    out,
    startedAt: trace.startedAt,
    endedAt,
    durationMs: endedAt - trace.startedAt,
    samples: trace.samples.length,
    changes: trace.samples.length - 1,
    changesByCondition: Object.fromEntries(changes),
    stoppedBy: controller.signal.aborted ? 'signal' : 'duration',
  };
  if (json) {
    stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  const byCondition = [...changes].map(([name, count]) => `${name} ${count}`).join(', ');
  const changed = summary.changes === 0 ? 'no changes' : `${summary.changes} change${summary.changes === 1 ? '' : 's'}`;
  say(
    `recorded ${describeDuration(summary.durationMs)}: ${summary.samples} sample${summary.samples === 1 ? '' : 's'} ` +
      `(${summary.changes === 0 ? changed : `${changed}: ${byCondition}`}) in ${out}`,
  );
  say(
    `replay it in a test: createTestSystem({ trace: await ` +
      `loadTrace(${JSON.stringify(options.out)}) }) (see docs/traces.md)`,
  );
}

function clockTime(ms: number): string {
  return time(ms).slice(11);
}

function describeSample(sample: TraceSample): string {
  const fields = CONDITION_NAMES.map(
    (name) => `${assignment(name, sample.conditions)}${sample.origins[name] === 'default' ? '(default)' : ''}`,
  );
  return fields.join(' ');
}

function assignment(name: ConditionName, conditions: Conditions): string {
  const value = conditions[name];
  if (name === 'idleSince' && typeof value === 'number') return `idleSince=${time(value)}`;
  return `${name}=${String(value)}`;
}

/** `1500` → `1.5s`, `5400000` → `1h30m`. */
export function describeDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Number((ms / 1_000).toFixed(1))}s`;
  const totalMinutes = Math.round(ms / 60_000);
  const days = Math.floor(totalMinutes / 1_440);
  const hours = Math.floor((totalMinutes % 1_440) / 60);
  const minutes = totalMinutes % 60;
  return [days ? `${days}d` : '', hours ? `${hours}h` : '', minutes || (!days && !hours) ? `${minutes}m` : ''].join('');
}
