import type { TaskOutcome, TaskRun } from '../../engine/types.js';

/**
 * Processes in a row that may die holding a task of one request. The third is taken as the task killing
 * its process (a crash loop), not as bad luck: the task is given up rather than relaunched forever.
 */
export const MAX_EXITS_IN_A_ROW = 3;

/** What happens to a run whose process exited, crashed or was killed while it held the task. */
export type ExitVerdict =
  /** Run it again (a new run of the same request), the `exits`-th process in a row to die with it. */
  | { readonly action: 'requeue'; readonly exits: number; readonly reason: 'exitedBeforeStart' | 'appExited' }
  /** The task died with its process {@link MAX_EXITS_IN_A_ROW} times in a row: it ends for good. */
  | { readonly action: 'giveUp'; readonly exits: number; readonly message: string }
  /** The app asked for at most once (`requeueOnExit = false`) and the handler had started. */
  | { readonly action: 'atMostOnce' };

/**
 * The rule for runs that end because the app's process went away (not by the daemon at a deadline):
 * they run again by default, for every kind of task, bounded by {@link MAX_EXITS_IN_A_ROW}. A request
 * that asked for at most once is still requeued when its handler never started (it never ran). The
 * count is per request and in memory: a run of it that ends any other way resets it.
 *
 * Kept apart from the run driver so the rule survives changes around it: the driver calls
 * {@link processExited} from `detach` and {@link runEnded} from `finish`.
 */
export class ExitRequeues {
  readonly #exits = new Map<string, number>();

  /** A process holding `run` went away; says whether the run goes again. */
  processExited(run: TaskRun, appId: string): ExitVerdict {
    const started = run.startedAt !== null;
    if (started && run.requeueOnExit === false) {
      this.#exits.delete(run.requestId);
      return { action: 'atMostOnce' };
    }
    const exits = (this.#exits.get(run.requestId) ?? 0) + 1;
    if (exits >= MAX_EXITS_IN_A_ROW) {
      this.#exits.delete(run.requestId);
      const when = started ? 'while it ran' : 'before its handler reported a start';
      return {
        action: 'giveUp',
        exits,
        message: `${appId} exited ${exits} times in a row holding ${run.identifier} ` + `(${when}); given up`,
      };
    }
    this.#exits.set(run.requestId, exits);
    return { action: 'requeue', exits, reason: started ? 'appExited' : 'exitedBeforeStart' };
  }

  /** A run ended: unless its process died with it, the request is out of any crash loop. */
  runEnded(run: TaskRun, outcome: TaskOutcome): void {
    if (outcome !== 'appExited') this.#exits.delete(run.requestId);
  }
}
