import type { TaskRunUpdate } from '../engine/types.js';
import type { StoreBatch } from '../store/store.js';
import type { SchedulerLog } from './scheduler/ports.js';

/** Who a task belongs to: every record about a task carries these, so logs can be filtered by each. */
interface TaskKey {
  readonly appId: string;
  readonly identifier: string;
  /** When its handler began, for the duration in the finishing record. */
  startedAt?: number;
}

/**
 * The record of a task's handler starting. A task of a block has no write at its start (its run is
 * written once, when it finishes), so the scheduler writes this record itself, at debug, when the app
 * reports the start; every other task's comes from the committed update that says it is `running`.
 */
export function startedRecord(
  name: string,
  fields: Record<string, unknown>,
  launch?: string | null,
): { message: string; fields: Record<string, unknown> } {
  return { message: `started ${name}`, fields: { ...fields, ...(launch ? { launch } : {}) } };
}

/**
 * One log record per step of a task's life, written from what the store committed (so the log never
 * says a task started that the store does not know of; a task of a block, whose lease the store holds, is
 * logged as it starts, at debug, see startedRecord): dispatched (debug), started, expired and
 * finished (info), each with `appId`, `identifier` and `taskId` as fields. On a terminal they read as
 * lines; off a terminal (journald, a log shipper) they are JSON, filterable with e.g.
 * `journalctl --user -u bgtasks -o cat | jq 'select(.appId == "com.example.feeds")'`.
 *
 * The abnormal ends keep their own warnings where they are decided (runDriver.ts); this is the plain
 * record of every task, success included.
 */
export class TaskLog {
  /** Tasks dispatched by this daemon and not finished yet: updates carry only the task id. */
  readonly #tasks = new Map<string, TaskKey>();

  constructor(
    private readonly log: SchedulerLog & { debug?(message: string, fields?: Record<string, unknown>): void },
  ) {}

  /** Feed it every committed batch (`StoreWriter.onDidCommit`). */
  committed(batch: StoreBatch): void {
    for (const run of batch.insertRuns ?? []) {
      if (run.state === 'finished') {
        // A task of a block is written once, when it finishes: one record says it all.
        this.#finished(
          run,
          `${run.identifier} of ${run.appId}`,
          { appId: run.appId, identifier: run.identifier, taskId: run.taskId },
          run.startedAt ?? undefined,
        );
        continue;
      }
      this.#tasks.set(run.taskId, { appId: run.appId, identifier: run.identifier });
      this.log.debug?.(`dispatched ${run.identifier} of ${run.appId}`, {
        appId: run.appId,
        identifier: run.identifier,
        taskId: run.taskId,
        kind: run.kind,
      });
    }
    for (const update of batch.updateRuns ?? []) {
      const key = this.#tasks.get(update.taskId);
      // A run recovered at start was dispatched by an earlier daemon: only its id is known here.
      const fields = { ...(key ? { appId: key.appId, identifier: key.identifier } : {}), taskId: update.taskId };
      const name = key ? `${key.identifier} of ${key.appId}` : `task ${update.taskId}`;
      // The handler's start comes in an update of its own, after the task was handed over (`running`).
      if (key && typeof update.startedAt === 'number') key.startedAt = update.startedAt;
      if (update.state === 'running') {
        const record = startedRecord(name, fields, update.launch);
        this.log.info(record.message, record.fields);
      } else if (update.state === 'expired') {
        this.log.info(`expired ${name}`, {
          ...fields,
          ...(update.expirationReason ? { expirationReason: update.expirationReason } : {}),
        });
      } else if (update.state === 'finished') {
        this.#tasks.delete(update.taskId);
        this.#finished(update, name, fields, key?.startedAt);
      }
    }
  }

  #finished(
    end: Pick<TaskRunUpdate, 'outcome' | 'reason' | 'completedAt'>,
    name: string,
    fields: Record<string, unknown>,
    startedAt: number | undefined,
  ): void {
    this.log.info(`finished ${name}: ${end.outcome ?? 'unknown'}`, {
      ...fields,
      outcome: end.outcome,
      ...(end.reason ? { reason: end.reason } : {}),
      ...(startedAt !== undefined && typeof end.completedAt === 'number'
        ? { durationMs: end.completedAt - startedAt }
        : {}),
    });
  }
}
