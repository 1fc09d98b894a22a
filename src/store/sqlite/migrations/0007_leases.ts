/**
 * Migration 7: blocks of tasks handed to an app under one lease (docs/architecture.md, "Blocks"). A row
 * per block, written when the block is handed over, deleted when its last task has finished; `tasks` holds
 * the block's tasks (JSON: task id, request id, identifier, kind, eligibleAt), for recovery after a crash.
 *
 * Append-only, like every migration: once released, this text must never change.
 */
export const sql = /* sql */ `
CREATE TABLE leases (
  lease_id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL,
  at INTEGER NOT NULL,
  background INTEGER NOT NULL CHECK (background IN (0, 1)),
  tasks TEXT NOT NULL
) STRICT;
`;
