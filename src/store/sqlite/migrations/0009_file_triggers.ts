/**
 * Migration 9: a request's and a run's `triggers`, the file triggers of a request that runs
 * when a watched path changes (JSON: paths, debounce, the changes seen since the last run, the listing
 * last seen), or NULL for every older row, which has none.
 *
 * Append-only, like every migration: once released, this text must never change.
 */
export const sql = /* sql */ `
ALTER TABLE requests ADD COLUMN triggers TEXT; -- JSON object, or NULL
ALTER TABLE runs ADD COLUMN triggers TEXT; -- JSON object, or NULL
`;
