// Over 400 lines: the trace format, its checks, recording and replaying, as one documented format.
/**
 * Conditions traces: a recording of what the machine's sensors said over a stretch of time (a day, a
 * week), to replay in virtual time (`TraceConditions` in `src/testing/traceConditions.ts`) for what-if
 * runs of a schedule. See docs/traces.md.
 *
 * A trace is one JSON object:
 *
 * ```json
 * { "format": "bgtasks-conditions-trace", "version": 1, "startedAt": 1767225600000,
 *   "host": { "platform": "linux" },
 *   "samples": [{ "at": 1767225600012, "conditions": { "power": "ac", ... }, "origins": { "power": "sensor", ... } },
 * ...] }
 * ```
 *
 * with a sample at the start and one per change of a value (not one per poll), in time order. The
 * recorder ({@link recordConditions}) rewrites the file after each change, atomically, so a recorder
 * that is killed leaves the trace as it was at the last change.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { z } from 'zod';

import type { Clock, Disposable } from '../engine/clock.js';
import {
  CONDITION_NAMES,
  type ConditionName,
  type ConditionOrigin,
  type Conditions,
  type ConditionsSnapshot,
} from '../engine/conditions.js';
import { DEFAULT_POLL_INTERVAL_MS, DeviceConditions, MIN_POLL_INTERVAL_MS } from './deviceConditions.js';
import type { Sensors } from './sensors.js';

/** The value of a trace's `format` field. */
export const TRACE_FORMAT = 'bgtasks-conditions-trace';
/** The trace format version this code writes and reads. */
export const TRACE_VERSION = 1;

// ---------------------------------------------------------------------------------------------------
// Format

const level = z.enum(['nominal', 'fair', 'serious', 'critical', 'unknown']);
/** Wall-clock ms since the epoch (finite: zod rejects infinities). */
const wallMs = z.number().nonnegative();

/** Every condition, with the values the sensors and defaults can produce; strict, so a misspelt key is named. */
export const conditionsSchema = z.strictObject({
  power: z.enum(['ac', 'battery', 'unknown']),
  batteryLevel: z.number().min(0).max(100).nullable(),
  lowPowerMode: z.boolean(),
  network: z.enum(['online', 'offline', 'unknown']),
  networkCost: z.enum(['unmetered', 'metered', 'unknown']),
  userActivity: z.enum(['active', 'idle', 'noSeat', 'unknown']),
  idleSince: wallMs.nullable(),
  thermalState: level,
  cpuPressure: level,
  memoryPressure: level,
  ioPressure: level,
}) satisfies z.ZodType<Conditions>;

const origin = z.enum(['sensor', 'override', 'default']);

/** Where each value came from, for every condition. */
export const originsSchema = z.strictObject(
  Object.fromEntries(CONDITION_NAMES.map((name) => [name, origin])) as Record<ConditionName, typeof origin>,
);

const sampleSchema = z.object({
  at: wallMs,
  conditions: conditionsSchema,
  origins: originsSchema,
});

const traceSchema = z.object({
  format: z.literal(TRACE_FORMAT),
  version: z.literal(TRACE_VERSION),
  startedAt: wallMs,
  endedAt: wallMs.optional(),
  host: z.object({
    platform: z.string().min(1),
    hostname: z.string().optional(),
  }),
  samples: z.array(sampleSchema).min(1),
});

/** One reading: the conditions in force from `at` (wall-clock ms) until the next sample. */
export interface TraceSample {
  readonly at: number;
  readonly conditions: Conditions;
  readonly origins: Readonly<Record<ConditionName, ConditionOrigin>>;
}

export interface TraceHost {
  /** `process.platform` of the recording machine. */
  readonly platform: string;
  /** Only when the recording asked for it (`--hostname`): a trace is often shared. */
  readonly hostname?: string;
}

/** A recorded stretch of device conditions. */
export interface ConditionsTrace {
  readonly format: typeof TRACE_FORMAT;
  readonly version: typeof TRACE_VERSION;
  /** Wall-clock ms at which the recording started. */
  readonly startedAt: number;
  /** Wall-clock ms at which the recording stopped; absent while it runs or if it was killed. */
  readonly endedAt?: number;
  readonly host: TraceHost;
  /** At least one (the conditions at the start), then one per change, in non-decreasing `at` order. */
  readonly samples: readonly TraceSample[];
}

