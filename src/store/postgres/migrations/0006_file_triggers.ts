/**
 * Migration 6: a request's and a run's `triggers` (file triggers, JSONB), NULL for every
 * older row. SQLite's migration 9 does the same.
 *
 * Append-only, like every migration: once released, this text must never change.
 */
export const sql = /* sql */ `
ALTER TABLE requests ADD COLUMN triggers JSONB;
ALTER TABLE runs ADD COLUMN triggers JSONB;
`;
