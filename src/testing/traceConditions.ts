/**
 * Replays device conditions in virtual time: a recorded trace (`bgtasks conditions record`, see
 * docs/traces.md) or a hand-written timeline, as the {@link ConditionsSource} of a system under test.
 *
 * ```ts
 * const clock = new VirtualClock();
 * const conditions = new TraceConditions(await loadTrace('day.json'), clock);
 * conditions.onDidChange((snapshot) => console.log(clock.now(), snapshot.conditions.power));
 * await clock.advanceTo(conditions.endsAt);   // a day of plugs, unplugs and network changes, in no time
 * ```
 */
import type { Clock, Disposable } from '../engine/clock.js';
import {
  CONDITION_NAMES,
  DEFAULT_CONDITIONS,
  sameConditions,
  type ConditionName,
  type ConditionOrigin,
  type Conditions,
  type ConditionsSnapshot,
  type ConditionsSource,
} from '../engine/conditions.js';
import {
  conditionsSchema,
  issuePath,
  TRACE_FORMAT,
  TRACE_VERSION,
  TraceError,
  validateTrace,
  type ConditionsTrace,
  type TraceSample,
} from '../conditions/trace.js';

export {
  loadTrace,
  parseTrace,
  TRACE_FORMAT,
  TRACE_VERSION,
  TraceError,
  validateTrace,
  type ConditionsTrace,
  type TraceHost,
  type TraceSample,
} from '../conditions/trace.js';
import { ChangeListeners } from '../conditions/changeListeners.js';
import {
  mergeLayers,
  withOverrides,
  withoutOverrides,
  type ConditionLayer as MutablePartial,
} from '../conditions/conditionLayers.js';

export interface TraceConditionsOptions {
  /**
   * The virtual wall-clock time (ms) that the trace's `startedAt` maps to: a sample recorded at `at`
   * takes effect at `at - trace.startedAt + start`. @default clock.now()
   */
  readonly start?: number;
  /**
   * Told about a change listener that threw; the other listeners still run.
   * @default rethrow the first error once every listener has run (so a test sees it)
   */
  readonly onListenerError?: (error: unknown) => void;
}

type Listener = (snapshot: ConditionsSnapshot) => void;

const partialConditionsSchema = conditionsSchema.partial();

/**
 * A {@link ConditionsSource} that replays a trace on a clock (a `VirtualClock` in tests).
 *
 * - At construction each sample's time is mapped to virtual time (`sample.at - trace.startedAt +
 *   start`). Samples due by then are applied at once (the latest is in force); before the first
 *   sample's time the first sample is in force (it is the state the recording started in).
 * - One clock timer is queued at a time, for the next change: a week of samples costs one timer.
 *   Samples sharing a time are applied together.
 * - The timers run on the clock's elapsed (monotonic) time, as real sensors would: a later
 *   `jumpWallClock` does not move the samples.
 * - `onDidChange` listeners hear of each change of a value (a sample, or an override), synchronously,
 *   with the new snapshot; after the last sample the conditions stay as they are.
 * - `current().origins` are the trace's (`sensor` for a recorded value, `default` for one the recorder
 *   could not read), and `override` for values forced with {@link set}.
 */
export class TraceConditions implements ConditionsSource, Disposable {
  readonly #clock: Clock;
  readonly #samples: readonly TraceSample[];
  /** Each sample's due time in the clock's monotonic time. */
  readonly #dueMono: readonly number[];
  /** Virtual wall time of each sample, as mapped at construction. */
  readonly #dueWall: readonly number[];
  readonly #listeners: ChangeListeners<ConditionsSnapshot>;
  /** Index of the sample in force. */
  #index = 0;
  #readAt: number;
  #overrides: MutablePartial = {};
  #snapshot: ConditionsSnapshot;
  #timer: Disposable | undefined;
  #disposed = false;
  /** Virtual wall time at which the replay ends (`endedAt` mapped, or the last sample's time). */
  readonly endsAt: number;

