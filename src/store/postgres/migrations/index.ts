import { sql as initial } from './0001_initial.js';
import { sql as requeueOnExitPutBack } from './0002_requeue_on_exit_put_back.js';
import { sql as leases } from './0003_leases.js';
import { sql as pruneIndexes } from './0004_prune_indexes.js';
import { sql as workflows } from './0005_workflows.js';
import { sql as fileTriggers } from './0006_file_triggers.js';
import { sql as submittedChildren } from './0007_submitted_children.js';

/** One step of the PostgreSQL schema. `version` numbers start at 1 and have no gaps. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  /** Statements run together inside the migration's transaction (the simple protocol: no parameters). */
  readonly sql: string;
}

/**
 * Every migration, in the order they apply. Append only: a released migration never changes, and the
 * last entry's version is the schema version this code writes. The numbering is the PostgreSQL
 * store's own; it is not SQLite's.
 */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'initial', sql: initial },
  { version: 2, name: 'requeue_on_exit_put_back', sql: requeueOnExitPutBack },
  { version: 3, name: 'leases', sql: leases },
  { version: 4, name: 'prune_indexes', sql: pruneIndexes },
  { version: 5, name: 'workflows', sql: workflows },
  { version: 6, name: 'file_triggers', sql: fileTriggers },
  { version: 7, name: 'submitted_children', sql: submittedChildren },
];

/** The schema version this code knows; a database at a higher version was written by a newer bgtasks. */
export const LATEST_SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1]!.version;
