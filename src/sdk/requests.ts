// Over 400 lines: Apple's three request classes with their validation, documented for app authors.
import type { SubmittableKind } from '../protocol/vocabulary/kinds.js';
import { NAME_PATTERN } from '../protocol/identifiers.js';
import { retryInputSchema, type PendingReplyData, type RequestInput } from '../protocol/messages.js';
import { MAX_PREREQUISITES, payloadProblem } from '../protocol/payload.js';
import { BGTaskSchedulerError } from './errors.js';

export type { SubmittableKind as TaskKind };

/**
 * Retry with backoff for a task that completes unsuccessfully (beyond Apple). Delays in milliseconds;
 * each retry waits the delay with jitter (half fixed, half random).
 */
export interface RetryOptions {
  /** Attempts in all, the first included (1 to 100). */
  readonly maxAttempts: number;
  /** @default 'exponential' */
  readonly backoff?: 'exponential' | 'linear';
  /** @default 1000 */
  readonly initialDelay?: number;
  /** @default 3_600_000 (1 h) */
  readonly maxDelay?: number;
}

/** A pending request as the daemon reports it in a `pending` reply. @internal */
export type PendingRequestData = PendingReplyData['requests'][number];

const MAX_WALL_MS = 8.64e15;

function invalid(field: string, message: string): BGTaskSchedulerError {
  return new BGTaskSchedulerError('invalidRequest', `${field}: ${message}`, { field });
}

function describe(value: unknown): string {
  if (value instanceof Date) return `Invalid Date`;
  return (
    `\`${typeof value === 'string' ? JSON.stringify(value) : String(value)}\` ` +
    `(${value === null ? 'null' : typeof value})`
  );
}

/**
 * A request to run a task later: Apple's `BGTaskRequest`. Use {@link BGAppRefreshTaskRequest} or
 * {@link BGProcessingTaskRequest}; submit it with `BGTaskScheduler.shared.submit(request)`.
 *
 * A request is a value: submitting it sends a snapshot, so changing it afterwards does nothing until it
 * is submitted again. Submitting the same identifier again replaces the pending request.
 */
export abstract class BGTaskRequest {
  readonly #identifier: string;

  /**
   * The earliest moment the task may begin, or null for "no start delay". It is a floor, never a
   * promise: the system may run the task much later. Checked at submit time (`invalidRequest`, field
   * `earliestBeginDate`, unless null or a valid Date).
   * @default null
   */
  earliestBeginDate: Date | null = null;

  /**
   * Beyond Apple: run only on a network that is not metered (not a phone hotspot or a capped plan, as
   * NetworkManager reports it). Implies a network connection.
   * @default false
   */
  requiresUnmeteredNetwork = false;

  /**
   * Beyond Apple: retry with backoff when the task completes unsuccessfully (`setTaskCompleted(false)`,
   * a throw, an expiration, or the app exiting mid-task). Checked at submit time (`invalidRequest`,
   * field `retry.*`).
   * @default null (no retry)
   */
  retry: RetryOptions | null = null;

  /**
   * Beyond Apple, for a fleet of machines sharing one PostgreSQL store: `'any'` lets any live machine
   * that has this app installed and meets the request's conditions run it; `'device'` keeps it on this
   * machine, as on iOS. On a single machine both mean the same. Checked at submit time
   * (`invalidRequest`, field `placement`).
   * @default 'device'
   */
  placement: 'device' | 'any' = 'device';

  /**
   * Whether a run that ends because this app's process exited, crashed or was killed (not at a deadline)
   * is run again. `true` by default, unlike iOS, where such a task is simply gone: a tool that submits
   * work and exits, or a process the OOM killer took, would otherwise lose it (see docs/reliability.md).
   * Set `false` for work that must run at most once: such a run then ends `appExited` for good. Either
   * way a task that kills its process three times in a row is given up. Checked at submit time
   * (`invalidRequest`, field `requeueOnExit`).
   * @default true
   */
  requeueOnExit = true;

  // ---- workflows (docs/workflows.md) ----

  /**
   * Beyond Apple: what the task is about (the file to convert, the album to upload), handed to the handler
   * as `task.data` and kept with the request and its runs. Any JSON value of at most 16 KB as JSON.
   * Checked at submit time (`invalidRequest`, field `data`).
   * @default undefined (none)
   */
  data: unknown = undefined;

