/**
 * Migration 7: the requests an app submitted from inside a handler, with their parent (the request
 * whose run submitted them, and that run), so a re-run of the parent on another node does not submit
 * its successor a second time (src/engine/chains.ts). Shared by every node (no node_id): the primary key
 * makes one record per (app, parent request, identifier) for the whole fleet, and the first stands.
 * Pruned with history, by `at`.
 *
 * Append-only, like every migration: once released, this text must never change.
 */
export const sql = /* sql */ `
CREATE TABLE submitted_children (
  app_id            TEXT   NOT NULL,
  parent_request_id TEXT   NOT NULL,
  identifier        TEXT   NOT NULL,
  parent_task_id    TEXT   NOT NULL,
  at                BIGINT NOT NULL,
  PRIMARY KEY (app_id, parent_request_id, identifier)
);
CREATE INDEX submitted_children_at ON submitted_children (at);
`;
