import type { ServerResponse } from 'node:http';
import { BASE_HEADERS } from './respond.js';

/** Where the stream's pictures come from. */
export interface SnapshotFeed {
  /** A fresh picture of the system (`buildSnapshot`). */
  snapshot(): Promise<{ readonly running: readonly unknown[]; readonly fleet?: unknown }>;
  /** Calls `listener` when something may have changed; returns an unsubscribe function. */
  onChange(listener: () => void): () => void;
}

export interface SnapshotStreamOptions {
  /** At most one picture per this many ms, however many changes the daemon commits. */
  readonly minIntervalMs: number;
  /** While a task runs, a picture this often even without changes, so elapsed time and progress move. */
  readonly runningIntervalMs: number;
  /**
   * In fleet mode (the picture has a `fleet` section), a picture this often even without changes here:
   * other nodes' heartbeats, claims and runs commit nothing on this one.
   */
  readonly fleetIntervalMs: number;
  /** A comment this often keeps proxies and idle-connection reapers from closing the stream. */
  readonly heartbeatMs: number;
  /** Open streams at most: each costs a socket and a JSON copy per picture. */
  readonly maxClients: number;
}

/**
 * `GET /v1/events`: server-sent events, each a whole `SystemSnapshot` (`event: snapshot`). Whole
 * pictures instead of diffs: a client that misses one (slow, or reconnecting) is right again with the
 * next, and one picture is built per change for all clients. Nothing runs while no one watches: the
 * daemon's idle cost stays what it was.
 */
export class SnapshotStream {
  readonly #clients = new Set<ServerResponse>();
  readonly #feed: SnapshotFeed;
  readonly #options: SnapshotStreamOptions;
  readonly #onError: (error: unknown) => void;
  #unsubscribe: (() => void) | null = null;
  #heartbeat: NodeJS.Timeout | null = null;
  #pendingFlush: NodeJS.Timeout | null = null;
  #tick: NodeJS.Timeout | null = null;
  #tickMs: number | null = null;
  #lastSentAt = 0;
  #building = false;
  #changedWhileBuilding = false;

  constructor(feed: SnapshotFeed, options: SnapshotStreamOptions, onError: (error: unknown) => void) {
    this.#feed = feed;
    this.#options = options;
    this.#onError = onError;
  }

  get size(): number {
    return this.#clients.size;
  }

  /** Takes over the response: the headers, a first picture at once, then one per change. */
  add(response: ServerResponse): boolean {
    if (this.#clients.size >= this.#options.maxClients) return false;
    response.writeHead(200, {
      ...BASE_HEADERS,
      'Content-Type': 'text/event-stream; charset=utf-8',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    // The browser's EventSource reconnects after this many ms when the stream drops.
    response.write('retry: 2000\n\n');
    this.#clients.add(response);
    response.once('close', () => this.#remove(response));
    if (this.#clients.size === 1) this.#start();
    this.#schedule(0);
    return true;
  }

  close(): void {
    for (const response of this.#clients) response.end();
    this.#clients.clear();
    this.#stop();
  }

  #start(): void {
    this.#unsubscribe = this.#feed.onChange(() => this.#schedule(this.#options.minIntervalMs));
    this.#heartbeat = setInterval(() => this.#write(': keep-alive\n\n', true), this.#options.heartbeatMs);
  }

  #stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    for (const timer of [this.#heartbeat, this.#pendingFlush, this.#tick]) if (timer) clearTimeout(timer);
    this.#heartbeat = this.#pendingFlush = this.#tick = null;
    this.#tickMs = null;
  }

  #remove(response: ServerResponse): void {
    if (this.#clients.delete(response) && this.#clients.size === 0) this.#stop();
  }

  /** Asks for a picture no sooner than `spacing` ms after the last one; requests in between merge. */
  #schedule(spacing: number): void {
    if (this.#pendingFlush || this.#clients.size === 0) return;
    const delay = Math.max(0, this.#lastSentAt + spacing - Date.now());
    this.#pendingFlush = setTimeout(() => {
      this.#pendingFlush = null;
      void this.#flush();
    }, delay);
  }

  async #flush(): Promise<void> {
    if (this.#building) {
      this.#changedWhileBuilding = true;
      return;
    }
    this.#building = true;
    try {
      const snapshot = await this.#feed.snapshot();
      this.#lastSentAt = Date.now();
      this.#write(`event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`, false);
      this.#tickEvery(
        snapshot.running.length > 0
          ? this.#options.runningIntervalMs
          : snapshot.fleet !== undefined
            ? this.#options.fleetIntervalMs
            : null,
      );
    } catch (error) {
      this.#onError(error);
    } finally {
      this.#building = false;
      if (this.#changedWhileBuilding) {
        this.#changedWhileBuilding = false;
        this.#schedule(this.#options.minIntervalMs);
      }
    }
  }

  /** Pictures every `intervalMs` even without changes (while tasks run, or in fleet mode); null: only on changes. */
  #tickEvery(intervalMs: number | null): void {
    const wanted = this.#clients.size > 0 ? intervalMs : null;
    if (wanted === this.#tickMs) return;
    if (this.#tick) clearInterval(this.#tick);
    this.#tick = wanted === null ? null : setInterval(() => this.#schedule(this.#options.minIntervalMs), wanted);
    this.#tickMs = wanted;
  }

  /**
   * A client that has not taken the last picture yet (a slow or suspended tab) skips this one: the next
   * whole picture replaces it, and the daemon's memory does not grow with a stuck client's backlog.
   */
  #write(frame: string, always: boolean): void {
    for (const response of this.#clients) {
      if (!always && response.writableNeedDrain) continue;
      response.write(frame);
    }
  }
}