  /**
   * Beyond Apple: tasks of this app that must succeed before this one runs (fan-in), as requests or their
   * identifiers. Each must be pending, running or have run. The task waits (`bgtasks why` says for what),
   * gets their results as `task.prerequisites`, and is cancelled if one fails for good. At most 32.
   * Checked at submit time (`invalidRequest`, field `dependsOn` or `dependsOn.N`).
   * @default [] (none)
   */
  dependsOn: (BGTaskRequest | string)[] = [];
  // -- calendar schedules --
  /**
   * Beyond Apple: run on a calendar, like systemd's `OnCalendar=` or launchd's `StartCalendarInterval`:
   * `'Mon..Fri *-*-* 03:00:00'`, `'daily'`, or a cron expression (`'0 3 * * 1-5'`, six fields for
   * seconds). Each occurrence is a period, as with `interval`: one run at most, and an occurrence that
   * passes with no run is recorded as skipped, with the reason. Refresh and processing requests only;
   * checked by the daemon at submit time (`invalidRequest`, field `calendar` or `timeZone`).
   * @default null
   */
  calendar: string | null = null;

  /** The calendar's IANA time zone (`'Europe/Paris'`); null follows the device's. @default null */
  timeZone: string | null = null;
  // -- end calendar schedules --

  // -- file triggers --
  /**
   * Beyond Apple: run when a watched path changes, like launchd's `WatchPaths` or a systemd `.path` unit,
   * also while the app is not running (the system launches it). `paths` are absolute or under `~/` (the
   * daemon's user's home), at most 16; `debounce` is the quiet time in ms after a change before the task
   * becomes due (default 2 000), so a burst of changes makes one run. The task's `data` is
   * `{ trigger: { changes: [{ path, kind }], truncated } }`. Checked by the daemon at submit time
   * (`invalidRequest`, field `triggers.paths.N` for a relative path).
   * @default null
   */
  triggers: { paths: string[]; debounce?: number } | null = null;
  // -- end file triggers --

  /**
   * @param identifier A reverse-DNS identifier listed (or covered by a `.*` family) in the app's
   * `permittedIdentifiers`.
   * @throws BGTaskSchedulerError `invalidRequest` (field `identifier`) when it is not a reverse-DNS name.
   */
  protected constructor(identifier: string) {
    if (typeof identifier !== 'string' || !NAME_PATTERN.test(identifier)) {
      throw invalid(
        'identifier',
        `expected a reverse-DNS name (letters, digits, ".", "_" or "-", at most 200 ` +
          `characters), got ${describe(identifier)}`,
      );
    }
    this.#identifier = identifier;
  }

  /** The task identifier; a handler registered for it (or its `.*` family) runs the task. */
  get identifier(): string {
    return this.#identifier;
  }

  /** `refresh` for {@link BGAppRefreshTaskRequest}, `processing` for {@link BGProcessingTaskRequest}. */
  abstract get kind(): SubmittableKind;

