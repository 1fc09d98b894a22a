// Over 400 lines: the D-Bus client's auth, calls and signals over one socket.
/**
 * A small D-Bus client over a Unix socket: EXTERNAL authentication, `Hello`, method calls with replies,
 * and signals. It exists so the daemon can read logind, NetworkManager and power-profiles-daemon with
 * one open socket and no child process per poll: a property read is one round trip to the local bus.
 * It also talks to the session bus (desktop notifications), and can answer method calls and emit
 * signals, which is what the tests' fake services need.
 *
 * The socket is unref'd while no call is waiting for a reply, so an idle connection (kept for signals)
 * never keeps a process alive, but a read in flight does.
 */
import { statSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';

import type { Disposable } from '../engine/clock.js';
import { encodeMessage } from './dbusEncode.js';
import { decodeMessage, MessageFlags, messageLength, MessageType, type DBusMessage } from './dbusWire.js';

/** Where the system bus listens unless `DBUS_SYSTEM_BUS_ADDRESS` says otherwise (D-Bus Specification). */
export const DEFAULT_SYSTEM_BUS_ADDRESS = 'unix:path=/var/run/dbus/system_bus_socket';
/** How long a call (or the whole connect and handshake) may take before it fails. */
export const DBUS_TIMEOUT_MS = 2_000;

/** An error reply (`org.freedesktop.DBus.Error.ServiceUnknown`, …) or a failed connection. */
export class DBusError extends Error {
  override readonly name = 'DBusError';
  constructor(
    /** The D-Bus error name, or `'connection'` for a transport failure. */
    readonly type: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A signal as delivered. */
export interface DBusSignal {
  readonly sender?: string;
  readonly path?: string;
  readonly interface?: string;
  readonly member?: string;
  readonly body: readonly unknown[];
}

export interface DBusCall {
  readonly destination: string;
  readonly path: string;
  readonly interface: string;
  readonly member: string;
  readonly signature?: string;
  /** Basic values, arrays, `Map`s for dicts, arrays for structs, `variant()` for variants. */
  readonly body?: readonly unknown[];
  /**
   * Let the bus start (D-Bus-activate) the destination. Off by default: a system service that is not
   * running is absent, not something to start; notification servers are often started only this way.
   */
  readonly autoStart?: boolean;
}

/** A method call addressed to this connection (see {@link DBusConnection.handleMethodCalls}). */
export interface DBusMethodCall {
  readonly sender?: string;
  readonly path?: string;
  readonly interface?: string;
  readonly member?: string;
  readonly signature: string;
  readonly body: readonly unknown[];
}

/** A method's reply, or undefined for "no such method" (answered with `UnknownMethod`). */
export type DBusMethodHandler = (call: DBusMethodCall) => DBusReply | undefined | Promise<DBusReply | undefined>;
export interface DBusReply {
  readonly signature?: string;
  readonly body?: readonly unknown[];
}

/** A signal to emit; without `destination` it is broadcast to every connection whose match rules take it. */
export interface DBusOutgoingSignal {
  readonly path: string;
  readonly interface: string;
  readonly member: string;
  readonly signature?: string;
  readonly body?: readonly unknown[];
  readonly destination?: string;
}

/**
 * The socket path of the first `unix:` address in a D-Bus address list, or null when there is none
 * we can use (`tcp:`, `launchd:`). `abstract=` names get Node's leading-NUL form. Values are
 * %-escaped per the spec.
 */
export function parseBusAddress(address: string): string | null {
  for (const entry of address.split(';')) {
    const colon = entry.indexOf(':');
    if (colon === -1 || entry.slice(0, colon) !== 'unix') continue;
    const params = new Map<string, string>();
    for (const pair of entry.slice(colon + 1).split(',')) {
      const eq = pair.indexOf('=');
      if (eq > 0) params.set(pair.slice(0, eq), safeDecode(pair.slice(eq + 1)));
    }
    const path = params.get('path');
    if (path) return path;
    const abstract = params.get('abstract');
    if (abstract) return `\0${abstract}`;
  }
  return null;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** The system bus address from the environment, else the spec's default. */
export function systemBusAddress(env: NodeJS.ProcessEnv = process.env): string {
  return env.DBUS_SYSTEM_BUS_ADDRESS || DEFAULT_SYSTEM_BUS_ADDRESS;
}

/**
 * The session bus address: `DBUS_SESSION_BUS_ADDRESS` when it holds a `unix:` address, else
 * systemd's per-user bus at `$XDG_RUNTIME_DIR/bus` when that socket exists (a daemon started by a
 * user service or a login shell may not have the variable). Null when there is no session bus to use.
 */
export function sessionBusAddress(env: NodeJS.ProcessEnv = process.env): string | null {
  const fromEnv = env.DBUS_SESSION_BUS_ADDRESS;
  if (fromEnv && parseBusAddress(fromEnv) !== null) return fromEnv;
  const runtimeDir = env.XDG_RUNTIME_DIR;
  if (!runtimeDir) return null;
  const path = join(runtimeDir, 'bus');
  try {
    return statSync(path).isSocket() ? `unix:path=${path}` : null;
  } catch {
    return null;
  }
}

interface Pending {
  readonly resolve: (body: readonly unknown[]) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class DBusConnection implements Disposable {
  readonly #socket: Socket;
  readonly #pending = new Map<number, Pending>();
  readonly #signalListeners = new Set<(signal: DBusSignal) => void>();
  readonly #closeListeners = new Set<() => void>();
  #methodHandler: DBusMethodHandler | undefined;
  #serial = 0;
  #received: Buffer = Buffer.alloc(0);
  #closed = false;

  private constructor(socket: Socket, initial: Buffer) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => this.dispose());
    socket.on('close', () => this.dispose());
    this.#updateRef();
    if (initial.length > 0) this.#onData(initial);
  }

  /**
   * Connects, authenticates as this process's uid and says `Hello`. Rejects with a {@link DBusError}
   * of type `'connection'` when the socket is missing (no bus: containers, non-systemd machines),
   * refused, or the handshake fails or times out.
   */
  static connect(address: string, timeoutMs = DBUS_TIMEOUT_MS): Promise<DBusConnection> {
    const path = parseBusAddress(address);
    if (path === null)
      return Promise.reject(new DBusError('connection', `No usable unix: address in ${JSON.stringify(address)}`));
    return new Promise<DBusConnection>((resolve, reject) => {
      const socket = createConnection({ path });
      let buffered = Buffer.alloc(0);
      const fail = (error: unknown) => {
        clearTimeout(timer);
        socket.destroy();
        const reason = error instanceof Error ? error.message : String(error);
        reject(new DBusError('connection', `Cannot connect to the D-Bus at ${address}: ${reason}`, { cause: error }));
      };
      const timer = setTimeout(() => fail(new Error('handshake timed out')), timeoutMs);
      timer.unref();
      socket.once('error', fail);
      socket.once('close', () => fail(new Error('connection closed during the handshake')));
      socket.on('connect', () => {
        const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
        // The spec's leading NUL byte, then EXTERNAL with the uid as hex-encoded ASCII digits.
        socket.write(`\0AUTH EXTERNAL ${Buffer.from(String(uid), 'ascii').toString('hex')}\r\n`);
      });
      const onAuthData = (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        const end = buffered.indexOf('\r\n');
        if (end === -1) {
          if (buffered.length > 4096) fail(new Error('no reply line to AUTH'));
          return;
        }
        const line = buffered.subarray(0, end).toString('ascii');
        if (!line.startsWith('OK ')) {
          fail(new Error(`authentication refused (${line})`));
          return;
        }
        socket.off('data', onAuthData);
        socket.removeAllListeners('error');
        socket.removeAllListeners('close');
        socket.write('BEGIN\r\n');
        const connection = new DBusConnection(socket, buffered.subarray(end + 2));
        connection
          .call(
            {
              destination: 'org.freedesktop.DBus',
              path: '/org/freedesktop/DBus',
              interface: 'org.freedesktop.DBus',
              member: 'Hello',
            },
            timeoutMs,
          )
          .then(() => {
            clearTimeout(timer);
            resolve(connection);
          })
          .catch((error: unknown) => {
            connection.dispose();
            fail(error);
          });
      };
      socket.on('data', onAuthData);
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Calls a method and resolves the reply's body. Rejects with a {@link DBusError} for an error reply
   * (its `type` is the D-Bus error name), a timeout, or a closed connection. Calls D-Bus-activate a
   * service that is not running only when they ask to ({@link DBusCall.autoStart}).
   */
  call(call: DBusCall, timeoutMs = DBUS_TIMEOUT_MS): Promise<readonly unknown[]> {
    if (this.#closed) return Promise.reject(new DBusError('connection', 'The D-Bus connection is closed'));
    const serial = this.#nextSerial();
    const { autoStart, ...fields } = call;
    let bytes: Buffer;
    try {
      // Encoded before anything waits for a reply, so a body that does not match its signature fails alone.
      bytes = encodeMessage({
        type: MessageType.methodCall,
        flags: autoStart ? 0 : MessageFlags.noAutoStart,
        serial,
        ...fields,
      });
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(serial);
        this.#updateRef();
        reject(
          new DBusError(
            'org.freedesktop.DBus.Error.Timeout',
            `${call.interface}.${call.member} on ${call.destination} timed out`,
          ),
        );
      }, timeoutMs);
      this.#pending.set(serial, { resolve, reject, timer });
      this.#updateRef();
      this.#socket.write(bytes);
    });
  }

  /**
   * Answers method calls addressed to this connection with `handler` (one handler; a later call
   * replaces it). A handler that throws a {@link DBusError} sends that error name; any other throw
   * sends `org.freedesktop.DBus.Error.Failed`.
   */
  handleMethodCalls(handler: DBusMethodHandler): Disposable {
    this.#methodHandler = handler;
    return {
      dispose: () => {
        if (this.#methodHandler === handler) this.#methodHandler = undefined;
      },
    };
  }

  /** Emits a signal; false when the connection is closed. Throws when the body does not match its signature. */
  emitSignal(signal: DBusOutgoingSignal): boolean {
    if (this.#closed) return false;
    this.#socket.write(
      encodeMessage({
        type: MessageType.signal,
        flags: MessageFlags.noReplyExpected,
        serial: this.#nextSerial(),
        ...signal,
      }),
    );
    return true;
  }

  /** `org.freedesktop.DBus.Properties.Get`, resolving the property's value. */
  async getProperty(
    destination: string,
    path: string,
    iface: string,
    name: string,
    timeoutMs?: number,
  ): Promise<unknown> {
    const [value] = await this.call(
      {
        destination,
        path,
        interface: 'org.freedesktop.DBus.Properties',
        member: 'Get',
        signature: 'ss',
        body: [iface, name],
      },
      timeoutMs,
    );
    return value;
  }

  /** Asks the bus to route signals matching `rule` (a D-Bus match rule) to this connection. */
  async addMatch(rule: string): Promise<void> {
    await this.call({
      destination: 'org.freedesktop.DBus',
      path: '/org/freedesktop/DBus',
      interface: 'org.freedesktop.DBus',
      member: 'AddMatch',
      signature: 's',
      body: [rule],
    });
  }

  onSignal(listener: (signal: DBusSignal) => void): Disposable {
    this.#signalListeners.add(listener);
    return { dispose: () => void this.#signalListeners.delete(listener) };
  }

  /** Called once when the connection closes for any reason (the bus restarted, {@link dispose}). */
  onClose(listener: () => void): Disposable {
    this.#closeListeners.add(listener);
    return { dispose: () => void this.#closeListeners.delete(listener) };
  }

  dispose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
    for (const [serial, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(new DBusError('connection', 'The D-Bus connection closed'));
      this.#pending.delete(serial);
    }
    for (const listener of [...this.#closeListeners]) {
      try {
        listener();
      } catch {
        // A close listener's bug must not stop the others.
      }
    }
    this.#closeListeners.clear();
    this.#signalListeners.clear();
  }

  #nextSerial(): number {
    this.#serial = this.#serial >= 0xffff_fffe ? 1 : this.#serial + 1;
    return this.#serial;
  }

  /** Keeps the process alive only while a reply is awaited. */
  #updateRef(): void {
    if (this.#closed) return;
    if (this.#pending.size > 0) this.#socket.ref();
    else this.#socket.unref();
  }

  #onData(chunk: Buffer): void {
    this.#received = this.#received.length === 0 ? chunk : Buffer.concat([this.#received, chunk]);
    try {
      for (;;) {
        const length = messageLength(this.#received);
        if (length === undefined || this.#received.length < length) return;
        const bytes = this.#received.subarray(0, length);
        this.#received = this.#received.subarray(length);
        let message: DBusMessage;
        try {
          message = decodeMessage(bytes);
        } catch {
          continue; // One undecodable message is skipped; its length was sound, so the stream is still in step.
        }
        this.#dispatch(message);
      }
    } catch {
      // The framing itself is broken: nothing after this point can be trusted.
      this.dispose();
    }
  }

  #dispatch(message: DBusMessage): void {
    if (message.type === MessageType.methodReturn || message.type === MessageType.error) {
      const pending = message.replySerial === undefined ? undefined : this.#pending.get(message.replySerial);
      if (!pending) return;
      this.#pending.delete(message.replySerial!);
      clearTimeout(pending.timer);
      this.#updateRef();
      if (message.type === MessageType.methodReturn) pending.resolve(message.body);
      else {
        const text = typeof message.body[0] === 'string' ? message.body[0] : (message.errorName ?? 'D-Bus error');
        pending.reject(new DBusError(message.errorName ?? 'org.freedesktop.DBus.Error.Failed', text));
      }
    } else if (message.type === MessageType.signal) {
      for (const listener of [...this.#signalListeners]) {
        try {
          listener(message);
        } catch {
          // Listeners are ours and catch their own errors; this only keeps the read loop alive.
        }
      }
    } else if (message.type === MessageType.methodCall) {
      void this.#answer(message);
    }
  }

  async #answer(call: DBusMessage): Promise<void> {
    const common = { flags: MessageFlags.noReplyExpected, replySerial: call.serial, destination: call.sender };
    let reply: Buffer;
    try {
      // "No such method" is answered too: it keeps a peer that pings us from waiting for its timeout.
      const result = this.#methodHandler ? await this.#methodHandler(call) : undefined;
      if (!result)
        throw new DBusError(
          'org.freedesktop.DBus.Error.UnknownMethod',
          this.#methodHandler ? `No method ${call.member ?? ''} here` : 'This connection exports no objects',
        );
      reply = encodeMessage({ type: MessageType.methodReturn, ...common, serial: this.#nextSerial(), ...result });
    } catch (thrown) {
      const error =
        thrown instanceof DBusError
          ? thrown
          : new DBusError(
              'org.freedesktop.DBus.Error.Failed',
              thrown instanceof Error ? thrown.message : String(thrown),
            );
      reply = encodeMessage({
        type: MessageType.error,
        ...common,
        serial: this.#nextSerial(),
        errorName: error.type,
        signature: 's',
        body: [error.message],
      });
    }
    if ((call.flags & MessageFlags.noReplyExpected) === 0 && call.sender !== undefined && !this.#closed)
      this.#socket.write(reply);
  }
}
