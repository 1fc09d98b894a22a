/**
 * Migration 10: the requests an app submitted from inside a handler, with their parent (the request
 * whose run submitted them, and that run), so a re-run of the parent after a crash does not submit its
 * successor a second time (src/engine/chains.ts). One row per (app, parent request, identifier): the
 * first run's stands. Pruned with history, by `at`.
 *
 * Append-only, like every migration: once released, this text must never change.
 */
export const sql = /* sql */ `
CREATE TABLE submitted_children (
  app_id            TEXT    NOT NULL,
  parent_request_id TEXT    NOT NULL,
  identifier        TEXT    NOT NULL,
  parent_task_id    TEXT    NOT NULL,
  at                INTEGER NOT NULL,
  PRIMARY KEY (app_id, parent_request_id, identifier)
) STRICT;
CREATE INDEX submitted_children_at ON submitted_children (at);
`;
