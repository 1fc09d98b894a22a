// Over 400 lines: the socket server's limits and per-connection guards, one flow over one state.
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { z } from 'zod';
import {
  PROTOCOL_VERSION,
  controlHelloSchema,
  controlSchema,
  describeIssue,
  describeVersion,
  type DaemonMessage,
  type WireError,
} from '../protocol/messages.js';
import { FrameDecoder, encodeFrame } from '../protocol/framing.js';
import { MAX_SOCKET_PATH_BYTES } from '../shared/paths.js';
import { AppSession, toWireError } from './appSession.js';
import { FrameBudget } from './frameBudget.js';
import type { MisbehaviourReason } from './misbehaviour.js';
import type { ControlCommands } from './control.js';
import type { SessionServices } from './appSession.js';
import type { SchedulerLog as Logger } from './scheduler/ports.js';

export interface IpcServerOptions {
  readonly socketPath: string;
  readonly maxFrameBytes: number;
  /** A client that has not said hello within this time is disconnected, in ms. */
  readonly helloTimeoutMs: number;
  readonly daemonVersion: string;
  readonly limits: ConnectionLimits;
  /** Told when an authenticated app breaks the protocol or the limits (see MisbehaviourRecorder). */
  readonly misbehaviour?: { record(appId: string, reason: MisbehaviourReason, detail?: Record<string, unknown>): void };
}

/** What one client may make the daemon hold or do; the defaults are in `compileDaemonOptions`. */
export interface ConnectionLimits {
  /** Connections at once, of every kind; one more is refused with `tooManyConnections`. */
  readonly maxConnections: number;
  /**
   * Connections that have not said hello yet; one more closes the OLDEST of them, so a client that says hello at once
   * always gets in.
   */
  readonly maxUnauthenticated: number;
  /** Connections of one (authenticated) app at once; one more is refused and counts as misbehaviour. */
  readonly maxConnectionsPerApp: number;
  /**
   * Control connections (`bgtasks`, the dashboard's watchers) at once. One more closes the control
   * connection idle the longest, so a flood of them never takes the apps' slots and a fresh command
   * still gets in.
   */
  readonly maxControlConnections: number;
  /**
   * Frames one connection may send per second (bursts of a second's worth); over it, the daemon stops reading it for a
   * while.
   */
  readonly maxFramesPerSecond: number;
  /**
   * Requests (frames with an `id`) one connection may have unanswered; at the limit, the daemon reads no more from it
   * until half are answered.
   */
  readonly maxRequestsInFlight: number;
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
  /** Connections that have not said hello, oldest first (a Set keeps insertion order). */
  readonly #unauthenticated = new Set<Connection>();
  readonly #appConnections = new Map<string, number>();
  /** Control connections, the one active least recently first (moved to the end on each request). */
  readonly #control = new Set<Connection>();
  /** Per kind of refusal: when it was last logged, and how many were not since. */
  readonly #refusalLog = new Map<string, { at: number; suppressed: number }>();

  private constructor(server: Server, options: IpcServerOptions) {
    this.#server = server;
    this.#options = options;
  }

