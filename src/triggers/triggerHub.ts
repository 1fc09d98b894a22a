/**
 * The daemon's file watchers: one set per pending request with `triggers`, kept in step with
 * the queue (`sync`), released when the request is cancelled or replaced by one watching other paths,
 * and when the daemon stops. A change is classified (created, modified, deleted) without blocking,
 * coalesced per path, and handed to `record` after `debounceMs` of quiet, with a fresh listing of the
 * paths; `record` stores both with the request, so once it resolves the change survives a crash. Changes
 * made while the daemon was not running are found at the first look, by comparing the listing stored with
 * the request with the paths' contents now.
 *
 * Untrusted input: an app names the paths, so watches are bounded per app and in all (over the bound a
 * request is not watched, and the log says so), and so are the changes kept per request.
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Clock, Disposable } from '../engine/clock.js';
import {
  snapshotChanges,
  TRIGGER_LIMITS,
  type FileChange,
  type FileChangeKind,
  type FileTriggers,
  type PathSnapshot,
} from '../engine/triggers/fileTriggers.js';
import type { TaskRequest } from '../engine/types.js';
import { listPath } from './listing.js';
import { PathWatch } from './pathWatch.js';

export interface TriggerHubLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface TriggerHubDeps {
  readonly clock: Clock;
  /** The daemon's user's home: what `~` means in a path. */
  readonly homeDir: string;
  readonly log: TriggerHubLog;
  /** Stores the changes and the listing with the pending request; resolves once durable. */
  readonly record: (
    appId: string,
    identifier: string,
    changes: readonly FileChange[],
    truncated: boolean,
    snapshot: PathSnapshot,
  ) => Promise<void>;
  /** How often a watched path that does not exist is looked for. */
  readonly retryMs?: number;
}

interface Watched {
  readonly appId: string;
  readonly identifier: string;
  /** The paths and debounce it was made for: a request for the same ones keeps the watches. */
  readonly shape: string;
  readonly debounceMs: number;
  readonly paths: readonly string[];
  readonly watches: PathWatch[];
  readonly changes: Map<string, FileChangeKind>;
  truncated: boolean;
  listing: PathSnapshot;
  timer: Disposable | null;
  disposed: boolean;
}

export class FileTriggerHub implements Disposable {
  readonly #watched = new Map<string, Watched>();
  readonly #deps: TriggerHubDeps;

  constructor(deps: TriggerHubDeps) {
    this.#deps = deps;
  }

  /** How many requests are watched. */
  get size(): number {
    return this.#watched.size;
  }

  /** The absolute form of a path an app gave: `~` is the daemon's user's home. */
  resolvePath(path: string): string {
    return path === '~'
      ? this.#deps.homeDir
      : path.startsWith('~/')
        ? join(this.#deps.homeDir, path.slice(2))
        : resolve(path);
  }

  /** Watches the pending triggered requests, and stops watching those that are gone. */
  sync(requests: Iterable<TaskRequest>): void {
    const seen = new Set<string>();
    const perApp = new Map<string, number>();
    let total = 0;
    for (const request of requests) {
      const triggers = request.triggers;
      if (!triggers) continue;
      const key = `${request.appId}\u0000${request.identifier}`;
      const appCount = (perApp.get(request.appId) ?? 0) + triggers.paths.length;
      if (appCount > TRIGGER_LIMITS.pathsPerApp || total + triggers.paths.length > TRIGGER_LIMITS.pathsInAll) {
        if (!this.#watched.has(key)) {
          this.#deps.log.warn(`${request.identifier} of ${request.appId} is not watched: too many watched paths`, {
            appId: request.appId,
            identifier: request.identifier,
            perApp: TRIGGER_LIMITS.pathsPerApp,
            inAll: TRIGGER_LIMITS.pathsInAll,
          });
        }
        continue;
      }
      perApp.set(request.appId, appCount);
      total += triggers.paths.length;
      seen.add(key);
      const shape = `${triggers.debounceMs}\u0000${triggers.paths.join('\u0000')}`;
      const existing = this.#watched.get(key);
      if (existing?.shape === shape) continue;
      if (existing) this.#release(key, existing);
      this.#watch(key, request, triggers, shape);
    }
    for (const [key, watched] of this.#watched) if (!seen.has(key)) this.#release(key, watched);
  }