  /**
   * Checks the mutable fields and returns the protocol's form of the request.
   * @throws BGTaskSchedulerError `invalidRequest`, with `field` naming the field at fault.
   * @internal
   */
  toInput(): RequestInput {
    const date: unknown = this.earliestBeginDate;
    let earliestBeginAt: number | null = null;
    if (date !== null && date !== undefined) {
      if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
        throw invalid('earliestBeginDate', `expected null or a valid Date, got ${describe(date)}`);
      }
      // A date before 1970 means the same as "no delay" for a floor; the protocol carries unsigned ms.
      earliestBeginAt = Math.min(Math.max(0, date.getTime()), MAX_WALL_MS);
    }
    if (typeof this.requiresUnmeteredNetwork !== 'boolean') {
      throw invalid('requiresUnmeteredNetwork', `expected a boolean, got ${describe(this.requiresUnmeteredNetwork)}`);
    }
    if (this.placement !== 'device' && this.placement !== 'any') {
      throw invalid('placement', `expected 'device' or 'any', got ${describe(this.placement)}`);
    }
    if (typeof this.requeueOnExit !== 'boolean') {
      throw invalid('requeueOnExit', `expected a boolean, got ${describe(this.requeueOnExit)}`);
    }
    const workflow = this.#workflowInput();
    for (const field of ['calendar', 'timeZone'] as const) {
      const value: unknown = this[field];
      if (value !== null && value !== undefined && (typeof value !== 'string' || value === '' || value.length > 256)) {
        throw invalid(field, `expected null or a string of 1 to 256 characters, got ${describe(value)}`);
      }
    }
    const triggers = checkTriggersShape(this.triggers);
    let retry: RequestInput['retry'] = null;
    if (this.retry !== null && this.retry !== undefined) {
      const parsed = retryInputSchema.safeParse(this.retry);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const field = ['retry', ...(issue?.path ?? []).map(String)].join('.');
        throw invalid(field, issue?.message ?? 'invalid');
      }
      retry = parsed.data;
    }
    return {
      identifier: this.#identifier,
      kind: this.kind,
      earliestBeginAt,
      requiresNetworkConnectivity: false,
      requiresExternalPower: false,
      requiresUnmeteredNetwork: this.requiresUnmeteredNetwork,
      interval: null,
      tolerance: null,
      // Sent only when set, so a request without them reads the same to an older daemon.
      ...(this.calendar ? { calendar: this.calendar } : {}),
      ...(this.timeZone ? { timeZone: this.timeZone } : {}),
      ...(triggers ? { triggers } : {}),
      retry,
      // Sent only when it says something, so a request without it reads the same to an older daemon.
      ...(this.placement === 'any' ? { placement: 'any' as const } : {}),
      ...(this.requeueOnExit ? {} : { requeueOnExit: false }),
      continued: null,
      ...workflow,
    };
  }

  /** `data` and `dependsOn` as the protocol carries them, checked; absent when unset. */
  #workflowInput(): Pick<RequestInput, 'data' | 'dependsOn'> {
    const input: { data?: unknown; dependsOn?: string[] } = {};
    if (this.data !== undefined && this.data !== null) {
      const problem = payloadProblem(this.data);
      if (problem !== null) throw invalid('data', problem);
      input.data = this.data;
    }
    const dependsOn: unknown = this.dependsOn;
    if (dependsOn === null || dependsOn === undefined) return input;
    if (!Array.isArray(dependsOn)) {
      throw invalid('dependsOn', `expected an array of requests or identifiers, got ${describe(dependsOn)}`);
    }
    if (dependsOn.length > MAX_PREREQUISITES) {
      throw invalid('dependsOn', `at most ${MAX_PREREQUISITES} prerequisites, got ${dependsOn.length}`);
    }
    const identifiers: string[] = [];
    for (const [index, item] of (dependsOn as unknown[]).entries()) {
      const identifier = item instanceof BGTaskRequest ? item.identifier : item;
      if (typeof identifier !== 'string' || !NAME_PATTERN.test(identifier)) {
        throw invalid(`dependsOn.${index}`, `expected a request or a reverse-DNS identifier, got ${describe(item)}`);
      }
      if (identifier === this.#identifier) {
        const hint = "to run after its running task, submit with existing: 'append'";
        throw invalid(`dependsOn.${index}`, `${identifier} cannot depend on itself (${hint})`);
      }
      if (identifiers.includes(identifier)) throw invalid(`dependsOn.${index}`, `${identifier} is named twice`);
      identifiers.push(identifier);
    }
    if (identifiers.length > 0) input.dependsOn = identifiers;
    return input;
  }

  /** A plain description, for logs and `JSON.stringify`. */
  toJSON(): Record<string, unknown> {
    return {
      identifier: this.#identifier,
      kind: this.kind,
      earliestBeginDate: this.earliestBeginDate,
      ...(this.requiresUnmeteredNetwork ? { requiresUnmeteredNetwork: true } : {}),
      ...(this.retry ? { retry: this.retry } : {}),
      ...(this.placement === 'any' ? { placement: 'any' } : {}),
      ...(this.requeueOnExit ? {} : { requeueOnExit: false }),
      ...(this.data !== undefined ? { data: this.data } : {}),
      ...(Array.isArray(this.dependsOn) && this.dependsOn.length > 0
        ? { dependsOn: this.dependsOn.map((item) => (item instanceof BGTaskRequest ? item.identifier : item)) }
        : {}),
      ...(this.calendar ? { calendar: this.calendar, timeZone: this.timeZone } : {}),
      ...(this.triggers ? { triggers: this.triggers } : {}),
    };
  }
}

/**
 * A request to briefly launch the app to refresh its content: Apple's `BGAppRefreshTaskRequest`.
 *
 * @example
 * ```ts
 * const request = new BGAppRefreshTaskRequest('com.example.feeds.refresh');
 * request.earliestBeginDate = new Date(Date.now() + 15 * 60_000);
 * await BGTaskScheduler.shared.submit(request);
 * ```
 */
export class BGAppRefreshTaskRequest extends BGTaskRequest {
  /**
   * Beyond Apple: make the refresh periodic, every `interval` milliseconds (at least the daemon's
   * `minRefreshIntervalMs`, 1 minute by default). The system resubmits it each period, so it cannot run
   * once and never again; periods that pass with no run are recorded as skipped, with the reason.
   * @default null (runs once)
   */
  interval: number | null = null;