  /**
   * @param trace A parsed trace (`loadTrace`, `parseTrace`); validated again here, so a hand-built
   *   object is checked too.
   * @throws {TraceError} for an invalid trace.
   */
  constructor(trace: ConditionsTrace, clock: Clock, options: TraceConditionsOptions = {}) {
    const valid = validateTrace(trace);
    const now = clock.now();
    const start = options.start ?? now;
    if (typeof start !== 'number' || !Number.isFinite(start))
      throw new TypeError(`Expected \`start\` to be a finite number, got \`${String(start)}\``);
    this.#clock = clock;
    this.#samples = valid.samples;
    this.#listeners = new ChangeListeners(options.onListenerError);
    const offset = start - valid.startedAt;
    const monoNow = clock.monotonic();
    const dueWall: number[] = new Array<number>(valid.samples.length);
    const dueMono: number[] = new Array<number>(valid.samples.length);
    let index = 0;
    for (let i = 0; i < valid.samples.length; i++) {
      dueWall[i] = valid.samples[i]!.at + offset;
      dueMono[i] = monoNow + (dueWall[i]! - now);
      if (dueWall[i]! <= now) index = i;
    }
    this.#dueWall = dueWall;
    this.#dueMono = dueMono;
    this.endsAt = Math.max(
      dueWall[dueWall.length - 1]!,
      valid.endedAt === undefined ? -Infinity : valid.endedAt + offset,
    );
    this.#index = index;
    // The sample's time if it is due, else now (the first sample is held from before its time).
    this.#readAt = Math.min(dueWall[index]!, now);
    this.#snapshot = this.#merge();
    this.#armNext();
  }

  /** The conditions in force now: the sample in force, with any overrides on top. Frozen, replaced on change. */
  current(): ConditionsSnapshot {
    return this.#snapshot;
  }

  /** Calls `listener` with the new snapshot whenever a value changes. */
  onDidChange(listener: Listener): Disposable {
    return this.#listeners.add(listener);
  }

