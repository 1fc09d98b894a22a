import { sql as initial } from './0001_initial.js';
import { sql as schedulingFields } from './0002_scheduling_fields.js';
import { sql as continuedTasks } from './0003_continued_tasks.js';
import { sql as pushesNotifications } from './0004_pushes_notifications.js';
import { sql as placement } from './0005_placement.js';
import { sql as requeueOnExitPutBack } from './0006_requeue_on_exit_put_back.js';
import { sql as leases } from './0007_leases.js';
import { sql as workflows } from './0008_workflows.js';
import { sql as fileTriggers } from './0009_file_triggers.js';
import { sql as submittedChildren } from './0010_submitted_children.js';

/** One step of the SQLite schema. `version` numbers start at 1 and have no gaps. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  /** Statements run together inside the migration's transaction. */
  readonly sql: string;
}

/**
 * Every migration, in the order they apply. Append only: a released migration never changes, and the
 * last entry's version is the schema version this code writes.
 */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'initial', sql: initial },
  { version: 2, name: 'scheduling_fields', sql: schedulingFields },
  { version: 3, name: 'continued_tasks', sql: continuedTasks },
  { version: 4, name: 'pushes_notifications', sql: pushesNotifications },
  { version: 5, name: 'placement', sql: placement },
  { version: 6, name: 'requeue_on_exit_put_back', sql: requeueOnExitPutBack },
  { version: 7, name: 'leases', sql: leases },
  { version: 8, name: 'workflows', sql: workflows },
  { version: 9, name: 'file_triggers', sql: fileTriggers },
  { version: 10, name: 'submitted_children', sql: submittedChildren },
];

/** The schema version this code knows; a store at a higher version was written by a newer bgtasks. */
export const LATEST_SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1]!.version;
