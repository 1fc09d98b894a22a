import type { AppUsage } from '../engine/appUsage.js';
import type { Clock } from '../engine/clock.js';
import type { SchedulingOptions } from '../engine/options.js';
import type { SchedulerLog } from './scheduler/ports.js';
import type { StoreWriter } from './storeWriter.js';

/**
 * What an app did to the daemon's socket that a well-behaved app never does. Each is recorded in the
 * app's history as a `throttled` event with this reason, and throttles its background launches (the
 * `throttle` policy) like an overrun deadline does.
 */
export type MisbehaviourReason =
  /** A frame that is not JSON or breaks the protocol's schema. */
  | 'protocolError'
  /** A frame over `maxFrameBytes` (a 100 MB message, or a stream that never ends its line). */
  | 'frameTooLarge'
  /** More frames per second than `maxFramesPerSecond`: the daemon stopped reading it for a while. */
  | 'socketFlood'
  /** More connections at once than `maxConnectionsPerApp`. */
  | 'tooManyConnections'
  /** Floods of frames about tasks the connection does not hold (see StrayFrameGuard). */
  | 'strayTaskFrames';

export interface MisbehaviourDeps {
  readonly clock: Clock;
  readonly usage: AppUsage;
  readonly writer: StoreWriter;
  readonly log: SchedulerLog;
  readonly options: () => Pick<SchedulingOptions, 'throttleMs' | 'throttleMaxMs'>;
}

/** One offence per app and reason in this window: a flood of bad frames is one offence, not thousands. */
const OFFENCE_WINDOW_MS = 60_000;

/** Records misbehaviour of authenticated apps (an unauthenticated client has no app to charge). */
export class MisbehaviourRecorder {
  readonly #deps: MisbehaviourDeps;
  readonly #lastOffence = new Map<string, number>();
  readonly #repeats = new Map<string, number>();

  constructor(deps: MisbehaviourDeps) {
    this.#deps = deps;
  }

  record(appId: string, reason: MisbehaviourReason, detail: Record<string, unknown> = {}): void {
    const now = this.#deps.clock.now();
    const key = `${appId}\u0000${reason}`;
    const last = this.#lastOffence.get(key);
    if (last !== undefined && now - last < OFFENCE_WINDOW_MS) {
      this.#repeats.set(key, (this.#repeats.get(key) ?? 0) + 1);
      return;
    }
    const repeats = this.#repeats.get(key) ?? 0;
    this.#repeats.delete(key);
    this.#lastOffence.set(key, now);
    const until = this.#deps.usage.recordOffence(appId, now, this.#deps.options());
    this.#deps.log.warn(
      `${appId} misbehaved on the socket (${reason}); background launches ` +
        `throttled until ${new Date(until).toISOString()}`,
      {
        appId,
        reason,
        ...(repeats > 0 ? { repeatsSinceLastRecord: repeats } : {}),
      },
    );
    this.#deps.writer
      .retain({
        events: [
          {
            at: now,
            appId,
            identifier: null,
            taskId: null,
            type: 'throttled',
            reason,
            detail: { ...detail, until, ...(repeats > 0 ? { repeats } : {}) },
          },
        ],
      })
      .catch((error: unknown) =>
        this.#deps.log.error('could not record misbehaviour', {
          appId,
          error: error instanceof Error ? error.message : String(error),
        }),
      );
  }
}
