/**
 * Migration 2: a request's and a run's `requeue_on_exit` (a run whose process exits is run again unless
 * the app asked for at most once), and a request's `put_back` (the system, not the app, made it pending:
 * it does not count against the app's submission limit). SQLite's migration 6 does the same.
 *
 * Append-only, like every migration: once released, this text must never change.
 */
export const sql = /* sql */ `
ALTER TABLE requests ADD COLUMN requeue_on_exit BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE requests ADD COLUMN put_back BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE runs ADD COLUMN requeue_on_exit BOOLEAN NOT NULL DEFAULT TRUE;
`;