  /**
   * Forces some conditions on top of the replay (kept across samples until {@link reset}); listeners
   * hear of any change before this returns. As with `bgtasks conditions set`, a forced `userActivity`
   * brings `idleSince: null` unless one is given.
   * @throws {TraceError} for an unknown name or a value the condition cannot take.
   */
  set(overrides: Partial<Conditions>): ConditionsSnapshot {
    const parsed = partialConditionsSchema.safeParse(overrides);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issuePath(issue) || undefined;
      throw new TraceError(`invalid override: ${field ?? '(root)'}: ${issue.message}`, field);
    }
    const picked: MutablePartial = {};
    for (const name of CONDITION_NAMES) {
      if (parsed.data[name] !== undefined) (picked as Record<string, unknown>)[name] = parsed.data[name];
    }
    this.#overrides = withOverrides(this.#overrides, picked);
    return this.#update();
  }

  /** Clears the named overrides, or all of them (`idleSince` goes with `userActivity`); back to the replay. */
  reset(names?: readonly ConditionName[]): ConditionsSnapshot {
    this.#overrides = withoutOverrides(this.#overrides, names);
    return this.#update();
  }

  /** {@link set}, under `DeviceConditions`' name, so either can stand behind the same control code. */
  setOverrides(overrides: Partial<Conditions>): ConditionsSnapshot {
    return this.set(overrides);
  }

  /** {@link reset}, under `DeviceConditions`' name. */
  resetOverrides(names?: readonly ConditionName[]): ConditionsSnapshot {
    return this.reset(names);
  }

  /** A copy of the overrides in force. */
  overrides(): Partial<Conditions> {
    return { ...this.#overrides };
  }

  /** Virtual wall time of the next sample still to come, or undefined after the last one. */
  nextChangeAt(): number | undefined {
    return this.#index + 1 < this.#samples.length ? this.#dueWall[this.#index + 1] : undefined;
  }

  /** Number of samples still to come. */
  get remainingSamples(): number {
    return this.#samples.length - 1 - this.#index;
  }

  /** Cancels the pending timer and drops the listeners; `current()` keeps its last value. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#timer?.dispose();
    this.#timer = undefined;
    this.#listeners.clear();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  #armNext(): void {
    const next = this.#index + 1;
    if (this.#disposed || next >= this.#samples.length) return;
    this.#timer = this.#clock.setTimer(Math.max(0, this.#dueMono[next]! - this.#clock.monotonic()), () => this.#fire());
  }

  #fire(): void {
    this.#timer = undefined;
    if (this.#disposed) return;
    const mono = this.#clock.monotonic();
    // Every sample due by now, so samples sharing a time are one change.
    let index = this.#index + 1;
    while (index + 1 < this.#samples.length && this.#dueMono[index + 1]! <= mono) index++;
    this.#index = index;
    this.#readAt = this.#dueWall[index]!;
    // Armed before the listeners run, so one that throws cannot stop the replay.
    this.#armNext();
    this.#update();
  }

  #update(): ConditionsSnapshot {
    const previous = this.#snapshot;
    this.#snapshot = this.#merge();
    if (!sameConditions(previous.conditions, this.#snapshot.conditions)) this.#listeners.emit(this.#snapshot);
    return this.#snapshot;
  }

  #merge(): ConditionsSnapshot {
    const sample = this.#samples[this.#index]!;
    return mergeLayers(
      this.#overrides,
      (name) => ({ value: sample.conditions[name], origin: sample.origins[name] }),
      this.#readAt,
    );
  }
}

/** One step of a hand-written timeline: from `at` (virtual wall time), these conditions change. */
export interface TimelineEntry {
  readonly at: number | Date;
  /** The conditions that change at `at`; the others keep their values (the defaults before the first step). */
  readonly conditions: Partial<Conditions>;
}

/**
 * A hand-written timeline, replayed like a trace: each step changes the conditions it names at its
 * virtual wall time; before the first step (if it is in the future) the conditions are the defaults
 * ({@link DEFAULT_CONDITIONS}, origin `default`). A value a step set has origin `sensor`.
 *
 * ```ts
 * const conditions = scriptedTimeline(clock, [
 *   { at: clock.now(), conditions: { power: 'ac', network: 'online' } },
 *   { at: clock.now() + 2 * HOUR, conditions: { power: 'battery', batteryLevel: 80 } },
 *   { at: clock.now() + 3 * HOUR, conditions: { network: 'offline' } },
 * ]);
 * ```
 *
 * @throws {TraceError} for a step out of time order or a value a condition cannot take (`field` is
 *   like `timeline.1.conditions.power`).
 */
export function scriptedTimeline(
  clock: Clock,
  entries: readonly TimelineEntry[],
  options: Pick<TraceConditionsOptions, 'onListenerError'> = {},
): TraceConditions {
  const now = clock.now();
  const samples: TraceSample[] = [];
  let conditions: Conditions = DEFAULT_CONDITIONS;
  let origins = Object.fromEntries(CONDITION_NAMES.map((name) => [name, 'default'])) as Record<
    ConditionName,
    ConditionOrigin
  >;
  const firstAt = entries.length === 0 ? now : timeOf(entries[0]!.at, 0);
  const startedAt = Math.min(now, firstAt);
  if (firstAt > now) samples.push({ at: now, conditions, origins });
  entries.forEach((entry, index) => {
    const at = timeOf(entry.at, index);
    const previous = samples[samples.length - 1];
    if (previous && at < previous.at) {
      throw new TraceError(
        `invalid timeline: timeline.${index}.at: ${new Date(at).toISOString()} is ` +
          `before the previous step; steps must be in time order`,
        `timeline.${index}.at`,
      );
    }
    const parsed = partialConditionsSchema.safeParse(entry.conditions);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const inner = issuePath(issue);
      const field = `timeline.${index}.conditions${inner ? `.${inner}` : ''}`;
      throw new TraceError(`invalid timeline: ${field}: ${issue.message}`, field);
    }
    const next: Record<string, unknown> = { ...conditions };
    const nextOrigins: Record<string, ConditionOrigin> = { ...origins };
    for (const name of CONDITION_NAMES) {
      if (parsed.data[name] !== undefined) {
        next[name] = parsed.data[name];
        nextOrigins[name] = 'sensor';
      }
    }
    conditions = next as unknown as Conditions;
    origins = nextOrigins as Record<ConditionName, ConditionOrigin>;
    samples.push({ at, conditions, origins });
  });
  if (samples.length === 0) samples.push({ at: now, conditions, origins });
  const trace: ConditionsTrace = {
    format: TRACE_FORMAT,
    version: TRACE_VERSION,
    startedAt,
    host: { platform: 'timeline' },
    samples,
  };
  // Mapped one to one: `startedAt` is `start`, so a step's `at` is its virtual time.
  return new TraceConditions(trace, clock, { ...options, start: startedAt });
}

function timeOf(at: number | Date, index: number): number {
  const ms = at instanceof Date ? at.getTime() : at;
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    throw new TraceError(
      `invalid timeline: timeline.${index}.at: expected a time (ms or Date), got ` + `${String(at)}`,
      `timeline.${index}.at`,
    );
  }
  return ms;
}
