/**
 * The daemon's one connection to the system D-Bus, shared by the logind, NetworkManager and
 * power-profiles-daemon readers. It connects lazily, reconnects after the bus restarts, and backs off
 * after a failure, so a machine without a system bus (containers, non-systemd boxes) pays one failed
 * `connect()` a minute, not one per poll.
 */
import type { Disposable } from '../engine/clock.js';
import { DBusConnection, DBUS_TIMEOUT_MS, systemBusAddress, type DBusSignal } from './dbusConnection.js';

/**
 * Reads one D-Bus property, resolving undefined when the bus, the service or the property is not
 * there. Never rejects: every reader treats "not there" as "leave the field out".
 */
export type PropertyReader = (destination: string, path: string, iface: string, property: string) => Promise<unknown>;

/** A source of property reads and signals; {@link SystemBus} in the daemon, a fake in tests. */
export interface BusClient {
  readonly getProperty: PropertyReader;
  /**
   * Routes signals matching `rules` to `onSignal`, now and after every reconnect. `onError` hears once
   * that the bus could not be reached (events are then unavailable until it can).
   */
  subscribe(
    rules: readonly string[],
    onSignal: (signal: DBusSignal) => void,
    onError: (error: unknown) => void,
  ): Disposable;
}

export interface SystemBusOptions {
  /** @default `DBUS_SYSTEM_BUS_ADDRESS` or `unix:path=/var/run/dbus/system_bus_socket` */
  readonly address?: string;
  /** Time after a failed connect during which no new attempt is made. @default 60000 */
  readonly retryMs?: number;
  /** Timeout of one property read; kept short so a hung service cannot stall the poll. @default 1000 */
  readonly callTimeoutMs?: number;
  /** Monotonic-enough time for the backoff. @default performance.now */
  readonly now?: () => number;
  /** @default DBusConnection.connect */
  readonly connect?: (address: string) => Promise<DBusConnection>;
}

interface Subscriber {
  readonly rules: readonly string[];
  readonly onSignal: (signal: DBusSignal) => void;
  readonly onError: (error: unknown) => void;
  reported: boolean;
}

export class SystemBus implements BusClient, Disposable {
  readonly address: string;
  readonly #retryMs: number;
  readonly #callTimeoutMs: number;
  readonly #now: () => number;
  readonly #connectFn: (address: string) => Promise<DBusConnection>;
  readonly #subscribers = new Set<Subscriber>();
  #connection: DBusConnection | undefined;
  #connecting: Promise<DBusConnection | undefined> | undefined;
  #failedAt: number | undefined;
  #lastError: unknown;

  constructor(options: SystemBusOptions = {}) {
    this.address = options.address ?? systemBusAddress();
    this.#retryMs = options.retryMs ?? 60_000;
    this.#callTimeoutMs = options.callTimeoutMs ?? Math.min(1_000, DBUS_TIMEOUT_MS);
    this.#now = options.now ?? (() => performance.now());
    this.#connectFn = options.connect ?? ((address) => DBusConnection.connect(address));
  }

  readonly getProperty: PropertyReader = async (destination, path, iface, property) => {
    const connection = await this.#connect();
    if (!connection) return undefined;
    try {
      return await connection.getProperty(destination, path, iface, property, this.#callTimeoutMs);
    } catch {
      // ServiceUnknown / NameHasNoOwner (not installed or not running), UnknownProperty (an older
      // version), AccessDenied, a timeout: all mean the same to a sensor.
      return undefined;
    }
  };

  subscribe(
    rules: readonly string[],
    onSignal: (signal: DBusSignal) => void,
    onError: (error: unknown) => void,
  ): Disposable {
    const subscriber: Subscriber = { rules, onSignal, onError, reported: false };
    this.#subscribers.add(subscriber);
    if (this.#connection && !this.#connection.closed) void addMatches(this.#connection, rules);
    else {
      void this.#connect().then((connection) => {
        // Also when the connect failed earlier (a read hit it first) and the backoff is still on.
        if (!connection) this.#report(subscriber);
      });
    }
    return {
      dispose: () => {
        this.#subscribers.delete(subscriber);
        // Nobody listens any more: drop the connection (a later read opens a new one).
        if (this.#subscribers.size === 0) this.dispose();
      },
    };
  }

  /** Closes the connection; a later read reconnects. */
  dispose(): void {
    const connection = this.#connection;
    this.#connection = undefined;
    connection?.dispose();
  }

  #connect(): Promise<DBusConnection | undefined> {
    if (this.#connection && !this.#connection.closed) return Promise.resolve(this.#connection);
    if (this.#connecting) return this.#connecting;
    if (this.#failedAt !== undefined && this.#now() - this.#failedAt < this.#retryMs) return Promise.resolve(undefined);
    this.#connecting = this.#connectFn(this.address).then(
      (connection) => {
        this.#connecting = undefined;
        this.#failedAt = undefined;
        this.#connection = connection;
        this.#attach(connection);
        return connection;
      },
      (error: unknown) => {
        this.#connecting = undefined;
        this.#failedAt = this.#now();
        this.#lastError = error;
        for (const subscriber of this.#subscribers) this.#report(subscriber);
        return undefined;
      },
    );
    return this.#connecting;
  }

  /** Tells a subscriber, once, why there are no events. */
  #report(subscriber: Subscriber): void {
    if (subscriber.reported || this.#lastError === undefined || !this.#subscribers.has(subscriber)) return;
    subscriber.reported = true;
    const error = this.#lastError;
    safe(() => subscriber.onError(error));
  }

  #attach(connection: DBusConnection): void {
    connection.onSignal((signal) => {
      // The bus tells every client its own name; that is not an event anyone subscribed to.
      if (
        signal.sender === 'org.freedesktop.DBus' &&
        (signal.member === 'NameAcquired' || signal.member === 'NameLost')
      )
        return;
      for (const subscriber of [...this.#subscribers]) safe(() => subscriber.onSignal(signal));
    });
    connection.onClose(() => {
      if (this.#connection === connection) this.#connection = undefined;
    });
    for (const subscriber of this.#subscribers) void addMatches(connection, subscriber.rules);
  }
}

async function addMatches(connection: DBusConnection, rules: readonly string[]): Promise<void> {
  // A rule the bus refuses costs only its events; the poll still reads the values.
  await Promise.all(rules.map((rule) => connection.addMatch(rule).catch(() => undefined)));
}

function safe(fn: () => void): void {
  try {
    fn();
  } catch {
    // Subscribers are the sensors' own callbacks, which guard themselves; this keeps the bus loop alive.
  }
}

/** A match rule for `PropertiesChanged` from `sender` on `path` (or every path below `pathNamespace`). */
export function propertiesChangedRule(sender: string, where: { path: string } | { pathNamespace: string }): string {
  const location = 'path' in where ? `path='${where.path}'` : `path_namespace='${where.pathNamespace}'`;
  return (
    `type='signal',sender='${sender}',` +
    `interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',${location}`
  );
}

/** A match rule for a service appearing on or leaving the bus (started, stopped, crashed). */
export function nameOwnerChangedRule(name: string): string {
  return (
    `type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',` +
    `member='NameOwnerChanged',arg0='${name}'`
  );
}
