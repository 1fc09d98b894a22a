/**
 * Migration 3: blocks of tasks handed to an app under one lease (docs/architecture.md, "Blocks"). A row
 * per block of a node, written when the block is handed over, deleted when its last task has finished;
 * `tasks` holds the block's tasks (task id, request id, identifier, kind, eligibleAt), for recovery after a crash.
 *
 * Append-only, like every migration: once released, this text must never change.
 */
export const sql = /* sql */ `
CREATE TABLE leases (
  node_id  TEXT   NOT NULL,
  lease_id TEXT   NOT NULL PRIMARY KEY,
  app_id   TEXT   NOT NULL,
  at         BIGINT  NOT NULL,
  background BOOLEAN NOT NULL,
  tasks      JSONB   NOT NULL
);
CREATE INDEX leases_node ON leases (node_id);
`;
