import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { z } from 'zod';
import {
  PROTOCOL_VERSION,
  controlHelloSchema,
  controlSchema,
  describeIssue,
  type DaemonMessage,
  type WireError,
} from '../protocol/messages.js';
import { FrameDecoder, encodeFrame } from '../protocol/framing.js';
import { MAX_SOCKET_PATH_BYTES } from '../shared/paths.js';
import { AppSession, toWireError } from './appSession.js';
import type { ControlCommands } from './control.js';
import type { SessionServices } from './appSession.js';
import type { SchedulerLog as Logger } from './scheduler/ports.js';

export interface IpcServerOptions {
  readonly socketPath: string;
  readonly maxFrameBytes: number;
  /** A client that has not said hello within this time is disconnected, in ms. */
  readonly helloTimeoutMs: number;
  readonly daemonVersion: string;
}

/**
 * The daemon's socket. It lives in a directory only its user can enter (0700) and is itself 0600, so
 * anyone who can connect is the user: control clients (`bgtasks`) need nothing more. Apps also prove
 * which app they are with their credential. Every frame is checked against the protocol's schemas; a
 * bad frame closes that connection with an error frame, never the daemon.
 */
export class IpcServer implements AsyncDisposable {
  readonly #server: Server;
  readonly #options: IpcServerOptions;
  readonly #sockets = new Set<Socket>();

  private constructor(server: Server, options: IpcServerOptions) {
    this.#server = server;
    this.#options = options;
  }

