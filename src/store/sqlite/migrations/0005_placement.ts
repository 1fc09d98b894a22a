/**
 * Migration 5: a request's placement (fleet mode). `'any'` lets any machine of a fleet run the request;
 * every older row was submitted for the machine it is on, `'device'`, which is the column's default.
 * A SQLite store is one machine, so it only keeps the field for the record (and for `requestFromRun`).
 *
 * Append-only, like every migration: once released, this text must never change.
 */
export const sql = /* sql */ `
ALTER TABLE requests ADD COLUMN placement TEXT NOT NULL DEFAULT 'device' CHECK (placement IN ('device', 'any'));
ALTER TABLE runs ADD COLUMN placement TEXT NOT NULL DEFAULT 'device' CHECK (placement IN ('device', 'any'));
`;
