/**
 * The daemon's {@link ConditionsSource}: sensor readings polled on the injected clock, merged with the
 * overrides from `bgtasks conditions set` and the defaults, with change events for the scheduler.
 *
 * Sensors that offer change events (`Sensors.watch`) trigger a re-read soon after each event, so a
 * plug, unplug or network switch is seen within `eventDebounceMs` while the regular poll stays slow.
 */
import type { Clock, Disposable } from '../engine/clock.js';
import {
  CONDITION_NAMES,
  DEFAULT_CONDITIONS,
  sameConditions,
  type ConditionName,
  type Conditions,
  type ConditionsSnapshot,
  type ConditionsSource,
} from '../engine/conditions.js';
import type { Sensors } from './sensors.js';
import { ChangeListeners, safeCall } from './changeListeners.js';
import {
  mergeLayers,
  withOverrides,
  withoutOverrides,
  type ConditionLayer as MutablePartial,
} from './conditionLayers.js';

/** Default time between two sensor reads. */
export const DEFAULT_POLL_INTERVAL_MS = 5_000;
/** Shortest poll interval accepted: sensors spawn processes on some platforms. */
export const MIN_POLL_INTERVAL_MS = 100;
/**
 * Default wait between a sensor event and the re-read. Events come in bursts (DHCP and roaming print
 * many route and address changes; some laptops send a battery uevent every half second), and the
 * re-read reads everything, so one read per burst is enough.
 */
export const DEFAULT_EVENT_DEBOUNCE_MS = 500;

export interface DeviceConditionsOptions {
  /** Arms the poll timer and stamps `readAt`. */
  readonly clock: Clock;
  readonly sensors: Sensors;
  /** Time between the end of one read and the start of the next. @default 5000 (at least 100) */
  readonly pollIntervalMs?: number;
  /** Time from a sensor's change event to the re-read; later events in that time join it. @default 500 */
  readonly eventDebounceMs?: number;
  /** Overrides in force from the start (restored from the store at daemon start). */
  readonly overrides?: Partial<Conditions>;
  /** Told about a change listener that threw; the other listeners still run. @default ignore */
  readonly onListenerError?: (error: unknown) => void;
  /**
   * Told about a sensor read that failed (the previous readings are kept), and once about each change
   * event source that is unavailable (its conditions are then only polled). @default ignore
   */
  readonly onSensorError?: (error: unknown) => void;
}

type Listener = (snapshot: ConditionsSnapshot) => void;

/**
 * Device conditions, merged field by field: the override if one is set, else the last sensor reading if
 * the sensors could read it, else {@link DEFAULT_CONDITIONS}; `origins` says which for each field.
 *
 * Change listeners run synchronously, only when a merged value changes (not when only an origin does,
 * e.g. an override equal to the sensor value), and a throwing listener affects nothing else.
 */
export class DeviceConditions implements ConditionsSource, Disposable {
  readonly #clock: Clock;
  readonly #sensors: Sensors;
  readonly #pollIntervalMs: number;
  readonly #eventDebounceMs: number;
  readonly #onSensorError: (error: unknown) => void;
  readonly #listeners: ChangeListeners<ConditionsSnapshot>;
  readonly #readListeners: ChangeListeners<void>;

  #sensorValues: MutablePartial = {};
  #overrides: MutablePartial;
  #readAt: number;
  #snapshot: ConditionsSnapshot;
  #timer: Disposable | undefined;
  /** The sensors' event subscription, from `start()` until `dispose()`. */
  #watch: Disposable | undefined;
  /** The pending event-triggered re-read; events while it is armed join it. */
  #eventTimer: Disposable | undefined;
  #started: Promise<void> | undefined;
  #disposed = false;
  /** Reads are numbered so a slow read that finishes after a newer one cannot overwrite it. */
  #readsStarted = 0;
  #readsApplied = 0;

  constructor(options: DeviceConditionsOptions) {
    const interval = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    if (typeof interval !== 'number' || !Number.isFinite(interval) || interval < MIN_POLL_INTERVAL_MS) {
      throw new TypeError(
        `Expected \`pollIntervalMs\` to be a finite number >= ` +
          `${MIN_POLL_INTERVAL_MS}, got \`${String(interval)}\``,
      );
    }
    const debounce = options.eventDebounceMs ?? DEFAULT_EVENT_DEBOUNCE_MS;
    if (typeof debounce !== 'number' || !Number.isFinite(debounce) || debounce < 0) {
      throw new TypeError(`Expected \`eventDebounceMs\` to be a finite number >= 0, got \`${String(debounce)}\``);
    }
    this.#eventDebounceMs = debounce;
    this.#clock = options.clock;
    this.#sensors = options.sensors;
    this.#pollIntervalMs = interval;
    this.#onSensorError = options.onSensorError ?? (() => {});
    this.#listeners = new ChangeListeners(options.onListenerError ?? (() => {}));
    this.#readListeners = new ChangeListeners(this.#onSensorError);
    this.#overrides = pickConditions(options.overrides ?? {});
    // Until the first read there is nothing better to stamp than the moment the defaults took effect.
    this.#readAt = this.#clock.now();
    this.#snapshot = this.#merge();
  }

