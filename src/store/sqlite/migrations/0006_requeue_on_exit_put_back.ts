/**
 * Migration 6: a request's and a run's `requeueOnExit` (a run whose process exits is run again unless the
 * app asked for at most once), and a request's `putBack` (the system, not the app, made it pending:
 * it does not count against the app's submission limit). Older rows were submitted by their apps and
 * keep the default of running again: 1 and 0.
 *
 * Append-only, like every migration: once released, this text must never change.
 */
export const sql = /* sql */ `
ALTER TABLE requests ADD COLUMN requeue_on_exit INTEGER NOT NULL DEFAULT 1 CHECK (requeue_on_exit IN (0, 1));
ALTER TABLE requests ADD COLUMN put_back INTEGER NOT NULL DEFAULT 0 CHECK (put_back IN (0, 1));
ALTER TABLE runs ADD COLUMN requeue_on_exit INTEGER NOT NULL DEFAULT 1 CHECK (requeue_on_exit IN (0, 1));
`;
