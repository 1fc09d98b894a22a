import type { SubmittableKind, TaskKind } from '../../engine/types.js';
import { DaemonError } from '../errors.js';

/** What `bgtasks run APP ID` knows about the identifier when it picks the kind of task to start. */
export interface RunNowFacts {
  readonly identifier: string;
  /** The kind of the identifier's pending request, or null when none is pending. */
  readonly pendingKind: TaskKind | null;
  /** `--kind`, when given. */
  readonly requestedKind: SubmittableKind | undefined;
  /** The kind of the identifier's last run, or null when it never ran. */
  readonly lastKind: TaskKind | null;
  readonly backgroundModes: readonly string[];
}

/**
 * The kind of task `run` starts, or null to run the pending request as it is. A handler is never handed
 * a task of another kind than the one it ran as: `--kind` must agree with the pending request and with
 * the identifier's last run, a continued task runs only from its app's request (it needs a title), and
 * an identifier that never ran, of an app allowed both kinds, needs `--kind`.
 * @throws DaemonError `wrongKind` (field `kind`) or `notPending`.
 */
export function chooseRunKind(facts: RunNowFacts): SubmittableKind | null {
  const { identifier, pendingKind, requestedKind, lastKind } = facts;
  const known = pendingKind ?? lastKind;
  if (requestedKind !== undefined && known !== null && known !== requestedKind) {
    const source = pendingKind !== null ? 'its pending request is' : 'it last ran as';
    throw new DaemonError(
      'wrongKind',
      `${identifier} is a ${known} task (${source} ${known}); it cannot run as ` + `${requestedKind}`,
      'kind',
    );
  }
  if (pendingKind !== null) return null;
  if (lastKind === 'continued' || requestedKind === 'continued') {
    throw new DaemonError(
      'notPending',
      `${identifier} is a continued processing task and none is pending: it runs ` +
        `from the app's request (with its title); open the app, or have it submit ` +
        `one`,
    );
  }
  if (requestedKind !== undefined) return requestedKind;
  if (lastKind === 'refresh' || lastKind === 'processing') return lastKind;
  const modes = (['refresh', 'processing'] as const).filter((kind) =>
    facts.backgroundModes.includes(kind === 'refresh' ? 'fetch' : 'processing'),
  );
  if (modes.length === 1) return modes[0]!;
  throw new DaemonError(
    'notPending',
    `${identifier} has no pending request and never ran, so its kind is unknown: ` +
      `give --kind refresh or --kind processing`,
    'kind',
  );
}
