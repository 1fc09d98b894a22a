/**
 * Migration 8, workflows (docs/workflows.md): a request's and a run's payload (`data`, JSON text) and
 * prerequisites (`depends_on`, a JSON array of identifiers), and a run's `result` (JSON text). NULL means
 * none, which is what every older row means.
 *
 * Append-only, like every migration: once released, this text must never change.
 */
export const sql = /* sql */ `
ALTER TABLE requests ADD COLUMN data TEXT;
ALTER TABLE requests ADD COLUMN depends_on TEXT;
ALTER TABLE runs ADD COLUMN data TEXT;
ALTER TABLE runs ADD COLUMN depends_on TEXT;
ALTER TABLE runs ADD COLUMN result TEXT;
`;