  #watch(key: string, request: TaskRequest, triggers: FileTriggers, shape: string): void {
    const paths = triggers.paths.map((path) => this.resolvePath(path));
    const watched: Watched = {
      appId: request.appId,
      identifier: request.identifier,
      shape,
      debounceMs: triggers.debounceMs,
      paths,
      watches: [],
      changes: new Map(),
      truncated: false,
      listing: triggers.snapshot ?? {},
      timer: null,
      disposed: false,
    };
    this.#watched.set(key, watched);
    for (const path of paths) {
      const onEvent = (name: string | null) =>
        void this.#changed(watched, name === null ? path : join(path, name), path, name);
      watched.watches.push(
        new PathWatch(path, { clock: this.#deps.clock, retryMs: this.#deps.retryMs ?? 5_000, onEvent }),
      );
    }
    void this.#firstLook(watched, triggers.snapshot);
  }

  /** The changes while nobody watched: the stored listing against the paths' contents now. */
  async #firstLook(watched: Watched, stored: PathSnapshot | null): Promise<void> {
    const now = await this.#list(watched);
    if (watched.disposed) return;
    const missed = stored === null ? [] : snapshotChanges(stored, now);
    watched.listing = now;
    if (stored !== null && missed.length === 0) return;
    if (missed.length > 0) {
      const what = `${watched.identifier} of ${watched.appId}: ${missed.length} change(s) while nobody watched`;
      this.#deps.log.info(what, {
        appId: watched.appId,
        identifier: watched.identifier,
      });
    }
    await this.#record(watched, missed, false, now);
  }

  async #changed(watched: Watched, path: string, watchedPath: string, name: string | null): Promise<void> {
    let exists = true;
    try {
      await stat(path);
    } catch {
      exists = false;
    }
    if (watched.disposed) return;
    const known = watched.listing[watchedPath]?.[name ?? ''] !== undefined;
    const kind: FileChangeKind = !exists ? 'deleted' : known ? 'modified' : 'created';
    if (!watched.changes.has(path) && watched.changes.size >= TRIGGER_LIMITS.changesPerRun) watched.truncated = true;
    else {
      const before = watched.changes.get(path);
      watched.changes.delete(path);
      watched.changes.set(path, before === 'created' && kind === 'modified' ? 'created' : kind);
    }
    watched.timer?.dispose();
    watched.timer = this.#deps.clock.setTimer(watched.debounceMs, () => void this.#flush(watched));
  }

  async #flush(watched: Watched): Promise<void> {
    watched.timer = null;
    const changes = [...watched.changes].map(([path, kind]) => ({ path, kind }));
    const truncated = watched.truncated;
    watched.changes.clear();
    watched.truncated = false;
    const listing = await this.#list(watched);
    if (watched.disposed) return;
    watched.listing = listing;
    await this.#record(watched, changes, truncated, listing);
  }

  async #record(
    watched: Watched,
    changes: readonly FileChange[],
    truncated: boolean,
    listing: PathSnapshot,
  ): Promise<void> {
    try {
      await this.#deps.record(watched.appId, watched.identifier, changes, truncated, listing);
    } catch (error) {
      // Not stored: the listing stored before still differs from the paths, so the next start finds them.
      const what = `could not store the file changes of ${watched.identifier} of ${watched.appId}: ${String(error)}`;
      this.#deps.log.warn(what, {
        appId: watched.appId,
        identifier: watched.identifier,
      });
    }
  }

  async #list(watched: Watched): Promise<PathSnapshot> {
    const entries = await Promise.all(watched.paths.map(async (path) => [path, await listPath(path)] as const));
    return Object.fromEntries(entries);
  }

  #release(key: string, watched: Watched): void {
    watched.disposed = true;
    watched.timer?.dispose();
    for (const watch of watched.watches) watch.dispose();
    this.#watched.delete(key);
  }

  dispose(): void {
    for (const [key, watched] of this.#watched) this.#release(key, watched);
  }
}
