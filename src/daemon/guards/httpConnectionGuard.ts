import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { SchedulerLog } from '../scheduler/ports.js';

/** What HTTP clients may make the daemon hold; the defaults are in `DEFAULT_HTTP_LIMITS` (src/daemon/options.ts). */
export interface HttpLimits {
  /** HTTP connections at once, of every kind; one more is closed at once. */
  readonly maxConnections: number;
  /** Connections that have not yet made a request with a valid token; one more closes the oldest of them. */
  readonly maxUnauthenticated: number;
  /** A request's headers must arrive within this time, in ms. */
  readonly headersTimeoutMs: number;
  /** A whole request (headers and body: a push body too) must arrive within this time, in ms. */
  readonly requestTimeoutMs: number;
}

/** How often a refusal of each kind may be logged, with how many were not. */
const LOG_EVERY_MS = 10_000;

/**
 * Keeps HTTP clients from taking the daemon's file descriptors (20,000 half-open connections once made
 * the Unix socket refuse apps and the CLI). Connections are capped in total and, among those that have
 * not proven a token, the oldest is closed to make room; Node's own timers close a request whose
 * headers or body never finish (a push sender with a valid token that stops mid-body included).
 */
export class HttpConnectionGuard {
  readonly #limits: HttpLimits;
  readonly #log: SchedulerLog;
  readonly #open = new Set<Socket>();
  /** Connections with no authenticated request yet, oldest first. */
  readonly #unproven = new Set<Socket>();
  readonly #refusals = new Map<string, { at: number; count: number }>();

  constructor(limits: HttpLimits, log: SchedulerLog) {
    this.#limits = limits;
    this.#log = log;
  }

  /** Sets the server's timeouts and watches its connections. */
  attach(server: Server): void {
    server.headersTimeout = this.#limits.headersTimeoutMs;
    server.requestTimeout = this.#limits.requestTimeoutMs;
    server.on('connection', (socket: Socket) => this.#admit(socket));
  }

  /** The connection made a request with a valid token: it is no longer the first to go. */
  proven(socket: Socket): void {
    this.#unproven.delete(socket);
  }

  get openConnections(): number {
    return this.#open.size;
  }

  #admit(socket: Socket): void {
    if (this.#open.size >= this.#limits.maxConnections) {
      const { maxConnections } = this.#limits;
      this.#refused('total', `refused HTTP connections: ${maxConnections} are open (httpLimits.maxConnections)`);
      socket.destroy();
      return;
    }
    this.#open.add(socket);
    this.#unproven.add(socket);
    socket.once('close', () => {
      this.#open.delete(socket);
      this.#unproven.delete(socket);
    });
    if (this.#unproven.size > this.#limits.maxUnauthenticated) {
      const oldest = this.#unproven.values().next().value!;
      this.#unproven.delete(oldest);
      const { maxUnauthenticated } = this.#limits;
      const message =
        `closed HTTP connections to make room: more than ${maxUnauthenticated} had made no request ` +
        'with a token (httpLimits.maxUnauthenticated)';
      this.#refused('unauthenticated', message);
      oldest.destroy();
    }
  }

  /** Logged once per {@link LOG_EVERY_MS} per kind, with how many were not. */
  #refused(kind: string, message: string): void {
    const now = performance.now();
    const entry = this.#refusals.get(kind) ?? { at: -Infinity, count: 0 };
    entry.count++;
    this.#refusals.set(kind, entry);
    if (now - entry.at < LOG_EVERY_MS) return;
    this.#log.warn(message, { code: 'tooManyConnections', refused: entry.count });
    entry.at = now;
    entry.count = 0;
  }
}
