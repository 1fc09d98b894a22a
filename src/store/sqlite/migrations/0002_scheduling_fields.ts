/**
 * Migration 2: the fields of periodic requests, retries and the background budget.
 *
 * Only columns and indexes are added, so a store written by the previous release upgrades in place
 * without copying a table. Each new column's default is what an old row meant: a one-shot request
 * (`recurrence` NULL) without retry (`retry` NULL), on its first attempt, with no unmetered-network
 * requirement; an old run did not count against a budget (`background` 0) and was not measured
 * (`cpu_ms` NULL). `recurrence` and `retry` are JSON objects, validated before they are written.
 *
 * Append-only, like every migration: once released, this text must never change.
 */
export const sql = /* sql */ `
ALTER TABLE requests ADD COLUMN requires_unmetered_network INTEGER NOT NULL DEFAULT 0 CHECK (requires_unmetered_network IN (0, 1));
ALTER TABLE requests ADD COLUMN recurrence TEXT; -- JSON object, or NULL
ALTER TABLE requests ADD COLUMN retry      TEXT; -- JSON object, or NULL
ALTER TABLE requests ADD COLUMN attempt    INTEGER NOT NULL DEFAULT 1 CHECK (attempt >= 1);

ALTER TABLE runs ADD COLUMN requires_unmetered_network INTEGER NOT NULL DEFAULT 0 CHECK (requires_unmetered_network IN (0, 1));
ALTER TABLE runs ADD COLUMN recurrence TEXT; -- JSON object, or NULL
ALTER TABLE runs ADD COLUMN retry      TEXT; -- JSON object, or NULL
ALTER TABLE runs ADD COLUMN attempt    INTEGER NOT NULL DEFAULT 1 CHECK (attempt >= 1);
ALTER TABLE runs ADD COLUMN background INTEGER NOT NULL DEFAULT 0 CHECK (background IN (0, 1));
ALTER TABLE runs ADD COLUMN cpu_ms     INTEGER CHECK (cpu_ms >= 0);

-- The daemon rebuilds its budget ledger at start from the runs finished in the last window
-- (listRuns finishedSince): without this it would read every run ever recorded. Partial, because
-- active runs have no completed_at; a comparison on completed_at implies IS NOT NULL, so the planner
-- may use it.
CREATE INDEX runs_completed_at ON runs (completed_at) WHERE completed_at IS NOT NULL;

-- The same rebuild reads a few rare event types (throttled, forceQuit, opened) since a point in time
-- (listEvents types/since) out of a log dominated by submissions and dispatches.
CREATE INDEX events_type_at ON events (type, at);
`;
