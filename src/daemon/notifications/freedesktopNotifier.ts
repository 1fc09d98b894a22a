/**
 * Desktop notifications on Linux through the Desktop Notifications Specification: the service that
 * owns `org.freedesktop.Notifications` on the session bus (GNOME Shell, KDE Plasma, dunst, mako,
 * xfce4-notifyd, …). One connection, opened on the first post and reused; after a failed connect,
 * posts fail at once for a minute instead of each paying another connect.
 */
import type { Disposable } from '../../engine/clock.js';
import { DBusConnection, DBusError, DBUS_TIMEOUT_MS, type DBusSignal } from '../../conditions/dbusConnection.js';
import { variant } from '../../conditions/dbusEncode.js';
import { nameOwnerChangedRule } from '../../conditions/systemBus.js';
import type {
  DesktopNotification,
  DesktopNotifier,
  DesktopNotifierOptions,
  DesktopPostResult,
} from './desktopNotifier.js';

export const NOTIFICATIONS_NAME = 'org.freedesktop.Notifications';
const NOTIFICATIONS_PATH = '/org/freedesktop/Notifications';
const NOTIFICATIONS_INTERFACE = 'org.freedesktop.Notifications';
/** The action key the spec reserves for a click on the notification's body. */
const DEFAULT_ACTION = 'default';
/** The spec's urgency hint (a byte): 0 low, 1 normal, 2 critical. */
const URGENCY_NORMAL = 1;
/** `expire_timeout` -1: the server's own default, which knows the desktop's conventions. */
const SERVER_DEFAULT_TIMEOUT = -1;

type Log = NonNullable<DesktopNotifierOptions['log']>;
type ActionListener = (key: string, actionId: string) => void;

export interface FreedesktopNotifierOptions {
  /** A D-Bus address with a `unix:` entry (see `sessionBusAddress`). */
  readonly address: string;
  readonly log?: Log;
  /** Time after a failed connect during which posts fail at once. @default 60000 */
  readonly retryMs?: number;
  /** Notifications whose actions we still listen for; the oldest are forgotten first. @default 1000 */
  readonly maxTracked?: number;
  /** Timeout of one call to the bus or the notification service. @default DBUS_TIMEOUT_MS */
  readonly callTimeoutMs?: number;
  /** Time for the backoff. @default performance.now */
  readonly now?: () => number;
}

/** What the running notification server is, asked once per server. */
interface ServerInfo {
  /** Its unique bus name: only signals from it count (a directed signal bypasses our match rules). */
  readonly owner: string | undefined;
  readonly actions: boolean;
  readonly name: string;
}

export class FreedesktopNotifier implements DesktopNotifier {
  readonly kind = 'freedesktop';
  readonly address: string;
  readonly #log: Log | undefined;
  readonly #retryMs: number;
  readonly #maxTracked: number;
  readonly #callTimeoutMs: number;
  readonly #now: () => number;
  readonly #listeners = new Set<ActionListener>();
  /** D-Bus notification id → our key, oldest first (a Map keeps insertion order), and back. */
  readonly #keyById = new Map<number, string>();
  readonly #idByKey = new Map<string, number>();
  #connection: DBusConnection | undefined;
  #connecting: Promise<DBusConnection | string> | undefined;
  #server: Promise<ServerInfo> | undefined;
  #owner: string | undefined;
  #failedAt: number | undefined;
  #failure = '';
  /** The last problem logged, so a missing service is logged once, not at every post. */
  #lastLogged: string | undefined;
  #disposed = false;

  constructor(options: FreedesktopNotifierOptions) {
    this.address = options.address;
    this.#log = options.log;
    this.#retryMs = options.retryMs ?? 60_000;
    this.#maxTracked = options.maxTracked ?? 1_000;
    this.#callTimeoutMs = options.callTimeoutMs ?? DBUS_TIMEOUT_MS;
    this.#now = options.now ?? (() => performance.now());
  }

  async post(notification: DesktopNotification): Promise<DesktopPostResult> {
    let result: DesktopPostResult;
    try {
      result = await this.#post(notification);
    } catch (error) {
      // #post catches what it expects; this is the promise to the caller that post never rejects.
      result = { shown: false, detail: `could not post the notification: ${describe(error)}` };
    }
    this.#report(result);
    return result;
  }