  static async listen(
    options: IpcServerOptions,
    services: SessionServices,
    control: ControlCommands,
    log: Logger,
  ): Promise<IpcServer> {
    if (Buffer.byteLength(options.socketPath) > MAX_SOCKET_PATH_BYTES) {
      throw new Error(
        `the socket path ${options.socketPath} is longer than ` +
          `${MAX_SOCKET_PATH_BYTES} bytes: choose a shorter BGTASKS_HOME`,
      );
    }
    const runDir = options.socketPath.slice(0, options.socketPath.lastIndexOf('/'));
    mkdirSync(runDir, { recursive: true, mode: 0o700 });
    chmodSync(runDir, 0o700);
    if (await isAlive(options.socketPath)) {
      throw Object.assign(new Error(`a bgtasks daemon is already running on ${options.socketPath}`), {
        code: 'daemonRunning',
      });
    }
    rmSync(options.socketPath, { force: true }); // a stale socket from a daemon that crashed
    let nextInstanceId = 1;
    const server = createServer((socket) => {
      if (ipc.#sockets.size >= options.limits.maxConnections) {
        const { log: shouldLog, suppressed } = ipc.shouldLog('tooManyConnections');
        if (shouldLog)
          log.warn(`refused a connection: ${options.limits.maxConnections} are open ` + `(maxConnections)`, {
            code: 'tooManyConnections',
            ...(suppressed > 0 ? { alsoRefusedSinceLastLine: suppressed } : {}),
          });
        socket.end(
          encodeFrame({
            t: 'error',
            error: {
              code: 'tooManyConnections',
              message: `the daemon has ${options.limits.maxConnections} connections open`,
            },
          }),
        );
        socket.destroySoon();
        return;
      }
      ipc.#sockets.add(socket);
      socket.once('close', () => ipc.#sockets.delete(socket));
      const connection = new Connection(socket, options, services, control, log, nextInstanceId++, ipc);
      ipc.#unauthenticated.add(connection);
      if (ipc.#unauthenticated.size > options.limits.maxUnauthenticated) {
        const oldest = ipc.#unauthenticated.values().next().value!;
        ipc.#unauthenticated.delete(oldest); // now, not at its 'close': the next newcomer evicts the next one
        oldest.refuse({
          code: 'tooManyConnections',
          message:
            `closed to make room: more than ${options.limits.maxUnauthenticated} ` + `connections had not said hello`,
        });
      }
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

  /**
   * Whether to log the closing of a connection with this code: a client opening connections in a loop
   * must not flood the log, so `tooManyConnections` is logged once per 10 s for each `kind` of refusal
   * (its code, or `controlFlood`), with how many were not.
   */
  shouldLog(code: string, kind: string = code): { log: boolean; suppressed: number } {
    if (code !== 'tooManyConnections') return { log: true, suppressed: 0 };
    const now = performance.now();
    const last = this.#refusalLog.get(kind) ?? { at: -Infinity, suppressed: 0 };
    if (now - last.at < 10_000) {
      last.suppressed++;
      return { log: false, suppressed: 0 };
    }
    this.#refusalLog.set(kind, { at: now, suppressed: 0 });
    return { log: true, suppressed: last.suppressed };
  }

  /** A connection said hello (or closed before it did). */
  identified(connection: Connection): void {
    this.#unauthenticated.delete(connection);
  }

  /**
   * Counts a control connection in. At `maxControlConnections`, the one idle the longest (no request
   * in flight) is closed to make room; when every one is busy, the newcomer is refused.
   */
  admitControl(connection: Connection, log: Logger): boolean {
    const max = this.#options.limits.maxControlConnections;
    if (this.#control.size >= max) {
      const idle = [...this.#control].find((candidate) => candidate.requestsInFlight === 0);
      const { log: shouldLog, suppressed } = this.shouldLog('tooManyConnections', 'controlFlood');
      if (shouldLog) {
        const doing = idle ? 'closing the one idle the longest' : 'refusing a new one';
        log.warn(
          `control connections at their limit (${max}, maxControlConnections): ` +
            `${doing}; a client opening connections in a loop?`,
          {
            code: 'tooManyConnections',
            role: 'control',
            ...(suppressed > 0 ? { alsoRefusedSinceLastLine: suppressed } : {}),
          },
        );
      }
      if (!idle) return false;
      this.#control.delete(idle);
      idle.refuse({
        code: 'tooManyConnections',
        message: `closed to make room: more than ${max} control connections were open`,
      });
    }
    this.#control.add(connection);
    return true;
  }

  /** A control connection asked something: it is the most recently active now. */
  touchControl(connection: Connection): void {
    if (!this.#control.delete(connection)) return;
    this.#control.add(connection);
  }

  releaseControl(connection: Connection): void {
    this.#control.delete(connection);
  }

  /** Counts an app's connection in; returns false when the app is at `maxConnectionsPerApp`. */
  admitApp(appId: string): boolean {
    const count = this.#appConnections.get(appId) ?? 0;
    if (count >= this.#options.limits.maxConnectionsPerApp) return false;
    this.#appConnections.set(appId, count + 1);
    return true;
  }

  releaseApp(appId: string): void {
    const count = (this.#appConnections.get(appId) ?? 1) - 1;
    if (count <= 0) this.#appConnections.delete(appId);
    else this.#appConnections.set(appId, count);
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
  readonly #server: IpcServer;
  readonly #budget: FrameBudget;
  /** The app this connection was admitted for (counted in IpcServer's per-app limit). */
  #admittedApp: string | null = null;
  #requestsInFlight = 0;
  #paused: { flood: boolean; inFlight: boolean } = { flood: false, inFlight: false };

  constructor(
    socket: Socket,
    options: IpcServerOptions,
    services: SessionServices,
    control: ControlCommands,
    log: Logger,
    instanceId: number,
    server: IpcServer,
  ) {
    this.#socket = socket;
    this.#server = server;
    this.#budget = new FrameBudget(options.limits.maxFramesPerSecond, () => performance.now());
    this.#options = options;
    this.#services = services;
    this.#control = control;
    this.#log = log;
    this.#instanceId = instanceId;
    this.#decoder = new FrameDecoder(options.maxFrameBytes);
    this.#helloTimer = setTimeout(
      () => this.#fail({ code: 'protocolError', message: `no hello within ${options.helloTimeoutMs} ms` }),
      options.helloTimeoutMs,
    );
    this.#helloTimer.unref();
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => undefined); // 'close' follows
    socket.once('close', () => this.#onClose());
  }

  send(message: DaemonMessage): void {
    if (this.#role === 'closed' || this.#socket.destroyed) return;
    this.#socket.write(encodeFrame(message));
    if (message.t === 'reply' && this.#requestsInFlight > 0) {
      this.#requestsInFlight--;
      if (this.#paused.inFlight && this.#requestsInFlight <= this.#options.limits.maxRequestsInFlight / 2)
        this.#setPaused('inFlight', false);
    }
  }

  get requestsInFlight(): number {
    return this.#requestsInFlight;
  }

  /** Closed by the server to make room (see ConnectionLimits.maxUnauthenticated). */
  refuse(error: WireError): void {
    this.#fail(error);
  }

  #setPaused(why: 'flood' | 'inFlight', paused: boolean): void {
    this.#paused[why] = paused;
    if (this.#paused.flood || this.#paused.inFlight) this.#socket.pause();
    else if (this.#role !== 'closed') this.#socket.resume();
  }

  /** Over its frame budget: stop reading this client for a while (its writes wait in the kernel's buffers). */
  #throttle(waitMs: number): void {
    if (this.#paused.flood) return;
    this.#pauseFor(waitMs);
    const appId = this.#session?.instance?.appId;
    if (appId)
      this.#options.misbehaviour?.record(appId, 'socketFlood', {
        maxFramesPerSecond: this.#options.limits.maxFramesPerSecond,
      });
    else
      this.#log.warn(
        `a client sends more than ${this.#options.limits.maxFramesPerSecond} frames ` +
          `per second; not reading it for ${waitMs} ms`,
        { code: 'socketFlood' },
      );
  }

  /** Stops reading this client for `ms` (its writes wait in the kernel's buffers). */
  #pauseFor(ms: number): void {
    if (this.#paused.flood) return;
    this.#setPaused('flood', true);
    setTimeout(() => this.#setPaused('flood', false), ms);
  }

  #onData(chunk: Buffer): void {
    let lines: string[];
    try {
      lines = this.#decoder.push(chunk);
    } catch (error) {
      this.#fail({ code: 'frameTooLarge', message: (error as Error).message });
      return;
    }
    const waitMs = this.#budget.take(lines.length);
    if (waitMs > 0) this.#throttle(waitMs);
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
      try {
        this.#onFrame(frame);
      } catch (error) {
        // Last resort: a frame the checks above let through to code that throws costs this connection, not the daemon.
        this.#log.error('a frame could not be handled', {
          error: error instanceof Error ? error.message : String(error),
        });
        this.#fail({ code: 'internalError', message: 'the daemon could not handle this frame; see its log' });
        return;
      }
    }
  }

  #onFrame(frame: unknown): void {
    if (this.#role !== 'new' && typeof (frame as { id?: unknown } | null)?.id === 'number') {
      // Answered by a reply (or the connection closes): a client that asks faster than we answer waits.
      if (++this.#requestsInFlight >= this.#options.limits.maxRequestsInFlight) this.#setPaused('inFlight', true);
    }
    if (this.#role === 'new') this.#onHello(frame);
    else if (this.#role === 'app') this.#session?.frame(frame);
    else if (this.#role === 'control') this.#onControlFrame(frame);
  }

  #onHello(frame: unknown): void {
    const role = (frame as { role?: unknown } | null)?.role;
    const version = (frame as { v?: unknown } | null)?.v;
    if ((frame as { t?: unknown } | null)?.t !== 'hello')
      return this.#fail({ code: 'protocolError', message: 'the first frame must be a hello', field: 't' });
    if (version !== PROTOCOL_VERSION) {
      return this.#fail({
        code: 'unsupportedProtocolVersion',
        message: `this daemon speaks protocol version ${PROTOCOL_VERSION}, not ` + `${describeVersion(version)}`,
        field: 'v',
      });
    }
    clearTimeout(this.#helloTimer);
    this.#server.identified(this);
    if (role === 'control') {
      if (!this.#parse(controlHelloSchema, frame)) return;
      if (!this.#server.admitControl(this, this.#log)) {
        return this.#fail({
          code: 'tooManyConnections',
          message:
            `${this.#options.limits.maxControlConnections} control connections are busy ` + `(maxControlConnections)`,
        });
      }
      this.#role = 'control';
      this.send({
        t: 'welcome',
        v: PROTOCOL_VERSION,
        daemonVersion: this.#options.daemonVersion,
        launchReason: 'user',
        accepted: [],
        rejected: [],
        supportedResources: [],
        cancelledWhileAway: [],
      });
      return;
    }
    const admit = (appId: string): WireError | null => {
      if (this.#server.admitApp(appId)) {
        this.#admittedApp = appId;
        return null;
      }
      this.#options.misbehaviour?.record(appId, 'tooManyConnections', {
        maxConnectionsPerApp: this.#options.limits.maxConnectionsPerApp,
      });
      return {
        code: 'tooManyConnections',
        message:
          `${appId} already has ${this.#options.limits.maxConnectionsPerApp} ` +
          `connections open (maxConnectionsPerApp)`,
        field: 'appId',
      };
    };
    const transport = {
      send: (message: DaemonMessage) => this.send(message),
      fail: (error: WireError) => this.#fail(error),
      end: () => this.end(),
      pause: (ms: number) => this.#pauseFor(ms),
      misbehaved: (reason: MisbehaviourReason, detail: Record<string, unknown>) => {
        if (this.#admittedApp) this.#options.misbehaviour?.record(this.#admittedApp, reason, detail);
      },
    };
    const session = new AppSession(
      this.#services,
      transport,
      this.#log,
      this.#options.daemonVersion,
      this.#instanceId,
      admit,
    );
    if (session.hello(frame)) {
      this.#session = session;
      this.#role = 'app';
    }
  }

  #onControlFrame(frame: unknown): void {
    const message = this.#parse(controlSchema, frame);
    if (!message) return;
    this.#server.touchControl(this);
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
    const appId = this.#session?.instance?.appId;
    const { log, suppressed } = this.#server.shouldLog(error.code);
    if (log)
      this.#log.warn(`closing a connection: ${error.message}`, {
        code: error.code,
        field: error.field,
        appId,
        ...(suppressed > 0 ? { alsoRefusedSinceLastLine: suppressed } : {}),
      });
    if (appId && (error.code === 'protocolError' || error.code === 'frameTooLarge'))
      this.#options.misbehaviour?.record(appId, error.code, { field: error.field ?? null });
    this.send({ t: 'error', error });
    this.#role = 'closed';
    this.#socket.end();
    this.#socket.destroySoon();
  }

  #onClose(): void {
    clearTimeout(this.#helloTimer);
    this.#server.identified(this);
    if (this.#admittedApp) this.#server.releaseApp(this.#admittedApp);
    this.#server.releaseControl(this);
    this.#admittedApp = null;
    this.#role = 'closed';
    this.#unsubscribe?.();
    this.#session?.closed();
  }

  /** Used by the app instance to end the connection after a terminate frame. */
  end(): void {
    this.#socket.end();
  }
}
