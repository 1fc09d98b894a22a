/**
 * Migration 6 (issue 22 B): a request's and a run's `triggers` (file triggers, JSONB), NULL for every
 * older row. SQLite's migration 9 does the same. Version 5 is issue 22 A's.
 *
 * Append-only, like every migration: once released, this text must never change.
 */
export const sql = /* sql */ `
ALTER TABLE requests ADD COLUMN triggers JSONB;
ALTER TABLE runs ADD COLUMN triggers JSONB;
`;
