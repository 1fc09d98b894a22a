/**
 * Migration 4: indexes for the maintainer's pruning. It deletes finished runs and events older than the
 * retention, oldest first, a bounded number per round; without an index on the age, each round walked
 * every run and every event of the fleet to find few or none. Both partial or narrow, so cheap to keep.
 *
 * Append-only, like every migration: once released, this text must never change.
 */
export const sql = /* sql */ `
CREATE INDEX runs_finished_completed_at ON runs (completed_at) WHERE state = 'finished';
CREATE INDEX events_at ON events (at);
`;