  onAction(listener: ActionListener): Disposable {
    this.#listeners.add(listener);
    return { dispose: () => void this.#listeners.delete(listener) };
  }

  /** Closes our bus connection (the notifications already shown stay on screen). */
  dispose(): void {
    this.#disposed = true;
    this.#connection?.dispose();
    this.#connection = undefined;
    this.#listeners.clear();
    this.#forgetAll();
  }

  async #post(notification: DesktopNotification): Promise<DesktopPostResult> {
    if (this.#disposed) return { shown: false, detail: 'the desktop notifier is disposed' };
    const connection = await this.#connect();
    if (typeof connection === 'string') return { shown: false, detail: connection };
    try {
      const server = await this.#describeServer(connection);
      // Posting a key again updates its notification on screen rather than stacking a second one.
      const replacesId = this.#idByKey.get(notification.key) ?? 0;
      const actions = server.actions ? flattenActions(notification.actions) : [];
      const hints = new Map([['urgency', variant('y', URGENCY_NORMAL)]]);
      const [id] = await connection.call(
        {
          ...notificationsCall('Notify'),
          signature: 'susssasa{sv}i',
          body: [
            notification.appName,
            replacesId,
            '',
            notification.title,
            notification.body,
            actions,
            hints,
            SERVER_DEFAULT_TIMEOUT,
          ],
        },
        this.#callTimeoutMs,
      );
      if (typeof id === 'number' && id !== 0) this.#track(id, notification.key);
      return { shown: true, detail: `shown by ${server.name} (${NOTIFICATIONS_NAME} id ${String(id)})` };
    } catch (error) {
      // Whoever answers next may be another server: ask its capabilities again (NameOwnerChanged
      // says so too, unless the bus refused that match rule).
      if (error instanceof DBusError && error.type !== 'org.freedesktop.DBus.Error.Timeout') this.#server = undefined;
      return { shown: false, detail: explainCallError(error) };
    }
  }

  /** The open connection, or why there is none. */
  #connect(): Promise<DBusConnection | string> {
    if (this.#connection && !this.#connection.closed) return Promise.resolve(this.#connection);
    if (this.#connecting) return this.#connecting;
    if (this.#failedAt !== undefined && this.#now() - this.#failedAt < this.#retryMs) {
      const seconds = Math.ceil((this.#retryMs - (this.#now() - this.#failedAt)) / 1000);
      return Promise.resolve(`${this.#failure} (next attempt in ${seconds} s)`);
    }
    this.#connecting = this.#open().finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  async #open(): Promise<DBusConnection | string> {
    let connection: DBusConnection;
    try {
      connection = await DBusConnection.connect(this.address, this.#callTimeoutMs);
    } catch (error) {
      this.#failedAt = this.#now();
      this.#failure = `cannot reach the D-Bus session bus at ${this.address}: ${describe(error)}`;
      return this.#failure;
    }
    if (this.#disposed) {
      connection.dispose();
      return 'the desktop notifier is disposed';
    }
    connection.onSignal((signal) => this.#onSignal(signal));
    connection.onClose(() => {
      if (this.#connection !== connection) return;
      this.#connection = undefined;
      this.#server = undefined;
    });
    // Subscribed before the first Notify, so a click right after the notification appears is heard.
    const rules = ['ActionInvoked', 'NotificationClosed'].map(
      (member) =>
        `type='signal',sender='${NOTIFICATIONS_NAME}',path='${NOTIFICATIONS_PATH}',` +
        `interface='${NOTIFICATIONS_INTERFACE}',member='${member}'`,
    );
    rules.push(nameOwnerChangedRule(NOTIFICATIONS_NAME));
    const refused = (
      await Promise.all(
        rules.map((rule) =>
          connection.addMatch(rule).then(
            () => undefined,
            (error: unknown) => error,
          ),
        ),
      )
    ).filter(Boolean);
    if (refused.length > 0) {
      // Notifications still show; only the person's choices go unheard.
      this.#log?.warn('the session bus refused a match rule: desktop notification actions will not ' + 'be heard', {
        error: describe(refused[0]),
      });
    }
    this.#failedAt = undefined;
    this.#connection = connection;
    this.#server = undefined;
    return connection;
  }

  #describeServer(connection: DBusConnection): Promise<ServerInfo> {
    if (!this.#server) {
      const asking = describeServer(connection, this.#callTimeoutMs);
      this.#server = asking;
      asking.then(
        (server) => {
          if (this.#server === asking) this.#owner = server.owner;
        },
        () => {
          // Not running (yet): ask again at the next post.
          if (this.#server === asking) this.#server = undefined;
        },
      );
    }
    return this.#server;
  }

  #onSignal(signal: DBusSignal): void {
    const [first, second, third] = signal.body;
    if (signal.sender === 'org.freedesktop.DBus' && signal.member === 'NameOwnerChanged') {
      if (first !== NOTIFICATIONS_NAME) return;
      // Another server (or none): the old one's ids and capabilities mean nothing now. The new owner
      // is taken from here too, as this can arrive while the first GetCapabilities starts the server.
      this.#forgetAll();
      this.#server = undefined;
      this.#owner = typeof third === 'string' && third !== '' ? third : undefined;
      return;
    }
    if (signal.interface !== NOTIFICATIONS_INTERFACE || signal.path !== NOTIFICATIONS_PATH || typeof first !== 'number')
      return;
    if (this.#owner === undefined || signal.sender !== this.#owner) return;
    const key = this.#keyById.get(first);
    if (key === undefined) return; // another app's notification: these signals are broadcast
    if (signal.member === 'ActionInvoked' && typeof second === 'string') {
      for (const listener of [...this.#listeners]) {
        try {
          listener(key, second);
        } catch (error) {
          this.#log?.warn('a desktop notification action listener threw', {
            key,
            actionId: second,
            error: describe(error),
          });
        }
      }
    } else if (signal.member === 'NotificationClosed') {
      this.#keyById.delete(first);
      if (this.#idByKey.get(key) === first) this.#idByKey.delete(key);
    }
  }

  #track(id: number, key: string): void {
    const previous = this.#idByKey.get(key);
    if (previous !== undefined) this.#keyById.delete(previous);
    const reusedBy = this.#keyById.get(id);
    if (reusedBy !== undefined && this.#idByKey.get(reusedBy) === id) this.#idByKey.delete(reusedBy);
    this.#keyById.delete(id); // re-inserted below, as the newest
    this.#keyById.set(id, key);
    this.#idByKey.set(key, id);
    // Servers that never send NotificationClosed would otherwise grow these maps for ever.
    for (const [oldId, oldKey] of this.#keyById) {
      if (this.#keyById.size <= this.#maxTracked) break;
      this.#keyById.delete(oldId);
      if (this.#idByKey.get(oldKey) === oldId) this.#idByKey.delete(oldKey);
    }
  }

  #forgetAll(): void {
    this.#keyById.clear();
    this.#idByKey.clear();
  }

  /** Logs a change between working and not working, not every post. */
  #report(result: DesktopPostResult): void {
    const state = result.shown ? undefined : result.detail.replace(/ \(next attempt in \d+ s\)$/, '');
    if (state === this.#lastLogged) return;
    this.#lastLogged = state;
    if (state === undefined) this.#log?.info('desktop notifications are shown', { detail: result.detail });
    else this.#log?.warn('desktop notification not shown', { detail: result.detail });
  }
}

function notificationsCall(member: string) {
  // autoStart: many notification servers (dunst, mako, xfce4-notifyd) start only by D-Bus activation.
  return {
    destination: NOTIFICATIONS_NAME,
    path: NOTIFICATIONS_PATH,
    interface: NOTIFICATIONS_INTERFACE,
    member,
    autoStart: true,
  } as const;
}

async function describeServer(connection: DBusConnection, timeoutMs: number): Promise<ServerInfo> {
  const [capabilities] = await connection.call(notificationsCall('GetCapabilities'), timeoutMs);
  const actions = Array.isArray(capabilities) && capabilities.includes('actions');
  const [owner] = await connection.call(
    {
      destination: 'org.freedesktop.DBus',
      path: '/org/freedesktop/DBus',
      interface: 'org.freedesktop.DBus',
      member: 'GetNameOwner',
      signature: 's',
      body: [NOTIFICATIONS_NAME],
    },
    timeoutMs,
  );
  let name = NOTIFICATIONS_NAME;
  try {
    const [serverName, , version] = await connection.call(notificationsCall('GetServerInformation'), timeoutMs);
    if (typeof serverName === 'string' && serverName !== '')
      name = typeof version === 'string' && version !== '' ? `${serverName} ${version}` : serverName;
  } catch {
    // Only used to say who showed a notification; the service's own name says enough.
  }
  return { owner: typeof owner === 'string' ? owner : undefined, actions, name };
}

/** The spec's flat [key, label, key, label, …], led by 'default' so a click on the body is reported. */
function flattenActions(actions: DesktopNotification['actions']): string[] {
  const defaultTitle = actions.find((action) => action.id === DEFAULT_ACTION)?.title ?? 'Open';
  const flat = [DEFAULT_ACTION, defaultTitle];
  for (const action of actions) if (action.id !== DEFAULT_ACTION) flat.push(action.id, action.title);
  return flat;
}

function explainCallError(error: unknown): string {
  if (!(error instanceof DBusError)) return `could not post the notification: ${describe(error)}`;
  switch (error.type) {
    case 'org.freedesktop.DBus.Error.ServiceUnknown':
    case 'org.freedesktop.DBus.Error.NameHasNoOwner':
      return `no notification service on the session bus: ${NOTIFICATIONS_NAME} is not running (${error.message})`;
    case 'org.freedesktop.DBus.Error.Timeout':
    case 'org.freedesktop.DBus.Error.NoReply':
      return `${NOTIFICATIONS_NAME} did not answer in time (${error.message})`;
    case 'connection':
      return `lost the session bus connection: ${error.message}`;
    default:
      return `${NOTIFICATIONS_NAME} refused the notification: ${error.type}: ${error.message}`;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
