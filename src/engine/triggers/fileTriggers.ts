/**
 * File triggers: a request that runs when a watched path changes, like launchd's
 * `WatchPaths`/`QueueDirectories` or a systemd `.path` unit. The pure part: the state a request carries
 * (what it watches, the changes seen since its last run, what the paths held when last looked at), the
 * bounded merging of changes, and the difference between two listings (the changes made while the daemon
 * was not running). The watching itself is src/triggers.
 */

export type FileChangeKind = 'created' | 'modified' | 'deleted';

export interface FileChange {
  /** Absolute path of what changed (a watched file, or an entry of a watched directory). */
  readonly path: string;
  readonly kind: FileChangeKind;
}

/** A listing of the watched paths: path → entry name → mtime ms (a watched file is its own entry, ''). */
export type PathSnapshot = Readonly<Record<string, Readonly<Record<string, number>>>>;

/** What a triggered request carries, in the store and on its run. */
export interface FileTriggers {
  /** As the app gave them: absolute, or `~/…` (the daemon's user's home). */
  readonly paths: readonly string[];
  /** Quiet time after a change before the changes count, so a burst makes one run. */
  readonly debounceMs: number;
  /** Changes seen since the last run, oldest first, one per path (the latest kind). */
  readonly changes: readonly FileChange[];
  /** More paths changed than `changes` holds. */
  readonly truncated?: true;
  /** What the paths held when last looked at; null before the first look. */
  readonly snapshot: PathSnapshot | null;
}

/** Bounds on what an app may watch and what a task receives: untrusted input must not bloat the daemon. */
export const TRIGGER_LIMITS = {
  pathsPerRequest: 16,
  pathsPerApp: 64,
  pathsInAll: 1024,
  changesPerRun: 256,
  entriesPerDirectory: 2048,
  maxDebounceMs: 3_600_000,
  pathLength: 4096,
} as const;

/** The changes since the last run with `added` merged in: one entry per path, the latest kind, bounded. */
export function mergeChanges(triggers: FileTriggers, added: readonly FileChange[]): FileTriggers {
  const byPath = new Map<string, FileChangeKind>(triggers.changes.map((change) => [change.path, change.kind]));
  let truncated = triggers.truncated === true;
  for (const change of added) {
    const before = byPath.get(change.path);
    if (before === undefined && byPath.size >= TRIGGER_LIMITS.changesPerRun) {
      truncated = true;
      continue;
    }
    // Created then deleted before a run saw it, or deleted then created: what counts is the latest.
    byPath.delete(change.path);
    byPath.set(change.path, before === 'created' && change.kind === 'modified' ? 'created' : change.kind);
  }
  const changes = [...byPath].map(([path, kind]) => ({ path, kind }));
  return { ...triggers, changes, ...(truncated ? { truncated: true as const } : {}) };
}

/** The triggers for the request after a run: no changes pending, the listing kept. */
export function afterRun(triggers: FileTriggers): FileTriggers {
  return { paths: triggers.paths, debounceMs: triggers.debounceMs, changes: [], snapshot: triggers.snapshot };
}

/** What changed between two listings of the same watched paths (`resolved` maps a path to its absolute form). */
export function snapshotChanges(before: PathSnapshot, after: PathSnapshot): FileChange[] {
  const changes: FileChange[] = [];
  for (const watched of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const old = before[watched] ?? {};
    const now = after[watched] ?? {};
    const full = (name: string) => (name === '' ? watched : `${watched.replace(/\/+$/, '')}/${name}`);
    for (const [name, mtime] of Object.entries(now)) {
      const previous = old[name];
      if (previous === undefined) changes.push({ path: full(name), kind: 'created' });
      else if (previous !== mtime) changes.push({ path: full(name), kind: 'modified' });
    }
    for (const name of Object.keys(old)) if (!(name in now)) changes.push({ path: full(name), kind: 'deleted' });
  }
  return changes;
}

/** Why the paths of a trigger are refused (`field` names the one at fault), or null. */
export function checkTriggerPaths(paths: readonly string[]): { field: string; message: string } | null {
  if (paths.length === 0) return { field: 'triggers.paths', message: 'a file trigger watches at least one path' };
  if (paths.length > TRIGGER_LIMITS.pathsPerRequest) {
    return { field: 'triggers.paths', message: `at most ${TRIGGER_LIMITS.pathsPerRequest} paths per request` };
  }
  for (const [index, path] of paths.entries()) {
    const field = `triggers.paths.${index}`;
    if (!(path.startsWith('/') || path === '~' || path.startsWith('~/'))) {
      return {
        field,
        message: `"${path}" is relative: give an absolute path or one under ~/ (the daemon's user's home)`,
      };
    }
    if (path.includes('\0') || path.split('/').includes('..'))
      return {
        field,
        message: `"${path}" holds a NUL or a ".." segment`,
      };
  }
  return null;
}

/** What a triggered task receives as `task.data.trigger`. */
export interface TriggerData {
  readonly changes: readonly FileChange[];
  readonly truncated: boolean;
}

/** The data a triggered task receives: `task.data` when it carries no payload of its own. */
export function triggerData(triggers: FileTriggers): { trigger: TriggerData } {
  return { trigger: { changes: triggers.changes, truncated: triggers.truncated === true } };
}

/**
 * Recovery after a crash of the daemon while a triggered task ran: its run is `interrupted`, and the
 * request already pending for the next change (stored with the run) takes the run's changes too, so
 * none of them is lost. Null when there is nothing to carry.
 */
export function withChangesOf<T extends { readonly triggers?: FileTriggers }>(
  pending: T,
  run: { readonly triggers?: FileTriggers },
): T | null {
  if (!pending.triggers || !run.triggers || run.triggers.changes.length === 0) return null;
  const merged = mergeChanges(
    { ...pending.triggers, changes: run.triggers.changes, truncated: run.triggers.truncated },
    pending.triggers.changes,
  );
  return { ...pending, triggers: { ...merged, snapshot: pending.triggers.snapshot } };
}
