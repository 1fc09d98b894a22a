import { PUSH_IDENTIFIER } from '../protocol/vocabulary/kinds.js';
import type { BackgroundMode } from '../protocol/vocabulary/kinds.js';
import type { AppMessage, NotificationActionDelivery } from '../protocol/messages.js';
import { describeThrown } from './errors.js';
import type { Manifest } from './discovery.js';
import type { LogLevel } from './logger.js';
import { toActionResponse, UserNotificationCenter, type NotificationActionHandler } from './notifications.js';
import type { RemoteNotificationHandler } from './push.js';
import { pushCountsSchema, type PushCounts } from './pushCounts.js';

export interface SystemHandlersDeps {
  /** Whether registration is still open (the handshake has not started). */
  registrationOpen(): boolean;
  closed(): boolean;
  manifest(): Manifest | null;
  /** Sends a call to the daemon and reads its reply. */
  call<T>(frame: (id: number) => AppMessage, parse: (data: unknown) => T): Promise<T>;
  log(level: LogLevel, message: string): void;
  /**
   * Something changed: whether the process must stay up ({@link busy}), or acknowledgements to send ({@link
   * takeAcknowledged}).
   */
  changed(): void;
}

/** How long a process launched for a notification's action stays up waiting for it. */
const ACTION_WAIT_MS = 10_000;

/**
 * The handlers the system calls rather than a task identifier: the push handler
 * (`onRemoteNotification`) and the notification action handler (`notifications.onAction`), one of each,
 * registered at start-up like launch handlers; and the notification center they come with.
 */
export class SystemHandlers {
  readonly #deps: SystemHandlersDeps;
  #push: RemoteNotificationHandler | null = null;
  #action: NotificationActionHandler | null = null;
  #center: UserNotificationCenter | null = null;
  #awaitingAction = false;
  /** Action handlers running now. */
  #running = 0;
  /** Actions the handler is done with, for the daemon. */
  #acknowledged: string[] = [];

  constructor(deps: SystemHandlersDeps) {
    this.#deps = deps;
  }

  /**
   * True while the process must stay up for an action: a process launched for one waits for it (at most
   * ACTION_WAIT_MS, so an app whose start-up code returns at once still gets it), then for its handler,
   * then until the daemon has been told the handler is done.
   */
  get busy(): boolean {
    return this.#awaitingAction || this.#running > 0 || this.#acknowledged.length > 0;
  }

  /** The `actionsHandled` frames to send now. */
  takeAcknowledged(): AppMessage[] {
    const frames: AppMessage[] = [];
    for (let i = 0; i < this.#acknowledged.length; i += 1_000)
      frames.push({ t: 'actionsHandled', notificationIds: this.#acknowledged.slice(i, i + 1_000) });
    this.#acknowledged = [];
    return frames;
  }

  /** This process was launched for an action: wait for it. */
  awaitAction(): void {
    this.#awaitingAction = true;
    setTimeout(() => {
      this.#awaitingAction = false;
      this.#deps.changed();
    }, ACTION_WAIT_MS).unref();
  }

  get push(): RemoteNotificationHandler | null {
    return this.#push;
  }

  /** The hello's handlers: the app's identifiers and the push handler's, and whether actions are handled. */
  helloFields(identifiers: readonly string[]): { registered: string[]; notificationActions?: true } {
    return {
      registered: [...identifiers, ...(this.#push ? [PUSH_IDENTIFIER] : [])],
      ...(this.#action ? { notificationActions: true as const } : {}),
    };
  }

  /** The app's push counts, from the daemon. */
  pushCounts(): Promise<PushCounts> {
    return this.#deps.call(
      (id) => ({ t: 'pushCounts', id }),
      (data) => pushCountsSchema.parse(data),
    );
  }

  /** Registers the push handler; returns why it was refused, or null. */
  setPush(handler: RemoteNotificationHandler): string | null {
    const refused = this.#refusal('onRemoteNotification', handler, this.#push !== null, 'remote-notification');
    if (refused === null) this.#push = handler;
    return refused;
  }

  get notifications(): UserNotificationCenter {
    return (this.#center ??= new UserNotificationCenter({
      call: (frame, parse) => this.#deps.call(frame, parse),
      setActionHandler: (handler) => {
        const refused = this.#refusal('notifications.onAction', handler, this.#action !== null, null);
        if (refused !== null) this.#deps.log('warn', `notifications.onAction refused: ${refused}`);
        else this.#action = handler;
        return refused;
      },
    }));
  }

  /**
   * Hands the person's chosen actions to the action handler, one after another; its errors are logged,
   * never thrown. Each is acknowledged once the handler is done with it (returned, or its promise
   * settled), so an action whose process dies first is handed again at the app's next start.
   */
  handleActions(actions: readonly NotificationActionDelivery[]): void {
    this.#awaitingAction = false;
    const handler = this.#action;
    if (!handler) {
      this.#deps.log(
        'warn',
        `${actions.length} notification action(s) arrived with no ` + `notifications.onAction handler; ignored`,
      );
      return;
    }
    for (const action of actions) {
      this.#running += 1;
      let result: unknown;
      try {
        result = handler(toActionResponse(action));
      } catch (error) {
        this.#deps.log('error', `the notification action handler threw: ${describeThrown(error)}`);
      }
      void Promise.resolve(result)
        .catch((error: unknown) =>
          this.#deps.log('error', `the notification action handler threw: ${describeThrown(error)}`),
        )
        .finally(() => {
          this.#running -= 1;
          this.#acknowledged.push(action.notificationId);
          this.#deps.changed();
        });
    }
  }

  /** Why a handler cannot be registered now, or null. */
  #refusal(what: string, handler: unknown, taken: boolean, mode: BackgroundMode | null): string | null {
    if (this.#deps.closed()) return 'the scheduler has been closed';
    if (typeof handler !== 'function') return `expected a function as the handler, got ${typeof handler}`;
    if (!this.#deps.registrationOpen())
      return `${what} must be called at start-up, before the handshake with the daemon`;
    if (taken) return 'a handler is already registered';
    if (mode === null) return null;
    let manifest: Manifest | null = null;
    try {
      manifest = this.#deps.manifest();
    } catch {
      // an unreadable manifest is reported at connect time; the daemon checks anyway
    }
    return manifest && !manifest.backgroundModes.includes(mode)
      ? `the "${mode}" background mode is missing from ${manifest.file}`
      : null;
  }
}