  static async listen(options: IpcServerOptions, services: SessionServices, control: ControlCommands, log: Logger): Promise<IpcServer> {
    if (Buffer.byteLength(options.socketPath) > MAX_SOCKET_PATH_BYTES) {
      throw new Error(`the socket path ${options.socketPath} is longer than ${MAX_SOCKET_PATH_BYTES} bytes: choose a shorter BGTASKS_HOME`);
    }
    const runDir = options.socketPath.slice(0, options.socketPath.lastIndexOf('/'));
    mkdirSync(runDir, { recursive: true, mode: 0o700 });
    chmodSync(runDir, 0o700);
    if (await isAlive(options.socketPath)) {
      throw Object.assign(new Error(`a bgtasks daemon is already running on ${options.socketPath}`), { code: 'daemonRunning' });
    }
    rmSync(options.socketPath, { force: true }); // a stale socket from a daemon that crashed
    let nextInstanceId = 1;
    const server = createServer((socket) => {
      ipc.#sockets.add(socket);
      socket.once('close', () => ipc.#sockets.delete(socket));
      new Connection(socket, options, services, control, log, nextInstanceId++);
    });
    const ipc = new IpcServer(server, options);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(options.socketPath, 0o600);
    return ipc;
  }

  get socketPath(): string {
    return this.#options.socketPath;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
    rmSync(this.#options.socketPath, { force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function isAlive(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/** One client connection: first a hello, then app or control frames. */
class Connection {
  readonly #socket: Socket;
  readonly #options: IpcServerOptions;
  readonly #services: SessionServices;
  readonly #control: ControlCommands;
  readonly #log: Logger;
  readonly #instanceId: number;
  readonly #decoder: FrameDecoder;
  #role: 'new' | 'app' | 'control' | 'closed' = 'new';
  #session: AppSession | null = null;
  #unsubscribe: (() => void) | null = null;
  readonly #helloTimer: NodeJS.Timeout;

  constructor(socket: Socket, options: IpcServerOptions, services: SessionServices, control: ControlCommands, log: Logger, instanceId: number) {
    this.#socket = socket;
    this.#options = options;
    this.#services = services;
    this.#control = control;
    this.#log = log;
    this.#instanceId = instanceId;
    this.#decoder = new FrameDecoder(options.maxFrameBytes);
    this.#helloTimer = setTimeout(() => this.#fail({ code: 'protocolError', message: `no hello within ${options.helloTimeoutMs} ms` }), options.helloTimeoutMs);
    this.#helloTimer.unref();
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => undefined); // 'close' follows
    socket.once('close', () => this.#onClose());
  }

  send(message: DaemonMessage): void {
    if (this.#role === 'closed' || this.#socket.destroyed) return;
    this.#socket.write(encodeFrame(message));
  }

  #onData(chunk: Buffer): void {
    let lines: string[];
    try {
      lines = this.#decoder.push(chunk);
    } catch (error) {
      this.#fail({ code: 'frameTooLarge', message: (error as Error).message });
      return;
    }
    for (const line of lines) {
      if (this.#role === 'closed') return;
      if (line.trim() === '') continue;
      let frame: unknown;
      try {
        frame = JSON.parse(line);
      } catch {
        this.#fail({ code: 'protocolError', message: 'a frame is not valid JSON' });
        return;
      }
      this.#onFrame(frame);
    }
  }

  #onFrame(frame: unknown): void {
    if (this.#role === 'new') this.#onHello(frame);
    else if (this.#role === 'app') this.#session?.frame(frame);
    else if (this.#role === 'control') this.#onControlFrame(frame);
  }

  #onHello(frame: unknown): void {
    const role = (frame as { role?: unknown } | null)?.role;
    const version = (frame as { v?: unknown } | null)?.v;
    if ((frame as { t?: unknown } | null)?.t !== 'hello') return this.#fail({ code: 'protocolError', message: 'the first frame must be a hello', field: 't' });
    if (version !== PROTOCOL_VERSION) {
      return this.#fail({ code: 'unsupportedProtocolVersion', message: `this daemon speaks protocol version ${PROTOCOL_VERSION}, not ${String(version)}`, field: 'v' });
    }
    clearTimeout(this.#helloTimer);
    if (role === 'control') {
      if (!this.#parse(controlHelloSchema, frame)) return;
      this.#role = 'control';
      this.send({ t: 'welcome', v: PROTOCOL_VERSION, daemonVersion: this.#options.daemonVersion, launchReason: 'user', accepted: [], rejected: [], supportedResources: [], cancelledWhileAway: [] });
      return;
    }
    const session = new AppSession(this.#services, { send: (message) => this.send(message), fail: (error) => this.#fail(error), end: () => this.end() }, this.#log, this.#options.daemonVersion, this.#instanceId);
    if (session.hello(frame)) {
      this.#session = session;
      this.#role = 'app';
    }
  }

  #onControlFrame(frame: unknown): void {
    const message = this.#parse(controlSchema, frame);
    if (!message) return;
    if (message.command === 'watch') {
      this.#unsubscribe ??= this.#control.watch((event) => this.send({ t: 'event', event }));
      this.send({ t: 'reply', id: message.id, ok: true, data: { watching: true } });
      return;
    }
    this.#control.run(message.command, message.args).then(
      (data) => this.send({ t: 'reply', id: message.id, ok: true, data }),
      (error: unknown) => this.send({ t: 'reply', id: message.id, ok: false, error: toWireError(error) }),
    );
  }

  #parse<T extends z.ZodType>(schema: T, frame: unknown): z.infer<T> | undefined {
    const parsed = schema.safeParse(frame);
    if (parsed.success) return parsed.data;
    const { field, message } = describeIssue(parsed.error);
    this.#fail({ code: 'protocolError', message: `invalid frame: ${message}`, field });
    return undefined;
  }

  /** Sends an error frame and closes this connection (only this one). */
  #fail(error: WireError): void {
    if (this.#role === 'closed') return;
    this.#log.warn(`closing a connection: ${error.message}`, { code: error.code, field: error.field, appId: this.#session?.instance?.appId });
    this.send({ t: 'error', error });
    this.#role = 'closed';
    this.#socket.end();
    this.#socket.destroySoon();
  }

  #onClose(): void {
    clearTimeout(this.#helloTimer);
    this.#role = 'closed';
    this.#unsubscribe?.();
    this.#session?.closed();
  }

  /** Used by the app instance to end the connection after a terminate frame. */
  end(): void {
    this.#socket.end();
  }
}