  /**
   * How much earlier than its period a periodic refresh may start, in ms, so that it shares a wake-up
   * with other work of the app (like a timer's slack). At most `interval`. For a `calendar`, at most the
   * shortest gap between its occurrences.
   * @default interval / 10; none for a calendar
   */
  tolerance: number | null = null;

  /** @throws BGTaskSchedulerError `invalidRequest` (field `identifier`) for a malformed identifier. */
  constructor(identifier: string) {
    super(identifier);
  }

  get kind(): 'refresh' {
    return 'refresh';
  }

  /** @internal */
  override toInput(): RequestInput {
    const input = super.toInput();
    for (const field of ['interval', 'tolerance'] as const) {
      const value: unknown = this[field];
      if (
        value !== null &&
        value !== undefined &&
        (typeof value !== 'number' || !Number.isInteger(value) || value < (field === 'interval' ? 1 : 0))
      ) {
        throw invalid(field, `expected null or a whole number of milliseconds, got ${describe(value)}`);
      }
    }
    const interval = this.interval ?? null;
    const tolerance = this.tolerance ?? null;
    if (tolerance !== null && interval === null && !input.calendar)
      throw invalid('tolerance', 'tolerance needs an interval or a calendar');
    if (interval !== null && tolerance !== null && tolerance > interval)
      throw invalid('tolerance', 'tolerance must not exceed interval');
    return { ...input, interval, tolerance };
  }

  override toJSON(): Record<string, unknown> {
    return {
      ...super.toJSON(),
      ...(this.interval !== null ? { interval: this.interval, tolerance: this.tolerance } : {}),
    };
  }
}

/**
 * A request for deferrable, possibly long work that runs when conditions suit it (idle, on power, ...):
 * Apple's `BGProcessingTaskRequest`.
 */
export class BGProcessingTaskRequest extends BGTaskRequest {
  /**
   * Run only while a network connection is available. With false, the task may run offline.
   * @default false
   */
  requiresNetworkConnectivity = false;

  /**
   * Run only while on external power (a charger or a dock).
   * @default false
   */
  requiresExternalPower = false;

  /** @throws BGTaskSchedulerError `invalidRequest` (field `identifier`) for a malformed identifier. */
  constructor(identifier: string) {
    super(identifier);
  }

  get kind(): 'processing' {
    return 'processing';
  }

  /** @internal */
  override toInput(): RequestInput {
    const input = super.toInput();
    for (const field of ['requiresNetworkConnectivity', 'requiresExternalPower'] as const) {
      if (typeof this[field] !== 'boolean') throw invalid(field, `expected a boolean, got ${describe(this[field])}`);
    }
    return {
      ...input,
      requiresNetworkConnectivity: this.requiresNetworkConnectivity,
      requiresExternalPower: this.requiresExternalPower,
    };
  }

  override toJSON(): Record<string, unknown> {
    return {
      ...super.toJSON(),
      requiresNetworkConnectivity: this.requiresNetworkConnectivity,
      requiresExternalPower: this.requiresExternalPower,
    };
  }
}

/**
 * Work a person starts and watches (export a video, upload an album) that keeps running when the app
 * goes away, with a progress bar in the system UI (`bgtasks top`, `bgtasks dashboard`) from which the
 * person can cancel it: Apple's `BGContinuedProcessingTaskRequest`.
 *
 * Its identifier comes from a wildcard family in the manifest (`com.example.export.*`); only an app the
 * user launched may submit one (`notPermitted` otherwise); `earliestBeginDate` is ignored: it starts as
 * soon as it can. When it cannot start at once, `strategy` decides: `'queue'` (the default) waits in
 * line, `'fail'` rejects the submission with `immediateRunIneligible`, so the app can run the work in
 * the foreground instead.
 *
 * @example
 * ```ts
 * const request = new BGContinuedProcessingTaskRequest('com.example.export.video-42', 'Exporting', 'holiday.mp4');
 * request.strategy = 'fail';
 * await BGTaskScheduler.shared.submit(request);
 * ```
 */
export class BGContinuedProcessingTaskRequest extends BGTaskRequest {
  /** @default 'queue' */
  strategy: 'fail' | 'queue' = 'queue';

  /** Hardware the work needs (`['gpu']`); see `BGTaskScheduler.supportedResources`. @default [] */
  requiredResources: string[] = [];

  readonly #title: string;
  readonly #subtitle: string;