  /**
   * Subscribes to the sensors' change events, reads the sensors once, then keeps polling: each next
   * read is armed when the previous one ends, so a slow sensor never gets two polls in flight. Calling
   * it again returns the first call's promise.
   */
  start(): Promise<void> {
    if (this.#started === undefined) {
      // Before the first read, so a change that happens while it runs is not missed.
      this.#startWatching();
      this.#started = this.#poll();
    }
    return this.#started;
  }

  /** Reads the sensors now. Never rejects: a failed read keeps the previous values. */
  async refresh(): Promise<void> {
    if (this.#disposed) return;
    const seq = ++this.#readsStarted;
    let reading: MutablePartial;
    try {
      // Wrapped so that a sensor throwing synchronously is handled like one that rejects, and one that
      // resolves something other than an object like one that fails.
      reading = pickConditions(await Promise.resolve().then(() => this.#sensors.read()));
    } catch (error) {
      safeCall(this.#onSensorError, error);
      return;
    }
    if (this.#disposed || seq < this.#readsApplied) return;
    this.#readsApplied = seq;
    this.#sensorValues = reading;
    this.#readAt = this.#clock.now();
    this.#update();
    this.#readListeners.emit();
  }

  /**
   * Calls `listener` after each successful read of the sensors, changed or not: readings paced by the
   * poll (sustained pressure) take their samples then, with no timer of their own.
   */
  onDidRead(listener: () => void): Disposable {
    return this.#readListeners.add(listener);
  }

  /** The merged conditions now. The object is frozen and replaced, never mutated. */
  current(): ConditionsSnapshot {
    return this.#snapshot;
  }

  /** Calls `listener` with the new snapshot whenever a merged condition value changes. */
  onDidChange(listener: Listener): Disposable {
    return this.#listeners.add(listener);
  }

  /**
   * Sets some overrides, keeping the others; listeners hear of any change before this returns. An
   * overridden `userActivity` brings `idleSince: null` unless one is given, so a sensor's timestamp
   * never sits beside an activity it did not measure.
   */
  setOverrides(overrides: Partial<Conditions>): ConditionsSnapshot {
    this.#overrides = withOverrides(this.#overrides, pickConditions(overrides));
    return this.#update();
  }

  /**
   * Clears the named overrides, or all of them without `names` (`idleSince` goes with `userActivity`);
   * listeners hear of any change before this returns.
   */
  resetOverrides(names?: readonly ConditionName[]): ConditionsSnapshot {
    this.#overrides = withoutOverrides(this.#overrides, names);
    return this.#update();
  }

  /** A copy of the overrides in force. */
  overrides(): Partial<Conditions> {
    return { ...this.#overrides };
  }

  /**
   * Stops polling and the sensors' event subscription (which ends their helper processes) and drops
   * the listeners. A read still in flight is discarded when it ends.
   */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#timer?.dispose();
    this.#timer = undefined;
    this.#eventTimer?.dispose();
    this.#eventTimer = undefined;
    const watch = this.#watch;
    this.#watch = undefined;
    try {
      watch?.dispose();
    } catch (error) {
      safeCall(this.#onSensorError, error);
    }
    this.#listeners.clear();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  #startWatching(): void {
    if (this.#disposed || typeof this.#sensors.watch !== 'function') return;
    try {
      this.#watch = this.#sensors.watch(
        () => this.#onSensorEvent(),
        (error) => {
          if (!this.#disposed) safeCall(this.#onSensorError, error);
        },
      );
    } catch (error) {
      // Events are an optimisation: without them the poll still sees every change.
      safeCall(this.#onSensorError, error);
    }
  }

  /** Coalesces a burst of events into one re-read, `eventDebounceMs` after the first. */
  #onSensorEvent(): void {
    if (this.#disposed || this.#eventTimer !== undefined) return;
    this.#eventTimer = this.#clock.setTimer(this.#eventDebounceMs, () => {
      this.#eventTimer = undefined;
      void this.refresh();
    });
  }

  async #poll(): Promise<void> {
    await this.refresh();
    if (this.#disposed) return;
    this.#timer = this.#clock.setTimer(this.#pollIntervalMs, () => {
      void this.#poll();
    });
  }

  /** Recomputes the snapshot and tells listeners if a value changed. */
  #update(): ConditionsSnapshot {
    const previous = this.#snapshot;
    this.#snapshot = this.#merge();
    if (!sameConditions(previous.conditions, this.#snapshot.conditions)) this.#listeners.emit(this.#snapshot);
    return this.#snapshot;
  }

  #merge(): ConditionsSnapshot {
    return mergeLayers(
      this.#overrides,
      (name) =>
        this.#sensorValues[name] !== undefined
          ? { value: this.#sensorValues[name], origin: 'sensor' }
          : { value: DEFAULT_CONDITIONS[name], origin: 'default' },
      this.#readAt,
    );
  }
}

/** Keeps only known condition names with a defined value, so stray keys never reach a snapshot. */
function pickConditions(source: Partial<Conditions>): MutablePartial {
  if (typeof source !== 'object' || source === null) throw new TypeError('Expected sensors to resolve an object');
  const picked: Record<string, unknown> = {};
  for (const name of CONDITION_NAMES) {
    if (source[name] !== undefined) picked[name] = source[name];
  }
  return picked as MutablePartial;
}