/** A trace that cannot be used. `field` is the path at fault (`samples.3.conditions.power`), if any. */
export class TraceError extends Error {
  override readonly name = 'TraceError';
  readonly code = 'invalidTrace';
  constructor(
    message: string,
    readonly field: string | undefined,
  ) {
    super(message);
  }
}

/**
 * Checks a parsed JSON value and returns it as a trace. Linear in the number of samples.
 *
 * @throws {TraceError} naming the first field at fault: a missing or wrong field, a sample before
 *   `startedAt` or before the sample preceding it, a trace with no samples, another format or version.
 */
export function validateTrace(value: unknown): ConditionsTrace {
  // The header first, so a file that is not a trace at all (or from a newer bgtasks) says so plainly.
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TraceError('invalid trace: expected a JSON object', undefined);
  }
  const header = value as { format?: unknown; version?: unknown };
  if (header.format !== TRACE_FORMAT) {
    throw new TraceError(
      `invalid trace: not a bgtasks conditions trace (format is ` +
        `${JSON.stringify(header.format) ?? 'missing'}, expected "${TRACE_FORMAT}")`,
      'format',
    );
  }
  if (header.version !== TRACE_VERSION) {
    throw new TraceError(
      `invalid trace: unsupported version ` +
        `${JSON.stringify(header.version) ?? '(missing)'}; this bgtasks reads ` +
        `version ${TRACE_VERSION}`,
      'version',
    );
  }
  const parsed = traceSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issuePath(issue);
    const message =
      field === 'samples' && issue.code === 'too_small'
        ? 'a trace has at least one sample (the conditions at the start)'
        : issue.message;
    throw new TraceError(`invalid trace: ${field || '(root)'}: ${message}`, field || undefined);
  }
  const trace = parsed.data as ConditionsTrace;
  let previous = trace.startedAt;
  for (let index = 0; index < trace.samples.length; index++) {
    const at = trace.samples[index]!.at;
    if (at < previous) {
      const before = index === 0 ? `startedAt (${trace.startedAt})` : `the previous sample (${previous})`;
      throw new TraceError(
        `invalid trace: samples.${index}.at: ${at} is before ${before}; samples must ` + `be in time order`,
        `samples.${index}.at`,
      );
    }
    previous = at;
  }
  if (trace.endedAt !== undefined && trace.endedAt < previous) {
    throw new TraceError(`invalid trace: endedAt: ${trace.endedAt} is before the last sample (${previous})`, 'endedAt');
  }
  return trace;
}

/** The dotted path of a zod issue; for an unknown key, the key's own path. */
export function issuePath(issue: z.core.$ZodIssue): string {
  const path =
    issue.code === 'unrecognized_keys' && issue.keys.length > 0 ? [...issue.path, issue.keys[0]!] : issue.path;
  return path.map(String).join('.');
}

/** Parses a trace file's text. @throws {TraceError} for text that is not JSON or not a valid trace. */
export function parseTrace(text: string): ConditionsTrace {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new TraceError(
      `invalid trace: not JSON (${error instanceof Error ? error.message : String(error)})`,
      undefined,
    );
  }
  return validateTrace(value);
}

/**
 * Reads and parses a trace file.
 * @throws {TraceError} (its message starts with the path) for an invalid trace; the file system's error
 *   for a file that cannot be read.
 */
export async function loadTrace(path: string): Promise<ConditionsTrace> {
  const text = await readFile(path, 'utf8');
  try {
    return parseTrace(text);
  } catch (error) {
    if (error instanceof TraceError) throw new TraceError(`${path}: ${error.message}`, error.field);
    throw error;
  }
}

/**
 * The trace as JSON text: the header, then one sample per line (so a long trace diffs and greps well).
 * Linear in the number of samples.
 */
export function serializeTrace(trace: ConditionsTrace): string {
  return new TraceText(trace).text();
}

/** Serializes each sample once, so rewriting a growing trace never re-serializes old samples. */
class TraceText {
  readonly #header: Omit<ConditionsTrace, 'samples'>;
  readonly #lines: string[] = [];