  /**
   * @param title What the person sees, e.g. "Exporting".
   * @param subtitle More detail, e.g. the file name.
   * @throws BGTaskSchedulerError `invalidRequest` (field `identifier`, `title` or `subtitle`).
   */
  constructor(identifier: string, title: string, subtitle: string) {
    super(identifier);
    if (typeof title !== 'string' || title.length === 0 || title.length > 200)
      throw invalid('title', `expected a non-empty string of at most 200 characters, got ` + `${describe(title)}`);
    if (typeof subtitle !== 'string' || subtitle.length > 200)
      throw invalid('subtitle', `expected a string of at most 200 characters, got ${describe(subtitle)}`);
    this.#title = title;
    this.#subtitle = subtitle;
  }

  get kind(): 'continued' {
    return 'continued';
  }

  get title(): string {
    return this.#title;
  }

  get subtitle(): string {
    return this.#subtitle;
  }

  /** @internal */
  override toInput(): RequestInput {
    const input = super.toInput();
    if (this.strategy !== 'fail' && this.strategy !== 'queue')
      throw invalid('strategy', `expected 'fail' or 'queue', got ${describe(this.strategy)}`);
    if (
      !Array.isArray(this.requiredResources) ||
      !this.requiredResources.every(
        (resource) => typeof resource === 'string' && /^[a-z][a-z0-9-]{0,31}$/.test(resource),
      )
    ) {
      throw invalid(
        'requiredResources',
        `expected an array of resource names such as "gpu", got ` + `${describe(this.requiredResources)}`,
      );
    }
    return {
      ...input,
      earliestBeginAt: null,
      continued: {
        title: this.#title,
        subtitle: this.#subtitle,
        strategy: this.strategy,
        requiredResources: [...this.requiredResources],
      },
    };
  }

  override toJSON(): Record<string, unknown> {
    return {
      ...super.toJSON(),
      title: this.#title,
      subtitle: this.#subtitle,
      strategy: this.strategy,
      requiredResources: this.requiredResources,
    };
  }
}

/**
 * A new request built from the daemon's record of a pending one: a copy, so changing it changes nothing
 * until it is submitted. @internal
 */
export function requestFromPending(data: PendingRequestData): BGTaskRequest {
  const request =
    data.kind === 'continued'
      ? new BGContinuedProcessingTaskRequest(data.identifier, data.title || data.identifier, data.subtitle ?? '')
      : data.kind === 'processing'
        ? new BGProcessingTaskRequest(data.identifier)
        : new BGAppRefreshTaskRequest(data.identifier);
  request.earliestBeginDate = data.earliestBeginAt === null ? null : new Date(data.earliestBeginAt);
  request.requiresUnmeteredNetwork = data.requiresUnmeteredNetwork ?? false;
  request.placement = data.placement ?? 'device';
  request.requeueOnExit = data.requeueOnExit ?? true;
  if (data.data !== undefined) request.data = data.data;
  // An 'append' request waits for its own identifier's running task: that is not a prerequisite to resubmit.
  if (data.dependsOn) request.dependsOn = data.dependsOn.filter((identifier) => identifier !== data.identifier);
  if (request instanceof BGAppRefreshTaskRequest && typeof data.interval === 'number') request.interval = data.interval;
  if (data.triggers !== undefined)
    request.triggers = { paths: [...data.triggers.paths], debounce: data.triggers.debounce };
  if (data.calendar !== undefined) {
    request.calendar = data.calendar;
    request.timeZone = data.timeZone ?? null;
  }
  if (request instanceof BGProcessingTaskRequest) {
    request.requiresNetworkConnectivity = data.requiresNetworkConnectivity;
    request.requiresExternalPower = data.requiresExternalPower;
  }
  return request;
}

/** The shape of `triggers`; what the paths may be, the daemon checks. */
function checkTriggersShape(value: unknown): { paths: string[]; debounce: number } | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object')
    throw invalid('triggers', `expected null or { paths, debounce }, got ${describe(value)}`);
  const { paths, debounce = 2_000, ...rest } = value as { paths?: unknown; debounce?: unknown };
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) throw invalid(`triggers.${unknown}`, 'not an option of triggers (paths, debounce)');
  if (!Array.isArray(paths) || paths.length === 0 || paths.length > 16) {
    throw invalid('triggers.paths', `expected 1 to 16 paths, got ${describe(paths)}`);
  }
  for (const [index, path] of paths.entries()) {
    if (typeof path !== 'string' || path === '' || path.length > 4096) {
      throw invalid(`triggers.paths.${index}`, `expected a path, got ${describe(path)}`);
    }
  }
  if (typeof debounce !== 'number' || !Number.isInteger(debounce) || debounce < 0 || debounce > 3_600_000) {
    throw invalid('triggers.debounce', `expected whole milliseconds from 0 to 3600000, got ${describe(debounce)}`);
  }
  return { paths: paths as string[], debounce };
}
