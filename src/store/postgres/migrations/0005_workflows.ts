/**
 * Migration 5, workflows (docs/workflows.md): a request's and a run's payload (`data`) and prerequisites
 * (`depends_on`, an array of identifiers), and a run's `result`. NULL means none, which is what every
 * older row means. SQLite's migration 8 does the same.
 *
 * Append-only, like every migration: once released, this text must never change.
 */
export const sql = /* sql */ `
ALTER TABLE requests ADD COLUMN data JSONB;
ALTER TABLE requests ADD COLUMN depends_on JSONB;
ALTER TABLE runs ADD COLUMN data JSONB;
ALTER TABLE runs ADD COLUMN depends_on JSONB;
ALTER TABLE runs ADD COLUMN result JSONB;
`;