  constructor(trace: Omit<ConditionsTrace, 'samples'> & { readonly samples?: readonly TraceSample[] }) {
    const { samples = [], ...header } = trace;
    this.#header = header;
    for (const sample of samples) this.add(sample);
  }

  add(sample: TraceSample): void {
    // Keys in a fixed order, whatever order the sample object has them in.
    const conditions = Object.fromEntries(CONDITION_NAMES.map((name) => [name, sample.conditions[name]]));
    const origins = Object.fromEntries(CONDITION_NAMES.map((name) => [name, sample.origins[name]]));
    this.#lines.push(JSON.stringify({ at: sample.at, conditions, origins }));
  }

  /** The whole trace; `endedAt` replaces the header's (the recorder's own is set when it stops). */
  text(endedAt = this.#header.endedAt): string {
    const { format, version, startedAt, host } = this.#header;
    const header = JSON.stringify({ format, version, startedAt, ...(endedAt === undefined ? {} : { endedAt }), host });
    // `{"format":...,"host":{...}}` → `{"format":...,"host":{...},"samples":[` + lines + `]}`
    return `${header.slice(0, -1)},"samples":[\n${this.#lines.join(',\n')}\n]}\n`;
  }
}

/** Writes `text` to `path` through a temporary file and a rename, so readers never see half a file. */
function writeAtomically(path: string, text: string): void {
  const temp = `${path}.${process.pid}.tmp`;
  try {
    const fd = openSync(temp, 'w', 0o644);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/** The names whose values differ between two sets of conditions, in {@link CONDITION_NAMES} order. */
export function changedConditions(before: Conditions, after: Conditions): ConditionName[] {
  return CONDITION_NAMES.filter((name) => before[name] !== after[name]);
}

// ---------------------------------------------------------------------------------------------------
// Recorder

export interface RecordConditionsOptions {
  /** The trace file; rewritten (atomically) after every change. */
  readonly out: string;
  /** The sensors to read. @default createSystemSensors() (this machine's) */
  readonly sensors?: Sensors;
  /**
   * Times the polls and the duration, and stamps the samples.
   * @default the system clock; the process is then kept alive until the recording stops
   */
  readonly clock?: Clock;
  /**
   * Time between sensor reads (sensors with change events are also re-read soon after each event). @default 5000 (at
   * least 100)
   */
  readonly pollIntervalMs?: number;
  /** Time from a sensor's change event to the re-read. @default 500 */
  readonly eventDebounceMs?: number;
  /** Stop after this long (ms, from the start). @default until `signal` aborts */
  readonly durationMs?: number;
  /** Stops the recording; the trace written so far is kept (and returned). */
  readonly signal?: AbortSignal;
  /**
   * Told of each sample once it is on disk: the first (`index` 0, `changed` empty) and each change
   * (`changed` names the values that differ from the previous sample). A throw stops the recording.
   */
  readonly onSample?: (
    sample: TraceSample,
    info: { readonly index: number; readonly changed: readonly ConditionName[] },
  ) => void;
  /** Told of a sensor read that failed, or a change event source that is unavailable. @default ignore */
  readonly onSensorError?: (error: unknown) => void;
  /** Store a hostname in the trace: `true` for this machine's, or the name to store. @default false (privacy) */
  readonly hostname?: boolean | string;
  /** The platform stored in the trace. @default process.platform */
  readonly platform?: string;
}

/**
 * Records the machine's conditions, as the daemon's sensors see them (no overrides: a trace records the
 * machine, not pretend values), into a trace file: a sample at the start, then one whenever a value
 * changes. No daemon is needed.
 *
 * Stops after `durationMs`, or when `signal` aborts (the caller maps SIGINT to it: the `bgtasks
 * conditions record` command does), then writes the file once more with `endedAt` and resolves the
 * trace. The file is valid after every write: stopping by any means, even `kill -9`, keeps it.
 *
 * Sample times are the sensor reads' wall-clock times, kept in order even if the wall clock steps back.
 *
 * @throws {TypeError} for an invalid option (before anything is written).
 * @returns rejects if the file cannot be written or `onSample` throws; the last good write stays.
 */
export async function recordConditions(options: RecordConditionsOptions): Promise<ConditionsTrace> {
  const { out, durationMs, signal, onSample } = options;
  if (typeof out !== 'string' || out === '') throw new TypeError('Expected `out` to be a file path');
  if (durationMs !== undefined && (typeof durationMs !== 'number' || !Number.isFinite(durationMs) || durationMs <= 0)) {
    throw new TypeError(`Expected \`durationMs\` to be a finite number > 0, got \`${String(durationMs)}\``);
  }
  const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  if (typeof pollIntervalMs !== 'number' || !Number.isFinite(pollIntervalMs) || pollIntervalMs < MIN_POLL_INTERVAL_MS) {
    throw new TypeError(
      `Expected \`pollIntervalMs\` to be a finite number >= ` +
        `${MIN_POLL_INTERVAL_MS}, got \`${String(pollIntervalMs)}\``,
    );
  }

  const sensors = options.sensors ?? (await import('./sensors.js')).createSystemSensors();
  let clock = options.clock;
  // The system clock's timers are unref'd (the daemon lives by its socket): hold the process open.
  let keepAlive: ReturnType<typeof setInterval> | undefined;
  if (clock === undefined) {
    clock = new (await import('../shared/systemClock.js')).SystemClock();
    keepAlive = setInterval(() => {}, 1 << 30);
  }

  const hostname =
    options.hostname === true ? osHostname() : typeof options.hostname === 'string' ? options.hostname : undefined;
  const startedAt = clock.now();
  // The duration is elapsed time: monotonic, so a wall-clock step neither shortens nor stretches it.
  const startedMono = clock.monotonic();
  const header = {
    format: TRACE_FORMAT,
    version: TRACE_VERSION,
    startedAt,
    host: { platform: options.platform ?? process.platform, ...(hostname === undefined ? {} : { hostname }) },
  } as const;
  const samples: TraceSample[] = [];
  const text = new TraceText(header);

  const device = new DeviceConditions({
    clock,
    sensors,
    pollIntervalMs,
    ...(options.eventDebounceMs === undefined ? {} : { eventDebounceMs: options.eventDebounceMs }),
    ...(options.onSensorError ? { onSensorError: options.onSensorError } : {}),
  });

  let settle!: (result: { error: unknown } | null) => void;
  const stopped = new Promise<{ error: unknown } | null>((resolve) => (settle = resolve));
  let stopping = false;
  const stop = (error?: unknown): void => {
    if (stopping) return;
    stopping = true;
    settle(error === undefined ? null : { error });
  };

  const record = (snapshot: ConditionsSnapshot): void => {
    if (stopping) return;
    const previous = samples[samples.length - 1];
    // Reads are stamped with the wall clock, which can step back (NTP): keep the samples in order.
    const at = Math.max(snapshot.readAt, previous?.at ?? startedAt);
    const sample: TraceSample = { at, conditions: snapshot.conditions, origins: snapshot.origins };
    try {
      text.add(sample);
      samples.push(sample);
      writeAtomically(out, text.text());
      onSample?.(sample, {
        index: samples.length - 1,
        changed: previous ? changedConditions(previous.conditions, sample.conditions) : [],
      });
    } catch (error) {
      stop(error);
    }
  };

  let started = false;
  const subscription = device.onDidChange((snapshot) => {
    if (started) record(snapshot);
  });
  let durationTimer: Disposable | undefined;
  const onAbort = (): void => stop();
  try {
    await device.start();
    started = true;
    // Whatever the first read (and any change since) found is the sample at the start.
    record(device.current());
    if (durationMs !== undefined)
      durationTimer = clock.setTimer(Math.max(0, durationMs - (clock.monotonic() - startedMono)), () => stop());
    if (signal?.aborted) stop();
    else signal?.addEventListener('abort', onAbort, { once: true });

    const result = await stopped;
    if (result) throw result.error;
    const endedAt = Math.max(clock.now(), samples[samples.length - 1]!.at);
    writeAtomically(out, text.text(endedAt));
    return { ...header, endedAt, samples };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    durationTimer?.dispose();
    subscription.dispose();
    device.dispose();
    if (keepAlive !== undefined) clearInterval(keepAlive);
  }
}
